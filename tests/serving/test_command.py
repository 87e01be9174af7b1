"""`zoo serve` as a process: one `zoo: error:` line and exit 2 when it cannot start; on SIGTERM it stops
accepting, answers the requests in flight, and exits 0."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def zoo_serve(*args):
    return subprocess.run([sys.executable, "-m", "zoo", "serve", *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env=ENV)


def one_error_line(run):
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.returncode == 2 and len(lines) == 1 and lines[0].startswith("zoo: error: "), run.stderr
    return lines[0]


def test_a_folder_without_a_saved_model_is_one_error_line(tmp_path):
    line = one_error_line(zoo_serve(str(tmp_path)))
    assert f"no SavedModel at {tmp_path}" in line


@pytest.mark.slow  # loads TensorFlow in a subprocess
def test_a_file_that_is_no_saved_model_is_one_error_line(tmp_path):
    (tmp_path / "saved_model.pb").write_bytes(b"not a protocol buffer")
    assert "is not a readable SavedModel" in one_error_line(zoo_serve(str(tmp_path), "--port", "0"))


def test_a_port_in_use_is_one_error_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_error_line(zoo_serve("saved_models/addition", "--port", str(port)))
    assert f"cannot listen on 127.0.0.1:{port}" in line and "--port" in line


def test_bad_limits_and_names_are_one_error_line():
    assert "--max-batch-size must be > 0" in one_error_line(zoo_serve("saved_models/addition", "--max-batch-size", "0"))
    assert "two models are named 'a'" in one_error_line(zoo_serve("a=saved_models/addition", "a=saved_models/addition"))


def post(url, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as answer:
        return answer.status, json.loads(answer.read())


def test_sigterm_answers_the_requests_in_flight_then_exits_0():
    server = subprocess.Popen([sys.executable, "-m", "zoo", "serve", "saved_models/shakespeare_char", "--port", "0"],
                              cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = server.stdout.readline()  # "zoo: serving ... at http://127.0.0.1:PORT/ ..."
        assert first.startswith("zoo: serving"), first + server.stderr.read()
        url = first.split(" at ")[1].split("/ ")[0]
        answers = []
        body = {"signature_name": "generate", "inputs": {"prompt": "KING:", "length": 300, "temperature": 0.8, "seed": 0}}
        clients = [threading.Thread(target=lambda: answers.append(post(url + "/v1/models/shakespeare_char:predict", body)))
                   for _ in range(4)]
        for client in clients:
            client.start()
        for _ in range(6000):  # until all four are in flight (bounded: at most a minute)
            with urllib.request.urlopen(url + "/zoo/stats", timeout=30) as stats:
                if sum(s["in_flight"] for s in json.loads(stats.read())["signatures"]) == 4:
                    break
            time.sleep(0.01)
        server.send_signal(signal.SIGTERM)
        for client in clients:
            client.join(120)
        assert server.wait(60) == 0, server.stderr.read()
    finally:
        if server.poll() is None:
            server.kill()
    assert [status for status, _ in answers] == [200] * 4
    assert all(len(body["outputs"]) == 300 for _, body in answers)
    with pytest.raises(OSError):  # nothing listens any more
        urllib.request.urlopen(url + "/healthz", timeout=5)
