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

With ``accept``, the typist also accepts suggestions, as an editor's Tab does: at a pause, a
suggestion that is exactly what they were going to type next (or its first lines, up to a line
boundary) is inserted with one edit, and the next completion request goes out at once; the
keystrokes that would have typed it are skipped. They read a suggestion before accepting it
for as long as they would have before typing on (the next keystroke's delay). The answer to the
request after the accept is the accept→next-ghost latency, and when it is right too it is
accepted in turn.
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

from benchmarks.keystrokes import Keystroke, Script, position
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
    accepts: int = 0  # suggestions accepted (with ``accept``)
    accept_latencies_ms: tuple[float, ...] = ()  # accept → next ghost text, when one came
    accept_reused: int = 0  # of those, answered with no backend request arriving meanwhile
    typed: int = 0  # keystrokes typed (fewer than ``keystrokes`` when suggestions are accepted)
    speculated: float = math.nan  # answers from speculation, by qwen-lsp's own count
    prepared: float = math.nan  # speculative answers made ready, by qwen-lsp's own count

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

    def accept_latency(self, q: float) -> float:
        """The ``q``-th percentile of accept→next-ghost-text latency, in ms."""
        return percentile(self.accept_latencies_ms, q)

    @property
    def accept_ghosts(self) -> float:
        """Share of accepts followed by a suggestion within the wait cap, %."""
        return share(len(self.accept_latencies_ms), self.accepts)

    @property
    def accept_reused_share(self) -> float:
        """Share of the suggestions after an accept that needed no backend request of their
        own (speculation, a cache, or typed-ahead), %."""
        return share(self.accept_reused, len(self.accept_latencies_ms))

    @property
    def reused_share(self) -> float:
        """Share of shown answers that needed no backend request of their own, %."""
        return share(self.answers_reused, self.answers_shown)


@dataclass(slots=True)
class _Exchange:
    pending: Pending
    response_at: float | None = None
    shown: bool = False


@dataclass(slots=True)
class _Accepts:
    """What the accepting typist saw."""

    count: int = 0
    latencies_ms: list[float] | None = None
    shown: list[_Exchange] | None = None  # the requests after an accept that showed text

    def __post_init__(self) -> None:
        self.latencies_ms, self.shown = [], []


async def replay(
    subject: Subject,
    scripts: Sequence[Script],
    backend: RequestLog,
    *,
    wait_cap_s: float,
    floor: Floor | None = None,
    stderr_path: Path | None = None,
    accept: bool = False,
) -> ReplayResult:
    """Type every script into a fresh ``subject`` server and measure it; ``floor(prefix,
    suffix, streamed)`` gives the backend's floor at a pause; ``accept``: the typist accepts
    suggestions that are what they would type."""
    backend.clear()
    client, _ = await launch(subject, stderr_path)
    exchanges: list[_Exchange] = []
    latencies: list[float] = []
    floors: list[float] = []
    accepts = _Accepts() if accept else None
    streamed = subject.method != COMPLETION  # the fake Tabby server answers JSON, whole

    def at_pause(prefix: str, suffix: str) -> None:
        if floor is not None:
            floors.append(floor(prefix, suffix, streamed))

    pauses = typed = 0
    try:
        for script in scripts:
            counts = await _type(
                client, subject, script, exchanges, latencies, wait_cap_s, at_pause, accepts
            )
            pauses, typed = pauses + counts[0], typed + counts[1]
        await _drain(subject, exchanges)
        speculated, prepared = await _speculated(client) if accept else (math.nan, math.nan)
    finally:
        await client.close()
    calls = await _finished_calls(backend)
    after = accepts or _Accepts()
    assert after.latencies_ms is not None and after.shown is not None
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
        accepts=after.count,
        accept_latencies_ms=tuple(after.latencies_ms),
        accept_reused=sum(not _backend_during(e, calls) for e in after.shown),
        typed=typed,
        speculated=speculated,
        prepared=prepared,
    )


async def _speculated(client: LspClient) -> tuple[float, float]:
    """How many answers qwen-lsp says came from speculation, and how many speculative answers
    it made ready (``qwen/stats``); NaN for a server without that request."""
    with contextlib.suppress(Exception):
        counts = (await client.request("qwen/stats", {}))["requests"]
        return float(counts.get("speculation", 0)), float(counts.get("speculation_ready", 0))
    return math.nan, math.nan


