"""The Large Movie Review Dataset (Maas et al. 2011, ACL): 25,000 train and 25,000 test reviews.

Labels come from the folder (``pos`` = 1, ``neg`` = 0) and star ratings from the file names
``<id>_<rating>.txt`` (1-4 negative, 7-10 positive). The 50,000 unlabelled reviews of
``train/unsup`` are returned only on request (``unsup=True``) and never carry labels.

Sources, in order: ``data_dir`` / ``$ZOO_DATA_DIR`` holding an extracted ``aclImdb/`` folder, an
``aclImdb*.tar.gz`` archive, or either of those under ``imdb/``; else the official archive, downloaded
with ``keras.utils.get_file`` and its sha256 checked. The archive is read as a stream; nothing is
extracted to disk.
"""

import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zoo.data import resolve_data_dir

URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
_MEMBER = re.compile(r"(?:^|/)aclImdb/(train|test)/(pos|neg|unsup)/(\d+)_(\d+)\.txt$")


@dataclass(frozen=True)
class Reviews:
    """One split: raw texts, binary labels (1 = positive) and star ratings (1-10; 0 if unlabelled)."""

    texts: list
    labels: np.ndarray
    ratings: np.ndarray

    def __len__(self):
        return len(self.texts)

    def take(self, index):
        index = np.asarray(index)
        return Reviews([self.texts[i] for i in index], self.labels[index], self.ratings[index])


def _records_from_dir(root):
    for path in sorted(root.glob("*/*/*.txt")):
        match = _MEMBER.search(path.as_posix())
        if match:
            yield match.groups(), path.read_bytes()


def _records_from_archive(path):
    try:
        with tarfile.open(path, "r:*") as archive:
            for member in archive:
                match = _MEMBER.search(member.name)
                if match and member.isfile():
                    yield match.groups(), archive.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError) as err:
        raise ValueError(f"IMDB archive {path} is corrupt or unreadable ({err}); expected the aclImdb .tar.gz.") from None


def find_source(data_dir=None):
    """The local aclImdb folder or archive to read, or None if there is no local copy to look in."""
    root = resolve_data_dir(data_dir)
    if root is None:
        return None
    if root.is_file():
        return root
    for base in (root, root / "imdb"):
        if (base / "aclImdb" / "train").is_dir():
            return base / "aclImdb"
        if base.name == "aclImdb" and (base / "train").is_dir():
            return base
        archives = sorted(base.glob("aclImdb*.tar.gz")) if base.is_dir() else []
        if archives:
            return archives[0]
    raise FileNotFoundError(
        f"No IMDB data under {root}: looked for {root}/aclImdb/, {root}/aclImdb*.tar.gz and the same under "
        f"{root}/imdb/. Point --data-dir / ZOO_DATA_DIR at the extracted aclImdb folder or the .tar.gz archive."
    )


def _download():
    import keras

    return Path(keras.utils.get_file("aclImdb_v1.tar.gz", URL, file_hash=SHA256, hash_algorithm="sha256"))


def source(data_dir=None):
    """The local folder or archive :func:`load` reads, downloading the official archive if there is none."""
    return find_source(data_dir) or _download()


def load(data_dir=None, validation_split=0.1, seed=0, unsup=False):
    """Load IMDB as ``{"train", "validation", "test"}`` (+ ``"unsup"``) :class:`Reviews`.

    ``validation_split`` of the 25,000 training reviews, chosen with ``seed``, become the
    validation split; the test split is never touched for model selection.
    """
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be in [0, 1); got {validation_split!r}.")
    path = source(data_dir)
    records = _records_from_dir(path) if path.is_dir() else _records_from_archive(path)
    by_split = {"train": [], "test": [], "unsup": []}
    for (split, folder, index, rating), raw in records:
        key = "unsup" if folder == "unsup" else split
        if key == "unsup" and not unsup:
            continue
        label = {"pos": 1, "neg": 0, "unsup": -1}[folder]
        by_split[key].append((split, folder, int(index), raw.decode("utf-8", errors="replace"), label, int(rating)))
    if not by_split["train"] or not by_split["test"]:
        raise ValueError(
            f"{path} holds no labelled reviews (found {len(by_split['train'])} train, {len(by_split['test'])} test); "
            "expected aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt."
        )
    splits = {}
    for key, rows in by_split.items():
        rows.sort(key=lambda r: (r[1], r[2]))  # a fixed order, whatever the archive's
        splits[key] = Reviews(
            [r[3] for r in rows], np.array([r[4] for r in rows], np.int32), np.array([r[5] for r in rows], np.int32)
        )
    order = np.random.default_rng(seed).permutation(len(splits["train"]))
    n_val = int(round(validation_split * len(order)))
    result = {
        "train": splits["train"].take(np.sort(order[n_val:])),
        "validation": splits["train"].take(np.sort(order[:n_val])),
        "test": splits["test"],
    }
    if unsup:
        result["unsup"] = splits["unsup"]
    return result
