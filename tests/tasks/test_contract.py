"""What every registered task promises (one contract test per kind, parametrized over zoo.tasks.TASKS)."""

import dataclasses
import inspect

import pytest

from zoo import cli, tasks, training
from zoo.models.classifier import build_classifier
from zoo.models.generator import build_generator
from zoo.models.seq2seq import build_seq2seq
from zoo.tasks.base import Task

BUILDERS = {"classifier": build_classifier, "generator": build_generator, "seq2seq": build_seq2seq}
SIZES = {"classifier": (100, "binary", 2), "generator": (30,), "seq2seq": (50, 60)}


@pytest.fixture(params=tasks.names())
def name(request):
    return request.param


def test_registry_names_its_task(name):
    task = tasks.get(name)
    assert isinstance(task, Task) and task.name == name
    assert dataclasses.is_dataclass(task.Config) and task.Config.__dataclass_params__.frozen


def test_every_option_has_help_and_a_flag(name, capsys):
    task = tasks.get(name)
    with pytest.raises(SystemExit):
        cli.main(["train", name, "--help"])
    text = capsys.readouterr().out
    for field in dataclasses.fields(task.Config):
        assert field.metadata.get("help"), f"{name}: --{field.name} has no help text"
        assert "--" + field.name.replace("_", "-") in text
    for field in dataclasses.fields(training.TrainConfig):
        assert "--" + field.name.replace("_", "-") in text


def test_model_options_are_the_builders_keyword_arguments(name):
    config = tasks.get(name).Config()
    options = config.model_options(*SIZES[name])
    parameters = inspect.signature(BUILDERS[name]).parameters
    assert set(options) <= set(parameters), set(options) - set(parameters)
    BUILDERS[name](**options)  # builds


def test_aliases_run_registered_tasks():
    for alias, (target, defaults) in tasks.ALIASES.items():
        config = tasks.get(alias).Config(**defaults)
        assert tasks.get(alias) is tasks.get(target) and config.run_dir == defaults["run_dir"]
