"""Synthetic sequence tasks with known answers: Reber grammars, the adding problem, copy memory.

- **Reber grammar** (Reber 1967), as used by Hochreiter & Schmidhuber 1997 (LSTM, experiment 1): the
  strings of a 7-symbol finite automaton (``REBER``), and the **embedded Reber grammar**: ``B``, then ``T`` or
  ``P``, then a whole Reber string, then the same ``T``/``P`` again, then ``E`` (``EMBEDDED_REBER``). The task
  is next-symbol prediction: at every step, give the legal next symbols probability above a threshold and the
  others below it (:func:`reber_dataset`, :func:`reber_solved`). The only long-range dependency is the
  second-to-last symbol of an embedded string, which must repeat the second.
- **Adding problem** (Hochreiter & Schmidhuber 1997, in the form of Le et al. 2015 and Arjovsky et al. 2016):
  sum the two marked values of a sequence of random numbers (:func:`adding_problem`).
- **Copy memory** (Arjovsky et al. 2016): read 10 symbols, wait, reproduce them (:func:`copy_memory`).

Every generator takes an integer ``seed`` for a ``numpy.random.Generator``: the same arguments give the
same arrays.
"""

import math
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
