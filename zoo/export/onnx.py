"""ONNX export: each zoo recurrent layer becomes one native ONNX ``RNN``, ``GRU`` or ``LSTM`` node.

The zoo's three classic cells are, equation for equation, ONNX's recurrent operators (issue 25):
``elman`` is ``RNN`` (Tanh or Relu), ``gru`` is ``GRU`` (``linear_before_reset=1`` is Keras'
``reset_after=True``, 0 the original Cho et al. form) and ``peephole_lstm`` is ``LSTM`` with its
peephole input ``P`` (input and forget gates see c_{t-1}, the output gate the new c_t). Converters
(tf2onnx, Keras' own ``export(format="onnx")``) turn such custom cells into generic ``Loop`` graphs;
here the weights are re-laid from Keras' layout to ONNX's (:func:`relayout`) and the rest of the model
is written with standard operators: ``Gather`` for the embedding, the masked pooling, the head, and
ensembles' and mixtures' members combined in the graph.

The ``second_order`` cell has no ONNX operator: its export is refused with a ``ValueError`` (a generic
``Loop`` would be the slow, opaque graph this exporter exists to avoid).

Graphs (opset :data:`OPSET`):

- classifier: ``token_ids`` (int64 [batch, time], 0-padded on the right) and ``lengths`` (int64
  [batch], each row's count of real tokens, 0..time) -> ``probability`` (float32 [batch]; ``rating``
  for a rating head). The recurrent nodes get ``sequence_lens``, so padding changes nothing.
- generator, a step graph: ``ids`` (int64 [batch, time], time >= 1, no padding) and ``state_k``
  (float32 [batch, size_k], every recurrent state in order) -> ``logits`` (float32 [batch, time,
  vocab]; a mixture's log-probabilities) and ``state_k_out``. One character at a time (time 1) is a
  sampling step; a whole text at once scores it.

Beside ``model.onnx`` go ``vocabulary.json`` and ``tokenizer.py`` (:mod:`zoo.export.tokenizer`, which
needs neither TensorFlow nor zoo) and a model card.
"""

import collections
import json
import time
from pathlib import Path

import numpy as np

OPSET = 17  # ONNX 1.12 (2022): every runtime of the last years runs it (onnxruntime >= 1.12, onnxruntime-web)
MODEL_FILE = "model.onnx"
TOLERANCE = 1e-4  # largest difference from the SavedModel an export may show on the probe texts
_LOWEST = -3.4e38  # below every float32 activation: what masked steps hold for max pooling

# Keras' gate blocks in kernel columns, and ONNX's order of the same gates in W/R/B rows (ONNX's
# operator docs: "W[iofc]", "P[iof]"; "W[zrh]"; RNN has one block).
KERAS_GATES = {"elman": "h", "gru": "zrh", "peephole_lstm": "ifco"}
ONNX_GATES = {"elman": "h", "gru": "zrh", "peephole_lstm": "iofc"}
ONNX_PEEPHOLES = "iof"
OPS = {"elman": "RNN", "gru": "GRU", "peephole_lstm": "LSTM"}
# A classifier's head layer names (zoo.models.classifier), each the name of the ONNX output.
HEAD_OUTPUTS = ("probability", "probabilities", "value", "rating")
ACTIVATIONS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu"}  # Keras name -> ONNX recurrent activation


def cell_kind(cell):
    """The registry name of a zoo cell that ONNX has an operator for; ValueError for any other cell."""
    from zoo import cells

    kinds = {cells.ElmanCell: "elman", cells.GRUCell: "gru", cells.PeepholeLSTMCell: "peephole_lstm"}
    kind = kinds.get(type(cell))
    if kind is None:
        name = "second_order" if isinstance(cell, cells.SecondOrderCell) else type(cell).__name__
        raise ValueError(
            f"the {name!r} cell has no ONNX operator: ONNX export supports the cells {', '.join(sorted(OPS))} "
            "(each one native RNN/GRU/LSTM node) and refuses the others rather than emit a slow generic Loop."
        )
    return kind


def relayout(kind, kernel, recurrent_kernel, bias=None, peepholes=None, reset_after=True):
    """One direction's weights from Keras' layout to ONNX's.

    Args:
        kind: "elman", "gru" or "peephole_lstm".
        kernel: (input_dim, G*units), Keras' gate blocks in :data:`KERAS_GATES` order.
        recurrent_kernel: (units, G*units).
        bias: (G*units,), or for a GRU with ``reset_after`` (2, G*units) (input bias, recurrent bias);
            None for a cell without bias.
        peepholes: peephole_lstm: ``(p_i, p_f, p_o)``, each (units,), or None.
        reset_after: GRU only: Keras' convention (ONNX ``linear_before_reset``).

    Returns:
        ``{"W": (G*units, input_dim), "R": (G*units, units), "B": (2*G*units,)}`` and for peepholes
        ``"P": (3*units,)``: ONNX's gate order (:data:`ONNX_GATES`, peepholes i, o, f), float32.
        ONNX adds ``Wb`` and ``Rb`` everywhere except a GRU's candidate with
        ``linear_before_reset=1``, where ``Rb_h`` sits inside the reset product, as Keras' recurrent bias.
    """
    kernel = np.asarray(kernel, np.float32)
    recurrent_kernel = np.asarray(recurrent_kernel, np.float32)
    units = recurrent_kernel.shape[0]
    order = [KERAS_GATES[kind].index(g) for g in ONNX_GATES[kind]]

    def gates(matrix):  # (..., G*units) -> the same with the gate blocks in ONNX's order
        blocks = np.split(np.asarray(matrix, np.float32), len(order), axis=-1)
        return np.concatenate([blocks[k] for k in order], axis=-1)

    size = len(order) * units
    if bias is None:
        input_bias = recurrent_bias = np.zeros(size, np.float32)
    elif kind == "gru" and reset_after:
        input_bias, recurrent_bias = np.asarray(bias, np.float32)
    else:
        input_bias, recurrent_bias = np.asarray(bias, np.float32), np.zeros(size, np.float32)
    out = {
        "W": gates(kernel).T,
        "R": gates(recurrent_kernel).T,
        "B": np.concatenate([gates(input_bias), gates(recurrent_bias)]),
    }
    if peepholes is not None:
        p = dict(zip("ifo", peepholes))
        out["P"] = np.concatenate([np.asarray(p[g], np.float32) for g in ONNX_PEEPHOLES])
    return {k: np.ascontiguousarray(v) for k, v in out.items()}


