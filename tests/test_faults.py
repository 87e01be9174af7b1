"""Faults a long run meets, injected rather than waited for (issue 27): a second trainer on the same run folder,
a lock left by a killed process, a full disk or a kill at every file-system write of an epoch's commit and of an
export, and the one line `zoo` prints for a write error. Every test is bounded in time: tiny models, fixed
epochs, subprocesses with timeouts. See docs/reliability.md."""

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from tests.fault_points import inject
from tests.test_training import data, tiny_model
from zoo import cli, files, training

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "-1", "PYTHONPATH": str(ROOT)}
H5PY_ENOSPC = ("Unable to synchronously create file (unable to open file: name = 'x', errno = 28, error message = "
               "'No space left on device', flags = 13, o_flags = 242)")


# One trainer per run folder.


def _hold(run_dir):
    """A process (no TensorFlow: quick to start) that holds ``run_dir``'s lock until killed."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import time\nfrom zoo import files\n"
         f"with files.run_lock({str(run_dir)!r}):\n    print('held', flush=True)\n    time.sleep(120)"],
        cwd=ROOT, env=ENV, stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout.readline() == "held\n"
    return holder


def _end(process):
    process.kill()
    process.wait(timeout=30)


def test_a_second_zoo_train_on_a_folder_in_use_exits_2_with_one_line_naming_the_holder(tmp_path, capsys):
    run_dir = tmp_path / "run"
    holder = _hold(run_dir)
    try:
        status = cli.main(["train", "generator", "--run-dir", str(run_dir), "--data-dir", str(tmp_path / "none")])
    finally:
        _end(holder)
    assert status == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line == (f"zoo: error: {run_dir} is in use: process {holder.pid} on {socket.gethostname()} is training in "
                    f"it (it holds {run_dir}/lock). Wait for it to finish or stop it, or pass another --run-dir.")
    assert sorted(p.name for p in run_dir.iterdir()) == ["lock"]  # stopped before writing (or reading data)


def test_the_lock_is_reentrant_within_a_process_and_released_after(tmp_path):
    with training.run_lock(tmp_path):
        with training.run_lock(tmp_path):  # a task holds it, then fit takes it again
            pass
        assert json.loads((tmp_path / "lock").read_text()) == {"host": socket.gethostname(), "pid": os.getpid()}
    _end(_hold(tmp_path))  # another process gets it once this one let go


def test_a_lock_left_by_a_killed_trainer_does_not_block(tmp_path):
    holder = _hold(tmp_path)
    try:
        with pytest.raises(training.RunFolderBusy, match=rf"process {holder.pid} on {socket.gethostname()}"):
            with training.run_lock(tmp_path):
                pass
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    finally:
        _end(holder)
    assert json.loads((tmp_path / "lock").read_text())["pid"] == holder.pid  # the dead holder's file stays...
    with training.run_lock(tmp_path):  # ...and does not block
        assert json.loads((tmp_path / "lock").read_text())["pid"] == os.getpid()


@pytest.mark.slow
def test_two_zoo_train_processes_at_once_one_trains_the_other_exits_2(tmp_path):
    run_dir = tmp_path / "run"
    # The first trains for 4 x 8 batches x 3 s: long enough for the second to start TensorFlow and reach fit.
    command = [sys.executable, "-m", "tests.reliability_run", str(run_dir), "--epochs", "4", "--batch-pause", "3"]
    first = subprocess.Popen(command, cwd=ROOT, env=ENV, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (run_dir / "progress.json").exists():  # the first one is training
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        second = subprocess.run(command, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120)
        assert first.wait(timeout=180) == 0, first.stderr.read()[-2000:]
    finally:
        _end(first)
    assert second.returncode == 2
    assert second.stderr.splitlines()[-1].startswith(f"zoo: error: {run_dir} is in use: process {first.pid} on ")
    assert training.read_log(run_dir)["epoch"] == [0, 1, 2, 3]


# An epoch's commit.


class _Weights(keras.callbacks.Callback):
    """The model's weights at each epoch end, before the commit (which runs after the test's callbacks)."""

    def __init__(self):
        super().__init__()
        self.at = {}

    def on_epoch_end(self, epoch, logs=None):
        self.at[epoch + 1] = [w.copy() for w in self.model.get_weights()]


def weights_in(path):
    """The model weights stored in a ``.weights.h5`` file, in the model's order."""
    model = tiny_model()
    model.load_weights(path)
    return model.get_weights()


def assert_consistent(run_dir, recorded, monitor="val_loss"):
    """The committed epoch is whole: its log has exactly its epochs, its state names the best of them, and
    ``run_dir/best.weights.h5`` holds that epoch's weights (as ``recorded`` saw them)."""
    committed = run_dir / os.readlink(run_dir / "checkpoint")
    assert sorted(p.name for p in committed.iterdir()) == ["best.weights.h5", "latest.weights.h5", "log.csv", "state.json"]
    state = json.loads((committed / "state.json").read_text())
    log = training.read_log(run_dir)
    assert log["epoch"] == list(range(state["epochs"]))
    assert state["best_epoch"] == int(np.argmin(log[monitor])) + 1 and state["best"] == min(log[monitor])
    assert (run_dir / "best.weights.h5").resolve() == (committed / "best.weights.h5").resolve()
    for got, want in zip(weights_in(run_dir / "best.weights.h5"), recorded.at[state["best_epoch"]]):
        np.testing.assert_array_equal(got, want)
    return state


