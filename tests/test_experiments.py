import json

import numpy as np
import pytest

from zoo import experiments
from zoo.data import synthetic
from zoo.data.imdb import Reviews
from zoo.experiments import adding, exact_length, exploding, gradients, grammars, seq_length, tomita
from zoo.experiments.points import Context, run_points

TINY = experiments.Budget("tiny", {
    "exact_length": exact_length.ExactLengthSettings(
        cells=("elman",), lengths=(4, 8), strict_min_tokens=8,
        schedule=(("strict", "word2vec", "end", (0,)), ("per_length", "learned", "end", (0,))),
        vocab_size=30, embedding_dim=4, units=4, epochs=2, batch_size=8, word2vec_epochs=1, gradient_length=8,
        gradient_batch=4),
    "seq_length": seq_length.SeqLengthSettings(cells=("elman",), lengths=(4, 8), seeds=(0,), vocab_size=30,
                                               embedding_dim=4, units=4, batch_size=16),
    "gradients": gradients.GradientSettings(cells=("elman",), length=8, batch=4),
    "exploding": exploding.ExplodingSettings(units=4, length=6, steps=3, batch_size=4, through_time_length=6,
                                             test_sequences=8),
    "grammars": grammars.GrammarSettings(cells=("elman",), seeds=(0,), units=4, every=16, max_sequences=32,
                                         test_strings=20),
    "tomita": tomita.TomitaSettings(cells=("elman",), grammars=(1, 4), seeds=(0,), units=4, every=16, max_strings=32,
                                    max_length=4, test_max_length=6, test_strings=20),
    "adding": adding.AddingSettings(cells=("elman",), lengths=(6,), seeds=(0,), units=4, steps=4, batch_size=4,
                                    eval_every=2, test_sequences=8),
})
WORDS = ["good", "bad", "film", "plot", "actor", "scene", "story", "music", "end", "start"]


def tiny_reviews():
    """Synthetic 'reviews' of 3-15 words; positive when 'good' outnumbers 'bad'."""
    rng = np.random.default_rng(0)

    def split(n):
        texts = [" ".join(rng.choice(WORDS, rng.integers(3, 16))) for _ in range(n)]
        labels = np.array([t.split().count("good") > t.split().count("bad") for t in texts], np.int32)
        return Reviews(texts, labels, np.where(labels == 1, 8, 2).astype(np.int32))

    return {"train": split(48), "validation": split(16), "test": split(32)}


def test_truncate_keeps_the_first_tokens_left_aligned():
    ids = seq_length.truncate([[5, 6, 7, 8], [9], []], 3, side="start")
    np.testing.assert_array_equal(ids, [[5, 6, 7], [9, 0, 0], [0, 0, 0]])
    assert ids.dtype == np.int32


def test_truncate_keeps_the_last_tokens_left_aligned_with_right_padding():
    ids = seq_length.truncate([[5, 6, 7, 8], [9, 3], []], 3, side="end")
    np.testing.assert_array_equal(ids, [[6, 7, 8], [9, 3, 0], [0, 0, 0]])


def test_truncate_treats_trailing_zeros_as_padding():
    padded = np.array([[5, 6, 7, 0, 0], [4, 1, 0, 0, 0]])  # id 1 (out of vocabulary) is a real token
    np.testing.assert_array_equal(seq_length.truncate(padded, 2, side="end"), [[6, 7], [4, 1]])
    np.testing.assert_array_equal(seq_length.truncate(padded, 4, side="start"), [[5, 6, 7, 0], [4, 1, 0, 0]])


def test_truncate_rejects_an_unknown_side():
    with pytest.raises(ValueError, match="side"):
        seq_length.truncate([[1, 2]], 2, side="middle")


def test_parse_cell_reads_keyword_arguments():
    assert experiments.parse_cell("second_order(rank=16)") == ("second_order", {"rank": 16})
    assert experiments.parse_cell("gru") == ("gru", {})
    with pytest.raises(ValueError, match="Unknown cell|must be one of"):
        experiments.parse_cell("transformer")


