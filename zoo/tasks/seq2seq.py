"""Sequence to sequence (many-to-many): English->Spanish translation, or addition ("123+45" -> "168").

Train with teacher forcing on the shared trainer, decode the test split without it (greedy and beam
search), score it (translation: sacreBLEU and chrF against all reference translations of each
English sentence, and against each pair on its own; addition: exact match), draw an attention
heat-map, and export a SavedModel that maps raw text to text, with its model card. Interrupt at
any time and rerun the same command to resume.
"""

import dataclasses
import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from zoo import cells, decoding, distributed, export, training
from zoo.backend import require_tensorflow
from zoo.data import addition, describe_source, text, translation
from zoo.models import seq2seq as models
from zoo.validation import one_of, positive_int, rate

TASKS = ("translate", "addition")
ATTENTION = ("none", "bahdanau", "luong")


@dataclasses.dataclass(frozen=True)
class Seq2SeqConfig:
    """What encoder-decoder to train, on which task, and where to put it."""

    task: str = "translate"
    cell: str = "gru"
    units: int = 256
    num_layers: int = 1
    embedding_dim: int = 128
    bidirectional: bool = True
    attention: str = "luong"
    dropout: float = 0.2
    tie_embeddings: bool = True
    source_vocab: int = 12_000
    target_vocab: int = 16_000
    max_length: int = 50
    beam_width: int = 4
    length_penalty: float = 0.6
    train_problems: int = 100_000
    data_dir: str = ""  # empty: $ZOO_DATA_DIR, else download (translate)
    run_dir: str = "runs/seq2seq"
    export_dir: str = ""  # empty: <run_dir>/export

    def __post_init__(self):
        one_of("task", self.task, TASKS)
        one_of("cell", self.cell, cells.names())
        one_of("attention", self.attention, ATTENTION)
        for name in ("units", "num_layers", "embedding_dim", "source_vocab", "target_vocab", "max_length",
                     "beam_width", "train_problems"):
            positive_int(name, getattr(self, name))
        rate("dropout", self.dropout)
        if self.bidirectional and self.units % 2:
            raise ValueError(f"a bidirectional encoder splits `units` in two; got odd units={self.units}.")
        if self.length_penalty < 0:
            raise ValueError(f"`length_penalty` must be >= 0; got {self.length_penalty!r}.")


REPORT = ("test_bleu", "test_bleu_greedy", "test_chrf", "test_exact_match", "test_exact_match_greedy", "best_epoch",
          "seconds_per_epoch")
HELP = {
    "task": "translate (English->Spanish, Tatoeba) or addition ('a+b' -> 'c', a, b < 1000)",
    "cell": f"recurrent cell of encoder and decoder, one of {cells.names()}",
    "units": "decoder units (the encoder's too, split between directions when bidirectional)",
    "num_layers": "stacked recurrent layers in the encoder and in the decoder",
    "embedding_dim": "token embedding size",
    "bidirectional": "bidirectional encoder",
    "attention": "none, bahdanau (additive) or luong (multiplicative) attention",
    "dropout": "dropout rate after embeddings and recurrent layers",
    "tie_embeddings": "the output layer shares the target embedding matrix",
    "source_vocab": "translate: source vocabulary size, reserved ids included",
    "target_vocab": "translate: target vocabulary size, reserved ids included",
    "max_length": "tokens per side in training (longer pairs are left out of training only)",
    "beam_width": "beam width of the exported model and of the beam-search scores (1: greedy)",
    "length_penalty": "beam search length normalisation exponent (Wu et al. 2016; 0: none)",
    "train_problems": "addition: training problems",
    "data_dir": "translate: spa.txt or its folder (default $ZOO_DATA_DIR, else download)",
    "run_dir": "run folder: config, checkpoints, logs, metrics (rerun to resume)",
    "export_dir": "where the SavedModel goes (default <run_dir>/export)",
    "seed": "seed of initialization, dropout, shuffling and the data split",
}
SEPARATOR = {"translate": " ", "addition": ""}
DETOKENIZE = {"translate": translation.detokenize, "addition": None}


def add_arguments(parser):
    training.add_task_arguments(parser, Seq2SeqConfig, HELP, batch_size=64, learning_rate=1e-3, epochs=20, patience=3)


