"""Text to token ids, shared by every task: one standardization, one vectorizer, one bucketed pipeline.

The vectorizer is a ``keras.layers.TextVectorization`` so the exact preprocessing of training goes
into every exported model. Its standardization is a registered Keras function, so the layer's config
(and a ``.keras`` file holding it) reloads with ``safe_mode=True``.
"""

import keras
import numpy as np
import tensorflow as tf


@keras.saving.register_keras_serializable(package="zoo")
def standardize_text(text):
    """Raw text -> the string the vocabulary sees.

    Invalid UTF-8 bytes become U+FFFD (so no later op can fail on them), HTML line breaks
    (``<br />``, as in IMDB) become spaces, letters are lower-cased (Unicode-aware), and every
    character other than a letter, digit, apostrophe or space becomes a space. Apostrophes stay
    so "don't" and "isn't" remain one token; the tokens are then split on whitespace.
    """
    return tf.strings.regex_replace(_clean(text), r"[^\p{L}\p{N}' ]", " ")


@keras.saving.register_keras_serializable(package="zoo")
def standardize_with_punctuation(text):
    """``standardize_text`` that keeps each punctuation mark as a token of its own:
    ``"Great film!<br />Really."`` -> the tokens ``great film ! really .``."""
    return tf.strings.regex_replace(_clean(text), r"([^\p{L}\p{N}'\s])", " \\1 ")


def _clean(text):
    """What both standardizations do first: invalid UTF-8 -> U+FFFD, ``<br />`` -> space, lower case."""
    text = tf.strings.unicode_transcode(text, "UTF-8", "UTF-8", errors="replace")
    text = tf.strings.regex_replace(text, r"<br\s*/?>", " ")
    return tf.strings.lower(text, encoding="utf-8")


def make_vectorizer(texts, vocab_size, batch_size=1024):
    """A ``TextVectorization`` (ids: 0 padding, 1 out of vocabulary) adapted on ``texts`` only."""
    vectorizer = keras.layers.TextVectorization(
        max_tokens=vocab_size, standardize=standardize_text, name="vectorizer"
    )
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(list(texts)).batch(batch_size))
    return vectorizer


def vectorize(vectorizer, texts, max_length, chunk=2048):
    """Token ids of ``texts`` as one int32 array (n, max_length): the first ``max_length`` tokens, 0-padded."""
    out = np.zeros((len(texts), max_length), np.int32)
    for start in range(0, len(texts), chunk):
        ids = vectorizer(tf.constant(list(texts[start : start + chunk]))).numpy()[:, :max_length]
        out[start : start + len(ids), : ids.shape[1]] = ids
    return out


def length_buckets(max_length, width=32):
    """Bucket boundaries every ``width`` tokens up to 256, then every 64 (in tokens)."""
    boundaries = list(range(width, min(max_length, 256) + 1, width))
    boundaries += list(range(boundaries[-1] + 64 if boundaries else 64, max_length + 1, 64))
    return [b + 1 for b in boundaries if b < max_length]  # bucket i holds lengths < boundary i


def bucketed_dataset(token_ids, targets, batch_size, shuffle=False, seed=0):
    """Batches of ``(ids, targets)`` grouped by length, each padded only to its longest sequence.

    Reviews vary from ten to a thousand tokens; padding every batch to the longest would spend most
    of the recurrent loop on padding, so sequences of similar length are batched together
    (``tf.data``'s ``bucket_by_sequence_length``). ``token_ids`` is (n, max_length), 0-padded.
    """
    token_ids = np.asarray(token_ids, np.int32)
    lengths = np.maximum((token_ids != 0).sum(axis=1), 1).astype(np.int32)
    data = tf.data.Dataset.from_tensor_slices((token_ids, lengths, np.asarray(targets, np.float32)))
    if shuffle:
        data = data.shuffle(len(token_ids), seed=seed, reshuffle_each_iteration=True)
    data = data.map(lambda ids, n, y: (ids[:n], y), num_parallel_calls=tf.data.AUTOTUNE)
    boundaries = length_buckets(token_ids.shape[1])
    data = data.bucket_by_sequence_length(
        lambda ids, y: tf.shape(ids)[0], boundaries, [batch_size] * (len(boundaries) + 1)
    )
    # Every bucket ends with one partial batch; knowing the count gives Keras' progress bar its total.
    per_bucket = np.bincount(np.searchsorted(boundaries, lengths, side="right"), minlength=len(boundaries) + 1)
    batches = int(np.sum(-(-per_bucket // batch_size)))
    return data.apply(tf.data.experimental.assert_cardinality(batches)).prefetch(tf.data.AUTOTUNE)


# Sequence-to-sequence vocabularies and batches. Ids: 0 padding, 1 unknown, then the two markers
# that start and end every target sequence, then the tokens by frequency.
SPECIAL_TOKENS = ("[start]", "[end]")
START_ID, END_ID = 2, 3


def make_sequence_vectorizer(texts, vocab_size, standardize, split="whitespace", name="vectorizer", batch_size=1024):
    """A ``TextVectorization`` with ids 0 (padding), 1 (unknown), :data:`START_ID`, :data:`END_ID`, then
    the ``vocab_size - 4`` most frequent tokens of ``texts``."""
    if vocab_size < 5:
        raise ValueError(f"`vocab_size` must leave room for tokens beyond the 4 reserved ids; got {vocab_size}.")
    probe = keras.layers.TextVectorization(max_tokens=vocab_size - 2, standardize=standardize, split=split)
    probe.adapt(tf.data.Dataset.from_tensor_slices(list(texts)).batch(batch_size))
    tokens = [str(t) for t in probe.get_vocabulary(include_special_tokens=False) if t not in SPECIAL_TOKENS]
    return keras.layers.TextVectorization(
        standardize=standardize, split=split, vocabulary=list(SPECIAL_TOKENS) + tokens, name=name
    )


def encode_targets(vectorizer, texts, max_length):
    """Target ids (n, max_length + 2): ``START_ID``, at most ``max_length`` tokens, ``END_ID``, then 0s."""
    ids = vectorize(vectorizer, texts, max_length)
    lengths = (ids != 0).sum(axis=1)
    out = np.zeros((len(texts), max_length + 2), np.int32)
    out[:, 0] = START_ID
    out[:, 1 : max_length + 1] = ids
    out[np.arange(len(texts)), lengths + 1] = END_ID
    return out


def pairs_dataset(source_ids, target_ids, batch_size, shuffle=False, seed=0):
    """Teacher-forcing batches ``({"source", "target_in"}, target_out)`` from 0-padded id arrays.

    ``target_in`` is the target without its last position and ``target_out`` without its first, so
    step t is trained to predict token t+1 (padding, id 0, is left for the loss to ignore). Each
    batch is cut to its longest source and target, so short sentences cost little.
    """
    source_ids, target_ids = np.asarray(source_ids, np.int32), np.asarray(target_ids, np.int32)
    data = tf.data.Dataset.from_tensor_slices((source_ids, target_ids))
    if shuffle:
        data = data.shuffle(len(source_ids), seed=seed, reshuffle_each_iteration=True)

    def cut(source, target):
        source = source[:, : tf.maximum(tf.reduce_max(tf.reduce_sum(tf.cast(source != 0, tf.int32), 1)), 1)]
        target = target[:, : tf.reduce_max(tf.reduce_sum(tf.cast(target != 0, tf.int32), 1))]
        return {"source": source, "target_in": target[:, :-1]}, target[:, 1:]

    batches = -(-len(source_ids) // batch_size)
    data = data.batch(batch_size).apply(tf.data.experimental.assert_cardinality(batches))
    return data.map(cut, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
