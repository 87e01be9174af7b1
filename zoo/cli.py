"""The `zoo` command: `cells`, `train TASK`, `ensemble TASK`, `export`, `predict sentiment`, `generate`,
`translate`, `serve` and `report`."""

import argparse
import dataclasses
import importlib
import itertools
import re
import sys
from pathlib import Path

import zoo
from zoo import logs
from zoo.serving.limits import Limits


def _cells(args):
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
    name = DEFAULT_MODELS[task]
    for root in (Path(__file__).resolve().parents[1], Path.cwd()):
        if (root / "saved_models" / name / "saved_model.pb").exists():
            return root / "saved_models" / name
    raise ValueError(f"no exported {task} model found at saved_models/{name}/; pass --model PATH.")


def _train(args):
    import json

    from zoo import tasks, training

    task = args.task_object
    config = training.from_arguments(task.Config, args)
    metrics = tasks.run(task, config, training.from_arguments(training.TrainConfig, args), command=args.command_line)
    print(json.dumps({k: metrics[k] for k in task.report if k in metrics}, indent=2))
    if "export_dir" in metrics:
        print(f"exported to {metrics['export_dir']} ({metrics['export_bytes'] / 1e6:.1f} MB)")


def _export(args):
    import json

    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as err:
        raise ValueError(f"ONNX export needs the onnx and onnxruntime packages ({err}); "
                         "install them with: pip install 'zoo[onnx]'") from None
    from zoo.export import onnx
    metrics = onnx.export_onnx(args.source, args.out, check_data=args.check_data or None,
                               check_count=args.check_count, command=args.command_line)
    checks = {k: metrics[k] for k in ("probe_check", "data_check") if k in metrics}
    print(json.dumps({"opset": metrics["opset"], "nodes": metrics["nodes"], **checks}, indent=2))
    print(f"exported to {args.out} ({metrics['folder_bytes'] / 1e6:.2f} MB)")


def _task_arguments(parser, name):
    """``zoo train NAME``'s flags: the task's config fields, then the trainer's, with the task's (and an
    alias's) defaults."""
    from zoo import tasks, training

    task = tasks.get(name)
    module = importlib.import_module(tasks.TASKS[task.name])
    alias = tasks.ALIASES.get(name, (name, {}))[1]
    parser.description = module.__doc__.strip() + (
        f"\n\n`zoo train {name}` is `zoo train {task.name}` with "
        + ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in alias.items()) + " by default." if alias else "")
    training.add_task_arguments(parser, task.Config, {}, **{**task.train_defaults, **alias})
    parser.set_defaults(func=_train, task_object=task)


def _ensemble(args):
    import json

    task = args.task_module
    metrics = task.ensemble(*task.from_arguments(args), command=args.command_line)
    print(json.dumps({k: metrics[k] for k in task.REPORT}, indent=2))
    print(f"exported to {metrics['export_dir']} ({metrics['export_bytes'] / 1e6:.1f} MB)")


def _saved_model_dir(path, task):
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
                outputs <= set(got) if outputs else len(got) == 1
            ):
                return signature
    have = "; ".join(f"`{name}` {_describe(sig)}" for name, sig in signatures.items()) or "none"
    want = " or ".join(f"`{name}`" for name in names)
    returns = ", ".join(sorted(outputs)) if outputs else "one string"
    raise ValueError(
        f"{path} is not a {task} model: expected a signature {want} ({', '.join(sorted(inputs))}) -> {returns}, "
        f"as a {exporter} export serves; it has {have}."
    )


MAX_GENERATE = 100_000  # characters `zoo generate` writes at most
FIRST_PIECE = 250  # characters of the first call to the model; each next piece doubles, up to LONGEST_PIECE
LONGEST_PIECE = 2000