def from_arguments(args):
    return training.from_arguments(Seq2SeqConfig, args), training.from_arguments(training.TrainConfig, args)


def load_data(config, seed):
    """``(splits, source description)`` for the configured task."""
    if config.task == "addition":
        return addition.problems(train=config.train_problems, seed=seed), {"path": "generated", "sha256": None}
    path = translation.source(config.data_dir or None)
    return translation.load(config.data_dir or None, seed=seed), describe_source(path)


def make_vectorizers(config, train_pairs, run_dir):
    """Source and target vectorizers, adapted on training pairs once and reused when a run resumes."""
    saved = Path(run_dir) / "vocabulary.json"
    if config.task == "addition":
        kind = dict(standardize=None, split="character")
        specs = {"source": kind, "target": kind}
    else:
        specs = {"source": dict(standardize=translation.standardize_source, split="whitespace"),
                 "target": dict(standardize=translation.standardize_target, split="whitespace")}
    if saved.exists():
        vocab = json.loads(saved.read_text())
        return {side: _fixed_vectorizer(vocab[side], name=f"{side}_vectorizer", **specs[side]) for side in specs}
    sizes = {"source": config.source_vocab, "target": config.target_vocab}
    texts = {"source": train_pairs.source, "target": train_pairs.target}
    out = {side: text.make_sequence_vectorizer(texts[side], sizes[side], name=f"{side}_vectorizer", **specs[side])
           for side in specs}
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps({side: [str(t) for t in v.get_vocabulary()] for side, v in out.items()}) + "\n")
    return out


def _fixed_vectorizer(vocabulary, standardize, split, name):
    import keras

    return keras.layers.TextVectorization(standardize=standardize, split=split, vocabulary=vocabulary[2:], name=name)


def encode(vectorizers, pairs, max_length, drop_long=False):
    """``(source ids, target ids)`` arrays; with ``drop_long``, pairs over ``max_length`` tokens are left out."""
    source = text.vectorize(vectorizers["source"], pairs.source, max_length + 1)
    target = text.encode_targets(vectorizers["target"], pairs.target, max_length + 1)
    if drop_long:
        keep = ((source != 0).sum(1) <= max_length) & ((target != 0).sum(1) <= max_length + 2)
        source, target = source[keep], target[keep]
    return source[:, :max_length], target[:, : max_length + 2]


def build(config, vectorizers):
    return models.build_seq2seq(
        config.cell,
        source_vocab_size=vectorizers["source"].vocabulary_size(),
        target_vocab_size=vectorizers["target"].vocabulary_size(),
        embedding_dim=config.embedding_dim,
        units=config.units,
        num_layers=config.num_layers,
        bidirectional=config.bidirectional,
        attention=None if config.attention == "none" else config.attention,
        dropout=config.dropout,
        tie_embeddings=config.tie_embeddings,
        name=f"{config.task}_seq2seq",
    )


class Translator:
    """Raw source texts -> target texts with a trained model (the Python twin of the exported signature)."""

    def __init__(self, model, vectorizers, task, max_length=100):
        self.encoder, self.decoder = models.encoder_model(model), models.decoder_model(model)
        self.vectorizers, self.task, self.max_length = vectorizers, task, max_length
        self.vocabulary = tf.constant([""] + [str(t) for t in vectorizers["target"].get_vocabulary()[1:]])
        self._decode = {}

    def ids(self, texts, beam_width=1, length_penalty=0.0):
        source = export.text_to_ids(self.vectorizers["source"], tf.constant(list(texts)), self.max_length)
        if beam_width not in self._decode:
            self._decode[beam_width] = tf.function(
                lambda s, lp: decoding.decode(self.encoder, self.decoder, s, text.START_ID, text.END_ID,
                                              decoding.max_decode_length(s), beam_width, lp),
                reduce_retracing=True,
            )
        return self._decode[beam_width](source, tf.constant(length_penalty, tf.float32))

    def __call__(self, texts, beam_width=1, length_penalty=0.0, batch_size=256):
        out = []
        for start in range(0, len(texts), batch_size):
            ids = self.ids(texts[start : start + batch_size], beam_width, length_penalty)
            texts_out = decoding.ids_to_text(self.vocabulary, ids, SEPARATOR[self.task], DETOKENIZE[self.task])
            out += [t.decode("utf-8") for t in texts_out.numpy()]
        return out


