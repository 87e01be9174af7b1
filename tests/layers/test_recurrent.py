import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from tests import reference
from tests.conftest import BACKEND, INPUT_DIM, UNITS, make_cell, zero_states

rng = np.random.default_rng(11)
X = rng.normal(size=(3, 6, INPUT_DIM)).astype("float32")
MASK = np.arange(6)[None, :] < np.array([6, 3, 1])[:, None]


def twin_layers(case, **kwargs):
    """A zoo Recurrent and a keras.layers.RNN driving cells with identical weights."""
    cell, _ = make_cell(case)
    twin, _ = make_cell(case)
    return zoo.layers.Recurrent(cell, **kwargs), keras.layers.RNN(twin, **kwargs)


@pytest.mark.parametrize("go_backwards", [False, True])
def test_outputs_and_gradients_equal_keras_rnn(case, go_backwards):
    ours, theirs = twin_layers(case, return_sequences=True, return_state=True, go_backwards=go_backwards)
    x = tf.constant(X)
    results = []
    for layer in (ours, theirs):
        with tf.GradientTape() as tape:
            tape.watch(x)
            out, *states = layer(x, mask=MASK)
            loss = tf.reduce_sum(out * np.linspace(-1, 1, out.shape[-1])) + sum(tf.reduce_sum(s**2) for s in states)
        grads = tape.gradient(loss, [x] + layer.trainable_variables)
        results.append((out, states, grads))
    (o1, s1, g1), (o2, s2, g2) = results
    np.testing.assert_allclose(o1, o2, atol=1e-5)
    for a, b in zip(s1 + g1, s2 + g2):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_given_initial_state_matches_reference(case):
    cell, ref = make_cell(case)
    init = [rng.normal(size=(3, s)) for s in np.atleast_1d(cell.state_size)]
    layer = zoo.layers.Recurrent(cell, return_sequences=True)
    out = layer(X, initial_state=[s.astype("float32") for s in init], mask=MASK)
    want, _ = reference.run_sequence(ref, X, init, MASK)
    np.testing.assert_allclose(out, want, atol=1e-5)


def test_learned_initial_state_is_trainable_and_used():
    cell, ref = make_cell("peephole_lstm")
    layer = zoo.layers.Recurrent(cell, initial_state="learned")
    layer(X)
    learned = layer.learned_initial_state
    assert [w.name for w in learned] == ["initial_state_0", "initial_state_1"]
    for w in learned:
        w.assign(rng.normal(size=w.shape).astype("float32"))
    init = [np.tile(w.numpy().astype(np.float64), (3, 1)) for w in learned]
    want, _ = reference.run_sequence(ref, X, init)
    np.testing.assert_allclose(layer(X), want[:, -1], atol=1e-5)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(X) ** 2)
    grads = tape.gradient(loss, learned)
    assert all(g is not None and np.abs(g.numpy()).sum() > 0 for g in grads)


def test_noise_initial_state_only_in_training():
    cell, ref = make_cell("gru_reset_after")
    layer = zoo.layers.Recurrent(cell, initial_state="noise", noise_stddev=0.5, seed=3)
    want, _ = reference.run_sequence(ref, X, zero_states(cell, 3))
    np.testing.assert_allclose(layer(X), want[:, -1], atol=1e-5)
    first, second = layer(X, training=True), layer(X, training=True)
    assert not np.allclose(first, want[:, -1], atol=1e-3)
    assert not np.allclose(first, second)


@pytest.mark.parametrize("hoist_inputs", [True, False])
def test_stateful_carries_state_and_resets(hoist_inputs):
    cell, ref = make_cell("elman_tanh")
    inputs = keras.Input(batch_shape=(3, 3, INPUT_DIM))
    layer = zoo.layers.Recurrent(cell, stateful=True, hoist_inputs=hoist_inputs)
    model = keras.Model(inputs, layer(inputs))
    _, states = reference.run_sequence(ref, X[:, :3], zero_states(cell, 3))
    want, _ = reference.run_sequence(ref, X[:, 3:], states)
    model(X[:, :3])
    np.testing.assert_allclose(model(X[:, 3:]), want[:, -1], atol=1e-5)
    layer.reset_states()
    fresh, _ = reference.run_sequence(ref, X[:, 3:], zero_states(cell, 3))
    np.testing.assert_allclose(model(X[:, 3:]), fresh[:, -1], atol=1e-5)


def test_plain_keras_cell_takes_ordinary_path():
    cell = keras.layers.GRUCell(UNITS)
    layer = zoo.layers.Recurrent(cell)
    assert layer(X).shape == (3, UNITS)


def test_unknown_initial_state_mode_raises():
    with pytest.raises(ValueError, match="`initial_state` must be one of .*'random'"):
        zoo.layers.Recurrent(zoo.cells.ElmanCell(2), initial_state="random")


@pytest.mark.parametrize("mode", ["zeros", "learned", "noise"])
def test_config_and_keras_file_round_trip(mode, tmp_path):
    cell, _ = make_cell("peephole_lstm")
    inputs = keras.Input((6, INPUT_DIM))
    model = keras.Model(inputs, zoo.layers.Recurrent(cell, initial_state=mode, return_sequences=True)(inputs))
    for w in model.weights:
        w.assign(rng.normal(size=w.shape).astype("float32"))
    model.save(tmp_path / "m.keras")
    reloaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_array_equal(model(X), reloaded(X))
    layer = model.layers[-1]
    assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()


@pytest.mark.parametrize("hoist_inputs", ["auto", True, False])
def test_hoist_inputs_chooses_the_path(hoist_inputs, monkeypatch):
    """"auto" runs the path measured faster on the active backend (FASTEST_HOISTING); True/False force one."""
    cell, _ = make_cell("gru_reset_after")
    ranks = []
    project = cell.project_inputs
    monkeypatch.setattr(cell, "project_inputs", lambda x, **kw: ranks.append(len(x.shape)) or project(x, **kw))
    layer = zoo.layers.Recurrent(cell, hoist_inputs=hoist_inputs)
    layer(X)
    hoisted = zoo.layers.recurrent.FASTEST_HOISTING[BACKEND] if hoist_inputs == "auto" else hoist_inputs
    assert layer.hoists is hoisted and (3 in ranks) is hoisted
    assert type(layer).from_config(layer.get_config()).hoist_inputs == hoist_inputs


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_bad_hoist_inputs_raises_clear_error(value):
    with pytest.raises(ValueError, match=r"`hoist_inputs` must be one of \('auto', True, False\); got hoist_inputs="):
        zoo.layers.Recurrent(zoo.cells.ElmanCell(2), hoist_inputs=value)
