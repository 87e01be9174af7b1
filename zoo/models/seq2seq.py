"""Many-to-many: encoder-decoder (sequence to sequence) models, optionally with attention.

The encoder reads the whole source; its final states start the decoder (Sutskever et al. 2014;
Cho et al. 2014). With ``attention``, every decoder output also attends over the encoder outputs
(Luong et al. 2015's global attention: ``h~_t = tanh(W_c [c_t; h_t])``, with the multiplicative or
Bahdanau's additive score, see ``zoo.layers.Attention``); without it, ``h~_t = h_t``. Attention
after the recurrent step, rather than inside it, keeps the decoder an ordinary ``Recurrent`` layer and
lets training attend over all target positions at once.

Three models share one set of weights (``build_seq2seq`` returns the first; the others are made
from it and reuse its layers, so they always see the trained weights):

- training, teacher forcing: ``{"source": (b, S), "target_in": (b, T)} -> logits (b, T, vocab)``;
- ``encoder_model(model)``: ``source -> [memory (b, S, units), *decoder initial states]``;
- ``decoder_model(model)``: ``[target ids (b, t), memory, source, *states] -> [logits (b, t, vocab),
  *states, attention weights (b, t, S)]``, one step at a time for greedy and beam search.

Id 0 is padding everywhere and is masked (source positions in the encoder and in attention).
"""

import keras
from keras import ops
from keras import tree

from zoo import cells
from zoo.layers import Attention, Recurrent, ReversibleEmbedding
from zoo.validation import one_of, positive_int, rate

ATTENTION = (None, "bahdanau", "luong")


def build_seq2seq(
    cell="gru",
    source_vocab_size=1000,
    target_vocab_size=1000,
    embedding_dim=128,
    units=256,
    num_layers=1,
    bidirectional=False,
    attention=None,
    dropout=0.0,
    tie_embeddings=True,
    name="seq2seq",
    **cell_kwargs,
):
    """An encoder-decoder over token ids, trained with teacher forcing.

    Args:
        cell: a registered cell name, used in the encoder and the decoder.
        source_vocab_size, target_vocab_size: ids per side, padding (0) included.
        embedding_dim: size of both embeddings.
        units: decoder units; the encoder has ``units`` too (``units // 2`` per direction when
            ``bidirectional``, the two directions' outputs and states concatenated, so layer ``i``
            of the decoder starts from layer ``i`` of the encoder without a bridge).
        num_layers: stacked recurrent layers in the encoder and in the decoder.
        bidirectional: a bidirectional encoder (``units`` must be even).
        attention: None, "bahdanau" (additive) or "luong" (multiplicative).
        dropout: rate after the embeddings and after each recurrent layer.
        tie_embeddings: the output layer reuses the target embedding's matrix (through a
            ``units -> embedding_dim`` projection) instead of a ``units x vocab`` matrix of its own.
        **cell_kwargs: passed to every cell.
    """
    for arg, value in (("source_vocab_size", source_vocab_size), ("target_vocab_size", target_vocab_size),
                       ("embedding_dim", embedding_dim), ("units", units), ("num_layers", num_layers)):
        positive_int(arg, value)
    one_of("attention", attention, ATTENTION)
    rate("dropout", dropout)
    if bidirectional and units % 2:
        raise ValueError(f"a bidirectional encoder splits `units` between two directions; got odd units={units}.")

    # Layers.
    encoder_units = units // 2 if bidirectional else units
    source_embedding = keras.layers.Embedding(source_vocab_size, embedding_dim, mask_zero=True, name="source_embedding")
    embedding_cls = ReversibleEmbedding if tie_embeddings else keras.layers.Embedding
    target_embedding = embedding_cls(target_vocab_size, embedding_dim, mask_zero=True, name="target_embedding")
    encoder = []
    for i in range(num_layers):
        layer = Recurrent(cells.get(cell, units=encoder_units, **cell_kwargs), return_sequences=True,
                          return_state=True, name=f"encoder_{i}")
        encoder.append(keras.layers.Bidirectional(layer, name=f"encoder_{i}") if bidirectional else layer)
    decoder = [
        Recurrent(cells.get(cell, units=units, **cell_kwargs), return_sequences=True, return_state=True,
                  name=f"decoder_{i}")
        for i in range(num_layers)
    ]
    head = []
    if attention:
        head += [Attention(attention, units=units, name="attention"),
                 keras.layers.Dense(units, activation="tanh", use_bias=False, name="attentional")]
    head.append(keras.layers.Dense(embedding_dim, name="output_projection") if tie_embeddings
                else keras.layers.Dense(target_vocab_size, name="logits"))

    # Wiring.
    source = keras.Input(shape=(None,), dtype="int32", name="source")
    target_in = keras.Input(shape=(None,), dtype="int32", name="target_in")
    x = _dropout(source_embedding(source), dropout, "source_dropout")
    memory, states = _encode(encoder, x, dropout)
    y = _dropout(target_embedding(target_in), dropout, "target_dropout")
    logits, _, _ = _decode(decoder, y, states, memory, source, _parts_of_head(head, target_embedding), dropout)
    return keras.Model({"source": source, "target_in": target_in}, logits, name=name)


