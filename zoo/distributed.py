"""Training on several devices or machines: strategies, and the loop :func:`zoo.training.fit` runs with one.

Three ways to run, by name (:data:`STRATEGIES`):

- ``"default"``: one device, Keras' own ``Model.fit`` (``make_strategy`` returns None).
- ``"mirrored"``: ``tf.distribute.MirroredStrategy``, every GPU of this machine (or its CPU).
- ``"multi_worker"``: ``tf.distribute.MultiWorkerMirroredStrategy`` over the machines that the
  ``TF_CONFIG`` environment variable lists, each running the same command.

Keras 3's ``Model.fit`` does not support ``MultiWorkerMirroredStrategy`` (keras-team/keras#20585),
so with a strategy ``fit`` runs :func:`train`, a loop of its own: the same callbacks, called at the
same points with the same logs as ``Model.fit`` calls them (resume, divergence checks, best
checkpoint, ``log.csv``, TensorBoard and early stopping behave as on one device), the step run on
every replica with ``strategy.run``. Build the model inside the strategy's scope::

    strategy = distributed.make_strategy("multi_worker")  # first: before any other TensorFlow op
    with distributed.scope(strategy):
        model = build_classifier(...)
    training.fit(model, train, validation, config, run_dir, loss, metrics, strategy=strategy)

What the loop guarantees, and how:

- **The same update as one device on the global batch.** ``batch_size`` stays the global batch:
  :func:`distribute` gives replica ``r`` of ``R`` the rows ``[r*b//R, (r+1)*b//R)`` of each batch
  of ``b`` rows, on every worker from the same (seeded) pipeline, as ``AutoShardPolicy.DATA``
  would, but with a known split. Each replica's loss is its sum over examples (or tokens: masks
  and ``ignore_class`` as in Keras) divided by the global count, all-reduced, so the summed
  gradients are the gradient of the global batch's mean loss (``tf.nn.compute_average_loss`` with
  the global batch size, for per-example losses). Keras 3's optimizer clips each replica's
  gradient before it sums them; the loop sums first and clips the sum, as one device would.
- **Only the chief writes the run folder.** The other workers write theirs to a temporary folder,
  removed at the end (the pattern of TensorFlow's multi-worker custom-loop tutorial), and take the
  chief's state where files would differ: whether the run is done, the weights, optimizer state
  and epoch restored from the committed checkpoint, the decision to stop early, the best weights at
  the end.

Not supported with a strategy: gradient accumulation (``accumulation_steps`` > 1), models with
several outputs, and ``"crossentropy"``/``"ce"`` as a loss name (give the full name).
"""

import contextlib
import functools
import json
import os
import shutil
import tempfile
import weakref
from pathlib import Path

import keras
import tensorflow as tf

# What `compile` wraps a loss function in, and how a Keras loss reads the masks on its inputs and
# outputs: used so that a replica's loss terms are exactly those of Keras' reduction.
from keras.src.backend import get_keras_mask
from keras.src.losses.loss import squeeze_or_expand_to_same_rank
from keras.src.losses.losses import LossFunctionWrapper

from zoo.backend import require_tensorflow
from zoo.files import run_lock
from zoo.training import STRATEGIES

TF_CONFIG_EXAMPLE = (
    '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}'
)


def make_strategy(name):
    """The strategy called ``name`` (one of :data:`STRATEGIES`); None for ``"default"``.

    Call it first thing: ``MultiWorkerMirroredStrategy`` configures TensorFlow's collective ops,
    which must happen before any other TensorFlow operation. ``"multi_worker"`` reads the cluster
    from ``TF_CONFIG`` (see :func:`read_tf_config`) and waits until every worker has started.
    """
    if name not in STRATEGIES:
        raise ValueError(f"`strategy` must be one of {STRATEGIES}; got strategy={name!r}.")
    if name == "default":
        return None
    require_tensorflow(f"zoo.distributed.make_strategy({name!r})")
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    read_tf_config()
    try:
        return tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as error:  # "Collective ops must be configured at program startup"
        raise RuntimeError(
            f"make_strategy('multi_worker') must run before any other TensorFlow operation (a dataset, a model, "
            f"a tensor): create the strategy first, then load data and build the model ({error})."
        ) from error


def is_chief(strategy):
    """Whether this process writes metrics and exports: always on one machine; the chief of a cluster."""
    return strategy is None or strategy.extended.should_checkpoint


