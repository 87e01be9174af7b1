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
