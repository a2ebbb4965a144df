"""Scheduling: per-document debounce, newest wins, cancellation (documents → **scheduler**).

Every completion request goes through :meth:`Scheduler.run` under its document's URI and a kind
(``inline`` or ``completion``: an editor that asks both ways must not cancel itself). At most one
job per (URI, kind) is alive: a new request supersedes the previous one, whose caller gets
``None`` at once, whether it was still in its debounce wait or already waiting on the backend;
in the latter case its task is cancelled, which closes the HTTP stream. An edit supersedes every
job of its document. Documents never wait on each other.

Cancelling the caller (``$/cancelRequest`` cancels pygls' handler task) cancels the job too,
because awaiting a task forwards cancellation to it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


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
