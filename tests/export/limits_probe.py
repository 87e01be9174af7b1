"""Hostile inputs to every signature of SavedModel folders, under an address-space limit (issue 27).

    python -m tests.export.limits_probe FOLDER [FOLDER ...] [--memory-gb 8] [--cases 1mb,10mb,...]

Runs in a fresh interpreter without zoo (``sys.modules["zoo"] = None``: the exports stand on
TensorFlow alone), with ``resource.setrlimit(RLIMIT_AS)`` set before TensorFlow loads, so a signature
whose memory grew with its input (the old ``score`` asked for 41 GB on a 1 MB text) fails here, and
reports the process's peak resident memory after each call. The address-space limit is 8 GiB rather
than 3: TensorFlow's CPU kernels (oneDNN) reserve address space far beyond what they touch, and under
3 GiB a tiny character model aborted (``dnnl::error: could not create a primitive``) at 0.9 GiB resident. For each folder, each case of :data:`CASES` and
each signature: the seconds it took and whether its outputs are what the model cards document (one
output per text; probabilities finite in [0, 1]; ``nll`` finite or NaN; texts valid UTF-8; ``generate``
a string of at most ``length`` characters). Prints one JSON line per call, and exits 1 if any failed.
"""

import argparse
import json
import math
import resource
import sys
import time

CASES = {
    "1mb": lambda: ["a " * 500_000],  # one 1 MB text
    "10mb": lambda: ["To be, or not to be: that is the question. " * 232_559],  # one 10 MB text
    "invalid_utf8": lambda: [b"\xff\xfe\x80 good film \xc3".decode("latin-1")] * 1000,  # 1,000 invalid strings
    "batch_10000": lambda: ["I like this film, 123+45."] * 10_000,
    "nul": lambda: ["a\x00b", "\x00" * 10, "good\x00film"],
    "empty": lambda: ["", "", " "],
    "empty_batch": lambda: [],
}
INVALID = b"\xff\xfe\x80 good film \xc3"  # what "invalid_utf8" really holds (bytes, not the latin-1 text)


def texts_of(case):
    texts = CASES[case]()
    return [INVALID] * len(texts) if case == "invalid_utf8" else [t.encode("utf-8") for t in texts]


def check(name, outputs, texts, length=None):
    """What is wrong with ``outputs`` of signature ``name`` for ``texts`` ("" if nothing)."""
    for key, value in outputs.items():
        values = value.numpy()
        if length is not None:  # `generate`: one text
            text = values.decode("utf-8")
            if len(text) > length:
                return f"generate wrote {len(text)} characters, asked {length}"
            continue
        if len(values) != len(texts):
            return f"{key}: {len(values)} outputs for {len(texts)} texts"
        for v in values.ravel().tolist():  # `probabilities` is (batch, classes)
            if isinstance(v, bytes):
                v.decode("utf-8")  # raises on invalid UTF-8
            elif key == "nll":
                if not (math.isnan(v) or math.isfinite(v)):
                    return f"nll {v}"
            elif not (math.isfinite(v) and 0.0 <= v <= 1.0):
                return f"{key} {v} is no probability"
    return ""


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("folders", nargs="+")
    parser.add_argument("--memory-gb", type=float, default=8.0)
    parser.add_argument("--cases", default=",".join(CASES))
    args = parser.parse_args(argv)
    limit = int(args.memory_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    sys.modules["zoo"] = None
    import tensorflow as tf

    failed = False
    for folder in args.folders:
        signatures = tf.saved_model.load(folder).signatures
        for case in args.cases.split(","):
            texts = texts_of(case)
            for name, signature in sorted(signatures.items()):
                started = time.perf_counter()
                try:
                    if "prompt" in signature.structured_input_signature[1]:  # `generate` (also as serving_default)
                        length = 50
                        outputs = signature(prompt=tf.constant(texts[0] if texts else b""), length=tf.constant(length),
                                            temperature=tf.constant(0.8), seed=tf.constant(0))
                    else:
                        length = None
                        outputs = signature(text=tf.constant(texts, tf.string))
                    problem = check(name, outputs, texts, length)
                except Exception as err:  # noqa: BLE001 (reported: an error is a failure here)
                    problem = f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"
                seconds = time.perf_counter() - started
                failed |= bool(problem)
                peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
                print(json.dumps({"folder": folder, "case": case, "signature": name, "seconds": round(seconds, 2),
                                  "peak_rss_gib": round(peak, 2), "problem": problem}), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
