"""SecondOrderCell against NumPy references written from Giles et al. 1992 and Sutskever et al. 2011."""

import keras
import numpy as np
import pytest

import zoo
from tests import reference
from tests.conftest import INPUT_DIM, UNITS, assert_gradients_match_finite_differences, randomize

RANK = 5  # differs from INPUT_DIM and UNITS, so a transposed factor weight cannot pass
FORMS = {"full": {}, "factorised": {"rank": RANK}}
rng = np.random.default_rng(21)
X = rng.normal(size=(3, 6, INPUT_DIM))
MASK = np.arange(6)[None, :] < np.array([6, 4, 1])[:, None]  # right-padded, mixed lengths


def phi(pre, activation):
    return np.tanh(pre) if activation == "tanh" else reference.sigmoid(pre)


def second_order_step(x, states, W, b, activation="tanh"):
    """Giles et al. 1992: h_t,i = φ(Σ_jk W_ijk x_t,j h_{t-1},k + b_i), W indexed [i, j, k]."""
    (h,) = states
    h = phi(np.einsum("ijk,bj,bk->bi", W, x, h) + b, activation)
    return h, [h]


def multiplicative_step(x, states, W_mx, W_mh, W_hm, W_hx, b, activation="tanh"):
    """Sutskever, Martens & Hinton 2011: m_t = (x_t W_mx) ⊙ (h_{t-1} W_mh); h_t = φ(m_t W_hm + x_t W_hx + b)."""
    (h,) = states
    m = (x @ W_mx) * (h @ W_mh)
    h = phi(m @ W_hm + x @ W_hx + b, activation)
    return h, [h]


def make(form, activation="tanh", dtype="float32", weights_seed=0, input_dim=INPUT_DIM, **extra):
    """A built cell with random weights and the NumPy step bound to them."""
    cell = zoo.cells.get("second_order", units=UNITS, activation=activation, dtype=dtype, **FORMS[form], **extra)
    cell.build((None, input_dim))
    randomize(cell, weights_seed)
    return cell, bind(cell)


def bind(cell):
    """The reference step with `cell`'s current weights, read through the documented layout."""
    w = {v.name: np.asarray(v.numpy(), np.float64) for v in cell.weights}
    b = w.get("bias", np.zeros(UNITS))
    if cell.rank is None:
        # kernel[j, k*units + i] = W_ijk
        W = w["kernel"].reshape(-1, UNITS, UNITS).transpose(2, 0, 1)
        return lambda x, s: second_order_step(x, s, W, b, cell.activation)
    W_mx, W_hx = w["kernel"][:, : cell.rank], w["kernel"][:, cell.rank :]
    return lambda x, s: multiplicative_step(
        x, s, W_mx, w["recurrent_kernel"], w["factor_output_kernel"], W_hx, b, cell.activation
    )


def f32(a):
    return np.asarray(a, "float32")


@pytest.fixture(params=list(FORMS))
def form(request):
    return request.param


def test_registry_builds_second_order_cell():
    cell = zoo.cells.get("second_order", units=3, rank=2, activation="sigmoid")
    assert isinstance(cell, zoo.cells.SecondOrderCell)
    assert (cell.units, cell.rank, cell.activation) == (3, 2, "sigmoid")
    assert zoo.cells.SecondOrderCell(3).rank is None  # the full tensor by default


@pytest.mark.parametrize(
    "kwargs, shapes",
    [
        ({}, {"kernel": (3, 16), "bias": (4,)}),
        ({"use_bias": False}, {"kernel": (3, 16)}),
        ({"rank": 5}, {"kernel": (3, 9), "recurrent_kernel": (4, 5), "factor_output_kernel": (5, 4), "bias": (4,)}),
        ({"rank": 5, "use_bias": False}, {"kernel": (3, 9), "recurrent_kernel": (4, 5), "factor_output_kernel": (5, 4)}),
    ],
)
def test_weight_layout_names_and_shapes(kwargs, shapes):
    cell = zoo.cells.SecondOrderCell(4, **kwargs)
    cell.build((None, 3))
    assert {w.name: tuple(w.shape) for w in cell.weights} == shapes


def test_full_kernel_entry_j_k_times_units_plus_i_is_W_ijk():
    """One non-zero tensor entry W_ijk couples exactly input j and state k into unit i."""
    i, j, k = 1, 2, 3
    cell = zoo.cells.SecondOrderCell(UNITS, use_bias=False)
    cell.build((None, INPUT_DIM))
    kernel = np.zeros((INPUT_DIM, UNITS * UNITS), "float32")
    kernel[j, k * UNITS + i] = 0.7
    cell.kernel.assign(kernel)
    x, h = f32(rng.normal(size=(2, INPUT_DIM))), f32(rng.normal(size=(2, UNITS)))
    want = np.zeros((2, UNITS))
    want[:, i] = np.tanh(0.7 * x[:, j] * h[:, k])
    np.testing.assert_allclose(cell(x, [h])[0], want, atol=1e-6)


