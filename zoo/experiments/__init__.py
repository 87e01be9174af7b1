"""The seed experiments: short-term memory on IMDB, gradients through time, grammars and long-range tasks.

Six experiments, each a grid of *points* (one trained model, or one measurement):

- ``seq_length``: the many-to-one IMDB classifier (``build_classifier``, last-step pooling, one direction)
  trained with one budget for every cell and maximum length, the reviews cut keeping their start or their
  end (:func:`truncate`); test accuracy per point.
- ``gradients``: per cell, ``mean_i ||d loss_i / d x_t||`` (``zoo.analysis.gradient_norms``) over a batch of
  long test reviews, for the untrained classifier and the trained one (the ``seq_length`` model of that
  length, end kept, when that grid holds it: the same run folder is reused).
- ``exploding``: an Elman cell with a large orthogonal recurrent initialisation trained by SGD on the adding
  problem with and without gradient clipping, every step's gradient norm, ||U|| and loss recorded; and the
  per-step gradient norms of that cell at initialisation (Pascanu et al. 2013).
- ``grammars``: Reber and embedded Reber next-symbol prediction; per cell and seed, the training strings
  seen at the first evaluation that gets all of 1,000 fresh test strings right (Hochreiter & Schmidhuber 1997).
- ``adding``: the adding problem at several lengths; final test MSE against the trivial baseline.
- ``tomita``: accept or reject strings of the seven Tomita (1982) languages (Giles et al. 1992 trained second-order
  networks on them); per grammar, cell and seed, the test accuracy on strings up to twice the training length,
  and the training strings seen when every test string is first right.

Every point's result is a JSON file ``results_dir/<experiment>/<point>.json`` holding the point's settings
and its wall and CPU seconds. A rerun skips the points whose JSON exists (an interrupted run resumes point by
point; IMDB models also resume epoch by epoch through ``zoo.training.fit``), and :func:`write_report` renders
the Markdown report and its PNG plots from those files alone. A JSON computed with other settings is an error,
never silently mixed in.

Entry point: :func:`main` (``python scripts/report.py --budget quick``).
"""

import argparse
import ast
import dataclasses
import datetime
import json
import re
import shlex
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from zoo import analysis, cells, training
from zoo.data import synthetic, text
from zoo.layers import OneHot, Recurrent
from zoo.models.classifier import build_classifier
from zoo.training import _write_json
from zoo.validation import one_of, positive_int
from zoo.experiments.points import AXES, _cached, _jsonable, _log, _point, _point_settings  # noqa: F401
from zoo.experiments import exact_length as exact_length_experiment
from zoo.experiments.reviews import PreparedText, load_reviews, prepare_text, token_ids  # noqa: F401

EXPERIMENTS = ("seq_length", "gradients", "exploding", "grammars", "adding", "tomita", "exact_length")
SIDES = ("start", "end")
GRAMMARS = ("reber", "embedded_reber")
TEST_SEED = 1_000_003  # test data of the synthetic tasks: never a training seed


# Budgets: configuration as data. The grid axes (cells, lengths, sides, seeds, grammars) are not part of a
# point's settings, so a grid can grow (another seed, another length) without invalidating finished points.

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


@dataclasses.dataclass(frozen=True)
class GradientSettings:
    """||d loss / d x_t|| over a batch of test reviews of at least ``length`` tokens (their last ``length``)."""

    cells: tuple = ("elman", "gru", "peephole_lstm")
    length: int = 500
    batch: int = 64
    seed: int = 0


@dataclasses.dataclass(frozen=True)
class ExplodingSettings:
    """Elman, recurrent kernel Orthogonal(gain), on the adding problem: SGD with and without ``clipnorm``."""

    units: int = 64
    gain: float = 3.0
    length: int = 50
    steps: int = 800
    batch_size: int = 32
    learning_rate: float = 0.01
    clipnorm: float = 1.0
    through_time_length: int = 100  # sequence length of the gradient norms at initialisation
    test_sequences: int = 1000
    seed: int = 0


@dataclasses.dataclass(frozen=True)
class GrammarSettings:
    """Next-symbol prediction on (embedded) Reber strings; solved = all test strings right."""

    cells: tuple = ("elman", "gru", "peephole_lstm", "second_order(rank=16)", "second_order")
    grammars: tuple = GRAMMARS
    seeds: tuple = (0, 1, 2)
    units: int = 16
    learning_rate: float = 0.01
    batch_size: int = 32
    every: int = 1000  # training strings between evaluations
    max_sequences: int = 30000  # training strings before giving up
    test_strings: int = 1000


@dataclasses.dataclass(frozen=True)
class AddingSettings:
    """The adding problem; a cell beats the baseline when its final test MSE < ``beats`` x baseline."""

    cells: tuple = ("elman", "gru", "peephole_lstm")
    lengths: tuple = (50, 100, 200)
    seeds: tuple = (0, 1)
    units: int = 32
    steps: int = 2000
    batch_size: int = 32
    learning_rate: float = 1e-3
    eval_every: int = 100  # steps between test evaluations
    test_sequences: int = 1000
    beats: float = 0.1


@dataclasses.dataclass(frozen=True)
class TomitaSettings:
    """Accept/reject classification of the Tomita languages; solved = all test strings right, longer ones included."""

    cells: tuple = ("elman", "gru", "peephole_lstm", "second_order(rank=16)", "second_order")
    grammars: tuple = synthetic.TOMITA_GRAMMARS
    seeds: tuple = (0, 1, 2)
    units: int = 16
    learning_rate: float = 0.01
    batch_size: int = 32
    every: int = 1000  # training strings between evaluations
    max_strings: int = 30000  # training strings before giving up
    max_length: int = 15  # training strings have 1..max_length symbols
    test_max_length: int = 30  # test strings have 1..test_max_length: the longer half is never trained on
    test_strings: int = 1000


@dataclasses.dataclass(frozen=True)
class Budget:
    """Every experiment's settings, and what the budget trades away (``description``, quoted in the report)."""

    name: str
    seq_length: SeqLengthSettings
    gradients: GradientSettings
    exploding: ExplodingSettings
    grammars: GrammarSettings
    adding: AddingSettings
    tomita: TomitaSettings = TomitaSettings()
    exact_length: exact_length_experiment.ExactLengthSettings = exact_length_experiment.ExactLengthSettings()
    description: str = ""


