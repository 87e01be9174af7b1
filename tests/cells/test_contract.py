"""The contract every registered cell keeps (as Keras' ``run_layer_test`` does for layers).

Parametrized over ``zoo.cells.names()``: a new cell runs these checks with its default arguments
without touching this file (add its variants to ``VARIANTS``). Where a zoo cell corresponds to a
Keras cell (``KERAS_TWINS``), it must give Keras' numbers with the same weights and arguments, as a
drop-in for ``keras.layers.SimpleRNN``/``GRU``/``LSTM``. Per-cell files test only the equations.
"""

import keras
import numpy as np
import pytest

import zoo
from tests.conftest import INPUT_DIM, UNITS, randomize

# The variants of each cell whose code paths differ; a cell missing here runs with its defaults.
VARIANTS = {
    "elman": [{}, {"activation": "relu"}],
    "gru": [{"reset_after": True}, {"reset_after": False}],
    "peephole_lstm": [{}, {"peepholes": False}],
    "second_order": [{}, {"rank": 5}],
}
CASES = [(name, kwargs) for name in zoo.cells.names() for kwargs in VARIANTS.get(name, [{}])]
IDS = [name + "".join(f"-{k}={v}" for k, v in kwargs.items()) for name, kwargs in CASES]

# zoo cell (name, kwargs) -> the Keras cell it equals with the same weights and arguments.
KERAS_TWINS = [
    ("elman", {}, keras.layers.SimpleRNNCell),
    ("elman", {"activation": "relu"}, keras.layers.SimpleRNNCell),
    ("gru", {"reset_after": True}, keras.layers.GRUCell),
    ("gru", {"reset_after": False, "activation": "relu", "recurrent_activation": "hard_sigmoid"}, keras.layers.GRUCell),
    ("peephole_lstm", {"peepholes": False}, keras.layers.LSTMCell),
    (
        "peephole_lstm",
        {"peepholes": False, "activation": "softsign", "recurrent_activation": "hard_sigmoid"},
        keras.layers.LSTMCell,
    ),
]
TWIN_IDS = [name + "".join(f"-{v}" for v in kwargs.values()) for name, kwargs, _ in KERAS_TWINS]
GATED = [twin for twin in KERAS_TWINS if twin[2] is not keras.layers.SimpleRNNCell][::2]  # GRU, LSTM

rng = np.random.default_rng(5)
X = rng.normal(size=(3, 6, INPUT_DIM)).astype("float32")
MASK = np.arange(6)[None, :] < np.array([6, 4, 1])[:, None]  # right-padded, mixed lengths


@pytest.fixture(params=CASES, ids=IDS)
def case(request):
    return request.param


def built(name, kwargs, weights_seed=0, input_dim=INPUT_DIM, **extra):
    """The registered cell, built, with random weights (the same for the same weights_seed)."""
    cell = zoo.cells.get(name, units=UNITS, **kwargs, **extra)
    cell.build((None, input_dim))
    randomize(cell, weights_seed)
    return cell


def keras_twin(name, kwargs, keras_cls, **extra):
    """A keras.layers.RNN of the Keras cell holding the weights of ``built(name, kwargs)``."""
    layer = keras.layers.RNN(
        keras_cls(UNITS, **{k: v for k, v in kwargs.items() if k != "peepholes"}, **extra), return_sequences=True
    )
    layer.build(X.shape)  # not a call: that would draw dropout masks and move the seed generator on
    layer.set_weights(built(name, kwargs, **extra).get_weights())
    return layer


def test_every_cell_is_a_registered_serializable_zoo_cell(case):
    name, kwargs = case
    cell = zoo.cells.get(name, units=3, **kwargs)
    assert isinstance(cell, zoo.cells.ZooCell) and cell.units == 3
    assert keras.saving.get_registered_name(type(cell)) == f"zoo>{type(cell).__name__}"


@pytest.mark.parametrize("name", zoo.cells.names())
@pytest.mark.parametrize("units", [0, -2, 2.5, None])
def test_bad_units_raise_clear_error(name, units):
    with pytest.raises(ValueError, match="`units` must be a positive integer"):
        zoo.cells.get(name, units=units)