def _pieces(length):
    """The lengths a generation of ``length`` characters is asked for in, so that long texts print as they
    are produced: 250, 500, 1000, 2000, 2000, ... (the last one shorter)."""
    pieces, size = [], FIRST_PIECE
    while length > 0:
        pieces.append(min(size, length))
        length -= pieces[-1]
        size = min(2 * size, LONGEST_PIECE)
    return pieces


def _piece_seed(seed, k):
    """Piece ``k``'s sampling seed: ``seed`` for the first, then one drawn from (seed, k)."""
    import numpy as np

    return seed if k == 0 else int(np.random.SeedSequence([seed, k]).generate_state(1)[0] >> 1)


def _generate(args):
    import math

    if not 0 <= args.length <= MAX_GENERATE:
        raise ValueError(f"`length` must be between 0 and {MAX_GENERATE}; got length={args.length}.")
    if not (math.isfinite(args.temperature) and args.temperature >= 0):
        raise ValueError(f"`temperature` must be a finite number >= 0 (0: greedy); got temperature={args.temperature}.")
    import tensorflow as tf

    generate = load_signature(args.model, "generator")
    text = args.prompt.replace("\\n", "\n")
    print(text, end="", flush=True)
    for k, length in enumerate(_pieces(args.length)):  # each piece continues the prompt and all text so far
        out = generate(
            prompt=tf.constant(text), length=tf.constant(length, tf.int32),
            temperature=tf.constant(args.temperature, tf.float32), seed=tf.constant(_piece_seed(args.seed, k), tf.int32),
        )
        piece = out["text"].numpy().decode("utf-8")
        print(piece, end="", flush=True)
        text += piece
    print()


def _texts(args):
    """The texts given as arguments, else (none, or '-') the non-blank lines of stdin."""
    if not args.text or args.text == ["-"]:
        return [line.rstrip("\n") for line in sys.stdin if line.strip()]
    return args.text


def _report(args):
    from zoo import experiments

    status = experiments.main(args.arguments, prog="zoo report")
    if status:
        raise SystemExit(status)


def _export_config(path):
    """The ``seq2seq`` section of the ``config.json`` a zoo export carries ({} without one)."""
    import json

    config = Path(path) / "config.json"
    return json.loads(config.read_text()).get("seq2seq", {}) if config.is_file() else {}


def _translate(args):
    texts = _texts(args)
    path = _saved_model_dir(args.model, "translate")
    config = _export_config(path)
    data = config.get("data") or {"translate": "spa-eng", "addition": "addition"}.get(config.get("task"), "")
    if data == "addition":
        from zoo.data import addition

        for text in texts:
            addition.check_problem(text)
    serve = load_signature(path, "translate")
    import tensorflow as tf

    if data == "spa-eng":
        from zoo.data.translation import standardize_source
        from zoo.export import SOURCE_TOKENS

        counts = tf.strings.split(standardize_source(tf.constant(texts, tf.string))).row_lengths()
        for i, count in enumerate(counts.numpy()):
            if count > SOURCE_TOKENS:
                print(f"zoo: warning: text {i + 1} has {count} tokens; the model reads the first {SOURCE_TOKENS} and "
                      "ignores the rest.", file=sys.stderr)
    out = serve(text=tf.constant(texts, tf.string))
    (translations,) = out.values()
    for output in translations.numpy():
        print(output.decode("utf-8"))


def _predict(args):
    import tensorflow as tf

    from zoo import tasks

    if args.model_dir == "sentiment":
        path = _saved_model_dir(args.model, "sentiment")
        load_signature(path, "sentiment")  # a model of another kind: one line naming the signatures it has
    else:
        if args.model:
            raise ValueError(f"--model goes with `zoo predict sentiment`; give the folder as MODEL_DIR instead: "
                             f"zoo predict {args.model} TEXT...")
        path = Path(args.model_dir)
        if not (path / "saved_model.pb").exists():
            raise ValueError(f"no SavedModel at {path} (expected {path / 'saved_model.pb'}); MODEL_DIR is the folder a "
                             "`zoo train` or `zoo ensemble` export wrote, e.g. runs/classifier/export.")
    texts = _texts(args)
    try:
        signatures = tf.saved_model.load(str(path)).signatures
    except (tf.errors.OpError, OSError, ValueError) as err:
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"{path} is not a readable SavedModel ({detail}).") from None
    for name in tasks.names():
        task = tasks.get(name)
        if task.serves(signatures):
            return task.predict(signatures, texts, args)
    have = "; ".join(f"`{name}` {_describe(sig)}" for name, sig in signatures.items()) or "none"
    raise ValueError(f"{path} is no zoo {'/'.join(tasks.names())} export; its signatures: {have}.")


