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


def zero_states(model, batch):
    return [np.zeros((batch, size), "float32") for size in G.state_sizes(model)]


@pytest.mark.parametrize("input_mode, input_dim", [("embedding", 4), ("onehot", len(VOCAB))])
def test_shortcut_logits_see_the_last_layer_and_the_encoded_input(input_mode, input_dim):
    assert tuple(make(input_mode=input_mode).get_layer("logits").kernel.shape) == (6, len(VOCAB))
    model = make(input_mode=input_mode, shortcut=True)
    assert tuple(model.get_layer("logits").kernel.shape) == (6 + input_dim, len(VOCAB))
    # logits_t = W_h h_t + W_x x_t + b with W_h = 0: the NumPy head on the encoded characters.
    kernel, bias = model.get_layer("logits").get_weights()
    kernel[:6] = 0.0
    model.get_layer("logits").set_weights([kernel, bias])
    ids = np.array([VOCAB.encode("to be or")], "int32")
    x = model.get_layer("embedding").get_weights()[0][ids] if input_mode == "embedding" else np.eye(len(VOCAB))[ids]
    np.testing.assert_allclose(model(ids), x @ kernel[6:] + bias, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("input_mode", ["embedding", "onehot"])
def test_shortcut_inference_model_matches_the_training_model(input_mode):
    model = make("peephole_lstm", input_mode, shortcut=True)
    infer = G.inference_model(model)
    assert {id(w) for w in infer.weights} <= {id(w) for w in model.weights}
    ids = np.array([VOCAB.encode("to be or"), VOCAB.encode("not to b")], "int32")
    np.testing.assert_allclose(infer([ids, *zero_states(model, 2)])[0], model(ids), rtol=1e-5, atol=1e-6)


def test_shortcut_conditional_inference_model_matches_the_training_model():
    training.seed_everything(0)
    model = G.build_conditional_generator("gru", num_classes=3, vocab_size=len(VOCAB), embedding_dim=4, units=6,
                                          num_layers=2, shortcut=True)
    assert tuple(model.get_layer("logits").kernel.shape) == (6 + 4, len(VOCAB))
    condition = np.array([0, 2], "int32")
    ids = np.array([VOCAB.encode("to be")] * 2, "int32")
    states = [keras.ops.convert_to_numpy(s) for s in G.condition_model(model)(condition)]
    np.testing.assert_allclose(G.inference_model(model)([ids, *states])[0], model({"condition": condition, "ids": ids}),
                               rtol=1e-5, atol=1e-6)


def test_shortcut_generator_round_trips_through_config_and_keras_file(tmp_path):
    model = make("elman", shortcut=True)
    clone = keras.Model.from_config(model.get_config())
    assert [w.shape for w in clone.weights] == [w.shape for w in model.weights]
    model.save(tmp_path / "g.keras")
    loaded = keras.saving.load_model(tmp_path / "g.keras", safe_mode=True)
    ids = np.array([VOCAB.encode("to be or")], "int32")
    np.testing.assert_allclose(loaded(ids), model(ids), rtol=1e-5, atol=1e-6)
    logits, *_ = G.inference_model(loaded)([ids, *zero_states(loaded, 1)])  # the shortcut is found by name
    np.testing.assert_allclose(logits, model(ids), rtol=1e-5, atol=1e-6)


@pytest.mark.requires_tensorflow(reason="exports a SavedModel and scores with zoo.generation")
def test_shortcut_generator_export_scores_like_zoo_generation(tmp_path):
    from zoo import export

    model = make("gru", shortcut=True)
    export.export_char_generator(G.inference_model(model), VOCAB.chars, tmp_path / "export")
    texts = ["to be or not", "not to"]
    ids = tf.ragged.constant([VOCAB.encode(t) for t in texts]).to_tensor()
    expected = generation.score_ids(G.inference_model(model), ids).numpy()
    exported = tf.saved_model.load(str(tmp_path / "export")).signatures["score"](text=tf.constant(texts))["nll"]
    np.testing.assert_allclose(exported.numpy(), expected, rtol=1e-5)


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_log_mixture_is_the_log_of_the_weighted_mean_probability():
    rng = np.random.default_rng(0)
    logits = [rng.normal(size=(2, 3, 5)).astype("float32") * 3 for _ in range(3)]
    weights = [0.5, 0.3, 0.2]
    expected = np.log(sum(w * _softmax(x) for w, x in zip(weights, logits)))
    out = keras.ops.convert_to_numpy(G.LogMixture(weights)([keras.ops.convert_to_tensor(x) for x in logits]))
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.exp(out).sum(axis=-1), 1, rtol=1e-5)  # valid logits: log-probabilities
    only_first = keras.ops.convert_to_numpy(G.LogMixture([1.0, 0.0])([keras.ops.convert_to_tensor(x) for x in logits[:2]]))
    np.testing.assert_allclose(only_first, np.log(_softmax(logits[0])), rtol=1e-5, atol=1e-5)
    layer = G.LogMixture.from_config(G.LogMixture(weights).get_config())
    assert layer.mixture_weights == pytest.approx(weights) and layer.temperatures == [1.0, 1.0, 1.0]
    for bad in ([0.5, 0.6], [-0.5, 1.5], []):
        with pytest.raises(ValueError, match="non-negative and sum to 1"):
            G.LogMixture(bad)


