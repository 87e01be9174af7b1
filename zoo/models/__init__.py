"""Model builders: a cell name and plain arguments in, a keras.Model out."""

from zoo.models.classifier import build_classifier

# How the generator's tokens reach its first cell (zoo.models.generator). Here, beside no Keras import, so
# that `zoo train generator` checks --input-mode without loading TensorFlow.
INPUT_MODES = ("embedding", "onehot")

__all__ = ["build_classifier"]