def test_reber_success_counts_strings_evaluations_and_seeds():
    # Two strings of "BTSXSE"'s first steps; string 0 predicted exactly, string 1 wrong at one step.
    _, targets, mask = synthetic.reber_dataset(2, seed=0)
    probs = np.where(targets > 0.5, 0.9, 0.1)
    assert grammars.fraction_right(probs, targets, mask) == 1.0
    probs[1, 0] = 1.0 - probs[1, 0]  # every symbol of step 0 flipped
    assert grammars.fraction_right(probs, targets, mask) == 0.5
    probs[1, 0] = np.where(targets[1, 0] > 0.5, 0.9, 0.1)
    probs[1, int(mask[1].sum())] = 0.9  # a padded step is ignored, however wrong
    assert grammars.fraction_right(probs, targets, mask) == 1.0

    assert grammars.first_solved([[100, 0.5], [200, 1.0], [300, 1.0]]) == 200
    assert grammars.first_solved([[100, 0.5], [200, 0.999]]) is None
    summary = grammars.grammar_success([{"sequences": 3000}, {"sequences": None}, {"sequences": 1000}])
    assert summary == {"solved": 2, "runs": 3, "fraction": 2 / 3, "sequences": [1000, 3000],
                       "median_sequences": 2000.0}
    assert grammars.grammar_success([{"sequences": None}])["median_sequences"] is None


def test_a_point_whose_json_exists_is_not_recomputed(tmp_path):
    path = tmp_path / "point.json"
    settings = {"units": 4}

    def boom():
        raise AssertionError("recomputed a finished point")

    first = experiments.point(path, settings, lambda: {"value": 1})
    assert first["value"] == 1 and first["seconds"] >= 0 and json.loads(path.read_text())["value"] == 1
    assert experiments.point(path, settings, boom)["value"] == 1
    assert experiments.point(tmp_path / "missing.json", settings, boom, compute=False) is None
    with pytest.raises(ValueError, match="other settings.*units"):
        experiments.point(path, {"units": 8}, boom)


def test_an_experiment_resumes_from_its_finished_points(tmp_path, monkeypatch):
    settings = TINY["adding"]
    finished = experiments.point_settings(settings)
    path = tmp_path / "adding" / "elman-6-seed0.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"cell": "elman", "length": 6, "seed": 0, "test_mse": 0.123, "beats": False,
                                "curve": [[4, 0.123]], "settings": finished, "seconds": 1, "cpu_seconds": 1}))
    calls = []
    monkeypatch.setattr(adding, "train_adding", lambda s, c, n, seed: calls.append(seed) or
                        {"cell": c, "length": n, "seed": seed, "test_mse": 0.5, "beats": False, "curve": [[4, 0.5]]})
    results = run_points(adding, experiments.dataclasses.replace(settings, seeds=(0, 1)), Context(TINY, tmp_path, tmp_path))
    assert [r["test_mse"] for r in results] == [0.123, 0.5]
    assert calls == [1]
    assert (tmp_path / "adding" / "elman-6-seed1.json").exists()


