import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.data import text


def standardized(*texts):
    return [s.decode("utf-8") for s in text.standardize_text(tf.constant(list(texts))).numpy()]


def test_standardize_strips_br_tags_punctuation_and_case():
    assert standardized("Great film!<br />Loved it.<br>The END")[0].split() == ["great", "film", "loved", "it", "the", "end"]


def test_standardize_keeps_apostrophes_and_lowercases_non_ascii():
    assert standardized("Don't miss AMÉLIE — ÜBER gut")[0].split() == ["don't", "miss", "amélie", "über", "gut"]


def test_standardize_survives_invalid_utf8():
    out = text.standardize_text(tf.constant([b"ok \xff\xfe bytes \xc3"])).numpy()[0]
    out.decode("utf-8")  # valid UTF-8 after standardization
    assert out.split()[0] == b"ok" and b"bytes" in out.split()


def test_standardize_is_serializable_by_name():
    layer = keras.layers.TextVectorization(10, standardize=text.standardize_text)
    config = keras.saving.serialize_keras_object(layer)
    assert config["config"]["standardize"]["config"] == "zoo>standardize_text"  # by registered name
    clone = keras.saving.deserialize_keras_object(config, safe_mode=True)
    assert clone._standardize is text.standardize_text


def test_vectorizer_is_adapted_on_the_given_texts_only():
    vectorizer = text.make_vectorizer(["good good film", "bad film"], vocab_size=10)
    assert vectorizer.get_vocabulary()[:4] == ["", "[UNK]", "good", "film"]
    assert text.vectorize(vectorizer, ["terrible"], 3).tolist() == [[1, 0, 0]]  # unseen -> out of vocabulary


def test_vectorize_truncates_and_pads_to_max_length():
    vectorizer = text.make_vectorizer(["a b c d e f"], vocab_size=10)
    ids = text.vectorize(vectorizer, ["a b c d e f", "a", ""], max_length=4, chunk=2)
    assert ids.shape == (3, 4) and ids.dtype == np.int32
    assert (ids[0] != 0).all() and (ids[1] != 0).sum() == 1 and (ids[2] == 0).all()


@pytest.mark.parametrize("max_length", [1, 20, 100, 512])
def test_length_buckets_are_increasing_and_below_max_length(max_length):
    boundaries = text.length_buckets(max_length)
    assert boundaries == sorted(set(boundaries)) and all(1 < b <= max_length for b in boundaries)


@pytest.mark.parametrize("max_length", [5, 300])
def test_bucketed_dataset_yields_every_example_once_padded_only_to_its_batch(max_length):
    rng = np.random.default_rng(0)
    n = 300
    lengths = rng.integers(1, max_length + 1, n)
    ids = np.zeros((n, max_length), np.int32)
    for i, length in enumerate(lengths):
        ids[i, :length] = rng.integers(1, 9, length)
    ids[:, 0] = np.arange(n) + 1  # a unique first token identifies each example
    data = text.bucketed_dataset(ids, np.arange(n), batch_size=16, shuffle=True, seed=0)
    seen = []
    for batch_ids, targets in data:
        batch_ids = batch_ids.numpy()
        assert batch_ids.shape[0] <= 16
        assert (batch_ids[:, -1] != 0).any()  # padded only to the longest in the batch
        np.testing.assert_array_equal(batch_ids[:, 0] - 1, targets.numpy())
        seen += batch_ids[:, 0].tolist()
    assert sorted(seen) == list(range(1, n + 1))
    assert int(data.cardinality()) == sum(1 for _ in data)
