"""Average finished IMDB sentiment runs into one model: evaluate it and export it as the SavedModel.

Each RUN_DIR is a finished `zoo train sentiment` run (binary head) of the same data recipe (vocabulary
size, review length, validation split and seed). Their best checkpoints are loaded, each member and
the mean of their probabilities are scored on the validation split and the full test set, every
subset of two or more members is scored on validation (so a smaller ensemble can be chosen there,
never on test), and the ensemble is exported, with its model card, like a single model.
"""

import itertools
import json
import time
from pathlib import Path

import numpy as np

# TensorFlow and the zoo modules that import it load in the functions that use them: `zoo ensemble sentiment
# --help` answers without it (issue 23).
from zoo import training
from zoo.data import describe_source, imdb
from zoo.models.classifier import build_ensemble
from zoo.tasks.runs import (
    add_member_arguments, check_same_data, dataclass_from, member_folders, member_summary, read_finished,
)
from zoo.models.classifier import build_classifier
from zoo.data.imdb import DATASET, card_limits, card_use, versus
from zoo.tasks.classifier import ClassifierConfig

# What every member must share: the data a model sees and the ids its embedding reads.
SHARED = ("vocab_size", "max_length", "validation_split", "validation_by_movie")
REPORT = ("validation", "test", "validation_examples", "test_examples")  # what `zoo ensemble sentiment` prints


def add_arguments(parser):
    add_member_arguments(parser, "sentiment", "runs/imdb_ensemble",
                         "aclImdb folder or archive, or a folder holding one (default $ZOO_DATA_DIR, else download)")


def load_run(run_dir):
    """``(SentimentConfig, TrainConfig, metrics)`` of a finished binary ``zoo train sentiment`` run."""
    saved = read_finished(run_dir, ("classifier", "sentiment"))  # "sentiment": runs of zoo before 0.x tasks
    config = dataclass_from(ClassifierConfig, saved.get("classifier") or saved["sentiment"])
    recorded = json.loads((Path(run_dir) / "metrics.json").read_text())
    head = recorded.get("head", config.head)
    if config.data != DATASET.name or head != "binary":
        raise ValueError(f"{run_dir} is a {head!r} classifier of {config.data}; `zoo ensemble sentiment` averages "
                         "binary imdb runs.")
    train_config = dataclass_from(training.TrainConfig, saved["train"])
    return config, train_config, recorded


def check_compatible(run_dirs, runs):
    """ValueError unless every run shares the first one's data recipe (:data:`SHARED` and the seed)."""
    first, first_train, _ = runs[0]
    for run_dir, (config, train_config, _) in zip(run_dirs[1:], runs[1:]):
        differ = [name for name in SHARED if getattr(config, name) != getattr(first, name)]
        differ += ["seed"] if train_config.seed != first_train.seed else []
        if differ:
            raise ValueError(
                f"{run_dir} was trained on other data than {run_dirs[0]} (different {', '.join(differ)}); ensemble "
                "members need the same vocabulary size, review length, validation split and seed."
            )


def probabilities(model, token_ids, max_length, chunk=64):
    """The model's probability for each row of ``token_ids`` (n, time), in order, XLA-compiled."""
    import tensorflow as tf

    from zoo import export

    core = tf.function(lambda ids: model(ids, training=False), jit_compile=True)
    return export.classify_ids(core, tf.constant(token_ids, tf.int32), max_length, chunk=chunk).numpy()


def score(probability, labels):
    """Accuracy (threshold 0.5) and binary cross-entropy (clipped as Keras clips it) of probabilities."""
    p = np.clip(probability.astype(np.float64), 1e-7, 1 - 1e-7)
    loss = -np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p))
    return {"accuracy": float(np.mean((probability >= 0.5) == (labels == 1))), "loss": float(loss)}


