"""Small models of the synthetic tasks (the adding problem, Reber and Tomita grammars), built from a cell spec.

Each takes a cell spec (``zoo.cells.spec.parse_cell``: ``"gru"``, ``"second_order(rank=16)"``).
"""

import keras

from zoo import cells
from zoo.cells.spec import parse_cell, slug
from zoo.data import synthetic
from zoo.layers import OneHot, Recurrent


def sequence_regressor(cell, units, features, **cell_kwargs):
    """Float sequences (batch, time, features) -> ``Recurrent`` (last step) -> Dense(1)."""
    name, kwargs = parse_cell(cell)
    inputs = keras.Input((None, features), name="sequence")
    hidden = Recurrent(cells.get(name, units=units, **kwargs, **cell_kwargs), name="recurrent")(inputs)
    return keras.Model(inputs, keras.layers.Dense(1, name="output")(hidden), name=f"regressor_{slug(cell)}")



def _one_hot_recurrent(cell, units, num_tokens, return_sequences):
    """Symbol ids (batch, time), 0 = padding -> OneHot(num_tokens) -> ``Recurrent`` with a learned initial state
    (the full second-order cell needs one, Giles et al. 1992). Returns ``(ids input, hidden)``."""
    name, kwargs = parse_cell(cell)
    ids = keras.Input((None,), dtype="int32", name="symbol_ids")
    hidden = Recurrent(
        cells.get(name, units=units, **kwargs), return_sequences=return_sequences, initial_state="learned",
        name="recurrent",
    )(OneHot(num_tokens)(ids))
    return ids, hidden



def symbol_predictor(cell, units):
    """Reber ids (batch, time), 0 = padding -> OneHot(8) -> ``Recurrent`` (every step, learned initial state)
    -> 7 sigmoids, one per symbol."""
    ids, hidden = _one_hot_recurrent(cell, units, len(synthetic.SYMBOLS) + 1, return_sequences=True)
    outputs = keras.layers.Dense(len(synthetic.SYMBOLS), activation="sigmoid", name="next_symbols")(hidden)
    return keras.Model(ids, outputs, name=f"reber_{slug(cell)}")



def string_classifier(cell, units):
    """Tomita ids (batch, time), 0 = padding -> OneHot(3) -> ``Recurrent`` (the last unpadded step, learned
    initial state) -> one sigmoid: the string is accepted."""
    ids, hidden = _one_hot_recurrent(cell, units, len(synthetic.TOMITA_SYMBOLS) + 1, return_sequences=False)
    output = keras.layers.Dense(1, activation="sigmoid", name="accepted")(hidden)
    return keras.Model(ids, output, name=f"tomita_{slug(cell)}")

