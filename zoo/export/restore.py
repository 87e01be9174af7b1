"""Rebuild the Keras model of a zoo SavedModel folder from its ``config.json`` and its own variables.

The shipped models' run folders (and their ``best.weights.h5``) are gone; what remains is the
exported folder: ``config.json`` (the resolved config of the run, or of an ensemble: its member runs,
whose commands and mixture weights are in ``metrics.json``), the vocabulary inside the graph's lookup
tables, and the trained weights in ``variables/``. :func:`restore` builds the model again with the
zoo's builders and assigns every weight from the SavedModel's variable of the same name.

Names are matched with the Keras-generated numbering of cell names dropped (``gru_cell_1`` is
``gru_cell``: the number depends on what the exporting process had built before). In an ensemble
or mixture, members built alike share names (each has an ``embedding/embeddings``), and the order
of a SavedModel's variables is not the members' order; such ties are settled by trying each way of
giving the tied variables to the members and keeping the one whose outputs equal the SavedModel's
own on a few probe inputs (see :func:`_assign`). Every restore is checked that way: a model that
does not reproduce its SavedModel raises ``ValueError``. Members built alike (same cell and sizes)
may come back in either order: swapping them whole changes no output, so nothing tells them apart.
"""

import dataclasses
import itertools
import json
import re
import shlex
from pathlib import Path

import numpy as np

# Texts the rebuilt model and the SavedModel must agree on (unknown words and characters included).
PROBE_TEXTS = (
    "",
    "A wonderful, moving film: the best acting I have seen this year.",
    "Dull and far too long. I wanted my money back; zxqv grrble.",
    "ROMEO:\nBut soft, what light through yonder window breaks?",
)
TOLERANCE = 1e-5  # the SavedModel runs XLA-compiled: round-off may differ from the rebuilt model's


@dataclasses.dataclass
class Restored:
    """A zoo model rebuilt from a SavedModel folder.

    Attributes:
        kind: "classifier", "generator" or "seq2seq".
        model: classifier: token ids (batch, time) -> (batch, 1) (an ensemble's mean for ensembles);
            generator: the inference model ``(ids, *states) -> (logits, *states)`` (for a mixture, the
            ``mixture_inference_model`` of all members, whose "logits" are log-probabilities);
            seq2seq: the training model (``zoo.models.seq2seq.encoder_model``/``decoder_model`` give
            its twins).
        members: the member models of an ensemble or mixture, in the order of its ``config.json``
            ``members`` (classifiers, or generator inference models); ``[model]`` for a single model.
        configs: each member's task config section (dict), as recorded.
        vocabulary: classifier and seq2seq: the source ``TextVectorization`` vocabulary (entry i is
            token id i: "" padding, "[UNK]", then the tokens); generator: the characters (character
            ``vocabulary[i]`` is id ``i + 1``).
        vectorizer: classifier and seq2seq: a ``TextVectorization`` equal to the exported one.
        max_length: classifier and seq2seq: tokens kept per text.
        mixture_weights, temperatures: a generator mixture's weights and temperatures (else None).
        target_vocabulary: seq2seq: entry i is target token id i (entry 0 "").
        head, labels: classifier: the head the model was built with ("binary", "softmax", "regression"
            or "rating") and its label names in class-id order (None for a regression).
    """

    kind: str
    model: object
    members: list
    configs: list
    vocabulary: list
    vectorizer: object = None
    max_length: int = None
    mixture_weights: list = None
    temperatures: list = None
    target_vocabulary: list = None
    head: str = None
    labels: list = None


