"""TF Serving's REST API as `zoo serve` answers it: both predict formats against direct calls of the shipped
SavedModels, model status and metadata (checked against tensorflow-serving-api's own protos where it is
installed), version folders, and every error with TF Serving's status code; and zoo's model list."""

import json

import numpy as np
import pytest

from tests.serving.conftest import running, tf
from zoo.serving import repository

REVIEWS = ["A wonderful, moving film with a superb cast.", "Dull, slow and far too long. I want my money back.",
           "It was fine."]


def direct(models, name, signature, **inputs):
    """The signature called directly, as a plain TensorFlow user would."""
    function = models[name].latest.signatures[signature].function
    return {k: v.numpy() for k, v in function(**{k: tf.constant(v) for k, v in inputs.items()}).items()}


def test_row_format_gives_one_prediction_per_instance_equal_to_the_direct_call(server, shipped, client):
    url, _ = server
    answer = client.post(f"{url}/v1/models/imdb_sentiment_fast:predict", json={"instances": REVIEWS})
    assert answer.status_code == 200
    want = direct(shipped, "imdb_sentiment_fast", "serving_default", text=REVIEWS)
    predictions = answer.json()["predictions"]
    assert [p["label"] for p in predictions] == [label.decode() for label in want["label"]]
    np.testing.assert_allclose([p["probability"] for p in predictions], want["probability"], rtol=1e-6)


def test_columnar_format_gives_each_output_tensor(server, shipped, client):
    url, _ = server
    answer = client.post(f"{url}/v1/models/imdb_sentiment_fast:predict",
                         json={"signature_name": "serving_default", "inputs": {"text": REVIEWS}})
    want = direct(shipped, "imdb_sentiment_fast", "serving_default", text=REVIEWS)
    outputs = answer.json()["outputs"]
    assert outputs["label"] == [label.decode() for label in want["label"]]
    np.testing.assert_allclose(outputs["probability"], want["probability"], rtol=1e-6)


def test_single_output_signature_answers_plain_values(server, shipped, client):
    url, _ = server
    sentences = ["Where is the station?", "I like books."]
    answer = client.post(f"{url}/v1/models/spa_eng_translator:predict",
                         json={"signature_name": "translate", "instances": sentences})
    want = direct(shipped, "spa_eng_translator", "translate", text=sentences)["translation"]
    assert answer.json() == {"predictions": [t.decode() for t in want]}


def test_scalar_signature_takes_the_columnar_format_and_repeats_with_its_seed(server, shipped, client):
    url, _ = server
    inputs = {"prompt": "ROMEO:", "length": 30, "temperature": 0.8, "seed": 7}
    answer = client.post(f"{url}/v1/models/shakespeare_char:predict",
                         json={"signature_name": "generate", "inputs": inputs})
    want = direct(shipped, "shakespeare_char", "generate", prompt="ROMEO:", length=np.int32(30),
                  temperature=np.float32(0.8), seed=np.int32(7))["text"]
    assert answer.json() == {"outputs": want.decode()}


