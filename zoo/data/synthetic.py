"""Synthetic sequence tasks with known answers: Reber and Tomita grammars, the adding problem, copy memory.

- **Reber grammar** (Reber 1967), as used by Hochreiter & Schmidhuber 1997 (LSTM, experiment 1): the
  strings of a 7-symbol finite automaton (``REBER``), and the **embedded Reber grammar**: ``B``, then ``T`` or
  ``P``, then a whole Reber string, then the same ``T``/``P`` again, then ``E`` (``EMBEDDED_REBER``). The task
  is next-symbol prediction: at every step, give the legal next symbols probability above a threshold and the
  others below it (:func:`reber_dataset`, :func:`reber_solved`). The only long-range dependency is the
  second-to-last symbol of an embedded string, which must repeat the second.
- **Tomita grammars** (Tomita 1982), the seven regular languages over {0, 1} on which Giles et al. (1992) and
  Watrous & Kuhn (1992) trained second-order networks: accept or reject a whole string
  (:func:`tomita_accepts`, :func:`tomita_dataset`).
- **Adding problem** (Hochreiter & Schmidhuber 1997, in the form of Le et al. 2015 and Arjovsky et al. 2016):
  sum the two marked values of a sequence of random numbers (:func:`adding_problem`).
- **Copy memory** (Arjovsky et al. 2016): read 10 symbols, wait, reproduce them (:func:`copy_memory`).

Every generator takes an integer ``seed`` for a ``numpy.random.Generator``: the same arguments give the
same arrays.
"""

import itertools
import math
import re
from types import MappingProxyType

import numpy as np

from zoo.validation import positive_int

SYMBOLS = "BTPSXVE"
"""The Reber alphabet; symbol ``SYMBOLS[k]`` is id ``k + 1`` in :func:`reber_dataset` (0 is padding)."""


def _frozen(table):
    return MappingProxyType({state: MappingProxyType(dict(moves)) for state, moves in table.items()})


# state -> {symbol: next state}; the walk starts in REBER_START and a state with no moves accepts.
# The automaton of Reber (1967) as drawn by Hochreiter & Schmidhuber (1997), its states numbered from 0.
REBER = _frozen(
    {
        0: {"B": 1},
        1: {"T": 2, "P": 3},
        2: {"S": 2, "X": 4},
        3: {"T": 3, "V": 5},
        4: {"X": 3, "S": 6},
        5: {"P": 4, "V": 6},
        6: {"E": 7},
        7: {},
    }
)
REBER_START = 0


def _embedded(inner, inner_start):
    """The embedded grammar's table: one copy of ``inner`` per branch symbol, so that the state after the
    inner string's ``E`` still knows the branch and allows only that symbol."""
    table = {"start": {"B": "branch"}, "branch": {b: (b, inner_start) for b in "TP"}}
    for branch in "TP":
        for state, moves in inner.items():
            table[(branch, state)] = {s: (branch, nxt) for s, nxt in moves.items()} if moves else {branch: "close"}
    table["close"] = {"E": "accept"}
    table["accept"] = {}
    return table


EMBEDDED_REBER = _frozen(_embedded(REBER, REBER_START))
EMBEDDED_REBER_START = "start"


def _grammar(embedded):
    return (EMBEDDED_REBER, EMBEDDED_REBER_START) if embedded else (REBER, REBER_START)


def _grammar_name(embedded):
    return "embedded Reber" if embedded else "Reber"


def legal_next(string, embedded=False):
    """The legal next symbols after every prefix of a (prefix of a) grammatical string.

    Args:
        string: a string of the grammar, or a prefix of one (starting with ``B``).
        embedded: read it with the embedded Reber grammar.

    Returns:
        A list of ``len(string)`` frozensets: entry ``i`` holds the symbols that may follow
        ``string[:i + 1]`` (empty after the final ``E``). In the embedded grammar the entry after the
        inner string's ``E`` holds only the branch symbol (``string[1]``).

    Raises:
        ValueError: if ``string`` leaves the grammar.
    """
    table, state = _grammar(embedded)
    sets = []
    for i, symbol in enumerate(string):
        if symbol not in table[state]:
            raise ValueError(
                f"{string!r} is not a prefix of an {_grammar_name(embedded)} string: {symbol!r} at position {i}; "
                f"legal there: {''.join(table[state]) or 'nothing (the string has ended)'}."
            )
        state = table[state][symbol]
        sets.append(frozenset(table[state]))
    return sets


