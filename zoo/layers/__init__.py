"""Layers that drive cells over time, pooling over time, and one-hot inputs."""

from zoo.layers.one_hot import OneHot
from zoo.layers.pooling import MaskedPooling1D
from zoo.layers.recurrent import Recurrent

__all__ = ["MaskedPooling1D", "OneHot", "Recurrent"]
