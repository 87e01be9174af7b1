"""Reber and embedded Reber next-symbol prediction: per cell and seed, the training strings seen at the first
evaluation that gets all of the fresh test strings right (Hochreiter & Schmidhuber 1997)."""

import dataclasses

import numpy as np

# TensorFlow, Keras and the zoo modules that import them load in the functions that use them: `zoo report
# --help` lists the experiments without them (issue 23).
from zoo import training
from zoo.cells.spec import slug
from zoo.data import synthetic
from zoo.experiments.points import TEST_SEED
from zoo.experiments.report import findings, group
from zoo.validation import one_of

NAME = "grammars"
PART = "Grammars and long-range tasks"
TITLE = "Reber and embedded Reber grammars"
GRAMMARS = ("reber", "embedded_reber")


@dataclasses.dataclass(frozen=True)
class GrammarSettings:
    """Next-symbol prediction on (embedded) Reber strings; solved = all test strings right."""

    cells: tuple = ("elman", "gru", "peephole_lstm", "second_order(rank=16)", "second_order")
    grammars: tuple = GRAMMARS
    seeds: tuple = (0, 1, 2)
    units: int = 16
    learning_rate: float = 0.01
    batch_size: int = 32
    every: int = 1000  # training strings between evaluations
    max_sequences: int = 30000  # training strings before giving up
    test_strings: int = 1000



BUDGETS = {"quick": GrammarSettings(seeds=(0,), max_sequences=5000),
           "full": GrammarSettings(seeds=(0, 1, 2), max_sequences=30000)}
NOTES = {"full": "Reber runs stop at 30,000 training strings."}


def fraction_right(predicted_probs, targets, mask):
    """The fraction of strings with every step right (``synthetic.reber_solved``); 1.0 means solved."""
    return float(np.mean(synthetic.reber_solved(predicted_probs, targets, mask)))



def first_solved(evaluations):
    """Training strings seen at the first evaluation ``(seen, fraction_right)`` with every string right, or None."""
    return next((int(seen) for seen, right in evaluations if right == 1.0), None)



def grammar_success(records):
    """Per-seed records (each with ``sequences``: strings needed, None if unsolved) -> ``{"solved", "runs",
    "fraction", "sequences" (of the solved seeds, sorted), "median_sequences" (None if none solved)}``."""
    needed = sorted(r["sequences"] for r in records if r["sequences"] is not None)
    return {"solved": len(needed), "runs": len(records), "fraction": len(needed) / len(records) if records else 0.0,
            "sequences": needed, "median_sequences": float(np.median(needed)) if needed else None}



def _trimmed(*arrays, mask):
    steps = max(int(mask.sum(axis=1).max()), 1)
    return [a[:, :steps] for a in arrays]



def train_grammar(settings, cell, grammar, seed):
    """Train on fresh strings, evaluating every ``settings.every``; stop at the first perfect evaluation."""
    from zoo.models.synthetic import symbol_predictor

    embedded = one_of("grammar", grammar, GRAMMARS) == "embedded_reber"
    training.seed_everything(seed)
    model = symbol_predictor(cell, settings.units)
    config = training.TrainConfig(learning_rate=settings.learning_rate, batch_size=settings.batch_size, seed=seed)
    model.compile(optimizer=training.make_optimizer(config), loss="binary_crossentropy")
    x, y, m = synthetic.reber_dataset(settings.max_sequences, seed=seed, embedded=embedded)
    tx, ty, tm = synthetic.reber_dataset(settings.test_strings, seed=TEST_SEED, embedded=embedded)
    evaluations = []
    for start in range(0, settings.max_sequences, settings.every):
        chunk = slice(start, start + settings.every)
        xc, yc, mc = _trimmed(x[chunk], y[chunk], m[chunk], mask=m[chunk])  # pad only to this chunk's longest
        model.fit(xc, yc, sample_weight=mc, batch_size=settings.batch_size, epochs=1, shuffle=False, verbose=0)
        probs = model.predict(tx, batch_size=len(tx), verbose=0)
        evaluations.append([start + len(xc), fraction_right(probs, ty, tm)])
        if evaluations[-1][1] == 1.0:
            break
    return {"cell": cell, "grammar": grammar, "seed": seed, "evaluations": evaluations,
            "sequences": first_solved(evaluations)}



