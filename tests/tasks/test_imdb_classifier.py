import json

import pytest
import tensorflow as tf

from tests.data.test_imdb import make_archive
from zoo import cli, training
from zoo.data import describe_source
from zoo.tasks import classifier

TINY = ["--units", "4", "--embedding-dim", "4", "--epochs", "2", "--validation-split", "0.34", "--verbose", "0"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("sentiment")
    archive = make_archive(root)
    run_dir = root / "run"
    argv = ["train", "sentiment", "--data-dir", str(archive), "--run-dir", str(run_dir), *TINY]
    assert cli.main(argv) == 0
    return run_dir, archive


def test_training_writes_metrics_config_and_export(trained):
    run_dir, archive = trained
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["test_examples"] == 2 and 0 <= metrics["test"]["accuracy"] <= 1
    assert metrics["epochs_run"] == 2 and metrics["seconds_per_epoch"] > 0 and metrics["parameters"] > 0
    assert metrics["data"]["sha256"] == describe_source(archive)["sha256"]
    assert metrics["command"].startswith("zoo train sentiment --data-dir")
    config = json.loads((run_dir / "config.json").read_text())
    assert config["classifier"]["units"] == 4 and config["classifier"]["data"] == "imdb"
    assert config["train"]["monitor"] == "val_loss"  # ties in accuracy would keep an early epoch (issue 22)
    export = run_dir / "export"
    assert (export / "saved_model.pb").exists()
    assert json.loads((export / "metrics.json").read_text())["test"] == metrics["test"]


def test_model_card_figures_come_from_the_metrics(trained):
    run_dir, _ = trained
    metrics = json.loads((run_dir / "metrics.json").read_text())
    card = (run_dir / "export" / "README.md").read_text()
    assert f"**{metrics['test']['accuracy']:.4f}**" in card
    assert metrics["data"]["sha256"] in card and metrics["command"] in card
    assert f"{metrics['parameters']:,}" in card
    assert f'tf.saved_model.load("{(run_dir / "export").as_posix()}")' in card  # where this model is, not another


def test_predict_prints_label_and_probability(trained, capsys):
    run_dir, _ = trained
    assert cli.main(["predict", "sentiment", "--model", str(run_dir / "export"), "Superb", "Terrible film"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    for line, review in zip(lines, ["Superb", "Terrible film"]):
        label, probability, rest = line.split(maxsplit=2)
        assert label in ("positive", "negative") and 0 <= float(probability) <= 1 and rest == review


def test_predict_reads_stdin(trained, capsys, monkeypatch):
    import io

    run_dir, _ = trained
    monkeypatch.setattr("sys.stdin", io.StringIO("one review\nanother\n"))
    assert cli.main(["predict", "sentiment", "--model", str(run_dir / "export")]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2


def test_rerunning_a_finished_run_does_not_train_again(trained, capsys):
    run_dir, archive = trained
    before = (run_dir / "log.csv").read_text()
    assert cli.main(["train", "sentiment", "--data-dir", str(archive), "--run-dir", str(run_dir), *TINY]) == 0
    assert (run_dir / "log.csv").read_text() == before
    assert "finished earlier" in capsys.readouterr().out


def test_rating_head_reports_mae_and_exports_a_value(tmp_path):
    archive = make_archive(tmp_path)
    argv = ["train", "sentiment", "--head", "rating", "--data-dir", str(archive), "--run-dir", str(tmp_path / "r"), *TINY]
    assert cli.main(argv) == 0
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["task"] == "imdb_rating" and metrics["test"]["mae"] >= 0
    signature = tf.saved_model.load(str(tmp_path / "r" / "export")).signatures["serving_default"]
    assert signature(text=tf.constant(["Superb", ""]))["value"].shape == (2,)
    assert "Maas et al." in (tmp_path / "r" / "export" / "README.md").read_text()


@pytest.mark.parametrize(
    "argv, match",
    [
        (["train", "sentiment", "--cell", "transformer"], "`cell` must be one of"),
        (["train", "sentiment", "--pooling", "min"], "`pooling` must be one of"),
        (["train", "sentiment", "--units", "0"], "`units` must be a positive integer"),
        (["train", "sentiment", "--validation-split", "0"], "validation_split"),
        (["predict", "sentiment", "--model", "/nonexistent/model", "hi"], "/nonexistent/model"),
    ],
)
def test_bad_arguments_are_one_clear_line(argv, match, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo: error:") and match in err


def test_missing_data_names_the_paths_tried(tmp_path, capsys):
    assert cli.main(["train", "sentiment", "--data-dir", str(tmp_path), "--run-dir", str(tmp_path / "r")]) == 2
    assert str(tmp_path) in capsys.readouterr().err


def test_word2vec_pretraining_initializes_the_embedding(tmp_path):
    archive = make_archive(tmp_path)
    argv = ["train", "sentiment", "--pretrain", "word2vec", "--pretrain-epochs", "1", "--data-dir", str(archive),
            "--run-dir", str(tmp_path / "r"), *TINY]
    assert cli.main(argv) == 0
    summary = json.loads((tmp_path / "r" / "word2vec.json").read_text())
    assert summary["texts"] == 4 + 1  # training reviews (validation held out) + the unlabelled one
    assert (tmp_path / "r" / "word2vec_embedding.npy").exists()
    assert "unlabelled reviews were used, without labels" in (tmp_path / "r" / "export" / "README.md").read_text()


def test_shortcut_flag_reaches_the_model_and_the_card(trained, tmp_path):
    # Same data and sizes as `trained` (whose rating twin has as many parameters): the shortcut adds
    # embedding_dim (4) head weights.
    run_dir, archive = trained
    argv = ["train", "sentiment", "--shortcut", "true", "--head", "rating", "--data-dir", str(archive),
            "--run-dir", str(tmp_path / "r"), *TINY]
    assert cli.main(argv) == 0
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["parameters"] == json.loads((run_dir / "metrics.json").read_text())["parameters"] + 4
    assert json.loads((tmp_path / "r" / "config.json").read_text())["classifier"]["shortcut"] is True
    binary = json.loads((run_dir / "export" / "metrics.json").read_text())
    card = classifier.model_card(classifier.ClassifierConfig(shortcut=True), training.TrainConfig(), binary,
                                "saved_models/x")
    assert "pooling over time of [h_t; x_t]" in card
    assert "[h_t; x_t]" not in (run_dir / "export" / "README.md").read_text()


def test_mirrored_strategy_trains_like_one_device_and_exports(trained, tmp_path):
    """--strategy mirrored (here one CPU replica) runs the distributed loop end to end: the same test
    metrics as Keras' fit on the same batches, and an export."""
    run_dir, archive = trained
    argv = ["train", "sentiment", "--data-dir", str(archive), "--run-dir", str(tmp_path / "m"), "--strategy",
            "mirrored", *TINY]
    assert cli.main(argv) == 0
    one, mirrored = (json.loads((d / "metrics.json").read_text()) for d in (run_dir, tmp_path / "m"))
    assert mirrored["test"] == pytest.approx(one["test"], abs=1e-5)
    assert json.loads((tmp_path / "m" / "config.json").read_text())["train"]["strategy"] == "mirrored"
    assert (tmp_path / "m" / "export" / "saved_model.pb").exists()
