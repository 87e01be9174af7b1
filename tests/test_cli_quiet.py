"""The `zoo` command answers quickly and quietly (issue 23): help and argument errors without TensorFlow,
no library log lines, one line offline or on Ctrl-C."""

import argparse
import os
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from zoo import cli, logs, training

ROOT = Path(__file__).resolve().parents[1]
SENTIMENT = ROOT / "saved_models/imdb_sentiment"
# Runs the command with TensorFlow and Keras impossible to import: what answers must not need them.
WITHOUT_TENSORFLOW = "import sys; sys.modules['tensorflow'] = sys.modules['keras'] = None; from zoo.cli import main; " \
                     "sys.exit(main(sys.argv[1:]))"


def zoo_without_tensorflow(*argv):
    return subprocess.run([sys.executable, "-c", WITHOUT_TENSORFLOW, *argv], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)


def _commands(parser, prefix=()):
    """Every command and sub-command of ``parser`` (``("train", "classifier")``, ...), read from its subparsers."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*prefix, name)
                yield from _commands(sub, (*prefix, name))


# `zoo` and every command and sub-command the real parser has, so that a new one is held to it too.
COMMANDS = [(), *_commands(cli.build_parser())]


@pytest.mark.parametrize("argv", [[*command, "--help"] for command in COMMANDS] + [["predict", "sentiment", "--help"]],
                         ids=" ".join)
def test_help_needs_no_tensorflow(argv):
    run = zoo_without_tensorflow(*argv)
    assert run.returncode == 0 and run.stdout.startswith("usage: zoo") and run.stderr == ""


def test_version_needs_no_tensorflow():
    run = zoo_without_tensorflow("--version")
    assert run.returncode == 0 and run.stdout.strip() == "zoo 0.1.0"


@pytest.mark.parametrize("argv, says", [(["generate", "--length", "x"], "invalid int value: 'x'"),
                                        (["train", "tree"], "invalid choice: 'tree'"),
                                        (["cells", "--units"], "expected one argument"),
                                        (["train", "classifier", "--units", "-3"], "`units` must be a positive integer"),
                                        (["train", "seq2seq", "--cell", "tree"], "`cell` must be one of"),
                                        (["train", "generator", "--units", "-3"], "`units` must be a positive integer"),
                                        (["train", "generator", "--input-mode", "bits"], "`input_mode` must be one of"),
                                        (["report", "--budget", "huge"], "invalid choice: 'huge'")], ids=" ".join)
def test_argument_errors_need_no_tensorflow(argv, says):
    run = zoo_without_tensorflow(*argv)
    assert run.returncode == 2 and says in run.stderr and "Traceback" not in run.stderr


def test_import_zoo_loads_no_keras_until_used():
    code = ("import sys, zoo; assert 'keras' not in sys.modules; zoo.cells.names(); assert 'keras' not in sys.modules; "
            "zoo.cells.get('gru', units=2); assert 'keras' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_keras_sees_the_zoo_cells_whichever_is_imported_first():
    code = ("import zoo, keras; assert keras.saving.get_registered_object('zoo>GRUCell') is zoo.cells.GRUCell; "
            "assert keras.saving.get_registered_object('zoo>Recurrent') is zoo.layers.Recurrent")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


NOISE = (b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
         b"I0000 00:00:1796626123.725261    9343 port.cc:153] oneDNN custom operations are on.\n"
         b"E0000 00:00:1796626154.747745    9937 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error\n"
         b"To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the "
         b"appropriate compiler flags.\n")


def test_filtered_stderr_keeps_zoo_lines_and_drops_library_logs():
    code = ("import os, sys; from zoo import logs; logs.filter_stderr(); "
            f"os.write(2, {NOISE!r}); print('zoo: error: kept', file=sys.stderr); os.write(2, b'progress\\r')")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert run.stderr == b"zoo: error: kept\nprogress\r"


@pytest.mark.parametrize("argv, environment, wanted", [
    (["train", "seq2seq", "--verbose", "2"], "", False),  # the trainer's progress display, not the logs
    (["--verbose", "train", "seq2seq"], "", True),
    (["train", "seq2seq"], "1", True),
    (["train", "seq2seq"], "0", False),
])
def test_library_logs_are_asked_for_before_the_command_or_by_the_environment(argv, environment, wanted, monkeypatch):
    monkeypatch.setenv("ZOO_VERBOSE", environment)
    assert cli._logs_wanted(argv) is wanted


@pytest.mark.skipif(not (SENTIMENT / "saved_model.pb").exists(), reason=f"no {SENTIMENT}")
def test_predict_prints_nothing_but_its_answer():
    env = {k: v for k, v in os.environ.items() if k not in ("ZOO_VERBOSE", "TF_CPP_MIN_LOG_LEVEL")}
    run = subprocess.run([sys.executable, "-m", "zoo", "predict", "sentiment", "a great film"], capture_output=True,
                         text=True, timeout=300, cwd=ROOT, env=env)
    assert run.returncode == 0 and run.stderr == "" and run.stdout.startswith("positive")


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network (every host name fails to resolve) and an empty Keras download cache."""
    from keras.src.backend import config

    def unreachable(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unreachable)
    monkeypatch.setattr(config, "_KERAS_DIR", str(tmp_path / "keras"))
    monkeypatch.delenv("ZOO_DATA_DIR", raising=False)
    return tmp_path


