"""zoo.export.onnx: zoo models as native ONNX RNN/GRU/LSTM graphs, checked in ONNX Runtime without TF or zoo."""

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
tf = pytest.importorskip("tensorflow")

from tests import reference  # noqa: E402
from zoo import cells  # noqa: E402
from zoo.export import onnx as zoo_onnx  # noqa: E402
from zoo.models import generator as generators  # noqa: E402
from zoo.models.classifier import build_classifier  # noqa: E402

pytestmark = pytest.mark.requires_tensorflow(reason="builds and exports Keras models with TensorFlow")

# Runs ONNX models in a fresh process that imports neither TensorFlow nor zoo: every case of cases.json
# is {"model": path, "inputs": npz, "outputs": npz}, or a generator fed one id at a time ("steps").
RUNNER = textwrap.dedent("""
    import json, sys
    import numpy as np
    import onnxruntime as ort

    for case in json.load(open(sys.argv[1])):
        session = ort.InferenceSession(case["model"], providers=["CPUExecutionProvider"])
        feed = dict(np.load(case["inputs"]))
        if case.get("steps"):  # ids (1, n) fed one at a time, states carried: the sampling loop's use
            ids = feed.pop("ids")
            outs = []
            for t in range(ids.shape[1]):
                logits, *finals = session.run(None, {"ids": ids[:, t : t + 1], **feed})
                feed = dict(zip(feed, finals))
                outs.append(logits)
            np.savez(case["outputs"], logits=np.concatenate(outs, axis=1))
        else:
            out = session.run(None, feed)
            np.savez(case["outputs"], **{f"out{k}": v for k, v in enumerate(out)})
    assert "tensorflow" not in sys.modules and "zoo" not in sys.modules and "keras" not in sys.modules
""")


def run_without_tf(folder, cases):
    """Run ``cases`` (dicts of model, inputs) in a subprocess without TF/zoo; returns their outputs."""
    folder = Path(folder)
    for k, case in enumerate(cases):
        np.savez(folder / f"in{k}.npz", **case.pop("feed"))
        case.update(inputs=str(folder / f"in{k}.npz"), outputs=str(folder / f"out{k}.npz"))
    (folder / "cases.json").write_text(json.dumps(cases))
    (folder / "runner.py").write_text(RUNNER)
    subprocess.run([sys.executable, "-I", str(folder / "runner.py"), str(folder / "cases.json")], check=True,
                   cwd=folder, timeout=120)
    return [dict(np.load(case["outputs"])) for case in cases]


