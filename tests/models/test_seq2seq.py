import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.models import seq2seq

SOURCE = tf.constant([[5, 6, 7, 8], [9, 4, 0, 0]])
TARGET_IN = tf.constant([[2, 5, 6, 7], [2, 8, 0, 0]])


def build(cell="gru", attention="luong", bidirectional=True, num_layers=2, tie_embeddings=True, **kwargs):
    keras.utils.set_random_seed(0)
    return seq2seq.build_seq2seq(cell, 12, 11, embedding_dim=4, units=6, num_layers=num_layers,
                                 bidirectional=bidirectional, attention=attention, tie_embeddings=tie_embeddings,
                                 **kwargs)


@pytest.mark.parametrize("cell", ["elman", "gru", "peephole_lstm"])
@pytest.mark.parametrize("attention", [None, "bahdanau", "luong"])
def test_every_cell_and_attention_builds_and_steps_like_teacher_forcing(cell, attention):
    model = build(cell, attention)
    logits = model({"source": SOURCE, "target_in": TARGET_IN}).numpy()
    assert logits.shape == (2, 4, 11)
    # Free running, one token at a time from the encoder's states, fed the same tokens, gives the
    # same logits: the first step in particular, and every later one.
    encoder, decoder = seq2seq.encoder_model(model), seq2seq.decoder_model(model)
    memory, *states = encoder(SOURCE)
    for t in range(4):
        step_logits, *states, _ = decoder([TARGET_IN[:, t : t + 1], memory, SOURCE, *states])
        np.testing.assert_allclose(step_logits[:, 0], logits[:, t], atol=1e-5, err_msg=f"step {t}")


@pytest.mark.parametrize("bidirectional", [False, True])
def test_source_padding_changes_nothing(bidirectional):
    model = build(bidirectional=bidirectional)
    padded = tf.pad(SOURCE, [[0, 0], [0, 3]])
    a = model({"source": SOURCE, "target_in": TARGET_IN})
    b = model({"source": padded, "target_in": TARGET_IN})
    np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("attention", ["bahdanau", "luong"])
def test_decoder_attention_sums_to_one_over_the_real_source(attention):
    model = build(attention=attention)
    memory, *states = seq2seq.encoder_model(model)(SOURCE)
    weights = seq2seq.decoder_model(model)([TARGET_IN, memory, SOURCE, *states])[-1].numpy()
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
    assert np.all(weights[1, :, 2:] == 0.0)


def test_tied_embeddings_share_the_target_matrix():
    tied, untied = build(tie_embeddings=True), build(tie_embeddings=False)
    names = [w.path for w in tied.weights]
    assert not any("logits" in n for n in names) and any("output_projection" in n for n in names)
    assert tied.count_params() < untied.count_params()


def test_masked_loss_ignores_padding():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 4, 5)).astype("float32")
    y = np.array([[1, 2, 3, 4], [3, 1, 0, 0]])
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    real = [(b, t) for b in range(2) for t in range(4) if y[b, t] != 0]
    want = -np.mean([log_p[b, t, y[b, t]] for b, t in real])
    np.testing.assert_allclose(float(seq2seq.loss()(y, logits)), want, rtol=1e-5)
    # Whatever the logits at padded positions, the loss is the same.
    changed = logits.copy()
    changed[1, 2:] = 100.0
    np.testing.assert_allclose(float(seq2seq.loss()(y, changed)), want, rtol=1e-5)


def test_masked_accuracy_counts_real_tokens_only():
    metric = seq2seq.MaskedAccuracy()
    y = np.array([[1, 2, 0, 0]])
    logits = np.zeros((1, 4, 3), "float32")
    logits[0, 0, 1] = logits[0, 1, 1] = 1.0  # right, wrong; the padded positions predict 0 (= padding)
    metric.update_state(y, logits)
    assert float(metric.result()) == pytest.approx(0.5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="attention"):
        build(attention="dot")
    with pytest.raises(ValueError, match="odd units"):
        seq2seq.build_seq2seq("gru", 10, 10, units=5, bidirectional=True)
    with pytest.raises(ValueError, match="units"):
        seq2seq.build_seq2seq("gru", 10, 10, units=0)
    with pytest.raises(ValueError, match="Unknown cell"):
        seq2seq.build_seq2seq("tree", 10, 10)
