"""Model builders: a cell name and plain arguments in, a keras.Model out."""

from zoo.models.classifier import build_classifier

__all__ = ["build_classifier"]
