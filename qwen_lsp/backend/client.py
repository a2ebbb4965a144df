"""The backend client: one pooled HTTP client, what it learned about the server (backend).

:meth:`Backend.stream` posts a :class:`~qwen_lsp.prompts.BackendRequest` and yields the
generated text piece by piece, from a server-sent-event stream or a plain JSON body (decided by
the response's content type, not by what was asked). Closing the generator early (the caller
has seen enough, or its task was cancelled) closes the HTTP response, so the server sees the
client go and stops generating.

What a real server does, and what this client does about it:

* a pooled keep-alive connection the server already dropped fails the next request with
  "Server disconnected without sending a response": retried once, on a fresh connection;
* an empty ``200 text/event-stream`` (llama.cpp servers, for a prompt over their context) is
  asked again without streaming, which gets the server's real answer or its error;
* a stream that ends without a ``finish_reason`` (llama-cpp-python ends an in-flight stream with
  ``[DONE]`` when another request arrives) raises :class:`TruncatedStream` after its text;
* a prompt over the context size (:class:`ContextLengthError`) teaches the context size, and a
  404 of ``/completions`` in ``auto`` mode teaches that the server has no FIM endpoint:
  :meth:`Backend.effective` then gives settings that fit, for the caller's one retry;
* a ``<think>…</think>`` block at the start of an answer is dropped.

:meth:`Backend.slot` limits completions in flight per server (``maxInFlight``; one at a time
for a server on this machine, whose requests would otherwise interrupt or queue behind each
other). :meth:`Backend.warm` opens the connection and reads what the server says about itself
(``GET /models``, llama.cpp's ``GET /props``).

The API key never appears in an error, and it is only ever sent to ``baseUrl`` (redirects are
not followed).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import http.cookiejar
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from .. import __version__
from ..config import Settings
from . import families, limits
from .errors import (
    BackendError,
    BackendTimeout,
    ConnectError,
    ContextLengthError,
    EmptyStreamError,
    EndpointNotFoundError,
    ProtocolError,
    TruncatedStream,
    clip,
    status_error,
)
from .families import Family
from .http11 import LeanTransport
from .sse import ThinkFilter, piece, sse_events

if TYPE_CHECKING:  # prompts imports backend.families: a runtime import would be a cycle
    from ..prompts import BackendRequest

try:  # HTTP/2 when the optional `h2` package is there (httpx[http2])
    import h2  # noqa: F401

    _HTTP2 = True
except ImportError:  # pragma: no cover - depends on the environment
    _HTTP2 = False

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 2.0  # for what warm() asks besides opening the connection
KEEPALIVE_S = 120.0  # how long an idle pooled connection is kept
DRAIN_S = 0.5  # how long the end of a body may take to follow its [DONE]


@dataclass
class ServerInfo:
    """What qwen-lsp knows about the server at one ``baseUrl``."""

    family: Family
    #: The context size the server reported (error, ``/props``, ``/models``), if any.
    n_ctx: int | None = None
    #: The size the budgets are fitted to (below ``n_ctx`` after a prompt still overflowed).
    fit_ctx: int | None = None
    #: ``/completions`` answered 404: ``auto`` mode uses partial mode.
    no_fim: bool = False


class Backend:
    """One pooled, keep-alive HTTP client for all completions (rebuilt when settings change)."""

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._client_key: tuple[str, int] | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self._servers: dict[str, ServerInfo] = {}
        self._slots: dict[tuple[str, int], asyncio.Semaphore] = {}

    # -- what the server is ---------------------------------------------------------------------

    def server(self, settings: Settings) -> ServerInfo:
        info = self._servers.get(settings.base_url)
        if info is None:
            info = self._servers[settings.base_url] = ServerInfo(
                families.guess_family(settings.base_url)
            )
        return info

    def family(self, settings: Settings) -> Family:
        return self.server(settings).family

    def effective(self, settings: Settings) -> Settings:
        """``settings`` as this server needs them: budgets that fit, partial mode without FIM."""
        info = self.server(settings)
        if info.no_fim and settings.mode == "auto" and settings.uses_fim:
            settings = dataclasses.replace(settings, mode="chat")
        if info.fit_ctx is not None:
            settings = limits.fit(settings, info.fit_ctx)
        return settings

    def _learn_context(self, exc: ContextLengthError, settings: Settings) -> None:
        info = self.server(settings)
        reported = exc.n_ctx
        if reported is not None:
            info.n_ctx = reported
        current = info.fit_ctx
        if reported is not None and (current is None or reported < current):
            info.fit_ctx = reported
        elif current is not None:
            info.fit_ctx = int(current * 0.75)  # fitted and still too long: our counts are off
        else:
            info.fit_ctx = max(256, limits.total_tokens(settings) // 2)

    def _learn_context_size(self, settings: Settings, n_ctx: int | None) -> None:
        if n_ctx is None:
            return
        info = self.server(settings)
        if n_ctx != info.n_ctx or info.fit_ctx is None or n_ctx < info.fit_ctx:
            info.fit_ctx = n_ctx  # a new figure (the server restarted bigger?) is believed
        info.n_ctx = n_ctx

    # -- connection -----------------------------------------------------------------------------

    def _client_for(self, settings: Settings) -> httpx.AsyncClient:
        key = (settings.base_url, settings.timeout_ms)
        if self._client is None or self._client_key != key:
            old = self._client
            seconds = settings.timeout_ms / 1000
            self._client = httpx.AsyncClient(
                base_url=settings.base_url,
                timeout=httpx.Timeout(seconds, connect=min(seconds, 5.0)),
                limits=httpx.Limits(max_keepalive_connections=4, keepalive_expiry=KEEPALIVE_S),
                http2=_HTTP2 and settings.base_url.startswith("https:"),
                follow_redirects=False,
                transport=self._transport or _lean_transport(settings.base_url),
                headers={"User-Agent": f"qwen-lsp/{__version__}"},
                cookies=_NoCookies(),
            )
            self._client_key = key
            if old is not None:  # settings changed: whatever it still carries is stale
                task = asyncio.ensure_future(old.aclose())
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
        return self._client

    async def warm(self, settings: Settings) -> None:
        """Open the connection (TCP, TLS, HTTP/2) and read what the server says about itself."""
        client = self._client_for(settings)
        # Only an optimisation: a real request reports any problem.
        with contextlib.suppress(httpx.HTTPError, ValueError):
            response = await client.get("/models", headers=_auth(settings))
            if response.status_code == 200:
                payload = response.json()
                info = self.server(settings)
                info.family = families.family_from_models(payload) or info.family
                self._learn_context_size(
                    settings, families.n_ctx_from_models(payload, settings.model)
                )
        if settings.is_local and self.server(settings).family in ("llama.cpp", "openai"):
            with contextlib.suppress(httpx.HTTPError, ValueError):
                root = settings.base_url.removesuffix("/v1")
                response = await client.get(f"{root}/props", timeout=PROBE_TIMEOUT_S)
                if response.status_code == 200:
                    n_ctx = families.n_ctx_from_props(response.json())
                    if n_ctx is not None:
                        self.server(settings).family = "llama.cpp"
                        self._learn_context_size(settings, n_ctx)

    @staticmethod
    def in_flight_limit(settings: Settings) -> int:
        """Completions the server may have in flight at once (0: no limit): ``maxInFlight``,
        else one for a server on this machine (llama.cpp cuts a stream short for the next)."""
        return settings.max_in_flight or (1 if settings.is_local else 0)

    @contextlib.asynccontextmanager
    async def slot(self, settings: Settings) -> AsyncIterator[None]:
        """Hold one of the server's in-flight places (``maxInFlight``) while inside."""
        limit = self.in_flight_limit(settings)
        if limit <= 0:
            yield
            return
        key = (settings.base_url, limit)
        semaphore = self._slots.get(key)
        if semaphore is None:
            semaphore = self._slots[key] = asyncio.Semaphore(limit)
        async with semaphore:
            yield

    # -- completions ----------------------------------------------------------------------------

    async def stream(
        self, request: BackendRequest, settings: Settings
    ) -> AsyncGenerator[str, None]:
        """POST ``request`` and yield the generated text as it arrives.

        Use inside ``contextlib.aclosing`` (or iterate to the end) so that stopping early
        closes the response.
        """
        think = ThinkFilter()
        try:
            async with contextlib.aclosing(self._pieces(request, request.body, settings)) as it:
                async for text in it:
                    if kept := think.feed(text):
                        yield kept
        except TruncatedStream:
            if rest := think.flush():
                yield rest
            raise
        if rest := think.flush():
            yield rest

    async def _pieces(
        self, request: BackendRequest, body: dict[str, Any], settings: Settings
    ) -> AsyncGenerator[str, None]:
        client = self._client_for(settings)
        yielded = empty = False
        try:
            response = await self._send(client, request.path, body, settings)
            try:
                if response.status_code != 200:
                    raise self._status_error(response, await response.aread(), request, settings)
                content_type = response.headers.get("content-type", "")
                if content_type.startswith("text/event-stream"):
                    events = 0
                    async with contextlib.aclosing(self._read_sse(response, request.chat)) as sse:
                        async for text in sse:
                            if text is None:
                                events += 1
                                continue
                            yielded = True
                            yield text
                    if events:
                        return
                    if not body.get("stream"):
                        raise EmptyStreamError("the server sent an empty event stream")
                    empty = True
                else:
                    raw = await response.aread()
                    try:
                        payload = json.loads(raw)
                    except ValueError as exc:
                        raise ProtocolError("the answer is not valid JSON") from exc
                    text, _ = piece(payload, request.chat)
                    if text:
                        yield text
                    return
            finally:
                await response.aclose()
        except httpx.TimeoutException as exc:
            raise BackendTimeout(f"no answer within {settings.timeout_ms} ms") from exc
        except httpx.ConnectError as exc:
            raise ConnectError(f"cannot reach {settings.base_url}: {clip(str(exc))}") from exc
        except httpx.HTTPError as exc:
            why = f"connection failed: {clip(str(exc) or type(exc).__name__)}"
            if yielded:
                raise TruncatedStream(f"the stream broke off ({why})") from exc
            raise ProtocolError(why) from exc
        if empty:
            # An empty 200 stream says nothing; the same request without streaming gets the
            # server's real answer, or its error (llama.cpp: context_length_exceeded).
            log.info("empty event stream from %s; asking again without streaming", request.path)
            again = self._pieces(request, {**body, "stream": False}, settings)
            async with contextlib.aclosing(again) as it:
                async for text in it:
                    yield text
            return

    @staticmethod
    async def _send(
        client: httpx.AsyncClient, path: str, body: dict[str, Any], settings: Settings
    ) -> httpx.Response:
        """Send, retrying once when a pooled connection turns out to be closed already."""
        for attempt in range(2):
            built = _post(client, path, body, settings)
            try:
                return await client.send(built, stream=True)
            except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
                if attempt:
                    raise
                log.info("connection dropped before an answer (%s); retrying once", exc)
        raise AssertionError("unreachable")  # pragma: no cover

    def _status_error(
        self, response: httpx.Response, raw: bytes, request: BackendRequest, settings: Settings
    ) -> BackendError:
        error = status_error(response.status_code, raw, response.headers, settings.model)
        if isinstance(error, ContextLengthError):
            self._learn_context(error, settings)
        elif (
            isinstance(error, EndpointNotFoundError)
            and not request.chat
            and settings.mode == "auto"
        ):
            self.server(settings).no_fim = True
        return error

    @staticmethod
    async def _read_sse(response: httpx.Response, chat: bool) -> AsyncGenerator[str | None, None]:
        """Text pieces; ``None`` once per event (so the caller can tell an empty stream)."""
        finished = False
        events = 0
        datas = sse_events(response.aiter_lines())
        async for data in datas:
            events += 1
            yield None
            if data.strip() == "[DONE]":
                await _drain(datas)
                break
            try:
                payload = json.loads(data)
            except ValueError as exc:
                raise ProtocolError("a stream event is not valid JSON") from exc
            text, finish = piece(payload, chat)
            finished = finished or finish is not None
            if text:
                yield text
        if events and not finished:
            raise TruncatedStream("the stream ended before the answer was complete")

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


