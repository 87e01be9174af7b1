"""The Task protocol and the one runner that trains any task.

A task (classifier, generator, seq2seq) says what is special to its pattern: its configuration, how
data becomes batches and vocabularies, the model, loss and metrics, extra callbacks, the evaluation,
the export and the model card. :func:`run` owns the rest, the same for every task: the strategy and
the chief's run folder, seeding, ``config.json``, building in the strategy's scope, ``training.fit``,
``metrics.json``, the export and its model card.

Adding a task is one module defining a :class:`Task` subclass (``TASK = MyTask()``) and one line in
``zoo.tasks.TASKS``; the ``zoo`` command's ``train``, ``predict`` and ``--help`` pick it up.
"""

import dataclasses
import json
import os
import time
from pathlib import Path

from zoo import training


def option(default, help, **kwargs):
    """A config field with its ``--help`` text (the command line is generated from the dataclass)."""
    return dataclasses.field(default=default, metadata={"help": help, **kwargs})


@dataclasses.dataclass
class Data:
    """What a task's :meth:`Task.load` returns.

    Attributes:
        info: the record of the data for ``config.json``, ``metrics.json`` and the model card (files and
            their sha256, rows per split, labels: see ``zoo.data.files.UserData.describe``).
        train, validation: batched ``tf.data`` datasets of ``(inputs, targets)`` (``validation`` may be
            None when a callback computes the validation metrics).
        parts: anything else the task's other steps need (splits, vectorizers, label names, ...).
    """

    info: dict
    train: object
    validation: object
    parts: dict = dataclasses.field(default_factory=dict)

    def __getattr__(self, name):
        try:
            return self.__dict__["parts"][name]
        except KeyError:
            raise AttributeError(name) from None


class Task:
    """One pattern's steps; :func:`run` calls them in order. Subclasses set the class attributes.

    Attributes:
        name: the registry name, also the section of ``config.json`` that holds the config.
        Config: a frozen dataclass: model options (the builder's keyword arguments), data options, paths;
            each field's ``metadata["help"]`` is its ``--help`` text.
        train_defaults: :class:`zoo.training.TrainConfig` defaults for this task (e.g. ``epochs``).
        report: the metrics ``zoo train`` prints at the end.
        strategies: the ``--strategy`` values the task supports.
    """

    name = ""
    Config = None
    train_defaults = {}
    report = ()
    strategies = training.STRATEGIES

    def summary(self):
        return (type(self).__doc__ or "").strip().split("\n\n")[0]

    def resolve(self, config, train_config):
        """The configs as the run uses them (e.g. a default that depends on another option)."""
        return config, train_config

    def load(self, config, train_config, run_dir):
        """Read the data (seeded by ``train_config.seed``), adapt vocabularies on the training split (saved in
        ``run_dir`` for resumes), and batch it. Returns :class:`Data`."""
        raise NotImplementedError

    def build(self, config, data, train_config, run_dir):
        """The ``keras.Model`` to train (called in the strategy's scope)."""
        raise NotImplementedError

    def loss(self, config, data):
        raise NotImplementedError

    def metrics(self, config, data):
        return []

    def callbacks(self, config, data):
        return []

    def evaluate(self, config, train_config, model, data, history, run_dir, strategy):
        """The task's metrics (test scores, sizes, samples) after training, as a dict."""
        raise NotImplementedError

    def export(self, config, train_config, model, data, metrics, export_dir, files):
        """Write the SavedModel to ``export_dir`` with ``files`` (``config.json``) beside it; return False when
        this configuration exports nothing. May add figures measured on the export to ``metrics``."""
        return False

    def model_card(self, config, train_config, metrics, export_dir):
        """The export's README.md, every figure from ``metrics``."""
        raise NotImplementedError

    def serves(self, signatures):
        """Whether a SavedModel with these signatures is this task's export (for ``zoo predict``)."""
        return False

    def predict(self, signatures, texts, options):
        """Print the export's answer for each of ``texts`` (``zoo predict``)."""
        raise NotImplementedError


