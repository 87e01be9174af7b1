"""Fused sequence kernels: a whole recurrent sequence as one op with a hand-written backward pass.

TensorFlow differentiates a ``tf.while_loop`` by pushing every intermediate of every step onto a
``TensorList`` in the forward pass and popping them in a generated backward loop, and the gradient of
the hoisted input projection is re-accumulated at every backward step (README, "Benchmark"). A fused
kernel replaces that with one ``tf.custom_gradient`` over the whole sequence: the forward loop saves
only what the backward pass needs, the backward loop computes ``dz_t`` (the gradient of the step's
pre-activations) and carries the state gradients back one step, and the recurrent-kernel gradient is
one matmul over ``(time*batch)`` after the loop.

Extension point: ``SEQUENCES`` maps a cell class (exactly: a subclass may change the step) to its
*sequence function*::

    fn(cell, projected, initial_state, mask, return_sequences, training) -> (outputs, final_states)

``projected`` is the time-major input projection ``x_t W + b`` ``(time, batch, G*units)`` in processing
order (already reversed for ``go_backwards``), ``initial_state`` a list, ``mask`` ``(time, batch, 1)``
bool or None. ``outputs`` is the *carried* first state at every step ``(time, batch, units)`` (None
unless ``return_sequences``) and ``final_states`` a list. :func:`rnn` does the rest (projection, time
order, Keras' masked-output rule), so a GRU or Elman kernel only writes its step and that step's
backward pass. Only :class:`zoo.cells.PeepholeLSTMCell` (with or without peepholes) has one so far.

In training the sequence function returns the ``tf.custom_gradient`` kernel; in inference it runs
the same forward loop without saving anything (faster, and a SavedModel cannot hold a gradient
function that captures the saved ``TensorList``s; TensorFlow differentiates the plain loop if a
caller asks, as ``zoo.analysis`` does). Only first derivatives are right: pass ``fused=False`` for
second derivatives. TensorFlow only, imported lazily, so ``import zoo`` works on JAX and PyTorch.
"""

from types import MappingProxyType

import keras

from zoo.cells.peephole_lstm import PeepholeLSTMCell

FUSED_MODES = ("auto", True, False)


def unsupported(layer, training=None):
    """Why ``layer`` (a :class:`zoo.layers.Recurrent`) cannot take the fused path, or None if it can.

    ``training=None`` asks about the layer's configuration; a bool asks about one call (recurrent
    dropout only acts in training).
    """
    cell = layer.cell
    if keras.backend.backend() != "tensorflow":
        return f"the fused path needs the TensorFlow backend; the active backend is {keras.backend.backend()}"
    if type(cell) not in SEQUENCES:
        known = ", ".join(sorted(c.__name__ for c in SEQUENCES))
        return f"no fused kernel for {type(cell).__name__} (fused cells: {known})"
    if not layer.hoist_inputs:
        return "hoist_inputs=False runs the cell's own call at every step"
    if layer.unroll:
        return "unroll=True"
    if cell.recurrent_dropout > 0 and training in (None, True):
        return f"recurrent_dropout={cell.recurrent_dropout} is applied inside the step"
    return None


def applies(layer, training):
    """Whether this call of ``layer`` takes the fused path (its ``fused`` is "auto" or True)."""
    return getattr(layer, "fused", False) is not False and unsupported(layer, training) is None


