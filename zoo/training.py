"""One generic trainer for every task: seeding, compile defaults, callbacks, checkpoint/resume, logs.

A run folder holds everything a run leaves behind::

    run_dir/
      config.json          the resolved configuration (every dataclass the script used)
      backup/              model + optimizer state after the last finished epoch (resume)
      best.weights.h5      the weights of the best validation epoch so far
      early_stopping.json  the early-stopping counters, so a resumed run keeps its patience
      log.csv              one row of metrics per epoch (appended across resumes)
      tensorboard/         TensorBoard event files
      done.json            written when training ends; a later call returns at once

Interrupt a run at any point and call :func:`fit` again with the same ``run_dir``: it resumes from
the last finished epoch with the optimizer's state (Keras' ``BackupAndRestore``), keeps its early
stopping counters and its best checkpoint, and appends to the same logs.
"""

import argparse
import dataclasses
import json
import os
import time
import typing
from pathlib import Path

import keras

from zoo.validation import positive_int


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How to optimize, whatever the task."""

    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 1e-3
    clipnorm: float = 1.0  # 0 turns clipping off
    accumulation_steps: int = 1  # gradients averaged over k batches before one update
    patience: int = 2  # epochs without validation improvement before stopping; 0 turns it off
    monitor: str = "val_loss"
    seed: int = 0
    verbose: str = "auto"  # Keras' progress bar: "auto", 0, 1 (bar) or 2 (a line per epoch)

    def __post_init__(self):
        for name in ("epochs", "batch_size", "accumulation_steps"):
            positive_int(name, getattr(self, name))
        if not self.learning_rate > 0:
            raise ValueError(f"`learning_rate` must be positive; got learning_rate={self.learning_rate!r}.")
        if self.clipnorm < 0 or self.patience < 0:
            raise ValueError(f"`clipnorm` and `patience` must be >= 0; got {self.clipnorm!r}, {self.patience!r}.")


TRAIN_HELP = {
    "epochs": "maximum epochs",
    "batch_size": "examples per batch",
    "learning_rate": "Adam learning rate",
    "clipnorm": "clip each gradient to this norm (0: off)",
    "accumulation_steps": "average gradients over this many batches per update",
    "patience": "stop after this many epochs without validation improvement (0: off)",
    "monitor": "validation metric for early stopping and the best checkpoint",
    "seed": "seed of initialization, dropout, shuffling and any data split",
    "verbose": "progress display: auto, 0, 1 (bar) or 2 (one line per epoch)",
}


def add_task_arguments(parser, task_config_cls, help_texts, **defaults):
    """Flags for a task: its config's fields, then :class:`TrainConfig`'s (``help_texts`` override
    :data:`TRAIN_HELP`); ``defaults`` replace field defaults for this task."""
    add_arguments(parser, task_config_cls, help_texts)
    add_arguments(parser, TrainConfig, {**TRAIN_HELP, **help_texts})
    parser.set_defaults(**defaults)


def environment():
    """Where a run ran: hardware and library versions, for metrics and model cards."""
    import platform
    from importlib.metadata import version

    import tensorflow as tf

    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    hardware = f"{platform.machine()} CPU x{os.cpu_count()}" + (f", GPU {', '.join(gpus)}" if gpus else ", no GPU")
    return {"hardware": hardware, "versions": {"tensorflow": version("tensorflow"), "keras": keras.__version__}}


def epoch_summary(history, monitor):
    """Best epoch (1-based, by ``monitor``), epochs run, and seconds per epoch / in all, from a history."""
    epochs = len(history["epoch"])
    values = history[monitor]
    best = (max if _mode(monitor) == "max" else min)(range(epochs), key=values.__getitem__)
    total = sum(history["epoch_seconds"])
    return {"best_epoch": best + 1, "epochs_run": epochs, "seconds_per_epoch": total / epochs, "training_seconds": total}


def seed_everything(seed):
    """Seed Python, NumPy and the backend (``keras.utils.set_random_seed``) before building anything."""
    keras.utils.set_random_seed(seed)


def make_optimizer(config):
    """Adam with ``clipnorm`` and Keras' built-in gradient accumulation."""
    return keras.optimizers.Adam(
        learning_rate=config.learning_rate,
        clipnorm=config.clipnorm or None,
        gradient_accumulation_steps=config.accumulation_steps if config.accumulation_steps > 1 else None,
    )


def _mode(monitor):
    return "max" if any(word in monitor for word in ("acc", "auc", "bleu", "precision", "recall")) else "min"


def _write_json(path, data):
    """Write atomically: a crash mid-write never leaves a truncated file."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)


def write_config(run_dir, **configs):
    """Save the resolved configuration (dataclasses or dicts) as ``run_dir/config.json``."""
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    resolved = {k: dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v for k, v in configs.items()}
    _write_json(Path(run_dir) / "config.json", resolved)
    return resolved


class _ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """Keras' ``EarlyStopping`` whose counters survive an interruption (kept in a JSON file)."""

    def __init__(self, state_path, **kwargs):
        super().__init__(**kwargs)
        self.state_path = Path(state_path)

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self.state_path.exists():
            state = json.loads(self.state_path.read_text())
            self.wait, self.best, self.best_epoch = state["wait"], state["best"], state["best_epoch"]

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        best = None if self.best is None else float(self.best)
        _write_json(self.state_path, {"wait": self.wait, "best": best, "best_epoch": self.best_epoch})


