"""Dynamic batching and the limits: many concurrent clients each get their own answers while the server
gathers their requests into fewer model calls; oversized bodies and batches, full queues and slow calls
are refused with the limit named."""

import asyncio

import httpx
import numpy as np
import pytest

from tests.serving.conftest import running, tf
from zoo.serving.limits import Limits

PREDICT = "/v1/models/imdb_sentiment_fast:predict"


def reviews(n):
    """``n`` different short reviews."""
    words = ["great", "awful", "moving", "boring", "fun", "clumsy", "superb", "tedious"]
    return [f"{words[i % 8]} film, {words[(i // 8) % 8]} acting and a {words[(i // 64) % 8]} ending ({i})"
            for i in range(n)]


async def clients(url, texts, per_client):
    """Each client sends its ``per_client`` texts one at a time; their answers, by text."""
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=len(texts))) as http:
        async def one_client(k):
            answers = []
            for text in texts[k * per_client : (k + 1) * per_client]:
                answer = await http.post(url + PREDICT, json={"instances": [text]})
                answers.append((text, answer.status_code, answer.json()))
            return answers

        n = len(texts) // per_client
        return [a for answers in await asyncio.gather(*map(one_client, range(n))) for a in answers]


@pytest.mark.parametrize("per_client", [2, pytest.param(20, marks=pytest.mark.slow)])
def test_concurrent_clients_get_their_own_rows_and_requests_are_gathered(shipped, per_client):
    texts = reviews(64 * per_client)
    function = shipped["imdb_sentiment_fast"].latest.signatures["serving_default"].function
    want = function(text=tf.constant(texts))
    want = dict(zip(texts, zip(want["label"].numpy(), want["probability"].numpy())))
    with running(shipped, Limits(batch_timeout_ms=5)) as (url, models):
        answers = asyncio.run(clients(url, texts, per_client))
        stats = models.runners[("imdb_sentiment_fast", 1, "serving_default")].stats
    assert len(answers) == len(texts) and {status for _, status, _ in answers} == {200}
    for text, _, body in answers:
        (prediction,) = body["predictions"]
        label, probability = want[text]
        assert prediction["label"] == label.decode()
        np.testing.assert_allclose(prediction["probability"], probability, rtol=1e-5, atol=1e-6)
    assert stats.requests == stats.rows == len(texts)
    assert stats.calls < 0.75 * len(texts)  # 64 clients at once: calls carry several requests
    assert 1 < stats.largest_batch <= 64


def test_batching_off_calls_the_model_once_per_request(shipped):
    texts = reviews(32)
    with running(shipped, Limits(batch_timeout_ms=0)) as (url, models):
        answers = asyncio.run(clients(url, texts, per_client=4))
        stats = models.runners[("imdb_sentiment_fast", 1, "serving_default")].stats
    assert {status for _, status, _ in answers} == {200}
    assert stats.calls == stats.requests == len(texts)


def test_a_failing_request_fails_alone_in_its_batch(tiny_base):
    from zoo.serving import repository

    models = repository.load_all([f"tiny={tiny_base}"])

    async def mixed(url):
        async with httpx.AsyncClient(timeout=60) as http:
            good = [http.post(f"{url}/v1/models/tiny:predict", json={"instances": [[1.0, k]]}) for k in range(8)]
            bad = http.post(f"{url}/v1/models/tiny:predict", json={"inputs": [[1.0, 2.0, 3.0]]})  # 3 columns
            return await asyncio.gather(bad, *good)

    with running(models, Limits(batch_timeout_ms=20)) as (url, _):
        bad, *good = asyncio.run(mixed(url))
    assert bad.status_code == 400 and "takes shape [-1, 2]" in bad.json()["error"]
    assert [g.json()["predictions"][0]["total"] for g in good] == [1.0 + k for k in range(8)]


def test_body_over_the_limit_is_413_and_names_it(shipped):
    with running(shipped, Limits(max_request_bytes=1000)) as (url, _):
        answer = httpx.post(url + PREDICT, json={"instances": ["x" * 2000]})
    assert answer.status_code == 413 and "limit of 1000 bytes (--max-request-bytes)" in answer.json()["error"]


def test_more_examples_than_a_batch_is_400_and_names_the_limit(shipped):
    with running(shipped, Limits(max_batch_size=4)) as (url, _):
        answer = httpx.post(url + PREDICT, json={"instances": reviews(5)})
        fits = httpx.post(url + PREDICT, json={"instances": reviews(4)})
    assert answer.status_code == 400 and "limit is 4 (--max-batch-size)" in answer.json()["error"]
    assert fits.status_code == 200


GENERATE = "/v1/models/shakespeare_char:predict"


def generate(length, seed=0):
    return {"signature_name": "generate", "inputs": {"prompt": "ROMEO:", "length": length, "temperature": 0.8,
                                                     "seed": seed}}


def test_a_request_past_the_timeout_is_504(shipped):
    with running(shipped, Limits(request_timeout_s=0.02)) as (url, _):
        answer = httpx.post(url + GENERATE, json=generate(200), timeout=60)
    assert answer.status_code == 504 and "(--request-timeout-s)" in answer.json()["error"]


def test_a_full_queue_is_503_and_frees_when_work_ends(shipped):
    async def burst(url, runner):
        async with httpx.AsyncClient(timeout=60) as http:
            slow = asyncio.ensure_future(http.post(url + GENERATE, json=generate(300)))
            while not runner.in_flight:  # until the slow one runs
                await asyncio.sleep(0.005)
            refused = await http.post(url + GENERATE, json=generate(5))
            first = await slow
            after = await http.post(url + GENERATE, json=generate(5))
            return first, refused, after

    with running(shipped, Limits(max_queue=1)) as (url, models):
        first, refused, after = asyncio.run(burst(url, models.runners[("shakespeare_char", 1, "generate")]))
    assert first.status_code == 200 and after.status_code == 200
    assert refused.status_code == 503 and "(--max-queue)" in refused.json()["error"]


@pytest.mark.parametrize("batch_threads", [1, 2])
def test_batches_run_at_most_batch_threads_at_once(batch_threads):
    """Six one-row requests, batches of one row: the model is never running more than ``batch_threads``
    batches at once, and with two slots it does run two at once (each call holds its slot for 0.2 s)."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from zoo.serving.batching import Batcher

    lock, running_now, most = threading.Lock(), [0], [0]

    def function(x):
        with lock:
            running_now[0] += 1
            most[0] = max(most[0], running_now[0])
        time.sleep(0.2)
        with lock:
            running_now[0] -= 1
        return {"y": x * 2}

    async def ask():
        batcher = Batcher(function, executor, max_batch_size=1, timeout_s=0.001, max_queue=16,
                          batch_threads=batch_threads)
        answers = await asyncio.gather(*(batcher.run({"x": np.array([float(k)])}, 1) for k in range(6)))
        await batcher.close()
        return answers, batcher

    with ThreadPoolExecutor(4) as executor:
        answers, batcher = asyncio.run(ask())
    assert [a["y"].tolist() for a in answers] == [[2.0 * k] for k in range(6)]
    assert most[0] == batch_threads
    assert batcher.stats.calls == 6 and batcher.running == 0
