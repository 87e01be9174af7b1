import keras
from keras import ops

from zoo.cells.base import ZooCell
from zoo.validation import one_of

_ACTIVATIONS = ("tanh", "relu")


@keras.saving.register_keras_serializable(package="zoo")
class ElmanCell(ZooCell):
    """Elman's simple recurrent cell (Elman 1990, "Finding structure in time").

    ```
    h_t = act(x_t W + h_{t-1} U + b)
    ```
    Weights: ``kernel`` W (input_dim, units), ``recurrent_kernel`` U
    (units, units), ``bias`` b (units,): the layout of
    ``keras.layers.SimpleRNNCell``, so weights transfer with ``set_weights``.

    Args:
        units: positive int, size of the hidden state.
        activation: "tanh" (default) or "relu".
        **kwargs: see :class:`zoo.cells.base.ZooCell` (initializers,
            regularizers, dropout, recurrent_dropout, seed).

    Example:
    ```python
    layer = zoo.layers.Recurrent(zoo.cells.ElmanCell(32), return_sequences=True)
    y = layer(np.zeros((8, 10, 4)))  # (8, 10, 32)
    ```
    """

    gates = 1

    def __init__(self, units, activation="tanh", **kwargs):
        super().__init__(units, **kwargs)
        self.activation = one_of("activation", activation, _ACTIVATIONS)
        self._act = ops.tanh if activation == "tanh" else ops.relu

    def step(self, projected, states, training=False):
        h_tm1 = self.recurrent_input(states[0], training)
        h = self._act(projected + ops.matmul(h_tm1, self.recurrent_kernel))  # (batch, units)
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "activation": self.activation}
