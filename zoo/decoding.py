"""Inference without teacher forcing: greedy decoding and beam search (plain TensorFlow graphs, exportable).

Both search over a ``step`` function ``(tokens (n,), states) -> (log_probs (n, vocab), states)``,
where ``states`` is a list of tensors whose first dimension is ``n`` (everything the decoder carries,
and anything it needs per row, such as the encoder outputs). So they serve the seq2seq models (see
:func:`seq2seq_step`) as well as a hand-built toy decoder in the tests, inside ``tf.function`` and
inside an exported SavedModel alike.

Conventions: a hypothesis starts from ``start_id`` and ends at ``end_id``; the returned ids exclude
both and are 0-padded; ``banned_ids`` (padding, unknown, start) are never emitted.
"""

import tensorflow as tf

from zoo.backend import require_tensorflow

NEG_INF = -1e9


def _ban(log_probs, banned_ids):
    if not banned_ids:
        return log_probs
    banned = tf.reduce_sum(tf.one_hot(list(banned_ids), tf.shape(log_probs)[-1]), axis=0) > 0
    return tf.where(banned, tf.cast(NEG_INF, log_probs.dtype), log_probs)


def _finish(sequences, end_id):
    """Zero every id from the first ``end_id`` on."""
    ended = tf.cumsum(tf.cast(sequences == end_id, tf.int32), axis=-1) > 0
    return tf.where(ended, 0, sequences)


def greedy_search(step, states, batch_size, start_id, end_id, max_length, banned_ids=()):
    """The most likely next token at every step, until every row has emitted ``end_id`` or ``max_length`` tokens.

    Returns ``(ids (batch, max_length) int32 without start/end, 0-padded; log-probability (batch,))``.
    """
    require_tensorflow("zoo.decoding.greedy_search")
    max_length = tf.cast(max_length, tf.int32)
    tokens = tf.fill([batch_size], tf.cast(start_id, tf.int32))
    finished = tf.zeros([batch_size], tf.bool)
    scores = tf.zeros([batch_size])
    out = tf.TensorArray(tf.int32, size=max_length)

    def body(t, tokens, states, finished, scores, out):
        log_probs, states = step(tokens, states)
        log_probs = _ban(tf.cast(log_probs, tf.float32), banned_ids)
        tokens = tf.argmax(log_probs, axis=-1, output_type=tf.int32)
        best = tf.reduce_max(log_probs, axis=-1)
        scores += tf.where(finished, 0.0, best)
        tokens = tf.where(finished, end_id, tokens)
        return t + 1, tokens, states, finished | (tokens == end_id), scores, out.write(t, tokens)

    def more(t, tokens, states, finished, *_):
        return (t < max_length) & ~tf.reduce_all(finished)

    _, _, _, _, scores, out = tf.while_loop(
        more, body, (tf.constant(0), tokens, list(states), finished, scores, out)
    )
    ids = tf.transpose(out.stack())  # (batch, steps run)
    ids = tf.pad(ids, [[0, 0], [0, max_length - tf.shape(ids)[1]]], constant_values=end_id)
    return _finish(ids, end_id), scores