def restore(path, check=True):
    """Rebuild the Keras model of the zoo SavedModel folder ``path`` (see the module docstring).

    With ``check`` (default), the rebuilt model's outputs on :data:`PROBE_TEXTS` are compared with
    the SavedModel's own; ``ValueError`` if they differ by more than :data:`TOLERANCE` (exactly, for
    seq2seq's output texts). Ensembles, mixtures and generators are always checked (that is how tied
    variables are told apart). Returns a :class:`Restored`.
    """
    import tensorflow as tf

    path = Path(path)
    config_path = path / "config.json"
    if not (path / "saved_model.pb").is_file() or not config_path.is_file():
        raise ValueError(f"{path} is not a zoo SavedModel folder: it needs saved_model.pb and config.json.")
    config = json.loads(config_path.read_text())
    saved = tf.saved_model.load(str(path))
    variables = {}
    for v in saved._all_variables:  # ExportArchive's list of every variable its endpoints read
        variables.setdefault(_key(v.name.split(":")[0]), []).append(v)
    signatures = set(saved.signatures)
    metrics = json.loads((path / "metrics.json").read_text()) if (path / "metrics.json").is_file() else None
    if "members" in config:
        sections = [_config_from_command(m["command"]) for m in metrics["members"]]
    else:
        sections = [config]
    if "score" in signatures:
        return _restore_generator(saved, sections, variables, metrics)
    if "translate" in signatures or "seq2seq" in config:
        return _restore_seq2seq(saved, sections[0], variables, path, check)
    return _restore_classifier(saved, sections, variables, check, metrics)


def _restore_classifier(saved, sections, variables, check, metrics):
    import tensorflow as tf

    from zoo import export
    from zoo.models.classifier import build_classifier, build_ensemble

    vocabulary = _token_vocabulary(saved)
    vectorizer = _text_vectorizer(vocabulary)
    configs = [s.get("classifier") or s["sentiment"] for s in sections]  # "sentiment": exports before zoo.tasks
    outputs = saved.signatures["serving_default"].structured_outputs
    texts = tf.constant(list(PROBE_TEXTS))
    serve = saved.signatures["serving_default"]
    if "value" in outputs:
        head, num_classes, expected = "regression", 2, lambda: serve(text=texts)["value"].numpy()
    elif "probability" in outputs:
        head, num_classes, expected = "binary", 2, lambda: serve(text=texts)["probability"].numpy()
    else:
        num_classes = outputs["probabilities"].shape[-1]
        head, expected = "softmax", lambda: serve(text=texts)["probabilities"].numpy()
    if head == "regression" and configs[0].get("head") == "rating":
        head = "rating"
    # metrics.json has the label names since zoo.tasks; the exports before them are IMDB's binary models
    labels = None if head in ("regression", "rating") else (metrics or {}).get("labels", ["negative", "positive"])
    members = [
        build_classifier(vocab_size=len(vocabulary), name=f"member_{i}_{c['cell']}",
                         **{**_classifier_options(c), "head": head, "num_classes": num_classes})
        for i, c in enumerate(configs)
    ]
    model = members[0] if len(members) == 1 else build_ensemble(members, name="ensemble")
    max_length = configs[0]["max_length"]
    ids = export.text_to_ids(vectorizer, texts, max_length)
    column = slice(None) if head == "softmax" else 0
    _assign(members, variables, lambda: model(ids, training=False).numpy()[:, column], expected, check)
    return Restored("classifier", model, members, configs, vocabulary, vectorizer, max_length, head=head,
                    labels=labels)


def _restore_generator(saved, sections, variables, metrics):
    import tensorflow as tf

    from zoo import generation
    from zoo.models import generator as models

    chars = _char_vocabulary(saved)
    configs = [s["generator"] for s in sections]
    infers = []
    for i, c in enumerate(configs):
        model = models.build_generator(
            c["cell"], vocab_size=len(chars) + 1, name=f"member_{i}_{c['cell']}",
            **{k: c[k] for k in ("embedding_dim", "units", "num_layers", "input_mode", "shortcut") if k in c},
        )
        infers.append(models.inference_model(model))
    weights = temperatures = None
    if len(infers) == 1:
        infer = infers[0]
    else:
        weights, temperatures = metrics["weights"], metrics.get("temperatures")
        infer = models.mixture_inference_model(infers, weights, temperatures, name="mixture_inference")
    index = {c: i + 1 for i, c in enumerate(chars)}
    texts = [t for t in PROBE_TEXTS if len([c for c in t if c in index]) > 1]
    ids = tf.ragged.constant([[index[c] for c in t if c in index] for t in texts], tf.int32).to_tensor()

    def score():
        return generation.score_ids(infer, ids).numpy()

    # Generators are always checked: their cells' numbered names are the only other clue.
    _assign(infers, variables, score, lambda: saved.signatures["score"](text=tf.constant(texts))["nll"].numpy(), True)
    return Restored("generator", infer, infers, configs, chars, mixture_weights=weights, temperatures=temperatures)


