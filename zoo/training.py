"""One generic trainer for every task: seeding, compile defaults, callbacks, checkpoint/resume, logs.

A run folder holds everything a run leaves behind::

    run_dir/
      config.json          the resolved configuration (every dataclass the script used)
      lock                 held (fcntl.flock) by the process training in the folder: one at a time
      checkpoint           symlink to the committed epoch's folder: the commit point
      checkpoints/epoch-N/ the last committed epoch: latest.weights.h5 (weights + optimizer state to
                           resume from), best.weights.h5, log.csv, state.json (best value, counters)
      best.weights.h5      symlink to checkpoint/best.weights.h5: the best validation epoch's weights
      log.csv              symlink to checkpoint/log.csv: one row of metrics per committed epoch
      tensorboard/         TensorBoard event files (a log: an epoch run again appears twice)
      done.json            written when training ends; a later call returns at once

Interrupt a run at any point, even with SIGKILL, and call :func:`fit` again with the same
``run_dir``: it resumes from the last committed epoch with the optimizer's state, its best
checkpoint and early-stopping counters. Every file of an epoch is written into a new folder, flushed
to disk, and committed together by one atomic rename of the ``checkpoint`` symlink (:func:`_commit`),
so the best weights, the log and the state to resume from always belong to the same epoch: a kill or
a full disk before the rename leaves the previous epoch committed, after it the new one, and an
uncommitted folder is removed when training next starts. A second process on a folder in use stops at
once with :class:`RunFolderBusy` naming the holder (:func:`run_lock`); a lock left by a killed process
does not block. A write error (a full disk, a permission) is raised as an ``OSError`` with its errno
and the file's path, which ``zoo`` prints as one line.

A non-finite loss (or validation loss, or weight) stops training at once with
:class:`TrainingDiverged`, before anything of that epoch is saved: the committed epoch, its best
checkpoint and its log stay the last good epoch's, and no ``done.json`` is written, so the task never exports.
"""

import argparse
import contextlib
import dataclasses
import errno
import json
import os
import shutil
import tempfile
import typing
from pathlib import Path

# Keras and zoo.distributed (TensorFlow) load in the functions that train: `zoo train X --help` reads
# TrainConfig without them (issue 23).
from zoo import files
from zoo.files import RunFolderBusy, run_lock  # noqa: F401 (part of this module's API)
from zoo.files import write_json as _write_json  # noqa: F401 (zoo.experiments writes with it)
from zoo.validation import one_of, positive_int


class TrainingDiverged(RuntimeError):
    """Training met a NaN or infinite loss; nothing of the failing epoch was saved."""


