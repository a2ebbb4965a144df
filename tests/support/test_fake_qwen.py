"""Real-HTTP tests of the fake Qwen server (tests/support/fake_qwen.py), with httpx."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.fake_qwen import (
    FakeQwen,
    LoggedRequest,
    Reply,
    error_body,
    prompt_of,
    split_tokens,
)

ROOT = Path(__file__).resolve().parents[2]
FIM = "<|fim_prefix|>def add(a, b):\n    <|fim_suffix|>\n<|fim_middle|>"
TEXT = "return a + b  # the sum\n\tdone()"


@pytest.fixture
def fake() -> Iterator[FakeQwen]:
    with FakeQwen() as server:
        yield server


@pytest.fixture
def client(fake: FakeQwen) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake.base_url, timeout=10.0) as http:
        yield http


def fim_body(stream: bool = False, **extra: Any) -> dict[str, Any]:
    return {"model": "qwen2.5-coder-7b-instruct", "prompt": FIM, "stream": stream, **extra}


def chat_body(stream: bool = False, **extra: Any) -> dict[str, Any]:
    messages = [
        {"role": "system", "content": "complete the code"},
        {"role": "assistant", "content": "def add(a, b):\n    ", "partial": True},
    ]
    return {"model": "qwen3-coder-plus", "messages": messages, "stream": stream, **extra}


def sse_data(lines: Iterable[str]) -> list[str]:
    """The ``data`` payloads of an SSE stream, one per event."""
    events: list[str] = []
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                events.append("\n".join(data))
                data = []
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    if data:
        events.append("\n".join(data))
    return events


def stream_events(
    client: httpx.Client, path: str, body: dict[str, Any]
) -> tuple[httpx.Response, bytes, list[str]]:
    with client.stream("POST", path, json=body) as response:
        raw = response.read()
    return response, raw, sse_data(raw.decode().split("\n"))


def chunk_text(event: dict[str, Any]) -> str:
    choice = event["choices"][0]
    if event["object"] == "chat.completion.chunk":
        return str(choice["delta"].get("content") or "")
    return str(choice["text"])


# ---------------------------------------------------------------------- token splitting


@pytest.mark.parametrize(
    "text",
    [
        "",
        "pass",
        TEXT,
        "x = {'a': [1, 2]}\r\n\r\n        return",
        "中文注释 ünïcödé 🙂 ok",
        "   \n",
    ],
)
def test_split_tokens_round_trips_in_small_pieces(text: str) -> None:
    pieces = split_tokens(text)
    assert "".join(pieces) == text
    assert all(1 <= len(piece) <= 4 for piece in pieces)
    if len(text) > 8:
        assert len(pieces) > 2


# ---------------------------------------------------------------------- non-stream


def test_completions_non_stream(fake: FakeQwen, client: httpx.Client) -> None:
    fake.default = Reply(text=TEXT, finish_reason="length")
    response = client.post("/completions", json=fim_body())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    data = response.json()
    assert data["object"] == "text_completion"
    assert data["model"] == "qwen2.5-coder-7b-instruct"
    assert data["id"].startswith("cmpl-")
    assert data["choices"][0]["text"] == TEXT
    assert data["choices"][0]["finish_reason"] == "length"
    usage = data["usage"]
    assert usage["completion_tokens"] == len(split_tokens(TEXT))
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_chat_non_stream(fake: FakeQwen, client: httpx.Client) -> None:
    fake.default = Reply(chunks=["return", " a", " + b"], usage=False)
    data = client.post("/chat/completions", json=chat_body()).json()
    assert data["object"] == "chat.completion"
    assert data["id"].startswith("chatcmpl-")
    assert data["choices"][0]["message"] == {"role": "assistant", "content": "return a + b"}
    assert data["choices"][0]["finish_reason"] == "stop"
    assert "usage" not in data


def test_reply_stream_flag_overrides_the_request(fake: FakeQwen, client: httpx.Client) -> None:
    fake.push(Reply(text="abc", stream=True), Reply(text="abc", stream=False))
    response, _, events = stream_events(client, "/completions", fim_body(stream=False))
    assert response.headers["content-type"] == "text/event-stream"
    assert events[-1] == "[DONE]"
    response = client.post("/completions", json=fim_body(stream=True))
    assert response.json()["choices"][0]["text"] == "abc"
    assert [r.streamed for r in fake.requests] == [True, False]


# ---------------------------------------------------------------------- stream


def test_completions_stream(fake: FakeQwen, client: httpx.Client) -> None:
    fake.default = Reply(text=TEXT)
    response, raw, events = stream_events(client, "/completions", fim_body(stream=True))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    # framing: "data: {json}\n\n" per event, closing with "data: [DONE]\n\n"
    assert raw.endswith(b"data: [DONE]\n\n")
    assert all(part.startswith(b"data: ") for part in raw.split(b"\n\n") if part)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert all(chunk["object"] == "text_completion" for chunk in chunks)
    assert len({chunk["id"] for chunk in chunks}) == 1
    assert "".join(chunk_text(chunk) for chunk in chunks) == TEXT
    assert len(chunks) > 3
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all(chunk["choices"][0]["finish_reason"] is None for chunk in chunks[:-1])
    # no usage chunk unless stream_options.include_usage was asked for
    assert all(chunk["choices"] for chunk in chunks)
    assert fake.requests[0].chunks_sent == len(split_tokens(TEXT))


def test_chat_stream_with_usage(fake: FakeQwen, client: httpx.Client) -> None:
    fake.default = Reply(chunks=["return a", " + b", "\n"], finish_reason="length")
    body = chat_body(stream=True, stream_options={"include_usage": True})
    _, _, events = stream_events(client, "/chat/completions", body)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    texts = [chunk_text(chunk) for chunk in chunks if chunk["choices"]]
    assert texts == ["", "return a", " + b", "\n", ""]
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == 3


def test_finish_reason_on_the_last_text_chunk(fake: FakeQwen, client: httpx.Client) -> None:
    fake.default = Reply(chunks=["a", "b"], finish_with_last_chunk=True, role_chunk=False)
    _, _, events = stream_events(client, "/chat/completions", chat_body(stream=True))
    chunks = [json.loads(event) for event in events[:-1]]
    assert [c["choices"][0]["delta"] for c in chunks] == [{"content": "a"}, {"content": "b"}]
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None, "stop"]


def test_truncate_after_closes_without_done(fake: FakeQwen, client: httpx.Client) -> None:
    fake.default = Reply(chunks=["one", "two", "three", "four"], truncate_after=2)
    lines: list[str] = []
    with (
        pytest.raises(httpx.RemoteProtocolError),
        client.stream("POST", "/completions", json=fim_body(stream=True)) as response,
    ):
        assert response.status_code == 200
        for line in response.iter_lines():
            lines.append(line)
    events = sse_data(lines)
    assert "[DONE]" not in events
    chunks = [json.loads(event) for event in events]
    assert [chunk_text(c) for c in chunks] == ["one", "two"]
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks)
    (req,) = fake.wait_for_requests(1, finished=True)
    assert req.chunks_sent == 2
    assert req.status == 200
    assert not req.disconnected  # the server hung up, not the client


def test_sse_error_after(fake: FakeQwen, client: httpx.Client) -> None:
    fake.default = Reply(
        chunks=["one", "two", "three"], sse_error_after=1, error_code="data_inspection_failed"
    )
    response, _, events = stream_events(client, "/chat/completions", chat_body(stream=True))
    assert response.status_code == 200
    assert "[DONE]" not in events
    chunks = [json.loads(event) for event in events]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunk_text(chunks[1]) == "one"
    assert set(chunks[2]) == {"error", "request_id"}
    assert chunks[2]["error"]["code"] == "data_inspection_failed"
    assert chunks[2]["error"]["param"] is None
    assert len(chunks) == 3


def test_malformed(fake: FakeQwen, client: httpx.Client) -> None:
    fake.push(Reply(malformed=True), Reply(malformed=True, text="ok"))
    response = client.post("/completions", json=fim_body())
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)
    _, _, events = stream_events(client, "/completions", fim_body(stream=True))
    with pytest.raises(json.JSONDecodeError):
        json.loads(events[0])
    assert events[-1] == "[DONE]"
    assert "".join(chunk_text(json.loads(e)) for e in events[1:-1]) == "ok"


def test_raw_body(fake: FakeQwen, client: httpx.Client) -> None:
    raw = b'data: {"choices":[{"text":"x"}]}\r\n\r\n: keep-alive\r\n\r\n'
    fake.default = Reply(raw_body=raw, status=202, headers={"X-Odd": "1"}, ttft_ms=10)
    response = client.post("/completions", json=fim_body(stream=True))
    assert response.status_code == 202
    assert response.content == raw
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["x-odd"] == "1"


# ---------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "invalid_parameter_error"),
        (401, "invalid_api_key"),
        (403, "AccessDenied.Unpurchased"),
        (404, "model_not_found"),
        (429, "limit_requests"),
        (500, "InternalError"),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_error_status_bodies(
    fake: FakeQwen, client: httpx.Client, status: int, code: str, stream: bool
) -> None:
    fake.default = Reply(status=status)
    response = client.post("/chat/completions", json=chat_body(stream=stream))
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")  # even for streams
    data = response.json()
    assert set(data) == {"error", "request_id"}
    assert set(data["error"]) == {"message", "type", "param", "code"}
    assert data["error"]["code"] == code
    assert data["error"]["param"] is None
    assert data["error"]["message"]
    assert data["request_id"] == response.headers["x-request-id"] == fake.requests[0].request_id
    assert fake.requests[0].status == status


def test_error_with_retry_after_and_custom_fields(fake: FakeQwen, client: httpx.Client) -> None:
    fake.default = Reply(
        status=429,
        headers={"Retry-After": "7"},
        error_code="Throttling.RateQuota",
        error_message="slow down",
        error_type="Throttling",
    )
    response = client.post("/completions", json=fim_body(stream=True))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    error = response.json()["error"]
    assert error == {
        "message": "slow down",
        "type": "Throttling",
        "param": None,
        "code": "Throttling.RateQuota",
    }


def test_error_body_defaults_for_other_statuses() -> None:
    assert error_body(418)["error"]["code"] == "invalid_parameter_error"
    assert error_body(502)["error"]["code"] == "InternalError"
    assert error_body(503)["error"]["code"] == "ModelUnavailable"


def test_paths_models_and_unknown(fake: FakeQwen) -> None:
    with httpx.Client(base_url=fake.origin, timeout=10.0) as http:
        # any prefix works
        assert http.post("/v1/completions", json=fim_body()).json()["choices"][0]["text"]
        assert http.post("/chat/completions", json=chat_body()).status_code == 200
        models = http.get("/v1/models").json()
        assert models["object"] == "list"
        assert "qwen2.5-coder-32b-instruct" in [m["id"] for m in models["data"]]
        missing = http.post("/v1/embeddings", json={})
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"
        wrong = http.get("/v1/completions")
        assert wrong.status_code == 405
        assert wrong.json()["error"]["type"] == "invalid_request_error"
    assert [r.endpoint for r in fake.requests] == [
        "completions",
        "chat",
        "models",
        None,
        "completions",
    ]
    assert [r.status for r in fake.requests] == [200, 200, 200, 404, 405]


def test_api_key_is_checked_when_set() -> None:
    with FakeQwen(api_key="sk-good") as fake:
        url = fake.base_url + "/completions"
        bad = httpx.post(url, json=fim_body(), headers={"Authorization": "Bearer sk-bad"})
        assert bad.status_code == 401
        assert bad.json()["error"]["code"] == "invalid_api_key"
        good = httpx.post(url, json=fim_body(), headers={"Authorization": "Bearer sk-good"})
        assert good.status_code == 200


# ---------------------------------------------------------------------- timing


def test_ttft_and_token_delays(fake: FakeQwen, client: httpx.Client) -> None:
    fake.push(Reply(ttft_ms=150), Reply(chunks=["a", "b", "c", "d"], ttft_ms=50, token_ms=40))
    start = time.monotonic()
    client.post("/completions", json=fim_body())
    assert time.monotonic() - start >= 0.15

    start = time.monotonic()
    assert client.post("/completions", json=fim_body()).json()["choices"][0]["text"] == "abcd"
    assert time.monotonic() - start >= 0.05 + 4 * 0.04

    fake.default = Reply(chunks=["a", "b", "c"], ttft_ms=120, token_ms=60)
    start = time.monotonic()
    arrivals: list[float] = []
    with client.stream("POST", "/completions", json=fim_body(stream=True)) as response:
        headers_at = time.monotonic() - start
        for line in response.iter_lines():
            if line.startswith("data:"):
                arrivals.append(time.monotonic() - start)
    assert headers_at >= 0.12
    assert len(arrivals) == 5  # 3 text chunks, the finish chunk, [DONE]
    assert arrivals[2] >= 0.12 + 2 * 0.06  # the third chunk waited for ttft + 2 token gaps


# ---------------------------------------------------------------------- request log


def test_request_log(fake: FakeQwen, client: httpx.Client) -> None:
    body = fim_body(max_tokens=64, stop=["<|file_sep|>"])
    before = time.monotonic()
    client.post(
        "/completions?x=1", json=body, headers={"Authorization": "Bearer sk-test", "X-Trace": "t"}
    )
    (req,) = fake.wait_for_requests(1, finished=True)
    assert isinstance(req, LoggedRequest)
    assert req.index == 0
    assert req.method == "POST"
    assert req.path == "/compatible-mode/v1/completions"
    assert req.query == "x=1"
    assert req.headers["authorization"] == "Bearer sk-test"
    assert req.headers["x-trace"] == "t"
    assert all(key == key.lower() for key in req.headers)
    assert req.body == body
    assert json.loads(req.raw) == body
    assert req.finished is not None
    assert before <= req.started <= req.finished <= time.monotonic()
    assert req.status == 200
    assert req.chunks_sent == 1
    assert not req.disconnected
    assert req.streamed is False
    assert req.model == "qwen2.5-coder-7b-instruct"
    assert req.reply == Reply()
    assert prompt_of(req) == req.prompt == fake.prompt_of(req) == FIM


def test_prompt_of_chat_and_odd_bodies(fake: FakeQwen, client: httpx.Client) -> None:
    client.post("/chat/completions", json=chat_body())
    parts = {
        "role": "user",
        "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
    }
    client.post("/chat/completions", json={"model": "m", "messages": [parts]})
    client.post("/completions", content=b"not json", headers={"Content-Type": "text/plain"})
    chat, multipart, broken = fake.wait_for_requests(3, finished=True)
    assert prompt_of(chat) == "def add(a, b):\n    "
    assert prompt_of(multipart) == "ab"
    assert broken.body is None
    assert broken.raw == b"not json"
    assert prompt_of(broken) == ""
    assert broken.status == 200


def test_clear_and_wait_for_requests_timeout(fake: FakeQwen, client: httpx.Client) -> None:
    fake.push(Reply(text="queued"))
    client.post("/completions", json=fim_body())
    fake.push(Reply(text="left over"))
    fake.clear()
    assert fake.requests == []
    assert len(fake.replies) == 0
    with pytest.raises(TimeoutError):
        fake.wait_for_requests(1, timeout=0.05)
    assert fake.wait_for(lambda: False, timeout=0.02) is False
    assert fake.wait_for(lambda: True, timeout=0.02) is True


# ---------------------------------------------------------------------- reply selection


def test_fifo_then_default(fake: FakeQwen, client: httpx.Client) -> None:
    fake.default = Reply(text="default")
    fake.replies.push(Reply(text="first"), Reply(status=500))
    fake.push(Reply(text="third"))
    assert len(fake.replies) == 3
    texts = []
    for _ in range(5):
        response = client.post("/completions", json=fim_body())
        texts.append(response.json()["choices"][0]["text"] if response.is_success else "ERR")
    assert texts == ["first", "ERR", "third", "default", "default"]
    with pytest.raises(TypeError):
        fake.push("not a reply")  # type: ignore[arg-type]


def test_responder_overrides_queue_and_default(fake: FakeQwen, client: httpx.Client) -> None:
    fake.default = Reply(text="default")
    fake.push(Reply(text="queued"))

    def respond(req: LoggedRequest) -> Reply | None:
        prompt = prompt_of(req)
        if prompt == "boom":
            raise RuntimeError("boom")
        if prompt.startswith("echo:"):
            return Reply(text=prompt.upper())
        return None  # fall back to the queue, then the default

    fake.responder = respond
    assert fake.responder is respond

    def complete(prompt: str) -> httpx.Response:
        return client.post("/completions", json={"model": "m", "prompt": prompt})

    assert complete("echo:hi").json()["choices"][0]["text"] == "ECHO:HI"
    assert complete("other").json()["choices"][0]["text"] == "queued"
    assert complete("other").json()["choices"][0]["text"] == "default"
    failed = complete("boom")
    assert failed.status_code == 500
    assert "boom" in failed.json()["error"]["message"]
    fake.responder = None
    assert complete("echo:x").json()["choices"][0]["text"] == "default"


# ---------------------------------------------------------------------- hang-ups


def test_hang_up_during_ttft(fake: FakeQwen, client: httpx.Client) -> None:
    fake.default = Reply(ttft_ms=30_000)
    with pytest.raises(httpx.ReadTimeout):
        client.post("/completions", json=fim_body(stream=True), timeout=0.2)
    assert fake.wait_for_disconnect()
    req = fake.requests[-1]
    assert req.disconnected
    assert req.status is None
    assert req.chunks_sent == 0
    assert req.duration is not None
    assert req.duration < 30  # the handler gave up instead of sleeping the whole ttft


def test_hang_up_mid_stream(fake: FakeQwen, client: httpx.Client) -> None:
    fake.default = Reply(chunks=[f"c{i}" for i in range(200)], token_ms=20)
    with client.stream("POST", "/completions", json=fim_body(stream=True)) as response:
        seen = 0
        for line in response.iter_lines():
            if line.startswith("data:"):
                seen += 1
            if seen == 2:
                break
    # leaving the block closes the (unfinished) connection
    assert fake.wait_for_disconnect(0)
    req = fake.requests[0]
    assert req.status == 200
    assert 2 <= req.chunks_sent < 200
    assert req.finished is not None


def test_complete_reply_is_not_a_disconnect(fake: FakeQwen, client: httpx.Client) -> None:
    _, _, events = stream_events(client, "/completions", fim_body(stream=True))
    assert events[-1] == "[DONE]"
    assert fake.wait_for_disconnect() is False
    assert fake.wait_for_disconnect(index=5, timeout=0.05) is False  # no such request


async def test_hang_up_by_cancelled_async_client(fake: FakeQwen) -> None:
    fake.default = Reply(ttft_ms=30_000)
    async with httpx.AsyncClient(base_url=fake.base_url, timeout=60.0) as http:
        task = asyncio.create_task(http.post("/chat/completions", json=chat_body()))
        await asyncio.to_thread(fake.wait_for_requests, 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert await asyncio.to_thread(fake.wait_for_disconnect)


# ---------------------------------------------------------------------- concurrency


async def test_many_simultaneous_requests(fake: FakeQwen) -> None:
    fake.responder = lambda req: Reply(text=prompt_of(req), ttft_ms=500, token_ms=5)
    n = 20
    limits = httpx.Limits(max_connections=n)
    async with httpx.AsyncClient(base_url=fake.base_url, timeout=30.0, limits=limits) as http:

        async def one(i: int) -> str:
            body = {"model": "m", "prompt": f"prompt {i}", "stream": i % 2 == 0}
            if i % 2:
                response = await http.post("/completions", json=body)
                return str(response.json()["choices"][0]["text"])
            async with http.stream("POST", "/completions", json=body) as response:
                lines = [line async for line in response.aiter_lines()]
            events = sse_data(lines)
            assert events[-1] == "[DONE]"
            return "".join(chunk_text(json.loads(e)) for e in events[:-1])

        results = await asyncio.gather(*(one(i) for i in range(n)))
    assert results == [f"prompt {i}" for i in range(n)]
    reqs = fake.requests
    assert len(reqs) == n
    # all were in flight at once: the last one arrived before the first one finished
    assert max(r.started for r in reqs) < min(r.finished or 0 for r in reqs)


# ---------------------------------------------------------------------- lifecycle


def test_stop_is_fast_clean_and_idempotent(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="asyncio")
    threads_before = set(threading.enumerate())
    fake = FakeQwen(default=Reply(ttft_ms=30_000, text="slow"))
    fake.start()
    assert fake.start() is fake  # no-op when running
    errors: list[BaseException] = []

    def call(stream: bool) -> None:
        try:
            with httpx.Client(timeout=60.0) as http:
                http.post(fake.base_url + "/completions", json=fim_body(stream=stream))
        except httpx.HTTPError as exc:
            errors.append(exc)

    callers = [threading.Thread(target=call, args=(s,)) for s in (False, True)]
    for caller in callers:
        caller.start()
    fake.wait_for_requests(2)
    start = time.monotonic()
    fake.stop()
    assert time.monotonic() - start < 30  # did not wait for the 30 s ttft
    fake.stop()  # idempotent
    for caller in callers:
        caller.join(10)
    assert len(errors) == 2  # the callers saw their connection dropped
    assert not any(r.disconnected for r in fake.requests)  # the server left, not the client
    assert not fake.running
    gc.collect()
    assert set(threading.enumerate()) <= threads_before
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    with pytest.raises(RuntimeError):
        _ = fake.base_url

    # a stopped server can start again
    with fake:
        fake.default = Reply(text="again")
        response = httpx.post(fake.base_url + "/completions", json=fim_body())
        assert response.json()["choices"][0]["text"] == "again"


def test_port_in_use_raises() -> None:
    with FakeQwen() as first:
        taken = FakeQwen(port=first.port)
        with pytest.raises(OSError):
            taken.start()
        assert not taken.running


def test_cli_serves_and_logs_requests() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "tests.support.fake_qwen", "--port", "0", "--text", "hi\\n"]
    with subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            banner = proc.stdout.readline()
            base_url = banner.split()[4]
            assert base_url.startswith("http://127.0.0.1:")
            assert base_url.endswith("/compatible-mode/v1")
            response = httpx.post(base_url + "/completions", json=fim_body(), timeout=10.0)
            assert response.json()["choices"][0]["text"] == "hi\n"
            line = proc.stdout.readline()
            assert "POST /compatible-mode/v1/completions status=200" in line
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=10)
            assert proc.returncode == 0
            assert "Traceback" not in err
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


# -- what real servers do (for tests/e2e/test_servers.py) ---------------------------------------


def test_over_n_ctx_like_llama_cpp(fake: FakeQwen, client: httpx.Client) -> None:
    fake.n_ctx = 64
    long = fim_body(prompt="x" * 400, max_tokens=16)
    error = client.post("/completions", json=long)
    assert error.status_code == 400
    assert error.json()["error"]["code"] == "context_length_exceeded"
    assert "maximum context length is 64 tokens" in error.json()["error"]["message"]
    empty = client.post("/completions", json={**long, "stream": True})
    assert empty.status_code == 200 and empty.content == b""
    assert client.post("/completions", json=fim_body(max_tokens=16)).status_code == 200


def test_props_and_model_fields(fake: FakeQwen, client: httpx.Client) -> None:
    assert client.get("/props").status_code == 404
    fake.props = {"default_generation_settings": {"n_ctx": 4096}}
    assert client.get("/props").json()["default_generation_settings"]["n_ctx"] == 4096
    fake.model_fields = {"owned_by": "vllm", "max_model_len": 4096}
    entry = client.get("/models").json()["data"][0]
    assert entry["owned_by"] == "vllm" and entry["max_model_len"] == 4096


def test_omit_finish_ends_with_done_and_no_finish_reason(
    fake: FakeQwen, client: httpx.Client
) -> None:
    fake.default = Reply(text="a b", omit_finish=True)
    data = sse_data(client.post("/completions", json=fim_body(stream=True)).text.splitlines())
    assert data[-1] == "[DONE]"
    assert all(json.loads(d)["choices"][0]["finish_reason"] is None for d in data[:-1])


def test_hangup_sends_nothing(fake: FakeQwen, client: httpx.Client) -> None:
    fake.push(Reply(hangup=True))
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/completions", json=fim_body())


def test_think_block_leads_the_text(fake: FakeQwen, client: httpx.Client) -> None:
    fake.default = Reply(text="x", think="hmm")
    body = client.post("/chat/completions", json=chat_body()).json()
    assert body["choices"][0]["message"]["content"] == "<think>hmm</think>\n\nx"
