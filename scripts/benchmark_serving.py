"""Serving speed of the exported flagship models, loaded as a plain TensorFlow user would.

For each SavedModel under saved_models/: latency of single requests (p50 and p99 over --requests
calls, after warm-up) and throughput at --batch texts per call. No zoo code is imported; only
`tf.saved_model.load` and the models' signatures.

    python scripts/benchmark_serving.py                        # every flagship found
    python scripts/benchmark_serving.py --models imdb_sentiment --requests 200

Inputs: IMDB test reviews when ZOO_DATA_DIR (or --data-dir) holds the IMDB archive, else a fixed
230-word review (IMDB's median length); English sentences for the translator; "a+b" problems for
addition; the character model generates 100 characters per request and scores 64 texts per batch.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

ROOT = Path(__file__).resolve().parents[1]
REVIEW = ("I went in expecting little and came out moved. The acting is uneven, the plot has holes you could "
          "drive a truck through, and the last twenty minutes drag, but the lead gives a performance of real "
          "warmth and the score is beautiful. ") * 5
SENTENCES = ["Where is the train station?", "I don't know what you want.", "Tom is reading a book in the garden.",
             "We should have left earlier.", "Can you help me?", "She bought three apples yesterday."]


def reviews(data_dir, n):
    """Up to ``n`` IMDB test reviews if the data is at hand, else copies of a fixed review."""
    if not data_dir:
        return [REVIEW] * n, f"a fixed {len(REVIEW.split())}-word review (no --data-dir / ZOO_DATA_DIR)"
    try:
        sys.path.insert(0, str(ROOT))
        from zoo.data import imdb  # only to read the data; the model is loaded with TensorFlow alone

        texts = imdb.load(data_dir)["test"].texts
        order = np.random.default_rng(0).permutation(len(texts))[:n]
        return [texts[i] for i in order], "IMDB test reviews"
    except (OSError, ValueError) as err:  # no usable local data: fall back, and say so
        return [REVIEW] * n, f"a fixed {len(REVIEW.split())}-word review ({err})"


def percentile(values, q):
    return float(np.percentile(np.asarray(values), q))


def time_calls(call, inputs):
    """Milliseconds of each ``call(x)`` over ``inputs``, after one untimed pass over them all.

    The untimed pass is the warm-up a server does: models that run XLA-compiled (the sentiment model)
    compile once per new input shape, and every shape these inputs need is compiled in it. What the
    very first request costs is reported apart, as ``first_call_ms``.
    """
    for x in inputs:
        call(x)
    times = []
    for x in inputs:
        start = time.perf_counter()
        call(x)
        times.append((time.perf_counter() - start) * 1e3)
    return times


def text_model(path, texts, args, signature="serving_default"):
    serve = tf.saved_model.load(str(path)).signatures[signature]

    def call(batch):
        return serve(text=tf.constant(batch, tf.string))

    start = time.perf_counter()
    call(texts[:1])
    first = (time.perf_counter() - start) * 1e3
    single = time_calls(call, [[t] for t in texts[: args.requests]])
    batches = [texts[i : i + args.batch] for i in range(0, len(texts) - args.batch + 1, args.batch)][: args.batches]
    batched = time_calls(call, batches)
    return {
        "first_call_ms": first,
        "single_p50_ms": percentile(single, 50),
        "single_p99_ms": percentile(single, 99),
        "batch": args.batch,
        "batch_ms_median": statistics.median(batched),
        "items_per_second": args.batch / (statistics.median(batched) / 1e3),
    }


def char_model(path, args):
    model = tf.saved_model.load(str(path))
    generate, score = model.signatures["generate"], model.signatures["score"]

    def gen(seed):
        return generate(prompt=tf.constant("ROMEO:\n"), length=tf.constant(100), temperature=tf.constant(0.8),
                        seed=tf.constant(seed))

    single = time_calls(gen, list(range(max(args.requests // 10, 10))))
    texts = [REVIEW[:400]] * args.batch
    batched = time_calls(lambda b: score(text=tf.constant(b)), [texts] * args.batches)
    return {
        "generate_100_chars_p50_ms": percentile(single, 50),
        "generate_100_chars_p99_ms": percentile(single, 99),
        "generate_chars_per_second": 100 / (percentile(single, 50) / 1e3),
        "batch": args.batch,
        "score_batch_ms_median": statistics.median(batched),
        "score_texts_per_second": args.batch / (statistics.median(batched) / 1e3),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", help="folders under --root to benchmark (default: every flagship)",
                        default=["imdb_sentiment", "imdb_sentiment_fast", "shakespeare_char", "spa_eng_translator",
                                 "addition"])
    parser.add_argument("--root", default=str(ROOT / "saved_models"), help="where the exported models are")
    parser.add_argument("--requests", type=int, default=300, help="single requests timed per model (default 300)")
    parser.add_argument("--batch", type=int, default=64, help="texts per batched call (default 64)")
    parser.add_argument("--batches", type=int, default=20, help="batched calls timed per model (default 20)")
    parser.add_argument("--data-dir", default=os.environ.get("ZOO_DATA_DIR", ""), help="IMDB data (default $ZOO_DATA_DIR)")
    parser.add_argument("--out", help="also write the results as JSON here")
    args = parser.parse_args(argv)
    for name in ("requests", "batch", "batches"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be a positive integer; got {getattr(args, name)}")

    needed = max(args.requests, args.batch * args.batches)
    results = {"machine": f"{platform.machine()} CPU x{os.cpu_count()}", "tensorflow": tf.__version__}
    for name in args.models:
        path = Path(args.root) / name
        if not (path / "saved_model.pb").exists():
            print(f"skipping {name}: no SavedModel at {path}", file=sys.stderr)
            continue
        if name == "shakespeare_char":
            results[name] = char_model(path, args)
        elif name.startswith("imdb_sentiment"):
            texts, source = reviews(args.data_dir, needed)
            results[name] = {**text_model(path, texts, args), "inputs": source}
        elif name == "addition":
            rng = np.random.default_rng(0)
            problems = [f"{a}+{b}" for a, b in rng.integers(0, 1000, size=(needed, 2))]
            results[name] = {**text_model(path, problems, args), "inputs": "random a+b, a, b < 1000"}
        else:
            sentences = [SENTENCES[i % len(SENTENCES)] for i in range(needed)]
            results[name] = {**text_model(path, sentences, args), "inputs": "short English sentences"}
        print(name, json.dumps(results[name]), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
