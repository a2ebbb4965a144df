"""Scheduling: per-document debounce, newest wins, throttled streams (documents → **scheduler**).

Every completion request goes through :meth:`Scheduler.run` under its document's URI and a kind
(``inline`` or ``completion``: an editor that asks both ways must not cancel itself). At most one
job per (URI, kind) is alive: a new request supersedes the previous one, whose caller gets
``None`` at once, whether it was still in its debounce wait or already waiting on the backend;
in the latter case its task is cancelled, which closes the HTTP stream. An edit supersedes every
job of its document. Documents never wait on each other.

Cancelling the caller (``$/cancelRequest`` cancels pygls' handler task) cancels the job too,
because awaiting a task forwards cancellation to it.

Backend answers themselves are :class:`Stream` tasks kept in :class:`InFlight`, apart from the
jobs that wait for them, so that a keystroke does not have to kill an answer that can still
serve (smart throttling, as Cody does): cancelling a job only drops its hold on the stream. A
stream nobody holds is cancelled after a short grace (:data:`GRACE_S`, long enough for the
request that follows the keystroke to pick it up); starting a stream cancels all but the newest
older one that someone holds or that is still in its grace; :meth:`InFlight.drop` cancels the
unheld streams a request has found useless. Whether a stream can serve a cursor is the reuse
stage's question (:func:`qwen_lsp.reuse.can_serve`). A *speculative* stream (asked for the
document as if a shown suggestion were accepted: :mod:`qwen_lsp.speculation`) has no grace,
since nobody holds it until the user accepts; it ends by itself or is dropped as useless, and
starting it cancels nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

GRACE_S = 0.1  # how long an unheld stream waits for a request to pick it up
KEEP_OLDER = 1  # older streams kept alive per document besides the newest


class Scheduler:
    """Newest-wins job slots, one per (document, kind)."""

    def __init__(self) -> None:
        self._slots: dict[str, dict[str, asyncio.Task[Any]]] = {}

    def busy(self, uri: str) -> bool:
        """Whether a job for ``uri`` is waiting or running."""
        return bool(self._slots.get(uri))

    def supersede(self, uri: str, kind: str | None = None) -> None:
        """Cancel the jobs of ``uri`` (of one ``kind``, or all): a newer edit made them stale."""
        slots = self._slots.get(uri, {})
        for name in [kind] if kind is not None else list(slots):
            task = slots.pop(name, None)
            if task is not None:
                task.cancel()
        if not slots:
            self._slots.pop(uri, None)

    async def run(
        self, uri: str, kind: str, delay: float, job: Callable[[], Awaitable[T]]
    ) -> T | None:
        """Wait ``delay`` seconds, then run ``job``, unless a newer call came first.

        Returns the job's result, or ``None`` when the call was superseded. Exceptions from the
        job propagate; cancelling the caller cancels the job.
        """
        self.supersede(uri, kind)
        task: asyncio.Task[T] = asyncio.ensure_future(self._delayed(delay, job))
        self._slots.setdefault(uri, {})[kind] = task
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # our caller was cancelled, not superseded
            return None
        finally:
            slots = self._slots.get(uri)
            if slots is not None and slots.get(kind) is task:
                del slots[kind]
                if not slots:
                    del self._slots[uri]

    @staticmethod
    async def _delayed(delay: float, job: Callable[[], Awaitable[T]]) -> T:
        if delay > 0:
            await asyncio.sleep(delay)
        return await job()

    async def close(self) -> None:
        """Cancel every job and wait for them to finish (server shutdown)."""
        tasks = [task for slots in self._slots.values() for task in slots.values()]
        self._slots.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task


class Stream(Generic[R]):
    """One backend answer being read: where it was asked, what it has produced so far."""

    def __init__(self, uri: str, anchor: str, line_suffix: str, speculative: bool = False) -> None:
        self.uri = uri
        self.anchor = anchor  # the text before the cursor it was asked at (reuse.ANCHOR_CHARS)
        self.line_suffix = line_suffix
        # Asked for the document as if a shown suggestion were accepted (speculation): it has
        # no grace, since nobody holds it until the user accepts; it ends by itself, or is
        # dropped by a request it cannot serve.
        self.speculative = speculative
        self.produced = ""  # the raw text so far; the reader updates it
        self.task: asyncio.Task[R] | None = None
        self.holders = 0
        self._grace: asyncio.TimerHandle | None = None

    @property
    def done(self) -> bool:
        return self.task is not None and self.task.done()

    def cancel(self) -> None:
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
        if self.task is not None:
            self.task.cancel()


class InFlight(Generic[R]):
    """The backend streams of each document that are still being read."""

    def __init__(self, grace: float = GRACE_S) -> None:
        self._streams: dict[str, list[Stream[R]]] = {}
        self._grace = grace

    def streams(self, uri: str) -> list[Stream[R]]:
        """The live streams of ``uri``, the newest first."""
        return [s for s in reversed(self._streams.get(uri, [])) if not s.done]

    def start(
        self,
        stream: Stream[R],
        read: Callable[[Stream[R]], Awaitable[R]],
        keep_older: int | None = KEEP_OLDER,
    ) -> Stream[R]:
        """Run ``read(stream)`` as the newest stream of its document; of the older ones, those
        beyond the newest ``keep_older`` (None: all) are cancelled unless a request waits for
        them."""
        stream.task = asyncio.ensure_future(read(stream))
        stream.task.add_done_callback(lambda task: self._finished(stream, task))
        older = self.streams(stream.uri)
        self._streams.setdefault(stream.uri, []).append(stream)
        for old in older[keep_older:] if keep_older is not None else ():
            if not old.holders:
                old.cancel()
        self._release_later(stream)  # unheld until someone holds it
        return stream

    @contextlib.contextmanager
    def hold(self, *streams: Stream[R]) -> Iterator[None]:
        """Keep ``streams`` alive while the block runs (a request waits for them)."""
        for stream in streams:
            stream.holders += 1
            if stream._grace is not None:
                stream._grace.cancel()
                stream._grace = None
        try:
            yield
        finally:
            for stream in streams:
                stream.holders -= 1
                if not stream.holders:
                    self._release_later(stream)

    def drop(self, uri: str, keep: Stream[R] | None = None) -> None:
        """Cancel the unheld streams of ``uri`` other than ``keep`` (they cannot serve)."""
        for stream in self.streams(uri):
            if stream is not keep and not stream.holders:
                stream.cancel()

    def forget(self, uri: str) -> None:
        """Cancel every stream of ``uri`` (the document closed)."""
        for stream in self._streams.pop(uri, []):
            stream.cancel()

    def _release_later(self, stream: Stream[R]) -> None:
        if stream.done or stream._grace is not None or stream.speculative:
            return
        stream._grace = asyncio.get_running_loop().call_later(self._grace, stream.cancel)

    def _finished(self, stream: Stream[R], task: asyncio.Task[R]) -> None:
        if stream._grace is not None:
            stream._grace.cancel()
            stream._grace = None
        if not task.cancelled():
            task.exception()  # retrieved here: an unheld stream's failure is nobody's error
        streams = self._streams.get(stream.uri, [])
        if stream in streams:
            streams.remove(stream)
            if not streams:
                del self._streams[stream.uri]

    async def close(self) -> None:
        """Cancel every stream and wait for them to finish."""
        streams = [s for group in self._streams.values() for s in group]
        self._streams.clear()
        for stream in streams:
            stream.cancel()
        for stream in streams:
            if stream.task is not None:
                with contextlib.suppress(BaseException):
                    await stream.task
