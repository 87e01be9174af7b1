"""zoo: a Keras 3 model zoo of recurrent sequence architectures."""

import importlib
import os

import wrapt

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
__all__ = ["cells", "layers", "__version__"]

# `zoo.cells` and `zoo.layers` import Keras, and with it TensorFlow (seconds): they load on first use, so
# that `import zoo` and the `zoo` command's help and argument errors stay quick (issue 23). Their Keras
# registrations (for loading `.keras` files) happen whenever Keras is loaded, before or after `import zoo`;
# both packages import Keras before any module of theirs, so the hook never meets one half-imported.
_KERAS_MODULES = ("cells", "layers")


def __getattr__(name):
    if name in _KERAS_MODULES:
        return importlib.import_module(f"zoo.{name}")
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")


@wrapt.when_imported("keras")
def _register_with_keras(keras):
    for name in _KERAS_MODULES:
        importlib.import_module(f"zoo.{name}")
