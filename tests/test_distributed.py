"""Training with a tf.distribute strategy (zoo/distributed.py): the same result as one device on the
global batches, the same run folder, resume and divergence handling; two workers on 127.0.0.1."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras.src.backend import set_keras_mask

from tests import distributed_worker as worker
from tests.test_reliability import _SnapshotBefore, files_of, nan_from_step
from zoo import distributed, training

pytestmark = pytest.mark.requires_tensorflow(reason="tf.distribute strategies")

ROOT = Path(__file__).resolve().parents[1]
RUN_FILES = {"log.csv", "best.weights.h5", "done.json", "checkpoint", "checkpoints", "lock", "tensorboard"}


def one_cpu():
    return tf.distribute.MirroredStrategy(["/cpu:0"])


STRATEGIES = {"default": tf.distribute.get_strategy, "mirrored_one_cpu": one_cpu}


@pytest.fixture(scope="module")
def keras_fit(tmp_path_factory):
    """The tiny model after 2 epochs of Keras' own fit: the one-device reference."""
    model, history = worker.train(tmp_path_factory.mktemp("keras_fit"), 2, None)
    evaluation = model.evaluate(worker.tiny_data(10, 1), return_dict=True, verbose=0)
    iterations = model.optimizer.iterations.numpy()
    return SimpleNamespace(weights=model.get_weights(), history=history, evaluation=evaluation, iterations=iterations)


def assert_weights_close(actual, expected, atol=1e-6):
    assert len(actual) == len(expected) > 0
    for a, e in zip(actual, expected):
        np.testing.assert_allclose(a, e, rtol=0, atol=atol)


def assert_history_close(actual, expected):
    assert actual["epoch"] == expected["epoch"]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(actual[key], expected[key], rtol=1e-5, err_msg=key)


@pytest.fixture(scope="module")
def strategy_run(tmp_path_factory):
    """``strategy_run(name)``: the tiny model after 2 epochs of the strategy loop (trained once per name)."""
    runs = {}

    def run(name):
        if name not in runs:
            strategy, run_dir = STRATEGIES[name](), tmp_path_factory.mktemp(name)
            model, history = worker.train(run_dir, 2, strategy)
            runs[name] = SimpleNamespace(model=model, history=history, run_dir=run_dir, strategy=strategy)
        return runs[name]

    return run


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_strategy_loop_matches_keras_fit_and_writes_the_same_run_folder(name, keras_fit, strategy_run):
    run = strategy_run(name)
    assert_weights_close(run.model.get_weights(), keras_fit.weights)  # clipnorm binding, batches of 8, 8 and 5
    assert_history_close(run.history, keras_fit.history)
    assert RUN_FILES <= {p.name for p in run.run_dir.iterdir()}
    assert all(seconds > 0 for seconds in training.read_log(run.run_dir)["epoch_seconds"])


def test_strategy_loop_resumes_an_interrupted_run_where_it_stopped(keras_fit, tmp_path):
    with pytest.raises(KeyboardInterrupt):
        worker.train(tmp_path, 2, one_cpu(), callbacks=[worker.interrupt_at(1)])
    assert training.read_log(tmp_path)["epoch"] == [0] and not (tmp_path / "done.json").exists()
    model, history = worker.train(tmp_path, 2, one_cpu())  # a new process would start so: all from the committed epoch
    assert history["epoch"] == [0, 1]
    # No shuffling or dropout: as if never stopped, Adam's moments and step count included (both
    # runs end with their best epoch's weights and optimizer state).
    assert_weights_close(model.get_weights(), keras_fit.weights)
    assert model.optimizer.iterations.numpy() == keras_fit.iterations


def test_strategy_loop_stops_on_a_nan_loss_before_the_epoch_saves_anything(tmp_path):
    strategy = one_cpu()
    with strategy.scope():
        model = worker.tiny_model()
    snapshot = _SnapshotBefore(tmp_path, epoch=1)
    config = worker.config(3)
    data = worker.tiny_data(21, 0)
    with pytest.raises(training.TrainingDiverged, match=r"loss is nan at epoch 2, batch 2\b"):
        training.fit(
            model, data, worker.tiny_data(10, 1), config, tmp_path, nan_from_step(model, 3 + 1),
            callbacks=[snapshot], strategy=strategy,
        )
    assert files_of(tmp_path) == snapshot.files  # byte for byte: the committed epoch 1, its best and its log
    assert not (tmp_path / "done.json").exists()


def test_finished_strategy_run_returns_at_once_with_its_best_weights(strategy_run):
    first = strategy_run("mirrored_one_cpu")
    again, history = worker.train(first.run_dir, 2, first.strategy)
    assert history == first.history
    assert_weights_close(again.get_weights(), first.model.get_weights(), atol=0)


def test_evaluate_with_a_strategy_matches_keras_evaluate(keras_fit, strategy_run):
    run = strategy_run("mirrored_one_cpu")
    got = distributed.evaluate(run.model, worker.tiny_data(10, 1), run.strategy)
    assert got.keys() == keras_fit.evaluation.keys()
    for key in got:
        assert got[key] == pytest.approx(keras_fit.evaluation[key], rel=1e-5), key


