"""Text -> a label (two classes or more) or a number, many-to-one, on your data or IMDB.

--data is a CSV/TSV file with a header, a JSON Lines file, or a folder with one subfolder of .txt files
per class (see docs/own_data.md); or `imdb` (the Large Movie Review Dataset: movie-grouped validation,
the 25,000 official test reviews, the unlabelled reviews for word2vec). Two labels give a sigmoid head,
more a softmax head; --head regression fits a numeric label. The vectorizer is adapted on the training
split only; the export serves raw text with the data's own label names. Interrupt at any time and
rerun the same command to resume from the last finished epoch.
"""

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

# TensorFlow (and zoo modules that import it) load in the steps that use them: `zoo train classifier --help`
# reads ClassifierConfig without it (issue 23).
from zoo import cells
from zoo.data import files, registry
from zoo.models.classifier import POOLINGS, build_classifier
from zoo.tasks.base import Data, Task, card_sections, data_section, option
from zoo.validation import one_of, positive_int, rate

HEADS = ("auto", "binary", "softmax", "regression", "rating")
PRETRAIN = ("none", "word2vec")


@dataclasses.dataclass(frozen=True)
class ClassifierConfig:
    """What classifier to train, on which data, and where to put it."""

    data: str = option("imdb", "`imdb`, or your data: a CSV/TSV file with a header, a JSON Lines file, or a folder "
                       "with one subfolder of .txt files per class")
    validation: str = option("", "a separate validation file (default: drawn from --data)")
    test: str = option("", "a separate test file (default: drawn from --data; imdb: its official test set)")
    validation_split: float = option(0.1, "fraction of --data held out for validation (seeded, by class)")
    test_split: float = option(0.1, "fraction of --data held out for testing (seeded, by class; not for imdb)")
    text_column: str = option("text", "CSV/TSV/JSONL: the column holding the text")
    label_column: str = option("label", "CSV/TSV/JSONL: the column holding the label")
    validation_by_movie: bool = option(True, "imdb: hold out whole movies, as the official test set does "
                                       "(false: single reviews)")
    cell: str = option("gru", f"recurrent cell, one of {cells.names()}")
    vocab_size: int = option(20000, "vocabulary size, padding and out-of-vocabulary ids included")
    max_length: int = option(512, "tokens kept per text (the first ones)")
    embedding_dim: int = option(128, "word embedding size")
    units: int = option(64, "units per recurrent layer and direction")
    num_layers: int = option(1, "stacked recurrent layers")
    bidirectional: bool = option(True, "read each text both ways (true/false)")
    pooling: str = option("max", f"how time steps become one vector, one of {POOLINGS}")
    shortcut: bool = option(False, "also feed the embedded words straight to the head, beside the recurrent output "
                            "(true/false)")
    dropout: float = option(0.3, "dropout rate after the embedding, between layers and before the head")
    head: str = option("auto", "auto: binary (sigmoid) for two labels, softmax for more; regression: a numeric "
                       "label; rating: imdb's 1-10 stars")
    pretrain: str = option("none", "none, or word2vec: initialize the embedding with word vectors learned (no labels) "
                           "from the training texts (imdb: and the 50,000 unlabelled reviews)")
    pretrain_epochs: int = option(5, "word2vec epochs over those texts")
    train_embedding: bool = option(True, "fine-tune the embedding (false: keep the initial, e.g. pretrained, vectors)")
    init_from: str = option("", "start from a finished classifier run folder or a zoo classifier export (its "
                            "vocabulary, architecture and weights; a new head when the labels differ)")
    data_dir: str = option("", "imdb: aclImdb folder or archive, or a folder holding one (default $ZOO_DATA_DIR, "
                           "else download)")
    run_dir: str = option("runs/classifier", "run folder: config, checkpoints, logs, metrics (rerun to resume)")
    export_dir: str = option("", "where the SavedModel goes (default <run_dir>/export)")

    def __post_init__(self):
        one_of("cell", self.cell, cells.names())
        one_of("pooling", self.pooling, POOLINGS)
        one_of("head", self.head, HEADS)
        one_of("pretrain", self.pretrain, PRETRAIN)
        for name in ("vocab_size", "max_length", "embedding_dim", "units", "num_layers", "pretrain_epochs"):
            positive_int(name, getattr(self, name))
        rate("dropout", self.dropout)
        if not 0.0 < self.validation_split < 1.0:
            raise ValueError(f"`validation_split` must be in (0, 1); got validation_split={self.validation_split!r}.")
        rate("test_split", self.test_split)

    def model_options(self, vocab_size, head, num_classes):
        """The keyword arguments of :func:`zoo.models.classifier.build_classifier`."""
        return dict(cell=self.cell, vocab_size=vocab_size, embedding_dim=self.embedding_dim, units=self.units,
                    num_layers=self.num_layers, bidirectional=self.bidirectional, pooling=self.pooling,
                    shortcut=self.shortcut, dropout=self.dropout, head=head, num_classes=num_classes)


