import itertools
import math

import numpy as np
import pytest

from zoo.data import synthetic

# The expected sets below are read off the automaton by hand (Reber 1967; Hochreiter & Schmidhuber 1997).
BTSSXXTVVE_NEXT = ["TP", "SX", "SX", "SX", "XS", "TV", "TV", "PV", "E", ""]
# B T | B P V V E | T E: after the inner E only the branch symbol T may follow.
EMBEDDED_T_NEXT = ["TP", "B", "TP", "TV", "PV", "E", "T", "E", ""]
EMBEDDED_P_NEXT = ["TP", "B", "TP", "SX", "XS", "E", "P", "E", ""]  # B P | B T X S E | P E


def walk(table, start, string):
    """The automaton's state after ``string``, or None where it has no move for a symbol."""
    state = start
    for symbol in string:
        if symbol not in table[state]:
            return None
        state = table[state][symbol]
    return state


def accepts(table, start, string):
    state = walk(table, start, string)
    return state is not None and not table[state]


def grammar(embedded):
    if embedded:
        return synthetic.EMBEDDED_REBER, synthetic.EMBEDDED_REBER_START
    return synthetic.REBER, synthetic.REBER_START


def as_sets(strings):
    return [frozenset(s) for s in strings]


# --- Reber grammars --------------------------------------------------------------------------------


def test_reber_table_is_reber_1967_automaton():
    assert set().union(*synthetic.REBER.values()) == set(synthetic.SYMBOLS)
    for string in ("BTXSE", "BPVVE", "BTSSXXTVVE", "BPVPXVPXVPXVVE", "BTXXTTVPSE"):
        assert accepts(synthetic.REBER, synthetic.REBER_START, string), string
    for string in ("BTSE", "BPVE", "BTXXE", "TXSE", "BTXSEE", "BPTTPVE"):
        assert not accepts(synthetic.REBER, synthetic.REBER_START, string), string


@pytest.mark.parametrize("embedded", [False, True])
def test_generated_strings_walk_through_the_transition_table(embedded):
    strings = synthetic.reber_strings(300, seed=3, embedded=embedded)
    table, start = grammar(embedded)
    assert all(accepts(table, start, s) for s in strings)
    assert all(synthetic.is_reber(s, embedded) for s in strings)
    assert len(set(strings)) > 20  # a random walk, not one string


def test_embedded_strings_wrap_a_reber_string_and_repeat_the_branch():
    for s in synthetic.reber_strings(300, seed=4, embedded=True):
        assert s[0] == "B" and s[1] in "TP" and s[-2] == s[1] and s[-1] == "E"
        assert accepts(synthetic.REBER, synthetic.REBER_START, s[2:-2])
    assert {s[1] for s in synthetic.reber_strings(100, seed=4, embedded=True)} == {"T", "P"}


def test_embedded_grammar_rejects_the_wrong_repeat():
    assert synthetic.is_reber("BTBPVVETE", embedded=True)
    assert not synthetic.is_reber("BTBPVVEPE", embedded=True)
    assert not synthetic.is_reber("BTBPVVETE", embedded=False)


def test_legal_next_of_a_reber_string():
    assert synthetic.legal_next("BTSSXXTVVE") == as_sets(BTSSXXTVVE_NEXT)


@pytest.mark.parametrize("string,expected", [("BTBPVVETE", EMBEDDED_T_NEXT), ("BPBTXSEPE", EMBEDDED_P_NEXT)])
def test_legal_next_of_an_embedded_string_forces_the_repeat(string, expected):
    assert synthetic.legal_next(string, embedded=True) == as_sets(expected)


def test_legal_next_accepts_prefixes():
    assert synthetic.legal_next("BTSS") == as_sets(BTSSXXTVVE_NEXT[:4])


