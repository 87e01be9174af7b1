"""The notes' short-term-memory experiment as written: every sequence exactly N tokens, no padding, no mask.

The notes ask to compare a simple RNN with gated cells on IMDB "with max_seq_len=10,20,50,100,200,500,1000",
using "only those training + testing sequences having length >= 1000, so that no masking layer becomes useful"
(issue 26). Two protocols, both without a single padded step:

- ``strict``: only the reviews of at least ``strict_min_tokens`` (1,000) tokens, in every split; for each N each
  is cut to exactly N tokens (its first N, or separately its last N). The same few hundred reviews at every N.
- ``per_length``: for each N, every review of at least N tokens, cut to exactly N: more reviews at small N.

With so few long reviews a model trained from scratch may stay near chance, so each protocol runs with the
embedding learned from scratch (``learned``) and with fixed word2vec vectors learned from the training and
unlabelled reviews (``word2vec``, ``zoo.embeddings``; labels never used).

Tokens are words *and punctuation marks* (:func:`zoo.data.text.standardize_with_punctuation`), the "simple
word/punctuation count" of issue 26: the zoo's usual standardization drops punctuation, and then only 57 of the
22,486 training reviews (44 of the 25,000 test reviews) reach 1,000 tokens.
"""

import dataclasses
import json
from pathlib import Path

import numpy as np

# TensorFlow, Keras and the zoo modules that import them load in the functions that use them: `zoo report
# --help` lists the experiments without them (issue 23).
from zoo.experiments.points import jsonable, point_settings

NAME = "exact_length"
PART = "Short-term memory on IMDB"
TITLE = "Exact-length reviews: the notes' protocol, no padding, no mask"
PROTOCOLS = ("strict", "per_length")
EMBEDDINGS = ("word2vec", "learned")
SIDES = ("start", "end")


def exact_length(sequences, length, side="start"):
    """Keep the sequences of at least ``length`` ids and cut each to exactly ``length``: its first ``length``
    (``side="start"``) or its last (``"end"``). Nothing is padded.

    Args:
        sequences: ragged lists or arrays of token ids.
        length: tokens kept (a positive int).
        side: "start" or "end".

    Returns:
        ``(ids, index)``: ``ids`` (k, length) int32, row i cut from ``sequences[index[i]]``; ``index`` (k,) int64.
    """
    if not isinstance(length, (int, np.integer)) or isinstance(length, bool) or length < 1:
        raise ValueError(f"`length` must be a positive int; got length={length!r}.")
    if side not in SIDES:
        raise ValueError(f"`side` must be one of {SIDES}; got side={side!r}.")
    index = np.array([i for i, seq in enumerate(sequences) if len(seq) >= length], np.int64)
    ids = np.zeros((len(index), length), np.int32)
    for row, i in enumerate(index):
        seq = np.asarray(sequences[i])
        ids[row] = seq[:length] if side == "start" else seq[len(seq) - length :]
    return ids, index


def subsample(n, cap, seed=0):
    """Sorted indices of a seeded subsample of ``cap`` of ``range(n)`` (all of them when ``cap`` is 0 or >= n)."""
    if not cap or cap >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).permutation(n)[:cap])


