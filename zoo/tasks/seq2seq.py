"""Sequence to sequence (many-to-many) on your pairs, English->Spanish translation, or addition ("123+45" -> "168").

--data is a TSV file whose first two columns are source and target (no header, like spa.txt), or a
CSV/TSV with a header or a JSON Lines file with --source-column/--target-column, tokenized by words or
characters (--tokens); or `spa-eng` (Tatoeba, English->Spanish) or `addition` (generated sums). Train
with teacher forcing on the shared trainer, decode the test split without it (greedy and beam search),
score it (words: sacreBLEU and chrF against all references of each source; characters: exact match),
draw an attention heat-map, and export a SavedModel that maps raw text to text, with its model card.
Interrupt at any time and rerun the same command to resume.
"""

import dataclasses
import json
from pathlib import Path

import numpy as np

# TensorFlow and the zoo modules that import it load in the functions that use them: `zoo train seq2seq
# --help` reads Seq2SeqConfig without it (issue 23).
from zoo import cells
from zoo.data import Style, files, registry
from zoo.tasks.base import Data, Task, card_sections, data_section, option
from zoo.validation import one_of, positive_int, rate

ATTENTION = ("none", "bahdanau", "luong")
TOKENS = ("word", "char")
OLD_TASKS = {"translate": "spa-eng", "addition": "addition"}  # --task, the older name of --data


@dataclasses.dataclass(frozen=True)
class Seq2SeqConfig:
    """What encoder-decoder to train, on which pairs, and where to put it."""

    data: str = option("spa-eng", "`spa-eng`, `addition`, or your pairs: a TSV file source<TAB>target (no header), or a "
                       "CSV/TSV with a header or JSON Lines file with --source-column/--target-column")
    task: str = option("", "older name of --data: translate (= spa-eng) or addition")
    tokens: str = option("word", "your pairs: word (lower-cased source words, cased target words, punctuation split "
                         "off) or char (every character a token: dates, numbers, spelling)")
    source_column: str = option("", "CSV/TSV with a header, JSON Lines: the source column (default `source`)")
    target_column: str = option("", "CSV/TSV with a header, JSON Lines: the target column (default `target`)")
    validation: str = option("", "a separate validation file (default: drawn from --data)")
    test: str = option("", "a separate test file (default: drawn from --data)")
    validation_split: float = option(0.05, "fraction of --data's distinct sources held out for validation")
    test_split: float = option(0.05, "fraction of --data's distinct sources held out for testing")
    cell: str = option("gru", f"recurrent cell of encoder and decoder, one of {cells.names()}")
    units: int = option(256, "decoder units (the encoder's too, split between directions when bidirectional)")
    num_layers: int = option(1, "stacked recurrent layers in the encoder and in the decoder")
    embedding_dim: int = option(128, "token embedding size")
    bidirectional: bool = option(True, "bidirectional encoder")
    attention: str = option("luong", "none, bahdanau (additive) or luong (multiplicative) attention")
    dropout: float = option(0.2, "dropout rate after embeddings and recurrent layers")
    tie_embeddings: bool = option(True, "the output layer shares the target embedding matrix")
    source_vocab: int = option(12_000, "source vocabulary size, reserved ids included")
    target_vocab: int = option(16_000, "target vocabulary size, reserved ids included")
    max_length: int = option(50, "tokens per side in training (longer pairs are left out of training only)")
    beam_width: int = option(4, "beam width of the exported model and of the beam-search scores (1: greedy)")
    length_penalty: float = option(0.6, "beam search length normalisation exponent (Wu et al. 2016; 0: none)")
    train_problems: int = option(100_000, "addition: training problems")
    data_dir: str = option("", "spa-eng: spa.txt or its folder (default $ZOO_DATA_DIR, else download)")
    run_dir: str = option("runs/seq2seq", "run folder: config, checkpoints, logs, metrics (rerun to resume)")
    export_dir: str = option("", "where the SavedModel goes (default <run_dir>/export)")

    def __post_init__(self):
        one_of("task", self.task, ("", *OLD_TASKS))
        one_of("tokens", self.tokens, TOKENS)
        one_of("cell", self.cell, cells.names())
        one_of("attention", self.attention, ATTENTION)
        for name in ("units", "num_layers", "embedding_dim", "source_vocab", "target_vocab", "max_length",
                     "beam_width", "train_problems"):
            positive_int(name, getattr(self, name))
        rate("dropout", self.dropout)
        rate("validation_split", self.validation_split)
        rate("test_split", self.test_split)
        if self.bidirectional and self.units % 2:
            raise ValueError(f"a bidirectional encoder splits `units` in two; got odd units={self.units}.")
        if self.length_penalty < 0:
            raise ValueError(f"`length_penalty` must be >= 0; got {self.length_penalty!r}.")

    @property
    def style(self):
        """How the texts become tokens and back: the named dataset's :class:`zoo.data.Style`, else by --tokens."""
        from zoo.data import translation

        return dataset(self).style or Style(self.tokens, translation.detokenize_plain if self.tokens == "word" else None)

    def model_options(self, source_vocab_size, target_vocab_size):
        """The keyword arguments of :func:`zoo.models.seq2seq.build_seq2seq`."""
        return dict(cell=self.cell, source_vocab_size=source_vocab_size, target_vocab_size=target_vocab_size,
                    embedding_dim=self.embedding_dim, units=self.units, num_layers=self.num_layers,
                    bidirectional=self.bidirectional, attention=None if self.attention == "none" else self.attention,
                    dropout=self.dropout, tie_embeddings=self.tie_embeddings)


