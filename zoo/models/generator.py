"""One-to-many: character language models that emit a sequence from a seed, or from a condition.

Three models share one set of weights:

- the training model, ``build_generator`` (stateful for truncated BPTT) or
  ``build_conditional_generator`` (a class id sets every layer's initial state);
- ``inference_model(model)``: ``(ids, *states) -> (logits, *states)``, any batch size, stateless, for
  scoring whole texts as one stream and for sampling one step at a time;
- ``condition_model(model)`` (conditional only): class id -> the initial states.

``mixture_inference_model(infers, weights)`` combines the inference models of several trained
generators into one with the same contract, whose "logits" are the log-probabilities of the mixture
``sum_k w_k p_k`` of their next-character distributions (an interpolated language model).

The inference models reuse the training model's layers and cells (no copies), so they always see
the trained weights.

``shortcut=True`` adds the notes' connections from the input layer straight to the output layer
(a recurrent network "with shortcuts", issue 8): with x_t the encoded input (embedding or one-hot) and
h_t the last recurrent layer's output,

    logits_t = W [h_t; x_t] + b = W_h h_t + W_x x_t + b,

one Dense over the concatenation (the layer named "shortcut"), so the logits kernel is
(units + embedding_dim, vocab) with W_h's rows first, or (units + vocab, vocab) for one-hot input,
where W_x is a learned bigram table. The inference models find the shortcut by that name.
"""

import keras
import numpy as np
from keras import ops, tree

from zoo import cells
from zoo.layers import OneHot, Recurrent
from zoo.models import INPUT_MODES
from zoo.validation import distinct_members, one_of, positive_int, rate


def _body(cell, vocab_size, embedding_dim, units, num_layers, dropout, input_mode, stateful, shortcut, cell_kwargs):
    for arg, value in (("vocab_size", vocab_size), ("units", units), ("num_layers", num_layers)):
        positive_int(arg, value)
    one_of("input_mode", input_mode, INPUT_MODES)
    rate("dropout", dropout)
    if input_mode == "embedding":
        positive_int("embedding_dim", embedding_dim)
        encode = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name="embedding")
    else:
        encode = OneHot(vocab_size, name="one_hot")
    recurrent = [
        Recurrent(cells.get(cell, units=units, **cell_kwargs), return_sequences=True, stateful=stateful,
                  name=f"recurrent_{i}")
        for i in range(num_layers)
    ]
    logits = keras.layers.Dense(vocab_size, name="logits")
    join = keras.layers.Concatenate(name="shortcut") if shortcut else None
    return encode, recurrent, logits, join


def _head(logits, join, h, x):
    """logits_t from the last layer's h_t, and from the encoded input x_t when there is a shortcut."""
    return logits(h if join is None else join([h, x]))


def _wire(ids, encode, recurrent, logits, join, dropout, initial_states=None):
    x = h = encode(ids)
    for i, layer in enumerate(recurrent):
        h = layer(h, initial_state=None if initial_states is None else initial_states[i])
        h = keras.layers.Dropout(dropout, name=f"dropout_{i}")(h) if dropout else h
    return _head(logits, join, h, x)


def build_generator(
    cell="gru",
    vocab_size=66,
    embedding_dim=64,
    units=256,
    num_layers=2,
    dropout=0.0,
    input_mode="embedding",
    batch_size=None,
    stateful=False,
    shortcut=False,
    name="generator",
    **cell_kwargs,
):
    """Character ids (batch, time) -> next-character logits (batch, time, vocab_size).

    Input encoding (embedding or one-hot; id 0 is padding and masked) -> ``num_layers`` stacked
    ``Recurrent`` layers of ``cell`` (dropout after each) -> Dense logits.

    Args:
        cell: a registered cell name.
        vocab_size: number of ids, the reserved id 0 included.
        embedding_dim: embedding size (``input_mode="embedding"``).
        units, num_layers: size and depth of the recurrent stack.
        dropout: rate of the dropout after each recurrent layer.
        input_mode: "embedding" or "onehot" (one-hot characters straight into the first cell).
        batch_size, stateful: for truncated BPTT, ``stateful=True`` with a fixed ``batch_size``
            carries each layer's final state into the next batch (reset with ``reset_states``).
        shortcut: logits_t = W_h h_t + W_x x_t + b, x_t the encoded input (see the module docstring).
        **cell_kwargs: passed to every cell.
    """
    if stateful:
        positive_int("batch_size", batch_size)
    encode, recurrent, logits, join = _body(
        cell, vocab_size, embedding_dim, units, num_layers, dropout, input_mode, stateful, shortcut, cell_kwargs
    )
    ids = keras.Input(batch_shape=(batch_size, None), dtype="int32", name="ids")
    return keras.Model(ids, _wire(ids, encode, recurrent, logits, join, dropout), name=name)


