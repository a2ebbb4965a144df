"""End to end: in-flight answers outlive a keystroke while they can serve (the fake's request log).

Stream reuse: typing what a streaming answer has already produced makes no new request. Smart
throttling: a keystroke keeps the newest request and one older one that can still serve; the
older one answers if it finishes first, and the rest are closed.
"""

from __future__ import annotations

import asyncio

from tests.e2e.conftest import Session, Starter, completions, plain, until
from tests.support.fake_qwen import FakeQwen, LoggedRequest, Reply

LINE = "return a + b"
# The fake stands in for a cloud server here: on a server on this machine (the fake's 127.0.0.1)
# one completion is in flight at a time by default, which leaves nothing to throttle.
REMOTE = {"maxInFlight": 4}
TEXT = "def add(a, b):\n    \n"


def perfect(ttft_ms: float, token_ms: float):  # type: ignore[no-untyped-def]
    """A model that always continues ``LINE`` from what is typed of it."""

    def respond(request: LoggedRequest) -> Reply:
        typed = request.prompt.split("<|fim_suffix|>")[0].rsplit("\n    ", 1)[-1]
        return Reply(text=LINE[len(typed) :], ttft_ms=ttft_ms, token_ms=token_ms)

    return respond


def type_key(session: Session, uri: str, version: int, column: int, char: str) -> None:
    session.edit(uri, version, char, (1, column, 1, column))


async def stats(session: Session) -> dict[str, int]:
    snapshot = plain(await session.client.protocol.send_request_async("qwen/stats", {}))
    return dict(snapshot["requests"])


async def test_typing_what_the_stream_already_holds_makes_no_new_request(
    start: Starter, fake: FakeQwen
) -> None:
    fake.responder = perfect(ttft_ms=100, token_ms=300)
    session = await start(**REMOTE)
    uri = session.open(TEXT)
    first = session.inline_request(uri, 1, 4)
    assert await until(lambda: bool(completions(fake)) and completions(fake)[0].chunks_sent >= 1)
    # "retu" has arrived (pieces of at most four characters); the user types "re".
    type_key(session, uri, 2, 4, "r")
    second = session.inline_request(uri, 1, 5)
    type_key(session, uri, 3, 5, "e")
    third = session.inline_request(uri, 1, 6)
    assert not (await asyncio.wait_for(first, 5)).items  # superseded by the edit
    assert not (await asyncio.wait_for(second, 5)).items
    answer = await asyncio.wait_for(third, 10)
    assert [i.insert_text for i in answer.items] == ["turn a + b"]
    [call] = completions(fake)  # one backend request for all three
    assert await until(lambda: call.done)
    assert not call.disconnected  # the keystrokes did not cancel it
    assert (await stats(session)).get("stream_reuse") == 1


async def test_an_older_request_that_can_still_serve_is_kept_and_answers_first(
    start: Starter, fake: FakeQwen
) -> None:
    fake.responder = perfect(ttft_ms=600, token_ms=10)
    session = await start(**REMOTE)
    uri = session.open(TEXT)
    first = session.inline_request(uri, 1, 4)
    assert await until(lambda: len(completions(fake)) == 1)
    for version, (column, char) in enumerate([(4, "r"), (5, "e")], start=2):
        await asyncio.sleep(0.1)
        type_key(session, uri, version, column, char)
        last = session.inline_request(uri, 1, column + 1)
    answer = await asyncio.wait_for(last, 10)
    assert [i.insert_text for i in answer.items] == ["turn a + b"]
    assert not (await first).items
    calls = completions(fake)
    assert len(calls) == 3  # each keystroke asked, none waited for a cancel
    assert await until(lambda: all(c.done for c in calls))
    # The oldest was closed when the third started; the second, which answered, ran to the end.
    assert [c.disconnected for c in calls[:2]] == [True, False]
    assert (await stats(session)).get("stream_reuse") == 1


async def test_a_keystroke_that_contradicts_the_stream_closes_it(
    start: Starter, fake: FakeQwen
) -> None:
    fake.responder = perfect(ttft_ms=100, token_ms=300)
    session = await start(**REMOTE)
    uri = session.open(TEXT)
    session.inline_request(uri, 1, 4)
    assert await until(lambda: bool(completions(fake)) and completions(fake)[0].chunks_sent >= 1)
    type_key(session, uri, 2, 4, "x")  # the model said "retu..."
    fake.responder = lambda request: Reply(text=" = 1")
    answer = await asyncio.wait_for(session.inline_request(uri, 1, 5), 10)
    assert [i.insert_text for i in answer.items] == [" = 1"]
    calls = completions(fake)
    assert len(calls) == 2
    assert await until(lambda: calls[0].disconnected)


async def test_an_unheld_stream_is_closed_after_a_short_grace(
    start: Starter, fake: FakeQwen
) -> None:
    fake.default = Reply(text="late", ttft_ms=10_000)
    session = await start(**REMOTE)
    uri = session.open(TEXT)
    pending = session.inline_request(uri, 1, 4)
    assert await until(lambda: len(completions(fake)) == 1)
    type_key(session, uri, 2, 4, "r")  # fits, but no request follows (Helix and eglot do this)
    assert not (await asyncio.wait_for(pending, 5)).items
    assert await until(lambda: completions(fake)[0].disconnected, 5)


async def test_fixed_mode_waits_the_whole_debounce_even_after_a_trigger(
    start: Starter, fake: FakeQwen
) -> None:
    fake.default = Reply(text="1")
    timings = {}
    for mode in ("fixed", "adaptive"):
        session = await start(debounceMs=600, debounce=mode)
        uri = session.open("x = \n")
        assert await session.inline(uri, 0, 4, invoked=True) == "1"  # warm: tokenizer, pool
        session.edit(uri, 2, "(", (0, 4, 0, 4))
        began = asyncio.get_running_loop().time()
        assert await session.inline(uri, 0, 5) == "1"
        timings[mode] = asyncio.get_running_loop().time() - began
    # At the end of a line after "(", adaptive mode does not wait; fixed waits 600 ms.
    assert timings["adaptive"] < timings["fixed"] / 2


async def test_one_place_on_the_server_goes_to_the_newest_request(
    start: Starter, fake: FakeQwen
) -> None:
    fake.responder = perfect(ttft_ms=600, token_ms=10)
    session = await start()  # the fake is on 127.0.0.1: one completion in flight at a time
    uri = session.open(TEXT)
    first = session.inline_request(uri, 1, 4)
    assert await until(lambda: len(completions(fake)) == 1)
    await asyncio.sleep(0.1)
    type_key(session, uri, 2, 4, "r")
    second = session.inline_request(uri, 1, 5)
    answer = await asyncio.wait_for(second, 10)
    assert [i.insert_text for i in answer.items] == ["eturn a + b"]
    assert not (await first).items
    calls = completions(fake)
    assert len(calls) == 2
    # The older stream could have served, but it would have kept the only place.
    assert await until(lambda: calls[0].disconnected)
