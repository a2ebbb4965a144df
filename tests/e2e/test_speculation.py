"""End to end: the suggestion after an accepted one is ready (speculation; the fake's request log).

The client accepts as an editor does: one edit inserting the suggestion, then an inline request
at its end. With ``speculate: "stream"`` the reply's text past the suggestion answers it without
a new request; with ``"request"`` a speculative request asked for that state answers it, and
is closed when the user types something else instead; with ``"off"`` nothing is prepared.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tests.e2e.conftest import Session, Starter, completions, plain, until
from tests.support.fake_qwen import FakeQwen, LoggedRequest, Reply

TEXT = "x = compute(\n"
REPLY = "a, b)\ny = x + 1\nz = 2\n"  # the call's end is the cut point: the rest is the next one
NEXT = "\ny = x + 1\nz = 2"
REMOTE = {"maxInFlight": 4}  # a cloud server: room for a speculative request


async def stats(session: Session) -> dict[str, int]:
    snapshot = plain(await session.client.protocol.send_request_async("qwen/stats", {}))
    return dict(snapshot["requests"])


def accept(session: Session, uri: str, version: int, line: int, column: int, text: str) -> None:
    """The editor inserts an accepted suggestion at the cursor."""
    session.edit(uri, version, text, (line, column, line, column))


async def test_the_stream_past_the_suggestion_answers_after_it_is_accepted(
    start: Starter, fake: FakeQwen
) -> None:
    fake.default = Reply(text=REPLY, token_ms=5)
    session = await start()  # a server on this machine: one place, the stream mode still reads
    uri = session.open(TEXT)
    assert await session.inline(uri, 0, 12) == "a, b)"
    accept(session, uri, 2, 0, 12, "a, b)")
    assert await session.inline(uri, 0, 17) == NEXT
    [call] = completions(fake)  # one backend request for both suggestions
    assert await until(lambda: call.done)
    assert (await stats(session)).get("speculation") == 1


async def test_typing_into_the_speculative_answer_serves_its_rest(
    start: Starter, fake: FakeQwen
) -> None:
    fake.default = Reply(text=REPLY, token_ms=5)
    session = await start()
    uri = session.open(TEXT)
    assert await session.inline(uri, 0, 12) == "a, b)"
    accept(session, uri, 2, 0, 12, "a, b)")
    assert await session.inline(uri, 0, 17) == NEXT
    session.edit(uri, 3, "\ny", (0, 17, 0, 17))
    assert await session.inline(uri, 1, 1) == " = x + 1\nz = 2"
    assert len(completions(fake)) == 1


async def test_speculation_off_reads_no_further_and_asks_again(
    start: Starter, fake: FakeQwen
) -> None:
    fake.responder = lambda r: Reply(
        text=REPLY if "compute(<|fim_suffix|>" in r.prompt else "c", token_ms=20
    )
    session = await start(speculate="off", **REMOTE)
    uri = session.open(TEXT)
    assert await session.inline(uri, 0, 12) == "a, b)"
    [first] = completions(fake)
    assert await until(lambda: first.done)
    assert first.disconnected  # closed at the cut point, the rest not read
    assert not await until(lambda: len(completions(fake)) > 1, 1.0)  # nothing asked ahead
    accept(session, uri, 2, 0, 12, "a, b)")
    await session.inline(uri, 0, 17)
    assert len(completions(fake)) == 2  # the accepted state needed a request of its own
    assert "speculation" not in await stats(session)


def accepted(request: LoggedRequest) -> bool:
    """A request for the document after ``return a + b`` was accepted."""
    return "return a + b<|fim_suffix|>" in request.prompt


def with_warm_up(respond: Callable[[LoggedRequest], Reply]) -> Callable[[LoggedRequest], Reply]:
    """``respond``, and the replies :func:`take_a_suggestion` needs."""

    def reply(request: LoggedRequest) -> Reply:
        if "w = <|fim_suffix|>" in request.prompt:
            return Reply(text="10")
        if "w = 10<|fim_suffix|>" in request.prompt:
            return Reply(text="")
        return respond(request)

    return reply


async def take_a_suggestion(session: Session, fake: FakeQwen) -> int:
    """The editor accepts a suggestion, one edit inserting it (speculative requests go out only
    while the user takes suggestions); the number of completion requests so far."""
    uri = session.open("w = \n", name="warm.py")
    assert await session.inline(uri, 0, 4) == "10"
    accept(session, uri, 2, 0, 4, "10")
    assert await session.inline(uri, 0, 6) is None
    return len(completions(fake))


async def test_no_speculative_request_while_the_user_takes_no_suggestion(
    start: Starter, fake: FakeQwen
) -> None:
    fake.responder = lambda r: Reply(text="\n    return total" if accepted(r) else "return a + b")
    session = await start(speculate="request", **REMOTE)
    uri = session.open("def add(a, b):\n    \n")
    assert await session.inline(uri, 1, 4) == "return a + b"
    assert not await until(lambda: len(completions(fake)) > 1, 1.0)  # a never-right model


async def test_a_suggestion_typed_out_by_hand_is_not_taken(start: Starter, fake: FakeQwen) -> None:
    fake.responder = with_warm_up(lambda r: Reply(text=""))
    session = await start(speculate="request", **REMOTE)
    uri = session.open("w = \n", name="warm.py")
    assert await session.inline(uri, 0, 4) == "10"
    session.edit(uri, 2, "1", (0, 4, 0, 4))
    assert await session.inline(uri, 0, 5) == "0"  # typed-ahead
    session.edit(uri, 3, "0", (0, 5, 0, 5))
    assert await session.inline(uri, 0, 6) is None
    n = len(completions(fake))
    fake.responder = lambda r: Reply(text="\n    return total" if accepted(r) else "return a + b")
    other = session.open("def add(a, b):\n    \n")
    assert await session.inline(other, 1, 4) == "return a + b"
    assert not await until(lambda: len(completions(fake)) > n + 1, 1.0)  # nothing asked ahead


async def test_a_speculative_request_answers_after_the_suggestion_is_accepted(
    start: Starter, fake: FakeQwen
) -> None:
    fake.responder = with_warm_up(
        lambda r: Reply(text="\n    return total" if accepted(r) else "return a + b", ttft_ms=200)
    )
    session = await start(speculate="request", **REMOTE)
    n = await take_a_suggestion(session, fake)
    uri = session.open("def add(a, b):\n    \n")
    assert await session.inline(uri, 1, 4) == "return a + b"
    assert await until(lambda: len(completions(fake)) == n + 2)  # asked ahead at once
    assert accepted(completions(fake)[n + 1])
    accept(session, uri, 2, 1, 4, "return a + b")
    assert await session.inline(uri, 1, 16) == "\n    return total"
    assert len(completions(fake)) == n + 2  # it waited for the speculative request
    assert (await stats(session)).get("speculation") == 1


async def test_a_speculative_request_is_closed_when_the_user_types_something_else(
    start: Starter, fake: FakeQwen
) -> None:
    fake.responder = with_warm_up(
        lambda r: (
            Reply(text="\n    return total", ttft_ms=10_000)
            if accepted(r)
            else Reply(text="return a + b")
        )
    )
    session = await start(speculate="request", **REMOTE)
    n = await take_a_suggestion(session, fake)
    uri = session.open("def add(a, b):\n    \n")
    assert await session.inline(uri, 1, 4) == "return a + b"
    assert await until(lambda: len(completions(fake)) == n + 2)
    ahead = completions(fake)[n + 1]
    assert accepted(ahead)
    session.edit(uri, 2, "x", (1, 4, 1, 4))  # not the suggestion
    await asyncio.wait_for(session.inline_request(uri, 1, 5), 10)
    assert await until(lambda: ahead.disconnected, 5)


async def test_no_speculative_request_to_a_server_with_one_place(
    start: Starter, fake: FakeQwen
) -> None:
    fake.default = Reply(text="return a + b")
    session = await start(speculate="request")  # the fake is on 127.0.0.1: one place
    uri = session.open("def add(a, b):\n    \n")
    assert await session.inline(uri, 1, 4) == "return a + b"
    assert not await until(lambda: len(completions(fake)) > 1, 1.0)