def _restore_seq2seq(saved, section, variables, path, check):
    import tensorflow as tf

    from zoo import decoding, export
    from zoo.data.text import END_ID, START_ID
    from zoo.models import seq2seq as models

    from zoo.data import addition
    from zoo.tasks.seq2seq import OLD_TASKS

    config = section["seq2seq"]
    vocabulary = _token_vocabulary(saved)
    target = _target_vocabulary(path, variables)
    data = config.get("data") or OLD_TASKS[config.get("task") or "translate"]  # "task": exports before zoo.tasks
    style = seq2seq_style(config)
    vectorizer = _text_vectorizer(vocabulary, **style.specs["source"])
    model = models.build_seq2seq(
        config["cell"], source_vocab_size=len(vocabulary), target_vocab_size=len(target),
        embedding_dim=config["embedding_dim"], units=config["units"], num_layers=config["num_layers"],
        bidirectional=config["bidirectional"], attention=None if config["attention"] == "none" else config["attention"],
        tie_embeddings=config["tie_embeddings"], name="seq2seq",
    )
    # in-domain sums only: the export answers "" outside a+b (the rebuilt bare model does not guard)
    texts = tf.constant(["12+345", "7+8", "0+0", "999+1"] if data == addition.DATASET.name else list(PROBE_TEXTS))
    name = next(iter(saved.signatures["serving_default"].structured_outputs))
    encoder, decoder = models.encoder_model(model), models.decoder_model(model)
    max_length = 100  # export_seq2seq's default, which the tasks export with
    source = export.text_to_ids(vectorizer, texts, max_length)
    separator, detokenize = style.separator, style.detokenize

    def outputs():
        ids = decoding.decode(encoder, decoder, source, START_ID, END_ID, decoding.max_decode_length(source),
                              config.get("beam_width", 4), config.get("length_penalty", 0.6))
        return decoding.ids_to_text(tf.constant(target), ids, separator, detokenize).numpy()

    _assign([model], variables, outputs, lambda: saved.signatures["serving_default"](text=texts)[name].numpy(), check,
            exact=True)
    return Restored("seq2seq", model, [model], [config], vocabulary, vectorizer, max_length,
                    target_vocabulary=target)


def _classifier_options(config):
    keys = ("cell", "embedding_dim", "units", "num_layers", "bidirectional", "pooling", "head", "shortcut")
    return {k: config[k] for k in keys if k in config}


def _key(name):
    """A variable's name without the numbering Keras adds to repeated cell names (``gru_cell_1``)."""
    return "/".join(re.sub(r"^(\w+_cell)_\d+$", r"\1", part) for part in name.split("/"))


