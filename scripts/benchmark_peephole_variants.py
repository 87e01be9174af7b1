"""Other ways to write the peephole-LSTM step, timed against Keras' LSTM (TensorFlow only).

Each variant computes the zoo peephole LSTM's equations (zoo/cells/peephole_lstm.py) in
a different arrangement of TensorFlow ops, run by Keras' own time loop like the unhoisted
zoo cell. They were tried for issue 2 (zoo/Keras <= 1.0 on CPU) and none was faster than
the plain unhoisted cell; they are kept here so that the README's figures can be rerun.
Same model, sizes and timing as scripts/benchmark_cells.py, all interleaved in one process:

    python scripts/benchmark_peephole_variants.py                 # batch 64, 200 steps, 128 in, 128 units
    python scripts/benchmark_peephole_variants.py --repeats 2 --timesteps 20   # a quick look
"""

import argparse
import statistics

import numpy as np

from benchmark_cells import build, import_keras, time_steps

VARIANTS = {
    "stop_gradient": "input read through stop_gradient (no x_t gradient)",
    "weights_once": "weights read once before the loop",
    "concat_matmul": "one matmul over [x_t, h_{t-1}] and stacked [W; U]",
    "half_batches": "two independent half-batch loops",
    "if_sigmoid": "one sigmoid for i and f over a tiled c_{t-1}",
}


def variant_layer(keras, tf, units, variant):
    """A Keras layer running the peephole-LSTM equations arranged as ``variant``; returns the last h."""
    import zoo
    from keras.src.backend import rnn as backend_rnn

    class Variant(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.cell = zoo.cells.PeepholeLSTMCell(units)

        def build(self, input_shape):
            self.cell.build(input_shape)

        def step_fn(self):
            cell, u = self.cell, units
            if variant == "stop_gradient":
                return lambda x_t, states: cell.call(tf.stop_gradient(x_t), states, training=True)
            # The other variants read every weight once, before the loop.
            kernel, recurrent_kernel, bias = map(tf.convert_to_tensor, (cell.kernel, cell.recurrent_kernel, cell.bias))
            p_i, p_f, p_o = map(tf.convert_to_tensor, (cell.peephole_i, cell.peephole_f, cell.peephole_o))
            stacked = tf.concat([kernel, recurrent_kernel], 0) if variant == "concat_matmul" else None
            p_if = tf.concat([p_i, p_f], 0) if variant == "if_sigmoid" else None

            def step(x_t, states):
                h, c = states
                if variant == "concat_matmul":
                    z = tf.matmul(tf.concat([x_t, h], 1), stacked) + bias
                else:
                    z = tf.matmul(x_t, kernel) + tf.matmul(h, recurrent_kernel) + bias
                if variant == "if_sigmoid":
                    z_if, z_c, z_o = tf.split(z, [2 * u, u, u], axis=-1)
                    i, f = tf.split(tf.sigmoid(z_if + p_if * tf.tile(c, [1, 2])), 2, axis=-1)
                else:
                    z_i, z_f, z_c, z_o = tf.split(z, 4, axis=-1)
                    i, f = tf.sigmoid(z_i + p_i * c), tf.sigmoid(z_f + p_f * c)
                c = f * c + i * tf.tanh(z_c)
                h = tf.sigmoid(z_o + p_o * c) * tf.tanh(c)
                return h, [h, c]

            return step

        def call(self, x):
            step = self.step_fn()
            parts = tf.split(x, 2, axis=0) if variant == "half_batches" else [x]
            lasts = []
            for part in parts:
                zeros = tf.zeros((tf.shape(part)[0], units))
                lasts.append(backend_rnn(step, part, [zeros, zeros], input_length=x.shape[1])[0])
            return tf.concat(lasts, 0)

    return Variant()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    parser.add_argument("--timesteps", type=int, default=200, help="sequence length (default 200)")
    parser.add_argument("--features", type=int, default=128, help="input features (default 128)")
    parser.add_argument("--units", type=int, default=128, help="hidden units (default 128)")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved repetitions (default 5)")
    parser.add_argument("--iters", type=int, default=10, help="timed steps per repetition (default 10)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS), help="variants to time")
    args = parser.parse_args(argv)
    keras = import_keras("tensorflow")
    import tensorflow as tf

    import zoo

    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.batch, args.timesteps, args.features)).astype("float32")
    y = rng.standard_normal((args.batch, 1)).astype("float32")
    keras.utils.set_random_seed(0)
    layers = {
        "Keras LSTM": keras.layers.LSTM(args.units),
        "zoo peephole_lstm, not hoisted": zoo.layers.Recurrent(
            zoo.cells.get("peephole_lstm", units=args.units), hoist_inputs=False
        ),
        **{VARIANTS[v]: variant_layer(keras, tf, args.units, v) for v in args.variants},
    }
    models = {name: build(keras, layer, args.timesteps, args.features) for name, layer in layers.items()}
    for model in models.values():  # compile the graphs before timing
        for _ in range(3):
            model.train_on_batch(x, y)
    samples = {name: [] for name in models}
    for rep in range(args.repeats):
        for name, model in models.items():
            samples[name].append(time_steps(model, x, y, args.iters))
        print(f"repetition {rep + 1}/{args.repeats} done", flush=True)

    keras_ms = statistics.median(samples["Keras LSTM"])
    print(f"\nbatch {args.batch}, {args.timesteps} steps, {args.features} inputs, {args.units} units; "
          f"median of {args.repeats} repetitions x {args.iters} steps\n")
    print("| peephole step | ms/step | /Keras LSTM |")
    print("|---|---:|---:|")
    for name, times in samples.items():
        ms = statistics.median(times)
        print(f"| {name} | {ms:.1f} | {ms / keras_ms:.2f} |")


if __name__ == "__main__":
    main()
