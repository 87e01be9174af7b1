"""Keeping TensorFlow's and absl's own log lines off the `zoo` command's terminal (issue 23).

TensorFlow's C++ code logs through absl, which writes lines such as ::

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 00:00:1796626123.725261    9343 port.cc:153] oneDNN custom operations are on. ...
    E0000 00:00:1796626154.747745    9937 cuda_platform.cc:52] failed call to cuInit: ...

straight to file descriptor 2 while TensorFlow loads, whatever ``TF_CPP_MIN_LOG_LEVEL`` says. So the
command runs its stderr through a pipe and drops those lines; everything else (``zoo: error:`` lines,
tracebacks, warnings, download progress) passes unchanged. ``zoo --verbose`` or ``ZOO_VERBOSE=1`` leaves
stderr alone.
"""

import atexit
import os
import re
import sys
import threading

# An absl/glog line below FATAL (fatal ones stay: they explain a crash), absl's note before it has a log
# configuration, and the one line that continues TensorFlow's CPU-instructions notice.
LIBRARY_LOG = re.compile(
    rb"^(?:[IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.-]+:\d+\] "
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags)"
)


def verbose_requested():
    """Whether ``ZOO_VERBOSE`` asks for the library logs (any value but empty or 0)."""
    return os.environ.get("ZOO_VERBOSE", "") not in ("", "0")


def _forward(source, target):
    """Copy ``source`` to ``target`` line by line (``\\r`` ends a line too, for progress bars), dropping
    :data:`LIBRARY_LOG` lines, until ``source`` closes."""
    pending = b""
    while chunk := os.read(source, 1 << 16):
        *lines, pending = re.split(rb"(?<=[\r\n])", pending + chunk)
        _write(target, b"".join(line for line in lines if not LIBRARY_LOG.match(line)))
    if pending and not LIBRARY_LOG.match(pending):
        _write(target, pending)
    os.close(source)


def _write(fd, data):
    try:
        while data:
            data = data[os.write(fd, data):]
    except OSError:  # the terminal is gone: keep draining the pipe, or the process would block writing to it
        pass


def filter_stderr():
    """Drop :data:`LIBRARY_LOG` lines from this process's stderr (file descriptor 2) from now until it exits.

    Call it once, before TensorFlow loads. The lines pass through a thread; at exit the real stderr is put
    back and what is still in the pipe is written out.
    """
    sys.stderr.flush()
    terminal = os.dup(2)
    source, sink = os.pipe()
    os.dup2(sink, 2)
    os.close(sink)
    forwarder = threading.Thread(target=_forward, args=(source, terminal), name="zoo-stderr", daemon=True)
    forwarder.start()

    def restore():
        sys.stderr.flush()
        os.dup2(terminal, 2)  # closes the pipe's last writer: the forwarder drains it and stops
        forwarder.join(timeout=2)

    atexit.register(restore)
