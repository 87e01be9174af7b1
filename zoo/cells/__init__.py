"""Recurrent cells and their registry.

``zoo.cells.get("peephole_lstm", units=64)`` builds a cell by name;
``zoo.cells.names()`` lists the names.

The registry names each cell's module and class: ``names()`` needs no Keras, so `zoo train X --help`
lists the cells without TensorFlow (issue 23); a cell's module, and Keras, load on first use.
"""

import importlib
from types import MappingProxyType

_REGISTRY = MappingProxyType(
    {
        "elman": ("zoo.cells.elman", "ElmanCell"),
        "gru": ("zoo.cells.gru", "GRUCell"),
        "peephole_lstm": ("zoo.cells.peephole_lstm", "PeepholeLSTMCell"),
        "second_order": ("zoo.cells.second_order", "SecondOrderCell"),
    }
)
_MODULES = {"ZooCell": "zoo.cells.base", **{cls: module for module, cls in _REGISTRY.values()}}


def __getattr__(name):
    if name in _MODULES:
        return getattr(importlib.import_module(_MODULES[name]), name)
    raise AttributeError(f"module 'zoo.cells' has no attribute {name!r}")


def load():
    """Import every cell's module (registering its class with Keras)."""
    for module in dict.fromkeys(_MODULES.values()):
        importlib.import_module(module)


def names():
    """The registered cell names, sorted."""
    return sorted(_REGISTRY)


def get(name, **kwargs):
    """Build the cell registered as ``name`` with ``kwargs`` (e.g. ``units``)."""
    try:
        module, cls = _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(f"Unknown cell {name!r}; known cells: {', '.join(names())}.") from None
    return getattr(importlib.import_module(module), cls)(**kwargs)


__all__ = ["ElmanCell", "GRUCell", "PeepholeLSTMCell", "SecondOrderCell", "ZooCell", "get", "names"]