def test_step_on_projected_inputs_equals_call(case):
    cell = built(*case)
    x = rng.normal(size=(5, INPUT_DIM)).astype("float32")
    states = [rng.normal(size=(5, s)).astype("float32") for s in np.atleast_1d(cell.state_size)]
    np.testing.assert_allclose(cell(x, states)[0], cell.step(cell.project_inputs(x), states)[0], atol=1e-6)


def test_hoisted_unhoisted_and_keras_rnn_give_the_same_outputs(case):
    layers = [
        zoo.layers.Recurrent(built(*case), return_sequences=True, hoist_inputs=True),
        zoo.layers.Recurrent(built(*case), return_sequences=True, hoist_inputs=False),
        keras.layers.RNN(built(*case), return_sequences=True),
    ]
    first, *others = [layer(X, mask=MASK) for layer in layers]
    for other in others:
        np.testing.assert_allclose(first, other, atol=1e-5)


def test_recurrent_holds_the_variables_of_keras_rnn(case):
    """No extra variable or seed generator (code that walks variables, like Keras' layer tests, sees none)."""
    ours, theirs = zoo.layers.Recurrent(built(*case)), keras.layers.RNN(built(*case))
    ours(X), theirs(X)
    for attribute in ("variables", "trainable_variables", "non_trainable_variables", "weights"):
        assert [v.name for v in getattr(ours, attribute)] == [v.name for v in getattr(theirs, attribute)], attribute


def test_dropout_only_active_in_training(case):
    layer = zoo.layers.Recurrent(built(*case, dropout=0.5, recurrent_dropout=0.5, seed=1))
    np.testing.assert_array_equal(layer(X), layer(X))
    assert not np.allclose(layer(X, training=True), layer(X))


@pytest.mark.parametrize("rates", [(0.4, 0.0), (0.0, 0.3), (0.4, 0.3)], ids=["dropout", "recurrent", "both"])
def test_dropout_masks_agree_hoisted_unhoisted_and_keras_rnn(case, rates):
    """One mask per sequence: the hoisted projection drops what the cell drops at every step."""
    name, kwargs = case
    masks = ["shared", "per_gate"] if zoo.cells.get(name, units=1, **kwargs).gates > 1 else ["shared"]
    for dropout_masks in masks:

        def layer(cls, **layer_kwargs):
            cell = built(name, kwargs, dropout=rates[0], recurrent_dropout=rates[1], seed=5, dropout_masks=dropout_masks)
            return cls(cell, return_sequences=True, **layer_kwargs)

        hoisted = layer(zoo.layers.Recurrent, hoist_inputs=True)
        others = (layer(zoo.layers.Recurrent, hoist_inputs=False), layer(keras.layers.RNN))
        first, *rest = [each(X, training=True) for each in (hoisted, *others)]
        for other in rest:
            np.testing.assert_allclose(first, other, atol=1e-5, err_msg=dropout_masks)
        assert not np.allclose(first, hoisted(X))


def test_config_round_trip_gives_identical_outputs(case):
    name, kwargs = case
    extra = {
        "dropout": 0.1,
        "recurrent_dropout": 0.2,
        "kernel_regularizer": "l2",
        "kernel_constraint": keras.constraints.MaxNorm(2.0),
        "bias_constraint": "non_neg",
    }
    cell = built(name, kwargs, **extra)
    config = cell.get_config()
    assert {k: config[k] for k in kwargs} == kwargs
    clone = type(cell).from_config(config)
    clone.build((None, INPUT_DIM))
    clone.set_weights(cell.get_weights())
    assert clone.get_config() == config
    assert isinstance(clone.kernel_constraint, keras.constraints.MaxNorm) and clone.kernel_constraint.max_value == 2.0
    x = rng.normal(size=(2, INPUT_DIM)).astype("float32")
    states = [np.zeros((2, s), "float32") for s in np.atleast_1d(cell.state_size)]
    np.testing.assert_array_equal(cell(x, states)[0], clone(x, states)[0])