def test_model_status_parses_as_tf_servings_get_model_status_response(server, client):
    url, _ = server
    answer = client.get(f"{url}/v1/models/imdb_sentiment_fast")
    assert answer.json() == {"model_version_status": [
        {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}
    apis = pytest.importorskip("tensorflow_serving.apis.get_model_status_pb2")
    from google.protobuf import json_format

    status = json_format.ParseDict(answer.json(), apis.GetModelStatusResponse())
    assert status.model_version_status[0].state == apis.ModelVersionStatus.AVAILABLE


def test_metadata_gives_the_saved_models_signature_defs(server, client):
    url, _ = server
    answer = client.get(f"{url}/v1/models/shakespeare_char/metadata").json()
    assert answer["model_spec"] == {"name": "shakespeare_char", "signature_name": "", "version": "1"}
    defs = answer["metadata"]["signature_def"]["signature_def"]
    assert {"generate", "score", "serving_default"} <= set(defs)
    assert defs["generate"]["inputs"]["length"]["dtype"] == "DT_INT32"
    assert defs["score"]["inputs"]["text"]["tensor_shape"]["dim"] == [{"size": "-1", "name": ""}]
    metadata = pytest.importorskip("tensorflow_serving.apis.get_model_metadata_pb2")
    from google.protobuf import json_format
    from tensorflow_serving.apis import model_pb2

    parsed = json_format.ParseDict(answer["metadata"]["signature_def"], metadata.SignatureDefMap())
    assert parsed.signature_def["generate"].method_name == "tensorflow/serving/predict"
    json_format.ParseDict({**answer["model_spec"], "version": int(answer["model_spec"]["version"])},
                          model_pb2.ModelSpec())


def test_version_folders_serve_the_highest_by_default_and_each_by_number(tiny_base, client):
    models = repository.load_all([f"tiny={tiny_base}"])
    with running(models) as (url, _):
        body = {"instances": [[1.0, 2.0]]}
        latest = client.post(f"{url}/v1/models/tiny:predict", json=body).json()
        first = client.post(f"{url}/v1/models/tiny/versions/1:predict", json=body).json()
        assert latest == {"predictions": [{"total": 3.0, "y": [2.0, 4.0]}]}
        assert first == {"predictions": [{"total": 3.0, "y": [1.0, 2.0]}]}
        status = client.get(f"{url}/v1/models/tiny").json()["model_version_status"]
        assert [s["version"] for s in status] == ["2", "1"]
        assert client.get(f"{url}/v1/models/tiny/versions/1/metadata").json()["model_spec"]["version"] == "1"
        missing = client.post(f"{url}/v1/models/tiny/versions/3:predict", json=body)
        assert (missing.status_code, missing.json()) == (404, {"error": "Servable not found for request: Specific(tiny, 3)"})


def test_zoo_models_gives_a_zoo_classifiers_label_names_and_none_for_other_models(server, tiny_base, client):
    listed = {m["name"]: m for m in client.get(f"{server[0]}/zoo/models").json()["models"]}
    classifier = listed["imdb_sentiment_fast"]
    assert classifier["labels"] == ["negative", "positive"]
    assert classifier["signatures"]["serving_default"]["outputs"]["probabilities"]["shape"] == [-1, 2]
    assert listed["shakespeare_char"]["labels"] is None and listed["spa_eng_translator"]["labels"] is None
    with running(repository.load_all([f"tiny={tiny_base}"])) as (url, _):
        assert client.get(f"{url}/zoo/models").json()["models"][0]["labels"] is None


@pytest.mark.parametrize("metrics, labels", [
    ({"task": "news", "labels": ["world", "sports", "business"]}, ["world", "sports", "business"]),
    ({"task": "imdb_sentiment"}, ["negative", "positive"]),  # the exports before zoo.tasks recorded no labels
    ({"task": "imdb_sentiment", "labels": ["neg", "pos"]}, ["neg", "pos"]),
    ({"task": "imdb_rating", "head": "rating"}, None),
    ({"task": "shakespeare_char"}, None),
    ({"labels": "positive"}, None),
    ([1, 2], None),
    ("{not json", None),
    (None, None),  # no metrics.json: a SavedModel from elsewhere
])
def test_label_names_are_only_those_a_zoo_export_records(tmp_path, metrics, labels):
    if metrics is not None:
        (tmp_path / "metrics.json").write_text(metrics if isinstance(metrics, str) else json.dumps(metrics))
    assert repository.recorded_labels(tmp_path) == labels


def test_tensorflow_serving_request_protos_build_the_bodies_it_accepts(server, shipped, client):
    """A request built from tensorflow-serving-api's PredictRequest (what a TF Serving gRPC client sends)
    turned into the REST columnar body: same answer as the direct call."""
    predict_pb2 = pytest.importorskip("tensorflow_serving.apis.predict_pb2")
    request = predict_pb2.PredictRequest()
    request.model_spec.name, request.model_spec.signature_name = "imdb_sentiment_fast", "serving_default"
    request.inputs["text"].CopyFrom(tf.make_tensor_proto(REVIEWS[:2]))
    body = {"signature_name": request.model_spec.signature_name,
            "inputs": {k: tf.make_ndarray(v).astype(str).tolist() for k, v in request.inputs.items()}}
    answer = client.post(f"{server[0]}/v1/models/{request.model_spec.name}:predict", json=body)
    want = direct(shipped, "imdb_sentiment_fast", "serving_default", text=REVIEWS[:2])
    np.testing.assert_allclose(answer.json()["outputs"]["probability"], want["probability"], rtol=1e-6)


PREDICT = "/v1/models/imdb_sentiment_fast:predict"
ERRORS = {
    "malformed JSON": (PREDICT, '{"instances": ["a"', 400, "JSON Parse error"),
    "empty body": (PREDICT, "", 400, "The document is empty"),
    "not an object": (PREDICT, '["a"]', 400, "Is not object"),
    "unknown model": ("/v1/models/nope:predict", '{"instances": ["a"]}', 404, "Servable not found for request: Latest(nope)"),
    "unknown version": ("/v1/models/imdb_sentiment_fast/versions/9:predict", '{"instances": ["a"]}', 404,
                        "Specific(imdb_sentiment_fast, 9)"),
    "unknown signature": (PREDICT, '{"signature_name": "nope", "instances": ["a"]}', 400,
                          'Serving signature name: "nope" not found in signature def'),
    "unknown input name": (PREDICT, '{"inputs": {"text": ["a"], "txt": ["b"]}}', 400, "unknown input name 'txt'"),
    "missing input": (PREDICT, '{"inputs": {"txt": ["b"]}}', 400, "Missing named input: text"),
    "wrong instance keys": (PREDICT, '{"instances": [{"txt": "b"}]}', 400, "must be equal to: text"),
    "both formats": (PREDICT, '{"instances": ["a"], "inputs": ["a"]}', 400, "only one of 'inputs' or 'instances'"),
    "neither format": (PREDICT, '{"signature_name": "serving_default"}', 400, "Missing 'inputs' or 'instances' key"),
    "empty instances": (PREDICT, '{"instances": []}', 400, "No values in 'instances' array"),
    "wrong type": (PREDICT, '{"instances": [5]}', 400, "input 'text' takes strings"),
    "wrong shape": (PREDICT, '{"inputs": [["a", "b"]]}', 400, "takes shape [-1] (string); got shape [1, 2]"),
    "ragged": ("/v1/models/shakespeare_char:predict", '{"signature_name": "score", "inputs": [["a"], "b"]}', 400,
               "lists of different lengths"),
    "scalar signature in rows": ("/v1/models/shakespeare_char:predict",
                                 '{"signature_name": "generate", "instances": [{"prompt": "a", "length": 1, '
                                 '"temperature": 1.0, "seed": 0}]}', 400, "send them in the columnar format"),
    "fractional integer": ("/v1/models/shakespeare_char:predict",
                           '{"signature_name": "generate", "inputs": {"prompt": "a", "length": 1.5, '
                           '"temperature": 1.0, "seed": 0}}', 400, "input 'length' takes integers (int32); got 1.5"),
    "classify": ("/v1/models/imdb_sentiment_fast:classify", '{"examples": []}', 400, "answers :predict only"),
}


@pytest.mark.parametrize("case", ERRORS, ids=list(ERRORS))
def test_errors_are_json_with_tf_servings_status_codes(server, client, case):
    path, body, status, message = ERRORS[case]
    answer = client.post(server[0] + path, content=body)
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/json"
    assert set(answer.json()) == {"error"} and message in answer.json()["error"]


def test_unknown_routes_and_methods_answer_json_errors(server, client):
    url, _ = server
    assert client.get(f"{url}/v2/nothing").status_code == 404
    wrong_method = client.get(f"{url}{PREDICT}")
    assert wrong_method.status_code in (404, 405) and "error" in wrong_method.json()


def test_healthz_is_503_while_warming_up_then_ok(server, client):
    url, models = server
    names = ["imdb_sentiment_fast", "shakespeare_char", "spa_eng_translator"]
    models.ready = False
    try:
        warming = client.get(f"{url}/healthz")
    finally:
        models.ready = True
    assert (warming.status_code, warming.json()) == (503, {"status": "warming up", "models": names})
    assert client.get(f"{url}/healthz").json() == {"status": "ok", "models": names}


def test_binary_strings_travel_as_b64_objects(tiny_base, client):
    models = repository.load_all([f"tiny={tiny_base}"])
    with running(models) as (url, _):
        body = {"signature_name": "repeat", "inputs": {"n": 2, "word": {"b64": "aGk="}}}  # "hi"
        assert client.post(f"{url}/v1/models/tiny:predict", json=body).json() == {"outputs": "hi hi"}
        bad = client.post(f"{url}/v1/models/tiny:predict", content=json.dumps({**body, "inputs": {
            "n": 2, "word": {"b64": "!!"}}}))
        assert bad.status_code == 400 and "invalid base64" in bad.json()["error"]
