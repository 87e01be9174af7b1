"""Serving speed of the exported flagship models, loaded as a plain TensorFlow user would.

For each SavedModel under saved_models/: latency of single requests (p50 and p99 over --requests
calls, after warm-up) and throughput at --batch texts per call. No zoo code is imported; only
`tf.saved_model.load` and the models' signatures.

    python scripts/benchmark_serving.py                        # every flagship found
    python scripts/benchmark_serving.py --models imdb_sentiment --requests 200
    python scripts/benchmark_serving.py --http --models imdb_sentiment_fast   # also over HTTP (zoo serve)

With --http, each text model is also served by `zoo serve` (a subprocess, on 127.0.0.1), once with dynamic
batching (the default --batch-timeout-ms) and once without (--batch-timeout-ms 0), and asked by 1, 8 and
64 concurrent clients (--clients), each sending single-text requests in TF Serving's row format over
keep-alive connections: p50/p99 latency, requests per second, failed requests, and the mean batch the
server ran (from its /zoo/stats). The clients are wrk when it is installed (`--client wrk`, C, for
--seconds per client count), else Python's httpx in this process (`--client httpx`), which on 2 cores
takes more CPU per request than the server it measures. One `zoo predict`/`zoo translate` process per
text is timed beside it.

Inputs: IMDB test reviews when ZOO_DATA_DIR (or --data-dir) holds the IMDB archive, else a fixed
230-word review (IMDB's median length); English sentences for the translator; "a+b" problems for
addition; the character model generates 100 characters per request and scores 64 texts per batch.
"""

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
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


