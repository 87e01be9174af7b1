"""Layers that drive cells over time."""

from zoo.layers.recurrent import Recurrent

__all__ = ["Recurrent"]
