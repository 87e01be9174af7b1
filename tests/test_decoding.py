import itertools

import numpy as np
import pytest
import tensorflow as tf

from zoo import decoding

PAD, START, END, A, B = 0, 1, 2, 3, 4


def table_step(probabilities):
    """A toy decoder whose next-token distribution depends only on the last token: ``P[last]``."""
    log_p = tf.constant(np.log(np.maximum(probabilities, 1e-30)), tf.float32)

    def step(tokens, states):
        return tf.gather(log_p, tokens), [s + 1 for s in states]

    return step


# After START: A 0.6, B 0.4. After A: END 0.4, A 0.3, B 0.3. After B: END 0.9. Greedy takes A then END
# (0.24); the best sequence is B END (0.36).
TOY = np.zeros((5, 5))
TOY[START] = [0, 0, 0, 0.6, 0.4]
TOY[A] = [0, 0, 0.4, 0.3, 0.3]
TOY[B] = [0, 0, 0.9, 0.05, 0.05]
TOY[END] = [0, 0, 1, 0, 0]


def brute_force_best(probabilities, max_length):
    best, best_p = None, -1.0
    for n in range(1, max_length + 1):
        for seq in itertools.product([A, B, END], repeat=n):
            if END in seq[:-1] or (seq[-1] != END and n < max_length):
                continue
            p, last = 1.0, START
            for token in seq:
                p, last = p * probabilities[last, token], token
            if p > best_p:
                best, best_p = [t for t in seq if t != END], p
    return best, best_p


def run(search, probabilities, batch=2, **kwargs):
    ids, score = search(table_step(probabilities), [tf.zeros([batch, 1])], batch, START, END, 5,
                        banned_ids=(PAD, START), **kwargs)
    return ids.numpy(), score.numpy()


def test_beam_search_finds_the_best_sequence_greedy_misses():
    best, best_p = brute_force_best(TOY, 5)
    assert best == [B]
    ids, score = run(decoding.beam_search, TOY, beam_width=3)
    np.testing.assert_array_equal(ids, [[B, 0, 0, 0, 0]] * 2)
    np.testing.assert_allclose(score, np.log(best_p), rtol=1e-5)
    greedy, greedy_score = run(decoding.greedy_search, TOY)
    np.testing.assert_array_equal(greedy, [[A, 0, 0, 0, 0]] * 2)
    np.testing.assert_allclose(greedy_score, np.log(0.24), rtol=1e-5)


@pytest.mark.parametrize("seed", range(5))
def test_beam_width_one_equals_greedy(seed):
    rng = np.random.default_rng(seed)
    probabilities = rng.dirichlet(np.ones(5), size=5)
    probabilities[:, PAD] = 0
    probabilities /= probabilities.sum(1, keepdims=True)
    greedy, greedy_score = run(decoding.greedy_search, probabilities)
    beam, beam_score = run(decoding.beam_search, probabilities, beam_width=1)
    np.testing.assert_array_equal(beam, greedy)
    np.testing.assert_allclose(beam_score, greedy_score, rtol=1e-5)


def test_length_penalty_favours_longer_hypotheses():
    # After START: END 0.5 or A 0.5; after A: END 0.9. Raw log-probability prefers stopping at once
    # ([] = 0.5 > [A] = 0.45); a strong length penalty prefers [A].
    probabilities = np.zeros((5, 5))
    probabilities[START] = [0, 0, 0.5, 0.5, 0]
    probabilities[A] = [0, 0, 0.9, 0.1, 0]
    probabilities[END] = [0, 0, 1, 0, 0]
    raw, _ = run(decoding.beam_search, probabilities, beam_width=2, length_penalty=0.0)
    long, _ = run(decoding.beam_search, probabilities, beam_width=2, length_penalty=2.0)
    np.testing.assert_array_equal(raw[0], [0, 0, 0, 0, 0])
    np.testing.assert_array_equal(long[0], [A, 0, 0, 0, 0])


def test_banned_ids_are_never_emitted_and_max_length_holds():
    probabilities = np.zeros((5, 5))
    probabilities[:, START] = 0.9  # the likeliest token is banned
    probabilities[:, A] = 0.1
    for search in (decoding.greedy_search, decoding.beam_search):
        ids, _ = run(search, probabilities)
        np.testing.assert_array_equal(ids, [[A] * 5] * 2)


def test_states_are_reordered_with_their_beams():
    seen = []

    def step(tokens, states):
        (count,) = states
        seen.append(count)
        return tf.gather(tf.math.log(tf.constant(TOY + 1e-30, tf.float32)), tokens), [count + 1]

    decoding.beam_search(step, [tf.constant([[10.0], [20.0]])], 2, START, END, 3, beam_width=2)
    # Row b's beams start from row b's state and never mix with the other row's.
    assert np.all(np.asarray(seen[0])[:2] == 10) and np.all(np.asarray(seen[0])[2:] == 20)
    assert set(np.asarray(seen[1])[:2, 0]) == {11.0} and set(np.asarray(seen[1])[2:, 0]) == {21.0}


def test_bad_beam_width():
    with pytest.raises(ValueError, match="beam_width"):
        decoding.beam_search(table_step(TOY), [tf.zeros([1, 1])], 1, START, END, 3, beam_width=0)


def test_ids_to_text_and_max_decode_length():
    vocabulary = tf.constant(["", "[UNK]", "[start]", "[end]", "¿", "Hola", "?"])
    ids = tf.constant([[4, 5, 6, 0, 0], [5, 0, 0, 0, 0]])
    words = decoding.ids_to_text(vocabulary, ids, " ").numpy()
    assert [w.decode() for w in words] == ["¿ Hola ?", "Hola"]
    chars = decoding.ids_to_text(tf.constant(["", "1", "2"]), tf.constant([[1, 2, 0]]), "").numpy()
    assert chars[0].decode() == "12"
    assert int(decoding.max_decode_length(tf.constant([[3, 4, 0], [3, 0, 0]]))) == 14
    assert int(decoding.max_decode_length(tf.ones([1, 500], tf.int32))) == 120
