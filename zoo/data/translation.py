"""English-Spanish sentence pairs from Tatoeba (the ``spa-eng.zip`` of the TensorFlow and Keras NMT examples).

Each line of ``spa.txt`` is ``English<TAB>Spanish`` (newer manythings.org releases add a third,
attribution column, which is ignored). One English sentence often has several translations; the
train/validation/test split is drawn over the *English sentences* with a fixed seed, so every
translation of a sentence lands in the same split and no test sentence was seen in training.

Sources, in order: ``data_dir`` / ``$ZOO_DATA_DIR`` holding ``spa.txt`` (directly, or under
``spa-eng/``), or the file itself; else the official zip through ``keras.utils.get_file`` (sha256
checked).

Tokens: :func:`standardize_source` (English: lower-cased) and :func:`standardize_target` (Spanish:
case kept, so translations come out properly cased) both split punctuation into tokens of their own
("¿Dónde está?" -> "¿ Dónde está ?"); :func:`detokenize` undoes that for display and for sacreBLEU.
Texts are NFKC-normalised when read (the exported graph cannot, as TensorFlow has no normalisation
op outside tensorflow-text; the data is NFC already, so this only matters for unusual inputs).
"""

import unicodedata
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from zoo.data import Pairs, Style, describe_source, download, registry, resolve_data_dir

URL = "http://storage.googleapis.com/download.tensorflow.org/data/spa-eng.zip"
SHA256 = "0c4fd7825d3d872488d38c157f784e035edab4f2ff0df25a2a208790ecb5b58f"

# Every character that is not a letter, digit, apostrophe or whitespace is a token of its own.
_PUNCTUATION = r"([^\p{L}\p{N}'\s])"


def _split_punctuation(text):
    text = tf.strings.unicode_transcode(text, "UTF-8", "UTF-8", errors="replace")
    text = tf.strings.regex_replace(text, "[\u2018\u2019]", "'")
    text = tf.strings.regex_replace(text, _PUNCTUATION, r" \1 ")
    return tf.strings.strip(tf.strings.regex_replace(text, r"\s+", " "))


@keras.saving.register_keras_serializable(package="zoo")
def standardize_source(text):
    """English text -> lower-cased tokens separated by spaces, punctuation split off."""
    return _split_punctuation(tf.strings.lower(text, encoding="utf-8"))


@keras.saving.register_keras_serializable(package="zoo")
def standardize_target(text):
    """Spanish text -> tokens separated by spaces, punctuation split off, case kept."""
    return _split_punctuation(text)


def detokenize(tokens):
    """Tokens joined by spaces (tf.string tensor) -> text: no space before ``.,!?;:)»`` or after ``¿¡(«``."""
    text = tf.strings.regex_replace(tokens, r"\s+([.,!?;:)\]}»%])", r"\1")
    text = tf.strings.regex_replace(text, r"([¿¡(\[{«$])\s+", r"\1")
    return tf.strings.strip(text)


def detokenize_plain(tokens):
    """Tokens joined by spaces -> text for any language: no space before ``.,!?;:)]}%`` or after ``([{``
    (:func:`detokenize` also joins Spanish ``¿¡`` and ``«»``, which other languages space differently)."""
    text = tf.strings.regex_replace(tokens, r"\s+([.,!?;:)\]}%])", r"\1")
    text = tf.strings.regex_replace(text, r"([(\[{])\s+", r"\1")
    return tf.strings.strip(text)


def find_source(data_dir=None):
    """The local ``spa.txt`` to read, or None if there is no local copy to look in."""
    root = resolve_data_dir(data_dir)
    if root is None:
        return None
    candidates = [root] if root.is_file() else [root / "spa.txt", root / "spa-eng" / "spa.txt"]
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"No English-Spanish pairs under {root}: looked for {', '.join(map(str, candidates))}. "
        "Point --data-dir / ZOO_DATA_DIR at spa.txt or the folder that holds it."
    )


def _download():
    folder = download(URL, SHA256, extract=True)
    found = sorted(folder.parent.rglob("spa.txt"))
    if not found:
        raise FileNotFoundError(f"spa.txt not found after extracting {URL} into {folder}.")
    return found[0]


