"""IMDB reviews as token ids, shared by the IMDB experiments."""

import dataclasses

import numpy as np

# TensorFlow and Keras load in the functions that use them: `zoo report --help` lists the experiments
# without them (issue 23).


def token_ids(vectorizer, texts, chunk=1024):
    """Every token id of each text (no truncation), as a list of int32 arrays."""
    import tensorflow as tf

    out = []
    for start in range(0, len(texts), chunk):
        ids = vectorizer(tf.constant(list(texts[start : start + chunk]))).numpy()
        out += [row[: np.count_nonzero(row)].astype(np.int32) for row in ids]  # 0 is only padding (1 is OOV)
    return out


@dataclasses.dataclass(frozen=True)
class PreparedText:
    """Tokenized splits: ``tokens[split]`` (ragged id arrays), ``labels[split]``, and the vocabulary size."""

    tokens: dict
    labels: dict
    vocab_size: int


def load_reviews(data_dir=None, unsup=False):
    """IMDB's train / validation (whole movies held out, seed 0) / test splits (``zoo.data.imdb.load``), and
    with ``unsup`` the 50,000 unlabelled reviews."""
    from zoo.data import imdb

    return imdb.load(data_dir, validation_split=0.1, seed=0, unsup=unsup)


def prepare_text(reviews, settings, seed=0):
    """Subsample ``reviews`` (``{"train", "validation", "test"}`` of ``zoo.data.imdb.Reviews``, or anything with
    ``texts``, ``labels`` and ``take``) as ``settings`` asks, adapt the vectorizer on the training texts only and
    tokenize every split. The same ``seed`` gives every point the same data."""
    from zoo.data import text

    rng = np.random.default_rng(seed)
    picked = {}
    for split, n in (("train", settings.train_reviews), ("validation", settings.validation_reviews),
                     ("test", settings.test_reviews)):
        split_reviews = reviews[split]
        if not len(split_reviews):
            raise ValueError(f"the {split!r} split holds no reviews.")
        index = np.sort(rng.permutation(len(split_reviews))[:n]) if 0 < n < len(split_reviews) else None
        picked[split] = split_reviews if index is None else split_reviews.take(index)
    vectorizer = text.make_vectorizer(picked["train"].texts, settings.vocab_size)
    return PreparedText(
        tokens={split: token_ids(vectorizer, r.texts) for split, r in picked.items()},
        labels={split: np.asarray(r.labels, np.float32) for split, r in picked.items()},
        vocab_size=int(vectorizer.vocabulary_size()),
    )