def test_quick_report_runs_end_to_end_on_tiny_settings(tmp_path, monkeypatch):
    out = tmp_path / "report" / "experiments.md"
    argv = ["--budget", "tiny", "--out", str(out), "--work-dir", str(tmp_path / "work")]
    assert experiments.main(argv, budgets={"tiny": TINY}, reviews=tiny_reviews()) == 0

    report = out.read_text()
    for heading in ("## 1. Short-term memory on IMDB", "### Exact-length reviews", "### Padded reviews",
                    "## 2. Gradients through time", "### Exploding gradients", "## 3. Grammars and long-range tasks",
                    "### Reber and embedded Reber", "### Adding problem", "### Tomita grammars", "## Timing"):
        assert heading in report
    assert report.index("### Exact-length reviews") < report.index("### Padded reviews")
    assert "**Strict, word2vec embedding, keeping the end**" in report
    assert "| reviews (train / val / test) |" in report and "#### Gradients through time on the same reviews" in report
    assert report.index("Reber and embedded Reber") < report.index("Tomita grammars") < report.index("Adding problem")
    assert "--budget tiny" in report and "At length 8, keeping the end: elman" in report
    assert "| grammar | elman |" in report and "| 1: `1*` | " in report and "| 4: `no 000` | " in report
    assert "Tomita 4 (`no 000`): solved in every seed by" in report or "Tomita 4 (`no 000`): no cell solved" in report
    assets = tmp_path / "report" / "experiments"
    for name in ("exact_length", "exact_length_gradients", "seq_length", "gradients", "exploding", "grammars",
                 "adding", "tomita"):
        assert (assets / f"{name}.png").stat().st_size > 0
        assert f"experiments/{name}.png" in report
    results = sorted(p.relative_to(assets / "results").as_posix() for p in (assets / "results").rglob("*.json"))
    # exact_length (2 gradient curves, 2 strict points, 1 per-length), seq_length, gradients, exploding, grammars,
    # adding, tomita, run.json
    assert len(results) == 5 + 4 + 1 + 3 + 2 + 1 + 2 + 1
    strict = json.loads((assets / "results" / "exact_length" / "strict-word2vec-elman-end-4-seed0.json").read_text())
    assert strict["train_reviews"] > 0 and strict["settings"] == experiments.point_settings(TINY["exact_length"])
    point = json.loads((assets / "results" / "seq_length" / "elman-end-8-seed0.json").read_text())
    assert 0.0 <= point["test_accuracy"] <= 1.0 and point["settings"]["units"] == 4
    tomita = json.loads((assets / "results" / "tomita" / "tomita4-elman-seed0.json").read_text())
    assert tomita["settings"] == experiments.point_settings(TINY["tomita"]) and "grammars" not in tomita["settings"]
    assert (tomita["grammar"], tomita["cell"], tomita["seed"]) == (4, "elman", 0)
    assert 0.0 <= tomita["longer_accuracy"] <= 1.0 and tomita["evaluations"][-1][1] == tomita["test_accuracy"]
    assert tomita["sequences"] in (None, 16, 32) and tomita["cpu_seconds"] > 0

    # A rerun computes nothing: every point's JSON exists (no trainer may be called), and the report is rewritten.
    def boom(*args, **kwargs):
        raise AssertionError("recomputed a finished point")

    for module in experiments.REGISTRY.values():
        monkeypatch.setattr(module, "compute", boom)
    out.unlink()
    assert experiments.main(argv, budgets={"tiny": TINY}, reviews=tiny_reviews()) == 0
    assert out.read_text().count("elman") == report.count("elman")


def test_only_tomita_computes_the_tomita_points_alone(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("computed a point of another experiment")

    for name, module in experiments.REGISTRY.items():
        if name != "tomita":
            monkeypatch.setattr(module, "compute", boom)
    out = tmp_path / "experiments.md"
    argv = ["--budget", "tiny", "--out", str(out), "--work-dir", str(tmp_path / "work"), "--only", "tomita"]
    budget = experiments.Budget("tiny", {**TINY.settings,
                                         "tomita": experiments.dataclasses.replace(TINY["tomita"], grammars=(1,))})
    assert experiments.main(argv, budgets={"tiny": budget}) == 0
    results = tmp_path / "experiments" / "results"
    assert [p.name for p in (results / "tomita").iterdir()] == ["tomita1-elman-seed0.json"]
    assert sorted(p.name for p in results.iterdir()) == ["run.json", "tomita"]
    assert "| 1: `1*` | " in out.read_text()


def test_an_interrupted_run_keeps_its_points_and_writes_the_report(tmp_path, monkeypatch):
    calls = []

    def compute(settings, ctx, cell, length, seed):
        calls.append(seed)
        if len(calls) > 1:
            raise KeyboardInterrupt
        return {"cell": cell, "length": length, "seed": seed, "test_mse": 0.5, "beats": False, "curve": [[4, 0.5]],
                "baseline_mse": synthetic.ADDING_BASELINE_MSE}

    monkeypatch.setattr(adding, "compute", compute)
    budget = experiments.Budget("tiny", {**TINY.settings,
                                         "adding": experiments.dataclasses.replace(TINY["adding"], seeds=(0, 1))})
    out = tmp_path / "experiments.md"
    argv = ["--budget", "tiny", "--out", str(out), "--work-dir", str(tmp_path / "work"), "--only", "adding"]
    assert experiments.main(argv, budgets={"tiny": budget}) == 130
    results = tmp_path / "experiments" / "results"
    assert [p.name for p in (results / "adding").iterdir()] == ["elman-6-seed0.json"]
    run = json.loads((results / "run.json").read_text())[-1]
    assert run["interrupted"] and run["only"] == ["adding"]
    assert "before every point was computed" in out.read_text()
