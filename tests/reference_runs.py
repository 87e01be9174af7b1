"""Short seeded runs of each shipped recipe, and the weights they end with (issue 22).

Each recipe is the command of a shipped model (``saved_models/*/metrics.json``) with its code path
unchanged (cell, attention, pooling, pretraining, schedule, dropout, monitor) and only the sizes cut
(units, epochs, data), so that a run takes seconds. Refactoring the tasks must not change what these
runs compute: ``tests/test_reference_runs.py`` reruns them and compares the best checkpoint's weights
with the arrays recorded here before the refactor (``tests/reference_runs/<recipe>.npz``).

Record them again (only when a change is *meant* to move the numbers, and say so in the commit)::

    PYTHONPATH=. python -m tests.reference_runs --write
"""

import argparse
import contextlib
import sys
from pathlib import Path

import numpy as np

FOLDER = Path(__file__).with_name("reference_runs")
TINY = ["--epochs", "2", "--verbose", "0", "--seed", "0"]
ENGLISH = ["I see {}.", "{} is here.", "Where is {}?", "I like {}!"]
SPANISH = ["Veo a {}.", "{} está aquí.", "¿Dónde está {}?", "¡Me gusta {}!"]
NAMES = ["Tom", "Mary", "John", "Ana", "Luis", "Eva", "Sam", "Ken", "Rosa", "Juan", "Pablo", "Elena"]


@contextlib.contextmanager
def _imdb(root):
    from tests.data.test_imdb import make_archive

    yield ["--data-dir", str(make_archive(root))]


@contextlib.contextmanager
def _shakespeare(root):
    from tests.tasks.test_generator import tiny_play

    with tiny_play(root):
        yield ["--data-dir", str(root)]


@contextlib.contextmanager
def _spa_eng(root):
    lines = [f"{e.format(n)}\t{s.format(n)}" for n in NAMES for e, s in zip(ENGLISH, SPANISH)]
    (root / "spa.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    yield ["--data-dir", str(root)]


@contextlib.contextmanager
def _addition(root):
    from zoo.data import addition

    small = addition.problems
    with contextlib.ExitStack() as stack:
        patch = stack.enter_context(__import__("pytest").MonkeyPatch.context())
        patch.setattr(addition, "problems", lambda train, seed: small(train=train, validation=64, test=32, seed=seed))
        yield ["--train-problems", "256"]


SENTIMENT = ["--vocab-size", "20000", "--max-length", "800", "--embedding-dim", "8", "--units", "4",
             "--bidirectional", "true", "--pooling", "max", "--dropout", "0.5", "--pretrain", "word2vec",
             "--pretrain-epochs", "2", "--patience", "2", "--monitor", "val_loss", "--batch-size", "2",
             "--validation-split", "0.34"]
GENERATOR = ["--units", "8", "--num-layers", "2", "--embedding-dim", "4", "--seq-len", "20", "--batch-size", "4",
             "--learning-rate", "0.002", "--lr-schedule", "cosine", "--patience", "3", "--sample-length", "10"]

# recipe -> (data context, the `zoo` arguments): each the command of a shipped model (or ensemble member),
# sizes cut.
RECIPES = {
    "imdb_gru": (_imdb, ["train", "sentiment", "--cell", "gru", *SENTIMENT]),
    "imdb_peephole_lstm": (_imdb, ["train", "sentiment", "--cell", "peephole_lstm", *SENTIMENT]),
    "imdb_elman_fast": (_imdb, ["train", "sentiment", "--cell", "elman", *SENTIMENT]),
    "shakespeare_peephole_lstm": (_shakespeare, ["train", "generator", "--cell", "peephole_lstm", "--dropout", "0.35",
                                                 *GENERATOR]),
    "shakespeare_gru": (_shakespeare, ["train", "generator", "--cell", "gru", "--dropout", "0.25", *GENERATOR]),
    "spa_eng_translator": (_spa_eng, ["train", "seq2seq", "--task", "translate", "--cell", "gru", "--attention",
                                      "luong", "--units", "8", "--embedding-dim", "4", "--dropout", "0.2",
                                      "--patience", "3", "--batch-size", "16", "--learning-rate", "0.001",
                                      "--beam-width", "2"]),
    "addition": (_addition, ["train", "seq2seq", "--task", "addition", "--cell", "gru", "--attention", "luong",
                             "--units", "8", "--embedding-dim", "4", "--dropout", "0", "--batch-size", "32",
                             "--learning-rate", "0.002", "--lr-schedule", "cosine", "--patience", "0",
                             "--beam-width", "2"]),
}


def checkpoint_weights(path):
    """``{name: array}`` of every array in a Keras ``.weights.h5`` file, by its path in the file."""
    import h5py

    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, item: out.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset) else None)
    return out


def run(recipe, root):
    """Run ``recipe`` in the folder ``root``; returns its best checkpoint's weights."""
    from zoo import cli

    root = Path(root)
    context, argv = RECIPES[recipe]
    with context(root) as data:
        status = cli.main([*argv, *data, "--run-dir", str(root / "run"), "--export-dir", str(root / "export"), *TINY])
    if status != 0:
        raise RuntimeError(f"recipe {recipe} exited with status {status}")
    return checkpoint_weights(root / "run" / "best.weights.h5")


def recorded(recipe):
    with np.load(FOLDER / f"{recipe}.npz") as data:
        return {name: data[name] for name in data.files}


def main(argv=None):
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="record the weights (else compare with the record)")
    parser.add_argument("recipes", nargs="*", default=list(RECIPES))
    args = parser.parse_args(argv)
    FOLDER.mkdir(exist_ok=True)
    failed = 0
    for recipe in args.recipes:
        with tempfile.TemporaryDirectory() as root:
            weights = run(recipe, root)
        if args.write:
            np.savez_compressed(FOLDER / f"{recipe}.npz", **weights)
            print(f"{recipe}: {len(weights)} arrays, {sum(w.size for w in weights.values())} numbers recorded")
            continue
        before = recorded(recipe)
        same = weights.keys() == before.keys() and all(np.array_equal(weights[k], before[k]) for k in before)
        worst = max((float(np.max(np.abs(weights[k] - before[k]))) for k in before if k in weights
                     and weights[k].shape == before[k].shape), default=float("nan"))
        print(f"{recipe}: {'identical' if same else 'DIFFERENT'} (largest difference {worst:.3g})")
        failed += not same
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
