"""Tasks: one module per pattern, each a :class:`zoo.tasks.base.Task`, and their registry.

The registry holds module names, not modules: the ``zoo`` command lists the tasks (``zoo train
--help``) without importing TensorFlow; a task's module loads when a command names it.
"""

import importlib

# `zoo train NAME`: the module whose ``TASK`` trains it. Add a task: one module, one line here.
TASKS = {
    "classifier": "zoo.tasks.classifier",
    "generator": "zoo.tasks.generator",
    "seq2seq": "zoo.tasks.seq2seq",
}
# Older names of `zoo train` commands, kept so that documented commands still work: the task they run
# and the defaults they change.
ALIASES = {"sentiment": ("classifier", {"run_dir": "runs/sentiment", "data": "imdb"})}
# `zoo ensemble NAME`: the module that averages finished runs of that task.
ENSEMBLES = {"sentiment": "zoo.tasks.sentiment_ensemble", "generator": "zoo.tasks.generator_ensemble"}


def names():
    return list(TASKS)


def get(name):
    """The :class:`~zoo.tasks.base.Task` called ``name`` (a registry name or an alias)."""
    name = ALIASES.get(name, (name,))[0]
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; the tasks are {names()}.")
    return importlib.import_module(TASKS[name]).TASK


def run(task, config, train_config, command=None):
    """Train ``task`` (see :func:`zoo.tasks.base.run`)."""
    from zoo.tasks.base import run as run_task

    return run_task(task, config, train_config, command)