def is_reber(string, embedded=False):
    """Whether ``string`` is a complete string of the (embedded) Reber grammar."""
    try:
        sets = legal_next(string, embedded)
    except ValueError:
        return False
    return bool(sets) and not sets[-1]


def _log_completion(table, min_length, max_length):
    """``levels[n][state]``: the log probability that the uniform random walk, in ``state`` after ``n``
    symbols, stops with a length in [min_length, max_length]. Past the last level the probability is 1 (only
    when ``max_length`` is None: the walk stops with probability 1, and every length from there is allowed)."""
    top = max_length if max_length is not None else min_length
    levels = [{state: 0.0 if (max_length is None or not moves) else -math.inf for state, moves in table.items()}]
    for n in range(top - 1, -1, -1):
        nxt = levels[-1]
        levels.append(
            {
                state: np.logaddexp.reduce([nxt[s] for s in moves.values()]) - math.log(len(moves))
                if moves
                else (0.0 if n >= min_length else -math.inf)
                for state, moves in table.items()
            }
        )
    return levels[::-1]


def _move_cdfs(table, levels):
    """``cdf(state, n)``: the cumulative probabilities of ``state``'s moves after ``n`` symbols, for the walk
    conditioned on ending in range: each move weighed by its chance of still ending in range (memoized)."""
    cache = {}

    def cdf(state, n):
        step = min(n + 1, len(levels))
        if (state, step) not in cache:
            w = np.exp([levels[step][nxt] if step < len(levels) else 0.0 for nxt in table[state].values()])
            cache[state, step] = np.cumsum(w / w.sum())
        return cache[state, step]

    return cdf


def _walk(table, start, cdf, rng):
    state, symbols = start, []
    while table[state]:
        moves = list(table[state].items())
        k = int(np.searchsorted(cdf(state, len(symbols)), rng.random(), side="right"))
        symbol, state = moves[min(k, len(moves) - 1)]  # min: the cdf's last entry may round below 1
        symbols.append(symbol)
    return "".join(symbols)


def reber_strings(n, seed=0, embedded=False, min_length=None, max_length=None):
    """Random strings of the (embedded) Reber grammar.

    Each string is a random walk through the automaton choosing uniformly among a state's moves
    (Hochreiter & Schmidhuber 1997), conditioned exactly on its length lying in [min_length, max_length]:
    the walk weighs each move by the probability that it can still end in range, so no string is rejected
    and any bounds the grammar allows are cheap.

    Args:
        n: number of strings.
        seed: seed of the ``numpy.random.Generator``.
        embedded: draw from the embedded grammar.
        min_length: shortest allowed length (None: no bound; the grammar's shortest strings have 5 or 9).
        max_length: longest allowed length (None: no bound).

    Returns:
        A list of ``n`` strings, each starting with ``B`` and ending with ``E``.
    """
    n = positive_int("n", n)
    table, start = _grammar(embedded)
    min_length = 1 if min_length is None else positive_int("min_length", min_length)
    if max_length is not None and positive_int("max_length", max_length) < min_length:
        raise ValueError(
            f"`max_length` must be at least `min_length`; got min_length={min_length!r}, max_length={max_length!r}."
        )
    levels = _log_completion(table, min_length, max_length)
    if levels[0][start] == -math.inf:
        raise ValueError(
            f"No {_grammar_name(embedded)} string has a length in [{min_length}, {max_length}] (the shortest have "
            f"{9 if embedded else 5} symbols); got min_length={min_length!r}, max_length={max_length!r}."
        )
    cdf, rng = _move_cdfs(table, levels), np.random.default_rng(seed)
    return [_walk(table, start, cdf, rng) for _ in range(n)]


def multi_hot(symbol_sets):
    """Symbol sets -> a float32 array (len(symbol_sets), 7), column k for ``SYMBOLS[k]``."""
    out = np.zeros((len(symbol_sets), len(SYMBOLS)), dtype="float32")
    for i, symbols in enumerate(symbol_sets):
        out[i, [SYMBOLS.index(s) for s in symbols]] = 1.0
    return out


