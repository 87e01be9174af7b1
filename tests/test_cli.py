import gzip
import io
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from zoo import cli, training

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = {"sentiment": ROOT / "saved_models/imdb_sentiment", "generator": ROOT / "saved_models/shakespeare_char"}
# TensorFlow's C++ logging writes straight to the process's stderr, whatever zoo does.
TF_LOG = re.compile(r"^([IWEF]\d{4} |WARNING: All log messages|To enable the following instructions)")


def error_line(err):
    """The one line a failure leaves on stderr (TensorFlow's own log lines aside)."""
    lines = [line for line in err.splitlines() if line.strip() and not TF_LOG.match(line)]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    return lines[0]


def test_help_lists_commands():
    out = subprocess.run([sys.executable, "-m", "zoo.cli", "--help"], capture_output=True, text=True, check=True).stdout
    assert "cells" in out and "recurrent" in out


def test_cells_lists_every_registered_cell(capsys):
    assert cli.main(["cells", "--units", "2"]) == 0
    out = capsys.readouterr().out
    for name in ("elman", "gru", "peephole_lstm", "peephole_o (2,)"):
        assert name in out


def _corrupt_gzip():
    """A .tar.gz whose gzip stream breaks after a valid start (zlib.error while reading members)."""
    rng, words = random.Random(0), ["great", "film", "bad", "plot", "actor", "the", "a", "movie", "boring", "superb"]
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as archive:
        for i in range(20):
            review = " ".join(rng.choice(words) for _ in range(3000)).encode()
            info = tarfile.TarInfo(f"aclImdb/train/pos/{i}_9.txt")
            info.size = len(review)
            archive.addfile(info, io.BytesIO(review))
    data = gzip.compress(tar.getvalue(), mtime=0)
    return data[:2000] + bytes(b ^ 0xFF for b in data[2000:])


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    """A folder of things that are not what the commands expect."""
    root = tmp_path_factory.mktemp("bad")
    (root / "empty").mkdir()
    (root / "a_file").write_text("not a folder\n")
    (root / "imdb_garbage").mkdir()
    (root / "imdb_garbage" / "aclImdb_v1.tar.gz").write_bytes(bytes(range(256)) * 20)
    (root / "imdb_broken_gzip").mkdir()
    (root / "imdb_broken_gzip" / "aclImdb_v1.tar.gz").write_bytes(_corrupt_gzip())
    (root / "spa_bad_line").mkdir()
    (root / "spa_bad_line" / "spa.txt").write_text("Go.\tVe.\nthis line has no tab\n")
    (root / "spa_not_utf8").mkdir()
    (root / "spa_not_utf8" / "spa.txt").write_bytes("Hi.\tHola.\n".encode() + "Año.\tAño.\n".encode("latin-1"))
    (root / "not_shakespeare").mkdir()
    (root / "not_shakespeare" / "input.txt").write_text("Lorem ipsum dolor sit amet.\n" * 100)
    (root / "garbage_pb").mkdir()
    (root / "garbage_pb" / "saved_model.pb").write_bytes(bytes(range(256)))
    if (SHIPPED["sentiment"] / "saved_model.pb").exists():  # the graph without its variables
        (root / "no_variables").mkdir()
        shutil.copy(SHIPPED["sentiment"] / "saved_model.pb", root / "no_variables")
    return root


@pytest.fixture(autouse=True)
def _no_data_dir_from_the_environment(monkeypatch):
    monkeypatch.delenv("ZOO_DATA_DIR", raising=False)


def run_bad(argv, bad, capsys):
    """``cli.main(argv)`` with ``{bad}`` in ``argv`` replaced: (exit code, its one stderr line)."""
    code = cli.main([arg.replace("{bad}", str(bad)) for arg in argv])
    return code, error_line(capsys.readouterr().err)


