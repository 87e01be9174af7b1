import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo import analysis, cells
from zoo.data import synthetic
from zoo.layers import OneHot, Recurrent
from zoo.models.classifier import build_classifier

BATCH, TIME, FEATURES = 3, 5, 3
MSE = keras.losses.MeanSquaredError(reduction=None, dtype="float64")  # (batch, 1) outputs -> (batch,) losses


def elman_model():
    """Float sequences (batch, 5, 3) -> a 2-unit Elman layer -> Dense(1), in float64, every weight random."""
    inputs = keras.Input((TIME, FEATURES), dtype="float64")
    hidden = Recurrent(cells.get("elman", units=2, dtype="float64"), dtype="float64", name="elman")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1, dtype="float64")(hidden))
    rng = np.random.default_rng(0)
    for w in model.weights:
        w.assign(rng.normal(scale=0.8, size=w.shape))
    return model


def finite_difference_norms(model, x, y, eps=1e-6):
    """mean_i || d l_i / d x_{i,t} || by central differences, every perturbation in one batch."""
    batch, time, features = x.shape
    plus, minus, rows = [], [], []
    for i in range(batch):
        for t in range(time):
            for k in range(features):
                step = np.zeros_like(x[i])
                step[t, k] = eps
                plus.append(x[i] + step)
                minus.append(x[i] - step)
                rows.append(i)
    targets = y[rows]
    loss_plus = MSE(targets, model(np.stack(plus))).numpy()
    loss_minus = MSE(targets, model(np.stack(minus))).numpy()
    grads = ((loss_plus - loss_minus) / (2 * eps)).reshape(batch, time, features)
    return np.linalg.norm(grads, axis=-1).mean(axis=0)


def test_gradient_norms_match_central_differences():
    model = elman_model()
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(BATCH, TIME, FEATURES)), rng.normal(size=(BATCH, 1))
    norms = analysis.gradient_norms(model, x, y, MSE)
    assert norms.shape == (TIME,)
    assert (norms > 0).all()
    np.testing.assert_allclose(norms, finite_difference_norms(model, x, y), rtol=1e-6)


def test_gradient_norms_average_per_example_gradients():
    # The batch-mean of per-example norms, not the norm of a batch-mean loss's gradient: batch size drops out.
    model = elman_model()
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(BATCH, TIME, FEATURES)), rng.normal(size=(BATCH, 1))
    singles = [analysis.gradient_norms(model, x[i : i + 1], y[i : i + 1], MSE) for i in range(BATCH)]
    np.testing.assert_allclose(analysis.gradient_norms(model, x, y, MSE), np.mean(singles, axis=0), rtol=1e-12)


def test_gradient_norms_rejects_a_batch_reduced_loss():
    model = elman_model()
    x, y = np.zeros((BATCH, TIME, FEATURES)), np.zeros((BATCH, 1))
    with pytest.raises(ValueError, match="one loss per example.*reduction=None"):
        analysis.gradient_norms(model, x, y, keras.losses.MeanSquaredError())


def test_gradient_norms_needs_a_recurrent_layer():
    inputs = keras.Input((TIME, FEATURES))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    with pytest.raises(ValueError, match="has no recurrent layer"):
        analysis.gradient_norms(model, np.zeros((1, TIME, FEATURES)), np.zeros((1, TIME, 1)), MSE)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_gradient_norms_of_a_classifier_are_the_embedded_tokens_gradients(bidirectional):
    model = build_classifier(
        cell="gru", vocab_size=12, embedding_dim=4, units=3, num_layers=2, bidirectional=bidirectional, dropout=0.3
    )
    ids = np.array([[3, 7, 1, 9, 0, 0]])  # distinct tokens, two padded steps
    y = np.array([[1.0]])
    bce = keras.losses.BinaryCrossentropy(reduction=None)
    norms = analysis.gradient_norms(model, ids, y, bce)
    assert norms.shape == (6,) and np.isfinite(norms).all()

    # Independently, through the whole model: with each token used once, the gradient of the embedding
    # table's row for token ids[t] is the gradient of the loss with respect to the embedded step t.
    table = model.get_layer("embedding").embeddings
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(bce(y, model(ids, training=False)))
    rows = tf.convert_to_tensor(tape.gradient(loss, table)).numpy()[ids[0, :4]]
    np.testing.assert_allclose(norms[:4], np.linalg.norm(rows, axis=-1), rtol=1e-5)
    assert (norms[:4] > 0).all()
    np.testing.assert_array_equal(norms[4:], 0.0)  # padded steps are masked: they never reach the loss


def test_gradient_norms_of_a_named_layer():
    model = build_classifier(cell="elman", vocab_size=12, embedding_dim=4, units=3, num_layers=2)
    ids = np.array([[3, 7, 1, 9], [2, 2, 5, 0]])
    y = np.array([[1.0], [0.0]])
    bce = keras.losses.BinaryCrossentropy(reduction=None)
    first = analysis.gradient_norms(model, ids, y, bce)
    np.testing.assert_array_equal(analysis.gradient_norms(model, ids, y, bce, layer_name="recurrent_0"), first)
    second = analysis.gradient_norms(model, ids, y, bce, layer_name="recurrent_1")
    assert second.shape == (4,) and np.isfinite(second).all() and not np.allclose(second, first)


def test_gradient_norms_of_a_sequential_model_average_per_step_losses_per_example():
    model = keras.Sequential(
        [
            keras.Input((None,), dtype="int32"),
            OneHot(8),
            Recurrent(cells.get("peephole_lstm", units=3), return_sequences=True),
            keras.layers.Dense(7, activation="sigmoid"),
        ]
    )
    ids, targets, _ = synthetic.reber_dataset(3, seed=0)
    per_step = keras.losses.binary_crossentropy  # (batch, time, 7) -> (batch, time)
    norms = analysis.gradient_norms(model, ids, targets, per_step)
    per_example = analysis.gradient_norms(model, ids, targets, lambda y, p: keras.ops.mean(per_step(y, p), axis=1))
    assert norms.shape == (ids.shape[1],) and (norms > 0).all()
    np.testing.assert_allclose(norms, per_example, rtol=1e-6)