class _EpochTimer(keras.callbacks.Callback):
    """Adds ``epoch_seconds`` (wall time of the epoch, validation included) to the epoch's logs."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start


def fit(model, train_data, validation_data, config, run_dir, loss, metrics=(), callbacks=()):
    """Compile ``model`` and train it in ``run_dir``, resuming whatever an earlier call left unfinished.

    Args:
        model: a built ``keras.Model``.
        train_data, validation_data: batched ``tf.data.Dataset``s of ``(inputs, targets)``
            (``validation_data`` may be None when a callback provides the validation metrics).
        config: a :class:`TrainConfig`.
        run_dir: the run folder (created if needed; see the module docstring).
        loss, metrics: passed to ``model.compile``.
        callbacks: extra Keras callbacks, run before the trainer's own at each epoch end, so a
            metric one adds to ``logs`` (e.g. ``val_loss`` computed its own way) is checkpointed,
            early-stopped on and logged.

    Returns:
        The per-epoch history of the whole run (all resumes), read back from ``log.csv``. The model
        ends with the weights of its best validation epoch.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    best_path = run_dir / "best.weights.h5"
    done_path = run_dir / "done.json"
    model.compile(optimizer=make_optimizer(config), loss=loss, metrics=list(metrics))
    if done_path.exists():
        print(f"{run_dir} finished earlier ({done_path}); loading its best weights.")
        model.optimizer.build(model.trainable_variables)  # the checkpoint holds the optimizer's state too
        model.load_weights(best_path)
        return read_log(run_dir)

    stopping_path = run_dir / "early_stopping.json"
    best_so_far = json.loads(stopping_path.read_text())["best"] if stopping_path.exists() else None
    mode = _mode(config.monitor)
    callbacks = [
        *callbacks,  # first: metrics they add to the logs (e.g. a streamed validation loss) are monitored
        _EpochTimer(),  # before the loggers, so they see its entry
        keras.callbacks.BackupAndRestore(str(run_dir / "backup"), double_checkpoint=True, delete_checkpoint=False),
        keras.callbacks.ModelCheckpoint(
            str(best_path),
            monitor=config.monitor,
            mode=mode,
            save_best_only=True,
            save_weights_only=True,
            initial_value_threshold=best_so_far,
        ),
        keras.callbacks.CSVLogger(str(run_dir / "log.csv"), append=True),
        keras.callbacks.TensorBoard(str(run_dir / "tensorboard")),
    ]
    if config.patience:
        callbacks.append(
            _ResumableEarlyStopping(stopping_path, monitor=config.monitor, mode=mode, patience=config.patience)
        )
    verbose = config.verbose if config.verbose == "auto" else int(config.verbose)
    model.fit(
        train_data,
        validation_data=validation_data,
        epochs=config.epochs,
        callbacks=callbacks,
        verbose=verbose,
        shuffle=False,  # datasets shuffle themselves (fit's shuffle does not apply to tf.data)
    )
    if best_path.exists():
        model.load_weights(best_path)
    history = read_log(run_dir)
    _write_json(done_path, {"epochs_run": len(history.get("epoch", []))})
    return history


def read_log(run_dir):
    """``log.csv`` as ``{column: [values per epoch]}`` (empty if no epoch has finished)."""
    import csv

    path = Path(run_dir) / "log.csv"
    if not path.exists():
        return {}
    with path.open() as f:
        rows = list(csv.DictReader(f))
    return {key: [float(row[key]) for row in rows] for key in (rows[0] if rows else {})}


# Configuration <-> command line: flags are generated from the dataclass fields.


def _parse_bool(text):
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false; got {text!r}")


def add_arguments(parser, config_cls, help_texts=None):
    """Add one ``--flag`` per field of the dataclass ``config_cls`` (defaults from its fields)."""
    help_texts = help_texts or {}
    hints = typing.get_type_hints(config_cls)
    group = parser.add_argument_group(config_cls.__name__, (config_cls.__doc__ or "").strip().splitlines()[0])
    for field in dataclasses.fields(config_cls):
        kind = hints[field.name]
        parse = _parse_bool if kind is bool else kind
        group.add_argument(
            "--" + field.name.replace("_", "-"),
            dest=field.name,
            type=parse,
            default=field.default,
            metavar=field.name.upper(),
            help=help_texts.get(field.name, "")
            + ("" if "default" in help_texts.get(field.name, "") else f" (default: {field.default})"),
        )


def from_arguments(config_cls, args):
    """Build ``config_cls`` from the parsed arguments ``add_arguments`` added."""
    return config_cls(**{field.name: getattr(args, field.name) for field in dataclasses.fields(config_cls)})
