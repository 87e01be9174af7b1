"""Cells by spec: ``"gru"``, or ``"second_order(rank=16)"`` with keyword arguments for the cell."""

import ast
import re

from zoo.validation import one_of

_SPEC = re.compile(r"^(\w+)(?:\((.*)\))?$")


def parse_cell(spec):
    """``"second_order(rank=16)"`` -> ``("second_order", {"rank": 16})``; a bare name has no kwargs."""
    match = _SPEC.match(spec.strip())
    if not match:
        raise ValueError(f"cell spec {spec!r} is not NAME or NAME(key=value, ...), e.g. 'second_order(rank=16)'.")
    name, args = match.groups()
    from zoo import cells

    one_of("cell", name, cells.names())
    kwargs = {}
    for item in filter(None, (a.strip() for a in (args or "").split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"cell spec {spec!r}: {item!r} is not key=value.")
        kwargs[key.strip()] = ast.literal_eval(value.strip())
    return name, kwargs


def slug(spec):
    """A file-name-safe form of a cell spec: ``"second_order(rank=16)"`` -> ``"second_order_rank_16"``."""
    return re.sub(r"[^\w]+", "_", spec).strip("_")