def cell_weights(cell):
    """:func:`relayout` of a built zoo cell's weights, and its ONNX node attributes."""
    kind = cell_kind(cell)
    bias = None if cell.bias is None else np.asarray(cell.bias)
    peepholes = None
    if kind == "peephole_lstm" and cell.peepholes:
        peepholes = [np.asarray(getattr(cell, f"peephole_{g}")) for g in "ifo"]
    weights = relayout(kind, np.asarray(cell.kernel), np.asarray(cell.recurrent_kernel), bias, peepholes,
                       reset_after=getattr(cell, "reset_after", True))
    attributes = {"hidden_size": cell.units}
    if kind == "elman":
        attributes["activations"] = [cell.activation.capitalize()]
    else:  # ONNX's f (gates), g (candidate) and, for LSTM, h (output): Keras' recurrent_activation, activation
        names = [cell.recurrent_activation, cell.activation] + ([cell.activation] if kind == "peephole_lstm" else [])
        attributes["activations"] = [_activation(cell, fn) for fn in names]
    if kind == "gru":
        attributes["linear_before_reset"] = int(cell.reset_after)
    return kind, weights, attributes


def _activation(cell, fn):
    import keras

    name = keras.activations.serialize(fn)
    name = name if isinstance(name, str) else getattr(fn, "__name__", repr(fn))
    if name not in ACTIVATIONS:
        raise ValueError(f"cell {cell.name!r}: activation {name!r} has no ONNX recurrent equivalent here; "
                         f"exported: {', '.join(sorted(ACTIVATIONS))}.")
    return ACTIVATIONS[name]


class Graph:
    """A growing ONNX graph: nodes, initializers, and unique names."""

    def __init__(self):
        from onnx import helper

        self.helper = helper
        self.nodes, self.initializers, self.inputs, self.outputs = [], [], [], []
        self._names = set()
        self._small = {}  # small constants (axes, shapes, scalars) are shared: (dtype, shape, bytes) -> name

    def name(self, base):
        name, k = base, 1
        while name in self._names:
            name, k = f"{base}_{k}", k + 1
        self._names.add(name)
        return name

    def const(self, base, value, dtype=np.float32):
        from onnx import numpy_helper

        value = np.asarray(value, dtype)
        key = (value.dtype.str, value.shape, value.tobytes()) if value.size <= 16 else None
        if key in self._small:
            return self._small[key]
        name = self.name(base)
        self.initializers.append(numpy_helper.from_array(value, name))
        if key is not None:
            self._small[key] = name
        return name

    def op(self, op_type, inputs, outputs=1, name=None, **attributes):
        """Add a node; returns its output name (or a list of ``outputs`` names when that is > 1)."""
        base = name or op_type.lower()
        names = [self.name(f"{base}_out{i}" if outputs > 1 else base) for i in range(outputs)]
        self.nodes.append(self.helper.make_node(op_type, list(inputs), names, name=self.name(f"{base}_node"),
                                                **attributes))
        return names if outputs > 1 else names[0]

    def input(self, name, elem_type, shape):
        self._names.add(name)
        self.inputs.append(self.helper.make_tensor_value_info(name, elem_type, shape))
        return name

    def output(self, value, name, elem_type, shape):
        self.outputs.append(self.helper.make_tensor_value_info(name, elem_type, shape))
        self.nodes.append(self.helper.make_node("Identity", [value], [name], name=self.name(f"{name}_node")))

    def model(self, graph_name, doc):
        from onnx import checker, helper

        graph = helper.make_graph(self.nodes, graph_name, self.inputs, self.outputs, self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="zoo",
                                  doc_string=doc)
        model.ir_version = 8  # what opset 17's runtimes read (onnxruntime >= 1.12)
        checker.check_model(model, full_check=True)
        return model


