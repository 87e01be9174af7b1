"""The seed experiments: short-term memory on IMDB, gradients through time, grammars and long-range tasks.

One module per experiment (``exact_length``, ``seq_length``, ``gradients``, ``exploding``, ``grammars``, ``tomita``,
``adding``), each a grid of *points* (one trained model, or one measurement). A module exports:

- ``NAME``, ``PART`` (the report's part it belongs to) and ``TITLE`` (its section's heading);
- its settings dataclass, ``BUDGETS`` (``{"quick": settings, "full": settings}``) and ``NOTES`` (what each
  budget trades away, quoted in the report);
- ``points(settings)``: ``(name, args)`` pairs, ``name`` the point's JSON path under the results folder;
- ``compute(settings, ctx, *args)``: one point's result (a dict), ``ctx`` a :class:`~zoo.experiments.points.Context`;
- ``describe(result)``: the point's log line; ``seeds(settings)``: the seeds, as the report's header lists them;
- ``section(results, settings, ctx)``: its report section's Markdown lines (plots written to ``ctx.assets``).
  Optionally ``stored_settings(settings, ctx)``: what a point's JSON records as its settings.

Adding an experiment is one module and one line in :data:`REGISTRY`. Points are cached as JSON
(``zoo.experiments.points``): a rerun skips finished points and :func:`write_report` renders the report from those
files alone (``--report-only``).

Entry point: :func:`main` (``python scripts/report.py --budget quick``).
"""

import argparse
import dataclasses
import datetime
import json
import shlex
import time
from pathlib import Path

from zoo import training
from zoo.cells.spec import parse_cell
from zoo.experiments import adding, exact_length, exploding, gradients, grammars, seq_length, tomita
from zoo.experiments.points import TEST_SEED, Context, point, point_settings, run_points
from zoo.experiments.reviews import load_reviews
from zoo.training import _write_json
from zoo.validation import one_of

# The experiments, in the report's order.
REGISTRY = {module.NAME: module for module in (exact_length, seq_length, gradients, exploding, grammars, tomita,
                                               adding)}
EXPERIMENTS = tuple(REGISTRY)

__all__ = ["BUDGETS", "Budget", "EXPERIMENTS", "REGISTRY", "main", "parse_cell", "point", "point_settings",
           "run_all", "write_report"]


@dataclasses.dataclass(frozen=True)
class Budget:
    """Every experiment's settings (``budget[name]``), and what the budget trades away (``description``, quoted
    in the report before each experiment's own ``NOTES``)."""

    name: str
    settings: dict
    description: str = ""

    def __getitem__(self, experiment):
        return self.settings[experiment]


def _budget(name, description):
    return Budget(name, {key: module.BUDGETS[name] for key, module in REGISTRY.items()}, description)


BUDGETS = {
    "quick": _budget(
        "quick",
        "The **quick** budget checks that every experiment runs end to end in minutes: 2,000 training reviews, 16 "
        "units, one epoch, three lengths, one seed; Reber strings up to 5,000; 200 adding-problem steps; Tomita "
        "strings up to 2,000; exact-length reviews of at least 500 tokens, two epochs. Its models barely train: do "
        "not read conclusions into its numbers.",
    ),
    # Sized from timed points to fit on 2 shared CPU cores (see each experiment's notes).
    "full": _budget(
        "full",
        "The **full** budget of the six experiments other than exact_length is sized to run in roughly an hour on 2 "
        "CPU cores; estimated before running, from points timed on this machine: about 65 CPU-minutes (IMDB ~41, "
        "Reber ~10, adding ~12, the rest ~2). What each experiment trades for its budget:",
    ),
}


