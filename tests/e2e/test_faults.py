"""End to end: backend faults give an empty answer, one clear message, and no crash."""

from __future__ import annotations

import asyncio
import socket

import pytest

from tests.e2e.conftest import Session, Starter, completions, until
from tests.support.fake_qwen import FakeQwen, Reply

KEY = "sk-e2e-secret-4f9a8b7c6d"


async def ask_three_times(session: Session, uri: str) -> list[str | None]:
    return [await session.inline(uri, 0, 4) for _ in range(3)]


async def test_bad_key_shows_one_message_until_settings_change(
    start: Starter, fake: FakeQwen
) -> None:
    fake.default = Reply(
        status=401, error_code="invalid_api_key", error_message=f"Incorrect API key provided: {KEY}"
    )
    session = await start(apiKey=KEY)
    uri = session.open("x = \n")
    assert await ask_three_times(session, uri) == [None, None, None]
    assert len(completions(fake)) == 3
    shown = session.shown()
    assert len(shown) == 1 and "API key" in shown[0] and "region" in shown[0]
    assert KEY not in shown[0] and "invalid_api_key" in shown[0]
    session.configure({"apiKey": KEY + "-new"})
    assert await session.inline(uri, 0, 4) is None
    assert len(session.shown()) == 2  # a new key deserves a new verdict


async def test_rate_limit_backs_off_as_told(start: Starter, fake: FakeQwen) -> None:
    fake.push(Reply(status=429, error_code="limit_requests", headers={"Retry-After": "30"}))
    session = await start()
    uri = session.open("x = \n")
    assert await ask_three_times(session, uri) == [None, None, None]
    assert len(completions(fake)) == 1  # the next two did not reach the backend
    [message] = session.shown()
    assert "rate limited" in message and "30 s" in message


async def test_unknown_model_is_named(start: Starter, fake: FakeQwen) -> None:
    fake.default = Reply(status=404, error_code="model_not_found")
    session = await start(model="qwen2.5-coder-99b-instruct")
    uri = session.open("x = \n")
    assert await ask_three_times(session, uri) == [None, None, None]
    [message] = session.shown()
    assert "qwen2.5-coder-99b-instruct" in message


@pytest.mark.parametrize(
    ("reply", "fragment"),
    [
        (Reply(status=500, error_code="InternalError"), "HTTP 500"),
        (Reply(status=503, error_code="ModelUnavailable"), "HTTP 503"),
        (Reply(malformed=True, stream=False), "not valid JSON"),
        (Reply(malformed=True, stream=True), "not valid JSON"),
        (Reply(text="a b c d e f", truncate_after=2), "connection failed"),
        (Reply(text="a b c d e f", sse_error_after=2), "error in the answer"),
    ],
    ids=["500", "503", "bad-json", "bad-sse", "truncated", "sse-error"],
)
async def test_server_side_faults_are_logged_not_shown(
    start: Starter, fake: FakeQwen, reply: Reply, fragment: str
) -> None:
    fake.push(reply)
    session = await start()
    uri = session.open("x = \n")
    assert await session.inline(uri, 0, 4) is None
    assert await until(lambda: any(fragment in m for m in session.logged()))
    assert session.shown() == []
    fake.default = Reply(text="1")  # and the server keeps serving
    assert await session.inline(uri, 0, 4) == "1"


async def test_timeout_answers_within_timeout_ms_and_hangs_up(
    start: Starter, fake: FakeQwen
) -> None:
    fake.default = Reply(text="late", ttft_ms=20_000)
    session = await start(timeoutMs=500)
    uri = session.open("x = \n")
    assert await asyncio.wait_for(session.inline(uri, 0, 4), 10) is None
    assert await until(lambda: any("within 500 ms" in m for m in session.logged()))
    assert await until(lambda: completions(fake)[0].disconnected)


async def test_refused_connection(start: Starter) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    session = await start(baseUrl=f"http://127.0.0.1:{port}/v1")
    uri = session.open("x = \n")
    assert await session.inline(uri, 0, 4) is None
    assert await until(lambda: any("cannot reach" in m for m in session.logged()))


async def test_no_key_for_a_remote_endpoint_says_what_to_set(start: Starter) -> None:
    session = await start(baseUrl="https://dashscope.invalid/compatible-mode/v1")
    uri = session.open("x = \n")
    assert await ask_three_times(session, uri) == [None, None, None]
    [message] = session.shown()
    assert "apiKey" in message and "DASHSCOPE_API_KEY" in message


async def test_the_key_never_reaches_logs_or_messages(start: Starter, fake: FakeQwen) -> None:
    fake.push(
        Reply(status=401, error_message=f"bad key {KEY}"),
        Reply(status=500, error_message=f"echo {KEY}"),
        Reply(text="ok"),
    )
    session = await start(apiKey=KEY)  # DEBUG logging: pygls logs initialize params
    uri = session.open("x = \n")
    for _ in range(3):
        await session.inline(uri, 0, 4)
    session.configure({"apiKey": "not a key"})  # rejected: must not be echoed either
    await until(lambda: len(session.shown()) >= 2)
    requests = completions(fake)
    assert [r.headers["authorization"] for r in requests] == [f"Bearer {KEY}"] * 3
    log = session.log_file.read_text(encoding="utf-8")
    assert "initializationOptions" in log or "initialization_options" in log  # it was logged...
    assert KEY not in log  # ...with the key masked
    texts = session.shown() + session.logged()
    assert texts and not any(KEY in t or "not a key" in t for t in texts)
