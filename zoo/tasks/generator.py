"""Tiny Shakespeare character language model (one-to-many), or one conditioned on the speaker.

Unconditional (--condition none): stateful truncated backpropagation through time over batch-size
contiguous streams of the training split; validation and test losses (nats per character) from
running each whole split through the model as one stream; samples; a SavedModel with `generate` and
`score` signatures and its model card. Conditional (--condition speaker): every speech of the most
frequent speakers is a sequence whose initial state is set by the speaker's id; samples for each
speaker go to samples.json. Interrupt at any time and rerun the same command to resume.
"""

import dataclasses
import json
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from zoo import cells, export, generation, training
from zoo.backend import require_tensorflow
from zoo.data import describe_source, shakespeare
from zoo.models import generator as models
from zoo.validation import one_of, positive_int, rate

CONDITIONS = ("none", "speaker")


@dataclasses.dataclass(frozen=True)
class GeneratorConfig:
    """What character model to train on Tiny Shakespeare, and where to put it."""

    cell: str = "gru"
    units: int = 512
    num_layers: int = 2
    embedding_dim: int = 64
    input_mode: str = "embedding"
    shortcut: bool = False
    dropout: float = 0.2
    seq_len: int = 100
    condition: str = "none"
    speakers: int = 8
    max_speech: int = 400
    sample_length: int = 300
    data_dir: str = ""  # empty: $ZOO_DATA_DIR, else TFDS downloads
    tfds_dir: str = ""  # empty: TFDS's default folder
    run_dir: str = "runs/generator"
    export_dir: str = ""  # empty: <run_dir>/export (unconditional only)

    def __post_init__(self):
        one_of("cell", self.cell, cells.names())
        one_of("input_mode", self.input_mode, models.INPUT_MODES)
        one_of("condition", self.condition, CONDITIONS)
        for name in ("units", "num_layers", "embedding_dim", "seq_len", "speakers", "max_speech", "sample_length"):
            positive_int(name, getattr(self, name))
        rate("dropout", self.dropout)


REPORT = ("test_loss", "validation_loss", "nanogpt_val_loss", "best_epoch", "seconds_per_epoch", "samples")
HELP = {
    "cell": f"recurrent cell, one of {cells.names()}",
    "units": "units per recurrent layer",
    "num_layers": "stacked recurrent layers",
    "embedding_dim": "character embedding size (input-mode embedding)",
    "input_mode": "embedding, or onehot characters straight into the first cell",
    "shortcut": "also feed the encoded input character straight to the output layer, beside the recurrent "
    "output (true/false)",
    "dropout": "dropout rate after each recurrent layer",
    "seq_len": "truncated BPTT length: characters per stream per batch",
    "condition": "none: one stream language model; speaker: speeches conditioned on who speaks",
    "speakers": "condition=speaker: how many of the most frequent speakers",
    "max_speech": "condition=speaker: characters kept per speech",
    "sample_length": "characters per sample written after training",
    "data_dir": "input.txt, or a folder holding it or tinyshakespeare/input.txt (default $ZOO_DATA_DIR, else download)",
    "tfds_dir": "tensorflow-datasets data folder (default: TFDS's own)",
    "run_dir": "run folder: config, checkpoints, logs, metrics (rerun to resume)",
    "export_dir": "where the SavedModel goes (default <run_dir>/export)",
    "batch_size": "streams (condition none) or speeches (speaker) per batch",
    "seed": "seed of initialization, dropout, sampling and the speech split",
}


def add_arguments(parser):
    training.add_task_arguments(parser, GeneratorConfig, HELP, batch_size=64, learning_rate=2e-3, epochs=30, patience=3)


def from_arguments(args):
    return training.from_arguments(GeneratorConfig, args), training.from_arguments(training.TrainConfig, args)


class _ResetStates(keras.callbacks.Callback):
    """Zero the carried state at the start of every epoch: each epoch reads the streams from the top."""

    def on_epoch_begin(self, epoch, logs=None):
        models.reset_states(self.model)


