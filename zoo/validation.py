"""Argument checks shared by cells, layers and builders: each error names the bad value and what is accepted."""

import numbers


def positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"`{name}` must be a positive integer; got {name}={value!r}.")
    return int(value)


def rate(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value < 1.0:
        raise ValueError(f"`{name}` must be a float in [0, 1); got {name}={value!r}.")
    return float(value)


def one_of(name, value, choices):
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {tuple(choices)}; got {name}={value!r}.")
    return value


def distinct_members(what, members):
    """``members`` (models) as a list; ValueError unless there are 2 or more with distinct names."""
    members = list(members)
    if len(members) < 2:
        raise ValueError(f"{what} needs at least 2 members; got {len(members)}.")
    names = [m.name for m in members]
    if len(set(names)) != len(names):
        raise ValueError(f"the members of {what} need distinct names; got {names}.")
    return members
