"""SavedModel export with string-in serving signatures: the preprocessing goes inside the graph.

An exported folder loads with plain ``tf.saved_model.load`` (no ``zoo``, no Keras code needed) and
with ``saved_model_cli run``. Export is atomic: the model is written to a temporary folder beside the
destination and renamed into place, so a failure never leaves a half-written model behind (see
``zoo.files.atomic_write_dir``: a write error is one ``OSError`` naming the folder, and the temporary
folder a killed export leaves is removed by the next export to the same place).

Every signature runs in memory bounded by the limits below, whatever it is given (issue 27): each text
is cut to its first :data:`TEXT_BYTES` bytes and made valid UTF-8 (:func:`clean_text`), a batch is
vectorized and decoded :data:`SLICE_ROWS` texts at a time (:func:`in_slices`), and the character model
reads at most :data:`CHARACTERS` characters of a text in chunks of ``zoo.generation.CHUNK``. The model
cards state these limits; ``tests/export/test_limits.py`` checks them under a memory limit.
"""

import json
from pathlib import Path

import keras
import tensorflow as tf

from zoo import files
from zoo.backend import require_tensorflow
from zoo.files import atomic_write_dir  # noqa: F401 (part of this module's API)

SIGNATURE = "serving_default"

# Serving limits: what a signature reads of its input, so that its memory is bounded whatever the input.
TEXT_BYTES = 100_000  # bytes of each text read (its first); far more than any model here reads in tokens
SLICE_ROWS = 32  # texts vectorized, classified or decoded at once; a larger batch runs in slices of this many
CHARACTERS = 100_000  # characters of a text `score` reads (its first) and of a prompt `generate` reads (its last)
SCORE_ROWS = 8  # texts the character model scores at once (each up to CHARACTERS long, read in chunks)


# The model cards' "Serving limits" section, per kind of export (fields: the numbers above and the model's own).
LIMITS = {
    "classifier": """\
## Serving limits
Memory stays bounded whatever the input: each text's first {text_bytes:,} bytes are read (an invalid
UTF-8 byte reads as an unknown word), and of them the first {max_length} tokens. A batch is vectorized
{slice_rows} texts at a time and classified 8 at a time, so time and memory grow linearly with the
batch size (by its text and {max_length_plus_one} token ids per text), not with the length of its texts.
""",
    "generator": """\
## Serving limits
Memory stays bounded whatever the input. `score` reads each text's first {characters:,} characters
(the rest is not scored), {chunk:,} at a time, {score_rows} texts at a time: time grows linearly with
the characters read. `generate` reads the prompt's last {characters:,} characters, {chunk:,} at a time,
and writes at most {max_length:,} characters per call (`length` is clipped). Characters outside the
vocabulary, and invalid UTF-8 bytes, are skipped; `score` gives NaN for a text with fewer than two
known characters (nothing to predict), and `generate` starts an empty prompt from a newline.
""",
    "seq2seq": """\
## Serving limits
Memory stays bounded whatever the input: each text's first {text_bytes:,} bytes are read (an invalid
UTF-8 byte reads as an unknown token), and of them the first {max_length} tokens. A batch is
searched {slice_rows} texts at a time ({beam_width} beams each), each output at most twice the batch's
longest source plus 10 tokens (at most 120): time and memory grow linearly with the batch size.{domain}
""",
}


def serving_limits(kind, **fields):
    """The "Serving limits" section of a model card for an export of ``kind`` ("classifier", "generator" or
    "seq2seq"), with this module's limits and the model's own ``fields`` (max_length; beam_width and
    domain for seq2seq)."""
    from zoo.generation import CHUNK, MAX_LENGTH

    limits = dict(text_bytes=TEXT_BYTES, slice_rows=SLICE_ROWS, characters=CHARACTERS, chunk=CHUNK,
                  score_rows=SCORE_ROWS, max_length=MAX_LENGTH)
    limits.update(fields)
    limits.setdefault("max_length_plus_one", limits["max_length"] + 1)
    return LIMITS[kind].format(**limits)