def export_kind(head):
    """The export's kind (``zoo.export.CLASSIFIER_KINDS``) of a resolved head."""
    return "regression" if head in ("regression", "rating") else head


def _user(config, seed):
    """A user's file: its splits as ``(texts, targets)`` (labels as ids in the order of their names, see
    ``zoo.data.files``), the label names, the head, the record and the unlabelled texts (none)."""
    if config.head == "rating":
        raise ValueError("--head rating regresses imdb's star ratings; for a numeric label in your data use "
                         "--head regression.")
    numeric = config.head == "regression"
    data = files.load(files.read_labelled, config.data, validation=config.validation or None,
                      test=config.test or None, validation_split=config.validation_split,
                      test_split=config.test_split, seed=seed, text_column=config.text_column,
                      label_column=config.label_column, numeric=numeric, named=list(registry.named("classifier")))
    for line in data.summary():  # every split and its size, before training
        print(line)
    if numeric:
        names, head = [], "regression"
        splits = {s: (part.texts, np.asarray(part.labels, np.float32)) for s, part in data.splits.items()}
    else:
        names = data.label_names()
        head = config.head if config.head != "auto" else ("binary" if len(names) == 2 else "softmax")
        if head == "binary" and len(names) != 2:
            raise ValueError(f"--head binary needs two labels; {config.data} has {len(names)}: {names[:20]}.")
        splits = {s: (part.texts, files.label_ids(part.labels, names)) for s, part in data.splits.items()}
    return splits, names, head, {"dataset": "files", **data.describe()}, []


# A user's files, as the named datasets (zoo.data.registry) are: what --data is when it names none of them.
FILES = registry.NamedDataset("", "classifier", _user, "classifier_{cell}")


def dataset(config):
    """The named dataset --data names, else a user's files."""
    return registry.find("classifier", config.data) or FILES


