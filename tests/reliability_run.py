"""A tiny training run in its own process, for tests/test_reliability.py (determinism, SIGKILL resume).

    python -m tests.reliability_run RUN_DIR [--epochs N] [--batch-pause SECONDS] [--kill-at-write K]

Trains a small classifier (a zoo GRU with input and recurrent dropout in ``zoo.layers.Recurrent``,
dropout layers, a shuffled bucketed dataset) with ``zoo.training.fit``, then writes what a task
writes: ``RUN_DIR/weights.npz`` (the final weights) and ``RUN_DIR/metrics.json``. Progress for the
test to poll: ``RUN_DIR/progress.json`` ({"epoch", "batch"} of the last finished batch) and
``RUN_DIR/starts.txt`` (one line per process: the epoch it started training at). ``--kill-at-write K``
ends the process (``os._exit(137)``, as a SIGKILL) at the K-th file-system write of the second epoch's
commit (``tests/fault_points.py``).
"""

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from zoo import files, training  # noqa: E402
from zoo.data import text  # noqa: E402
from zoo.models.classifier import build_classifier  # noqa: E402


class _Progress(keras.callbacks.Callback):
    """Records where training is, and optionally pauses after each batch so a test can kill it mid-epoch."""

    def __init__(self, run_dir, pause):
        super().__init__()
        self.run_dir, self.pause, self.started = Path(run_dir), pause, False

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        if not self.started:
            self.started = True
            with (self.run_dir / "starts.txt").open("a") as f:
                f.write(f"{epoch}\n")

    def on_train_batch_end(self, batch, logs=None):
        files.write_json(self.run_dir / "progress.json", {"epoch": self.epoch, "batch": batch})
        time.sleep(self.pause)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-pause", type=float, default=0.0)
    parser.add_argument("--kill-at-write", type=int, default=0)
    args = parser.parse_args(argv)
    run_dir = Path(args.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if args.kill_at_write:
        from tests.fault_points import inject

        inject(training, "_commit", args.kill_at_write, "kill", after=1).__enter__()  # left when the process ends

    config = training.TrainConfig(epochs=args.epochs, batch_size=8, learning_rate=1e-2, patience=0, seed=3, verbose="0")
    training.seed_everything(config.seed)
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 30, size=(96, 10)).astype(np.int32)
    ids[rng.random(ids.shape) < 0.3] = 0  # padding in the middle too: exercises masking
    labels = (ids == 7).any(axis=1).astype(np.float32)
    train = text.bucketed_dataset(ids[:64], labels[:64], config.batch_size, shuffle=True, seed=config.seed)
    validation = text.bucketed_dataset(ids[64:], labels[64:], config.batch_size)
    model = build_classifier(
        "gru", vocab_size=30, embedding_dim=8, units=8, pooling="max", dropout=0.25, recurrent_dropout=0.25
    )
    history = training.fit(
        model, train, validation, config, run_dir, "binary_crossentropy", ["accuracy"],
        callbacks=[_Progress(run_dir, args.batch_pause)],
    )
    np.savez(run_dir / "weights.npz", *model.get_weights())
    metrics = {
        "validation": model.evaluate(validation, return_dict=True, verbose=0),
        **training.epoch_summary(history, config.monitor),
    }
    files.write_json(run_dir / "metrics.json", metrics)


if __name__ == "__main__":
    import sys

    from zoo import cli

    sys.exit(cli.run(main))  # errors as `zoo` prints them: one line