def test_keras_file_round_trip_in_safe_mode_stacked_and_bidirectional(case, tmp_path):
    name, kwargs = case
    inputs = keras.Input((6, INPUT_DIM))
    stacked = keras.layers.RNN([built(name, kwargs, 1), built(name, kwargs, 2, input_dim=UNITS)], return_sequences=True)
    recurrent = zoo.layers.Recurrent(built(name, kwargs, 3, input_dim=UNITS))
    model = keras.Model(inputs, keras.layers.Bidirectional(recurrent)(stacked(inputs)))
    assert model.output_shape == (None, 2 * UNITS)
    model.save(tmp_path / "model.keras")
    reloaded = keras.models.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_array_equal(model(X), reloaded(X))


@pytest.mark.parametrize("name, kwargs, keras_cls", KERAS_TWINS, ids=TWIN_IDS)
@pytest.mark.parametrize("hoist_inputs", [True, False])
def test_equals_the_keras_cell_with_the_same_weights(name, kwargs, keras_cls, hoist_inputs):
    ours = zoo.layers.Recurrent(built(name, kwargs), return_sequences=True, hoist_inputs=hoist_inputs)
    theirs = keras_twin(name, kwargs, keras_cls)
    assert [w.name for w in ours.cell.weights] == [w.name for w in theirs.cell.weights]
    np.testing.assert_allclose(ours(X, mask=MASK), theirs(X, mask=MASK), atol=1e-5)


@pytest.mark.parametrize("name, kwargs, keras_cls", KERAS_TWINS, ids=TWIN_IDS)
def test_constraints_apply_to_the_weights_keras_applies_them_to(name, kwargs, keras_cls):
    constraints = {
        "kernel_constraint": "non_neg",
        "recurrent_constraint": keras.constraints.MaxNorm(0.5),
        "bias_constraint": keras.constraints.MinMaxNorm(0.1, 0.2),
    }
    ours, theirs = built(name, kwargs, **constraints), keras_twin(name, kwargs, keras_cls, **constraints).cell
    grads = [keras.ops.convert_to_tensor(rng.normal(size=w.shape).astype("float32")) for w in ours.trainable_weights]
    for cell in (ours, theirs):
        keras.optimizers.SGD(1.0).apply(grads, cell.trainable_weights)
    assert ours.kernel.numpy().min() >= 0.0
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("name, kwargs, keras_cls", GATED, ids=["gru", "lstm"])
def test_per_gate_dropout_masks_equal_keras_in_training(name, kwargs, keras_cls):
    """Keras draws one mask per gate when recurrent_dropout > 0; "per_gate" draws the same masks."""
    rates = {"dropout": 0.3, "recurrent_dropout": 0.4, "seed": 7}
    theirs = keras_twin(name, kwargs, keras_cls, **rates)(X, training=True)
    for hoist_inputs in (True, False):
        cell = built(name, kwargs, **rates, dropout_masks="per_gate")
        ours = zoo.layers.Recurrent(cell, return_sequences=True, hoist_inputs=hoist_inputs)
        np.testing.assert_allclose(ours(X, training=True), theirs, atol=1e-5)
    shared = zoo.layers.Recurrent(built(name, kwargs, **rates), return_sequences=True)(X, training=True)
    assert not np.allclose(shared, theirs, atol=1e-2)  # the zoo default is one mask for all gates


@pytest.mark.parametrize("name, kwargs, keras_cls", GATED, ids=["gru", "lstm"])
def test_shared_input_dropout_mask_equals_keras_without_recurrent_dropout(name, kwargs, keras_cls):
    """With recurrent_dropout = 0 Keras shares one input mask between gates, as the zoo default does."""
    rates = {"dropout": 0.3, "seed": 7}
    theirs = keras_twin(name, kwargs, keras_cls, **rates)(X, training=True)
    ours = zoo.layers.Recurrent(built(name, kwargs, **rates), return_sequences=True)(X, training=True)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


@pytest.mark.parametrize("name", [name for name in zoo.cells.names() if zoo.cells.get(name, units=1).gates == 1])
def test_single_gate_cells_refuse_per_gate_masks(name):
    with pytest.raises(ValueError, match=r"`dropout_masks` must be one of \('shared',\); got dropout_masks='per_gate'"):
        zoo.cells.get(name, units=2, dropout_masks="per_gate")
