"""Run the seed experiments and write their Markdown report with PNG plots: the same as `zoo report`.

    python scripts/report.py --budget quick                      # minutes: everything end to end, tiny settings
    ZOO_DATA_DIR=../shared/data python scripts/report.py --budget full --out docs/experiments.md
    python scripts/report.py --budget full --only seq_length     # one experiment (the others are only read)
    python scripts/report.py --budget full --report-only         # rewrite the report from the saved results

Each finished point is saved as JSON beside the report (`docs/experiments/results/`); rerun the same
command after an interruption and finished points are skipped. Experiments: exact_length (the notes'
protocol: IMDB reviews of at least N tokens cut to exactly N, no padding, no mask), seq_length (IMDB accuracy
against the tokens kept, from the start or the end, padded), gradients (||d loss / d x_t|| through time), exploding
(Elman with a large recurrent initialisation, with and without clipping), grammars (Reber, embedded
Reber), adding (the adding problem at lengths 50/100/200), tomita (accept/reject on the seven Tomita languages,
test strings up to twice the training length).
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from zoo import cli  # noqa: E402

if __name__ == "__main__":
    sys.exit(cli.main(["report", *sys.argv[1:]]))