def score_translations(hypotheses, references):
    """sacreBLEU and chrF of ``hypotheses`` against lists of references (any number per hypothesis)."""
    import sacrebleu

    # sacreBLEU wants one stream per reference position: fill the gaps of sentences with fewer
    # references by repeating their first (a duplicate reference changes neither score).
    most = max(len(r) for r in references)
    streams = [[refs[i] if i < len(refs) else refs[0] for refs in references] for i in range(most)]
    bleu, chrf = sacrebleu.BLEU(), sacrebleu.CHRF()
    return {"bleu": bleu.corpus_score(hypotheses, streams).score, "chrf": chrf.corpus_score(hypotheses, streams).score,
            "bleu_signature": str(bleu.get_signature())}


def evaluate(translator, pairs, task, beam_width, length_penalty):
    """Test scores with greedy and with beam search, and a few examples."""
    if task == "addition":
        out = {}
        for name, width in (("greedy", 1), ("beam", beam_width)):
            answers = translator(pairs.source, width, length_penalty)
            out[f"test_exact_match_{name}"] = float(np.mean([a == b for a, b in zip(answers, pairs.target)]))
        out["test_exact_match"] = out["test_exact_match_beam"]
        out["examples"] = [{"source": s, "output": o, "reference": r}
                           for s, o, r in zip(pairs.source[:8], translator(pairs.source[:8]), pairs.target[:8])]
        return out
    sources, references = pairs.references()
    out = {"test_sentences": len(sources), "test_pairs": len(pairs)}
    for name, width in (("greedy", 1), ("beam", beam_width)):
        hypotheses = translator(sources, width, length_penalty)
        multi = score_translations(hypotheses, references)
        by_source = dict(zip(sources, hypotheses))
        single = score_translations([by_source[s] for s in pairs.source], [[t] for t in pairs.target])
        out[f"test_bleu_{name}"], out[f"test_chrf_{name}"] = multi["bleu"], multi["chrf"]
        out[f"test_bleu_single_reference_{name}"] = single["bleu"]
        out[f"test_chrf_single_reference_{name}"] = single["chrf"]
        if name == "beam":
            out["examples"] = [{"source": s, "output": by_source[s], "references": r}
                               for s, r in list(zip(sources, references))[:10]]
    out["test_bleu"], out["test_chrf"] = out["test_bleu_beam"], out["test_chrf_beam"]
    out["bleu_signature"] = multi["bleu_signature"]
    return out


def attention_map(translator, sentence, path):
    """Translate ``sentence`` greedily and draw where each output token attended; None without attention."""
    model_has_attention = any(layer.name == "attention" for layer in translator.decoder.layers)
    if not model_has_attention:
        return None
    from zoo import plots

    source = export.text_to_ids(translator.vectorizers["source"], tf.constant([sentence]), translator.max_length)
    output = translator.ids([sentence])[0].numpy()
    output = output[output > 0]
    memory, *states = translator.encoder(source, training=False)
    memory = tf.identity(memory)  # without its Keras mask, as in decoding.decode
    ids = tf.constant([[text.START_ID, *output]], tf.int32)  # teacher-forcing its own output = free running
    weights = translator.decoder([ids, memory, source, *states], training=False)[-1][0].numpy()
    vocab = {s: translator.vectorizers[s].get_vocabulary() for s in ("source", "target")}
    source_tokens = [vocab["source"][i] for i in source[0].numpy() if i > 0]
    target_tokens = [vocab["target"][i] for i in output] + ["[end]"]
    plots.plot_attention(source_tokens, target_tokens, weights[:, : len(source_tokens)], path,
                         title=f"{translator.task}: {sentence}")
    return str(path)


def train(config, train_config, command=None):
    """Train, evaluate on the test split, draw attention, export. Returns the metrics dict.

    With ``train_config.strategy`` "multi_worker", every machine runs this with the same arguments;
    only the chief evaluates, writes ``config.run_dir`` and exports (the others return after training).
    """
    require_tensorflow("zoo train seq2seq")
    strategy = training.make_strategy(train_config)  # first: before any TensorFlow op
    with training.task_folder(strategy, config.run_dir) as run_dir:
        return _train(config, train_config, command, strategy, run_dir)


