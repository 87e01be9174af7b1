"""Train an encoder-decoder: the same as `zoo train seq2seq`.

    python scripts/train_seq2seq.py --task translate --cell gru --attention luong --data-dir ../shared/data \
        --run-dir runs/translate_gru
    python scripts/train_seq2seq.py --task addition --units 128 --run-dir runs/addition

Rerun the same command after an interruption to resume from the last finished epoch.
"""

import sys

from zoo import cli

if __name__ == "__main__":
    sys.exit(cli.main(["train", "seq2seq", *sys.argv[1:]]))