def reber_dataset(n, seed=0, embedded=False, min_length=None, max_length=None):
    """Next-symbol prediction on (embedded) Reber strings, for a model with one sigmoid per symbol.

    Step ``t`` of a string ``s`` reads ``s[t]`` and targets the legal successors of ``s[:t + 1]``; the final
    ``E`` is not read (nothing follows it), so a string of length L fills L - 1 steps. Strings are those of
    :func:`reber_strings` with the same arguments, padded on the right to the longest.

    Args:
        n, seed, embedded, min_length, max_length: see :func:`reber_strings`.

    Returns:
        ``(ids, targets, mask)``: int32 ids (n, time), symbol ``SYMBOLS[k]`` as ``k + 1`` and 0 for padding
        (ready for ``zoo.layers.OneHot(8)`` or ``Embedding(8, ..., mask_zero=True)``); float32 multi-hot
        targets (n, time, 7) of the legal next symbols (zeros at padding); float32 mask (n, time), 1 on
        real steps (usable as ``sample_weight``).
    """
    strings = reber_strings(n, seed, embedded=embedded, min_length=min_length, max_length=max_length)
    time = max(len(s) for s in strings) - 1
    ids = np.zeros((len(strings), time), dtype="int32")
    targets = np.zeros((len(strings), time, len(SYMBOLS)), dtype="float32")
    mask = np.zeros((len(strings), time), dtype="float32")
    for i, s in enumerate(strings):
        steps = len(s) - 1
        ids[i, :steps] = [SYMBOLS.index(c) + 1 for c in s[:-1]]
        targets[i, :steps] = multi_hot(legal_next(s, embedded)[:-1])
        mask[i, :steps] = 1.0
    return ids, targets, mask


def reber_solved(predicted_probs, targets, mask, threshold=0.5):
    """Which strings a next-symbol predictor got entirely right (Hochreiter & Schmidhuber 1997's criterion).

    A step is right when the symbols given probability above ``threshold`` are exactly its legal next
    symbols; a string is right when all its unmasked steps are. The task counts as solved when every test
    string is right (``reber_solved(...).all()``).

    Args:
        predicted_probs: (n, time, 7) per-symbol probabilities (a sigmoid per symbol).
        targets, mask: as returned by :func:`reber_dataset`.
        threshold: a probability in (0, 1).

    Returns:
        A bool array (n,).
    """
    predicted_probs, targets, mask = np.asarray(predicted_probs), np.asarray(targets), np.asarray(mask)
    if predicted_probs.shape != targets.shape or targets.shape[:-1] != mask.shape:
        raise ValueError(
            "`predicted_probs` and `targets` must have one shape (n, time, 7) and `mask` (n, time); got "
            f"shapes {predicted_probs.shape}, {targets.shape} and {mask.shape}."
        )
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"`threshold` must be a probability in (0, 1); got threshold={threshold!r}.")
    step_right = np.all((predicted_probs > threshold) == (targets > 0.5), axis=-1)  # (n, time)
    return np.all(step_right | (mask == 0), axis=-1)


TOMITA_GRAMMARS = (1, 2, 3, 4, 5, 6, 7)
TOMITA_SYMBOLS = "01"
"""The Tomita alphabet; symbol ``TOMITA_SYMBOLS[k]`` is id ``k + 1`` in :func:`tomita_dataset` (0 is padding)."""

TOMITA_LANGUAGES = MappingProxyType(
    {
        1: "1*",
        2: "(10)*",
        3: "no odd run of 0s after an odd run of 1s",
        4: "no 000",
        5: "even #0 and even #1",
        6: "#0 - #1 = 0 mod 3",
        7: "0*1*0*1*",
    }
)
"""Each Tomita language in a few words (the definitions are in :func:`tomita_accepts`)."""


def _no_odd_zeros_after_odd_ones(string):
    odd_ones = False
    for symbol, run in itertools.groupby(string):  # maximal runs
        odd = len(list(run)) % 2 == 1
        if symbol == "0" and odd and odd_ones:
            return False
        odd_ones = odd_ones or (symbol == "1" and odd)
    return True


_TOMITA = {
    1: lambda s: re.fullmatch("1*", s) is not None,
    2: lambda s: re.fullmatch("(10)*", s) is not None,
    3: _no_odd_zeros_after_odd_ones,
    4: lambda s: "000" not in s,
    5: lambda s: s.count("0") % 2 == 0 and s.count("1") % 2 == 0,
    6: lambda s: (s.count("0") - s.count("1")) % 3 == 0,
    7: lambda s: re.fullmatch("0*1*0*1*", s) is not None,
}


def _tomita_grammar(grammar):
    if isinstance(grammar, bool) or grammar not in TOMITA_GRAMMARS:
        raise ValueError(f"`grammar` must be one of the Tomita grammars {TOMITA_GRAMMARS}; got grammar={grammar!r}.")
    return int(grammar)


