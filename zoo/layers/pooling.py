import keras
from keras import ops

from zoo.validation import one_of

POOLINGS = ("max", "mean", "last")


@keras.saving.register_keras_serializable(package="zoo")
class MaskedPooling1D(keras.layers.Layer):
    """Max, mean or last step over time of (batch, time, features), ignoring masked steps.

    Keras' ``GlobalMaxPooling1D`` ignores the mask and ``GlobalAveragePooling1D``
    divides by zero on an all-masked row (an empty text); this layer returns
    zeros for such rows, so every input gives a finite result. ``"last"`` takes
    the features at the last unmasked step: the input-side twin of a
    ``Recurrent`` layer with ``return_sequences=False``.
    """

    def __init__(self, mode="max", **kwargs):
        super().__init__(**kwargs)
        self.mode = one_of("mode", mode, POOLINGS)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            mask = ops.ones(ops.shape(inputs)[:2], dtype="bool")
        keep = ops.expand_dims(ops.cast(mask, "bool"), -1)  # (batch, time, 1)
        count = ops.sum(ops.cast(keep, inputs.dtype), axis=1)  # (batch, 1)
        if self.mode == "last":
            steps = ops.arange(ops.shape(inputs)[1])[None, :, None]
            last = ops.max(ops.where(keep, steps, -1), axis=1, keepdims=True)  # (batch, 1, 1)
            return ops.sum(ops.where(steps == last, inputs, 0.0), axis=1)  # zeros when no step is kept
        if self.mode == "mean":
            total = ops.sum(ops.where(keep, inputs, 0.0), axis=1)
            return total / ops.maximum(count, 1.0)
        lowest = ops.cast(ops.min(inputs) - 1.0, inputs.dtype)  # below every real value
        pooled = ops.max(ops.where(keep, inputs, lowest), axis=1)
        return ops.where(count > 0, pooled, 0.0)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}
