import keras
import numpy as np
import pytest

from zoo.layers import MaskedPooling1D

rng = np.random.default_rng(5)
X = rng.normal(size=(3, 5, 2)).astype("float32")
LENGTHS = np.array([5, 2, 0])  # a full row, a padded row, an empty text
MASK = np.arange(5)[None, :] < LENGTHS[:, None]


def reference(mode):
    rows = []
    for x, n in zip(X, LENGTHS):
        if n == 0:
            rows.append(np.zeros(X.shape[-1]))
        else:
            rows.append({"max": x[:n].max(0), "mean": x[:n].mean(0), "last": x[n - 1]}[mode])
    return np.stack(rows)


@pytest.mark.parametrize("mode", ["max", "mean", "last"])
def test_pooling_reads_only_unmasked_steps_and_gives_zeros_for_empty_rows(mode):
    out = keras.ops.convert_to_numpy(MaskedPooling1D(mode)(X, mask=MASK))
    np.testing.assert_allclose(out, reference(mode), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("mode", ["max", "mean", "last"])
def test_pooling_without_a_mask_uses_every_step(mode):
    out = keras.ops.convert_to_numpy(MaskedPooling1D(mode)(X))
    expected = {"max": X.max(1), "mean": X.mean(1), "last": X[:, -1]}[mode]
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)


def test_unknown_mode_raises_clear_error():
    with pytest.raises(ValueError, match="mode"):
        MaskedPooling1D("median")


def test_config_round_trip():
    layer = MaskedPooling1D("last", name="p")
    assert MaskedPooling1D.from_config(layer.get_config()).mode == "last"
