"""The backend-generic test modules rerun on JAX and PyTorch, each in a subprocess with KERAS_BACKEND set
(Keras picks its backend once per process, at its first import).

The cells, ``zoo.layers.Recurrent`` and the classifier and generator builders are backend-generic: the
modules below test them against the same NumPy references on every backend, and skip their
TensorFlow-only tests elsewhere with the reason (``ONLY_ON`` and ``requires_tensorflow`` in
tests/conftest.py). By default a fast subset runs on each backend; ``pytest -m slow tests/test_backends.py``
runs the whole modules.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import keras
import pytest

from zoo.backend import require_tensorflow

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ("jax", "torch")

MODULES = (
    "tests/cells",
    "tests/layers/test_pooling.py",
    "tests/layers/test_recurrent.py",
    "tests/layers/test_recurrent_gradients.py",
    "tests/models/test_classifier.py",
    "tests/models/test_generator.py",
    "tests/models/test_any_backend.py",
)

# Every cell against the NumPy reference over masked sequences, forwards and backwards; the hoisted
# path against keras.layers.RNN in outputs and gradients; one compiled training run per builder;
# a stateful layer carrying its state through train_on_batch.
SMOKE = (
    "tests/cells/test_cells.py::test_masked_sequence_matches_reference",
    "tests/cells/test_second_order.py::test_masked_sequence_matches_reference",
    "tests/layers/test_recurrent_gradients.py::test_hoisted_path_equals_keras_rnn_in_outputs_and_gradients",
    "tests/models/test_any_backend.py::test_classifier_learns_a_token_detection_task[peephole_lstm]",
    "tests/models/test_any_backend.py::test_conditional_generator_learns_what_only_the_condition_tells",
    "tests/models/test_generator.py::test_carried_state_beats_reset_state_on_a_periodic_text",
)


def run_pytest(backend, targets):
    if importlib.util.find_spec(backend) is None:
        pytest.fail(f"{backend} is not installed; `pip install -e \".[dev]\"` installs it.")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *targets],
        cwd=ROOT,
        env={**os.environ, "KERAS_BACKEND": backend},
        capture_output=True,
        text=True,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0 and " passed" in summary, (
        f"KERAS_BACKEND={backend} pytest {' '.join(targets)}\n{result.stdout[-8000:]}\n{result.stderr[-3000:]}"
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_smoke_subset_passes_on_backend(backend):
    run_pytest(backend, SMOKE)


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_generic_modules_pass_on_backend(backend):
    run_pytest(backend, MODULES)


def test_require_tensorflow_passes_on_tensorflow():
    require_tensorflow("zoo.export.export_text_classifier")


def test_require_tensorflow_names_the_caller_and_the_active_backend(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(RuntimeError, match=r"^zoo.generation.generate needs the TensorFlow backend \(KERAS_BACKEND=tensorflow\); the active backend is jax"):
        require_tensorflow("zoo.generation.generate")
