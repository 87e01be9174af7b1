"""NumPy references written from the published equations (not from zoo's code).

Weight layout as in the issue and Keras: W (input_dim, G*units), U (units, G*units),
gate blocks along the last axis in the documented order.
"""

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def gates(m, n):
    """Split the last axis of m into n equal gate blocks."""
    return np.split(m, n, axis=-1)


def elman_step(x, states, W, U, b, activation="tanh"):
    """Elman 1990: h_t = act(x_t W + h_{t-1} U + b)."""
    (h,) = states
    pre = x @ W + h @ U + b
    h = np.tanh(pre) if activation == "tanh" else np.maximum(pre, 0.0)
    return h, [h]


def lstm_step(x, states, W, U, b, p_i=None, p_f=None, p_o=None, output_peephole_on_old_state=False):
    """Peephole LSTM, gate order i, f, c, o:
    i = σ(xW_i + hU_i + p_i⊙c_{t-1} + b_i); f = σ(xW_f + hU_f + p_f⊙c_{t-1} + b_f)
    c_t = f⊙c_{t-1} + i⊙tanh(xW_c + hU_c + b_c); o = σ(xW_o + hU_o + p_o⊙c_t + b_o); h = o⊙tanh(c_t).
    Peepholes None = the plain LSTM. `output_peephole_on_old_state` computes the
    (wrong) variant with p_o⊙c_{t-1}, to show that tests can tell them apart.
    """
    h, c = states
    W_i, W_f, W_c, W_o = gates(W, 4)
    U_i, U_f, U_c, U_o = gates(U, 4)
    b_i, b_f, b_c, b_o = gates(b, 4)
    peep = p_i is not None
    i = sigmoid(x @ W_i + h @ U_i + (p_i * c if peep else 0.0) + b_i)
    f = sigmoid(x @ W_f + h @ U_f + (p_f * c if peep else 0.0) + b_f)
    c_new = f * c + i * np.tanh(x @ W_c + h @ U_c + b_c)
    c_seen = c if output_peephole_on_old_state else c_new
    o = sigmoid(x @ W_o + h @ U_o + (p_o * c_seen if peep else 0.0) + b_o)
    h_new = o * np.tanh(c_new)
    return h_new, [h_new, c_new]


def gru_step(x, states, W, U, b, reset_after):
    """GRU (Cho et al. 2014), gate order z, r, h; h_t = z⊙h_{t-1} + (1−z)⊙ĥ_t.
    reset_after=False: ĥ = tanh(xW_h + (r⊙h_{t-1})U_h + b_h), b shape (3u,).
    reset_after=True:  ĥ = tanh(xW_h + b_h + r⊙(h_{t-1}U_h + b'_h)), b shape (2, 3u).
    """
    (h,) = states
    W_z, W_r, W_h = gates(W, 3)
    U_z, U_r, U_h = gates(U, 3)
    if reset_after:
        b_in, b_rec = b[0], b[1]
    else:
        b_in, b_rec = b, np.zeros_like(b)
    bi_z, bi_r, bi_h = gates(b_in, 3)
    br_z, br_r, br_h = gates(b_rec, 3)
    z = sigmoid(x @ W_z + bi_z + h @ U_z + br_z)
    r = sigmoid(x @ W_r + bi_r + h @ U_r + br_r)
    if reset_after:
        hh = np.tanh(x @ W_h + bi_h + r * (h @ U_h + br_h))
    else:
        hh = np.tanh(x @ W_h + bi_h + (r * h) @ U_h)
    h_new = z * h + (1.0 - z) * hh
    return h_new, [h_new]


