"""Tiny Shakespeare (Karpathy's char-rnn corpus, 1,115,394 characters) through tensorflow-datasets.

TFDS's ``tiny_shakespeare`` splits the text 90/5/5 into train, validation and test (each one long
string). Offline, TFDS prepares it from a local ``input.txt``: ``data_dir`` / ``$ZOO_DATA_DIR`` may
be the file itself, its folder, or a folder holding ``tinyshakespeare/input.txt``; it is handed to TFDS
as the manual download folder. Without a local copy the official file is downloaded first.

Characters become ids with :class:`CharVocabulary`: 0 is reserved (padding, and characters outside
the vocabulary), the training split's characters are 1..n in sorted order.
"""

import re

import numpy as np

from zoo.data import describe_source, download, registry, resolve_data_dir, sha256

SPLITS = ("train", "validation", "test")
URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"  # TFDS's source
SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"  # of input.txt, as TFDS checks it


def find_input(data_dir=None):
    """The local ``input.txt`` to read, or None if there is no local copy to look in."""
    root = resolve_data_dir(data_dir)
    if root is None:
        return None
    candidates = [root] if root.is_file() else [root / "input.txt", root / "tinyshakespeare" / "input.txt"]
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"No Tiny Shakespeare under {root}: looked for {', '.join(map(str, candidates))}. Point --data-dir / "
        "ZOO_DATA_DIR at input.txt or the folder that holds it."
    )


def load(data_dir=None, tfds_dir=None):
    """``{"train", "validation", "test"}`` -> text (str), as TFDS's ``tiny_shakespeare`` splits it.

    Args:
        data_dir: where a local ``input.txt`` is (see the module docstring); None: $ZOO_DATA_DIR, else download.
        tfds_dir: TFDS's data folder (default: TFDS's own, ``~/tensorflow_datasets``).
    """
    import tensorflow_datasets as tfds
    from tensorflow_datasets.core.download.download_manager import NonMatchingChecksumError

    local = find_input(data_dir)
    # Checked here too: TFDS checks the file only when it prepares the dataset, so a folder prepared
    # earlier would silently stand in for a wrong input.txt.
    if local is not None and (digest := sha256(local)) != SHA256:
        raise ValueError(
            f"{local} is not the Tiny Shakespeare input.txt: its sha256 is {digest}, expected {SHA256} "
            "(Karpathy's char-rnn file, 1,115,394 characters)."
        )
    builder = tfds.builder("tiny_shakespeare", data_dir=tfds_dir)
    if local is None and not builder.is_prepared():  # fetched here: TFDS would retry for minutes offline
        local = download(URL, SHA256, folder="datasets/tinyshakespeare")
    config = tfds.download.DownloadConfig(manual_dir=str(local.parent)) if local else None
    try:
        builder.download_and_prepare(download_config=config)
    except NonMatchingChecksumError as err:
        raise ValueError(
            f"{local} is not the Tiny Shakespeare input.txt (tensorflow-datasets checks its sha256: "
            f"{str(err).splitlines()[-2].strip() if len(str(err).splitlines()) > 2 else err})."
        ) from None
    data = tfds.as_numpy(builder.as_dataset(split=list(SPLITS), batch_size=-1))
    return {split: part["text"][0].decode("utf-8") for split, part in zip(SPLITS, data)}


def source(data_dir=None):
    """The local ``input.txt`` :func:`load` reads (None when TFDS downloads it)."""
    return find_input(data_dir)


class CharVocabulary:
    """Characters <-> ids. Id 0 is reserved for padding and unknown characters; it is never a target."""

    def __init__(self, chars):
        chars = list(chars)
        if len(set(chars)) != len(chars) or any(len(c) != 1 for c in chars) or not chars:
            raise ValueError(f"chars must be distinct single characters; got {chars[:10]!r}...")
        self.chars = chars
        self._index = {c: i + 1 for i, c in enumerate(chars)}

    @classmethod
    def from_text(cls, text):
        return cls(sorted(set(text)))

    def __len__(self):
        """Number of ids, the reserved 0 included."""
        return len(self.chars) + 1

    def encode(self, text):
        return np.array([self._index.get(c, 0) for c in text], np.int32)

    def decode(self, ids):
        return "".join(self.chars[i - 1] for i in np.asarray(ids).ravel() if i > 0)


