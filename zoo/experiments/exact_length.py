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

Tokens are words *and punctuation marks* (:func:`standardize_with_punctuation`), the "simple word/punctuation
count" of issue 26: the zoo's usual standardization drops punctuation, and then only 57 of the 22,486 training
reviews (44 of the 25,000 test reviews) reach 1,000 tokens.
"""

import dataclasses
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

PROTOCOLS = ("strict", "per_length")
EMBEDDINGS = ("word2vec", "learned")
SIDES = ("start", "end")


@keras.saving.register_keras_serializable(package="zoo")
def standardize_with_punctuation(text):
    """``zoo.data.text.standardize_text`` that keeps each punctuation mark as a token of its own:
    ``"Great film!<br />Really."`` -> the tokens ``great film ! really .``."""
    text = tf.strings.unicode_transcode(text, "UTF-8", "UTF-8", errors="replace")
    text = tf.strings.regex_replace(text, r"<br\s*/?>", " ")
    text = tf.strings.lower(text, encoding="utf-8")
    return tf.strings.regex_replace(text, r"([^\p{L}\p{N}'\s])", " \\1 ")


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
    seeds: tuple = (0, 1, 2)
    # (protocol, embedding, sides) in the order they are computed, so an interrupted grid holds whole tables.
    tables: tuple = (("strict", "word2vec", SIDES), ("per_length", "word2vec", ("end",)),
                     ("strict", "learned", ("end",)))
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
    data = tf.data.Dataset.from_tensor_slices((np.asarray(ids, np.int32), np.asarray(labels, np.float32)))
    if shuffle:
        data = data.shuffle(len(ids), seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def unmasked_classifier(cell, vocab_size, embedding_dim, units, embedding=None, name="classifier"):
    """Token ids (batch, time) -> Embedding (no mask: id 0 is an ordinary row) -> ``Recurrent`` (last step)
    -> sigmoid. ``embedding``: a fixed (vocab_size, embedding_dim) matrix, or None to learn one."""
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
    from zoo.experiments.points import _jsonable, _point_settings

    data = protocol_data(prepared, settings, protocol, length, side)
    config = training.TrainConfig(
        epochs=settings.epochs, batch_size=settings.batch_size, learning_rate=settings.learning_rate,
        patience=settings.patience, monitor="val_loss", seed=seed, verbose="0",
    )
    run_dir = Path(run_dir)
    wanted = _jsonable({"settings": _point_settings(settings), "point": [protocol, embedding, cell, side, length, seed],
                        "train": dataclasses.asdict(config)})
    if (run_dir / "config.json").exists():
        import json

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


def points(settings):
    """Every point's arguments ``(protocol, embedding, cell, side, length, seed)``, table by table and in each
    seed by seed (so a partial grid holds whole tables and seeds).

    The per-length protocol's points at ``strict_min_tokens`` or more are left out: the strict protocol's
    points of that length hold the same reviews cut the same way (when the review caps are above the strict
    counts, as in every budget here; the report checks).
    """
    out = []
    for protocol, embedding, sides in settings.tables:
        for seed in settings.seeds:
            for side in sides:
                for cell in settings.cells:
                    for length in settings.lengths:
                        if protocol == "strict" and length > settings.strict_min_tokens:
                            continue
                        if protocol == "per_length" and length >= settings.strict_min_tokens:
                            continue
                        out.append((protocol, embedding, cell, side, length, seed))
    return out


def embeddings(settings):
    """The embeddings the tables use, in order."""
    return tuple(dict.fromkeys(embedding for _, embedding, _ in settings.tables))


def run(settings, results_dir, work_dir, prepared, compute=True):
    """Each point's result, computed (``compute``) or read from ``results_dir/exact_length/``. ``prepared``: a
    zero-argument function returning the :class:`Prepared` data (called only when a point must be computed)."""
    from zoo.experiments.points import _log, _point, _point_settings

    results = []
    for args in points(settings):
        path = Path(results_dir) / "exact_length" / f"{point_name(*args)}.json"
        fresh = not path.exists()
        result = _point(path, _point_settings(settings),
                        lambda args=args: evaluate_point(prepared(), settings, *args, work_dir), compute)
        if result is not None:
            if fresh:
                _log("exact_length", f"{point_name(*args)}: test accuracy {result['test_accuracy']:.3f} "
                     f"({result['train_reviews']} train reviews, {result['epochs']} epochs)", result)
            results.append(result)
    return results


def gradient_curves(prepared, settings, embedding, cell, work_dir):
    """``mean_i ||d loss_i / d x_t||`` by distance from the end (index 0 = the last step) over up to
    ``gradient_batch`` strict test reviews cut to their last ``gradient_length`` tokens, for the untrained
    classifier and for the strict-protocol model of that length (end kept, seed 0, trained if not yet)."""
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


def run_gradients(settings, results_dir, work_dir, prepared, compute=True):
    """Per embedding and cell, :func:`gradient_curves`, computed (``compute``) or read from
    ``results_dir/exact_length_gradients/``."""
    from zoo.experiments.points import _log, _point, _point_settings

    results = []
    for embedding in embeddings(settings):
        for cell in settings.cells:
            path = Path(results_dir) / "exact_length_gradients" / f"{embedding}-{cell}.json"
            fresh = not path.exists()
            result = _point(path, _point_settings(settings),
                            lambda e=embedding, c=cell: gradient_curves(prepared(), settings, e, c, work_dir), compute)
            if result is not None:
                if fresh:
                    _log("exact_length", f"gradients {embedding} {cell}: trained last-step norm "
                         f"{result['trained'][0]:.2e}, first-step {result['trained'][-1]:.2e}", result)
                results.append(result)
    return results