def rnn(layer, sequences, initial_state, mask=None, training=False):
    """The fused equivalent of ``keras.src.backend.rnn`` for ``layer``'s cell.

    ``sequences`` (batch, time, features) with the input dropout already applied; ``initial_state`` a
    list; ``mask`` (batch, time) or None. Returns ``(last_output, outputs, states)`` as the backend
    ``rnn`` does for ``layer``'s ``go_backwards``, ``zero_output_for_mask`` and ``return_sequences``:
    at a masked step the states are carried and the output is the previous step's output (zeros
    before the first unmasked step), or zeros with ``zero_output_for_mask``.
    """
    import tensorflow as tf

    cell = layer.cell
    x = tf.transpose(sequences, (1, 0, 2))  # (time, batch, features): cheaper to transpose than x W
    if layer.go_backwards:
        x = tf.reverse(x, [0])
    steps, batch = tf.shape(x)[0], tf.shape(x)[1]
    # One 2-D matmul, so that Grappler fuses the bias add into it (a 3-D tensordot reshapes in
    # between, and the add costs another pass over the (time, batch, G*units) result).
    projected = cell.project_inputs(tf.reshape(x, (-1, x.shape[-1])))
    projected = tf.reshape(projected, (steps, batch, projected.shape[-1]))  # (time, batch, G*units)
    states = [tf.cast(s, projected.dtype) for s in initial_state]
    if mask is not None:
        mask = tf.cast(mask, tf.bool)
        if mask.shape.rank == 3:
            mask = mask[..., 0]
        mask = tf.transpose(mask)[:, :, None]  # (time, batch, 1)
        if layer.go_backwards:
            mask = tf.reverse(mask, [0])
    sequence = SEQUENCES[type(cell)]
    outputs, final_states = sequence(cell, projected, states, mask, layer.return_sequences, bool(training))

    if mask is None:
        keep = None
    elif layer.zero_output_for_mask:
        keep = mask
    else:
        # Keras carries the previous *output* through a masked step, starting from zeros: the output
        # is the carried state once a step of that row has been unmasked, and zeros before.
        keep = tf.cumsum(tf.cast(mask, tf.int32), axis=0) > 0
    last = final_states[0]
    last_output = last if keep is None else tf.where(keep[-1], last, tf.zeros_like(last))
    if outputs is None:
        outputs = last_output[:, None]
    else:
        if keep is not None:
            outputs = tf.where(keep, outputs, tf.zeros_like(outputs))
        outputs = tf.transpose(outputs, (1, 0, 2))  # (batch, time, units)
    return last_output, outputs, final_states


def peephole_lstm_sequence(cell, projected, initial_state, mask, return_sequences, training):
    """Sequence function of :class:`zoo.cells.PeepholeLSTMCell` (with or without peepholes).

    Forward, for t = 1..T, with ``z_t = zx_t + h_{t-1} U`` split as (i, f, g, o)::

        i_t = σ(z_i + p_i ⊙ c_{t-1})    f_t = σ(z_f + p_f ⊙ c_{t-1})    g_t = tanh(z_g)
        c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
        o_t = σ(z_o + p_o ⊙ c_t)        h_t = o_t ⊙ tanh(c_t)

    and where the mask is False, ``h_t = h_{t-1}`` and ``c_t = c_{t-1}``. Saved for the backward
    pass: the gates ``i, f, g, o`` of each step and the carried ``h_t``, ``c_t`` of t = 0..T (``h_0``,
    ``c_0`` first, so that the previous and the current state come from one array).

    Backward, for t = T..1, with ``dh`` the gradient of the carried ``h_t`` (from the output at t
    plus the carry from t+1) and ``dc`` the carried gradient of ``c_t``::

        dz_o = dh ⊙ tanh(c_t) ⊙ o(1-o)
        dc  += dh ⊙ o ⊙ (1 - tanh²(c_t)) + dz_o ⊙ p_o
        dz_i = dc ⊙ g ⊙ i(1-i)      dz_f = dc ⊙ c_{t-1} ⊙ f(1-f)      dz_g = dc ⊙ i ⊙ (1-g²)
        dc_{t-1} = dc ⊙ f + dz_i ⊙ p_i + dz_f ⊙ p_f
        dh_{t-1} = dz_t Uᵀ

    where the mask is False, ``dz_t = 0`` and ``dh``, ``dc`` pass to t-1 unchanged. Then::

        d zx = DZ                      dU = H_prevᵀ DZ  (one (units, T*B) @ (T*B, 4*units) matmul)
        dp_i = Σ dz_i ⊙ c_{t-1}        dp_f = Σ dz_f ⊙ c_{t-1}        dp_o = Σ dz_o ⊙ c_t
        dh_0, dc_0 = the carries left after t = 1

    (the peephole sums are accumulated per row in the loop and summed over the batch after it). The
    kernel and the bias get their gradients from ``d zx`` through the input projection (autodiff).
    """
    import tensorflow as tf

    dtype = projected.dtype
    recurrent_kernel = tf.cast(cell.recurrent_kernel, dtype)
    peepholes = [tf.cast(getattr(cell, f"peephole_{gate}"), dtype) for gate in "ifo"] if cell.peepholes else []
    if not training:
        return _peephole_lstm_forward(projected, initial_state, recurrent_kernel, peepholes, mask, return_sequences)
    kernel = _peephole_lstm_kernel(mask, return_sequences)
    if return_sequences:
        sequence, h, c = kernel(projected, *initial_state, recurrent_kernel, *peepholes)
        return sequence, [h, c]
    h, c = kernel(projected, *initial_state, recurrent_kernel, *peepholes)
    return None, [h, c]


