import json

import numpy as np
import pytest
import tensorflow as tf

from tests.data.test_imdb import make_archive
from tests.tasks.test_imdb_classifier import TINY
from zoo import cli
from zoo.tasks import sentiment_ensemble


@pytest.fixture(scope="module")
def members(tmp_path_factory):
    root = tmp_path_factory.mktemp("ensemble")
    archive = make_archive(root)
    runs = []
    for cell in ("gru", "elman"):
        run_dir = root / cell
        argv = ["train", "sentiment", "--cell", cell, "--data-dir", str(archive), "--run-dir", str(run_dir), *TINY]
        assert cli.main(argv) == 0
        runs.append(run_dir)
    out = root / "ensemble"
    argv = ["ensemble", "sentiment", *map(str, runs), "--data-dir", str(archive), "--run-dir", str(out)]
    assert cli.main(argv) == 0
    return runs, archive, out


def test_ensemble_scores_each_member_and_their_mean(members):
    runs, _, out = members
    metrics = json.loads((out / "metrics.json").read_text())
    assert [m["run_dir"] for m in metrics["members"]] == [str(r) for r in runs]
    for member, run_dir in zip(metrics["members"], runs):
        recorded = json.loads((run_dir / "metrics.json").read_text())
        assert member["test"]["accuracy"] == pytest.approx(recorded["test"]["accuracy"])
        assert member["command"] == recorded["command"]
    assert metrics["test_examples"] == 2 and 0 <= metrics["test"]["accuracy"] <= 1
    assert [s["members"] for s in metrics["validation_subsets"]] == [[str(r) for r in runs]]
    assert metrics["exported_validation_max_abs_difference"] < 1e-5
    assert metrics["command"].startswith("zoo ensemble sentiment")


def test_exported_ensemble_serves_the_mean_of_the_members(members):
    runs, _, out = members
    texts = ["a good film", "bad and boring", ""]
    mean = np.mean([
        tf.saved_model.load(str(r / "export")).signatures["serving_default"](text=tf.constant(texts))["probability"]
        for r in runs
    ], axis=0)
    served = tf.saved_model.load(str(out / "export")).signatures["serving_default"](text=tf.constant(texts))
    np.testing.assert_allclose(served["probability"].numpy(), mean, rtol=1e-5, atol=1e-6)
    card = (out / "export" / "README.md").read_text()
    metrics = json.loads((out / "metrics.json").read_text())
    assert f"**{metrics['test']['accuracy']:.4f}**" in card and metrics["data"]["sha256"] in card
    assert all(m["command"] in card for m in metrics["members"]) and metrics["command"] in card


def test_incompatible_or_unfinished_runs_are_refused_with_one_line(members, tmp_path, capsys):
    runs, archive, _ = members
    other = tmp_path / "long"
    argv = ["train", "sentiment", "--max-length", "7", "--data-dir", str(archive), "--run-dir", str(other), *TINY]
    assert cli.main(argv) == 0
    capsys.readouterr()
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    (unfinished / "config.json").write_text((runs[0] / "config.json").read_text())
    cases = {
        (str(runs[0]), str(other)): "different max_length",
        (str(runs[0]), str(unfinished)): "has not finished training",
        (str(runs[0]),): "at least 2",
        (str(runs[0]), str(runs[0])): "appear once",
        (str(runs[0]), str(tmp_path)): "no config.json",
    }
    for folders, expected in cases.items():
        argv = ["ensemble", "sentiment", *folders, "--data-dir", str(archive), "--run-dir", str(tmp_path / "e")]
        assert cli.main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("zoo: error:") and expected in err and "\n" not in err


def test_a_member_that_does_not_reproduce_its_validation_score_is_refused():
    recorded = {"validation": {"accuracy": 0.90}}
    sentiment_ensemble._check_reproduced("run", recorded, {"accuracy": 0.9002}, 10_000)  # within 2.5 reviews
    with pytest.raises(ValueError, match="vocabulary or validation split differ"):
        sentiment_ensemble._check_reproduced("run", recorded, {"accuracy": 0.85}, 10_000)


def test_score_matches_keras():
    import keras

    p = np.array([0.9, 0.2, 0.6, 0.4, 1.0], np.float32)
    y = np.array([1, 0, 0, 1, 1], np.float32)
    result = sentiment_ensemble.score(p, y)
    assert result["accuracy"] == pytest.approx(0.6)
    assert result["loss"] == pytest.approx(float(keras.losses.binary_crossentropy(y, p)), rel=1e-5)