def stream_batches(ids, batch_size, seq_len):
    """Inputs and targets for stateful truncated BPTT.

    ``ids`` is cut into ``batch_size`` contiguous streams (row r holds the r-th slice of the text);
    batch k holds columns ``[k*seq_len, (k+1)*seq_len)`` of every stream, so row r of batch k+1
    continues row r of batch k and a stateful model can carry its state across. Targets are the
    inputs shifted by one character. The tail that does not fill a whole batch is dropped.

    Returns:
        ``(inputs, targets)``, each int32 of shape (num_batches, batch_size, seq_len).
    """
    ids = np.asarray(ids, np.int32)
    stream_len = (len(ids) - 1) // batch_size
    num_batches = stream_len // seq_len
    if num_batches < 1:
        raise ValueError(
            f"{len(ids)} characters are too few for batch_size={batch_size} streams of seq_len={seq_len} "
            f"(need at least {batch_size * seq_len + 1})."
        )
    usable = num_batches * seq_len
    streams_in = np.stack([ids[r * stream_len : r * stream_len + usable] for r in range(batch_size)])
    streams_out = np.stack([ids[r * stream_len + 1 : r * stream_len + usable + 1] for r in range(batch_size)])

    def cut(streams):  # (batch, num_batches*seq_len) -> (num_batches, batch, seq_len)
        return streams.reshape(batch_size, num_batches, seq_len).transpose(1, 0, 2)

    return cut(streams_in), cut(streams_out)


_SPEAKER = re.compile(r"^([A-Z][A-Za-z' ]+?):\n", re.MULTILINE)


def speeches(text):
    """``(speaker, speech)`` pairs: the play text is blocks of ``NAME:\\n`` followed by lines."""
    matches = list(_SPEAKER.finditer(text))
    pairs = []
    for match, following in zip(matches, matches[1:] + [None]):
        end = following.start() if following else len(text)
        speech = text[match.end() : end].strip("\n")
        if speech:
            pairs.append((match.group(1), speech + "\n"))
    return pairs


# `zoo train generator --data tiny_shakespeare` (zoo.data.registry): the splits, and the model card's sections.


def _load(config, seed):
    """``({"train", "validation", "test"} -> text, record of the data)``: TFDS's split (``seed`` unused)."""
    local = source(config.data_dir or None)
    text = load(config.data_dir or None, config.tfds_dir or None)
    info = describe_source(local) if local else {"path": "tfds:tiny_shakespeare", "sha256": None}
    return text, {"dataset": DATASET.name, **info}


def _nanogpt_loss(score, text):
    """nanoGPT's validation split is the last 10%: validation and test together."""
    return {"nanogpt_val_loss": score(text["validation"] + text["test"])}


def card_data(metrics):
    """The model card's "Data" section."""
    return f"""## Data
Tiny Shakespeare (Karpathy's char-rnn `input.txt`, public domain text), sha256 `{metrics["data"]["sha256"]}`,
split 90/5/5 by tensorflow-datasets `tiny_shakespeare`. Vocabulary from the training split only.
"""


def card_limits(metrics):
    """The model card's "Intended use and limits" section (no trailing newline)."""
    return f"""## Intended use and limits
A teaching and benchmarking model: it imitates the surface form of the plays (speaker names, verse
lines, archaic words) without meaning. It knows only these {metrics["vocabulary"] - 1} characters and one
million characters of text; it is not a model of English.
"""


def _card(config, train_config, metrics, export_dir):
    from zoo.tasks.generator import card_use

    return {
        "title": f"Tiny Shakespeare character model: {config.num_layers} x {config.cell} {config.units}",
        "intro": "A TensorFlow SavedModel that continues text one character at a time in the style of the Tiny\n"
                 "Shakespeare corpus, and scores how Shakespeare-like a text is. No zoo code is needed to run it.",
        "use": card_use(metrics["vocabulary"]),
        "results": f"""| split (TFDS `tiny_shakespeare`) | loss, nats/char |
|---|---|
| test (last 5%) | **{metrics["test_loss"]:.4f}** |
| validation (90-95%) | {metrics["validation_loss"]:.4f} |
| nanoGPT's validation split (last 10%) | {metrics["nanogpt_val_loss"]:.4f} |

Each split is run through the model as one stream from a zero state. References: nanoGPT's
character transformer reaches 1.4697 on the last 10% (GPU configuration) and 1.88 (CPU configuration).""",
        "data": card_data(metrics),
        "limits": card_limits(metrics),
    }


DATASET = registry.NamedDataset(
    name="tiny_shakespeare", task="generator", load=_load, model_name="shakespeare_char",
    metrics_task={"none": "shakespeare_char", "speaker": "shakespeare_speaker"}, card=_card, example="ROMEO:\n",
    extra_metrics=_nanogpt_loss,
)
