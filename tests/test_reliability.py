"""What a long training run can rely on: divergence stops it cleanly, a seed fixes its result, and a
SIGKILL at any moment loses nothing but the unfinished epoch (see zoo/training.py)."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
from keras import ops

from tests.test_training import data, tiny_model
from zoo import training

ROOT = Path(__file__).resolve().parents[1]


def files_of(run_dir):
    """{relative path: bytes} of a run folder's files, but TensorBoard's (its event files grow by design)."""
    return {
        str(p.relative_to(run_dir)): p.read_bytes()
        for p in sorted(Path(run_dir).rglob("*"))
        if p.is_file() and "tensorboard" not in p.parts
    }


class _SnapshotBefore(keras.callbacks.Callback):
    """The run folder's files as the given epoch starts, i.e. as the previous epoch left them."""

    def __init__(self, run_dir, epoch):
        super().__init__()
        self.run_dir, self.epoch, self.files = run_dir, epoch, None

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            self.files = files_of(self.run_dir)


def nan_from_step(model, step):
    """Binary cross-entropy that is NaN from optimizer step ``step`` (0-based) on, as after a blow-up."""

    def loss(y_true, y_pred):
        blown = model.optimizer.iterations >= step
        return ops.where(blown, np.nan, keras.losses.binary_crossentropy(y_true, y_pred))

    return loss


def batches_per_epoch(dataset):
    return int(dataset.cardinality())


def test_nan_loss_raises_before_the_epoch_saves_anything(tmp_path):
    model = tiny_model()
    config = training.TrainConfig(epochs=3, learning_rate=1e-2, patience=0, verbose="0")
    train = data(64, 0, shuffle=True)
    snapshot = _SnapshotBefore(tmp_path, epoch=1)
    loss = nan_from_step(model, batches_per_epoch(train) + 2)  # the third batch of the second epoch
    with pytest.raises(training.TrainingDiverged, match=r"loss is nan at epoch 2, batch 3\b.*lower learning") as info:
        training.fit(model, train, data(32, 1), config, tmp_path, loss, ["accuracy"], callbacks=[snapshot])
    assert "\n" not in str(info.value)
    assert {"best.weights.h5", "log.csv", "checkpoints/epoch-0001/latest.weights.h5"} <= set(snapshot.files)
    assert files_of(tmp_path) == snapshot.files  # byte for byte: the committed epoch 1, its best and its log
    assert not (tmp_path / "done.json").exists()
    assert training.read_log(tmp_path)["epoch"] == [0]


class _NanValidation(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            logs["val_loss"] = float("nan")


def test_nan_validation_loss_raises_before_the_epoch_saves_anything(tmp_path):
    config = training.TrainConfig(epochs=3, patience=0, verbose="0")
    snapshot = _SnapshotBefore(tmp_path, epoch=1)
    with pytest.raises(training.TrainingDiverged, match="val_loss is nan at the end of epoch 2"):
        training.fit(
            tiny_model(), data(32, 0), data(16, 1), config, tmp_path, "binary_crossentropy",
            callbacks=[snapshot, _NanValidation()],
        )
    assert files_of(tmp_path) == snapshot.files
    assert not (tmp_path / "done.json").exists()


def test_rerun_after_divergence_resumes_with_the_lower_learning_rate(tmp_path):
    model = tiny_model()
    args = (data(64, 0, shuffle=True), data(32, 1))
    config = training.TrainConfig(epochs=3, learning_rate=1e-2, patience=0, verbose="0")
    with pytest.raises(training.TrainingDiverged):
        training.fit(model, *args, config, tmp_path, nan_from_step(model, batches_per_epoch(args[0]) + 2))
    lower = dataclasses.replace(config, learning_rate=1e-3)
    again = tiny_model(seed=1)
    history = training.fit(again, *args, lower, tmp_path, "binary_crossentropy")
    assert history["epoch"] == [0, 1, 2]  # epoch 0 from the first call, 1-2 from the rerun
    assert np.isclose(float(again.optimizer.learning_rate), 1e-3)  # not the 1e-2 saved in the backup
    assert all(np.isfinite(w).all() for w in again.get_weights())


def _start(run_dir, *flags):
    """``python -m tests.reliability_run RUN_DIR FLAGS`` from the repository root, on CPU; output to RUN_DIR.out."""
    command = [sys.executable, "-m", "tests.reliability_run", str(run_dir), *flags]
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "-1"}
    with open(f"{run_dir}.out", "ab") as out:
        return subprocess.Popen(command, cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT)


def _stop(process):
    if process.poll() is None:
        process.kill()
        process.wait()


def _finish(process, run_dir, timeout=180):
    try:
        returncode = process.wait(timeout=timeout)
    finally:
        _stop(process)
    assert returncode == 0, Path(f"{run_dir}.out").read_text()[-3000:]


def test_same_seed_same_command_gives_bitwise_identical_weights_on_cpu(tmp_path):
    # Two fresh processes, side by side: no RNG or other state can leak from one run to the other.
    runs = [tmp_path / "a", tmp_path / "b"]
    processes = [_start(run_dir, "--epochs", "2") for run_dir in runs]
    try:
        for process, run_dir in zip(processes, runs):
            _finish(process, run_dir)
    finally:
        for process in processes:
            _stop(process)
    a, b = (np.load(run_dir / "weights.npz") for run_dir in runs)
    assert len(a.files) == len(b.files) > 0
    for key in a.files:
        assert np.array_equal(a[key], b[key]), key
    assert training.read_log(runs[0])["loss"] == training.read_log(runs[1])["loss"]


def _wait_for(condition, process, deadline, what):
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"training exited ({process.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _logged_epochs(run_dir):
    try:
        return max((run_dir / "log.csv").read_text().count("\n") - 1, 0)  # complete rows, header aside
    except FileNotFoundError:
        return 0


def _progress(run_dir):
    try:
        return json.loads((run_dir / "progress.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {"epoch": -1, "batch": -1}


def test_sigkill_mid_epoch_then_rerun_finishes_every_epoch_exactly_once(tmp_path):
    run_dir, epochs = tmp_path / "run", 4
    process = _start(run_dir, "--epochs", str(epochs), "--batch-pause", "0.1")  # ~1 s per epoch
    try:
        deadline = time.monotonic() + 120
        _wait_for(lambda: _logged_epochs(run_dir) >= 1, process, deadline, "an epoch in log.csv")
        # Mid-epoch: a few batches into the epoch after the logged one.
        mid_epoch = lambda: _progress(run_dir)["epoch"] >= 1 and _progress(run_dir)["batch"] >= 2  # noqa: E731
        _wait_for(mid_epoch, process, deadline, "a few batches of the next epoch")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        _stop(process)
    assert process.returncode == -signal.SIGKILL
    assert not (run_dir / "done.json").exists()

    _finish(_start(run_dir, "--epochs", str(epochs)), run_dir)
    starts = [int(line) for line in (run_dir / "starts.txt").read_text().split()]
    assert starts[0] == 0 and starts[1] >= 1  # the rerun resumed; it did not start over
    assert training.read_log(run_dir)["epoch"] == list(range(epochs))  # none lost, none twice
    assert json.loads((run_dir / "done.json").read_text()) == {"epochs_run": epochs}
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs_run"] == epochs and {"loss", "accuracy"} <= set(metrics["validation"])
    assert all(np.isfinite(v) for v in metrics["validation"].values())
