import keras
from keras import ops

from zoo.validation import one_of, positive_int

SCORES = ("bahdanau", "luong")


@keras.saving.register_keras_serializable(package="zoo")
class Attention(keras.layers.Layer):
    """Global attention of decoder states over encoder outputs, with padded source positions masked.

    For each decoder state ``h_t`` (the query) and encoder output ``s_j`` (the memory):

    - ``score="luong"``, multiplicative ("general", Luong et al. 2015): ``e_tj = h_t^T W_a s_j``;
    - ``score="bahdanau"``, additive (Bahdanau et al. 2015): ``e_tj = v_a^T tanh(W_q h_t + W_k s_j)``;

    then ``a_t = softmax_j(e_tj)`` over the unmasked positions and the context ``c_t = Σ_j a_tj s_j``.
    Keras' ``Attention`` and ``AdditiveAttention`` compute the same scores only once the caller has
    applied these projections; here they are the layer's weights, so the layer is the equation.

    Weights: ``key_kernel`` (memory_dim, d) is ``W_a`` (d = query_dim) or ``W_k`` (d = ``units``);
    additive only: ``query_kernel`` (query_dim, units) ``W_q`` and ``score_vector`` (units,) ``v_a``.

    Args:
        score: "luong" or "bahdanau".
        units: size of the additive scoring layer (``bahdanau`` only).

    Call: ``context, weights = layer(query, memory, memory_mask=None)`` with query (batch, T, query_dim),
    memory (batch, S, memory_dim) and memory_mask (batch, S) boolean -> context (batch, T, memory_dim),
    weights (batch, T, S). A row whose memory is entirely masked gets uniform weights (no NaN).
    """

    def __init__(self, score="luong", units=128, **kwargs):
        super().__init__(**kwargs)
        self.score = one_of("score", score, SCORES)
        self.units = positive_int("units", units)
        self.supports_masking = True

    def build(self, query_shape, memory_shape, memory_mask_shape=None):
        query_dim, memory_dim = query_shape[-1], memory_shape[-1]
        key_dim = query_dim if self.score == "luong" else self.units
        self.key_kernel = self.add_weight(shape=(memory_dim, key_dim), initializer="glorot_uniform", name="key_kernel")
        if self.score == "bahdanau":
            self.query_kernel = self.add_weight(
                shape=(query_dim, self.units), initializer="glorot_uniform", name="query_kernel"
            )
            self.score_vector = self.add_weight(shape=(self.units,), initializer="glorot_uniform", name="score_vector")

    def call(self, query, memory, memory_mask=None):
        keys = ops.matmul(memory, self.key_kernel)  # (batch, S, d)
        if self.score == "luong":
            scores = ops.einsum("btd,bsd->bts", query, keys)
        else:
            hidden = ops.tanh(ops.expand_dims(ops.matmul(query, self.query_kernel), 2) + ops.expand_dims(keys, 1))
            scores = ops.einsum("btsd,d->bts", hidden, self.score_vector)  # (batch, T, S)
        if memory_mask is not None:
            scores = ops.where(ops.expand_dims(ops.cast(memory_mask, "bool"), 1), scores, -1e9)
        weights = ops.softmax(scores, axis=-1)
        return ops.einsum("bts,bsd->btd", weights, memory), weights

    def compute_mask(self, query, memory, memory_mask=None, mask=None):
        return None, None  # padded queries are left to the loss (ignore_class), not carried as a Keras mask

    def compute_output_shape(self, query_shape, memory_shape, memory_mask_shape=None):
        return (*query_shape[:-1], memory_shape[-1]), (*query_shape[:-1], memory_shape[1])

    def get_config(self):
        return {**super().get_config(), "score": self.score, "units": self.units}