def resolve(config):
    """``config`` with an older ``--task`` turned into its ``--data``."""
    if config.task:
        return dataclasses.replace(config, data=OLD_TASKS[config.task], task="")
    return config


def _user(config, seed):
    """A user's pairs: ``({"train", "validation", "test"} -> zoo.data.Pairs, record of the data)``."""
    data = files.load(files.read_pairs, config.data, validation=config.validation or None, test=config.test or None,
                      validation_split=config.validation_split, test_split=config.test_split, seed=seed,
                      source_column=config.source_column or None, target_column=config.target_column or None,
                      named=list(registry.named("seq2seq")))
    for line in data.summary():  # every split and its size, before training
        print(line)
    return dict(data.splits), {"dataset": "files", "tokens": config.tokens, **data.describe()}


# A user's files, as the named datasets (zoo.data.registry) are: what --data is when it names none of them.
FILES = registry.NamedDataset("", "seq2seq", _user, "seq2seq")


def dataset(config):
    """The named dataset --data names, else a user's files."""
    return registry.find("seq2seq", config.data) or FILES


def load_data(config, seed):
    """``(splits, record of the data)``."""
    return dataset(config).load(config, seed)


def make_vectorizers(config, train_pairs, run_dir):
    """Source and target vectorizers, adapted on training pairs once and reused when a run resumes."""
    from zoo.data import text

    saved = Path(run_dir) / "vocabulary.json"
    specs = config.style.specs
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
    from zoo.data import text

    source = text.vectorize(vectorizers["source"], pairs.source, max_length + 1)
    target = text.encode_targets(vectorizers["target"], pairs.target, max_length + 1)
    if drop_long:
        keep = ((source != 0).sum(1) <= max_length) & ((target != 0).sum(1) <= max_length + 2)
        source, target = source[keep], target[keep]
    return source[:, :max_length], target[:, : max_length + 2]


def build(config, vectorizers):
    from zoo.models import seq2seq as models

    return models.build_seq2seq(**config.model_options(vectorizers["source"].vocabulary_size(),
                                                       vectorizers["target"].vocabulary_size()),
                                name=dataset(config).keras_name(config))


class Translator:
    """Raw source texts -> target texts with a trained model (the Python twin of the exported signature)."""

    def __init__(self, model, vectorizers, style, max_length=100):
        import tensorflow as tf

        from zoo.models import seq2seq as models

        self.encoder, self.decoder = models.encoder_model(model), models.decoder_model(model)
        self.vectorizers, self.style, self.max_length = vectorizers, style, max_length
        self.vocabulary = tf.constant([""] + [str(t) for t in vectorizers["target"].get_vocabulary()[1:]])
        self._decode = {}

    def ids(self, texts, beam_width=1, length_penalty=0.0):
        import tensorflow as tf

        from zoo import decoding, export
        from zoo.data import text

        source = export.text_to_ids(self.vectorizers["source"], tf.constant(list(texts)), self.max_length)
        if beam_width not in self._decode:
            self._decode[beam_width] = tf.function(
                lambda s, lp: decoding.decode(self.encoder, self.decoder, s, text.START_ID, text.END_ID,
                                              decoding.max_decode_length(s), beam_width, lp),
                reduce_retracing=True,
            )
        return self._decode[beam_width](source, tf.constant(length_penalty, tf.float32))

    def __call__(self, texts, beam_width=1, length_penalty=0.0, batch_size=256):
        from zoo import decoding

        out = []
        for start in range(0, len(texts), batch_size):
            ids = self.ids(texts[start : start + batch_size], beam_width, length_penalty)
            texts_out = decoding.ids_to_text(self.vocabulary, ids, self.style.separator, self.style.detokenize)
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


