"""Scoring and sampling with character language models (plain TensorFlow graphs, exportable).

Everything here works on an ``inference_model`` (``(ids, *states) -> (logits, *states)``, see
``zoo.models.generator``), so the same functions serve training-time evaluation, the Python API and
the exported SavedModel's ``generate`` and ``score`` signatures.
"""

import keras
import numpy as np
import tensorflow as tf

from zoo.backend import require_tensorflow
from zoo.models.generator import inference_model, reset_states

MAX_LENGTH = 100_000  # longest continuation one call may ask for (guards against runaway loops)


def zero_states(infer, batch_size):
    """Zero initial states for ``infer`` (an inference model) at ``batch_size``."""
    return [tf.zeros(tf.stack([batch_size, spec.shape[-1]])) for spec in infer.inputs[1:]]


def stream_logits(infer, ids, chunk=2048):
    """The logits (float32 (n-1, vocabulary)) that predict ids[1:] from the characters before them, the
    whole sequence as one stream: fed ``chunk`` characters at a time with the state carried across,
    which equals one pass over the entire text."""
    require_tensorflow("zoo.generation.stream_logits")
    ids = np.asarray(ids, np.int32)
    step = tf.function(lambda x, states: infer([x, *states], training=False), reduce_retracing=True)
    states = zero_states(infer, 1)
    out = []
    for start in range(0, len(ids) - 1, chunk):
        inputs = ids[start : min(start + chunk, len(ids) - 1)]
        logits, *states = step(tf.constant(inputs[None]), states)
        out.append(logits[0].numpy())
    return np.concatenate(out) if out else np.zeros((0, infer.outputs[0].shape[-1]), np.float32)


def log_softmax(logits, temperature=1.0):
    """log softmax(logits / temperature) over the last axis, in float64."""
    z = np.asarray(logits, np.float64) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def target_log_probs(logits, targets, temperature=1.0):
    """log p(targets[t]) under softmax(logits[t] / temperature): float64 (n,)."""
    targets = np.asarray(targets)
    return np.take_along_axis(log_softmax(logits, temperature), targets[:, None], axis=-1)[:, 0]


def stream_log_probs(infer, ids, chunk=2048):
    """log p(ids[t] | ids[:t]) for t = 1 .. n-1 (float64 (n-1,)), the whole sequence as one stream
    (see :func:`stream_logits`)."""
    return target_log_probs(stream_logits(infer, ids, chunk), np.asarray(ids)[1:])


def stream_nll(infer, ids, chunk=2048):
    """Mean negative log-likelihood (nats per character) of ``ids[1:]`` given the characters before,
    the whole sequence as one stream (see :func:`stream_log_probs`)."""
    return float(-np.mean(stream_log_probs(infer, ids, chunk)))


def mixture_nll(log_probs, weights):
    """Nats per character of the mixture ``sum_k weights[k] p_k`` given each member's log-probabilities
    of the same characters (``log_probs`` (members, n))."""
    log_probs = np.asarray(log_probs, np.float64)
    with np.errstate(divide="ignore"):
        log_w = np.log(np.asarray(weights, np.float64))[:, None]
    return float(-np.mean(np.logaddexp.reduce(log_w + log_probs, axis=0)))


def mixture_weights(log_probs, iterations=10_000, tolerance=1e-12):
    """The weights (summing to 1) of the mixture of language models with the highest likelihood of
    the characters scored in ``log_probs`` (members, n): log p_k of each character under member k.

    Expectation-maximization for interpolated language models (Jelinek & Mercer 1980): each
    iteration sets w_k to the mean over characters of member k's posterior responsibility
    w_k p_k / sum_j w_j p_j. The likelihood never decreases and, being concave in the weights,
    approaches its maximum; iterations stop when the loss improves by less than ``tolerance`` nats.
    """
    log_probs = np.asarray(log_probs, np.float64)
    if log_probs.ndim != 2 or log_probs.shape[1] == 0:
        raise ValueError(f"log_probs must be (members, characters) with characters > 0; got shape {log_probs.shape}.")
    probs = np.exp(log_probs - log_probs.max(axis=0))  # a per-character scale cancels in the responsibilities
    weights = np.full(len(probs), 1 / len(probs))
    previous = np.inf
    for _ in range(iterations):
        mixed = weights @ probs
        loss = -np.mean(np.log(mixed))
        if previous - loss < tolerance:
            break
        previous = loss
        weights = weights * (probs / mixed).mean(axis=1)
        weights /= weights.sum()
    return weights