@dataclasses.dataclass(frozen=True)
class ExactLengthSettings:
    """IMDB accuracy against N with every sequence exactly N tokens (Adam, clipnorm 1, early stopping on the
    validation loss of the same filtered reviews; the model of the best validation epoch is tested)."""

    cells: tuple = ("elman", "gru", "peephole_lstm")
    lengths: tuple = (10, 20, 50, 100, 200, 500, 1000)
    # (protocol, embedding, side, seeds) in the order they are computed: the tables' seeds interleaved, so a run
    # cut short holds whole seeds of the main tables. A table is the points of one (protocol, embedding, side).
    schedule: tuple = (
        ("strict", "word2vec", "end", (0,)), ("per_length", "word2vec", "end", (0,)),
        ("strict", "word2vec", "end", (1, 2)), ("per_length", "word2vec", "end", (1, 2)),
        ("strict", "word2vec", "start", (0, 1, 2)), ("strict", "learned", "end", (0, 1, 2)),
    )
    strict_min_tokens: int = 1000  # the strict protocol keeps only reviews this long, at every N
    train_reviews: int = 1000  # per point, a seeded subsample (seed 0) of the filtered training reviews; 0: all
    validation_reviews: int = 300  # of the filtered (by-movie) validation reviews
    test_reviews: int = 1000  # of the filtered test reviews
    vocab_size: int = 10000
    embedding_dim: int = 64
    units: int = 64
    epochs: int = 10  # at most; early stopping ends a run after `patience` epochs without a lower validation loss
    patience: int = 2
    batch_size: int = 32
    learning_rate: float = 2e-3
    word2vec_epochs: int = 5
    gradient_length: int = 1000  # the gradient-norm curves: strict test reviews cut to their last N tokens
    gradient_batch: int = 64


BUDGETS = {
    "quick": ExactLengthSettings(
        lengths=(20, 100, 500), strict_min_tokens=500,
        schedule=(("strict", "learned", "end", (0,)), ("strict", "learned", "start", (0,)),
                  ("per_length", "learned", "end", (0,))),
        train_reviews=500, validation_reviews=200, test_reviews=500, vocab_size=5000, embedding_dim=16, units=16,
        epochs=2, gradient_length=500, gradient_batch=32,
    ),
    "full": ExactLengthSettings(),
}
NOTES = {
    "full": "The exact-length experiment, added later, was sized from points timed on this machine while it gave the "
    "run about a third of a CPU core (2 cores shared by 8 agents), for about 90 minutes: 64 units, at most 10 epochs "
    "with early stopping (patience 2) on the validation loss, at most 1,000 / 300 / 1,000 training / validation / test "
    "reviews per point, 3 seeds, computed in the order of `schedule` (the seeds of the strict and per-length tables "
    "keeping the end first, then keeping the start, then the learned embedding), so a run cut short holds whole seeds "
    "of the main tables; the counts in brackets in its tables show what finished.",
}


