"""The fused peephole-LSTM sequence (zoo/layers/fused.py) against Recurrent's ordinary hoisted path.

Gradients are taken with ``training=True``: that is where the hand-written backward pass runs (in
inference the fused path runs its forward loop alone).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

import zoo
from tests import reference
from tests.conftest import INPUT_DIM, UNITS, assert_gradients_match_finite_differences, make_cell
from zoo.layers import fused

pytestmark = pytest.mark.requires_tensorflow(reason="the fused kernels are tf.custom_gradient functions")

rng = np.random.default_rng(17)
X = rng.normal(size=(3, 6, INPUT_DIM)).astype("float32")
MASKS = {
    "none": None,
    # Right-padded, mixed lengths, with a length-1 row.
    "right_padded": np.arange(6)[None, :] < np.array([6, 3, 1])[:, None],
    # Holes and an all-masked row: Keras' rule (carry states, repeat the last output, zeros before
    # the first unmasked step) holds for any mask, not only for padding.
    "holes": np.array([[1, 0, 1, 1, 0, 1], [0, 0, 1, 1, 1, 0], [0, 0, 0, 0, 0, 0]], bool),
}
OUT_WEIGHTS = np.linspace(-1, 1, UNITS).astype("float32")
STATE_WEIGHTS = rng.normal(size=UNITS).astype("float32")


def recurrent(cell, use_fused, **kwargs):
    """A Recurrent on the fused path (``use_fused``) or on the ordinary hoisted path."""
    return zoo.layers.Recurrent(cell, fused=use_fused, **kwargs)


def layer_pair(case="peephole_lstm", dtype="float32", **kwargs):
    """(fused, ordinary) Recurrent layers driving cells with identical random weights."""
    return [recurrent(make_cell(case, dtype=dtype)[0], use_fused, dtype=dtype, **kwargs) for use_fused in (True, False)]


def outputs_and_gradients(layer, x=X, mask=None, initial_state=None, graph=True, training=True):
    """Outputs, final states, and a loss's gradients w.r.t. x, the initial states (if given) and every weight.

    ``graph=True`` runs in a ``tf.function``, as training does (TensorArrays behave differently there).
    """
    inputs = [tf.constant(x)] + [tf.constant(s) for s in initial_state or []]
    layer(inputs[0], mask=mask, initial_state=inputs[1:] or None)  # build
    values = np.random.default_rng(3)  # the same nonzero learned initial states in both layers of a pair
    for w in layer.weights:
        if w.name.startswith("initial_state"):
            w.assign(values.normal(size=w.shape))

    def run(*inputs):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            result = layer(inputs[0], mask=mask, initial_state=list(inputs[1:]) or None, training=training)
            out, *states = result if isinstance(result, (list, tuple)) else [result]
            loss = tf.reduce_sum(out * OUT_WEIGHTS) + sum(tf.reduce_sum(s * STATE_WEIGHTS) for s in states)
        return [out, *states, *tape.gradient(loss, list(inputs) + layer.trainable_variables)]

    return (tf.function(run) if graph else run)(*inputs)


def assert_all_close(ours, theirs, atol=1e-5):
    assert len(ours) == len(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert a is not None and b is not None, f"result {i} is None"
        np.testing.assert_allclose(a, b, atol=atol, rtol=1e-5, err_msg=f"result {i}")


@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("mask", list(MASKS))
@pytest.mark.parametrize("case", ["peephole_lstm", "lstm_no_peepholes"])
def test_fused_equals_ordinary_path_in_outputs_states_and_gradients(case, mask, go_backwards, return_sequences):
    kwargs = {"return_sequences": return_sequences, "return_state": True, "go_backwards": go_backwards}
    ours, theirs = layer_pair(case, **kwargs)
    assert_all_close(outputs_and_gradients(ours, mask=MASKS[mask]), outputs_and_gradients(theirs, mask=MASKS[mask]))


@pytest.mark.parametrize("return_sequences", [True, False])
def test_fused_equals_ordinary_path_eagerly_without_return_state(return_sequences):
    ours, theirs = layer_pair(return_sequences=return_sequences, go_backwards=True)
    mask = MASKS["right_padded"]
    assert_all_close(
        outputs_and_gradients(ours, mask=mask, graph=False), outputs_and_gradients(theirs, mask=mask, graph=False)
    )


def test_gradients_reach_initial_states_passed_at_call_time():
    ours, theirs = layer_pair(return_sequences=True, return_state=True)
    init = [rng.normal(size=(3, UNITS)).astype("float32") for _ in range(2)]
    mask = MASKS["right_padded"]
    assert_all_close(
        outputs_and_gradients(ours, mask=mask, initial_state=init),
        outputs_and_gradients(theirs, mask=mask, initial_state=init),
    )


def test_learned_initial_state_gets_the_same_gradient():
    ours, theirs = layer_pair(initial_state="learned", return_state=True)
    mask = MASKS["right_padded"]
    a, b = outputs_and_gradients(ours, mask=mask), outputs_and_gradients(theirs, mask=mask)
    assert_all_close(a, b)
    first_weight_grad = len(a) - len(ours.trainable_variables)
    learned = [a[first_weight_grad + i] for i, w in enumerate(ours.trainable_variables) if w.name.startswith("initial")]
    assert len(learned) == 2 and all(np.abs(g).sum() > 0 for g in learned)


def test_zero_output_for_mask_gives_zeros_at_masked_steps():
    ours, theirs = layer_pair(return_sequences=True, zero_output_for_mask=True)
    mask = MASKS["holes"]
    a, b = outputs_and_gradients(ours, mask=mask), outputs_and_gradients(theirs, mask=mask)
    assert_all_close(a, b)
    np.testing.assert_array_equal(np.asarray(a[0])[~mask], 0.0)


@pytest.mark.parametrize("go_backwards", [False, True])
def test_fused_outputs_match_the_numpy_reference(go_backwards):
    ours, _ = layer_pair(return_sequences=True, go_backwards=go_backwards)
    _, ref = make_cell("peephole_lstm")  # the same seed, so the same weights
    mask = MASKS["holes"]
    want, _ = reference.run_sequence(ref, X, [np.zeros((3, UNITS))] * 2, mask, go_backwards=go_backwards)
    np.testing.assert_allclose(ours(X, mask=mask), want, atol=1e-5)


@pytest.mark.parametrize("peepholes", [True, False])
def test_float64_gradients_match_finite_differences(peepholes):
    case = "peephole_lstm" if peepholes else "lstm_no_peepholes"
    cell, _ = make_cell(case, dtype="float64")
    layer = recurrent(cell, True, dtype="float64", return_sequences=True, return_state=True, initial_state="learned")
    x = rng.normal(size=(2, 4, INPUT_DIM))
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], bool)
    layer(x, mask=mask)
    for w in layer.trainable_variables:
        w.assign(rng.normal(scale=0.5, size=w.shape))
    weights = rng.normal(size=(4, UNITS))

    @tf.function  # about 300 evaluations: traced once
    def loss():
        out, h, c = layer(x, mask=mask, training=True)
        return ops.sum(out * weights) + ops.sum(h * STATE_WEIGHTS) + ops.sum(c**2)

    assert fused.applies(layer, training=True)
    assert_gradients_match_finite_differences(loss, layer.trainable_variables)


def test_float64_agrees_with_the_ordinary_path_to_1e_12():
    ours, theirs = layer_pair(dtype="float64", return_sequences=True, return_state=True)
    x, mask = X.astype("float64"), MASKS["right_padded"]
    assert_all_close(outputs_and_gradients(ours, x=x, mask=mask), outputs_and_gradients(theirs, x=x, mask=mask), 1e-12)


def test_input_dropout_draws_the_same_mask_as_the_ordinary_path():
    ours, theirs = (
        recurrent(zoo.cells.PeepholeLSTMCell(UNITS, dropout=0.4, seed=5), use_fused, return_sequences=True)
        for use_fused in (True, False)
    )
    ours(X), theirs(X)
    theirs.set_weights(ours.get_weights())
    assert fused.applies(ours, training=True)
    np.testing.assert_allclose(ours(X, training=True), theirs(X, training=True), atol=1e-5)


def test_matches_keras_lstm_without_peepholes():
    cell, _ = make_cell("lstm_no_peepholes")
    ours = recurrent(cell, True, return_sequences=True)
    keras_lstm = keras.layers.LSTM(UNITS, return_sequences=True)
    mask = MASKS["right_padded"]
    ours(X, mask=mask)
    keras_lstm(X, mask=mask)
    keras_lstm.set_weights([cell.kernel.numpy(), cell.recurrent_kernel.numpy(), cell.bias.numpy()])
    np.testing.assert_allclose(ours(X, mask=mask), keras_lstm(X, mask=mask), atol=1e-5)


@pytest.mark.parametrize("mask", ["none", "holes"])
def test_inference_forward_loop_equals_the_training_kernel(mask):
    layer, _ = layer_pair(return_sequences=True, return_state=True, go_backwards=True)
    inference = layer(X, mask=MASKS[mask])
    for a, b in zip(inference, layer(X, mask=MASKS[mask], training=True)):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_gradients_in_inference_come_from_autodiff_of_the_forward_loop():
    """zoo.analysis differentiates in inference mode, where TensorFlow differentiates the plain loop."""
    ours, theirs = layer_pair(return_sequences=True, return_state=True)
    mask = MASKS["right_padded"]
    assert_all_close(
        outputs_and_gradients(ours, mask=mask, training=False), outputs_and_gradients(theirs, mask=mask, training=False)
    )


def test_saved_model_export_reloads_and_matches(tmp_path):
    inputs = keras.Input((6, INPUT_DIM))
    layer, _ = layer_pair(return_sequences=True)
    model = keras.Model(inputs, layer(inputs))
    model.export(str(tmp_path / "model"), verbose=False)
    reloaded = tf.saved_model.load(str(tmp_path / "model"))
    np.testing.assert_allclose(reloaded.serve(X), model(X), atol=1e-6)


@pytest.mark.parametrize("training", [True, False])
def test_fused_path_is_taken_where_it_applies(monkeypatch, training):
    """In training the custom-gradient kernel runs; in inference the forward loop alone."""
    calls = []
    for name in ("_peephole_lstm_kernel", "_peephole_lstm_forward"):
        original = getattr(fused, name)
        monkeypatch.setattr(fused, name, lambda *a, _f=original, _n=name: calls.append(_n) or _f(*a))
    layer, _ = layer_pair()
    layer(X, mask=MASKS["right_padded"], training=training)
    assert calls == ["_peephole_lstm_kernel" if training else "_peephole_lstm_forward"]


@pytest.mark.parametrize(
    ("make", "training", "reason"),
    [
        (lambda: zoo.layers.Recurrent(zoo.cells.PeepholeLSTMCell(UNITS, recurrent_dropout=0.2)), True, "recurrent_dropout"),
        (lambda: zoo.layers.Recurrent(zoo.cells.GRUCell(UNITS)), False, "no fused kernel for GRUCell"),
        (lambda: zoo.layers.Recurrent(zoo.cells.PeepholeLSTMCell(UNITS), hoist_inputs=False), False, "hoist_inputs=False"),
        (lambda: zoo.layers.Recurrent(zoo.cells.PeepholeLSTMCell(UNITS), unroll=True), False, "unroll=True"),
    ],
)
def test_unsupported_configurations_fall_back(make, training, reason):
    layer = make()
    assert reason in fused.unsupported(layer, training)
    assert not fused.applies(layer, training)
    assert layer(X, training=training).shape == (3, UNITS)


def test_recurrent_dropout_falls_back_only_in_training():
    layer = zoo.layers.Recurrent(zoo.cells.PeepholeLSTMCell(UNITS, recurrent_dropout=0.2))
    assert fused.applies(layer, training=False)
    assert not fused.applies(layer, training=True)


def test_fused_false_never_applies():
    layer = zoo.layers.Recurrent(zoo.cells.PeepholeLSTMCell(UNITS), fused=False)
    assert fused.unsupported(layer) is None
    assert not fused.applies(layer, training=False)


def test_fused_true_names_what_prevents_it():
    with pytest.raises(ValueError, match="no fused kernel for GRUCell"):
        zoo.layers.Recurrent(zoo.cells.GRUCell(UNITS), fused=True)
    with pytest.raises(ValueError, match="`fused` must be one of"):
        zoo.layers.Recurrent(zoo.cells.PeepholeLSTMCell(UNITS), fused="always")


@pytest.mark.parametrize("mode", ["auto", True, False])
def test_fused_round_trips_through_the_config(mode):
    layer = zoo.layers.Recurrent(zoo.cells.PeepholeLSTMCell(UNITS), fused=mode)
    assert layer.get_config()["fused"] == mode
    assert zoo.layers.Recurrent.from_config(layer.get_config()).fused == mode