def _train(config, train_config, command, strategy, run_dir):
    training.seed_everything(train_config.seed)
    splits, data_info = load_data(config, train_config.seed)
    command = command or f"python -c 'zoo.tasks.seq2seq.train({config!r}, {train_config!r})'"
    training.write_config(run_dir, seq2seq=config, train=train_config, data=data_info, command=command)
    vectorizers = make_vectorizers(config, splits["train"], run_dir)
    batches = {
        name: text.pairs_dataset(*encode(vectorizers, splits[name], config.max_length, drop_long=True),
                                 train_config.batch_size, shuffle=name == "train", seed=train_config.seed)
        for name in ("train", "validation")
    }
    with distributed.scope(strategy):
        model = build(config, vectorizers)
    history = training.fit(model, batches["train"], batches["validation"], train_config, run_dir, models.loss(),
                           metrics=[models.MaskedAccuracy()], strategy=strategy)
    if not training.is_chief(strategy):  # decoding needs no other worker: the chief evaluates alone
        return training.epoch_summary(history, train_config.monitor)

    translator = Translator(model, vectorizers, config.task)
    metrics = {
        "task": config.task,
        **evaluate(translator, splits["test"], config.task, config.beam_width, config.length_penalty),
        "validation_token_accuracy": float(history["val_token_accuracy"][int(np.argmin(history["val_loss"]))]),
        **training.epoch_summary(history, train_config.monitor),
        "pairs": {name: len(pairs) for name, pairs in splits.items()},
        "vocabulary": {side: v.vocabulary_size() for side, v in vectorizers.items()},
        "parameters": model.count_params(),
        **training.environment(),
        "data": data_info,
        "command": command,
        "seed": train_config.seed,
    }
    example = "Where is the train station?" if config.task == "translate" else "478+925"
    metrics["attention_plot"] = attention_map(translator, example, run_dir / "attention.png")
    export.write_metrics(run_dir, metrics)

    export_dir = Path(config.export_dir or run_dir / "export")
    files = {"config.json": json.loads((run_dir / "config.json").read_text())}
    export.export_seq2seq(
        model, vectorizers["source"], translator.vocabulary, export_dir,
        signatures=("translate", "serving_default") if config.task == "translate" else ("serving_default",),
        output_name="translation" if config.task == "translate" else "answer",
        separator=SEPARATOR[config.task], detokenize=DETOKENIZE[config.task],
        beam_width=config.beam_width, length_penalty=config.length_penalty, extra_files=files,
    )
    return export.finish(run_dir, export_dir, metrics, lambda m: model_card(config, train_config, m))


