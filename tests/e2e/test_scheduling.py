"""End to end: debounce, newest wins, cancellation closes the HTTP request, no stale answers."""

from __future__ import annotations

import asyncio
import time

import pytest
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcRequestCancelled

from tests.e2e.conftest import Starter, completions, plain, until
from tests.support.fake_qwen import FakeQwen, Reply


async def test_a_burst_makes_one_backend_call_for_the_newest_text(
    start: Starter, fake: FakeQwen
) -> None:
    fake.default = Reply(text="1")
    session = await start(debounceMs=300)
    uri = session.open("x = \n")
    pending = []
    for version, char in enumerate("abcde", start=2):  # typing "abcde" after `x = `
        session.edit(uri, version, char, (0, 3 + version - 1, 0, 3 + version - 1))
        pending.append(session.inline_request(uri, 0, 3 + version))
    first = asyncio.gather(*pending[:-1])
    older = await asyncio.wait_for(first, 5)  # answered at once, not after the debounce
    assert all(not r.items for r in older)
    newest = await pending[-1]
    assert [i.insert_text for i in newest.items] == ["1"]
    [request] = completions(fake)
    assert "<|fim_prefix|>x = abcde<|fim_suffix|>" in request.body["prompt"]
    stats = plain(await session.client.protocol.send_request_async("qwen/stats", {}))
    assert stats["requests"] == {"backend": 1, "superseded": 4}


async def test_superseded_requests_are_answered_before_the_debounce_elapses(
    start: Starter, fake: FakeQwen
) -> None:
    session = await start(debounceMs=5000)
    uri = session.open("x = \n")
    first = session.inline_request(uri, 0, 4)
    await asyncio.sleep(0.1)
    began = time.monotonic()
    second = session.inline_request(uri, 0, 4, invoked=True)  # Invoked: no debounce
    await asyncio.wait_for(asyncio.gather(first, second), 4)  # far less than 5 s
    assert not first.result().items and second.result().items
    assert time.monotonic() - began < 5
    assert len(completions(fake)) == 1


async def test_a_newer_edit_closes_the_in_flight_request(start: Starter, fake: FakeQwen) -> None:
    fake.default = Reply(text="late", ttft_ms=10_000)
    session = await start()
    uri = session.open("x = \n")
    pending = session.inline_request(uri, 0, 4)
    assert await until(lambda: len(completions(fake)) == 1)
    session.edit(uri, 2, "y", (0, 4, 0, 4))  # the answer would be for an older version
    result = await asyncio.wait_for(pending, 5)
    assert not result.items
    assert await until(lambda: completions(fake)[0].disconnected)


async def test_cancel_request_closes_the_in_flight_request(start: Starter, fake: FakeQwen) -> None:
    fake.default = Reply(text="late", ttft_ms=10_000)
    session = await start()
    uri = session.open("x = \n")
    pending = session.inline_request(uri, 0, 4, msg_id="to-cancel")
    assert await until(lambda: len(completions(fake)) == 1)
    session.cancel("to-cancel")
    with pytest.raises(JsonRpcRequestCancelled):
        await asyncio.wait_for(pending, 5)
    assert await until(lambda: completions(fake)[0].disconnected)
    # The server keeps serving.
    fake.default = Reply(text="1")
    assert await session.inline(uri, 0, 4) == "1"


async def test_an_answer_for_an_older_version_is_never_returned(
    start: Starter, fake: FakeQwen
) -> None:
    fake.default = Reply(text="stale", ttft_ms=300)
    session = await start()
    uri = session.open("x = \n")
    pending = session.inline_request(uri, 0, 4)
    assert await until(lambda: len(completions(fake)) == 1)
    # An edit that the editor sends without asking again (Helix, eglot do this).
    session.edit(uri, 2, "\n", (0, 4, 0, 4))
    assert not (await asyncio.wait_for(pending, 5)).items
    stats = plain(await session.client.protocol.send_request_async("qwen/stats", {}))
    assert stats["requests"].get("stale", 0) + stats["requests"].get("superseded", 0) == 1


async def test_documents_never_wait_on_each_other(start: Starter, fake: FakeQwen) -> None:
    fake.responder = lambda req: Reply(
        text="slow" if "slow" in req.prompt else "fast",
        ttft_ms=3000 if "slow" in req.prompt else 0,
    )
    session = await start(maxInFlight=8)  # a loopback server gets one at a time by default
    slow = session.open("slow = \n")
    fast = session.open("fast = \n")
    slow_answer = session.inline_request(slow, 0, 7)
    assert await until(lambda: len(completions(fake)) == 1)
    fast_answer = await asyncio.wait_for(session.inline(fast, 0, 7), 2.5)
    assert fast_answer == "fast" and not slow_answer.done()
    assert (await slow_answer).items[0].insert_text == "slow"


async def test_inline_and_completion_requests_do_not_cancel_each_other(
    start: Starter, fake: FakeQwen
) -> None:
    fake.default = Reply(text="1", ttft_ms=200)
    session = await start()
    uri = session.open("x = \n")
    inline = session.inline_request(uri, 0, 4)
    completion = session.completion(uri, 0, 4)
    inline_result, completion_result = await asyncio.gather(inline, completion)
    assert inline_result.items and completion_result.items
    assert isinstance(completion_result.items[0].text_edit, lsp.TextEdit)


async def test_an_empty_answer_is_not_counted_as_superseded(start: Starter, fake: FakeQwen) -> None:
    fake.default = Reply(text="   \n\n")
    session = await start()
    uri = session.open("x = \n")
    assert not (await session.inline_request(uri, 0, 4)).items
    stats = plain(await session.client.protocol.send_request_async("qwen/stats", {}))
    assert stats["requests"] == {"backend": 1, "empty": 1}
