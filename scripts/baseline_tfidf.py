"""What a user would try before a recurrent model: TF-IDF + logistic regression (scikit-learn) on a classifier data set.

The data is read and split exactly as ``zoo train classifier --data PATH`` does (:func:`zoo.data.files.load`,
same seed and fractions, or the same --validation/--test files), so the accuracies compare. The inverse
regularization C is chosen on the validation split; the model with that C, trained on the training
split only, is scored once on the test split.

    python scripts/baseline_tfidf.py --data examples/tickets.csv
    python scripts/baseline_tfidf.py --data aclImdb/train --test aclImdb/test   # IMDB, class folders

Needs scikit-learn (in the ``dev`` extra).
"""

import argparse
import json
import sys
import time

from zoo import cli
from zoo.data import files

C_GRID = (0.25, 1.0, 4.0, 16.0)


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="CSV/TSV/JSON Lines file or class folders (see docs/own_data.md)")
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--label-column", default="label")
    parser.add_argument("--validation", help="a separate validation file (else drawn from --data)")
    parser.add_argument("--test", help="a separate test file (else drawn from --data)")
    parser.add_argument("--validation-split", type=float, default=0.1)
    parser.add_argument("--test-split", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the result to this JSON file")
    return parser.parse_args(argv)


def main(argv=None):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    args = parse(argv)
    data = files.load(files.read_labelled, args.data, validation=args.validation, test=args.test,
                      validation_split=args.validation_split, test_split=args.test_split, seed=args.seed,
                      text_column=args.text_column, label_column=args.label_column)
    names = data.label_names()
    texts = {name: data[name].texts for name in files.SPLITS}
    labels = {name: files.label_ids(data[name].labels, names) for name in files.SPLITS}
    print("rows: " + ", ".join(f"{name} {len(texts[name])}" for name in files.SPLITS) + f"; labels: {names}")
    start = time.perf_counter()
    scores = {}
    for c in C_GRID:
        model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                              LogisticRegression(C=c, max_iter=2000))
        model.fit(texts["train"], labels["train"])
        scores[c] = (model.score(texts["validation"], labels["validation"]), model)
        print(f"C={c:g}: validation accuracy {scores[c][0]:.4f}")
    best = max(C_GRID, key=lambda c: scores[c][0])
    result = {
        "model": "TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True) + LogisticRegression",
        "C": best,
        "validation_accuracy": round(scores[best][0], 4),
        "test_accuracy": round(scores[best][1].score(texts["test"], labels["test"]), 4),
        "seconds": round(time.perf_counter() - start, 1),
        "command": " ".join(["python", "scripts/baseline_tfidf.py", *(argv if argv is not None else sys.argv[1:])]),
        "data": data.describe(),
    }
    print(f"test accuracy {result['test_accuracy']:.4f} (C={best:g}, {len(texts['test'])} test rows, "
          f"{result['seconds']} s for {len(C_GRID)} fits)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    sys.exit(cli.run(main))
