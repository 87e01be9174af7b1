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
        if not (Path(run_dir) / "log.csv").is_file():
            raise FileNotFoundError(f"no training log at {Path(run_dir) / 'log.csv'}; expected a run folder of `zoo train`.")
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


def plot_attention(source_tokens, target_tokens, weights, path, title=None):
    """A heat-map of attention ``weights`` (len(target_tokens), len(source_tokens)) saved as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(0.5 * len(source_tokens) + 2.5, 0.45 * len(target_tokens) + 1.8), dpi=120)
    image = ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(source_tokens)), source_tokens, rotation=60, ha="right")
    ax.set_yticks(range(len(target_tokens)), target_tokens)
    ax.set_xlabel("source")
    ax.set_ylabel("output")
    if title:
        ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.04)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_panels(panels, path, columns=None, width=None):
    """Line plots in a grid of panels, saved as a PNG (the seed experiments' figures, ``zoo.experiments``).

    Args:
        panels: a list of dicts, one per panel: ``lines`` (a list of dicts with ``x``, ``y`` and optional
            ``label``, ``yerr``, ``color``, ``linestyle``, ``marker``), and optional ``title``, ``xlabel``,
            ``ylabel``, ``xscale``/``yscale`` ("linear" or "log"), ``xlim``/``ylim`` (``(low, high)``, e.g. to
            share one range across panels), ``xticks`` (the x values to label, e.g. the lengths of a log axis)
            and ``hlines`` (``(y, label)`` reference levels, drawn dotted).
        path: the PNG to write.
        columns: panels per row (default: all in one row).
        width: inches per panel (default 5).
    """
    import math

    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = columns or len(panels)
    rows = math.ceil(len(panels) / columns)
    width = width or 5.0
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, 3.8 * rows), dpi=110, squeeze=False)
    for ax, panel in zip(axes.flat, panels):
        for line in panel["lines"]:
            style = {k: line[k] for k in ("label", "color", "linestyle", "marker") if line.get(k) is not None}
            if line.get("yerr") is not None and any(line["yerr"]):
                ax.errorbar(line["x"], line["y"], yerr=line["yerr"], capsize=3, markersize=4, **style)
            else:
                ax.plot(line["x"], line["y"], markersize=4, **style)
        for y, label in panel.get("hlines", []):
            ax.axhline(y, color="grey", linestyle=":", linewidth=1)
            ax.annotate(label, (0.01, y), xycoords=("axes fraction", "data"), fontsize=7, color="grey", va="bottom")
        ax.set_xscale(panel.get("xscale", "linear"))
        ax.set_yscale(panel.get("yscale", "linear"))
        for key, set_lim in (("xlim", ax.set_xlim), ("ylim", ax.set_ylim)):
            if panel.get(key):
                set_lim(*panel[key])
        if panel.get("xticks"):
            ax.set_xticks(panel["xticks"], [f"{t:g}" for t in panel["xticks"]])
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_title(panel.get("title", ""), fontsize=10)
        ax.set_xlabel(panel.get("xlabel", ""))
        ax.set_ylabel(panel.get("ylabel", ""))
        ax.grid(alpha=0.3)
        if any(line.get("label") for line in panel["lines"]):
            ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
