"""A character language model (one-to-many) of your text or Tiny Shakespeare, or one conditioned on the speaker.

--data is any UTF-8 text file or a folder of .txt files (split in order: the last --test-split of the
characters for testing, the --validation-split before it for validation), or `tiny_shakespeare` (TFDS's
90/5/5 split). Unconditional (--condition none): stateful truncated backpropagation through time over
batch-size contiguous streams of the training split; validation and test losses (nats per character)
from running each whole split through the model as one stream; samples; a SavedModel with `generate`
and `score` signatures and its model card. Conditional (--condition speaker): every speech ("NAME:" on
a line of its own) of the most frequent speakers is a sequence whose initial state is set by the
speaker's id; samples for each speaker go to samples.json. Interrupt at any time and rerun the same
command to resume.
"""

import dataclasses
import json
from pathlib import Path

import numpy as np

# TensorFlow, Keras and the zoo modules that import them load in the steps that use them: `zoo train generator
# --help` reads GeneratorConfig without them (issue 23).
from zoo import cells
from zoo.data import files, registry, shakespeare
from zoo.tasks.base import Data, Task, card_sections, data_section, option
from zoo.validation import one_of, positive_int, rate

CONDITIONS = ("none", "speaker")


@dataclasses.dataclass(frozen=True)
class GeneratorConfig:
    """What character model to train, on which text, and where to put it."""

    data: str = option("tiny_shakespeare", "`tiny_shakespeare`, or your text: a UTF-8 text file or a folder of .txt files")
    validation: str = option("", "a separate validation text file (default: cut from --data)")
    test: str = option("", "a separate test text file (default: cut from --data)")
    validation_split: float = option(0.05, "fraction of --data's characters (before the test part) for validation")
    test_split: float = option(0.05, "fraction of --data's characters (its end) for testing")
    cell: str = option("gru", f"recurrent cell, one of {cells.names()}")
    units: int = option(512, "units per recurrent layer")
    num_layers: int = option(2, "stacked recurrent layers")
    embedding_dim: int = option(64, "character embedding size (input-mode embedding)")
    input_mode: str = option("embedding", "embedding, or onehot characters straight into the first cell")
    shortcut: bool = option(False, "also feed the encoded input character straight to the output layer, beside the "
                            "recurrent output (true/false)")
    dropout: float = option(0.2, "dropout rate after each recurrent layer")
    seq_len: int = option(100, "truncated BPTT length: characters per stream per batch")
    condition: str = option("none", "none: one stream language model; speaker: speeches conditioned on who speaks")
    speakers: int = option(8, "condition=speaker: how many of the most frequent speakers")
    max_speech: int = option(400, "condition=speaker: characters kept per speech")
    sample_length: int = option(300, "characters per sample written after training")
    prompt: str = option("", "prompt of the samples written after training (default: ROMEO:\\n for "
                         "tiny_shakespeare, else a newline)")
    data_dir: str = option("", "tiny_shakespeare: input.txt, or a folder holding it or tinyshakespeare/input.txt "
                           "(default $ZOO_DATA_DIR, else download)")
    tfds_dir: str = option("", "tiny_shakespeare: tensorflow-datasets data folder (default: TFDS's own)")
    run_dir: str = option("runs/generator", "run folder: config, checkpoints, logs, metrics (rerun to resume)")
    export_dir: str = option("", "where the SavedModel goes (default <run_dir>/export; unconditional only)")

    def __post_init__(self):
        from zoo.models import INPUT_MODES

        one_of("cell", self.cell, cells.names())
        one_of("input_mode", self.input_mode, INPUT_MODES)
        one_of("condition", self.condition, CONDITIONS)
        for name in ("units", "num_layers", "embedding_dim", "seq_len", "speakers", "max_speech", "sample_length"):
            positive_int(name, getattr(self, name))
        rate("dropout", self.dropout)
        rate("validation_split", self.validation_split)
        rate("test_split", self.test_split)

    def model_options(self, vocab_size):
        """The keyword arguments the builders share (``zoo.models.generator``)."""
        return dict(cell=self.cell, vocab_size=vocab_size, embedding_dim=self.embedding_dim, units=self.units,
                    num_layers=self.num_layers, dropout=self.dropout, input_mode=self.input_mode,
                    shortcut=self.shortcut)


