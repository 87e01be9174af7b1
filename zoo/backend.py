"""Which parts of zoo run on which Keras backend.

The cells, ``zoo.layers`` and the classifier and generator builders are written with ``keras.ops``
and run on TensorFlow, JAX and PyTorch alike. The tf.data pipelines, SavedModel export, generation,
decoding and ``zoo.analysis`` are written with TensorFlow and need Keras on its TensorFlow backend;
they call :func:`require_tensorflow` first, so that any other backend fails with one clear error
rather than deep inside TensorFlow.
"""

import keras


def require_tensorflow(what):
    """Raise ``RuntimeError`` unless Keras runs on TensorFlow; ``what`` names the caller in the message.

    Example: ``require_tensorflow("zoo.export.export_classifier")`` on JAX raises
    "zoo.export.export_classifier needs the TensorFlow backend (KERAS_BACKEND=tensorflow); the active
    backend is jax."
    """
    active = keras.backend.backend()
    if active != "tensorflow":
        raise RuntimeError(
            f"{what} needs the TensorFlow backend (KERAS_BACKEND=tensorflow); the active backend is {active}. "
            "Set KERAS_BACKEND=tensorflow before Keras is first imported."
        )
