"""The points cache and the loop every experiment's grid runs through.

Every point's result is a JSON file ``results_dir/<name>.json`` (``name`` from the experiment's ``points``, e.g.
``tomita/tomita1-elman-seed0``) holding the point's result, its settings and its wall and CPU seconds. A rerun
skips the points whose JSON exists (an interrupted run resumes point by point), and the report is rendered from
those files alone. A JSON computed with other settings is an error, never silently mixed in.
"""

import dataclasses
import json
import time
from pathlib import Path

from zoo.training import _write_json

# The grid axes are not part of a point's settings, so a grid can grow (another seed, another length)
# without invalidating finished points.
AXES = ("cells", "lengths", "sides", "seeds", "grammars", "schedule")


def point_settings(settings, **extra):
    """A settings dataclass without its grid axes, as JSON-ready data."""
    data = {k: v for k, v in dataclasses.asdict(settings).items() if k not in AXES}
    return jsonable({**data, **extra})


def jsonable(data):
    return json.loads(json.dumps(data))


def point(path, settings, compute_fn, compute=True):
    """The result stored at ``path``, else (``compute``) ``compute_fn()`` timed and stored there, else None.

    Raises:
        ValueError: if the stored result was computed with other settings.
    """
    path = Path(path)
    if path.exists():
        stored = json.loads(path.read_text())
        old = stored.get("settings", {})
        if old != settings:
            differ = sorted(k for k in set(old) | set(settings) if old.get(k) != settings.get(k))
            raise ValueError(
                f"{path} was computed with other settings (differing: {', '.join(differ)}); delete it, or write the "
                "results elsewhere (--out), to recompute."
            )
        return stored
    if not compute:
        return None
    wall, cpu = time.perf_counter(), time.process_time()
    result = compute_fn()
    result = {**result, "settings": settings, "seconds": time.perf_counter() - wall,
              "cpu_seconds": time.process_time() - cpu}
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_json(path, result)
    return result


def log_point(experiment, what, result):
    print(f"[{experiment}] {what} ({result['seconds']:.0f} s, {result['cpu_seconds']:.0f} s CPU)", flush=True)


TEST_SEED = 1_000_003  # test data of the synthetic tasks: never a training seed


@dataclasses.dataclass
class Context:
    """What an experiment's points and report section may reach beyond their own settings.

    Args:
        budget: the :class:`zoo.experiments.Budget` (another experiment's settings: ``budget["seq_length"]``).
        results_dir: where the point JSON files go.
        work_dir: training run folders (checkpoints, logs) and caches.
        load_reviews: ``(unsup) -> {"train", "validation", "test"[, "unsup"]}`` IMDB reviews (or texts standing in
            for them in tests); called only when a point needs them.
        assets: the report's folder of plots (set when the report is written).
        plots: the paths of the plots written so far.
    """

    budget: object
    results_dir: Path
    work_dir: Path
    load_reviews: object = None
    assets: Path = None
    plots: list = dataclasses.field(default_factory=list)
    cache: dict = dataclasses.field(default_factory=dict)

    def cached(self, key, fn):
        """``fn()`` computed on the first call with ``key`` only (e.g. tokenized IMDB, shared by experiments)."""
        if key not in self.cache:
            self.cache[key] = fn()
        return self.cache[key]

    def reviews(self, unsup=False):
        if unsup:
            return self.cached("reviews+unsup", lambda: self.load_reviews(True))
        if "reviews+unsup" in self.cache:
            return self.cache["reviews+unsup"]
        return self.cached("reviews", lambda: self.load_reviews(False))


def run_points(experiment, settings, ctx, compute=True):
    """An experiment module's results, point by point in its order: each read from its JSON, else (``compute``)
    ``experiment.compute(settings, ctx, *args)`` timed, stored and logged with ``experiment.describe``;
    unfinished points are left out. Every point is stored with ``experiment.stored_settings(settings, ctx)`` if
    the module has one, else :func:`point_settings`."""
    stored = (experiment.stored_settings(settings, ctx) if hasattr(experiment, "stored_settings")
              else point_settings(settings))
    results = []
    for name, args in experiment.points(settings):
        path = Path(ctx.results_dir) / f"{name}.json"
        fresh = not path.exists()
        result = point(path, stored, lambda args=args: experiment.compute(settings, ctx, *args), compute)
        if result is not None:
            if fresh:
                log_point(experiment.NAME, experiment.describe(result), result)
            results.append(result)
    return results
