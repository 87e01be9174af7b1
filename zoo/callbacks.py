"""The trainer's own Keras callbacks (:func:`zoo.training.fit` adds them): the divergence check, the
epoch commit with the best checkpoint and early stopping, and the epoch timer.

Apart from :mod:`zoo.training` because they subclass a Keras class: `zoo train X --help` reads the
trainer's config without Keras (issue 23), and this module loads when training starts.
"""

import json
import time

import keras
import numpy as np

from zoo.training import TrainingDiverged, _commit, _committed, _mode, _prepare


class DivergenceGuard(keras.callbacks.Callback):
    """Raises :class:`TrainingDiverged` at the first non-finite loss, before any callback saves it.

    Checked after every batch (the loss is already fetched each batch: the trainer's other callbacks
    have batch hooks) and at each epoch end, ahead of the checkpoints, on the losses, the monitored
    metric and the weights (the last update of an epoch can break them with a finite loss).
    """

    def __init__(self, config, run_dir):
        super().__init__()
        self.config, self.run_dir = config, run_dir

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if not _finite(loss):
            self._stop(f"loss is {loss} at epoch {self.epoch + 1}, batch {batch + 1}")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        for key in sorted(k for k in logs if k.endswith("loss") or k == self.config.monitor):
            if not _finite(logs[key]):
                self._stop(f"{key} is {logs[key]} at the end of epoch {epoch + 1}")
        for variable in self.model.trainable_variables:
            if not _finite(keras.ops.convert_to_numpy(variable)):
                self._stop(f"weight {variable.path} is not finite at the end of epoch {epoch + 1}")

    def _stop(self, what):
        clip = (
            f"a smaller clipnorm (--clipnorm, now {self.config.clipnorm})"
            if self.config.clipnorm
            else "gradient clipping (--clipnorm, now off)"
        )
        raise TrainingDiverged(
            f"Training diverged: {what}. Nothing of this epoch was saved in {self.run_dir}; rerun with a lower "
            f"learning rate (--learning-rate, now {self.config.learning_rate}) or {clip} to resume from the last "
            "good epoch."
        )


def _finite(value):
    """False for a NaN or infinity (in a number or an array); True for anything else, None included."""
    try:
        return bool(np.all(np.isfinite(value)))
    except TypeError:
        return True


class Checkpoints(keras.callbacks.Callback):
    """The run folder's committed state: restored as training begins, one epoch committed at each epoch end.

    Also the best checkpoint and early stopping (as ``ModelCheckpoint(save_best_only=True)`` and
    ``EarlyStopping`` count: a strictly better value of ``config.monitor`` is an improvement; training stops
    once ``config.patience`` epochs in a row bring none), with their counters in the committed state, so a
    resumed run counts the epochs before it. The configured learning rate replaces the one restored with the
    optimizer's state, so a rerun with a lower rate (the advice after a divergence) takes effect.
    """

    def __init__(self, run_dir, config):
        super().__init__()
        self.run_dir, self.config = run_dir, config
        self.better = np.greater if _mode(config.monitor) == "max" else np.less

    def on_train_begin(self, logs=None):
        _prepare(self.run_dir)
        committed = _committed(self.run_dir)
        self.state = {"epochs": 0, "best": None, "best_epoch": None, "wait": 0}
        if committed is not None:
            if not self.model.optimizer.built:  # Model.fit builds it at the first step; its state is in the file
                self.model.optimizer.build(self.model.trainable_variables)
            self.model.load_weights(committed / "latest.weights.h5")
            self.state = json.loads((committed / "state.json").read_text())
        if self.config.lr_schedule == "constant":  # a schedule is rebuilt from the config anyway
            self.model.optimizer.learning_rate = self.config.learning_rate
        # Where Model.fit (and zoo.distributed.train) start; past the end when early stopping had decided.
        self.model._initial_epoch = self.config.epochs if self._stop() else self.state["epochs"]

    def _stop(self):
        return bool(self.config.patience) and self.state["wait"] >= self.config.patience

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        monitor = self.config.monitor
        if monitor not in logs:
            raise ValueError(f"`monitor` {monitor!r} is not among the metrics of epoch {epoch + 1} ({sorted(logs)}); "
                             "pass one of them as --monitor.")
        value, best = float(logs[monitor]), self.state["best"]
        improved = bool(np.isfinite(value) and (best is None or self.better(value, best)))
        state = {
            "epochs": epoch + 1,
            "best": value if improved else best,
            "best_epoch": epoch + 1 if improved else self.state["best_epoch"],
            "wait": 0 if improved else self.state["wait"] + 1,
        }
        _commit(self.model, self.run_dir, epoch, logs, improved, state)
        self.state = state
        if self._stop():
            self.model.stop_training = True


class EpochTimer(keras.callbacks.Callback):
    """Adds ``epoch_seconds`` (wall time of the epoch, validation included) to the epoch's logs."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start
