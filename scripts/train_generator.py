"""Train a Tiny Shakespeare character model: the same as `zoo train generator`.

    python scripts/train_generator.py --cell gru --units 512 --data-dir ../shared/data --run-dir runs/shakespeare_gru

Rerun the same command after an interruption to resume from the last finished epoch.
"""

import sys

from zoo import cli

if __name__ == "__main__":
    sys.exit(cli.main(["train", "generator", *sys.argv[1:]]))
