"""Helix: editors/helix/languages.toml, and a replay of what Helix sends against qwen-lsp.

No Helix binary can be installed here, so the snippet is checked for shape, and the real server
is driven over stdio with Helix's own initialize capabilities (tests/editors/helix/
capabilities.json, utf-8 first), its `config` as initializationOptions and didChangeConfiguration,
incremental didChange in utf-8 columns, and completion requests with the trigger kinds Helix
uses: Invoked (Ctrl-x, and the idle auto-trigger), TriggerCharacter, TriggerForIncompleteCompletions
(each keystroke while an incomplete menu is open). Helix never cancels a request, so qwen-lsp must
answer a superseded or debounced one at once, or Helix's menu waits for it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import tomllib
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import TypeVar

import pytest_asyncio
from lsprotocol import types as lsp
from lsprotocol.converters import get_converter
from pytest_lsp import ClientServerConfig, LanguageClient

from qwen_lsp.config import FIELDS
from tests.editors.support import EDITORS, HERE, REPO, completions
from tests.support.fake_qwen import FakeQwen, Reply

SNIPPET = tomllib.loads((EDITORS / "helix" / "languages.toml").read_text())
QWEN = {"name": "qwen-lsp", "only-features": ["completion"]}
WAIT_S = 15  # bound on any single wait for the server
T = TypeVar("T")


# --------------------------------------------------------------------------- the snippet


def test_snippet_defines_qwen_lsp_with_valid_settings() -> None:
    server = SNIPPET["language-server"]["qwen-lsp"]
    assert server["command"] == "qwen-lsp"
    known = {f.key for f in FIELDS}
    assert set(server["config"]) <= known - {"apiKey"}, "unknown key, or a key in the file"


def test_every_language_keeps_its_servers_and_adds_qwen_for_completion_only() -> None:
    languages = SNIPPET["language"]
    names = [lang["name"] for lang in languages]
    assert len(names) == len(set(names)), "a language is listed twice"
    assert {"python", "rust", "go", "typescript", "c"} <= set(names)
    for lang in languages:
        *others, last = lang["language-servers"]
        assert last == QWEN, lang["name"]
        assert others and all(isinstance(s, str) for s in others), lang["name"]


# --------------------------------------------------------------------------- the replay


async def bounded(awaitable: Awaitable[T]) -> T:
    return await asyncio.wait_for(awaitable, WAIT_S)


@pytest_asyncio.fixture
async def helix(fake: FakeQwen) -> AsyncIterator[LanguageClient]:
    """qwen-lsp started and initialized as Helix does it with the snippet's config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_")}
    env |= {"DASHSCOPE_BASE_URL": fake.base_url, "PYTHONPATH": str(REPO)}
    client = await ClientServerConfig(
        server_command=[sys.executable, "-m", "qwen_lsp"], server_env=env
    ).start()
    registrations: list[lsp.Registration] = []

    @client.feature(lsp.CLIENT_REGISTER_CAPABILITY)
    def register(params: lsp.RegistrationParams) -> None:
        registrations.extend(params.registrations)  # Helix accepts dynamic registrations

    capabilities = json.loads((HERE / "helix" / "capabilities.json").read_text())
    del capabilities["_source"]
    config = SNIPPET["language-server"]["qwen-lsp"]["config"]
    root = REPO.as_uri()
    result = await bounded(
        client.initialize_session(
            lsp.InitializeParams(
                capabilities=get_converter().structure(capabilities, lsp.ClientCapabilities),
                process_id=os.getpid(),
                root_path=str(REPO),
                root_uri=root,
                workspace_folders=[lsp.WorkspaceFolder(uri=root, name=REPO.name)],
                initialization_options=config,
                client_info=lsp.ClientInfo(name="helix", version="25.07.1"),
            )
        )
    )
    assert result.capabilities.position_encoding == "utf-8"
    assert result.capabilities.completion_provider is not None
    client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(settings=config))
    try:
        yield client
        assert client.messages == [], "qwen-lsp complained about Helix's messages or settings"
        # Helix allows dynamic registration of the file watcher: the index asks for it.
        watched = [r for r in registrations if r.method == lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES]
        assert len(watched) == 1
    finally:
        await bounded(client.shutdown_session())
        await client.stop()