def _solved_words(result):
    """How a grammar run ended, for the log: the training strings it needed, or its last fraction right."""
    if result["sequences"] is not None:
        return f"solved after {result['sequences']} strings"
    return f"not solved ({result['evaluations'][-1][1]:.3f} right)"



def points(settings):
    return [(f"grammars/{grammar}-{slug(cell)}-seed{seed}", (cell, grammar, seed))
            for grammar in settings.grammars for cell in settings.cells for seed in settings.seeds]


def compute(settings, ctx, cell, grammar, seed):
    return train_grammar(settings, cell, grammar, seed)


def describe(result):
    return f"{result['grammar']} {result['cell']} seed {result['seed']}: {_solved_words(result)}"


def seeds(settings):
    return f"grammars {list(settings.seeds)}"


def section(results, settings, ctx):
    s = settings
    intro = [
        f"Next-symbol prediction (one sigmoid per symbol, one-hot inputs, {s.units} units, learned initial state, "
        f"Adam learning rate {s.learning_rate}, clipnorm 1, batch {s.batch_size}) on fresh training strings, "
        f"evaluated every {s.every:,} strings on {s.test_strings:,} test strings. **Solved**: every prediction of "
        "every test string right (the symbols above probability 0.5 are exactly the legal next ones, "
        "`reber_solved(...).all()`); the strings needed are those seen at the first evaluation that solved it; "
        "training stops there.",
        "",
    ]
    return intro + _section(results, s, ctx.assets, ctx.plots)


def _section(results, settings, assets, plots):
    if not results:
        return ["_No finished points._"]
    groups = group(results, "grammar", "cell")
    lines = ["| grammar | cell | solved (seeds) | training strings to solve (per solved seed) | "
             "best fraction of test strings right (unsolved seeds) |", "|---|---|---|---|---|"]
    found = []
    for grammar in settings.grammars:
        parts = []
        for cell in settings.cells:
            if (grammar, cell) not in groups:
                continue
            records = groups[grammar, cell]
            s = grammar_success(records)
            unsolved = [max(e[1] for e in r["evaluations"]) for r in records if r["sequences"] is None]
            lines.append(f"| {grammar} | {cell} | {s['solved']}/{s['runs']} | "
                         f"{', '.join(f'{n:,}' for n in s['sequences']) or '-'} | "
                         f"{', '.join(f'{u:.3f}' for u in unsolved) or '-'} |")
            parts.append(f"{cell} {s['solved']}/{s['runs']}"
                         + (f" (median {s['median_sequences']:,.0f} strings)" if s["solved"] else ""))
        found.append(f"{grammar}, solved within {settings.max_sequences:,} training strings: "
                        + ", ".join(parts) + ".")

    from zoo.plots import plot_panels

    panels = []
    for grammar in settings.grammars:
        curves = []
        for i, cell in enumerate(settings.cells):
            for j, r in enumerate(groups.get((grammar, cell), [])):
                curves.append({"x": [e[0] for e in r["evaluations"]], "y": [e[1] for e in r["evaluations"]],
                               "label": cell if j == 0 else None, "color": f"C{i}", "marker": "."})
        panels.append({"title": grammar.replace("_", " "), "xlabel": "training strings",
                       "ylabel": f"fraction of the {settings.test_strings} test strings right", "lines": curves})
    plots.append(plot_panels(panels, assets / "grammars.png"))
    return [*findings(found), *lines, "",
            f"![Reber learning curves]({assets.name}/grammars.png)"]
