"""ONNX Runtime against the TensorFlow SavedModel, same inputs, same machine, one run (issue 25).

For each sentiment model: single-review latency (p50, p99 over --requests reviews, one at a time, after
a warm-up pass) and throughput at --batch reviews per call, text in -> probability out on both sides
(the ONNX side runs the export's own tokenizer.py, in Python, then ONNX Runtime), and the largest
difference in probability over every review timed. For the character model: characters per second
generating --length characters one at a time (SavedModel `generate` signature; the ONNX side steps
the graph and samples with NumPy, as its model card does), and scoring texts (nats per character).

    python scripts/benchmark_onnx.py --data-dir ../shared/data --out /tmp/onnx_benchmark.json --record

With --record, each shipped ONNX export's metrics.json and model card get its results.

The ONNX export of each model is read from saved_models/<name>_onnx, else written to --work first
with `zoo.export.onnx.export_onnx` (imdb_sentiment's ensemble is not shipped as ONNX).
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark_serving import percentile, reviews, time_calls  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def onnx_folder(name, work):
    from zoo.export.onnx import export_onnx

    shipped = ROOT / "saved_models" / f"{name}_onnx"
    if (shipped / "model.onnx").is_file():
        return shipped
    folder = Path(work) / f"{name}_onnx"
    if not (folder / "model.onnx").is_file():
        export_onnx(ROOT / "saved_models" / name, folder)
    return folder


def classifier(name, texts, args):
    import tensorflow as tf

    from zoo.export.onnx import OnnxModel

    serve = tf.saved_model.load(str(ROOT / "saved_models" / name)).signatures["serving_default"]
    onnx = OnnxModel(onnx_folder(name, args.work), threads=args.onnx_threads)
    calls = {"savedmodel": lambda batch: serve(text=tf.constant(batch))["probability"].numpy(),
             "onnxruntime": onnx.classify}
    singles = [[t] for t in texts[: args.requests]]
    batches = [texts[i : i + args.batch] for i in range(0, len(texts) - args.batch + 1, args.batch)][: args.batches]
    out = {}
    for side, call in calls.items():
        single = time_calls(call, singles)
        batched = time_calls(call, batches)
        out[side] = {"single_p50_ms": percentile(single, 50), "single_p99_ms": percentile(single, 99),
                     "batch_ms_median": statistics.median(batched),
                     "reviews_per_second": args.batch / (statistics.median(batched) / 1e3)}
    every = [t for b in batches for t in b] + texts[: args.requests]
    difference = max(float(np.max(np.abs(calls["savedmodel"](every[i : i + 64]) - onnx.classify(every[i : i + 64]))))
                     for i in range(0, len(every), 64))
    out["max_abs_difference"] = difference
    out["onnx_vs_savedmodel"] = {
        "single_p50": out["savedmodel"]["single_p50_ms"] / out["onnxruntime"]["single_p50_ms"],
        "throughput": out["onnxruntime"]["reviews_per_second"] / out["savedmodel"]["reviews_per_second"],
    }
    return out


def char_model(name, args):
    import tensorflow as tf

    from zoo.export.onnx import OnnxModel

    saved = tf.saved_model.load(str(ROOT / "saved_models" / name))
    onnx = OnnxModel(onnx_folder(name, args.work), threads=args.onnx_threads)
    tokenizer = onnx.tokenizer

    def saved_generate():
        saved.signatures["generate"](prompt=tf.constant("ROMEO:\n"), length=tf.constant(args.length),
                                     temperature=tf.constant(0.8), seed=tf.constant(0))

    def onnx_generate():
        rng = np.random.default_rng(0)
        logits, states = onnx.step([tokenizer.encode("ROMEO:\n")], onnx.zero_states())
        for _ in range(args.length):
            scaled = logits[0, -1, 1:] / 0.8
            p = np.exp(scaled - scaled.max())
            logits, states = onnx.step([[1 + rng.choice(len(p), p=p / p.sum())]], states)

    out = {}
    text = SHAKESPEARE[: args.score_chars]
    for side, generate, score in (("savedmodel", saved_generate, lambda: saved.signatures["score"](text=tf.constant([text]))),
                                  ("onnxruntime", onnx_generate, lambda: onnx.nll(text))):
        generate()  # warm-up
        times = time_calls(lambda _: generate(), [0] * args.repeats)
        scores = time_calls(lambda _: score(), [0] * args.repeats)
        out[side] = {"generate_chars_per_second": args.length / (statistics.median(times) / 1e3),
                     "score_chars_per_second": len(text) / (statistics.median(scores) / 1e3)}
    want = float(saved.signatures["score"](text=tf.constant([text]))["nll"].numpy()[0])
    out["nll_difference"] = abs(onnx.nll(text) - want)
    out["onnx_vs_savedmodel"] = {k: out["onnxruntime"][k] / out["savedmodel"][k]
                                 for k in ("generate_chars_per_second", "score_chars_per_second")}
    return out


SHAKESPEARE = ("First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n"
               "First Citizen:\nYou are all resolved rather to die than to famish?\n\n") * 20


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["imdb_sentiment_fast", "imdb_sentiment", "shakespeare_char"])
    parser.add_argument("--requests", type=int, default=300, help="single reviews timed per model (default 300)")
    parser.add_argument("--batch", type=int, default=64, help="reviews per batched call (default 64)")
    parser.add_argument("--batches", type=int, default=20, help="batched calls timed per model (default 20)")
    parser.add_argument("--length", type=int, default=1000, help="characters generated per timed call (default 1000)")
    parser.add_argument("--score-chars", type=int, default=2000, help="characters scored per timed call (default 2000)")
    parser.add_argument("--repeats", type=int, default=3, help="timed generate/score calls, median kept (default 3)")
    parser.add_argument("--data-dir", default=os.environ.get("ZOO_DATA_DIR", ""), help="IMDB data (default $ZOO_DATA_DIR)")
    parser.add_argument("--onnx-threads", type=int, default=0,
                        help="ONNX Runtime's intra-op threads (default 0: its own choice, one per core)")
    parser.add_argument("--work", default="/tmp/zoo_onnx_benchmark", help="where unshipped ONNX exports are written")
    parser.add_argument("--out", help="also write the results as JSON here")
    parser.add_argument("--record", action="store_true",
                        help="also record each shipped ONNX export's results in its metrics.json and model card")
    args = parser.parse_args(argv)

    import onnxruntime
    import tensorflow as tf

    load = os.getloadavg()[0]
    results = {"machine": f"{platform.machine()} CPU x{os.cpu_count()}, load average {load:.1f} at the start",
               "tensorflow": tf.__version__, "onnxruntime": onnxruntime.__version__,
               "onnx_threads": args.onnx_threads or "default", "command": " ".join(["python", *sys.argv])}
    texts = None
    for name in args.models:
        if name.startswith("imdb_sentiment"):
            if texts is None:
                texts, source = reviews(args.data_dir, max(args.requests, args.batch * args.batches))
                results["inputs"] = source
            results[name] = classifier(name, texts, args)
        else:
            results[name] = char_model(name, args)
        print(name, json.dumps(results[name]), flush=True)
        shipped = ROOT / "saved_models" / f"{name}_onnx"
        if args.record and (shipped / "metrics.json").is_file():
            from zoo.export.onnx import record_benchmark

            shared = {k: results[k] for k in ("machine", "command", "inputs") if k in results}
            record_benchmark(shipped, {**shared, "batch": args.batch, **results[name]})
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
