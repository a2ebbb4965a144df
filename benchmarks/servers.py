"""The language servers under test: how to start each one and how to ask it for a completion.

* qwen-lsp, started as ``python -m qwen_lsp`` with the benchmark's interpreter and driven with
  ``textDocument/inlineCompletion``;
* tabby-agent (the peer), started as ``node .../tabby-agent/dist/cli.js --lsp --stdio`` with a
  throwaway ``HOME`` whose ``.tabby-client/agent/config.toml`` points at the fake Tabby server;
  it advertises only ``textDocument/completion``, so that is what it is asked;
* the pygls baseline (:mod:`benchmarks.baseline_server`), pygls' own document model behind the
  same transport, for the didChange comparison.

Every server is started with its process id known (no shell, no wrapper script), so memory can
be read from ``/proc``.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.lsp_client import LspClient

PEERS_DIR = Path(__file__).resolve().parent / "peers"
TABBY_CLI = PEERS_DIR / "node_modules" / "tabby-agent" / "dist" / "cli.js"

INLINE = "textDocument/inlineCompletion"
PING = "qwenBenchmark/ping"
COMPLETION = "textDocument/completion"

# Proxy variables would send the peer's loopback traffic elsewhere.
_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")

CLIENT_CAPABILITIES: dict[str, Any] = {
    "general": {"positionEncodings": ["utf-16"]},
    "textDocument": {
        "synchronization": {"dynamicRegistration": False, "didSave": False},
        "completion": {"completionItem": {"snippetSupport": False}, "contextSupport": True},
        "inlineCompletion": {"dynamicRegistration": False},
    },
    "window": {"workDoneProgress": False},
}


@dataclass(frozen=True, slots=True)
class Subject:
    """A server to benchmark: its command line, environment and completion method."""

    name: str
    argv: tuple[str, ...]
    method: str = INLINE
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    options: Mapping[str, Any] | None = None

    def params(self, uri: str, position: tuple[int, int], *, invoked: bool) -> dict[str, Any]:
        """The completion request at ``position``; ``invoked`` means asked for explicitly."""
        line, character = position
        base: dict[str, Any] = {
            "textDocument": {"uri": uri},
            "position": {"line": line, "character": character},
        }
        if self.method == INLINE:
            base["context"] = {"triggerKind": 1 if invoked else 2}
        else:
            base["context"] = {"triggerKind": 1 if invoked else 3}
        return base

    def shown(self, result: Any) -> bool:
        """Whether a completion result would put text on the screen."""
        items = result.get("items") if isinstance(result, dict) else result
        return isinstance(items, list) and any(_item_text(item) for item in items)

    def first_edit(self, result: Any) -> Edit | None:
        """What accepting the first item that shows text inserts: ``(start, end, text)``, the
        positions ``None`` for the cursor (an item without a range)."""
        items = result.get("items") if isinstance(result, dict) else result
        for item in items if isinstance(items, list) else []:
            text = _item_text(item)
            if not text:
                continue
            edit = item.get("textEdit")
            span = item.get("range")
            if isinstance(edit, dict):
                span = edit.get("range") or edit.get("replace")
                text = str(edit.get("newText") or text)
            if isinstance(span, dict):
                return _position(span["start"]), _position(span["end"]), text
            return None, None, text
        return None


Position = tuple[int, int]
Edit = tuple[Position | None, Position | None, str]


def _position(value: Mapping[str, Any]) -> Position:
    return int(value["line"]), int(value["character"])


def _item_text(item: Mapping[str, Any]) -> str:
    insert = item.get("insertText")
    if isinstance(insert, dict):  # a StringValue snippet
        insert = insert.get("value")
    if not insert and isinstance(item.get("textEdit"), dict):
        insert = item["textEdit"].get("newText")
    return str(insert or item.get("label") or "")


def qwen_lsp(base_url: str, **settings: Any) -> Subject:
    """qwen-lsp against ``base_url`` with ``settings`` (camelCase keys) on top of its defaults.

    The fakes stand in for a cloud backend (Model Studio), which serves requests side by side:
    ``maxInFlight`` says so, since a server on 127.0.0.1 gets one at a time by default.
    """
    options = {"baseUrl": base_url, "maxInFlight": 4, **settings}
    return Subject("qwen-lsp", (sys.executable, "-m", "qwen_lsp"), INLINE, options=options)


def pygls_baseline() -> Subject:
    """A bare pygls server keeping documents in pygls' own ``TextDocument``."""
    return Subject("pygls TextDocument", (sys.executable, "-m", "benchmarks.baseline_server"))


def tabby_agent_available() -> bool:
    """Whether ``benchmarks/install-deps.sh`` has installed tabby-agent and node is on PATH."""
    return TABBY_CLI.is_file() and shutil.which("node") is not None


def tabby_agent(endpoint: str, home: Path) -> Subject:
    """tabby-agent talking to the Tabby server at ``endpoint``, configured under ``home``."""
    config = home / ".tabby-client" / "agent" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        "[server]\n"
        f'endpoint = "{endpoint}"\n'
        'token = "benchmark"\n\n'
        "[logs]\n"
        'level = "silent"\n\n'
        "[anonymousUsageTracking]\n"
        "disable = true\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k not in _PROXY_VARS}
    env.update(HOME=str(home), NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    node = shutil.which("node") or "node"
    return Subject("tabby-agent", (node, str(TABBY_CLI), "--lsp", "--stdio"), COMPLETION, env)


async def launch(subject: Subject, stderr_path: Path | None = None) -> tuple[LspClient, float]:
    """Start a server and complete the handshake; return it and the seconds to ``initialize``.

    The time runs from just before the process is spawned to the ``initialize`` response.
    """
    started = time.monotonic()
    client = await LspClient.start(subject.argv, env=subject.env, stderr_path=stderr_path)
    params = {
        "processId": os.getpid(),
        "clientInfo": {"name": "qwen-lsp-benchmark", "version": "1"},
        "rootUri": None,
        "capabilities": CLIENT_CAPABILITIES,
        "initializationOptions": subject.options,
        "workspaceFolders": None,
    }
    try:
        await client.request("initialize", params)
    except BaseException:
        await client.close()
        raise
    elapsed = time.monotonic() - started
    client.notify("initialized", {})
    return client, elapsed


def open_document(client: LspClient, uri: str, language_id: str, text: str) -> None:
    """Send ``textDocument/didOpen`` at version 1."""
    document = {"uri": uri, "languageId": language_id, "version": 1, "text": text}
    client.notify("textDocument/didOpen", {"textDocument": document})


def change_document(
    client: LspClient,
    uri: str,
    version: int,
    start: tuple[int, int],
    end: tuple[int, int],
    text: str,
) -> None:
    """Send one incremental ``textDocument/didChange``."""
    change = {
        "range": {
            "start": {"line": start[0], "character": start[1]},
            "end": {"line": end[0], "character": end[1]},
        },
        "text": text,
    }
    client.notify(
        "textDocument/didChange",
        {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]},
    )


async def ping(client: LspClient) -> float:
    """Round trip of a request every server answers at once (with "method not found").

    Messages are handled in order, so the answer also means everything sent before it has been
    processed. Returns the seconds from writing the request to reading the answer.
    """
    pending = client.send(PING, {})
    response = await pending.future
    return response.received_at - pending.sent_at