def _recurrent(g, layer, x, lengths32, batch, states=None, prefix=""):
    """One ``Recurrent`` (or ``Bidirectional`` of one) over time-major ``x`` (time, batch, features).

    ``states``: the initial state per state tensor, each (directions, batch, units), or None for the
    layer's own (zeros, or its learned vectors). Returns ``(y, finals)``: y (time, batch,
    directions*units) and the final states, each (directions, batch, units), ONNX's ``Y_h`` then ``Y_c``.
    """
    import keras

    from zoo.layers import Recurrent

    directions = [layer.forward_layer, layer.backward_layer] if isinstance(layer, keras.layers.Bidirectional) else [layer]
    if len(directions) == 2 and layer.merge_mode != "concat":
        raise ValueError(f"layer {layer.name!r}: ONNX export takes Bidirectional layers that concatenate their "
                         f"directions (merge_mode='concat'); got merge_mode={layer.merge_mode!r}.")
    for d, part in enumerate(directions):
        if not isinstance(part, Recurrent) or part.go_backwards != (d == 1) or part.stateful and states is None:
            raise ValueError(f"layer {layer.name!r}: ONNX export takes zoo Recurrent layers, alone or in a "
                             "Bidirectional, running forwards (stateless, or with their states given).")
    parts = [cell_weights(part.cell) for part in directions]
    kind, _, attributes = parts[0]
    units = attributes["hidden_size"]
    base = f"{prefix}{layer.name}"
    inputs = [x] + [g.const(f"{base}/{k}", np.stack([p[1][k] for p in parts])) for k in ("W", "R", "B")]
    inputs.append(lengths32 or "")
    if states is None and directions[0].initial_state_mode == "learned":
        shape = g.op("Concat", [g.const(f"{base}/dirs", [len(directions)], np.int64), batch,
                                g.const(f"{base}/units", [units], np.int64)], axis=0)
        learned = [keras.tree.flatten(part.learned_initial_state) for part in directions]
        states = [g.op("Expand", [g.const(f"{base}/initial_state_{j}", [np.asarray(v[j])[None, :] for v in learned]),
                                  shape]) for j in range(len(learned[0]))]
    inputs += list(states or [""] * (2 if kind == "peephole_lstm" else 1))
    if "P" in parts[0][1]:
        inputs.append(g.const(f"{base}/P", np.stack([p[1]["P"] for p in parts])))
    if len(directions) == 2:
        attributes = {**attributes, "direction": "bidirectional"}
        if "activations" in attributes:
            attributes["activations"] = attributes["activations"] * 2
    while inputs[-1] == "":
        inputs.pop()
    n_out = 3 if kind == "peephole_lstm" else 2
    y, *finals = g.op(OPS[kind], inputs, outputs=n_out, name=base, **attributes)
    y = g.op("Transpose", [y], perm=[0, 2, 1, 3])  # (time, directions, batch, units) -> (time, batch, ...)
    y = g.op("Reshape", [y, g.const("time_batch_rest", [0, 0, -1], np.int64)])
    return y, finals


def _time_mask(g, lengths, t):
    """(time, batch, 1) bool: step < length."""
    steps = g.op("Range", [g.const("zero", 0, np.int64), t, g.const("one", 1, np.int64)])
    steps = g.op("Unsqueeze", [steps, g.const("axes_1_2", [1, 2], np.int64)])
    return g.op("Less", [steps, g.op("Unsqueeze", [lengths, g.const("axes_0_2", [0, 2], np.int64)])]), steps


def _pool(g, mode, x, lengths, t):
    """``MaskedPooling1D(mode)`` of time-major x (time, batch, features) -> (batch, features)."""
    keep, steps = _time_mask(g, lengths, t)
    zero = g.const("fzero", 0.0)
    if mode == "last":  # the features at step length - 1 (zeros for an empty row)
        last = g.op("Unsqueeze", [g.op("Sub", [lengths, g.const("one", 1, np.int64)]),
                                  g.const("axes_0_2", [0, 2], np.int64)])
        return g.op("ReduceSum", [g.op("Where", [g.op("Equal", [steps, last]), x, zero]),
                                  g.const("axis0", [0], np.int64)], keepdims=0)
    count = g.op("Cast", [g.op("Unsqueeze", [lengths, g.const("axis1", [1], np.int64)])], to=1)  # (batch, 1)
    if mode == "mean":
        total = g.op("ReduceSum", [g.op("Where", [keep, x, zero]), g.const("axis0", [0], np.int64)], keepdims=0)
        return g.op("Div", [total, g.op("Max", [count, g.const("fone", 1.0)])])
    pooled = g.op("ReduceMax", [g.op("Where", [keep, x, g.const("lowest", _LOWEST)])], axes=[0], keepdims=0)
    return g.op("Where", [g.op("Greater", [count, zero]), pooled, zero])


def _dense(g, layer, x, prefix=""):
    kernel, bias = (np.asarray(w) for w in layer.weights)
    y = g.op("Add", [g.op("MatMul", [x, g.const(f"{prefix}{layer.name}/kernel", kernel)]),
                     g.const(f"{prefix}{layer.name}/bias", bias)])
    activation = getattr(layer.activation, "__name__", "linear")
    if activation == "sigmoid":
        return g.op("Sigmoid", [y])
    if activation == "softmax":
        return g.op("Softmax", [y], axis=-1)
    if activation != "linear":
        raise ValueError(f"layer {layer.name!r}: activation {activation!r} is not exported (sigmoid, softmax or linear).")
    return y


