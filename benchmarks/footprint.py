"""What a server costs the editor's machine: start-up time and resident memory.

* Start-up: from spawning the process to the ``initialize`` response, median of ``runs``,
  the servers' cold starts taken in turns.
* Start-up to the first answer: from spawning the process to the answer of an invoked
  completion request sent right after the handshake and a ``didOpen`` (every cold start but the
  last, of a server that completes): what a server leaves to do after ``initialize`` shows here.
* RSS idle: after the handshake and a settling pause, with nothing open.
* RSS with 200 documents: after opening 200 documents (the corpus files under distinct URIs,
  150-250 lines each) and an empty request that proves they were all processed.

RSS is ``VmRSS`` from ``/proc/PID/status``, summed over the server's child processes too, if it
starts any.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.keystrokes import LANGUAGE_IDS
from benchmarks.lsp_client import LspClient
from benchmarks.servers import Subject, launch, open_document, ping
from benchmarks.stats import median

_SETTLE_S = 0.5
_FIRST_TIMEOUT_S = 30.0
_IDLE_S = 2.0  # qwen-lsp loads its tokenizer in the background after start-up


@dataclass(frozen=True, slots=True)
class Footprint:
    """Start-up time (ms) and memory (MiB) of one server."""

    name: str
    startup_ms: float
    rss_idle_mib: float
    rss_docs_mib: float
    documents: int
    first_answer_ms: float = math.nan  # spawn to the first completion's answer, median


@dataclass(frozen=True, slots=True)
class Measured:
    """A server to measure: ``completes`` if it answers completion requests (the bare pygls
    server does not), and where its standard error goes."""

    subject: Subject
    completes: bool = True
    stderr_path: Path | None = None


async def footprints(
    servers: Sequence[Measured], corpus: Sequence[Path], *, runs: int, documents: int
) -> list[Footprint]:
    """Measure each server: ``runs`` cold starts, taken in turns (one of each server, then
    the next round), so that a noisy moment of the machine falls on all of them alike; the
    last start of each then gives its memory."""
    texts = {path: path.read_text(encoding="utf-8") for path in corpus}
    startups: list[list[float]] = [[] for _ in servers]
    firsts: list[list[float]] = [[] for _ in servers]
    for _ in range(runs - 1):
        for i, measured in enumerate(servers):
            spawned = time.monotonic()
            client, elapsed = await launch(measured.subject, measured.stderr_path)
            startups[i].append(elapsed * 1000)
            try:
                if measured.completes:
                    await _first_answer(client, measured.subject, corpus[0], texts[corpus[0]])
                    firsts[i].append((time.monotonic() - spawned) * 1000)
            finally:
                await client.close()
    found = []
    for i, measured in enumerate(servers):
        client, elapsed = await launch(measured.subject, measured.stderr_path)
        startups[i].append(elapsed * 1000)
        try:
            idle, with_docs = await _memory(client, corpus, texts, documents)
        finally:
            await client.close()
        first = median(firsts[i]) if firsts[i] else math.nan
        name = measured.subject.name
        found.append(Footprint(name, median(startups[i]), idle, with_docs, documents, first))
    return found


async def _memory(
    client: LspClient, corpus: Sequence[Path], texts: dict[Path, str], documents: int
) -> tuple[float, float]:
    """RSS idle, then with ``documents`` open."""
    await asyncio.sleep(_IDLE_S)
    idle = rss_mib(client.pid)
    for i in range(documents):
        path = corpus[i % len(corpus)]
        uri = f"file:///benchmark/docs/{i}{path.suffix}"
        open_document(client, uri, LANGUAGE_IDS[path.suffix], texts[path])
    await ping(client)
    await asyncio.sleep(_SETTLE_S)
    return idle, rss_mib(client.pid)


async def _first_answer(client: LspClient, subject: Subject, path: Path, text: str) -> None:
    """Open ``path`` and wait for the answer to an invoked request at its middle line's end."""
    uri = f"file:///benchmark/first{path.suffix}"
    open_document(client, uri, LANGUAGE_IDS[path.suffix], text)
    lines = text.splitlines()
    row = len(lines) // 2
    params = subject.params(uri, (row, len(lines[row])), invoked=True)
    await asyncio.wait_for(client.send(subject.method, params).future, _FIRST_TIMEOUT_S)


def rss_mib(pid: int) -> float:
    """Resident memory (``VmRSS``) of a process and its descendants, in MiB."""
    return sum(_vmrss_kib(p) for p in _process_tree(pid)) / 1024


def _process_tree(pid: int) -> Iterator[int]:
    yield pid
    for task in _listdir(Path(f"/proc/{pid}/task")):
        for child in _read(task / "children").split():
            yield from _process_tree(int(child))


def _vmrss_kib(pid: int) -> int:
    for line in _read(Path(f"/proc/{pid}/status")).splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0  # gone, or a zombie


def _listdir(path: Path) -> list[Path]:
    try:
        return list(path.iterdir())
    except OSError:
        return []


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii")
    except OSError:
        return ""