@pytest.mark.parametrize("string", ["TSX", "BTSE", "BTXSEE", "BTXSEX"])
def test_legal_next_rejects_strings_off_the_grammar(string):
    with pytest.raises(ValueError, match="not a prefix"):
        synthetic.legal_next(string)


def test_legal_next_rejects_the_wrong_repeat_in_the_embedded_grammar():
    with pytest.raises(ValueError, match="'P' at position 7; legal there: T"):
        synthetic.legal_next("BTBPVVEPE", embedded=True)


@pytest.mark.parametrize("embedded", [False, True])
def test_reber_strings_are_reproducible_from_the_seed(embedded):
    first = synthetic.reber_strings(50, seed=7, embedded=embedded)
    assert synthetic.reber_strings(50, seed=7, embedded=embedded) == first
    assert synthetic.reber_strings(50, seed=8, embedded=embedded) != first


@pytest.mark.parametrize("embedded,lo,hi", [(False, 12, 15), (True, 30, None), (False, 60, 60)])
def test_reber_strings_respect_length_bounds(embedded, lo, hi):
    table, start = grammar(embedded)
    strings = synthetic.reber_strings(40, seed=0, embedded=embedded, min_length=lo, max_length=hi)
    assert all(len(s) >= lo and (hi is None or len(s) <= hi) for s in strings)
    assert all(accepts(table, start, s) for s in strings)


def exact_distribution(length):
    """Every Reber string of ``length`` with its probability under the uniform random walk, by brute force."""
    table, start = synthetic.REBER, synthetic.REBER_START
    probs = {}
    for middle in itertools.product("TPSXV", repeat=length - 2):
        string, state, p = "B" + "".join(middle) + "E", start, 1.0
        for symbol in string:
            if symbol not in table[state]:
                break
            p /= len(table[state])
            state = table[state][symbol]
        else:
            if not table[state]:
                probs[string] = p
    return probs


def test_length_bounds_condition_the_random_walk_exactly():
    # Each middle symbol of a Reber string is one of two moves, so the strings of one length are equally likely
    # and the walk conditioned on that length is uniform over them. (Only forbidding moves that cannot end at
    # the length, without weighing them, gives a total variation of ~0.11 here.)
    probs = exact_distribution(8)
    assert len(probs) == 7 and len(set(probs.values())) == 1
    strings = synthetic.reber_strings(4000, seed=5, min_length=8, max_length=8)
    assert set(strings) == set(probs)
    frequencies = {s: strings.count(s) / len(strings) for s in probs}
    assert 0.5 * sum(abs(frequencies[s] - 1 / 7) for s in probs) < 0.05  # total variation


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"n": 0}, "`n` must be a positive integer"),
        ({"n": 2.5}, "`n` must be a positive integer"),
        ({"n": 3, "max_length": 4}, "No Reber string has a length in \\[1, 4\\]"),
        ({"n": 3, "embedded": True, "max_length": 8}, "No embedded Reber string"),
        ({"n": 3, "min_length": 10, "max_length": 9}, "`max_length` must be at least `min_length`"),
        ({"n": 3, "min_length": 0}, "`min_length` must be a positive integer"),
    ],
)
def test_reber_strings_reject_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        synthetic.reber_strings(**kwargs)


def test_reber_dataset_encodes_each_string_with_its_legal_next_sets():
    ids, targets, mask = synthetic.reber_dataset(30, seed=2, embedded=True)
    strings = synthetic.reber_strings(30, seed=2, embedded=True)
    time = max(map(len, strings)) - 1
    assert ids.shape == (30, time) and targets.shape == (30, time, 7) and mask.shape == (30, time)
    assert ids.dtype == np.int32 and targets.dtype == np.float32 and mask.dtype == np.float32
    for s, row_ids, row_targets, row_mask in zip(strings, ids, targets, mask):
        steps = len(s) - 1  # the final E is not read
        assert row_mask.tolist() == [1.0] * steps + [0.0] * (time - steps)
        assert "".join(synthetic.SYMBOLS[i - 1] for i in row_ids[:steps]) == s[:-1]
        assert not row_ids[steps:].any() and not row_targets[steps:].any()
        for t in range(steps):
            assert {synthetic.SYMBOLS[k] for k in np.flatnonzero(row_targets[t])} == synthetic.legal_next(s, True)[t]


