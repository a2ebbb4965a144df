"""The typing replay: scripts typed into a server, measured from both ends.

The client side gives the pause→ghost-text latency: at each pause the simulated person waits (up
to ``wait_cap_s``) for the answer to the request sent with the last keystroke; the latency runs
from that keystroke's ``didChange`` to a non-empty answer. Every keystroke sends a completion
request (inline for qwen-lsp, ``textDocument/completion`` for tabby-agent) and cancels the one
before it, as VS Code does.

For each pause the replay also works out the backend's floor there (:meth:`Oracle.floor_ms`:
the time the reply to a request sent at that cursor needs to reach the end of its first line),
from its own copy of the document.

The backend side comes from the fake server's request log, so it does not depend on what a
server says about itself: requests and tokens, requests the server hung up on (``disconnected``),
and answers that reached the screen without a backend request arriving while they were pending
(served from typed-ahead reuse or a cache).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from benchmarks.keystrokes import Keystroke, Script
from benchmarks.lsp_client import LspClient, Pending, Response
from benchmarks.oracle import tabby_segments
from benchmarks.servers import COMPLETION, Subject, change_document, launch, open_document
from benchmarks.stats import percentile, share
from tests.support.fake_qwen import LoggedRequest, prompt_of

_SETTLE_S = 0.3
_DRAIN_S = 10.0
_CHARS_PER_TOKEN = 4


class RequestLog(Protocol):
    """A fake backend's request log (``FakeQwen`` and ``FakeTabby`` both have one)."""

    @property
    def requests(self) -> list[LoggedRequest]: ...

    def clear(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """What one server did with the scripts."""

    name: str
    keystrokes: int
    pauses: int
    latencies_ms: tuple[float, ...]
    backend_requests: int
    aborted: int
    prompt_tokens: int
    completion_tokens: int
    answers_shown: int
    answers_reused: int
    floors_ms: tuple[float, ...] = ()  # the backend's floor at each pause

    @property
    def floor(self) -> float:
        """The median backend floor over the pauses, in ms."""
        return percentile(self.floors_ms, 50)

    def latency(self, q: float) -> float:
        """The ``q``-th percentile of pause→ghost-text latency, in ms."""
        return percentile(self.latencies_ms, q)

    @property
    def pauses_served(self) -> float:
        """Share of pauses that got a suggestion in time, %."""
        return share(len(self.latencies_ms), self.pauses)

    def per_100_keys(self, count: int) -> float:
        """``count`` per 100 keystrokes."""
        return 100.0 * count / self.keystrokes if self.keystrokes else math.nan

    @property
    def aborted_share(self) -> float:
        """Share of backend requests the server hung up on before the reply was complete, %."""
        return share(self.aborted, self.backend_requests)

    @property
    def reused_share(self) -> float:
        """Share of shown answers that needed no backend request of their own, %."""
        return share(self.answers_reused, self.answers_shown)


@dataclass(slots=True)
class _Exchange:
    pending: Pending
    response_at: float | None = None
    shown: bool = False


async def replay(
    subject: Subject,
    scripts: Sequence[Script],
    backend: RequestLog,
    *,
    wait_cap_s: float,
    floor: Floor | None = None,
    stderr_path: Path | None = None,
) -> ReplayResult:
    """Type every script into a fresh ``subject`` server and measure it; ``floor(prefix,
    suffix, streamed)`` gives the backend's floor at a pause."""
    backend.clear()
    client, _ = await launch(subject, stderr_path)
    exchanges: list[_Exchange] = []
    latencies: list[float] = []
    floors: list[float] = []
    streamed = subject.method != COMPLETION  # the fake Tabby server answers JSON, whole

    def at_pause(prefix: str, suffix: str) -> None:
        if floor is not None:
            floors.append(floor(prefix, suffix, streamed))

    pauses = 0
    try:
        for script in scripts:
            pauses += await _type(
                client, subject, script, exchanges, latencies, wait_cap_s, at_pause
            )
        await _drain(subject, exchanges)
    finally:
        await client.close()
    calls = await _finished_calls(backend)
    return ReplayResult(
        name=subject.name,
        keystrokes=sum(len(s.keystrokes) for s in scripts),
        pauses=pauses,
        latencies_ms=tuple(latencies),
        backend_requests=len(calls),
        aborted=sum(c.disconnected for c in calls),
        prompt_tokens=sum(math.ceil(_prompt_chars(c) / _CHARS_PER_TOKEN) for c in calls),
        completion_tokens=sum(c.chunks_sent for c in calls),
        answers_shown=sum(e.shown for e in exchanges),
        answers_reused=sum(e.shown and not _backend_during(e, calls) for e in exchanges),
        floors_ms=tuple(floors),
    )


async def _type(
    client: LspClient,
    subject: Subject,
    script: Script,
    exchanges: list[_Exchange],
    latencies: list[float],
    wait_cap_s: float,
    at_pause: Callable[[str, str], None],
) -> int:
    """Type one script; returns how many pauses it had."""
    open_document(client, script.uri, script.language_id, script.initial_text)
    mirror = _Mirror(script.initial_text)
    await asyncio.sleep(_SETTLE_S)
    pauses = 0
    previous: _Exchange | None = None
    due = time.monotonic()
    for version, key in enumerate(script.keystrokes, start=2):
        due += key.delay
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        typed_at = time.monotonic()
        change_document(client, script.uri, version, key.start, key.end, key.text)
        cursor = mirror.apply(key)
        exchange = _Exchange(
            client.send(subject.method, subject.params(script.uri, key.cursor, invoked=False))
        )
        exchange.pending.future.add_done_callback(_recorder(subject, exchange))
        exchanges.append(exchange)
        if previous is not None:
            client.cancel(previous.pending)
        previous = exchange
        if key.wait:
            pauses += 1
            at_pause(mirror.text[:cursor], mirror.text[cursor:])
            with contextlib.suppress(TimeoutError):
                future = asyncio.shield(exchange.pending.future)
                response = await asyncio.wait_for(future, wait_cap_s)
                if _shows(subject, response):
                    latencies.append((response.received_at - typed_at) * 1000)
            due = time.monotonic()
    client.notify("textDocument/didClose", {"textDocument": {"uri": script.uri}})
    return pauses


Floor = Callable[[str, str, bool], float]


class _Mirror:
    """The replay's own copy of the document, to know the text around the cursor."""

    def __init__(self, text: str) -> None:
        self.text = text

    def apply(self, key: Keystroke) -> int:
        """Apply ``key``; the cursor's offset after it."""
        start, end = self._offset(key.start), self._offset(key.end)
        self.text = self.text[:start] + key.text + self.text[end:]
        return self._offset(key.cursor)

    def _offset(self, position: tuple[int, int]) -> int:
        line, column = position
        at = 0
        for _ in range(line):
            at = self.text.index("\n", at) + 1
        units = 0
        while units < column:
            units += 2 if ord(self.text[at]) > 0xFFFF else 1
            at += 1
        return at


def _recorder(subject: Subject, exchange: _Exchange) -> Callable[[asyncio.Future[Response]], None]:
    """A callback noting when the answer came and whether it shows text."""

    def record(future: asyncio.Future[Response]) -> None:
        if future.cancelled() or future.exception() is not None:
            return
        response = future.result()
        exchange.response_at = response.received_at
        exchange.shown = _shows(subject, response)

    return record


def _shows(subject: Subject, response: Response) -> bool:
    return response.error is None and subject.shown(response.result)


async def _drain(subject: Subject, exchanges: Sequence[_Exchange]) -> None:
    """Wait for the answers still outstanding (a server must answer every request)."""
    futures = [e.pending.future for e in exchanges if not e.pending.future.done()]
    if futures:
        _, pending = await asyncio.wait(futures, timeout=_DRAIN_S)
        if pending:
            raise RuntimeError(f"{subject.name} left {len(pending)} requests unanswered")


async def _finished_calls(backend: RequestLog) -> list[LoggedRequest]:
    """The completion calls in the log, once each is done (hang-ups are noticed by polling)."""
    deadline = time.monotonic() + _DRAIN_S
    while True:
        calls = [r for r in backend.requests if r.reply is not None]
        if all(c.done for c in calls) or time.monotonic() > deadline:
            return calls
        await asyncio.sleep(0.05)


def _backend_during(exchange: _Exchange, calls: Sequence[LoggedRequest]) -> bool:
    """Whether a backend call arrived while ``exchange`` was pending."""
    start, end = exchange.pending.sent_at, exchange.response_at
    return end is not None and any(start <= c.started <= end for c in calls)


def _prompt_chars(call: LoggedRequest) -> int:
    """Characters of context a backend call carried (FIM prompt, chat, or Tabby segments)."""
    segments = tabby_segments(call.body)
    if segments:
        return sum(len(v) for v in segments.values() if isinstance(v, str))
    return len(prompt_of(call))
