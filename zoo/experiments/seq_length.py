"""IMDB accuracy against the tokens kept, every review padded: the many-to-one classifier (``build_classifier``,
last-step pooling, one direction) trained with one budget for every cell and maximum length, the reviews cut
keeping their start or their end (:func:`truncate`), padded and masked; test accuracy per point.

Every review takes part at every length, so at 1,000 tokens most are a few hundred tokens long and padded: this
variant measures the padded pipeline, not memory over N tokens (``exact_length`` runs the notes' protocol).
"""

import dataclasses
import json
from pathlib import Path

import numpy as np

# TensorFlow, Keras and the zoo modules that import them load in the functions that use them: `zoo report
# --help` lists the experiments without them (issue 23).
from zoo import training
from zoo.cells.spec import parse_cell, slug
from zoo.experiments.points import jsonable, point_settings
from zoo.experiments.report import fmt, group, mean_std, seeds_word
from zoo.experiments.reviews import prepare_text
from zoo.models.classifier import build_classifier
from zoo.validation import one_of, positive_int

NAME = "seq_length"
PART = "Short-term memory on IMDB"
TITLE = "Padded reviews: every review, cut to at most N tokens"
SIDES = ("start", "end")


@dataclasses.dataclass(frozen=True)
class SeqLengthSettings:
    """IMDB accuracy against the number of tokens kept (Adam, clipnorm 1, fixed epochs, no early stopping)."""

    cells: tuple = ("elman", "gru", "peephole_lstm")
    lengths: tuple = (10, 20, 50, 100, 200, 500, 1000)
    sides: tuple = SIDES
    seeds: tuple = (0, 1, 2)
    train_reviews: int = 0  # a seeded subsample of the training split; 0: all
    validation_reviews: int = 0  # of the (by-movie) validation split; picks the best epoch
    test_reviews: int = 0  # of the official test split; 0: all 25,000
    vocab_size: int = 10000
    embedding_dim: int = 32
    units: int = 32
    epochs: int = 1
    batch_size: int = 64
    learning_rate: float = 2e-3



BUDGETS = {
    "quick": SeqLengthSettings(
        lengths=(20, 100, 500), seeds=(0,), train_reviews=2000, validation_reviews=500, test_reviews=1000,
        vocab_size=5000, embedding_dim=16, units=16,
    ),
    "full": SeqLengthSettings(seeds=(0, 1, 2), train_reviews=0, validation_reviews=1000, test_reviews=5000),
}
NOTES = {
    "full": "IMDB models of the padded variant train for **one epoch** over all 22,486 training reviews (in three "
    "timed trial points a single pass reached 0.80-0.84 test accuracy, below the ~0.88 of the zoo's tuned "
    "multi-epoch models), are small (32 units), and are tested on a seeded subsample of **5,000** of the 25,000 "
    "test reviews (an accuracy's standard error is then about 0.006); 3 seeds per point.",
}


def truncate(sequences, max_length, side="start"):
    """Token id sequences -> (n, max_length) int32, each cut to its first (``side="start"``) or last
    (``"end"``) ``max_length`` ids, left-aligned and 0-padded on the right (so ``mask_zero`` masking and
    last-step pooling read the kept tokens whichever end was kept).

    ``sequences``: ragged lists/arrays of ids, or rows already 0-padded on the right (trailing zeros are
    padding: id 0 is never a token).
    """
    positive_int("max_length", max_length)
    one_of("side", side, SIDES)
    out = np.zeros((len(sequences), max_length), np.int32)
    for i, seq in enumerate(sequences):
        seq = np.asarray(seq, np.int64)
        nonzero = np.flatnonzero(seq)
        seq = seq[: nonzero[-1] + 1] if len(nonzero) else seq[:0]
        kept = seq[:max_length] if side == "start" else seq[max(len(seq) - max_length, 0) :]
        out[i, : len(kept)] = kept
    return out



def imdb_run_dir(work_dir, cell, side, length, seed):
    return Path(work_dir) / "imdb" / f"{slug(cell)}-{side}-{length}-seed{seed}"