LR_SCHEDULES = ("constant", "cosine")
STRATEGIES = ("default", "mirrored", "multi_worker")  # see zoo.distributed


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How to optimize, whatever the task."""

    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 1e-3
    lr_schedule: str = "constant"  # or "cosine": decay to 1% of learning_rate over all epochs' steps
    clipnorm: float = 1.0  # 0 turns clipping off
    accumulation_steps: int = 1  # gradients averaged over k batches before one update
    patience: int = 2  # epochs without validation improvement before stopping; 0 turns it off
    monitor: str = "val_loss"
    seed: int = 0
    verbose: str = "auto"  # Keras' progress bar: "auto", 0, 1 (bar) or 2 (a line per epoch)
    strategy: str = "default"  # "mirrored": every GPU of this machine; "multi_worker": the machines of TF_CONFIG

    def __post_init__(self):
        for name in ("epochs", "batch_size", "accumulation_steps"):
            positive_int(name, getattr(self, name))
        one_of("strategy", self.strategy, STRATEGIES)
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"`lr_schedule` must be one of {LR_SCHEDULES}; got lr_schedule={self.lr_schedule!r}.")
        if not self.learning_rate > 0:
            raise ValueError(f"`learning_rate` must be positive; got learning_rate={self.learning_rate!r}.")
        if self.clipnorm < 0 or self.patience < 0:
            raise ValueError(f"`clipnorm` and `patience` must be >= 0; got {self.clipnorm!r}, {self.patience!r}.")


TRAIN_HELP = {
    "epochs": "maximum epochs",
    "batch_size": "examples per batch",
    "learning_rate": "Adam learning rate (the starting one with --lr-schedule cosine)",
    "lr_schedule": "constant, or cosine: decay the learning rate to 1%% of its start over all epochs' steps",
    "clipnorm": "clip each gradient to this norm (0: off)",
    "accumulation_steps": "average gradients over this many batches per update",
    "patience": "stop after this many epochs without validation improvement (0: off)",
    "monitor": "validation metric for early stopping and the best checkpoint",
    "seed": "seed of initialization, dropout, shuffling and any data split",
    "verbose": "progress display: auto, 0, 1 (bar) or 2 (one line per epoch)",
    "strategy": "default (one device), mirrored (every GPU of this machine) or multi_worker (the machines that "
    "the TF_CONFIG variable lists: run the same command on each; only the chief, worker 0, writes the run "
    "folder and the export)",
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

    import keras
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
    """Seed Python, NumPy and the backend (``keras.utils.set_random_seed``) before building anything.

    With the same seed, data and command, a run on CPU ends with bitwise-identical weights, dropout
    and shuffling included (``tests/test_reliability.py``). TensorFlow's CPU kernels that the zoo's
    models use gave identical results run to run at a given thread count, with or without
    ``tf.config.experimental.enable_op_determinism()``, so the trainer does not switch it on. On a
    GPU (not checked here), kernels that accumulate with atomics, such as the embedding gradient's
    segment sum, differ in the last bits from run to run; enable op determinism before training
    when that matters, at a cost in speed (scatter ops fall back to the CPU, and ``tf.data`` maps
    with stateful ops run serially). A resumed run is repeatable, but not bitwise equal to an
    uninterrupted one: the dropout seed generators (not in the checkpoint) and the ``tf.data`` shuffle
    order start afresh in the new process.
    """
    import keras

    keras.utils.set_random_seed(seed)


def make_optimizer(config, steps_per_epoch=None):
    """Adam with ``clipnorm``, Keras' built-in gradient accumulation and the configured schedule.

    The cosine schedule (Loshchilov & Hutter 2017, without restarts) is a function of the optimizer's
    step count, which the checkpoint restores, so a resumed run continues on the same curve; it needs
    ``steps_per_epoch`` (the training data's cardinality).
    """
    import keras

    learning_rate = config.learning_rate
    if config.lr_schedule == "cosine":
        if not steps_per_epoch or steps_per_epoch < 1:
            raise ValueError("--lr-schedule cosine needs training data of known length (a finite tf.data cardinality).")
        updates = config.epochs * steps_per_epoch // config.accumulation_steps
        learning_rate = keras.optimizers.schedules.CosineDecay(config.learning_rate, max(updates, 1), alpha=0.01)
    return keras.optimizers.Adam(
        learning_rate=learning_rate,
        clipnorm=config.clipnorm or None,
        gradient_accumulation_steps=config.accumulation_steps if config.accumulation_steps > 1 else None,
    )


def _mode(monitor):
    return "max" if any(word in monitor for word in ("acc", "auc", "bleu", "precision", "recall")) else "min"


def write_config(run_dir, **configs):
    """Save the resolved configuration (dataclasses or dicts) as ``run_dir/config.json``."""
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    resolved = {k: dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v for k, v in configs.items()}
    files.write_json(Path(run_dir) / "config.json", resolved)
    return resolved


CHECKPOINTS = "checkpoints"  # one folder per committed epoch (only the last is kept)
COMMITTED = "checkpoint"  # symlink to the committed epoch's folder: the commit point
PUBLISHED = ("best.weights.h5", "log.csv")  # run_dir/NAME -> checkpoint/NAME


def _committed(run_dir):
    """The committed epoch's folder (``run_dir/checkpoint``'s target), or None before the first commit."""
    link = Path(run_dir) / COMMITTED
    return link.parent / os.readlink(link) if link.is_symlink() else None


def _prepare(run_dir):
    """Before training: remove every uncommitted epoch folder (a kill or a write error left it; the lock
    says no one else writes here) and make ``run_dir/best.weights.h5`` and ``run_dir/log.csv`` the links
    into the committed folder (dangling until the first commit)."""
    committed = _committed(run_dir)
    checkpoints = run_dir / CHECKPOINTS
    if checkpoints.is_dir():
        for entry in checkpoints.iterdir():
            if committed is None or entry.name != committed.name:
                shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    for name in PUBLISHED:
        path = run_dir / name
        if not (path.is_symlink() and os.readlink(path) == f"{COMMITTED}/{name}"):
            tmp = run_dir / f".{name}.link"
            tmp.unlink(missing_ok=True)
            os.symlink(f"{COMMITTED}/{name}", tmp)
            os.replace(tmp, path)
    tmp = run_dir / f".{COMMITTED}.link"
    tmp.unlink(missing_ok=True)


def _csv_row(log_text, epoch, logs):
    """``log_text`` (a log.csv's text, "" for none) with the row of ``epoch`` appended: the columns of
    Keras' ``CSVLogger`` (epoch, then the logs' keys sorted), which ``read_log`` reads back."""
    import csv
    import io

    header = log_text.splitlines()[0].split(",") if log_text else ["epoch", *sorted(logs)]
    out = io.StringIO()
    writer = csv.DictWriter(out, header, restval="nan", extrasaction="ignore", lineterminator="\n")
    if not log_text:
        writer.writeheader()
    writer.writerow({"epoch": epoch, **{k: float(v) for k, v in logs.items()}})
    return log_text + out.getvalue()


def _commit(model, run_dir, epoch, logs, improved, state):
    """Write epoch ``epoch``'s files into a new folder and commit them with one atomic rename.

    ``checkpoints/epoch-NNNN/`` gets ``latest.weights.h5`` (the weights and optimizer state to resume
    from), ``best.weights.h5`` (a hard link: to ``latest`` when this epoch improved, else to the committed
    best), ``log.csv`` (the committed rows plus this epoch's) and ``state.json`` (epochs done, best value and
    epoch, epochs without improvement); each is flushed to disk. Then a new ``checkpoint`` symlink replaces
    the old one (``os.replace``): the commit. A kill before it leaves the previous epoch committed and
    whole, with its own best; after it, the new one. A failed write raises an ``OSError`` naming the file
    (``zoo.files.write_error``) and changes nothing committed.
    """
    previous = _committed(run_dir)
    folder = run_dir / CHECKPOINTS / f"epoch-{epoch + 1:04d}"
    path = folder
    try:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        path = folder / "latest.weights.h5"
        model.save_weights(path)
        files.durable(path)
        path = folder / "best.weights.h5"
        _link(path.with_name("latest.weights.h5") if improved or previous is None else previous / path.name, path)
        path = folder / "log.csv"
        path.write_text(_csv_row((previous / path.name).read_text() if previous else "", epoch, logs))
        files.durable(path)
        path = folder / "state.json"
        path.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
        files.durable(path)
        files.durable(folder)
        path = run_dir / f".{COMMITTED}.link"
        path.unlink(missing_ok=True)
        os.symlink(f"{CHECKPOINTS}/{folder.name}", path)
        os.replace(path, run_dir / COMMITTED)  # the commit
        path = run_dir
        files.durable(run_dir)
    except Exception as err:
        raise files.write_error(err, path) from err
    if previous is not None and previous != folder:
        shutil.rmtree(previous, ignore_errors=True)


# What os.link raises where a file system has no hard links (or too many of one file).
LINKS_UNSUPPORTED = {errno.EPERM, errno.EXDEV, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.ENOSYS}


def _link(source, target):
    """``target`` as a hard link to ``source`` (the file is written once), a copy where links are not allowed."""
    try:
        os.link(source, target)
    except OSError as err:
        if err.errno not in LINKS_UNSUPPORTED:
            raise
        shutil.copyfile(source, target)
        files.durable(target)


def fit(model, train_data, validation_data, config, run_dir, loss, metrics=(), callbacks=(), strategy=None):
    """Compile ``model`` and train it in ``run_dir``, resuming whatever an earlier call left unfinished.

    Args:
        model: a built ``keras.Model``; with a ``strategy``, built inside ``strategy.scope()``
            (``with zoo.distributed.scope(strategy): model = build_...(...)``).
        train_data, validation_data: batched ``tf.data.Dataset``s of ``(inputs, targets)``
            (``validation_data`` may be None when a callback provides the validation metrics).
            With a strategy, the batches are global: each replica trains on its slice of each.
        config: a :class:`TrainConfig`.
        run_dir: the run folder (created if needed; see the module docstring).
        loss, metrics: passed to ``model.compile``.
        callbacks: extra Keras callbacks, run before the trainer's own at each epoch end, so a
            metric one adds to ``logs`` (e.g. ``val_loss`` computed its own way) is checkpointed,
            early-stopped on and logged.
        strategy: None to train on one device with Keras' ``Model.fit``; a ``tf.distribute``
            strategy (``zoo.distributed.make_strategy``) to run each step on all its replicas, in
            the loop of :func:`zoo.distributed.train` (same callbacks, files and resume). With
            several workers, every worker calls ``fit`` with the same arguments; only the chief
            writes ``run_dir``, the others a temporary folder (see ``zoo/distributed.py``).

    Returns:
        The per-epoch history of the whole run (all resumes), read back from ``log.csv``. The model
        ends with the weights of its best validation epoch. (On a worker other than the chief: the
        epochs of this call only.)

    Raises:
        TrainingDiverged: a loss, the monitored metric or a weight became NaN or infinite. Nothing of
            that epoch was saved and ``done.json`` is not written; the model's weights are left as
            they are (likely non-finite). Rerun with a lower learning rate to resume.
        ValueError: with a strategy, the model was built outside its scope, or
            ``accumulation_steps`` > 1 (not supported there).
    """
    from zoo import distributed

    run_dir = Path(run_dir)
    if strategy is None:
        with run_lock(run_dir):
            return _fit(model, train_data, validation_data, config, run_dir, run_dir, loss, metrics, callbacks, None)
    if config.accumulation_steps > 1:
        raise ValueError(
            "Gradient accumulation is not supported with a distribution strategy; got "
            f"accumulation_steps={config.accumulation_steps}. Use accumulation_steps=1 and a larger global "
            "batch_size (each replica gets batch_size / replicas examples)."
        )
    distributed.check_model(model, strategy)
    if distributed.is_chief(strategy):
        with run_lock(run_dir):
            return _fit(model, train_data, validation_data, config, run_dir, run_dir, loss, metrics, callbacks, strategy)
    folder = Path(tempfile.mkdtemp(prefix=f"zoo-{run_dir.name}-worker-"))
    try:
        return _fit(model, train_data, validation_data, config, run_dir, folder, loss, metrics, callbacks, strategy)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _fit(model, train_data, validation_data, config, run_dir, folder, loss, metrics, callbacks, strategy):
    """:func:`fit`, writing the run folder's files in ``folder`` (``run_dir`` but on a non-chief worker)."""
    import keras

    from zoo import distributed
    from zoo.callbacks import Checkpoints, DivergenceGuard, EpochTimer

    folder.mkdir(parents=True, exist_ok=True)
    best_path = folder / "best.weights.h5"
    done_path = folder / "done.json"
    steps = int(train_data.cardinality()) if hasattr(train_data, "cardinality") else None
    with strategy.scope() if strategy is not None else contextlib.nullcontext():  # the optimizer's variables too
        model.compile(optimizer=make_optimizer(config, steps), loss=loss, metrics=list(metrics))
    done = done_path.exists() if strategy is None else distributed.chief_value(strategy, done_path.exists())
    if done:
        if folder == run_dir:
            print(f"{run_dir} finished earlier ({done_path}); loading its best weights.")
            _prepare(run_dir)  # a folder a failed clean-up left
        if strategy is None:
            model.optimizer.build(model.trainable_variables)  # the checkpoint holds the optimizer's state too
            model.load_weights(best_path)
        else:
            distributed.build(model, strategy, train_data)
            if folder == run_dir:
                model.load_weights(best_path)
            distributed.sync_from_chief(strategy, model)
        return read_log(folder)

    # At each epoch end, in this order: extra callbacks (metrics they add are checked, checkpointed and
    # logged), the timer, the divergence check (before anything is written), the commit, TensorBoard.
    callbacks = [
        *callbacks,
        EpochTimer(),
        DivergenceGuard(config, run_dir),
        Checkpoints(folder, config),
        keras.callbacks.TensorBoard(str(folder / "tensorboard")),
    ]
    verbose = config.verbose if config.verbose == "auto" else int(config.verbose)
    if strategy is None:
        model.fit(
            train_data,
            validation_data=validation_data,
            epochs=config.epochs,
            callbacks=callbacks,
            verbose=verbose,
            shuffle=False,  # datasets shuffle themselves (fit's shuffle does not apply to tf.data)
        )
    else:
        verbose = verbose if folder == run_dir else 0  # one progress bar: the chief's
        distributed.train(model, train_data, validation_data, config.epochs, callbacks, strategy, loss, verbose)
    if best_path.exists():
        model.load_weights(best_path)
    if strategy is not None:
        distributed.sync_from_chief(strategy, model)  # the chief's best epoch, on every worker
    history = read_log(folder)
    files.write_json(done_path, {"epochs_run": len(history.get("epoch", []))})
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
    """Add one ``--flag`` per field of the dataclass ``config_cls`` (defaults from its fields; help from
    ``help_texts``, else the field's ``metadata["help"]``)."""
    help_texts = help_texts or {}
    hints = typing.get_type_hints(config_cls)
    group = parser.add_argument_group(config_cls.__name__, (config_cls.__doc__ or "").strip().splitlines()[0])
    for field in dataclasses.fields(config_cls):
        kind = hints[field.name]
        parse = _parse_bool if kind is bool else kind
        text = help_texts.get(field.name, field.metadata.get("help", "")).replace("%", "%%").replace("%%%%", "%%")
        group.add_argument(
            "--" + field.name.replace("_", "-"),
            dest=field.name,
            type=parse,
            default=field.default,
            metavar=field.name.upper(),
            help=text + ("" if "default" in text else f" (default: {field.default})"),
        )


def from_arguments(config_cls, args):
    """Build ``config_cls`` from the parsed arguments ``add_arguments`` added."""
    return config_cls(**{field.name: getattr(args, field.name) for field in dataclasses.fields(config_cls)})