def run_sequence(step, xs, states, mask=None, go_backwards=False):
    """Run `step(x_t, states) -> (output, states)` over xs (batch, time, features).

    Masked steps (mask[b, t] False) leave that sample's states unchanged and
    repeat its previous output (zeros before the first step), as Keras' RNN does.
    With go_backwards, time is processed from the end and outputs are in
    processing order. Returns (outputs (batch, time, units), final states).
    """
    xs = np.asarray(xs)
    batch, time = xs.shape[:2]
    mask = np.ones((batch, time), bool) if mask is None else np.asarray(mask, bool)
    order = range(time - 1, -1, -1) if go_backwards else range(time)
    states = [np.array(s, dtype=np.float64) for s in states]
    prev_out = None
    outputs = []
    for t in order:
        out, new_states = step(xs[:, t], states)
        if prev_out is None:
            prev_out = np.zeros_like(out)
        keep = mask[:, t][:, None]
        out = np.where(keep, out, prev_out)
        states = [np.where(keep, n, s) for n, s in zip(new_states, states)]
        prev_out = out
        outputs.append(out)
    return np.stack(outputs, axis=1), states


def onnx_recurrent(op, xs, W, R, B, P=None, initial_h=None, initial_c=None, linear_before_reset=0, activation="Tanh"):
    """ONNX's RNN, GRU and LSTM operators (onnx.ai/onnx/operators, opset 14 docs), one forward direction,
    written from their equations in ONNX's own layout: xs (time, batch, input), W (G*units, input),
    R (G*units, units), B (2*G*units,) = [Wb; Rb], P (3*units,) peepholes [i; o; f].

    RNN:  H_t = f(X_t W^T + H_{t-1} R^T + Wb + Rb)
    GRU (gates z, r, h):
          z = σ(X_t Wz^T + H_{t-1} Rz^T + Wbz + Rbz); r = σ(X_t Wr^T + H_{t-1} Rr^T + Wbr + Rbr)
          linear_before_reset=0: h = tanh(X_t Wh^T + (r ⊙ H_{t-1}) Rh^T + Rbh + Wbh)
          linear_before_reset=1: h = tanh(X_t Wh^T + r ⊙ (H_{t-1} Rh^T + Rbh) + Wbh)
          H_t = (1 - z) ⊙ h + z ⊙ H_{t-1}
    LSTM (gates i, o, f, c):
          i = σ(X_t Wi^T + H_{t-1} Ri^T + Pi ⊙ C_{t-1} + Wbi + Rbi); f = σ(... Pf ⊙ C_{t-1} ...)
          c = tanh(X_t Wc^T + H_{t-1} Rc^T + Wbc + Rbc); C_t = f ⊙ C_{t-1} + i ⊙ c
          o = σ(X_t Wo^T + H_{t-1} Ro^T + Po ⊙ C_t + Wbo + Rbo); H_t = o ⊙ tanh(C_t)
    Returns (Y (time, batch, units), H_T, C_T or None).
    """
    units = R.shape[1]
    g = W.shape[0] // units
    Wb, Rb = B[: g * units], B[g * units :]
    h = np.zeros((xs.shape[1], units)) if initial_h is None else initial_h
    c = np.zeros_like(h) if initial_c is None else initial_c
    ys = []
    for x in xs:
        xw = np.split(x @ W.T + Wb, g, axis=-1)
        hr = np.split(h @ R.T, g, axis=-1)
        rb = np.split(Rb, g)
        if op == "RNN":
            pre = xw[0] + hr[0] + rb[0]
            h = np.tanh(pre) if activation == "Tanh" else np.maximum(pre, 0.0)
        elif op == "GRU":
            z = sigmoid(xw[0] + hr[0] + rb[0])
            r = sigmoid(xw[1] + hr[1] + rb[1])
            if linear_before_reset:
                hh = np.tanh(xw[2] + r * (hr[2] + rb[2]))
            else:
                hh = np.tanh(xw[2] + (r * h) @ np.split(R, 3)[2].T + rb[2])
            h = (1 - z) * hh + z * h
        else:
            p_i, p_o, p_f = np.split(np.zeros(3 * units) if P is None else P, 3)
            i = sigmoid(xw[0] + hr[0] + rb[0] + p_i * c)
            f = sigmoid(xw[2] + hr[2] + rb[2] + p_f * c)
            c = f * c + i * np.tanh(xw[3] + hr[3] + rb[3])
            o = sigmoid(xw[1] + hr[1] + rb[1] + p_o * c)
            h = o * np.tanh(c)
        ys.append(h)
    return np.stack(ys), h, (c if op == "LSTM" else None)