TASKS = ("sentiment", "generator", "seq2seq")
SIZES = [
    (["--units", "0"], "units=0"),
    (["--units", "-3"], "units=-3"),
    (["--max-length", "0"], "max_length=0"),
    (["--batch-size", "0"], "batch_size=0"),
    (["--epochs", "0"], "epochs=0"),
    (["--learning-rate", "0"], "learning_rate=0"),
    (["--dropout", "1.5"], "dropout=1.5"),
]
BAD_FLAGS = [
    (["cells", "--units", "0"], ["units=0", "positive integer"]),
    (["cells", "--units", "-3"], ["units=-3", "positive integer"]),
    (["cells", "--input-dim", "0"], ["input_dim=0", "positive integer"]),
    *[(["train", task, *flag], [name]) for task in TASKS for flag, name in SIZES
      if not (task == "generator" and flag[0] == "--max-length")],
    (["train", "generator", "--seq-len", "0"], ["seq_len=0"]),
    *[(["train", task, "--cell", "tree"], ["cell='tree'", "'gru'"]) for task in TASKS],
    (["train", "seq2seq", "--task", "tree"], ["task='tree'", "'addition'"]),
]


@pytest.mark.parametrize("argv, names", BAD_FLAGS, ids=[" ".join(argv) for argv, _ in BAD_FLAGS])
def test_impossible_sizes_and_unknown_names_are_one_clear_line(argv, names, bad, capsys):
    code, line = run_bad([*argv, "--run-dir", "{bad}/run"] if argv[0] == "train" else argv, bad, capsys)
    assert code == 2 and line.startswith("zoo: error: ")
    for name in names:
        assert name in line
    assert not (bad / "run").exists()


@pytest.mark.parametrize(
    "argv, names",
    [
        (["train", "sentiment", "--data-dir", "{bad}/empty"], ["{bad}/empty", "aclImdb"]),
        (["train", "sentiment", "--data-dir", "{bad}/imdb_garbage"],
         ["{bad}/imdb_garbage/aclImdb_v1.tar.gz", "corrupt"]),
        (["train", "sentiment", "--data-dir", "{bad}/imdb_broken_gzip"],
         ["{bad}/imdb_broken_gzip/aclImdb_v1.tar.gz", "corrupt"]),
        (["train", "generator", "--data-dir", "{bad}/empty"], ["{bad}/empty", "input.txt"]),
        (["train", "generator", "--data-dir", "{bad}/not_shakespeare"],
         ["{bad}/not_shakespeare/input.txt", "not the Tiny Shakespeare input.txt"]),
        (["train", "seq2seq", "--data-dir", "{bad}/empty"], ["{bad}/empty", "spa.txt"]),
        (["train", "seq2seq", "--data-dir", "{bad}/spa_bad_line"],
         ["{bad}/spa_bad_line/spa.txt:2", "English<TAB>Spanish"]),
        (["train", "seq2seq", "--data-dir", "{bad}/spa_not_utf8"], ["{bad}/spa_not_utf8/spa.txt", "not UTF-8"]),
    ],
    ids=["sentiment-empty", "sentiment-garbage", "sentiment-broken-gzip", "generator-empty",
         "generator-not-shakespeare", "seq2seq-empty", "seq2seq-bad-line", "seq2seq-not-utf8"],
)
def test_missing_or_corrupt_data_is_one_clear_line(argv, names, bad, capsys):
    code, line = run_bad([*argv, "--run-dir", "{bad}/run"], bad, capsys)
    assert code == 2 and line.startswith("zoo: error: ")
    for name in names:
        assert name.replace("{bad}", str(bad)) in line
    assert not (bad / "run").exists()


ADDITION = ["train", "seq2seq", "--task", "addition", "--train-problems", "20", "--units", "4", "--embedding-dim", "4",
            "--epochs", "1", "--verbose", "0"]


@pytest.mark.parametrize("run_dir", ["a_file/run", "a_file"], ids=["under a file", "is a file"])
def test_a_run_dir_that_cannot_be_a_folder_is_one_clear_line(run_dir, bad, capsys):
    code, line = run_bad([*ADDITION, "--run-dir", f"{{bad}}/{run_dir}"], bad, capsys)
    assert code == 2 and line.startswith("zoo: error: ")
    assert f"{bad}/{run_dir}" in line and "--run-dir must be a folder zoo can create and write in" in line


