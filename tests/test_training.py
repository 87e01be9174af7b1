import argparse
import json

import keras
import numpy as np
import pytest

from zoo import training
from zoo.data import text
from zoo.models.classifier import build_classifier


def synthetic(n, seed, vocab=20, max_length=12):
    """Token sequences of random lengths; label 1 iff token 3 occurs. Max pooling over a GRU learns it."""
    rng = np.random.default_rng(seed)
    ids = np.zeros((n, max_length), np.int32)
    labels = np.zeros(n, np.float32)
    for i in range(n):
        length = rng.integers(2, max_length + 1)
        row = rng.choice([t for t in range(2, vocab) if t != 3], size=length)
        if i % 2:
            row[rng.integers(length)] = 3
            labels[i] = 1
        ids[i, :length] = row
    return ids, labels


def data(n, seed, batch_size=16, shuffle=False):
    return text.bucketed_dataset(*synthetic(n, seed), batch_size, shuffle=shuffle, seed=seed)


def tiny_model(seed=0):
    training.seed_everything(seed)
    return build_classifier("gru", vocab_size=20, embedding_dim=8, units=8, pooling="max")


def test_tiny_training_learns_a_synthetic_task(tmp_path):
    model = tiny_model()
    config = training.TrainConfig(epochs=12, learning_rate=1e-2, patience=0, verbose="0")
    history = training.fit(
        model, data(256, 0, shuffle=True), data(128, 1), config, tmp_path / "run", "binary_crossentropy", ["accuracy"]
    )
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert max(history["val_accuracy"]) > 0.9
    assert model.evaluate(data(128, 2), return_dict=True, verbose=0)["accuracy"] > 0.9


def test_run_folder_holds_logs_checkpoints_and_epoch_times(tmp_path):
    config = training.TrainConfig(epochs=2, verbose="0")
    training.write_config(tmp_path, train=config, note={"a": 1})
    training.fit(tiny_model(), data(32, 0), data(16, 1), config, tmp_path, "binary_crossentropy", ["accuracy"])
    for name in ("config.json", "log.csv", "best.weights.h5", "checkpoint", "lock", "tensorboard", "done.json"):
        assert (tmp_path / name).exists(), name
    committed = tmp_path / "checkpoint"
    assert committed.is_symlink() and sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["epoch-0002"]
    assert sorted(p.name for p in committed.iterdir()) == ["best.weights.h5", "latest.weights.h5", "log.csv", "state.json"]
    assert (tmp_path / "log.csv").resolve() == (committed / "log.csv").resolve()
    assert json.loads((tmp_path / "config.json").read_text())["train"]["epochs"] == 2
    log = training.read_log(tmp_path)
    assert log["epoch"] == [0, 1] and all(s > 0 for s in log["epoch_seconds"])


class _Interrupt(keras.callbacks.Callback):
    def __init__(self, after_epoch):
        super().__init__()
        self.after_epoch = after_epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.after_epoch:
            raise KeyboardInterrupt


def test_interrupted_run_resumes_where_it_stopped(tmp_path):
    config = training.TrainConfig(epochs=4, patience=0, verbose="0")
    args = (data(64, 0, shuffle=True), data(32, 1), config, tmp_path, "binary_crossentropy", ["accuracy"])
    with pytest.raises(KeyboardInterrupt):
        training.fit(tiny_model(), *args, callbacks=[_Interrupt(after_epoch=1)])
    assert not (tmp_path / "done.json").exists()
    resumed = tiny_model(seed=1)  # fresh weights: everything must come from the backup
    history = training.fit(resumed, *args)
    assert history["epoch"] == [0, 1, 2, 3]  # epochs 0-1 before the interruption, 2-3 after
    steps_per_epoch = int(data(64, 0).cardinality())
    assert int(resumed.optimizer.iterations) == 4 * steps_per_epoch  # optimizer state was restored too


def test_finished_run_returns_at_once_with_its_best_weights(tmp_path):
    config = training.TrainConfig(epochs=2, verbose="0")
    args = (data(32, 0), data(16, 1), config, tmp_path, "binary_crossentropy", ["accuracy"])
    first = tiny_model()
    training.fit(first, *args)
    again = tiny_model(seed=5)
    history = training.fit(again, *args)
    assert len(history["epoch"]) == 2
    for a, b in zip(first.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)


class _ValLoss(keras.callbacks.Callback):
    """Sets ``val_loss`` of epoch i to ``values[i]``: a scripted validation curve."""

    def __init__(self, values):
        super().__init__()
        self.values = values

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = self.values[epoch]


