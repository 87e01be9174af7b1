"""Exploding gradients: an Elman cell with a large orthogonal recurrent initialisation trained by SGD on the
adding problem with and without gradient clipping, every step's gradient norm, ||U|| and loss recorded; and the
per-step gradient norms of that cell at initialisation (Pascanu et al. 2013).
"""

import dataclasses

import numpy as np

# TensorFlow, Keras and the zoo modules that import them load in the functions that use them: `zoo report
# --help` lists the experiments without them (issue 23).
from zoo import training
from zoo.data import synthetic
from zoo.experiments.points import TEST_SEED
from zoo.experiments.report import change, findings, sci

NAME = "exploding"
PART = "Gradients through time"
TITLE = "Exploding gradients"


@dataclasses.dataclass(frozen=True)
class ExplodingSettings:
    """Elman, recurrent kernel Orthogonal(gain), on the adding problem: SGD with and without ``clipnorm``."""

    units: int = 64
    gain: float = 3.0
    length: int = 50
    steps: int = 800
    batch_size: int = 32
    learning_rate: float = 0.01
    clipnorm: float = 1.0
    through_time_length: int = 100  # sequence length of the gradient norms at initialisation
    test_sequences: int = 1000
    seed: int = 0



BUDGETS = {"quick": ExplodingSettings(steps=200), "full": ExplodingSettings()}
NOTES = {}


def _elman(settings, gain):
    import keras

    from zoo.models.synthetic import sequence_regressor

    training.seed_everything(settings.seed)
    return sequence_regressor("elman", settings.units, 2, recurrent_initializer=keras.initializers.Orthogonal(gain))



def train_exploding(settings, clipnorm):
    """SGD on the adding problem, one fresh batch per step; per step the loss, the global norm of the
    gradient before clipping, and ||U||_F after the update. ``clipnorm`` 0: no clipping (Keras' ``clipnorm``
    clips each variable's gradient, as ``zoo.training`` does)."""
    import keras
    import tensorflow as tf

    mse = keras.losses.MeanSquaredError(reduction=None)
    model = _elman(settings, settings.gain)
    optimizer = keras.optimizers.SGD(settings.learning_rate, clipnorm=clipnorm or None)
    recurrent_kernel = model.get_layer("recurrent").cell.recurrent_kernel
    x, y = synthetic.adding_problem(settings.steps * settings.batch_size, settings.length, seed=settings.seed + 1)

    @tf.function
    def step(xb, yb):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(mse(yb, model(xb, training=True)))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss, tf.linalg.global_norm(grads), tf.norm(recurrent_kernel)

    losses, norms, kernel_norms = [], [], []
    for i in range(settings.steps):
        batch = slice(i * settings.batch_size, (i + 1) * settings.batch_size)
        loss, norm, kernel = step(x[batch], y[batch])
        losses.append(float(loss))
        norms.append(float(norm))
        kernel_norms.append(float(kernel))
    tx, ty = synthetic.adding_problem(settings.test_sequences, settings.length, seed=TEST_SEED)
    test_mse = float(np.mean((model.predict(tx, batch_size=256, verbose=0) - ty) ** 2))
    initial = float(np.sqrt(settings.units) * settings.gain)  # ||gain * orthogonal||_F
    return {"clipnorm": clipnorm, "loss": losses, "gradient_norm": norms, "recurrent_norm": kernel_norms,
            "initial_recurrent_norm": initial, "test_mse": test_mse}



def through_time_at_init(settings):
    """Gradient norms by distance from the end for the Elman regressor at Orthogonal(1) and (gain)."""
    import keras

    from zoo import analysis

    mse = keras.losses.MeanSquaredError(reduction=None)
    x, y = synthetic.adding_problem(64, settings.through_time_length, seed=TEST_SEED)
    return {
        "gains": [1.0, settings.gain],
        "norms": [[float(v) for v in analysis.gradient_norms(_elman(settings, g), x, y, mse)[::-1]]
                  for g in (1.0, settings.gain)],
    }



def points(settings):
    return [(f"exploding/clipnorm-{clip:g}", ("train", clip)) for clip in (0.0, settings.clipnorm)] + [
        ("exploding/through_time", ("through_time",))]


