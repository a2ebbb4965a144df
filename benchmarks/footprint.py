"""What a server costs the editor's machine: start-up time and resident memory.

* Start-up: from spawning the process to the ``initialize`` response, median of ``runs``.
* RSS idle: after the handshake and a settling pause, with nothing open.
* RSS with 200 documents: after opening 200 documents (the corpus files under distinct URIs,
  150-250 lines each) and an empty request that proves they were all processed.

RSS is ``VmRSS`` from ``/proc/PID/status``, summed over the server's child processes too, if it
starts any.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.keystrokes import LANGUAGE_IDS
from benchmarks.servers import Subject, launch, open_document, ping
from benchmarks.stats import median

_SETTLE_S = 0.5
_IDLE_S = 2.0  # qwen-lsp loads its tokenizer in the background after start-up


@dataclass(frozen=True, slots=True)
class Footprint:
    """Start-up time (ms) and memory (MiB) of one server."""

    name: str
    startup_ms: float
    rss_idle_mib: float
    rss_docs_mib: float
    documents: int


async def footprint(
    subject: Subject,
    corpus: Sequence[Path],
    *,
    runs: int,
    documents: int,
    stderr_path: Path | None = None,
) -> Footprint:
    """Measure ``subject``: ``runs`` cold starts, the last of which then gives the memory."""
    texts = {path: path.read_text(encoding="utf-8") for path in corpus}
    startups = []
    for _ in range(runs - 1):
        client, elapsed = await launch(subject, stderr_path)
        startups.append(elapsed * 1000)
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
    return Footprint(subject.name, median(startups), idle, with_docs, documents)


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