def source(data_dir=None):
    """The local ``spa.txt`` :func:`load` reads, downloading the official zip if there is none."""
    return find_source(data_dir) or _download()


def read_pairs(path):
    """``(english, spanish)`` lists from a ``spa.txt`` file; clear errors for anything else."""
    english, spanish = [], []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not UTF-8 text ({err}); expected spa.txt lines 'English<TAB>Spanish'.") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2 or not fields[0].strip() or not fields[1].strip():
            raise ValueError(f"{path}:{number}: expected 'English<TAB>Spanish', got {line[:80]!r}.")
        english.append(unicodedata.normalize("NFKC", fields[0].strip()))
        spanish.append(unicodedata.normalize("NFKC", fields[1].strip()))
    if not english:
        raise ValueError(f"{path} holds no sentence pairs; expected lines 'English<TAB>Spanish'.")
    return english, spanish


def split_by_source(english, spanish, validation=0.05, test=0.05, seed=0):
    """``{"train", "validation", "test"}`` -> :class:`Pairs`, drawn over distinct English sentences.

    The distinct sentences are shuffled with ``seed``; the first ``test`` fraction of them (with all
    their translations) are the test split, the next ``validation`` fraction the validation split.
    """
    for name, value in (("validation", validation), ("test", test)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"`{name}` must be a fraction in [0, 1); got {value!r}.")
    if validation + test >= 1.0:
        raise ValueError(f"validation + test must leave some training data; got {validation} + {test}.")
    sentences = sorted(set(english))
    order = np.random.default_rng(seed).permutation(len(sentences))
    n_test, n_val = int(round(test * len(sentences))), int(round(validation * len(sentences)))
    split_of = {}
    for rank, index in enumerate(order):
        split_of[sentences[index]] = "test" if rank < n_test else "validation" if rank < n_test + n_val else "train"
    out = {name: ([], []) for name in ("train", "validation", "test")}
    for en, es in zip(english, spanish):
        src, tgt = out[split_of[en]]
        src.append(en)
        tgt.append(es)
    return {name: Pairs(src, tgt) for name, (src, tgt) in out.items()}


def load(data_dir=None, validation=0.05, test=0.05, seed=0):
    """Read the pairs (see :func:`source`) and split them with :func:`split_by_source`."""
    return split_by_source(*read_pairs(source(data_dir)), validation=validation, test=test, seed=seed)


# `zoo train seq2seq --data spa-eng` (zoo.data.registry): the splits, and the model card's sections.


def _load(config, seed):
    path = source(config.data_dir or None)
    return load(path, seed=seed), {"dataset": DATASET.name, **describe_source(path)}


def _card(config, train_config, metrics, export_dir):
    from zoo.export import SOURCE_TOKENS

    return {
        "title": "English -> Spanish translator",
        "example": "Where is the train station?",
        "data": f"""Tatoeba English-Spanish pairs (`spa.txt` of the TensorFlow NMT example's `spa-eng.zip`, from manythings.org;
CC-BY 2.0 FR, "Attribution: www.manythings.org/anki and tatoeba.org"), sha256 `{metrics["data"]["sha256"]}`.
Split over distinct English sentences with seed {metrics["seed"]} (90/5/5): {metrics["pairs"]["train"]:,} training,
{metrics["pairs"]["validation"]:,} validation and {metrics["pairs"]["test"]:,} test pairs. Vocabularies from the training
split only: {metrics["vocabulary"]["source"]:,} English (lower-cased) and {metrics["vocabulary"]["target"]:,} Spanish (cased) tokens,
punctuation split into tokens; unknown words map to one id.""",
        "limits": f"A long input is cut: the model reads its first {SOURCE_TOKENS} tokens (words and punctuation "
                  "marks) and ignores the rest, so only that part is translated; `zoo translate` says so on stderr "
                  f"when it happens. Training kept pairs of at most {config.max_length} tokens per side.",
    }


DATASET = registry.NamedDataset(
    name="spa-eng", task="seq2seq", load=_load, model_name="translate_seq2seq", metrics_task="translate",
    card=_card, example="Where is the train station?",
    style=Style("word", detokenize, ("translate", "serving_default"), "translation"),
)
