"""The `zoo` command: `cells`, `train TASK`, `ensemble TASK`, `predict sentiment`, `generate`, `translate`
and `report`."""

import argparse
import sys


def _cells(args):
    import zoo
    from zoo.validation import positive_int

    positive_int("input_dim", args.input_dim)
    for name in zoo.cells.names():
        cell = zoo.cells.get(name, units=args.units)
        cell.build((None, args.input_dim))
        layout = ", ".join(f"{w.name} {tuple(w.shape)}" for w in cell.weights)
        summary = (type(cell).__doc__ or "").strip().splitlines()[0]
        print(f"{name:14s} {type(cell).__name__:17s} {summary}")
        print(f"{'':14s} weights at units={args.units}, input_dim={args.input_dim}: {layout}")


DEFAULT_MODELS = {"sentiment": "imdb_sentiment", "generator": "shakespeare_char", "translate": "spa_eng_translator"}


def default_model_dir(task):
    """``saved_models/<name>`` of the checkout zoo runs from, else of the current folder."""
    from pathlib import Path

    name = DEFAULT_MODELS[task]
    for root in (Path(__file__).resolve().parents[1], Path.cwd()):
        if (root / "saved_models" / name / "saved_model.pb").exists():
            return root / "saved_models" / name
    raise ValueError(f"no exported {task} model found at saved_models/{name}/; pass --model PATH.")


def _train(args):
    import json

    task = args.task_module
    metrics = task.train(*task.from_arguments(args), command=args.command_line)
    print(json.dumps({k: metrics[k] for k in task.REPORT if k in metrics}, indent=2))
    if "export_dir" in metrics:
        print(f"exported to {metrics['export_dir']} ({metrics['export_bytes'] / 1e6:.1f} MB)")


def _ensemble(args):
    import json

    task = args.task_module
    metrics = task.ensemble(*task.from_arguments(args), command=args.command_line)
    print(json.dumps({k: metrics[k] for k in task.REPORT}, indent=2))
    print(f"exported to {metrics['export_dir']} ({metrics['export_bytes'] / 1e6:.1f} MB)")


def _saved_model_dir(path, task):
    from pathlib import Path

    path = Path(path) if path else default_model_dir(task)
    if not (path / "saved_model.pb").exists():
        raise ValueError(
            f"no SavedModel at {path} (expected {path / 'saved_model.pb'}); --model takes the folder a "
            f"{SIGNATURES[task][0]} export wrote."
        )
    return path


# task -> (what exports it, signature names tried in order, input names, output names or None for
# "one string output"): what a SavedModel must serve for each command.
SIGNATURES = {
    "sentiment": ("`zoo train sentiment`", ("serving_default",), {"text"}, {"probability", "label"}),
    "generator": ("`zoo train generator`", ("generate",), {"prompt", "length", "temperature", "seed"}, {"text"}),
    "translate": ("`zoo train seq2seq`", ("translate", "serving_default"), {"text"}, None),
}


def _describe(signature):
    inputs = ", ".join(sorted(signature.structured_input_signature[1]))
    return f"({inputs}) -> {', '.join(sorted(signature.structured_outputs))}"


def load_signature(path, task):
    """The serving function of the SavedModel for ``task`` (``--model`` or the default export).

    A folder that is no readable SavedModel, or one serving other signatures (a sentiment model
    given to ``zoo generate``), raises ValueError naming the signatures it has.
    """
    import tensorflow as tf

    path = _saved_model_dir(path, task)
    exporter, names, inputs, outputs = SIGNATURES[task]
    try:
        signatures = tf.saved_model.load(str(path)).signatures
    except (tf.errors.OpError, OSError, ValueError) as err:
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"{path} is not a readable SavedModel ({detail}); --model takes the folder a {exporter} "
                         "export wrote.") from None
    for name in names:
        if name in signatures:
            signature = signatures[name]
            got = signature.structured_outputs
            if set(signature.structured_input_signature[1]) == inputs and (
                set(got) == outputs if outputs else len(got) == 1
            ):
                return signature
    have = "; ".join(f"`{name}` {_describe(sig)}" for name, sig in signatures.items()) or "none"
    want = " or ".join(f"`{name}`" for name in names)
    returns = ", ".join(sorted(outputs)) if outputs else "one string"
    raise ValueError(
        f"{path} is not a {task} model: expected a signature {want} ({', '.join(sorted(inputs))}) -> {returns}, "
        f"as a {exporter} export serves; it has {have}."
    )


