"""SavedModel export with string-in serving signatures: the preprocessing goes inside the graph.

An exported folder loads with plain ``tf.saved_model.load`` (no ``zoo``, no Keras code needed) and
with ``saved_model_cli run``. Export is atomic: the model is written to a temporary folder beside the
destination and renamed into place, so a failure never leaves a half-written model behind.
"""

import json
from pathlib import Path

import keras
import tensorflow as tf

from zoo import files
from zoo.backend import require_tensorflow
from zoo.files import atomic_write_dir  # noqa: F401 (part of this module's API)

SIGNATURE = "serving_default"


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
        ids = text_to_ids(vectorizer, text, max_length)
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
        scalar), ``seed`` (int32 scalar) -> ``text`` (string scalar, the continuation).
        ``score``: ``text`` (string [None]) -> ``nll`` (float32 [None], nats per character).
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
        ids = to_ids(prompt[None])[0]
        ids = tf.cond(tf.size(ids) > 0, lambda: ids, lambda: tf.constant([newline], tf.int32))
        states = generation.zero_states(infer, 1)
        out = generation.generate_ids(infer, ids, length, temperature, 0, seed, states)
        return {"text": tf.strings.reduce_join(tf.gather(table, out - 1))}

    def score(text):
        return {"nll": tf.cast(generation.score_ids(infer, to_ids(text).to_tensor()), tf.float32)}

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
                   max_length=SOURCE_TOKENS, extra_files=None):
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
        extra_files: ``{name: text or dict}`` written into the folder too.
    """
    require_tensorflow("zoo.export.export_seq2seq")
    from zoo import decoding
    from zoo.data.text import END_ID, START_ID
    from zoo.models.seq2seq import decoder_model, encoder_model

    encoder, decoder = encoder_model(model), decoder_model(model)
    vocabulary = tf.constant(target_vocabulary)

    def serve(text):
        source = text_to_ids(source_vectorizer, text, max_length)
        ids = decoding.decode(encoder, decoder, source, START_ID, END_ID, decoding.max_decode_length(source),
                              beam_width, length_penalty)
        return {output_name: decoding.ids_to_text(vocabulary, ids, separator, detokenize)}

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
