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
import tensorflow as tf

from zoo import cells, distributed, export
from zoo.data import describe_source, files, imdb, text
from zoo.models.classifier import POOLINGS, build_classifier
from zoo.tasks.base import Data, Task, data_section, option
from zoo.validation import one_of, positive_int, rate

HEADS = ("auto", "binary", "softmax", "regression", "rating")
PRETRAIN = ("none", "word2vec")
IMDB = "imdb"


@dataclasses.dataclass(frozen=True)
class ClassifierConfig:
    """What classifier to train, on which data, and where to put it."""

    data: str = option(IMDB, "`imdb`, or your data: a CSV/TSV file with a header, a JSON Lines file, or a folder "
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
        if self.head == "rating" and self.data != IMDB:
            raise ValueError("--head rating regresses imdb's star ratings; for a numeric label in your data use "
                             "--head regression.")

    def model_options(self, vocab_size, head, num_classes):
        """The keyword arguments of :func:`zoo.models.classifier.build_classifier`."""
        return dict(cell=self.cell, vocab_size=vocab_size, embedding_dim=self.embedding_dim, units=self.units,
                    num_layers=self.num_layers, bidirectional=self.bidirectional, pooling=self.pooling,
                    shortcut=self.shortcut, dropout=self.dropout, head=head, num_classes=num_classes)


def export_kind(head):
    """The export's kind (``zoo.export.CLASSIFIER_KINDS``) of a resolved head."""
    return "regression" if head in ("regression", "rating") else head


def _imdb(config, seed):
    """IMDB's splits as ``(texts, targets)``, the label names, the record and the unlabelled texts."""
    source = imdb.source(config.data_dir or None)
    data = imdb.load(source, config.validation_split, seed=seed, unsup=config.pretrain != "none",
                     by_movie=config.validation_by_movie)
    unlabelled = data.pop("unsup", None)
    head = "binary" if config.head == "auto" else config.head
    splits = {split: (reviews.texts, reviews.labels if head == "binary" else reviews.ratings)
              for split, reviews in data.items()}
    info = {"dataset": IMDB, **describe_source(source)}
    return splits, ["negative", "positive"], head, info, unlabelled.texts if unlabelled else []


def _user(config, seed):
    """A user's file as the same: labels as ids in the order of their names (see ``zoo.data.files``)."""
    numeric = config.head == "regression"
    data = files.load(files.read_labelled, config.data, validation=config.validation or None,
                      test=config.test or None, validation_split=config.validation_split,
                      test_split=config.test_split, seed=seed, text_column=config.text_column,
                      label_column=config.label_column, numeric=numeric)
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


class Classifier(Task):
    """Text -> label or number (many-to-one) on your data (CSV/TSV/JSONL/class folders) or imdb."""

    name = "classifier"
    Config = ClassifierConfig
    train_defaults = {}
    report = ("test", "best_epoch", "seconds_per_epoch")

    def load(self, config, train_config, run_dir):
        if config.data == IMDB:
            splits, names, head, info, unlabelled = _imdb(config, train_config.seed)
        else:
            splits, names, head, info, unlabelled = _user(config, train_config.seed)
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
        name = f"imdb_{config.cell}" if config.data == IMDB else f"classifier_{config.cell}"
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
        from zoo import training

        test = distributed.evaluate(model, data.batches["test"], strategy)
        best = training.epoch_summary(history, train_config.monitor)["best_epoch"]
        task = {"binary": "imdb_sentiment", "rating": "imdb_rating"}.get(data.head) if config.data == IMDB else None
        return {
            "task": task or "classifier",
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
        empty = model(export.text_to_ids(data.vectorizer, tf.constant([""]), data.max_length), training=False)
        if data.head == "binary":
            metrics["empty_text_probability"] = float(empty[0, 0])
        export.export_text_classifier(model, data.vectorizer, export_dir, data.max_length,
                                      labels=data.names or ("value",), kind=export_kind(data.head),
                                      extra_files=files)

    def model_card(self, config, train_config, metrics, export_dir):
        if config.data == IMDB and metrics["head"] == "binary":
            return imdb_card(config, train_config, metrics, export_dir)
        return user_card(config, train_config, metrics, export_dir)

    def serves(self, signatures):
        serving = signatures.get("serving_default")
        return serving is not None and set(serving.structured_input_signature[1]) == {"text"} and (
            "label" in serving.structured_outputs or "value" in serving.structured_outputs)

    def predict(self, signatures, texts, options):
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


def imdb_card(config, train_config, metrics, export_dir):
    """The IMDB sentiment model's README, every figure taken from ``metrics``."""
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
    return f"""# IMDB sentiment: {direction}{config.cell} ({config.num_layers} layer{"s" if config.num_layers > 1 else ""})

A TensorFlow SavedModel that reads a raw English movie review and returns the probability that it is
positive. Preprocessing (standardization, vocabulary, truncation) is inside the graph: feed text.

{card_use(export_dir)}

## Results (measured by the command below)
| split | reviews | accuracy | loss |
|---|---|---|---|
| test (the full official test set) | {metrics["test_examples"]} | **{metrics["test"]["accuracy"]:.4f}** | {metrics["test"]["loss"]:.4f} |
| validation (best epoch, {metrics["best_epoch"]} of {metrics["epochs_run"]}) | {metrics["validation_examples"]} | {metrics["validation"]["accuracy"]:.4f} | {metrics["validation"]["loss"]:.4f} |

Published references on the same test set: Maas et al. (2011) 88.89%; the keras.io bidirectional LSTM
example 84.3% (2 epochs). This model is {versus(metrics["test"]["accuracy"], 0.8889)} Maas et al. and
{versus(metrics["test"]["accuracy"], 0.895)} the zoo's target of 89.5%. The recipe and the epoch
were chosen on the validation split; the test set played no part in either.

## Model
- Architecture: {_architecture(config, metrics, "Dense sigmoid")}
- Parameters: {metrics["parameters"]:,}.
{_training(train_config, metrics)}

## Data
Large Movie Review Dataset v1.0 (Maas et al. 2011), `{Path(metrics["data"]["path"]).name}`,
sha256 `{metrics["data"]["sha256"]}`. Of the 25,000 training reviews, {metrics["validation_examples"]}
{held_out}; the vocabulary was adapted on the rest only.
The 25,000 test reviews were used only for the final evaluation. {unlabelled}

## Reproduce
```
{metrics["command"]}
```
Seed {metrics["seed"]}. Runs on CPU are repeatable to within float round-off; a different machine or
thread count can move the last digit of the accuracy.

{card_limits(config.max_length, metrics)}
{export.serving_limits("classifier", max_length=config.max_length)}"""


def _imdb_data(metrics):
    return f"""## Data
Large Movie Review Dataset v1.0 (Maas et al. 2011), `{Path(metrics["data"]["path"]).name}`, sha256
`{metrics["data"]["sha256"]}`: the 1-10 star ratings of its reviews; the official test reviews only for the test row.
"""


def user_card(config, train_config, metrics, export_dir):
    """The README of a classifier trained on a user's data: nothing in it comes from IMDB."""
    path = Path(export_dir).as_posix()
    head = metrics["head"]
    if head in ("regression", "rating"):
        outputs = "`value` (float32, [None], the predicted number)"
        results = "\n".join(["| split | rows | mean absolute error | loss (mse) |", "|---|---|---|---|",
                             f"| test | {metrics['test_examples']} | **{metrics['test']['mae']:.4f}** | "
                             f"{metrics['test']['loss']:.4f} |",
                             f"| validation (best epoch, {metrics['best_epoch']} of {metrics['epochs_run']}) | "
                             f"{metrics['validation_examples']} | {metrics['validation']['mae']:.4f} | "
                             f"{metrics['validation']['loss']:.4f} |"])
        layer = "Dense linear"
    else:
        labels = metrics["labels"]
        outputs = (f"`label` (tf.string, [None], the most probable of {', '.join(labels)}) and `probabilities` "
                   f"(float32, [None, {len(labels)}], columns in that order)")
        if head == "binary":
            outputs += f"; `probability` (float32, [None], of `{labels[1]}`)"
        results = "\n".join(["| split | rows | accuracy | loss |", "|---|---|---|---|",
                             f"| test | {metrics['test_examples']} | **{metrics['test']['accuracy']:.4f}** | "
                             f"{metrics['test']['loss']:.4f} |",
                             f"| validation (best epoch, {metrics['best_epoch']} of {metrics['epochs_run']}) | "
                             f"{metrics['validation_examples']} | {metrics['validation']['accuracy']:.4f} | "
                             f"{metrics['validation']['loss']:.4f} |"])
        layer = "Dense sigmoid" if head == "binary" else f"Dense softmax over {len(labels)} labels"
    name = Path(config.data).name
    return f"""# Text classifier: {config.cell} on {name}

A TensorFlow SavedModel that reads raw text and returns {"a number" if head in ("regression", "rating") else "one of the labels of"} `{name}`.
Preprocessing (standardization, vocabulary, truncation) is inside the graph: feed text.

## Use
```python
import tensorflow as tf  # no zoo needed
model = tf.saved_model.load("{path}")
out = model.signatures["serving_default"](text=tf.constant(["some text"]))
```
Or `zoo predict {path} "some text"` (or one text per line on stdin).

Signature `serving_default`: input `text` (tf.string, [None]); outputs {outputs}.

## Results (measured by the command below)
{results}

## Model
- Architecture: {_architecture(config, metrics, layer)}
- Parameters: {metrics["parameters"]:,}.
{_training(train_config, metrics)}

{data_section(metrics["data"]) if "files" in metrics["data"] else _imdb_data(metrics)}
The vocabulary was adapted on the training split only; the test split played no part in training or in
choosing the epoch.

## Reproduce
```
{metrics["command"]}
```
Seed {metrics["seed"]}.

## Intended use and limits
Only what `{name}` teaches: texts unlike its rows, and labels it does not have, are outside what this model
knows. Only the first {config.max_length} tokens of a text are read; words outside the {metrics["vocabulary"]}-word
vocabulary are one unknown token.

{export.serving_limits("classifier", max_length=config.max_length)}"""