def test_reber_dataset_of_a_hand_checked_string():
    targets = synthetic.multi_hot(synthetic.legal_next("BTSSXXTVVE")[:-1])
    #                     B  T  P  S  X  V  E
    np.testing.assert_array_equal(targets[0], [0, 1, 1, 0, 0, 0, 0])  # after B: T or P
    np.testing.assert_array_equal(targets[5], [0, 1, 0, 0, 0, 1, 0])  # after BTSSXX: T or V
    np.testing.assert_array_equal(targets[8], [0, 0, 0, 0, 0, 0, 1])  # after BTSSXXTVV: E


def test_reber_dataset_is_reproducible_from_the_seed():
    first, second = synthetic.reber_dataset(20, seed=1), synthetic.reber_dataset(20, seed=1)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], synthetic.reber_dataset(20, seed=2)[0][:, : first[0].shape[1]])


def test_reber_solved_checks_every_unmasked_step_of_each_string():
    _, targets, mask = synthetic.reber_dataset(5, seed=0)
    probs = np.where(targets > 0, 0.9, 0.1)
    assert synthetic.reber_solved(probs, targets, mask).tolist() == [True] * 5
    wrong = probs.copy()
    wrong[2, 0, synthetic.SYMBOLS.index("E")] = 0.6  # an extra symbol above threshold at a real step
    assert synthetic.reber_solved(wrong, targets, mask).tolist() == [True, True, False, True, True]
    missing = probs.copy()
    missing[3, 0, synthetic.SYMBOLS.index("T")] = 0.4  # a legal symbol below threshold
    assert synthetic.reber_solved(missing, targets, mask).tolist() == [True, True, True, False, True]
    padded = probs.copy()
    short = int(np.argmin(mask.sum(axis=1)))
    padded[short, -1] = 1.0  # garbage at a padded step does not count
    assert mask[short, -1] == 0 and synthetic.reber_solved(padded, targets, mask).all()
    assert not synthetic.reber_solved(probs, targets, mask, threshold=0.95).any()


@pytest.mark.parametrize("threshold", [0.0, 1.0, 1.5])
def test_reber_solved_rejects_bad_threshold(threshold):
    _, targets, mask = synthetic.reber_dataset(2, seed=0)
    with pytest.raises(ValueError, match="`threshold` must be a probability"):
        synthetic.reber_solved(targets, targets, mask, threshold=threshold)


def test_reber_solved_rejects_mismatched_shapes():
    _, targets, mask = synthetic.reber_dataset(2, seed=0)
    with pytest.raises(ValueError, match="one shape"):
        synthetic.reber_solved(targets[:, :-1], targets, mask)


# --- Adding problem --------------------------------------------------------------------------------


def test_adding_problem_marks_one_value_in_each_half_and_sums_them():
    inputs, targets = synthetic.adding_problem(200, length=11, seed=0)
    assert inputs.shape == (200, 11, 2) and targets.shape == (200, 1)
    assert inputs.dtype == np.float32 and targets.dtype == np.float32
    values, markers = inputs[..., 0], inputs[..., 1]
    assert ((values >= 0) & (values < 1)).all()
    assert set(np.unique(markers)) == {0.0, 1.0}
    assert (markers[:, :5].sum(axis=1) == 1).all() and (markers[:, 5:].sum(axis=1) == 1).all()
    for row_values, row_markers, target in zip(values, markers, targets):
        first, second = np.flatnonzero(row_markers)
        assert target[0] == pytest.approx(row_values[first] + row_values[second], rel=1e-6)