def tomita_accepts(grammar, string):
    """Whether ``string`` belongs to Tomita (1982) language ``grammar``: the reference definitions.

    1. ``1*``.
    2. ``(10)*``.
    3. No odd-length run of 0s anywhere after an odd-length run of 1s (runs are maximal; "after" at any
       distance). Tomita's words, "any string without an odd number of consecutive 0's after an odd number of
       consecutive 1's", are read two ways: this one, of Weiss, Goldberg & Yahav (2018, "Extracting automata
       from recurrent neural networks", their ``tomita_3``), which also rejects Tomita's own negative examples
       ``0111001101`` and ``11011100110``; and a narrower one that only forbids the odd run of 0s *right
       after* the odd run of 1s and accepts those two.
    4. No three consecutive 0s (``000`` is not a substring).
    5. An even number of 0s and an even number of 1s.
    6. The number of 0s minus the number of 1s is a multiple of 3.
    7. ``0*1*0*1*``.

    Every language holds the empty string.

    Args:
        grammar: 1 to 7.
        string: a ``str`` of ``0`` and ``1``, possibly empty.

    Raises:
        ValueError: for another grammar, or a string with other symbols.
    """
    grammar = _tomita_grammar(grammar)
    if not isinstance(string, str) or set(string) - set(TOMITA_SYMBOLS):
        raise ValueError(f"`string` must be a str of '0' and '1'; got string={string!r}.")
    return _TOMITA[grammar](string)


def _dfa(moves, accepting):
    """``moves[state]``: the next states on ``0`` and on ``1``; the walk starts in state 0."""
    return MappingProxyType(
        {"moves": tuple(dict(zip(TOMITA_SYMBOLS, pair)) for pair in moves), "accepting": frozenset(accepting)}
    )


# The minimal automaton of each language of tomita_accepts; tests/data/test_synthetic.py checks that they agree on
# every string of up to 12 symbols. The generator counts paths through them to draw strings uniformly.
TOMITA_AUTOMATA = MappingProxyType(
    {
        # 0: only 1s so far; 1: dead.
        1: _dfa([(1, 0), (1, 1)], {0}),
        # 0: (10)^k; 1: (10)^k 1; 2: dead.
        2: _dfa([(2, 1), (0, 2), (2, 2)], {0}),
        # 0: no odd run of 1s ended yet, the current run of 1s (if any) even; 1: that run odd; 2: an odd run of 1s
        # seen, then an odd run of 0s so far; 3: an odd run of 1s seen, every run of 0s since even; 4: dead.
        3: _dfa([(0, 1), (2, 0), (3, 4), (2, 3), (4, 4)], {0, 1, 3}),
        # k < 3: ends in k 0s; 3: dead.
        4: _dfa([(1, 0), (2, 0), (3, 0), (3, 3)], {0, 1, 2}),
        # parities of (#0, #1): 0 (even, even), 1 (odd, even), 2 (even, odd), 3 (odd, odd).
        5: _dfa([(1, 2), (0, 3), (3, 0), (2, 1)], {0}),
        # (#0 - #1) mod 3.
        6: _dfa([(1, 2), (2, 0), (0, 1)], {0}),
        # 0: in the first 0*; 1: the first 1*; 2: the second 0*; 3: the second 1*; 4: dead.
        7: _dfa([(0, 1), (2, 1), (2, 3), (4, 3), (4, 4)], {0, 1, 2, 3}),
    }
)


def _in_language(dfa, string):
    state = 0
    for symbol in string:
        state = dfa["moves"][state][symbol]
    return state in dfa["accepting"]


def _class_counts(dfa, accepted, max_length):
    """``counts[k][state]``: how many strings of ``k`` symbols lead from ``state`` into the language
    (``accepted``) or out of it. Python ints: exact at any length."""
    counts = [[int((state in dfa["accepting"]) == accepted) for state in range(len(dfa["moves"]))]]
    for _ in range(max_length):
        counts.append([sum(counts[-1][nxt] for nxt in moves.values()) for moves in dfa["moves"]])
    return counts


def _uniform_string(dfa, counts, length, rng):
    """A string drawn uniformly among those of ``length`` symbols that ``counts`` counts (which must exist)."""
    state, symbols = 0, []
    for left in range(length, 0, -1):
        weights = [counts[left - 1][dfa["moves"][state][s]] for s in TOMITA_SYMBOLS]
        symbol = TOMITA_SYMBOLS[0] if rng.random() < weights[0] / sum(weights) else TOMITA_SYMBOLS[1]
        state = dfa["moves"][state][symbol]
        symbols.append(symbol)
    return "".join(symbols)