def _peephole_lstm_step(zx_t, h_tm1, c_tm1, U, p, m):
    """One masked step: ``(h_t, c_t, (i, f, g, o))``, each ``(batch, units)``."""
    import tensorflow as tf

    z = zx_t + tf.matmul(h_tm1, U)  # (batch, 4*units)
    z_i, z_f, z_g, z_o = tf.split(z, 4, axis=1)
    if p:
        z_i = z_i + p[0] * c_tm1
        z_f = z_f + p[1] * c_tm1
    i, f, g = tf.sigmoid(z_i), tf.sigmoid(z_f), tf.tanh(z_g)
    c = f * c_tm1 + i * g
    if p:
        z_o = z_o + p[2] * c
    o = tf.sigmoid(z_o)
    h = o * tf.tanh(c)
    if m is not None:
        h = tf.where(m, h, h_tm1)
        c = tf.where(m, c, c_tm1)
    return h, c, (i, f, g, o)


def _peephole_lstm_forward(zx, initial_state, U, p, mask, return_sequences):
    """The forward loop alone, for inference: ``(H or None, [h_T, c_T])``."""
    import tensorflow as tf

    h0, c0 = initial_state
    steps = tf.shape(zx)[0]
    # Read through a TensorArray rather than as views zx[t]: should a caller differentiate this loop,
    # each slice's gradient would be a zero-padded (time, batch, 4*units) tensor.
    zx_ta = tf.TensorArray(zx.dtype, size=steps, element_shape=zx.shape[1:]).unstack(zx)
    out_ta = [tf.TensorArray(zx.dtype, size=steps, element_shape=h0.shape)] if return_sequences else []

    def step(t, h, c, *out_ta):
        h, c, _ = _peephole_lstm_step(zx_ta.read(t), h, c, U, p, None if mask is None else mask[t])
        return (t + 1, h, c, *(ta.write(t, h) for ta in out_ta))

    _, h, c, *out_ta = tf.while_loop(
        lambda t, *_: t < steps, step, (tf.constant(0), h0, c0, *out_ta), parallel_iterations=32
    )
    return (out_ta[0].stack() if return_sequences else None), [h, c]


