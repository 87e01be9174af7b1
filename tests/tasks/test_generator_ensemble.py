import json
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests.tasks.test_generator import RELOAD, TINY, tiny_play
from zoo import cli, generation
from zoo.data import shakespeare
from zoo.models import generator as models
from zoo.tasks import generator, generator_ensemble


@pytest.fixture(scope="module")
def members(tmp_path_factory):
    with tiny_play(tmp_path_factory.mktemp("mixture")) as root:
        runs = [root / cell for cell in ("gru", "elman")]
        for run_dir in runs:
            argv = ["train", "generator", "--cell", run_dir.name, "--data-dir", str(root), "--run-dir", str(run_dir), *TINY]
            assert cli.main(argv) == 0
        out, scaled = root / "mixture", root / "mixture_temperatures"
        argv = ["ensemble", "generator", *map(str, runs), "--data-dir", str(root), "--run-dir", str(out)]
        assert cli.main(argv) == 0
        assert cli.main([*argv[:-1], str(scaled), "--temperatures"]) == 0
    return runs, root, out, scaled


def test_mixture_scores_members_and_beats_each_on_validation(members):
    runs, _, out, _ = members
    metrics = json.loads((out / "metrics.json").read_text())
    assert [m["run_dir"] for m in metrics["members"]] == [str(r) for r in runs]
    for member, run_dir in zip(metrics["members"], runs):
        recorded = json.loads((run_dir / "metrics.json").read_text())
        for key in ("validation_loss", "test_loss"):
            assert member[key] == pytest.approx(recorded[key], abs=1e-4)
        assert member["nanogpt_val_loss"] == pytest.approx(recorded["nanogpt_val_loss"], abs=1e-4)
    assert sum(metrics["weights"]) == pytest.approx(1)
    # The fitted weights maximize the validation likelihood, and either member alone is a feasible choice.
    assert metrics["validation_loss"] <= min(m["validation_loss"] for m in metrics["members"]) + 1e-6
    assert metrics["mixture_model_validation_loss"] == pytest.approx(metrics["validation_loss"], abs=1e-4)
    assert [s["members"] for s in metrics["validation_subsets"]] == [[str(r) for r in runs]]
    assert metrics["command"].startswith("zoo ensemble generator") and metrics["temperatures"] is None
    assert [m["temperature"] for m in metrics["members"]] == [1.0, 1.0]
    card = (out / "export" / "README.md").read_text()
    assert f"**{metrics['test_loss']:.4f}**" in card and metrics["data"]["sha256"] in card
    assert all(m["command"] in card for m in metrics["members"]) and metrics["command"] in card


def test_temperatures_are_fitted_on_validation_and_never_worse_there(members):
    _, _, out, scaled = members
    plain, metrics = (json.loads((folder / "metrics.json").read_text()) for folder in (out, scaled))
    assert len(metrics["temperatures"]) == 2 and all(t > 0 for t in metrics["temperatures"])
    assert metrics["temperatures"] != [1.0, 1.0]
    assert [m["temperature"] for m in metrics["members"]] == metrics["temperatures"]
    assert metrics["validation_loss"] <= plain["validation_loss"] + 1e-9  # T = 1 is one of the choices
    assert metrics["mixture_model_validation_loss"] == pytest.approx(metrics["validation_loss"], abs=1e-4)
    assert metrics["validation_subsets"][0]["temperatures"] == pytest.approx(metrics["temperatures"])
    assert metrics["command"].endswith("--temperatures")
    card = (scaled / "export" / "README.md").read_text()
    assert "softmax(logits_k / T_k)" in card and f"{metrics['temperatures'][0]:.3f}" in card


@pytest.mark.parametrize("which", ["plain", "temperatures"])
def test_exported_mixture_scores_the_mixture_of_the_members(members, which):
    runs, _, out, scaled = members
    out = scaled if which == "temperatures" else out
    metrics = json.loads((out / "metrics.json").read_text())
    temperatures = metrics["temperatures"] or [1.0, 1.0]
    vocabulary = shakespeare.CharVocabulary(json.loads((runs[0] / "vocabulary.json").read_text()))
    texts = ["o romeo romeo", "but soft what"]
    ids = tf.ragged.constant([vocabulary.encode(t) for t in texts]).to_tensor()
    probabilities = []
    for i, run_dir in enumerate(runs):
        config = generator.GeneratorConfig(cell=("gru", "elman")[i], units=8, num_layers=1, embedding_dim=4)
        model = generator.build(config, vocabulary, 4, name=f"m{i}")
        model.load_weights(run_dir / "best.weights.h5")
        infer = models.inference_model(model)
        logits, *_ = infer([ids[:, :-1], *generation.zero_states(infer, 2)])
        probabilities.append(tf.nn.softmax(logits / temperatures[i]).numpy())
    mixed = sum(w * p for w, p in zip(metrics["weights"], probabilities))
    picked = np.take_along_axis(mixed, ids[:, 1:, None].numpy(), axis=-1)[..., 0]
    lengths = [len(vocabulary.encode(t)) - 1 for t in texts]
    expected = [-np.mean(np.log(picked[row, :n])) for row, n in enumerate(lengths)]
    exported = tf.saved_model.load(str(out / "export")).signatures["score"](text=tf.constant(texts))["nll"]
    np.testing.assert_allclose(exported.numpy(), expected, rtol=1e-5)


def test_exported_mixture_reloads_without_zoo_and_is_deterministic(members):
    _, _, out, _ = members
    run = subprocess.run([sys.executable, "-c", RELOAD, str(out / "export")], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["a"] == result["b"] and len(result["a"]) == 40 and result["a"] != result["c"]
    assert result["zero"] == "" and len(result["unknown"]) == 10 and result["empty_batch"] == []


def test_incompatible_or_unfinished_runs_are_refused_with_one_line(members, tmp_path, capsys):
    runs, root, _, _ = members
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    (unfinished / "config.json").write_text((runs[0] / "config.json").read_text())
    other_vocabulary = tmp_path / "other_vocabulary"
    other_vocabulary.mkdir()
    for name in ("config.json", "metrics.json", "best.weights.h5"):
        (other_vocabulary / name).write_bytes((runs[1] / name).read_bytes())
    (other_vocabulary / "vocabulary.json").write_text(json.dumps(["a", "b"]))
    conditional = tmp_path / "conditional"
    conditional.mkdir()
    for name in ("metrics.json", "best.weights.h5", "vocabulary.json"):
        (conditional / name).write_bytes((runs[0] / name).read_bytes())
    saved = json.loads((runs[0] / "config.json").read_text())
    saved["generator"]["condition"] = "speaker"
    (conditional / "config.json").write_text(json.dumps(saved))
    cases = {
        (str(runs[0]), str(unfinished)): "has not finished training",
        (str(runs[0]), str(other_vocabulary)): "another character vocabulary",
        (str(runs[0]), str(conditional)): "--condition speaker",
        (str(runs[0]),): "at least 2",
        (str(runs[0]), str(runs[0])): "appear once",
        (str(runs[0]), str(tmp_path)): "no config.json",
    }
    for folders, expected in cases.items():
        argv = ["ensemble", "generator", *folders, "--data-dir", str(root), "--run-dir", str(tmp_path / "e")]
        assert cli.main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("zoo: error:") and expected in err and "\n" not in err


def test_a_member_that_does_not_reproduce_its_validation_loss_is_refused():
    generator_ensemble._check_reproduced("run", 1.40000, 1.40005)
    with pytest.raises(ValueError, match="text, split or model code differ"):
        generator_ensemble._check_reproduced("run", 1.40, 1.45)