def build_conditional_generator(
    cell="gru",
    num_classes=2,
    vocab_size=66,
    embedding_dim=64,
    condition_dim=32,
    units=256,
    num_layers=2,
    dropout=0.0,
    input_mode="embedding",
    shortcut=False,
    name="conditional_generator",
    **cell_kwargs,
):
    """(class id (batch,), character ids (batch, time)) -> next-character logits (batch, time, vocab).

    The one-to-many pattern of captioning: a single non-sequential input (here a class id through an
    embedding) sets the initial state of every layer, ``state = tanh(Dense(class_embedding))`` per
    state tensor; the characters are then generated as by :func:`build_generator` (the arguments
    they share mean the same, ``shortcut`` included).
    """
    positive_int("num_classes", num_classes)
    positive_int("condition_dim", condition_dim)
    encode, recurrent, logits, join = _body(
        cell, vocab_size, embedding_dim, units, num_layers, dropout, input_mode, False, shortcut, cell_kwargs
    )
    embed_condition = keras.layers.Embedding(num_classes, condition_dim, name="condition_embedding")
    to_states = [
        [keras.layers.Dense(size, activation="tanh", name=f"initial_state_{i}_{j}")
         for j, size in enumerate(tree.flatten(layer.cell.state_size))]
        for i, layer in enumerate(recurrent)
    ]

    condition = keras.Input(shape=(), dtype="int32", name="condition")
    ids = keras.Input(shape=(None,), dtype="int32", name="ids")
    c = embed_condition(condition)
    states = [[dense(c) for dense in layer] for layer in to_states]
    out = _wire(ids, encode, recurrent, logits, join, dropout, initial_states=states)
    return keras.Model({"condition": condition, "ids": ids}, out, name=name)


def _parts(model):
    encode = next(layer for layer in model.layers if layer.name in ("embedding", "one_hot"))
    recurrent = [layer for layer in model.layers if isinstance(layer, Recurrent)]
    join = next((layer for layer in model.layers if layer.name == "shortcut"), None)
    return encode, recurrent, model.get_layer("logits"), join


def state_sizes(model):
    """The flat list of state sizes of ``model``'s recurrent layers, in order."""
    return [size for layer in _parts(model)[1] for size in tree.flatten(layer.cell.state_size)]


def inference_model(model):
    """``(ids, *states) -> (logits, *final_states)`` sharing ``model``'s weights; stateless, any batch.

    States are flat: every state tensor of layer 0, then of layer 1, ... (see :func:`state_sizes`).
    Padding (id 0) is masked: a padded step carries the state through unchanged.
    """
    encode, recurrent, logits, join = _parts(model)
    ids = keras.Input(shape=(None,), dtype="int32", name="ids")
    states_in = [keras.Input(shape=(size,), name=f"state_{k}") for k, size in enumerate(state_sizes(model))]
    x = h = encode(ids)
    states_out, k = [], 0
    for layer in recurrent:
        n = len(tree.flatten(layer.cell.state_size))
        twin = Recurrent(layer.cell, return_sequences=True, return_state=True, name=f"{layer.name}_inference")
        h, *final = twin(h, initial_state=states_in[k : k + n] if n > 1 else states_in[k])
        states_out += final
        k += n
    return keras.Model([ids, *states_in], [_head(logits, join, h, x), *states_out], name=f"{model.name}_inference")


