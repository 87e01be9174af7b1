"""Many-to-one: a sequence of token ids in, one value out."""

# Keras and zoo.layers load when a model is built: `zoo train classifier --help` reads POOLINGS without
# TensorFlow (issue 23).
from zoo import cells
from zoo.validation import distinct_members, one_of, positive_int

POOLINGS = ("last", "max", "mean")
HEADS = ("binary", "softmax", "regression", "rating")


def build_classifier(
    cell="peephole_lstm",
    vocab_size=20000,
    embedding_dim=128,
    units=128,
    num_layers=1,
    bidirectional=False,
    pooling="last",
    dropout=0.0,
    head="binary",
    initial_state="zeros",
    shortcut=False,
    num_classes=2,
    name="classifier",
    **cell_kwargs,
):
    """Embedding (id 0 = padding, masked) -> ``num_layers`` stacked ``Recurrent`` layers of ``cell``
    (optionally bidirectional; dropout between layers) -> pooling over time -> head.

    With ``shortcut=True`` the input also skips the recurrent layers straight to the head (the notes'
    recurrent network "with shortcuts", issue 8): the head sees the pooled concatenation of the last
    layer's output h_t and the embedded input x_t (after the embedding's dropout),

        y = f(W [pool(h); pool(x)] + b) = f(W_h pool(h) + W_x pool(x) + b),

    with f the sigmoid (binary) or the identity (rating), pooling over the unpadded steps (max and
    mean pool each feature on its own, so pool([h_t; x_t]) = [pool(h); pool(x)]); for "last", h_T and
    x_T at the last unpadded step T (bidirectional: h_T is both directions' final states, as without
    the shortcut). The head's kernel is (units * directions + embedding_dim, 1), W_h rows first.

    Args:
        cell: a registered cell name (``zoo.cells.names()``).
        vocab_size, embedding_dim: the embedding table (ids in [0, vocab_size)).
        units: units of every recurrent layer (per direction).
        num_layers: stacked recurrent layers.
        bidirectional: wrap each layer in ``keras.layers.Bidirectional`` (outputs concatenated).
        pooling: "last" (the last unpadded step), "max" or "mean" over the unpadded steps.
        dropout: rate of the dropout after the embedding, between layers and before the head.
        head: "binary" (sigmoid probability of the positive class), "softmax" (probabilities of
            ``num_classes`` classes), "regression" (a linear output) or "rating" (the same, its layer
            named for IMDB's 1-10 star ratings).
        initial_state: the recurrent layers' initial state mode (see ``Recurrent``).
        shortcut: also feed the embedded input to the head (above).
        num_classes: classes of the softmax head (ignored by the others).
        **cell_kwargs: passed to the cell (e.g. ``recurrent_dropout``, ``peepholes``).

    Returns:
        A ``keras.Model`` mapping int token ids (batch, time) to (batch, 1), or (batch, num_classes)
        for the softmax head.
    """
    import keras

    from zoo.layers import MaskedPooling1D, Recurrent

    for arg, value in (("vocab_size", vocab_size), ("embedding_dim", embedding_dim), ("num_layers", num_layers),
                       ("num_classes", num_classes)):
        positive_int(arg, value)
    one_of("pooling", pooling, POOLINGS)
    one_of("head", head, HEADS)

    # Layers.
    embedding = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name="embedding")
    recurrent = []
    for i in range(num_layers):
        last = i == num_layers - 1
        layer = Recurrent(
            cells.get(cell, units=units, **cell_kwargs),
            return_sequences=not (last and pooling == "last"),
            initial_state=initial_state,
            name=f"recurrent_{i}",
        )
        recurrent.append(keras.layers.Bidirectional(layer, name=f"bidirectional_{i}") if bidirectional else layer)
    pool = None if pooling == "last" else MaskedPooling1D(pooling, name=f"{pooling}_pooling")
    last_input = MaskedPooling1D("last", name="last_input") if shortcut and pooling == "last" else None
    join = keras.layers.Concatenate(name="shortcut") if shortcut else None
    output = {
        "binary": lambda: keras.layers.Dense(1, activation="sigmoid", name="probability"),
        "softmax": lambda: keras.layers.Dense(num_classes, activation="softmax", name="probabilities"),
        "regression": lambda: keras.layers.Dense(1, name="value"),
        "rating": lambda: keras.layers.Dense(1, name="rating"),
    }[head]()

    # Functional wiring.
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    embedded = embedding(token_ids)
    embedded = keras.layers.Dropout(dropout)(embedded) if dropout else embedded  # x_t as the first layer sees it
    x = embedded
    for i, layer in enumerate(recurrent):
        x = keras.layers.Dropout(dropout)(x) if dropout and i else x
        x = layer(x)
    if join is not None:  # per step [h_t; x_t] (masks joined), or [h_T; x_T] when the layer already pooled
        x = join([x, embedded if last_input is None else last_input(embedded)])
    if pool is not None:
        x = pool(x)
    x = keras.layers.Dropout(dropout)(x) if dropout else x
    return keras.Model(token_ids, output(x), name=name)


def build_ensemble(members, name="ensemble"):
    """One model whose output is the mean of ``members``' outputs (for the binary head: the mean
    probability), all reading the same token ids.

    Args:
        members: two or more built classifiers (e.g. from :func:`build_classifier`) over the same
            vocabulary, each mapping token ids (batch, time) to (batch, 1); their names must differ.

    Returns:
        A ``keras.Model`` mapping int token ids (batch, time) to (batch, 1).
    """
    import keras

    members = distinct_members("an ensemble", members)
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    mean = keras.layers.Average(name="mean")([member(token_ids) for member in members])
    return keras.Model(token_ids, mean, name=name)
