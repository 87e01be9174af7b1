import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class OneHot(keras.layers.Layer):
    """Token ids (batch, time) -> one-hot vectors (batch, time, num_tokens), id 0 masked.

    The input encoding of the classic char-RNN (one-hot characters fed straight to the first cell),
    the alternative to an ``Embedding``. Like ``Embedding(mask_zero=True)`` it masks id 0 (padding),
    which ``keras.layers.CategoryEncoding`` does not.

    Args:
        num_tokens: size of the one-hot vectors (ids in [0, num_tokens)).
    """

    def __init__(self, num_tokens, **kwargs):
        super().__init__(**kwargs)
        if int(num_tokens) != num_tokens or num_tokens < 1:
            raise ValueError(f"`num_tokens` must be a positive integer; got num_tokens={num_tokens!r}.")
        self.num_tokens = int(num_tokens)

    def call(self, ids):
        return ops.one_hot(ops.cast(ids, "int32"), self.num_tokens, dtype=self.compute_dtype)

    def compute_mask(self, ids, mask=None):
        return ops.not_equal(ids, 0)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.num_tokens)

    def get_config(self):
        return {**super().get_config(), "num_tokens": self.num_tokens}
