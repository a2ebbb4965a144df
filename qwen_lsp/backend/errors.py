"""Backend errors: every way a completion request fails, with messages safe to show (backend).

:func:`status_error` turns an HTTP error answer into one of these. Two of them carry what the
server told about itself, so the client can adapt and retry once: :class:`ContextLengthError`
(the prompt did not fit: the server's context size, when it said so) and
:class:`EndpointNotFoundError` (a 404 of the endpoint itself, not of the model: the server has no
``/completions``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from time import time
from typing import Any


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


class EndpointNotFoundError(BackendError):
    """404 of the path itself (e.g. a server without ``/completions``), not of the model."""


class ServerError(BackendError):
    """5xx, or a 4xx that is none of the above."""


class ContextLengthError(ServerError):
    """The prompt plus ``max_tokens`` exceed the server's context; ``n_ctx`` when it said."""

    def __init__(self, message: str, n_ctx: int | None = None) -> None:
        super().__init__(message)
        self.n_ctx = n_ctx


class BackendTimeout(BackendError):
    """No (complete) answer within ``timeoutMs``."""


class ConnectError(BackendError):
    """The server could not be reached (refused, DNS, TLS)."""


class ProtocolError(BackendError):
    """An answer that is not what the API promises: bad JSON, a truncated or failing stream."""


class EmptyStreamError(ProtocolError):
    """``200 text/event-stream`` with no event at all (llama.cpp servers do this on overflow)."""


class TruncatedStream(ProtocolError):
    """The stream ended (``[DONE]``, a hang-up) without a ``finish_reason``: the text is partial.

    Raised after every piece that did arrive was yielded.
    """


_CONTEXT_CODES = {"context_length_exceeded", "exceed_context_size_error"}
_CONTEXT_TEXT = re.compile(
    r"context (length|size|window)|maximum context|too many tokens|prompt is too long", re.I
)
_N_CTX_PATTERNS = (
    re.compile(r"maximum context length is (\d+)", re.I),
    re.compile(r"context (?:length|size|window)(?: of| is)? (\d+)", re.I),
    re.compile(r"n_ctx[\"'=: ]+(\d+)", re.I),
)


def status_error(status: int, body: bytes, headers: Mapping[str, str], model: str) -> BackendError:
    """The error an HTTP ``status`` answer stands for."""
    payload = _json(body)
    error: dict[str, Any] = {}
    if isinstance(payload, dict):
        found = payload.get("error")
        error = found if isinstance(found, dict) else {}
    detail = error_detail(body)
    if status in (401, 403):
        return AuthError(f"HTTP {status}: {detail}")
    if status == 429:
        return RateLimitError(f"HTTP 429: {detail}", retry_after(headers.get("retry-after")))
    if status == 404:
        if _about_model(error, detail):
            return ModelNotFoundError(f"HTTP 404 for model {model!r}: {detail}")
        return EndpointNotFoundError(f"HTTP 404: {detail}")
    if status in (400, 413, 422, 500) and _about_context(error, detail):
        return ContextLengthError(f"HTTP {status}: {detail}", _n_ctx(error))
    return ServerError(f"HTTP {status}: {detail}")


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _about_model(error: dict[str, Any], detail: str) -> bool:
    code = str(error.get("code") or error.get("type") or "")
    return "model" in code.lower() or "model" in detail.lower()


def _about_context(error: dict[str, Any], detail: str) -> bool:
    if str(error.get("code")) in _CONTEXT_CODES or str(error.get("type")) in _CONTEXT_CODES:
        return True
    return bool(_CONTEXT_TEXT.search(detail))


def _n_ctx(error: dict[str, Any]) -> int | None:
    """The server's context size from an error object (llama.cpp's ``n_ctx``, or the text)."""
    value = error.get("n_ctx")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    message = str(error.get("message", ""))
    for pattern in _N_CTX_PATTERNS:
        if match := pattern.search(message):
            return int(match.group(1))
    return None


def error_detail(body: bytes) -> str:
    """``code: message`` from an OpenAI/DashScope error body, else the start of the body."""
    payload = _json(body)
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        error = payload["error"]
        code = error.get("code") or error.get("type") or "error"
        return clip(f"{code}: {error.get('message', '')}")
    if isinstance(payload, dict) and isinstance(payload.get("detail"), str):  # FastAPI
        return clip(payload["detail"])
    return clip(body.decode("utf-8", "replace").strip() or "(empty body)")


def clip(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def retry_after(value: str | None) -> float | None:
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
