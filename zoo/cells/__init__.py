"""Recurrent cells and their registry.

``zoo.cells.get("peephole_lstm", units=64)`` builds a cell by name;
``zoo.cells.names()`` lists the names.
"""

from types import MappingProxyType

import keras  # noqa: F401  first: loading Keras registers zoo.cells and zoo.layers (zoo/__init__.py)

from zoo.cells.base import ZooCell
from zoo.cells.elman import ElmanCell
from zoo.cells.gru import GRUCell
from zoo.cells.peephole_lstm import PeepholeLSTMCell
from zoo.cells.second_order import SecondOrderCell

_REGISTRY = MappingProxyType(
    {
        "elman": ElmanCell,
        "gru": GRUCell,
        "peephole_lstm": PeepholeLSTMCell,
        "second_order": SecondOrderCell,
    }
)


def names():
    """The registered cell names, sorted."""
    return sorted(_REGISTRY)


def get(name, **kwargs):
    """Build the cell registered as ``name`` with ``kwargs`` (e.g. ``units``)."""
    try:
        cls = _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(f"Unknown cell {name!r}; known cells: {', '.join(names())}.") from None
    return cls(**kwargs)


__all__ = ["ElmanCell", "GRUCell", "PeepholeLSTMCell", "SecondOrderCell", "ZooCell", "get", "names"]
