"""Named datasets are found in zoo/data: adding one is one file (zoo.data.registry)."""

import importlib
import json
import sys
import textwrap
from pathlib import Path

import pytest

import zoo.data
from zoo import cli
from zoo.data import registry

# A whole named dataset: nothing else in zoo names it.
TINY_REVIEWS = '''
import numpy as np

from zoo.data import registry

TEXTS = ["good fine film", "bad awful film", "great good", "poor bad"]


def _load(config, seed):
    labels = np.array([1, 0, 1, 0], np.int32)
    splits = {split: (TEXTS, labels) for split in ("train", "validation", "test")}
    info = {"dataset": DATASET.name, "path": "made up", "sha256": None}
    return splits, ["negative", "positive"], "binary", info, []


def _card(config, train_config, metrics, export_dir):
    return {"title": "Tiny reviews, one file"}


DATASET = registry.NamedDataset(name="tiny_reviews", task="classifier", load=_load, model_name="tiny_{cell}",
                                metrics_task="tiny_sentiment", card=_card)
'''


@pytest.fixture
def extra_package_folder(tmp_path, monkeypatch):
    """A folder that is part of the zoo.data package for the test, as a module file added to zoo/data/ would be."""
    folder = tmp_path / "zoo_data"
    folder.mkdir()
    monkeypatch.setattr(zoo.data, "__path__", [*zoo.data.__path__, str(folder)])
    importlib.invalidate_caches()
    yield folder
    for name in [m for m in sys.modules if m.startswith("zoo.data.") and m.rsplit(".", 1)[1] in
                 {p.stem for p in folder.glob("*.py")}]:
        del sys.modules[name]


def test_the_shipped_named_datasets_are_found_per_task():
    assert list(registry.named("classifier")) == ["imdb"]
    assert list(registry.named("generator")) == ["tiny_shakespeare"]
    assert sorted(registry.named("seq2seq")) == ["addition", "spa-eng"]
    assert registry.find("classifier", "spa-eng") is None and registry.find("seq2seq", "examples/dates.tsv") is None


def test_a_dataset_module_added_to_zoo_data_trains_with_no_other_edit(extra_package_folder, tmp_path):
    (extra_package_folder / "tiny_reviews.py").write_text(TINY_REVIEWS)
    run_dir = tmp_path / "run"
    argv = ["train", "classifier", "--data", "tiny_reviews", "--units", "2", "--embedding-dim", "2", "--max-length",
            "4", "--epochs", "1", "--verbose", "0", "--run-dir", str(run_dir)]
    assert cli.main(argv) == 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["task"] == "tiny_sentiment" and metrics["data"]["dataset"] == "tiny_reviews"
    assert metrics["test_examples"] == 4 and metrics["labels"] == ["negative", "positive"]
    card = (run_dir / "export" / "README.md").read_text()
    assert card.startswith("# Tiny reviews, one file\n") and "## Results" in card  # its title, the task's other sections
    assert json.loads((run_dir / "config.json").read_text())["classifier"]["data"] == "tiny_reviews"


def test_two_datasets_of_one_task_may_not_share_a_name(extra_package_folder):
    (extra_package_folder / "imdb_again.py").write_text(textwrap.dedent('''
        from zoo.data import registry
        DATASET = registry.NamedDataset(name="imdb", task="classifier", load=None, model_name="x")
    '''))
    with pytest.raises(ValueError, match="two classifier datasets are named 'imdb': zoo.data.imdb and zoo.data.imdb_again"):
        registry.named("classifier")


@pytest.mark.parametrize("task, named", [("classifier", "imdb"), ("generator", "tiny_shakespeare"),
                                         ("seq2seq", "addition, spa-eng")])
def test_data_that_is_neither_a_named_dataset_nor_a_path_is_one_line_naming_both(task, named, tmp_path, capsys):
    assert cli.main(["train", task, "--data", "no_such_data", "--run-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo: error: no_such_data: no such file or folder, nor a named dataset") and named in err


SHIPPED = Path(__file__).resolve().parents[2] / "saved_models"


@pytest.mark.parametrize("name", ["imdb_sentiment_fast", "spa_eng_translator", "addition"])
def test_the_named_datasets_cards_are_the_shipped_cards(name):
    """The card sections a dataset module gives (imdb, spa-eng, addition), in the task's template, write
    the shipped single models' cards from their own metrics.json and config.json (scripts/reexport_shipped.py
    appends its "Re-export" section after them)."""
    from zoo import tasks
    from zoo.tasks.runs import dataclass_from
    from zoo.training import TrainConfig

    folder = SHIPPED / name
    if not (folder / "config.json").is_file():
        pytest.skip(f"no shipped {name}")
    saved, metrics = (json.loads((folder / f).read_text()) for f in ("config.json", "metrics.json"))
    task = tasks.get("seq2seq" if "seq2seq" in saved else "classifier")
    config, train = task.resolve(dataclass_from(task.Config, saved.get(task.name) or saved["sentiment"]),
                                 dataclass_from(TrainConfig, saved["train"]))
    if task.name == "seq2seq":
        metrics.setdefault("tokens", config.style.tokens)  # recorded since zoo.tasks
    card = task.model_card(config, train, metrics, f"saved_models/{name}")
    assert (folder / "README.md").read_text().startswith(card.rstrip("\n") + "\n\n## Re-export\n")