BUDGETS = {
    "quick": Budget(
        "quick",
        SeqLengthSettings(
            lengths=(20, 100, 500), seeds=(0,), train_reviews=2000, validation_reviews=500, test_reviews=1000,
            vocab_size=5000, embedding_dim=16, units=16,
        ),
        GradientSettings(length=100, batch=32),
        ExplodingSettings(steps=200),
        GrammarSettings(seeds=(0,), max_sequences=5000),
        AddingSettings(seeds=(0,), steps=200, eval_every=50),
        TomitaSettings(seeds=(0,), max_strings=2000),
        exact_length_experiment.ExactLengthSettings(
            lengths=(20, 100, 500), seeds=(0,), strict_min_tokens=500, tables=(
                ("strict", "learned", ("start", "end")), ("per_length", "learned", ("end",))),
            train_reviews=500, validation_reviews=200, test_reviews=500, vocab_size=5000, embedding_dim=16,
            units=16, epochs=2, gradient_length=500, gradient_batch=32,
        ),
        description="The **quick** budget checks that every experiment runs end to end in minutes: 2,000 training "
        "reviews, 16 units, one epoch, three lengths, one seed; Reber strings up to 5,000; 200 adding-problem steps; "
        "Tomita strings up to 2,000. Its models barely train: do not read conclusions into its numbers.",
    ),
    # Sized from timed points (see the description) to fit 60-90 minutes on 2 CPU cores.
    "full": Budget(
        "full",
        SeqLengthSettings(seeds=(0, 1, 2), train_reviews=0, validation_reviews=1000, test_reviews=5000),
        GradientSettings(length=500, batch=64),
        ExplodingSettings(),
        GrammarSettings(seeds=(0, 1, 2), max_sequences=30000),
        AddingSettings(seeds=(0,), steps=4000, eval_every=250),
        TomitaSettings(seeds=(0, 1, 2), max_strings=30000),
        description="The **full** budget is sized to run in roughly an hour on 2 CPU cores, and trades for it: IMDB "
        "models train for **one epoch** over all 22,486 training reviews (in three timed trial points a single pass "
        "reached 0.80-0.84 test accuracy, below the ~0.88 of the zoo's tuned multi-epoch models), are small (32 "
        "units), and are tested on a seeded subsample of **5,000** of the 25,000 test reviews (an accuracy's "
        "standard error is then about 0.006); 3 seeds per point. Reber runs stop at 30,000 training strings; the "
        "adding problem has **one seed** and 4,000 steps, so a cell that needs longer counts as not beating the "
        "baseline. Estimated before running, from points timed on this machine: about 65 CPU-minutes (IMDB ~41, "
        "Reber ~10, adding ~12, the rest ~2). The Tomita grammars, added later, stop at 30,000 training strings; "
        "estimated from their 35 seed-0 points timed on this machine (2-13 CPU-seconds each, 3 CPU-minutes in all), "
        "their 105 points take about 9 CPU-minutes.",
    ),
}


# Cells by spec: "gru", or "second_order(rank=16)" with keyword arguments for the cell.

_SPEC = re.compile(r"^(\w+)(?:\((.*)\))?$")