def fit_mixture(logits, targets, temperatures=True):
    """Weights, and with ``temperatures`` one softmax temperature per member, of the mixture
    ``p(c) = sum_k w_k softmax(logits_k / T_k)(c)`` with the highest likelihood of ``targets``.

    ``logits`` is a list of (n, vocabulary) arrays, one per member, scoring the same characters
    ``targets`` (n,). Without temperatures (all T_k = 1) this is :func:`mixture_weights`. With them,
    the weights (as a softmax of free parameters) and log T_k are fitted jointly by L-BFGS on the
    exact gradient of the mean negative log-likelihood, starting from T_k = 1 and the EM weights:
    temperature scaling (Guo et al. 2017) for each member, fitted for the mixture. A member trained
    with dropout and run without it is often too sure of itself; T_k > 1 softens it.

    Returns ``(weights, temperatures)``: float64 arrays of shape (members,).
    """
    from scipy.optimize import minimize  # imported here: only mixtures with temperatures need it

    logits = [np.asarray(x, np.float64) for x in logits]
    targets = np.asarray(targets)
    k = len(logits)
    if k == 0 or any(x.ndim != 2 or x.shape[0] != len(targets) or x.shape[0] == 0 for x in logits):
        raise ValueError(
            f"logits must be (characters, vocabulary) arrays, one per member, for the {len(targets)} targets "
            f"(characters > 0); got shapes {[np.shape(x) for x in logits]}."
        )
    weights = mixture_weights([target_log_probs(x, targets) for x in logits])
    if not temperatures:
        return weights, np.ones(k)
    picked = [np.take_along_axis(x, targets[:, None], axis=-1)[:, 0] for x in logits]

    def loss_and_grad(params):
        log_t, v = params[:k], params[k:]
        log_w = v - np.logaddexp.reduce(v)
        a, expected = [], []  # a[j]: log w_j + log p_j(target); expected[j]: E_{softmax(l/T)}[l]
        for j in range(k):
            log_q = log_softmax(logits[j], np.exp(log_t[j]))
            a.append(log_w[j] + np.take_along_axis(log_q, targets[:, None], axis=-1)[:, 0])
            expected.append((np.exp(log_q) * logits[j]).sum(axis=-1))
        a = np.stack(a)
        m = np.logaddexp.reduce(a, axis=0)
        r = np.exp(a - m)  # responsibilities (members, n)
        grad_t = [-np.mean(r[j] * (expected[j] - picked[j])) / np.exp(log_t[j]) for j in range(k)]
        grad_v = np.exp(log_w) - r.mean(axis=1)
        return -np.mean(m), np.concatenate([grad_t, grad_v])

    start = np.concatenate([np.zeros(k), np.log(np.maximum(weights, 1e-12))])
    result = minimize(loss_and_grad, start, jac=True, method="L-BFGS-B",
                      bounds=[(np.log(0.05), np.log(20.0))] * k + [(None, None)] * k,
                      options={"maxiter": 500, "ftol": 1e-12, "gtol": 1e-9})
    if result.fun > loss_and_grad(start)[0]:  # never worse than where it started
        return weights, np.ones(k)
    v = result.x[k:]
    return np.exp(v - np.logaddexp.reduce(v)), np.exp(result.x[:k])


CHUNK = 1024  # time steps the graph functions below run at once: their memory is bounded by it, not by the text


def feed(infer, ids, states, chunk=CHUNK):
    """Feed ``ids`` (batch, n >= 1) from ``states``, ``chunk`` steps at a time with the state carried (one
    pass over the whole sequence, in memory bounded by ``chunk``). Returns ``(logits of the last step
    (batch, vocabulary), states)``."""
    n = tf.shape(ids)[1]

    def body(k, _, states):
        logits, *states = infer([ids[:, k * chunk : (k + 1) * chunk], *states], training=False)
        return k + 1, logits[:, -1, :], states

    logits, *first = infer([ids[:, :chunk], *states], training=False)
    _, last, states = tf.while_loop(lambda k, *_: k * chunk < n, body, (tf.constant(1), logits[:, -1, :], first))
    return last, states


def score_ids(infer, ids, chunk=CHUNK):
    """Per-row mean nats per character of characters 2..n of each row of ``ids`` (0-padded on the right).

    The rows are read ``chunk`` steps at a time with the state carried, so memory is bounded by
    ``chunk``, not by the length. NaN for a row with fewer than two characters (nothing to predict).
    """
    require_tensorflow("zoo.generation.score_ids")
    # Two padding columns keep at least one step and one (masked) target even for an empty batch.
    ids = tf.pad(tf.cast(ids, tf.int32), [[0, 0], [0, 2]])
    inputs, targets = ids[:, :-1], ids[:, 1:]
    batch, steps = tf.shape(ids)[0], tf.shape(inputs)[1]

    def body(k, states, total, count):
        window = slice(k * chunk, (k + 1) * chunk)
        logits, *states = infer([inputs[:, window], *states], training=False)
        target = targets[:, window]
        nll = tf.nn.sparse_softmax_cross_entropy_with_logits(target, tf.cast(logits, tf.float32))
        weight = tf.cast(target > 0, tf.float32)
        return k + 1, states, total + tf.reduce_sum(nll * weight, axis=1), count + tf.reduce_sum(weight, axis=1)

    zeros = tf.zeros([batch])
    _, _, total, count = tf.while_loop(
        lambda k, *_: k * chunk < steps, body, (tf.constant(0), zero_states(infer, batch), zeros, zeros)
    )
    return total / count


