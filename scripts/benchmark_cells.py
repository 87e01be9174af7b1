"""Train-step speed of zoo cells in `Recurrent` against Keras' built-in layers, on one Keras backend.

Median milliseconds per training step (forward, backward, Adam update) on
random data: each zoo cell in `Recurrent` on its default path
(`hoist_inputs="auto"`, the path in `zoo.layers.recurrent.FASTEST_HOISTING` for
the backend) and on the other path (the input projection hoisted out of the
loop or not), interleaved with the matching Keras layer in one process. All
models: Input -> recurrent layer (last output) -> Dense(1), MSE.

What is timed is one `model.train_on_batch` call with Keras' default
`jit_compile="auto"`, i.e. each backend's own training step: on TensorFlow a
`tf.function` graph (Keras turns XLA off on CPU-only machines), on JAX a
`jax.jit`-compiled step (XLA), on PyTorch eager autograd (Keras' default there;
`torch.compile` is opt-in). The first calls, which trace and compile, are not timed.
Ratios are the median over repetitions of each repetition's zoo/Keras ratio
(paired, so a burst of load on a shared machine moves both sides), with the
range over repetitions beside the default path's.

    python scripts/benchmark_cells.py                       # TensorFlow: batch 64, 200 steps, 128 in, 128 units
    python scripts/benchmark_cells.py --backend jax         # the same on JAX (or: --backend torch)
    python scripts/benchmark_cells.py --repeats 3 --iters 5 --timesteps 20   # a quick look
    python scripts/benchmark_cells.py --cells peephole_lstm lstm    # what the peepholes cost
    python scripts/benchmark_cells.py --cells elman gru lstm peephole_lstm --repeats 15   # the docs' table
"""

import argparse
import os
import platform
import statistics
import time
from importlib.metadata import version

import numpy as np

BACKENDS = ("tensorflow", "jax", "torch")

# benchmark row -> (zoo cell name, its kwargs, the Keras built-in layer it is compared with)
PAIRS = {
    "elman": ("elman", {}, "SimpleRNN"),
    "gru": ("gru", {}, "GRU"),
    "peephole_lstm": ("peephole_lstm", {}, "LSTM"),
    # The same cell without its three peephole products computes exactly Keras' LSTM: this row
    # separates the cost of the peepholes from the cost of zoo's layer and cell machinery.
    "lstm": ("peephole_lstm", {"peepholes": False}, "LSTM"),
}
DEFAULT_CELLS = ("elman", "gru", "peephole_lstm")


def label(name):
    """How a row names its zoo cell: ``gru``, or ``peephole_lstm (peepholes=False)``."""
    cell, kwargs, _ = PAIRS[name]
    return cell + "".join(f" ({key}={value})" for key, value in kwargs.items())


def import_keras(backend):
    """Import keras on ``backend``: Keras reads KERAS_BACKEND once, at its first import."""
    os.environ["KERAS_BACKEND"] = backend
    import keras

    if keras.backend.backend() != backend:
        raise RuntimeError(
            f"Keras was already imported with the {keras.backend.backend()} backend; run this script in a fresh "
            f"process (python scripts/benchmark_cells.py --backend {backend})."
        )
    return keras


def build(keras, layer, timesteps, features):
    inputs = keras.Input((timesteps, features))
    outputs = keras.layers.Dense(1)(layer(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    return model


def time_steps(model, x, y, iters):
    """Median ms of `iters` single training steps (after the caller's warm-up)."""
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        model.train_on_batch(x, y)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default=os.environ.get("KERAS_BACKEND", "tensorflow"),
        help="Keras backend (default: $KERAS_BACKEND, else tensorflow)",
    )
    parser.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    parser.add_argument("--timesteps", type=int, default=200, help="sequence length (default 200)")
    parser.add_argument("--features", type=int, default=128, help="input features (default 128)")
    parser.add_argument("--units", type=int, default=128, help="hidden units (default 128)")
    parser.add_argument("--repeats", type=int, default=7, help="interleaved repetitions (default 7)")
    parser.add_argument("--iters", type=int, default=10, help="timed steps per repetition (default 10)")
    parser.add_argument(
        "--cells",
        nargs="+",
        default=list(DEFAULT_CELLS),
        choices=list(PAIRS),
        help="rows to measure (default: %(default)s; 'lstm' is peephole_lstm with peepholes=False)",
    )
    args = parser.parse_args(argv)
    keras = import_keras(args.backend)
    import zoo
    from zoo.layers.recurrent import FASTEST_HOISTING

    default_hoists = FASTEST_HOISTING.get(args.backend, False)
    path = {True: "hoisted", False: "not hoisted"}

    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.batch, args.timesteps, args.features)).astype("float32")
    y = rng.standard_normal((args.batch, 1)).astype("float32")
    keras.utils.set_random_seed(0)
    models = {}
    for name in args.cells:
        cell, cell_kwargs, keras_layer = PAIRS[name]
        layers = {
            "zoo": zoo.layers.Recurrent(zoo.cells.get(cell, units=args.units, **cell_kwargs)),
            "zoo_other": zoo.layers.Recurrent(
                zoo.cells.get(cell, units=args.units, **cell_kwargs), hoist_inputs=not default_hoists
            ),
            "keras": getattr(keras.layers, keras_layer)(args.units),
        }
        assert layers["zoo"].hoists is default_hoists
        models[name] = {impl: build(keras, layer, args.timesteps, args.features) for impl, layer in layers.items()}
    for pair in models.values():  # compile the graphs before timing
        for model in pair.values():
            for _ in range(3):
                model.train_on_batch(x, y)

    samples = {name: {impl: [] for impl in pair} for name, pair in models.items()}
    for rep in range(args.repeats):
        for name, pair in models.items():
            for impl, model in pair.items():
                samples[name][impl].append(time_steps(model, x, y, args.iters))
        print(f"repetition {rep + 1}/{args.repeats} done", flush=True)

    any_model = next(iter(models.values()))["zoo"]
    print(
        f"\nbackend {args.backend} {version(args.backend)} (jit_compile={any_model.jit_compile}), "
        f"keras {keras.__version__}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cpus; batch {args.batch}, {args.timesteps} steps, {args.features} inputs, {args.units} units; "
        f"median of {args.repeats} repetitions x {args.iters} steps\n"
    )
    default, other = path[default_hoists], path[not default_hoists]
    print(
        f"| zoo cell | Keras layer | default path | zoo ms/step (default: {default}) | Keras ms/step "
        f"| **default/Keras** (range) | zoo ms/step ({other}) | {other}/Keras |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for name in models:
        ms = {impl: statistics.median(times) for impl, times in samples[name].items()}
        ratios = {
            impl: [z / k for z, k in zip(samples[name][impl], samples[name]["keras"])] for impl in ("zoo", "zoo_other")
        }
        print(
            f"| {label(name)} | {PAIRS[name][2]} | {default} | {ms['zoo']:.1f} | {ms['keras']:.1f} "
            f"| **{statistics.median(ratios['zoo']):.2f}** ({min(ratios['zoo']):.2f}-{max(ratios['zoo']):.2f}) "
            f"| {ms['zoo_other']:.1f} | {statistics.median(ratios['zoo_other']):.2f} |"
        )


if __name__ == "__main__":
    main()
