"""Unsupervised word-vector pretraining for the embedding layer (word2vec via gensim).

Labels are never used: the vectors are learned from raw text (e.g. the training reviews plus IMDB's
50,000 unlabelled ones) and only initialize the ``Embedding`` the classifier then fine-tunes. gensim
is the standard, well-kept word2vec implementation; it is imported only when pretraining is asked for.
"""

import zlib

import numpy as np
import tensorflow as tf

from zoo.data.text import standardize_text


def _stable_hash(word):
    # gensim seeds each word's initial vector with hash(word + str(seed)); Python's str hash changes
    # between processes (PYTHONHASHSEED), so use a fixed one to make the vectors reproducible.
    return zlib.crc32(word.encode("utf-8"))


def tokenize(texts, batch_size=2048, standardize=standardize_text):
    """The tokens the vectorizer sees: ``standardize`` then whitespace split."""
    tokens = []
    for start in range(0, len(texts), batch_size):
        batch = standardize(tf.constant(list(texts[start : start + batch_size]))).numpy()
        tokens += [s.decode("utf-8").split() for s in batch]
    return tokens


def word2vec_matrix(texts, vocabulary, dim, epochs=5, window=5, min_count=3, seed=0, scale=0.05,
                    standardize=standardize_text):
    """A (len(vocabulary), dim) float32 embedding matrix from word2vec (CBOW) trained on ``texts``.

    Rows of words word2vec did not keep (rarer than ``min_count``; when no word is that frequent, as
    in toy corpora, every word is kept) and of the special tokens
    (padding, out-of-vocabulary) are drawn from N(0, scale); padding's row is zero. Trained with one
    worker and a fixed hash, so the same texts and seed give the same matrix. ``standardize``: the
    vectorizer's standardization (the words are its output split on whitespace).
    """
    from gensim.models import Word2Vec

    sentences = tokenize(texts, standardize=standardize)
    counts = {}
    for sentence in sentences:
        for word in sentence:
            counts[word] = counts.get(word, 0) + 1
    if max(counts.values(), default=0) < min_count:
        min_count = 1  # a corpus too small for the threshold (tests, toy data): keep every word
    model = Word2Vec(
        sentences,
        vector_size=dim,
        window=window,
        min_count=min_count,
        sg=0,
        negative=5,
        epochs=epochs,
        workers=1,
        seed=seed,
        hashfxn=_stable_hash,
    )
    rng = np.random.default_rng(seed)
    matrix = rng.normal(0.0, scale, (len(vocabulary), dim)).astype(np.float32)
    found = 0
    for i, word in enumerate(vocabulary):
        if i > 0 and word in model.wv.key_to_index:
            vector = model.wv[word]
            matrix[i] = vector / (np.linalg.norm(vector) + 1e-8) * scale * np.sqrt(dim)
            found += 1
    matrix[0] = 0.0
    return matrix, found
