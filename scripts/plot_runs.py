"""Plot a metric of several runs against training time (or epochs) from their log.csv files.

    python scripts/plot_runs.py gru=runs/shakespeare_gru elman=runs/shakespeare_elman \
        --metric val_loss --out docs/shakespeare_val_loss.png
"""

import argparse
import sys

from zoo.plots import plot_runs


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="LABEL=RUN_DIR pairs")
    parser.add_argument("--metric", default="val_loss", help="a log.csv column (default val_loss)")
    parser.add_argument("--x", default="time", choices=("time", "epoch"), help="x axis (default time)")
    parser.add_argument("--title", default=None)
    parser.add_argument("--ylabel", default=None)
    parser.add_argument("--out", required=True, help="PNG to write")
    args = parser.parse_args()
    runs = dict(run.split("=", 1) if "=" in run else (run, run) for run in args.runs)
    print(plot_runs(runs, args.out, args.metric, args.x, args.title, args.ylabel))


if __name__ == "__main__":
    from zoo import cli

    sys.exit(cli.run(main))
