"""Replay cases through the real server over LSP and apply what it returns.

One server process per mode and reply shape (the server caches answers by request, and the
three shapes of a case make the same request). Each case opens its document under a URI of its
own, asks ``textDocument/inlineCompletion`` at the cursor with an *invoked* trigger (no
debounce), closes the document, and applies the first item: its ``insertText`` replaces the
item's ``range`` when it has one (a server may replace auto-closed closers after the cursor),
else it goes in at the cursor. No item leaves the document as it was.

The server is started as ``python -P -m qwen_lsp`` with ``PYTHONPATH`` set to the source tree
under test (``-P``: the working directory is not put on ``sys.path``, so ``--qwen-lsp-src``
really decides which ``qwen_lsp`` runs).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import servers
from benchmarks.humaneval.cases import Case
from benchmarks.humaneval.replies import MODELS, OracleReply
from benchmarks.lsp_client import LspClient
from benchmarks.oracle import fim_parts
from tests.support.fake_qwen import FakeQwen, LoggedRequest, Reply, prompt_of


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the server did with one case."""

    case_id: str
    mode: str
    shape: str
    style: str
    reply: str  # the raw reply the fake sent
    inserted: str | None  # the item's text (None: no item)
    replaced: str  # the document text the item's range replaced ("" for an insertion)
    result: str  # the document after applying the item
    requests: int  # backend requests the case caused
    mismatch: bool  # the request's prefix was not the case's (the oracle answered anyway)
    error: str = ""


@dataclass
class _Oracle:
    """The fake's responder: answers the case currently being replayed."""

    case: Case | None = None
    reply: OracleReply | None = None
    requests: int = 0
    mismatch: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: LoggedRequest) -> Reply | None:
        with self.lock:
            case, reply = self.case, self.reply
            self.requests += 1
        if case is None or reply is None:
            return Reply(text="")
        prefix = _request_prefix(request)
        if not prefix or not case.document[: case.cursor].endswith(prefix):
            self.mismatch = True
        return Reply(chunks=list(reply.chunks))


def _request_prefix(request: LoggedRequest) -> str:
    prompt = prompt_of(request)
    if request.endpoint == "completions":
        return fim_parts(prompt)[0]
    return prompt


def server_env(src: Path) -> dict[str, str]:
    """The environment of a server whose ``qwen_lsp`` comes from ``src``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(src)
    return env


def server_argv() -> tuple[str, ...]:
    return (sys.executable, "-P", "-m", "qwen_lsp")


def server_module_file(src: Path) -> str:
    """Where the server process would import ``qwen_lsp`` from (a check for the report)."""
    done = subprocess.run(
        [sys.executable, "-P", "-c", "import qwen_lsp; print(qwen_lsp.__file__)"],
        env=server_env(src),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return done.stdout.strip() or f"(import failed: {done.stderr.strip()[-200:]})"


async def replay(
    cases: Sequence[Case],
    replies: Mapping[str, OracleReply],
    mode: str,
    shape: str,
    src: Path,
    stderr_path: Path | None = None,
) -> list[Outcome]:
    """Replay ``cases`` (``replies`` by case id) through one fresh server."""
    oracle = _Oracle()
    outcomes: list[Outcome] = []
    with FakeQwen() as fake:
        fake.responder = oracle
        subject = servers.Subject(
            "qwen-lsp",
            server_argv(),
            env=server_env(src),
            options={"baseUrl": fake.base_url, "model": MODELS[mode]},
        )
        client, _ = await servers.launch(subject, stderr_path)
        try:
            for n, case in enumerate(cases):
                reply = replies[case.id]
                with oracle.lock:
                    oracle.case, oracle.reply, oracle.requests = case, reply, 0
                    oracle.mismatch = False
                outcomes.append(await _one(client, subject, case, reply, mode, shape, n, oracle))
        finally:
            await client.close()
    return outcomes


async def _one(
    client: LspClient,
    subject: servers.Subject,
    case: Case,
    reply: OracleReply,
    mode: str,
    shape: str,
    n: int,
    oracle: _Oracle,
) -> Outcome:
    uri = f"file:///humaneval/{case.task_id.replace('/', '_')}_{n}.py"
    servers.open_document(client, uri, "python", case.document)
    error = ""
    try:
        result = await client.request(
            servers.INLINE, subject.params(uri, case.position, invoked=True)
        )
    except Exception as exc:  # a server error is a failed case, not a failed benchmark
        result, error = None, f"{type(exc).__name__}: {exc}"
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    inserted, replaced, text = apply(case.document, case.cursor, result)
    with oracle.lock:
        requests, mismatch = oracle.requests, oracle.mismatch
    return Outcome(
        case_id=case.id,
        mode=mode,
        shape=shape,
        style=reply.style,
        reply=reply.raw,
        inserted=inserted,
        replaced=replaced,
        result=text,
        requests=requests,
        mismatch=mismatch,
        error=error,
    )


def apply(document: str, cursor: int, result: Any) -> tuple[str | None, str, str]:
    """Apply the first inline item of ``result``: (its text, the text it replaced, the new
    document). No item: (None, "", the document)."""
    items = result.get("items") if isinstance(result, dict) else result
    if not isinstance(items, list) or not items or not isinstance(items[0], dict):
        return None, "", document
    item = items[0]
    insert = item.get("insertText")
    if isinstance(insert, dict):  # a StringValue snippet
        insert = insert.get("value")
    if not isinstance(insert, str):
        return None, "", document
    start = end = cursor
    span = item.get("range")
    if isinstance(span, dict):
        start = offset_of(document, span.get("start"), cursor)
        end = max(start, offset_of(document, span.get("end"), start))
    return insert, document[start:end], document[:start] + insert + document[end:]


def offset_of(document: str, position: Any, default: int) -> int:
    """The string index of an LSP position (UTF-16 columns); ``default`` if malformed."""
    if not isinstance(position, dict):
        return default
    line, character = position.get("line"), position.get("character")
    if not isinstance(line, int) or not isinstance(character, int):
        return default
    offset = 0
    for _ in range(line):
        newline = document.find("\n", offset)
        if newline < 0:
            return len(document)
        offset = newline + 1
    end = document.find("\n", offset)
    content = document[offset : end if end >= 0 else len(document)]
    units = 0
    for i, char in enumerate(content):
        if units >= character:
            return offset + i
        units += 2 if ord(char) > 0xFFFF else 1
    return offset + len(content)