def ensemble(run_dirs, run_dir="runs/imdb_ensemble", export_dir="", data_dir="", command=None):
    """Load, score and export the mean of ``run_dirs``' models; returns the metrics dict (also written
    to ``run_dir/metrics.json``)."""
    import tensorflow as tf

    from zoo import export
    from zoo.backend import require_tensorflow
    from zoo.data import text

    require_tensorflow("zoo ensemble sentiment")
    started = time.time()
    run_dirs = member_folders(run_dirs)
    runs = [load_run(d) for d in run_dirs]
    check_compatible(run_dirs, runs)
    first, first_train, _ = runs[0]
    source = imdb.source(data_dir or first.data_dir or None)
    described = describe_source(source)
    check_same_data(run_dirs, [recorded for _, _, recorded in runs], described)
    run_dir = Path(run_dir)
    command = command or f"python -c 'zoo.tasks.sentiment_ensemble.ensemble({[str(d) for d in run_dirs]!r})'"
    training.write_config(run_dir, members=[str(d) for d in run_dirs], data=described, command=command)

    training.seed_everything(first_train.seed)
    data = imdb.load(source, first.validation_split, seed=first_train.seed, by_movie=first.validation_by_movie)
    vectorizer = text.make_vectorizer(data["train"].texts, first.vocab_size)
    ids = {split: text.vectorize(vectorizer, data[split].texts, first.max_length) for split in ("validation", "test")}
    labels = {split: np.asarray(data[split].labels) for split in ids}

    members, member_probabilities = [], {split: [] for split in ids}
    for i, (d, (config, _, recorded)) in enumerate(zip(run_dirs, runs)):
        model = build_classifier(**config.model_options(vectorizer.vocabulary_size(), "binary", 2),
                                 name=f"member_{i}_{config.cell}")
        model.load_weights(d / "best.weights.h5")
        for split in ids:  # validation first: a member that does not reproduce stops before the test set
            member_probabilities[split].append(probabilities(model, ids[split], first.max_length))
            if split == "validation":
                _check_reproduced(d, recorded, score(member_probabilities[split][-1], labels[split]), len(labels[split]))
        members.append(model)
    mean = {split: np.mean(member_probabilities[split], axis=0) for split in ids}

    model = build_ensemble(members, name="imdb_ensemble")
    subsets = [
        {"members": [str(run_dirs[i]) for i in subset],
         "validation": score(np.mean([member_probabilities["validation"][i] for i in subset], axis=0),
                             labels["validation"])}
        for size in range(2, len(members) + 1)
        for subset in itertools.combinations(range(len(members)), size)
    ]
    metrics = {
        "task": "imdb_sentiment",
        "ensemble": True,
        "members": [
            {
                **member_summary(d, config.cell, recorded),
                "validation": score(member_probabilities["validation"][i], labels["validation"]),
                "test": score(member_probabilities["test"][i], labels["test"]),
            }
            for i, (d, (config, _, recorded)) in enumerate(zip(run_dirs, runs))
        ],
        "validation": score(mean["validation"], labels["validation"]),
        "test": score(mean["test"], labels["test"]),
        "validation_subsets": subsets,
        "validation_examples": len(labels["validation"]),
        "test_examples": len(labels["test"]),
        "parameters": model.count_params(),
        "vocabulary": vectorizer.vocabulary_size(),
        "max_length": first.max_length,
        "training_seconds": sum(m["training_seconds"] for _, _, m in runs),
        **training.environment(),
        "data": described,
        "command": command,
        "seed": first_train.seed,
    }
    empty = model(export.text_to_ids(vectorizer, tf.constant([""]), first.max_length), training=False)
    metrics["empty_text_probability"] = float(empty[0, 0])
    export_dir = Path(export_dir or run_dir / "export")
    export.export_text_classifier(model, vectorizer, export_dir, first.max_length,
                                  extra_files={"config.json": json.loads((run_dir / "config.json").read_text())})
    metrics["exported_validation_max_abs_difference"] = _exported_difference(
        export_dir, data["validation"].texts, mean["validation"]
    )
    metrics["wall_seconds_this_call"] = time.time() - started
    configs = [config for config, _, _ in runs]
    return export.finish(run_dir, export_dir, metrics, lambda m: model_card(configs, m, export_dir))


def _check_reproduced(run_dir, recorded, measured, examples):
    """ValueError if a member's validation accuracy here is not the one its run recorded: then its
    vocabulary or validation split differ from this one's (e.g. data or code changed since)."""
    if abs(measured["accuracy"] - recorded["validation"]["accuracy"]) > 2.5 / examples:
        raise ValueError(
            f"{run_dir}'s best checkpoint scores {measured['accuracy']:.4f} on validation here but "
            f"{recorded['validation']['accuracy']:.4f} when it was trained: its vocabulary or validation split differ "
            "from this run's (retrain it with the current code and data)."
        )


def _exported_difference(export_dir, texts, expected, batch=64):
    """Largest |exported SavedModel - ensemble| probability over ``texts``, served as raw text."""
    import tensorflow as tf

    serve = tf.saved_model.load(str(export_dir)).signatures["serving_default"]
    served = np.concatenate([
        serve(text=tf.constant(texts[i : i + batch]))["probability"].numpy() for i in range(0, len(texts), batch)
    ])
    return float(np.max(np.abs(served - expected)))


def from_arguments(args):
    return args.runs, args.run_dir, args.export_dir, args.data_dir


