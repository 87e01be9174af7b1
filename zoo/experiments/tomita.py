"""Accept or reject strings of the seven Tomita (1982) languages (Giles et al. 1992 trained second-order networks
on them); per grammar, cell and seed, the test accuracy on strings up to twice the training length, and the
training strings seen when every test string is first right."""

import dataclasses

import numpy as np

# TensorFlow, Keras and the zoo modules that import them load in the functions that use them: `zoo report
# --help` lists the experiments without them (issue 23).
from zoo import training
from zoo.cells.spec import slug
from zoo.data import synthetic
from zoo.experiments.grammars import _solved_words, first_solved, grammar_success
from zoo.experiments.points import TEST_SEED
from zoo.experiments.report import findings, group, known_mean, mean_std

NAME = "tomita"
PART = "Grammars and long-range tasks"
TITLE = "Tomita grammars"


@dataclasses.dataclass(frozen=True)
class TomitaSettings:
    """Accept/reject classification of the Tomita languages; solved = all test strings right, longer ones included."""

    cells: tuple = ("elman", "gru", "peephole_lstm", "second_order(rank=16)", "second_order")
    grammars: tuple = synthetic.TOMITA_GRAMMARS
    seeds: tuple = (0, 1, 2)
    units: int = 16
    learning_rate: float = 0.01
    batch_size: int = 32
    every: int = 1000  # training strings between evaluations
    max_strings: int = 30000  # training strings before giving up
    max_length: int = 15  # training strings have 1..max_length symbols
    test_max_length: int = 30  # test strings have 1..test_max_length: the longer half is never trained on
    test_strings: int = 1000



BUDGETS = {"quick": TomitaSettings(seeds=(0,), max_strings=2000),
           "full": TomitaSettings(seeds=(0, 1, 2), max_strings=30000)}
NOTES = {"full": "The Tomita grammars, added later, stop at 30,000 training strings; estimated from their 35 seed-0 "
         "points timed on this machine (2-13 CPU-seconds each, 3 CPU-minutes in all), their 105 points take about 9 "
         "CPU-minutes."}


def _accuracy(probs, labels, mask):
    """The fraction of strings classified right (probability above 0.5 for accepted ones) where ``mask``;
    None where it selects none."""
    right = ((probs > 0.5) == (labels > 0.5))[mask]
    return float(right.mean()) if right.size else None



def train_tomita(settings, cell, grammar, seed):
    """Train on fresh strings of 1..``max_length`` symbols, evaluating every ``settings.every`` on test strings of
    1..``test_max_length``; stop at the first evaluation with every test string right.

    ``evaluations``: ``[strings seen, fraction right over all test strings, over those of the training lengths,
    over the longer ones]`` (None for a subset with no string); the result's accuracies are the last evaluation's,
    and ``sequences`` the strings seen at the first perfect one (None if none was).
    """
    from zoo.models.synthetic import string_classifier

    training.seed_everything(seed)
    model = string_classifier(cell, settings.units)
    config = training.TrainConfig(learning_rate=settings.learning_rate, batch_size=settings.batch_size, seed=seed)
    model.compile(optimizer=training.make_optimizer(config), loss="binary_crossentropy")
    x, y, lengths = synthetic.tomita_dataset(grammar, settings.max_strings, seed=seed, max_length=settings.max_length)
    tx, ty, tlengths = synthetic.tomita_dataset(grammar, settings.test_strings, seed=TEST_SEED,
                                                max_length=settings.test_max_length)
    subsets = [np.ones_like(ty, bool), tlengths <= settings.max_length, tlengths > settings.max_length]
    evaluations = []
    for start in range(0, settings.max_strings, settings.every):
        chunk = slice(start, start + settings.every)
        xc = x[chunk][:, : lengths[chunk].max()]  # pad only to this chunk's longest
        model.fit(xc, y[chunk], batch_size=settings.batch_size, epochs=1, shuffle=False, verbose=0)
        probs = model.predict(tx, batch_size=len(tx), verbose=0)[:, 0]
        evaluations.append([start + len(xc), *(_accuracy(probs, ty, subset) for subset in subsets)])
        if evaluations[-1][1] == 1.0:
            break
    return {"cell": cell, "grammar": grammar, "seed": seed, "evaluations": evaluations,
            "sequences": first_solved([e[:2] for e in evaluations]), "test_accuracy": evaluations[-1][1],
            "training_lengths_accuracy": evaluations[-1][2], "longer_accuracy": evaluations[-1][3]}



def points(settings):
    return [(f"tomita/tomita{grammar}-{slug(cell)}-seed{seed}", (cell, grammar, seed))
            for grammar in settings.grammars for cell in settings.cells for seed in settings.seeds]


def compute(settings, ctx, cell, grammar, seed):
    return train_tomita(settings, cell, grammar, seed)


def describe(result):
    return f"Tomita {result['grammar']} {result['cell']} seed {result['seed']}: {_solved_words(result)}"


def seeds(settings):
    return f"tomita {list(settings.seeds)}"


