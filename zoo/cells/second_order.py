import keras
from keras import ops

from zoo.cells.base import ZooCell
from zoo.validation import one_of, positive_int

_ACTIVATIONS = ("tanh", "sigmoid")


@keras.saving.register_keras_serializable(package="zoo")
class SecondOrderCell(ZooCell):
    """Second-order recurrent cell (Giles et al. 1992), full or factorised (Sutskever et al. 2011).

    The input selects the recurrent transition: each x_t gives its own matrix.
    Full tensor form (Giles et al. 1992, "Learning and extracting finite state
    automata with second-order recurrent neural networks"), ``rank=None``:
    ```
    h_t,i = φ(Σ_jk W_ijk x_t,j h_{t-1},k + b_i)
          = φ(h_{t-1} M_t + b)_i    with M_t = Σ_j x_t,j W_j   (units, units)
    ```
    Factorised form (Sutskever, Martens & Hinton 2011, "Generating text with
    recurrent neural networks", the multiplicative RNN), ``rank=r``:
    ```
    m_t = (x_t W_mx) ⊙ (h_{t-1} W_mh)               (batch, r)
    h_t = φ(m_t W_hm + x_t W_hx + b)
    ```
    Weights, full form: ``kernel`` (input_dim, units*units) with
    ``kernel[j, k*units + i] = W_ijk`` (row k of M_t is the block
    ``k*units:(k+1)*units``), and ``bias`` b (units,); there is no
    ``recurrent_kernel``. Factorised form: ``kernel`` (input_dim, rank + units)
    = ``[W_mx | W_hx]``, ``recurrent_kernel`` W_mh (units, rank),
    ``factor_output_kernel`` W_hm (rank, units), ``bias`` b (units,).

    Everything that depends on x_t alone is :meth:`project_inputs`: ``x_t W``
    (the flattened M_t) in the full form, ``[x_t W_mx | x_t W_hx + b]`` in the
    factorised one, which ``Recurrent`` hoists out of the time loop where that
    is faster (``hoist_inputs``). Memory: the full form has input_dim*units²
    weights and a hoisted projection is (batch, time, units²) floats (about
    52 MB at batch 32, 100 steps, 64 units; 16x that at 256 units), so it is
    meant for small state sizes (grammar induction, automata); use ``rank``
    for larger ones, or ``Recurrent(..., hoist_inputs=False)`` (the default
    path on TensorFlow and JAX) to hold one step's M_t at a time.

    Start state: from h_0 = 0 the full form's bilinear term vanishes, so
    h_1 = φ(b). With tanh and the default zero bias an untrained cell outputs
    exactly 0 and the first update reaches only b (with ``use_bias=False``
    the output stays 0 for ever). Giles et al. start from a one-hot state
    (one state unit at 1): pass such an ``initial_state`` to the layer, or
    use ``Recurrent(..., initial_state="learned")``, whose h_0 gets a gradient.

    Args:
        units: positive int, size of the hidden state.
        rank: None (default) for the full tensor, or a positive int r, the
            number of factors of the factorised form.
        activation: φ, "tanh" (default) or "sigmoid" (as Giles et al.).
        factor_output_initializer, factor_output_regularizer: of W_hm
            (factorised form only).
        **kwargs: see :class:`zoo.cells.base.ZooCell` (initializers and
            regularizers of kernel, recurrent_kernel (W_mh) and bias,
            dropout, recurrent_dropout, seed).

    Example:
    ```python
    full = zoo.layers.Recurrent(zoo.cells.SecondOrderCell(8))(np.zeros((4, 10, 3)))  # (4, 8)
    mrnn = zoo.layers.Recurrent(zoo.cells.SecondOrderCell(256, rank=256))(np.zeros((4, 10, 64)))  # (4, 256)
    ```
    """

    def __init__(
        self,
        units,
        rank=None,
        activation="tanh",
        factor_output_initializer="glorot_uniform",
        factor_output_regularizer=None,
        **kwargs,
    ):
        super().__init__(units, **kwargs)
        self.rank = None if rank is None else positive_int("rank", rank)
        self.activation = one_of("activation", activation, _ACTIVATIONS)
        self._act = ops.tanh if activation == "tanh" else ops.sigmoid
        self.factor_output_initializer = keras.initializers.get(factor_output_initializer)
        self.factor_output_regularizer = keras.regularizers.get(factor_output_regularizer)

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"{type(self).__name__} needs a known input feature size; got input_shape={input_shape}.")
        u, r = self.units, self.rank
        self.kernel = self.add_weight(
            shape=(input_dim, u * u if r is None else r + u),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.recurrent_kernel = self.factor_output_kernel = None
        if r is not None:
            self.recurrent_kernel = self.add_weight(
                shape=(u, r),
                name="recurrent_kernel",
                initializer=self.recurrent_initializer,
                regularizer=self.recurrent_regularizer,
            )
            self.factor_output_kernel = self.add_weight(
                shape=(r, u),
                name="factor_output_kernel",
                initializer=self.factor_output_initializer,
                regularizer=self.factor_output_regularizer,
            )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(u,), name="bias", initializer=self.bias_initializer, regularizer=self.bias_regularizer
            )

    def input_bias(self):
        if self.bias is None or self.rank is None:
            return None  # the full form adds b after the bilinear term, in step
        return ops.pad(self.bias, [[self.rank, 0]])  # (rank + units,): [0 | b]

    def step(self, projected, states, training=False):
        h_in = self.recurrent_input(states[0], training)
        if self.rank is None:
            m = ops.reshape(projected, (-1, self.units, self.units))  # M_t (batch, units_k, units_i)
            pre = ops.einsum("bk,bki->bi", h_in, m)
            if self.bias is not None:
                pre = pre + self.bias
        else:
            x_m, x_h = ops.split(projected, [self.rank], axis=-1)  # (batch, rank), (batch, units) with b
            m = x_m * ops.matmul(h_in, self.recurrent_kernel)  # (batch, rank)
            pre = ops.matmul(m, self.factor_output_kernel) + x_h
        h = self._act(pre)  # (batch, units)
        return h, [h]

    def get_config(self):
        return {
            **super().get_config(),
            "rank": self.rank,
            "activation": self.activation,
            "factor_output_initializer": keras.initializers.serialize(self.factor_output_initializer),
            "factor_output_regularizer": keras.regularizers.serialize(self.factor_output_regularizer),
        }