def randomize(model, seed):
    """Weights ~ N(0, 0.5): peepholes, learned initial states and biases all nonzero."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32") for w in model.get_weights()])


# Every classic cell and convention, each in four wirings: uni/bidirectional, 1-2 layers, every pooling,
# learned initial states, the shortcut.
CELLS = [("elman", {}), ("elman", {"activation": "relu"}), ("gru", {}), ("gru", {"reset_after": False}),
         ("peephole_lstm", {})]
WIRINGS = [
    dict(bidirectional=False, pooling="last", num_layers=1),
    dict(bidirectional=True, pooling="max", num_layers=2),
    dict(bidirectional=True, pooling="last", num_layers=1, initial_state="learned"),
    dict(bidirectional=False, pooling="mean", num_layers=2, shortcut=True, initial_state="learned"),
]
# A masked mixed-length batch: full, short, empty, and a row whose padding is longer than its text.
IDS = np.array([[3, 4, 5, 6, 7, 8, 9], [5, 6, 2, 0, 0, 0, 0], [0] * 7, [9, 1, 0, 0, 0, 0, 0]], np.int64)
LENGTHS = (IDS > 0).sum(axis=1)


@pytest.fixture(scope="module")
def classifiers(tmp_path_factory):
    folder = tmp_path_factory.mktemp("onnx_classifiers")
    cases, expected, graphs = [], [], []
    for k, ((cell, options), wiring) in enumerate((c, w) for c in CELLS for w in WIRINGS):
        model = build_classifier(cell, vocab_size=12, embedding_dim=5, units=4, **options, **wiring)
        randomize(model, k)
        graph = zoo_onnx.classifier_graph([model])
        onnx.save(graph, folder / f"c{k}.onnx")
        cases.append({"model": str(folder / f"c{k}.onnx"), "feed": {"token_ids": IDS, "lengths": LENGTHS}})
        expected.append(model(IDS.astype("int32"), training=False).numpy()[:, 0])
        graphs.append(graph)
    got = [out["out0"] for out in run_without_tf(folder, cases)]
    return graphs, got, expected


def test_classifiers_match_keras_in_onnx_runtime_without_tensorflow(classifiers):
    _, got, expected = classifiers
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, atol=1e-5, rtol=0)
    assert np.std(np.concatenate(expected)) > 0.05  # the outputs are not all saturated alike


def test_graphs_pass_the_checker_and_hold_one_native_node_per_recurrent_layer(classifiers):
    graphs, _, _ = classifiers
    for graph, ((cell, _), wiring) in zip(graphs, ((c, w) for c in CELLS for w in WIRINGS)):
        onnx.checker.check_model(graph, full_check=True)
        ops = [node.op_type for node in graph.graph.node]
        assert "Loop" not in ops and "Scan" not in ops
        assert ops.count(zoo_onnx.OPS[cell]) == wiring["num_layers"]
        directions = {a.s for n in graph.graph.node if n.op_type == zoo_onnx.OPS[cell] for a in n.attribute
                      if a.name == "direction"}
        assert directions == ({b"bidirectional"} if wiring["bidirectional"] else set())
        assert graph.opset_import[0].version == zoo_onnx.OPSET


def test_padding_width_changes_nothing():
    model = build_classifier("peephole_lstm", vocab_size=12, embedding_dim=5, units=4, bidirectional=True, pooling="max")
    randomize(model, 1)
    import onnxruntime

    session = onnxruntime.InferenceSession(zoo_onnx.classifier_graph([model]).SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    alone = [session.run(None, {"token_ids": IDS[k : k + 1, : max(n, 1)], "lengths": LENGTHS[k : k + 1]})[0]
             for k, n in enumerate(LENGTHS)]
    wide = np.pad(IDS, [(0, 0), (0, 5)])
    batched = session.run(None, {"token_ids": wide, "lengths": LENGTHS})[0]
    np.testing.assert_allclose(batched, np.concatenate(alone), atol=1e-6, rtol=0)


@pytest.mark.parametrize("kind, reset_after", [("elman", True), ("gru", True), ("gru", False), ("peephole_lstm", True)])
def test_relayout_under_onnx_equations_equals_the_keras_cell_equations(kind, reset_after):
    rng = np.random.default_rng(0)
    units, features, g = 3, 2, len(zoo_onnx.KERAS_GATES[kind])
    kernel, recurrent = rng.normal(size=(features, g * units)), rng.normal(size=(units, g * units))
    bias = rng.normal(size=(2, g * units) if kind == "gru" and reset_after else (g * units,))
    peepholes = [rng.normal(size=units) for _ in "ifo"] if kind == "peephole_lstm" else None
    xs = rng.normal(size=(5, 2, features))
    h0, c0 = rng.normal(size=(2, units)), rng.normal(size=(2, units))
    onnx_weights = {k: v.astype(np.float64) for k, v in
                    zoo_onnx.relayout(kind, kernel, recurrent, bias, peepholes, reset_after).items()}
    op = zoo_onnx.OPS[kind]
    y, h, c = reference.onnx_recurrent(op, xs, initial_h=h0, initial_c=c0, linear_before_reset=int(reset_after),
                                       **onnx_weights)
    if kind == "elman":
        step = lambda x, s: reference.elman_step(x, s, kernel, recurrent, bias)  # noqa: E731
    elif kind == "gru":
        step = lambda x, s: reference.gru_step(x, s, kernel, recurrent, bias, reset_after)  # noqa: E731
    else:
        step = lambda x, s: reference.lstm_step(x, s, kernel, recurrent, bias, *peepholes)  # noqa: E731
    want_y, want_states = reference.run_sequence(step, xs.transpose(1, 0, 2), [h0, c0] if c is not None else [h0])
    np.testing.assert_allclose(y, want_y.transpose(1, 0, 2), atol=1e-5)
    np.testing.assert_allclose(h, want_states[0], atol=1e-5)
    if c is not None:
        np.testing.assert_allclose(c, want_states[1], atol=1e-5)


def test_lstm_gates_go_to_onnx_order_i_o_f_c_and_peepholes_i_o_f():
    units = 2
    # Column block k of Keras' kernel (order i, f, c, o) holds the value k.
    kernel = np.repeat(np.arange(4.0), units)[None, :].repeat(3, axis=0)
    out = zoo_onnx.relayout("peephole_lstm", kernel, kernel[:units], np.repeat(np.arange(4.0), units),
                            [np.full(units, 10.0), np.full(units, 11.0), np.full(units, 12.0)])
    keras_block = {gate: k for k, gate in enumerate("ifco")}
    assert out["W"].shape == (4 * units, 3) and out["R"].shape == (4 * units, units)
    assert list(out["W"][::units, 0]) == [keras_block[g] for g in "iofc"]
    assert list(out["B"][::units]) == [keras_block[g] for g in "iofc"] + [0.0] * 4
    assert list(out["P"][::units]) == [10.0, 12.0, 11.0]  # i, o, f


def test_gru_reset_after_bias_rows_become_wb_and_rb():
    bias = np.stack([np.full(6, 1.0), np.full(6, 2.0)])
    out = zoo_onnx.relayout("gru", np.zeros((1, 6)), np.zeros((2, 6)), bias, reset_after=True)
    assert list(out["B"]) == [1.0] * 6 + [2.0] * 6


@pytest.mark.parametrize("cell, options", [("gru", {"activation": "relu", "recurrent_activation": "tanh"}),
                                           ("peephole_lstm", {"activation": "relu", "recurrent_activation": "tanh"})])
def test_other_keras_activations_become_onnx_activations(cell, options):
    import onnxruntime

    model = build_classifier(cell, vocab_size=12, embedding_dim=5, units=4, bidirectional=True, **options)
    randomize(model, 7)
    session = onnxruntime.InferenceSession(zoo_onnx.classifier_graph([model]).SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    want = model(IDS.astype("int32"), training=False).numpy()[:, 0]
    np.testing.assert_allclose(session.run(None, {"token_ids": IDS, "lengths": LENGTHS})[0], want, atol=1e-5)


@pytest.mark.parametrize("head, output", [("softmax", "probabilities"), ("regression", "value"), ("rating", "rating")])
def test_every_classifier_head_exports_under_its_own_output_name(head, output):
    import onnxruntime

    model = build_classifier("gru", vocab_size=12, embedding_dim=5, units=4, head=head, num_classes=3)
    randomize(model, 8)
    graph = zoo_onnx.classifier_graph([model])
    session = onnxruntime.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    assert session.get_outputs()[0].name == output
    want = model(IDS.astype("int32"), training=False).numpy()
    got = session.run(None, {"token_ids": IDS, "lengths": LENGTHS})[0]
    np.testing.assert_allclose(got, want if head == "softmax" else want[:, 0], atol=1e-5)


def test_an_activation_onnx_recurrent_ops_lack_is_refused():
    model = build_classifier("gru", vocab_size=12, embedding_dim=5, units=4, recurrent_activation="hard_sigmoid")
    with pytest.raises(ValueError, match="activation 'hard_sigmoid' has no ONNX recurrent equivalent"):
        zoo_onnx.classifier_graph([model])


def test_second_order_cell_is_refused_with_a_clear_error():
    model = build_classifier("second_order", vocab_size=12, embedding_dim=5, units=4)
    with pytest.raises(ValueError, match="'second_order' cell has no ONNX operator"):
        zoo_onnx.classifier_graph([model])


GENERATORS = [
    ("peephole_lstm", dict(input_mode="onehot", shortcut=True, num_layers=1)),
    ("gru", dict(num_layers=2, reset_after=False)),
    ("elman", dict(num_layers=1, activation="relu")),
]
TEXT_IDS = np.array([[3, 4, 5, 6, 7, 8, 2, 9, 1, 3]], np.int64)


def _log_probs(logits):
    shifted = np.asarray(logits, np.float64) - np.max(logits, axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def test_generator_step_graphs_reproduce_keras_per_character_scores(tmp_path):
    infers, cases, expected = [], [], []
    for k, (cell, options) in enumerate(GENERATORS):
        model = generators.build_generator(cell, vocab_size=10, embedding_dim=4, units=5, name=f"m{k}_{cell}", **options)
        randomize(model, k)
        infers.append(generators.inference_model(model))
    mixture = ([0.5, 0.3, 0.2], [1.25, 0.8, 1.0])
    models = [([i], None) for i in infers] + [(infers, mixture)]
    for k, (members, mix) in enumerate(models):
        graph = zoo_onnx.generator_graph(members, *(mix or (None, None)))
        assert {n.op_type for n in graph.graph.node} & {"Loop", "Scan"} == set()
        onnx.save(graph, tmp_path / f"g{k}.onnx")
        infer = members[0] if mix is None else generators.mixture_inference_model(members, *mix)
        states = [np.zeros((1, spec.shape[-1]), np.float32) for spec in infer.inputs[1:]]
        logits = infer([TEXT_IDS.astype("int32"), *states], training=False)[0].numpy()
        expected.append(_log_probs(logits)[0, np.arange(TEXT_IDS.shape[1] - 1), TEXT_IDS[0, 1:]])
        cases.append({"model": str(tmp_path / f"g{k}.onnx"), "steps": True,
                      "feed": {"ids": TEXT_IDS, **{f"state_{j}": s for j, s in enumerate(states)}}})
    for out, want in zip(run_without_tf(tmp_path, cases), expected):
        got = _log_probs(out["logits"])[0, np.arange(TEXT_IDS.shape[1] - 1), TEXT_IDS[0, 1:]]
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


def test_cell_kind_names_the_three_classic_cells():
    assert zoo_onnx.cell_kind(cells.get("gru", units=2)) == "gru"
    assert sorted(zoo_onnx.OPS) == sorted(set(cells.names()) - {"second_order"})


def _card_code(folder):
    """The Python block of an export's model card."""
    card = (Path(folder) / "README.md").read_text()
    return card.split("```python\n", 1)[1].split("```", 1)[0]


