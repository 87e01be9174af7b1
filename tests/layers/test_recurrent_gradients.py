"""Gradients through Recurrent on every backend: the same checks on TensorFlow, JAX and PyTorch.

Gradients come from ``tests.conftest.value_and_gradients`` (tf.GradientTape, jax.grad or
torch.autograd), so these tests run unchanged under tests/test_backends.py.
"""

import keras
import numpy as np
import pytest

import zoo
from tests.conftest import CELL_CASES, INPUT_DIM, UNITS, randomize, value_and_gradients

rng = np.random.default_rng(13)
X = rng.normal(size=(3, 6, INPUT_DIM)).astype("float32")
MASK = np.arange(6)[None, :] < np.array([6, 3, 1])[:, None]  # right-padded, mixed lengths

# Every registered cell in its variants: the conftest cases plus both second-order forms.
CELLS = {**CELL_CASES, "second_order_full": ("second_order", {}), "second_order_rank": ("second_order", {"rank": 5})}


def built_cell(case, seed=0):
    name, kwargs = CELLS[case]
    cell = zoo.cells.get(name, units=UNITS, **kwargs)
    cell.build((None, INPUT_DIM))
    randomize(cell, seed)
    return cell


def outputs_and_gradients(layer):
    """Outputs, final states, and the gradients of a loss over both w.r.t. the inputs and every weight."""
    out, *states = layer(X, mask=MASK)  # builds the layer
    weights = np.linspace(-1, 1, UNITS).astype("float32")

    def loss(x):
        out, *states = layer(x, mask=MASK)
        return keras.ops.sum(out * weights) + sum(keras.ops.sum(s**2) for s in states)

    _, x_grads, w_grads = value_and_gradients(loss, [X], layer.trainable_variables)
    return [out, *states, *x_grads, *w_grads]


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("case", list(CELLS))
def test_hoisted_path_equals_keras_rnn_in_outputs_and_gradients(case, go_backwards):
    kwargs = {"return_sequences": True, "return_state": True, "go_backwards": go_backwards}
    ours = outputs_and_gradients(zoo.layers.Recurrent(built_cell(case), hoist_inputs=True, **kwargs))
    theirs = outputs_and_gradients(keras.layers.RNN(built_cell(case), **kwargs))
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_learned_initial_state_gets_a_gradient():
    layer = zoo.layers.Recurrent(built_cell("peephole_lstm"), initial_state="learned")
    layer(X)
    for w in layer.learned_initial_state:
        w.assign(rng.normal(size=w.shape).astype("float32"))
    _, _, grads = value_and_gradients(lambda x: keras.ops.sum(layer(x) ** 2), [X], layer.learned_initial_state)
    assert all(g is not None and np.abs(g).sum() > 0 for g in grads)
