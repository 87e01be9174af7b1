"""Addition as sequence-to-sequence: the text "a+b" in, the text of a + b out (a, b < 1000 by default).

The keras.io "sequence to sequence learning for performing addition" example's task. Every problem
``(a, b)`` with ``0 <= a, b < max_value`` is enumerated and shuffled with a seed; the test problems
come first, then validation, then training, so no test problem is ever trained on (a+b and b+a are
different problems; both may appear, in any split).
"""

import re

import numpy as np

from zoo.data import Pairs, Style, registry
from zoo.validation import positive_int


MAX_VALUE = 1000  # operands are below this


def _problem_pattern(max_value):
    """A problem's form: two runs of at most as many digits as ``max_value - 1`` has, joined by ``+``."""
    digits = len(str(max_value - 1))
    return rf"([0-9]{{1,{digits}}})\+([0-9]{{1,{digits}}})"  # ASCII digits: Python's \d takes others too


def check_problem(text, max_value=MAX_VALUE):
    """``text`` if it is a problem of the kind trained on, ``a+b`` with ``0 <= a, b < max_value`` (digits
    only); else ValueError naming it. The model answers anything, but only those answers mean something
    (the exported model answers "" to the rest: :func:`in_domain`)."""
    match = re.fullmatch(_problem_pattern(max_value), text)
    if not match or any(int(operand) >= max_value for operand in match.groups()):
        raise ValueError(f"the addition model takes 'a+b' with whole numbers 0 <= a, b < {max_value} (e.g. 123+45); "
                         f"got {text!r}.")
    return text


def in_domain(text, max_value=MAX_VALUE):
    """(batch,) strings -> (batch,) bool, in the TensorFlow graph: which are problems :func:`check_problem`
    accepts. The exported model answers the others with an empty string."""
    import tensorflow as tf

    well_formed = tf.strings.regex_full_match(text, _problem_pattern(max_value))
    operands = tf.strings.split(tf.where(well_formed, text, "0+0"), "+")  # (batch, 2)
    values = tf.ragged.map_flat_values(tf.strings.to_number, operands, tf.int64)
    return well_formed & tf.reduce_all(values < max_value, axis=1)


def problems(train=100_000, validation=5_000, test=10_000, max_value=MAX_VALUE, seed=0):
    """``{"train", "validation", "test"}`` -> :class:`zoo.data.Pairs` of "a+b" and "c" strings."""
    for name, value in (("train", train), ("validation", validation), ("test", test), ("max_value", max_value)):
        positive_int(name, value)
    total = max_value * max_value
    if train + validation + test > total:
        raise ValueError(
            f"train + validation + test = {train + validation + test:,} problems, but only {total:,} exist "
            f"with operands below max_value={max_value}."
        )
    order = np.random.default_rng(seed).permutation(total)[: test + validation + train]
    a, b = np.divmod(order, max_value)

    def pairs(s):
        return Pairs([f"{x}+{y}" for x, y in zip(a[s], b[s])], [str(x + y) for x, y in zip(a[s], b[s])])

    return {"test": pairs(slice(0, test)), "validation": pairs(slice(test, test + validation)),
            "train": pairs(slice(test + validation, None))}


# `zoo train seq2seq --data addition` (zoo.data.registry): the splits, and the model card's sections.


def _load(config, seed):
    return problems(train=config.train_problems, seed=seed), {"dataset": DATASET.name, "path": "generated",
                                                              "sha256": None}


def _card(config, train_config, metrics, export_dir):
    return {
        "title": "Addition: the text 'a+b' in, its sum out",
        "example": "123+45",
        "data": f"""Generated: all a+b with 0 <= a, b < 1000, shuffled with seed {metrics["seed"]}; the first {metrics["pairs"]["test"]:,}
are the test problems, the next {metrics["pairs"]["validation"]:,} validation, the next {metrics["pairs"]["train"]:,} training.""",
        "limits": f"Only `a+b` with 0 <= a, b < {MAX_VALUE} (digits only) was trained on: anything else, the "
                  "empty string included, gets the empty answer \"\", and `zoo translate` refuses it.",
        "note": " (the keras.io addition example reports 98.8% per character)",
    }


DATASET = registry.NamedDataset(
    name="addition", task="seq2seq", load=_load, model_name="addition_seq2seq", metrics_task="addition", card=_card,
    example="478+925", style=Style("char", None, ("serving_default",), "answer", in_domain),
)