def _dropout(x, rate, name):
    return keras.layers.Dropout(rate, name=name)(x) if rate else x


def _encode(encoder, x, dropout=0.0):
    """Run the encoder stack; ``(memory, states per layer)``, bidirectional states concatenated."""
    states = []
    for i, layer in enumerate(encoder):
        x, *layer_states = layer(x)
        if isinstance(layer, keras.layers.Bidirectional):
            half = len(layer_states) // 2
            layer_states = [ops.concatenate([f, b], axis=-1) for f, b in zip(layer_states[:half], layer_states[half:])]
        states.append(layer_states)
        if i < len(encoder) - 1:
            x = _dropout(x, dropout, f"encoder_dropout_{i}")
    return x, states


def _parts_of_head(head, target_embedding):
    return {"attention": head[0] if len(head) == 3 else None,
            "attentional": head[1] if len(head) == 3 else None,
            "output": head[-1], "embedding": target_embedding}


def _decode(decoder, y, states, memory, source, head, dropout=0.0):
    """Run the decoder stack from ``states``; ``(logits, final states per layer, attention weights or None)``."""
    final = []
    for i, layer in enumerate(decoder):
        y, *layer_states = layer(y, initial_state=states[i])
        final.append(layer_states)
        y = _dropout(y, dropout, f"decoder_dropout_{i}")
    weights = None
    if head["attention"] is not None:
        context, weights = head["attention"](y, memory, memory_mask=ops.not_equal(source, 0))
        y = _dropout(head["attentional"](ops.concatenate([context, y], axis=-1)), dropout, "attentional_dropout")
    output = head["output"](y)
    if isinstance(head["embedding"], ReversibleEmbedding):
        output = head["embedding"](output, reverse=True)
    return output, final, weights


def _layers(model):
    def named(prefix):
        found = [layer for layer in model.layers if layer.name.startswith(prefix) and not isinstance(layer, keras.layers.Dropout)]
        return sorted(found, key=lambda layer: int(layer.name.rsplit("_", 1)[1]))

    names = {layer.name for layer in model.layers}
    head = {
        "attention": model.get_layer("attention") if "attention" in names else None,
        "attentional": model.get_layer("attentional") if "attentional" in names else None,
        "output": model.get_layer("output_projection" if "output_projection" in names else "logits"),
        "embedding": model.get_layer("target_embedding"),
    }
    return model.get_layer("source_embedding"), named("encoder_"), named("decoder_"), head


def state_sizes(model):
    """The flat list of the decoder's state sizes: every state of layer 0, then of layer 1, ..."""
    return [size for layer in _layers(model)[2] for size in tree.flatten(layer.cell.state_size)]


def encoder_model(model):
    """``source (b, S) -> [memory (b, S, units), *flat decoder initial states]``, sharing ``model``'s weights."""
    source_embedding, encoder, _, _ = _layers(model)
    source = keras.Input(shape=(None,), dtype="int32", name="source")
    memory, states = _encode(encoder, source_embedding(source))
    return keras.Model(source, [memory, *[s for layer in states for s in layer]], name="encoder")


def decoder_model(model):
    """``[ids (b, t), memory, source, *flat states] -> [logits (b, t, vocab), *flat states, weights]``.

    Shares ``model``'s weights. ``weights`` is the attention (b, t, S), or zeros (b, t, S) without attention.
    """
    _, _, decoder, head = _layers(model)
    sizes = state_sizes(model)
    ids = keras.Input(shape=(None,), dtype="int32", name="ids")
    memory = keras.Input(shape=(None, decoder[0].cell.units), name="memory")
    source = keras.Input(shape=(None,), dtype="int32", name="source")
    flat = [keras.Input(shape=(size,), name=f"state_{k}") for k, size in enumerate(sizes)]
    states, k = [], 0
    for layer in decoder:
        n = len(tree.flatten(layer.cell.state_size))
        states.append(flat[k : k + n])
        k += n
    logits, final, weights = _decode(decoder, head["embedding"](ids), states, memory, source, head)
    if weights is None:
        weights = ops.zeros_like(ops.cast(ops.expand_dims(ids, -1), "float32") * ops.expand_dims(ops.cast(source, "float32"), 1))
    return keras.Model([ids, memory, source, *flat], [logits, *[s for layer in final for s in layer], weights], name="decoder")


def loss():
    """Cross-entropy over target tokens from logits, padding (id 0) ignored: the mean is over real tokens."""
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)


@keras.saving.register_keras_serializable(package="zoo")
class MaskedAccuracy(keras.metrics.Metric):
    """The fraction of real (non-padding) target tokens whose most likely prediction is right."""

    def __init__(self, name="token_accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "int32")
        real = ops.cast(ops.not_equal(y_true, 0), "float32")
        hit = ops.cast(ops.equal(ops.cast(ops.argmax(y_pred, axis=-1), "int32"), y_true), "float32") * real
        self.correct.assign_add(ops.sum(hit))
        self.count.assign_add(ops.sum(real))

    def result(self):
        return ops.divide_no_nan(self.correct, self.count)