@contextlib.contextmanager
def task_folder(strategy, run_dir):
    """The folder a task writes its run files in: ``run_dir`` on one machine and on the chief, locked for the
    block (``zoo.files.run_lock``: a second process on it stops at once, before reading any data); on the
    other workers of a cluster a temporary folder, removed at the end (their files would only repeat the
    chief's)."""
    if is_chief(strategy):
        with run_lock(run_dir):
            yield Path(run_dir)
        return
    folder = Path(tempfile.mkdtemp(prefix=f"zoo-{Path(run_dir).name}-worker-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def strategy_from_env(environ=None):
    """``make_strategy("multi_worker")`` when ``TF_CONFIG`` is set (non-empty), else None (one device)."""
    environ = os.environ if environ is None else environ
    return make_strategy("multi_worker" if environ.get("TF_CONFIG") else "default")


def read_tf_config(environ=None):
    """``TF_CONFIG`` as a dict, checked: a cluster of ``host:port`` lists and this process's task in it.

    Raises:
        ValueError: ``TF_CONFIG`` is missing, not JSON, or names a task outside its cluster.
    """
    environ = os.environ if environ is None else environ
    text = environ.get("TF_CONFIG", "")
    hint = f"Set TF_CONFIG on each machine, e.g. TF_CONFIG='{TF_CONFIG_EXAMPLE}' (index 1 on the second)."
    if not text.strip():
        raise ValueError(f"strategy 'multi_worker' needs the TF_CONFIG environment variable, which is not set. {hint}")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON ({error}); got TF_CONFIG={text!r}. {hint}") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not any(cluster.get(job) for job in ("worker", "chief")):
        raise ValueError(f"TF_CONFIG must have a 'cluster' with a 'worker' list; got TF_CONFIG={text!r}. {hint}")
    for job, addresses in cluster.items():
        if not isinstance(addresses, list) or not all(isinstance(a, str) and ":" in a for a in addresses):
            raise ValueError(f"TF_CONFIG cluster {job!r} must be a list of 'host:port'; got {addresses!r}. {hint}")
    if not isinstance(task, dict) or task.get("type") not in cluster:
        raise ValueError(
            f"TF_CONFIG 'task' must name a job of the cluster ({sorted(cluster)}) as 'type'; got task={task!r}. {hint}"
        )
    index = task.get("index")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(cluster[task["type"]]):
        raise ValueError(
            f"TF_CONFIG task 'index' must be 0..{len(cluster[task['type']]) - 1} for job {task['type']!r}; "
            f"got index={index!r}. {hint}"
        )
    return config


def scope(strategy):
    """``strategy.scope()``, or a context that does nothing for None: build the model inside it."""
    return strategy.scope() if strategy is not None else contextlib.nullcontext()


def _multi_worker(strategy):
    resolver = getattr(strategy, "cluster_resolver", None)  # None but for multi-worker strategies
    jobs = resolver.cluster_spec().as_dict() if resolver is not None else {}
    return len(jobs.get("chief", [])) + len(jobs.get("worker", [])) > 1


def check_model(model, strategy):
    """Raise ``ValueError`` unless ``model``'s variables were created in ``strategy.scope()``."""
    outside = [v.path for v in model.weights if not strategy.extended.variable_created_in_scope(v.value)]
    if not model.weights or outside:
        raise ValueError(
            f"Training with {type(strategy).__name__} needs a built model whose variables were created in "
            f"`strategy.scope()`; {outside[:3] or 'the model has no weights yet'} were not. Build it as "
            "`with zoo.distributed.scope(strategy): model = build_...(...)`."
        )


# Data: global batches, split the same way on every worker.


def distribute(strategy, dataset):
    """``dataset`` of global batches as ``strategy``'s distributed dataset, each batch split in order.

    Replica ``r`` of ``R`` gets rows ``[r*b//R, (r+1)*b//R)`` of every batch of ``b`` rows (a short
    last batch too; a replica may get none). Every worker runs the whole pipeline (seeded shuffles
    then agree) and keeps its replicas' rows, as ``AutoShardPolicy.DATA`` does.
    """

    def dataset_fn(context):
        replicas = context.num_replicas_in_sync
        local = replicas // context.num_input_pipelines
        first = context.input_pipeline_id * local

        def split(*element):
            element = element[0] if len(element) == 1 else element
            rows = tf.shape(tf.nest.flatten(element)[0])[0]
            parts = [
                tf.data.Dataset.from_tensors(
                    tf.nest.map_structure(lambda t, r=r: t[r * rows // replicas : (r + 1) * rows // replicas], element)
                )
                for r in range(first, first + local)
            ]
            return functools.reduce(tf.data.Dataset.concatenate, parts)

        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
        return dataset.flat_map(split).with_options(options)

    return strategy.distribute_datasets_from_function(dataset_fn)


def _cardinality(dataset):
    steps = int(dataset.cardinality())
    return steps if steps >= 0 else None


# The loss of one replica.


def _as_loss(loss):
    """``loss`` as ``compile`` resolves it: a ``keras.losses.Loss`` (functions wrapped as Keras wraps them)."""
    if isinstance(loss, str) and loss.lower() in ("crossentropy", "ce"):
        raise ValueError(f"With a strategy, name the loss in full (e.g. 'binary_crossentropy'); got loss={loss!r}.")
    resolved = keras.losses.get(loss)
    if resolved is None:
        raise ValueError(f"Unknown loss {loss!r}.")
    if not isinstance(resolved, keras.losses.Loss):
        resolved = LossFunctionWrapper(resolved, name=loss if isinstance(loss, str) else None)
    return resolved


def _sum_and_count(loss, y_true, y_pred, sample_weight):
    """The numerator and denominator of Keras' ``"sum_over_batch_size"`` reduction of ``loss``.

    The weighted sum of the per-element losses that the masks keep (a Keras mask on ``y_pred``, or
    one the loss sets, as ``ignore_class`` does), and the number of elements they keep (all of them
    without a mask). Keras' loss is their quotient (``keras.losses.Loss.__call__``).
    """
    if tf.nest.is_nested(y_pred):
        raise ValueError("Training with a strategy supports models with one output; this one has several.")
    in_mask = get_keras_mask(y_pred)
    values = loss.call(tf.cast(y_true, loss.dtype), tf.cast(y_pred, loss.dtype))
    out_mask = get_keras_mask(values)
    masks = [m for m in (in_mask, out_mask) if m is not None]
    weights = None
    if masks:
        weights = tf.cast(functools.reduce(tf.logical_and, masks), values.dtype)
        count = tf.reduce_sum(weights)
    else:
        count = tf.cast(tf.size(values), values.dtype)
    if sample_weight is not None:
        sample_weight = tf.cast(sample_weight, values.dtype)
        if weights is None:
            weights = sample_weight
        else:
            weights, sample_weight = squeeze_or_expand_to_same_rank(weights, sample_weight)
            weights = weights * sample_weight
    if weights is not None:
        values, weights = squeeze_or_expand_to_same_rank(values, weights)
        values = values * weights
    return tf.reduce_sum(values), count


# The loop.


class _Steps:
    """The train and test steps of ``model`` under ``strategy``, compiled once per dataset.

    Each returns the global batch's loss (its replicas' terms, summed) and its number of examples.
    """

    def __init__(self, model, strategy, loss):
        self.model, self.strategy, self.loss = model, strategy, _as_loss(loss)

    def train_function(self, distributed_data):
        return self._compile(self._train_replica, distributed_data)

    def test_function(self, distributed_data):
        return self._compile(self._test_replica, distributed_data)

    def _compile(self, replica_fn, distributed_data):
        # One trace for every batch shape (the time axis varies from bucket to bucket).
        @tf.function(input_signature=[distributed_data.element_spec])
        def step(batch):
            loss, examples = self.strategy.run(replica_fn, args=(batch,))
            reduce = functools.partial(self.strategy.reduce, tf.distribute.ReduceOp.SUM, axis=None)
            return reduce(loss), reduce(examples)

        return step

    def _replica_loss(self, context, y, y_pred, sample_weight):
        total, count = _sum_and_count(self.loss, y, y_pred, sample_weight)
        count = context.all_reduce(tf.distribute.ReduceOp.SUM, tf.stop_gradient(count))
        loss = tf.math.divide_no_nan(total, count)
        if self.model.losses:  # e.g. weight regularizers: each replica carries 1/R of them
            loss += tf.add_n(self.model.losses) / context.num_replicas_in_sync
        return loss

    def _train_replica(self, batch):
        model, optimizer = self.model, self.model.optimizer
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(batch)
        context = tf.distribute.get_replica_context()
        with tf.GradientTape() as tape:
            y_pred = model(x, training=True)
            loss = self._replica_loss(context, y, y_pred, sample_weight)
        pairs = [(g, v) for g, v in zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables)]
        pairs = [(g, v) for g, v in pairs if g is not None]
        gradients, variables = [g for g, _ in pairs], [v for _, v in pairs]
        if optimizer.clipnorm:
            gradients = _clip_as_one_device(context, gradients, optimizer.clipnorm)
        optimizer.apply(gradients, variables)  # sums the replicas' gradients, then updates
        model.compute_metrics(x, y, y_pred, sample_weight=sample_weight)
        return loss, _examples(x)

    def _test_replica(self, batch):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(batch)
        y_pred = self.model(x, training=False)
        loss = self._replica_loss(tf.distribute.get_replica_context(), y, y_pred, sample_weight)
        self.model.compute_metrics(x, y, y_pred, sample_weight=sample_weight)
        return loss, _examples(x)


def _clip_as_one_device(context, gradients, clipnorm):
    """This replica's gradients, such that their sum over replicas is clipped as one device clips it.

    Keras 3's optimizer clips each replica's gradient and then sums them (``TFOptimizer``'s
    ``_backend_update_step``), which is not ``clipnorm`` of the global gradient. A dense gradient
    is summed here and clipped (``tf.clip_by_norm``), and each replica passes 1/R of it on. An
    embedding's ``IndexedSlices`` stays this replica's rows, scaled by the factor of all replicas'
    rows: the norm ``tf.clip_by_norm`` takes on one device, where a repeated row counts once per
    occurrence and Adam squares each occurrence (summing R copies of 1/R of them would not). Either
    way the optimizer's own clipping then has nothing left to clip.
    """
    sparse = [i for i, g in enumerate(gradients) if isinstance(g, tf.IndexedSlices)]
    dense = [i for i, g in enumerate(gradients) if not isinstance(g, tf.IndexedSlices)]
    clipped = list(gradients)
    replicas = context.num_replicas_in_sync
    if dense:
        summed = context.all_reduce(tf.distribute.ReduceOp.SUM, [gradients[i] for i in dense])
        for i, gradient in zip(dense, summed):
            clipped[i] = tf.clip_by_norm(gradient, clipnorm) / replicas
    if sparse:
        squares = [tf.reduce_sum(tf.square(gradients[i].values)) for i in sparse]
        for i, square in zip(sparse, context.all_reduce(tf.distribute.ReduceOp.SUM, squares)):
            g = gradients[i]
            values = g.values * clipnorm / tf.maximum(tf.sqrt(square), clipnorm)
            clipped[i] = tf.IndexedSlices(values, g.indices, g.dense_shape)
    return clipped


def _examples(x):
    return tf.cast(tf.shape(tf.nest.flatten(x)[0])[0], tf.float32)


class _Mean:
    """The loss over the batches so far, each weighted by its examples (as Keras' loss tracker)."""

    def __init__(self):
        self.total = self.count = 0.0

    def add(self, loss, examples):
        self.total += float(loss) * float(examples)
        self.count += float(examples)

    @property
    def value(self):
        return self.total / self.count if self.count else 0.0


def _metric_logs(model, loss):
    """``{"loss": loss, <compiled metric>: value, ...}``: the metrics read across all replicas."""
    results = {name: float(value) for name, value in model.get_metrics_result().items() if name != "loss"}
    return {"loss": loss, **results}  # the model's loss tracker is unused: the loop keeps the loss


def _run_test(model, test_function, distributed_data, callbacks):
    model.reset_metrics()
    callbacks.on_test_begin()
    mean = _Mean()
    for step, batch in enumerate(distributed_data):
        callbacks.on_test_batch_begin(step)
        mean.add(*test_function(batch))
        callbacks.on_test_batch_end(step, {"loss": mean.value})
    logs = _metric_logs(model, mean.value)
    callbacks.on_test_end(logs)
    return logs


def build(model, strategy, data):
    """Create the state that a compiled ``model`` lacks (optimizer slots, metric variables) in the scope.

    Keras' ``fit`` does the same under a strategy (``TensorFlowTrainer._maybe_symbolic_build``):
    variables cannot be created inside the compiled step. Shapes come from ``data.element_spec``.
    """
    with strategy.scope():
        model._symbolic_build(data_batch=data.element_spec)


def train(model, train_data, validation_data, epochs, callbacks, strategy, loss, verbose="auto"):
    """``Model.fit(train_data, validation_data, epochs, callbacks, verbose)``, each step run by ``strategy``.

    ``model`` was built in ``strategy.scope()`` and compiled there with ``loss``; the datasets hold
    global batches (see :func:`distribute`). The callbacks see what ``Model.fit`` shows them: the
    same hooks in the same order, ``loss`` (the running mean) after each batch, and at each epoch
    end the epoch's ``loss``, compiled metrics and their ``val_`` twins; a callback that sets
    ``model._initial_epoch`` in ``on_train_begin`` (the trainer's checkpoints) sets the first epoch.
    With several workers, a callback's ``stop_training`` takes effect at the epoch end, as the chief
    decides. Returns the ``History`` callback.
    """
    build(model, strategy, train_data)
    multi_worker = _multi_worker(strategy)
    step_functions = _Steps(model, strategy, loss)
    train_batches = distribute(strategy, train_data)
    train_function = step_functions.train_function(train_batches)
    if validation_data is not None:
        validation_batches = distribute(strategy, validation_data)
        test_function = step_functions.test_function(validation_batches)
    callbacks = keras.callbacks.CallbackList(
        callbacks,
        add_history=True,
        add_progbar=verbose != 0,
        verbose=verbose,
        epochs=epochs,
        steps=_cardinality(train_data),
        model=model,
    )
    model.stop_training = False
    callbacks.on_train_begin()
    # The trainer's checkpoints restored the weights and optimizer state, and left the epoch to resume
    # from where Model.fit reads it; on the chief only, when the others' folders are temporary.
    initial_epoch = model._initial_epoch or 0
    if multi_worker:
        sync_from_chief(strategy, model)
        initial_epoch = chief_value(strategy, initial_epoch)
    logs = None
    for epoch in range(initial_epoch, epochs):
        model.reset_metrics()
        callbacks.on_epoch_begin(epoch)
        mean = _Mean()
        for step, batch in enumerate(train_batches):
            callbacks.on_train_batch_begin(step)
            mean.add(*train_function(batch))
            callbacks.on_train_batch_end(step, {"loss": mean.value})
            if model.stop_training and not multi_worker:
                break
        epoch_logs = _metric_logs(model, mean.value)
        if validation_data is not None:
            val_logs = _run_test(model, test_function, validation_batches, callbacks)
            epoch_logs.update({f"val_{name}": value for name, value in val_logs.items()})
        callbacks.on_epoch_end(epoch, epoch_logs)
        logs = epoch_logs
        if multi_worker:
            model.stop_training = bool(chief_value(strategy, int(model.stop_training)))
        if model.stop_training:
            break
    model.optimizer.finalize_variable_values(model.trainable_weights)  # as Model.fit (EMA weights, if any)
    callbacks.on_train_end(logs=logs)
    return model.history


def evaluate(model, data, strategy, loss=None):
    """``model.evaluate(data, return_dict=True)`` with each step run by ``strategy`` (a dict of floats).

    ``model`` is compiled (``fit`` compiles it); ``loss`` defaults to the compiled one. Every worker
    must call it, on the same data.
    """
    if strategy is None:
        return model.evaluate(data, return_dict=True, verbose=0)
    build(model, strategy, data)
    batches = distribute(strategy, data)
    test_function = _Steps(model, strategy, model.loss if loss is None else loss).test_function(batches)
    return _run_test(model, test_function, batches, keras.callbacks.CallbackList([], model=model))


# Agreeing with the chief.


_BROADCASTS = weakref.WeakKeyDictionary()  # strategy -> its compiled broadcast


def _from_first_replica(strategy, tensors):
    """``tensors`` as replica 0 (the chief's first device) holds them, on every replica (an all-reduce)."""
    if strategy not in _BROADCASTS:
        _BROADCASTS[strategy] = tf.function(functools.partial(_broadcast, strategy))
    tensors = [tf.convert_to_tensor(t) for t in tensors]  # a variable's value on this worker
    return [strategy.experimental_local_results(value)[0] for value in _BROADCASTS[strategy](tensors)]


def _broadcast(strategy, tensors):
    def replica_fn():
        context = tf.distribute.get_replica_context()
        first = tf.equal(context.replica_id_in_sync_group, 0)
        mine = [tf.convert_to_tensor(t) for t in tensors]
        mine = [tf.where(first, t, tf.zeros_like(t)) for t in mine]
        out = list(mine)
        # One all-reduce per dtype (it packs its tensors together), in the same order on every worker.
        for dtype in sorted({t.dtype for t in mine}, key=str):
            group = [i for i, t in enumerate(mine) if t.dtype == dtype]
            summed = context.all_reduce(tf.distribute.ReduceOp.SUM, [mine[i] for i in group])
            for i, value in zip(group, summed):
                out[i] = value
        return out

    return strategy.run(replica_fn)


def sync_from_chief(strategy, model):
    """Give every worker the chief's weights and optimizer state of ``model``; nothing on one machine."""
    variables = model.weights + (model.optimizer.variables if model.optimizer and model.optimizer.built else [])
    if not _multi_worker(strategy) or not variables:
        return
    for variable, value in zip(variables, _from_first_replica(strategy, [v.value for v in variables])):
        variable.assign(value)


def chief_value(strategy, number):
    """The chief's ``number`` (an int), on every worker; ``number`` itself on one machine."""
    if not _multi_worker(strategy):
        return number
    (value,) = _from_first_replica(strategy, [tf.constant(int(number), tf.int64)])
    return int(value)