def _classifier(g, model, ids_tm, lengths, lengths32, batch, t):
    """One ``build_classifier`` model -> (batch, 1), following its wiring layer by layer."""
    import keras

    from zoo.layers import MaskedPooling1D

    prefix = f"{model.name}/"
    layers = {layer.name: layer for layer in model.layers}
    embedded = g.op("Gather", [g.const(f"{prefix}embedding", np.asarray(layers["embedding"].embeddings)), ids_tm])
    recurrent = [layer for layer in model.layers if layer.name.startswith(("recurrent_", "bidirectional_"))]
    pool = next((layer for layer in model.layers if isinstance(layer, MaskedPooling1D) and layer.name != "last_input"),
                None)
    x = embedded
    for layer in recurrent:
        inner = layer.forward_layer if isinstance(layer, keras.layers.Bidirectional) else layer
        y, finals = _recurrent(g, layer, x, lengths32, batch, prefix=prefix)
        if inner.return_sequences:
            x = y
        else:  # the final state of each direction (Keras' last output), zeros for an empty row as Keras
            h = g.op("Reshape", [g.op("Transpose", [finals[0]], perm=[1, 0, 2]), g.const("batch_rest", [0, -1], np.int64)])
            x = g.op("Where", [g.op("Greater", [g.op("Unsqueeze", [lengths, g.const("axis1", [1], np.int64)]),
                                                g.const("izero", 0, np.int64)]), h, g.const("fzero", 0.0)])
    if "shortcut" in layers:
        if pool is None:  # x already pooled at the last step: join the input's last step
            x = g.op("Concat", [x, _pool(g, "last", embedded, lengths, t)], axis=-1)
        else:
            x = g.op("Concat", [x, embedded], axis=-1)
    if pool is not None:
        x = _pool(g, pool.mode, x, lengths, t)
    head = next(layers[name] for name in HEAD_OUTPUTS if name in layers)
    return _dense(g, head, x, prefix), head.name


def classifier_graph(members):
    """The ONNX model of a classifier, or of an ensemble (the mean of its ``members``' outputs)."""
    from onnx import TensorProto

    g = Graph()
    ids = g.input("token_ids", TensorProto.INT64, ["batch", "time"])
    lengths = g.input("lengths", TensorProto.INT64, ["batch"])
    shape = g.op("Shape", [ids])
    batch = g.op("Slice", [shape, g.const("zero1", [0], np.int64), g.const("one1", [1], np.int64)])
    t = g.op("Squeeze", [g.op("Slice", [shape, g.const("one1", [1], np.int64), g.const("two1", [2], np.int64)])])
    ids_tm = g.op("Transpose", [ids], perm=[1, 0])
    lengths32 = g.op("Cast", [lengths], to=TensorProto.INT32)
    outputs = [_classifier(g, m, ids_tm, lengths, lengths32, batch, t) for m in members]
    names = {name for _, name in outputs}
    y = outputs[0][0] if len(outputs) == 1 else g.op(
        "Div", [g.op("Sum", [o for o, _ in outputs]), g.const("members", float(len(outputs)))])
    name = names.pop()
    if name == "probabilities":  # softmax head: (batch, classes)
        g.output(y, name, TensorProto.FLOAT, ["batch", "classes"])
    else:
        g.output(g.op("Squeeze", [y, g.const("axis1", [1], np.int64)]), name, TensorProto.FLOAT, ["batch"])
    kind = "ensemble of " + ", ".join(m.name for m in members) if len(members) > 1 else members[0].name
    return g.model("classifier", f"zoo classifier ({kind}): token_ids, lengths -> output")


def _generator(g, infer, ids_tm, states_in, prefix):
    """One ``inference_model`` -> (logits time-major (time, batch, vocab), final states, each (batch, size))."""
    from zoo.models.generator import _parts

    encode, recurrent, logits, join = _parts(infer)
    if encode.name == "embedding":
        table = np.asarray(encode.embeddings)
    else:  # OneHot: row i of the identity, as keras.ops.one_hot
        table = np.eye(encode.num_tokens, dtype=np.float32)
    x = h = g.op("Gather", [g.const(f"{prefix}{encode.name}", table), ids_tm])
    finals, k = [], 0
    for layer in recurrent:
        n = 2 if cell_kind(layer.cell) == "peephole_lstm" else 1
        given = [g.op("Unsqueeze", [s, g.const("axis0", [0], np.int64)]) for s in states_in[k : k + n]]
        h, out = _recurrent(g, layer, h, None, None, states=given, prefix=prefix)
        finals += [g.op("Squeeze", [s, g.const("axis0", [0], np.int64)]) for s in out[:n]]
        k += n
    if join is not None:
        h = g.op("Concat", [h, x], axis=-1)
    return _dense(g, logits, h, prefix), finals


def generator_graph(infers, mixture_weights=None, temperatures=None):
    """The ONNX step graph of a generator's ``inference_model``, or of a mixture of several (the
    log-probabilities of ``sum_k w_k softmax(logits_k / T_k)``, as ``LogMixture``)."""
    from onnx import TensorProto

    from zoo.models.generator import state_sizes

    g = Graph()
    ids = g.input("ids", TensorProto.INT64, ["batch", "time"])
    ids_tm = g.op("Transpose", [ids], perm=[1, 0])
    sizes = [size for infer in infers for size in state_sizes(infer)]
    states = [g.input(f"state_{k}", TensorProto.FLOAT, ["batch", size]) for k, size in enumerate(sizes)]
    logits, finals, k = [], [], 0
    for i, infer in enumerate(infers):
        n = len(state_sizes(infer))
        member_logits, member_finals = _generator(g, infer, ids_tm, states[k : k + n], f"{infer.name}/")
        logits.append(member_logits)
        finals += member_finals
        k += n
    if len(infers) == 1:
        out = logits[0]
    else:
        temperatures = temperatures or [1.0] * len(infers)
        terms = []
        for x, w, temp in zip(logits, mixture_weights, temperatures):
            x = x if temp == 1.0 else g.op("Mul", [x, g.const("inverse_temperature", np.float32(1.0 / temp))])
            x = g.op("Add", [g.op("LogSoftmax", [x], axis=-1), g.const("log_weight", np.log(np.float64(w)))])
            terms.append(g.op("Unsqueeze", [x, g.const("axis0", [0], np.int64)]))
        stacked = g.op("Concat", terms, axis=0)  # logsumexp over members, max-shifted as keras.ops.logsumexp
        top = g.op("ReduceMax", [stacked], axes=[0], keepdims=1)
        summed = g.op("ReduceSum", [g.op("Exp", [g.op("Sub", [stacked, top])]), g.const("axis0", [0], np.int64)],
                      keepdims=0)
        out = g.op("Add", [g.op("Log", [summed]), g.op("Squeeze", [top, g.const("axis0", [0], np.int64)])])
    g.output(g.op("Transpose", [out], perm=[1, 0, 2]), "logits", TensorProto.FLOAT, ["batch", "time", "vocab"])
    for k, (s, size) in enumerate(zip(finals, sizes)):
        g.output(s, f"state_{k}_out", TensorProto.FLOAT, ["batch", size])
    kind = "mixture" if len(infers) > 1 else "generator"
    return g.model("generator_step", f"zoo character {kind} step: ids, states -> logits, states")