def _pick(logits, temperature, top_k, seed):
    """The next id from (1, vocab) logits: argmax at temperature <= 0, else a seeded top-k sample."""
    logits = tf.concat([tf.fill([1, 1], -np.inf), logits[:, 1:]], axis=1)  # id 0 (padding) is never emitted

    def sample():
        scaled = logits / temperature
        k = tf.minimum(top_k, tf.shape(scaled)[1] - 1)
        kth = tf.math.top_k(scaled, k=tf.maximum(k, 1)).values[:, -1:]
        limited = tf.where((top_k > 0) & (scaled < kth), -np.inf, scaled)
        return tf.random.stateless_categorical(limited, 1, seed=seed, dtype=tf.int32)[:, 0]

    return tf.cond(temperature > 0, sample, lambda: tf.argmax(logits, axis=1, output_type=tf.int32))


def generate_ids(infer, prompt_ids, length, temperature, top_k, seed, initial_states):
    """Feed ``prompt_ids`` (n >= 1,) from ``initial_states`` (in chunks: :func:`feed`), then emit ``length`` ids
    one at a time.

    Sampling step ``i`` uses the stateless seed ``(seed, i)``: the same arguments give the same ids.
    """
    require_tensorflow("zoo.generation.generate_ids")
    length = tf.clip_by_value(tf.cast(length, tf.int32), 0, MAX_LENGTH)
    temperature = tf.cast(temperature, tf.float32)
    last, states = feed(infer, prompt_ids[None, :], list(initial_states))
    out = tf.TensorArray(tf.int32, size=length)

    def body(i, last, states, out):
        next_id = _pick(last, temperature, top_k, tf.stack([tf.cast(seed, tf.int32), i]))
        logits, *states = infer([next_id[:, None], *states], training=False)
        return i + 1, logits[:, -1, :], states, out.write(i, next_id[0])

    _, _, _, out = tf.while_loop(lambda i, *_: i < length, body, (tf.constant(0), last, states, out))
    return out.stack()


def generate(model, vocabulary, prompt="\n", length=200, temperature=1.0, top_k=0, seed=0, condition=None):
    """Continue ``prompt`` by ``length`` characters with a trained (conditional) generator.

    Args:
        model: a model from ``build_generator`` or ``build_conditional_generator``.
        vocabulary: its ``CharVocabulary``.
        prompt: one seed character or a string; characters outside the vocabulary are skipped, and
            an empty prompt starts from a newline.
        length: characters to emit.
        temperature: softmax temperature; 0 is greedy (argmax).
        top_k: sample only among the k most likely characters (0: all).
        seed: sampling seed; the same arguments give the same text.
        condition: the class id, for a conditional generator.

    Returns:
        The continuation (without the prompt).
    """
    require_tensorflow("zoo.generation.generate")
    from zoo.models.generator import condition_model

    infer = inference_model(model)
    if condition is None:
        states = None
    else:
        states = condition_model(model)(tf.constant([condition], tf.int32))
        states = states if isinstance(states, (list, tuple)) else [states]
    return sample(infer, vocabulary, prompt, length, temperature, top_k, seed, states)


def sample(infer, vocabulary, prompt="\n", length=200, temperature=1.0, top_k=0, seed=0, states=None):
    """:func:`generate` with an inference model (e.g. a mixture's) from ``states`` (default zeros)."""
    require_tensorflow("zoo.generation.sample")
    prompt_ids = [i for i in vocabulary.encode(prompt) if i > 0] or [i for i in vocabulary.encode("\n") if i > 0][:1]
    states = zero_states(infer, 1) if states is None else states
    run = tf.function(generate_ids)
    ids = run(infer, tf.constant(prompt_ids or [1], tf.int32), length, float(temperature), int(top_k), seed, states)
    return vocabulary.decode(ids.numpy())


__all__ = [
    "feed", "generate", "generate_ids", "mixture_nll", "mixture_weights", "sample", "score_ids", "stream_log_probs", "stream_nll",
    "zero_states",
]


class ResetStates(keras.callbacks.Callback):
    """Zero the carried state at the start of every epoch: each epoch reads the streams from the top."""

    def on_epoch_begin(self, epoch, logs=None):
        reset_states(self.model)


class StreamValidation(keras.callbacks.Callback):
    """``val_loss``: nats per character of the whole validation split run through as one stream."""

    def __init__(self, ids):
        super().__init__()
        self.ids = ids

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["val_loss"] = stream_nll(inference_model(self.model), self.ids)