def evaluate(translator, pairs, beam_width, length_penalty):
    """Test scores with greedy and with beam search, and a few examples: exact match for character tokens
    (every character counts), sacreBLEU and chrF for words."""
    if translator.style.tokens == "char":
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


def attention_map(translator, sentence, path, title):
    """Translate ``sentence`` greedily and draw where each output token attended; None without attention."""
    import tensorflow as tf

    from zoo import export
    from zoo.data import text

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
                         title=f"{title}: {sentence}")
    return str(path)


class Seq2Seq(Task):
    """Sequence to sequence (many-to-many) on your pairs (TSV/CSV/JSONL, word or char tokens), spa-eng or addition."""

    name = "seq2seq"
    Config = Seq2SeqConfig
    train_defaults = dict(batch_size=64, learning_rate=1e-3, epochs=20, patience=3)
    report = ("test_bleu", "test_bleu_greedy", "test_chrf", "test_exact_match", "test_exact_match_greedy",
              "best_epoch", "seconds_per_epoch")

    def resolve(self, config, train_config):
        return resolve(config), train_config

    def load(self, config, train_config, run_dir):
        from zoo.data import text

        splits, info = load_data(config, train_config.seed)
        vectorizers = make_vectorizers(config, splits["train"], run_dir)
        batches = {
            name: text.pairs_dataset(*encode(vectorizers, splits[name], config.max_length, drop_long=True),
                                     train_config.batch_size, shuffle=name == "train", seed=train_config.seed)
            for name in ("train", "validation")
        }
        return Data(info, batches["train"], batches["validation"], dict(splits=splits, vectorizers=vectorizers))

    def build(self, config, data, train_config, run_dir):
        return build(config, data.vectorizers)

    def loss(self, config, data):
        from zoo.models import seq2seq as models

        return models.loss()

    def metrics(self, config, data):
        from zoo.models import seq2seq as models

        return [models.MaskedAccuracy()]

    def evaluate(self, config, train_config, model, data, history, run_dir, strategy):
        from zoo import distributed

        if not distributed.is_chief(strategy):  # decoding needs no other worker: the chief evaluates alone
            return {}
        translator = Translator(model, data.vectorizers, config.style)
        metrics = {
            "task": dataset(config).task_name(None, "seq2seq"),
            **evaluate(translator, data.splits["test"], config.beam_width, config.length_penalty),
            "validation_token_accuracy": float(history["val_token_accuracy"][int(np.argmin(history["val_loss"]))]),
            "pairs": {name: len(pairs) for name, pairs in data.splits.items()},
            "vocabulary": {side: v.vocabulary_size() for side, v in data.vectorizers.items()},
            "tokens": config.style.tokens,
        }
        example = dataset(config).example or data.splits["test"].source[0]
        metrics["attention_plot"] = attention_map(translator, example, Path(run_dir) / "attention.png",
                                                  Path(config.data).name)
        return metrics

    def export(self, config, train_config, model, data, metrics, export_dir, files):
        from zoo import export

        translator = Translator(model, data.vectorizers, config.style)
        style = config.style
        export.export_seq2seq(
            model, data.vectorizers["source"], translator.vocabulary, export_dir, signatures=style.signatures,
            output_name=style.output, separator=style.separator, detokenize=style.detokenize, accept=style.accept,
            beam_width=config.beam_width, length_penalty=config.length_penalty, extra_files=files,
        )

    def model_card(self, config, train_config, metrics, export_dir):
        return model_card(config, train_config, metrics, export_dir)

    def serves(self, signatures):
        serving = signatures.get("serving_default")
        return (serving is not None and set(serving.structured_input_signature[1]) == {"text"}
                and len(serving.structured_outputs) == 1)

    def predict(self, signatures, texts, options):
        import tensorflow as tf

        (outputs,) = signatures["serving_default"](text=tf.constant(texts, tf.string)).values()
        for output in outputs.numpy():
            print(output.decode("utf-8"))


TASK = Seq2Seq()