def build(config, vocabulary, batch_size, num_classes=None, name=None):
    """The training model: stateful over ``batch_size`` streams, or conditioned on ``num_classes`` speakers."""
    from zoo.models import generator as models

    if num_classes is None:
        return models.build_generator(batch_size=batch_size, stateful=True, name=name or "shakespeare_char",
                                      **config.model_options(len(vocabulary)))
    return models.build_conditional_generator(num_classes=num_classes, name=name or "shakespeare_speaker",
                                              **config.model_options(len(vocabulary)))


def _user(config, seed):
    """A user's text: ``({"train", "validation", "test"} -> text, record of the data)``."""
    data = files.load(files.read_text, config.data, validation=config.validation or None, test=config.test or None,
                      validation_split=config.validation_split, test_split=config.test_split, seed=seed,
                      named=list(registry.named("generator")))
    for line in data.summary():  # every split and its size, before training
        print(line)
    return dict(data.splits), {"dataset": "files", **data.describe()}


# A user's files, as the named datasets (zoo.data.registry) are: what --data is when it names none of them.
FILES = registry.NamedDataset("", "generator", _user, "generator", example="\n")


def dataset(config):
    """The named dataset --data names, else a user's files."""
    return registry.find("generator", config.data) or FILES


def _loss():
    import keras

    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


