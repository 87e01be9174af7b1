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

from zoo.data import describe_source, download, registry, resolve_data_dir

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


# `zoo train classifier --data imdb` (zoo.data.registry): the splits, and the model card's sections.


def _load(config, seed):
    """IMDB's splits as ``(texts, targets)`` (labels for the binary head, else the star ratings), the label
    names, the head, the record and the unlabelled texts (for word2vec pretraining, only when asked)."""
    path = source(config.data_dir or None)
    data = load(path, config.validation_split, seed=seed, unsup=config.pretrain != "none",
                by_movie=config.validation_by_movie)
    unlabelled = data.pop("unsup", None)
    head = "binary" if config.head == "auto" else config.head
    splits = {split: (reviews.texts, reviews.labels if head == "binary" else reviews.ratings)
              for split, reviews in data.items()}
    info = {"dataset": DATASET.name, **describe_source(path)}
    return splits, ["negative", "positive"], head, info, unlabelled.texts if unlabelled else []


def versus(value, reference):
    return f"{abs(value - reference) * 100:.2f} points {'above' if value >= reference else 'below'}"


# The IMDB model cards' shared sections (single model and ensemble, zoo/tasks/sentiment_ensemble.py).
def card_use(path):
    """The "Use" section of a sentiment model card, for the model exported to ``path``."""
    path = Path(path).as_posix()
    return f"""## Use
```python
import tensorflow as tf  # no zoo needed
model = tf.saved_model.load("{path}")
out = model.signatures["serving_default"](text=tf.constant(["A moving, beautifully acted film."]))
out["label"], out["probability"]  # string [batch]: b"positive" / b"negative"; float32 [batch]
```
Or `zoo predict {path} "A moving, beautifully acted film."`, or
`saved_model_cli run --dir {path} --tag_set serve --signature_def serving_default --input_exprs 'text=["great film"]'`.

Signature `serving_default`: input `text` (tf.string, [None]); outputs `label` (tf.string, [None], "positive"
if the probability of positive is >= 0.5), `probability` (float32, [None], probability of positive) and
`probabilities` (float32, [None, 2], columns negative, positive)."""


def card_limits(max_length, metrics):
    """The "Intended use and limits" section of a sentiment model card."""
    return f"""## Intended use and limits
- For English movie and TV reviews of a paragraph or more, like IMDB's: research, demos, a baseline
  to compare other models with. Not for decisions about people, and not a general sentiment model:
  tweets, product reviews, sarcasm, other languages and other domains are outside its training data.
- Only the first {max_length} tokens are read; a verdict at the end of a longer review is unseen.
- IMDB reviews are polarized (<= 4 or >= 7 stars); mixed reviews get less reliable probabilities, and
  the probability is not calibrated beyond what training on this data gives.
- Words outside the {metrics["vocabulary"]}-word vocabulary are one unknown token. Empty or
  whitespace-only text returns a fixed probability ({metrics["empty_text_probability"]:.3f}), not a judgement.
"""


def _card(config, train_config, metrics, export_dir):
    """The sentiment model's card sections; for the star-rating heads, the data section only."""
    data = f"""## Data
Large Movie Review Dataset v1.0 (Maas et al. 2011), `{Path(metrics["data"]["path"]).name}`"""
    if metrics.get("head", "binary") != "binary":  # recorded since zoo.tasks; the exports before are binary
        return {"data": f"""{data}, sha256
`{metrics["data"]["sha256"]}`: the 1-10 star ratings of its reviews; the official test reviews only for the test row.
"""}
    direction = "bidirectional " if config.bidirectional else ""
    held_out = (
        f"(whole movies, about {config.validation_split:.0%}, seed {train_config.seed}) were held out for validation, "
        "so that, like the official test set, validation shares no movie with training"
        if config.validation_by_movie
        else f"(single reviews, {config.validation_split:.0%}, seed {train_config.seed}) were held out for validation"
    )
    unlabelled = (
        "The 50,000 unlabelled reviews were used, without labels, with the training reviews to pretrain the word "
        f"embedding (word2vec CBOW, {config.pretrain_epochs} epochs)."
        if config.pretrain == "word2vec"
        else "The unlabelled reviews were not used."
    )
    return {
        "title": f"IMDB sentiment: {direction}{config.cell} ({config.num_layers} layer{'s' if config.num_layers > 1 else ''})",
        "intro": "A TensorFlow SavedModel that reads a raw English movie review and returns the probability that it is\n"
                 "positive. Preprocessing (standardization, vocabulary, truncation) is inside the graph: feed text.",
        "use": card_use(export_dir),
        "results": f"""| split | reviews | accuracy | loss |
|---|---|---|---|
| test (the full official test set) | {metrics["test_examples"]} | **{metrics["test"]["accuracy"]:.4f}** | {metrics["test"]["loss"]:.4f} |
| validation (best epoch, {metrics["best_epoch"]} of {metrics["epochs_run"]}) | {metrics["validation_examples"]} | {metrics["validation"]["accuracy"]:.4f} | {metrics["validation"]["loss"]:.4f} |

Published references on the same test set: Maas et al. (2011) 88.89%; the keras.io bidirectional LSTM
example 84.3% (2 epochs). This model is {versus(metrics["test"]["accuracy"], 0.8889)} Maas et al. and
{versus(metrics["test"]["accuracy"], 0.895)} the zoo's target of 89.5%. The recipe and the epoch
were chosen on the validation split; the test set played no part in either.""",
        "data": f"""{data},
sha256 `{metrics["data"]["sha256"]}`. Of the 25,000 training reviews, {metrics["validation_examples"]}
{held_out}; the vocabulary was adapted on the rest only.
The 25,000 test reviews were used only for the final evaluation. {unlabelled}
""",
        "data_note": "",
        "reproduce": " Runs on CPU are repeatable to within float round-off; a different machine or\nthread count can "
                     "move the last digit of the accuracy.",
        "limits": card_limits(config.max_length, metrics),
    }


DATASET = registry.NamedDataset(
    name="imdb", task="classifier", load=_load, model_name="imdb_{cell}",
    metrics_task={"binary": "imdb_sentiment", "rating": "imdb_rating"}, card=_card,
)
