"""The language server: pygls wiring and thin handlers (**server** → documents → ... → items).

Handlers only translate between LSP types and :class:`~qwen_lsp.engine.Engine` calls. Two
pygls behaviours are replaced in :class:`QwenProtocol`:

* a request whose params fail validation (a negative position, missing params) is answered
  with ``InvalidParams``; pygls 2.1.1 only logs it, and the editor waits forever;
* a message with an ``id`` that names a notification method (``window/workDoneProgress/cancel``
  ...) is a request by JSON-RPC's rules and is answered with ``InvalidRequest``; pygls 2.1.1
  handles it as a notification and never answers;
* ``didOpen`` / ``didChange`` / ``didClose`` go to qwen-lsp's own document store
  (:mod:`qwen_lsp.documents`), not pygls' ``TextDocument``, which mis-splits lines and
  rebuilds the whole text on every keystroke.

Start-up: the editor waits for the ``initialize`` response, and lsprotocol's import alone is
most of that wait. The engine and its stages (httpx, tree-sitter, the workspace index) are
imported after it, in a worker thread when ``initialized`` arrives; what ``initialize`` says
(position encoding, folders, settings) is kept until the engine exists. A message that needs
the engine sooner imports it on the spot.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import attrs
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException, JsonRpcInvalidRequest, JsonRpcMethodNotFound
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method
from pygls.uris import to_fs_path

from . import __version__, items
from .config import unwrap
from .documents import Change, PositionEncoding
from .grammars import suffixes

if TYPE_CHECKING:
    from .engine import Engine

log = logging.getLogger(__name__)

STATUS_NOTIFICATION = "qwen/status"
STATUS_DELAY_S = 0.1  # a request shows as "fetching" once it has lasted this long
STATS_REQUEST = "qwen/stats"
COMPLETION_TRIGGERS = [".", "(", "[", "{", ",", "=", ":", " "]


@attrs.define
class _Answered:
    """Stands for a request that was already answered with an error while being parsed."""

    jsonrpc: str = "2.0"


class QwenProtocol(LanguageServerProtocol):
    """pygls' LSP protocol with qwen-lsp's document store and answered invalid requests."""

    _server: QwenLanguageServer

    def structure_message(self, data: dict[str, Any]) -> Any:
        if "id" in data and isinstance(data.get("method"), str) and "error" not in data:
            kind = self.get_message_type(data["method"])
            if kind is not None and "id" not in attrs.fields_dict(kind):
                log.warning("%s sent as a request; answered with an error", data["method"])
                error = JsonRpcInvalidRequest(f"{data['method']} is a notification, not a request")
                self._send_response(data["id"], error=error.to_response_error())
                return _Answered()
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if "method" in data and "id" in data:
                log.warning("invalid params for %s; answered with an error", data.get("method"))
                self._send_response(data["id"], error=exc.to_response_error())
                return _Answered()
            raise

    def handle_message(self, message: Any) -> None:
        if not isinstance(message, _Answered):
            super().handle_message(message)

    @lsp_method(lsp.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: lsp.DidOpenTextDocumentParams) -> None:
        doc = params.text_document
        self._server.engine.open_document(doc.uri, doc.text, doc.version, doc.language_id)

    @lsp_method(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: lsp.DidChangeTextDocumentParams) -> None:
        changes = [
            Change(
                c.text,
                _range(c.range) if isinstance(c, lsp.TextDocumentContentChangePartial) else None,
            )
            for c in params.content_changes
        ]
        uri = params.text_document.uri
        if not self._server.engine.change_document(uri, params.text_document.version, changes):
            log.warning("didChange for %s, which is not open; ignored", uri)

    @lsp_method(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: lsp.DidCloseTextDocumentParams) -> None:
        self._server.engine.close_document(params.text_document.uri)


def _range(r: lsp.Range) -> tuple[int, int, int, int]:
    return (r.start.line, r.start.character, r.end.line, r.end.character)


class _ClientNotifier:
    """The engine's :class:`~qwen_lsp.engine.Notifier`, over LSP.

    A ``fetching`` status is sent only once the request has lasted :data:`STATUS_DELAY_S`: a
    quick answer then costs no status notifications at all (two JSON-RPC writes saved), and the
    editor's status item does not flicker."""

    def __init__(self, server: LanguageServer) -> None:
        self._server = server
        self._status: tuple[str, str] | None = None
        self._pending: asyncio.TimerHandle | None = None

    def show(self, level: lsp.MessageType, text: str) -> None:
        self._server.window_show_message(lsp.ShowMessageParams(type=level, message=text))

    def log(self, level: lsp.MessageType, text: str) -> None:
        self._server.window_log_message(lsp.LogMessageParams(type=level, message=text))

    def status(self, state: str, message: str) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        if state == "fetching" and self._status is not None:
            with contextlib.suppress(RuntimeError):  # no running loop: sent at once
                loop = asyncio.get_running_loop()
                self._pending = loop.call_later(STATUS_DELAY_S, self._send, state, message)
                return
        self._send(state, message)

    def _send(self, state: str, message: str) -> None:
        self._pending = None
        if self._status != (state, message):
            self._status = (state, message)
            self._server.protocol.notify(STATUS_NOTIFICATION, {"state": state, "message": message})


