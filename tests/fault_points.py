"""Fault injection at every file-system write of a commit: for tests/test_faults.py and tests/reliability_run.py.

Inside ``inject(module, name, k, action, after)``, the function ``module.name`` (e.g. ``zoo.training._commit``)
runs with the calls it makes to the writing functions of :data:`WRITES` counted, from its ``after + 1``-th call
on (``after=1``: the second epoch's commit); the ``k``-th (1-based) does
``action`` instead of writing: ``"raise"`` raises ``OSError(ENOSPC)`` (a full disk at that write),
``"kill"`` ends the process at once with ``os._exit(137)`` (a SIGKILL: no cleanup, no ``finally``), and
``"count"`` writes and only counts. ``k`` beyond the last write injects nothing.
"""

import contextlib
import errno
import os
import pathlib
import shutil

import keras

from zoo import files

# Every call that creates, writes, links, renames, flushes or removes something on disk, as the trainer's
# commit and zoo.files.atomic_write_dir make them (TensorFlow's SavedModel writer is one call, write_out).
WRITES = (
    (os, "mkdir"), (os, "link"), (os, "symlink"), (os, "replace"), (os, "unlink"), (shutil, "rmtree"),
    (shutil, "copyfile"), (pathlib.Path, "write_text"), (files, "durable"), (keras.Model, "save_weights"),
    (type(keras.export.ExportArchive()), "write_out"),  # the backend's subclass, which the constructor returns
)


class Counter:
    """Counts the calls to the writing functions that the watched function makes itself (not those they make
    in turn: ``shutil.rmtree``'s own unlinks are part of one write)."""

    def __init__(self, k, action):
        self.k, self.action, self.calls, self.active, self.depth, self.where = k, action, 0, False, 0, []

    def wrap(self, function, label):
        def wrapped(*args, **kwargs):
            if self.active and self.depth == 0:
                self.calls += 1
                self.where.append(label)
                if self.calls == self.k and self.action == "kill":
                    os._exit(137)
                if self.calls == self.k and self.action == "raise":
                    if kwargs.get("ignore_errors"):
                        return None  # shutil.rmtree(..., ignore_errors=True) fails silently
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            self.depth += 1
            try:
                return function(*args, **kwargs)
            finally:
                self.depth -= 1

        return wrapped


@contextlib.contextmanager
def inject(module, name, k, action, after=0):
    """Count (and fault at the ``k``-th of) the writes that ``module.name`` makes from its ``after + 1``-th
    call on; yields the counter."""
    counter = Counter(k, action)
    saved = [(owner, attr, getattr(owner, attr)) for owner, attr in WRITES] + [(module, name, getattr(module, name))]
    for owner, attr, function in saved[:-1]:
        setattr(owner, attr, counter.wrap(function, f"{getattr(owner, '__name__', owner)}.{attr}"))
    target = getattr(module, name)
    calls = []

    def watched(*args, **kwargs):
        calls.append(1)
        counter.active = len(calls) > after
        try:
            return target(*args, **kwargs)
        finally:
            counter.active = False

    setattr(module, name, watched)
    try:
        yield counter
    finally:
        for owner, attr, function in saved:
            setattr(owner, attr, function)
