"""The `zoo` command. Later tasks add `train`, `predict`, `generate` and `translate`."""

import argparse
import sys


def _cells(args):
    import zoo

    for name in zoo.cells.names():
        cell = zoo.cells.get(name, units=args.units)
        cell.build((None, args.input_dim))
        layout = ", ".join(f"{w.name} {tuple(w.shape)}" for w in cell.weights)
        summary = (type(cell).__doc__ or "").strip().splitlines()[0]
        print(f"{name:14s} {type(cell).__name__:17s} {summary}")
        print(f"{'':14s} weights at units={args.units}, input_dim={args.input_dim}: {layout}")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="zoo",
        description="A Keras 3 model zoo of recurrent sequence architectures (Elman, peephole LSTM, GRU).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    cells = sub.add_parser("cells", help="list the registered recurrent cells and their weight layout")
    cells.add_argument("--units", type=int, default=4, help="units to show the weight shapes for (default 4)")
    cells.add_argument("--input-dim", type=int, default=3, help="input size to show the weight shapes for (default 3)")
    cells.set_defaults(func=_cells)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        args.func(args)
    except ValueError as err:
        print(f"zoo: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