def _scores(config, metrics, note=""):
    """The results table: exact match (character tokens) or sacreBLEU/chrF (words)."""
    if metrics["tokens"] == "char":
        return f"""| decoding | exact match on {metrics["pairs"]["test"]:,} unseen test pairs |
|---|---:|
| beam search, width {config.beam_width} (exported) | **{100 * metrics["test_exact_match_beam"]:.2f}%** |
| greedy | {100 * metrics["test_exact_match_greedy"]:.2f}% |

Per-token validation accuracy (teacher forcing): {100 * metrics["validation_token_accuracy"]:.2f}%{note}."""
    return f"""| decoding | sacreBLEU (all references) | chrF (all references) | sacreBLEU (one reference per pair) |
|---|---:|---:|---:|
| beam search, width {config.beam_width}, length penalty {config.length_penalty} (exported) | **{metrics["test_bleu_beam"]:.1f}** | {metrics["test_chrf_beam"]:.1f} | {metrics["test_bleu_single_reference_beam"]:.1f} |
| greedy | {metrics["test_bleu_greedy"]:.1f} | {metrics["test_chrf_greedy"]:.1f} | {metrics["test_bleu_single_reference_greedy"]:.1f} |

On the test split: {metrics["test_sentences"]:,} sources ({metrics["test_pairs"]:,} pairs) never seen in training.
"All references" scores each source once against all its targets in the split; "one reference per pair"
scores every pair on its own. sacreBLEU signature: `{metrics["bleu_signature"]}`."""


def model_card(config, train_config, metrics, export_dir):
    """The exported model's README, every figure taken from ``metrics``."""
    from zoo import export

    style = config.style
    signature, output = style.signatures[0], style.output
    name = Path(config.data).name
    kind = ("characters (every character a token)" if config.tokens == "char" else
            "words (source lower-cased, target cased, punctuation split off)")
    sections = card_sections(
        dataset(config).card(config, train_config, metrics, export_dir),
        title=lambda: f"Sequence to sequence on {name}",
        example=lambda: metrics.get("examples", [{}])[0].get("source", "text"),
        data=lambda: data_section(metrics["data"]) + f"Tokens: {kind}; vocabularies from the training split only "
        f"({metrics['vocabulary']['source']:,} source and {metrics['vocabulary']['target']:,} target tokens).",
        limits=lambda: f"Only inputs like the sources of `{name}` were trained on. The model reads the first "
        f"{export.SOURCE_TOKENS} tokens of an input; training kept pairs of at most {config.max_length} tokens per "
        "side.",
        note=lambda: "",
    )
    title, example, data, limits, note = (sections[k] for k in ("title", "example", "data", "limits", "note"))
    domain = "" if style.accept is None else " Input outside the model's domain gets \"\" (see above)."
    results = _scores(config, metrics, note)
    model = (f"{'bidirectional ' if config.bidirectional else ''}{config.num_layers} x `{config.cell}` encoder, "
             f"{config.num_layers} x `{config.cell}` decoder of {config.units} units, "
             f"{'no' if config.attention == 'none' else config.attention} attention, embeddings {config.embedding_dim}"
             f"{' (output layer tied to the target embedding)' if config.tie_embeddings else ''}, dropout {config.dropout}")
    examples = "\n".join(
        f"- `{e['source']}` -> `{e['output']}` (reference{'s' if 'references' in e else ''}: "
        f"{' / '.join('`' + r + '`' for r in e.get('references', [e.get('reference')]))})"
        for e in metrics["examples"]
    )
    return f"""# {title}

A TensorFlow SavedModel: raw text in, text out. Tokenization, the {config.cell} encoder-decoder and
beam search all run inside the graph; no zoo code is needed to run it.

## Use
```python
import tensorflow as tf
model = tf.saved_model.load("{config.export_dir or Path(export_dir).as_posix()}")
out = model.signatures["{signature}"](text=tf.constant([{json.dumps(example, ensure_ascii=False)}]))
print(out["{output}"].numpy()[0].decode())
```
`{signature}`{" (also `serving_default`)" if signature != "serving_default" else ""}: `text` (tf.string [None]) ->
`{output}` (tf.string [None]). No input gives an error. {limits}
Or `zoo predict {Path(export_dir).as_posix()} {json.dumps(example, ensure_ascii=False)}`.

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
{examples}

{export.serving_limits("seq2seq", max_length=export.SOURCE_TOKENS, beam_width=config.beam_width, domain=domain)}"""