def condition_model(model):
    """Class id (batch,) -> the flat initial states of a conditional generator (shared weights)."""
    condition = keras.Input(shape=(), dtype="int32", name="condition")
    c = model.get_layer("condition_embedding")(condition)
    outputs = []
    for i, layer in enumerate(_parts(model)[1]):
        for j in range(len(tree.flatten(layer.cell.state_size))):
            outputs.append(model.get_layer(f"initial_state_{i}_{j}")(c))
    return keras.Model(condition, outputs, name=f"{model.name}_condition")


def reset_states(model):
    """Zero the carried state of every stateful recurrent layer of ``model``."""
    for layer in _parts(model)[1]:
        if layer.stateful:
            layer.reset_state()


@keras.saving.register_keras_serializable(package="zoo")
class LogMixture(keras.layers.Layer):
    """``log(sum_k w_k softmax(logits_k / T_k))`` over a list of logits tensors of one shape: the
    log-probabilities of a mixture of categorical distributions (valid logits: their softmax is the
    mixture itself).

    Args:
        mixture_weights: one non-negative weight w_k per input, summing to 1.
        temperatures: one positive softmax temperature T_k per input (default: all 1).
    """

    def __init__(self, mixture_weights, temperatures=None, **kwargs):
        super().__init__(**kwargs)
        weights = np.asarray(mixture_weights, np.float64)
        if weights.ndim != 1 or len(weights) < 1 or np.any(weights < 0) or abs(weights.sum() - 1) > 1e-6:
            raise ValueError(f"mixture_weights must be non-negative and sum to 1; got {list(mixture_weights)}.")
        temperatures = np.ones(len(weights)) if temperatures is None else np.asarray(temperatures, np.float64)
        if temperatures.shape != weights.shape or not np.all(temperatures > 0):
            raise ValueError(
                f"temperatures must be positive, one per mixture weight ({len(weights)}); got {list(temperatures)}."
            )
        self.mixture_weights = [float(w) for w in weights]
        self.temperatures = [float(t) for t in temperatures]
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        return mask[0] if isinstance(mask, (list, tuple)) else mask  # every member masks the same padding

    def call(self, logits):
        if len(logits) != len(self.mixture_weights):
            raise ValueError(f"LogMixture has {len(self.mixture_weights)} weights but got {len(logits)} inputs.")
        with np.errstate(divide="ignore"):
            log_w = np.log(self.mixture_weights)
        scaled = [x if t == 1.0 else x * (1.0 / t) for x, t in zip(logits, self.temperatures)]
        return ops.logsumexp(
            ops.stack([ops.log_softmax(x, axis=-1) + float(w) for x, w in zip(scaled, log_w)], axis=0), axis=0
        )

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "mixture_weights": self.mixture_weights, "temperatures": self.temperatures}


def mixture_inference_model(infers, weights, temperatures=None, name="mixture_inference"):
    """One inference model over several: ``(ids, *states) -> (log-probabilities, *final_states)``.

    The states are every member's flat states, member by member; the output is
    ``log(sum_k weights[k] softmax(logits_k / temperatures[k]))`` (see :class:`LogMixture`;
    temperatures default to 1), which scoring and sampling
    use like logits. The members (``inference_model`` s of generators over the same vocabulary, with
    distinct names) keep their weights: nothing is copied.
    """
    infers = distinct_members("a mixture", infers)
    vocab = {m.outputs[0].shape[-1] for m in infers}
    if len(vocab) != 1:
        raise ValueError(f"mixture members must share one vocabulary; their output sizes are {sorted(vocab)}.")
    ids = keras.Input(shape=(None,), dtype="int32", name="ids")
    states_in, logits, states_out = [], [], []
    for k, infer in enumerate(infers):
        mine = [keras.Input(shape=(spec.shape[-1],), name=f"member_{k}_state_{j}") for j, spec in enumerate(infer.inputs[1:])]
        member_logits, *final = infer([ids, *mine])
        states_in += mine
        logits.append(member_logits)
        states_out += final
    mixed = LogMixture(weights, temperatures, name="mixture")(logits)
    return keras.Model([ids, *states_in], [mixed, *states_out], name=name)

