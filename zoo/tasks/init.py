"""``--init-from PATH``: start a classifier run from a finished one, or from a zoo export.

PATH is a finished classifier run folder (its ``config.json``, ``vocabulary.json``, ``metrics.json`` and
``best.weights.h5``) or a zoo classifier SavedModel folder, such as a shipped model whose run folder
is gone (rebuilt by :func:`zoo.export.restore.restore` from its ``config.json`` and its own variables).
The new run keeps the source's vocabulary and architecture and starts from its weights; when its
labels (or head) differ from the new data's, the head is new (freshly initialized), the rest is kept.
"""

import dataclasses
import json
from pathlib import Path

MODEL_OPTIONS = ("cell", "embedding_dim", "units", "num_layers", "bidirectional", "pooling", "shortcut", "dropout")


@dataclasses.dataclass
class Initial:
    """What a run starts from: the source's config section, vectorizer, Keras model, labels and head."""

    path: Path
    config: dict
    vectorizer: object
    model: object
    labels: list
    head: str


def classifier(path):
    """The :class:`Initial` of ``path`` (a run folder or an export); ValueError in one line otherwise."""
    path = Path(path)
    if (path / "saved_model.pb").is_file():
        return _from_export(path)
    if (path / "config.json").is_file():
        return _from_run(path)
    raise ValueError(f"--init-from {path}: neither a classifier run folder (no config.json) nor a zoo export (no "
                     "saved_model.pb); give a finished `zoo train classifier` run folder or its export folder.")


def _from_export(path):
    from zoo.export.restore import restore

    if not (path / "config.json").is_file():
        raise ValueError(f"--init-from {path}: a SavedModel without zoo's config.json; only zoo exports can be rebuilt.")
    members = json.loads((path / "config.json").read_text()).get("members")
    if members:  # said before rebuilding anything
        raise ValueError(f"--init-from {path}: an ensemble of {len(members)} models ({', '.join(members)}); --init-from "
                         "takes one model: give one member's run folder or a single model's export.")
    restored = restore(path)
    if restored.kind != "classifier":
        raise ValueError(f"--init-from {path}: a {restored.kind} export; `zoo train classifier` starts from a classifier.")
    return Initial(path, restored.configs[0], restored.vectorizer, restored.model, restored.labels, restored.head)


def _from_run(path):
    from zoo.data.text import standardize_text
    from zoo.models.classifier import build_classifier
    from zoo.tasks.runs import read_finished

    import keras

    saved = read_finished(path, ("classifier", "sentiment"), files=("best.weights.h5", "metrics.json"))
    config = saved.get("classifier") or saved["sentiment"]
    vocabulary_file = path / "vocabulary.json"
    if not vocabulary_file.is_file():
        raise ValueError(f"--init-from {path}: no vocabulary.json (a run of an older zoo); give its export folder "
                         f"({path / 'export'}) instead.")
    vocabulary = json.loads(vocabulary_file.read_text())
    metrics = json.loads((path / "metrics.json").read_text())
    head = metrics.get("head", config.get("head", "binary"))
    labels = metrics.get("labels", ["negative", "positive"] if head == "binary" else None)
    vectorizer = keras.layers.TextVectorization(standardize=standardize_text, vocabulary=vocabulary[2:],
                                                name="vectorizer")
    model = build_classifier(vocab_size=len(vocabulary), head=head, num_classes=len(labels or [0, 1]),
                             name="initial", **{k: config[k] for k in MODEL_OPTIONS if k in config})
    model.load_weights(path / "best.weights.h5")
    return Initial(path, config, vectorizer, model, labels, head)


def classifier_model(initial, head, labels, name):
    """A classifier for ``labels`` with ``head``, of the source's architecture and starting from its weights;
    the head too when it has the same labels and kind, else a new head."""
    from zoo.models.classifier import build_classifier

    options = {k: initial.config[k] for k in MODEL_OPTIONS if k in initial.config}
    model = build_classifier(vocab_size=initial.vectorizer.vocabulary_size(), head=head,
                             num_classes=max(len(labels), 2), name=name, **options)
    same_head = head == initial.head and list(labels or []) == list(initial.labels or [])
    source = {layer.name: layer for layer in initial.model.layers}
    head_layer = model.layers[-1].name
    for layer in model.layers:
        if layer.name == head_layer and not same_head:
            continue
        old = source.get(layer.name)
        if old is not None and [w.shape for w in old.weights] == [w.shape for w in layer.weights]:
            layer.set_weights(old.get_weights())
    return model