def test_adding_problem_of_length_two_sums_both_values():
    inputs, targets = synthetic.adding_problem(3, length=2, seed=1)
    np.testing.assert_array_equal(inputs[..., 1], np.ones((3, 2)))
    np.testing.assert_allclose(targets[:, 0], inputs[..., 0].sum(axis=1), rtol=1e-6)


def test_adding_problem_is_reproducible_from_the_seed():
    a, b, c = (synthetic.adding_problem(4, 20, seed=s) for s in (9, 9, 10))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_adding_baseline_is_the_variance_of_the_target():
    assert synthetic.ADDING_BASELINE_MSE == pytest.approx(2 / 12)  # Var(U1 + U2), U ~ U[0, 1)
    _, targets = synthetic.adding_problem(20000, length=10, seed=0)
    mse_of_predicting_one = float(np.mean((targets - 1.0) ** 2))
    assert mse_of_predicting_one == pytest.approx(synthetic.ADDING_BASELINE_MSE, abs=0.005)  # ~3.5 standard errors


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"n": 0, "length": 10}, "`n` must be a positive integer"),
        ({"n": 2, "length": 1}, "`length` must be at least 2"),
        ({"n": 2, "length": 0}, "`length` must be a positive integer"),
        ({"n": 2, "length": 5.0}, "`length` must be a positive integer"),
    ],
)
def test_adding_problem_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        synthetic.adding_problem(**kwargs)


# --- Copy memory -----------------------------------------------------------------------------------


def test_copy_memory_layout_of_a_short_delay():
    inputs, targets = synthetic.copy_memory(2, delay=3, seed=0)
    assert inputs.shape == targets.shape == (2, 23) and inputs.dtype == targets.dtype == np.int32
    for row_in, row_out in zip(inputs, targets):
        symbols = row_in[:10].tolist()
        assert all(1 <= s <= 8 for s in symbols)
        assert row_in.tolist() == symbols + [0, 0] + [9] + [0] * 10  # T - 1 = 2 blanks, the delimiter, 10 blanks
        assert row_out.tolist() == [0] * 13 + symbols  # T + 10 = 13 blanks, then the symbols


def test_copy_memory_draws_all_eight_categories_and_is_reproducible():
    inputs, targets = synthetic.copy_memory(50, delay=5, seed=3)
    assert set(np.unique(inputs[:, :10])) == set(range(1, 9))
    again = synthetic.copy_memory(50, delay=5, seed=3)
    np.testing.assert_array_equal(inputs, again[0])
    np.testing.assert_array_equal(targets, again[1])
    assert not np.array_equal(inputs, synthetic.copy_memory(50, delay=5, seed=4)[0])


@pytest.mark.parametrize("delay", [1, 10, 100])
def test_copy_memory_baseline_is_the_memoryless_cross_entropy(delay):
    assert synthetic.copy_memory_baseline(delay) == pytest.approx(10 * math.log(8) / (delay + 20))
    # The memoryless strategy: certain blanks, then a uniform guess over the 8 categories.
    _, targets = synthetic.copy_memory(20, delay=delay, seed=0)
    probs = np.zeros(targets.shape + (10,))
    probs[:, : delay + 10, 0] = 1.0
    probs[:, delay + 10 :, 1:9] = 1 / 8
    picked = np.take_along_axis(probs, targets[..., None], axis=-1)[..., 0]
    assert float(np.mean(-np.log(picked))) == pytest.approx(synthetic.copy_memory_baseline(delay))


@pytest.mark.parametrize("kwargs", [{"n": 0, "delay": 5}, {"n": 2, "delay": 0}, {"n": 2, "delay": -3}])
def test_copy_memory_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="must be a positive integer"):
        synthetic.copy_memory(**kwargs)


def test_copy_memory_baseline_rejects_bad_delay():
    with pytest.raises(ValueError, match="`delay` must be a positive integer"):
        synthetic.copy_memory_baseline(0)


