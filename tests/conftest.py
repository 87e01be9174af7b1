import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import zoo  # noqa: E402
from tests import reference  # noqa: E402

INPUT_DIM, UNITS = 3, 4

# name -> (cell kwargs, reference step builder taking the cell's weights dict)
CELL_CASES = {
    "elman_tanh": ("elman", {"activation": "tanh"}),
    "elman_relu": ("elman", {"activation": "relu"}),
    "peephole_lstm": ("peephole_lstm", {}),
    "lstm_no_peepholes": ("peephole_lstm", {"peepholes": False}),
    "gru_reset_after": ("gru", {"reset_after": True}),
    "gru_reset_before": ("gru", {"reset_after": False}),
}


def randomize(cell, seed=0, scale=0.5):
    """Give every weight of a built cell random values (biases and peepholes nonzero)."""
    rng = np.random.default_rng(seed)
    for w in cell.weights:
        w.assign(rng.normal(scale=scale, size=w.shape).astype(w.dtype))


def weights_of(cell):
    return {w.name: np.asarray(w.numpy(), dtype=np.float64) for w in cell.weights}


def reference_step(name, kwargs, cell):
    """The NumPy step of tests/reference.py bound to `cell`'s current weights."""
    w = weights_of(cell)
    W, U, b = w["kernel"], w["recurrent_kernel"], w["bias"]
    if name == "elman":
        return lambda x, s: reference.elman_step(x, s, W, U, b, kwargs.get("activation", "tanh"))
    if name == "gru":
        return lambda x, s: reference.gru_step(x, s, W, U, b, kwargs.get("reset_after", True))
    if kwargs.get("peepholes", True):
        return lambda x, s: reference.lstm_step(x, s, W, U, b, w["peephole_i"], w["peephole_f"], w["peephole_o"])
    return lambda x, s: reference.lstm_step(x, s, W, U, b)


def make_cell(case, dtype="float32", seed=0, **extra):
    name, kwargs = CELL_CASES[case]
    cell = zoo.cells.get(name, units=UNITS, dtype=dtype, **kwargs, **extra)
    cell.build((None, INPUT_DIM))
    randomize(cell, seed)
    return cell, reference_step(name, kwargs, cell)


def zero_states(cell, batch):
    return [np.zeros((batch, s)) for s in np.atleast_1d(cell.state_size)]


@pytest.fixture(params=list(CELL_CASES))
def case(request):
    return request.param


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)
