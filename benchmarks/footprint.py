"""What a server costs the editor's machine: start-up time and resident memory.

* Start-up: from spawning the process to the ``initialize`` response, median of ``runs``.
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


async def footprint(
    subject: Subject,
    corpus: Sequence[Path],
    *,
    runs: int,
    documents: int,
    completes: bool = True,
    stderr_path: Path | None = None,
) -> Footprint:
    """Measure ``subject``: ``runs`` cold starts, the last of which then gives the memory.

    ``completes``: the server answers completion requests (the bare pygls server does not).
    """
    texts = {path: path.read_text(encoding="utf-8") for path in corpus}
    startups = []
    firsts = []
    for _ in range(runs - 1):
        spawned = time.monotonic()
        client, elapsed = await launch(subject, stderr_path)
        startups.append(elapsed * 1000)
        try:
            if completes:
                await _first_answer(client, subject, corpus[0], texts[corpus[0]])
                firsts.append((time.monotonic() - spawned) * 1000)
        finally:
            await client.close()
    client, elapsed = await launch(subject, stderr_path)
    startups.append(elapsed * 1000)
    try:
        await asyncio.sleep(_IDLE_S)
        idle = rss_mib(client.pid)
        for i in range(documents):
            path = corpus[i % len(corpus)]
            uri = f"file:///benchmark/docs/{i}{path.suffix}"
            open_document(client, uri, LANGUAGE_IDS[path.suffix], texts[path])
        await ping(client)
        await asyncio.sleep(_SETTLE_S)
        with_docs = rss_mib(client.pid)
    finally:
        await client.close()
    first = median(firsts) if firsts else math.nan
    return Footprint(subject.name, median(startups), idle, with_docs, documents, first)


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
