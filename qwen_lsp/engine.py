"""Engine: runs one completion through the stages, and owns the state between requests.

The server's handlers (and ``qwen-lsp complete``) call :meth:`Engine.suggest`; it walks
documents → (reuse) → context → prompts → scheduler → backend → postprocess and returns a
:class:`~qwen_lsp.items.Suggestion`. The context and the request are built at once, while the
document is known to be the one the request is about; a typed-ahead suggestion or a cached answer
is returned without waiting; anything else waits out the debounce in the scheduler and goes to
the backend. Besides the stages it holds what outlives a request: settings, the documents, the
workspace (folders, index, recent documents: :mod:`qwen_lsp.workspace`), the reuse caches, the
speculative answers (:mod:`qwen_lsp.speculation`: the suggestion after a shown one is accepted,
from the rest of its reply or a request of its own), the fault policy and the counters.

Nothing here knows about pygls: it talks to the client through a :class:`Notifier`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterable
from contextlib import aclosing
from typing import Any

from lsprotocol.types import MessageType

from . import backend as be
from . import redact
from .config import Settings, defaults, parse_settings
from .context import Context, build_context, word_start
from .debounce import DebouncePolicy
from .documents import (
    Change,
    Document,
    DocumentStore,
    PositionError,
    index_to_column,
    line_content,
)
from .faults import FaultPolicy, Notifier
from .items import Suggestion
from .postprocess import StreamCutter, finish_edit
from .prompts import BackendRequest, build_request
from .reuse import (
    ANCHOR_CHARS,
    STREAM_TYPED_MAX,
    AnswerCache,
    Shown,
    TypedAhead,
    can_serve,
    rest_of,
    typed_since,
)
from .scheduler import KEEP_OLDER, InFlight, Scheduler, Stream
from .speculation import (
    TAIL_MAX_CHARS,
    Outcomes,
    Speculations,
    accepted_anchor,
    accepted_context,
    beyond,
    may_request,
)
from .stats import Stats
from .tokens import TokenCounter, counter_for, estimate_tokens
from .workspace import Progress, Workspace

log = logging.getLogger(__name__)

__all__ = ["Engine", "Notifier"]

REWARM_AFTER_S = 60.0  # idle time after which an edit re-opens the backend connection
TOKENIZER_WAIT_S = 3.0  # longest a request waits for the tokenizer still loading at start-up


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
        self.inflight: InFlight[Shown | None] = InFlight()
        self.debounce = DebouncePolicy()
        self.faults = FaultPolicy(notifier)
        self.stats = Stats()
        self.count = count
        self.workspace = Workspace(self.settings)
        self.typed_ahead = TypedAhead()
        self.cache = AnswerCache()
        self.speculations = Speculations()
        self.outcomes = Outcomes()  # whether the user takes suggestions (speculation asks)
        self._inflight = 0
        self._last_io = 0.0
        self._background: set[asyncio.Task[None]] = set()
        self._tokenizer: asyncio.Future[None] | None = None  # a vocabulary being loaded
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
                self._tokenizer = self._spawn(self._load_tokenizer(new.model))
            self.settings = new
            self.workspace.configure(new)
            self.faults.reset()
            self.cache.clear()
            self.typed_ahead.clear()
            self.speculations.clear()
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
        self.debounce.keystroke(time.monotonic(), changes[-1].text if changes else "")
        if len(changes) == 1:
            self.outcomes.edited(self.typed_ahead.current(uri), changes[0].text)
        self.workspace.edited(doc, changes)
        if self._inflight == 0 and time.monotonic() - self._last_io > REWARM_AFTER_S:
            self._spawn(self._warm_connection())  # the pooled connection may have expired
        return True

    def close_document(self, uri: str) -> None:
        """Forget a document; it stays a snippet source for a while (recently edited)."""
        self.scheduler.supersede(uri)
        self.inflight.forget(uri)
        self.typed_ahead.forget(uri)
        self.speculations.forget(uri)
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
        if self._tokenizer is not None and not self._tokenizer.done():
            # Budgets are counted in the model's tokens: a request in the first moments after
            # start-up waits for the vocabulary rather than overflow the server's context.
            await asyncio.wait({self._tokenizer}, timeout=TOKENIZER_WAIT_S)  # never raises
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
        lookback = max(
            self.typed_ahead.lookback(uri),
            self.speculations.lookback(uri),
            ANCHOR_CHARS + STREAM_TYPED_MAX,
        )
        before = doc.text_before(row, index, lookback)
        if (hit := self.typed_ahead.match(uri, before, line_suffix)) is not None:
            self.stats.count("typed_ahead")
            return self._suggestion(doc, row, index, hit[0], hit[1].id, hit[1].replace)
        shown_now = self.typed_ahead.current(uri)
        self.outcomes.left(shown_now)
        if (hit := self.speculations.match(uri, shown_now, before, line_suffix)) is not None:
            self.stats.count("speculation")
            self.typed_ahead.remember(uri, hit[1])  # the accepted state's suggestion is shown
            return self._suggestion(doc, row, index, hit[0], hit[1].id, hit[1].replace)

        settings = self._effective(settings)
        ctx = self._context(doc, row, index, settings)
        request = build_request(ctx, settings, self.backend.family(settings))
        key = self.cache.key(request)
        if (raw := self.cache.get(key)) is not None:
            self.stats.count("cache")
            return self._finish(doc, row, index, ctx, raw, request.chat, settings)
        if self.faults.blocked():
            return None
        version = doc.version
        anchor = doc.text_before(row, index, ANCHOR_CHARS)
        older, confirmed = self._serving_stream(uri, before, line_suffix)
        if invoked:
            delay = 0.0
        else:
            decision = self.debounce.delay(settings.debounce, settings.debounce_ms, line_suffix)
            delay = decision.seconds
        answered = False  # the job ran to the end (else the scheduler superseded it)

        def current() -> bool:
            return doc.version == version and self.documents.get(uri) is doc

        def served(stream: Stream[Shown | None]) -> Suggestion | None:
            """The answer ``stream`` gives this request, once it is done."""
            task = stream.task
            if task is None or task.cancelled() or task.exception() is not None:
                return None
            shown = task.result()
            rest = None if shown is None else rest_of(shown, before, line_suffix)
            if shown is None or rest is None or not current():
                return None
            if stream.speculative:
                self.stats.count("speculation")
                self.typed_ahead.remember(uri, shown)
            else:
                self.stats.count("stream_reuse")
            return self._suggestion(doc, row, index, rest, shown.id, shown.replace)

        async def fetch() -> Suggestion | None:
            nonlocal answered, older
            if older is not None:
                with self.inflight.hold(older):
                    await asyncio.wait({_task(older)}, timeout=None if confirmed else delay)
                if older.done:
                    if (found := served(older)) is not None:
                        answered = True
                        return found
                    older = None
            stream = self.inflight.start(
                Stream(uri, anchor, line_suffix),
                lambda s: self._produce(s, doc, version, row, index, ctx, request, settings),
                # One place on the server: an older stream nobody waits for only holds it up.
                keep_older=0 if self.backend.in_flight_limit(settings) == 1 else KEEP_OLDER,
            )
            waiting = {_task(stream)} | ({_task(older)} if older is not None else set())
            with self.inflight.hold(stream, *([older] if older is not None else [])):
                while True:
                    done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                    if older is not None and _task(older) in done:
                        waiting.discard(_task(older))
                        if (found := served(older)) is not None:
                            answered = True
                            return found
                    if _task(stream) in done:
                        break
            shown = _task(stream).result()  # a BackendError propagates
            answered = True
            if not current():
                self.stats.count("stale")
                return None  # never answer for an older version of the document
            if shown is None:
                self.stats.count("empty")
                return None
            self.stats.shown[doc.language_id] += 1
            return self._suggestion(doc, row, index, shown.text, shown.id, shown.replace)

        try:
            found = await self.scheduler.run(uri, kind, delay if older is None else 0.0, fetch)
        except be.BackendError as exc:
            self.stats.count("error")
            self.faults.report(exc, settings)
            return None
        if not answered:
            self.stats.count("superseded")
        return found

    def _effective(self, settings: Settings) -> Settings:
        """The settings as this server needs them (the backend knows), told to the user once."""
        effective = self.backend.effective(settings)
        self.faults.adapted(settings, effective, self.backend.server(settings))
        return effective

    def _serving_stream(
        self, uri: str, before: str, line_suffix: str
    ) -> tuple[Stream[Shown | None] | None, bool]:
        """The newest in-flight stream that can still serve this cursor (the others nobody
        waits for are cancelled), and whether it already holds what was typed since."""
        for stream in self.inflight.streams(uri):
            typed = typed_since(stream.anchor, stream.line_suffix, before, line_suffix)
            if typed is not None and can_serve(stream.produced, typed, finished=False):
                self.inflight.drop(uri, keep=stream)
                # A speculative stream was asked for this very cursor: nothing asked now is
                # sooner.
                exact = stream.speculative and not typed
                return stream, exact or len(stream.produced) > len(typed)
        self.inflight.drop(uri)
        return None, False

    async def _produce(
        self,
        stream: Stream[Shown | None],
        doc: Document,
        version: int,
        row: int,
        index: int,
        ctx: Context,
        request: BackendRequest,
        settings: Settings,
    ) -> Shown | None:
        """Read one answer to the end; the suggestion it makes at the place it was asked.

        A server that turned out to need other settings (a smaller context, no FIM endpoint)
        is asked once more with them, if the document is still the one the answer is for.
        Only complete answers are cached.
        """
        keep_tail = settings.speculate != "off" and not request.chat
        tail: _Tail | None = None
        try:
            raw, complete, tail = await self._read(request, ctx, settings, stream, keep_tail)
        except (be.ContextLengthError, be.EndpointNotFoundError) as exc:
            retry = self._effective(self.settings)
            if retry == settings:
                raise  # nothing learned: nothing to retry with
            if doc.version != version or self.documents.get(doc.uri) is not doc:
                return None  # the text moved on: no retry for the old one
            self._log(f"{redact.scrub(str(exc))}; retrying once")
            ctx = self._context(doc, row, index, retry)
            request = build_request(ctx, retry, self.backend.family(retry))
            raw, complete, tail = await self._read(request, ctx, retry, stream)
        if complete:
            self.cache.put(self.cache.key(request), raw)
        edit = finish_edit(raw, ctx, chat=request.chat)
        if edit is None:
            self.typed_ahead.forget(stream.uri)
            if tail is not None:
                self._spawn(tail.close())
            return None
        shown = Shown(stream.anchor, ctx.line_suffix, edit.text, uuid.uuid4().hex, edit.replace)
        self.typed_ahead.remember(stream.uri, shown)
        self._speculate(stream.uri, shown, raw, ctx, request.chat, settings, tail)
        return shown

    # -- speculation: the suggestion after this one is accepted (qwen_lsp.speculation) --------

    def _speculate(
        self,
        uri: str,
        parent: Shown,
        raw: str,
        ctx: Context,
        chat: bool,
        settings: Settings,
        tail: _Tail | None = None,
    ) -> None:
        """Prepare the answer for the document as if ``parent`` (made of ``raw``) were
        accepted: from the reply's text past it (``tail``: the rest of the reply, still
        coming), else, in ``request`` mode, by asking. Never awaits: ``tail`` is handed on."""
        mode = settings.speculate
        rest = None if mode == "off" or chat else beyond(raw, parent.text)
        if rest is not None and tail is None and not rest.strip():
            rest = None  # the whole reply is in, and nothing past the suggestion but spaces
        if tail is not None and rest is None:
            self._spawn(tail.close())
            tail = None
        limit = self.backend.in_flight_limit(settings)
        asking = may_request(mode, limit, self._inflight, self.outcomes.accepting())
        if rest is None and not asking:
            return  # nothing to prepare: no accepted context built on the request path
        after = accepted_context(ctx, parent.text, parent.replace)
        anchor = accepted_anchor(parent.anchor, parent.text)
        ahead: Stream[Shown | None] = Stream(uri, anchor, after.line_suffix, speculative=True)
        if tail is not None and rest is not None:
            self.stats.count("speculative_tail")
            held, past = tail, rest
            self.inflight.start(
                ahead, lambda s: self._read_tail(s, parent, held, past, after), None
            )
            # Cancelled before it ran, the reader never closes the reply: close it then.
            _task(ahead).add_done_callback(lambda _: self._spawn(held.close()))
            return
        if rest is not None and self._ahead(ahead, parent, after, rest, False) is not None:
            return  # the whole reply had arrived and holds the next suggestion
        if asking and not self.faults.blocked():
            self.stats.count("speculative_request")
            asked = build_request(after, settings, self.backend.family(settings))
            self.inflight.start(
                ahead, lambda s: self._ask_ahead(s, parent, after, asked, settings), None
            )

    async def _read_tail(
        self, stream: Stream[Shown | None], parent: Shown, tail: _Tail, rest: str, ctx: Context
    ) -> Shown | None:
        """Read the reply on past ``parent`` (``rest`` has arrived) up to its next cut point
        in the accepted state's context ``ctx``, at most :data:`TAIL_MAX_CHARS`."""
        cutter = StreamCutter(ctx)
        stream.produced = rest
        try:
            async with tail.held:
                if not cutter.feed(rest):
                    async with asyncio.timeout_at(tail.deadline):
                        async for piece in tail.pieces:
                            stop = cutter.feed(piece)
                            stream.produced = cutter.text
                            if stop or len(cutter.text) > TAIL_MAX_CHARS:
                                break
            text = cutter.text
        except (TimeoutError, be.BackendError):
            text = be.complete_lines(cutter.text)
        return self._ahead(stream, parent, ctx, text, False)

    async def _ask_ahead(
        self,
        stream: Stream[Shown | None],
        parent: Shown,
        ctx: Context,
        request: BackendRequest,
        settings: Settings,
    ) -> Shown | None:
        """A speculative request for the accepted state's context ``ctx``."""
        raw, complete, _ = await self._read(request, ctx, settings, stream)
        if complete:
            self.cache.put(self.cache.key(request), raw)
        return self._ahead(stream, parent, ctx, raw, request.chat)

    def _ahead(
        self, stream: Stream[Shown | None], parent: Shown, ctx: Context, raw: str, chat: bool
    ) -> Shown | None:
        """The speculative answer made of ``raw``, kept for when ``parent`` is accepted."""
        edit = finish_edit(raw, ctx, chat=chat)
        if edit is None:
            return None
        answer = Shown(stream.anchor, ctx.line_suffix, edit.text, uuid.uuid4().hex, edit.replace)
        self.stats.count("speculation_ready")
        self.speculations.ready(stream.uri, parent, answer)
        return answer

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
        self,
        doc: Document,
        row: int,
        index: int,
        ctx: Context,
        raw: str,
        chat: bool,
        settings: Settings,
    ) -> Suggestion | None:
        edit = finish_edit(raw, ctx, chat=chat)
        if edit is None:
            self.stats.count("empty")
            self.typed_ahead.forget(doc.uri)
            return None
        found = self._suggestion(doc, row, index, edit.text, uuid.uuid4().hex, edit.replace)
        anchor = doc.text_before(row, index, ANCHOR_CHARS)
        shown = Shown(anchor, ctx.line_suffix, edit.text, found.id, edit.replace)
        self.typed_ahead.remember(doc.uri, shown)
        self._speculate(doc.uri, shown, raw, ctx, chat, settings)
        self.stats.shown[doc.language_id] += 1
        return found

    @staticmethod
    def _suggestion(
        doc: Document, row: int, index: int, text: str, id_: str, replace: int = 0
    ) -> Suggestion:
        line = line_content(doc.lines[row])
        content = line[:index]
        start = word_start(content)
        end = index_to_column(line, min(len(line), index + replace), doc.encoding)
        return Suggestion(
            text=text,
            line=row,
            character=index_to_column(content, index, doc.encoding),
            word_start=index_to_column(content, start, doc.encoding),
            word=content[start:],
            id=id_,
            language=doc.language_id,
            end=end if replace else -1,
        )

    async def _read(
        self,
        request: BackendRequest,
        ctx: Context,
        settings: Settings,
        stream: Stream[Shown | None] | None = None,
        keep_tail: bool = False,
    ) -> tuple[str, bool, _Tail | None]:
        """Stream the answer until it ends or the post-processor has seen the cut point.

        Returns the text, whether it is complete, and (``keep_tail``: speculation reads on)
        the rest of a reply stopped at the cut point, still open, or None. An answer cut short
        (a stream that ended without a ``finish_reason``, a timeout) is kept up to its last
        complete line, if any. ``stream``, if given, follows the text as it arrives (stream
        reuse reads it).
        """
        cutter = StreamCutter(ctx, request.chat)
        tail: _Tail | None = None
        async with contextlib.AsyncExitStack() as held:
            await held.enter_async_context(self.backend.slot(settings))
            self.stats.count("backend")
            self._inflight += 1
            self._set_status()
            began = time.monotonic()
            first = True
            deadline = asyncio.get_running_loop().time() + settings.timeout_ms / 1000
            try:
                async with asyncio.timeout_at(deadline):
                    reply = aclosing(self.backend.stream(request, settings))
                    pieces = await held.enter_async_context(reply)
                    async for piece in pieces:
                        if first:
                            self.debounce.backend_latency(time.monotonic() - began)
                            first = False
                        stop = cutter.feed(piece)
                        if stream is not None:
                            stream.produced = cutter.text
                        if stop:
                            self.stats.count("early_stop")
                            if keep_tail:  # the reply stays open: speculation reads on
                                tail = _Tail(pieces, held.pop_all(), deadline)
                            break
            except (TimeoutError, be.BackendTimeout, be.TruncatedStream) as exc:
                partial = be.complete_lines(cutter.text)
                timeout = f"no answer within {settings.timeout_ms} ms"
                error = be.BackendTimeout(timeout) if isinstance(exc, TimeoutError) else exc
                if not partial.strip():
                    if error is exc:
                        raise
                    raise error from exc
                self.stats.count("partial")
                self._log(f"{error}; kept the {partial.count(chr(10))} complete line(s)")
                return partial, False, None
            finally:
                self._inflight -= 1
                self._last_io = time.monotonic()
                self._set_status()
        self.faults.succeeded()
        return cutter.text, True, tail

    # -- acceptance, connection, status ---------------------------------------------------------

    def accepted(self, argument: object) -> None:
        """The editor ran the accept command of an item it had shown."""
        language = argument.get("language", "") if isinstance(argument, dict) else ""
        self.stats.accepted[str(language)] += 1
        log.info("accepted a %s completion; stats: %s", language or "?", self.stats.snapshot())

    async def warm(self) -> None:
        """Start-up: load the tokenizer and open the backend connection, side by side."""
        await asyncio.gather(self.load_tokenizer(), self._warm_connection())

    def load_tokenizer(self) -> asyncio.Future[None]:
        """Start loading the model's vocabulary, once (in a thread); requests wait for it."""
        if self._tokenizer is None:
            self._tokenizer = self._spawn(self._load_tokenizer())
        return self._tokenizer

    async def _load_tokenizer(self, model: str | None = None) -> None:
        self.count = await asyncio.to_thread(counter_for, model or self.settings.model)

    async def _warm_connection(self) -> None:
        settings = self.settings
        if settings.enabled and (settings.api_key or settings.is_local):
            self._last_io = time.monotonic()
            await self.backend.warm(settings)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

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
        await self.inflight.close()
        await self.backend.aclose()
        await asyncio.to_thread(self.workspace.close)


@dataclasses.dataclass(slots=True)
class _Tail:
    """The rest of a reply stopped at its cut point, still open: its pieces, what holds it
    (the response, the server's place) and when its time is up (the loop's clock)."""

    pieces: AsyncIterator[str]
    held: contextlib.AsyncExitStack
    deadline: float

    async def close(self) -> None:
        await self.held.aclose()


def _task(stream: Stream[Shown | None]) -> asyncio.Task[Shown | None]:
    assert stream.task is not None, "a stream is started before anyone waits for it"
    return stream.task
