"""One worker of tests/test_distributed.py: trains the tiny model with a strategy, saves what it ended with.

    TF_CONFIG=... python -m tests.distributed_worker RUN_DIR OUT.npz --epochs 2 --strategy multi_worker

The strategy is created first, before any other TensorFlow op (MultiWorkerMirroredStrategy needs
that). ``OUT.npz`` holds the final weights; ``OUT.json`` the history ``fit`` returned and the
validation metrics of ``zoo.distributed.evaluate``. The model, data and configuration are the
functions below, which the test also uses for its single-process reference.
"""

import argparse
import json
from pathlib import Path

import numpy as np

BATCH_SIZE = 8  # global: 21 training examples give batches of 8, 8 and 5 (split 2 + 3 on two replicas)


def config(epochs):
    from zoo import training

    # clipnorm small enough to bind: the loop must clip the summed gradient, as one device does.
    return training.TrainConfig(
        epochs=epochs, batch_size=BATCH_SIZE, learning_rate=2e-2, clipnorm=0.05, patience=0, seed=0, verbose="0"
    )


def tiny_data(n, seed):
    """``n`` token sequences of 2 to 6 ids in 1..9, 0-padded to 6; the label says whether id 3 occurs."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    ids = rng.integers(1, 10, size=(n, 6)).astype(np.int32)
    ids[np.arange(6) >= rng.integers(2, 7, size=(n, 1))] = 0
    labels = (ids == 3).any(axis=1).astype(np.float32)
    return tf.data.Dataset.from_tensor_slices((ids, labels)).batch(BATCH_SIZE)


def tiny_model():
    """Embedding (padding masked) -> GRU(4) -> a logistic unit; no dropout, so replicas match one device.

    The embedding's gradient is ``tf.IndexedSlices``, which the strategy loop clips its own way.
    """
    import keras

    import zoo

    keras.utils.set_random_seed(0)
    inputs = keras.Input((None,), dtype="int32")
    embedded = keras.layers.Embedding(10, 4, mask_zero=True)(inputs)
    hidden = zoo.layers.Recurrent(zoo.cells.get("gru", units=4))(embedded)
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))


def train(run_dir, epochs, strategy, callbacks=()):
    """Train in ``run_dir`` with ``strategy`` (None: Keras' fit); the model and ``fit``'s history."""
    from zoo import distributed, training

    with distributed.scope(strategy):
        model = tiny_model()
    history = training.fit(
        model, tiny_data(21, 0), tiny_data(10, 1), config(epochs), run_dir, "binary_crossentropy", ["accuracy"],
        callbacks=callbacks, strategy=strategy,
    )
    return model, history


INTERRUPTED = 3  # the exit status after --interrupt-at-epoch


def interrupt_at(epoch):
    """A callback raising KeyboardInterrupt as ``epoch`` begins: the epochs before it are committed."""
    import keras

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_begin(self, begun, logs=None):
            if begun == epoch:
                raise KeyboardInterrupt

    return Interrupt()


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir")
    parser.add_argument("out")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--strategy", default="multi_worker")
    parser.add_argument("--logical-cpus", type=int, default=0, help="split the CPU into this many devices")
    parser.add_argument("--interrupt-at-epoch", type=int, default=None, help="exit (status 3) as this epoch begins")
    args = parser.parse_args(argv)

    import tensorflow as tf

    from zoo import distributed

    if args.logical_cpus:  # MirroredStrategy over several CPU devices: several replicas in one process
        (cpu,) = tf.config.list_physical_devices("CPU")
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * args.logical_cpus)
        strategy = tf.distribute.MirroredStrategy([device.name for device in tf.config.list_logical_devices("CPU")])
    else:
        strategy = distributed.make_strategy(args.strategy)
    callbacks = [] if args.interrupt_at_epoch is None else [interrupt_at(args.interrupt_at_epoch)]
    try:
        model, history = train(args.run_dir, args.epochs, strategy, callbacks)
    except KeyboardInterrupt:
        raise SystemExit(INTERRUPTED) from None
    evaluation = distributed.evaluate(model, tiny_data(10, 1), strategy)
    out = Path(args.out)
    np.savez(out, *model.get_weights())
    summary = {
        "history": history,
        "evaluation": evaluation,
        "chief": distributed.is_chief(strategy),
        "replicas": strategy.num_replicas_in_sync,
    }
    out.with_suffix(".json").write_text(json.dumps(summary))


if __name__ == "__main__":
    main()