def test_log_mixture_divides_each_members_logits_by_its_temperature():
    rng = np.random.default_rng(2)
    logits = [rng.normal(size=(2, 3, 5)).astype("float32") * 3 for _ in range(2)]
    weights, temperatures = [0.7, 0.3], [2.0, 0.5]
    expected = np.log(sum(w * _softmax(x / t) for w, x, t in zip(weights, logits, temperatures)))
    layer = G.LogMixture.from_config(G.LogMixture(weights, temperatures).get_config())
    assert layer.temperatures == temperatures
    out = keras.ops.convert_to_numpy(layer([keras.ops.convert_to_tensor(x) for x in logits]))
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    for bad in ([1.0, 0.0], [1.0], [1.0, -2.0]):
        with pytest.raises(ValueError, match="temperatures must be positive, one per mixture weight"):
            G.LogMixture(weights, bad)


def test_mixture_inference_model_mixes_members_and_carries_each_members_state():
    members = [G.inference_model(make(cell, name=f"m_{cell}")) for cell in ("gru", "peephole_lstm")]
    mixture = G.mixture_inference_model(members, [0.25, 0.75])
    assert len(mixture.inputs) == 1 + sum(len(m.inputs) - 1 for m in members)
    ids = keras.ops.convert_to_tensor(np.array([VOCAB.encode("to be or not to be")], np.int32))

    def zeros(model):
        return [keras.ops.zeros((1, spec.shape[-1])) for spec in model.inputs[1:]]

    probs = [_softmax(keras.ops.convert_to_numpy(m([ids, *zeros(m)])[0])) for m in members]
    whole, *_ = mixture([ids, *zeros(mixture)])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(whole), np.log(0.25 * probs[0] + 0.75 * probs[1]),
                               rtol=1e-5, atol=1e-5)
    first, *states = mixture([ids[:, :7], *zeros(mixture)])
    second, *_ = mixture([ids[:, 7:], *states])
    np.testing.assert_allclose(np.concatenate([keras.ops.convert_to_numpy(first), keras.ops.convert_to_numpy(second)], 1),
                               keras.ops.convert_to_numpy(whole), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="at least 2"):
        G.mixture_inference_model(members[:1], [1.0])
    with pytest.raises(ValueError, match="distinct names"):
        G.mixture_inference_model([members[0], members[0]], [0.5, 0.5])


def test_mixture_weights_maximize_the_likelihood():
    rng = np.random.default_rng(1)
    log_probs = np.log(rng.uniform(0.05, 1, size=(2, 500)))
    weights = generation.mixture_weights(log_probs)
    assert weights.sum() == pytest.approx(1)
    grid = np.linspace(0, 1, 1001)
    best = min(generation.mixture_nll(log_probs, [w, 1 - w]) for w in grid)
    assert generation.mixture_nll(log_probs, weights) <= best + 1e-9
    assert generation.mixture_nll(log_probs, [0.5, 0.5]) > best + 1e-6  # the optimum is not the uniform start
    # A member that is never better than another gets (almost) no weight.
    assert generation.mixture_weights([log_probs[0], log_probs[0] - 1.0])[1] < 1e-3
    with pytest.raises(ValueError, match="characters > 0"):
        generation.mixture_weights(np.zeros((2, 0)))


def _draw(rng, logits, temperature):
    """One category per row of ``logits``, drawn from softmax(logits / temperature)."""
    p = _softmax(logits / temperature)
    return (p.cumsum(axis=1) > rng.uniform(size=(len(p), 1))).argmax(axis=1)


def test_fit_mixture_recovers_a_members_temperature_and_beats_a_grid():
    rng = np.random.default_rng(3)
    n, vocab = 4000, 6
    sharp = rng.normal(size=(n, vocab)) * 3  # the data come from softmax(sharp / 2): this member is too sure
    targets = _draw(rng, sharp, 2.0)
    noise = rng.normal(size=(n, vocab))  # a useless second member
    weights, temperatures = generation.fit_mixture([sharp, noise], targets)
    assert weights.sum() == pytest.approx(1) and weights[0] > 0.9
    assert temperatures[0] == pytest.approx(2.0, rel=0.1)

    def nll(w, t):
        return generation.mixture_nll([generation.target_log_probs(x, targets, tk) for x, tk in zip((sharp, noise), t)],
                                      [w, 1 - w])

    fitted = nll(weights[0], temperatures)
    grid = min(nll(w, (t, temperatures[1])) for w in np.linspace(0.8, 1, 41) for t in np.linspace(1.5, 2.5, 41))
    assert fitted <= grid + 1e-7
    # Without temperatures: every T is 1 and the weights are the EM weights.
    weights_1, temperatures_1 = generation.fit_mixture([sharp, noise], targets, temperatures=False)
    assert list(temperatures_1) == [1.0, 1.0]
    np.testing.assert_allclose(weights_1, generation.mixture_weights(
        [generation.target_log_probs(x, targets) for x in (sharp, noise)]))
    assert fitted < nll(weights_1[0], temperatures_1) - 0.01
    with pytest.raises(ValueError, match="one per member"):
        generation.fit_mixture([sharp, noise[:10]], targets)


@pytest.mark.requires_tensorflow(reason="uses zoo.generation, which is TensorFlow-only")
def test_stream_logits_give_the_stream_log_probs():
    infer = G.inference_model(make("gru", name="m_stream"))
    ids = np.array(VOCAB.encode("to be or not to be, that is the question"), np.int32)
    logits = generation.stream_logits(infer, ids, chunk=7)
    assert logits.shape == (len(ids) - 1, len(VOCAB))
    np.testing.assert_allclose(generation.target_log_probs(logits, ids[1:]), generation.stream_log_probs(infer, ids, chunk=11),
                               rtol=1e-5, atol=1e-6)