def test_early_stopping_counts_the_epochs_before_a_resume(tmp_path):
    curve = [1.0, 0.5, 0.6, 0.7, 0.1, 0.1]  # best at epoch 1; patience 2 runs out at epoch 3
    config = training.TrainConfig(epochs=6, patience=2, verbose="0")
    args = (data(32, 0), data(16, 1), config, tmp_path, "binary_crossentropy")
    with pytest.raises(KeyboardInterrupt):
        training.fit(tiny_model(), *args, callbacks=[_ValLoss(curve), _Interrupt(after_epoch=3)])
    assert training.read_log(tmp_path)["epoch"] == [0, 1, 2]  # epoch 3 was interrupted before its end was saved
    history = training.fit(tiny_model(), *args, callbacks=[_ValLoss(curve)])
    assert history["epoch"] == [0, 1, 2, 3]  # stopped after epoch 3, counting epoch 2 from the first call


def test_best_checkpoint_is_kept_across_a_resume_without_early_stopping(tmp_path):
    curve = [0.5, 0.3, 0.9, 0.8]
    config = training.TrainConfig(epochs=4, patience=0, verbose="0")
    args = (data(32, 0), data(16, 1), config, tmp_path, "binary_crossentropy")
    with pytest.raises(KeyboardInterrupt):
        training.fit(tiny_model(), *args, callbacks=[_ValLoss(curve), _Interrupt(after_epoch=2)])
    best = (tmp_path / "best.weights.h5").read_bytes()
    training.fit(tiny_model(), *args, callbacks=[_ValLoss(curve)])
    assert (tmp_path / "best.weights.h5").read_bytes() == best  # 0.9 and 0.8 do not beat 0.3


def test_an_uncommitted_epoch_folder_is_ignored_and_removed_on_resume(tmp_path):
    config = training.TrainConfig(epochs=3, patience=0, verbose="0")
    args = (data(32, 0), data(16, 1), config, tmp_path, "binary_crossentropy")
    with pytest.raises(KeyboardInterrupt):
        training.fit(tiny_model(), *args, callbacks=[_Interrupt(after_epoch=1)])
    # A kill while epoch 2's files were being written, before the commit: a folder with a partial row.
    partial = tmp_path / "checkpoints" / "epoch-0002"
    partial.mkdir()
    (partial / "log.csv").write_text("epoch,loss\n0,0.5\n1,0.")
    history = training.fit(tiny_model(), *args)
    assert history["epoch"] == [0, 1, 2]
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["epoch-0003"]


def test_gradient_accumulation_and_clipping_reach_the_optimizer():
    optimizer = training.make_optimizer(training.TrainConfig(clipnorm=2.0, accumulation_steps=4))
    assert optimizer.clipnorm == 2.0 and optimizer.gradient_accumulation_steps == 4
    plain = training.make_optimizer(training.TrainConfig(clipnorm=0, accumulation_steps=1))
    assert plain.clipnorm is None and plain.gradient_accumulation_steps is None


@pytest.mark.parametrize(
    "kwargs, match",
    [({"epochs": 0}, "epochs"), ({"learning_rate": 0}, "learning_rate"), ({"clipnorm": -1}, "clipnorm"),
     ({"strategy": "tpu"}, "strategy")],
)
def test_bad_train_config_raises_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        training.TrainConfig(**kwargs)


def test_flags_are_generated_from_the_dataclass_and_round_trip():
    parser = argparse.ArgumentParser()
    training.add_arguments(parser, training.TrainConfig, {"epochs": "maximum epochs"})
    args = parser.parse_args(["--epochs", "3", "--learning-rate", "0.01", "--accumulation-steps", "2"])
    config = training.from_arguments(training.TrainConfig, args)
    assert config == training.TrainConfig(epochs=3, learning_rate=0.01, accumulation_steps=2)
    assert "maximum epochs (default: 10)" in " ".join(parser.format_help().split())


def test_cosine_schedule_decays_to_one_percent_over_all_steps():
    config = training.TrainConfig(epochs=3, learning_rate=0.01, lr_schedule="cosine")
    optimizer = training.make_optimizer(config, steps_per_epoch=10)
    schedule = optimizer._learning_rate
    assert float(schedule(0)) == pytest.approx(0.01)
    assert float(schedule(15)) == pytest.approx(0.01 * (0.01 + 0.99 * 0.5), rel=1e-4)
    assert float(schedule(30)) == pytest.approx(0.0001, rel=1e-4)
    with pytest.raises(ValueError, match="known length"):
        training.make_optimizer(config, steps_per_epoch=None)
    with pytest.raises(ValueError, match="lr_schedule"):
        training.TrainConfig(lr_schedule="step")