def run_all(budget, results_dir, work_dir, reviews=None, data_dir=None, only=EXPERIMENTS, compute=True):
    """Run the experiments in ``only`` (skipping finished points) and read back the others' finished points.

    Args:
        budget: a :class:`Budget`.
        results_dir: where the per-point JSON files go.
        work_dir: training run folders (checkpoints, logs) and caches.
        reviews: ``{"train", "validation", "test"}`` reviews to use in place of IMDB (e.g. synthetic texts in
            tests); None loads IMDB from ``data_dir`` / ``$ZOO_DATA_DIR`` when a point needs it.
        only: the experiments to compute; the rest are only read.
        compute: False reads finished points only (regenerate a report without training).

    Returns:
        ``{experiment: results}``, each a list of point results.
    """
    for name in only:
        one_of("experiment", name, EXPERIMENTS)
    ctx = Context(budget, Path(results_dir), Path(work_dir),
                  load_reviews=(lambda unsup: reviews) if reviews is not None else
                  (lambda unsup: load_reviews(data_dir, unsup=unsup)))
    return {name: run_points(module, budget[name], ctx, compute and name in only) for name, module in REGISTRY.items()}


# The report: a header, each experiment's section, the timing table.

_HEADER = """# Seed experiments: memory, gradients through time, grammars (budget: {budget})

Generated by `zoo.experiments` from the per-point results in `{assets}/results/`; every number and sentence below \
is computed from them.

| | |
|---|---|
{runs}| budget | {budget} |
| machine | {machine} |
| seeds | {seeds} |
"""


def _run_rows(runs):
    rows = []
    for run in runs:
        computed = f" (computed: {', '.join(run['only'])})" if "only" in run else ""
        ended = (f"stopped at {run['finished']} before every point was computed" if run.get("interrupted")
                 else f"finished {run['finished']}")
        rows.append(f"| command | `{run['command']}`{computed} |\n"
                    f"| wall time | {run['wall_seconds'] / 60:.1f} min for that run, {ended} |\n")
    return "".join(rows)


def _timing_rows(results):
    return [(name, len(points), sum(p["seconds"] for p in points), sum(p["cpu_seconds"] for p in points))
            for name, points in results.items() if points]


def write_report(budget, results, out, runs):
    """Write the Markdown report ``out`` and its PNGs (in the folder ``out`` without its suffix).

    Args:
        budget: the :class:`Budget` the results were computed with.
        results: :func:`run_all`'s return value.
        out: the Markdown file to write.
        runs: the runs that computed the results, each ``{"command", "wall_seconds", "environment", "finished",
            "only"}`` (the experiments it computed).

    Returns:
        ``(out, plots)``.
    """
    out = Path(out)
    assets = out.with_suffix("")
    assets.mkdir(parents=True, exist_ok=True)
    ctx = Context(budget, assets / "results", None, assets=assets)
    env = runs[-1]["environment"]
    timing = _timing_rows(results)
    settings_json = json.dumps({name: dataclasses.asdict(budget[name]) for name in REGISTRY}, indent=None)
    notes = [module.NOTES[budget.name] for module in REGISTRY.values() if budget.name in module.NOTES]
    doc = [_HEADER.format(
        budget=budget.name, assets=assets.name, runs=_run_rows(runs),
        machine=f"{env['hardware']}; TensorFlow {env['versions']['tensorflow']}, Keras {env['versions']['keras']}",
        seeds="; ".join(module.seeds(budget[name]) for name, module in REGISTRY.items())
        + f"; synthetic test sets seed {TEST_SEED}",
    )]
    doc += [" ".join([budget.description, *notes]).strip(), "", "Budget settings:", "", "```",
            settings_json.replace("}, ", "},\n "), "```", ""]
    part = None
    for name, module in REGISTRY.items():
        if module.PART != part:
            part = module.PART
            doc += [f"## {len({m.PART for m in list(REGISTRY.values())[: list(REGISTRY).index(name) + 1]})}. {part}",
                    ""]
        doc += [f"### {module.TITLE}", "", *module.section(results[name], budget[name], ctx), ""]
    total_wall, total_cpu = sum(t[2] for t in timing), sum(t[3] for t in timing)
    doc += ["## Timing", "", "| experiment | points | wall minutes | CPU minutes |", "|---|---|---|---|",
            *[f"| {name} | {n} | {wall / 60:.1f} | {cpu / 60:.1f} |" for name, n, wall, cpu in timing],
            f"| all | {sum(t[1] for t in timing)} | {total_wall / 60:.1f} | {total_cpu / 60:.1f} |", "",
            "Point timings exclude loading and tokenizing IMDB and summing them includes points computed by earlier, "
            "resumed runs. Wall times depend on what else the machine was running.", ""]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(doc))
    return out, ctx.plots