def with_mask(tensor, mask):
    set_keras_mask(tensor, tf.constant(mask))  # as a masking layer leaves it on its output
    return tensor


def token_logits(rows):
    return tf.constant(np.random.default_rng(0).normal(size=(4, 4, 5)).astype(np.float32)[rows])


# 0 is padding: the halves below (row 0, rows 1-3) hold 2 and 8 real tokens.
TOKENS = np.array([[1, 2, 0, 0], [3, 1, 2, 0], [2, 0, 0, 0], [1, 1, 3, 2]])
LOSS_CASES = {  # loss, batch(rows), elements the loss averages over
    "ignore_class": (
        keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
        lambda rows: (TOKENS[rows], token_logits(rows)),
        10,
    ),
    "masked_predictions": (
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        lambda rows: (TOKENS[rows], with_mask(token_logits(rows), TOKENS[rows] != 0)),
        10,
    ),
    "per_example": (
        "mse",
        lambda rows: (np.arange(4.0)[rows, None], tf.constant([[0.5], [1.0], [4.0], [2.0]])[rows]),
        4,
    ),
}


@pytest.mark.parametrize("case", list(LOSS_CASES))
def test_replica_loss_terms_add_up_to_the_keras_loss_of_the_global_batch(case):
    loss, batch, elements = LOSS_CASES[case]
    expected = float(distributed._as_loss(loss)(*batch(slice(None))))
    halves = (slice(0, 1), slice(1, 4))
    terms = [distributed._sum_and_count(distributed._as_loss(loss), *batch(rows), None) for rows in halves]
    total, count = (sum(float(term[i]) for term in terms) for i in (0, 1))
    assert count == elements
    assert total / count == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(
    "tf_config, match",
    [
        (None, "not set"),
        ("{not json", "not valid JSON"),
        ('{"cluster": {}, "task": {"type": "worker", "index": 0}}', "'worker' list"),
        ('{"cluster": {"worker": ["hostA"]}, "task": {"type": "worker", "index": 0}}', "host:port"),
        ('{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "ps", "index": 0}}', "job of the cluster"),
        ('{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 2}}', r"0\.\.1"),
    ],
)
def test_multi_worker_needs_a_valid_tf_config(tf_config, match, monkeypatch):
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    with pytest.raises(ValueError, match=match) as info:
        distributed.make_strategy("multi_worker")
    assert "TF_CONFIG='" in str(info.value)  # the message shows a valid example


def test_strategy_names_and_the_environment():
    assert distributed.make_strategy("default") is None
    assert distributed.strategy_from_env({}) is None
    with pytest.raises(ValueError, match=r"one of \('default', 'mirrored', 'multi_worker'\).*'tpu'"):
        distributed.make_strategy("tpu")
    config = '{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}'
    assert distributed.read_tf_config({"TF_CONFIG": config})["task"]["index"] == 1


def test_strategy_path_rejects_accumulation_and_a_model_built_outside_the_scope(tmp_path):
    strategy = one_cpu()
    args = (worker.tiny_data(21, 0), None)
    with pytest.raises(ValueError, match="strategy.scope"):
        training.fit(worker.tiny_model(), *args, worker.config(1), tmp_path, "mse", strategy=strategy)
    with strategy.scope():
        model = worker.tiny_model()
    accumulate = training.TrainConfig(accumulation_steps=2)
    with pytest.raises(ValueError, match="accumulation_steps=2"):
        training.fit(model, *args, accumulate, tmp_path, "mse", strategy=strategy)


# Two worker processes on this machine: MultiWorkerMirroredStrategy over gRPC, CPU collectives.

TIMEOUT = 240  # seconds for a group of workers, start to end (TensorFlow starts in ~10 s per process)


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def run_workers(tmp_path, run_dir, name, *flags, expect=0, workers=2):
    """Start ``workers`` processes of tests/distributed_worker.py on localhost; wait; their summaries.

    All share ``run_dir``, as on a shared filesystem: only the chief may write to it.
    """
    outs = run_commands(tmp_path, name, lambda out: ["-m", "tests.distributed_worker", str(run_dir), f"{out}.npz",
                                                     *flags], expect, workers)
    if expect:
        return None
    return [
        (np.load(f"{out}.npz"), json.loads(Path(f"{out}.json").read_text())) for out in outs
    ]


