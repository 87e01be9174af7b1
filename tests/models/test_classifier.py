import keras
import numpy as np
import pytest

from zoo.models import build_classifier

rng = np.random.default_rng(0)


@pytest.mark.parametrize("cell", ["elman", "gru", "peephole_lstm"])
@pytest.mark.parametrize("pooling", ["last", "max", "mean"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_does_not_change_the_prediction(cell, pooling, bidirectional):
    model = build_classifier(cell, vocab_size=30, embedding_dim=4, units=5, num_layers=2, bidirectional=bidirectional, pooling=pooling)
    ids = rng.integers(1, 30, size=(3, 6)).astype("int32")
    padded = np.concatenate([ids, np.zeros((3, 4), "int32")], axis=1)
    short = model.predict(ids, verbose=0)
    assert short.shape == (3, 1)
    np.testing.assert_allclose(short, model.predict(padded, verbose=0), atol=1e-6)


def test_rating_head_is_linear_and_binary_is_a_probability():
    ids = rng.integers(1, 30, size=(4, 5)).astype("int32")
    prob = build_classifier("gru", vocab_size=30, embedding_dim=4, units=3)(ids)
    assert np.all((prob > 0) & (prob < 1))
    rating = build_classifier("gru", vocab_size=30, embedding_dim=4, units=3, head="rating")
    assert rating.layers[-1].activation.__name__ == "linear"


@pytest.mark.parametrize("pooling", ["last", "max", "mean"])
def test_all_padding_row_gives_a_finite_prediction(pooling):
    model = build_classifier("peephole_lstm", vocab_size=30, embedding_dim=4, units=3, pooling=pooling)
    out = model(np.zeros((2, 5), "int32"))
    assert np.all(np.isfinite(out))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"cell": "lstm"}, "Unknown cell 'lstm'"),
        ({"pooling": "first"}, "`pooling` must be one of"),
        ({"head": "multi"}, "`head` must be one of"),
        ({"units": 0}, "`units` must be a positive integer"),
        ({"vocab_size": 0}, "`vocab_size` must be a positive integer"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_classifier(**{"vocab_size": 30, **kwargs})


def ragged_ids(lengths, width, vocab_size=30):
    """Token ids (len(lengths), width), row i with lengths[i] tokens, then padding (0) at the end."""
    ids = rng.integers(1, vocab_size, size=(len(lengths), width)).astype("int32")
    return ids * (np.arange(width) < np.array(lengths)[:, None])


@pytest.mark.parametrize("bidirectional", [False, True])
def test_shortcut_head_sees_the_recurrent_output_and_the_embedding(bidirectional):
    kwargs = dict(vocab_size=30, embedding_dim=4, units=5, bidirectional=bidirectional, pooling="max")
    plain, short = build_classifier("gru", **kwargs), build_classifier("gru", shortcut=True, **kwargs)
    directions = 2 if bidirectional else 1
    assert tuple(plain.get_layer("probability").kernel.shape) == (5 * directions, 1)
    assert tuple(short.get_layer("probability").kernel.shape) == (5 * directions + 4, 1)
    assert "shortcut" not in [layer.name for layer in plain.layers]


@pytest.mark.parametrize("pooling", ["last", "max", "mean"])
def test_shortcut_with_zeroed_recurrent_head_weights_reads_only_the_embedding(pooling):
    # y = sigmoid(W_h pool(h) + W_x pool(x) + b) with W_h = 0: the NumPy head on the pooled embedding.
    model = build_classifier("elman", vocab_size=30, embedding_dim=4, units=5, num_layers=2, pooling=pooling,
                             shortcut=True)
    head = model.get_layer("probability")
    kernel, bias = head.get_weights()
    kernel[:5] = 0.0
    head.set_weights([kernel, bias + 0.1])
    lengths = [6, 3, 1]
    ids = ragged_ids(lengths, 8)
    table = model.get_layer("embedding").get_weights()[0]
    pooled = []
    for row, n in zip(ids, lengths):
        x = table[row[:n]]  # (n, embedding_dim), the unpadded steps
        pooled.append({"last": x[-1], "max": x.max(0), "mean": x.mean(0)}[pooling])
    expected = 1 / (1 + np.exp(-(np.stack(pooled) @ kernel[5:] + bias + 0.1)))
    np.testing.assert_allclose(model.predict(ids, verbose=0), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("pooling", ["last", "max", "mean"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_shortcut_padding_does_not_change_the_prediction(pooling, bidirectional):
    model = build_classifier("gru", vocab_size=30, embedding_dim=4, units=5, num_layers=2,
                             bidirectional=bidirectional, pooling=pooling, shortcut=True)
    ids = ragged_ids([6, 4, 2], 6)
    padded = np.concatenate([ids, np.zeros((3, 4), "int32")], axis=1)
    np.testing.assert_allclose(model.predict(ids, verbose=0), model.predict(padded, verbose=0), atol=1e-6)


def test_shortcut_model_round_trips_through_config_and_keras_file(tmp_path):
    import keras

    model = build_classifier("peephole_lstm", vocab_size=30, embedding_dim=4, units=3, pooling="last", shortcut=True)
    ids = ragged_ids([5, 2], 5)
    clone = keras.Model.from_config(model.get_config())
    assert [w.shape for w in clone.weights] == [w.shape for w in model.weights]
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict(ids, verbose=0), model.predict(ids, verbose=0), atol=1e-6)


def test_ensemble_is_the_mean_of_its_members():
    from zoo.models.classifier import build_ensemble

    members = [build_classifier(cell, vocab_size=20, embedding_dim=3, units=2, name=cell) for cell in ("gru", "elman")]
    ids = np.array([[3, 4, 5, 0], [7, 0, 0, 0]], np.int32)
    expected = np.mean([keras.ops.convert_to_numpy(m(ids)) for m in members], axis=0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(build_ensemble(members)(ids)), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="at least 2"):
        build_ensemble(members[:1])
    with pytest.raises(ValueError, match="distinct names"):
        build_ensemble([members[0], members[0]])