def prepared(ctx):
    """The IMDB splits tokenized as the padded variant's settings ask (shared with ``gradients``)."""
    return ctx.cached("seq_length.prepared", lambda: prepare_text(ctx.reviews(), ctx.budget["seq_length"]))


def classifier(prepared, settings, cell, seed):
    training.seed_everything(seed)
    name, kwargs = parse_cell(cell)
    return build_classifier(
        name, vocab_size=prepared.vocab_size, embedding_dim=settings.embedding_dim, units=settings.units,
        pooling="last", name=f"imdb_{slug(cell)}", **kwargs,
    )



def train_classifier(prepared, settings, cell, length, side, seed, run_dir):
    """The classifier of ``cell`` trained on reviews cut to ``length`` tokens (``side`` kept) in ``run_dir``
    (resumed, or loaded at once if finished). Returns ``(model, batches)``: batches per split."""
    from zoo.data import text

    run_dir = Path(run_dir)
    config = training.TrainConfig(
        epochs=settings.epochs, batch_size=settings.batch_size, learning_rate=settings.learning_rate,
        patience=0, monitor="val_accuracy", seed=seed, verbose="0",
    )
    wanted = jsonable({"classifier": point_settings(settings), "cell": cell, "length": length, "side": side,
                        "train": dataclasses.asdict(config)})
    if (run_dir / "config.json").exists():
        found = json.loads((run_dir / "config.json").read_text())
        if found != wanted:
            raise ValueError(f"{run_dir} holds a run of other settings; delete it to retrain.")
    training.write_config(run_dir, **wanted)
    batches = {
        split: text.bucketed_dataset(
            truncate(tokens, length, side), prepared.labels[split], settings.batch_size,
            shuffle=split == "train", seed=seed,
        )
        for split, tokens in prepared.tokens.items()
    }
    model = classifier(prepared, settings, cell, seed)
    training.fit(model, batches["train"], batches["validation"], config, run_dir, "binary_crossentropy", ["accuracy"])
    return model, batches



def points(settings):
    return [(f"seq_length/{slug(cell)}-{side}-{length}-seed{seed}", (cell, side, length, seed))
            for cell in settings.cells for side in settings.sides for length in settings.lengths
            for seed in settings.seeds]


def compute(settings, ctx, cell, side, length, seed):
    data = prepared(ctx)
    run_dir = imdb_run_dir(ctx.work_dir, cell, side, length, seed)
    model, batches = train_classifier(data, settings, cell, length, side, seed, run_dir)
    test = model.evaluate(batches["test"], return_dict=True, verbose=0)
    val = training.read_log(run_dir)
    return {
        "cell": cell, "side": side, "length": length, "seed": seed,
        "test_accuracy": float(test["accuracy"]), "test_loss": float(test["loss"]),
        "validation_accuracy": max(val.get("val_accuracy", [float("nan")])),
        **{f"{split}_reviews": len(labels) for split, labels in data.labels.items()},
    }


def describe(result):
    r = result
    return f"{r['cell']} {r['side']} {r['length']} seed {r['seed']}: test accuracy {r['test_accuracy']:.3f}"


def seeds(settings):
    return f"IMDB padded {list(settings.seeds)} (model init and shuffling; the data subsample uses seed 0)"


def section(results, settings, ctx):
    s = settings
    counts = results[0] if results else {}
    n_reviews = {split: f"{counts[f'{split}_reviews']:,}" if f"{split}_reviews" in counts else
                 f"{getattr(s, f'{split}_reviews') or 'all'}" for split in ("train", "validation", "test")}
    intro = [
        f"The many-to-one classifier (embedding {s.embedding_dim} -> one recurrent layer of {s.units} units -> the "
        f"last unpadded step -> sigmoid), vocabulary {s.vocab_size}, trained {s.epochs} epoch(s) with Adam "
        f"(learning rate {s.learning_rate}, clipnorm 1, batch {s.batch_size}) on "
        f"{n_reviews['train']} training reviews (a seeded subsample; {n_reviews['validation']} validation reviews, "
        f"whole movies held out, pick the best epoch), tested on {n_reviews['test']} test reviews. Each review is cut "
        "to at most N tokens keeping its start, or keeping its end (its last N tokens, left-aligned), **padded and "
        "masked**: every review takes part at every N, so at large N most sequences are shorter than N and this "
        "table measures the padded pipeline rather than memory over N tokens (the exact-length tables above do "
        "that).",
        "",
    ]
    return intro + _section(results, s, ctx.assets, ctx.plots)


