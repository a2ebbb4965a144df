"""Backend: HTTP to DashScope or an OpenAI-compatible server (prompts → **backend** → postprocess).

:meth:`Backend.stream` posts a :class:`~qwen_lsp.prompts.BackendRequest` and yields the
generated text piece by piece, from a server-sent-event stream or a plain JSON body (decided by
the response's content type, not by what was asked). Closing the generator early (the caller
has seen enough, or its task was cancelled) closes the HTTP response, so the server sees the
client go and stops generating.

Every failure is one of the :class:`BackendError` subclasses, with a message safe to show: the
API key never appears in it, and it is only ever sent to ``baseUrl`` (redirects are not
followed).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from email.utils import parsedate_to_datetime
from time import time
from typing import Any

import httpx

from . import __version__
from .config import Settings
from .prompts import BackendRequest

try:  # HTTP/2 when the optional `h2` package is there (httpx[http2])
    import h2  # noqa: F401

    _HTTP2 = True
except ImportError:  # pragma: no cover - depends on the environment
    _HTTP2 = False


class BackendError(Exception):
    """The backend did not produce a completion. ``str(err)`` is safe to show the user."""


class AuthError(BackendError):
    """401/403: a wrong key, a key of another region, or no access to the model."""


class RateLimitError(BackendError):
    """429: too many requests or no quota left; ``retry_after`` in seconds when given."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ModelNotFoundError(BackendError):
    """404: the model does not exist or this key cannot use it."""


class ServerError(BackendError):
    """5xx, or a 4xx that is none of the above."""


class BackendTimeout(BackendError):
    """No (complete) answer within ``timeoutMs``."""


class ConnectError(BackendError):
    """The server could not be reached (refused, DNS, TLS)."""


class ProtocolError(BackendError):
    """An answer that is not what the API promises: bad JSON, a truncated or failing stream."""


def _status_error(status: int, body: bytes, headers: Mapping[str, str], model: str) -> BackendError:
    detail = _error_detail(body)
    if status in (401, 403):
        return AuthError(f"HTTP {status}: {detail}")
    if status == 429:
        return RateLimitError(f"HTTP 429: {detail}", _retry_after(headers.get("retry-after")))
    if status == 404:
        return ModelNotFoundError(f"HTTP 404 for model {model!r}: {detail}")
    return ServerError(f"HTTP {status}: {detail}")


def _error_detail(body: bytes) -> str:
    """``code: message`` from an OpenAI/DashScope error body, else the start of the body."""
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        error = payload["error"]
        code = error.get("code") or error.get("type") or "error"
        return _clip(f"{code}: {error.get('message', '')}")
    return _clip(body.decode("utf-8", "replace").strip() or "(empty body)")


def _clip(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time())
    except (TypeError, ValueError):
        return None


def _piece(payload: Any, chat: bool) -> tuple[str, str | None]:
    """The text and finish_reason of one response object or stream chunk."""
    if not isinstance(payload, dict):
        raise ProtocolError("the answer is not a JSON object")
    if isinstance(payload.get("error"), dict):
        raise ProtocolError("error in the answer: " + _error_detail(json.dumps(payload).encode()))
    choices = payload.get("choices")
    if not isinstance(choices, list):
        raise ProtocolError("the answer has no 'choices' list")
    if not choices:
        return "", None  # e.g. the usage-only last chunk
    choice = choices[0]
    if not isinstance(choice, dict):
        raise ProtocolError("a choice is not an object")
    if chat:
        message = choice.get("delta") or choice.get("message") or {}
        text = message.get("content") if isinstance(message, dict) else None
    else:
        text = choice.get("text")
    if text is not None and not isinstance(text, str):
        raise ProtocolError("the completion text is not a string")
    finish = choice.get("finish_reason")
    return text or "", finish if isinstance(finish, str) else None


async def _sse_events(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The ``data`` of each server-sent event (multi-line data joined with newlines)."""
    data: list[str] = []
    async for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue  # comment / keep-alive
        name, _, value = line.partition(":")
        if name == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)


class Backend:
    """One pooled, keep-alive HTTP client for all completions (rebuilt when settings change)."""

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._client_key: tuple[str, int] | None = None
        self._closing: set[asyncio.Task[None]] = set()

    def _client_for(self, settings: Settings) -> httpx.AsyncClient:
        key = (settings.base_url, settings.timeout_ms)
        if self._client is None or self._client_key != key:
            old = self._client
            seconds = settings.timeout_ms / 1000
            self._client = httpx.AsyncClient(
                base_url=settings.base_url,
                timeout=httpx.Timeout(seconds, connect=min(seconds, 5.0)),
                limits=httpx.Limits(max_keepalive_connections=4, keepalive_expiry=120),
                http2=_HTTP2 and settings.base_url.startswith("https:"),
                follow_redirects=False,
                transport=self._transport,
                headers={"User-Agent": f"qwen-lsp/{__version__}"},
            )
            self._client_key = key
            if old is not None:  # settings changed: whatever it still carries is stale
                task = asyncio.ensure_future(old.aclose())
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
        return self._client

    async def warm(self, settings: Settings) -> None:
        """Open the connection (TCP, TLS, HTTP/2) ahead of the first completion."""
        client = self._client_for(settings)
        # Only an optimisation: a real request reports any problem.
        with contextlib.suppress(httpx.HTTPError):
            await client.get("/models", headers=_auth(settings))

    async def stream(
        self, request: BackendRequest, settings: Settings
    ) -> AsyncGenerator[str, None]:
        """POST ``request`` and yield the generated text as it arrives.

        Use inside ``contextlib.aclosing`` (or iterate to the end) so that stopping early
        closes the response.
        """
        client = self._client_for(settings)
        try:
            async with client.stream(
                "POST", request.path, json=request.body, headers=_auth(settings)
            ) as response:
                if response.status_code != 200:
                    body = await response.aread()
                    raise _status_error(
                        response.status_code, body, response.headers, settings.model
                    )
                content_type = response.headers.get("content-type", "")
                if content_type.startswith("text/event-stream"):
                    async for text in self._read_sse(response, request.chat):
                        yield text
                else:
                    body = await response.aread()
                    try:
                        payload = json.loads(body)
                    except ValueError as exc:
                        raise ProtocolError("the answer is not valid JSON") from exc
                    text, _ = _piece(payload, request.chat)
                    if text:
                        yield text
        except httpx.TimeoutException as exc:
            raise BackendTimeout(f"no answer within {settings.timeout_ms} ms") from exc
        except httpx.ConnectError as exc:
            raise ConnectError(f"cannot reach {settings.base_url}: {_clip(str(exc))}") from exc
        except httpx.HTTPError as exc:
            raise ProtocolError(
                f"connection failed: {_clip(str(exc) or type(exc).__name__)}"
            ) from exc

    @staticmethod
    async def _read_sse(response: httpx.Response, chat: bool) -> AsyncIterator[str]:
        finished = False
        async for data in _sse_events(response.aiter_lines()):
            if data.strip() == "[DONE]":
                return
            try:
                payload = json.loads(data)
            except ValueError as exc:
                raise ProtocolError("a stream event is not valid JSON") from exc
            text, finish = _piece(payload, chat)
            finished = finished or finish is not None
            if text:
                yield text
        if not finished:
            raise ProtocolError("the stream ended before the answer was complete")

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


def _auth(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
