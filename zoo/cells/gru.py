import keras
from keras import ops

from zoo.cells.base import ZooCell


@keras.saving.register_keras_serializable(package="zoo")
class GRUCell(ZooCell):
    """Gated recurrent unit (Cho et al. 2014, "Learning phrase representations
    using RNN encoder-decoder for statistical machine translation").

    Gate order z (update), r (reset), h (candidate), as ``keras.layers.GRUCell``;
    σ is ``recurrent_activation`` (default sigmoid), φ is ``activation``
    (default tanh):
    ```
    z_t = σ(x_t W_z + h_{t-1} U_z + b_z)
    r_t = σ(x_t W_r + h_{t-1} U_r + b_r)
    reset_after=False (Cho et al.):  ĥ_t = φ(x_t W_h + (r_t ⊙ h_{t-1}) U_h + b_h)
    reset_after=True  (cuDNN):       ĥ_t = φ(x_t W_h + b_h + r_t ⊙ (h_{t-1} U_h + b'_h))
    h_t = z_t ⊙ h_{t-1} + (1 − z_t) ⊙ ĥ_t
    ```
    With the same weights the cell equals ``keras.layers.GRUCell`` with the
    same ``activation``, ``recurrent_activation`` and ``reset_after``; in
    training with ``recurrent_dropout > 0`` only with
    ``dropout_masks="per_gate"`` (the default shares one mask between gates).
    Weights: ``kernel`` (input_dim, 3*units), ``recurrent_kernel``
    (units, 3*units), ``bias`` (3*units,) or, with ``reset_after=True``,
    (2, 3*units): row 0 the input bias, row 1 the recurrent bias b'.

    Args:
        units: positive int, size of the hidden state.
        activation: φ, any Keras activation (default "tanh").
        recurrent_activation: σ of the gates, any Keras activation
            (default "sigmoid").
        reset_after: the convention above (default True, as Keras).
        **kwargs: see :class:`zoo.cells.base.ZooCell` (initializers,
            regularizers, constraints, dropout, recurrent_dropout,
            dropout_masks, seed).

    Example:
    ```python
    y = zoo.layers.Recurrent(zoo.cells.GRUCell(32))(np.zeros((8, 10, 4)))  # (8, 32)
    ```
    """

    gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", reset_after=True, **kwargs):
        super().__init__(units, **kwargs)
        self.activation = keras.activations.get(activation)
        self.recurrent_activation = keras.activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)

    def bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def input_bias(self):
        if self.bias is None or not self.reset_after:
            return self.bias
        return self.bias[0]

    def step(self, projected, states, training=False):
        # ops.split rather than slicing: its gradient is one concat, where each
        # slice's gradient pads back to full width (measured ~2x slower).
        h_tm1 = states[0]
        h_in = self.recurrent_input(h_tm1, training)  # one tensor, or (h_z, h_r, h_h) with per-gate masks
        h_zr, h_h = (h_in[:2], h_in[2]) if isinstance(h_in, list) else (h_in, h_in)
        u = self.units
        x_zr, x_h = ops.split(projected, [2 * u], axis=-1)
        if self.reset_after:
            rec = self.gate_matmul(h_in, self.recurrent_kernel)  # (batch, 3*units)
            if self.bias is not None:
                rec = rec + self.bias[1]
            rec_zr, rec_h = ops.split(rec, [2 * u], axis=-1)
            z, r = ops.split(self.recurrent_activation(x_zr + rec_zr), 2, axis=-1)
            hh = self.activation(x_h + r * rec_h)
        else:
            u_zr, u_h = ops.split(self.recurrent_kernel, [2 * u], axis=-1)
            z, r = ops.split(self.recurrent_activation(x_zr + self.gate_matmul(h_zr, u_zr)), 2, axis=-1)
            hh = self.activation(x_h + ops.matmul(r * h_h, u_h))
        h = z * h_tm1 + (1.0 - z) * hh
        return h, [h]

    def get_config(self):
        return {
            **super().get_config(),
            "activation": keras.activations.serialize(self.activation),
            "recurrent_activation": keras.activations.serialize(self.recurrent_activation),
            "reset_after": self.reset_after,
        }
