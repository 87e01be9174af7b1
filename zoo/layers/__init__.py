"""Layers that drive cells over time, pooling over time, one-hot inputs, attention and tied embeddings."""

import keras  # noqa: F401  first: loading Keras registers zoo.cells and zoo.layers (zoo/__init__.py)

from zoo.layers.attention import Attention
from zoo.layers.embedding import ReversibleEmbedding
from zoo.layers.one_hot import OneHot
from zoo.layers.pooling import MaskedPooling1D
from zoo.layers.recurrent import Recurrent

__all__ = ["Attention", "MaskedPooling1D", "OneHot", "Recurrent", "ReversibleEmbedding"]
