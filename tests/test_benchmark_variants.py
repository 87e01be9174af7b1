"""The arrangements of the peephole step in scripts/benchmark_peephole_variants.py compute the zoo cell."""

import sys
from pathlib import Path

import numpy as np
import pytest
import keras
import tensorflow as tf

import zoo

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import benchmark_peephole_variants as variants  # noqa: E402


@pytest.mark.parametrize("variant", list(variants.VARIANTS))
def test_variant_equals_the_zoo_cell(variant):
    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((6, 7, 3)).astype("float32"))
    ref = zoo.layers.Recurrent(zoo.cells.get("peephole_lstm", units=4), hoist_inputs=False)
    ref(x)
    for w in ref.cell.weights:  # nonzero peepholes and biases
        w.assign(rng.standard_normal(w.shape).astype("float32") * 0.5)
    layer = variants.variant_layer(keras, tf, 4, variant)
    layer(x)
    for mine, theirs in zip(layer.cell.weights, ref.cell.weights, strict=True):
        mine.assign(theirs)
    with tf.GradientTape(persistent=True) as tape:
        got, want = layer(x), ref(x)
    np.testing.assert_allclose(got, want, atol=1e-6)
    for g, w in zip(tape.gradient(got, layer.cell.weights), tape.gradient(want, ref.cell.weights), strict=True):
        np.testing.assert_allclose(g, w, atol=1e-5)
