"""Engine: runs one completion through the stages, and owns the state between requests.

The server's handlers (and ``qwen-lsp complete``) call :meth:`Engine.suggest`; it walks
documents → (reuse) → context → prompts → scheduler → backend → postprocess and returns a
:class:`~qwen_lsp.items.Suggestion`. The context and the request are built at once, while the
document is known to be the one the request is about; a typed-ahead suggestion or a cached answer
is returned without waiting; anything else waits out the debounce in the scheduler and goes to
the backend. Besides the stages it holds what outlives a request: settings, the documents, the
workspace (folders, index, recent documents: :mod:`qwen_lsp.workspace`), the reuse caches, the
fault policy and the counters.

Nothing here knows about pygls: it talks to the client through a :class:`Notifier`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from collections.abc import Coroutine, Iterable
from contextlib import aclosing
from typing import Any

from lsprotocol.types import MessageType

from . import backend as be
from . import redact
from .config import Settings, defaults, parse_settings
from .context import Context, build_context, word_start
from .documents import Change, Document, DocumentStore, PositionError, index_to_column, line_content
from .faults import FaultPolicy, Notifier
from .items import Suggestion
from .postprocess import StreamCutter, finish
from .prompts import BackendRequest, build_request
from .reuse import ANCHOR_CHARS, AnswerCache, Shown, TypedAhead
from .scheduler import Scheduler
from .stats import Stats
from .tokens import TokenCounter, counter_for, estimate_tokens
from .workspace import Progress, Workspace

log = logging.getLogger(__name__)

__all__ = ["Engine", "Notifier"]

REWARM_AFTER_S = 60.0  # idle time after which an edit re-opens the backend connection


class Engine:
    """Completion pipeline plus the state that outlives a request."""

    def __init__(
        self,
        notifier: Notifier,
        backend: be.Backend | None = None,
        settings: Settings | None = None,
        count: TokenCounter = estimate_tokens,
    ) -> None:
        self.notifier = notifier
        self.backend = backend or be.Backend()
        self.settings = settings or defaults()
        self.documents = DocumentStore()
        self.scheduler = Scheduler()
        self.faults = FaultPolicy(notifier)
        self.stats = Stats()
        self.count = count
        self.workspace = Workspace(self.settings)
        self.typed_ahead = TypedAhead()
        self.cache = AnswerCache()
        self._inflight = 0
        self._last_io = 0.0
        self._background: set[asyncio.Task[None]] = set()
        redact.add_secret(self.settings.api_key)

    # -- settings and documents -------------------------------------------------------------

    def configure(self, raw: object) -> None:
        """Apply a client settings object; bad values are shown and the old ones kept."""
        new, errors = parse_settings(raw, self.settings)
        for error in errors:
            self.notifier.show(MessageType.Warning, error)
        if new != self.settings:
            redact.add_secret(new.api_key)
            if new.model != self.settings.model and self.count is not estimate_tokens:
                self._spawn(self._load_tokenizer(new.model))
            self.settings = new
            self.workspace.configure(new)
            self.faults.reset()
            self.cache.clear()
            self.typed_ahead.clear()
            log.info("settings: %s", new.redacted())
            self._set_status()

    def open_document(self, uri: str, text: str, version: int, language: str) -> None:
        self.workspace.opened(self.documents.open(uri, text, version, language))

    def change_document(self, uri: str, version: int, changes: Iterable[Change]) -> bool:
        """Apply an edit; False for a document that is not open. Stale work is cancelled."""
        self.scheduler.supersede(uri)
        changes = list(changes)
        doc = self.documents.change(uri, version, changes)
        if doc is None:
            return False
        self.workspace.edited(doc, changes)
        if self._inflight == 0 and time.monotonic() - self._last_io > REWARM_AFTER_S:
            self._spawn(self._warm_connection())  # the pooled connection may have expired
        return True

    def close_document(self, uri: str) -> None:
        """Forget a document; it stays a snippet source for a while (recently edited)."""
        self.scheduler.supersede(uri)
        self.typed_ahead.forget(uri)
        self.documents.close(uri)
        self.workspace.closed(uri)

    def set_roots(self, folders: Iterable[str]) -> None:
        """The workspace folders (``initialize``, ``didChangeWorkspaceFolders``)."""
        self.workspace.set_roots(folders)

    def start_indexing(self, progress: Progress | None = None) -> None:
        """``initialized``: index the workspace folders in the background."""
        self.workspace.start(progress)

    def saved(self, uri: str) -> None:
        self.workspace.saved(uri)

    def files_changed(self, uris: Iterable[str]) -> None:
        self.workspace.files_changed(uris)

    # -- completion ---------------------------------------------------------------------------

    async def suggest(
        self, uri: str, line: int, character: int, invoked: bool = False, kind: str = "inline"
    ) -> Suggestion | None:
        """A completion at an LSP position, or ``None`` (nothing to offer, stale, or failed).

        ``invoked``: the user asked explicitly, so there is no debounce. ``kind`` names the
        request type, so an inline request and a completion request don't supersede each other.
        """
        settings = self.settings
        if not settings.enabled:
            return None
        if not settings.api_key and not settings.is_local:
            self.faults.missing_key()
            return None
        doc = self.documents.get(uri)
        if doc is None:
            self._log(f"completion asked for {uri}, which is not open; answered empty")
            return None
        try:
            row, index = doc.locate(line, character)
        except PositionError as exc:
            self._log(f"{exc} in {uri}; answered empty")
            return None

        line_suffix = line_content(doc.lines[row])[index:]
        before = doc.text_before(row, index, self.typed_ahead.lookback(uri))
        if (hit := self.typed_ahead.match(uri, before, line_suffix)) is not None:
            self.stats.count("typed_ahead")
            return self._suggestion(doc, row, index, hit[0], hit[1].id)

        ctx = self._context(doc, row, index, settings)
        request = build_request(ctx, settings)
        key = self.cache.key(request)
        if (raw := self.cache.get(key)) is not None:
            self.stats.count("cache")
            return self._finish(doc, row, index, ctx, raw, request.chat)
        if self.faults.blocked():
            return None
        delay = 0.0 if invoked else settings.debounce_ms / 1000
        version = doc.version
        answered = False  # the job ran to the end (else the scheduler superseded it)

        async def fetch() -> Suggestion | None:
            nonlocal answered
            raw = await self._read(request, ctx, settings)
            self.cache.put(key, raw)
            answered = True
            if doc.version != version or self.documents.get(uri) is not doc:
                self.stats.count("stale")
                return None  # never answer for an older version of the document
            return self._finish(doc, row, index, ctx, raw, request.chat)

        try:
            found = await self.scheduler.run(uri, kind, delay, fetch)
        except be.BackendError as exc:
            self.stats.count("error")
            self.faults.report(exc, settings)
            return None
        if not answered:
            self.stats.count("superseded")
        return found

    def context(self, uri: str, line: int, character: int) -> Context | None:
        """The context a completion at this position would send (benchmarks, diagnostics)."""
        doc = self.documents.get(uri)
        if doc is None:
            return None
        row, index = doc.locate(line, character)
        return self._context(doc, row, index, self.settings)

    def _context(self, doc: Document, row: int, index: int, settings: Settings) -> Context:
        ctx = build_context(
            doc.lines,
            row,
            index,
            prefix_budget=settings.max_prefix_tokens,
            suffix_budget=settings.max_suffix_tokens,
            count=self.count,
            path=self.workspace.relative_path(doc.uri),
            language=doc.language_id,
        )
        if self.workspace.root_of(doc.uri) is None:
            return ctx
        snippets = self.workspace.snippets(
            doc,
            row,
            index,
            ctx.prefix[-1500:] + ctx.suffix[:500],
            settings.max_repo_tokens,
            self.count,
        )
        return dataclasses.replace(
            ctx, snippets=snippets, repo_name=self.workspace.repo_name(doc.uri)
        )

    def _finish(
        self, doc: Document, row: int, index: int, ctx: Context, raw: str, chat: bool
    ) -> Suggestion | None:
        text = finish(raw, ctx, chat=chat)
        if text is None:
            self.stats.count("empty")
            self.typed_ahead.forget(doc.uri)
            return None
        found = self._suggestion(doc, row, index, text, uuid.uuid4().hex)
        anchor = doc.text_before(row, index, ANCHOR_CHARS)
        self.typed_ahead.remember(doc.uri, Shown(anchor, ctx.line_suffix, text, found.id))
        self.stats.shown[doc.language_id] += 1
        return found

    @staticmethod
    def _suggestion(doc: Document, row: int, index: int, text: str, id_: str) -> Suggestion:
        content = doc.lines[row][:index]
        start = word_start(content)
        return Suggestion(
            text=text,
            line=row,
            character=index_to_column(content, index, doc.encoding),
            word_start=index_to_column(content, start, doc.encoding),
            word=content[start:],
            id=id_,
            language=doc.language_id,
        )

    async def _read(self, request: BackendRequest, ctx: Context, settings: Settings) -> str:
        """Stream the answer until it ends or the post-processor has seen the cut point."""
        cutter = StreamCutter(ctx, request.chat)
        self.stats.count("backend")
        self._inflight += 1
        self._set_status()
        try:
            async with asyncio.timeout(settings.timeout_ms / 1000):
                async with aclosing(self.backend.stream(request, settings)) as pieces:
                    async for piece in pieces:
                        if cutter.feed(piece):
                            self.stats.count("early_stop")
                            break
        except TimeoutError as exc:
            raise be.BackendTimeout(f"no answer within {settings.timeout_ms} ms") from exc
        finally:
            self._inflight -= 1
            self._last_io = time.monotonic()
            self._set_status()
        self.faults.succeeded()
        return cutter.text

    # -- acceptance, connection, status ---------------------------------------------------------

    def accepted(self, argument: object) -> None:
        """The editor ran the accept command of an item it had shown."""
        language = argument.get("language", "") if isinstance(argument, dict) else ""
        self.stats.accepted[str(language)] += 1
        log.info("accepted a %s completion; stats: %s", language or "?", self.stats.snapshot())

    async def warm(self) -> None:
        """Start-up: load the tokenizer and open the backend connection, side by side."""
        await asyncio.gather(self._load_tokenizer(), self._warm_connection())

    async def _load_tokenizer(self, model: str | None = None) -> None:
        self.count = await asyncio.to_thread(counter_for, model or self.settings.model)

    async def _warm_connection(self) -> None:
        settings = self.settings
        if settings.enabled and (settings.api_key or settings.is_local):
            self._last_io = time.monotonic()
            await self.backend.warm(settings)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _set_status(self) -> None:
        if not self.settings.enabled:
            self.notifier.status("disabled", "completions are off")
        elif self._inflight:
            self.notifier.status("fetching", f"asking {self.settings.model}")
        else:
            self.notifier.status("ready", self.settings.model)

    def _log(self, text: str) -> None:
        self.notifier.log(MessageType.Warning, f"qwen-lsp: {text}")

    async def aclose(self) -> None:
        for task in list(self._background):
            task.cancel()
        await self.scheduler.close()
        await self.backend.aclose()
        await asyncio.to_thread(self.workspace.close)
