import contextlib
import json
import subprocess
import sys

import numpy as np
import pytest

from zoo import cli, training
from zoo.data import shakespeare
from zoo.tasks import generator

PLAY = "".join(
    f"{name}:\n{line}\n\n"
    for name, line in [("ROMEO", "but soft what light"), ("JULIET", "o romeo romeo"), ("NURSE", "madam madam")] * 40
)
TINY = ["--units", "8", "--num-layers", "1", "--embedding-dim", "4", "--epochs", "2", "--batch-size", "4",
        "--seq-len", "20", "--sample-length", "30", "--verbose", "0"]

# In a fresh interpreter where `import zoo` fails: generate twice with one seed, odd prompts, length 0, score.
RELOAD = """
import json, sys
sys.modules["zoo"] = None
import tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
gen, score = model.signatures["generate"], model.signatures["score"]
def g(prompt, length, temperature, seed):
    out = gen(prompt=tf.constant(prompt), length=tf.constant(length), temperature=tf.constant(temperature),
              seed=tf.constant(seed))
    return out["text"].numpy().decode()
print(json.dumps({
    "a": g("ROMEO:", 40, 0.8, 1), "b": g("ROMEO:", 40, 0.8, 1), "c": g("ROMEO:", 40, 0.8, 2),
    "greedy": g("ROMEO:", 20, 0.0, 5), "unknown": g("##日本", 10, 0.8, 1), "empty": g("", 10, 0.8, 1),
    "zero": g("ROMEO:", 0, 0.8, 1),
    "nll": score(text=tf.constant(["o romeo romeo", "x", ""]))["nll"].numpy().tolist(),
    "empty_batch": score(text=tf.constant([], tf.string))["nll"].numpy().tolist(),
}))
"""


def fake_load(data_dir=None, tfds_dir=None):
    n = len(PLAY)
    return {"train": PLAY[: int(0.9 * n)], "validation": PLAY[int(0.9 * n) : int(0.95 * n)], "test": PLAY[int(0.95 * n) :]}


@contextlib.contextmanager
def tiny_play(root):
    """PLAY as ``root/input.txt``, and ``shakespeare.load`` splitting it like TFDS (see fake_load) meanwhile."""
    (root / "input.txt").write_text(PLAY)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(shakespeare, "load", fake_load)
        yield root


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    with tiny_play(tmp_path_factory.mktemp("generator")) as root:
        assert cli.main(["train", "generator", "--data-dir", str(root), "--run-dir", str(root / "run"), *TINY]) == 0
    return root / "run"


def test_training_reports_stream_losses_and_exports(trained):
    metrics = json.loads((trained / "metrics.json").read_text())
    for key in ("test_loss", "validation_loss", "nanogpt_val_loss"):
        assert 0 < metrics[key] < np.log(metrics["vocabulary"]) + 1
    assert metrics["epochs_run"] == 2 and metrics["generate_chars_per_second"] > 0
    assert set(metrics["samples"]) == {"temperature 0.5", "temperature 0.8"}
    log = (trained / "log.csv").read_text().splitlines()
    assert "val_loss" in log[0] and len(log) == 3
    card = (trained / "export" / "README.md").read_text()
    assert f"**{metrics['test_loss']:.4f}**" in card and metrics["command"] in card
    assert json.loads((trained / "vocabulary.json").read_text()) == sorted(set(fake_load()["train"]))