def clean_text(text, max_bytes=TEXT_BYTES, last=False):
    """(batch,) strings -> their first (``last``: last) ``max_bytes`` bytes, as valid UTF-8: an invalid byte,
    or a character the cut split, becomes U+FFFD (which no vocabulary holds: an unknown token or character)."""
    size = tf.strings.length(text)
    start = tf.maximum(size - max_bytes, 0) if last else tf.zeros_like(size)
    text = tf.strings.substr(text, start, tf.fill(tf.shape(text), max_bytes))
    return tf.strings.unicode_transcode(text, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD)


def in_slices(fn, inputs, rows=SLICE_ROWS, dtype=tf.float32, shape=()):
    """``fn`` over the rows of ``inputs`` ``rows`` at a time: results (batch, *shape) of ``dtype``, in memory
    bounded by one slice's work (plus the results), whatever the batch size."""
    n = tf.shape(inputs)[0]
    slices = (n + rows - 1) // rows

    def body(k, out):
        return k + 1, out.write(k, fn(inputs[k * rows : (k + 1) * rows]))

    out = tf.TensorArray(dtype, size=slices, infer_shape=False, element_shape=[None, *shape])
    _, out = tf.while_loop(lambda k, _: k < slices, body, [0, out], parallel_iterations=1)
    return tf.cond(slices > 0, out.concat, lambda: tf.zeros([0, *shape], dtype))


def serving_ids(vectorizer, text, max_length):
    """:func:`text_to_ids` of a served batch within the limits: texts cleaned (:func:`clean_text`) and
    vectorized :data:`SLICE_ROWS` at a time. (batch, time <= max_length + 1) int32, as ``text_to_ids``."""

    def ids(rows):
        ids = text_to_ids(vectorizer, clean_text(rows), max_length)
        return tf.pad(ids, [[0, 0], [0, max_length + 1 - tf.shape(ids)[1]]])

    ids = in_slices(ids, text, dtype=tf.int32, shape=(max_length + 1,))
    return ids[:, : longest(ids) + 1]


def longest(ids):
    """The most non-padding ids in a row of ``ids`` (0 for an empty batch)."""
    lengths = tf.reduce_sum(tf.cast(ids > 0, tf.int32), axis=1)
    return tf.reduce_max(tf.concat([lengths, [0]], axis=0))


def text_to_ids(vectorizer, text, max_length):
    """(batch,) strings -> (batch, time) int32 ids: the first ``max_length`` tokens, plus one padding step.

    The extra padding step is masked, so it changes nothing, but it keeps ``time >= 1`` for empty
    strings and an empty batch, which a recurrent loop over zero steps could not handle.
    """
    ids = vectorizer(text)[:, :max_length]
    return tf.cast(tf.pad(ids, [[0, 0], [0, 1]]), tf.int32)


# Rows per compiled call of a batched classifier request (see export_text_classifier).
ROW_CHUNK = 8


def serving_lengths(max_length, smallest=16):
    """The padded lengths a served classifier is compiled for: powers of two from ``smallest`` below
    ``max_length + 1``, then ``max_length + 1`` (the longest ``text_to_ids`` returns)."""
    top = max_length + 1
    sizes = []
    size = smallest
    while size < top:
        sizes.append(size)
        size *= 2
    return sizes + [top]


def classify_ids(core, ids, max_length, chunk=ROW_CHUNK, width=None):
    """``core`` (an XLA-compiled (rows, time) ids -> (rows, k) function) over ``ids`` (batch, time), in
    chunks of texts of similar length.

    XLA compiles one program per input shape and pays for every padded step, so the texts are sorted by
    length, taken ``chunk`` at a time (a lone text alone), and each chunk is padded to the next of
    ``serving_lengths(max_length)``: at most ``2 * len(buckets)`` shapes are ever compiled, and a batch
    of reviews of mixed lengths runs about as many steps as its texts have tokens, not
    ``batch * longest``. Padding is masked, so the result equals ``core(ids)`` row for row.
    Returns float32 (batch,) (column 0 of ``core``'s output) or, with ``width`` k, (batch, k).
    """
    n = tf.shape(ids)[0]
    lengths = tf.reduce_sum(tf.cast(ids > 0, tf.int32), axis=1)
    order = tf.argsort(lengths, direction="DESCENDING", stable=True)
    buckets = tf.constant(serving_lengths(max_length), tf.int32)
    chunks = (n + chunk - 1) // chunk

    def body(k, results):
        index = order[k * chunk : (k + 1) * chunk]
        rows = tf.gather(ids, index)
        real = tf.shape(rows)[0]
        padded_rows = tf.where(real == 1, 1, chunk)
        need = tf.reduce_max(tf.gather(lengths, index)) + 1  # + 1: at least one masked step, as text_to_ids
        steps = tf.gather(buckets, tf.argmax(tf.cast(buckets >= need, tf.int32)))
        rows = tf.pad(rows, [[0, padded_rows - real], [0, tf.maximum(steps - tf.shape(rows)[1], 0)]])[:, :steps]
        out = tf.cast(core(rows)[:real], tf.float32)
        return k + 1, results.write(k, out[:, 0] if width is None else out)

    shape = [None] if width is None else [None, width]
    results = tf.TensorArray(tf.float32, size=chunks, infer_shape=False, element_shape=shape)
    _, results = tf.while_loop(lambda k, _: k < chunks, body, [0, results], parallel_iterations=2)
    return tf.scatter_nd(order[:, None], results.concat(), tf.concat([[n], shape[1:]], 0) if width else [n])


