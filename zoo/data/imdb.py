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
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zoo.data import download, resolve_data_dir

URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
_MEMBER = re.compile(r"(?:^|/)aclImdb/(train|test)/(pos|neg|unsup)/(\d+)_(\d+)\.txt$")
_URLS = re.compile(r"(?:^|/)aclImdb/(train|test)/urls_(pos|neg|unsup)\.txt$")  # line i: the movie of review i


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
    for path in sorted(root.glob("*/*/*.txt")) + sorted(root.glob("*/urls_*.txt")):
        match = _MEMBER.search(path.as_posix()) or _URLS.search(path.as_posix())
        if match:
            yield match.groups(), path.read_bytes()


def _records_from_archive(path):
    try:
        with tarfile.open(path, "r:*") as archive:
            for member in archive:
                match = _MEMBER.search(member.name) or _URLS.search(member.name)
                if match and member.isfile():
                    yield match.groups(), archive.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as err:
        # The first line only: tarfile's ReadError goes on with one line per compression it tried.
        detail = str(err).splitlines()[0].rstrip(":") if str(err).strip() else type(err).__name__
        raise ValueError(
            f"IMDB archive {path} is corrupt or unreadable ({detail}); expected the aclImdb .tar.gz."
        ) from None


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


def source(data_dir=None):
    """The local folder or archive :func:`load` reads, downloading the official archive if there is none."""
    return find_source(data_dir) or download(URL, SHA256)


def _validation_index(rows, movies, fraction, seed, by_movie):
    """Sorted indices of ``rows`` held out for validation: whole movies when their URLs are known."""
    rng = np.random.default_rng(seed)
    n_val = int(round(fraction * len(rows)))
    urls = [movies.get((r[0], r[1]), [])[r[2]] if r[2] < len(movies.get((r[0], r[1]), [])) else None for r in rows]
    if not by_movie or n_val == 0 or any(u is None for u in urls):
        return np.sort(rng.permutation(len(rows))[:n_val])
    groups = {}
    for i, url in enumerate(urls):
        groups.setdefault(url, []).append(i)
    chosen = []
    for url in rng.permutation(sorted(groups)):  # whole movies until the fraction is reached
        if len(chosen) >= n_val:
            break
        chosen += groups[url]
    if len(chosen) == len(rows):
        raise ValueError(
            f"holding out whole movies for validation_split={fraction} leaves no training reviews "
            f"({len(groups)} movie(s)); use a smaller split or by_movie=False."
        )
    return np.sort(np.array(chosen, np.int64))


def load(data_dir=None, validation_split=0.1, seed=0, unsup=False, by_movie=True):
    """Load IMDB as ``{"train", "validation", "test"}`` (+ ``"unsup"``) :class:`Reviews`.

    About ``validation_split`` of the 25,000 training reviews, chosen with ``seed``, become the
    validation split; the test split is never touched for model selection. With ``by_movie``
    (default) whole movies are held out, using the ``urls_*.txt`` files that map each review to
    its movie: the official test set's movies are disjoint from the training set's, and a
    validation set sharing movies with training (their names, actors, plots) overestimates test
    accuracy. Without the URL files the split is by review.
    """
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be in [0, 1); got {validation_split!r}.")
    path = source(data_dir)
    records = _records_from_dir(path) if path.is_dir() else _records_from_archive(path)
    by_split = {"train": [], "test": [], "unsup": []}
    movies = {}  # (split, folder) -> the movie URL of each review id
    for groups, raw in records:
        if len(groups) == 2:
            movies[groups] = raw.decode("utf-8", errors="replace").split()
            continue
        split, folder, index, rating = groups
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
    train_rows = sorted(by_split["train"], key=lambda r: (r[1], r[2]))
    val = _validation_index(train_rows, movies, validation_split, seed, by_movie)
    train = np.setdiff1d(np.arange(len(train_rows)), val)
    result = {
        "train": splits["train"].take(train),
        "validation": splits["train"].take(val),
        "test": splits["test"],
    }
    if unsup:
        result["unsup"] = splits["unsup"]
    return result