# --- Tomita grammars -------------------------------------------------------------------------------

# Hand-checked members and non-members of each language (Tomita 1982), the empty string in every one.
TOMITA_EXAMPLES = {
    1: (["", "1", "1111111"], ["0", "10", "1101", "11110"]),
    2: (["", "10", "101010"], ["1", "01", "1010101", "1001", "110"]),
    3: (["", "0", "1", "11", "100", "0111001100", "110100"], ["10", "1110", "10001", "11010", "1001000"]),
    4: (["", "0", "00", "1001001", "0010010"], ["000", "10001", "1100000", "0001"]),
    5: (["", "00", "11", "0110", "1010", "010001"], ["0", "1", "01", "000", "0111"]),
    6: (["", "01", "10", "000", "111", "0000011", "0101"], ["0", "1", "00", "0001", "011"]),
    7: (["", "0", "1", "0101", "00110011", "1110", "0011100"], ["1010", "01010", "10101", "01100110"]),
}
# Tomita's (1982) training set for language 3 (as reprinted by Watrous & Kuhn 1992). The last two negatives separate
# the two readings of its definition: they have no odd run of 0s *right after* an odd run of 1s, only later.
TOMITA_3_ACCEPTED = ["", "1", "0", "01", "11", "00", "100", "110", "111", "000", "100100", "110000011100001",
                     "111101100010011100"]
TOMITA_3_REJECTED = ["10", "101", "010", "1010", "1110", "1011", "10001", "111010", "1001000", "11111000",
                     "0111001101", "11011100110"]


def all_strings(max_length):
    return ["".join(s) for n in range(max_length + 1) for s in itertools.product("01", repeat=n)]


@pytest.mark.parametrize("grammar", synthetic.TOMITA_GRAMMARS)
def test_tomita_accepts_hand_checked_examples(grammar):
    accepted, rejected = TOMITA_EXAMPLES[grammar]
    assert [s for s in accepted if not synthetic.tomita_accepts(grammar, s)] == []
    assert [s for s in rejected if synthetic.tomita_accepts(grammar, s)] == []


def test_tomita_3_reads_odd_zeros_at_any_distance_after_odd_ones():
    assert all(synthetic.tomita_accepts(3, s) for s in TOMITA_3_ACCEPTED)
    assert not any(synthetic.tomita_accepts(3, s) for s in TOMITA_3_REJECTED)


def test_tomita_languages_1_and_2_hold_one_string_or_none_per_length():
    strings = all_strings(8)
    assert [s for s in strings if synthetic.tomita_accepts(1, s)] == ["1" * n for n in range(9)]
    assert [s for s in strings if synthetic.tomita_accepts(2, s)] == ["10" * n for n in range(5)]


@pytest.mark.parametrize("grammar", synthetic.TOMITA_GRAMMARS)
def test_tomita_automaton_agrees_with_the_definition_on_every_short_string(grammar):
    dfa = synthetic.TOMITA_AUTOMATA[grammar]
    for string in all_strings(12):
        state = 0
        for symbol in string:
            state = dfa["moves"][state][symbol]
        assert (state in dfa["accepting"]) == synthetic.tomita_accepts(grammar, string), string


@pytest.mark.parametrize("grammar", synthetic.TOMITA_GRAMMARS)
def test_tomita_strings_are_labelled_by_the_definition_and_balanced(grammar):
    strings, labels = synthetic.tomita_strings(grammar, 401, seed=0, min_length=3, max_length=12)
    assert len(strings) == len(labels) == 401 and sum(labels) == 200
    assert all(synthetic.tomita_accepts(grammar, s) == label for s, label in zip(strings, labels))
    assert all(3 <= len(s) <= 12 for s in strings)
    assert len({s for s, label in zip(strings, labels) if not label}) > 50  # near misses and random strings
    assert labels[:200] != [True] * 200  # shuffled, not sorted by label


