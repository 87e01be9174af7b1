"""Dataset loaders and tf.data pipelines."""

import os
from dataclasses import dataclass
from pathlib import Path


def resolve_data_dir(data_dir=None):
    """`data_dir`, else $ZOO_DATA_DIR, else None (meaning: download from the official source)."""
    value = data_dir if data_dir is not None else os.environ.get("ZOO_DATA_DIR")
    return Path(value).expanduser() if value else None


DOWNLOAD_TIMEOUT = 15  # seconds a server may stay silent (connecting, or mid-file) before a download gives up


def download(url, sha256, extract=False, folder="datasets"):
    """The official file at ``url``, downloaded once into Keras' cache (``~/.keras/<folder>``) and checked
    against ``sha256``; with ``extract``, the folder it was extracted to.

    Offline, or when the server stays silent for :data:`DOWNLOAD_TIMEOUT` seconds: ValueError, one line
    saying so and how to use a local copy instead (no retries: a user without network should know at once).
    """
    import socket

    import keras

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT)
    try:
        return Path(keras.utils.get_file(url.rsplit("/", 1)[1], url, file_hash=sha256, hash_algorithm="sha256",
                                         extract=extract, cache_subdir=folder))
    except Exception as err:  # Keras turns URL errors into a bare Exception("URL fetch failure on ...")
        if not (isinstance(err, OSError) or str(err).startswith("URL fetch failure")):
            raise
        reason = str(err).rpartition(" -- ")[2] or type(err).__name__
        raise ValueError(f"could not download {url} ({reason}); without network, download it elsewhere and pass "
                         "--data-dir PATH (or set ZOO_DATA_DIR) to it or its folder.") from None
    finally:
        socket.setdefaulttimeout(previous)


def sha256(path, chunk=1 << 20):
    """The sha256 hex digest of a file (read in 1 MiB chunks)."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def describe_source(path):
    """``{"path", "sha256"}`` of a data file (sha256 ``None`` for a folder), for configs and model cards."""
    path = Path(path)
    return {"path": str(path), "sha256": sha256(path) if path.is_file() else None}


@dataclass(frozen=True)
class Pairs:
    """One split of a sequence-to-sequence dataset: parallel lists of source and target texts."""

    source: list
    target: list

    def __len__(self):
        return len(self.source)

    def take(self, index):
        """The pairs at positions ``index``, in that order."""
        return Pairs([self.source[i] for i in index], [self.target[i] for i in index])

    def references(self):
        """``(sources, references)``: each distinct source once, with all its targets (for multi-reference BLEU)."""
        grouped = {}
        for src, tgt in zip(self.source, self.target):
            grouped.setdefault(src, []).append(tgt)
        return list(grouped), list(grouped.values())


@dataclass(frozen=True)
class Style:
    """How a sequence-to-sequence dataset's texts become tokens and back, how its outputs are scored and
    what its export serves."""

    tokens: str  # "word" or "char"
    detokenize: object = None  # joined target tokens -> text (a TensorFlow function), or None
    signatures: tuple = ("serving_default",)
    output: str = "output"
    accept: object = None  # (batch,) texts -> (batch,) bool: the inputs the model is for (the others get ""), or None

    @property
    def specs(self):
        """``TextVectorization`` options of the source and target sides."""
        if self.tokens == "char":
            kind = dict(standardize=None, split="character")
            return {"source": kind, "target": kind}
        from zoo.data import translation

        return {"source": dict(standardize=translation.standardize_source, split="whitespace"),
                "target": dict(standardize=translation.standardize_target, split="whitespace")}

    @property
    def separator(self):
        return "" if self.tokens == "char" else " "
