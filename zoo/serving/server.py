"""``zoo serve``: bind, load, warm up, and serve on uvicorn until SIGTERM or Ctrl-C.

Startup failures (a port in use, a folder that is no SavedModel) raise ValueError, which the ``zoo``
command prints as one ``zoo: error:`` line (exit 2). A stop signal stops accepting connections, lets the
requests in flight finish (for at most the per-request timeout), and returns normally: exit 0.
"""

import contextlib
import socket
import sys

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


def _dummy(spec, rows):
    shape = [rows if d is None else d for d in spec.shape.as_list()]
    return np.full(shape, b"", dtype=object) if spec.dtype.name == "string" else np.zeros(shape, spec.dtype.as_numpy_dtype)


def warm_up(models):
    """Call every signature once on placeholder inputs (twice for batched ones: 1 and 2 rows), so that the
    first users do not wait for tracing and XLA compilation (1-2 s for imdb_sentiment). A model that refuses
    placeholders is simply not warmed."""
    import tensorflow as tf

    for model in models.values():
        for version in model.versions.values():
            for sig in version.signatures.values():
                for rows in (1, 2) if sig.batchable else (1,):
                    with contextlib.suppress(tf.errors.OpError, ValueError, TypeError):
                        sig.function(**{k: tf.constant(_dummy(s, rows)) for k, s in sig.inputs.items()})


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
    warm_up(models)
    app = create_app(models, limits)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                            timeout_graceful_shutdown=limits.request_timeout_s + 5)
    host, port = sock.getsockname()[:2]
    where = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    names = ", ".join(f"{m.name} (version {m.latest.number})" for m in models.values())
    print(f"zoo: serving {names} at {where}/ (TF Serving REST API under {where}/v1/models/; "
          "Ctrl-C or SIGTERM stops)", flush=True)
    _Server(config).run(sockets=[sock])
    print("zoo: stopped.", file=sys.stderr, flush=True)