# ---- export of a zoo SavedModel folder or run folder ----------------------------------------------------


def saved_model_folder(path):
    """The zoo SavedModel folder of ``path``: the folder itself, or a finished run's export; ValueError
    (one line) if it is neither."""
    path = Path(path)
    if (path / "saved_model.pb").is_file():
        return path
    config = path / "config.json"
    if not config.is_file():
        raise ValueError(f"{path} is neither a zoo SavedModel folder (saved_model.pb) nor a run folder (config.json).")
    candidates = []
    metrics = path / "metrics.json"
    if metrics.is_file():
        candidates.append(json.loads(metrics.read_text()).get("export_dir"))
    saved = json.loads(config.read_text())
    candidates += [s.get("export_dir") for s in saved.values() if isinstance(s, dict)]
    candidates.append(str(path / "export"))
    for candidate in filter(None, candidates):
        for folder in (Path(candidate), path / Path(candidate).name):
            if (folder / "saved_model.pb").is_file():
                return folder
    raise ValueError(f"{path} has no SavedModel export (looked in {', '.join(filter(None, candidates))}); "
                     f"finish the run first: {saved.get('command', 'see its config.json')}")


def _tokenizer_source():
    return (Path(__file__).with_name("tokenizer.py")).read_text()


def export_onnx(source, out, check=True, check_data=None, check_count=2000, command=None):
    """Export the zoo model of ``source`` (a SavedModel folder or a finished run folder) to the folder
    ``out``: ``model.onnx``, ``vocabulary.json``, ``tokenizer.py``, ``README.md`` (model card) and
    ``metrics.json`` (the checks). Classifiers (ensembles included) and character generators
    (mixtures included); ValueError for anything else (seq2seq, the second_order cell).

    The graph is checked with ``onnx.checker`` (full check) and, with ``check``, run in ONNX Runtime
    on :data:`zoo.export.restore.PROBE_TEXTS` through its own ``tokenizer.py``, against the
    SavedModel's outputs on the same texts; ValueError if they differ by more than :data:`TOLERANCE`.
    With ``check_data`` (a data folder), :func:`data_texts` ``(kind, check_data, check_count)`` are
    compared too and the result recorded in the metrics and model card (not enforced).
    Returns the metrics written to ``metrics.json``.
    """
    from zoo.export import atomic_write_dir, folder_size, write_files
    from zoo.export.restore import restore

    started = time.perf_counter()
    saved_dir = saved_model_folder(source)
    restored = restore(saved_dir, check=not check)  # with check, the ONNX model is compared with the SavedModel below
    if restored.kind == "classifier":
        model = classifier_graph(restored.members)
        vocabulary = {"kind": "words", "tokens": restored.vocabulary, "max_length": restored.max_length}
    elif restored.kind == "generator":
        model = generator_graph(restored.members, restored.mixture_weights, restored.temperatures)
        vocabulary = {"kind": "characters", "characters": restored.vocabulary}
    else:
        raise ValueError(f"{saved_dir} holds a {restored.kind} model; ONNX export takes classifiers and generators.")
    texts = texts_from = None
    if check_data:
        texts, texts_from = data_texts(restored.kind, check_data, check_count)
    metrics = {
        "command": command, "source": str(saved_dir), "kind": restored.kind, "opset": OPSET,
        "nodes": dict(sorted(collections.Counter(node.op_type for node in model.graph.node).items())),
        "members": [_describe(restored.kind, c) for c in restored.configs],
        "mixture_weights": restored.mixture_weights, "temperatures": restored.temperatures,
        "vocabulary_size": len(restored.vocabulary), "max_length": restored.max_length,
        "output": graph_output(model), "labels": getattr(restored, "labels", None),
        "versions": {"onnx": _version("onnx"), "onnxruntime": _version("onnxruntime")},
    }

    def write(tmp):
        (tmp / MODEL_FILE).write_bytes(model.SerializeToString())
        write_files(tmp, {"vocabulary.json": vocabulary, "tokenizer.py": _tokenizer_source()})
        if check:
            metrics["probe_check"] = agreement(tmp, saved_dir, restored.kind)
            if metrics["probe_check"]["max_abs_difference"] > TOLERANCE:
                raise ValueError(f"the ONNX model differs from {saved_dir} by "
                                 f"{metrics['probe_check']['max_abs_difference']:.3g} on the probe texts "
                                 f"(tolerance {TOLERANCE}).")
        if texts:
            metrics["data_check"] = {**agreement(tmp, saved_dir, restored.kind, texts), "from": texts_from}
        metrics["model_bytes"] = (tmp / MODEL_FILE).stat().st_size
        metrics["folder_bytes"] = folder_size(tmp)
        metrics["export_seconds"] = round(time.perf_counter() - started, 1)
        write_files(tmp, {"metrics.json": metrics, "README.md": model_card(metrics)})

    atomic_write_dir(out, write)
    return metrics


