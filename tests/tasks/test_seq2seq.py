import json
import subprocess
import sys

import pytest

from zoo import cli
from zoo.data import addition
from zoo.tasks import seq2seq

TINY = ["--units", "8", "--embedding-dim", "4", "--epochs", "2", "--batch-size", "16", "--beam-width", "3",
        "--verbose", "0"]
ENGLISH = ["I see {}.", "{} is here.", "Where is {}?", "I like {}!"]
SPANISH = ["Veo a {}.", "{} está aquí.", "¿Dónde está {}?", "¡Me gusta {}!"]
NAMES = ["Tom", "Mary", "John", "Ana", "Luis", "Eva", "Sam", "Ken", "Rosa", "Juan", "Pablo", "Elena"]

# In a fresh interpreter where `import zoo` fails: the export answers raw strings with strings.
RELOAD = """
import json, sys
sys.modules["zoo"] = None
import tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
inputs = json.loads(sys.argv[2])
out = {}
for name, signature in model.signatures.items():
    (values,) = signature(text=tf.constant(inputs, tf.string)).values()
    out[name] = [v.decode("utf-8") for v in values.numpy()]
    (empty,) = signature(text=tf.constant([], tf.string)).values()
    out[name + "_empty_batch"] = empty.numpy().tolist()
print(json.dumps(out))
"""
ODD = ["", "   ", "x" * 5000 + " where is Tom?", "Où est Zoë? 日本", "Where is Tom?"]


def reload(path, inputs):
    run = subprocess.run([sys.executable, "-c", RELOAD, str(path), json.dumps(inputs)], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def translated(tmp_path_factory):
    root = tmp_path_factory.mktemp("translate")
    lines = [f"{e.format(n)}\t{s.format(n)}" for n in NAMES for e, s in zip(ENGLISH, SPANISH)]
    (root / "spa.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = ["train", "seq2seq", "--task", "translate", "--data-dir", str(root), "--run-dir", str(root / "run"), *TINY]
    assert cli.main(args) == 0
    return root / "run"


@pytest.fixture(scope="module")
def added(tmp_path_factory):
    root = tmp_path_factory.mktemp("addition")
    patch = pytest.MonkeyPatch()
    small = addition.problems
    patch.setattr(addition, "problems", lambda train, seed: small(train=train, validation=50, test=40, seed=seed))
    try:
        args = ["train", "seq2seq", "--task", "addition", "--train-problems", "200", "--attention", "bahdanau",
                "--cell", "peephole_lstm", "--run-dir", str(root / "run"), *TINY]
        assert cli.main(args) == 0
    finally:
        patch.undo()
    return root / "run"


def test_translation_run_reports_bleu_chrf_and_exports(translated):
    metrics = json.loads((translated / "metrics.json").read_text())
    for key in ("test_bleu_greedy", "test_bleu_beam", "test_chrf_beam", "test_bleu_single_reference_beam"):
        assert 0.0 <= metrics[key] <= 100.0
    assert metrics["test_bleu"] == metrics["test_bleu_beam"]
    assert "nrefs" in metrics["bleu_signature"]
    assert metrics["epochs_run"] == 2 and len(metrics["examples"]) > 0
    assert (translated / "attention.png").stat().st_size > 0
    card = (translated / "export" / "README.md").read_text()
    assert f"{metrics['test_bleu_beam']:.1f}" in card and metrics["data"]["sha256"] in card


def test_translator_export_reloads_without_zoo_and_survives_odd_inputs(translated):
    out = reload(translated / "export", ODD)
    assert set(out) >= {"translate", "serving_default"}
    assert out["translate"] == out["serving_default"] and len(out["translate"]) == len(ODD)
    assert out["translate_empty_batch"] == []


def test_export_agrees_with_the_python_translator(translated):
    model, vectorizers = rebuild(translated)
    translator = seq2seq.Translator(model, vectorizers, seq2seq.Seq2SeqConfig(data="spa-eng").style)
    want = translator(ODD, beam_width=3, length_penalty=0.6)
    assert reload(translated / "export", ODD)["translate"] == want


def rebuild(run_dir):
    config = json.loads((run_dir / "config.json").read_text())["seq2seq"]
    config = seq2seq.resolve(seq2seq.Seq2SeqConfig(**config))
    vectorizers = seq2seq.make_vectorizers(config, None, run_dir)  # reads the saved vocabulary
    model = seq2seq.build(config, vectorizers)
    model.load_weights(run_dir / "best.weights.h5")
    return model, vectorizers


def test_zoo_translate_prints_one_line_per_text(translated, capsys):
    assert cli.main(["translate", "--model", str(translated / "export"), "I see Tom.", "Where is Mary?"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_addition_run_reports_exact_match_and_exports(added):
    metrics = json.loads((added / "metrics.json").read_text())
    assert metrics["pairs"] == {"train": 200, "validation": 50, "test": 40}
    for key in ("test_exact_match_greedy", "test_exact_match_beam"):
        assert 0.0 <= metrics[key] <= 1.0
    out = reload(added / "export", ["123+45", "", "9" * 3000, "a+b"])
    assert list(out) == ["serving_default", "serving_default_empty_batch"]
    assert all(set(answer) <= set("0123456789+") for answer in out["serving_default"])


def test_rerun_of_a_finished_run_returns_at_once(added, capsys):
    args = ["train", "seq2seq", "--task", "addition", "--train-problems", "200", "--run-dir", str(added), *TINY]
    patch = pytest.MonkeyPatch()
    small = addition.problems
    patch.setattr(addition, "problems", lambda train, seed: small(train=train, validation=50, test=40, seed=seed))
    try:
        assert cli.main(args + ["--attention", "bahdanau", "--cell", "peephole_lstm"]) == 0
    finally:
        patch.undo()
    assert "finished earlier" in capsys.readouterr().out


@pytest.mark.parametrize("flags, message", [
    (["--task", "poetry"], "task"), (["--attention", "dot"], "attention"), (["--units", "7"], "odd units"),
    (["--beam-width", "0"], "beam_width"), (["--cell", "tree"], "cell"),
])
def test_bad_flags_fail_with_one_clear_line(flags, message, capsys, tmp_path):
    assert cli.main(["train", "seq2seq", "--run-dir", str(tmp_path), *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo: error:") and message in err


def test_mirrored_strategy_trains_evaluates_and_exports(tmp_path):
    patch = pytest.MonkeyPatch()
    small = addition.problems
    patch.setattr(addition, "problems", lambda train, seed: small(train=train, validation=50, test=40, seed=seed))
    try:
        args = ["train", "seq2seq", "--task", "addition", "--train-problems", "200", "--strategy", "mirrored",
                "--run-dir", str(tmp_path / "run"), *TINY]
        assert cli.main(args) == 0
    finally:
        patch.undo()
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert 0 <= metrics["test_exact_match"] <= 1 and metrics["epochs_run"] >= 1
    assert (tmp_path / "run" / "export" / "saved_model.pb").exists()