def _assign(members, variables, outputs, expected, check, exact=False):
    """Give each weight of ``members`` the SavedModel variable of its name (and shape), and check that
    ``outputs()`` (the rebuilt model's) equals ``expected()`` (the SavedModel's); ValueError if a weight
    has no variable or (``check``) the outputs differ.

    Where members tie on a name, the tied variables are given out one name at a time: all tied
    variables not yet settled are set, in the SavedModel and in the rebuilt members alike, to their
    first copy's value, so only the name at hand (and those settled before it) can tell the members
    apart; of its orders, the first whose outputs equal the SavedModel's is kept. That is a few calls
    per tied name, not one per combination of orders; the SavedModel's variables are put back after.
    """
    slots = {}  # (key, shape) -> the members' weights of that name, member by member
    for member in members:
        for weight in member.weights:
            slots.setdefault((_key(weight.path), tuple(weight.shape)), []).append(weight)
    tied = []
    for (key, shape), weights in slots.items():
        found = [v for v in variables.get(key, []) if tuple(v.shape) == shape]
        if len(found) != len(weights):
            raise ValueError(f"the SavedModel has {len(found)} variable(s) named {key!r} of shape {shape}; "
                             f"the rebuilt model needs {len(weights)} (its config.json does not describe these weights).")
        values = [v.numpy() for v in found]
        for weight, value in zip(weights, values):
            weight.assign(value)
        if len(weights) > 1:
            tied.append((weights, found, values))

    def differs():
        got, want = np.asarray(outputs()), np.asarray(expected())
        if exact:
            return 0.0 if np.array_equal(got, want) else np.inf
        return float(np.max(np.abs(got.astype(np.float64) - want)))

    try:
        for _, found, values in tied:  # collapse every tied name to its first copy
            for variable in found:
                variable.assign(values[0])
        for weights, found, values in tied:
            for weight in weights:
                weight.assign(values[0])
        for weights, found, values in tied:
            for variable, value in zip(found, values):
                variable.assign(value)
            errors = []
            for order in itertools.permutations(range(len(values))):
                for weight, k in zip(weights, order):
                    weight.assign(values[k])
                errors.append(differs())
                if errors[-1] <= TOLERANCE:
                    break
            else:
                raise ValueError(f"the model rebuilt from config.json does not reproduce the SavedModel whichever "
                                 f"member takes which {_key(weights[0].path)!r} (largest difference {min(errors):.3g}).")
    finally:
        for _, found, values in tied:
            for variable, value in zip(found, values):
                variable.assign(value)
    if check and not tied:
        error = differs()
        if error > TOLERANCE:
            raise ValueError(f"the model rebuilt from config.json does not reproduce the SavedModel "
                             f"(largest difference {error:.3g}).")


def _table_vocabulary(saved):
    """The keys of the SavedModel's largest string -> id lookup table, entry i for id i ("" where no key
    maps to i: the ids of padding and of unknown tokens)."""
    import tensorflow as tf

    best = None
    for asset in getattr(saved, "_misc_assets", []):
        if not hasattr(asset, "_initializer"):  # a hash table; the other assets are not
            continue
        keys, values = tf.raw_ops.LookupTableExportV2(table_handle=asset.resource_handle, Tkeys=tf.string,
                                                      Tvalues=tf.int64)
        if best is None or keys.shape[0] > best[0].shape[0]:
            best = keys, values
    if best is None:
        raise ValueError("the SavedModel holds no vocabulary table; is it a zoo export?")
    keys, values = best
    tokens = [""] * (int(np.max(values.numpy())) + 1)
    for key, value in zip(keys.numpy(), values.numpy()):
        tokens[int(value)] = key.decode("utf-8")
    return tokens


def _token_vocabulary(saved):
    """A ``TextVectorization`` vocabulary: "" (padding, id 0), "[UNK]" (id 1), then the table's tokens."""
    return ["", "[UNK]"] + _table_vocabulary(saved)[2:]


def _char_vocabulary(saved):
    """A generator's characters: id i + 1 is ``chars[i]`` (the StringLookup's table without its OOV 0)."""
    return _table_vocabulary(saved)[1:]


def _text_vectorizer(vocabulary, standardize="zoo", split="whitespace"):
    import keras

    from zoo.data.text import standardize_text

    standardize = standardize_text if standardize == "zoo" else standardize
    vectorizer = keras.layers.TextVectorization(standardize=standardize, split=split, vocabulary=vocabulary[2:],
                                                name="vectorizer")
    vectorizer(np.array([""]))
    return vectorizer


