import os

# The suite runs on TensorFlow by default; tests/test_backends.py reruns the backend-generic
# modules with KERAS_BACKEND=jax and KERAS_BACKEND=torch in subprocesses.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import zoo  # noqa: E402
from tests import reference  # noqa: E402

BACKEND = keras.backend.backend()

# Tests of the backend-generic modules that cannot run on every backend, by module and name: the
# backends they run on, and why (shown in the skip reason). New TensorFlow-only tests should carry
# ``@pytest.mark.requires_tensorflow(reason=...)`` instead of joining this table.
TF = ("tensorflow",)
TAPE = (TF, "computes gradients with tf.GradientTape; tests/layers/test_recurrent_gradients.py checks them on every backend")
GENERATION = (TF, "uses zoo.generation, which is TensorFlow-only")
FINITE_DIFFERENCES = (TF, "float64 finite differences, run once; tests/layers/test_recurrent_gradients.py checks gradients on every backend")
ONLY_ON = {
    "tests/cells/test_cells.py": {"test_finite_difference_gradients_of_every_weight": FINITE_DIFFERENCES},
    "tests/cells/test_second_order.py": {"test_finite_difference_gradients_of_every_weight": FINITE_DIFFERENCES},
    "tests/layers/test_recurrent.py": {
        "test_outputs_and_gradients_equal_keras_rnn": TAPE,
        "test_learned_initial_state_is_trainable_and_used": TAPE,
    },
    "tests/models/test_classifier.py": {
        name: (("tensorflow", "jax"), "np.all(x) on a torch.Tensor calls x.all(axis=None, out=None), which torch rejects")
        for name in ("test_rating_head_is_linear_and_binary_is_a_probability", "test_all_padding_row_gives_a_finite_prediction")
    },
    "tests/models/test_generator.py": {
        "test_inference_model_shares_weights_and_matches_the_training_model": GENERATION,
        "test_feeding_in_chunks_with_carried_state_equals_one_pass": GENERATION,
        "test_stream_nll_is_independent_of_the_chunk_size": GENERATION,
        "test_score_equals_the_keras_cross_entropy": GENERATION,
        "test_temperature_zero_is_argmax_and_seeds_repeat": GENERATION,
        "test_top_k_one_is_greedy": GENERATION,
        "test_unknown_prompt_characters_are_skipped_and_length_zero_is_empty": GENERATION,
        "test_conditional_generator_condition_sets_the_initial_state": (TF, "reads outputs with tf.Tensor.numpy()"),
    },
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        backends, reason = ONLY_ON.get(item.nodeid.split("::")[0], {}).get(item.originalname, (None, None))
        marker = item.get_closest_marker("requires_tensorflow")
        if marker is not None:
            backends, reason = TF, marker.kwargs.get("reason", "uses TensorFlow directly")
        if backends is not None and BACKEND not in backends:
            item.add_marker(pytest.mark.skip(reason=f"runs on {'/'.join(backends)} only ({reason}); active backend: {BACKEND}"))


if BACKEND == "torch":
    import torch

    # The tests' tensors are tiny: a second intra-op thread only spin-waits, and on the 2 shared
    # cores it made a stateful GRU's train_on_batch 20x slower (335 ms against 17 ms per step).
    torch.set_num_threads(1)

    # Layer outputs on PyTorch require grad (the weights are Parameters), and NumPy refuses to read
    # such tensors; detach first, so np.testing reads torch outputs as it reads TF and JAX arrays.
    _tensor_array = torch.Tensor.__array__

    def _detached_array(self, dtype=None, copy=None):
        array = _tensor_array(self.detach(), dtype)
        return array.copy() if copy else array

    torch.Tensor.__array__ = _detached_array


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


def value_and_gradients(fn, inputs, variables):
    """``fn(*inputs)`` (a scalar) and its gradients with respect to ``inputs`` and ``variables``, on any backend.

    ``inputs`` are NumPy arrays, ``variables`` Keras variables of already-built layers. Returns
    ``(value, input_grads, variable_grads)`` as floats and NumPy arrays (None where unconnected).
    """
    if BACKEND == "tensorflow":
        import tensorflow as tf

        xs = [tf.constant(x) for x in inputs]
        with tf.GradientTape() as tape:
            tape.watch(xs)
            value = fn(*xs)
        grads = tape.gradient(value, xs + list(variables))
    elif BACKEND == "jax":
        import jax

        def pure(xs, values):
            with keras.StatelessScope(state_mapping=list(zip(variables, values))):
                return fn(*xs)

        value, (x_grads, v_grads) = jax.value_and_grad(pure, argnums=(0, 1))(
            [jax.numpy.asarray(x) for x in inputs], [v.value for v in variables]
        )
        grads = list(x_grads) + list(v_grads)
    elif BACKEND == "torch":
        import torch

        xs = [torch.tensor(x, requires_grad=True) for x in inputs]
        value = fn(*xs)
        grads = torch.autograd.grad(value, xs + [v.value for v in variables], allow_unused=True)
    else:
        raise NotImplementedError(f"value_and_gradients has no case for the {BACKEND!r} backend.")
    grads = [None if g is None else np.asarray(keras.ops.convert_to_numpy(g)) for g in grads]
    return float(keras.ops.convert_to_numpy(value)), grads[: len(inputs)], grads[len(inputs) :]


def assert_gradients_match_finite_differences(fn, variables, eps=1e-6, rtol=1e-5, atol=1e-7):
    """The analytic gradient of the scalar ``fn()`` for every entry of every variable equals the central
    difference ``(fn(w + eps) - fn(w - eps)) / 2 eps``. Use float64 layers: float32 differences are noise."""
    _, _, grads = value_and_gradients(fn, [], variables)
    for var, grad in zip(variables, grads, strict=True):
        base = np.array(keras.ops.convert_to_numpy(var.value))
        numeric = np.zeros_like(base)
        for idx in np.ndindex(base.shape):
            for sign in (1, -1):
                bumped = base.copy()
                bumped[idx] += sign * eps
                var.assign(bumped)
                numeric[idx] += sign * float(keras.ops.convert_to_numpy(fn())) / (2 * eps)
            var.assign(base)
        np.testing.assert_allclose(grad, numeric, rtol=rtol, atol=atol, err_msg=var.name)