CURVE = [0.5, 0.7, 0.3]  # val_loss by epoch: epoch 2 does not improve (best stays epoch 1's), epoch 3 does


class _Curve(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = CURVE[epoch]


def _fit(run_dir, epochs, recorded, callbacks_before=()):
    config = training.TrainConfig(epochs=epochs, patience=0, verbose="0")
    return training.fit(tiny_model(), data(32, 0), data(16, 1), config, run_dir, "binary_crossentropy",
                        callbacks=[*callbacks_before, _Curve(), recorded])


def _writes_of_the_second_commit(tmp_path):
    with inject(training, "_commit", 0, "count", after=1) as counter:
        _fit(tmp_path / "count", 2, _Weights())
    return counter.where


# The writes of a second epoch's commit (tests/fault_points.py counts them; the test checks the count).
SECOND_COMMIT_WRITES = 15


@pytest.mark.slow
def test_a_full_disk_at_each_write_of_an_epoch_leaves_a_consistent_folder_and_a_rerun_completes(tmp_path):
    writes = _writes_of_the_second_commit(tmp_path)
    assert len(writes) == SECOND_COMMIT_WRITES, writes  # the weights, best, log, state, flushes, rename, clean-up
    for k in range(1, len(writes) + 1):
        run_dir, recorded = tmp_path / f"fault{k}", _Weights()
        with inject(training, "_commit", k, "raise", after=1):
            try:
                _fit(run_dir, 2, recorded)  # epoch 1 commits; epoch 2's commit meets a full disk at write k
                failed = False
            except OSError as err:
                assert err.errno == errno.ENOSPC and err.filename, (k, writes[k - 1])
                failed = True
        assert failed or writes[k - 1] == "shutil.rmtree", k  # only a clean-up may fail unnoticed
        state = assert_consistent(run_dir, recorded)
        committed = not failed or k - 1 > writes.index("os.replace")
        assert state["epochs"] == (2 if committed else 1), (k, writes[k - 1])
        _fit(run_dir, 2, recorded)  # the rerun resumes from what was committed and finishes
        assert assert_consistent(run_dir, recorded) == {"best": 0.5, "best_epoch": 1, "epochs": 2, "wait": 1}
        assert [p.name for p in (run_dir / "checkpoints").iterdir()] == ["epoch-0002"], k
        assert not list(run_dir.glob(".*")), k


class _FullDiskFrom(keras.callbacks.Callback):
    """From epoch ``epoch`` (0-based) on, ``save_weights`` fails as h5py does on a full disk: an ``OSError``
    with the errno only in its text."""

    def __init__(self, epoch, monkeypatch):
        super().__init__()
        self.epoch, self.monkeypatch = epoch, monkeypatch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            self.monkeypatch.setattr(keras.Model, "save_weights", self.full)

    @staticmethod
    def full(model, filepath, *args, **kwargs):
        raise OSError(H5PY_ENOSPC)


def test_a_weights_file_h5py_cannot_create_is_one_line_and_status_2(tmp_path, monkeypatch, capsys):
    recorded = _Weights()
    with pytest.raises(OSError) as info:
        _fit(tmp_path, 2, recorded, callbacks_before=[_FullDiskFrom(1, monkeypatch)])
    monkeypatch.undo()
    assert cli.report(info.value, _Args(run_dir=str(tmp_path))) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line == (f"zoo: error: no space left on device: {tmp_path}/checkpoints/epoch-0002/latest.weights.h5 "
                    "(--run-dir must be a folder zoo can create and write in).")
    assert assert_consistent(tmp_path, recorded)["epochs"] == 1


class _Args:
    def __init__(self, **kwargs):
        self.command = "train"
        self.__dict__.update(kwargs)


@pytest.mark.slow
@pytest.mark.parametrize("k", range(1, SECOND_COMMIT_WRITES + 1))
def test_a_kill_at_write_k_of_an_epoch_then_a_rerun_finds_a_consistent_folder(tmp_path, k):
    # A real process ended by os._exit at the k-th write of epoch 2's commit (no cleanup runs), then rerun.
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "tests.reliability_run", str(run_dir), "--epochs", "3"]
    killed = subprocess.run([*command, "--kill-at-write", str(k)], cwd=ROOT, env=ENV, capture_output=True, timeout=300)
    assert killed.returncode in (137, 0), killed.stderr[-2000:]  # 0: k is past the commit's last write
    committed = json.loads((run_dir / "checkpoint" / "state.json").read_text())
    assert training.read_log(run_dir)["epoch"] == list(range(committed["epochs"]))
    again = subprocess.run(command, cwd=ROOT, env=ENV, capture_output=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert training.read_log(run_dir)["epoch"] == [0, 1, 2]
    assert [p.name for p in (run_dir / "checkpoints").iterdir()] == ["epoch-0003"]


# Exports.


def _write(tmp):
    """A stand-in export: what atomic_write_dir does around it is what is tested."""
    (tmp / "saved_model.pb").write_text("new")
    (tmp / "variables").mkdir()
    (tmp / "variables" / "variables.index").write_text("new")


def _old_export(path):
    path.mkdir()
    (path / "saved_model.pb").write_text("old")


def test_a_fault_at_each_write_of_an_export_leaves_the_old_or_the_new_export_whole(tmp_path):
    (tmp_path / "count").mkdir()
    _old_export(tmp_path / "count" / "model")
    with inject(files, "atomic_write_dir", 0, "count") as counter:
        files.atomic_write_dir(tmp_path / "count" / "model", _write)
    assert len(counter.where) >= 8, counter.where
    for k in range(1, len(counter.where) + 1):
        parent = tmp_path / f"fault{k}"
        parent.mkdir()
        _old_export(parent / "model")
        with inject(files, "atomic_write_dir", k, "raise"):
            try:
                files.atomic_write_dir(parent / "model", _write)
            except OSError as err:
                assert err.errno == errno.ENOSPC, k
        files.remove_stale(parent / "model")  # what the next export does first
        assert (parent / "model" / "saved_model.pb").read_text() in ("old", "new"), k
        files.atomic_write_dir(parent / "model", _write)  # and the next export succeeds
        assert sorted(p.name for p in parent.iterdir()) == ["model"], k
        assert (parent / "model" / "variables" / "variables.index").read_text() == "new"


def test_an_export_killed_midway_leaves_a_folder_the_next_export_removes(tmp_path):
    target = tmp_path / "model"
    _old_export(target)
    killed = subprocess.run(
        [sys.executable, "-c", "import os\nfrom zoo import files\n"
         f"files.atomic_write_dir({str(target)!r}, lambda tmp: ((tmp / 'half').write_text('x'), os._exit(137)))"],
        cwd=ROOT, env=ENV, timeout=60,
    )
    assert killed.returncode == 137
    (left,) = [p for p in tmp_path.iterdir() if p.name != "model"]
    assert left.name.startswith(f".model.tmp.{socket.gethostname()}.")
    live = files.temporary_folder(target)  # one of a live process (this one): an export under way
    files.atomic_write_dir(target, _write)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["model", live.name])
    assert (target / "saved_model.pb").read_text() == "new"


