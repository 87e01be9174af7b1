import keras
from keras import ops

from zoo.cells.base import ZooCell


@keras.saving.register_keras_serializable(package="zoo")
class PeepholeLSTMCell(ZooCell):
    """LSTM cell with peephole connections.

    Hochreiter & Schmidhuber 1997 ("Long short-term memory") with the forget
    gate of Gers, Schmidhuber & Cummins 2000 and the peepholes of Gers &
    Schmidhuber 2000 ("Recurrent nets that time and count"; Gers, Schraudolph
    & Schmidhuber 2002); σ is ``recurrent_activation`` (default sigmoid), φ is
    ``activation`` (default tanh):
    ```
    i_t = σ(x_t W_i + h_{t-1} U_i + p_i ⊙ c_{t-1} + b_i)
    f_t = σ(x_t W_f + h_{t-1} U_f + p_f ⊙ c_{t-1} + b_f)
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ φ(x_t W_c + h_{t-1} U_c + b_c)
    o_t = σ(x_t W_o + h_{t-1} U_o + p_o ⊙ c_t + b_o)    # the NEW cell state
    h_t = o_t ⊙ φ(c_t)
    ```
    Weights (gate order i, f, c, o, as ``keras.layers.LSTMCell``): ``kernel``
    (input_dim, 4*units), ``recurrent_kernel`` (units, 4*units), ``bias``
    (4*units,), and with peepholes the vectors ``peephole_i``, ``peephole_f``,
    ``peephole_o`` of shape (units,). States are ``[h, c]``. With
    ``peepholes=False`` and the same weights the cell equals
    ``keras.layers.LSTMCell`` with the same activations; in training with
    ``recurrent_dropout > 0`` only with ``dropout_masks="per_gate"`` (the
    default shares one mask between gates).

    Args:
        units: positive int, size of h and c.
        activation: φ, any Keras activation (default "tanh").
        recurrent_activation: σ of the gates, any Keras activation
            (default "sigmoid").
        peepholes: whether the gates see the cell state (default True).
        unit_forget_bias: add 1 to the forget-gate bias at initialisation
            (Jozefowicz et al. 2015), as Keras does by default.
        peephole_initializer: initializer of the peephole vectors.
        **kwargs: see :class:`zoo.cells.base.ZooCell` (initializers,
            regularizers, constraints, dropout, recurrent_dropout,
            dropout_masks, seed).

    Example:
    ```python
    cell = zoo.cells.PeepholeLSTMCell(64)
    y = zoo.layers.Recurrent(cell)(np.zeros((8, 10, 4)))  # (8, 64)
    ```
    """

    gates = 4

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        peepholes=True,
        unit_forget_bias=True,
        peephole_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(units, **kwargs)
        self.activation = keras.activations.get(activation)
        self.recurrent_activation = keras.activations.get(recurrent_activation)
        self.peepholes = bool(peepholes)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.peephole_initializer = keras.initializers.get(peephole_initializer)

    @property
    def state_size(self):
        return [self.units, self.units]

    def make_bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        u, base = self.units, self.bias_initializer

        def initializer(shape, dtype=None):
            return ops.concatenate(
                [base((u,), dtype=dtype), ops.ones((u,), dtype=dtype), base((2 * u,), dtype=dtype)]
            )

        return initializer

    def build(self, input_shape):
        super().build(input_shape)
        if self.peepholes:
            for gate in "ifo":
                weight = self.add_weight(shape=(self.units,), name=f"peephole_{gate}", initializer=self.peephole_initializer)
                setattr(self, f"peephole_{gate}", weight)

    def step(self, projected, states, training=False):
        h_tm1, c_tm1 = states[0], states[1]
        z = projected + self.gate_matmul(self.recurrent_input(h_tm1, training), self.recurrent_kernel)  # (batch, 4*units)
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
        if self.peepholes:
            z_i = z_i + self.peephole_i * c_tm1
            z_f = z_f + self.peephole_f * c_tm1
        sigma, phi = self.recurrent_activation, self.activation
        c = sigma(z_f) * c_tm1 + sigma(z_i) * phi(z_c)
        if self.peepholes:
            z_o = z_o + self.peephole_o * c
        h = sigma(z_o) * phi(c)
        return h, [h, c]

    def get_config(self):
        return {
            **super().get_config(),
            "activation": keras.activations.serialize(self.activation),
            "recurrent_activation": keras.activations.serialize(self.recurrent_activation),
            "peepholes": self.peepholes,
            "unit_forget_bias": self.unit_forget_bias,
            "peephole_initializer": keras.initializers.serialize(self.peephole_initializer),
        }