def data_texts(kind, data_dir, count):
    """Real texts to check an export on: ``count`` IMDB test reviews spread over the 25,000 (raw
    bytes, as the archive holds them) for a classifier, or ``count`` pieces of 1,000 characters of the Tiny
    Shakespeare test split for a generator. Returns ``(texts, description)``."""
    import itertools

    if kind == "classifier":
        from zoo.data import imdb

        path = imdb.source(data_dir)
        records = imdb._records_from_dir(path) if path.is_dir() else imdb._records_from_archive(path)
        reviews = (raw for groups, raw in records if len(groups) == 4 and groups[0] == "test")
        every = max(1, 25000 // count)
        texts = list(itertools.islice(reviews, 0, None, every))[:count]  # both labels, all lengths
        spread = "all of the 25,000" if every == 1 else f"every {every}th of the 25,000"
        return texts, f"{len(texts):,} IMDB test reviews ({spread}), raw bytes"
    from zoo.data import shakespeare

    test = shakespeare.load(data_dir)["test"]
    texts = [test[i : i + 1000] for i in range(0, len(test), 1000)][:count]
    return texts, f"Tiny Shakespeare's test split in {len(texts)} pieces of up to 1,000 characters, each from a zero state"


def graph_output(model):
    """The name of an ONNX model's first output ("probability", "rating" or "logits")."""
    return model.graph.output[0].name


def _describe(kind, config):
    """One member in words, from its config section."""
    if kind == "classifier":
        return (f"{config['cell']} ({'bidirectional, ' if config.get('bidirectional') else ''}"
                f"{config.get('num_layers', 1)} x {config['units']} units, {config.get('pooling', 'last')} pooling)")
    return f"{config['cell']} ({config.get('num_layers', 1)} x {config['units']} units)"


def record_benchmark(folder, results):
    """Add ``results`` (scripts/benchmark_onnx.py's, for this model) to the export's metrics.json as
    ``benchmark`` and rewrite its model card from them."""
    from zoo.export import write_files

    folder = Path(folder)
    metrics = json.loads((folder / "metrics.json").read_text())
    metrics["benchmark"] = results
    write_files(folder, {"metrics.json": metrics, "README.md": model_card(metrics)})


def _version(package):
    from importlib.metadata import version

    return version(package)


def agreement(folder, saved_dir, kind, texts=None):
    """How closely the ONNX export in ``folder`` (run through its own ``tokenizer.py`` and ONNX
    Runtime) matches the SavedModel in ``saved_dir`` on ``texts`` (default: the probe texts):
    classifier probabilities (largest difference, and how many labels differ), or a generator's
    nats per character of each text."""
    import tensorflow as tf

    from zoo.export.restore import PROBE_TEXTS

    texts = list(texts or PROBE_TEXTS)
    saved = tf.saved_model.load(str(saved_dir))
    session = OnnxModel(folder)
    if kind == "classifier":
        serve = saved.signatures["serving_default"]
        output = session.session.get_outputs()[0].name
        key = output if output in serve.structured_outputs else "value"  # a rating head serves "value"
        got, want = [], []
        for start in range(0, len(texts), 64):
            chunk = texts[start : start + 64]
            got.append(session.classify(chunk))
            want.append(serve(text=tf.constant(chunk))[key].numpy())
        got, want = np.concatenate(got), np.concatenate(want)
        result = {"texts": len(texts), "max_abs_difference": float(np.max(np.abs(got - want)))}
        if output == "probability":
            result["labels_differing"] = int(np.sum((got >= 0.5) != (want >= 0.5)))
        elif output == "probabilities":
            result["labels_differing"] = int(np.sum(got.argmax(-1) != want.argmax(-1)))
        return result
    texts = [t for t in texts if len(session.tokenizer.encode(t)) > 1]
    got = np.array([session.nll(t) for t in texts])
    want = saved.signatures["score"](text=tf.constant(texts))["nll"].numpy()
    return {"texts": len(texts), "max_abs_difference": float(np.max(np.abs(got - want)))}


class OnnxModel:
    """An ONNX export folder run with ONNX Runtime and its own ``tokenizer.py`` (what its model card shows)."""

    def __init__(self, folder, threads=None):
        import importlib.util

        import onnxruntime

        folder = Path(folder)
        spec = importlib.util.spec_from_file_location(f"zoo_onnx_tokenizer_{id(self)}", folder / "tokenizer.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        self.tokenizer = module.Tokenizer.load(folder / "vocabulary.json")
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(str(folder / MODEL_FILE), options,
                                                    providers=["CPUExecutionProvider"])

    def classify(self, texts, chunk=8):
        """(batch,) outputs for raw texts. Texts run ``chunk`` at a time, longest first, each chunk padded
        only to its own longest text, as the SavedModel's serving function does
        (:func:`zoo.export.classify_ids`): a batch then costs about its tokens, not batch x longest."""
        encoded = [self.tokenizer.encode(t) for t in texts]
        order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i]))
        parts = []
        for start in range(0, len(order), chunk):
            ids, lengths = self.tokenizer.pad([encoded[i] for i in order[start : start + chunk]])
            parts.append(self.session.run(None, {"token_ids": ids, "lengths": lengths})[0])
        out = np.concatenate(parts) if parts else np.zeros((0,), np.float32)
        return out[np.argsort(order)]  # back to the texts' order

    def zero_states(self, batch=1):
        return {i.name: np.zeros((batch, i.shape[1]), np.float32) for i in self.session.get_inputs()[1:]}

    def step(self, ids, states):
        logits, *finals = self.session.run(None, {"ids": np.asarray(ids, np.int64), **states})
        return logits, dict(zip(states, finals))

    def nll(self, text):
        """Mean nats per character of characters 2..n of ``text`` (as the SavedModel's ``score``)."""
        ids = np.array([self.tokenizer.encode(text)], np.int64)
        logits, _ = self.step(ids[:, :-1], self.zero_states())
        logits = logits[0].astype(np.float64)
        log_probs = logits - logits.max(-1, keepdims=True)
        log_probs -= np.log(np.exp(log_probs).sum(-1, keepdims=True))
        return float(-np.mean(log_probs[np.arange(ids.shape[1] - 1), ids[0, 1:]]))