def _run_card(folder, scratch=None):
    """Run the model card's code in the export folder (copied into ``scratch`` first, if given), in a
    process without TensorFlow or zoo; returns what it printed."""
    if scratch is not None:
        folder = shutil.copytree(folder, Path(scratch) / Path(folder).name)
    code = _card_code(folder) + '\nimport sys\nassert not {"tensorflow", "zoo", "keras"} & set(sys.modules)\n'
    (Path(folder) / "card_example.py").write_text(code)
    run = subprocess.run([sys.executable, "-E", "-s", "card_example.py"], cwd=folder, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout


def test_ensemble_graph_is_the_mean_of_its_members():
    import onnxruntime

    from zoo.models.classifier import build_ensemble

    members = [build_classifier(cell, vocab_size=12, embedding_dim=5, units=4, pooling="mean", name=f"member_{k}")
               for k, cell in enumerate(["gru", "peephole_lstm"])]
    for k, member in enumerate(members):
        randomize(member, 10 + k)
    want = build_ensemble(members)(IDS.astype("int32"), training=False).numpy()[:, 0]
    graph = zoo_onnx.classifier_graph(members)
    session = onnxruntime.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"token_ids": IDS, "lengths": LENGTHS})[0], want, atol=1e-6)
    assert [n.op_type for n in graph.graph.node].count("GRU") == 1