def _section(results, settings, assets, plots):
    if not results:
        return ["_No finished points._"]
    groups = group(results, "cell", "side", "length")
    cells_ = [c for c in settings.cells if any(k[0] == c for k in groups)]
    lengths = sorted({k[2] for k in groups})
    lines, findings = [], []
    for side in settings.sides:
        lines += [f"**Keeping the {side}** of each review (test accuracy, mean ± sample std over seeds):", "",
                  "| cell | " + " | ".join(str(n) for n in lengths) + " |",
                  "|---|" + "---|" * len(lengths)]
        for cell in cells_:
            row = [fmt([r["test_accuracy"] for r in groups[cell, side, n]]) if (cell, side, n) in groups else "-"
                   for n in lengths]
            lines.append(f"| {cell} | " + " | ".join(row) + " |")
        lines.append("")
        for n in (lengths[0], lengths[-1]) if len(lengths) > 1 else lengths:
            here = [(c, [r["test_accuracy"] for r in groups[c, side, n]]) for c in cells_ if (c, side, n) in groups]
            here.sort(key=lambda item: -np.mean(item[1]))
            if here:
                findings.append(f"At length {n}, keeping the {side}: "
                                + ", ".join(f"{c} {fmt(v, 2)}" for c, v in here)
                                + f" ({seeds_word(len(here[0][1]))}).")
    for cell in cells_:
        for side in settings.sides:
            means = {n: np.mean([r["test_accuracy"] for r in groups[cell, side, n]])
                     for n in lengths if (cell, side, n) in groups}
            if len(means) > 1:
                best = max(means, key=means.get)
                findings.append(f"{cell}, keeping the {side}: best at length {best} ({means[best]:.3f}); "
                                f"{means[lengths[-1]]:.3f} at {lengths[-1]}." if lengths[-1] in means else
                                f"{cell}, keeping the {side}: best at length {best} ({means[best]:.3f}).")
    longest = lengths[-1]
    for cell in cells_:
        if all((cell, s, longest) in groups for s in SIDES):
            start, end = (np.mean([r["test_accuracy"] for r in groups[cell, s, longest]]) for s in SIDES)
            verb = "beats" if end > start else "ties with" if end == start else "falls below"
            findings.append(f"{cell} at length {longest}: keeping the end {verb} keeping the start ({end:.3f} vs "
                            f"{start:.3f}, {abs(end - start) * 100:.1f} points).")

    from zoo.plots import plot_panels

    panels = []
    for side in settings.sides:
        curves = []
        for i, cell in enumerate(cells_):
            ns = [n for n in lengths if (cell, side, n) in groups]
            stats = [mean_std([r["test_accuracy"] for r in groups[cell, side, n]]) for n in ns]
            curves.append({"x": ns, "y": [s[0] for s in stats], "yerr": [s[1] or 0.0 for s in stats],
                           "label": cell, "color": f"C{i}", "marker": "o"})
        panels.append({"title": f"keeping the {side}", "xlabel": "max tokens per review", "ylabel": "test accuracy",
                       "xscale": "log", "xticks": lengths, "lines": curves, "hlines": [(0.5, "chance")]})
    plots.append(plot_panels(panels, assets / "seq_length.png"))
    return ["Findings:", "", *[f"- {f}" for f in findings], "", *lines,
            f"![accuracy against max length]({assets.name}/seq_length.png)"]
