"""The commands of docs/own_data.md are ones the `zoo` command accepts, on files that exist."""

import shlex
from pathlib import Path

import pytest

from zoo import cli

ROOT = Path(__file__).resolve().parents[1]


def commands():
    text = (ROOT / "docs" / "own_data.md").read_text(encoding="utf-8").replace("\\\n", " ")
    return [shlex.split(line[2:]) for line in text.splitlines() if line.startswith("$ zoo ")]


def test_the_page_shows_a_command_per_pattern():
    shown = {tuple(argv[1:3]) for argv in commands()}
    assert {("train", "classifier"), ("train", "seq2seq"), ("train", "generator")} <= shown


@pytest.mark.parametrize("argv", commands(), ids=" ".join)
def test_command_parses_and_its_example_files_exist(argv):
    args = cli.build_parser().parse_args(argv[1:])  # argparse exits (status 2) on a flag zoo does not have
    data = getattr(args, "data", None)
    if data and data.startswith("examples/"):
        assert (ROOT / data).is_file()