CLASSIFIER_KINDS = ("binary", "softmax", "regression")


def export_text_classifier(model, vectorizer, path, max_length, labels=("negative", "positive"), kind="binary",
                           extra_files=None):
    """Export a text classifier (or regressor) as a SavedModel.

    Signature ``serving_default``, input ``text`` (tf.string [None], raw text); outputs by ``kind``:

    - "binary" (a (batch, 1) sigmoid probability of ``labels[1]``): ``label`` (tf.string [None]),
      ``probabilities`` (float32 [None, 2], columns in the order of ``labels``) and ``probability``
      (float32 [None], of ``labels[1]``, as the first sentiment exports served);
    - "softmax" (a (batch, k) softmax over ``labels``): ``label`` and ``probabilities`` (float32 [None, k]);
    - "regression" (a (batch, 1) number): ``value`` (float32 [None]).

    Each text's first :data:`TEXT_BYTES` bytes are read, of them the first ``max_length`` tokens; the batch is
    vectorized :data:`SLICE_ROWS` texts at a time.

    The model runs XLA-compiled (``jit_compile``): on CPU, without it, TensorFlow's per-op overhead in
    the recurrent loop is most of a single request's time (see the README's serving benchmark). Requests
    are cut into chunks of similar-length texts padded to a few fixed lengths (:func:`classify_ids`), so
    the first request of each new shape compiles (about a second for the flagship) and the rest reuse it.

    Args:
        model: maps int token ids (batch, time) to the output above.
        vectorizer: the ``TextVectorization`` the model was trained with.
        path: destination folder (replaced atomically).
        max_length: tokens kept per text, as in training.
        labels: the class names, in the order of the model's class ids (binary: classes 0 and 1).
        kind: one of :data:`CLASSIFIER_KINDS`.
        extra_files: ``{name: text or dict}`` written into the folder too (model card, metrics).
    """
    require_tensorflow("zoo.export.export_text_classifier")
    if kind not in CLASSIFIER_KINDS:
        raise ValueError(f"`kind` must be one of {CLASSIFIER_KINDS}; got kind={kind!r}.")
    names = tf.constant([str(label) for label in labels]) if kind != "regression" else None
    core = tf.function(lambda ids: model(ids, training=False), jit_compile=True)

    def serve(text):
        ids = serving_ids(vectorizer, text, max_length)
        if kind == "regression":
            return {"value": classify_ids(core, ids, max_length)}
        if kind == "binary":
            probability = classify_ids(core, ids, max_length)
            probabilities = tf.stack([1.0 - probability, probability], axis=1)
            label = tf.gather(names, tf.cast(probability >= 0.5, tf.int32))
            return {"probability": probability, "probabilities": probabilities, "label": label}
        probabilities = classify_ids(core, ids, max_length, width=len(labels))
        return {"probabilities": probabilities, "label": tf.gather(names, tf.argmax(probabilities, axis=1))}

    text_to_ids(vectorizer, tf.constant([""]), max_length)  # builds an adapted but never called vectorizer

    def write(tmp):
        archive = keras.export.ExportArchive()
        # Only the layer holding lookup tables is tracked: the endpoint captures the model's weights
        # anyway, and tracking the model too stores every weight twice (keras-team/keras#23553).
        archive.track(vectorizer)
        archive.add_endpoint(SIGNATURE, serve, input_signature=[tf.TensorSpec([None], tf.string, name="text")])
        archive.write_out(str(tmp), verbose=False)
        write_files(tmp, extra_files)

    return atomic_write_dir(path, write)


