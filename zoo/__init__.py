"""zoo: a Keras 3 model zoo of recurrent sequence architectures."""

import importlib
import os

import wrapt

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
__all__ = ["cells", "layers", "__version__"]

# `zoo.layers` and the cells' modules import Keras, and with it TensorFlow (seconds): they load on first use,
# so that `import zoo` and the `zoo` command's help and argument errors stay quick (issue 23). Their Keras
# registrations (for loading `.keras` files) happen whenever Keras is loaded, before or after `import zoo`.
_KERAS_MODULES = ("cells", "layers")


def __getattr__(name):
    if name in _KERAS_MODULES:
        return importlib.import_module(f"zoo.{name}")
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")


@wrapt.when_imported("keras")
def _register_with_keras(keras):
    base = importlib.import_module("zoo.cells.base")
    if not hasattr(base, "ZooCell"):  # Keras is loading for zoo.cells.base itself, which every cell and layer
        return  # needs: they register when first used
    importlib.import_module("zoo.cells").load()
    importlib.import_module("zoo.layers")  # imports Keras before any module of its own
