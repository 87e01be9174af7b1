"""The models `zoo serve` serves: folders given as ``[NAME=]DIR``, loaded with plain ``tf.saved_model.load``
(no Keras model is rebuilt, as TF Serving rebuilds none), and their signatures.

A DIR is an export folder (``saved_model.pb`` in it: served as version 1) or a TF Serving model base
folder whose numbered subfolders each hold one (every version is loaded; the highest is the default).
"""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

# TF Serving's REST paths take a model name up to the first '/' or ':' (http_rest_api_handler.cc).
MODEL_NAME = re.compile(r"[^/:\s=]+")
SERVE_TAG = "serve"
# Label names of the zoo classifier exports whose metrics.json has none: those made before zoo.tasks, all of
# them IMDB's binary sentiment task, whose class ids are neg = 0, pos = 1 (zoo/data/imdb.py), the
# `probabilities` columns their model cards document as "negative, positive".
TASK_LABELS = {"imdb_sentiment": ["negative", "positive"]}


@dataclass(frozen=True)
class Signature:
    """One signature of a loaded SavedModel: its function and the specs of its named inputs and outputs."""

    name: str
    function: object  # the tf.types.experimental.ConcreteFunction to call with keyword tensors
    inputs: dict  # input name -> tf.TensorSpec
    outputs: dict  # output name -> tf.TensorSpec

    @property
    def batchable(self):
        """Whether requests can be stacked along a leading batch axis: every input and output has one
        (shape ``[None, ...]``) and no other unknown axis, so that any two requests concatenate. Scalar-input
        signatures (the character model's ``generate``) are not."""
        def batched(spec, rest_known):
            dims = spec.shape.as_list() if spec.shape.rank is not None else None
            return bool(dims) and dims[0] is None and (not rest_known or None not in dims[1:])

        return all(batched(s, True) for s in self.inputs.values()) and all(
            batched(s, False) for s in self.outputs.values())

    def describe(self):
        """The signature as the web page reads it: dtype and shape (-1 for unknown) of each input and output."""
        def spec(s):
            return {"dtype": s.dtype.name, "shape": [-1 if d is None else d for d in s.shape.as_list()]}

        return {"inputs": {k: spec(s) for k, s in sorted(self.inputs.items())},
                "outputs": {k: spec(s) for k, s in sorted(self.outputs.items())}, "batched": self.batchable}


@dataclass
class Version:
    number: int
    path: Path
    signatures: dict  # name -> Signature
    signature_defs: dict  # name -> SignatureDef as JSON, as TF Serving's metadata API gives it
    module: object = field(repr=False, default=None)  # keeps the loaded object (and its variables) alive
    labels: list = None  # a zoo classifier's class names, in the order of its `probabilities` columns


@dataclass
class Model:
    name: str
    path: Path
    versions: dict  # number -> Version
    title: str = ""  # the model card's heading, for the web page

    @property
    def latest(self):
        return self.versions[max(self.versions)]


def parse_spec(spec):
    """``NAME=DIR`` or ``DIR`` (named after the folder) -> (name, Path)."""
    name, sep, folder = spec.partition("=")
    if not sep:
        name, folder = Path(spec).resolve().name, spec
    if not MODEL_NAME.fullmatch(name):
        raise ValueError(f"model name {name!r} (from {spec!r}) is not usable in a URL: it must be non-empty, without "
                         "'/', ':', '=' or spaces; name it with NAME=DIR.")
    return name, Path(folder)


def version_folders(path):
    """{version: folder} of a model folder: itself as version 1 when it is an export, else its numbered
    subfolders that hold a SavedModel (TF Serving's layout)."""
    if not path.is_dir():
        raise ValueError(f"{path} is not a folder; zoo serve takes exported SavedModel folders (e.g. "
                         "saved_models/imdb_sentiment_fast) or folders of numbered versions of one.")
    if (path / "saved_model.pb").is_file():
        return {1: path}
    versions = {int(p.name): p for p in path.iterdir() if p.name.isdigit() and (p / "saved_model.pb").is_file()}
    if not versions:
        raise ValueError(f"no SavedModel at {path}: it has no saved_model.pb, nor numbered version folders "
                         "(1/, 2/, ...) that hold one.")
    return versions


def signature_defs(path):
    """The SignatureDefs of ``path/saved_model.pb`` (its ``serve`` graph) as JSON, with every field printed,
    as TF Serving's ``GET /v1/models/NAME/metadata`` gives them."""
    from google.protobuf import json_format
    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel.FromString((path / "saved_model.pb").read_bytes())
    graph = next((g for g in saved.meta_graphs if SERVE_TAG in g.meta_info_def.tags), saved.meta_graphs[0])
    return {name: json_format.MessageToDict(sig, preserving_proto_field_name=True,
                                            always_print_fields_with_no_presence=True)
            for name, sig in graph.signature_def.items()}


def recorded_labels(path):
    """The class names a zoo classifier export records next to its SavedModel, in the order of its
    ``probabilities`` columns: ``metrics.json``'s ``labels``, or those of its ``task`` (:data:`TASK_LABELS`);
    None for any other folder (a SavedModel from elsewhere, a generator, a regressor, an unreadable file)."""
    try:
        metrics = json.loads((Path(path) / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(metrics, dict):
        return None
    labels = metrics.get("labels", TASK_LABELS.get(metrics.get("task")))
    if isinstance(labels, list) and len(labels) > 1 and all(isinstance(x, str) for x in labels):
        return list(labels)
    return None


def load_version(number, path):
    import tensorflow as tf

    try:
        module = tf.saved_model.load(str(path), tags=[SERVE_TAG])
        defs = signature_defs(path)
    except (tf.errors.OpError, OSError, ValueError, RuntimeError) as err:
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"{path} is not a readable SavedModel ({detail}).") from None
    signatures = {
        name: Signature(name, fn, dict(fn.structured_input_signature[1]),
                        {k: tf.TensorSpec(t.shape, t.dtype) for k, t in fn.structured_outputs.items()})
        for name, fn in module.signatures.items()
    }
    if not signatures:
        raise ValueError(f"{path} is a SavedModel without signatures: nothing to serve (export it with a "
                         "serving signature, as every zoo export has).")
    return Version(number, Path(path), signatures, defs, module, recorded_labels(path))


def load(spec):
    """The :class:`Model` for one ``[NAME=]DIR`` argument, every version loaded."""
    name, path = parse_spec(spec)
    versions = {n: load_version(n, folder) for n, folder in sorted(version_folders(path).items())}
    card = path / "README.md" if (path / "README.md").is_file() else versions[max(versions)].path / "README.md"
    title = ""
    if card.is_file():
        title = next((line.lstrip("# ").strip() for line in card.read_text(encoding="utf-8").splitlines()
                      if line.startswith("# ")), "")
    return Model(name, path, versions, title)


def load_all(specs):
    """{name: Model} for the ``[NAME=]DIR`` arguments; two models of one name are an error."""
    names = [parse_spec(spec)[0] for spec in specs]
    for name in names:
        if names.count(name) > 1:
            raise ValueError(f"two models are named {name!r}; give each a name with NAME=DIR.")
    for spec in specs:  # every folder checked before the first (slow) load
        version_folders(parse_spec(spec)[1])
    return {name: load(spec) for name, spec in zip(names, specs)}
