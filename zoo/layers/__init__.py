"""Layers that drive cells over time, and pooling over time."""

from zoo.layers.pooling import MaskedPooling1D
from zoo.layers.recurrent import Recurrent

__all__ = ["MaskedPooling1D", "Recurrent"]
