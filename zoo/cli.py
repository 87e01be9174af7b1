"""The `zoo` command. Later tasks add `train`, `predict`, `generate` and `translate`."""

import argparse
import sys


def _cells(args):
    import zoo

    for name in zoo.cells.names():
        cell = zoo.cells.get(name, units=args.units)
        cell.build((None, args.input_dim))
        layout = ", ".join(f"{w.name} {tuple(w.shape)}" for w in cell.weights)
        summary = (type(cell).__doc__ or "").strip().splitlines()[0]
        print(f"{name:14s} {type(cell).__name__:17s} {summary}")
        print(f"{'':14s} weights at units={args.units}, input_dim={args.input_dim}: {layout}")


DEFAULT_MODELS = {"sentiment": "imdb_sentiment", "generator": "shakespeare_char"}


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


def _saved_model_dir(path, task):
    from pathlib import Path

    path = Path(path) if path else default_model_dir(task)
    if not (path / "saved_model.pb").exists():
        raise ValueError(f"no SavedModel at {path} (expected {path / 'saved_model.pb'}).")
    return path


def _generate(args):
    import tensorflow as tf

    if args.length < 0:
        raise ValueError(f"`length` must be >= 0; got length={args.length}.")
    model = tf.saved_model.load(str(_saved_model_dir(args.model, "generator")))
    prompt = args.prompt.replace("\\n", "\n")
    out = model.signatures["generate"](
        prompt=tf.constant(prompt), length=tf.constant(args.length, tf.int32),
        temperature=tf.constant(args.temperature, tf.float32), seed=tf.constant(args.seed, tf.int32),
    )
    print(prompt + out["text"].numpy().decode("utf-8"))


def _predict_sentiment(args):
    import tensorflow as tf

    texts = args.text or [line.rstrip("\n") for line in sys.stdin]
    if texts == ["-"]:
        texts = [line.rstrip("\n") for line in sys.stdin]
    path = _saved_model_dir(args.model, "sentiment")
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
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
    from zoo.tasks import generator, sentiment

    for task in (sentiment, generator):
        name = task.__name__.rsplit(".", 1)[1]
        summary, _, details = task.__doc__.partition("\n\n")
        parser_ = train_tasks.add_parser(name, help=summary.strip(), description=task.__doc__.strip())
        task.add_arguments(parser_)
        parser_.set_defaults(func=_train, task_module=task)

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


def main(argv=None):
    import shlex

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    args.command_line = shlex.join(["zoo", *argv])  # recorded in configs and model cards
    if args.command is None:
        parser.print_help()
        return 0
    try:
        args.func(args)
    except (ValueError, FileNotFoundError) as err:
        print(f"zoo: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