def test_factorised_bias_is_added_once_outside_the_factors():
    cell, _ = make("factorised")
    cell.bias.assign(f32(np.full(UNITS, 2.0)))
    x, h = rng.normal(size=(2, INPUT_DIM)), rng.normal(size=(2, UNITS))
    kernel = cell.kernel.numpy().astype(np.float64)
    projected = cell.project_inputs(f32(x))  # [x W_mx | x W_hx + b]
    want = np.concatenate([x @ kernel[:, :RANK], x @ kernel[:, RANK:] + 2.0], axis=-1)
    np.testing.assert_allclose(projected, want, atol=1e-5)
    np.testing.assert_allclose(cell(f32(x), [f32(h)])[0], bind(cell)(x, [h])[0], atol=1e-5)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
@pytest.mark.parametrize("use_bias", [True, False])
def test_single_step_matches_reference(form, activation, use_bias):
    cell, ref = make(form, activation, use_bias=use_bias)
    x, h = rng.normal(size=(5, INPUT_DIM)), rng.normal(size=(5, UNITS))
    out, (state,) = cell(f32(x), [f32(h)])
    want, (want_state,) = ref(x, [h])
    np.testing.assert_allclose(out, want, atol=1e-5)
    np.testing.assert_allclose(state, want_state, atol=1e-5)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_masked_sequence_matches_reference(form, activation, go_backwards):
    cell, ref = make(form, activation)
    layer = zoo.layers.Recurrent(cell, return_sequences=True, return_state=True, go_backwards=go_backwards)
    out, state = layer(f32(X), mask=MASK)
    want, (want_state,) = reference.run_sequence(ref, X, [np.zeros((3, UNITS))], MASK, go_backwards)
    np.testing.assert_allclose(out, want, atol=1e-5)
    np.testing.assert_allclose(state, want_state, atol=1e-5)


@pytest.mark.parametrize("hoist_inputs", [True, False])
def test_given_initial_state_matches_reference(form, hoist_inputs):
    """A non-zero start state (Giles et al. start from one) makes the bilinear term count from step 1."""
    cell, ref = make(form)
    init = rng.normal(size=(3, UNITS))
    layer = zoo.layers.Recurrent(cell, return_sequences=True, hoist_inputs=hoist_inputs)
    want, _ = reference.run_sequence(ref, X, [init], MASK)
    np.testing.assert_allclose(layer(f32(X), initial_state=[f32(init)], mask=MASK), want, atol=1e-5)


def test_finite_difference_gradients_of_every_weight(form):
    """Analytic gradients (hoisted path) equal central differences in float64, for every weight."""
    cell, _ = make(form, dtype="float64", weights_seed=3)
    layer = zoo.layers.Recurrent(cell, return_sequences=True, hoist_inputs=True, dtype="float64")
    x = rng.normal(size=(2, 4, INPUT_DIM))
    init = [rng.normal(scale=0.5, size=(2, UNITS))]
    coeffs = rng.normal(size=(2, 4, UNITS))
    names = {"full": {"kernel", "bias"}, "factorised": {"kernel", "recurrent_kernel", "factor_output_kernel", "bias"}}
    assert {v.name for v in cell.trainable_variables} == names[form]
    assert_gradients_match_finite_differences(
        lambda: keras.ops.sum(layer(x, initial_state=init) * coeffs), cell.trainable_variables
    )


def test_stack_of_two_cells_equals_two_layers(form):
    (a, ref_a), (b, ref_b) = make(form, weights_seed=1), make(form, weights_seed=2, input_dim=UNITS)
    first, _ = reference.run_sequence(ref_a, X, [np.zeros((3, UNITS))])
    second, _ = reference.run_sequence(ref_b, first, [np.zeros((3, UNITS))])
    np.testing.assert_allclose(keras.layers.RNN([a, b], return_sequences=True)(f32(X)), second, atol=1e-5)


def test_bidirectional_halves_are_forward_and_go_backwards_runs(form):
    (fwd, ref_f), (bwd, ref_b) = make(form, weights_seed=3), make(form, weights_seed=4)
    bidi = keras.layers.Bidirectional(zoo.layers.Recurrent(make(form)[0]))
    bidi(f32(X))
    bidi.forward_layer.cell.set_weights(fwd.get_weights())
    bidi.backward_layer.cell.set_weights(bwd.get_weights())
    want_f, _ = reference.run_sequence(ref_f, X, [np.zeros((3, UNITS))], MASK)
    want_b, _ = reference.run_sequence(ref_b, X, [np.zeros((3, UNITS))], MASK, go_backwards=True)
    np.testing.assert_allclose(bidi(f32(X), mask=MASK), np.concatenate([want_f[:, -1], want_b[:, -1]], -1), atol=1e-5)


@pytest.mark.parametrize("rank", [0, -1, 1.5, True, "4"])
def test_bad_rank_raises_clear_error(rank):
    with pytest.raises(ValueError, match=r"`rank` must be a positive integer; got rank="):
        zoo.cells.SecondOrderCell(3, rank=rank)


def test_numpy_integer_rank_is_stored_as_int():
    cell = zoo.cells.SecondOrderCell(3, rank=np.int64(2))
    assert cell.rank == 2 and type(cell.get_config()["rank"]) is int


@pytest.mark.parametrize("activation", ["relu", "linear", None])
def test_unknown_activation_raises_clear_error(activation):
    with pytest.raises(ValueError, match=r"`activation` must be one of \('tanh', 'sigmoid'\); got activation="):
        zoo.cells.SecondOrderCell(3, activation=activation)
