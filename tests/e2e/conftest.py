"""End-to-end fixtures: the real server as a subprocess (pytest-lsp) against the fake Qwen server.

``start(**settings)`` launches ``python -m qwen_lsp`` with a log file, initializes it with the
given ``initializationOptions`` (``baseUrl`` points at the fake, ``debounceMs`` is 0 unless
set; ``initialized=False`` leaves out the ``initialized`` notification) and returns a
:class:`Session` with small helpers for opening, editing and asking."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.support.fake_qwen import FakeQwen, LoggedRequest

SERVER = [sys.executable, "-m", "qwen_lsp", "--log-level", "DEBUG"]


def server_env() -> dict[str, str]:
    """The test process' environment without any real key or endpoint."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


async def until(predicate: Callable[[], object], seconds: float = 10.0) -> bool:
    """Poll without blocking the event loop the LSP client runs on."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


def completions(fake: FakeQwen) -> list[LoggedRequest]:
    """Completion calls only (the server also warms the connection with ``GET /models``)."""
    return [r for r in fake.requests if r.method == "POST"]


def plain(value: Any) -> Any:
    """pygls hands back custom responses as namedtuples; turn them into dicts and lists."""
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


class Session:
    """A running server, its client and the files it logs to."""

    def __init__(
        self, client: LanguageClient, fake: FakeQwen, log_file: Path, result: lsp.InitializeResult
    ) -> None:
        self.client = client
        self.fake = fake
        self.log_file = log_file
        self.result = result
        self._count = 0

    def open(self, text: str, *, name: str | None = None, language: str = "python") -> str:
        self._count += 1
        uri = f"file:///work/project/{name or f'file{self._count}.py'}"
        self.client.text_document_did_open(
            lsp.DidOpenTextDocumentParams(
                lsp.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)
            )
        )
        return uri

    def edit(
        self, uri: str, version: int, text: str, range_: tuple[int, int, int, int] | None = None
    ) -> None:
        change: Any
        if range_ is None:
            change = lsp.TextDocumentContentChangeWholeDocument(text=text)
        else:
            a, b, c, d = range_
            change = lsp.TextDocumentContentChangePartial(
                range=lsp.Range(lsp.Position(a, b), lsp.Position(c, d)), text=text
            )
        self.client.text_document_did_change(
            lsp.DidChangeTextDocumentParams(
                lsp.VersionedTextDocumentIdentifier(uri=uri, version=version), [change]
            )
        )

    def inline_request(
        self, uri: str, line: int, character: int, invoked: bool = False, msg_id: str | None = None
    ) -> asyncio.Future[Any]:
        """Send the request now; the future resolves with its answer."""
        kind = (
            lsp.InlineCompletionTriggerKind.Invoked
            if invoked
            else lsp.InlineCompletionTriggerKind.Automatic
        )
        return asyncio.wrap_future(
            self.client.protocol.send_request(
                lsp.TEXT_DOCUMENT_INLINE_COMPLETION,
                lsp.InlineCompletionParams(
                    text_document=lsp.TextDocumentIdentifier(uri=uri),
                    position=lsp.Position(line, character),
                    context=lsp.InlineCompletionContext(trigger_kind=kind),
                ),
                msg_id=msg_id,
            )
        )

    def cancel(self, msg_id: str) -> None:
        """Send ``$/cancelRequest`` for a request sent with that id."""
        self.client.protocol.notify(lsp.CANCEL_REQUEST, lsp.CancelParams(id=msg_id))

    async def inline(
        self, uri: str, line: int, character: int, invoked: bool = False
    ) -> str | None:
        """The inserted text of the first inline item, or None for an empty answer."""
        result = await self.inline_request(uri, line, character, invoked)
        if result is None:
            return None
        items = result.items if isinstance(result, lsp.InlineCompletionList) else result
        return items[0].insert_text if items else None

    async def completion(
        self,
        uri: str,
        line: int,
        character: int,
        kind: lsp.CompletionTriggerKind = lsp.CompletionTriggerKind.Invoked,
    ) -> lsp.CompletionList:
        result = await self.client.text_document_completion_async(
            lsp.CompletionParams(
                text_document=lsp.TextDocumentIdentifier(uri=uri),
                position=lsp.Position(line, character),
                context=lsp.CompletionContext(trigger_kind=kind),
            )
        )
        assert isinstance(result, lsp.CompletionList)
        return result

    def configure(self, settings: Any) -> None:
        self.client.workspace_did_change_configuration(
            lsp.DidChangeConfigurationParams(settings=settings)
        )

    def shown(self) -> list[str]:
        return [m.message for m in self.client.messages]

    def logged(self) -> list[str]:
        return [m.message for m in self.client.log_messages]


Starter = Callable[..., Awaitable[Session]]


@pytest.fixture
def fake() -> Iterator[FakeQwen]:
    with FakeQwen() as server:
        yield server


@pytest_asyncio.fixture
async def start(fake: FakeQwen, tmp_path: Path) -> AsyncIterator[Starter]:
    sessions: list[Session] = []

    async def _start(
        *,
        encodings: list[str] | None = None,
        inline: bool = True,
        raw_options: Any = None,
        env: dict[str, str] | None = None,
        initialized: bool = True,
        **settings: Any,
    ) -> Session:
        log_file = tmp_path / f"server{len(sessions)}.log"
        config = ClientServerConfig(
            server_command=[*SERVER, "--log-file", str(log_file)],
            server_env={**server_env(), **(env or {})},
        )
        client = await config.start()
        assert isinstance(client, LanguageClient)
        general = lsp.GeneralClientCapabilities(position_encodings=encodings) if encodings else None
        text_document = lsp.TextDocumentClientCapabilities(
            inline_completion=lsp.InlineCompletionClientCapabilities() if inline else None,
            completion=lsp.CompletionClientCapabilities(),
        )
        options = raw_options if raw_options is not None else {"debounceMs": 0, **settings}
        if raw_options is None and not (env or {}).get("DASHSCOPE_BASE_URL"):
            options.setdefault("baseUrl", fake.base_url)
        client.capabilities = lsp.ClientCapabilities(general=general, text_document=text_document)
        handshake = client.initialize_session if initialized else client.initialize_async
        result = await handshake(
            lsp.InitializeParams(
                capabilities=client.capabilities,
                initialization_options=options,
                root_uri="file:///work/project",
                workspace_folders=[lsp.WorkspaceFolder(uri="file:///work/project", name="project")],
            )
        )
        session = Session(client, fake, log_file, result)
        sessions.append(session)
        return session

    yield _start
    for session in sessions:
        try:
            async with asyncio.timeout(10):
                await session.client.shutdown_session()
        finally:
            await session.client.stop()
