"""The Starlette application behind `zoo serve`: TF Serving's REST API, the limits, ``/healthz``, the page.

TF Serving's routes (https://www.tensorflow.org/tfx/serving/api_rest), same requests, answers and codes:

- ``POST /v1/models/NAME[/versions/V]:predict``: see :mod:`zoo.serving.codec` for the two JSON formats.
- ``GET /v1/models/NAME[/versions/V]``: the version status (``model_version_status``).
- ``GET /v1/models/NAME[/versions/V]/metadata``: the SignatureDefs.

``GET /healthz`` answers 200 ``{"status": "ok"}`` once the models are warmed up (503 "warming up" before).
Errors are ``{"error": "<message>"}``: 400 for malformed JSON or wrong signature or input names, types or
shapes, 404 for an unknown model or version. Beyond TF Serving: 413 for a body over the size limit, 400
for more examples than one batch holds, 503 when the model's queue is full, 504 past the per-request
timeout. Outside ``/v1``: ``GET /healthz``, ``GET /zoo/models`` (what the page lists, a zoo classifier's
label names included), ``GET /zoo/stats`` (requests, model calls and rows per signature: how much batching
gathered), and the web page at ``/``.
"""

import asyncio
import dataclasses
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from zoo.serving import codec
from zoo.serving.batching import Batcher, Runner
from zoo.serving.errors import ServingError
from zoo.serving.limits import Limits

STATIC = Path(__file__).parent / "static"


def _not_found(name, version=None):
    spec = f"Latest({name})" if version is None else f"Specific({name}, {version})"
    return ServingError(404, f"Servable not found for request: {spec}")


class Models:
    """The loaded models and, per (model, version, signature), what runs its requests."""

    def __init__(self, models, limits):
        self.models, self.limits = models, limits
        self.ready = True  # False while `zoo serve` warms the models up: /healthz answers 503
        self.executor = ThreadPoolExecutor(max_workers=limits.threads, thread_name_prefix="zoo-serve")
        self.runners = {}
        batching = limits.batch_timeout_ms > 0
        for model in models.values():
            for version in model.versions.values():
                for sig in version.signatures.values():
                    key = (model.name, version.number, sig.name)
                    if batching and sig.batchable:
                        self.runners[key] = Batcher(sig.function, self.executor, limits.max_batch_size,
                                                    limits.batch_timeout_ms / 1e3, limits.max_queue,
                                                    limits.batch_threads)
                    else:
                        self.runners[key] = Runner(sig.function, self.executor, limits.max_queue)

    def version(self, name, number=None):
        model = self.models.get(name)
        if model is None:
            raise _not_found(name, number)
        if number is None:
            return model, model.latest
        try:
            return model, model.versions[int(number)]
        except (KeyError, ValueError):
            raise _not_found(name, number) from None

    async def close(self):
        for runner in self.runners.values():
            if isinstance(runner, Batcher):
                await runner.close()
        self.executor.shutdown(wait=True)


async def _body(request, limit):
    """The request body, refused with 413 past ``limit`` bytes (before reading it when its length is declared)."""
    declared = request.headers.get("content-length", "")
    too_large = ServingError(413, f"request body larger than the server's limit of {limit} bytes "
                                  "(--max-request-bytes); send fewer examples per request")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(models, limits=Limits()):
    """The ASGI app serving ``models`` ({name: repository.Model})."""
    state = Models(models, limits.check())

    async def predict(request):
        name, number = request.path_params["name"], request.path_params.get("version")
        model, version = state.version(name, number)
        doc = codec.parse_body(await _body(request, limits.max_request_bytes))
        sig_name = codec.signature_name(doc)
        signature = version.signatures.get(sig_name)
        if signature is None:
            raise ServingError(400, f'Serving signature name: "{sig_name}" not found in signature def')
        fmt, inputs, rows = codec.decode_inputs(doc, signature)
        if rows is not None and rows > limits.max_batch_size:
            raise ServingError(400, f"{rows} examples in one request; the server's limit is {limits.max_batch_size} "
                                    "(--max-batch-size): split the request")
        runner = state.runners[(model.name, version.number, sig_name)]
        try:
            outputs = await asyncio.wait_for(runner.run(inputs, rows), limits.request_timeout_s)
        except TimeoutError:
            raise ServingError(504, f"no answer within {limits.request_timeout_s:g} s (--request-timeout-s)") from None
        return JSONResponse(codec.encode_outputs(outputs, fmt))

    async def status(request):
        name, number = request.path_params["name"], request.path_params.get("version")
        model, _ = state.version(name, number)
        numbers = sorted(model.versions, reverse=True) if number is None else [int(number)]
        return JSONResponse({"model_version_status": [
            {"version": str(n), "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
            for n in numbers]})

    async def metadata(request):
        model, version = state.version(request.path_params["name"], request.path_params.get("version"))
        return JSONResponse({
            "model_spec": {"name": model.name, "signature_name": "", "version": str(version.number)},
            "metadata": {"signature_def": {"signature_def": version.signature_defs}},
        })

    async def unsupported(request):
        raise ServingError(400, f"zoo serve answers :predict only; {request.url.path} asks for "
                                f"'{request.path_params['method']}' (TF Serving's classify/regress APIs need "
                                "signatures with those methods, which zoo exports do not have)")

    async def healthz(request):
        if not state.ready:
            return JSONResponse({"status": "warming up", "models": sorted(state.models)}, status_code=503)
        return JSONResponse({"status": "ok", "models": sorted(state.models)})

    async def model_list(request):
        return JSONResponse({"models": [
            {"name": m.name, "title": m.title, "versions": sorted(m.versions), "version": m.latest.number,
             "labels": m.latest.labels,
             "signatures": {n: s.describe() for n, s in sorted(m.latest.signatures.items())}}
            for m in state.models.values()], "limits": dataclasses.asdict(limits)})

    async def stats(request):
        return JSONResponse({"signatures": [
            {"model": name, "version": number, "signature": sig, "batched": isinstance(runner, Batcher),
             "in_flight": runner.in_flight, **dataclasses.asdict(runner.stats)}
            for (name, number, sig), runner in state.runners.items()]})

    async def page(request):
        return FileResponse(STATIC / "index.html")

    async def serving_error(request, err):
        return JSONResponse({"error": err.message}, status_code=err.status)

    async def http_error(request, err):
        return JSONResponse({"error": f"{err.detail}: {request.method} {request.url.path}"},
                            status_code=err.status_code)

    async def internal_error(request, err):  # a bug: answered in TF Serving's form; uvicorn logs the traceback
        return JSONResponse({"error": f"internal error: {type(err).__name__}: {err}"}, status_code=500)

    @asynccontextmanager
    async def lifespan(app):
        yield
        await state.close()

    versions = "/versions/{version:int}"
    routes = [
        Route("/", page),
        Route("/healthz", healthz),
        Route("/zoo/models", model_list),
        Route("/zoo/stats", stats),
        Route("/v1/models/{name}:predict", predict, methods=["POST"]),
        Route("/v1/models/{name}" + versions + ":predict", predict, methods=["POST"]),
        Route("/v1/models/{name}:{method}", unsupported, methods=["POST"]),
        Route("/v1/models/{name}" + versions + ":{method}", unsupported, methods=["POST"]),
        Route("/v1/models/{name}", status),
        Route("/v1/models/{name}" + versions, status),
        Route("/v1/models/{name}/metadata", metadata),
        Route("/v1/models/{name}" + versions + "/metadata", metadata),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={ServingError: serving_error, HTTPException: http_error,
                                        Exception: internal_error})
    app.state.models = state
    return app