def protocol_data(prepared, settings, protocol, length, side):
    """``{split: (ids (k, length), labels (k,))}`` for one point: the reviews the protocol keeps at ``length``
    tokens, cut to exactly ``length`` from ``side``, each split capped as ``settings`` asks (seed 0, so every
    cell and seed of a point sees the same reviews)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"`protocol` must be one of {PROTOCOLS}; got protocol={protocol!r}.")
    if protocol == "strict" and length > settings.strict_min_tokens:
        raise ValueError(f"the strict protocol keeps reviews of {settings.strict_min_tokens} tokens; "
                         f"length {length} is longer.")
    min_tokens = settings.strict_min_tokens if protocol == "strict" else length
    out = {}
    for split, cap in (("train", settings.train_reviews), ("validation", settings.validation_reviews),
                       ("test", settings.test_reviews)):
        _, index = exact_length(prepared.tokens[split], min_tokens, side)
        ids, _ = exact_length([prepared.tokens[split][i] for i in index], length, side)
        keep = subsample(len(index), cap)
        out[split] = ids[keep], prepared.labels[split][index[keep]]
        if not len(keep):
            raise ValueError(f"no {split} review has {min_tokens} tokens or more.")
    return out


def batches(ids, labels, batch_size, shuffle=False, seed=0):
    """Batches of ``(ids, labels)``: all of one length, so no mask is needed or made."""
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((np.asarray(ids, np.int32), np.asarray(labels, np.float32)))
    if shuffle:
        data = data.shuffle(len(ids), seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def unmasked_classifier(cell, vocab_size, embedding_dim, units, embedding=None, name="classifier"):
    """Token ids (batch, time) -> Embedding (no mask: id 0 is an ordinary row) -> ``Recurrent`` (last step)
    -> sigmoid. ``embedding``: a fixed (vocab_size, embedding_dim) matrix, or None to learn one."""
    import keras

    from zoo import cells
    from zoo.layers import Recurrent

    ids = keras.Input((None,), dtype="int32", name="token_ids")
    embedded = keras.layers.Embedding(
        vocab_size, embedding_dim, mask_zero=False, trainable=embedding is None, name="embedding",
        embeddings_initializer="uniform" if embedding is None else keras.initializers.Constant(embedding),
    )(ids)
    hidden = Recurrent(cells.get(cell, units=units), name="recurrent")(embedded)
    output = keras.layers.Dense(1, activation="sigmoid", name="positive")(hidden)
    return keras.Model(ids, output, name=name)


@dataclasses.dataclass(frozen=True)
class Prepared:
    """Token ids (``tokens[split]``, ragged, no cut), ``labels[split]``, the vocabulary size and, when a
    ``word2vec`` point is asked for, the fixed embedding matrix (``word2vec``, else None)."""

    tokens: dict
    labels: dict
    vocab_size: int
    word2vec: np.ndarray = None


def prepare(reviews, settings, cache_dir=None):
    """Tokenize ``reviews`` (``{"train", "validation", "test"}`` and optionally ``"unsup"``, each with
    ``texts`` and ``labels``) with a vectorizer adapted on the training texts, and learn word2vec vectors from
    the training and unlabelled texts when ``settings.embeddings`` asks for them. ``cache_dir``: where the
    word2vec matrix is kept, so a resumed run does not learn it again."""
    import keras
    import tensorflow as tf

    from zoo.data.text import standardize_with_punctuation
    from zoo.experiments.reviews import token_ids

    vectorizer = keras.layers.TextVectorization(max_tokens=settings.vocab_size,
                                                standardize=standardize_with_punctuation, name="vectorizer")
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(list(reviews["train"].texts)).batch(1024))
    splits = ("train", "validation", "test")
    matrix = None
    if "word2vec" in embeddings(settings):
        path = Path(cache_dir) / f"word2vec-{settings.vocab_size}x{settings.embedding_dim}.npy" if cache_dir else None
        if path is not None and path.exists():
            matrix = np.load(path)
        else:
            from zoo.embeddings import word2vec_matrix

            texts = list(reviews["train"].texts) + list(reviews["unsup"].texts if "unsup" in reviews else [])
            matrix, _ = word2vec_matrix(texts, vectorizer.get_vocabulary(), settings.embedding_dim,
                                        epochs=settings.word2vec_epochs, seed=0,
                                        standardize=standardize_with_punctuation)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, matrix)
    return Prepared(
        tokens={split: token_ids(vectorizer, reviews[split].texts) for split in splits},
        labels={split: np.asarray(reviews[split].labels, np.float32) for split in splits},
        vocab_size=int(vectorizer.vocabulary_size()), word2vec=matrix,
    )


def point_name(protocol, embedding, cell, side, length, seed):
    return f"{protocol}-{embedding}-{cell}-{side}-{length}-seed{seed}"


def train_point(prepared, settings, protocol, embedding, cell, side, length, seed, run_dir):
    """Train one point's classifier in ``run_dir`` (resumed if unfinished). Returns ``(model, data)``."""
    from zoo import training

    data = protocol_data(prepared, settings, protocol, length, side)
    config = training.TrainConfig(
        epochs=settings.epochs, batch_size=settings.batch_size, learning_rate=settings.learning_rate,
        patience=settings.patience, monitor="val_loss", seed=seed, verbose="0",
    )
    run_dir = Path(run_dir)
    wanted = jsonable({"settings": point_settings(settings), "point": [protocol, embedding, cell, side, length, seed],
                        "train": dataclasses.asdict(config)})
    if (run_dir / "config.json").exists():
        if json.loads((run_dir / "config.json").read_text()) != wanted:
            raise ValueError(f"{run_dir} holds a run of other settings; delete it to retrain.")
    training.write_config(run_dir, **wanted)
    training.seed_everything(seed)
    model = unmasked_classifier(cell, prepared.vocab_size, settings.embedding_dim, settings.units,
                                prepared.word2vec if embedding == "word2vec" else None, name=f"imdb_{cell}")
    training.fit(model, batches(*data["train"], settings.batch_size, shuffle=True, seed=seed),
                 batches(*data["validation"], settings.batch_size), config, run_dir, "binary_crossentropy",
                 ["accuracy"])
    return model, data