class _IndexProgress:
    """The workspace index's :class:`~qwen_lsp.workspace.Progress`, as LSP work-done progress.

    Called from the index's worker thread; every notification is handed to the event loop."""

    def __init__(self, server: LanguageServer, token: str, loop: asyncio.AbstractEventLoop) -> None:
        self._server = server
        self._token = token
        self._loop = loop

    def _send(self, value: Any) -> None:
        progress = self._server.work_done_progress

        def send() -> None:
            if isinstance(value, lsp.WorkDoneProgressBegin):
                progress.begin(self._token, value)
            elif isinstance(value, lsp.WorkDoneProgressReport):
                progress.report(self._token, value)
            else:
                progress.end(self._token, value)

        with contextlib.suppress(RuntimeError):  # the loop closed (shutdown)
            self._loop.call_soon_threadsafe(send)

    def begin(self, title: str, total: int) -> None:
        self._send(
            lsp.WorkDoneProgressBegin(
                title=title, message=f"indexing 0/{total} files", percentage=0, cancellable=False
            )
        )

    def report(self, done: int, total: int) -> None:
        percentage = 100 * done // total if total else 100
        self._send(
            lsp.WorkDoneProgressReport(
                message=f"indexing {done}/{total} files", percentage=percentage
            )
        )

    def end(self, message: str) -> None:
        self._send(lsp.WorkDoneProgressEnd(message=message))


@dataclass(frozen=True, slots=True)
class _Initialize:
    """What the ``initialize`` request told the server, until the engine exists."""

    encoding: PositionEncoding = PositionEncoding.UTF16
    roots: tuple[str, ...] = ()
    options: object = None

    def apply(self, engine: Engine) -> None:
        engine.documents.encoding = self.encoding
        engine.set_roots(self.roots)
        engine.configure(self.options)


class QwenLanguageServer(LanguageServer):
    """pygls server holding one :class:`Engine`."""

    def __init__(self) -> None:
        super().__init__(
            "qwen-lsp",
            __version__,
            protocol_cls=QwenProtocol,
            text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental,
        )
        self._engine: Engine | None = None
        self._pending = _Initialize()

    @property
    def engine(self) -> Engine:
        """The engine, created (and told what ``initialize`` said) on first use."""
        if self._engine is None:
            from .engine import Engine

            engine = Engine(_ClientNotifier(self))
            self._pending.apply(engine)
            engine.load_tokenizer()  # handlers run on the event loop: the load can start now
            self._engine = engine
        return self._engine

    def initialize(
        self, encoding: PositionEncoding, roots: tuple[str, ...], options: object
    ) -> None:
        """What ``initialize`` said, for the engine: applied now if it exists, else later."""
        self._pending = _Initialize(encoding, roots, options)
        if self._engine is not None:
            self._pending.apply(self._engine)

    async def load_engine(self) -> Engine:
        """The engine, its modules imported in a worker thread so the loop stays free."""
        if self._engine is None:
            await asyncio.to_thread(importlib.import_module, f"{__package__}.engine")
        return self.engine

    async def aclose(self) -> None:
        """``shutdown``: stop the engine's work, if it ever started."""
        if self._engine is not None:
            await self._engine.aclose()

    def report_server_error(self, error: Exception, source: Any) -> None:
        # pygls would pop up "Error in server" for every malformed notification; log instead.
        # An unknown method is the client's business (already answered with MethodNotFound).
        level = logging.INFO if isinstance(error, JsonRpcMethodNotFound) else logging.WARNING
        log.log(level, "%s: %s", getattr(source, "__name__", source), error)

    def completion_formats(self) -> tuple[bool, bool]:
        """Whether this client's completion items may carry Markdown docs, and snippets."""
        document = self.client_capabilities.text_document
        completion = document.completion if document else None
        item = completion.completion_item if completion else None
        if item is None:
            return False, False
        markdown = lsp.MarkupKind.Markdown in (item.documentation_format or ())
        return markdown, bool(item.snippet_support)

    def client_supports(self, path: str) -> bool:
        """Whether a dotted client capability (``window.work_done_progress``) is true."""
        value: Any = self.client_capabilities
        for part in path.split("."):
            value = getattr(value, part, None)
            if value is None:
                return False
        return bool(value)

    async def start_indexing(self) -> None:
        """After ``initialized``: progress token, file watcher, then the background index."""
        progress = None
        if self.client_supports("window.work_done_progress"):
            token = f"qwen-lsp-index-{uuid.uuid4().hex[:8]}"
            try:
                async with asyncio.timeout(5):
                    await self.work_done_progress.create_async(token)
                progress = _IndexProgress(self, token, asyncio.get_running_loop())
            except Exception as exc:  # the client refused or never answered: no progress bar
                log.info("work-done progress refused: %s", exc)
        self.engine.start_indexing(progress)
        if self.client_supports("workspace.did_change_watched_files.dynamic_registration"):
            pattern = "**/*.{" + ",".join(s.lstrip(".") for s in suffixes()) + "}"
            registration = lsp.Registration(
                id=f"qwen-lsp-watch-{uuid.uuid4().hex[:8]}",
                method=lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                register_options=lsp.DidChangeWatchedFilesRegistrationOptions(
                    watchers=[lsp.FileSystemWatcher(glob_pattern=pattern)]
                ),
            )
            try:
                async with asyncio.timeout(5):
                    await self.client_register_capability_async(
                        lsp.RegistrationParams(registrations=[registration])
                    )
            except Exception as exc:
                log.info("file watcher registration refused: %s", exc)

    def workspace_roots(self) -> list[str]:
        uris = [f.uri for f in self.workspace.folders.values()]
        if self.workspace.root_uri:
            uris.append(self.workspace.root_uri)
        return [p for p in (to_fs_path(u) for u in uris) if p]