def test_export_reloads_without_zoo_and_is_deterministic(trained):
    run = subprocess.run([sys.executable, "-c", RELOAD, str(trained / "export")], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["a"] == out["b"] and len(out["a"]) == 40 and out["a"] != out["c"]
    assert len(out["greedy"]) == 20 and len(out["unknown"]) == 10 and len(out["empty"]) == 10
    assert out["zero"] == ""
    assert np.isfinite(out["nll"][0]) and np.isnan(out["nll"][1]) and np.isnan(out["nll"][2])
    assert out["empty_batch"] == []


def test_exported_score_matches_the_keras_model(trained):
    import tensorflow as tf

    from zoo import generation
    from zoo.models import generator as models

    vocabulary = shakespeare.CharVocabulary(json.loads((trained / "vocabulary.json").read_text()))
    config = generator.GeneratorConfig(units=8, num_layers=1, embedding_dim=4)
    model = generator.build(config, vocabulary, batch_size=4)
    model.load_weights(trained / "best.weights.h5")
    texts = ["o romeo romeo", "but soft"]
    ids = tf.ragged.constant([vocabulary.encode(t) for t in texts]).to_tensor()
    expected = generation.score_ids(models.inference_model(model), ids).numpy()
    exported = tf.saved_model.load(str(trained / "export")).signatures["score"](text=tf.constant(texts))["nll"]
    np.testing.assert_allclose(exported.numpy(), expected, rtol=1e-5)


def test_generate_command_prints_prompt_and_continuation(trained, capsys):
    assert cli.main(["generate", "ROMEO:", "--model", str(trained / "export"), "--length", "25", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ROMEO:") and len(out.rstrip("\n")) >= len("ROMEO:") + 20


def test_conditional_training_writes_samples_for_every_speaker(tmp_path, monkeypatch):
    (tmp_path / "input.txt").write_text(PLAY)
    monkeypatch.setattr(shakespeare, "load", fake_load)
    argv = ["train", "generator", "--condition", "speaker", "--speakers", "3", "--data-dir", str(tmp_path),
            "--run-dir", str(tmp_path / "run"), *TINY]
    assert cli.main(argv) == 0
    samples = json.loads((tmp_path / "run" / "samples.json").read_text())
    assert sorted(samples) == ["JULIET", "NURSE", "ROMEO"] and all(len(s) == 30 for s in samples.values())
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert np.isfinite(metrics["validation_loss_other_speakers"]) and np.isfinite(metrics["validation_loss"])


def test_other_speakers_loss_conditions_every_speech_on_each_wrong_speaker_once():
    from zoo.training import TrainConfig

    ids = np.array([0, 1, 2, 1], np.int32)
    seen = []

    class Stub:  # records the conditions it is evaluated on; its "loss" is the call number
        def evaluate(self, data, verbose=0):
            seen.append(np.concatenate([x["condition"].numpy() for x, _ in data]))
            return float(len(seen))

    vocabulary = shakespeare.CharVocabulary.from_text("abcdefgh")
    loss = generator._other_speakers_loss(Stub(), vocabulary, ids, ["ab", "cd", "ef", "gh"],
                                          {"validation": np.arange(4)}, 3, TrainConfig(batch_size=3))
    assert loss == 1.5  # the mean of the two evaluations
    assert len(seen) == 2 and all((c != ids).all() for c in seen) and (seen[0] != seen[1]).all()


def test_speaker_data_keeps_the_most_frequent_speakers():
    names, ids, speeches = generator.speaker_data(PLAY + "ROMEO:\nagain\n\n", speakers=2, max_speech=5)
    assert names == ["ROMEO", "JULIET"] and len(ids) == len(speeches) == 81
    assert all(len(s) <= 5 for s in speeches)


@pytest.mark.parametrize(
    "argv, match",
    [
        (["train", "generator", "--cell", "lstm"], "`cell` must be one of"),
        (["train", "generator", "--input-mode", "bytes"], "`input_mode` must be one of"),
        (["train", "generator", "--condition", "play"], "`condition` must be one of"),
        (["train", "generator", "--strategy", "mirrored"], "stateful"),
        (["train", "generator", "--strategy", "cloud"], "`strategy` must be one of"),
        (["generate", "x", "--length", "-1"], "length"),
        (["generate", "x", "--model", "/nonexistent"], "/nonexistent"),
    ],
)
def test_bad_arguments_are_one_clear_line(argv, match, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo: error:") and match in err


def test_shortcut_flag_reaches_both_models_and_the_card(trained):
    args = cli.build_parser().parse_args(["train", "generator", "--shortcut", "true", "--units", "8"])
    config, train_config = (training.from_arguments(cls, args) for cls in (generator.GeneratorConfig, training.TrainConfig))
    assert config.shortcut is True
    vocabulary = shakespeare.CharVocabulary(json.loads((trained / "vocabulary.json").read_text()))
    for model in (generator.build(config, vocabulary, 4), generator.build(config, vocabulary, None, num_classes=2)):
        assert tuple(model.get_layer("logits").kernel.shape) == (8 + config.embedding_dim, len(vocabulary))
    metrics = json.loads((trained / "metrics.json").read_text())
    assert "Dense logits over [h_t; x_t]" in generator.model_card(config, train_config, metrics, "x")
    assert "[h_t; x_t]" not in (trained / "export" / "README.md").read_text()