def evaluate_point(prepared, settings, protocol, embedding, cell, side, length, seed, work_dir):
    """One point's result: test accuracy and loss of the best-validation epoch, epochs run, reviews per split."""
    from zoo import training

    run_dir = Path(work_dir) / "exact_length" / point_name(protocol, embedding, cell, side, length, seed)
    model, data = train_point(prepared, settings, protocol, embedding, cell, side, length, seed, run_dir)
    test = model.evaluate(batches(*data["test"], 256), return_dict=True, verbose=0)
    log = training.read_log(run_dir)
    return {
        "protocol": protocol, "embedding": embedding, "cell": cell, "side": side, "length": length, "seed": seed,
        "test_accuracy": float(test["accuracy"]), "test_loss": float(test["loss"]),
        "validation_loss": float(min(log["val_loss"])), "epochs": len(log["val_loss"]),
        **{f"{split}_reviews": len(labels) for split, (_, labels) in data.items()},
    }


def grid(settings):
    """Every accuracy point's arguments ``(protocol, embedding, cell, side, length, seed)`` in ``schedule`` order.

    The per-length protocol's points at ``strict_min_tokens`` or more are left out: the strict protocol's
    points of that length hold the same reviews cut the same way (when the review caps are above the strict
    counts, as in every budget here; the report shows the counts).
    """
    return [(protocol, embedding, cell, side, length, seed)
            for protocol, embedding, side, seeds in settings.schedule for seed in seeds
            for cell in settings.cells for length in settings.lengths
            if length <= settings.strict_min_tokens and not (protocol == "per_length"
                                                               and length == settings.strict_min_tokens)]


def tables(settings):
    """The distinct ``(protocol, embedding, side)`` of the schedule, in order."""
    return tuple(dict.fromkeys((protocol, embedding, side) for protocol, embedding, side, _ in settings.schedule))


def embeddings(settings):
    """The embeddings the schedule uses, in order."""
    return tuple(dict.fromkeys(embedding for _, embedding, _, _ in settings.schedule))


def gradient_curves(prepared, settings, embedding, cell, work_dir):
    """``mean_i ||d loss_i / d x_t||`` by distance from the end (index 0 = the last step) over up to
    ``gradient_batch`` strict test reviews cut to their last ``gradient_length`` tokens, for the untrained
    classifier and for the strict-protocol model of that length (end kept, seed 0, trained if not yet)."""
    import keras

    from zoo import analysis, training

    length = settings.gradient_length
    ids, labels = protocol_data(prepared, settings, "strict", length, "end")["test"]
    ids, labels = ids[: settings.gradient_batch], labels[: settings.gradient_batch, None]
    loss = keras.losses.BinaryCrossentropy(reduction=None)
    training.seed_everything(0)
    untrained = unmasked_classifier(cell, prepared.vocab_size, settings.embedding_dim, settings.units,
                                    prepared.word2vec if embedding == "word2vec" else None, name=f"imdb_{cell}")
    before = analysis.gradient_norms(untrained, ids, labels, loss)
    run_dir = Path(work_dir) / "exact_length" / point_name("strict", embedding, cell, "end", length, 0)
    trained, _ = train_point(prepared, settings, "strict", embedding, cell, "end", length, 0, run_dir)
    after = analysis.gradient_norms(trained, ids, labels, loss)
    return {"embedding": embedding, "cell": cell, "length": length, "reviews": len(ids),
            "untrained": [float(v) for v in before[::-1]], "trained": [float(v) for v in after[::-1]]}


def points(settings):
    """The gradient curves first (they train the seed-0 models they need, points of the grid), then the grid."""
    return [(f"exact_length_gradients/{embedding}-{cell}", ("gradients", embedding, cell))
            for embedding in embeddings(settings) for cell in settings.cells] + [
        (f"exact_length/{point_name(*args)}", ("accuracy", *args)) for args in grid(settings)]