def run_commands(tmp_path, name, argv, expect=0, workers=2):
    """Run ``python *argv(out)`` as ``workers`` processes of one cluster on localhost (``TF_CONFIG`` each, none
    for one worker); wait; the ``out`` paths (each worker's log is ``out.log``).

    Each has its own TMPDIR, checked empty at the end (the other workers' temporary run folders). A worker
    that fails ends the group; every process is killed on the way out, whatever happens.
    """
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(workers)]}
    processes, outs = [], []
    try:
        for index in range(workers):
            out = tmp_path / f"{name}-{index}"
            (tmp_path / f"{name}-{index}-tmp").mkdir()
            environment = {
                **os.environ,
                "CUDA_VISIBLE_DEVICES": "",
                "TF_CPP_MIN_LOG_LEVEL": "2",
                "TMPDIR": str(tmp_path / f"{name}-{index}-tmp"),
            }
            environment.pop("TF_CONFIG", None)
            if workers > 1:
                task = {"type": "worker", "index": index}
                environment["TF_CONFIG"] = json.dumps({"cluster": cluster, "task": task})
            with open(f"{out}.log", "wb") as log:
                processes.append(subprocess.Popen([sys.executable, *argv(out)], cwd=ROOT, env=environment,
                                                  stdout=log, stderr=subprocess.STDOUT))
            outs.append(out)
        deadline = time.monotonic() + TIMEOUT
        while any(p.poll() is None for p in processes):
            failed = [p for p in processes if p.poll() not in (None, expect)]
            assert not failed and time.monotonic() < deadline, _logs(outs, "a worker failed or timed out")
            time.sleep(0.2)
        assert all(p.returncode == expect for p in processes), _logs(outs, "exit status")
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait()
    for index in range(workers):
        assert not any((tmp_path / f"{name}-{index}-tmp").iterdir()), "a worker left its temporary run folder"
    return outs


def _logs(outs, what):
    tails = [f"--- {out.name}:\n" + Path(f"{out}.log").read_text(errors="replace")[-3000:] for out in outs]
    return f"{what}\n" + "\n".join(tails)


def assert_workers_agree_with(results, reference):
    """Two workers' ``(weights, summary)``: the chief first, identical weights, equal to one device's."""
    (w0, s0), (w1, s1) = results
    assert [s0["chief"], s1["chief"]] == [True, False] and s0["replicas"] == 2
    for key in w0.files:
        np.testing.assert_array_equal(w0[key], w1[key])  # both applied the same all-reduced updates
    assert_weights_close([w0[key] for key in w0.files], reference.weights, atol=1e-5)
    assert s0["evaluation"] == s1["evaluation"]


@pytest.mark.slow
def test_two_workers_train_as_one_device_on_the_global_batches(keras_fit, tmp_path):
    run_dir = tmp_path / "run"
    results = run_workers(tmp_path, run_dir, "fresh", "--epochs", "2")
    assert_workers_agree_with(results, keras_fit)
    chief = results[0][1]
    assert_history_close(chief["history"], keras_fit.history)
    assert chief["history"]["loss"][-1] < chief["history"]["loss"][0]
    for key, value in keras_fit.evaluation.items():
        assert chief["evaluation"][key] == pytest.approx(value, rel=1e-5), key
    assert {p.name for p in run_dir.iterdir()} == RUN_FILES  # the chief's files, once
    assert training.read_log(run_dir)["epoch"] == [0, 1]


@pytest.mark.slow
def test_two_workers_resume_together_from_the_chiefs_backup(keras_fit, tmp_path):
    # The other worker's backup was temporary: it starts afresh, then takes the chief's weights,
    # optimizer state and epoch, and both end as an uninterrupted run would.
    run_dir = tmp_path / "run"
    run_workers(tmp_path, run_dir, "first", "--epochs", "2", "--interrupt-at-epoch", "1", expect=worker.INTERRUPTED)
    assert training.read_log(run_dir)["epoch"] == [0]
    results = run_workers(tmp_path, run_dir, "again", "--epochs", "2")
    assert_workers_agree_with(results, keras_fit)
    assert training.read_log(run_dir)["epoch"] == [0, 1]
    assert results[0][1]["history"]["epoch"] == [0, 1] and results[1][1]["history"]["epoch"] == [1]


@pytest.mark.slow
def test_mirrored_strategy_splits_each_batch_over_local_devices(keras_fit, tmp_path):
    # One process, two CPU devices: each global batch of 8 is split 4 + 4, the last of 5 into 2 + 3.
    (result,) = run_workers(tmp_path, tmp_path / "run", "mirrored", "--logical-cpus", "2", workers=1)
    weights, summary = result
    assert summary["replicas"] == 2
    assert_weights_close([weights[key] for key in weights.files], keras_fit.weights, atol=1e-5)
    assert_history_close(summary["history"], keras_fit.history)


@pytest.mark.slow
def test_zoo_train_on_two_workers_writes_one_run_folder_and_export_and_matches_one_device(tmp_path):
    from tests.data.test_imdb import make_archive
    from tests.tasks.test_imdb_classifier import TINY

    archive = make_archive(tmp_path)
    zoo = ["-m", "zoo", "train", "sentiment", "--data-dir", str(archive), *TINY]
    run_commands(tmp_path, "one", lambda out: [*zoo, "--run-dir", str(tmp_path / "one")], workers=1)
    run_commands(tmp_path, "two", lambda out: [*zoo, "--run-dir", str(tmp_path / "two"), "--strategy", "multi_worker"])
    one, two = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("one", "two"))
    assert two["test"] == pytest.approx(one["test"], abs=1e-4)
    assert (tmp_path / "two" / "export" / "saved_model.pb").exists()