def start_server(path, batching):
    """`zoo serve path` on a free loopback port: (process, base URL)."""
    command = [sys.executable, "-m", "zoo", "serve", str(path), "--port", "0"]
    if not batching:
        command += ["--batch-timeout-ms", "0"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    line = server.stdout.readline()  # "zoo: serving NAME (version 1) at http://127.0.0.1:PORT/ ..."
    if not line.startswith("zoo: serving"):
        server.kill()
        raise RuntimeError(f"zoo serve did not start: {line!r}")
    url = line.split(" at ")[1].split("/ ")[0]
    import httpx

    while httpx.get(f"{url}/healthz").status_code != 200:  # until it has warmed up
        time.sleep(0.5)
    return server, url


async def http_clients(url, texts, clients, httpx):
    """``clients`` concurrent clients, each with its own keep-alive connection, sending its share of
    ``texts`` one request at a time: (latencies in ms of the answered requests, failures, wall seconds).

    One connection pool per client, made before the clock starts: httpx's pool checks every connection it
    holds on each request, and making a client costs milliseconds; either made the client, not the
    server, the bottleneck at 64 clients."""
    latencies, failures = [], 0
    pools = [httpx.AsyncClient(timeout=120) for _ in range(clients)]

    async def client(k):
        nonlocal failures
        for text in texts[k::clients]:
            start = time.perf_counter()
            try:
                answer = await pools[k].post(url, json={"instances": [text]})
                ok = answer.status_code == 200 and len(answer.json()["predictions"]) == 1
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append((time.perf_counter() - start) * 1e3)
            else:
                failures += 1

    await asyncio.gather(*(pool.get(url.split("/v1/")[0] + "/healthz") for pool in pools))  # connect them all
    start = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    seconds = time.perf_counter() - start
    await asyncio.gather(*(pool.aclose() for pool in pools))
    return latencies, failures, seconds


# wrk's script: each connection sends the next body of ``bodies`` (a table the benchmark writes before it),
# and at the end the counts and latency percentiles are printed as one JSON line.
WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local threads = 0
function setup(thread) thread:set("first", threads * 7919); threads = threads + 1 end
function init(args) i = first end
function request()
  i = i + 1
  return wrk.format(nil, nil, nil, bodies[(i % #bodies) + 1])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests": %d, "seconds": %f, "failed": %d, "p50_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration / 1e6, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def lua_string(text):
    """``text`` as a Lua long string literal (``[==[...]==]`` with a level that does not occur in it)."""
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


def wrk_clients(url, texts, clients, seconds):
    """``clients`` concurrent connections of wrk, each sending one request at a time (the next of ``texts``
    in the row format) for ``seconds``: (p50 ms, p99 ms, answered, failed, wall seconds). wrk is C with an
    event loop per thread: it leaves the 2 cores to the server, where a Python client of 64 connections
    (httpx) takes more CPU per request than the server does (3.0 against 1.9 ms, measured)."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "post.lua"
        bodies = ",\n".join(lua_string(json.dumps({"instances": [t]})) for t in texts)
        script.write_text("bodies = {\n" + bodies + "\n}\n" + WRK_SCRIPT)
        command = ["wrk", f"-t{min(2, clients)}", f"-c{clients}", f"-d{seconds}s", "--timeout", "60s", "-s",
                   str(script), url]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    got = json.loads(out.strip().splitlines()[-1])
    answered = got["requests"] - got["failed"]
    return got["p50_us"] / 1e3, got["p99_us"] / 1e3, answered, got["failed"], got["seconds"]


def httpx_clients(url, texts, clients, httpx):
    """The same measured with :func:`http_clients` (Python clients in this process)."""
    latencies, failures, seconds = asyncio.run(http_clients(url, texts, clients, httpx))
    return percentile(latencies, 50), percentile(latencies, 99), len(latencies), failures, seconds


def http_model(name, path, texts, args):
    """`zoo serve` with and without dynamic batching, at each client count (see the module doc)."""
    import httpx

    results = {}
    for batching in (True, False):
        server, base = start_server(path, batching)
        try:
            url = f"{base}/v1/models/{path.name}:predict"
            asyncio.run(http_clients(url, texts[:64], 8, httpx))  # warm-up: connections, every request shape
            before = httpx.get(f"{base}/zoo/stats").json()["signatures"]
            for clients in args.clients:
                if args.client == "wrk":
                    p50, p99, answered, failures, seconds = wrk_clients(url, texts, clients, args.seconds)
                else:
                    p50, p99, answered, failures, seconds = httpx_clients(url, texts[: args.http_requests], clients,
                                                                          httpx)
                after = httpx.get(f"{base}/zoo/stats").json()["signatures"]
                calls = sum(a["calls"] - b["calls"] for a, b in zip(after, before))
                rows = sum(a["rows"] - b["rows"] for a, b in zip(after, before))
                before = after
                results[f"{'batching' if batching else 'no_batching'}_{clients}_clients"] = {
                    "requests": answered + failures, "failed": failures, "p50_ms": p50, "p99_ms": p99,
                    "requests_per_second": answered / seconds, "mean_batch": rows / max(calls, 1),
                }
                print(name, "batching" if batching else "no batching", clients, "clients",
                      json.dumps(results[f"{'batching' if batching else 'no_batching'}_{clients}_clients"]), flush=True)
        finally:
            server.send_signal(signal.SIGTERM)
            results[f"{'batching' if batching else 'no_batching'}_exit_status"] = server.wait(60)
    return results


def cli_seconds(name, path, text, runs=3):
    """Median wall seconds of one `zoo predict sentiment` / `zoo translate` process for one text."""
    command = ["predict", "sentiment"] if name.startswith("imdb_sentiment") else ["translate"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "zoo", *command, "--model", str(path), text], cwd=ROOT, env=env,
                       check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


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
    parser.add_argument("--http", action="store_true", help="also serve each text model with `zoo serve` and time it "
                        "over HTTP (sentiment and seq2seq models)")
    parser.add_argument("--client", choices=["wrk", "httpx"], default="wrk" if shutil.which("wrk") else "httpx",
                        help="the HTTP clients with --http: wrk (C; default when installed, e.g. `apt-get install "
                        "wrk`), for --seconds per client count, or httpx (Python, in this process, which takes "
                        "more CPU per request than the server), for --http-requests")
    parser.add_argument("--seconds", type=int, default=10, help="seconds per client count with --client wrk "
                        "(default 10)")
    parser.add_argument("--http-requests", type=int, default=640, help="requests per client count with --client "
                        "httpx (default 640)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 64], help="concurrent clients with --http "
                        "(default 1 8 64)")
    parser.add_argument("--out", help="also write the results as JSON here")
    args = parser.parse_args(argv)
    for name in ("requests", "batch", "batches", "http_requests"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be a positive integer; got {getattr(args, name)}")

    needed = max(args.requests, args.batch * args.batches, args.http_requests if args.http else 0)
    results = {"machine": f"{platform.machine()} CPU x{os.cpu_count()}", "tensorflow": tf.__version__}
    if args.http:
        results["client"] = args.client
    for name in args.models:
        path = Path(args.root) / name
        if not (path / "saved_model.pb").exists():
            print(f"skipping {name}: no SavedModel at {path}", file=sys.stderr)
            continue
        if name == "shakespeare_char":
            results[name] = char_model(path, args)
            print(name, json.dumps(results[name]), flush=True)
            continue
        if name.startswith("imdb_sentiment"):
            texts, source = reviews(args.data_dir, needed)
        elif name == "addition":
            rng = np.random.default_rng(0)
            texts, source = [f"{a}+{b}" for a, b in rng.integers(0, 1000, size=(needed, 2))], "random a+b, a, b < 1000"
        else:
            texts, source = [SENTENCES[i % len(SENTENCES)] for i in range(needed)], "short English sentences"
        results[name] = {**text_model(path, texts, args), "inputs": source}
        print(name, json.dumps(results[name]), flush=True)
        if args.http:
            results[name]["http"] = http_model(name, path, texts, args)
            results[name]["cli_process_seconds"] = cli_seconds(name, path, texts[0])
            print(name, "one CLI process:", f"{results[name]['cli_process_seconds']:.2f} s", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
