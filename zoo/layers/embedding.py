import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class ReversibleEmbedding(keras.layers.Embedding):
    """An ``Embedding`` that also maps vectors back to vocabulary logits with its own matrix.

    ``layer(ids)`` embeds (as ``keras.layers.Embedding``); ``layer(x, reverse=True)`` returns
    ``x @ embeddings^T`` (batch, ..., vocab_size): the output layer shares the input embedding's
    weights (Press & Wolf 2017; Inan et al. 2017), which halves a decoder's vocabulary parameters.
    keras-hub ships the same idea as ``keras_hub.layers.ReversibleEmbedding``; this 20-line version
    keeps the zoo's dependencies to Keras and TensorFlow.
    """

    def call(self, inputs, reverse=False):
        if reverse:
            return ops.matmul(inputs, ops.transpose(ops.cast(self.embeddings, inputs.dtype)))
        return super().call(inputs)

    def compute_mask(self, inputs, mask=None):
        # Keras asks for the output mask without the call's keyword arguments: float inputs mean reverse.
        if "float" in str(inputs.dtype):
            return None
        return super().compute_mask(inputs, mask)

    def compute_output_spec(self, inputs, reverse=False):
        if reverse:
            return keras.KerasTensor((*inputs.shape[:-1], self.input_dim), dtype=self.compute_dtype)
        return super().compute_output_spec(inputs)