async def _drain(rest: AsyncIterator[str]) -> None:
    """Read what follows ``[DONE]`` (normally only the end of the body, already on its way), so
    that the connection goes back to the pool: a response closed before its end closes its
    HTTP/1.1 connection, and the next request would pay for a new one. A server that keeps the
    body open after ``[DONE]`` gets :data:`DRAIN_S`; the answer is complete either way."""
    with contextlib.suppress(TimeoutError, httpx.HTTPError):
        async with asyncio.timeout(DRAIN_S):
            async for _ in rest:
                pass


def _lean_transport(base_url: str) -> httpx.AsyncBaseTransport | None:
    """Plain HTTP (a server on this machine or the local network) goes through the lean
    transport, a millisecond cheaper per request than httpx's; HTTPS keeps httpx's (TLS,
    HTTP/2). ``None``: httpx's default."""
    return LeanTransport(keepalive_expiry=KEEPALIVE_S) if base_url.startswith("http:") else None


class _NoCookies(http.cookiejar.CookieJar):
    """A completion API sets no cookie worth keeping; not parsing responses for them saves
    a little on every request, and no state outlives the answer."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        pass


def _post(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], settings: Settings
) -> httpx.Request:
    """``client.build_request("POST", path, json=body, ...)`` without what it redoes on every
    call (parsing and merging the URL, merging cookies): the same request in under half the
    time. ``path`` is relative to ``client.base_url``, as there."""
    url = _url(client.base_url, path)
    try:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    except UnicodeEncodeError:  # a lone surrogate (from the client's JSON): as a \u escape
        data = json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
    headers = [*client.headers.raw, (b"Content-Type", b"application/json")]
    headers.extend((k.encode(), v.encode()) for k, v in _auth(settings).items())
    return httpx.Request(
        "POST",
        url,
        headers=headers,
        content=data,
        extensions={"timeout": client.timeout.as_dict()},
    )


@functools.lru_cache(maxsize=16)
def _url(base: httpx.URL, path: str) -> httpx.URL:
    """``path`` under ``base`` (whose path ends with ``/``, as httpx keeps a ``base_url``)."""
    return base.copy_with(raw_path=base.raw_path + path.lstrip("/").encode("ascii"))


def _auth(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
