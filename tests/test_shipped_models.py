"""The models under saved_models/ load without zoo and behave as their model cards say."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "saved_models"

SENTIMENT = """
import json, sys
sys.modules["zoo"] = None
import tensorflow as tf
serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
out = serve(text=tf.constant(json.loads(sys.argv[2])))
print(json.dumps({"label": [x.decode() for x in out["label"].numpy()], "probability": out["probability"].numpy().tolist()}))
"""


@pytest.mark.parametrize("name", ["imdb_sentiment", "imdb_sentiment_fast"])
def test_shipped_sentiment_model_reads_raw_text_without_zoo(name):
    path = ROOT / name
    if not (path / "saved_model.pb").exists():
        pytest.skip(f"no shipped {name} model")
    texts = [
        "A moving, beautifully acted film. One of the best I have seen in years.",
        "Dull, predictable and far too long. The worst film I have seen in years.",
        "",
        b"\xff invalid bytes".decode("latin-1"),
    ]
    run = subprocess.run([sys.executable, "-c", SENTIMENT, str(path), json.dumps(texts)], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["label"][:2] == ["positive", "negative"]
    assert all(0 <= p <= 1 for p in out["probability"])
    metrics = json.loads((path / "metrics.json").read_text())
    card = (path / "README.md").read_text()
    assert metrics["test_examples"] == 25000 and f"{metrics['test']['accuracy']:.4f}" in card
    assert f'tf.saved_model.load("saved_models/{name}")' in card  # the card shows how to load this very folder
    assert sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) <= 25 * 2**20


GENERATOR = """
import json, sys
sys.modules["zoo"] = None
import tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
def g(prompt, length, seed):
    out = model.signatures["generate"](prompt=tf.constant(prompt), length=tf.constant(length),
                                       temperature=tf.constant(0.8), seed=tf.constant(seed))
    return out["text"].numpy().decode()
nll = model.signatures["score"](text=tf.constant(["ROMEO:\\nWhat light through yonder window breaks?", "qqqq zzzz xxxx"]))
print(json.dumps({"a": g("ROMEO:", 80, 1), "b": g("ROMEO:", 80, 1), "odd": g("日本 @", 5, 2), "nll": nll["nll"].numpy().tolist()}))
"""


@pytest.mark.skipif(not (ROOT / "shakespeare_char" / "saved_model.pb").exists(), reason="no shipped char model")
def test_shipped_char_model_generates_and_scores_without_zoo():
    path = ROOT / "shakespeare_char"
    run = subprocess.run([sys.executable, "-c", GENERATOR, str(path)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["a"] == out["b"] and len(out["a"]) == 80 and len(out["odd"]) == 5
    shakespeare_like, gibberish = out["nll"]
    assert shakespeare_like < gibberish  # the model prefers Shakespeare to noise
    metrics = json.loads((path / "metrics.json").read_text())
    assert f"{metrics['test_loss']:.4f}" in (path / "README.md").read_text()
    assert sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) <= 25 * 2**20


SEQ2SEQ = """
import json, sys
sys.modules["zoo"] = None
import tensorflow as tf
signatures = tf.saved_model.load(sys.argv[1]).signatures
out = {}
for name in sorted(signatures):
    (values,) = signatures[name](text=tf.constant(json.loads(sys.argv[2]))).values()
    out[name] = [v.decode("utf-8") for v in values.numpy()]
print(json.dumps(out))
"""


def run_seq2seq(path, texts):
    run = subprocess.run([sys.executable, "-c", SEQ2SEQ, str(path), json.dumps(texts)], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not (ROOT / "addition" / "saved_model.pb").exists(), reason="no shipped addition model")
def test_shipped_addition_model_adds_without_zoo():
    path = ROOT / "addition"
    out = run_seq2seq(path, ["123+45", "999+999", "305+470", "500+250", "", "abc"])
    assert out["serving_default"] == ["168", "1998", "775", "750", "", ""]  # "" outside a+b (issue 27)
    metrics = json.loads((path / "metrics.json").read_text())
    assert metrics["pairs"]["test"] == 10000
    assert f"{100 * metrics['test_exact_match_beam']:.2f}%" in (path / "README.md").read_text()
    assert sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) <= 25 * 2**20


@pytest.mark.skipif(not (ROOT / "spa_eng_translator" / "saved_model.pb").exists(), reason="no shipped translator")
def test_shipped_translator_translates_raw_english_without_zoo():
    path = ROOT / "spa_eng_translator"
    texts = ["I like cats.", "Where is the station?", "", "x" * 3000, "Zoë's café, 日本!"]
    out = run_seq2seq(path, texts)
    assert out["translate"] == out["serving_default"] and len(out["translate"]) == len(texts)
    assert out["translate"][0] and out["translate"][1]  # real sentences get a real translation
    metrics = json.loads((path / "metrics.json").read_text())
    assert f"{metrics['test_bleu_beam']:.1f}" in (path / "README.md").read_text()
    assert sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) <= 25 * 2**20


@pytest.mark.parametrize("card", sorted(ROOT.glob("*/README.md")), ids=lambda p: p.parent.name)
def test_shipped_model_cards_state_their_serving_limits(card):
    if card.parent.name.endswith("_onnx"):
        pytest.skip("ONNX exports run outside TensorFlow; their limits are the runtime's")
    text = card.read_text()
    assert "## Serving limits" in text and "100,000" in text  # the limits of zoo/export (issue 27)
