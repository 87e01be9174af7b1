"""zoo.export.restore: a zoo SavedModel folder rebuilt as a Keras model from its own variables."""

import json
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from zoo import export  # noqa: E402
from zoo.data import text  # noqa: E402
from zoo.export.restore import restore  # noqa: E402
from zoo.models.classifier import build_classifier, build_ensemble  # noqa: E402

SAVED = Path(__file__).resolve().parents[2] / "saved_models"
REVIEWS = [
    "This movie was a complete waste of time; awful acting and a plot with holes.",
    "Ich liebe diesen Film! Très bien, a charming little story.<br /><br />Go and see it.",
    "great " * 300,
]


def test_shipped_fast_model_is_rebuilt_and_reproduces_its_savedmodel_exactly():
    restored = restore(SAVED / "imdb_sentiment_fast")
    texts = tf.constant(REVIEWS)
    expected = tf.saved_model.load(str(SAVED / "imdb_sentiment_fast")).signatures["serving_default"](text=texts)
    core = tf.function(lambda ids: restored.model(ids, training=False), jit_compile=True)  # as the export runs it
    ids = export.text_to_ids(restored.vectorizer, texts, restored.max_length)
    got = export.classify_ids(core, ids, restored.max_length).numpy()
    assert restored.kind == "classifier" and len(restored.members) == 1
    assert restored.configs[0]["cell"] == "elman"
    np.testing.assert_array_equal(got, expected["probability"].numpy())


def test_shipped_addition_model_is_rebuilt_with_both_vocabularies():
    restored = restore(SAVED / "addition")  # checked inside: the rebuilt model's beam search gives the same sums
    assert restored.kind == "seq2seq"
    assert restored.vocabulary[:2] == ["", "[UNK]"] and restored.target_vocabulary[:4] == ["", "[UNK]", "[start]", "[end]"]
    assert sorted(set("0123456789+") - set(restored.vocabulary)) == []


def _ensemble_folder(path, cell, seed):
    """A tiny exported ensemble of two ``cell`` classifiers built alike (so every weight name ties)."""
    vectorizer = text.make_vectorizer(["a good film", "a bad film", "good acting, bad plot", "the end"], 20)
    options = dict(embedding_dim=4, units=3, bidirectional=True, pooling="mean")
    members = [build_classifier(cell, vocab_size=vectorizer.vocabulary_size(), name=f"member_{i}", **options)
               for i in range(2)]
    rng = np.random.default_rng(seed)
    for member in members:
        member.set_weights([rng.normal(size=w.shape) for w in member.get_weights()])
    command = (f"zoo train sentiment --cell {cell} --embedding-dim 4 --units 3 --bidirectional true --pooling mean "
               "--max-length 12 --vocab-size 20")
    export.export_text_classifier(
        build_ensemble(members), vectorizer, path, 12,
        extra_files={"config.json": {"members": ["runs/a", "runs/b"]}, "metrics.json": {"members": [{"command": command}] * 2}},
    )
    return members, vectorizer


def test_ensemble_members_built_alike_are_told_apart_by_the_savedmodel_outputs(tmp_path):
    members, vectorizer = _ensemble_folder(tmp_path / "ensemble", "gru", seed=0)
    restored = restore(tmp_path / "ensemble")
    assert len(restored.members) == 2
    assert restored.vocabulary == vectorizer.get_vocabulary()
    # Swapping whole members leaves the mean unchanged, so members built alike may return in either order.
    originals = [[w.numpy() for w in m.weights] for m in members]
    for member in restored.members:
        weights = [w.numpy() for w in member.weights]
        assert any(all(np.array_equal(a, b) for a, b in zip(weights, o)) for o in originals)


@pytest.mark.slow  # ~30 s: loads and scores the 24 MB mixture
def test_shipped_mixture_returns_its_members_in_config_order():
    restored = restore(SAVED / "shakespeare_char")  # checked inside against the `score` signature
    metrics = json.loads((SAVED / "shakespeare_char" / "metrics.json").read_text())
    assert restored.kind == "generator"
    assert [c["cell"] for c in restored.configs] == [m["cell"] for m in metrics["members"]]
    assert restored.mixture_weights == metrics["weights"]
    assert "".join(restored.vocabulary).startswith("\n !")


def test_a_folder_without_config_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not a zoo SavedModel folder"):
        restore(tmp_path)