def test_a_kill_between_the_two_renames_of_an_export_is_undone_by_the_next(tmp_path):
    target = tmp_path / "model"
    _old_export(target)
    os.replace(target, tmp_path / ".model.old")  # where the kill left it: no `model`, the old one aside
    assert files.remove_stale(target) == [] and (target / "saved_model.pb").read_text() == "old"


@pytest.mark.parametrize("error, problem", [
    ("ResourceExhaustedError", "no space left on device"), ("PermissionDeniedError", "permission denied"),
])
def test_an_export_write_error_is_one_line_and_the_old_export_stays(tmp_path, monkeypatch, capsys, error, problem):
    import tensorflow as tf

    from zoo import export
    from zoo.data import text

    target = tmp_path / "export"
    _old_export(target)
    message = {"ResourceExhaustedError": "saved_model.pb; No space left on device",
               "PermissionDeniedError": "saved_model.pb; Permission denied"}[error]

    def fail(self, filepath, **kwargs):
        raise getattr(tf.errors, error)(None, None, message)

    monkeypatch.setattr(type(keras.export.ExportArchive()), "write_out", fail)  # the backend's subclass
    vectorizer = text.make_vectorizer(["a b c"], 10)
    with pytest.raises(OSError) as info:
        export.export_text_classifier(tiny_model(), vectorizer, target, 8)
    assert cli.report(info.value, _Args(command="train", export_dir=str(target), run_dir=str(tmp_path / "run"))) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line == f"zoo: error: {problem}: {target} (--export-dir must be a folder zoo can create and write in)."
    assert (target / "saved_model.pb").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]


def test_write_error_keeps_a_complete_oserror_and_leaves_other_errors_alone(tmp_path):
    complete = PermissionError(errno.EACCES, "Permission denied", "x")
    assert files.write_error(complete, tmp_path) is complete
    from_h5py = files.write_error(OSError(H5PY_ENOSPC), tmp_path / "a.h5")
    assert (from_h5py.errno, from_h5py.filename) == (errno.ENOSPC, str(tmp_path / "a.h5"))
    assert isinstance(files.write_error(OSError(errno.EACCES, "Permission denied"), tmp_path), PermissionError)
    bug = RuntimeError("shape mismatch")
    assert files.write_error(bug, tmp_path) is bug
