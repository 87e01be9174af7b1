import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo import generation, training
from zoo.data.shakespeare import CharVocabulary, stream_batches
from zoo.models import generator as G

TEXT = "to be or not to be\n" * 8
VOCAB = CharVocabulary.from_text(TEXT)


def make(cell="gru", input_mode="embedding", **kw):
    training.seed_everything(0)
    return G.build_generator(cell, vocab_size=len(VOCAB), embedding_dim=4, units=6, num_layers=2,
                             input_mode=input_mode, **kw)


@pytest.mark.parametrize("cell", ["elman", "gru", "peephole_lstm"])
@pytest.mark.parametrize("input_mode", ["embedding", "onehot"])
def test_inference_model_shares_weights_and_matches_the_training_model(cell, input_mode):
    model = make(cell, input_mode)
    infer = G.inference_model(model)
    assert {id(w) for w in infer.weights} <= {id(w) for w in model.weights}
    ids = tf.constant([VOCAB.encode("to be or")])
    logits, *states = infer([ids, *generation.zero_states(infer, 1)])
    np.testing.assert_allclose(logits, model(ids), rtol=1e-5, atol=1e-6)
    model.get_layer("logits").bias.assign(np.ones(len(VOCAB)))  # a change shows in the twin
    np.testing.assert_allclose(infer([ids, *generation.zero_states(infer, 1)])[0], model(ids), rtol=1e-5, atol=1e-6)


def test_feeding_in_chunks_with_carried_state_equals_one_pass():
    infer = G.inference_model(make("peephole_lstm"))
    ids = tf.constant([VOCAB.encode("to be or not to be")])
    whole, *_ = infer([ids, *generation.zero_states(infer, 1)])
    first, *states = infer([ids[:, :7], *generation.zero_states(infer, 1)])
    second, *_ = infer([ids[:, 7:], *states])
    np.testing.assert_allclose(tf.concat([first, second], 1), whole, rtol=1e-5, atol=1e-6)


def test_stream_nll_is_independent_of_the_chunk_size():
    infer = G.inference_model(make())
    ids = VOCAB.encode(TEXT)
    assert generation.stream_nll(infer, ids, chunk=7) == pytest.approx(generation.stream_nll(infer, ids, chunk=1000), rel=1e-5)


def test_score_equals_the_keras_cross_entropy():
    model = make()
    infer = G.inference_model(model)
    texts = ["to be or not", "not to"]
    ids = tf.ragged.constant([VOCAB.encode(t) for t in texts]).to_tensor()
    nll = generation.score_ids(infer, ids).numpy()
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    for row, text in enumerate(texts):
        x = VOCAB.encode(text)
        assert nll[row] == pytest.approx(float(loss(x[None, 1:], model(x[None, :-1]))), rel=1e-5)


def test_temperature_zero_is_argmax_and_seeds_repeat():
    model = make()
    greedy = generation.generate(model, VOCAB, "to", 12, temperature=0)
    infer = G.inference_model(model)
    ids, states, expected = VOCAB.encode("to"), generation.zero_states(infer, 1), ""
    logits, *states = infer([tf.constant([ids]), *states])
    for _ in range(12):
        nxt = int(np.argmax(logits[0, -1, 1:])) + 1
        expected += VOCAB.decode([nxt])
        logits, *states = infer([tf.constant([[nxt]]), *states])
    assert greedy == expected
    a = generation.generate(model, VOCAB, "to", 30, temperature=1.0, seed=7)
    assert a == generation.generate(model, VOCAB, "to", 30, temperature=1.0, seed=7)
    assert a != generation.generate(model, VOCAB, "to", 30, temperature=1.0, seed=8)


def test_top_k_one_is_greedy():
    model = make()
    assert generation.generate(model, VOCAB, "t", 15, temperature=1.0, top_k=1, seed=3) == generation.generate(
        model, VOCAB, "t", 15, temperature=0
    )


def test_unknown_prompt_characters_are_skipped_and_length_zero_is_empty():
    model = make()
    assert generation.generate(model, VOCAB, "t#@", 5, 0) == generation.generate(model, VOCAB, "t", 5, 0)
    assert generation.generate(model, VOCAB, "日本", 5, 0) == generation.generate(model, VOCAB, "\n", 5, 0)
    assert generation.generate(model, VOCAB, "to", 0) == ""


def test_carried_state_beats_reset_state_on_a_periodic_text():
    # Period 12 > seq_len 4: which character comes next depends on context older than the batch.
    text = "abcadbacdbcd" * 60
    vocab = CharVocabulary.from_text(text)
    inputs, targets = stream_batches(vocab.encode(text), batch_size=4, seq_len=4)
    training.seed_everything(0)
    model = G.build_generator("gru", vocab_size=len(vocab), embedding_dim=8, units=24, num_layers=1,
                              batch_size=4, stateful=True)
    model.compile(keras.optimizers.Adam(1e-2), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    for _ in range(12):
        G.reset_states(model)
        for x, y in zip(inputs, targets):
            model.train_on_batch(x, y)

    def mean_loss(reset_every_batch):
        G.reset_states(model)
        losses = []
        for x, y in zip(inputs, targets):
            if reset_every_batch:
                G.reset_states(model)
            losses.append(model.test_on_batch(x, y))
        return np.mean(losses[1:])

    carried, reset = mean_loss(False), mean_loss(True)
    assert carried < 0.5 * reset


def test_conditional_generator_condition_sets_the_initial_state():
    training.seed_everything(0)
    model = G.build_conditional_generator("peephole_lstm", num_classes=3, vocab_size=len(VOCAB), units=6, num_layers=2)
    ids = tf.constant([VOCAB.encode("to be")] * 3)
    out = model({"condition": tf.constant([0, 1, 2]), "ids": ids}).numpy()
    assert out.shape == (3, 5, len(VOCAB)) and not np.allclose(out[0], out[1])
    states = G.condition_model(model)(tf.constant([0, 1, 2]))
    assert len(states) == 4  # (h, c) for each of 2 layers
    infer = G.inference_model(model)
    np.testing.assert_allclose(infer([ids, *states])[0], out, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"input_mode": "bytes"}, "input_mode"), ({"units": 0}, "units"), ({"stateful": True}, "batch_size")],
)
def test_bad_arguments_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        G.build_generator("gru", **kwargs)
