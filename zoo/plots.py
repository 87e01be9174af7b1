"""Training curves from run folders (their ``log.csv``), drawn with matplotlib."""

from pathlib import Path

from zoo.training import read_log


def plot_runs(runs, path, metric="val_loss", x="time", title=None, ylabel=None):
    """Plot ``metric`` of each run against cumulative training time (minutes) or epochs; save a PNG.

    Args:
        runs: ``{label: run_dir}``.
        path: the PNG to write.
        metric: a column of the runs' ``log.csv`` (e.g. ``val_loss``, ``val_accuracy``).
        x: "time" (cumulative ``epoch_seconds``, in minutes) or "epoch".
    """
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if x not in ("time", "epoch"):
        raise ValueError(f"`x` must be one of ('time', 'epoch'); got x={x!r}.")
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for label, run_dir in runs.items():
        log = read_log(run_dir)
        if metric not in log:
            raise ValueError(f"{Path(run_dir) / 'log.csv'} has no column {metric!r}; it has {sorted(log)}.")
        if x == "time":
            xs, total = [], 0.0
            for seconds in log["epoch_seconds"]:
                total += seconds
                xs.append(total / 60)
        else:
            xs = [e + 1 for e in log["epoch"]]
        ax.plot(xs, log[metric], marker="o", markersize=3, label=label)
    ax.set_xlabel("training time (minutes)" if x == "time" else "epoch")
    if x == "epoch":
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_ylabel(ylabel or metric)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