class _StreamValidation(keras.callbacks.Callback):
    """``val_loss``: nats per character of the whole validation split run through as one stream."""

    def __init__(self, ids):
        super().__init__()
        self.ids = ids

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["val_loss"] = generation.stream_nll(models.inference_model(self.model), self.ids)


def _build(config, vocabulary, batch_size, num_classes=None, name=None):
    kwargs = dict(
        vocab_size=len(vocabulary),
        embedding_dim=config.embedding_dim,
        units=config.units,
        num_layers=config.num_layers,
        dropout=config.dropout,
        input_mode=config.input_mode,
        shortcut=config.shortcut,
    )
    if num_classes is None:
        return models.build_generator(config.cell, batch_size=batch_size, stateful=True, name=name or "shakespeare_char",
                                      **kwargs)
    return models.build_conditional_generator(config.cell, num_classes=num_classes, name=name or "shakespeare_speaker",
                                              **kwargs)


def _loss():
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def train(config, train_config, command=None):
    """Train, evaluate, sample and (unconditional) export. Returns the metrics dict."""
    require_tensorflow("zoo train generator")
    if train_config.strategy != "default":
        # A stateful layer has one state row per batch row; split over replicas, rows would lose their carry.
        raise ValueError(
            f"zoo train generator trains a stateful model by truncated backpropagation through time, which "
            f"the distributed loop does not support; got --strategy {train_config.strategy}. Use --strategy default."
        )
    run_dir = Path(config.run_dir)
    training.seed_everything(train_config.seed)
    source = shakespeare.source(config.data_dir or None)
    text = shakespeare.load(config.data_dir or None, config.tfds_dir or None)
    command = command or f"python -c 'zoo.tasks.generator.train({config!r}, {train_config!r})'"
    data_info = describe_source(source) if source else {"path": "tfds:tiny_shakespeare", "sha256": None}
    training.write_config(run_dir, generator=config, train=train_config, data=data_info, command=command)
    vocabulary = shakespeare.CharVocabulary.from_text(text["train"])
    (run_dir / "vocabulary.json").write_text(json.dumps(vocabulary.chars) + "\n")
    common = {
        **training.environment(),
        "data": data_info,
        "command": command,
        "seed": train_config.seed,
        "vocabulary": len(vocabulary),
    }
    if config.condition == "speaker":
        return _train_conditional(config, train_config, text, vocabulary, run_dir, common)

    inputs, targets = shakespeare.stream_batches(vocabulary.encode(text["train"]), train_config.batch_size, config.seq_len)
    batches = tf.data.Dataset.from_tensor_slices((inputs, targets)).prefetch(2)  # in order: streams continue
    model = _build(config, vocabulary, train_config.batch_size)
    callbacks = [_ResetStates(), _StreamValidation(vocabulary.encode(text["validation"]))]
    history = training.fit(model, batches, None, train_config, run_dir, _loss(), callbacks=callbacks)

    infer = models.inference_model(model)
    metrics = {
        "task": "shakespeare_char",
        "test_loss": generation.stream_nll(infer, vocabulary.encode(text["test"])),
        "validation_loss": generation.stream_nll(infer, vocabulary.encode(text["validation"])),
        "nanogpt_val_loss": generation.stream_nll(infer, vocabulary.encode(text["validation"] + text["test"])),
        "train_loss_last_epoch": history["loss"][-1],
        **training.epoch_summary(history, train_config.monitor),
        "parameters": model.count_params(),
        **common,
    }
    metrics["samples"] = {
        f"temperature {t}": generation.generate(model, vocabulary, "ROMEO:\n", config.sample_length, t, seed=train_config.seed)
        for t in (0.5, 0.8)
    }
    export.write_metrics(run_dir, metrics)
    export_dir = Path(config.export_dir or run_dir / "export")
    files = {"config.json": json.loads((run_dir / "config.json").read_text())}
    export.export_char_generator(infer, vocabulary.chars, export_dir, extra_files=files)
    metrics["generate_chars_per_second"] = export.generation_speed(export_dir)  # measured on the export itself
    return export.finish(run_dir, export_dir, metrics, lambda m: model_card(config, train_config, m))