def export_char_generator(infer, chars, path, extra_files=None):
    """Export a character language model as a SavedModel with ``generate`` and ``score`` signatures.

    Args:
        infer: the model's stateless ``(ids, *states) -> (logits, *states)`` twin:
            ``zoo.models.generator.inference_model(model)`` of a (stateful) training model, or a
            ``mixture_inference_model`` of several.
        chars: the vocabulary's characters; character ``chars[i]`` is id ``i + 1`` (0 is reserved).
        path: destination folder (replaced atomically).
        extra_files: ``{name: text or dict}`` written into the folder too.

    Signatures (see ``zoo.generation``):
        ``generate``: ``prompt`` (string scalar), ``length`` (int32 scalar), ``temperature`` (float32
        scalar), ``seed`` (int32 scalar) -> ``text`` (string scalar, the continuation). The prompt's last
        :data:`CHARACTERS` characters are read (in chunks of ``zoo.generation.CHUNK``); ``length`` is
        clipped to ``zoo.generation.MAX_LENGTH``.
        ``score``: ``text`` (string [None]) -> ``nll`` (float32 [None], nats per character) of each text's
        first :data:`CHARACTERS` characters, read in chunks, :data:`SCORE_ROWS` texts at a time; NaN for
        a text with fewer than two known characters.
    """
    require_tensorflow("zoo.export.export_char_generator")
    from zoo import generation

    lookup = keras.layers.StringLookup(vocabulary=list(chars), num_oov_indices=1, mask_token=None, name="chars")
    table = tf.constant(list(chars))
    newline = chars.index("\n") + 1 if "\n" in chars else 1

    def to_ids(text):  # (batch,) strings -> ragged ids, unknown characters dropped
        ids = tf.cast(lookup(tf.strings.unicode_split(text, "UTF-8", errors="replace")), tf.int32)
        return tf.ragged.boolean_mask(ids, ids > 0)

    def generate(prompt, length, temperature, seed):
        ids = to_ids(clean_text(prompt[None], 4 * CHARACTERS, last=True))[0][-CHARACTERS:]  # UTF-8: <= 4 bytes a character
        ids = tf.cond(tf.size(ids) > 0, lambda: ids, lambda: tf.constant([newline], tf.int32))
        states = generation.zero_states(infer, 1)
        out = generation.generate_ids(infer, ids, length, temperature, 0, seed, states)
        return {"text": tf.strings.reduce_join(tf.gather(table, out - 1))}

    def score_rows(text):
        ids = to_ids(clean_text(text, 4 * CHARACTERS))[:, :CHARACTERS].to_tensor()
        return tf.cast(generation.score_ids(infer, ids), tf.float32)

    def score(text):
        return {"nll": in_slices(score_rows, text, rows=SCORE_ROWS)}

    lookup(tf.constant(["a"]))  # build

    def write(tmp):
        archive = keras.export.ExportArchive()
        archive.track(lookup)  # the weights come in through the endpoints (see export_text_classifier)
        archive.add_endpoint(
            "generate",
            generate,
            input_signature=[
                tf.TensorSpec([], tf.string, name="prompt"),
                tf.TensorSpec([], tf.int32, name="length"),
                tf.TensorSpec([], tf.float32, name="temperature"),
                tf.TensorSpec([], tf.int32, name="seed"),
            ],
        )
        archive.add_endpoint("score", score, input_signature=[tf.TensorSpec([None], tf.string, name="text")])
        archive.write_out(str(tmp), verbose=False)
        write_files(tmp, extra_files)

    return atomic_write_dir(path, write)


SOURCE_TOKENS = 100  # source tokens an exported seq2seq model reads; the rest of a longer input is ignored


