"""Mix finished Tiny Shakespeare character models into one: weigh, evaluate and export the mixture.

Each RUN_DIR is a finished unconditional `zoo train generator` run on the same text and vocabulary.
Their best checkpoints are loaded and the mixture p(c) = sum_k w_k p_k(c) of their next-character
distributions is formed, with the weights w that maximize the likelihood of the validation split
(expectation-maximization; the test split plays no part). With --temperatures each member's
logits are also divided by a temperature T_k fitted jointly with the weights on the validation
split: p(c) = sum_k w_k softmax(logits_k / T_k)(c). Every member, every subset of two or
more members (validation only, so a smaller mixture can be chosen there) and the mixture are scored
in nats per character, each split run through as one stream, and the mixture is exported as a
SavedModel with the same `generate` and `score` signatures as a single model, and its model card.
"""

import itertools
import json
import time
from pathlib import Path

import numpy as np

# TensorFlow and the zoo modules that import it load in the functions that use them: `zoo ensemble generator
# --help` answers without it (issue 23).
from zoo import training
from zoo.data import describe_source, shakespeare
from zoo.data.shakespeare import DATASET, card_data, card_limits
from zoo.tasks.generator import GeneratorConfig, build, card_use
from zoo.tasks.runs import (
    add_member_arguments, check_same_data, dataclass_from, member_folders, member_summary, read_finished,
)

SPLITS = ("validation", "test", "nanogpt_val")  # nanogpt_val: validation + test, nanoGPT's last 10%
REPORT = ("weights", "temperatures", "validation_loss", "test_loss", "nanogpt_val_loss", "generate_chars_per_second")  # printed


def add_arguments(parser):
    add_member_arguments(parser, "generator", "runs/shakespeare_ensemble",
                         "input.txt, or a folder holding it or tinyshakespeare/input.txt (default $ZOO_DATA_DIR, else download)")
    parser.add_argument("--tfds-dir", default="", help="tensorflow-datasets data folder (default: TFDS's own)")
    parser.add_argument("--temperatures", action="store_true",
                        help="also fit one softmax temperature per member, jointly with the weights, on the validation "
                             "split (temperature scaling; default: every temperature 1)")


def from_arguments(args):
    return args.runs, args.run_dir, args.export_dir, args.data_dir, args.tfds_dir, args.temperatures