def speaker_data(text, speakers, max_speech):
    """(speaker names, speaker ids, speeches) of the ``speakers`` most frequent speakers of ``text``."""
    pairs = shakespeare.speeches(text)
    names, counts = np.unique([name for name, _ in pairs], return_counts=True)
    top = [str(n) for n in names[np.argsort(-counts, kind="stable")][:speakers]]
    kept = [(top.index(name), speech[:max_speech]) for name, speech in pairs if name in top]
    return top, np.array([k for k, _ in kept], np.int32), [s for _, s in kept]


def _speech_dataset(vocabulary, ids, speeches, batch_size, shuffle, seed):
    longest = max(len(s) for s in speeches) + 1
    padded = np.zeros((len(speeches), longest), np.int32)
    for row, speech in enumerate(speeches):
        encoded = vocabulary.encode("\n" + speech)  # a newline starts every speech: the first step's input
        padded[row, : len(encoded)] = encoded
    data = tf.data.Dataset.from_tensor_slices(({"condition": ids, "ids": padded[:, :-1]}, padded[:, 1:]))
    if shuffle:
        data = data.shuffle(len(speeches), seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).prefetch(2)


def _train_conditional(config, train_config, text, vocabulary, run_dir, common):
    names, ids, speeches = speaker_data(text["train"], config.speakers, config.max_speech)
    order = np.random.default_rng(train_config.seed).permutation(len(speeches))
    n_val = max(1, len(order) // 10)
    split = {"validation": np.sort(order[:n_val]), "train": np.sort(order[n_val:])}
    batches = {
        k: _speech_dataset(vocabulary, ids[i], [speeches[j] for j in i], train_config.batch_size, k == "train",
                           train_config.seed)
        for k, i in split.items()
    }
    model = _build(config, vocabulary, None, num_classes=len(names))
    history = training.fit(model, batches["train"], batches["validation"], train_config, run_dir, _loss())
    metrics = {
        "task": "shakespeare_speaker",
        "speakers": names,
        "speeches": {k: len(v) for k, v in split.items()},
        "validation_loss": float(model.evaluate(batches["validation"], verbose=0)),
        "validation_loss_other_speakers": _other_speakers_loss(model, vocabulary, ids, speeches, split, len(names),
                                                               train_config),
        **training.epoch_summary(history, train_config.monitor),
        "parameters": model.count_params(),
        **common,
        "samples": {
            name: generation.generate(model, vocabulary, "\n", config.sample_length, 0.7, seed=train_config.seed,
                                      condition=k)
            for k, name in enumerate(names)
        },
    }
    export.write_metrics(run_dir, metrics)
    (run_dir / "samples.json").write_text(json.dumps(metrics["samples"], indent=2) + "\n")
    return metrics


def _other_speakers_loss(model, vocabulary, ids, speeches, split, speakers, train_config):
    """Validation loss with every speech conditioned on a speaker who did not say it, averaged over the
    ``speakers - 1`` shifts ``(id + s) % speakers``: how much the true speaker is worth is the
    difference from the validation loss."""
    rows = split["validation"]
    losses = [
        float(model.evaluate(_speech_dataset(vocabulary, (ids[rows] + shift) % speakers, [speeches[j] for j in rows],
                                             train_config.batch_size, False, train_config.seed), verbose=0))
        for shift in range(1, speakers)
    ]
    return sum(losses) / len(losses)


def card_use(vocabulary, mixture=False):
    """The model card's "Use" section: loading, both signatures, and their inputs and outputs."""
    scaled = "the mixture's log-probabilities" if mixture else "the logits"
    return f"""## Use
```python
import tensorflow as tf
model = tf.saved_model.load("saved_models/shakespeare_char")
out = model.signatures["generate"](prompt=tf.constant("ROMEO:\\n"), length=tf.constant(200),
                                   temperature=tf.constant(0.8), seed=tf.constant(0))
print(out["text"].numpy().decode())          # the continuation; same seed, same text
model.signatures["score"](text=tf.constant(["To be, or not to be"]))["nll"]  # nats per character
```
Or `zoo generate "ROMEO:" --length 200 --temperature 0.8 --seed 0`.

- `generate`: `prompt` (tf.string scalar), `length` (tf.int32 scalar, clipped to [0, {generation.MAX_LENGTH}]),
  `temperature` (tf.float32 scalar; 0 or less is greedy; it divides {scaled}), `seed` (tf.int32 scalar) ->
  `text` (tf.string scalar, the continuation only). Prompt characters outside the {vocabulary - 1}-character
  vocabulary are skipped; an empty prompt starts from a newline.
- `score`: `text` (tf.string [None]) -> `nll` (tf.float32 [None]): mean nats per character of characters
  2..n given the ones before{", under the mixture" if mixture else ""} (unknown characters skipped; NaN for fewer than two characters).
"""


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


def model_card(config, train_config, metrics):
    """The exported model's README, every figure taken from ``metrics``."""
    shortcut = (
        f" over [h_t; x_t], the last layer's output beside the {config.input_mode} input character (shortcut "
        "connections from the input to the output layer)"
        if config.shortcut
        else ""
    )
    samples = "\n\n".join(f"{k}, prompt `ROMEO:\\n`:\n```\nROMEO:\n{v}\n```" for k, v in metrics["samples"].items())
    return f"""# Tiny Shakespeare character model: {config.num_layers} x {config.cell} {config.units}

A TensorFlow SavedModel that continues text one character at a time in the style of the Tiny
Shakespeare corpus, and scores how Shakespeare-like a text is. No zoo code is needed to run it.

{card_use(metrics["vocabulary"])}
## Results (measured by the command below)
| split (TFDS `tiny_shakespeare`) | loss, nats/char |
|---|---|
| test (last 5%) | **{metrics["test_loss"]:.4f}** |
| validation (90-95%) | {metrics["validation_loss"]:.4f} |
| nanoGPT's validation split (last 10%) | {metrics["nanogpt_val_loss"]:.4f} |

Each split is run through the model as one stream from a zero state. References: nanoGPT's
character transformer reaches 1.4697 on the last 10% (GPU configuration) and 1.88 (CPU configuration).
Generation from the SavedModel: {metrics["generate_chars_per_second"]:,.0f} characters per second
(one stream, {metrics["hardware"]}).

## Model
- {config.input_mode} input ({metrics["vocabulary"]} ids: 0 reserved, then the training split's characters) ->
  {config.num_layers} x `zoo.cells` `{config.cell}` of {config.units} units (dropout {config.dropout} after each) -> Dense logits{shortcut}.
  Parameters: {metrics["parameters"]:,}.
- Training: stateful truncated BPTT, {train_config.batch_size} contiguous streams x {config.seq_len} characters
  per batch, state carried across batches and reset each epoch; Adam (learning rate {train_config.learning_rate},
  clipnorm {train_config.clipnorm}); best of {metrics["epochs_run"]} epochs by validation loss (epoch {metrics["best_epoch"]}).
- Training time: {metrics["training_seconds"] / 60:.1f} minutes ({metrics["seconds_per_epoch"]:.0f} s per epoch, validation
  included) on {metrics["hardware"]}; TensorFlow {metrics["versions"]["tensorflow"]}, Keras {metrics["versions"]["keras"]}.

{card_data(metrics)}
## Reproduce
```
{metrics["command"]}
```
Seed {metrics["seed"]}.

## Samples (seed {metrics["seed"]})
{samples}

{card_limits(metrics)}"""
