"""Named public datasets: `zoo train TASK --data NAME`.

A named dataset is one module of ``zoo.data`` that declares ``DATASET = NamedDataset(...)``: the tasks
find it by looking through the package (no list to edit). They look only when they train or write a
card, so ``zoo --help`` and ``zoo train --help`` import no dataset module (and no TensorFlow). A
``--data`` that names no dataset of the task is a user's file or folder (``zoo.data.files``).
"""

import dataclasses
import importlib
import pkgutil


def _nothing(*args):
    return {}


@dataclasses.dataclass(frozen=True)
class NamedDataset:
    """What a task needs of a named dataset, beside the options of the task's config it reads.

    Attributes:
        name: what ``--data`` takes.
        task: the ``zoo.tasks`` name it trains (classifier, generator, seq2seq).
        load: ``(config, seed) -> (splits, ..., info)``: the data, as the task's loader for a user's files
            returns it (``FILES`` in ``zoo/tasks/<task>.py``): classifier ``(splits, label names,
            head, info, unlabelled texts)``; generator and seq2seq ``(splits, info)``. ``info`` is the record
            of the data for config.json, metrics.json and the card: ``{"dataset": name, "path", "sha256"}``.
        model_name: the Keras model's name, formatted with the config's fields (``"imdb_{cell}"``).
        metrics_task: metrics.json's ``task``: one name, or a name per variant (classifier: per head;
            generator: per condition); the task's own name for a variant it does not list.
        card: ``(config, train_config, metrics, export_dir) -> {section: text}``: the model card's sections
            that replace those of the task's card for a user's files (the task's ``model_card`` names them).
        example: an input that shows what the model does (generator: the samples' prompt; seq2seq: the
            attention plot's sentence).
        extra_metrics: ``(score, splits) -> dict`` added to metrics.json (generator: ``score(text)`` is the
            loss in nats per character).
        style: seq2seq: the dataset's :class:`zoo.data.Style`.
    """

    name: str
    task: str
    load: object
    model_name: str
    metrics_task: object = None
    card: object = _nothing
    example: str = ""
    extra_metrics: object = _nothing
    style: object = None

    def keras_name(self, config):
        """The Keras model's name for ``config`` (a task's config dataclass)."""
        return self.model_name.format(**dataclasses.asdict(config))

    def task_name(self, variant, default):
        """metrics.json's ``task`` for ``variant`` (a head, a condition), else ``default``."""
        names = self.metrics_task
        return (names.get(variant) if isinstance(names, dict) else names) or default


def _declared():
    import zoo.data

    for module in pkgutil.iter_modules(zoo.data.__path__):
        dataset = getattr(importlib.import_module(f"zoo.data.{module.name}"), "DATASET", None)
        if isinstance(dataset, NamedDataset):
            yield module.name, dataset


def named(task):
    """``{name: NamedDataset}`` of ``task``, in module order."""
    found, where = {}, {}
    for module, dataset in _declared():
        if dataset.task != task:
            continue
        if dataset.name in found:
            raise ValueError(f"two {task} datasets are named {dataset.name!r}: zoo.data.{where[dataset.name]} and "
                             f"zoo.data.{module}; rename one.")
        found[dataset.name], where[dataset.name] = dataset, module
    return found


def find(task, name):
    """The named dataset ``name`` of ``task``, or None (``--data`` is then a user's path)."""
    return named(task).get(name)