def _generate(args):
    import tensorflow as tf

    if args.length < 0:
        raise ValueError(f"`length` must be >= 0; got length={args.length}.")
    generate = load_signature(args.model, "generator")
    prompt = args.prompt.replace("\\n", "\n")
    out = generate(
        prompt=tf.constant(prompt), length=tf.constant(args.length, tf.int32),
        temperature=tf.constant(args.temperature, tf.float32), seed=tf.constant(args.seed, tf.int32),
    )
    print(prompt + out["text"].numpy().decode("utf-8"))


def _texts(args):
    """The texts given as arguments, else (none, or '-') one per line from stdin."""
    if not args.text or args.text == ["-"]:
        return [line.rstrip("\n") for line in sys.stdin]
    return args.text


def _report(args):
    from zoo import experiments

    status = experiments.main(args.arguments, prog="zoo report")
    if status:
        raise SystemExit(status)


def _translate(args):
    import tensorflow as tf

    texts = _texts(args)
    serve = load_signature(args.model, "translate")
    out = serve(text=tf.constant(texts, tf.string))
    (translations,) = out.values()
    for translation in translations.numpy():
        print(translation.decode("utf-8"))


def _predict_sentiment(args):
    import tensorflow as tf

    texts = _texts(args)
    serve = load_signature(args.model, "sentiment")
    out = serve(text=tf.constant(texts, tf.string))
    for probability, label, text in zip(out["probability"].numpy(), out["label"].numpy(), texts):
        preview = text if len(text) <= 60 else text[:57] + "..."
        print(f"{label.decode():8s} {probability:.4f}  {preview}")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="zoo",
        description="A Keras 3 model zoo of recurrent sequence architectures (Elman, peephole LSTM, GRU).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    cells = sub.add_parser("cells", help="list the registered recurrent cells and their weight layout")
    cells.add_argument("--units", type=int, default=4, help="units to show the weight shapes for (default 4)")
    cells.add_argument("--input-dim", type=int, default=3, help="input size to show the weight shapes for (default 3)")
    cells.set_defaults(func=_cells)

    train = sub.add_parser("train", help="train a task's model (resumable; see `zoo train TASK --help`)")
    train_tasks = train.add_subparsers(dest="task", metavar="TASK", required=True)
    from zoo.tasks import generator, sentiment, seq2seq

    for task in (sentiment, generator, seq2seq):
        name = task.__name__.rsplit(".", 1)[1]
        summary, _, details = task.__doc__.partition("\n\n")
        parser_ = train_tasks.add_parser(name, help=summary.strip(), description=task.__doc__.strip())
        task.add_arguments(parser_)
        parser_.set_defaults(func=_train, task_module=task)

    ensemble = sub.add_parser("ensemble", help="average finished runs into one exported model")
    ensemble_tasks = ensemble.add_subparsers(dest="task", metavar="TASK", required=True)
    from zoo.tasks import generator_ensemble, sentiment_ensemble

    for name, task in (("sentiment", sentiment_ensemble), ("generator", generator_ensemble)):
        summary, _, _ = task.__doc__.partition("\n\n")
        parser_ = ensemble_tasks.add_parser(name, help=summary.strip(), description=task.__doc__.strip(),
                                            formatter_class=argparse.RawDescriptionHelpFormatter)
        task.add_arguments(parser_)
        parser_.set_defaults(func=_ensemble, task_module=task)

    generate = sub.add_parser(
        "generate",
        help="continue a prompt with an exported character model",
        description="Print PROMPT followed by LENGTH generated characters (\\n in PROMPT is a newline).",
    )
    generate.add_argument("prompt", nargs="?", default="\n", help="text to continue (default: a newline)")
    generate.add_argument("--length", type=int, default=300, help="characters to generate (default 300)")
    generate.add_argument("--temperature", type=float, default=0.8, help="sampling temperature; 0 is greedy (default 0.8)")
    generate.add_argument("--seed", type=int, default=0, help="sampling seed: same seed, same text (default 0)")
    generate.add_argument("--model", help="SavedModel folder (default: saved_models/shakespeare_char)")
    generate.set_defaults(func=_generate)

    report = sub.add_parser(
        "report",
        help="run the seed experiments and write their report (see `zoo report --help`)",
        add_help=False,
        prefix_chars="\0",  # every argument, --help included, goes to the experiments' own parser
    )
    report.add_argument("arguments", nargs=argparse.REMAINDER)
    report.set_defaults(func=_report)

    translate = sub.add_parser(
        "translate",
        help="translate English to Spanish with an exported seq2seq model",
        description="Print one translation per text (arguments, or one per line on stdin when none or '-' is "
        "given). Any exported seq2seq model works with --model, e.g. saved_models/addition for '123+45'.",
    )
    translate.add_argument("text", nargs="*", help="texts to translate (default: read lines from stdin)")
    translate.add_argument("--model", help="SavedModel folder (default: saved_models/spa_eng_translator)")
    translate.set_defaults(func=_translate)

    predict = sub.add_parser("predict", help="run an exported model on raw text")
    predict_tasks = predict.add_subparsers(dest="task", metavar="TASK", required=True)
    psent = predict_tasks.add_parser(
        "sentiment",
        help="positive/negative and its probability for each review",
        description="Print the label and probability of positive for each text (arguments, or one per line on "
        "stdin when none or '-' is given), using an exported SavedModel.",
    )
    psent.add_argument("text", nargs="*", help="review texts (default: read lines from stdin)")
    psent.add_argument("--model", help="SavedModel folder (default: saved_models/imdb_sentiment)")
    psent.set_defaults(func=_predict_sentiment)
    return parser


