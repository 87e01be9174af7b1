"""Diagnostics of recurrent models: how much of the loss gradient reaches each time step.

TensorFlow backend only (``tf.GradientTape``).
"""

import keras
import numpy as np
import tensorflow as tf
from keras import tree

from zoo.backend import require_tensorflow

RECURRENT_LAYERS = (keras.layers.RNN, keras.layers.Bidirectional)


def first_recurrent_layer(model):
    """The first ``keras.layers.RNN`` (e.g. ``zoo.layers.Recurrent``) or ``Bidirectional`` layer of ``model``,
    in the functional graph's topological order."""
    for layer in model.layers:
        if isinstance(layer, RECURRENT_LAYERS):
            return layer
    raise ValueError(
        f"Model {model.name!r} has no recurrent layer (keras.layers.RNN or Bidirectional); its layers are "
        f"{[layer.name for layer in model.layers]}. Pass `layer_name` to pick the layer whose input to differentiate."
    )


def split_at(model, layer):
    """Cut a functional model at ``layer``'s input: ``(head, tail)`` with ``tail(head(x))`` = ``model(x)``.

    ``head`` maps the model's inputs to everything ``layer`` is called on: its sequence first, then any
    other tensors of the call (the mask an ``Embedding(mask_zero=True)`` propagates, initial states), so
    padding stays masked in ``tail``. Both share ``model``'s weights. Uses ``layer``'s first call.
    """
    if isinstance(model, keras.Sequential):  # one input and one output, but no `input`/`output` properties
        inputs, outputs = model.inputs[0], model.outputs[0]
    else:
        inputs, outputs = model.input, model.output
    return keras.Model(inputs, layer.input), keras.Model(layer.input, outputs)


def gradient_norms(model, inputs, targets, loss_fn, layer_name=None):
    """The norm of the loss gradient with respect to each step of the first recurrent layer's input.

    With ``x_{i,t}`` the vector that the first recurrent layer reads at step ``t`` of example ``i`` (for a
    model that starts with an ``Embedding``, like ``zoo.models.classifier.build_classifier``, the embedded
    token; for a model fed float sequences, the input itself) and ``l_i`` the loss of example ``i``, this
    computes, in inference mode (no dropout)::

        norms[t] = mean_i || d l_i / d x_{i,t} ||_2

    ``l_i`` is ``loss_fn(targets, outputs)[i]`` averaged over its non-batch axes, so the values do not depend
    on the batch size (differentiating a batch-mean loss would scale them by 1/batch). Steps that a
    recurrent layer masks (padding) do not reach the loss and contribute 0 to the mean; pass sequences of
    one length to compare steps across the whole batch.

    Args:
        model: a functional ``keras.Model`` or a ``Sequential`` built on a ``keras.Input``.
        inputs: what ``model`` takes, e.g. token ids (batch, time) or floats (batch, time, features).
        targets: what ``loss_fn`` compares the outputs with.
        loss_fn: ``(targets, outputs) -> per-example losses`` of shape (batch,) or (batch, ...), e.g.
            ``keras.losses.BinaryCrossentropy(reduction=None)``.
        layer_name: the layer whose input to differentiate (default: the first recurrent layer).

    Returns:
        A numpy array (time,) of ``norms``.
    """
    require_tensorflow("zoo.analysis.gradient_norms")
    layer = model.get_layer(layer_name) if layer_name is not None else first_recurrent_layer(model)
    head, tail = split_at(model, layer)
    sequence, *others = tree.flatten(head(inputs, training=False))
    # A fresh tensor to watch; without the Keras mask attached to the head's output (the tail takes the
    # mask as an input of its own, and Keras would warn that it drops the attached one).
    sequence = tf.identity(sequence)
    with tf.GradientTape() as tape:
        tape.watch(sequence)
        outputs = tail(tree.pack_sequence_as(layer.input, [sequence, *others]), training=False)
        losses = keras.ops.convert_to_tensor(loss_fn(targets, outputs))
        if len(losses.shape) == 0 or losses.shape[0] != sequence.shape[0]:
            raise ValueError(
                f"`loss_fn` must return one loss per example, shape ({sequence.shape[0]},) or ({sequence.shape[0]}, "
                f"...); got shape {tuple(losses.shape)}. For a Keras loss, pass `reduction=None`."
            )
        per_example = tf.reduce_mean(tf.reshape(losses, (losses.shape[0], -1)), axis=1)  # (batch,)
        # Examples are independent in inference mode, so d(sum_i l_i)/dx_{i,t} = d l_i/dx_{i,t}.
        total = tf.reduce_sum(per_example)
    grads = tape.gradient(total, sequence, unconnected_gradients=tf.UnconnectedGradients.ZERO)  # (batch, time, feat)
    return np.linalg.norm(grads.numpy(), axis=-1).mean(axis=0)
