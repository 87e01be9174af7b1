"""zoo: a Keras 3 model zoo of recurrent sequence architectures."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from zoo import cells, layers  # noqa: E402

__version__ = "0.1.0"
__all__ = ["cells", "layers", "__version__"]
