"""Train an IMDB sentiment (or star-rating) model: the same as `zoo train sentiment`.

    python scripts/train_sentiment.py --cell gru --data-dir ../shared/data --run-dir runs/imdb_gru

Rerun the same command after an interruption to resume from the last finished epoch.
"""

import sys

from zoo import cli

if __name__ == "__main__":
    sys.exit(cli.main(["train", "sentiment", *sys.argv[1:]]))
