"""Each task trains on small files a user brings, exports, and serves that data's own labels/outputs
(issue 22): a multi-class CSV classifier, `--init-from` with another label set, a generator on a text
file, a character-token seq2seq on TSV pairs, and `zoo predict` on each export. The two slowest are marked
slow (`pytest -m slow tests/tasks/test_own_data.py`)."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from zoo import cli

TOPICS = {
    "sports": ["goal", "match", "team", "score", "coach"],
    "food": ["bread", "soup", "spice", "cheese", "bake"],
    "music": ["song", "guitar", "drum", "melody", "choir"],
}
TINY = ["--units", "8", "--embedding-dim", "8", "--epochs", "6", "--batch-size", "8", "--verbose", "0",
        "--learning-rate", "0.02"]

# In a fresh interpreter where `import zoo` fails: the export's labels and probabilities for some texts.
RELOAD = """
import json, sys
sys.modules["zoo"] = None
import tensorflow as tf
out = tf.saved_model.load(sys.argv[1]).signatures["serving_default"](text=tf.constant(json.loads(sys.argv[2])))
print(json.dumps({"label": [v.decode() for v in out["label"].numpy()],
                  "probabilities": out["probabilities"].numpy().tolist()}))
"""


def write_topics(path, rows=90, seed=0, topics=TOPICS):
    """A CSV of short texts about each topic, with quoted fields holding commas, quotes and newlines."""
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "text", "label"])
        for i in range(rows):
            label = list(topics)[i % len(topics)]
            words = rng.choice(topics[label], size=4)
            writer.writerow([i, f'the {words[0]}, "{words[1]}"\nand {words[2]} {words[3]}', label])
    return path


@pytest.fixture(scope="module")
def topics(tmp_path_factory):
    root = tmp_path_factory.mktemp("topics")
    data = write_topics(root / "topics.csv")
    argv = ["train", "classifier", "--data", str(data), "--run-dir", str(root / "run"), *TINY]
    assert cli.main(argv) == 0
    return root


def test_multiclass_csv_trains_and_records_the_users_data(topics):
    metrics = json.loads((topics / "run" / "metrics.json").read_text())
    assert metrics["head"] == "softmax" and metrics["labels"] == ["food", "music", "sports"]
    assert metrics["data"]["files"]["data"]["name"] == "topics.csv"
    assert sum(metrics["data"]["rows"].values()) == 90
    assert set(metrics["data"]["labels"]["train"]) == {"food", "music", "sports"}
    assert metrics["test"]["accuracy"] > 0.9  # the topic words give the label away
    card = (topics / "run" / "export" / "README.md").read_text()
    assert "IMDB" not in card and "movie" not in card and "topics.csv" in card
    assert metrics["data"]["files"]["data"]["sha256"] in card and f"**{metrics['test']['accuracy']:.4f}**" in card


def test_multiclass_export_serves_label_names_without_zoo(topics):
    texts = ["the guitar and the drum", "cheese soup and bread", "the team scored a goal"]
    run = subprocess.run([sys.executable, "-c", RELOAD, str(topics / "run" / "export"), json.dumps(texts)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["label"] == ["music", "food", "sports"]
    assert np.allclose(np.sum(out["probabilities"], axis=1), 1.0, atol=1e-5)
    assert np.shape(out["probabilities"]) == (3, 3)


def test_zoo_predict_prints_each_label(topics, capsys, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("the guitar song\n\n   \ncheese and bread\n"))
    assert cli.main(["predict", str(topics / "run" / "export")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines] == ["music", "food"]  # blank lines skipped
    assert all(0 <= float(line.split()[1]) <= 1 for line in lines)


@pytest.mark.slow  # about 35 s: rebuilds the export, trains and exports again
def test_init_from_an_export_with_other_labels_gets_a_new_head(topics, tmp_path):
    two = {"sports": TOPICS["sports"], "arts": TOPICS["music"]}
    data = write_topics(tmp_path / "two.csv", rows=40, seed=1, topics=two)
    argv = ["train", "classifier", "--data", str(data), "--init-from", str(topics / "run" / "export"),
            "--run-dir", str(tmp_path / "run"), *TINY]
    assert cli.main(argv) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["head"] == "binary" and metrics["labels"] == ["arts", "sports"]
    assert metrics["init_from"]["labels"] == ["food", "music", "sports"] and metrics["init_from"]["new_head"]
    source = json.loads((topics / "run" / "metrics.json").read_text())
    assert metrics["vocabulary"] == source["vocabulary"]  # the source's vocabulary, not one adapted anew


def test_init_from_refuses_an_ensemble(topics, tmp_path, capsys):
    data = write_topics(tmp_path / "t.csv", rows=30)
    shipped = Path(__file__).resolve().parents[2] / "saved_models" / "imdb_sentiment"
    argv = ["train", "classifier", "--data", str(data), "--init-from", str(shipped),
            "--run-dir", str(tmp_path / "run"), *TINY]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"zoo: error: --init-from {shipped}: an ensemble of 2 models (runs/imdb_gru, ")
    assert not (tmp_path / "run").exists()


def test_unwritable_export_dir_fails_before_training(tmp_path, capsys):
    data = write_topics(tmp_path / "t.csv", rows=30)
    (tmp_path / "file").write_text("")
    argv = ["train", "classifier", "--data", str(data), "--run-dir", str(tmp_path / "run"),
            "--export-dir", str(tmp_path / "file" / "export"), *TINY]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert f"--export-dir {tmp_path / 'file' / 'export'}" in err and "is a file" in err
    assert not (tmp_path / "run").exists()


def test_generator_on_a_users_text_exports_and_predicts(tmp_path, capsys):
    text = "".join(f"line {i % 7}: the cat sat on the mat.\n" for i in range(200))
    (tmp_path / "notes.txt").write_text(text, encoding="utf-8")
    argv = ["train", "generator", "--data", str(tmp_path / "notes.txt"), "--run-dir", str(tmp_path / "run"),
            "--units", "8", "--num-layers", "1", "--embedding-dim", "4", "--epochs", "1", "--batch-size", "4",
            "--seq-len", "20", "--sample-length", "20", "--verbose", "0"]
    assert cli.main(argv) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["task"] == "generator" and "nanogpt_val_loss" not in metrics
    assert metrics["data"]["files"]["data"]["name"] == "notes.txt" and np.isfinite(metrics["test_loss"])
    card = (tmp_path / "run" / "export" / "README.md").read_text()
    assert "Shakespeare" not in card and "notes.txt" in card
    capsys.readouterr()
    assert cli.main(["predict", str(tmp_path / "run" / "export"), "line 3", "--length", "10"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("line 3") and len(out) == len("line 3") + 10 + 1  # the prompt, 10 characters, a newline


@pytest.mark.slow  # about 50 s: beam-search decoding traced for evaluation, export and prediction
def test_char_seq2seq_on_user_pairs_exports_and_predicts(tmp_path, capsys):
    rng = np.random.default_rng(0)
    numbers = rng.integers(0, 1000, 120)
    lines = [f"{n}\t{str(n)[::-1]}\textra column" for n in numbers]  # reverse the digits; extra columns ignored
    (tmp_path / "pairs.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    argv = ["train", "seq2seq", "--data", str(tmp_path / "pairs.tsv"), "--tokens", "char", "--run-dir",
            str(tmp_path / "run"), "--units", "8", "--embedding-dim", "4", "--epochs", "1", "--batch-size", "32",
            "--beam-width", "2", "--verbose", "0"]
    assert cli.main(argv) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["task"] == "seq2seq" and metrics["tokens"] == "char"
    assert 0 <= metrics["test_exact_match"] <= 1 and sum(metrics["pairs"].values()) == 120
    card = (tmp_path / "run" / "export" / "README.md").read_text()
    assert "Spanish" not in card and "pairs.tsv" in card
    capsys.readouterr()
    assert cli.main(["predict", str(tmp_path / "run" / "export"), "123", "45"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and all(set(o) <= set("0123456789") for o in out)
