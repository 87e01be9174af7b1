"""Where the time of a TensorFlow recurrent forward pass goes on CPU: the input projection hoisted out
of the loop, or done inside it.

Times one forward pass (median milliseconds, interleaved repetitions) of a zoo cell over random
inputs in three ways, all through Keras' own time loop (`tf.while_loop`):

- `loop only`: the loop over inputs already projected (x_t W + b for every t computed beforehand,
  outside what is timed): the loop's own cost.
- `projection + loop`: one (batch*time, input) @ (input, G*units) matmul, then that loop: what
  `Recurrent(hoist_inputs=True)` runs.
- `projection inside`: the loop projecting x_t at every step: what `Recurrent(hoist_inputs=False)`
  and Keras' own layers run.

    python scripts/benchmark_hoisting.py                        # peephole_lstm, batch 64, 200 steps, 128 in/out
    python scripts/benchmark_hoisting.py --cell gru --repeats 5
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras.src.backend import rnn as backend_rnn  # noqa: E402  (the loop Keras' RNN layers run)

import zoo  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cell", default="peephole_lstm", choices=zoo.cells.names())
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--timesteps", type=int, default=200)
    parser.add_argument("--features", type=int, default=128)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=7, help="interleaved repetitions (default 7)")
    parser.add_argument("--iters", type=int, default=5, help="timed calls per repetition (default 5)")
    args = parser.parse_args(argv)

    cell = zoo.cells.get(args.cell, units=args.units)
    cell.build((None, args.features))
    x = tf.constant(np.random.default_rng(0).standard_normal((args.timesteps, args.batch, args.features)), tf.float32)
    states = [tf.zeros((args.batch, size)) for size in tf.nest.flatten(cell.state_size)]
    projected = cell.project_inputs(x)

    def loop(inputs, step):
        return backend_rnn(step, inputs, states, time_major=True, input_length=args.timesteps,
                           return_all_outputs=False)[0]

    def hoisted_step(z_t, s):
        return cell.step(z_t, s)

    def inside_step(x_t, s):
        return cell.call(x_t, s)

    ways = {
        "loop only": tf.function(lambda: loop(projected, hoisted_step)),
        "projection + loop": tf.function(lambda: loop(cell.project_inputs(x), hoisted_step)),
        "projection inside": tf.function(lambda: loop(x, inside_step)),
    }
    for f in ways.values():  # trace and warm up
        for _ in range(3):
            f()
    samples = {name: [] for name in ways}
    for _ in range(args.repeats):
        for name, f in ways.items():
            times = []
            for _ in range(args.iters):
                start = time.perf_counter()
                f().numpy()
                times.append((time.perf_counter() - start) * 1e3)
            samples[name].append(statistics.median(times))
    projection = tf.function(lambda: cell.project_inputs(x))
    for _ in range(3):
        projection()
    alone = []
    for _ in range(args.repeats * args.iters):
        start = time.perf_counter()
        projection().numpy()
        alone.append((time.perf_counter() - start) * 1e3)

    print(f"{args.cell}: batch {args.batch}, {args.timesteps} steps, {args.features} inputs, {args.units} units; "
          f"TensorFlow {tf.__version__}, {os.cpu_count()} cpus; forward pass, median ms\n")
    print("| way | ms |\n|---|---:|")
    for name, values in samples.items():
        print(f"| {name} | {statistics.median(values):.1f} |")
    print(f"| the projection matmul alone | {statistics.median(alone):.1f} |")


if __name__ == "__main__":
    main()