def _serve(args):
    from zoo.serving.server import serve

    limits = Limits(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Limits)})
    serve(args.models, host=args.host, port=args.port, limits=limits)


class _LazyParser(argparse.ArgumentParser):
    """A subcommand's parser whose flags are added (``setup(parser)``) only when that subcommand is used."""

    def __init__(self, *args, setup=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._pending = setup

    def parse_known_args(self, args=None, namespace=None):
        if self._pending:
            setup, self._pending = self._pending, None
            setup(self)
        namespace, extras = super().parse_known_args(args, namespace)
        if getattr(self, "_texts", False):  # texts after options: `zoo predict sentiment --model M text ...`
            texts = [e for e in extras if e == "-" or self._negative_number_matcher.match(e) or not e.startswith("-")]
            namespace.text = list(namespace.text or []) + texts
            extras = [e for e in extras if e not in texts]
        return namespace, extras


def _module_arguments(module, func):
    """A ``setup`` for :class:`_LazyParser`: ``module.add_arguments``, its docstring as the description."""

    def setup(parser):
        loaded = importlib.import_module(module)
        parser.description = loaded.__doc__.strip()
        loaded.add_arguments(parser)
        parser.set_defaults(func=func, task_module=loaded)

    return setup


def _add_texts(parser, help):
    """The free texts a command takes. An argument such as ``-5+3`` is one of them, not an unknown option:
    only ``-`` followed by a letter or ``-`` starts an option."""
    parser.add_argument("text", nargs="*", help=help)
    parser._negative_number_matcher = re.compile(r"^-(?![-A-Za-z])")  # argparse's test for "not an option"
    parser._texts = True


def _summary(module):
    """The first paragraph of a module's docstring (task modules import TensorFlow only when they train)."""
    return importlib.import_module(module).__doc__.partition("\n\n")[0].strip()


def build_parser():
    """The ``zoo`` command's parser. Building it imports no TensorFlow: the task modules it reads import it
    only when they train (issue 23)."""
    parser = argparse.ArgumentParser(
        prog="zoo",
        description="A Keras 3 model zoo of recurrent sequence architectures (Elman, peephole LSTM, GRU).",
        allow_abbrev=False,  # `--verbose` is looked for before parsing (see main)
    )
    parser.add_argument("--version", action="version", version=f"zoo {zoo.__version__}")
    parser.add_argument("--verbose", action="store_true",
                        help="show TensorFlow's and absl's own log lines (as ZOO_VERBOSE=1 does); goes before COMMAND")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_LazyParser)
    cells = sub.add_parser("cells", help="list the registered recurrent cells and their weight layout")
    cells.add_argument("--units", type=int, default=4, help="units to show the weight shapes for (default 4)")
    cells.add_argument("--input-dim", type=int, default=3, help="input size to show the weight shapes for (default 3)")
    cells.set_defaults(func=_cells)

    from zoo import tasks  # no TensorFlow

    train = sub.add_parser("train", help="train a task's model on your data or a named dataset (resumable; see "
                           "`zoo train TASK --help`)")
    train_tasks = train.add_subparsers(dest="task", metavar="TASK", required=True, parser_class=_LazyParser)
    for name, module in tasks.TASKS.items():
        train_tasks.add_parser(name, help=_summary(module), setup=lambda p, name=name: _task_arguments(p, name),
                               formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, (task, defaults) in tasks.ALIASES.items():
        flags = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in defaults.items())
        train_tasks.add_parser(name, help=f"`zoo train {task} {flags}`", setup=lambda p, name=name: _task_arguments(p, name),
                               formatter_class=argparse.RawDescriptionHelpFormatter)

    ensemble = sub.add_parser("ensemble", help="average finished runs into one exported model")
    ensemble_tasks = ensemble.add_subparsers(dest="task", metavar="TASK", required=True, parser_class=_LazyParser)
    for name, module in tasks.ENSEMBLES.items():
        ensemble_tasks.add_parser(name, help=_summary(module), setup=_module_arguments(module, _ensemble),
                                  formatter_class=argparse.RawDescriptionHelpFormatter)

    export = sub.add_parser(
        "export", help="export a finished run or a zoo SavedModel to another format (ONNX)",
        description="Write the model of SOURCE (a zoo SavedModel folder, or a finished classifier or generator run) "
        "to the folder --out: model.onnx with one native RNN/GRU/LSTM node per recurrent layer, vocabulary.json, a "
        "standalone tokenizer.py, a model card and metrics.json. The export is checked against the SavedModel.")
    export.add_argument("source", metavar="SOURCE", help="a zoo SavedModel folder or a finished run folder")
    export.add_argument("--format", choices=["onnx"], required=True, help="the format to write (onnx)")
    export.add_argument("--out", required=True, help="the folder to write (replaced whole when the export succeeds)")
    export.add_argument("--check-data", default="",
                        help="also compare with the SavedModel on real data from this data folder (IMDB test "
                        "reviews or the Tiny Shakespeare test split) and record it in the model card")
    export.add_argument("--check-count", type=int, default=2000,
                        help="how many reviews or 1,000-character pieces --check-data compares (default 2000)")
    export.set_defaults(func=_export)

    generate = sub.add_parser(
        "generate",
        help="continue a prompt with an exported character model",
        description="Print PROMPT followed by LENGTH generated characters (\\n in PROMPT is a newline). Long "
        "texts print as they are produced: the model is asked for 250 characters, then 500, 1000 and 2000 at a time, "
        "each piece continuing all the text before it.",
    )
    generate.add_argument("prompt", nargs="?", default="\n", help="text to continue (default: a newline)")
    generate.add_argument("--length", type=int, default=300, help=f"characters to generate, at most {MAX_GENERATE} (default 300)")
    generate.add_argument("--temperature", type=float, default=0.8, help="sampling temperature, >= 0; 0 is greedy (default 0.8)")
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
        description="Print one translation per text (arguments, or the non-blank lines of stdin when none or '-' "
        "is given). Text beyond the model's first 100 tokens is not read (a warning says so). Any exported seq2seq "
        "model works with --model, e.g. saved_models/addition for 'a+b' with 0 <= a, b < 1000 (other input is refused).",
    )
    _add_texts(translate, "texts to translate (default: read the non-blank lines of stdin)")
    translate.add_argument("--model", help="SavedModel folder (default: saved_models/spa_eng_translator)")
    translate.set_defaults(func=_translate)

    predict = sub.add_parser(
        "predict",
        help="run any exported zoo model on texts",
        description="Print the answer of an exported zoo model for each text (arguments, or the non-blank lines of "
        "stdin when none or '-' is given), chosen by the model's own signatures: a classifier prints the label, its "
        "probability (a binary model: of its second label, e.g. of positive) and the text; a regression the number; "
        "a generator each text's continuation; a seq2seq model each text's output. `zoo predict sentiment` runs the "
        "shipped IMDB model (or --model).",
    )
    predict.add_argument("model_dir", metavar="MODEL_DIR", help="an exported model's folder (e.g. <run_dir>/export), or "
                         "`sentiment` for saved_models/imdb_sentiment")
    _add_texts(predict, "texts (default: read the non-blank lines of stdin)")
    predict.add_argument("--model", help="with `sentiment`: another SavedModel folder")
    predict.add_argument("--length", type=int, default=200, help="generator: characters per continuation (default 200)")
    predict.add_argument("--temperature", type=float, default=0.8, help="generator: sampling temperature (default 0.8)")
    predict.add_argument("--seed", type=int, default=0, help="generator: sampling seed (default 0)")
    predict.set_defaults(func=_predict)

    serve = sub.add_parser(
        "serve",
        help="serve exported models over HTTP: TF Serving's REST API, dynamic batching, a web page",
        description="Serve exported SavedModels on TensorFlow Serving's REST API (POST /v1/models/NAME:predict, "
        "GET /v1/models/NAME[/metadata]), with dynamic batching, limits, /healthz and a web page at /. Each "
        "is [NAME=]DIR: an export folder, or a folder of numbered versions of one (the highest is the default). "
        "No authentication: see docs/serving.md before using --host other than 127.0.0.1.",
    )
    serve.add_argument("models", nargs="+", metavar="[NAME=]DIR", help="model folders (NAME: the folder's name)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=8501, help="port (default 8501, TF Serving's REST port)")
    for field in dataclasses.fields(Limits):
        serve.add_argument("--" + field.name.replace("_", "-"), type=field.type, default=field.default,
                           help=f"{field.metadata['help']} (default {field.default})")
    serve.set_defaults(func=_serve)
    return parser


# What each path flag must name, for errors about a path under it (most specific flag first).
PATH_FLAGS = {
    "export_dir": "a folder zoo can create and write in",
    "tfds_dir": "a folder zoo can create and write in",
    "run_dir": "a folder zoo can create and write in",
    "data_dir": "a data file or folder zoo can read",
    "model": "a SavedModel folder zoo can read",
    "out": "a folder zoo can create and write in",
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


def _interrupted(err):
    """Whether ``err`` is a Ctrl-C, or an error raised while one unwound: TensorFlow's own cleanup can fail
    then (``AssertionError: Concurrent access?`` from its traceback filters, seen 1 run in 12)."""
    while err is not None:
        if isinstance(err, KeyboardInterrupt):
            return True
        err = err.__context__
    return False


def report(err, args=None):
    """Print the one stderr line for an expected failure ``err`` and return its exit status (see
    :func:`main`); None when ``err`` is not one (a bug: let it raise, traceback and all)."""
    if _interrupted(err):
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


def _logs_wanted(argv):
    """``ZOO_VERBOSE=1``, or ``--verbose`` among the flags before the command; decided before parsing, which
    may load TensorFlow (a train or ensemble task)."""
    flags = itertools.takewhile(lambda arg: arg.startswith("-"), argv)
    return logs.verbose_requested() or "--verbose" in flags


def main(argv=None):
    """Run the ``zoo`` command; returns the exit status.

    0: done; 1: training diverged; 2: bad input (arguments, data, paths, models), reported as one
    ``zoo: error: ...`` line on stderr (argparse's own usage errors exit 2 too); 130: interrupted
    (Ctrl-C). Any other exception is a bug and keeps its traceback.

    Called without ``argv`` (as the command), TensorFlow's and absl's own log lines are kept off stderr
    unless ``--verbose`` or ``ZOO_VERBOSE=1`` asks for them (see :mod:`zoo.logs`).
    """
    import shlex

    if argv is None:
        argv = sys.argv[1:]
        if not _logs_wanted(argv):
            logs.filter_stderr()
    argv = list(argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)  # a train or ensemble task loads TensorFlow: a Ctrl-C is likely
    except KeyboardInterrupt as err:
        return report(err)
    if args.command is None:
        parser.print_help()
        return 0
    args.command_line = shlex.join(["zoo", *argv])  # recorded in configs and model cards
    return run(lambda: args.func(args), args)


if __name__ == "__main__":
    sys.exit(main())