class Generator(Task):
    """Character language model (one-to-many) of your text (a file or folder of .txt) or tiny_shakespeare."""

    name = "generator"
    Config = GeneratorConfig
    train_defaults = dict(batch_size=64, learning_rate=2e-3, epochs=30, patience=3)
    report = ("test_loss", "validation_loss", "nanogpt_val_loss", "best_epoch", "seconds_per_epoch", "samples")
    # A stateful layer has one state row per batch row; split over replicas, rows would lose their carry:
    # truncated backpropagation through time runs on one device.
    strategies = ("default",)

    def resolve(self, config, train_config):
        if train_config.strategy != "default":
            raise ValueError(
                f"zoo train generator trains a stateful model by truncated backpropagation through time, which "
                f"the distributed loop does not support; got --strategy {train_config.strategy}. Use --strategy default."
            )
        return config, train_config

    def load(self, config, train_config, run_dir):
        import tensorflow as tf

        text, info = dataset(config).load(config, train_config.seed)
        vocabulary = shakespeare.CharVocabulary.from_text(text["train"])
        Path(run_dir).mkdir(parents=True, exist_ok=True)
        (Path(run_dir) / "vocabulary.json").write_text(json.dumps(vocabulary.chars) + "\n")
        parts = dict(text=text, vocabulary=vocabulary)
        if config.condition == "speaker":
            names, ids, speeches = speaker_data(text["train"], config.speakers, config.max_speech)
            if not speeches:
                raise ValueError(f"--condition speaker found no speeches in {config.data}: it looks for a speaker's "
                                 "name and a colon on a line of their own ('ROMEO:'), the speech on the lines after.")
            order = np.random.default_rng(train_config.seed).permutation(len(speeches))
            n_val = max(1, len(order) // 10)
            split = {"validation": np.sort(order[:n_val]), "train": np.sort(order[n_val:])}
            batches = {
                k: _speech_dataset(vocabulary, ids[i], [speeches[j] for j in i], train_config.batch_size,
                                   k == "train", train_config.seed)
                for k, i in split.items()
            }
            parts.update(names=names, ids=ids, speeches=speeches, split=split, batches=batches)
            return Data(info, batches["train"], batches["validation"], parts)
        inputs, targets = shakespeare.stream_batches(vocabulary.encode(text["train"]), train_config.batch_size,
                                                     config.seq_len)
        batches = tf.data.Dataset.from_tensor_slices((inputs, targets)).prefetch(2)  # in order: streams continue
        return Data(info, batches, None, parts)

    def build(self, config, data, train_config, run_dir):
        if config.condition == "speaker":
            return build(config, data.vocabulary, None, num_classes=len(data.names))
        return build(config, data.vocabulary, train_config.batch_size, name=dataset(config).keras_name(config))

    def loss(self, config, data):
        return _loss()

    def callbacks(self, config, data):
        from zoo.generation import ResetStates, StreamValidation

        if config.condition == "speaker":
            return []
        return [ResetStates(), StreamValidation(data.vocabulary.encode(data.text["validation"]))]

    def evaluate(self, config, train_config, model, data, history, run_dir, strategy):
        from zoo import generation
        from zoo.models import generator as models

        vocabulary, text = data.vocabulary, data.text
        common = {"vocabulary": len(vocabulary)}
        if config.condition == "speaker":
            metrics = {
                "task": dataset(config).task_name("speaker", "generator_speaker"),
                "speakers": data.names,
                "speeches": {k: len(v) for k, v in data.split.items()},
                "validation_loss": float(model.evaluate(data.batches["validation"], verbose=0)),
                "validation_loss_other_speakers": _other_speakers_loss(model, vocabulary, data.ids, data.speeches,
                                                                       data.split, len(data.names), train_config),
                **common,
                "samples": {
                    name: generation.generate(model, vocabulary, "\n", config.sample_length, 0.7,
                                              seed=train_config.seed, condition=k)
                    for k, name in enumerate(data.names)
                },
            }
            (Path(run_dir) / "samples.json").write_text(json.dumps(metrics["samples"], indent=2) + "\n")
            return metrics
        infer = models.inference_model(model)

        def score(text_):  # nats per character, the text run through as one stream
            return generation.stream_nll(infer, vocabulary.encode(text_))

        metrics = {
            "task": dataset(config).task_name("none", "generator"),
            "test_loss": score(text["test"]),
            "validation_loss": score(text["validation"]),
            **dataset(config).extra_metrics(score, text),
        }
        metrics["train_loss_last_epoch"] = history["loss"][-1]
        metrics.update(common)
        prompt = sample_prompt(config)
        metrics["prompt"] = prompt
        metrics["samples"] = {
            f"temperature {t}": generation.generate(model, vocabulary, prompt, config.sample_length, t,
                                                    seed=train_config.seed)
            for t in (0.5, 0.8)
        }
        return metrics

    def export(self, config, train_config, model, data, metrics, export_dir, files):
        from zoo import export
        from zoo.models import generator as models

        if config.condition == "speaker":
            return False
        export.export_char_generator(models.inference_model(model), data.vocabulary.chars, export_dir,
                                     extra_files=files)
        metrics["generate_chars_per_second"] = export.generation_speed(export_dir)  # measured on the export itself

    def model_card(self, config, train_config, metrics, export_dir):
        return model_card(config, train_config, metrics, export_dir)

    def serves(self, signatures):
        return "generate" in signatures

    def predict(self, signatures, texts, options):
        import tensorflow as tf

        for k, prompt in enumerate(texts):
            out = signatures["generate"](prompt=tf.constant(prompt), length=tf.constant(options.length, tf.int32),
                                         temperature=tf.constant(options.temperature, tf.float32),
                                         seed=tf.constant(options.seed + k, tf.int32))
            print(prompt + out["text"].numpy().decode("utf-8"))


TASK = Generator()


def sample_prompt(config):
    """The prompt of the samples after training: --prompt, else the named dataset's example (``ROMEO:\\n`` for
    Tiny Shakespeare), else a newline."""
    return config.prompt.replace("\\n", "\n") or dataset(config).example


def speaker_data(text, speakers, max_speech):
    """(speaker names, speaker ids, speeches) of the ``speakers`` most frequent speakers of ``text``."""
    pairs = shakespeare.speeches(text)
    names, counts = np.unique([name for name, _ in pairs], return_counts=True)
    top = [str(n) for n in names[np.argsort(-counts, kind="stable")][:speakers]]
    kept = [(top.index(name), speech[:max_speech]) for name, speech in pairs if name in top]
    return top, np.array([k for k, _ in kept], np.int32), [s for _, s in kept]


def _speech_dataset(vocabulary, ids, speeches, batch_size, shuffle, seed):
    import tensorflow as tf

    longest = max(len(s) for s in speeches) + 1
    padded = np.zeros((len(speeches), longest), np.int32)
    for row, speech in enumerate(speeches):
        encoded = vocabulary.encode("\n" + speech)  # a newline starts every speech: the first step's input
        padded[row, : len(encoded)] = encoded
    data = tf.data.Dataset.from_tensor_slices(({"condition": ids, "ids": padded[:, :-1]}, padded[:, 1:]))
    if shuffle:
        data = data.shuffle(len(speeches), seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).prefetch(2)


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


def card_use(vocabulary, mixture=False, path="saved_models/shakespeare_char", prompt="ROMEO:\n",
             example="To be, or not to be"):
    """The model card's "Use" section: loading, both signatures, and their inputs and outputs."""
    from zoo import generation

    scaled = "the mixture's log-probabilities" if mixture else "the logits"
    shortcut = ('`zoo generate "ROMEO:" --length 200 --temperature 0.8 --seed 0`' if path == "saved_models/shakespeare_char"
                else f'`zoo predict {path} {json.dumps(prompt.rstrip(chr(10)) or "The")} --length 200`')
    return f"""## Use
```python
import tensorflow as tf
model = tf.saved_model.load("{path}")
out = model.signatures["generate"](prompt=tf.constant({json.dumps(prompt)}), length=tf.constant(200),
                                   temperature=tf.constant(0.8), seed=tf.constant(0))
print(out["text"].numpy().decode())          # the continuation; same seed, same text
model.signatures["score"](text=tf.constant([{json.dumps(example)}]))["nll"]  # nats per character
```
Or {shortcut}.

- `generate`: `prompt` (tf.string scalar), `length` (tf.int32 scalar, clipped to [0, {generation.MAX_LENGTH}]),
  `temperature` (tf.float32 scalar; 0 or less is greedy; it divides {scaled}), `seed` (tf.int32 scalar) ->
  `text` (tf.string scalar, the continuation only). Prompt characters outside the {vocabulary - 1}-character
  vocabulary are skipped; an empty prompt starts from a newline.
- `score`: `text` (tf.string [None]) -> `nll` (tf.float32 [None]): mean nats per character of characters
  2..n given the ones before{", under the mixture" if mixture else ""} (unknown characters skipped; NaN for fewer than two characters).
"""


def model_card(config, train_config, metrics, export_dir):
    """The exported model's README: the sections of a user's text, or those its named dataset replaces
    them with (title, intro, use, results, data, limits); every figure taken from ``metrics``."""
    from zoo import export

    shortcut = (
        f" over [h_t; x_t], the last layer's output beside the {config.input_mode} input character (shortcut "
        "connections from the input to the output layer)"
        if config.shortcut
        else ""
    )
    prompt = metrics.get("prompt", "ROMEO:\n")
    samples = "\n\n".join(f"{k}, prompt `{json.dumps(prompt)[1:-1]}`:\n```\n{prompt}{v}\n```"
                           for k, v in metrics["samples"].items())
    name = Path(config.data).name
    sections = card_sections(
        dataset(config).card(config, train_config, metrics, export_dir),
        title=lambda: f"Character model of {name}: {config.num_layers} x {config.cell} {config.units}",
        intro=lambda: f"A TensorFlow SavedModel that continues text one character at a time in the style of `{name}`, "
                      "and\nscores how alike a text is (nats per character). No zoo code is needed to run it.",
        use=lambda: card_use(metrics["vocabulary"], path=Path(export_dir).as_posix(), prompt=prompt,
                             example=metrics["samples"]["temperature 0.5"][:40] or "text"),
        results=lambda: f"""| split | loss, nats/char |
|---|---|
| test | **{metrics["test_loss"]:.4f}** |
| validation | {metrics["validation_loss"]:.4f} |

Each split is run through the model as one stream from a zero state.""",
        data=lambda: data_section(metrics["data"]) + "Vocabulary from the training split only.\n",
        limits=lambda: f"""## Intended use and limits
It imitates the surface form of `{name}` ({metrics["data"]["characters"]["train"]:,} training characters) without meaning. It
knows only these {metrics["vocabulary"] - 1} characters; others in a prompt are skipped.
""",
    )
    title, intro, use, results, data, limits = (sections[k] for k in ("title", "intro", "use", "results", "data",
                                                                        "limits"))
    return f"""# {title}

{intro}

{use}
## Results (measured by the command below)
{results}
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

{data}
## Reproduce
```
{metrics["command"]}
```
Seed {metrics["seed"]}.

## Samples (seed {metrics["seed"]})
{samples}

{limits}
{export.serving_limits("generator")}"""