# Command line.

DEFAULT_OUT = {"quick": "runs/experiments/quick/experiments.md", "full": "docs/experiments.md"}


def build_parser(prog="python scripts/report.py", budgets=BUDGETS):
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run the seed experiments (" + ", ".join(EXPERIMENTS) + ") and write a Markdown report with "
        "PNG plots. Finished points are skipped: rerun the same command to resume.",
    )
    parser.add_argument("--budget", choices=sorted(budgets), default="quick", help="quick (minutes) or full")
    parser.add_argument("--out", help=f"the Markdown report; plots and results go in the folder of the same name "
                        f"without .md (default: {DEFAULT_OUT})")
    parser.add_argument("--work-dir", help="training run folders (default runs/experiments/<budget>)")
    parser.add_argument("--data-dir", help="IMDB folder or archive (default $ZOO_DATA_DIR, else download)")
    parser.add_argument("--only", default=",".join(EXPERIMENTS),
                        help=f"comma-separated experiments to compute (others are only read): {','.join(EXPERIMENTS)}")
    parser.add_argument("--report-only", action="store_true", help="compute nothing; rewrite the report from results")
    return parser


def read_runs(path):
    """The runs recorded in ``run.json``: a list (an older single-run file is one run that computed everything)."""
    path = Path(path)
    if not path.exists():
        return []
    runs = json.loads(path.read_text())
    return runs if isinstance(runs, list) else [runs]


def _points_in(results_dir):
    return sum(1 for path in Path(results_dir).rglob("*.json") if path.name != "run.json")


def main(argv=None, prog="python scripts/report.py", budgets=BUDGETS, reviews=None):
    """Parse ``argv``, run (or resume) the budget's experiments and write the report; returns 0.

    ``prog`` is recorded as the command's start (a CLI hook would pass ``"zoo report"``); ``budgets`` and
    ``reviews`` (texts in place of IMDB, see :func:`run_all`) let tests run tiny settings end to end.
    """
    import sys

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(prog, budgets)
    args = parser.parse_args(argv)
    budget = budgets[args.budget]
    only = tuple(name.strip() for name in args.only.split(",") if name.strip())
    unknown = [name for name in only if name not in EXPERIMENTS]
    if unknown:
        parser.error(f"--only: unknown experiment {unknown[0]!r}; choose from {', '.join(EXPERIMENTS)}")
    out = Path(args.out or DEFAULT_OUT.get(budget.name, f"runs/experiments/{budget.name}/experiments.md"))
    results_dir = out.with_suffix("") / "results"
    work_dir = Path(args.work_dir or f"runs/experiments/{budget.name}")
    started = time.perf_counter()
    before = _points_in(results_dir)
    interrupted = False
    try:
        results = run_all(budget, results_dir, work_dir, reviews=reviews, data_dir=args.data_dir, only=only,
                          compute=not args.report_only)
    except KeyboardInterrupt:  # Ctrl-C or SIGINT: keep what finished, record the run as stopped, write the report
        interrupted = True
        print("interrupted: writing the report from the finished points", file=sys.stderr)
        results = run_all(budget, results_dir, work_dir, reviews=reviews, data_dir=args.data_dir, compute=False)
    run_path = results_dir / "run.json"
    runs = read_runs(run_path)
    if not args.report_only and _points_in(results_dir) > before:  # a rerun with nothing left to do adds no run
        runs.append({
            "command": shlex.join([*shlex.split(prog), *argv]),
            "only": list(only),
            "wall_seconds": time.perf_counter() - started,
            "environment": training.environment(),
            "finished": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            **({"interrupted": True} if interrupted else {}),
        })
        results_dir.mkdir(parents=True, exist_ok=True)
        _write_json(run_path, runs)
    if not runs:
        parser.error(f"--report-only: {run_path} records no run; run the experiments first")
    out, plots = write_report(budget, results, out, runs)
    print(f"wrote {out} and {len(plots)} plots in {out.with_suffix('')}/")
    return 130 if interrupted else 0
