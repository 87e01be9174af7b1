"""The points cache: one JSON file per point, holding its result, its settings and its wall and CPU seconds."""

import dataclasses
import json
import time
from pathlib import Path

from zoo.training import _write_json

# The grid axes are not part of a point's settings, so a grid can grow (another seed, another length)
# without invalidating finished points.
AXES = ("cells", "lengths", "sides", "seeds", "grammars", "tables")


def _point_settings(settings, **extra):
    """A settings dataclass without its grid axes, as JSON-ready data."""
    data = {k: v for k, v in dataclasses.asdict(settings).items() if k not in AXES}
    return _jsonable({**data, **extra})


def _jsonable(data):
    return json.loads(json.dumps(data))


def _point(path, settings, compute_fn, compute=True):
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


def _log(experiment, what, result):
    print(f"[{experiment}] {what} ({result['seconds']:.0f} s, {result['cpu_seconds']:.0f} s CPU)", flush=True)


def _cached(fn):
    """A zero-argument function computed on first call only (the IMDB data, loaded only if a point needs it)."""
    box = []

    def get():
        if not box:
            box.append(fn())
        return box[0]

    return get