def model_card(configs, metrics, export_dir):
    """The exported ensemble's README, every figure taken from ``metrics``."""
    from zoo import export

    first = configs[0]
    rows = "\n".join(
        f"| `{m['cell']}` | {'bidirectional ' if c.bidirectional else ''}{c.num_layers} x {c.units}, {c.pooling} pooling "
        f"| {m['parameters']:,} | {m['validation']['accuracy']:.4f} | {m['test']['accuracy']:.4f} "
        f"| {m['best_epoch']} of {m['epochs_run']} | {m['training_seconds'] / 60:.1f} |"
        for c, m in zip(configs, metrics["members"])
    )
    subsets = "\n".join(
        f"| {' + '.join(Path(s).name for s in subset['members'])} | {subset['validation']['accuracy']:.4f} |"
        for subset in metrics["validation_subsets"]
    )
    commands = "\n".join(m["command"] for m in metrics["members"])
    pretrained = any(c.pretrain == "word2vec" for c in configs)
    unlabelled = (
        "The 50,000 unlabelled reviews were used, without labels, with the training reviews to pretrain the word "
        "embeddings (word2vec CBOW)." if pretrained else "The unlabelled reviews were not used."
    )
    test = metrics["test"]["accuracy"]
    return f"""# IMDB sentiment: an ensemble of {len(configs)} recurrent classifiers

A TensorFlow SavedModel that reads a raw English movie review and returns the probability that it is
positive: the mean of the probabilities of {len(configs)} independently trained `zoo` classifiers
({", ".join(f"`{m['cell']}`" for m in metrics["members"])}). Preprocessing (standardization, vocabulary,
truncation) is inside the graph: feed text.

{card_use(export_dir)} The
networks run XLA-compiled: the first request of each new shape (texts per chunk x padded length)
compiles for about a second; later ones reuse it.

## Results (measured by the commands below)
| split | reviews | accuracy | loss |
|---|---|---|---|
| test (the full official test set) | {metrics["test_examples"]} | **{test:.4f}** | {metrics["test"]["loss"]:.4f} |
| validation | {metrics["validation_examples"]} | {metrics["validation"]["accuracy"]:.4f} | {metrics["validation"]["loss"]:.4f} |

Published references on the same test set: Maas et al. (2011) 88.89%; the keras.io bidirectional LSTM
example 84.3% (2 epochs). This model is {versus(test, 0.8889)} Maas et al. and {versus(test, 0.895)}
the zoo's target of 89.5%. The test set played no part in choosing the members, their epochs or
the ensemble (validation did). Validation accuracy of every ensemble of two or more of the members:

| members | validation accuracy |
|---|---:|
{subsets}

The exported SavedModel, fed the raw validation reviews, returns the ensemble's probabilities (largest
difference {metrics["exported_validation_max_abs_difference"]:.1e}).

## Members
| cell | recurrent layers | parameters | validation | test | best epoch | training minutes |
|---|---|---:|---:|---:|---|---:|
{rows}

Each: TextVectorization (vocabulary {metrics["vocabulary"]}, first {metrics["max_length"]} tokens) -> Embedding
{first.embedding_dim} (masked padding) -> recurrent layer -> pooling over time -> dropout -> Dense sigmoid,
trained alone with Adam and early stopping on validation (see each command). Parameters in all:
{metrics["parameters"]:,}. Training time in all: {metrics["training_seconds"] / 60:.1f} minutes on {metrics["hardware"]};
TensorFlow {metrics["versions"]["tensorflow"]}, Keras {metrics["versions"]["keras"]}.

## Data
Large Movie Review Dataset v1.0 (Maas et al. 2011), `{Path(metrics["data"]["path"]).name}`,
sha256 `{metrics["data"]["sha256"]}`. Of the 25,000 training reviews, {metrics["validation_examples"]}
({"whole movies, " if first.validation_by_movie else ""}about {first.validation_split:.0%}, seed {metrics["seed"]}) were held out for
validation; the vocabulary was adapted on the rest only. The 25,000 test reviews were used only for
the final evaluation. {unlabelled}

## Reproduce
Train the members, then average them (the commands as they were run; where a member's command
exported too, the last command's export replaces it):
```
{commands}
{metrics["command"]}
```
Seed {metrics["seed"]}. Runs on CPU are repeatable to within float round-off; a different machine or
thread count can move the last digit of the accuracy.

{card_limits(metrics["max_length"], metrics)}- {len(configs)} networks run per review: about {len(configs)} times the compute of one member.

{export.serving_limits("classifier", max_length=metrics["max_length"])}"""