def load_run(run_dir):
    """``(GeneratorConfig, TrainConfig, metrics, characters)`` of a finished unconditional generator run."""
    saved = read_finished(run_dir, "generator", files=("best.weights.h5", "metrics.json", "vocabulary.json"))
    config = dataclass_from(GeneratorConfig, saved["generator"])
    if config.condition != "none":
        raise ValueError(f"{run_dir} is a --condition {config.condition} run; a mixture combines unconditional runs.")
    if config.data != DATASET.name:
        raise ValueError(f"{run_dir} was trained on {config.data}; `zoo ensemble generator` mixes tiny_shakespeare runs.")
    run_dir = Path(run_dir)
    chars = json.loads((run_dir / "vocabulary.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return config, dataclass_from(training.TrainConfig, saved["train"]), metrics, chars


def ensemble(run_dirs, run_dir="runs/shakespeare_ensemble", export_dir="", data_dir="", tfds_dir="", temperatures=False,
             command=None):
    """Load, weigh, score and export the mixture of ``run_dirs``' models; returns the metrics dict (also
    written to ``run_dir/metrics.json``). ``temperatures``: also fit one softmax temperature per member."""
    from zoo import export, generation
    from zoo.backend import require_tensorflow
    from zoo.models import generator as models

    require_tensorflow("zoo ensemble generator")
    started = time.time()
    run_dirs = member_folders(run_dirs)
    runs = [load_run(d) for d in run_dirs]
    chars = runs[0][3]
    for d, (_, _, _, other) in zip(run_dirs[1:], runs[1:]):
        if other != chars:
            raise ValueError(f"{d} has another character vocabulary than {run_dirs[0]}; mixture members need the same one.")
    data_dir = data_dir or runs[0][0].data_dir or None
    source = shakespeare.source(data_dir)
    described = describe_source(source) if source else {"path": "tfds:tiny_shakespeare", "sha256": None}
    check_same_data(run_dirs, [recorded for _, _, recorded, _ in runs], described)
    run_dir = Path(run_dir)
    command = command or f"python -c 'zoo.tasks.generator_ensemble.ensemble({[str(d) for d in run_dirs]!r})'"
    training.write_config(run_dir, members=[str(d) for d in run_dirs], data=described, command=command)

    text = shakespeare.load(data_dir, tfds_dir or None)
    vocabulary = shakespeare.CharVocabulary(chars)
    ids = {"validation": vocabulary.encode(text["validation"]), "test": vocabulary.encode(text["test"]),
           "nanogpt_val": vocabulary.encode(text["validation"] + text["test"])}
    targets = {split: np.asarray(ids[split][1:]) for split in SPLITS}
    infers, logits, log_probs = [], {split: [] for split in SPLITS}, {split: [] for split in SPLITS}
    for i, (d, (config, train_config, recorded, _)) in enumerate(zip(run_dirs, runs)):
        model = build(config, vocabulary, train_config.batch_size, name=f"member_{i}_{config.cell}")
        model.load_weights(d / "best.weights.h5")
        infers.append(models.inference_model(model))
        for split in SPLITS:  # validation first: a member that does not reproduce stops before the test set
            logits[split].append(generation.stream_logits(infers[-1], ids[split]))
            log_probs[split].append(generation.target_log_probs(logits[split][-1], targets[split]))
            print(f"{d}: {split} {-np.mean(log_probs[split][-1]):.4f} nats/char", flush=True)  # minutes per member
            if split == "validation":
                _check_reproduced(d, recorded["validation_loss"], -np.mean(log_probs[split][-1]))

    weights, temps = generation.fit_mixture(logits["validation"], targets["validation"], temperatures)
    mixture = models.mixture_inference_model(infers, weights, temps, name="shakespeare_mixture")

    def mixed_nll(split, members, weights, temps):
        return generation.mixture_nll(
            [generation.target_log_probs(logits[split][i], targets[split], t) for i, t in zip(members, temps)], weights)

    subsets = []
    for size in range(2, len(runs) + 1):
        for subset in itertools.combinations(range(len(runs)), size):
            w, t = generation.fit_mixture([logits["validation"][i] for i in subset], targets["validation"], temperatures)
            subsets.append({"members": [str(run_dirs[i]) for i in subset], "weights": w.tolist(),
                            "temperatures": t.tolist(), "validation_loss": mixed_nll("validation", subset, w, t)})
    members = [
        {
            **member_summary(d, config.cell, recorded),
            "units": config.units,
            "num_layers": config.num_layers,
            "weight": float(w),
            "temperature": float(t),
            **{f"{split}_loss": float(-np.mean(log_probs[split][i])) for split in SPLITS},
        }
        for i, (d, (config, _, recorded, _), w, t) in enumerate(zip(run_dirs, runs, weights, temps))
    ]
    metrics = {
        "task": "shakespeare_char",
        "ensemble": True,
        "weights": weights.tolist(),
        "temperatures": temps.tolist() if temperatures else None,
        "members": members,
        **{f"{split}_loss": mixed_nll(split, range(len(runs)), weights, temps) for split in SPLITS},
        "validation_subsets": subsets,
        # The mixture model itself, run over the validation split: the same loss as the members' mix.
        "mixture_model_validation_loss": generation.stream_nll(mixture, ids["validation"]),
        "parameters": int(sum(m["parameters"] for m in members)),
        "vocabulary": len(vocabulary),
        "training_seconds": sum(m["training_seconds"] for m in members),
        **training.environment(),
        "data": described,
        "command": command,
        "seed": runs[0][1].seed,
    }
    metrics["samples"] = {
        f"temperature {t}": generation.sample(mixture, vocabulary, "ROMEO:\n", runs[0][0].sample_length, t,
                                              seed=metrics["seed"])
        for t in (0.5, 0.8)
    }
    export_dir = Path(export_dir or run_dir / "export")
    files = {"config.json": json.loads((run_dir / "config.json").read_text())}
    export.export_char_generator(mixture, vocabulary.chars, export_dir, extra_files=files)
    metrics["generate_chars_per_second"] = export.generation_speed(export_dir)
    metrics["wall_seconds_this_call"] = time.time() - started
    configs = [config for config, _, _, _ in runs]
    return export.finish(run_dir, export_dir, metrics, lambda m: model_card(configs, m))


def _check_reproduced(run_dir, recorded, measured, tolerance=1e-4):
    """ValueError if a member's validation loss here is not the one its run recorded (other text, split
    or code since it was trained)."""
    if abs(measured - recorded) > tolerance:
        raise ValueError(
            f"{run_dir}'s best checkpoint scores {measured:.5f} nats/char on validation here but {recorded:.5f} when it "
            "was trained: its text, split or model code differ from this run's (retrain it with the current code and data)."
        )


def model_card(configs, metrics):
    """The exported mixture's README, every figure taken from ``metrics``."""
    from zoo import export

    scaled = metrics["temperatures"] is not None
    rows = "\n".join(
        f"| `{m['cell']}` | {m['num_layers']} x {m['units']} | {m['parameters']:,} | {m['weight']:.3f} "
        f"| {m['temperature']:.3f} "
        f"| {m['validation_loss']:.4f} | {m['test_loss']:.4f} | {m['nanogpt_val_loss']:.4f} "
        f"| {m['best_epoch']} of {m['epochs_run']} | {m['training_seconds'] / 60:.1f} |"
        for m in metrics["members"]
    )
    subsets = "\n".join(
        f"| {' + '.join(Path(s).name for s in subset['members'])} | "
        f"{', '.join(f'{w:.3f}' for w in subset['weights'])} | {', '.join(f'{t:.3f}' for t in subset['temperatures'])} "
        f"| {subset['validation_loss']:.4f} |"
        for subset in metrics["validation_subsets"]
    )
    commands = "\n".join(m["command"] for m in metrics["members"])
    samples = "\n\n".join(f"{k}, prompt `ROMEO:\\n`:\n```\nROMEO:\n{v}\n```" for k, v in metrics["samples"].items())
    n = len(configs)
    formula = "sum_k w_k softmax(logits_k / T_k)(c)" if scaled else "sum_k w_k p_k(c)"
    fitted = ("The weights w and the temperatures T (each member's logits are divided by its T before the softmax; "
              "T > 1 makes a member less sure of itself) were fitted jointly" if scaled else "The weights w were fitted")
    how = "maximum likelihood by L-BFGS" if scaled else "maximum likelihood by expectation-maximization"
    return f"""# Tiny Shakespeare character model: a mixture of {n} recurrent language models

A TensorFlow SavedModel that continues text one character at a time in the style of the Tiny
Shakespeare corpus, and scores how Shakespeare-like a text is. Each next character is drawn from
the mixture p(c) = {formula} of {n} independently trained `zoo` character models
({", ".join(f"`{m['cell']}`" for m in metrics["members"])}), all run side by side over the same text.
No zoo code is needed to run it.

{card_use(metrics["vocabulary"], mixture=True)}
## Results (measured by the commands below)
| split (TFDS `tiny_shakespeare`) | loss, nats/char |
|---|---|
| test (last 5%) | **{metrics["test_loss"]:.4f}** |
| validation (90-95%) | {metrics["validation_loss"]:.4f} |
| nanoGPT's validation split (last 10%) | {metrics["nanogpt_val_loss"]:.4f} |

Each split is run through every member as one stream from a zero state. {fitted}
on the validation split alone ({how}); the test split
played no part in choosing the members, their epochs or anything fitted here. The exported graph gives the
validation split {metrics["mixture_model_validation_loss"]:.4f} nats/char when run as one model. References: nanoGPT's
character transformer reaches 1.4697 on the last 10% (GPU configuration) and 1.88 (CPU configuration).
Generation from the SavedModel: {metrics["generate_chars_per_second"]:,.0f} characters per second (one stream,
{metrics["hardware"]}).

Validation loss of every mixture of two or more of the members (fitted on validation as above):

| members | weights | temperatures | validation loss |
|---|---|---|---:|
{subsets}

## Members
Each member's own losses, alone and at temperature 1:

| cell | layers | parameters | weight | temperature | validation | test | nanoGPT split | best epoch | training minutes |
|---|---|---:|---:|---:|---:|---:|---:|---|---:|
{rows}

Each: embedding -> stacked `zoo.cells` recurrent layers with dropout -> Dense logits, trained alone by
stateful truncated backpropagation through time with Adam and early stopping on the validation loss
(see each command). Parameters in all: {metrics["parameters"]:,}. Training time in all:
{metrics["training_seconds"] / 60:.1f} minutes on {metrics["hardware"]}; TensorFlow {metrics["versions"]["tensorflow"]},
Keras {metrics["versions"]["keras"]}.

{card_data(metrics)}
## Reproduce
Train the members, then mix them (the commands as they were run; where a member's command exported
too, the last command's export replaces it):
```
{commands}
{metrics["command"]}
```
Seed {metrics["seed"]}.

## Samples (seed {metrics["seed"]})
{samples}

{card_limits(metrics)}{n} networks run per character: about {n} times the compute of one member.

{export.serving_limits("generator")}"""
