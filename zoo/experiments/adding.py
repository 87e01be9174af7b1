"""The adding problem at several lengths (Le et al. 2015 form): final test MSE against the trivial baseline."""

import dataclasses

import numpy as np

# TensorFlow, Keras and the zoo modules that import them load in the functions that use them: `zoo report
# --help` lists the experiments without them (issue 23).
from zoo import training
from zoo.cells.spec import slug
from zoo.data import synthetic
from zoo.experiments.points import TEST_SEED
from zoo.experiments.report import findings, fmt, group

NAME = "adding"
PART = "Grammars and long-range tasks"
TITLE = "Adding problem"


@dataclasses.dataclass(frozen=True)
class AddingSettings:
    """The adding problem; a cell beats the baseline when its final test MSE < ``beats`` x baseline."""

    cells: tuple = ("elman", "gru", "peephole_lstm")
    lengths: tuple = (50, 100, 200)
    seeds: tuple = (0, 1)
    units: int = 32
    steps: int = 2000
    batch_size: int = 32
    learning_rate: float = 1e-3
    eval_every: int = 100  # steps between test evaluations
    test_sequences: int = 1000
    beats: float = 0.1



BUDGETS = {"quick": AddingSettings(seeds=(0,), steps=200, eval_every=50),
           "full": AddingSettings(seeds=(0,), steps=4000, eval_every=250)}
NOTES = {"full": "The adding problem has **one seed** and 4,000 steps, so a cell that needs longer counts as not "
         "beating the baseline."}


def train_adding(settings, cell, length, seed):
    """Adam (clipnorm 1) on fresh batches; test MSE every ``eval_every`` steps on fixed test sequences."""
    from zoo.models.synthetic import sequence_regressor

    training.seed_everything(seed)
    model = sequence_regressor(cell, settings.units, 2)
    config = training.TrainConfig(learning_rate=settings.learning_rate, batch_size=settings.batch_size, seed=seed)
    model.compile(optimizer=training.make_optimizer(config), loss="mse")
    tx, ty = synthetic.adding_problem(settings.test_sequences, length, seed=TEST_SEED)
    curve = []
    for chunk, start in enumerate(range(0, settings.steps, settings.eval_every)):
        steps = min(settings.eval_every, settings.steps - start)
        x, y = synthetic.adding_problem(steps * settings.batch_size, length, seed=1_000 * seed + chunk)
        model.fit(x, y, batch_size=settings.batch_size, epochs=1, shuffle=False, verbose=0)
        mse = float(np.mean((model.predict(tx, batch_size=256, verbose=0) - ty) ** 2))
        curve.append([start + steps, mse])
    return {"cell": cell, "length": length, "seed": seed, "curve": curve, "test_mse": curve[-1][1],
            "baseline_mse": synthetic.ADDING_BASELINE_MSE,
            "beats": curve[-1][1] < settings.beats * synthetic.ADDING_BASELINE_MSE}



def points(settings):
    return [(f"adding/{slug(cell)}-{length}-seed{seed}", (cell, length, seed))
            for length in settings.lengths for cell in settings.cells for seed in settings.seeds]


def compute(settings, ctx, cell, length, seed):
    return train_adding(settings, cell, length, seed)


def describe(result):
    r = result
    return f"{r['cell']} length {r['length']} seed {r['seed']}: test MSE {r['test_mse']:.4f}"


def seeds(settings):
    return f"adding {list(settings.seeds)}"


def section(results, settings, ctx):
    s = settings
    intro = [
        f"Sum the two marked numbers of a sequence (Le et al. 2015 form); {s.units} units, Adam (learning rate "
        f"{s.learning_rate}, clipnorm 1), {s.steps} steps of {s.batch_size} fresh sequences, test MSE on "
        f"{s.test_sequences} fixed test sequences every {s.eval_every} steps.",
        "",
    ]
    return intro + _section(results, s, ctx.assets, ctx.plots)


def _section(results, settings, assets, plots):
    if not results:
        return ["_No finished points._"]
    groups = group(results, "cell", "length")
    lengths = [n for n in settings.lengths if any(k[1] == n for k in groups)]
    limit = settings.beats * synthetic.ADDING_BASELINE_MSE
    lines = ["| cell | " + " | ".join(f"length {n}" for n in lengths) + " |", "|---|" + "---|" * len(lengths)]
    found = []
    for cell in settings.cells:
        row = []
        for n in lengths:
            rs = groups.get((cell, n), [])
            row.append(f"{fmt([r['test_mse'] for r in rs], 4)} ({sum(r['beats'] for r in rs)}/{len(rs)} beat)"
                       if rs else "-")
        lines.append(f"| {cell} | " + " | ".join(row) + " |")
    for n in lengths:
        winners = [c for c in settings.cells if groups.get((c, n)) and all(r["beats"] for r in groups[c, n])]
        mixed = [c for c in settings.cells if groups.get((c, n)) and any(r["beats"] for r in groups[c, n])
                 and c not in winners]
        best = min((r for c in settings.cells for r in groups.get((c, n), [])), key=lambda r: r["test_mse"])
        found.append(f"Length {n}: beating the baseline in every seed: {', '.join(winners) or 'none'}"
                        + (f"; in some seeds: {', '.join(mixed)}" if mixed else "")
                        + f". Lowest test MSE: {best['cell']} {best['test_mse']:.4f} "
                        f"({best['test_mse'] / synthetic.ADDING_BASELINE_MSE:.0%} of the baseline).")

    from zoo.plots import plot_panels

    panels = []
    for n in lengths:
        curves = []
        for i, cell in enumerate(settings.cells):
            for j, r in enumerate(groups.get((cell, n), [])):
                curves.append({"x": [c[0] for c in r["curve"]], "y": [c[1] for c in r["curve"]],
                               "label": cell if j == 0 else None, "color": f"C{i}"})
        panels.append({"title": f"length {n}", "xlabel": "training steps", "ylabel": "test MSE", "yscale": "log",
                       "lines": curves, "hlines": [(synthetic.ADDING_BASELINE_MSE, "baseline"), (limit, "beats")]})
    plots.append(plot_panels(panels, assets / "adding.png"))
    return [f"A cell **beats** the baseline when its final test MSE (after the last training step, no model "
            f"selection) is below {settings.beats:g} x the baseline MSE {synthetic.ADDING_BASELINE_MSE:.4f} of always "
            f"predicting 1.0, i.e. below {limit:.4f}.", "", *findings(found),
            "Final test MSE, mean ± sample std over seeds (seeds beating the baseline):", "", *lines, "",
            f"![adding problem learning curves]({assets.name}/adding.png)"]
