"""Write a seeded sample of IMDB as two user-style CSV files (text,label), for comparisons on a budget.

    python scripts/imdb_csv.py --data-dir ../shared/data --train 4000 --test 4000 --out imdb_small
    -> imdb_small/train.csv (4,000 of the 25,000 training reviews), imdb_small/test.csv (4,000 of the test reviews)

Each file holds equally many ``neg`` and ``pos`` reviews, drawn with ``--seed`` from IMDB's official
train and test splits (so no test review's movie is in the training file), in a shuffled order.
"""

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

from zoo import cli
from zoo.data import imdb


def sample(reviews, count, rng):
    """``count`` (text, label) rows, half of each label, shuffled."""
    per_label = count // 2
    rows = []
    for label, name in ((0, "neg"), (1, "pos")):
        index = np.flatnonzero(reviews.labels == label)
        if per_label > len(index):
            raise ValueError(f"asked for {per_label} {name} reviews; IMDB's split has {len(index)}.")
        rows += [(reviews.texts[i], name) for i in rng.choice(index, per_label, replace=False)]
    return [rows[i] for i in rng.permutation(len(rows))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="aclImdb folder or archive, or a folder holding one (default $ZOO_DATA_DIR)")
    parser.add_argument("--train", type=int, default=4000, help="reviews in train.csv (from IMDB's training split)")
    parser.add_argument("--test", type=int, default=4000, help="reviews in test.csv (from IMDB's test split)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="folder for train.csv and test.csv")
    args = parser.parse_args(argv)
    splits = imdb.load(args.data_dir, validation_split=0.0)
    rng = np.random.default_rng(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, count in (("train", args.train), ("test", args.test)):
        with open(out / f"{name}.csv", "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["text", "label"])
            writer.writerows(sample(splits[name], count, rng))
        print(f"{out / f'{name}.csv'}: {count} reviews")


if __name__ == "__main__":
    sys.exit(cli.run(main))