CLASSIFIER_USE = """```python
import numpy as np
import onnxruntime as ort
from tokenizer import Tokenizer  # tokenizer.py, beside model.onnx: the Python standard library only

tokenizer = Tokenizer.load("vocabulary.json")
session = ort.InferenceSession("model.onnx")
ids, lengths = tokenizer.batch(["A wonderful, moving film.", "Dull and far too long."])
{output}, = session.run(None, {{"token_ids": ids, "lengths": lengths}})
print({output})
```"""

GENERATOR_USE = """```python
import json
import numpy as np
import onnxruntime as ort

session = ort.InferenceSession("model.onnx")
chars = json.load(open("vocabulary.json", encoding="utf-8"))["characters"]  # chars[i] is id i + 1
states = {{s.name: np.zeros((1, s.shape[1]), np.float32) for s in session.get_inputs()[1:]}}

def step(ids):  # feed ids, carry the states; returns the logits after the last id
    global states
    logits, *finals = session.run(None, {{"ids": np.array([ids], np.int64), **states}})
    states = dict(zip(states, finals))
    return logits[0, -1]

rng = np.random.default_rng(0)
logits = step([chars.index(c) + 1 for c in "ROMEO:\\n" if c in chars])
text = ""
for _ in range(200):
    scaled = logits[1:] / 0.8  # temperature 0.8; id 0 is padding, never emitted
    p = np.exp(scaled - scaled.max())
    next_id = 1 + rng.choice(len(p), p=p / p.sum())
    text += chars[next_id - 1]
    logits = step([next_id])
print(text)
```"""

CARD = """# {title} (ONNX)

The zoo model of `{source}` as an ONNX graph (opset {opset}) for ONNX Runtime or any ONNX runtime
(C++, C#, Java, JavaScript, mobile): no TensorFlow and no zoo needed. Each recurrent layer is one
native ONNX `{recurrent_ops}` node ({recurrent_notes}), so tools that know ONNX's recurrent operators
see them as such. Written by `{command}`.

## Files
- `model.onnx` ({model_mb:.2f} MB): {graph}
- `vocabulary.json`, `tokenizer.py`: {tokenizer}
- `metrics.json`: the checks below, the graph's node counts and the versions used.

## Use (onnxruntime and numpy only)
{use}

## Checks (made by the export)
- `onnx.checker.check_model(full_check=True)` passes; nodes: {nodes}.
{checks}
{speed}"""


SPEED_CLASSIFIER = """
## Speed (scripts/benchmark_onnx.py, one run, {machine})
| | SavedModel (TensorFlow) | this export (ONNX Runtime) | ratio |
|---|---|---|---|
| one review, p50 | {saved_p50:.1f} ms | {onnx_p50:.1f} ms | {p50_ratio:.2f}x {p50_word} |
| one review, p99 | {saved_p99:.1f} ms | {onnx_p99:.1f} ms | |
| reviews per second, batches of {batch} | {saved_rps:,.0f} | {onnx_rps:,.0f} | {rps_ratio:.2f}x {rps_word} |

Text in, probability out on both sides (here `tokenizer.py` in Python, then ONNX Runtime); largest
difference in probability over the {inputs} timed: {difference:.2g}. Command: `{command}`.
"""

SPEED_GENERATOR = """
## Speed (scripts/benchmark_onnx.py, one run, {machine})
| | SavedModel (TensorFlow) | this export (ONNX Runtime) | ratio |
|---|---|---|---|
| generating, characters per second | {saved_gen:,.0f} | {onnx_gen:,.0f} | {gen_ratio:.2f}x {gen_word} |
| scoring a text, characters per second | {saved_score:,.0f} | {onnx_score:,.0f} | {score_ratio:.2f}x {score_word} |

Generating: the SavedModel's `generate` signature against the loop above (one `session.run` per
character, sampling in NumPy). Command: `{command}`.
"""


def _faster(ratio):
    return "faster with ONNX Runtime" if ratio > 1 else "slower with ONNX Runtime"