async def _type(
    client: LspClient,
    subject: Subject,
    script: Script,
    exchanges: list[_Exchange],
    latencies: list[float],
    wait_cap_s: float,
    at_pause: Callable[[str, str], None],
    accepts: _Accepts | None = None,
) -> tuple[int, int]:
    """Type one script; returns how many pauses it had and how many keys were typed."""
    open_document(client, script.uri, script.language_id, script.initial_text)
    mirror = _Mirror(script.initial_text)
    await asyncio.sleep(_SETTLE_S)
    pauses = typed = 0
    previous: _Exchange | None = None
    due = time.monotonic()
    version = 1
    keys = script.keystrokes
    at = 0
    while at < len(keys):
        key = keys[at]
        at += 1
        due += key.delay
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        typed_at = time.monotonic()
        version += 1
        typed += 1
        change_document(client, script.uri, version, key.start, key.end, key.text)
        cursor = mirror.apply(key)
        previous = _ask(client, subject, script.uri, key.cursor, exchanges, previous)
        if key.wait:
            pauses += 1
            at_pause(mirror.text[:cursor], mirror.text[cursor:])
            response = await _answer(previous, wait_cap_s)
            if response is not None and _shows(subject, response):
                latencies.append((response.received_at - typed_at) * 1000)
                while accepts is not None and response is not None:
                    plan = _acceptance(subject, response.result, mirror, cursor, keys, at)
                    if plan is None:
                        break
                    # They read it first: as long as they would have before typing on.
                    await asyncio.sleep(keys[at].delay if at < len(keys) else 0.0)
                    version += 1
                    accepted_at = time.monotonic()
                    change_document(client, script.uri, version, *plan.edit)
                    mirror.text, cursor, at = plan.text, plan.cursor, plan.skip_to
                    here = position(mirror.text, cursor)
                    previous = _ask(client, subject, script.uri, here, exchanges, previous)
                    accepts.count += 1
                    response = await _answer(previous, wait_cap_s)
                    if response is None or not _shows(subject, response):
                        break
                    assert accepts.latencies_ms is not None and accepts.shown is not None
                    accepts.latencies_ms.append((response.received_at - accepted_at) * 1000)
                    accepts.shown.append(previous)
            due = time.monotonic()
    client.notify("textDocument/didClose", {"textDocument": {"uri": script.uri}})
    return pauses, typed


def _ask(
    client: LspClient,
    subject: Subject,
    uri: str,
    cursor: tuple[int, int],
    exchanges: list[_Exchange],
    previous: _Exchange | None,
) -> _Exchange:
    """Send the completion request at ``cursor`` and cancel the one before, as VS Code does."""
    exchange = _Exchange(client.send(subject.method, subject.params(uri, cursor, invoked=False)))
    exchange.pending.future.add_done_callback(_recorder(subject, exchange))
    exchanges.append(exchange)
    if previous is not None:
        client.cancel(previous.pending)
    return exchange


async def _answer(exchange: _Exchange, wait_cap_s: float) -> Response | None:
    """The answer to ``exchange`` if it comes within ``wait_cap_s``."""
    with contextlib.suppress(TimeoutError):
        return await asyncio.wait_for(asyncio.shield(exchange.pending.future), wait_cap_s)
    return None


@dataclass(frozen=True, slots=True)
class _Plan:
    """Accepting a suggestion: the edit, the document and cursor after it, the next key."""

    edit: tuple[tuple[int, int], tuple[int, int], str]
    text: str
    cursor: int
    skip_to: int


_ACCEPT_LOOKAHEAD = 40  # keystrokes beyond the accepted text's length the typist may look


def _acceptance(
    subject: Subject,
    result: object,
    mirror: _Mirror,
    cursor: int,
    keys: Sequence[Keystroke],
    at: int,
) -> _Plan | None:
    """How the typist accepts the first suggestion in ``result``, if it is what the keys from
    ``at`` on would type (whole, else its first lines up to a line boundary), or None."""
    edit = subject.first_edit(result)
    if edit is None:
        return None
    text = mirror.text
    start, end = edit[0], edit[1]
    start_at = cursor if start is None else mirror.offset(start)
    end_at = cursor if end is None else mirror.offset(end)
    inserted = edit[2]
    candidates = [inserted]
    if end_at == cursor:  # a line of it can be taken alone
        candidates += [inserted[:i] for i in range(len(inserted) - 1, 0, -1) if inserted[i] == "\n"]
    for candidate in candidates:
        target = text[:start_at] + candidate + text[end_at:]
        if not candidate.strip() or target == text:
            continue
        copy = _Mirror(text)
        for j in range(at, min(len(keys), at + len(candidate) + _ACCEPT_LOOKAHEAD)):
            copy.apply(keys[j])
            if copy.text == target:
                span = (position(text, start_at), position(text, end_at), candidate)
                return _Plan(span, target, start_at + len(candidate), j + 1)
            if len(copy.text) > len(target) + 2:
                break
    return None


Floor = Callable[[str, str, bool], float]


class _Mirror:
    """The replay's own copy of the document, to know the text around the cursor."""

    def __init__(self, text: str) -> None:
        self.text = text

    def apply(self, key: Keystroke) -> int:
        """Apply ``key``; the cursor's offset after it."""
        start, end = self.offset(key.start), self.offset(key.end)
        self.text = self.text[:start] + key.text + self.text[end:]
        return self.offset(key.cursor)

    def offset(self, position: tuple[int, int]) -> int:
        """The string offset of an LSP ``(line, UTF-16 column)`` position."""
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