def section(results, settings, ctx):
    s = settings
    intro = [
        "Accept or reject whole strings of the seven Tomita (1982) languages over {0, 1} (defined in "
        "`zoo.data.synthetic.tomita_accepts`; language 3 read as Weiss et al. 2018 do), the task on which Giles et al. "
        "(1992) and Watrous & Kuhn (1992) trained second-order networks: one-hot inputs, "
        f"{s.units} units, learned initial state, one sigmoid on the last step, Adam learning rate "
        f"{s.learning_rate}, clipnorm 1, batch {s.batch_size}. Training strings are fresh, "
        f"1-{s.max_length} symbols, half accepted and half rejected (near misses, one symbol away from an "
        "accepted string, and uniformly drawn rejected strings; `synthetic.tomita_strings`); every "
        f"{s.every:,} strings the model classifies {s.test_strings:,} test strings of "
        f"1-{s.test_max_length} symbols drawn the same way, about half of them longer than any training "
        f"string. **Solved**: every test string right; training stops there, or at {s.max_strings:,} strings.",
        "",
    ]
    return intro + _section(results, s, ctx.assets, ctx.plots)


def _section(results, settings, assets, plots):
    if not results:
        return ["_No finished points._"]
    groups = group(results, "grammar", "cell")
    grammars = [g for g in settings.grammars if any(k[0] == g for k in groups)]
    cells_ = [c for c in settings.cells if any(k[1] == c for k in groups)]
    success = {key: grammar_success(records) for key, records in groups.items()}
    lines = ["| grammar | " + " | ".join(cells_) + " |", "|---|" + "---|" * len(cells_)]
    for grammar in grammars:
        row = []
        for cell in cells_:
            if (grammar, cell) not in groups:
                row.append("-")
                continue
            won = success[grammar, cell]
            row.append(f"{won['solved']}/{won['runs']} · "
                       f"{np.mean([r['test_accuracy'] for r in groups[grammar, cell]]):.3f}"
                       + (f" · {won['median_sequences']:,.0f}" if won["solved"] else ""))
        lines.append(f"| {grammar}: `{synthetic.TOMITA_LANGUAGES[grammar]}` | " + " | ".join(row) + " |")
    totals = [grammar_success([r for g in grammars for r in groups.get((g, c), [])]) for c in cells_]
    lines.append("| all | " + " | ".join(f"{t['solved']}/{t['runs']}" for t in totals) + " |")

    found = []
    for grammar in grammars:
        fractions = {c: success[grammar, c]["fraction"] for c in cells_ if (grammar, c) in success}
        every = [c for c, f in fractions.items() if f == 1]
        some = [c for c, f in fractions.items() if 0 < f < 1]
        found.append(f"Tomita {grammar} (`{synthetic.TOMITA_LANGUAGES[grammar]}`): "
                        + (f"solved in every seed by {', '.join(every)}" if every
                           else "no cell solved it in every seed")
                        + (f"; in some seeds by {', '.join(some)}" if some else "") + ".")
    ranked = sorted(zip(cells_, totals), key=lambda item: -item[1]["solved"])
    found.append("Solved runs over all grammars, by cell: "
                    + ", ".join(f"{c} {t['solved']}/{t['runs']}" for c, t in ranked) + ".")
    by_grammar = [(g, grammar_success([r for c in cells_ for r in groups.get((g, c), [])])) for g in grammars]
    found.append("By grammar, over all cells: " + ", ".join(f"Tomita {g} {t['solved']}/{t['runs']}"
                                                                for g, t in by_grammar) + ".")
    unsolved = [r for r in results if r["sequences"] is None]
    if unsolved:
        only_longer = [r for r in unsolved if r["training_lengths_accuracy"] == 1.0]
        found.append(f"Of the {len(unsolved)} unsolved runs, {len(only_longer)} got every test string of the "
                        f"training lengths (1-{settings.max_length} symbols) right and failed only on longer ones. "
                        "Mean accuracy of the unsolved runs: "
                        f"{known_mean(unsolved, 'training_lengths_accuracy'):.3f} on the training lengths, "
                        f"{known_mean(unsolved, 'longer_accuracy'):.3f} on {settings.max_length + 1}-"
                        f"{settings.test_max_length} symbols.")

    from zoo.plots import plot_panels

    panels = []
    for key, title in (("training_lengths_accuracy", f"test strings of 1-{settings.max_length} symbols"),
                       ("longer_accuracy", f"test strings of {settings.max_length + 1}-{settings.test_max_length} "
                        "symbols (never trained on)")):
        curves = []
        for i, cell in enumerate(cells_):
            gs = [g for g in grammars if any(r[key] is not None for r in groups.get((g, cell), []))]
            stats = [mean_std([r[key] for r in groups[g, cell] if r[key] is not None]) for g in gs]
            offset = (i - (len(cells_) - 1) / 2) * 0.08  # side by side, not on top of each other
            curves.append({"x": [g + offset for g in gs], "y": [s[0] for s in stats],
                           "yerr": [s[1] or 0.0 for s in stats], "label": cell, "color": f"C{i}", "marker": "o",
                           "linestyle": "none"})
        panels.append({"title": title, "xlabel": "Tomita grammar", "ylabel": "final test accuracy (mean over seeds)",
                       "xticks": grammars, "lines": curves, "hlines": [(0.5, "chance")]})
    plots.append(plot_panels(panels, assets / "tomita.png", width=6.0))
    return [*findings(found),
            "Per grammar and cell: solved seeds / seeds · mean final test accuracy · median training strings to "
            "solve (of the solved seeds):", "", *lines, "",
            f"![Tomita test accuracy per grammar and cell]({assets.name}/tomita.png)"]