def test_cli_exports_a_savedmodel_whose_card_code_runs_without_tensorflow(tmp_path):
    from zoo import cli, export
    from zoo.data import text

    vectorizer = text.make_vectorizer(["a good film", "a bad film", "good acting, bad plot", "moving and dull"], 20)
    config = dict(cell="gru", embedding_dim=4, units=3, num_layers=1, bidirectional=True, pooling="last", head="binary")
    model = build_classifier(vocab_size=vectorizer.vocabulary_size(), **config)
    randomize(model, 3)
    export.export_text_classifier(model, vectorizer, tmp_path / "saved", 12,
                                  extra_files={"config.json": {"sentiment": {**config, "max_length": 12}}})
    out = tmp_path / "onnx_export"
    assert cli.main(["export", "--format", "onnx", str(tmp_path / "saved"), "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} >= {"model.onnx", "vocabulary.json", "tokenizer.py", "README.md", "metrics.json"}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["nodes"]["GRU"] == 1 and "Loop" not in metrics["nodes"] and metrics["opset"] == zoo_onnx.OPSET
    assert metrics["probe_check"]["max_abs_difference"] <= 1e-5
    printed = _run_card(out)
    texts = tf.constant(["A wonderful, moving film.", "Dull and far too long."])  # the card's two reviews
    want = tf.saved_model.load(str(tmp_path / "saved")).signatures["serving_default"](text=texts)["probability"].numpy()
    got = np.array([float(x) for x in printed.strip().strip("[]").split()])
    np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.slow  # ~15 s; the shipped character model's card runs in the default suite
def test_generator_export_card_samples_with_onnxruntime_alone(tmp_path):
    from zoo import export

    chars = list("\n !',.:;?ACDEIMNORSTWabcdefghiklmnorstuvwy")
    model = generators.build_generator("peephole_lstm", vocab_size=len(chars) + 1, embedding_dim=4, units=6,
                                       num_layers=2)
    randomize(model, 5)
    config = {"generator": {"cell": "peephole_lstm", "embedding_dim": 4, "units": 6, "num_layers": 2,
                            "input_mode": "embedding", "shortcut": False}}
    export.export_char_generator(generators.inference_model(model), chars, tmp_path / "saved",
                                 extra_files={"config.json": config})
    metrics = zoo_onnx.export_onnx(tmp_path / "saved", tmp_path / "char_onnx")
    assert metrics["kind"] == "generator" and metrics["nodes"]["LSTM"] == 2
    assert metrics["probe_check"]["max_abs_difference"] <= 1e-5
    text = _run_card(tmp_path / "char_onnx")[:-1]  # print's newline
    assert len(text) == 200 and set(text) <= set(chars)


def test_a_run_folder_leads_to_its_export_and_other_folders_are_refused(tmp_path):
    run, saved = tmp_path / "run", tmp_path / "elsewhere" / "export"
    saved.mkdir(parents=True)
    (saved / "saved_model.pb").write_bytes(b"")
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"command": "zoo train sentiment", "sentiment": {"export_dir": str(saved)}}))
    assert zoo_onnx.saved_model_folder(run) == saved
    assert zoo_onnx.saved_model_folder(saved) == saved
    (saved / "saved_model.pb").unlink()
    with pytest.raises(ValueError, match="has no SavedModel export.*zoo train sentiment"):
        zoo_onnx.saved_model_folder(run)
    with pytest.raises(ValueError, match="neither a zoo SavedModel folder"):
        zoo_onnx.saved_model_folder(tmp_path)