def beam_search(step, states, batch_size, start_id, end_id, max_length, beam_width=4, length_penalty=0.0,
                banned_ids=()):
    """Beam search (keeps the ``beam_width`` most likely partial hypotheses per row at every step).

    A finished hypothesis keeps its score and its slot; the search stops when every kept hypothesis
    has finished or after ``max_length`` tokens. The winner maximises ``log p / lp`` with the
    length normalisation of Wu et al. 2016, ``lp = ((5 + length) / 6) ** length_penalty`` (0: raw
    log-probability). ``beam_width=1`` is greedy search.

    Args:
        step: ``(tokens (n,), states) -> (log_probs (n, vocab), states)``; called with
            ``n = batch_size * beam_width`` rows (row ``b * beam_width + k`` is beam ``k`` of row ``b``).
        states: initial states for ``batch_size`` rows (tiled to the beams here).

    Returns ``(ids (batch, max_length) int32 without start/end, 0-padded; normalised score (batch,))``.
    """
    require_tensorflow("zoo.decoding.beam_search")
    k = int(beam_width)
    if k < 1:
        raise ValueError(f"`beam_width` must be a positive integer; got beam_width={beam_width!r}.")
    max_length = tf.cast(max_length, tf.int32)
    n = batch_size * k
    states = [tf.repeat(s, k, axis=0) for s in states]
    tokens = tf.fill([n], tf.cast(start_id, tf.int32))
    # Only beam 0 is live at first, so the first step does not pick the same token k times.
    scores = tf.tile(tf.constant([[0.0] + [NEG_INF] * (k - 1)]), [batch_size, 1])
    finished = tf.zeros([batch_size, k], tf.bool)
    lengths = tf.zeros([batch_size, k], tf.int32)
    sequences = tf.zeros([batch_size, k, 0], tf.int32)

    def body(t, tokens, states, scores, finished, lengths, sequences):
        log_probs, states = step(tokens, states)
        log_probs = _ban(tf.cast(log_probs, tf.float32), banned_ids)
        vocab = tf.shape(log_probs)[-1]
        log_probs = tf.reshape(log_probs, [batch_size, k, vocab])
        # A finished hypothesis has one continuation, end_id again, at no cost.
        only_end = tf.where(tf.range(vocab) == end_id, 0.0, NEG_INF)
        log_probs = tf.where(finished[:, :, None], only_end, log_probs)
        total = tf.reshape(scores[:, :, None] + log_probs, [batch_size, k * vocab])
        scores, index = tf.math.top_k(total, k=k)
        beam, token = index // vocab, index % vocab
        was_finished = tf.gather(finished, beam, batch_dims=1)
        lengths = tf.gather(lengths, beam, batch_dims=1) + tf.cast(~was_finished, tf.int32)
        finished = was_finished | (token == end_id)
        sequences = tf.concat([tf.gather(sequences, beam, batch_dims=1), token[:, :, None]], axis=2)
        rows = tf.reshape(beam + k * tf.range(batch_size)[:, None], [-1])
        states = [tf.gather(s, rows) for s in states]
        return t + 1, tf.reshape(token, [-1]), states, scores, finished, lengths, sequences

    def more(t, tokens, states, scores, finished, *_):
        return (t < max_length) & ~tf.reduce_all(finished)

    _, _, _, scores, finished, lengths, sequences = tf.while_loop(
        more,
        body,
        (tf.constant(0), tokens, states, scores, finished, lengths, sequences),
        shape_invariants=(
            tf.TensorShape([]), tf.TensorShape([None]), [tf.TensorShape([None, *s.shape[1:]]) for s in states],
            tf.TensorShape([None, k]), tf.TensorShape([None, k]), tf.TensorShape([None, k]),
            tf.TensorShape([None, k, None]),
        ),
    )
    penalty = ((5.0 + tf.cast(lengths, tf.float32)) / 6.0) ** length_penalty
    normalised = scores / penalty
    best = tf.argmax(normalised, axis=1, output_type=tf.int32)
    ids = tf.gather(sequences, best, batch_dims=1)
    ids = tf.pad(ids, [[0, 0], [0, max_length - tf.shape(ids)[1]]], constant_values=end_id)
    return _finish(ids, end_id), tf.gather(normalised, best, batch_dims=1)


def seq2seq_step(decoder):
    """A ``step`` for the searches from a ``zoo.models.seq2seq.decoder_model``.

    Its states are ``[memory, source, *decoder states]``: the encoder outputs and source ids ride
    along as states so that beam search tiles and reorders them with everything else.
    """

    def step(tokens, states):
        memory, source, *decoder_states = states
        logits, *decoder_states, _ = decoder([tokens[:, None], memory, source, *decoder_states], training=False)
        return tf.nn.log_softmax(tf.cast(logits[:, 0], tf.float32)), [memory, source, *decoder_states]

    return step


def max_decode_length(source_ids, cap=120):
    """Tokens a decoder may emit for a batch: twice the longest source plus 10, at most ``cap``."""
    longest = tf.reduce_max(tf.reduce_sum(tf.cast(source_ids != 0, tf.int32), axis=1))
    return tf.minimum(2 * longest + 10, cap)


def ids_to_text(vocabulary, ids, separator=" ", detokenize=None):
    """(batch, time) ids, 0-padded -> (batch,) strings: ``vocabulary[id]`` joined by ``separator``.

    ``vocabulary`` is a tf.string tensor whose entry 0 is ""; ``detokenize`` (optional) post-processes
    the joined tokens (e.g. ``zoo.data.translation.detokenize``).
    """
    joined = tf.strings.reduce_join(tf.gather(vocabulary, ids), axis=1, separator=separator)
    if separator.strip() == "" and separator:
        joined = tf.strings.strip(tf.strings.regex_replace(joined, r"\s+", " "))  # padding left runs of separators
    return detokenize(joined) if detokenize else joined


def decode(encoder, decoder, source, start_id, end_id, max_length, beam_width=1, length_penalty=0.0,
           banned_ids=(0, 1)):
    """Source ids (batch, S) -> target ids (batch, max_length) by greedy (``beam_width=1``) or beam search."""
    require_tensorflow("zoo.decoding.decode")
    source = tf.cast(source, tf.int32)
    memory, *states = encoder(source, training=False)
    memory = tf.identity(memory)  # drops its Keras mask: the decoder masks by source, and would warn it drops it
    args = dict(step=seq2seq_step(decoder), states=[memory, source, *states], batch_size=tf.shape(source)[0],
                start_id=start_id, end_id=end_id, max_length=max_length,
                banned_ids=tuple(banned_ids) + (start_id,))
    if beam_width == 1:
        return greedy_search(**args)[0]
    return beam_search(beam_width=beam_width, length_penalty=length_penalty, **args)[0]


__all__ = ["beam_search", "decode", "greedy_search", "ids_to_text", "max_decode_length", "seq2seq_step"]