class Classifier(Task):
    """Text -> label or number (many-to-one) on your data (CSV/TSV/JSONL/class folders) or imdb."""

    name = "classifier"
    Config = ClassifierConfig
    train_defaults = {}
    report = ("test", "best_epoch", "seconds_per_epoch")

    def load(self, config, train_config, run_dir):
        from zoo.data import text

        splits, names, head, info, unlabelled = dataset(config).load(config, train_config.seed)
        init = None
        if config.init_from:
            from zoo.tasks import init

            init = init.classifier(config.init_from)
            vectorizer = init.vectorizer
        else:
            vectorizer = text.make_vectorizer(splits["train"][0], config.vocab_size)
        (Path(run_dir) / "vocabulary.json").parent.mkdir(parents=True, exist_ok=True)
        (Path(run_dir) / "vocabulary.json").write_text(json.dumps(vectorizer.get_vocabulary()) + "\n")
        max_length = init.config["max_length"] if init else config.max_length
        batches = {
            split: text.bucketed_dataset(text.vectorize(vectorizer, texts, max_length), targets,
                                         train_config.batch_size, shuffle=split == "train", seed=train_config.seed)
            for split, (texts, targets) in splits.items()
        }
        return Data(info, batches["train"], batches["validation"],
                    dict(splits=splits, names=names, head=head, vectorizer=vectorizer, batches=batches,
                         unlabelled=unlabelled, init=init, max_length=max_length))

    def build(self, config, data, train_config, run_dir):
        name = dataset(config).keras_name(config)
        if data.init is not None:
            from zoo.tasks import init

            model = init.classifier_model(data.init, data.head, data.names, name)
        else:
            model = build_classifier(**config.model_options(data.vectorizer.vocabulary_size(), data.head,
                                                             max(len(data.names), 2)), name=name)
        if config.pretrain == "word2vec" and data.init is None:
            model.get_layer("embedding").set_weights([_word2vec(config, train_config, data, run_dir)])
        if data.head in ("rating", "regression") and data.init is None:  # start at the mean: regressing from 0 wastes the first epoch
            model.layers[-1].bias.assign([float(np.mean(data.splits["train"][1]))])
        model.get_layer("embedding").trainable = config.train_embedding
        return model

    def loss(self, config, data):
        return {"binary": "binary_crossentropy", "softmax": "sparse_categorical_crossentropy"}.get(data.head, "mse")

    def metrics(self, config, data):
        return ["accuracy"] if data.head in ("binary", "softmax") else ["mae"]

    def evaluate(self, config, train_config, model, data, history, run_dir, strategy):
        from zoo import distributed, training

        test = distributed.evaluate(model, data.batches["test"], strategy)
        best = training.epoch_summary(history, train_config.monitor)["best_epoch"]
        return {
            "task": dataset(config).task_name(data.head, "classifier"),
            "head": data.head,
            **({"labels": data.names} if data.names else {}),
            "test": {k: float(v) for k, v in test.items()},
            "test_examples": len(data.splits["test"][0]),
            "validation_examples": len(data.splits["validation"][0]),
            "validation": {k[4:]: history[k][best - 1] for k in history if k.startswith("val_")},
            "vocabulary": data.vectorizer.vocabulary_size(),
            **({"init_from": {"path": config.init_from, "labels": data.init.labels, "head": data.init.head,
                              "new_head": data.init.labels != data.names or data.init.head != data.head}}
               if data.init is not None else {}),
        }

    def export(self, config, train_config, model, data, metrics, export_dir, files):
        import tensorflow as tf

        from zoo import export

        empty = model(export.text_to_ids(data.vectorizer, tf.constant([""]), data.max_length), training=False)
        if data.head == "binary":
            metrics["empty_text_probability"] = float(empty[0, 0])
        export.export_text_classifier(model, data.vectorizer, export_dir, data.max_length,
                                      labels=data.names or ("value",), kind=export_kind(data.head),
                                      extra_files=files)

    def model_card(self, config, train_config, metrics, export_dir):
        return model_card(config, train_config, metrics, export_dir)

    def serves(self, signatures):
        serving = signatures.get("serving_default")
        return serving is not None and set(serving.structured_input_signature[1]) == {"text"} and (
            "label" in serving.structured_outputs or "value" in serving.structured_outputs)

    def predict(self, signatures, texts, options):
        import tensorflow as tf

        out = signatures["serving_default"](text=tf.constant(texts, tf.string))
        for i, text_ in enumerate(texts):
            preview = text_ if len(text_) <= 60 else text_[:57] + "..."
            if "value" in out:
                print(f"{float(out['value'][i]):.4f}  {preview}")
                continue
            # binary: the probability of the second label (imdb: of "positive"), as the first exports printed
            probability = out["probability"][i] if "probability" in out else out["probabilities"][i].numpy().max()
            print(f"{out['label'][i].numpy().decode():8s} {probability:.4f}  {preview}")


TASK = Classifier()


def _word2vec(config, train_config, data, run_dir):
    """The pretrained embedding matrix, computed once per run (cached for resumes)."""
    from zoo.embeddings import word2vec_matrix

    path = Path(run_dir) / "word2vec_embedding.npy"
    if path.exists():
        return np.load(path)
    started = time.time()
    texts = list(data.splits["train"][0]) + list(data.unlabelled)
    matrix, found = word2vec_matrix(texts, data.vectorizer.get_vocabulary(), config.embedding_dim,
                                    epochs=config.pretrain_epochs, seed=train_config.seed)
    np.save(path, matrix)
    summary = {"words_with_vectors": found, "vocabulary": len(matrix), "seconds": time.time() - started,
               "texts": len(texts)}
    (Path(run_dir) / "word2vec.json").write_text(json.dumps(summary, indent=2) + "\n")
    return matrix


def _architecture(config, metrics, head):
    direction = "bidirectional " if config.bidirectional else ""
    shortcut = (" of [h_t; x_t], the last layer's output beside the embedded word (shortcut connections from the "
                "input to the head)" if config.shortcut else "")
    return (f"TextVectorization (vocabulary {metrics['vocabulary']}, first {config.max_length} tokens) ->\n"
            f"  Embedding {config.embedding_dim} (masked padding) -> {config.num_layers} x {direction}`zoo.cells` "
            f"`{config.cell}` of\n  {config.units} units -> {config.pooling} pooling over time{shortcut} -> dropout "
            f"{config.dropout} -> {head}.")