def compute(settings, ctx, kind, clipnorm=None):
    return train_exploding(settings, clipnorm) if kind == "train" else through_time_at_init(settings)


def describe(result):
    if "clipnorm" not in result:
        return "gradient norms through time at initialisation"
    return (f"clipnorm {result['clipnorm']:g}: max gradient norm {np.nanmax(result['gradient_norm']):.2e}, "
            f"test MSE {result['test_mse']:.3f}")


def seeds(settings):
    return f"exploding {settings.seed}"


def section(results, settings, ctx):
    s = settings
    intro = [
        f"An Elman cell ({s.units} units, tanh) with recurrent kernel Orthogonal(gain={s.gain:g}) trained by plain SGD "
        f"(learning rate {s.learning_rate}) on the adding problem of length {s.length}, {s.steps} steps of "
        f"{s.batch_size} fresh sequences, without clipping and with Keras' `clipnorm={s.clipnorm:g}` (each "
        "variable's gradient clipped to that norm, as `zoo.training` does). The last panel: gradient norms through "
        f"time at initialisation, length {s.through_time_length}.",
        "",
    ]
    result = {"runs": [r for r in results if "clipnorm" in r]}
    result.update({"through_time": r for r in results if "clipnorm" not in r})
    return intro + _section(result, s, ctx.assets, ctx.plots)


def _section(result, settings, assets, plots):
    runs = result.get("runs", [])
    lines, found = [], []
    for r in runs:
        norms = np.asarray(r["gradient_norm"])
        name = f"clipnorm {r['clipnorm']:g}" if r["clipnorm"] else "no clipping"
        nonfinite = np.flatnonzero(~np.isfinite(r["loss"]))
        found.append(
            f"{name}: gradient norm {sci(norms[0])} at the first step, at most {sci(np.nanmax(norms))}, "
            f"{sci(norms[-1])} at the last; ||U||_F went from {r['initial_recurrent_norm']:.3g} to "
            f"{r['recurrent_norm'][0]:.3g} after one step and {r['recurrent_norm'][-1]:.3g} at the end; "
            f"final test MSE {r['test_mse']:.4f} (baseline {synthetic.ADDING_BASELINE_MSE:.4f})"
            + (f"; the loss was not finite from step {nonfinite[0] + 1}." if len(nonfinite) else ".")
        )
    if "through_time" in result:
        t = result["through_time"]
        for gain, norms in zip(t["gains"], t["norms"]):
            found.append(f"At initialisation with gain {gain:g}, the gradient norm "
                            f"{settings.through_time_length - 1} "
                            f"steps back differs from the last step's {change(norms)}.")
    if not found:
        return ["_No finished points._"]

    from zoo.plots import plot_panels

    panels = []
    for key, label in (("gradient_norm", "global gradient norm (before clipping)"),
                       ("recurrent_norm", "||U||_F after the step"), ("loss", "training loss (MSE)")):
        panels.append({"title": label, "xlabel": "training step", "ylabel": label, "yscale": "log",
                       "lines": [{"x": list(range(1, len(r[key]) + 1)), "y": r[key], "color": f"C{i}",
                                  "label": f"clipnorm {r['clipnorm']:g}" if r["clipnorm"] else "no clipping"}
                                 for i, r in enumerate(runs)],
                       "hlines": [(synthetic.ADDING_BASELINE_MSE, "baseline")] if key == "loss" else []})
    if "through_time" in result:
        t = result["through_time"]
        panels.append({"title": "at initialisation", "xlabel": "distance from the end (steps)",
                       "ylabel": "mean ||d loss / d x_t||", "yscale": "log",
                       "lines": [{"x": list(range(len(n))), "y": n, "label": f"Orthogonal(gain={g:g})",
                                  "color": f"C{i + 2}"}
                                 for i, (g, n) in enumerate(zip(t["gains"], t["norms"]))]})
    plots.append(plot_panels(panels, assets / "exploding.png", columns=2))
    return [*findings(found), *lines,
            f"![exploding gradients with and without clipping]({assets.name}/exploding.png)"]