def data_for(settings, ctx):
    return ctx.cached("exact_length.prepared", lambda: prepare(
        ctx.reviews(unsup="word2vec" in embeddings(settings)), settings, Path(ctx.work_dir) / "exact_length"))


def compute(settings, ctx, kind, *args):
    if kind == "gradients":
        return gradient_curves(data_for(settings, ctx), settings, *args, ctx.work_dir)
    return evaluate_point(data_for(settings, ctx), settings, *args, ctx.work_dir)


def describe(result):
    if "trained" in result:
        return (f"gradients {result['embedding']} {result['cell']}: trained last-step norm {result['trained'][0]:.2e}, "
                f"first-step {result['trained'][-1]:.2e}")
    args = [result[k] for k in ("protocol", "embedding", "cell", "side", "length", "seed")]
    return (f"{point_name(*args)}: test accuracy {result['test_accuracy']:.3f} ({result['train_reviews']} train "
            f"reviews, {result['epochs']} epochs)")


def seeds(settings):
    used = sorted({seed for *_, table_seeds in settings.schedule for seed in table_seeds})
    return f"IMDB exact-length {used} (model init and shuffling; review caps use seed 0)"


def section(results, settings, ctx):
    from zoo.experiments.gradients import norms_section

    s = settings
    curves = [r for r in results if "trained" in r]
    accuracy = [r for r in results if "trained" not in r]
    intro = [
        "The notes' experiment as written (issue 26): no sequence is padded and no mask is made. Tokens are words "
        "and punctuation marks (`standardize_with_punctuation`; with the zoo's usual standardization, which drops "
        "punctuation, only 57 of IMDB's 22,486 training reviews here reach 1,000 tokens). **Strict**: only the reviews of at least "
        f"{s.strict_min_tokens:,} tokens, in every split, each cut to exactly N tokens (its first N, or its last N): "
        "the same reviews at every N. **Per length**: at each N every review of at least N tokens, cut to exactly N; "
        f"at N = {s.strict_min_tokens:,} that is the strict protocol's data, so that column repeats the strict points.",
        "",
        f"Model: embedding {s.embedding_dim} (no mask) -> one recurrent layer of {s.units} units -> its last step -> "
        f"sigmoid; vocabulary {s.vocab_size:,} (adapted on the training texts). The embedding is either **learned** "
        "from scratch or **word2vec**: CBOW vectors learned from the training and unlabelled reviews "
        f"({s.word2vec_epochs} epochs; labels never used), kept fixed. Adam (learning rate {s.learning_rate}, clipnorm "
        f"1, batch {s.batch_size}), at most {s.epochs} epochs, early stopping after {s.patience} epochs without a "
        "lower loss on the validation split (whole movies held out from training, filtered the same way); the best "
        f"epoch's model is tested. At most {s.train_reviews:,} / {s.validation_reviews:,} / {s.test_reviews:,} "
        "training / validation / test reviews per point (a seeded subsample, the same for every cell and seed).",
        "",
    ]
    return intro + _accuracy_section(accuracy, s, ctx) + [
        "#### Gradients through time on the same reviews", "",
        f"Mean over {s.gradient_batch} strict test reviews (their last {s.gradient_length} tokens, the sequences "
        "of the table above) of ||d loss_i / d x_t||, x_t the embedded token at step t, for the untrained "
        f"classifier and the strict model trained on them (end kept, N = {s.gradient_length}, seed 0).", "",
        *norms_section(curves, ctx.assets, ctx.plots, "exact_length_gradients",
                       lambda r: f"{r['cell']}, {r['embedding']}")]


def _stats(records):
    values = np.array([r["test_accuracy"] for r in records], np.float64)
    std = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
    return float(values.mean()), std, len(values)


def _cell_text(records):
    mean, std, n = _stats(records)
    return f"{mean:.3f}" + (f" ± {std:.3f}" if n > 1 else "") + ("" if n == 3 else f" ({n})")


