"""Gradients through time on IMDB: per cell, ``mean_i ||d loss_i / d x_t||`` (``zoo.analysis.gradient_norms``)
over a batch of long test reviews, for the untrained classifier of ``seq_length`` and the trained one (the
``seq_length`` model of that length, end kept: the same run folder is reused).
"""

import dataclasses

import numpy as np

# TensorFlow, Keras and the zoo modules that import them load in the functions that use them: `zoo report
# --help` lists the experiments without them (issue 23).
from zoo.experiments import seq_length
from zoo.experiments.points import point_settings
from zoo.experiments.report import change, decades, findings, fmt_decades, sci

NAME = "gradients"
PART = "Gradients through time"
TITLE = "Through the padded classifier"


@dataclasses.dataclass(frozen=True)
class GradientSettings:
    """||d loss / d x_t|| over a batch of test reviews of at least ``length`` tokens (their last ``length``)."""

    cells: tuple = ("elman", "gru", "peephole_lstm")
    length: int = 500
    batch: int = 64
    seed: int = 0



BUDGETS = {"quick": GradientSettings(length=100, batch=32), "full": GradientSettings(length=500, batch=64)}
NOTES = {}

def long_review_batch(prepared, length, batch, seed=0):
    """Up to ``batch`` test reviews of at least ``length`` tokens (chosen with ``seed``), each cut to its last
    ``length``: ``(ids (n, length), labels (n, 1))``, no padding."""
    long = [i for i, ids in enumerate(prepared.tokens["test"]) if len(ids) >= length]
    if not long:
        raise ValueError(f"no test review has {length} tokens or more; use a smaller gradient `length`.")
    rng = np.random.default_rng(seed)
    index = np.sort(rng.permutation(long)[:batch])
    ids = seq_length.truncate([prepared.tokens["test"][i] for i in index], length, "end")
    return ids, prepared.labels["test"][index][:, None]



def stored_settings(settings, ctx):
    return point_settings(settings, classifier=point_settings(ctx.budget["seq_length"]))


def points(settings):
    return [(f"gradients/{seq_length.slug(cell)}", (cell,)) for cell in settings.cells]


def compute(settings, ctx, cell):
    import keras

    from zoo import analysis

    bce = keras.losses.BinaryCrossentropy(reduction=None)
    prepared = seq_length.prepared(ctx)
    classifier = ctx.budget["seq_length"]
    ids, labels = long_review_batch(prepared, settings.length, settings.batch, settings.seed)
    untrained = seq_length.classifier(prepared, classifier, cell, settings.seed)
    before = analysis.gradient_norms(untrained, ids, labels, bce)
    run_dir = seq_length.imdb_run_dir(ctx.work_dir, cell, "end", settings.length, settings.seed)
    trained, _ = seq_length.train_classifier(prepared, classifier, cell, settings.length, "end", settings.seed,
                                             run_dir)
    after = analysis.gradient_norms(trained, ids, labels, bce)
    return {
        "cell": cell, "length": settings.length, "reviews": len(ids),
        "untrained": [float(v) for v in before[::-1]], "trained": [float(v) for v in after[::-1]],
    }


def describe(result):
    return (f"{result['cell']}: trained last-step norm {result['trained'][0]:.2e}, first-step "
            f"{result['trained'][-1]:.2e}")


def seeds(settings):
    return f"gradients {settings.seed}"


def section(results, settings, ctx):
    intro = [
        f"Mean over {settings.batch} test reviews of at least {settings.length} tokens (their last "
        f"{settings.length}) of ||d loss_i / d x_t||, x_t the embedded token the recurrent layer reads at "
        "step t (`zoo.analysis.gradient_norms`), for the untrained padded classifier of section 1 and the one "
        f"trained on reviews cut to {settings.length} tokens keeping the end (seed {settings.seed}).",
        "",
    ]
    return intro + norms_section(results, ctx.assets, ctx.plots, "gradients", lambda r: r["cell"])


def norms_section(results, assets, plots, plot_name, label):
    """The table, findings and plot of gradient-norm curves (``untrained``/``trained`` per result); ``label(result)``
    names a curve."""
    if not results:
        return ["_No finished points._"]
    lines = ["| cell | model | norm at the last step | norm at the first step | change (decades) | "
             "first distance below 1e-3 x last-step norm |", "|---|---|---|---|---|---|"]
    found = []
    for r in results:
        for kind in ("untrained", "trained"):
            norms = np.asarray(r[kind])
            below = np.flatnonzero(norms < 1e-3 * norms[0])
            lines.append(f"| {label(r)} | {kind} | {sci(norms[0])} | {sci(norms[-1])} | "
                         f"{fmt_decades(decades(norms))} | "
                         f"{int(below[0]) if len(below) else 'never'} |")
        found.append(
            f"{label(r)}: from the last step to the first ({r['length'] - 1} steps back), the gradient norm changes "
            f"{change(r['untrained'])} untrained and {change(r['trained'])} trained."
        )
    ranked = sorted(results, key=lambda r: decades(r["trained"]))
    if len(ranked) > 1:
        found.append(f"Trained, the steepest decay is {label(ranked[0])}'s ({change(ranked[0]['trained'])}), the "
                   f"flattest {label(ranked[-1])}'s ({change(ranked[-1]['trained'])}).")

    from zoo.plots import plot_panels

    curves = []
    for i, r in enumerate(results):
        for kind, style in (("trained", "-"), ("untrained", "--")):
            curves.append({"x": list(range(len(r[kind]))), "y": r[kind], "label": f"{label(r)} ({kind})",
                           "color": f"C{i}", "linestyle": style})
    plots.append(plot_panels(
        [{"title": f"{results[0]['reviews']} test reviews, last {results[0]['length']} tokens",
          "xlabel": "distance from the end of the review (steps)", "ylabel": "mean ||d loss / d x_t||",
          "yscale": "log", "lines": curves}],
        assets / f"{plot_name}.png", width=7.5,
    ))
    return [*findings(found), *lines, "",
            f"![gradient norm against distance from the end]({assets.name}/{plot_name}.png)"]