def _flip(string, i):
    return string[:i] + ("1" if string[i] == "0" else "0") + string[i + 1 :]


def tomita_strings(grammar, n, seed=0, min_length=1, max_length=15):
    """Random strings of lengths in [min_length, max_length], half in Tomita language ``grammar`` and half not.

    - **Accepted** (``n // 2``): a length drawn uniformly among those in range that the language has strings of
      (``(10)*`` has only even ones), then a string drawn uniformly among the language's strings of that length,
      by counting paths through its automaton (:data:`TOMITA_AUTOMATA`): no rejection sampling, so the sparse
      languages 1 and 2 (one string or none per length) cost nothing.
    - **Rejected** (the other ``n - n // 2``): half of them *near misses*, an accepted string drawn as above with
      one symbol flipped, the position drawn uniformly among the flips that leave the language (a uniform
      rejected string when none does); the rest drawn like the accepted ones, uniformly among the rejected
      strings of a length.

    The accepted and rejected strings are shuffled together. Strings may repeat, within one call and between
    calls: languages 1 and 2 have 15 and 7 strings of 1 to 15 symbols, and a balanced set needs more positives
    than that. The empty string, in every language, is left out: it gives a classifier no step to read.

    Args:
        grammar: 1 to 7 (see :func:`tomita_accepts`).
        n: number of strings, at least 2.
        seed: seed of the ``numpy.random.Generator``.
        min_length, max_length: the range of lengths, ``1 <= min_length <= max_length``.

    Returns:
        ``(strings, labels)``: a list of ``n`` strings of ``0`` and ``1``, and a list of ``n`` bools (accepted).

    Raises:
        ValueError: for bad arguments, or when no string of the range is accepted, or none rejected.
    """
    grammar, n = _tomita_grammar(grammar), positive_int("n", n)
    if n < 2:
        raise ValueError(f"`n` must be at least 2, to hold an accepted and a rejected string; got n={n!r}.")
    min_length, max_length = positive_int("min_length", min_length), positive_int("max_length", max_length)
    if max_length < min_length:
        raise ValueError(
            f"`max_length` must be at least `min_length`; got min_length={min_length!r}, max_length={max_length!r}."
        )
    dfa, rng = TOMITA_AUTOMATA[grammar], np.random.default_rng(seed)

    def sampler(accepted):
        counts = _class_counts(dfa, accepted, max_length)
        lengths = [k for k in range(min_length, max_length + 1) if counts[k][0]]
        if not lengths:
            raise ValueError(
                f"Tomita language {grammar} ({TOMITA_LANGUAGES[grammar]}) {'has' if accepted else 'rejects'} no "
                f"string of length in [{min_length}, {max_length}]; got min_length={min_length!r}, "
                f"max_length={max_length!r}."
            )
        return lambda: _uniform_string(dfa, counts, lengths[rng.integers(len(lengths))], rng)

    accepted, rejected = sampler(True), sampler(False)

    def near_miss():
        string = accepted()
        flips = [i for i in range(len(string)) if not _in_language(dfa, _flip(string, i))]
        return _flip(string, flips[rng.integers(len(flips))]) if flips else rejected()

    n_accepted, n_rejected = n // 2, n - n // 2
    strings = [accepted() for _ in range(n_accepted)]
    strings += [near_miss() for _ in range(n_rejected // 2)]
    strings += [rejected() for _ in range(n_rejected - n_rejected // 2)]
    labels = [True] * n_accepted + [False] * n_rejected
    order = rng.permutation(n)
    return [strings[i] for i in order], [labels[i] for i in order]


def tomita_dataset(grammar, n, seed=0, min_length=1, max_length=15):
    """Accept/reject classification of Tomita strings, for a model reading ids and answering at the last one.

    Args:
        grammar, n, seed, min_length, max_length: see :func:`tomita_strings` (the same strings).

    Returns:
        ``(ids, labels, lengths)``: int32 ids (n, time), symbol ``TOMITA_SYMBOLS[k]`` as ``k + 1`` and 0 for
        padding on the right, time the longest string's length (ready for ``zoo.layers.OneHot(3)``); float32
        labels (n,), 1 for accepted; int32 lengths (n,).
    """
    strings, labels = tomita_strings(grammar, n, seed, min_length=min_length, max_length=max_length)
    lengths = np.array([len(s) for s in strings], dtype="int32")
    ids = np.zeros((len(strings), int(lengths.max())), dtype="int32")
    for i, s in enumerate(strings):
        ids[i, : len(s)] = [TOMITA_SYMBOLS.index(c) + 1 for c in s]
    return ids, np.array(labels, dtype="float32"), lengths


ADDING_BASELINE_MSE = 1.0 / 6.0
"""The MSE of always predicting 1.0 (the mean target) on the adding problem: the target is the sum of two
independent U[0, 1) values, of variance 2 * 1/12 = 1/6 ~ 0.1667 at any length. (Le et al. 2015 quote
0.1767 for this baseline; 1/6 is the exact value for the data :func:`adding_problem` generates.)"""


def adding_problem(n, length, seed=0):
    """The adding problem: sum the two marked numbers of a sequence.

    Channel 0 holds values drawn uniformly from [0, 1); channel 1 is 0 except for exactly two 1s, the
    first at a uniform position in the first half (``t < length // 2``) and the second in the second half
    (Arjovsky et al. 2016). The target is the sum of the two marked values. The trivial baseline is
    :data:`ADDING_BASELINE_MSE`.

    Args:
        n: number of sequences.
        length: steps per sequence (T), at least 2.
        seed: seed of the ``numpy.random.Generator``.

    Returns:
        ``(inputs, targets)``: float32 (n, length, 2) and float32 (n, 1).
    """
    n = positive_int("n", n)
    if positive_int("length", length) < 2:
        raise ValueError(f"`length` must be at least 2 to hold the two markers; got length={length!r}.")
    rng = np.random.default_rng(seed)
    values = rng.random((n, length))
    half = length // 2
    marked = np.stack([rng.integers(0, half, n), rng.integers(half, length, n)], axis=1)  # (n, 2)
    markers = np.zeros((n, length))
    np.put_along_axis(markers, marked, 1.0, axis=1)
    targets = np.take_along_axis(values, marked, axis=1).sum(axis=1, keepdims=True)
    return np.stack([values, markers], axis=-1).astype("float32"), targets.astype("float32")


COPY_BLANK, COPY_DELIMITER = 0, 9
COPY_CATEGORIES = 8  # ids 1..8
COPY_LENGTH = 10  # symbols to remember
COPY_VOCAB = 10  # ids 0..9


def copy_memory(n, delay, seed=0):
    """The copy memory problem of Arjovsky et al. (2016), with their alphabet a_0..a_9 as ids 0..9.

    Input: ``COPY_LENGTH`` (10) symbols drawn uniformly from the categories 1..8, then ``delay - 1``
    blanks (0), the delimiter (9), and 10 more blanks: ``delay + 20`` steps (the paper's T is ``delay``,
    counting the delimiter). Target: ``delay + 10`` blanks, then the 10 symbols. The trivial baseline is
    :func:`copy_memory_baseline`.

    The blank is id 0 but it is a real input, not padding: one-hot encode the inputs without masking
    (``keras.ops.one_hot(ids, COPY_VOCAB)``), not through ``zoo.layers.OneHot`` or ``mask_zero=True``.

    Args:
        n: number of sequences.
        delay: T, a positive int.
        seed: seed of the ``numpy.random.Generator``.

    Returns:
        ``(inputs, targets)``: int32 ids, both (n, delay + 20).
    """
    n, delay = positive_int("n", n), positive_int("delay", delay)
    rng = np.random.default_rng(seed)
    symbols = rng.integers(1, COPY_CATEGORIES + 1, (n, COPY_LENGTH))
    inputs = np.full((n, delay + 2 * COPY_LENGTH), COPY_BLANK, dtype="int32")
    inputs[:, :COPY_LENGTH] = symbols
    inputs[:, COPY_LENGTH + delay - 1] = COPY_DELIMITER
    targets = np.full_like(inputs, COPY_BLANK)
    targets[:, -COPY_LENGTH:] = symbols
    return inputs, targets


def copy_memory_baseline(delay):
    """The cross-entropy per step (nats) of the memoryless strategy: blanks for ``delay + 10`` steps, then
    each category with probability 1/8: ``10 * log(8) / (delay + 20)`` (Arjovsky et al. 2016)."""
    delay = positive_int("delay", delay)
    return COPY_LENGTH * math.log(COPY_CATEGORIES) / (delay + 2 * COPY_LENGTH)
