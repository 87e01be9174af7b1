"""TF Serving's JSON predict format, to and from NumPy arrays (tensorflow_serving/util/json_tensor.cc).

A request names an optional ``signature_name`` (default ``serving_default``) and either

- ``instances`` (the row format): a list with one entry per example, each the value of the only input,
  or an object of every input's value; answered ``{"predictions": [...]}``, one entry per example (the
  value of the only output, or an object of every output's value); or
- ``inputs`` (the columnar format): the only input's whole tensor, or an object of every input's tensor;
  answered ``{"outputs": ...}`` (the only output's tensor, or an object of every output's tensor).

Strings are JSON strings (UTF-8); binary strings are ``{"b64": "<base64>"}``, and outputs whose name ends
in ``_bytes`` come back that way. The row format stacks examples along a new first axis, so it cannot
express a signature whose inputs are scalars: those take the columnar format, as in TF Serving.
"""

import base64
import binascii
import json

import numpy as np

from zoo.serving.errors import ServingError

DEFAULT_SIGNATURE = "serving_default"
ROW, COLUMNAR = "instances", "inputs"
BYTES_SUFFIX = "_bytes"


def _bad(message):
    return ServingError(400, message)


def parse_body(body):
    """The request's JSON object."""
    if not body.strip():
        raise _bad("JSON Parse error: The document is empty")
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as err:  # RecursionError: nesting deeper than Python's parser goes
        raise _bad(f"JSON Parse error: {err}") from None
    if not isinstance(doc, dict):
        raise _bad(f"JSON Value: {json.dumps(doc)[:200]} Is not object")
    return doc


def signature_name(doc):
    name = doc.get("signature_name", DEFAULT_SIGNATURE)
    if not isinstance(name, str):
        raise _bad(f"'signature_name' must be a string; got {json.dumps(name)[:200]}")
    return name or DEFAULT_SIGNATURE


def _nested(value, where):
    """(shape, leaves) of a JSON value made of nested lists; ragged lists are an error."""
    if not isinstance(value, list):
        return (), [value]
    if not value:
        return (0,), []
    parts = [_nested(v, where) for v in value]
    shape = parts[0][0]
    if any(p[0] != shape for p in parts):
        raise _bad(f"{where}: lists of different lengths at the same depth; a tensor must be rectangular")
    return (len(value), *shape), [leaf for p in parts for leaf in p[1]]


def _leaf(value, dtype, where):
    """One JSON scalar as a value of ``dtype`` (a tf.DType), or a 400 naming what was expected."""
    if dtype.name == "string":
        if isinstance(value, str):
            return value.encode("utf-8")
        if isinstance(value, dict) and set(value) == {"b64"} and isinstance(value["b64"], str):
            try:
                return base64.b64decode(value["b64"], validate=True)
            except binascii.Error as err:
                raise _bad(f"{where}: invalid base64 in {{\"b64\": ...}} ({err})") from None
        raise _bad(f"{where} takes strings (or {{\"b64\": \"<base64>\"}}); got {json.dumps(value)[:100]}")
    if dtype.is_bool:
        if isinstance(value, bool):
            return value
        raise _bad(f"{where} takes true/false; got {json.dumps(value)[:100]}")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(f"{where} takes numbers ({dtype.name}); got {json.dumps(value)[:100]}")
    if dtype.is_integer:
        if isinstance(value, float) and not value.is_integer():
            raise _bad(f"{where} takes integers ({dtype.name}); got {value}")
        if not dtype.min <= value <= dtype.max:
            raise _bad(f"{where}: {value} is out of range for {dtype.name}")
        return int(value)
    return value


def to_array(value, spec, where):
    """A JSON tensor as the NumPy array ``spec`` (a tf.TensorSpec) takes, or a 400 naming the problem."""
    shape, leaves = _nested(value, where)
    leaves = [_leaf(v, spec.dtype, where) for v in leaves]
    dtype = object if spec.dtype.name == "string" else spec.dtype.as_numpy_dtype
    array = np.empty(len(leaves), dtype=dtype)
    array[:] = leaves
    return array.reshape(shape)


def _check_shape(name, array, spec, signature, fmt):
    if spec.shape.is_compatible_with(array.shape):
        return
    want = [-1 if d is None else d for d in spec.shape.as_list()]
    hint = ""
    if fmt == ROW and spec.shape.rank == 0:
        hint = (f"; signature '{signature}' takes scalar inputs, which the row format ('instances') cannot give: "
                "send them in the columnar format, {\"inputs\": {...}}")
    raise _bad(f"input '{name}' of signature '{signature}' takes shape {want} ({spec.dtype.name}); "
               f"got shape {list(array.shape)}{hint}")


