"""Engine: runs one completion through the stages, and owns the state between requests.

The server's handlers (and ``qwen-lsp complete``) call :meth:`Engine.suggest`; it walks
documents → scheduler → context → prompts → backend → postprocess and returns a
:class:`~qwen_lsp.items.Suggestion`. Besides the stages it holds what outlives one request:
the settings, the open documents, the rate-limit back-off and which warnings the user has
already seen (each is shown once until the settings change).

Nothing here knows about pygls: it talks to the client through a :class:`Notifier`.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from contextlib import aclosing
from typing import Protocol
from urllib.parse import unquote, urlsplit

from lsprotocol.types import MessageType

from . import backend as be
from . import redact
from .config import Settings, defaults, parse_settings
from .context import Context, TokenCounter, build_context, estimate_tokens, word_start
from .documents import Document, DocumentStore, PositionError, index_to_column, line_content
from .items import Suggestion
from .postprocess import StreamCutter, finish
from .prompts import BackendRequest, build_request
from .scheduler import Scheduler
from .stats import Stats

log = logging.getLogger(__name__)


class Notifier(Protocol):
    """How the engine reaches the user (``window/showMessage``, ``window/logMessage``...)."""

    def show(self, level: MessageType, text: str) -> None: ...

    def log(self, level: MessageType, text: str) -> None: ...

    def status(self, state: str, message: str) -> None: ...


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
        self.count = count
        self.roots: list[str] = []
        self._shown: set[str] = set()
        self._blocked_until = 0.0
        self._backoff = 0.0
        self._inflight = 0
        self.stats = Stats()
        redact.add_secret(self.settings.api_key)

    # -- settings ---------------------------------------------------------------------------

    def configure(self, raw: object) -> None:
        """Apply a client settings object; bad values are shown and the old ones kept."""
        new, errors = parse_settings(raw, self.settings)
        for error in errors:
            self.notifier.show(MessageType.Warning, error)
        if new != self.settings:
            redact.add_secret(new.api_key)
            self.settings = new
            self._shown.clear()
            self._blocked_until = self._backoff = 0.0
            log.info("settings: %s", new.redacted())
            self._set_status()

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
            self._show_once(
                "no-key",
                MessageType.Warning,
                "qwen-lsp: no API key. Set `apiKey` in the qwen-lsp settings or DASHSCOPE_API_KEY "
                "in the environment the editor starts qwen-lsp from.",
            )
            return None
        doc = self.documents.get(uri)
        if doc is None:
            self.notifier.log(
                MessageType.Warning,
                f"qwen-lsp: completion asked for {uri}, which is not open; answered empty",
            )
            return None
        try:
            doc.locate(line, character)
        except PositionError as exc:
            self.notifier.log(MessageType.Warning, f"qwen-lsp: {exc} in {uri}; answered empty")
            return None
        if time.monotonic() < self._blocked_until:
            return None
        delay = 0.0 if invoked else settings.debounce_ms / 1000
        version = doc.version
        found = await self.scheduler.run(
            uri, kind, delay, lambda: self._fetch(doc, version, line, character, settings)
        )
        if found is not None:
            self.stats.shown[found.language] += 1
        return found

    def accepted(self, argument: object) -> None:
        """The editor ran the accept command of an item it had shown."""
        language = argument.get("language", "") if isinstance(argument, dict) else ""
        self.stats.accepted[str(language)] += 1
        log.info("accepted a %s completion; stats: %s", language or "?", self.stats.snapshot())

    async def warm(self) -> None:
        """Open the backend connection now, so the first completion skips the handshakes."""
        if self.settings.enabled and (self.settings.api_key or self.settings.is_local):
            await self.backend.warm(self.settings)

    def edited(self, uri: str) -> None:
        """A document changed: whatever is computing for it is stale."""
        self.scheduler.supersede(uri)

    def _current(self, doc: Document, version: int) -> bool:
        return doc.version == version and self.documents.get(doc.uri) is doc

    async def _fetch(
        self, doc: Document, version: int, line: int, character: int, settings: Settings
    ) -> Suggestion | None:
        if not self._current(doc, version):
            return None
        # Everything up to the request is synchronous: the document cannot change under us.
        row, index = doc.locate(line, character)
        content = line_content(doc.lines[row])
        ctx = build_context(
            doc.lines,
            row,
            index,
            prefix_budget=settings.max_prefix_tokens,
            suffix_budget=settings.max_suffix_tokens,
            count=self.count,
            path=self.relative_path(doc.uri),
            language=doc.language_id,
        )
        request = build_request(ctx, settings)
        try:
            raw = await self._read(request, ctx, settings)
        except be.BackendError as exc:
            self.stats.count("error")
            self._report(exc, settings)
            return None
        self._backoff = 0.0
        self._shown.discard("rate-limit")
        if not self._current(doc, version):
            return None
        text = finish(raw, ctx, chat=request.chat)
        if text is None:
            return None
        start = word_start(ctx.line_prefix)
        return Suggestion(
            text=text,
            line=row,
            character=index_to_column(content, index, doc.encoding),
            word_start=index_to_column(content, start, doc.encoding),
            word=ctx.line_prefix[start:],
            id=uuid.uuid4().hex,
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
                            break
        except TimeoutError as exc:
            raise be.BackendTimeout(f"no answer within {settings.timeout_ms} ms") from exc
        finally:
            self._inflight -= 1
            self._set_status()
        return cutter.text

    # -- faults -----------------------------------------------------------------------------

    def _report(self, exc: be.BackendError, settings: Settings) -> None:
        text = redact.scrub(str(exc))
        if isinstance(exc, be.AuthError):
            self._show_once(
                "auth",
                MessageType.Error,
                f"qwen-lsp: the backend refused the API key ({text}). Check `apiKey` and that "
                f"the key belongs to the region of `baseUrl` ({settings.base_url}).",
            )
        elif isinstance(exc, be.RateLimitError):
            self._backoff = min(60.0, max(2.0, self._backoff * 2))
            pause = exc.retry_after if exc.retry_after is not None else self._backoff
            self._blocked_until = time.monotonic() + pause
            self._show_once(
                "rate-limit",
                MessageType.Warning,
                f"qwen-lsp: rate limited by the backend ({text}); pausing completions for "
                f"{pause:.0f} s.",
            )
        elif isinstance(exc, be.ModelNotFoundError):
            self._show_once(
                "model",
                MessageType.Error,
                f"qwen-lsp: model {settings.model!r} was not found or this key cannot use it "
                f"({text}). Check the `model` setting.",
            )
        else:
            self.notifier.log(MessageType.Warning, f"qwen-lsp: completion failed: {text}")
        self.notifier.status("error", text)

    def _show_once(self, key: str, level: MessageType, text: str) -> None:
        self.notifier.log(level, text)
        if key not in self._shown:
            self._shown.add(key)
            self.notifier.show(level, text)

    def _set_status(self) -> None:
        if not self.settings.enabled:
            self.notifier.status("disabled", "completions are off")
        elif self._inflight:
            self.notifier.status("fetching", f"asking {self.settings.model}")
        else:
            self.notifier.status("ready", self.settings.model)

    # -- workspace ----------------------------------------------------------------------------

    def relative_path(self, uri: str) -> str:
        """The document's path relative to its workspace folder (as the prompt shows it)."""
        parts = urlsplit(uri)
        path = unquote(parts.path) if parts.scheme == "file" else uri
        for root in self.roots:
            if path.startswith(root.rstrip("/") + "/"):
                return path[len(root.rstrip("/")) + 1 :]
        return path.rsplit("/", 1)[-1]

    async def aclose(self) -> None:
        await self.scheduler.close()
        await self.backend.aclose()
