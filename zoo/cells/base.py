"""The contract every zoo cell shares: Keras' cell API plus a split of each step.

A step of a gated recurrent cell computes ``x_t W + h_{t-1} U + b`` and then
gate nonlinearities. The ``x_t W + b`` part does not depend on the previous
state, so :class:`zoo.layers.Recurrent` computes it for all time steps at once
with :meth:`ZooCell.project_inputs` (one large matmul) and runs only
:meth:`ZooCell.step` inside the time loop. ``call`` composes the two, so the
cell also works unchanged inside ``keras.layers.RNN``.
"""

import keras
from keras import ops
from keras import tree

# Keras' RNN layer pre-creates and clears the dropout masks of cells that
# inherit this mixin (``RNN._maybe_config_dropout_masks``); it is not exported
# under ``keras.layers`` but every built-in cell uses it.
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell

from zoo.validation import one_of, positive_int, rate

DROPOUT_MASKS = ("shared", "per_gate")


class ZooCell(keras.layers.Layer, DropoutRNNCell):
    """Base of the zoo cells: weights ``kernel`` (input_dim, G*units),
    ``recurrent_kernel`` (units, G*units) and ``bias``, Keras' layout.

    Subclasses set ``gates`` (G) and implement :meth:`step`; they may override
    :meth:`bias_shape`, :meth:`input_bias` and :meth:`build` for extra weights.

    Args:
        units: positive int, dimensionality of the hidden state.
        use_bias: whether the cell has a bias vector.
        kernel_initializer, recurrent_initializer, bias_initializer:
            initializers for the three weights (Keras' defaults).
        kernel_regularizer, recurrent_regularizer, bias_regularizer: optional.
        kernel_constraint, recurrent_constraint, bias_constraint: optional
            constraints the optimizer applies to the three weights after each
            update (Keras' meaning).
        dropout: rate in [0, 1) of the dropout applied to the inputs; one
            mask per sequence, shared by every time step (Gal & Ghahramani 2016).
        recurrent_dropout: rate in [0, 1) of the dropout applied to h_{t-1}.
        seed: seed of the dropout masks.
        dropout_masks: "shared" (default): one input mask and one recurrent
            mask, seen by every gate; "per_gate": one mask per gate for each,
            Keras' convention for GRUCell and LSTMCell when recurrent_dropout
            > 0 (Keras then runs its ``implementation=1``; with
            recurrent_dropout = 0 Keras shares one input mask, as "shared"
            does). Only cells with several gates (GRU, LSTM) accept "per_gate".
    """

    gates = 1

    def __init__(
        self,
        units,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        dropout_masks="shared",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = positive_int("units", units)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = keras.regularizers.get(recurrent_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.recurrent_constraint = keras.constraints.get(recurrent_constraint)
        self.bias_constraint = keras.constraints.get(bias_constraint)
        self.dropout = rate("dropout", dropout)
        self.recurrent_dropout = rate("recurrent_dropout", recurrent_dropout)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)
        self.dropout_masks = one_of("dropout_masks", dropout_masks, DROPOUT_MASKS if self.gates > 1 else ("shared",))
        if self.dropout_masks == "per_gate":
            # Read by DropoutRNNCell: it then draws a list of `gates` masks, in Keras' order.
            self.dropout_mask_count = self.gates

    @property
    def state_size(self):
        return self.units

    @property
    def output_size(self):
        return self.units

    def bias_shape(self):
        return (self.gates * self.units,)

    def make_bias_initializer(self):
        return self.bias_initializer

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"{type(self).__name__} needs a known input feature size; got input_shape={input_shape}.")
        g = self.gates * self.units
        self.kernel = self.add_weight(
            shape=(input_dim, g),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, g),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=self.bias_shape(),
                name="bias",
                initializer=self.make_bias_initializer(),
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    def input_bias(self):
        """The part of the bias added to the input projection (None if none)."""
        return self.bias

    def project_inputs(self, inputs, training=False):
        """x W + b for inputs of any leading shape: (..., input_dim) -> (..., G*units).

        In training the input dropout mask of the current sequence is applied
        first (for a whole sequence (batch, time, input_dim), the same mask at
        every step).
        """
        mask = None
        if training and self.dropout > 0:
            first_step = inputs[:, 0, :] if len(inputs.shape) == 3 else inputs
            mask = self.get_dropout_mask(first_step)  # (batch, input_dim), or one per gate
            if len(inputs.shape) == 3:
                mask = tree.map_structure(lambda m: ops.expand_dims(m, 1), mask)
        z = self.gate_matmul(inputs if mask is None else tree.map_structure(lambda m: inputs * m, mask), self.kernel)
        b = self.input_bias()
        # ops.add, not `+`: on TensorFlow it adds a vector bias with BiasAdd, which TensorFlow fuses into the
        # MatMul before it (as keras.layers.SimpleRNNCell does); `+` is an AddV2 and a Sum in the gradient.
        return z if b is None else ops.add(z, b)

    def recurrent_input(self, h_tm1, training):
        """h_{t-1} with the recurrent dropout mask applied in training: one
        tensor, or a list of one per gate with ``dropout_masks="per_gate"``."""
        if training and self.recurrent_dropout > 0:
            mask = self.get_recurrent_dropout_mask(h_tm1)
            return tree.map_structure(lambda m: h_tm1 * m, mask)
        return h_tm1

    @staticmethod
    def gate_matmul(x, kernel):
        """x @ kernel, where x is one tensor or a list of one per gate block of the kernel's columns."""
        if not isinstance(x, list):
            return ops.matmul(x, kernel)
        blocks = ops.split(kernel, len(x), axis=-1)
        return ops.concatenate([ops.matmul(x_g, k_g) for x_g, k_g in zip(x, blocks)], axis=-1)

    def step(self, projected, states, training=False):
        """One time step given the projected input ``x_t W + b`` (batch, G*units)."""
        raise NotImplementedError

    def call(self, inputs, states, training=False):
        return self.step(self.project_inputs(inputs, training=training), states, training=training)

    def get_initial_state(self, batch_size=None):
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        return [ops.zeros((batch_size, s), dtype=self.compute_dtype) for s in sizes]

    def get_config(self):
        config = {
            "units": self.units,
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": keras.regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": keras.constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": keras.constraints.serialize(self.recurrent_constraint),
            "bias_constraint": keras.constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
            "dropout_masks": self.dropout_masks,
        }
        return {**super().get_config(), **config}