def _training(train_config, metrics):
    return f"""- Training: Adam (learning rate {train_config.learning_rate}, clipnorm {train_config.clipnorm}), batch
  {train_config.batch_size} (length-bucketed), up to {train_config.epochs} epochs, early stopping on
  `{train_config.monitor}` (patience {train_config.patience}); the best validation epoch's weights are exported.
- Training time: {metrics["training_seconds"] / 60:.1f} minutes ({metrics["seconds_per_epoch"]:.0f} s per epoch) on
  {metrics["hardware"]}; TensorFlow {metrics["versions"]["tensorflow"]}, Keras {metrics["versions"]["keras"]}."""


CARD = """# {title}

{intro}

{use}

## Results (measured by the command below)
{results}

## Model
- Architecture: {architecture}
- Parameters: {parameters:,}.
{training}

{data}{data_note}
## Reproduce
```
{command}
```
Seed {seed}.{reproduce}

{limits}
{serving}"""


def _results(metrics, metric, name):
    return "\n".join([f"| split | rows | {name} | loss{' (mse)' if metric == 'mae' else ''} |", "|---|---|---|---|",
                      f"| test | {metrics['test_examples']} | **{metrics['test'][metric]:.4f}** | "
                      f"{metrics['test']['loss']:.4f} |",
                      f"| validation (best epoch, {metrics['best_epoch']} of {metrics['epochs_run']}) | "
                      f"{metrics['validation_examples']} | {metrics['validation'][metric]:.4f} | "
                      f"{metrics['validation']['loss']:.4f} |"])


def _outputs(head, labels):
    """The serving signature's outputs, for the "Use" section."""
    if head in ("regression", "rating"):
        return "`value` (float32, [None], the predicted number)"
    outputs = (f"`label` (tf.string, [None], the most probable of {', '.join(labels)}) and `probabilities` "
               f"(float32, [None, {len(labels)}], columns in that order)")
    return outputs + (f"; `probability` (float32, [None], of `{labels[1]}`)" if head == "binary" else "")


def model_card(config, train_config, metrics, export_dir):
    """The export's README: the sections of a user's data, or those its named dataset replaces them with
    (title, intro, use, results, data, data_note, reproduce, limits); every figure from ``metrics``."""
    from zoo import export

    path = Path(export_dir).as_posix()
    name = Path(config.data).name
    head = metrics.get("head", "binary")  # recorded since zoo.tasks; the exports before are binary
    numeric = head in ("regression", "rating")
    labels = metrics.get("labels", [])
    layer = ("Dense linear" if numeric else "Dense sigmoid" if head == "binary" else
             f"Dense softmax over {len(labels)} labels")
    sections = card_sections(
        dataset(config).card(config, train_config, metrics, export_dir),
        title=lambda: f"Text classifier: {config.cell} on {name}",
        intro=lambda: f"""A TensorFlow SavedModel that reads raw text and returns {"a number" if numeric else "one of the labels of"} `{name}`.
Preprocessing (standardization, vocabulary, truncation) is inside the graph: feed text.""",
        use=lambda: f"""## Use
```python
import tensorflow as tf  # no zoo needed
model = tf.saved_model.load("{path}")
out = model.signatures["serving_default"](text=tf.constant(["some text"]))
```
Or `zoo predict {path} "some text"` (or one text per line on stdin).

Signature `serving_default`: input `text` (tf.string, [None]); outputs {_outputs(head, labels)}.""",
        results=lambda: _results(metrics, "mae", "mean absolute error") if numeric else _results(metrics, "accuracy",
                                                                                                   "accuracy"),
        data=lambda: data_section(metrics["data"]),
        data_note=lambda: "\nThe vocabulary was adapted on the training split only; the test split played no part in "
                          "training or in\nchoosing the epoch.\n",
        reproduce=lambda: "",
        limits=lambda: f"""## Intended use and limits
Only what `{name}` teaches: texts unlike its rows, and labels it does not have, are outside what this model
knows. Only the first {config.max_length} tokens of a text are read; words outside the {metrics["vocabulary"]}-word
vocabulary are one unknown token.
""",
    )
    return CARD.format(**sections, architecture=_architecture(config, metrics, layer), parameters=metrics["parameters"],
                       training=_training(train_config, metrics), command=metrics["command"], seed=metrics["seed"],
                       serving=export.serving_limits("classifier", max_length=config.max_length))
