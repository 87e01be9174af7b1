import keras
from keras import ops
from keras import tree

# The time loop every Keras RNN layer runs, with Keras' masking semantics:
# keras.src.backend re-exports the active backend's rnn (tf.while_loop on
# TensorFlow, lax.scan on JAX, a Python loop on PyTorch). Not exported
# publicly; using it keeps Recurrent's outputs identical to keras.layers.RNN.
from keras.src.backend import rnn as backend_rnn
from keras.src.random.seed_generator import make_default_seed

from zoo.cells.base import ZooCell
from zoo.validation import one_of

INITIAL_STATES = ("zeros", "learned", "noise")

# hoist_inputs="auto": the path that trained faster per backend in scripts/benchmark_cells.py on CPU
# (docs/benchmarks.md, "Recurrent layers: the default path against Keras"). In TensorFlow's and JAX's
# compiled loops the per-step x_t W runs beside the sequential h_{t-1} U chain and hoisting it only
# lengthens the critical path; PyTorch's eager loop pays per op, so one big matmul before it wins.
# Not measured on GPUs: there the CPU choice applies.
FASTEST_HOISTING = {"tensorflow": False, "jax": False, "torch": True}


@keras.saving.register_keras_serializable(package="zoo")
class Recurrent(keras.layers.RNN):
    """Drives a recurrent cell over time; the layer every zoo builder uses.

    Same behaviour as ``keras.layers.RNN`` (masking of padded steps, which
    carries state and output through them; ``initial_state`` passed to
    ``__call__``; ``go_backwards``; ``stateful`` with ``reset_states()``;
    ``keras.layers.Bidirectional``), with two additions:

    - **Hoisted input projection** (where it is faster). For zoo cells, ``x_t W + b`` for every
      step is one ``(batch*time, input_dim) @ (input_dim, G*units)`` matmul
      before the loop, and only ``h_{t-1} U`` and the gates run inside it (what
      Keras 1 called ``consume_less="cpu"``). The input dropout mask is drawn
      once per sequence and applied before the projection, exactly as the cell
      would apply it at every step. Other Keras cells take the ordinary path.
    - **Initial state modes.** ``"zeros"``; ``"learned"``, a trainable vector
      per state broadcast over the batch; ``"noise"``, Gaussian noise of
      standard deviation ``noise_stddev`` in training and zeros in inference
      (Zimmermann et al. 2012 on non-zero initial states). An ``initial_state``
      passed at call time, or the carried state of a stateful layer, wins.

    Args:
        cell: a zoo cell, any Keras RNN cell, or a list of cells (stacked).
        return_sequences: return the output of every step, else the last.
        return_state: also return the final states.
        go_backwards: process the sequence in reverse (outputs in that order).
        stateful: carry the final state of batch k into batch k+1.
        initial_state: "zeros", "learned" or "noise" (see above).
        noise_stddev: standard deviation of the "noise" initial state.
        seed: seed of the "noise" initial state.
        hoist_inputs: "auto" (default): the path measured faster on the
            active Keras backend (on CPU: not hoisted on TensorFlow and JAX,
            hoisted on PyTorch; see ``FASTEST_HOISTING`` and
            docs/benchmarks.md); True forces the hoisted projection for zoo
            cells; False runs the cell's own ``call`` at every step, as
            ``keras.layers.RNN`` does. Both paths give the same outputs and
            gradients up to float rounding.

    Example:
    ```python
    layer = Recurrent(zoo.cells.get("gru", units=64), return_sequences=True)
    y = layer(x, mask=mask)  # x (batch, time, features) -> (batch, time, 64)
    ```
    """

    def __init__(
        self,
        cell,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        initial_state="zeros",
        noise_stddev=0.1,
        seed=None,
        hoist_inputs="auto",
        **kwargs,
    ):
        one_of("initial_state", initial_state, INITIAL_STATES)
        if not noise_stddev > 0:
            raise ValueError(f"`noise_stddev` must be positive; got noise_stddev={noise_stddev!r}.")
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            **kwargs,
        )
        self.initial_state_mode = initial_state
        self.noise_stddev = float(noise_stddev)
        self.seed = seed
        # Only the "noise" mode has a seed generator, so the other modes hold exactly the variables of
        # keras.layers.RNN (issue 23). Its default seed is still drawn here in every mode, from Python's
        # `random` as SeedGenerator(seed=None) draws it: seeded runs then initialise every later weight
        # as they did when each layer created a generator (tests/reference_runs.py).
        noise_seed = make_default_seed() if seed is None else seed
        self.noise_seed_generator = keras.random.SeedGenerator(seed=noise_seed) if initial_state == "noise" else None
        self.learned_initial_state = None
        if not (isinstance(hoist_inputs, bool) or hoist_inputs == "auto"):
            raise ValueError(f"`hoist_inputs` must be one of ('auto', True, False); got hoist_inputs={hoist_inputs!r}.")
        self.hoist_inputs = hoist_inputs

    @property
    def hoists(self):
        """Whether this layer runs the hoisted path (``hoist_inputs`` resolved for the active backend)."""
        if self.hoist_inputs == "auto":
            return FASTEST_HOISTING.get(keras.backend.backend(), False)
        return self.hoist_inputs

    def build(self, sequences_shape, initial_state_shape=None):
        if self.initial_state_mode == "learned":
            sizes = tree.flatten(self.state_size)
            weights = [
                self.add_weight(shape=(size,), initializer="zeros", name=f"initial_state_{i}")
                for i, size in enumerate(sizes)
            ]
            self.learned_initial_state = tree.pack_sequence_as(self.state_size, weights)
        super().build(sequences_shape, initial_state_shape)

    def get_initial_state(self, batch_size):
        if self.learned_initial_state is None:
            return super().get_initial_state(batch_size)
        return tree.map_structure(
            lambda v: ops.broadcast_to(ops.expand_dims(ops.cast(v, self.cell.compute_dtype), 0), (batch_size, v.shape[0])),
            self.learned_initial_state,
        )

    @property
    def variables(self):
        # JAX runs fit/train_on_batch/predict as pure functions of the variables a model lists and
        # writes back only those; keras.layers.RNN leaves its carried state out of that list, so on
        # JAX a stateful layer's state would silently restart from the last eager value at every
        # batch (Keras 3.15). Listing it here, like a seed generator's state, carries it as on
        # TensorFlow and PyTorch; it is still no weight (get_weights and saved files leave it out).
        # Only on JAX: the PyTorch backend registers every listed variable as a module parameter.
        variables = super().variables
        if self.stateful and self.states is not None and keras.backend.backend() == "jax":
            seen = {id(v) for v in variables}
            variables += [v for v in tree.flatten(self.states) if id(v) not in seen]
        return variables

    def reset_state(self):
        if self.states is None:
            return
        batch_size = tree.flatten(self.states)[0].shape[0]
        for variable, value in zip(tree.flatten(self.states), tree.flatten(self.get_initial_state(batch_size))):
            variable.assign(value)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if initial_state is None and not self.stateful and self.initial_state_mode == "noise" and training:
            batch_size = ops.shape(sequences)[0]
            initial_state = tree.map_structure(
                lambda size: keras.random.normal(
                    (batch_size, size),
                    stddev=self.noise_stddev,
                    dtype=self.cell.compute_dtype,
                    seed=self.noise_seed_generator,
                ),
                self.state_size,
            )
        return super().call(sequences, initial_state=initial_state, mask=mask, training=training)

    def inner_loop(self, sequences, initial_state, mask, training=False):
        cell = self.cell
        if not (self.hoists and isinstance(cell, ZooCell)):
            return super().inner_loop(sequences, initial_state, mask, training=training)
        # In training, with the input dropout mask RNN.call already drew for this call (one per sequence).
        projected = cell.project_inputs(sequences, training=training)  # (batch, time, G*units)
        if self.stateful and keras.backend.backend() == "torch":
            # A stateful layer starts from its state variables' storage, which RNN.call overwrites
            # in place after the loop; autograd still needs the values read (RNN.inner_loop copies too).
            initial_state = tree.map_structure(ops.copy, initial_state)

        def step(z_t, states):
            return cell.step(z_t, states, training=training)

        return backend_rnn(
            step,
            projected,
            list(initial_state) if tree.is_nested(initial_state) else [initial_state],
            go_backwards=self.go_backwards,
            mask=mask,
            unroll=self.unroll,
            input_length=sequences.shape[1],
            zero_output_for_mask=self.zero_output_for_mask,
            return_all_outputs=self.return_sequences,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "initial_state": self.initial_state_mode,
            "noise_stddev": self.noise_stddev,
            "seed": self.seed,
            "hoist_inputs": self.hoist_inputs,
        }