@pytest.mark.parametrize("task, url", [("sentiment", "aclImdb_v1.tar.gz"), ("generator", "input.txt"),
                                       ("seq2seq", "spa-eng.zip")])
def test_offline_without_data_dir_is_one_line(task, url, offline, capsys):
    argv = ["train", task, "--run-dir", str(offline / "run")]
    if task == "generator":
        argv += ["--tfds-dir", str(offline / "tfds")]
    assert cli.main(argv) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("zoo: error: could not download ") and url in line and "--data-dir" in line


def test_an_error_while_ctrl_c_unwinds_still_says_how_to_resume(tmp_path, monkeypatch, capsys):
    def interrupted_then_broken(*args, **kwargs):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise AssertionError("Concurrent access?")  # as TensorFlow's traceback filters can, mid-unwind

    monkeypatch.setattr(training, "fit", interrupted_then_broken)
    argv = ["train", "seq2seq", "--task", "addition", "--train-problems", "20", "--units", "4", "--epochs", "1",
            "--run-dir", str(tmp_path / "run")]
    assert cli.main(argv) == 130
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("zoo: interrupted; rerun the same command to resume")


# Inputs that would give confident nonsense (issue 23, section 3).
ADDITION_MODEL = ROOT / "saved_models/addition"
TRANSLATOR = ROOT / "saved_models/spa_eng_translator"


@pytest.mark.parametrize("argv, says", [
    (["generate", "--temperature", "-1"], "temperature=-1.0"),
    (["generate", "--temperature", "nan"], "temperature=nan"),
    (["generate", "--length", "100001"], "length=100001"),
    (["generate", "--length", "-1"], "length=-1"),
], ids=" ".join)
def test_generate_refuses_a_meaningless_temperature_or_length_before_loading_anything(argv, says):
    run = zoo_without_tensorflow(*argv)
    assert run.returncode == 2 and run.stderr.startswith("zoo: error: ") and says in run.stderr
    assert len(run.stderr.splitlines()) == 1


def test_generation_pieces_double_up_to_the_longest_and_add_up():
    assert cli._pieces(100) == [100]
    assert cli._pieces(5000) == [250, 500, 1000, 2000, 1250]
    assert sum(cli._pieces(99_999)) == 99_999


def test_a_long_generation_prints_piece_by_piece_each_continuing_the_text(monkeypatch, capsys):
    calls = []

    def generate(prompt, length, temperature, seed):
        calls.append((prompt.numpy().decode(), int(length), int(seed)))
        return {"text": __import__("tensorflow").constant("ab" * (int(length) // 2))}

    monkeypatch.setattr(cli, "load_signature", lambda path, task: generate)
    assert cli.main(["generate", "P", "--length", "600", "--seed", "7"]) == 0
    assert [length for _, length, _ in calls] == [250, 350]
    assert calls[1][0] == "P" + "ab" * 125 and calls[0][2] == 7 and calls[1][2] != 7
    assert capsys.readouterr().out == "P" + "ab" * 300 + "\n"


@pytest.mark.parametrize("text", ["12+1000", "1+2+3", "abc", "", " 1+2", "-5+3", "1.5+2"])
@pytest.mark.skipif(not (ADDITION_MODEL / "saved_model.pb").exists(), reason=f"no {ADDITION_MODEL}")
def test_the_addition_model_refuses_anything_but_a_plus_b_in_range(text):
    run = zoo_without_tensorflow("translate", "--model", str(ADDITION_MODEL), text)
    assert run.returncode == 2 and run.stderr.startswith("zoo: error: the addition model takes 'a+b'")
    assert repr(text) in run.stderr and len(run.stderr.splitlines()) == 1


def test_stdin_blank_lines_are_skipped(monkeypatch):
    monkeypatch.setattr(sys, "stdin", __import__("io").StringIO("1+2\n\n   \n3+4\n"))
    assert cli._texts(cli.build_parser().parse_args(["translate"])) == ["1+2", "3+4"]


@pytest.mark.skipif(not (ADDITION_MODEL / "saved_model.pb").exists(), reason=f"no {ADDITION_MODEL}")
def test_the_addition_model_answers_problems_in_range(capsys):
    assert cli.main(["translate", "--model", str(ADDITION_MODEL), "123+45", "999+999"]) == 0
    assert capsys.readouterr().out.split() == ["168", "1998"]


@pytest.mark.skipif(not (TRANSLATOR / "saved_model.pb").exists(), reason=f"no {TRANSLATOR}")
def test_translate_says_when_it_cuts_a_long_input(capsys):
    long = "I like the red house . " * 25  # 150 tokens
    assert cli.main(["translate", "Hello.", long]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 2
    assert err.splitlines() == ["zoo: warning: text 2 has 150 tokens; the model reads the first 100 and ignores the rest."]