def test_tomita_strings_draw_accepted_strings_uniformly_within_a_length():
    # At an even length L, language 5 is the strings with an even number of 0s: 2^(L-1) of them, 8 of 4 symbols,
    # each to be drawn with probability 1/8.
    strings, labels = synthetic.tomita_strings(5, 8000, seed=1, min_length=4, max_length=4)
    accepted = [s for s, label in zip(strings, labels) if label]
    members = {s for s in all_strings(4) if len(s) == 4 and synthetic.tomita_accepts(5, s)}
    assert set(accepted) == members and len(members) == 8
    assert 0.5 * sum(abs(accepted.count(s) / len(accepted) - 1 / 8) for s in members) < 0.05  # total variation


def test_tomita_near_misses_are_one_flip_from_the_language():
    # Every rejected string of language 1 drawn as a near miss has exactly one 0 (a flipped 1*); random rejected
    # strings of 8 symbols mostly have more.
    strings, labels = synthetic.tomita_strings(1, 2000, seed=2, min_length=8, max_length=8)
    rejected = [s for s, label in zip(strings, labels) if not label]
    one_zero = sum(s.count("0") == 1 for s in rejected)
    assert 0.45 < one_zero / len(rejected) < 0.6  # half near misses, plus the few random ones with a single 0


def test_tomita_dataset_encodes_the_strings():
    ids, labels, lengths = synthetic.tomita_dataset(4, 50, seed=3, min_length=1, max_length=9)
    strings, expected = synthetic.tomita_strings(4, 50, seed=3, min_length=1, max_length=9)
    assert ids.dtype == np.int32 and labels.dtype == np.float32 and lengths.dtype == np.int32
    assert ids.shape == (50, max(map(len, strings))) and labels.shape == lengths.shape == (50,)
    np.testing.assert_array_equal(labels, np.array(expected, np.float32))
    for s, row, n in zip(strings, ids, lengths):
        assert n == len(s) and "".join(synthetic.TOMITA_SYMBOLS[i - 1] for i in row[:n]) == s
        assert not row[n:].any()  # padding on the right


def test_tomita_dataset_is_reproducible_from_the_seed():
    first, second = synthetic.tomita_dataset(6, 40, seed=5), synthetic.tomita_dataset(6, 40, seed=5)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert synthetic.tomita_strings(6, 40, seed=6)[0] != synthetic.tomita_strings(6, 40, seed=5)[0]


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"grammar": 8, "n": 10}, "`grammar` must be one of the Tomita grammars .*got grammar=8"),
        ({"grammar": 0, "n": 10}, "got grammar=0"),
        ({"grammar": True, "n": 10}, "got grammar=True"),
        ({"grammar": 1, "n": 1}, "`n` must be at least 2.*got n=1"),
        ({"grammar": 1, "n": 0}, "`n` must be a positive integer; got n=0"),
        ({"grammar": 1, "n": 10, "min_length": 0}, "`min_length` must be a positive integer; got min_length=0"),
        ({"grammar": 1, "n": 10, "min_length": 5, "max_length": 4}, "got min_length=5, max_length=4"),
        ({"grammar": 5, "n": 10, "min_length": 3, "max_length": 3}, "language 5 .*has no string of length in \\[3, 3"),
        ({"grammar": 4, "n": 10, "max_length": 2}, "language 4 .*rejects no string of length in \\[1, 2\\]"),
    ],
)
def test_tomita_strings_reject_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        synthetic.tomita_strings(**kwargs)


@pytest.mark.parametrize("grammar,string,match", [(9, "01", "got grammar=9"), (1, "012", "got string='012'"),
                                                  (1, 101, "got string=101")])
def test_tomita_accepts_rejects_bad_arguments(grammar, string, match):
    with pytest.raises(ValueError, match=match):
        synthetic.tomita_accepts(grammar, string)
