"""Reading finished run folders back: what the ensemble commands (`zoo ensemble TASK`) share."""

import dataclasses
import json
from pathlib import Path


def add_member_arguments(parser, task, run_dir, data_help):
    """The arguments every `zoo ensemble TASK` takes: RUN_DIR..., --run-dir, --export-dir, --data-dir."""
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR", help=f"finished `zoo train {task}` run folders (2 or more)")
    parser.add_argument("--run-dir", default=run_dir,
                        help=f"where the ensemble's config.json and metrics.json go (default {run_dir})")
    parser.add_argument("--export-dir", default="", help="where the SavedModel goes (default <run-dir>/export)")
    parser.add_argument("--data-dir", default="", help=data_help)


def member_folders(run_dirs):
    """``run_dirs`` as Paths; ValueError unless there are 2 or more and no folder repeats."""
    run_dirs = [Path(d) for d in run_dirs]
    if len(run_dirs) < 2:
        raise ValueError(f"an ensemble needs at least 2 run folders; got {len(run_dirs)}.")
    if len(set(map(str, run_dirs))) != len(run_dirs):
        raise ValueError(f"each run folder may appear once; got {[str(d) for d in run_dirs]}.")
    return run_dirs


def read_finished(run_dir, section, files=("best.weights.h5", "metrics.json")):
    """The saved ``config.json`` of a finished ``zoo train <section>`` run (``section``: a name, or names any
    of which will do); ValueError (one line, saying what to run) if the folder is not one, is another task's,
    or lacks one of ``files``."""
    run_dir = Path(run_dir)
    sections = (section,) if isinstance(section, str) else tuple(section)
    path = run_dir / "config.json"
    if not path.is_file():
        raise ValueError(f"{run_dir} is not a `zoo train {sections[0]}` run folder: no {path.name} in it.")
    saved = json.loads(path.read_text())
    if not any(name in saved for name in sections):
        raise ValueError(f"{run_dir} is not a {sections[0]} run: its config.json has {sorted(saved)}, not "
                         f"`{sections[0]}`.")
    for name in files:
        if not (run_dir / name).is_file():
            raise ValueError(f"{run_dir} has not finished training (no {name}); rerun its command to finish it: "
                             f"{saved.get('command', 'see its config.json')}")
    return saved


def dataclass_from(cls, values):
    """``cls(**values)`` keeping only its fields (a config.json may hold more, e.g. from a newer zoo)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in names})


def check_same_data(run_dirs, recorded, described):
    """ValueError unless every run's recorded ``metrics["data"]`` checksum is that of ``described``,
    the data the ensemble is about to read (``zoo.data.describe_source``)."""
    for run_dir, metrics in zip(run_dirs, recorded):
        if metrics["data"]["sha256"] != described["sha256"]:
            raise ValueError(f"{run_dir} was trained on {metrics['data']['path']} (sha256 {metrics['data']['sha256']}), "
                             f"not on {described['path']} (sha256 {described['sha256']}).")


def member_summary(run_dir, cell, recorded):
    """What an ensemble's metrics keep of one member: where it is, its cell, and from its recorded
    metrics the command, size and training time."""
    keys = ("command", "parameters", "best_epoch", "epochs_run", "seconds_per_epoch", "training_seconds")
    return {"run_dir": str(run_dir), "cell": cell, **{k: recorded[k] for k in keys}}