SHIPPED = Path(__file__).resolve().parents[2] / "saved_models"
SHIPPED_ONNX = {"imdb_sentiment_fast_onnx": "RNN", "shakespeare_char_onnx": "LSTM"}


def _shipped(name):
    folder = SHIPPED / name
    if not (folder / "model.onnx").is_file():
        pytest.skip(f"no shipped {name}")
    return folder


@pytest.mark.parametrize("name", sorted(SHIPPED_ONNX))
def test_shipped_onnx_exports_are_small_native_and_their_card_code_runs(name, tmp_path):
    folder = _shipped(name)
    assert sum(f.stat().st_size for f in folder.iterdir()) <= 25 * 2**20
    model = onnx.load(str(folder / "model.onnx"))
    onnx.checker.check_model(model, full_check=True)
    ops = {node.op_type for node in model.graph.node}
    assert SHIPPED_ONNX[name] in ops and not ops & {"Loop", "Scan"}
    printed = _run_card(folder, tmp_path)
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["probe_check"]["max_abs_difference"] <= zoo_onnx.TOLERANCE
    if metrics["kind"] == "classifier":
        probabilities = [float(x) for x in printed.strip().strip("[]").split()]
        assert probabilities[0] > 0.5 > probabilities[1]  # the card's positive and negative review
    else:
        assert len(printed) == 201 and "\ufffd" not in printed


def test_shipped_fast_onnx_model_matches_its_savedmodel_on_raw_text():
    folder = _shipped("imdb_sentiment_fast_onnx")
    texts = ["A moving, beautifully acted film.", "", b"\xff\xfe Dull <br />and far too long. Caf\xc3\xa9 \xe9"]
    check = zoo_onnx.agreement(folder, SHIPPED / "imdb_sentiment_fast", "classifier", texts)
    assert check["max_abs_difference"] <= 1e-5 and check["labels_differing"] == 0