def _peephole_lstm_kernel(mask, return_sequences):
    """The ``tf.custom_gradient`` function of one call: ``(zx, h0, c0, U, *p) -> ([H,] h_T, c_T)``."""
    import tensorflow as tf

    def sigmoid_grad(y, dy):  # dy ⊙ y(1-y), one op
        return tf.raw_ops.SigmoidGrad(y=y, dy=dy)

    def tanh_grad(y, dy):  # dy ⊙ (1-y²), one op
        return tf.raw_ops.TanhGrad(y=y, dy=dy)

    def saved(dtype, size, shape):
        # Read back by the backward pass (each c_t twice: as c_t and as c_{t-1}); in a graph these
        # reads are views, so the saved arrays are never stacked (copied).
        return tf.TensorArray(dtype, size=size, element_shape=shape, clear_after_read=False)

    @tf.custom_gradient
    def kernel(zx, h0, c0, U, *p):
        steps = tf.shape(zx)[0]
        dtype = zx.dtype
        gates_ta = [saved(dtype, steps, h0.shape) for _ in range(4)]  # i, f, g, o: no concat, no split
        h_ta = saved(dtype, steps + 1, h0.shape).write(0, h0)
        c_ta = saved(dtype, steps + 1, c0.shape).write(0, c0)

        def step(t, h, c, gates_ta, h_ta, c_ta):
            # zx[t] is a view of the leading axis, not a copy.
            h, c, gates = _peephole_lstm_step(zx[t], h, c, U, p, None if mask is None else mask[t])
            gates_ta = [ta.write(t, gate) for ta, gate in zip(gates_ta, gates)]
            return t + 1, h, c, gates_ta, h_ta.write(t + 1, h), c_ta.write(t + 1, c)

        _, h, c, gates_ta, h_ta, c_ta = tf.while_loop(
            lambda t, *_: t < steps,
            step,
            (tf.constant(0), h0, c0, gates_ta, h_ta, c_ta),
            parallel_iterations=32,
        )
        hs = h_ta.stack()  # (time+1, batch, units): h_0 .. h_T, for dU and the outputs

        def grad(*upstream):
            if return_sequences:
                d_sequence, dh_T, dc_T = upstream
            else:
                d_sequence, (dh_T, dc_T) = None, upstream
            dh_T = tf.zeros_like(h) if dh_T is None else dh_T  # None where an output is unused
            dc_T = tf.zeros_like(c) if dc_T is None else dc_T
            dz_ta = tf.TensorArray(dtype, size=steps, element_shape=zx.shape[1:])
            zero = tf.zeros_like(h)
            U_t = tf.transpose(U)  # dz @ Uᵀ measured ~25% faster than matmul(dz, U, transpose_b=True)
            dp0 = (zero, zero, zero) if p else ()  # per-row peephole sums

            def back(t, dh, dc, dz_ta, *dp):
                if d_sequence is not None:
                    dh = dh + d_sequence[t]
                i, f, g, o = (ta.read(t) for ta in gates_ta)
                c_tm1, c_t = c_ta.read(t), c_ta.read(t + 1)
                if mask is not None:
                    m = mask[t]
                    dh_skip, dc_skip = tf.where(m, zero, dh), tf.where(m, zero, dc)
                    dh, dc = tf.where(m, dh, zero), tf.where(m, dc, zero)
                tanh_c = tf.tanh(c_t)
                dz_o = sigmoid_grad(o, dh * tanh_c)
                dc = dc + tanh_grad(tanh_c, dh * o)
                if p:
                    dc = dc + dz_o * p[2]
                dz_i = sigmoid_grad(i, dc * g)
                dz_f = sigmoid_grad(f, dc * c_tm1)
                dz_g = tanh_grad(g, dc * i)
                dc_tm1 = dc * f
                if p:
                    dc_tm1 = dc_tm1 + dz_i * p[0] + dz_f * p[1]
                    dp = (dp[0] + dz_i * c_tm1, dp[1] + dz_f * c_tm1, dp[2] + dz_o * c_t)
                dz = tf.concat([dz_i, dz_f, dz_g, dz_o], axis=1)
                dh_tm1 = tf.matmul(dz, U_t)
                if mask is not None:
                    dh_tm1, dc_tm1 = dh_tm1 + dh_skip, dc_tm1 + dc_skip
                return (t - 1, dh_tm1, dc_tm1, dz_ta.write(t, dz), *dp)

            _, dh0, dc0, dz_ta, *dp = tf.while_loop(
                lambda t, *_: t >= 0,
                back,
                (steps - 1, dh_T, dc_T, dz_ta, *dp0),
                parallel_iterations=32,
            )
            dz = dz_ta.stack()  # (time, batch, 4*units); zero at masked steps
            units = U.shape[0]
            h_prev = tf.reshape(hs[:-1], (-1, units))  # hs[:-1] is a view
            dU = tf.matmul(h_prev, tf.reshape(dz, (-1, 4 * units)), transpose_a=True)
            return (dz, dh0, dc0, dU, *(tf.reduce_sum(d, axis=0) for d in dp))

        if return_sequences:
            return (hs[1:], h, c), grad
        return (h, c), grad

    return kernel


# The extension point (see the module docstring): cell class -> sequence function.
SEQUENCES = MappingProxyType({PeepholeLSTMCell: peephole_lstm_sequence})
