import numpy as np
import pytest

from zoo.layers import Attention, ReversibleEmbedding


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def reference(layer, query, memory, mask):
    """The layer's equations in NumPy (Luong et al. 2015 "general"; Bahdanau et al. 2015 additive)."""
    w = {v.name: v.numpy().astype(np.float64) for v in layer.weights}
    keys = memory @ w["key_kernel"]
    if layer.score == "luong":
        scores = np.einsum("btd,bsd->bts", query, keys)
    else:
        hidden = np.tanh((query @ w["query_kernel"])[:, :, None, :] + keys[:, None, :, :])
        scores = hidden @ w["score_vector"]
    scores = np.where(mask[:, None, :], scores, -np.inf)
    weights = softmax(scores)
    return np.einsum("bts,bsd->btd", weights, memory), weights


@pytest.fixture
def inputs():
    rng = np.random.default_rng(0)
    query = rng.normal(size=(2, 3, 4)).astype("float32")
    memory = rng.normal(size=(2, 5, 6)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    return query, memory, mask


@pytest.mark.parametrize("score", ["luong", "bahdanau"])
def test_attention_matches_its_equations(score, inputs):
    query, memory, mask = inputs
    layer = Attention(score, units=7)
    context, weights = layer(query, memory, memory_mask=mask)
    want_context, want_weights = reference(layer, query, memory, mask)
    np.testing.assert_allclose(weights, want_weights, atol=1e-5)
    np.testing.assert_allclose(context, want_context, atol=1e-5)


@pytest.mark.parametrize("score", ["luong", "bahdanau"])
def test_attention_weights_sum_to_one_over_unmasked_positions(score, inputs):
    query, memory, mask = inputs
    _, weights = Attention(score, units=7)(query, memory, memory_mask=mask)
    weights = np.asarray(weights)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-6)
    assert np.all(weights[0, :, 3:] == 0.0)  # padded source positions get nothing


def test_fully_masked_memory_gives_finite_uniform_weights(inputs):
    query, memory, _ = inputs
    _, weights = Attention("luong")(query, memory, memory_mask=np.zeros((2, 5), bool))
    np.testing.assert_allclose(weights, 0.2, atol=1e-6)


def test_attention_bad_arguments():
    with pytest.raises(ValueError, match="score"):
        Attention("dot")
    with pytest.raises(ValueError, match="units"):
        Attention("bahdanau", units=0)


def test_attention_config_round_trip():
    layer = Attention("bahdanau", units=9, name="att")
    clone = Attention.from_config(layer.get_config())
    assert (clone.score, clone.units, clone.name) == ("bahdanau", 9, "att")


def test_reversible_embedding_shares_one_matrix():
    layer = ReversibleEmbedding(6, 3, mask_zero=True)
    ids = np.array([[1, 2, 0]])
    vectors = np.asarray(layer(ids))
    table = layer.embeddings.numpy()
    np.testing.assert_allclose(vectors[0], table[[1, 2, 0]])
    x = np.random.default_rng(0).normal(size=(2, 4, 3)).astype("float32")
    np.testing.assert_allclose(layer(x, reverse=True), x @ table.T, atol=1e-6)
    assert len(layer.weights) == 1
    np.testing.assert_array_equal(layer.compute_mask(ids), [[True, True, False]])
    assert layer.compute_mask(x) is None