def test_a_run_dir_in_a_read_only_folder_is_one_clear_line(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("chmod does not stop this user writing (root); see the a_file cases above")
        code = cli.main([*ADDITION, "--run-dir", str(locked / "run")])
    finally:
        locked.chmod(0o700)
    line = error_line(capsys.readouterr().err)
    assert code == 2 and line.startswith("zoo: error: permission denied: ") and str(locked / "run") in line


def wrong_kind(command, name, names, id):
    """A case pointing ``command`` at the shipped ``name`` model (skipped when it is not there)."""
    path = SHIPPED[name]
    missing = pytest.mark.skipif(not (path / "saved_model.pb").exists(), reason=f"no {path}")
    return pytest.param(command, path, names, marks=missing, id=id)


@pytest.mark.parametrize(
    "command, model, names",
    [
        wrong_kind(["generate"], "sentiment", ["not a generator model", "`generate`", "it has `serving_default` (text)"],
                   "generate-sentiment-model"),
        wrong_kind(["translate", "x"], "sentiment",
                   ["not a translate model", "it has `serving_default` (text) -> label"], "translate-sentiment-model"),
        wrong_kind(["translate", "x"], "generator", ["not a translate model", "`generate` (length, prompt", "`score`"],
                   "translate-char-model"),
        wrong_kind(["predict", "sentiment", "x"], "generator",
                   ["not a sentiment model", "`generate`", "`score` (text)"], "predict-char-model"),
    ],
)
def test_a_saved_model_of_the_wrong_kind_names_its_signatures(command, model, names, capsys):
    code, line = run_bad([*command, "--model", str(model)], None, capsys)
    assert code == 2 and line.startswith("zoo: error: ") and str(model) in line
    for name in names:
        assert name in line


def test_ctrl_c_during_training_says_how_to_resume(tmp_path, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "fit", interrupted)
    assert cli.main([*ADDITION, "--run-dir", str(tmp_path / "run")]) == 130
    line = error_line(capsys.readouterr().err)
    assert line.startswith("zoo: interrupted; rerun the same command to resume") and str(tmp_path / "run") in line


def test_ctrl_c_outside_training_is_one_line(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_generate", interrupted)
    assert cli.main(["generate", "x"]) == 130
    assert error_line(capsys.readouterr().err) == "zoo: interrupted."


def test_divergence_is_one_line_and_exit_1(tmp_path, monkeypatch, capsys):
    def diverged(*args, **kwargs):
        raise training.TrainingDiverged("Training diverged: loss is nan at epoch 1, batch 3. Rerun with a lower rate.")

    monkeypatch.setattr(training, "fit", diverged)
    assert cli.main([*ADDITION, "--run-dir", str(tmp_path / "run")]) == 1
    assert error_line(capsys.readouterr().err) == (
        "zoo: error: Training diverged: loss is nan at epoch 1, batch 3. Rerun with a lower rate."
    )


@pytest.mark.parametrize("error", [KeyError("boom"), RuntimeError("boom"), OSError("boom")], ids=repr)
def test_a_bug_keeps_its_traceback(error, monkeypatch):
    def buggy(args):
        raise error

    monkeypatch.setattr(cli, "_cells", buggy)
    with pytest.raises(type(error), match="boom"):
        cli.main(["cells"])


def test_an_unknown_command_is_an_argparse_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "tree"])
    assert exit_info.value.code == 2 and "invalid choice: 'tree'" in capsys.readouterr().err


def test_a_script_fails_with_one_clear_line():
    run = subprocess.run([sys.executable, "scripts/train_seq2seq.py", "--units", "0"], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 2
    line = error_line(run.stderr)
    assert line.startswith("zoo: error: ") and "units=0" in line


def test_run_gives_entry_points_outside_main_the_same_one_line_errors(capsys):
    def benchmark():
        raise ValueError("`iters` must be a positive integer; got iters=0.")

    assert cli.run(benchmark) == 2
    assert error_line(capsys.readouterr().err) == "zoo: error: `iters` must be a positive integer; got iters=0."


def test_translate_takes_any_export_serving_text_to_one_string(tmp_path, capsys):
    import tensorflow as tf

    class Upper(tf.Module):  # the shape of a `zoo train seq2seq --task addition` export: serving_default -> answer
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
        def serve(self, text):
            return {"answer": tf.strings.upper(text)}

    module = Upper()
    tf.saved_model.save(module, str(tmp_path / "upper"), signatures={"serving_default": module.serve})
    assert cli.main(["translate", "--model", str(tmp_path / "upper"), "ab", "c"]) == 0
    assert capsys.readouterr().out == "AB\nC\n"


def test_zoo_report_hands_its_arguments_to_the_experiments_parser(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["report", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: zoo report") and "--budget" in out