def behind(gated, simple):
    """Whether ``simple``'s mean accuracy is below ``gated``'s by more than twice the standard error of the
    difference (over seeds; seed spreads as they are measured); None with fewer than two seeds on a side."""
    (mg, sg, ng), (ms, ss, ns) = _stats(gated), _stats(simple)
    if ng < 2 or ns < 2:
        return None
    return mg - ms > 2 * np.sqrt(sg**2 / ng + ss**2 / ns)


def _accuracy_section(results, s, ctx):
    from zoo.experiments.report import findings, group
    from zoo.plots import plot_panels

    if not results:
        return ["_No finished points._", ""]
    groups = group(results, "protocol", "embedding", "side", "cell", "length")
    lines, found, panels = [], [], []
    for protocol, embedding, side in tables(s):
        def points_at(cell, n, protocol=protocol, embedding=embedding, side=side):
            key = (protocol if n < s.strict_min_tokens else "strict", embedding, side, cell, n)
            return groups.get(key, [])

        lengths = [n for n in s.lengths if any(points_at(c, n) for c in s.cells)]
        title = f"{'Strict' if protocol == 'strict' else 'Per length'}, {embedding} embedding, keeping the {side}"
        if not lengths:
            lines += [f"**{title}**: no point finished.", ""]
            continue
        lines += [f"**{title}**: test accuracy, mean ± sample std over seeds (a count in brackets where fewer than "
                  "3 seeds finished):", "",
                  "| | " + " | ".join(f"N = {n}" for n in lengths) + " |", "|---|" + "---|" * len(lengths)]
        counts = []
        for n in lengths:
            first = next(r for c in s.cells for r in points_at(c, n))
            counts.append(f"{first['train_reviews']:,} / {first['validation_reviews']:,} / {first['test_reviews']:,}")
        lines.append("| reviews (train / val / test) | " + " | ".join(counts) + " |")
        for cell in s.cells:
            lines.append(f"| {cell} | " + " | ".join(_cell_text(points_at(cell, n)) if points_at(cell, n) else "-"
                                                   for n in lengths) + " |")
        lines.append("")
        found += _gap_findings(title, {n: {c: points_at(c, n) for c in s.cells if points_at(c, n)} for n in lengths})
        curves = []
        for i, cell in enumerate(s.cells):
            ns = [n for n in lengths if points_at(cell, n)]
            stats = [_stats(points_at(cell, n)) for n in ns]
            curves.append({"x": ns, "y": [m for m, _, _ in stats],
                           "yerr": [0.0 if np.isnan(sd) else sd for _, sd, _ in stats], "label": cell,
                           "color": f"C{i}", "marker": "o"})
        panels.append({"title": title.lower().replace(" embedding, keeping the", ","), "xlabel": "N (tokens)",
                       "ylabel": "test accuracy", "xscale": "log", "xticks": list(s.lengths), "lines": curves,
                       "hlines": [(0.5, "chance")]})
    tops = [y + e for panel in panels for line in panel["lines"] for y, e in zip(line["y"], line["yerr"])]
    for panel in panels:  # one accuracy range for every panel, so the tables' plots compare at a glance
        panel["ylim"] = (0.45, max(tops + [0.6]) + 0.02)
        panel["xlim"] = (min(s.lengths) / 1.3, max(s.lengths) * 1.3)
    found += _plateau_findings(results, s)
    ctx.plots.append(plot_panels(panels, ctx.assets / "exact_length.png", columns=min(len(panels), 2)))
    return [*findings(found), *lines, f"![accuracy against N, exact-length reviews]({ctx.assets.name}/exact_length.png)",
            ""]