def create_server() -> QwenLanguageServer:
    """A server with every qwen-lsp feature registered."""
    server = QwenLanguageServer()

    @server.feature(lsp.INITIALIZE)
    def initialize(ls: QwenLanguageServer, params: lsp.InitializeParams) -> None:
        """``initialize``: encoding, workspace folders, ``initializationOptions`` settings."""
        encoding = PositionEncoding(ls.workspace.position_encoding or "utf-16")
        ls.initialize(encoding, tuple(ls.workspace_roots()), params.initialization_options)

    @server.feature(lsp.INITIALIZED)
    async def initialized(ls: QwenLanguageServer, params: lsp.InitializedParams) -> None:
        """``initialized``: index the workspace in the background, open the backend connection."""
        engine = await ls.load_engine()
        await asyncio.gather(ls.start_indexing(), engine.warm())

    @server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def did_change_configuration(
        ls: QwenLanguageServer, params: lsp.DidChangeConfigurationParams
    ) -> None:
        """``workspace/didChangeConfiguration``: ``settings`` or ``settings["qwen-lsp"]``."""
        ls.engine.configure(unwrap(params.settings))

    @server.feature(lsp.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def did_change_folders(
        ls: QwenLanguageServer, params: lsp.DidChangeWorkspaceFoldersParams
    ) -> None:
        """``workspace/didChangeWorkspaceFolders``: paths in prompts are relative to these."""
        ls.engine.set_roots(ls.workspace_roots())

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: QwenLanguageServer, params: lsp.DidSaveTextDocumentParams) -> None:
        """``textDocument/didSave``: re-index the file."""
        ls.engine.saved(params.text_document.uri)

    @server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(
        ls: QwenLanguageServer, params: lsp.DidChangeWatchedFilesParams
    ) -> None:
        """``workspace/didChangeWatchedFiles``: files created, changed or deleted on disk."""
        ls.engine.files_changed(change.uri for change in params.changes)

    @server.feature(lsp.TEXT_DOCUMENT_INLINE_COMPLETION, lsp.InlineCompletionOptions())
    async def inline_completion(
        ls: QwenLanguageServer, params: lsp.InlineCompletionParams
    ) -> lsp.InlineCompletionList:
        """``textDocument/inlineCompletion``: ghost text at the cursor."""
        invoked = params.context.trigger_kind == lsp.InlineCompletionTriggerKind.Invoked
        found = await ls.engine.suggest(
            params.text_document.uri,
            params.position.line,
            params.position.character,
            invoked,
            kind="inline",
        )
        return items.inline_list(found) if found else lsp.InlineCompletionList(items=[])

    @server.feature(
        lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=COMPLETION_TRIGGERS)
    )
    async def completion(
        ls: QwenLanguageServer, params: lsp.CompletionParams
    ) -> lsp.CompletionList:
        """``textDocument/completion``: the same text as one completion item."""
        invoked = (
            params.context is not None
            and params.context.trigger_kind == lsp.CompletionTriggerKind.Invoked
        )
        found = await ls.engine.suggest(
            params.text_document.uri,
            params.position.line,
            params.position.character,
            invoked,
            kind="completion",
        )
        if found is None:
            return items.empty_completion_list()
        markdown, snippet = ls.completion_formats()
        return items.completion_list(found, markdown=markdown, snippet=snippet)

    @server.command(items.ACCEPT_COMMAND)
    def accepted(ls: QwenLanguageServer, *args: Any) -> None:
        """``workspace/executeCommand`` run by the editor when a suggestion is accepted."""
        ls.engine.accepted(args[0] if args else None)

    @server.feature(STATS_REQUEST)
    def stats(ls: QwenLanguageServer, params: Any) -> dict[str, Any]:
        """``qwen/stats``: suggestions shown and accepted, per language, and request counters."""
        return ls.engine.stats.snapshot()

    @server.feature(lsp.SHUTDOWN)
    async def shutdown(ls: QwenLanguageServer, params: Any) -> None:
        """``shutdown``: stop in-flight requests and close connections."""
        await ls.aclose()

    return server