def export_seq2seq(model, source_vectorizer, target_vocabulary, path, signatures=("serving_default",),
                   output_name="translation", separator=" ", detokenize=None, beam_width=4, length_penalty=0.6,
                   max_length=SOURCE_TOKENS, accept=None, extra_files=None):
    """Export an encoder-decoder as a SavedModel that maps raw texts to texts, search included.

    Each of ``signatures``: ``text`` (tf.string [None]) -> ``output_name`` (tf.string [None]). The
    source is vectorized as in training and cut to ``max_length`` tokens; the target is searched with
    ``beam_width`` beams (1: greedy) and joined with ``separator`` (then ``detokenize``d).

    Args:
        model: a ``zoo.models.seq2seq.build_seq2seq`` model (its weights are used through the encoder
            and decoder twins).
        source_vectorizer: the source ``TextVectorization`` of training.
        target_vocabulary: tf.string tensor, entry ``i`` the token of target id ``i`` (entry 0 "").
        path: destination folder (replaced atomically).
        accept: None, or ``(batch,) strings -> (batch,) bool``: the inputs the model is meant for; the others
            get an empty output (e.g. ``zoo.data.addition.in_domain``).
        extra_files: ``{name: text or dict}`` written into the folder too.

    Limits: each text's first :data:`TEXT_BYTES` bytes are read, of them the first ``max_length`` tokens;
    the batch is searched :data:`SLICE_ROWS` texts at a time.
    """
    require_tensorflow("zoo.export.export_seq2seq")
    from zoo import decoding
    from zoo.data.text import END_ID, START_ID
    from zoo.models.seq2seq import decoder_model, encoder_model

    encoder, decoder = encoder_model(model), decoder_model(model)
    vocabulary = tf.constant(target_vocabulary)

    def serve(text):
        source = serving_ids(source_vectorizer, text, max_length)
        steps = decoding.max_decode_length(source)  # of the whole batch: a text's output does not depend on its slice

        def translate(rows):
            rows = rows[:, : longest(rows) + 1]
            ids = decoding.decode(encoder, decoder, rows, START_ID, END_ID, steps, beam_width, length_penalty)
            return decoding.ids_to_text(vocabulary, ids, separator, detokenize)

        out = in_slices(translate, source, dtype=tf.string)
        if accept is not None:  # outside the model's domain: an empty answer, not a guess
            out = tf.where(accept(clean_text(text)), out, "")
        return {output_name: out}

    text_to_ids(source_vectorizer, tf.constant([""]), max_length)  # builds the vectorizer

    def write(tmp):
        archive = keras.export.ExportArchive()
        archive.track(source_vectorizer)  # the weights come in through the endpoint (see export_text_classifier)
        spec = [tf.TensorSpec([None], tf.string, name="text")]
        for name in signatures:
            archive.add_endpoint(name, serve, input_signature=spec)
        archive.write_out(str(tmp), verbose=False)
        write_files(tmp, extra_files)

    return atomic_write_dir(path, write)


def generation_speed(path, length=2000, prompt="ROMEO:\n"):
    """Characters per second of the exported ``generate`` signature, one stream (after a warm-up call)."""
    import time

    generate = tf.saved_model.load(str(path)).signatures["generate"]
    args = dict(prompt=tf.constant(prompt), temperature=tf.constant(0.8), seed=tf.constant(0))
    generate(length=tf.constant(10), **args)
    start = time.perf_counter()
    generate(length=tf.constant(length), **args)
    return length / (time.perf_counter() - start)


def write_files(folder, files):
    """Write ``{name: text or dict (as JSON)}`` into ``folder`` (e.g. a model card beside an export)."""
    for name, content in (files or {}).items():
        text = content if isinstance(content, str) else json.dumps(content, indent=2, sort_keys=True) + "\n"
        (Path(folder) / name).write_text(text)


def write_metrics(run_dir, metrics):
    """``run_dir/metrics.json``, written atomically (a crash mid-write leaves the previous file)."""
    files.write_json(Path(run_dir) / "metrics.json", metrics)


def finish(run_dir, export_dir, metrics, model_card):
    """After a task's export: put ``metrics.json`` and the model card (``model_card(metrics)``) beside it, add
    where it is and its size to ``metrics``, and rewrite ``run_dir/metrics.json``. Returns ``metrics``."""
    write_files(export_dir, {"metrics.json": metrics, "README.md": model_card(metrics)})
    metrics["export_dir"] = str(export_dir)
    metrics["export_bytes"] = folder_size(export_dir)
    write_metrics(run_dir, metrics)
    return metrics


def folder_size(path):
    """Total bytes of the files under ``path``."""
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())
