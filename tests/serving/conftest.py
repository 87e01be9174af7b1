"""A `zoo serve` app on a real uvicorn server in a thread (loopback, a free port), and tiny SavedModels."""

import contextlib
import threading
import time
from pathlib import Path

import httpx
import pytest

tf = pytest.importorskip("tensorflow")
uvicorn = pytest.importorskip("uvicorn")

from zoo.serving import repository  # noqa: E402
from zoo.serving.app import create_app  # noqa: E402
from zoo.serving.limits import Limits  # noqa: E402
from zoo.serving.server import bind, warm_up  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "saved_models"


@contextlib.contextmanager
def running(models, limits=Limits()):
    """The base URL of ``models`` ({name: repository.Model}) served on 127.0.0.1, until the block ends."""
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(create_app(models, limits), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", server.config.app.state.models
    finally:
        server.should_exit = True
        thread.join(30)


@pytest.fixture(scope="session")
def shipped():
    """The shipped sentiment (fast), character and translator models, loaded and warmed once."""
    models = repository.load_all([str(SHIPPED / n) for n in ("imdb_sentiment_fast", "shakespeare_char",
                                                              "spa_eng_translator")])
    warm_up(models, max_words=8)  # the short texts the tests send
    return models


@pytest.fixture(scope="module")
def server(shipped):
    """(base URL, the app's Models) for the shipped models with the default limits."""
    with running(shipped) as served:
        yield served


@pytest.fixture
def client():
    with httpx.Client(timeout=60) as c:
        yield c


class Tiny(tf.Module):
    """y = scale * x over rows of 2 floats (batched), and a scalar-input signature."""

    def __init__(self, scale):
        super().__init__()
        self.scale = tf.Variable(float(scale))

    @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x")])
    def rows(self, x):
        return {"y": self.scale * x, "total": tf.reduce_sum(x, axis=1)}

    @tf.function(input_signature=[tf.TensorSpec([], tf.int32, name="n"), tf.TensorSpec([], tf.string, name="word")])
    def repeat(self, n, word):
        return {"text": tf.strings.reduce_join(tf.fill([n], word), separator=" ")}


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory):
    """A TF Serving model base folder: versions 1 (scale 1) and 2 (scale 2) of :class:`Tiny`."""
    base = tmp_path_factory.mktemp("tiny")
    for version in (1, 2):
        module = Tiny(version)
        tf.saved_model.save(module, str(base / str(version)),
                            signatures={"serving_default": module.rows, "repeat": module.repeat})
    return base
