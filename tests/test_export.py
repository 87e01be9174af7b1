import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from zoo import export, training
from zoo.data import text
from zoo.models.classifier import build_classifier

TRAIN = ["a good film", "great acting, good story", "bad film<br />awful", "boring and bad", "une très bonne idée"]
PROBES = ["a good film", "awful awful boring", "great", "good " * 40, "très bonne"]
MAX_LENGTH = 16

# Run in a fresh interpreter where `import zoo` fails: the export must stand on TensorFlow alone.
RELOAD = """
import json, sys
sys.modules["zoo"] = None
import tensorflow as tf
serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
texts = json.loads(sys.argv[2])
out = {}
for batch in (1, 3):
    probs, labels = [], []
    for i in range(0, len(texts), batch):
        result = serve(text=tf.constant(texts[i:i + batch], tf.string))
        probs += result["probability"].numpy().tolist()
        labels += [x.decode() for x in result["label"].numpy()]
    out[batch] = {"probability": probs, "label": labels}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    training.seed_everything(0)
    vectorizer = text.make_vectorizer(TRAIN, vocab_size=50)
    model = build_classifier("gru", vocab_size=vectorizer.vocabulary_size(), embedding_dim=4, units=3,
                             bidirectional=True, pooling="max")
    model.layers[-1].bias.assign([0.3])  # not exactly 0.5 for empty input
    path = tmp_path_factory.mktemp("export") / "sentiment"
    export.export_text_classifier(model, vectorizer, path, MAX_LENGTH, extra_files={"metrics.json": {"a": 1}})
    return model, vectorizer, path


def keras_probabilities(model, vectorizer, texts):
    return model(export.text_to_ids(vectorizer, tf.constant(texts), MAX_LENGTH)).numpy()[:, 0]


def test_reloads_without_zoo_and_matches_keras_at_two_batch_sizes(exported):
    model, vectorizer, path = exported
    run = subprocess.run([sys.executable, "-c", RELOAD, str(path), json.dumps(PROBES)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    expected = keras_probabilities(model, vectorizer, PROBES)
    for batch in ("1", "3"):
        np.testing.assert_allclose(out[batch]["probability"], expected, rtol=1e-5, atol=1e-6)
        assert out[batch]["label"] == ["positive" if p >= 0.5 else "negative" for p in expected]


def test_one_call_with_many_texts_of_mixed_lengths_matches_keras_in_order(exported):
    # More texts than one compiled chunk holds, in an order that sorting by length must undo.
    model, vectorizer, path = exported
    texts = [("good " * (i % 7) + "awful " * (i % 3)).strip() for i in range(2 * export.ROW_CHUNK + 3)]
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    served = serve(text=tf.constant(texts))["probability"].numpy()
    np.testing.assert_allclose(served, keras_probabilities(model, vectorizer, texts), rtol=1e-5, atol=1e-6)


def test_serving_lengths_are_few_and_cover_every_request():
    assert export.serving_lengths(800) == [16, 32, 64, 128, 256, 512, 801]
    assert export.serving_lengths(16) == [16, 17] and export.serving_lengths(3) == [4]


def test_signature_names_types_and_shapes(exported):
    serve = tf.saved_model.load(str(exported[2])).signatures["serving_default"]
    assert serve.structured_input_signature[1] == {"text": tf.TensorSpec([None], tf.string, name="text")}
    outputs = serve.structured_outputs
    assert outputs["probability"].dtype == tf.float32 and outputs["probability"].shape.as_list() == [None]
    assert outputs["label"].dtype == tf.string and outputs["label"].shape.as_list() == [None]


def test_truncation_matches_training(exported):
    model, vectorizer, _ = exported
    ids = export.text_to_ids(vectorizer, tf.constant(["good " * 100, ""]), MAX_LENGTH).numpy()
    assert ids.shape == (2, MAX_LENGTH + 1) and (ids[0, :MAX_LENGTH] != 0).all() and (ids[:, -1] == 0).all()
    np.testing.assert_array_equal(ids[0, :MAX_LENGTH], text.vectorize(vectorizer, ["good " * 100], MAX_LENGTH)[0])


@pytest.mark.parametrize(
    "batch",
    [
        [""],
        ["   \n\t "],
        ["great film " * 95_000],  # ~1 MB of words
        ["x" * 1_000_000],  # 1 MB, one token
        ["Ein großartiger Film — 素晴らしい映画 🎬", "очень плохо"],
        [b"bad \xff\xfe bytes \xc3", b"\x80"],
        [],
    ],
    ids=["empty", "whitespace", "1MB_words", "1MB_token", "non_ascii", "invalid_utf8", "empty_batch"],
)
def test_odd_inputs_return_finite_results(exported, batch):
    serve = tf.saved_model.load(str(exported[2])).signatures["serving_default"]
    out = serve(text=tf.constant(batch, tf.string))
    probability = out["probability"].numpy()
    assert probability.shape == (len(batch),) and np.isfinite(probability).all()
    assert ((probability >= 0) & (probability <= 1)).all()
    assert set(out["label"].numpy().tolist()) <= {b"positive", b"negative"}


def test_saved_model_cli_runs_it(exported):
    cli = shutil.which("saved_model_cli") or str(__import__("pathlib").Path(sys.executable).with_name("saved_model_cli"))
    run = subprocess.run(
        [cli, "run", "--dir", str(exported[2]), "--tag_set", "serve", "--signature_def", "serving_default",
         "--input_exprs", 'text=["a good film", ""]'],
        capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "probability" in run.stdout and ("positive" in run.stdout or "negative" in run.stdout)


def test_extra_files_are_written_beside_the_model(exported):
    assert json.loads((exported[2] / "metrics.json").read_text()) == {"a": 1}


def test_failed_export_leaves_the_previous_model_untouched(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "saved_model.pb").write_text("old")

    def fail(tmp):
        (tmp / "half").write_text("partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        export.atomic_write_dir(target, fail)
    assert (target / "saved_model.pb").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no temporary folder left


def test_successful_write_replaces_the_folder(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "stale").write_text("old")
    export.atomic_write_dir(target, lambda tmp: (tmp / "new").write_text("new"))
    assert sorted(p.name for p in target.iterdir()) == ["new"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_every_weight_is_stored_once(exported):
    model, _, path = exported
    reader = tf.train.load_checkpoint(str(path / "variables" / "variables"))
    stored = sum(
        int(np.prod(shape))
        for name, shape in reader.get_variable_to_shape_map().items()
        if reader.get_variable_to_dtype_map()[name] == tf.float32
    )
    assert stored == model.count_params()


def test_written_folder_gets_the_usual_permissions_not_mkdtemps_private_ones(tmp_path):
    old = os.umask(0o022)
    try:
        export.atomic_write_dir(tmp_path / "model", lambda tmp: (tmp / "x").write_text("x"))
    finally:
        os.umask(old)
    assert (tmp_path / "model").stat().st_mode & 0o777 == 0o755
