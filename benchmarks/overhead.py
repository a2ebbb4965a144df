"""Server-side cost through LSP, at 1k, 10k and 100k-line documents.

* Request overhead: qwen-lsp with ``debounceMs: 0`` against a fake that answers at once; each
  request is explicitly invoked (no debounce) after a one-character edit (so no cache can answer
  it), and its round trip minus the time the fake spent on the backend call (from the request's
  arrival to the end of its reply) is the time the request cost outside the backend: JSON-RPC
  in and out, context and prompt building, the HTTP client, post-processing. The round trip of
  an empty request is reported beside it as the transport's floor.
* didChange cost: a burst of one-character edits followed by an empty request, less the empty
  request's usual round trip, per edit; for qwen-lsp and for the pygls baseline server.

The full run (:mod:`benchmarks.run`) measures both; ``python -m benchmarks.overhead`` measures
only the request overhead, with the same function, and prints it (a quick loop while working on
the server's per-request cost; with ``PYTHONPATH`` naming another tree, that tree's server).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks import servers
from benchmarks.keystrokes import synthetic_text
from benchmarks.lsp_client import LspClient
from benchmarks.servers import PING, Subject, change_document, open_document, ping
from benchmarks.stats import median, percentile, ratio
from tests.support.fake_qwen import FakeQwen, LoggedRequest, Reply

_WARMUP = 2
_BACKEND_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class ChangeCost:
    """Median milliseconds per keystroke's ``didChange`` through LSP at one document size."""

    lines: int
    qwen_ms: float
    pygls_ms: float

    @property
    def speedup(self) -> float:
        """How many times cheaper a keystroke is for qwen-lsp."""
        return ratio(self.pygls_ms, self.qwen_ms)


@dataclass(frozen=True, slots=True)
class RequestOverhead:
    """Median milliseconds per completion request at one document size."""

    lines: int
    overhead_ms: float
    ping_ms: float
    samples: int
    overhead_p99_ms: float = float("nan")

    @property
    def over_ping_ms(self) -> float:
        """The median overhead beyond an empty request's round trip."""
        return self.overhead_ms - self.ping_ms

    @property
    def over_ping_p99_ms(self) -> float:
        """The 99th-percentile overhead beyond an empty request's (median) round trip."""
        return self.overhead_p99_ms - self.ping_ms


class _Typist:
    """Types one character at a time at the end of the middle line of an open document."""

    def __init__(self, client: LspClient, uri: str, text: str) -> None:
        self.client = client
        self.uri = uri
        self.line = text.count("\n") // 2
        self.column = len(text.splitlines()[self.line])
        self.version = 1
        open_document(client, uri, "python", text)

    def type(self) -> None:
        self.version += 1
        at = (self.line, self.column)
        change_document(self.client, self.uri, self.version, at, at, "q")
        self.column += 1

    @property
    def position(self) -> tuple[int, int]:
        return self.line, self.column

    def close(self) -> None:
        self.client.notify("textDocument/didClose", {"textDocument": {"uri": self.uri}})


def document_uri(lines: int) -> str:
    """A distinct URI per document size, so one server can hold them all."""
    return f"file:///benchmark/big-{lines}.py"


async def request_overhead(
    client: LspClient, subject: Subject, fake: FakeQwen, text: str, reps: int
) -> RequestOverhead:
    """Median overhead of an invoked completion request on a document of ``text``.

    ``subject`` must be qwen-lsp with ``debounceMs: 0`` talking to ``fake``.
    """
    fake.responder = None
    fake.default = Reply(text="value = 1\n")
    lines = text.count("\n")
    typist = _Typist(client, document_uri(lines), text)
    overheads: list[float] = []
    pings: list[float] = []
    for i in range(reps + _WARMUP):
        typist.type()
        pings.append(await ping(client))
        fake.clear()
        pending = client.send(
            subject.method, subject.params(typist.uri, typist.position, invoked=True)
        )
        response = await pending.future
        calls = await _finished(fake)
        if i >= _WARMUP and len(calls) == 1 and subject.shown(response.result):
            backend = calls[0].duration or 0.0
            overheads.append(response.received_at - pending.sent_at - backend)
    typist.close()
    return RequestOverhead(
        lines,
        median(overheads) * 1000,
        median(pings) * 1000,
        len(overheads),
        percentile(overheads, 99) * 1000,
    )


async def change_cost(client: LspClient, text: str, reps: int, burst: int) -> float:
    """Median milliseconds one keystroke's ``didChange`` costs the server on ``text``.

    Each repetition writes ``burst`` one-character edits and an empty request, and takes the
    time to that request's answer less an empty request's usual round trip (the median of the
    lone pings between repetitions), divided by ``burst``.
    """
    typist = _Typist(client, document_uri(text.count("\n")), text)
    await ping(client)
    per_burst: list[float] = []
    pings: list[float] = []
    for i in range(reps + _WARMUP):
        pings.append(await ping(client))
        started = time.monotonic()
        for _ in range(burst):
            typist.type()
        response = await client.send(PING, {}).future
        if i >= _WARMUP:
            per_burst.append(response.received_at - started)
    typist.close()
    floor = median(pings)
    return median([(t - floor) / burst for t in per_burst]) * 1000


async def _finished(fake: FakeQwen) -> list[LoggedRequest]:
    """The completion calls logged since the last ``clear()``, once their handlers are done."""
    async with asyncio.timeout(_BACKEND_TIMEOUT_S):
        while True:
            calls = [r for r in fake.requests if r.reply is not None]
            if all(c.done for c in calls):
                return calls
            await asyncio.sleep(0.001)


async def measure_overheads(
    sizes: Sequence[int], reps: int, stderr_path: Path | None = None
) -> list[RequestOverhead]:
    """Request overhead at each document size, from one qwen-lsp without debounce."""
    with FakeQwen() as fake:
        subject = servers.qwen_lsp(fake.base_url, debounceMs=0)
        client, _ = await servers.launch(subject, stderr_path)
        try:
            return [
                await request_overhead(client, subject, fake, synthetic_text(n), reps)
                for n in sizes
            ]
        finally:
            await client.close()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m benchmarks.overhead [--reps N] [--lines N ...] [--runs N]``: print a table."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.overhead", description="qwen-lsp's request overhead only."
    )
    parser.add_argument("--reps", type=int, default=30, help="requests per size (default 30)")
    parser.add_argument(
        "--lines", type=int, action="append", help="document size (repeatable; 1k, 10k, 100k)"
    )
    parser.add_argument("--runs", type=int, default=1, help="fresh servers, one after another")
    args = parser.parse_args(argv)
    sizes = args.lines or [1_000, 10_000, 100_000]
    print("run | lines | overhead p50 | ping p50 | beyond ping p50 / p99 (ms) | samples")
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            log = Path(tmp) / f"qwen-lsp-{run}.log"
            for o in asyncio.run(measure_overheads(sizes, args.reps, log)):
                print(
                    f"{run} | {o.lines:,} | {o.overhead_ms:.2f} | {o.ping_ms:.2f} | "
                    f"{o.over_ping_ms:.2f} / {o.over_ping_p99_ms:.2f} | {o.samples}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
