import keras
import numpy as np
import pytest

import zoo
from tests import reference
from tests.conftest import INPUT_DIM, UNITS, assert_gradients_match_finite_differences, make_cell, zero_states

rng = np.random.default_rng(7)


def test_registry_names():
    assert zoo.cells.names() == ["elman", "gru", "peephole_lstm", "second_order"]


def test_registry_unknown_name_lists_known_names():
    with pytest.raises(ValueError, match="Unknown cell 'lstm'.*elman, gru, peephole_lstm"):
        zoo.cells.get("lstm", units=3)


def test_unknown_activation_raises_clear_error():
    with pytest.raises(ValueError, match=r"activation.*\('tanh', 'relu'\).*'sigmoid'"):
        zoo.cells.ElmanCell(3, activation="sigmoid")


@pytest.mark.parametrize("arg", ["dropout", "recurrent_dropout"])
def test_bad_dropout_rate_raises(arg):
    with pytest.raises(ValueError, match=f"`{arg}` must be a float in"):
        zoo.cells.GRUCell(3, **{arg: 1.5})


@pytest.mark.parametrize(
    "name, kwargs, shapes",
    [
        ("elman", {}, {"kernel": (3, 4), "recurrent_kernel": (4, 4), "bias": (4,)}),
        ("gru", {"reset_after": True}, {"kernel": (3, 12), "recurrent_kernel": (4, 12), "bias": (2, 12)}),
        ("gru", {"reset_after": False}, {"kernel": (3, 12), "recurrent_kernel": (4, 12), "bias": (12,)}),
        (
            "peephole_lstm",
            {},
            {"kernel": (3, 16), "recurrent_kernel": (4, 16), "bias": (16,), "peephole_i": (4,), "peephole_f": (4,), "peephole_o": (4,)},
        ),
        ("peephole_lstm", {"peepholes": False}, {"kernel": (3, 16), "recurrent_kernel": (4, 16), "bias": (16,)}),
    ],
)
def test_weight_layout_names_and_shapes(name, kwargs, shapes):
    cell = zoo.cells.get(name, units=4, **kwargs)
    cell.build((None, 3))
    assert {w.name: tuple(w.shape) for w in cell.weights} == shapes


def test_lstm_unit_forget_bias_initialises_forget_gate_to_one():
    cell = zoo.cells.PeepholeLSTMCell(4)
    cell.build((None, 3))
    np.testing.assert_array_equal(cell.bias.numpy(), np.r_[np.zeros(4), np.ones(4), np.zeros(8)])


def test_single_step_matches_reference(case):
    cell, ref = make_cell(case)
    x = rng.normal(size=(5, INPUT_DIM))
    states = [rng.normal(size=(5, s)) for s in np.atleast_1d(cell.state_size)]
    out, new_states = cell(x.astype("float32"), [s.astype("float32") for s in states])
    ref_out, ref_states = ref(x, states)
    np.testing.assert_allclose(out, ref_out, atol=1e-5)
    for got, want in zip(new_states, ref_states):
        np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("go_backwards", [False, True])
def test_masked_sequence_matches_reference(case, go_backwards):
    cell, ref = make_cell(case)
    x = rng.normal(size=(3, 6, INPUT_DIM))
    mask = np.arange(6)[None, :] < np.array([6, 4, 1])[:, None]  # right-padded, mixed lengths
    layer = zoo.layers.Recurrent(cell, return_sequences=True, return_state=True, go_backwards=go_backwards)
    out, *states = layer(x.astype("float32"), mask=mask)
    ref_out, ref_states = reference.run_sequence(ref, x, zero_states(cell, 3), mask, go_backwards)
    np.testing.assert_allclose(out, ref_out, atol=1e-5)
    for got, want in zip(states, ref_states):
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_peephole_output_gate_sees_new_cell_state():
    cell, _ = make_cell("peephole_lstm")
    cell.peephole_o.assign(np.full(UNITS, 3.0, "float32"))  # make the difference large
    w = {v.name: v.numpy().astype(np.float64) for v in cell.weights}
    args = (w["kernel"], w["recurrent_kernel"], w["bias"], w["peephole_i"], w["peephole_f"], w["peephole_o"])
    x = rng.normal(size=(4, INPUT_DIM))
    states = [rng.normal(size=(4, UNITS)), rng.normal(size=(4, UNITS))]
    out, _ = cell(x.astype("float32"), [s.astype("float32") for s in states])
    right, _ = reference.lstm_step(x, states, *args)
    wrong, _ = reference.lstm_step(x, states, *args, output_peephole_on_old_state=True)
    assert np.abs(right - wrong).max() > 1e-2
    np.testing.assert_allclose(out, right, atol=1e-5)


def test_finite_difference_gradients_of_every_weight(case):
    """Analytic gradients (through Recurrent's hoisted path) equal central differences in float64."""
    cell, _ = make_cell(case, dtype="float64", seed=3)
    layer = zoo.layers.Recurrent(cell, return_sequences=True, hoist_inputs=True, dtype="float64")
    x = rng.normal(size=(2, 4, INPUT_DIM))
    coeffs = rng.normal(size=(2, 4, UNITS))
    layer(x)
    assert_gradients_match_finite_differences(lambda: keras.ops.sum(layer(x) * coeffs), cell.trainable_variables)


def test_numpy_integer_units_are_accepted():
    assert zoo.cells.get("gru", units=np.int64(3)).units == 3