def model_card(config, train_config, metrics):
    """The exported model's README, every figure taken from ``metrics``."""
    signature = "translate" if config.task == "translate" else "serving_default"
    output = "translation" if config.task == "translate" else "answer"
    example = "Where is the train station?" if config.task == "translate" else "123+45"
    if config.task == "translate":
        limits = (f"A long input is cut: the model reads its first {export.SOURCE_TOKENS} tokens (words and punctuation "
                  "marks) and ignores the rest, so only that part is translated; `zoo translate` says so on stderr "
                  f"when it happens. Training kept pairs of at most {config.max_length} tokens per side.")
    else:
        limits = (f"Only `a+b` with 0 <= a, b < {addition.MAX_VALUE} was trained on: the answer to anything else means "
                  "nothing, and `zoo translate` refuses it.")
    model = (f"{'bidirectional ' if config.bidirectional else ''}{config.num_layers} x `{config.cell}` encoder, "
             f"{config.num_layers} x `{config.cell}` decoder of {config.units} units, "
             f"{'no' if config.attention == 'none' else config.attention} attention, embeddings {config.embedding_dim}"
             f"{' (output layer tied to the target embedding)' if config.tie_embeddings else ''}, dropout {config.dropout}")
    if config.task == "translate":
        title = "English -> Spanish translator"
        results = f"""| decoding | sacreBLEU (all references) | chrF (all references) | sacreBLEU (one reference per pair) |
|---|---:|---:|---:|
| beam search, width {config.beam_width}, length penalty {config.length_penalty} (exported) | **{metrics["test_bleu_beam"]:.1f}** | {metrics["test_chrf_beam"]:.1f} | {metrics["test_bleu_single_reference_beam"]:.1f} |
| greedy | {metrics["test_bleu_greedy"]:.1f} | {metrics["test_chrf_greedy"]:.1f} | {metrics["test_bleu_single_reference_greedy"]:.1f} |

On our test split: {metrics["test_sentences"]:,} English sentences ({metrics["test_pairs"]:,} pairs) never seen in training.
"All references" scores each English sentence once against all its Spanish translations in the split
(Tatoeba often has several); "one reference per pair" scores every pair on its own, as most Tatoeba
results are reported. sacreBLEU signature: `{metrics["bleu_signature"]}`."""
        data = f"""Tatoeba English-Spanish pairs (`spa.txt` of the TensorFlow NMT example's `spa-eng.zip`, from manythings.org;
CC-BY 2.0 FR, "Attribution: www.manythings.org/anki and tatoeba.org"), sha256 `{metrics["data"]["sha256"]}`.
Split over distinct English sentences with seed {metrics["seed"]} (90/5/5): {metrics["pairs"]["train"]:,} training,
{metrics["pairs"]["validation"]:,} validation and {metrics["pairs"]["test"]:,} test pairs. Vocabularies from the training
split only: {metrics["vocabulary"]["source"]:,} English (lower-cased) and {metrics["vocabulary"]["target"]:,} Spanish (cased) tokens,
punctuation split into tokens; unknown words map to one id."""
    else:
        title = "Addition: the text 'a+b' in, its sum out"
        results = f"""| decoding | exact match on {metrics["pairs"]["test"]:,} unseen problems |
|---|---:|
| beam search, width {config.beam_width} (exported) | **{100 * metrics["test_exact_match_beam"]:.2f}%** |
| greedy | {100 * metrics["test_exact_match_greedy"]:.2f}% |

Per-character (token) validation accuracy: {100 * metrics["validation_token_accuracy"]:.2f}% (the keras.io addition
example reports 98.8% per character)."""
        data = f"""Generated: all a+b with 0 <= a, b < 1000, shuffled with seed {metrics["seed"]}; the first {metrics["pairs"]["test"]:,}
are the test problems, the next {metrics["pairs"]["validation"]:,} validation, the next {metrics["pairs"]["train"]:,} training."""
    return f"""# {title}

A TensorFlow SavedModel: raw text in, text out. Tokenization, the {config.cell} encoder-decoder and
beam search all run inside the graph; no zoo code is needed to run it.

## Use
```python
import tensorflow as tf
model = tf.saved_model.load("{config.export_dir or 'EXPORT_DIR'}")
out = model.signatures["{signature}"](text=tf.constant(["{example}"]))
print(out["{output}"].numpy()[0].decode())
```
`{signature}`{" (also `serving_default`)" if signature != "serving_default" else ""}: `text` (tf.string [None]) ->
`{output}` (tf.string [None]). Empty and unknown inputs give an answer, never an error. {limits}

## Results (measured by the command below)
{results}

## Model
- {model}. Parameters: {metrics["parameters"]:,}.
- Training: teacher forcing, cross-entropy over target tokens (padding ignored); Adam (learning rate
  {train_config.learning_rate}{", cosine decay to 1% over the run" if train_config.lr_schedule == "cosine" else ""}, clipnorm {train_config.clipnorm}), batch {train_config.batch_size}; best of {metrics["epochs_run"]} epochs by
  validation loss (epoch {metrics["best_epoch"]}).
- Training time: {metrics["training_seconds"] / 60:.1f} minutes ({metrics["seconds_per_epoch"]:.0f} s per epoch) on
  {metrics["hardware"]}; TensorFlow {metrics["versions"]["tensorflow"]}, Keras {metrics["versions"]["keras"]}.

## Data
{data}

## Reproduce
```
{metrics["command"]}
```
Seed {metrics["seed"]}.

## Examples (test split, beam search)
""" + "\n".join(
        f"- `{e['source']}` -> `{e['output']}` (reference{'s' if 'references' in e else ''}: "
        f"{' / '.join('`' + r + '`' for r in e.get('references', [e.get('reference')]))})"
        for e in metrics["examples"]
    ) + "\n"