class Document:
    """One open document, edited and completed the way Helix does it."""

    def __init__(self, client: LanguageClient, path: Path, text: str) -> None:
        self.client, self.uri, self.lines, self.version = client, path.as_uri(), text.split("\n"), 0
        client.text_document_did_open(
            lsp.DidOpenTextDocumentParams(
                lsp.TextDocumentItem(uri=self.uri, language_id="python", version=0, text=text)
            )
        )

    def end(self) -> lsp.Position:
        """The end of the last line, in utf-8 code units (what Helix negotiated)."""
        return lsp.Position(len(self.lines) - 1, len(self.lines[-1].encode()))

    def insert(self, line: int, column: int, text: str) -> None:
        """Insert single-line ``text`` at a *character* column; didChange in utf-8 columns."""
        before = self.lines[line][:column]
        at = lsp.Position(line, len(before.encode()))
        self.lines[line] = before + text + self.lines[line][column:]
        self.version += 1
        self.client.text_document_did_change(
            lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(
                    uri=self.uri, version=self.version
                ),
                content_changes=[
                    lsp.TextDocumentContentChangePartial(range=lsp.Range(at, at), text=text)
                ],
            )
        )

    def type_at_end(self, text: str) -> None:
        self.insert(len(self.lines) - 1, len(self.lines[-1]), text)

    async def complete(
        self, kind: lsp.CompletionTriggerKind, character: str | None = None
    ) -> tuple[lsp.CompletionList, float]:
        """Ask for completions at the end; the answer and when it arrived."""
        answer = await self.client.text_document_completion_async(
            lsp.CompletionParams(
                text_document=lsp.TextDocumentIdentifier(uri=self.uri),
                position=self.end(),
                context=lsp.CompletionContext(trigger_kind=kind, trigger_character=character),
            )
        )
        assert isinstance(answer, lsp.CompletionList), answer
        return answer, time.monotonic()


async def test_utf8_positions_in_edits_and_completion(
    helix: LanguageClient, fake: FakeQwen, tmp_path: Path
) -> None:
    fake.default = Reply(text="d(a, b)")
    doc = Document(
        helix, tmp_path / "calc.py", 'def add(a, b):\n    return a + b\nlabel = "日本"; total = ad'
    )
    doc.insert(2, len('label = "日本'), "語é")  # a multi-byte edit left of the cursor

    answer, _ = await bounded(doc.complete(lsp.CompletionTriggerKind.Invoked))  # Ctrl-x

    [item] = answer.items
    assert item.text_edit is not None
    cursor = doc.end()
    word_start = len('label = "日本語é"; total = '.encode())
    assert item.text_edit.range == lsp.Range(lsp.Position(2, word_start), cursor)
    assert item.text_edit.new_text == "add(a, b)"
    [request] = completions(fake)
    assert 'label = "日本語é"; total = ad<|fim_suffix|>' in request.prompt


async def test_superseded_request_is_answered_at_once(
    helix: LanguageClient, fake: FakeQwen, tmp_path: Path
) -> None:
    # The first backend call hangs; the second answers after a while.
    fake.replies.push(Reply(text="never shown", ttft_ms=20_000), Reply(text=" + 1", ttft_ms=800))
    doc = Document(helix, tmp_path / "inc.py", "def inc(x):\n    return ")
    # Helix's auto-trigger (Invoked, no debounce on the server) goes to the backend...
    first = asyncio.create_task(doc.complete(lsp.CompletionTriggerKind.Invoked))
    assert await asyncio.to_thread(fake.wait_for, lambda: completions(fake), WAIT_S)
    # ...then the user types on, and Helix asks again without cancelling the first request.
    sent = time.monotonic()
    doc.type_at_end("x")
    second = asyncio.create_task(doc.complete(lsp.CompletionTriggerKind.Invoked))
    (old, old_at), (new, new_at) = await bounded(asyncio.gather(first, second))

    assert not old.items
    assert [i.text_edit.new_text for i in new.items if i.text_edit] == ["x + 1"]
    assert old_at < new_at
    # "At once": well before the newer request's own (800 ms) backend call returns.
    assert (old_at - sent) < 0.25 * (new_at - sent)
    hung = fake.requests.index(completions(fake)[0])
    assert await asyncio.to_thread(fake.wait_for_disconnect, hung, WAIT_S), "old call kept open"


async def test_debounced_burst_makes_one_backend_call(
    helix: LanguageClient, fake: FakeQwen, tmp_path: Path
) -> None:
    fake.default = Reply(text="(a, b)")
    doc = Document(helix, tmp_path / "burst.py", "import math\nmath")
    # A first request (Ctrl-x) warms the server up: the burst measures superseding, not start-up.
    await bounded(doc.complete(lsp.CompletionTriggerKind.Invoked))
    fake.clear()
    # Typing "." triggers completion; each further keystroke re-asks the incomplete list.
    burst = []
    for typed, kind, char in [
        (".", lsp.CompletionTriggerKind.TriggerCharacter, "."),
        ("h", lsp.CompletionTriggerKind.TriggerForIncompleteCompletions, None),
        ("ypot", lsp.CompletionTriggerKind.TriggerForIncompleteCompletions, None),
    ]:
        doc.type_at_end(typed)
        burst.append(asyncio.create_task(doc.complete(kind, char)))
    started = time.monotonic()
    answers = await bounded(asyncio.gather(*burst))

    (first, first_at), (second, second_at), (last, last_at) = answers
    assert not first.items and not second.items
    assert [i.text_edit.new_text for i in last.items if i.text_edit] == ["hypot(a, b)"]
    assert max(first_at, second_at) < last_at
    # The superseded requests did not wait for the debounce (150 ms) and the backend.
    assert (max(first_at, second_at) - started) < 0.5 * (last_at - started)
    [request] = completions(fake)  # one backend call, for the newest text
    assert "math.hypot<|fim_suffix|>" in request.prompt
