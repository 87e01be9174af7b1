import subprocess
import sys

from zoo import cli


def test_help_lists_commands():
    out = subprocess.run([sys.executable, "-m", "zoo.cli", "--help"], capture_output=True, text=True, check=True).stdout
    assert "cells" in out and "recurrent" in out


def test_cells_lists_every_registered_cell(capsys):
    assert cli.main(["cells", "--units", "2"]) == 0
    out = capsys.readouterr().out
    for name in ("elman", "gru", "peephole_lstm", "peephole_o (2,)"):
        assert name in out


def test_bad_units_is_one_clear_line(capsys):
    assert cli.main(["cells", "--units", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo: error: `units` must be a positive integer") and err.count("\n") == 1