def _target_vocabulary(path, variables):
    """A seq2seq export's target vocabulary: the string constant of the graph as long as the target
    embedding has rows (``export_seq2seq`` captures it as a constant)."""
    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2

    rows = {v.shape[0] for key, values in variables.items() if "target" in key and "embedding" in key for v in values}
    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((Path(path) / "saved_model.pb").read_bytes())
    for graph in proto.meta_graphs:
        nodes = itertools.chain(graph.graph_def.node, *(f.node_def for f in graph.graph_def.library.function))
        for node in nodes:
            if node.op != "Const" or node.attr["dtype"].type != tf.string.as_datatype_enum:
                continue
            shape = [d.size for d in node.attr["value"].tensor.tensor_shape.dim]
            if len(shape) == 1 and shape[0] in rows:
                return [t.decode("utf-8") for t in tf.make_ndarray(node.attr["value"].tensor).tolist()]
    raise ValueError(f"{path}: no target vocabulary of {sorted(rows)} tokens found in the graph.")


def _config_from_command(command):
    """A member's config section from its recorded ``zoo train TASK --name value ...`` command: the
    ``--name value`` options over the task config's defaults, typed as its fields."""
    words = shlex.split(command)
    task = words[words.index("train") + 1]
    section, cls = _task_config(task)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for word, value in zip(words, words[1:] + [""]):
        name = word[2:].replace("-", "_") if word.startswith("--") else None
        if name in fields:
            kind = type(fields[name].default)
            values[name] = value.lower() in ("true", "1", "yes") if kind is bool else kind(value)
    return {section: dataclasses.asdict(cls(**values))}


def _task_config(task):
    if task in ("sentiment", "classifier"):
        from zoo.tasks.classifier import ClassifierConfig

        return "classifier", ClassifierConfig
    if task == "generator":
        from zoo.tasks.generator import GeneratorConfig

        return "generator", GeneratorConfig
    raise ValueError(f"an ensemble member was trained by `zoo train {task}`; restore knows sentiment and generator.")


def reexport(path, dest, files=None):
    """Export the zoo SavedModel folder ``path`` again, into ``dest`` (replaced atomically; may be ``path``),
    from its own weights (:func:`restore`) with this zoo's exporter: the signatures get what the exporter
    serves now (outputs, input limits), the numbers stay the model's. ``files`` (``{name: text or dict}``)
    go beside it; by default ``path``'s config.json, metrics.json and README.md. Returns the :class:`Restored`.
    """
    import tensorflow as tf

    from zoo import export

    path = Path(path)
    restored = restore(path)
    if files is None:
        files = {name: (path / name).read_text() for name in ("config.json", "metrics.json", "README.md")
                 if (path / name).is_file()}
    if restored.kind == "classifier":
        kind = "regression" if restored.head in ("regression", "rating") else restored.head
        export.export_text_classifier(restored.model, restored.vectorizer, dest, restored.max_length,
                                      labels=restored.labels or ("negative", "positive"), kind=kind, extra_files=files)
    elif restored.kind == "generator":
        export.export_char_generator(restored.model, restored.vocabulary, dest, extra_files=files)
    else:
        config = restored.configs[0]
        style = seq2seq_style(config)
        export.export_seq2seq(
            restored.model, restored.vectorizer, tf.constant(restored.target_vocabulary), dest,
            signatures=style.signatures, output_name=style.output, separator=style.separator,
            detokenize=style.detokenize, accept=style.accept, beam_width=config.get("beam_width", 4),
            length_penalty=config.get("length_penalty", 0.6), max_length=restored.max_length, extra_files=files,
        )
    return restored


def seq2seq_style(config):
    """The ``zoo.data.Style`` of a recorded seq2seq config section (dict; older exports name a
    ``task`` rather than ``data``)."""
    from zoo.tasks.seq2seq import OLD_TASKS, Seq2SeqConfig

    data = config.get("data") or OLD_TASKS[config.get("task") or "translate"]
    return Seq2SeqConfig(data=data, tokens=config.get("tokens", "word")).style
