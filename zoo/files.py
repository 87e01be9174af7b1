"""Writing files so that a kill or a full disk never leaves a half-written state: what the trainer's
checkpoints (``zoo/training.py``) and the exports (``zoo/export/``) share.

- :func:`write_json` and :func:`atomic_write_dir` write beside the destination and rename into place.
- :func:`durable` flushes a file or a folder's entries to disk, so that a rename that commits them
  cannot reach the disk before they do (a power cut, not only a kill).
- Temporary folders carry their host and process id in their name (:func:`temporary_folder`), so a
  later run removes those whose process is gone (:func:`remove_stale`) and leaves a live one's alone.
- :func:`run_lock` keeps a second trainer out of a run folder in use.
- :func:`write_error` turns whatever a failed write raised (``OSError`` with or without a file name,
  h5py's ``OSError`` that only names the errno in its text, TensorFlow's ``ResourceExhaustedError``
  or ``PermissionDeniedError`` that say it in words) into an ``OSError`` with its errno and the path, which the ``zoo``
  command reports as one ``zoo: error:`` line.
"""

import contextlib
import errno
import json
import os
import re
import shutil
import socket
import tempfile
from pathlib import Path


def durable(path):
    """``fsync`` a file, or a folder (its entries: names created or renamed in it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json(path, data):
    """Write ``data`` as JSON to ``path`` atomically: a crash mid-write leaves the previous file (or none)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _tag():
    """``host.pid`` of this process, as temporary names carry it (dots in a host name are kept)."""
    return f"{socket.gethostname()}.{os.getpid()}"


def temporary_folder(path):
    """A new empty folder beside ``path`` named ``.NAME.tmp.HOST.PID.XXXXXXXX`` (see :func:`remove_stale`)."""
    path = Path(path)
    return Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp.{_tag()}.", dir=path.parent))


def process_alive(pid):
    """Whether process ``pid`` exists on this host (one of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(path):
    """Remove the temporary folders of ``path`` (:func:`temporary_folder`) left by processes of this host that
    are gone, as a kill leaves them; those of live processes, and of other hosts, stay. Returns what was
    removed. Also brings back ``.NAME.old`` when ``NAME`` is missing: :func:`atomic_write_dir` was killed between
    its two renames, and the old folder is the last complete one."""
    path = Path(path)
    if not path.parent.is_dir():
        return []
    pattern = re.compile(rf"\.{re.escape(path.name)}\.tmp\.(?P<host>.+)\.(?P<pid>\d+)\.[^.]*")
    host, removed = socket.gethostname(), []
    for entry in path.parent.iterdir():
        match = pattern.fullmatch(entry.name)
        if match and match["host"] == host and int(match["pid"]) != os.getpid() and not process_alive(int(match["pid"])):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    old = path.with_name(f".{path.name}.old")
    if old.is_dir() and not path.exists():
        os.replace(old, path)
    return removed


def atomic_write_dir(path, write):
    """Call ``write(tmp)`` on a new temporary folder beside ``path``, then put it in ``path``'s place.

    A failure in ``write`` removes the temporary folder and leaves ``path`` as it was; a kill leaves the
    temporary folder, which the next call for ``path`` removes (:func:`remove_stale`). The swap is two
    renames (``path`` -> ``.NAME.old``, tmp -> ``path``); a kill between them leaves ``.NAME.old``, which the
    next call puts back first. A write error is raised as an ``OSError`` naming ``path``
    (:func:`write_error`). Returns ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(path)
    tmp = temporary_folder(path)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private (0700); an export is meant to be shared
        try:
            write(tmp)
            for file in sorted(tmp.rglob("*")):
                if file.is_file():
                    durable(file)
            durable(tmp)
        except Exception as err:
            raise write_error(err, path) from err
        old = path.with_name(f".{path.name}.old")
        if path.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
        os.replace(tmp, path)
        durable(path.parent)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


# What errors without an errno (TensorFlow's) mean, by their text (ResourceExhaustedError is also an
# out-of-memory error: only its text tells a full disk).
_TEXTS = {
    "no space left on device": errno.ENOSPC,
    "disk quota exceeded": errno.EDQUOT,
    "permission denied": errno.EACCES,
    "read-only file system": errno.EROFS,
    "file too large": errno.EFBIG,
}


def write_error(err, path):
    """An ``OSError`` (of the subclass its errno picks) for a failed write ``err`` to or under ``path``.

    ``err`` itself when it is an ``OSError`` that names its errno and file already; otherwise one built from
    its errno, from the ``errno = N`` h5py puts in its text, or from a known phrase in its text
    (TensorFlow's errors carry no errno). ``err`` unchanged when none of these says what went wrong (not a write error: a bug).
    """
    if isinstance(err, OSError) and err.errno is not None and err.filename is not None:
        return err
    text = str(err)
    code = err.errno if isinstance(err, OSError) else None
    if code is None:
        found = re.search(r"errno = (\d+)", text)
        code = int(found[1]) if found else next((c for phrase, c in _TEXTS.items() if phrase in text.lower()), None)
    if code is None:
        return err
    return OSError(code, os.strerror(code), str(path))


class RunFolderBusy(ValueError):
    """Another process is training in this run folder (it holds ``run_dir/lock``)."""


def _lock_holder(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def run_lock(run_dir):
    """Hold ``run_dir``'s lock while the block runs: one trainer per run folder.

    The lock is an ``fcntl.flock`` of ``run_dir/lock``, which the kernel releases when its process ends,
    however it ends (SIGKILL included), so a lock file left by a dead process never blocks. The holder writes
    its process id and host into the file, for the message the next process gets. Reentrant within a
    process: a task takes the lock before reading its data, :func:`zoo.training.fit` again around training (a second
    ``flock`` through another open file fails even in the same process, so the file's holder tells).
    Here rather than in ``zoo.training`` so that taking it needs no TensorFlow.

    Raises:
        RunFolderBusy: another process holds the lock (a ``ValueError``: `zoo` prints it as one line, exit 2).
    """
    import fcntl

    run_dir = Path(run_dir)
    created = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "lock"
    me = {"host": socket.gethostname(), "pid": os.getpid()}
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    took = False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _lock_holder(path)
            if holder != me:
                who = f"process {holder.get('pid')} on {holder.get('host')}" if isinstance(holder, dict) else "another process"
                raise RunFolderBusy(
                    f"{run_dir} is in use: {who} is training in it (it holds {path}). Wait for it to finish or stop "
                    "it, or pass another --run-dir."
                ) from None
        else:
            took = True
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(me) + "\n").encode(), 0)
        yield
    finally:
        if took and created and [p.name for p in run_dir.iterdir()] == ["lock"]:
            # Nothing was written (bad data, say): leave no run folder behind, as before the lock existed.
            path.unlink(missing_ok=True)
            run_dir.rmdir()
        os.close(fd)  # releases the lock if this open file took it; another one of this process keeps it
