"""SavedModel export with string-in serving signatures: the preprocessing goes inside the graph.

An exported folder loads with plain ``tf.saved_model.load`` (no ``zoo``, no Keras code needed) and
with ``saved_model_cli run``. Export is atomic: the model is written to a temporary folder beside the
destination and renamed into place, so a failure never leaves a half-written model behind.
"""

import json
import os
import shutil
import tempfile
from pathlib import Path

import keras
import tensorflow as tf

SIGNATURE = "serving_default"


def atomic_write_dir(path, write):
    """Call ``write(tmp_dir)`` and move ``tmp_dir`` to ``path`` only if it succeeds (replacing ``path``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        write(tmp)
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def text_to_ids(vectorizer, text, max_length):
    """(batch,) strings -> (batch, time) int32 ids: the first ``max_length`` tokens, plus one padding step.

    The extra padding step is masked, so it changes nothing, but it keeps ``time >= 1`` for empty
    strings and an empty batch, which a recurrent loop over zero steps could not handle.
    """
    ids = vectorizer(text)[:, :max_length]
    return tf.cast(tf.pad(ids, [[0, 0], [0, 1]]), tf.int32)


def export_text_classifier(model, vectorizer, path, max_length, labels=("negative", "positive"), extra_files=None):
    """Export a binary text classifier as a SavedModel.

    Signature ``serving_default``: ``text`` (tf.string [None], raw text) -> ``probability``
    (float32 [None], probability of ``labels[1]``) and ``label`` (tf.string [None]).

    Args:
        model: maps int token ids (batch, time) to a (batch, 1) sigmoid probability.
        vectorizer: the ``TextVectorization`` the model was trained with.
        path: destination folder (replaced atomically).
        max_length: tokens kept per text, as in training.
        labels: the names of classes 0 and 1.
        extra_files: ``{name: text or dict}`` written into the folder too (model card, metrics).
    """
    negative, positive = labels

    def serve(text):
        probability = model(text_to_ids(vectorizer, text, max_length), training=False)[:, 0]
        probability = tf.cast(probability, tf.float32)
        label = tf.where(probability >= 0.5, tf.constant(positive), tf.constant(negative))
        return {"probability": probability, "label": label}

    text_to_ids(vectorizer, tf.constant([""]), max_length)  # builds an adapted but never called vectorizer

    def write(tmp):
        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.track(vectorizer)
        archive.add_endpoint(SIGNATURE, serve, input_signature=[tf.TensorSpec([None], tf.string, name="text")])
        archive.write_out(str(tmp), verbose=False)
        for name, content in (extra_files or {}).items():
            text = content if isinstance(content, str) else json.dumps(content, indent=2, sort_keys=True) + "\n"
            (tmp / name).write_text(text)

    return atomic_write_dir(path, write)


def folder_size(path):
    """Total bytes of the files under ``path``."""
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())
