"""``zoo serve``: bind, load, serve on uvicorn (warming the models up meanwhile) until SIGTERM or Ctrl-C.

Startup failures (a port in use, a folder that is no SavedModel) raise ValueError, which the ``zoo``
command prints as one ``zoo: error:`` line (exit 2). A stop signal stops accepting connections, lets the
requests in flight finish (for at most the per-request timeout), and returns normally: exit 0.
"""

import contextlib
import socket
import sys
import threading
import time

import numpy as np
import uvicorn

from zoo.serving import repository
from zoo.serving.app import create_app
from zoo.serving.limits import Limits


def bind(host, port):
    """A socket listening on (host, port), or a ValueError saying why not. Bound before the models load, so
    that a port in use is reported at once."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)  # from now on connections wait in the backlog until the server accepts them
    except OSError as err:
        problem = err.strerror or str(err)
        hint = "; another server is using it: stop that one or pick another --port" if err.errno == 98 else ""
        raise ValueError(f"cannot listen on {host}:{port}: {problem}{hint}.") from None
    return sock


def _placeholders(signature, max_words):
    """Inputs to warm ``signature`` up with: zeros and empty strings; and, for text batches (string
    ``[None]`` inputs), texts of 1, 2, 4, ... 1024 words, alone and in pairs. Models that pad texts to a
    few lengths and compile one XLA program per shape (zoo's classifiers: single rows and chunks, 16 to
    801 tokens) meet every shape they will see."""
    specs = signature.inputs
    texts = [name for name, s in specs.items() if s.dtype.name == "string" and s.shape.as_list() == [None]]
    lengths = [2**k for k in range(max_words.bit_length())] if texts and signature.batchable else [0]
    for words in lengths:
        for rows in (1, 2) if signature.batchable else (1,):
            inputs = {}
            for name, spec in specs.items():
                shape = [rows if d is None else d for d in spec.shape.as_list()]
                if spec.dtype.name == "string":
                    inputs[name] = np.full(shape, " ".join(["film"] * words).encode(), dtype=object)
                else:
                    inputs[name] = np.zeros(shape, spec.dtype.as_numpy_dtype)
            yield inputs


def warm_up(models, max_words=1024, stop=None):
    """Call every signature on placeholder inputs (:func:`_placeholders`, texts up to ``max_words`` words),
    so that users do not wait for tracing and XLA compilation (1-2 s per shape for imdb_sentiment). A model
    that refuses placeholders is simply not warmed; a set ``stop`` (threading.Event) ends the warm-up."""
    import tensorflow as tf

    for model in models.values():
        for version in model.versions.values():
            for sig in version.signatures.values():
                for inputs in _placeholders(sig, max_words):
                    if stop is not None and stop.is_set():
                        return
                    with contextlib.suppress(tf.errors.OpError, ValueError, TypeError):
                        sig.function(**{k: tf.constant(v) for k, v in inputs.items()})


class _Server(uvicorn.Server):
    """uvicorn's server, except that a stop signal ends it normally (uvicorn re-raises the signal after its
    graceful shutdown, which would end the process with the signal's status rather than 0)."""

    @contextlib.contextmanager
    def capture_signals(self):
        with super().capture_signals():
            yield
            self._captured_signals.clear()


def serve(specs, host="127.0.0.1", port=8501, limits=Limits()):
    limits.check()
    sock = bind(host, port)
    models = repository.load_all(specs)
    app = create_app(models, limits)
    # Warmed in the background (tens of seconds on 2 busy cores): requests are answered meanwhile, and
    # /healthz says 503 "warming up" until it is done, so that a load balancer waits for it.
    state, stop = app.state.models, threading.Event()
    state.ready = False

    def warm():
        start = time.monotonic()
        warm_up(models, stop=stop)
        state.ready = True
        if not stop.is_set():
            print(f"zoo: warmed up in {time.monotonic() - start:.0f} s; /healthz says ok.", file=sys.stderr, flush=True)

    threading.Thread(target=warm, name="zoo-serve-warm-up", daemon=True).start()
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                            timeout_graceful_shutdown=limits.request_timeout_s + 5)
    host, port = sock.getsockname()[:2]
    where = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    names = ", ".join(f"{m.name} (version {m.latest.number})" for m in models.values())
    print(f"zoo: serving {names} at {where}/ (TF Serving REST API under {where}/v1/models/; "
          "Ctrl-C or SIGTERM stops)", flush=True)
    try:
        _Server(config).run(sockets=[sock])
    finally:
        stop.set()
    print("zoo: stopped.", file=sys.stderr, flush=True)