def _speed(metrics):
    b = metrics.get("benchmark")
    if not b:
        return ""
    common = {"machine": b["machine"], "command": b["command"]}
    saved, onnx = b["savedmodel"], b["onnxruntime"]
    if metrics["kind"] == "classifier":
        p50, rps = saved["single_p50_ms"] / onnx["single_p50_ms"], onnx["reviews_per_second"] / saved["reviews_per_second"]
        return SPEED_CLASSIFIER.format(
            saved_p50=saved["single_p50_ms"], onnx_p50=onnx["single_p50_ms"], p50_ratio=p50, p50_word=_faster(p50),
            saved_p99=saved["single_p99_ms"], onnx_p99=onnx["single_p99_ms"], batch=b["batch"],
            saved_rps=saved["reviews_per_second"], onnx_rps=onnx["reviews_per_second"], rps_ratio=rps,
            rps_word=_faster(rps), inputs=b["inputs"], difference=b["max_abs_difference"], **common)
    gen = onnx["generate_chars_per_second"] / saved["generate_chars_per_second"]
    score = onnx["score_chars_per_second"] / saved["score_chars_per_second"]
    return SPEED_GENERATOR.format(
        saved_gen=saved["generate_chars_per_second"], onnx_gen=onnx["generate_chars_per_second"], gen_ratio=gen,
        gen_word=_faster(gen), saved_score=saved["score_chars_per_second"], onnx_score=onnx["score_chars_per_second"],
        score_ratio=score, score_word=_faster(score), **common)


def model_card(metrics):
    """The ONNX export's README.md, every figure from its ``metrics`` (see :func:`export_onnx`)."""
    recurrent = [op for op in ("RNN", "GRU", "LSTM") if op in metrics["nodes"]]
    notes = {"RNN": "Elman", "GRU": "GRU, `linear_before_reset` for Keras' `reset_after`",
             "LSTM": "peephole LSTM, ONNX's peephole input `P`"}
    members = metrics["members"]
    output = metrics["output"]
    if metrics["kind"] == "classifier":
        kind = f"ensemble of {len(members)}: {'; '.join(members)}, the mean of their outputs" if len(members) > 1 else members[0]
        title = f"Text classifier: {kind}"
        labels = metrics.get("labels") or []
        graph = (f"`token_ids` (int64 [batch, time], 0-padded on the right) and `lengths` (int64 [batch], the "
                 f"real tokens of each row) -> `{output}` "
                 + {"probability": f"(float32 [batch], the probability of `{labels[-1] if labels else 'positive'}`).",
                    "probabilities": f"(float32 [batch, {len(labels) or 'classes'}], the probability of each class: "
                                     + ", ".join(f"`{x}`" for x in labels) + ").",
                    "value": "(float32 [batch], the regression output).", "rating": "(float32 [batch], the rating)."}[output]
                 + " Padding is masked (`sequence_lens`): any padded width gives the same answer.")
        tokenizer = (f"the SavedModel's text standardization and {metrics['vocabulary_size']:,}-entry vocabulary "
                     f"(0 padding, 1 unknown word), first {metrics['max_length']} tokens kept, reproduced exactly "
                     "in plain Python (`Tokenizer.load(\"vocabulary.json\").batch(texts)` gives `token_ids`, `lengths`).")
        use = CLASSIFIER_USE.format(output=output)
    else:
        kind = (f"mixture of {len(members)}: {'; '.join(members)}; weights "
                f"{', '.join(f'{w:.3f}' for w in metrics['mixture_weights'])}"
                + (f", temperatures {', '.join(f'{t:.3f}' for t in metrics['temperatures'])}" if metrics["temperatures"] else "")
                if len(members) > 1 else members[0])
        title = f"Character model: {kind}"
        graph = ("a step graph: `ids` (int64 [batch, time], no padding) and `state_0`... (float32 [batch, size], "
                 "every recurrent state, layer by layer" + (", member by member" if len(members) > 1 else "")
                 + ") -> `logits` (float32 [batch, time, vocab]" + (", the mixture's log-probabilities" if len(members) > 1 else "")
                 + ") and `state_0_out`... One id at a time samples; a whole text at once scores it.")
        tokenizer = (f"the {metrics['vocabulary_size']} characters (character `characters[i]` is id i + 1; id 0 is "
                     "padding); `tokenizer.py` maps text to ids (unknown characters dropped) and back.")
        use = GENERATOR_USE.format()
    checks = []
    what = "probability" if metrics["kind"] == "classifier" else "nats per character"
    for key, default in (("probe_check", "the export's probe texts"), ("data_check", None)):
        if key in metrics:
            c = metrics[key]
            labels = f", {c['labels_differing']} labels differ" if "labels_differing" in c else ""
            checks.append(f"- ONNX Runtime through `tokenizer.py` against the SavedModel's own signature on "
                          f"{c['texts']:,} texts ({c.get('from') or default}): largest difference in {what} "
                          f"{c['max_abs_difference']:.2g}{labels}.")
    return CARD.format(title=title, source=metrics["source"], opset=metrics["opset"],
                       recurrent_ops="`/`".join(recurrent), recurrent_notes="; ".join(notes[op] for op in recurrent),
                       command=metrics["command"] or f"zoo.export.onnx.export_onnx({metrics['source']!r}, ...)",
                       model_mb=metrics["model_bytes"] / 1e6, graph=graph, tokenizer=tokenizer, use=use,
                       nodes=", ".join(f"{op} {n}" for op, n in metrics["nodes"].items()), checks="\n".join(checks),
                       speed=_speed(metrics))