def _gap_findings(title, by_length, simple="elman"):
    """One table's finding: per N, the simple RNN's mean accuracy minus the best other cell's, where it is behind
    beyond twice the standard error of that difference, and whether the table is at chance. ``by_length``:
    ``{N: {cell: point results}}``."""
    verdicts = []
    for n, by_cell in by_length.items():
        others = [(c, points) for c, points in by_cell.items() if c != simple]
        if simple not in by_cell or not others:
            continue
        best, best_points = max(others, key=lambda item: _stats(item[1])[0])
        gap = _stats(best_points)[0] - _stats(by_cell[simple])[0]
        verdicts.append((n, best, gap, behind(best_points, by_cell[simple])))
    if not verdicts:
        return []
    every = [r for by_cell in by_length.values() for points in by_cell.values() for r in points]
    test_n = int(np.median([r["test_reviews"] for r in every]))
    chance = 2 * np.sqrt(0.25 / max(test_n, 1))
    best_all = max(_stats(points)[0] for by_cell in by_length.values() for points in by_cell.values())
    behind_at = [n for n, _, _, b in verdicts if b]
    text = (f"{title}: {simple} minus the best other cell, by N: "
            + ", ".join(f"{n}: {-gap * 100:+.1f} points ({best})" for n, best, gap, _ in verdicts) + ". ")
    tested = [n for n, _, _, b in verdicts if b is not None]
    if not tested:
        text += "Fewer than two seeds finished at every N, so no gap is tested against the seeds' spread."
    else:
        if len(tested) < len(verdicts):
            text += "Where fewer than two seeds finished, the gap is not tested. "
        text += (f"{simple} is behind by more than twice the standard error of the gap (over seeds) at N = "
                 f"{', '.join(map(str, behind_at))}." if behind_at else
                 f"Of N = {', '.join(map(str, tested))}, {simple} is behind by more than twice the standard error "
                 "of the gap (over seeds) at none.")
    if best_all < 0.5 + chance:
        text += (f" No cell's mean reaches 0.5 + {chance:.3f} (twice the standard error of an accuracy on "
                 f"{test_n:,} test reviews): the whole table is at chance, and says nothing about memory.")
        return [text]
    tail, untested = [], []  # the largest N at which the simple RNN is behind, down to the first N it is not
    for n, _, _, b in reversed(verdicts):
        if b is None:
            untested.insert(0, n)
            continue
        if not b:
            break
        tail.insert(0, n)
    untested = [n for n in untested if tail and n > tail[0]]
    if tail:
        text += (f" The notes' expectation (the simple RNN falls behind as N grows) holds here from N = {tail[0]} on"
                 + (f" (untested at N = {', '.join(map(str, untested))})." if untested else "."))
    elif behind_at:
        text += (" The notes' expectation (the simple RNN falls behind as N grows) does not hold here: it is behind "
                 "only at smaller N, not at the largest.")
    elif all(b is not None for *_, b in verdicts):
        text += " The notes' expectation (the simple RNN falls behind as N grows) is not seen here."
    else:
        text += " Too few seeds to test the notes' expectation (the simple RNN falls behind as N grows)."
    return [text]


def at_chance(result):
    """Whether a point's test accuracy is within twice its standard error (at 0.5, over its test reviews) of 0.5."""
    return abs(result["test_accuracy"] - 0.5) < 2 * np.sqrt(0.25 / max(result["test_reviews"], 1))


def _plateau_findings(results, s):
    """How many points ended at chance, and how many of those stopped as early as early stopping allows (no lower
    validation loss after the first epoch): runs that never left the initial plateau."""
    stuck = [r for r in results if at_chance(r)]
    if not stuck:
        return [f"No point of these tables ended at chance (all {len(results)} are more than twice their standard "
                "error from 0.5)."]
    earliest = [r for r in stuck if r["epochs"] <= s.patience + 1]
    by_cell = ", ".join(f"{c} {sum(r['cell'] == c for r in stuck)}/{sum(r['cell'] == c for r in results)}"
                        for c in s.cells)
    return [f"{len(stuck)} of the {len(results)} points ended at chance (within twice the standard error of 0.5; by "
            f"cell: {by_cell}); {len(earliest)} of those stopped after {s.patience + 1} epochs, as early as early "
            f"stopping allows: the validation loss never went below the first epoch's, a run that did not leave the "
            "initial plateau. With few seeds, a cell's mean at one N can hinge on whether its runs left it."]
