"""scheduler: debounce, newest wins, cancellation forwarding, independence of documents."""

from __future__ import annotations

import asyncio

import pytest

from qwen_lsp.scheduler import InFlight, Scheduler, Stream


class Job:
    """A job that records that it ran and can be held open."""

    def __init__(self, result: str, hold: asyncio.Event | None = None) -> None:
        self.result = result
        self.hold = hold
        self.started = False
        self.cancelled = False

    async def __call__(self) -> str:
        self.started = True
        try:
            if self.hold is not None:
                await self.hold.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return self.result


async def test_a_burst_runs_only_the_newest_job() -> None:
    s = Scheduler()
    jobs = [Job(f"r{i}") for i in range(5)]
    calls = []
    for job in jobs:
        calls.append(asyncio.ensure_future(s.run("doc", "inline", 0.05, job)))
        await asyncio.sleep(0)
    results = await asyncio.gather(*calls)
    assert results == [None, None, None, None, "r4"]
    assert [j.started for j in jobs] == [False, False, False, False, True]


async def test_superseded_callers_return_before_the_debounce_ends() -> None:
    s = Scheduler()
    first = asyncio.ensure_future(s.run("doc", "inline", 10.0, Job("old")))
    await asyncio.sleep(0)
    second = asyncio.ensure_future(s.run("doc", "inline", 0, Job("new")))
    done, _ = await asyncio.wait({first}, timeout=1.0)  # far less than the 10 s debounce
    assert first in done and first.result() is None
    assert await second == "new"


async def test_a_running_job_is_cancelled_by_a_newer_one_and_by_an_edit() -> None:
    s = Scheduler()
    held = Job("held", asyncio.Event())
    call = asyncio.ensure_future(s.run("doc", "inline", 0, held))
    await asyncio.sleep(0.01)
    assert held.started and s.busy("doc")
    s.supersede("doc")  # an edit
    assert await call is None and held.cancelled and not s.busy("doc")


async def test_kinds_and_documents_do_not_supersede_each_other() -> None:
    s = Scheduler()
    gate = asyncio.Event()
    a = asyncio.ensure_future(s.run("a", "inline", 0, Job("a-inline", gate)))
    b = asyncio.ensure_future(s.run("a", "completion", 0, Job("a-completion", gate)))
    c = asyncio.ensure_future(s.run("b", "inline", 0, Job("b-inline")))
    assert await c == "b-inline"  # does not wait for document a
    gate.set()
    assert await asyncio.gather(a, b) == ["a-inline", "a-completion"]


async def test_cancelling_the_caller_cancels_the_job_and_propagates() -> None:
    s = Scheduler()
    held = Job("held", asyncio.Event())
    call = asyncio.ensure_future(s.run("doc", "inline", 0, held))
    await asyncio.sleep(0.01)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert held.cancelled and not s.busy("doc")


async def test_job_errors_propagate_and_close_cancels_everything() -> None:
    s = Scheduler()

    async def boom() -> str:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await s.run("doc", "inline", 0, boom)
    held = Job("held", asyncio.Event())
    call = asyncio.ensure_future(s.run("doc", "inline", 0, held))
    await asyncio.sleep(0.01)
    await s.close()
    assert await call is None and held.cancelled


# -- InFlight: backend streams that outlive the jobs waiting for them -------------------------


async def _forever(stream: Stream[str]) -> str:
    await asyncio.sleep(3600)
    return "never"


async def test_an_unheld_stream_is_cancelled_after_the_grace() -> None:
    inflight: InFlight[str] = InFlight(grace=0.05)
    stream = inflight.start(Stream("doc", "anchor", ""), _forever)
    await asyncio.sleep(0.2)
    assert stream.task is not None and stream.task.cancelled()
    assert inflight.streams("doc") == []


async def test_a_held_stream_lives_and_gets_its_grace_when_released() -> None:
    inflight: InFlight[str] = InFlight(grace=0.05)
    stream = inflight.start(Stream("doc", "anchor", ""), _forever)
    with inflight.hold(stream):
        await asyncio.sleep(0.2)
        assert not stream.done
    await asyncio.sleep(0.2)
    assert stream.task is not None and stream.task.cancelled()


async def test_a_speculative_stream_has_no_grace_and_cancels_nothing() -> None:
    inflight: InFlight[str] = InFlight(grace=0.05)
    with_grace = inflight.start(Stream("doc", "a", ""), _forever, keep_older=0)
    ahead = inflight.start(Stream("doc", "ab", "", speculative=True), _forever, keep_older=None)
    await asyncio.sleep(0.2)
    assert with_grace.task is not None and with_grace.task.cancelled()
    assert inflight.streams("doc") == [ahead]  # nobody holds it, and it lives on
    inflight.start(Stream("doc", "x", ""), _forever, keep_older=0)  # a real request, one place
    await asyncio.sleep(0)
    assert ahead.task is not None and ahead.task.cancelled()
    await inflight.close()


async def test_starting_a_stream_keeps_one_older_and_cancels_the_rest() -> None:
    inflight: InFlight[str] = InFlight(grace=10)
    first = inflight.start(Stream("doc", "a", ""), _forever)
    second = inflight.start(Stream("doc", "ab", ""), _forever)
    other = inflight.start(Stream("other", "x", ""), _forever)
    third = inflight.start(Stream("doc", "abc", ""), _forever)
    await asyncio.sleep(0)
    assert inflight.streams("doc") == [third, second]
    assert first.task is not None and first.task.cancelled()
    assert inflight.streams("other") == [other]  # documents are independent
    inflight.drop("doc", keep=second)
    await asyncio.sleep(0)
    assert inflight.streams("doc") == [second]
    await inflight.close()
    assert all(s.task is not None and s.task.done() for s in (second, other, third))


async def test_with_keep_older_zero_an_unheld_older_stream_goes_at_once() -> None:
    inflight: InFlight[str] = InFlight(grace=10)  # the grace would keep it for 10 s
    first = inflight.start(Stream("doc", "a", ""), _forever)
    held = inflight.start(Stream("doc", "ab", ""), _forever)
    with inflight.hold(held):
        newest = inflight.start(Stream("doc", "abc", ""), _forever, keep_older=0)
        await asyncio.sleep(0)
        assert first.task is not None and first.task.cancelled()
        assert inflight.streams("doc") == [newest, held]  # a stream someone waits for stays
    await inflight.close()


async def test_a_held_older_stream_is_not_trimmed() -> None:
    inflight: InFlight[str] = InFlight(grace=10)
    first = inflight.start(Stream("doc", "a", ""), _forever)
    with inflight.hold(first):
        inflight.start(Stream("doc", "ab", ""), _forever)
        inflight.start(Stream("doc", "abc", ""), _forever)
        await asyncio.sleep(0)
        assert not first.done
    await inflight.close()


async def test_a_failing_unheld_stream_is_nobodys_error() -> None:
    async def fail(stream: Stream[str]) -> str:
        raise RuntimeError("backend broke")

    inflight: InFlight[str] = InFlight()
    stream = inflight.start(Stream("doc", "a", ""), fail)
    await asyncio.sleep(0.01)
    assert stream.done and inflight.streams("doc") == []