def decode_inputs(doc, signature):
    """(format, {input name: array}, rows) of a predict request for ``signature`` (a repository.Signature).

    ``rows`` is the shared length of the inputs' first axis (the examples a batch would hold), or None
    for a signature that is not batched.
    """
    specs = signature.inputs
    names = sorted(specs)
    if (ROW in doc) == (COLUMNAR in doc):
        if ROW in doc:
            raise _bad("Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist")
        raise _bad("Missing 'inputs' or 'instances' key")
    if ROW in doc:
        fmt, instances = ROW, doc[ROW]
        if not isinstance(instances, list):
            raise _bad("Excepting 'instances' to be an list/array")  # TF Serving's wording, typo included
        if not instances:
            raise _bad("No values in 'instances' array")
        named = [_is_object(item) for item in instances]
        if len(names) > 1 and not all(named):
            raise _bad("instances is a plain list, but expecting list of objects as multiple input tensors "
                       f"required by signature '{signature.name}' ({', '.join(names)})")
        if any(named) and not all(named):
            raise _bad("'instances' mixes objects and plain values; use one or the other")
        columns = {name: [] for name in names}
        for i, item in enumerate(instances):
            if not named[0]:
                item = {names[0]: item}
            if set(item) != set(names):
                raise _bad(f"Failed to process element: {i} of 'instances' list. JSON object keys "
                           f"{sorted(item)} must be equal to: {','.join(names)}")
            for name in names:
                columns[name].append(item[name])
        values = columns
    else:
        fmt, inputs = COLUMNAR, doc[COLUMNAR]
        if not _is_object(inputs):
            if len(names) > 1:
                raise _bad("inputs is a plain value/list, but expecting an object as multiple input tensors "
                           f"required by signature '{signature.name}' ({', '.join(names)})")
            inputs = {names[0]: inputs}
        missing = [n for n in names if n not in inputs]
        if missing:
            raise _bad(f"Missing named input: {missing[0]} in 'inputs' object (signature '{signature.name}' takes "
                       f"{', '.join(names)})")
        unknown = sorted(set(inputs) - set(names))
        if unknown:
            raise _bad(f"unknown input name {unknown[0]!r} for signature '{signature.name}', which takes "
                       f"{', '.join(names)}")
        values = inputs
    arrays = {}
    for name in names:
        arrays[name] = to_array(values[name], specs[name], f"input '{name}'")
        _check_shape(name, arrays[name], specs[name], signature.name, fmt)
    rows = None
    if signature.batchable:
        lengths = {a.shape[0] for a in arrays.values()}
        if len(lengths) > 1:
            raise _bad(f"the inputs of signature '{signature.name}' have different batch sizes {sorted(lengths)}")
        rows = lengths.pop()
    return fmt, arrays, rows


def _is_object(value):
    return isinstance(value, dict) and set(value) != {"b64"}


def _json_values(name, array):
    """An output array as nested lists of JSON values (strings decoded as UTF-8, ``*_bytes`` as base64)."""
    if array.dtype == object or array.dtype.kind == "S":
        if name.endswith(BYTES_SUFFIX):
            encode = np.frompyfunc(lambda b: {"b64": base64.b64encode(b).decode("ascii")}, 1, 1)
        else:
            encode = np.frompyfunc(lambda b: b.decode("utf-8", errors="replace"), 1, 1)
        return encode(array).tolist() if array.ndim else encode(array.item())
    if array.dtype == np.float32:  # shortest text that reads back as the same float32: 0.25, not 0.25000000372
        return array.astype(str).astype(np.float64).tolist()
    return array.tolist()


def encode_outputs(outputs, fmt):
    """The response body (a dict) for ``outputs`` ({name: array}) of a request in format ``fmt``."""
    names = sorted(outputs)
    values = {name: _json_values(name, outputs[name]) for name in names}
    if fmt == COLUMNAR:
        return {"outputs": values[names[0]] if len(names) == 1 else values}
    sizes = set()
    for name in names:
        if outputs[name].ndim == 0:
            raise _bad(f"Tensor name: {name} has no shape information ")
        sizes.add(outputs[name].shape[0])
    if len(sizes) > 1:
        raise _bad(f"outputs have inconsistent batch sizes {sorted(sizes)}; use the columnar format ('inputs')")
    rows = sizes.pop()
    if len(names) == 1:
        return {"predictions": values[names[0]]}
    return {"predictions": [{name: values[name][i] for name in names} for i in range(rows)]}