def data_section(info):
    """The "Data" section for a user's files (``zoo.data.files.UserData.describe``): each file, its sha256,
    how the splits were drawn, the rows per split and the label counts. For a named dataset's record
    (``zoo.data.registry``): its name, path and sha256."""
    if "files" not in info:
        return f"## Data\n`{info['dataset']}`: `{info['path']}`, sha256 `{info['sha256']}`.\n"
    lines = [f"- {role}: `{f['name']}` ({f['format']}), sha256 `{f['sha256']}`" for role, f in info["files"].items()]
    drawn = info.get("drawn", {})
    unit = "rows" if "rows" in info else "characters"
    sizes = ", ".join(f"{split} {count:,}" for split, count in info[unit].items())
    lines.append(f"- {unit.capitalize()} per split: {sizes} (splits not given as files were drawn from "
                 f"`{Path(drawn.get('from', '')).name}` with seed {drawn.get('seed')}: validation "
                 f"{drawn.get('validation_split', 0):.0%}, test {drawn.get('test_split', 0):.0%}).")
    if "labels" in info:
        lines.append("\n| label | " + " | ".join(info["labels"]) + " |")
        lines.append("|---|" + "---:|" * len(info["labels"]))
        for name in next(iter(info["labels"].values())):
            lines.append(f"| {name} | " + " | ".join(str(info["labels"][s][name]) for s in info["labels"]) + " |")
    return "## Data\n" + "\n".join(lines) + "\n"


def card_sections(given, **generic):
    """A model card's sections: a named dataset's (``given``, see ``zoo.data.registry``) where it has them,
    else the task's for a user's files (``generic``: section -> a function making it, called only when needed)."""
    unknown = sorted(set(given) - set(generic))
    if unknown:
        raise ValueError(f"model card sections {unknown} are not among this task's: {sorted(generic)}.")
    return {name: given[name] if name in given else make() for name, make in generic.items()}


def check_writable(path, flag):
    """ValueError naming ``flag`` and ``path`` unless zoo can create and write the folder ``path``."""
    path = Path(path)
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    needs = f"({flag} must be a folder zoo can create and write in)"
    if existing.exists() and not existing.is_dir():
        raise ValueError(f"{flag} {path}: {existing} is a file, not a folder {needs}.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{flag} {path}: permission denied, {existing} is not writable {needs}.")


def run(task, config, train_config, command=None):
    """Train ``task`` with ``config`` and ``train_config``, evaluate, write ``metrics.json``, export. Returns
    the metrics dict.

    With ``train_config.strategy`` "multi_worker", every machine runs this with the same arguments; only
    the chief writes ``config.run_dir``, evaluates and exports (the others return after training).
    """
    from zoo import distributed, export
    from zoo.backend import require_tensorflow

    require_tensorflow(f"zoo train {task.name}")
    config, train_config = task.resolve(config, train_config)
    if train_config.strategy not in task.strategies:
        raise ValueError(f"zoo train {task.name} supports --strategy {' or '.join(task.strategies)}; got --strategy "
                         f"{train_config.strategy}.")
    check_writable(config.run_dir, "--run-dir")
    export_dir = Path(config.export_dir or Path(config.run_dir) / "export")
    if config.export_dir:
        check_writable(config.export_dir, "--export-dir")
    started = time.time()
    strategy = distributed.make_strategy(train_config.strategy)  # first: before any TensorFlow op
    with distributed.task_folder(strategy, config.run_dir) as run_dir:
        training.seed_everything(train_config.seed)
        data = task.load(config, train_config, run_dir)
        command = command or f"python -c 'zoo.tasks.run(zoo.tasks.get({task.name!r}), {config!r}, {train_config!r})'"
        training.write_config(run_dir, **{task.name: config}, train=train_config, data=data.info, command=command)
        with distributed.scope(strategy):
            model = task.build(config, data, train_config, run_dir)
        history = training.fit(model, data.train, data.validation, train_config, run_dir, task.loss(config, data),
                               task.metrics(config, data), callbacks=task.callbacks(config, data), strategy=strategy)
        summary = training.epoch_summary(history, train_config.monitor)
        if not distributed.is_chief(strategy):
            return summary
        metrics = {
            "task": task.name,
            **task.evaluate(config, train_config, model, data, history, run_dir, strategy),
            **summary,
            "parameters": model.count_params(),
            **training.environment(),
            "data": data.info,
            "command": command,
            "seed": train_config.seed,
        }
        metrics["wall_seconds_this_call"] = time.time() - started
        export.write_metrics(run_dir, metrics)
        files = {"config.json": json.loads((run_dir / "config.json").read_text())}
        if task.export(config, train_config, model, data, metrics, export_dir, files) is False:
            return metrics
        return export.finish(run_dir, export_dir, metrics,
                             lambda m: task.model_card(config, train_config, m, export_dir))
