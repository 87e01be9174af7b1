"""The builders' models train and infer on every backend (TensorFlow, JAX, PyTorch).

Written with NumPy and keras only, so tests/test_backends.py runs them unchanged with
KERAS_BACKEND=jax and torch: ``model.fit`` there is the backend's own training step (jax.jit on
JAX, eager autograd on PyTorch), through masking, bidirectional stacks, dropout and a conditional
initial state.
"""

import keras
import numpy as np
import pytest

from zoo.models import build_classifier
from zoo.models import generator as G

rng = np.random.default_rng(5)


def first_and_last_loss(model, loss, x, y, epochs):
    """Train with Adam; the training loss of the first and of the last epoch."""
    model.compile(keras.optimizers.Adam(2e-2), loss)
    history = model.fit(x, y, batch_size=16, epochs=epochs, verbose=0).history["loss"]
    return history[0], history[-1]


@pytest.mark.parametrize("cell", ["peephole_lstm", "second_order"])
def test_classifier_learns_a_token_detection_task(cell):
    """Label: does token 3 occur? Mixed lengths (padding 0), 2 bidirectional layers, max pooling, dropout."""
    keras.utils.set_random_seed(0)
    ids = rng.integers(1, 8, size=(64, 7)) * (np.arange(7) < rng.integers(2, 8, size=(64, 1)))
    labels = (ids == 3).any(axis=1).astype("float32")[:, None]
    model = build_classifier(cell, vocab_size=8, embedding_dim=6, units=6, num_layers=2, bidirectional=True,
                             pooling="max", dropout=0.1, recurrent_dropout=0.1)
    first, last = first_and_last_loss(model, "binary_crossentropy", ids.astype("int32"), labels, epochs=12)
    assert last < 0.7 * first


def test_conditional_generator_learns_what_only_the_condition_tells():
    """Every input is the same constant text; class c must emit id c + 1: only the initial state can say which."""
    keras.utils.set_random_seed(0)
    model = G.build_conditional_generator("peephole_lstm", num_classes=3, vocab_size=5, embedding_dim=4,
                                          condition_dim=4, units=8, num_layers=2, input_mode="onehot")
    condition = np.repeat(np.arange(3), 16).astype("int32")
    ids = np.full((48, 6), 4, "int32")
    targets = np.repeat(condition[:, None] + 1, 6, axis=1)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    first, last = first_and_last_loss(model, loss, {"condition": condition, "ids": ids}, targets, epochs=15)
    assert last < 0.3 * first  # ignoring the condition cannot go below ln 3, about 0.68 of the start


@pytest.mark.parametrize("cell", ["elman", "peephole_lstm"])
def test_inference_twin_matches_the_training_model_and_carries_state(cell):
    keras.utils.set_random_seed(0)
    model = G.build_generator(cell, vocab_size=9, embedding_dim=4, units=5, num_layers=2)
    infer = G.inference_model(model)
    ids = rng.integers(1, 9, size=(2, 7)).astype("int32")
    zeros = [np.zeros((2, size), "float32") for size in G.state_sizes(model)]
    logits, *_ = infer([ids, *zeros])
    np.testing.assert_allclose(logits, model(ids), rtol=1e-5, atol=1e-6)
    first, *states = infer([ids[:, :3], *zeros])
    second, *_ = infer([keras.ops.convert_to_tensor(ids[:, 3:]), *states])  # Keras wants no NumPy beside tensors
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), logits, rtol=1e-5, atol=1e-6)
