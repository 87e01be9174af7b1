"""Text -> token ids for a zoo ONNX export, with the Python standard library alone (no TensorFlow, no zoo).

A copy of this file goes beside every ``model.onnx`` as ``tokenizer.py``, with the model's
``vocabulary.json``. It reproduces the zoo SavedModel's preprocessing exactly:

- words (classifiers): ``zoo.data.text.standardize_text`` (invalid UTF-8 becomes U+FFFD, ``<br />``
  a space, lower-case, every character but a letter, digit, apostrophe or space a space), split on
  spaces, then ``TextVectorization``'s ids: 0 padding, 1 unknown word, ``tokens[i]`` is id i; the
  first ``max_length`` tokens are kept.
- characters (generators): invalid UTF-8 becomes U+FFFD, character ``characters[i]`` is id i + 1,
  unknown characters are dropped.

Usage::

    from tokenizer import Tokenizer
    tokenizer = Tokenizer.load("vocabulary.json")
    ids, lengths = tokenizer.batch(["A fine film.", "Dull."])  # int64 (2, time), int64 (2,)
"""

import json
import re

_BREAK = re.compile(r"<br[\t\n\f\r ]*/?>")  # RE2's \s: ASCII space, \t, \n, \f, \r (not \v)
# Every character but a letter (\p{L}), digit (\p{N}), apostrophe or space: Python's Unicode \w is
# exactly \p{L} and \p{N} plus "_" (str.isalnum; tests check it code point by code point).
_OTHER = re.compile(r"[^\w' ]|_")


def to_text(text):
    """``str`` as is; ``bytes`` decoded as UTF-8 with each invalid sequence replaced by U+FFFD."""
    return text.decode("utf-8", errors="replace") if isinstance(text, (bytes, bytearray)) else text


def standardize(text):
    """Raw text (str or bytes) -> the string the word vocabulary sees (``zoo.data.text.standardize_text``)."""
    text = _BREAK.sub(" ", to_text(text)).lower()
    return _OTHER.sub(" ", text)


class Tokenizer:
    """Token ids of texts for one export; build it with :meth:`load` from its ``vocabulary.json``."""

    def __init__(self, vocabulary):
        self.kind = vocabulary["kind"]
        if self.kind == "words":
            self.tokens = list(vocabulary["tokens"])
            self.max_length = int(vocabulary["max_length"])
            self.index = {token: i for i, token in enumerate(self.tokens) if i >= 2}
        elif self.kind == "characters":
            self.characters = list(vocabulary["characters"])
            self.index = {c: i + 1 for i, c in enumerate(self.characters)}
        else:
            raise ValueError(f"vocabulary kind must be 'words' or 'characters'; got {self.kind!r}.")

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            return cls(json.load(f))

    def encode(self, text):
        """One text (str or bytes) -> its list of ids (words: at most ``max_length``)."""
        if self.kind == "characters":
            return [self.index[c] for c in to_text(text) if c in self.index]
        return [self.index.get(word, 1) for word in standardize(text).split(" ") if word][: self.max_length]

    def decode(self, ids):
        """Ids -> text: characters joined, or words joined by spaces (padding left out)."""
        if self.kind == "characters":
            return "".join(self.characters[i - 1] for i in ids if i > 0)
        return " ".join(self.tokens[i] for i in ids if i > 0)

    def batch(self, texts):
        """Texts -> ``(ids, lengths)``: int64 (batch, time) 0-padded on the right (time >= 1) and
        int64 (batch,), the inputs ``token_ids`` and ``lengths`` of a classifier export."""
        return self.pad([self.encode(t) for t in texts])

    @staticmethod
    def pad(encoded):
        """Lists of ids -> ``(ids, lengths)`` as :meth:`batch` returns them."""
        import numpy as np

        lengths = np.array([len(e) for e in encoded], np.int64)
        ids = np.zeros((len(encoded), max([1, *lengths])), np.int64)
        for row, e in enumerate(encoded):
            ids[row, : len(e)] = e
        return ids, lengths