def parse_cell(spec):
    """``"second_order(rank=16)"`` -> ``("second_order", {"rank": 16})``; a bare name has no kwargs."""
    match = _SPEC.match(spec.strip())
    if not match:
        raise ValueError(f"cell spec {spec!r} is not NAME or NAME(key=value, ...), e.g. 'second_order(rank=16)'.")
    name, args = match.groups()
    one_of("cell", name, cells.names())
    kwargs = {}
    for item in filter(None, (a.strip() for a in (args or "").split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"cell spec {spec!r}: {item!r} is not key=value.")
        kwargs[key.strip()] = ast.literal_eval(value.strip())
    return name, kwargs


def _slug(spec):
    return re.sub(r"[^\w]+", "_", spec).strip("_")


# 1. Short-term memory on IMDB.


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
    return Path(work_dir) / "imdb" / f"{_slug(cell)}-{side}-{length}-seed{seed}"


def _classifier(prepared, settings, cell, seed):
    training.seed_everything(seed)
    name, kwargs = parse_cell(cell)
    return build_classifier(
        name, vocab_size=prepared.vocab_size, embedding_dim=settings.embedding_dim, units=settings.units,
        pooling="last", name=f"imdb_{_slug(cell)}", **kwargs,
    )


def train_classifier(prepared, settings, cell, length, side, seed, run_dir):
    """The classifier of ``cell`` trained on reviews cut to ``length`` tokens (``side`` kept) in ``run_dir``
    (resumed, or loaded at once if finished). Returns ``(model, batches)``: batches per split."""
    run_dir = Path(run_dir)
    config = training.TrainConfig(
        epochs=settings.epochs, batch_size=settings.batch_size, learning_rate=settings.learning_rate,
        patience=0, monitor="val_accuracy", seed=seed, verbose="0",
    )
    wanted = _jsonable({"classifier": _point_settings(settings), "cell": cell, "length": length, "side": side,
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
    model = _classifier(prepared, settings, cell, seed)
    training.fit(model, batches["train"], batches["validation"], config, run_dir, "binary_crossentropy", ["accuracy"])
    return model, batches


def run_seq_length(settings, results_dir, work_dir, prepared, compute=True):
    """Test accuracy per (cell, side, length, seed). ``prepared``: a zero-argument function returning the
    :class:`PreparedText` (called only when a point must be computed)."""
    results = []
    for cell in settings.cells:
        for side in settings.sides:
            for length in settings.lengths:
                for seed in settings.seeds:

                    def compute_fn(cell=cell, side=side, length=length, seed=seed):
                        run_dir = imdb_run_dir(work_dir, cell, side, length, seed)
                        model, batches = train_classifier(prepared(), settings, cell, length, side, seed, run_dir)
                        test = model.evaluate(batches["test"], return_dict=True, verbose=0)
                        val = training.read_log(run_dir)
                        return {
                            "cell": cell, "side": side, "length": length, "seed": seed,
                            "test_accuracy": float(test["accuracy"]), "test_loss": float(test["loss"]),
                            "validation_accuracy": max(val.get("val_accuracy", [float("nan")])),
                            **{f"{split}_reviews": len(labels) for split, labels in prepared().labels.items()},
                        }

                    path = Path(results_dir) / "seq_length" / f"{_slug(cell)}-{side}-{length}-seed{seed}.json"
                    fresh = not path.exists()
                    result = _point(path, _point_settings(settings), compute_fn, compute)
                    if result is not None:
                        if fresh:
                            _log("seq_length", f"{cell} {side} {length} seed {seed}: test accuracy "
                                 f"{result['test_accuracy']:.3f}", result)
                        results.append(result)
    return results


# 2. Gradients through time.

BCE = keras.losses.BinaryCrossentropy(reduction=None)


def long_review_batch(prepared, length, batch, seed=0):
    """Up to ``batch`` test reviews of at least ``length`` tokens (chosen with ``seed``), each cut to its last
    ``length``: ``(ids (n, length), labels (n, 1))``, no padding."""
    long = [i for i, ids in enumerate(prepared.tokens["test"]) if len(ids) >= length]
    if not long:
        raise ValueError(f"no test review has {length} tokens or more; use a smaller gradient `length`.")
    rng = np.random.default_rng(seed)
    index = np.sort(rng.permutation(long)[:batch])
    ids = truncate([prepared.tokens["test"][i] for i in index], length, "end")
    return ids, prepared.labels["test"][index][:, None]


def run_gradients(settings, classifier_settings, results_dir, work_dir, prepared, compute=True):
    """Per cell: gradient norms by distance from the end (index 0 = the last step), untrained and trained."""
    results = []
    for cell in settings.cells:

        def compute_fn(cell=cell):
            ids, labels = long_review_batch(prepared(), settings.length, settings.batch, settings.seed)
            untrained = _classifier(prepared(), classifier_settings, cell, settings.seed)
            before = analysis.gradient_norms(untrained, ids, labels, BCE)
            run_dir = imdb_run_dir(work_dir, cell, "end", settings.length, settings.seed)
            trained, _ = train_classifier(
                prepared(), classifier_settings, cell, settings.length, "end", settings.seed, run_dir
            )
            after = analysis.gradient_norms(trained, ids, labels, BCE)
            return {
                "cell": cell, "length": settings.length, "reviews": len(ids),
                "untrained": [float(v) for v in before[::-1]], "trained": [float(v) for v in after[::-1]],
            }

        path = Path(results_dir) / "gradients" / f"{_slug(cell)}.json"
        fresh = not path.exists()
        settings_ = _point_settings(settings, classifier=_point_settings(classifier_settings))
        result = _point(path, settings_, compute_fn, compute)
        if result is not None:
            if fresh:
                _log("gradients", f"{cell}: trained last-step norm {result['trained'][0]:.2e}, first-step "
                     f"{result['trained'][-1]:.2e}", result)
            results.append(result)
    return results


def sequence_regressor(cell, units, features, **cell_kwargs):
    """Float sequences (batch, time, features) -> ``Recurrent`` (last step) -> Dense(1)."""
    name, kwargs = parse_cell(cell)
    inputs = keras.Input((None, features), name="sequence")
    hidden = Recurrent(cells.get(name, units=units, **kwargs, **cell_kwargs), name="recurrent")(inputs)
    return keras.Model(inputs, keras.layers.Dense(1, name="output")(hidden), name=f"regressor_{_slug(cell)}")


MSE = keras.losses.MeanSquaredError(reduction=None)


def _elman(settings, gain):
    training.seed_everything(settings.seed)
    return sequence_regressor("elman", settings.units, 2, recurrent_initializer=keras.initializers.Orthogonal(gain))


def train_exploding(settings, clipnorm):
    """SGD on the adding problem, one fresh batch per step; per step the loss, the global norm of the
    gradient before clipping, and ||U||_F after the update. ``clipnorm`` 0: no clipping (Keras' ``clipnorm``
    clips each variable's gradient, as ``zoo.training`` does)."""
    model = _elman(settings, settings.gain)
    optimizer = keras.optimizers.SGD(settings.learning_rate, clipnorm=clipnorm or None)
    recurrent_kernel = model.get_layer("recurrent").cell.recurrent_kernel
    x, y = synthetic.adding_problem(settings.steps * settings.batch_size, settings.length, seed=settings.seed + 1)

    @tf.function
    def step(xb, yb):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(MSE(yb, model(xb, training=True)))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss, tf.linalg.global_norm(grads), tf.norm(recurrent_kernel)

    losses, norms, kernel_norms = [], [], []
    for i in range(settings.steps):
        batch = slice(i * settings.batch_size, (i + 1) * settings.batch_size)
        loss, norm, kernel = step(x[batch], y[batch])
        losses.append(float(loss))
        norms.append(float(norm))
        kernel_norms.append(float(kernel))
    tx, ty = synthetic.adding_problem(settings.test_sequences, settings.length, seed=TEST_SEED)
    test_mse = float(np.mean((model.predict(tx, batch_size=256, verbose=0) - ty) ** 2))
    initial = float(np.sqrt(settings.units) * settings.gain)  # ||gain * orthogonal||_F
    return {"clipnorm": clipnorm, "loss": losses, "gradient_norm": norms, "recurrent_norm": kernel_norms,
            "initial_recurrent_norm": initial, "test_mse": test_mse}


def through_time_at_init(settings):
    """Gradient norms by distance from the end for the Elman regressor at Orthogonal(1) and (gain)."""
    x, y = synthetic.adding_problem(64, settings.through_time_length, seed=TEST_SEED)
    return {
        "gains": [1.0, settings.gain],
        "norms": [[float(v) for v in analysis.gradient_norms(_elman(settings, g), x, y, MSE)[::-1]]
                  for g in (1.0, settings.gain)],
    }


def run_exploding(settings, results_dir, compute=True):
    """``{"runs": [no clipping, clipping], "through_time": ...}`` (missing parts left out)."""
    settings_ = _point_settings(settings)
    out = {"runs": []}
    for clip in (0.0, settings.clipnorm):
        path = Path(results_dir) / "exploding" / f"clipnorm-{clip:g}.json"
        fresh = not path.exists()
        result = _point(path, settings_, lambda clip=clip: train_exploding(settings, clip), compute)
        if result is not None:
            if fresh:
                _log("exploding", f"clipnorm {clip:g}: max gradient norm {np.nanmax(result['gradient_norm']):.2e}, "
                     f"test MSE {result['test_mse']:.3f}", result)
            out["runs"].append(result)
    path = Path(results_dir) / "exploding" / "through_time.json"
    fresh = not path.exists()
    result = _point(path, settings_, lambda: through_time_at_init(settings), compute)
    if result is not None:
        if fresh:
            _log("exploding", "gradient norms through time at initialisation", result)
        out["through_time"] = result
    return out


# 3. Grammars and long-range tasks.


def _one_hot_recurrent(cell, units, num_tokens, return_sequences):
    """Symbol ids (batch, time), 0 = padding -> OneHot(num_tokens) -> ``Recurrent`` with a learned initial state
    (the full second-order cell needs one, Giles et al. 1992). Returns ``(ids input, hidden)``."""
    name, kwargs = parse_cell(cell)
    ids = keras.Input((None,), dtype="int32", name="symbol_ids")
    hidden = Recurrent(
        cells.get(name, units=units, **kwargs), return_sequences=return_sequences, initial_state="learned",
        name="recurrent",
    )(OneHot(num_tokens)(ids))
    return ids, hidden


def symbol_predictor(cell, units):
    """Reber ids (batch, time), 0 = padding -> OneHot(8) -> ``Recurrent`` (every step, learned initial state)
    -> 7 sigmoids, one per symbol."""
    ids, hidden = _one_hot_recurrent(cell, units, len(synthetic.SYMBOLS) + 1, return_sequences=True)
    outputs = keras.layers.Dense(len(synthetic.SYMBOLS), activation="sigmoid", name="next_symbols")(hidden)
    return keras.Model(ids, outputs, name=f"reber_{_slug(cell)}")


def string_classifier(cell, units):
    """Tomita ids (batch, time), 0 = padding -> OneHot(3) -> ``Recurrent`` (the last unpadded step, learned
    initial state) -> one sigmoid: the string is accepted."""
    ids, hidden = _one_hot_recurrent(cell, units, len(synthetic.TOMITA_SYMBOLS) + 1, return_sequences=False)
    output = keras.layers.Dense(1, activation="sigmoid", name="accepted")(hidden)
    return keras.Model(ids, output, name=f"tomita_{_slug(cell)}")


def fraction_right(predicted_probs, targets, mask):
    """The fraction of strings with every step right (``synthetic.reber_solved``); 1.0 means solved."""
    return float(np.mean(synthetic.reber_solved(predicted_probs, targets, mask)))


def first_solved(evaluations):
    """Training strings seen at the first evaluation ``(seen, fraction_right)`` with every string right, or None."""
    return next((int(seen) for seen, right in evaluations if right == 1.0), None)


def grammar_success(records):
    """Per-seed records (each with ``sequences``: strings needed, None if unsolved) -> ``{"solved", "runs",
    "fraction", "sequences" (of the solved seeds, sorted), "median_sequences" (None if none solved)}``."""
    needed = sorted(r["sequences"] for r in records if r["sequences"] is not None)
    return {"solved": len(needed), "runs": len(records), "fraction": len(needed) / len(records) if records else 0.0,
            "sequences": needed, "median_sequences": float(np.median(needed)) if needed else None}


def _trimmed(*arrays, mask):
    steps = max(int(mask.sum(axis=1).max()), 1)
    return [a[:, :steps] for a in arrays]


def train_grammar(settings, cell, grammar, seed):
    """Train on fresh strings, evaluating every ``settings.every``; stop at the first perfect evaluation."""
    embedded = one_of("grammar", grammar, GRAMMARS) == "embedded_reber"
    training.seed_everything(seed)
    model = symbol_predictor(cell, settings.units)
    config = training.TrainConfig(learning_rate=settings.learning_rate, batch_size=settings.batch_size, seed=seed)
    model.compile(optimizer=training.make_optimizer(config), loss="binary_crossentropy")
    x, y, m = synthetic.reber_dataset(settings.max_sequences, seed=seed, embedded=embedded)
    tx, ty, tm = synthetic.reber_dataset(settings.test_strings, seed=TEST_SEED, embedded=embedded)
    evaluations = []
    for start in range(0, settings.max_sequences, settings.every):
        chunk = slice(start, start + settings.every)
        xc, yc, mc = _trimmed(x[chunk], y[chunk], m[chunk], mask=m[chunk])  # pad only to this chunk's longest
        model.fit(xc, yc, sample_weight=mc, batch_size=settings.batch_size, epochs=1, shuffle=False, verbose=0)
        probs = model.predict(tx, batch_size=len(tx), verbose=0)
        evaluations.append([start + len(xc), fraction_right(probs, ty, tm)])
        if evaluations[-1][1] == 1.0:
            break
    return {"cell": cell, "grammar": grammar, "seed": seed, "evaluations": evaluations,
            "sequences": first_solved(evaluations)}


def _run_points(experiment, settings, results_dir, points, train, describe, compute=True):
    """Each point's result, in order: read from ``results_dir/<experiment>/<name>.json``, else (``compute``)
    ``train(settings, *args)`` stored there and logged with ``describe(result)``; unfinished points are left out.

    ``points``: ``(name, args)`` pairs. Every point is stored with ``_point_settings(settings)``.
    """
    results = []
    for name, args in points:
        path = Path(results_dir) / experiment / f"{name}.json"
        fresh = not path.exists()
        result = _point(path, _point_settings(settings), lambda args=args: train(settings, *args), compute)
        if result is not None:
            if fresh:
                _log(experiment, describe(result), result)
            results.append(result)
    return results


def _solved_words(result):
    """How a grammar run ended, for the log: the training strings it needed, or its last fraction right."""
    if result["sequences"] is not None:
        return f"solved after {result['sequences']} strings"
    return f"not solved ({result['evaluations'][-1][1]:.3f} right)"


def run_grammars(settings, results_dir, compute=True):
    points = [(f"{grammar}-{_slug(cell)}-seed{seed}", (cell, grammar, seed))
              for grammar in settings.grammars for cell in settings.cells for seed in settings.seeds]
    return _run_points(
        "grammars", settings, results_dir, points, train_grammar,
        lambda r: f"{r['grammar']} {r['cell']} seed {r['seed']}: {_solved_words(r)}", compute,
    )


def train_adding(settings, cell, length, seed):
    """Adam (clipnorm 1) on fresh batches; test MSE every ``eval_every`` steps on fixed test sequences."""
    training.seed_everything(seed)
    model = sequence_regressor(cell, settings.units, 2)
    config = training.TrainConfig(learning_rate=settings.learning_rate, batch_size=settings.batch_size, seed=seed)
    model.compile(optimizer=training.make_optimizer(config), loss="mse")
    tx, ty = synthetic.adding_problem(settings.test_sequences, length, seed=TEST_SEED)
    curve = []
    for chunk, start in enumerate(range(0, settings.steps, settings.eval_every)):
        steps = min(settings.eval_every, settings.steps - start)
        x, y = synthetic.adding_problem(steps * settings.batch_size, length, seed=1_000 * seed + chunk)
        model.fit(x, y, batch_size=settings.batch_size, epochs=1, shuffle=False, verbose=0)
        mse = float(np.mean((model.predict(tx, batch_size=256, verbose=0) - ty) ** 2))
        curve.append([start + steps, mse])
    return {"cell": cell, "length": length, "seed": seed, "curve": curve, "test_mse": curve[-1][1],
            "baseline_mse": synthetic.ADDING_BASELINE_MSE,
            "beats": curve[-1][1] < settings.beats * synthetic.ADDING_BASELINE_MSE}


def run_adding(settings, results_dir, compute=True):
    points = [(f"{_slug(cell)}-{length}-seed{seed}", (cell, length, seed))
              for length in settings.lengths for cell in settings.cells for seed in settings.seeds]
    return _run_points(
        "adding", settings, results_dir, points, train_adding,
        lambda r: f"{r['cell']} length {r['length']} seed {r['seed']}: test MSE {r['test_mse']:.4f}", compute,
    )


def _accuracy(probs, labels, mask):
    """The fraction of strings classified right (probability above 0.5 for accepted ones) where ``mask``;
    None where it selects none."""
    right = ((probs > 0.5) == (labels > 0.5))[mask]
    return float(right.mean()) if right.size else None


def train_tomita(settings, cell, grammar, seed):
    """Train on fresh strings of 1..``max_length`` symbols, evaluating every ``settings.every`` on test strings of
    1..``test_max_length``; stop at the first evaluation with every test string right.

    ``evaluations``: ``[strings seen, fraction right over all test strings, over those of the training lengths,
    over the longer ones]`` (None for a subset with no string); the result's accuracies are the last evaluation's,
    and ``sequences`` the strings seen at the first perfect one (None if none was).
    """
    training.seed_everything(seed)
    model = string_classifier(cell, settings.units)
    config = training.TrainConfig(learning_rate=settings.learning_rate, batch_size=settings.batch_size, seed=seed)
    model.compile(optimizer=training.make_optimizer(config), loss="binary_crossentropy")
    x, y, lengths = synthetic.tomita_dataset(grammar, settings.max_strings, seed=seed, max_length=settings.max_length)
    tx, ty, tlengths = synthetic.tomita_dataset(grammar, settings.test_strings, seed=TEST_SEED,
                                                max_length=settings.test_max_length)
    subsets = [np.ones_like(ty, bool), tlengths <= settings.max_length, tlengths > settings.max_length]
    evaluations = []
    for start in range(0, settings.max_strings, settings.every):
        chunk = slice(start, start + settings.every)
        xc = x[chunk][:, : lengths[chunk].max()]  # pad only to this chunk's longest
        model.fit(xc, y[chunk], batch_size=settings.batch_size, epochs=1, shuffle=False, verbose=0)
        probs = model.predict(tx, batch_size=len(tx), verbose=0)[:, 0]
        evaluations.append([start + len(xc), *(_accuracy(probs, ty, subset) for subset in subsets)])
        if evaluations[-1][1] == 1.0:
            break
    return {"cell": cell, "grammar": grammar, "seed": seed, "evaluations": evaluations,
            "sequences": first_solved([e[:2] for e in evaluations]), "test_accuracy": evaluations[-1][1],
            "training_lengths_accuracy": evaluations[-1][2], "longer_accuracy": evaluations[-1][3]}


def run_tomita(settings, results_dir, compute=True):
    points = [(f"tomita{grammar}-{_slug(cell)}-seed{seed}", (cell, grammar, seed))
              for grammar in settings.grammars for cell in settings.cells for seed in settings.seeds]
    return _run_points(
        "tomita", settings, results_dir, points, train_tomita,
        lambda r: f"Tomita {r['grammar']} {r['cell']} seed {r['seed']}: {_solved_words(r)}", compute,
    )


def run_all(budget, results_dir, work_dir, reviews=None, data_dir=None, only=EXPERIMENTS, compute=True):
    """Run the experiments in ``only`` (skipping finished points) and read back the others' finished points.

    Args:
        budget: a :class:`Budget`.
        results_dir: where the per-point JSON files go.
        work_dir: the IMDB trainer's run folders (checkpoints, logs).
        reviews: ``{"train", "validation", "test"}`` reviews to use in place of IMDB (e.g. synthetic texts in
            tests); None loads IMDB from ``data_dir`` / ``$ZOO_DATA_DIR`` when a point needs it.
        only: the experiments to compute; the rest are only read.
        compute: False reads finished points only (regenerate a report without training).

    Returns:
        ``{experiment: results}``.
    """
    for name in only:
        one_of("experiment", name, EXPERIMENTS)
    prepared = _cached(lambda: prepare_text(reviews if reviews is not None else load_reviews(data_dir),
                                            budget.seq_length))
    exact_prepared = _cached(lambda: exact_length_experiment.prepare(
        reviews if reviews is not None else load_reviews(data_dir, unsup=True), budget.exact_length,
        cache_dir=Path(work_dir) / "exact_length"))
    runners = {
        "seq_length": lambda go: run_seq_length(budget.seq_length, results_dir, work_dir, prepared, go),
        "gradients": lambda go: run_gradients(budget.gradients, budget.seq_length, results_dir, work_dir, prepared, go),
        "exploding": lambda go: run_exploding(budget.exploding, results_dir, go),
        "grammars": lambda go: run_grammars(budget.grammars, results_dir, go),
        "adding": lambda go: run_adding(budget.adding, results_dir, go),
        "tomita": lambda go: run_tomita(budget.tomita, results_dir, go),
        "exact_length": lambda go: {  # the gradients first: they train the seed-0 models they need, points of the grid
            "gradients": exact_length_experiment.run_gradients(budget.exact_length, results_dir, work_dir,
                                                               exact_prepared, go),
            "points": exact_length_experiment.run(budget.exact_length, results_dir, work_dir, exact_prepared, go),
        },
    }
    return {name: runners[name](compute and name in only) for name in EXPERIMENTS}


# The report: tables, plots and sentences, every figure read from the results.


def mean_std(values):
    """``(mean, sample standard deviation or None for one value)``."""
    values = np.asarray(values, np.float64)
    return float(values.mean()), (float(values.std(ddof=1)) if len(values) > 1 else None)


def _fmt(values, digits=3):
    mean, std = mean_std(values)
    return f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if std is not None else "")


def _group(results, *keys):
    groups = {}
    for r in results:
        groups.setdefault(tuple(r[k] for k in keys), []).append(r)
    return groups


def _sci(value):
    return f"{value:.1e}" if np.isfinite(value) else str(value)


def _seeds_word(n):
    return f"{n} seed{'s' if n != 1 else ''}"


def _seq_length_section(results, settings, assets, plots):
    if not results:
        return ["_No finished points._"]
    groups = _group(results, "cell", "side", "length")
    cells_ = [c for c in settings.cells if any(k[0] == c for k in groups)]
    lengths = sorted({k[2] for k in groups})
    lines, findings = [], []
    for side in settings.sides:
        lines += [f"**Keeping the {side}** of each review (test accuracy, mean ± sample std over seeds):", "",
                  "| cell | " + " | ".join(str(n) for n in lengths) + " |",
                  "|---|" + "---|" * len(lengths)]
        for cell in cells_:
            row = [_fmt([r["test_accuracy"] for r in groups[cell, side, n]]) if (cell, side, n) in groups else "-"
                   for n in lengths]
            lines.append(f"| {cell} | " + " | ".join(row) + " |")
        lines.append("")
        for n in (lengths[0], lengths[-1]) if len(lengths) > 1 else lengths:
            here = [(c, [r["test_accuracy"] for r in groups[c, side, n]]) for c in cells_ if (c, side, n) in groups]
            here.sort(key=lambda item: -np.mean(item[1]))
            if here:
                findings.append(f"At length {n}, keeping the {side}: "
                                + ", ".join(f"{c} {_fmt(v, 2)}" for c, v in here)
                                + f" ({_seeds_word(len(here[0][1]))}).")
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


def _decades(norms):
    """log10(first step's norm / last step's); -inf when the first underflowed to 0 (float32 stops near 1e-45)."""
    norms = np.asarray(norms)
    if not norms[0] > 0:
        return float("nan")
    return float(np.log10(norms[-1] / norms[0])) if norms[-1] > 0 else -np.inf


def _fmt_decades(value):
    return "-inf (underflow)" if value == -np.inf else f"{value:+.1f}"


def _change(norms):
    value = _decades(norms)
    return "to 0 (a float32 underflow)" if value == -np.inf else f"by {value:+.1f} decades"


def _gradients_section(results, assets, plots):
    if not results:
        return ["_No finished points._"]
    lines = ["| cell | model | norm at the last step | norm at the first step | change (decades) | "
             "first distance below 1e-3 x last-step norm |", "|---|---|---|---|---|---|"]
    findings = []
    for r in results:
        for kind in ("untrained", "trained"):
            norms = np.asarray(r[kind])
            below = np.flatnonzero(norms < 1e-3 * norms[0])
            lines.append(f"| {r['cell']} | {kind} | {_sci(norms[0])} | {_sci(norms[-1])} | "
                         f"{_fmt_decades(_decades(norms))} | "
                         f"{int(below[0]) if len(below) else 'never'} |")
        findings.append(
            f"{r['cell']}: from the last step to the first ({r['length'] - 1} steps back), the gradient norm changes "
            f"{_change(r['untrained'])} untrained and {_change(r['trained'])} trained."
        )
    ranked = sorted(results, key=lambda r: _decades(r["trained"]))
    if len(ranked) > 1:
        findings.append(f"Trained, the steepest decay is {ranked[0]['cell']}'s ({_change(ranked[0]['trained'])}), the "
                        f"flattest {ranked[-1]['cell']}'s ({_change(ranked[-1]['trained'])}).")

    from zoo.plots import plot_panels

    curves = []
    for i, r in enumerate(results):
        for kind, style in (("trained", "-"), ("untrained", "--")):
            curves.append({"x": list(range(len(r[kind]))), "y": r[kind], "label": f"{r['cell']} ({kind})",
                           "color": f"C{i}", "linestyle": style})
    plots.append(plot_panels(
        [{"title": f"{results[0]['reviews']} test reviews, last {results[0]['length']} tokens",
          "xlabel": "distance from the end of the review (steps)", "ylabel": "mean ||d loss / d x_t||",
          "yscale": "log", "lines": curves}],
        assets / "gradients.png", width=7.5,
    ))
    return ["Findings:", "", *[f"- {f}" for f in findings], "", *lines, "",
            f"![gradient norm against distance from the end]({assets.name}/gradients.png)"]


def _exploding_section(result, settings, assets, plots):
    runs = result.get("runs", [])
    lines, findings = [], []
    for r in runs:
        norms = np.asarray(r["gradient_norm"])
        name = f"clipnorm {r['clipnorm']:g}" if r["clipnorm"] else "no clipping"
        nonfinite = np.flatnonzero(~np.isfinite(r["loss"]))
        findings.append(
            f"{name}: gradient norm {_sci(norms[0])} at the first step, at most {_sci(np.nanmax(norms))}, "
            f"{_sci(norms[-1])} at the last; ||U||_F went from {r['initial_recurrent_norm']:.3g} to "
            f"{r['recurrent_norm'][0]:.3g} after one step and {r['recurrent_norm'][-1]:.3g} at the end; "
            f"final test MSE {r['test_mse']:.4f} (baseline {synthetic.ADDING_BASELINE_MSE:.4f})"
            + (f"; the loss was not finite from step {nonfinite[0] + 1}." if len(nonfinite) else ".")
        )
    if "through_time" in result:
        t = result["through_time"]
        for gain, norms in zip(t["gains"], t["norms"]):
            findings.append(f"At initialisation with gain {gain:g}, the gradient norm "
                            f"{settings.through_time_length - 1} "
                            f"steps back differs from the last step's {_change(norms)}.")
    if not findings:
        return ["_No finished points._"]

    from zoo.plots import plot_panels

    panels = []
    for key, label in (("gradient_norm", "global gradient norm (before clipping)"),
                       ("recurrent_norm", "||U||_F after the step"), ("loss", "training loss (MSE)")):
        panels.append({"title": label, "xlabel": "training step", "ylabel": label, "yscale": "log",
                       "lines": [{"x": list(range(1, len(r[key]) + 1)), "y": r[key], "color": f"C{i}",
                                  "label": f"clipnorm {r['clipnorm']:g}" if r["clipnorm"] else "no clipping"}
                                 for i, r in enumerate(runs)],
                       "hlines": [(synthetic.ADDING_BASELINE_MSE, "baseline")] if key == "loss" else []})
    if "through_time" in result:
        t = result["through_time"]
        panels.append({"title": "at initialisation", "xlabel": "distance from the end (steps)",
                       "ylabel": "mean ||d loss / d x_t||", "yscale": "log",
                       "lines": [{"x": list(range(len(n))), "y": n, "label": f"Orthogonal(gain={g:g})",
                                  "color": f"C{i + 2}"}
                                 for i, (g, n) in enumerate(zip(t["gains"], t["norms"]))]})
    plots.append(plot_panels(panels, assets / "exploding.png", columns=2))
    return ["Findings:", "", *[f"- {f}" for f in findings], "", *lines,
            f"![exploding gradients with and without clipping]({assets.name}/exploding.png)"]


def _grammars_section(results, settings, assets, plots):
    if not results:
        return ["_No finished points._"]
    groups = _group(results, "grammar", "cell")
    lines = ["| grammar | cell | solved (seeds) | training strings to solve (per solved seed) | "
             "best fraction of test strings right (unsolved seeds) |", "|---|---|---|---|---|"]
    findings = []
    for grammar in settings.grammars:
        parts = []
        for cell in settings.cells:
            if (grammar, cell) not in groups:
                continue
            records = groups[grammar, cell]
            s = grammar_success(records)
            unsolved = [max(e[1] for e in r["evaluations"]) for r in records if r["sequences"] is None]
            lines.append(f"| {grammar} | {cell} | {s['solved']}/{s['runs']} | "
                         f"{', '.join(f'{n:,}' for n in s['sequences']) or '-'} | "
                         f"{', '.join(f'{u:.3f}' for u in unsolved) or '-'} |")
            parts.append(f"{cell} {s['solved']}/{s['runs']}"
                         + (f" (median {s['median_sequences']:,.0f} strings)" if s["solved"] else ""))
        findings.append(f"{grammar}, solved within {settings.max_sequences:,} training strings: "
                        + ", ".join(parts) + ".")

    from zoo.plots import plot_panels

    panels = []
    for grammar in settings.grammars:
        curves = []
        for i, cell in enumerate(settings.cells):
            for j, r in enumerate(groups.get((grammar, cell), [])):
                curves.append({"x": [e[0] for e in r["evaluations"]], "y": [e[1] for e in r["evaluations"]],
                               "label": cell if j == 0 else None, "color": f"C{i}", "marker": "."})
        panels.append({"title": grammar.replace("_", " "), "xlabel": "training strings",
                       "ylabel": f"fraction of the {settings.test_strings} test strings right", "lines": curves})
    plots.append(plot_panels(panels, assets / "grammars.png"))
    return ["Findings:", "", *[f"- {f}" for f in findings], "", *lines, "",
            f"![Reber learning curves]({assets.name}/grammars.png)"]


def _adding_section(results, settings, assets, plots):
    if not results:
        return ["_No finished points._"]
    groups = _group(results, "cell", "length")
    lengths = [n for n in settings.lengths if any(k[1] == n for k in groups)]
    limit = settings.beats * synthetic.ADDING_BASELINE_MSE
    lines = ["| cell | " + " | ".join(f"length {n}" for n in lengths) + " |", "|---|" + "---|" * len(lengths)]
    findings = []
    for cell in settings.cells:
        row = []
        for n in lengths:
            rs = groups.get((cell, n), [])
            row.append(f"{_fmt([r['test_mse'] for r in rs], 4)} ({sum(r['beats'] for r in rs)}/{len(rs)} beat)"
                       if rs else "-")
        lines.append(f"| {cell} | " + " | ".join(row) + " |")
    for n in lengths:
        winners = [c for c in settings.cells if groups.get((c, n)) and all(r["beats"] for r in groups[c, n])]
        mixed = [c for c in settings.cells if groups.get((c, n)) and any(r["beats"] for r in groups[c, n])
                 and c not in winners]
        best = min((r for c in settings.cells for r in groups.get((c, n), [])), key=lambda r: r["test_mse"])
        findings.append(f"Length {n}: beating the baseline in every seed: {', '.join(winners) or 'none'}"
                        + (f"; in some seeds: {', '.join(mixed)}" if mixed else "")
                        + f". Lowest test MSE: {best['cell']} {best['test_mse']:.4f} "
                        f"({best['test_mse'] / synthetic.ADDING_BASELINE_MSE:.0%} of the baseline).")

    from zoo.plots import plot_panels

    panels = []
    for n in lengths:
        curves = []
        for i, cell in enumerate(settings.cells):
            for j, r in enumerate(groups.get((cell, n), [])):
                curves.append({"x": [c[0] for c in r["curve"]], "y": [c[1] for c in r["curve"]],
                               "label": cell if j == 0 else None, "color": f"C{i}"})
        panels.append({"title": f"length {n}", "xlabel": "training steps", "ylabel": "test MSE", "yscale": "log",
                       "lines": curves, "hlines": [(synthetic.ADDING_BASELINE_MSE, "baseline"), (limit, "beats")]})
    plots.append(plot_panels(panels, assets / "adding.png"))
    return [f"A cell **beats** the baseline when its final test MSE (after the last training step, no model "
            f"selection) is below {settings.beats:g} x the baseline MSE {synthetic.ADDING_BASELINE_MSE:.4f} of always "
            f"predicting 1.0, i.e. below {limit:.4f}.", "", "Findings:", "", *[f"- {f}" for f in findings], "",
            "Final test MSE, mean ± sample std over seeds (seeds beating the baseline):", "", *lines, "",
            f"![adding problem learning curves]({assets.name}/adding.png)"]


def _known_mean(records, key):
    """The mean of ``record[key]`` over the records where it is not None (a test subset with no string); nan if none."""
    values = [r[key] for r in records if r[key] is not None]
    return float(np.mean(values)) if values else float("nan")


def _tomita_section(results, settings, assets, plots):
    if not results:
        return ["_No finished points._"]
    groups = _group(results, "grammar", "cell")
    grammars = [g for g in settings.grammars if any(k[0] == g for k in groups)]
    cells_ = [c for c in settings.cells if any(k[1] == c for k in groups)]
    success = {key: grammar_success(records) for key, records in groups.items()}
    lines = ["| grammar | " + " | ".join(cells_) + " |", "|---|" + "---|" * len(cells_)]
    for grammar in grammars:
        row = []
        for cell in cells_:
            if (grammar, cell) not in groups:
                row.append("-")
                continue
            won = success[grammar, cell]
            row.append(f"{won['solved']}/{won['runs']} · "
                       f"{np.mean([r['test_accuracy'] for r in groups[grammar, cell]]):.3f}"
                       + (f" · {won['median_sequences']:,.0f}" if won["solved"] else ""))
        lines.append(f"| {grammar}: `{synthetic.TOMITA_LANGUAGES[grammar]}` | " + " | ".join(row) + " |")
    totals = [grammar_success([r for g in grammars for r in groups.get((g, c), [])]) for c in cells_]
    lines.append("| all | " + " | ".join(f"{t['solved']}/{t['runs']}" for t in totals) + " |")

    findings = []
    for grammar in grammars:
        fractions = {c: success[grammar, c]["fraction"] for c in cells_ if (grammar, c) in success}
        every = [c for c, f in fractions.items() if f == 1]
        some = [c for c, f in fractions.items() if 0 < f < 1]
        findings.append(f"Tomita {grammar} (`{synthetic.TOMITA_LANGUAGES[grammar]}`): "
                        + (f"solved in every seed by {', '.join(every)}" if every
                           else "no cell solved it in every seed")
                        + (f"; in some seeds by {', '.join(some)}" if some else "") + ".")
    ranked = sorted(zip(cells_, totals), key=lambda item: -item[1]["solved"])
    findings.append("Solved runs over all grammars, by cell: "
                    + ", ".join(f"{c} {t['solved']}/{t['runs']}" for c, t in ranked) + ".")
    by_grammar = [(g, grammar_success([r for c in cells_ for r in groups.get((g, c), [])])) for g in grammars]
    findings.append("By grammar, over all cells: " + ", ".join(f"Tomita {g} {t['solved']}/{t['runs']}"
                                                                for g, t in by_grammar) + ".")
    unsolved = [r for r in results if r["sequences"] is None]
    if unsolved:
        only_longer = [r for r in unsolved if r["training_lengths_accuracy"] == 1.0]
        findings.append(f"Of the {len(unsolved)} unsolved runs, {len(only_longer)} got every test string of the "
                        f"training lengths (1-{settings.max_length} symbols) right and failed only on longer ones. "
                        "Mean accuracy of the unsolved runs: "
                        f"{_known_mean(unsolved, 'training_lengths_accuracy'):.3f} on the training lengths, "
                        f"{_known_mean(unsolved, 'longer_accuracy'):.3f} on {settings.max_length + 1}-"
                        f"{settings.test_max_length} symbols.")

    from zoo.plots import plot_panels

    panels = []
    for key, title in (("training_lengths_accuracy", f"test strings of 1-{settings.max_length} symbols"),
                       ("longer_accuracy", f"test strings of {settings.max_length + 1}-{settings.test_max_length} "
                        "symbols (never trained on)")):
        curves = []
        for i, cell in enumerate(cells_):
            gs = [g for g in grammars if any(r[key] is not None for r in groups.get((g, cell), []))]
            stats = [mean_std([r[key] for r in groups[g, cell] if r[key] is not None]) for g in gs]
            offset = (i - (len(cells_) - 1) / 2) * 0.08  # side by side, not on top of each other
            curves.append({"x": [g + offset for g in gs], "y": [s[0] for s in stats],
                           "yerr": [s[1] or 0.0 for s in stats], "label": cell, "color": f"C{i}", "marker": "o",
                           "linestyle": "none"})
        panels.append({"title": title, "xlabel": "Tomita grammar", "ylabel": "final test accuracy (mean over seeds)",
                       "xticks": grammars, "lines": curves, "hlines": [(0.5, "chance")]})
    plots.append(plot_panels(panels, assets / "tomita.png", width=6.0))
    return ["Findings:", "", *[f"- {f}" for f in findings], "",
            "Per grammar and cell: solved seeds / seeds · mean final test accuracy · median training strings to "
            "solve (of the solved seeds):", "", *lines, "",
            f"![Tomita test accuracy per grammar and cell]({assets.name}/tomita.png)"]


def _timing_rows(results):
    rows = []
    for name in EXPERIMENTS:
        points = results.get(name)
        if isinstance(points, dict) and "runs" in points:  # exploding: {"runs": [...], "through_time": {...}}
            points = points.get("runs", []) + ([points["through_time"]] if "through_time" in points else [])
        elif isinstance(points, dict):  # exact_length: {"points": [...], "gradients": [...]}
            points = [p for part in points.values() for p in part]
        if points:
            rows.append((name, len(points), sum(p["seconds"] for p in points), sum(p["cpu_seconds"] for p in points)))
    return rows


def write_report(budget, results, out, meta):
    """Write the Markdown report ``out`` and its PNGs (in the folder ``out`` without its suffix).

    Args:
        budget: the :class:`Budget` the results were computed with.
        results: :func:`run_all`'s return value.
        out: the Markdown file to write.
        meta: ``{"command", "wall_seconds", "environment", "finished"}`` of the run.
    """
    out = Path(out)
    assets = out.with_suffix("")
    assets.mkdir(parents=True, exist_ok=True)
    plots = []
    env = meta["environment"]
    timing = _timing_rows(results)
    settings_json = json.dumps(
        {name: dataclasses.asdict(getattr(budget, name)) for name in EXPERIMENTS}, indent=None
    ).replace("}, ", "},\n ")
    s = budget.seq_length
    counts = results["seq_length"][0] if results["seq_length"] else {}
    n_reviews = {split: f"{counts[f'{split}_reviews']:,}" if f"{split}_reviews" in counts else
                 f"{getattr(s, f'{split}_reviews') or 'all'}" for split in ("train", "validation", "test")}
    doc = [
        f"# Seed experiments: memory, gradients through time, grammars (budget: {budget.name})",
        "",
        "Generated by `zoo.experiments` from the per-point results in "
        f"`{assets.name}/results/`; every number and sentence below is computed from them.",
        "",
        "| | |", "|---|---|",
        f"| command | `{meta['command']}` |",
        f"| budget | {budget.name} |",
        f"| machine | {env['hardware']}; TensorFlow {env['versions']['tensorflow']}, "
        f"Keras {env['versions']['keras']} |",
        f"| wall time | {meta['wall_seconds'] / 60:.1f} min for the run that wrote this report; "
        f"{sum(t[2] for t in timing) / 60:.1f} min ({sum(t[3] for t in timing) / 60:.1f} min CPU) summed over "
        "the points' own timings, including points computed by earlier, resumed runs |",
        f"| finished | {meta['finished']} |",
        f"| seeds | IMDB {list(s.seeds)} (model init and shuffling; the data subsample uses seed 0); gradients "
        f"{budget.gradients.seed}; exploding {budget.exploding.seed}; grammars {list(budget.grammars.seeds)}; adding "
        f"{list(budget.adding.seeds)}; tomita {list(budget.tomita.seeds)}; synthetic test sets seed {TEST_SEED} |",
        "",
        *([budget.description, ""] if budget.description else []),
        "Budget settings:", "", "```", settings_json, "```", "",
        "## 1. Short-term memory on IMDB",
        "",
        f"The many-to-one classifier (embedding {s.embedding_dim} -> one recurrent layer of {s.units} units -> the "
        f"last unpadded step -> sigmoid), vocabulary {s.vocab_size}, trained {s.epochs} epoch(s) with Adam "
        f"(learning rate {s.learning_rate}, clipnorm 1, batch {s.batch_size}) on "
        f"{n_reviews['train']} training reviews (a seeded subsample; {n_reviews['validation']} validation reviews, "
        f"whole movies held out, pick the best epoch), tested on {n_reviews['test']} test reviews. Each review is cut "
        "to at most N tokens keeping its start, or keeping its end (its last N tokens, left-aligned).",
        "",
        *_seq_length_section(results["seq_length"], s, assets, plots),
        "",
        "## 2. Gradients through time",
        "",
        f"Mean over {budget.gradients.batch} test reviews of at least {budget.gradients.length} tokens (their last "
        f"{budget.gradients.length}) of ||d loss_i / d x_t||, x_t the embedded token the recurrent layer reads at "
        "step t (`zoo.analysis.gradient_norms`), for the untrained classifier of section 1 and the one trained on "
        f"reviews cut to {budget.gradients.length} tokens keeping the end (seed {budget.gradients.seed}).",
        "",
        *_gradients_section(results["gradients"], assets, plots),
        "",
        "### Exploding gradients",
        "",
        f"An Elman cell ({budget.exploding.units} units, tanh) with recurrent kernel Orthogonal(gain="
        f"{budget.exploding.gain:g}) trained by plain SGD (learning rate {budget.exploding.learning_rate}) on the "
        f"adding problem of length {budget.exploding.length}, {budget.exploding.steps} steps of "
        f"{budget.exploding.batch_size} fresh sequences, without clipping and with Keras' `clipnorm="
        f"{budget.exploding.clipnorm:g}` (each variable's gradient clipped to that norm, as `zoo.training` does). "
        "The last panel: gradient norms through time at initialisation, length "
        f"{budget.exploding.through_time_length}.",
        "",
        *_exploding_section(results["exploding"], budget.exploding, assets, plots),
        "",
        "## 3. Grammars and long-range tasks",
        "",
        "### Reber and embedded Reber grammars",
        "",
        f"Next-symbol prediction (one sigmoid per symbol, one-hot inputs, {budget.grammars.units} units, learned "
        f"initial state, Adam learning rate {budget.grammars.learning_rate}, clipnorm 1, batch "
        f"{budget.grammars.batch_size}) on fresh training strings, evaluated every {budget.grammars.every:,} strings "
        f"on {budget.grammars.test_strings:,} test strings. **Solved**: every prediction of every test string right "
        "(the symbols above probability 0.5 are exactly the legal next ones, `reber_solved(...).all()`); the "
        "strings needed are those seen at the first evaluation that solved it; training stops there.",
        "",
        *_grammars_section(results["grammars"], budget.grammars, assets, plots),
        "",
        "### Tomita grammars",
        "",
        f"Accept or reject whole strings of the seven Tomita (1982) languages over {{0, 1}} (defined in "
        "`zoo.data.synthetic.tomita_accepts`; language 3 read as Weiss et al. 2018 do), the task on which Giles et al. "
        "(1992) and Watrous & Kuhn (1992) trained second-order networks: one-hot inputs, "
        f"{budget.tomita.units} units, learned initial state, one sigmoid on the last step, Adam learning rate "
        f"{budget.tomita.learning_rate}, clipnorm 1, batch {budget.tomita.batch_size}. Training strings are fresh, "
        f"1-{budget.tomita.max_length} symbols, half accepted and half rejected (near misses, one symbol away from an "
        "accepted string, and uniformly drawn rejected strings; `synthetic.tomita_strings`); every "
        f"{budget.tomita.every:,} strings the model classifies {budget.tomita.test_strings:,} test strings of "
        f"1-{budget.tomita.test_max_length} symbols drawn the same way, about half of them longer than any training "
        f"string. **Solved**: every test string right; training stops there, or at {budget.tomita.max_strings:,} "
        "strings.",
        "",
        *_tomita_section(results["tomita"], budget.tomita, assets, plots),
        "",
        "### Adding problem",
        "",
        f"Sum the two marked numbers of a sequence (Le et al. 2015 form); {budget.adding.units} units, Adam "
        f"(learning rate {budget.adding.learning_rate}, clipnorm 1), {budget.adding.steps} steps of "
        f"{budget.adding.batch_size} fresh sequences, test MSE on {budget.adding.test_sequences} fixed test sequences "
        f"every {budget.adding.eval_every} steps.",
        "",
        *_adding_section(results["adding"], budget.adding, assets, plots),
        "",
        "## Timing",
        "",
        "| experiment | points | wall minutes | CPU minutes |", "|---|---|---|---|",
        *[f"| {name} | {n} | {wall / 60:.1f} | {cpu / 60:.1f} |" for name, n, wall, cpu in timing],
        "",
        "Point timings exclude loading and tokenizing IMDB. Wall times depend on what else the machine was running.",
        "",
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(doc))
    return out, plots


# Command line.

DEFAULT_OUT = {"quick": "runs/experiments/quick/experiments.md", "full": "docs/experiments.md"}


def build_parser(prog="python scripts/report.py", budgets=BUDGETS):
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run the seed experiments (IMDB memory against length, gradients through time, exploding "
        "gradients, Reber grammars, the adding problem, Tomita grammars) and write a Markdown report with PNG plots. "
        "Finished points are skipped: rerun the same command to resume.",
    )
    parser.add_argument("--budget", choices=sorted(budgets), default="quick", help="quick (minutes) or full")
    parser.add_argument("--out", help=f"the Markdown report; plots and results go in the folder of the same name "
                        f"without .md (default: {DEFAULT_OUT})")
    parser.add_argument("--work-dir", help="IMDB training run folders (default runs/experiments/<budget>)")
    parser.add_argument("--data-dir", help="IMDB folder or archive (default $ZOO_DATA_DIR, else download)")
    parser.add_argument("--only", default=",".join(EXPERIMENTS),
                        help=f"comma-separated experiments to compute (others are only read): {','.join(EXPERIMENTS)}")
    parser.add_argument("--report-only", action="store_true", help="compute nothing; rewrite the report from results")
    return parser


def main(argv=None, prog="python scripts/report.py", budgets=BUDGETS, reviews=None):
    """Parse ``argv``, run (or resume) the budget's experiments and write the report; returns 0.

    ``prog`` is recorded as the command's start (a CLI hook would pass ``"zoo report"``); ``budgets`` and
    ``reviews`` (texts in place of IMDB, see :func:`run_all`) let tests run tiny settings end to end.
    """
    import sys

    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(prog, budgets).parse_args(argv)
    budget = budgets[args.budget]
    only = tuple(name.strip() for name in args.only.split(",") if name.strip())
    out = Path(args.out or DEFAULT_OUT.get(budget.name, f"runs/experiments/{budget.name}/experiments.md"))
    results_dir = out.with_suffix("") / "results"
    work_dir = Path(args.work_dir or f"runs/experiments/{budget.name}")
    started = time.perf_counter()
    results = run_all(budget, results_dir, work_dir, reviews=reviews, data_dir=args.data_dir, only=only,
                      compute=not args.report_only)
    run_path = results_dir / "run.json"
    if args.report_only and run_path.exists():
        meta = json.loads(run_path.read_text())
    else:
        meta = {
            "command": shlex.join([*shlex.split(prog), *argv]),
            "wall_seconds": time.perf_counter() - started,
            "environment": training.environment(),
            "finished": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        }
        if not args.report_only:
            results_dir.mkdir(parents=True, exist_ok=True)
            _write_json(run_path, meta)
    out, plots = write_report(budget, results, out, meta)
    print(f"wrote {out} and {len(plots)} plots in {out.with_suffix('')}/")
    return 0