# What each path flag must name, for errors about a path under it (most specific flag first).
PATH_FLAGS = {
    "export_dir": "a folder zoo can create and write in",
    "tfds_dir": "a folder zoo can create and write in",
    "run_dir": "a folder zoo can create and write in",
    "data_dir": "a data file or folder zoo can read",
    "model": "a SavedModel folder zoo can read",
}
OS_PROBLEMS = {
    PermissionError: "permission denied",
    NotADirectoryError: "not a folder (part of the path is a file)",
    FileExistsError: "a file is in the way of a folder",
    IsADirectoryError: "a folder is in the way of a file",
}


def _path_error(err, args):
    """One line for an OSError about a path: the problem, the path, and what the flag it came from takes."""
    import os
    from pathlib import Path

    if err.errno is None or err.filename is None:  # e.g. a data loader's FileNotFoundError with its own message
        return str(err)
    problem = OS_PROBLEMS.get(type(err), (err.strerror or type(err).__name__).lower())
    paths = f"{err.filename}" + (f" -> {err.filename2}" if err.filename2 else "")
    where = Path(os.path.abspath(err.filename))
    for flag, needs in PATH_FLAGS.items():
        value = getattr(args, flag, None)
        if value:
            value = Path(os.path.abspath(value))
            if where == value or value in where.parents or where in value.parents:
                return f"{problem}: {paths} (--{flag.replace('_', '-')} must be {needs})."
    return f"{problem}: {paths}."


def _one_line(text):
    return " ".join(line.strip() for line in str(text).splitlines() if line.strip())


def report(err, args=None):
    """Print the one stderr line for an expected failure ``err`` and return its exit status (see
    :func:`main`); None when ``err`` is not one (a bug: let it raise, traceback and all)."""
    if isinstance(err, KeyboardInterrupt):
        if getattr(args, "command", None) == "train":
            print(f"zoo: interrupted; rerun the same command to resume {args.run_dir} from its last finished epoch.",
                  file=sys.stderr)
        else:
            print("zoo: interrupted.", file=sys.stderr)
        return 130
    if isinstance(err, ValueError):
        message, status = str(err), 2
    elif isinstance(err, OSError) and (err.filename is not None or isinstance(err, (FileNotFoundError, *OS_PROBLEMS))):
        message, status = _path_error(err, args), 2
    else:
        from zoo.training import TrainingDiverged

        if not isinstance(err, TrainingDiverged):
            return None
        message, status = str(err), 1
    print(f"zoo: error: {_one_line(message)}", file=sys.stderr)
    return status


def run(func, args=None):
    """Call ``func()`` under the ``zoo`` command's error contract (see :func:`main`); returns the exit status.

    Entry points that do not go through :func:`main` (``scripts/``) get the same one-line errors with
    ``sys.exit(cli.run(main))``.
    """
    try:
        func()
    except BaseException as err:
        status = report(err, args)
        if status is None:
            raise
        return status
    return 0


def main(argv=None):
    """Run the ``zoo`` command; returns the exit status.

    0: done; 1: training diverged; 2: bad input (arguments, data, paths, models), reported as one
    ``zoo: error: ...`` line on stderr (argparse's own usage errors exit 2 too); 130: interrupted
    (Ctrl-C). Any other exception is a bug and keeps its traceback.
    """
    import shlex

    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        parser = build_parser()  # imports TensorFlow: seconds in which a Ctrl-C is likely
    except KeyboardInterrupt as err:
        return report(err)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    args.command_line = shlex.join(["zoo", *argv])  # recorded in configs and model cards
    return run(lambda: args.func(args), args)


if __name__ == "__main__":
    sys.exit(main())
