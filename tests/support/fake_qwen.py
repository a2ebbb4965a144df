"""A fake Qwen / DashScope server speaking real HTTP on 127.0.0.1.

It imitates the OpenAI-compatible DashScope API (see ``/work/shared/API-NOTES.md``) closely
enough for the language server to be tested end to end, for editors to be pointed at it by
hand, and for benchmarks:

* ``POST <any prefix>/completions`` -- FIM completions (``text_completion`` objects,
  ``choices[0].text``);
* ``POST <any prefix>/chat/completions`` -- chat / partial mode (``chat.completion`` and
  ``chat.completion.chunk`` objects, ``choices[0].message.content`` / ``delta.content``);
* ``GET <any prefix>/models`` -- a small model list (plus :attr:`FakeQwen.model_fields`, e.g.
  vLLM's ``owned_by`` and ``max_model_len``);
* ``GET <any prefix>/props`` -- :attr:`FakeQwen.props` (llama.cpp's server), else a 404;
* anything else -- a 404 (405 for a known path with the wrong method) with a JSON error body.

Real servers' faults besides HTTP errors: :attr:`FakeQwen.n_ctx` makes it refuse prompts over a
context size the way llama-cpp-python does (an empty 200 stream and a dropped connection, or a
400 ``context_length_exceeded``); ``Reply.omit_finish`` ends a stream with ``[DONE]`` and no
``finish_reason``; ``Reply.hangup`` drops the connection without an answer; ``Reply.think``
starts the answer with a ``<think>`` block.

The path prefix is ignored, so ``http://127.0.0.1:P/compatible-mode/v1`` (the
:attr:`FakeQwen.base_url`) and ``http://127.0.0.1:P/v1`` both work.

Streaming follows the request's ``stream`` field (unless the :class:`Reply` forces it): SSE
events ``data: {json}\\n\\n``, ending with ``data: [DONE]\\n\\n``, content type
``text/event-stream``. Chat streams start with a role chunk (``"role": "assistant",
"content": ""``), then one chunk per piece of text, then a chunk with an empty delta and the
``finish_reason``; when the request asked for ``stream_options.include_usage`` (and
``Reply.usage`` is true) a usage-only chunk with ``"choices": []`` follows, as on the real
service. Error replies are plain JSON in the OpenAI / DashScope shape even for stream requests.

Usage::

    from tests.support.fake_qwen import FakeQwen, Reply

    with FakeQwen() as fake:
        fake.default = Reply(text="return a + b")            # used when the queue is empty
        fake.replies.push(Reply(status=429, headers={"Retry-After": "1"}))  # FIFO, first
        fake.responder = lambda req: Reply(text=req.prompt[-5:])  # overrides both (or None)
        ...  # point the client at fake.base_url
        req = fake.wait_for_requests(1)[0]
        assert req.body["model"] == "qwen2.5-coder-7b-instruct"
        assert fake.wait_for_disconnect()                     # client hung up early?

The server runs in a daemon thread with its own event loop; every request is handled by its
own task, so many simultaneous requests work. :class:`LoggedRequest` objects in
:attr:`FakeQwen.requests` are live: the server thread fills in ``status``, ``chunks_sent``,
``disconnected`` and ``finished`` as the reply progresses.

Hang-ups are detected by polling the connection every ~5 ms while the reply waits (``ttft_ms``,
``token_ms``) and by catching connection errors on writes. A client that hangs up while a
stream is written without any delay (``token_ms=0``) may go unnoticed: the kernel accepts the
writes.

From a shell (serves until Ctrl-C, one line per request)::

    python -m tests.support.fake_qwen --port 8765 --text "return 42" --ttft-ms 200 --token-ms 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import re
import signal
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.aiohttp_thread import ThreadedApp, catch_all

__all__ = [
    "DEFAULT_MODELS",
    "FakeQwen",
    "LoggedRequest",
    "Reply",
    "ReplyQueue",
    "RequestLog",
    "Responder",
    "error_body",
    "main",
    "prompt_of",
    "split_tokens",
]

_log = logging.getLogger(__name__)

#: Model ids answered by ``GET .../models``.
DEFAULT_MODELS: tuple[str, ...] = (
    "qwen2.5-coder-32b-instruct",
    "qwen2.5-coder-7b-instruct",
    "qwen-coder-turbo",
    "qwen3-coder-plus",
    "qwen3-coder-flash",
    "qwen-plus",
)

_POLL_S = 0.005
_FALLBACK_MODEL = "qwen-fake"
_TOKEN_RE = re.compile(r"\r?\n|[^\S\n]{1,4}|\w{1,4}|[^\w\s]{1,2}")

# status -> (code, type, message); other 4xx use 400's, other 5xx use 500's.
_ERROR_DEFAULTS: dict[int, tuple[str, str, str]] = {
    400: (
        "invalid_parameter_error",
        "invalid_request_error",
        "<400> InternalError.Algo.InvalidParameter: invalid parameter",
    ),
    401: ("invalid_api_key", "invalid_request_error", "Incorrect API key provided. "),
    403: (
        "AccessDenied.Unpurchased",
        "AccessDenied.Unpurchased",
        "Access to model denied. Please make sure you are eligible for using the model.",
    ),
    404: (
        "model_not_found",
        "invalid_request_error",
        "The model does not exist or you do not have access to it.",
    ),
    429: (
        "limit_requests",
        "limit_requests",
        "Requests rate limit exceeded, please try again later.",
    ),
    500: (
        "InternalError",
        "InternalError",
        "An internal error has occured, please try again later or contact service support.",
    ),
    503: ("ModelUnavailable", "ModelUnavailable", "Model is unavailable, please try again later."),
}


def split_tokens(text: str) -> list[str]:
    """Split ``text`` into token-like pieces of 1-4 characters (``"".join`` gives it back).

    Newlines (``\\r\\n`` counts as one piece) stand alone; runs of other whitespace, of word
    characters and of punctuation are cut into pieces of at most 4 (punctuation: 2).
    """
    return _TOKEN_RE.findall(text)


@dataclass(frozen=True)
class Reply:
    """How the fake answers one completion request (``/completions`` or ``/chat/completions``).

    Precedence: ``raw_body``, then an error ``status`` (>= 400), then ``malformed``, then a
    normal reply. ``ttft_ms`` applies to all of them; a stream or not is decided by ``stream``
    (``None``: the request body's ``stream`` field).
    """

    #: The completion text (ignored when ``chunks`` is given).
    text: str = "pass"
    #: Explicit stream pieces; default ``split_tokens(text)``. Non-stream replies join them.
    chunks: list[str] | None = None
    #: HTTP status; >= 400 sends an error body (see ``error_body``).
    status: int = 200
    #: Error ``code`` for an error status or ``sse_error_after``; default depends on the status.
    error_code: str | None = None
    #: Error ``message``; default depends on the status.
    error_message: str | None = None
    #: Error ``type``; default depends on the status.
    error_type: str | None = None
    #: Extra response headers (e.g. ``{"Retry-After": "2"}``); may override Content-Type.
    headers: dict[str, str] = field(default_factory=dict)
    #: Force a stream (True) or a JSON body (False); None follows the request.
    stream: bool | None = None
    #: Delay before the response headers (the first byte).
    ttft_ms: float = 0
    #: Delay between stream chunks; non-stream replies wait ``ttft_ms + token_ms * n_chunks``.
    token_ms: float = 0
    #: The ``finish_reason`` of the last choice ("stop", "length", ...).
    finish_reason: str = "stop"
    #: Stream: send that many text chunks, then close the connection (no finish, no [DONE]).
    truncate_after: int | None = None
    #: Stream: after that many text chunks send ``data: {"error": {...}}`` and end the body.
    sse_error_after: int | None = None
    #: Status 200 but the body (non-stream) / the first SSE data line (stream) is broken JSON.
    malformed: bool = False
    #: Non-stream: include ``usage``. Stream: send the usage-only chunk (``"choices": []``)
    #: when the request had ``stream_options.include_usage``.
    usage: bool = True
    #: Send exactly these bytes as the body (after ``ttft_ms``), with ``status`` and ``headers``.
    raw_body: bytes | None = None
    #: Chat streams: send the leading ``{"role": "assistant", "content": ""}`` chunk.
    role_chunk: bool = True
    #: Stream: put ``finish_reason`` on the last text chunk instead of a separate empty chunk.
    finish_with_last_chunk: bool = False
    #: Stream: no ``finish_reason`` at all, then ``[DONE]`` (llama-cpp-python, interrupted).
    omit_finish: bool = False
    #: Close the connection without sending anything (a dropped keep-alive connection).
    hangup: bool = False
    #: Stream: start the text with this ``<think>`` block (a Qwen3 model that thinks).
    think: str | None = None

    def __post_init__(self) -> None:
        if not 100 <= self.status <= 599:
            raise ValueError(f"bad HTTP status {self.status}")
        for name in ("truncate_after", "sse_error_after"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        if self.ttft_ms < 0 or self.token_ms < 0:
            raise ValueError("ttft_ms and token_ms must be >= 0")

    def pieces(self) -> list[str]:
        """The stream pieces: ``chunks`` or ``split_tokens(text)`` (after any think block)."""
        pieces = list(self.chunks) if self.chunks is not None else split_tokens(self.text)
        if self.think is not None:
            pieces = ["<think>", *split_tokens(self.think), "</think>", "\n\n", *pieces]
        return pieces

    def full_text(self) -> str:
        """The whole completion text (the joined pieces)."""
        return "".join(self.pieces())


def error_body(
    status: int,
    code: str | None = None,
    message: str | None = None,
    type_: str | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """An OpenAI / DashScope error body with defaults chosen by ``status``."""
    if status in _ERROR_DEFAULTS:
        defaults = _ERROR_DEFAULTS[status]
    else:
        defaults = _ERROR_DEFAULTS[500 if status >= 500 else 400]
    return {
        "error": {
            "message": message if message is not None else defaults[2],
            "type": type_ if type_ is not None else defaults[1],
            "param": None,
            "code": code if code is not None else defaults[0],
        },
        "request_id": request_id if request_id is not None else str(uuid.uuid4()),
    }


@dataclass
class LoggedRequest:
    """One request the fake received. The server thread updates it while replying."""

    index: int
    method: str
    path: str
    query: str
    #: Request headers with lowercased names.
    headers: dict[str, str]
    #: The parsed JSON body, or None when empty / not JSON.
    body: Any
    raw: bytes
    #: ``time.monotonic()`` when the request arrived.
    started: float
    #: ``time.monotonic()`` when the handler was done (None while in flight).
    finished: float | None = None
    #: The HTTP status sent (None if nothing was sent).
    status: int | None = None
    #: True when the client hung up before the reply was complete.
    disconnected: bool = False
    #: Text chunks written (stream) / in the body (non-stream).
    chunks_sent: int = 0
    #: The reply chosen (None for ``/models``, unknown paths and auth failures).
    reply: Reply | None = None
    #: Whether the reply was a stream (None until decided).
    streamed: bool | None = None
    #: The client's (host, port): equal ports mean one kept-alive connection.
    peer: tuple[str, int] | None = None
    #: The ``request_id`` in error bodies and the ``x-request-id`` header.
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def endpoint(self) -> str | None:
        """``"chat"``, ``"completions"``, ``"models"`` or None, from the path."""
        return _endpoint_of(self.path)

    @property
    def done(self) -> bool:
        return self.finished is not None

    @property
    def duration(self) -> float | None:
        """Seconds from arrival to the end of the handler, or None while in flight."""
        return None if self.finished is None else self.finished - self.started

    @property
    def model(self) -> str | None:
        if isinstance(self.body, dict) and isinstance(self.body.get("model"), str):
            return str(self.body["model"])
        return None

    @property
    def prompt(self) -> str:
        return prompt_of(self)


#: Chooses the reply for a request; returning None falls back to the queue / the default.
Responder = Callable[[LoggedRequest], Reply | None]


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def prompt_of(req: LoggedRequest) -> str:
    """The FIM ``prompt`` (completions) or the last message's content (chat); "" if none."""
    body = req.body
    if not isinstance(body, dict):
        return ""
    prompt = body.get("prompt")
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list) and prompt and isinstance(prompt[0], str):
        return prompt[0]
    messages = body.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[-1], dict):
        return _content_text(messages[-1].get("content"))
    return ""


def _endpoint_of(path: str) -> str | None:
    path = path.rstrip("/")
    if path.endswith("/chat/completions"):
        return "chat"
    if path.endswith("/completions"):
        return "completions"
    if path.endswith("/models"):
        return "models"
    if path.endswith("/props"):
        return "props"
    return None


def _peer(request: web.BaseRequest) -> tuple[str, int] | None:
    peername = request.transport.get_extra_info("peername") if request.transport else None
    return (str(peername[0]), int(peername[1])) if peername else None


def _client_gone(request: web.BaseRequest) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def _close_connection(request: web.BaseRequest) -> None:
    transport = request.transport
    if transport is not None and not transport.is_closing():
        transport.close()  # flushes what was written, then FIN: the body stays incomplete


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def _sse(obj: Any) -> bytes:
    return b"data: " + _dumps(obj) + b"\n\n"


def _has_header(headers: dict[str, str], name: str) -> bool:
    return any(key.lower() == name.lower() for key in headers)


class ReplyQueue:
    """A thread-safe FIFO of :class:`Reply` objects."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: deque[Reply] = deque()

    def push(self, *replies: Reply) -> None:
        for reply in replies:
            if not isinstance(reply, Reply):
                raise TypeError(f"expected a Reply, got {type(reply).__name__}")
        with self._lock:
            self._items.extend(replies)

    def pop(self) -> Reply | None:
        with self._lock:
            return self._items.popleft() if self._items else None

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def snapshot(self) -> list[Reply]:
        with self._lock:
            return list(self._items)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


class RequestLog:
    """The request log of a fake server (a mixin): :attr:`requests` and :meth:`clear` for
    tests, :meth:`_record` for the handlers. ``_lock`` guards it (subclasses may share it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[LoggedRequest] = []

    @property
    def requests(self) -> list[LoggedRequest]:
        """A snapshot (new list) of the logged requests; the entries themselves are live."""
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        """Forget the logged requests."""
        with self._lock:
            self._requests.clear()

    def _record(
        self, request: web.BaseRequest, raw: bytes, body: Any, started: float
    ) -> LoggedRequest:
        """Log a request that arrived at ``started`` (``time.monotonic()``); the new entry."""
        with self._lock:
            entry = LoggedRequest(
                index=len(self._requests),
                method=request.method,
                path=request.path,
                query=request.query_string,
                headers={key.lower(): value for key, value in request.headers.items()},
                body=body,
                raw=raw,
                started=started,
                peer=_peer(request),
            )
            self._requests.append(entry)
        return entry


class FakeQwen(ThreadedApp, RequestLog):
    """The fake server. ``start()`` / ``stop()`` or use it as a context manager.

    ``stop()`` cuts in-flight replies at once (their waits check :attr:`stopping`), even with
    long ``ttft_ms``; a stopped server can be started again.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        default: Reply | None = None,
        api_key: str | None = None,
        models: Sequence[str] = DEFAULT_MODELS,
        on_request: Callable[[LoggedRequest], None] | None = None,
        shutdown_timeout: float = 2.0,
    ) -> None:
        """``api_key``: when set, requests without ``Authorization: Bearer <api_key>`` get a
        401 ``invalid_api_key``. ``on_request`` is called in the server thread when a request
        is done (exceptions are logged and ignored).
        """
        ThreadedApp.__init__(
            self,
            catch_all(self._handle),
            host=host,
            port=port,
            shutdown_timeout=shutdown_timeout,
            name="fake-qwen",
        )
        RequestLog.__init__(self)
        self.api_key = api_key
        self.models: tuple[str, ...] = tuple(models)
        self.on_request = on_request
        self.replies = ReplyQueue()
        #: Extra fields for every ``GET /models`` entry (``{"owned_by": "vllm",
        #: "max_model_len": 4096}`` makes it look like vLLM).
        self.model_fields: dict[str, Any] = {}
        #: ``GET /props`` answers this (llama.cpp's server), or 404 when None.
        self.props: dict[str, Any] | None = None
        #: Like a llama.cpp server of this context size: a prompt (4 characters a token) plus
        #: ``max_tokens`` over it gets an empty 200 stream, after which the connection is
        #: dropped, or (``stream: false``) llama-cpp-python's 400 ``context_length_exceeded``.
        self.n_ctx: int | None = None
        self._default = default if default is not None else Reply()
        self._responder: Responder | None = None

    # ------------------------------------------------------------------ configuration

    @property
    def default(self) -> Reply:
        with self._lock:
            return self._default

    @default.setter
    def default(self, reply: Reply) -> None:
        if not isinstance(reply, Reply):
            raise TypeError(f"expected a Reply, got {type(reply).__name__}")
        with self._lock:
            self._default = reply

    @property
    def responder(self) -> Responder | None:
        with self._lock:
            return self._responder

    @responder.setter
    def responder(self, responder: Responder | None) -> None:
        with self._lock:
            self._responder = responder

    def push(self, *replies: Reply) -> None:
        """Shortcut for ``self.replies.push(*replies)``."""
        self.replies.push(*replies)

    # ------------------------------------------------------------------ lifecycle
    # start() / stop() / running / port / the context manager come from ThreadedApp.

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}/compatible-mode/v1"

    # ------------------------------------------------------------------ request log

    def clear(self) -> None:
        """Forget the logged requests and the queued replies (default/responder stay)."""
        super().clear()
        self.replies.clear()

    def reset(self) -> None:
        """``clear()`` and also restore the default reply and remove the responder."""
        self.clear()
        with self._lock:
            self._default = Reply()
            self._responder = None

    @staticmethod
    def prompt_of(req: LoggedRequest) -> str:
        return prompt_of(req)

    def wait_for(
        self, predicate: Callable[[], object], timeout: float = 5.0, interval: float = _POLL_S
    ) -> bool:
        """Poll ``predicate`` until it is truthy (True) or ``timeout`` seconds pass (False)."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(interval)

    def wait_for_requests(
        self, n: int, timeout: float = 5.0, *, finished: bool = False
    ) -> list[LoggedRequest]:
        """Wait until at least ``n`` requests arrived (and, if ``finished``, the first ``n``
        are done); return the log. Raises TimeoutError."""

        def enough() -> bool:
            reqs = self.requests
            return len(reqs) >= n and (not finished or all(r.done for r in reqs[:n]))

        if not self.wait_for(enough, timeout):
            reqs = self.requests
            raise TimeoutError(
                f"expected {n} request(s) in {timeout}s, got {len(reqs)}: "
                + ", ".join(f"{r.method} {r.path} status={r.status}" for r in reqs)
            )
        return self.requests

    def wait_for_disconnect(self, index: int = -1, timeout: float = 5.0) -> bool:
        """True as soon as request ``index`` (of the current log) is marked disconnected;
        False when it finished without a hang-up or on timeout."""
        outcome: list[bool] = []

        def settled() -> bool:
            reqs = self.requests
            try:
                req = reqs[index]
            except IndexError:
                return False
            if req.disconnected:
                outcome.append(True)
                return True
            if req.done:
                outcome.append(False)
                return True
            return False

        return self.wait_for(settled, timeout) and outcome[-1]

    # ------------------------------------------------------------------ handlers

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        raw = await request.read()
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
        entry = self._record(request, raw, body, started)
        try:
            return await self._dispatch(request, entry)
        finally:
            entry.finished = time.monotonic()
            callback = self.on_request
            if callback is not None:
                try:
                    callback(entry)
                except Exception:
                    _log.exception("FakeQwen on_request callback failed")

    async def _dispatch(self, request: web.Request, entry: LoggedRequest) -> web.StreamResponse:
        endpoint = entry.endpoint
        if endpoint is None:
            return await self._send_json(
                request,
                entry,
                404,
                error_body(
                    404, "not_found", f"Not found: {entry.path}", request_id=entry.request_id
                ),
            )
        wanted = "GET" if endpoint in ("models", "props") else "POST"
        if request.method != wanted:
            body = error_body(
                405,
                "method_not_allowed",
                f"Method {request.method} not allowed",
                "invalid_request_error",
                entry.request_id,
            )
            return await self._send_json(request, entry, 405, body, {"Allow": wanted})
        if self.api_key is not None and entry.headers.get("authorization") != (
            f"Bearer {self.api_key}"
        ):
            return await self._send_json(
                request, entry, 401, error_body(401, request_id=entry.request_id)
            )
        if endpoint == "models":
            created = int(time.time())
            models = [
                {
                    "id": model,
                    "object": "model",
                    "created": created,
                    "owned_by": "system",
                    **self.model_fields,
                }
                for model in self.models
            ]
            return await self._send_json(request, entry, 200, {"object": "list", "data": models})
        if endpoint == "props":
            if self.props is None:
                return await self._send_json(request, entry, 404, {"detail": "Not Found"})
            return await self._send_json(request, entry, 200, self.props)
        if (overflow := self._overflow(entry)) is not None:
            return await self._overflow_reply(request, entry, overflow)
        reply = self._choose(entry)
        entry.reply = reply
        return await self._reply(request, entry, reply, chat=endpoint == "chat")

    def _overflow(self, entry: LoggedRequest) -> int | None:
        """The tokens asked for, when over ``n_ctx``."""
        if self.n_ctx is None or not isinstance(entry.body, dict):
            return None
        body = entry.body
        prompt = _usage(body, [])["prompt_tokens"]
        max_tokens = body.get("max_tokens")
        asked = prompt + (max_tokens if isinstance(max_tokens, int) else 16)
        return asked if asked > self.n_ctx else None

    async def _overflow_reply(
        self, request: web.Request, entry: LoggedRequest, asked: int
    ) -> web.StreamResponse:
        body = entry.body if isinstance(entry.body, dict) else {}
        entry.streamed = bool(body.get("stream"))
        if entry.streamed:
            resp = web.StreamResponse(status=200, headers={"Content-Type": "text/event-stream"})
            entry.status = 200
            await resp.prepare(request)
            await resp.write_eof()
            _close_connection(request)  # what llama-cpp-python does after an empty stream
            return resp
        message = (
            f"This model's maximum context length is {self.n_ctx} tokens, however you "
            f"requested {asked} tokens. Please reduce your prompt; or completion length."
        )
        payload = error_body(
            400, "context_length_exceeded", message, "invalid_request_error", entry.request_id
        )
        return await self._send_json(request, entry, 400, payload)

    def _choose(self, entry: LoggedRequest) -> Reply:
        responder = self.responder
        if responder is not None:
            try:
                chosen = responder(entry)
            except Exception as exc:
                _log.exception("FakeQwen responder failed")
                return Reply(status=500, error_message=f"fake responder raised {exc!r}")
            if chosen is not None:
                if not isinstance(chosen, Reply):
                    return Reply(status=500, error_message=f"responder returned {chosen!r}")
                return chosen
        queued = self.replies.pop()
        return queued if queued is not None else self.default

    async def _wait(self, request: web.BaseRequest, seconds: float) -> bool:
        """Sleep, polling the connection; False if the client left or the server stops."""
        deadline = time.monotonic() + seconds
        while True:
            if self.stopping or _client_gone(request):
                return False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return True
            await asyncio.sleep(min(_POLL_S, remaining))

    def _give_up(self, request: web.BaseRequest, entry: LoggedRequest) -> web.StreamResponse:
        """The client left (or we stop): mark it, drop the connection, return a dummy
        (handlers that already prepared a response return that one instead)."""
        if not self.stopping:
            entry.disconnected = True
        _close_connection(request)
        return web.Response(status=499)  # aiohttp's write fails quietly (ConnectionError)

    async def _send_json(
        self,
        request: web.Request,
        entry: LoggedRequest,
        status: int,
        payload: Any,
        headers: dict[str, str] | None = None,
        *,
        raw: bytes | None = None,
    ) -> web.StreamResponse:
        all_headers = {"x-request-id": entry.request_id}
        if not _has_header(headers or {}, "Content-Type"):
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        data = raw if raw is not None else _dumps(payload)
        resp = web.Response(status=status, body=data, headers=all_headers)
        entry.status = status  # set first: the client may look as soon as it has the reply
        try:
            await resp.prepare(request)
            await resp.write_eof()
        except ConnectionError:
            entry.status = None
            entry.disconnected = not self.stopping
        return resp

    async def _reply(
        self, request: web.Request, entry: LoggedRequest, reply: Reply, *, chat: bool
    ) -> web.StreamResponse:
        body = entry.body if isinstance(entry.body, dict) else {}
        stream = reply.stream if reply.stream is not None else bool(body.get("stream"))
        entry.streamed = stream
        ttft = reply.ttft_ms / 1000
        if reply.hangup:
            await self._wait(request, ttft)
            _close_connection(request)
            return web.Response(status=499)  # never sent: the connection is gone
        if reply.raw_body is not None:
            if not await self._wait(request, ttft):
                return self._give_up(request, entry)
            headers = dict(reply.headers)
            if not _has_header(headers, "Content-Type"):
                headers["Content-Type"] = "text/event-stream" if stream else "application/json"
            return await self._send_json(
                request, entry, reply.status, None, headers, raw=reply.raw_body
            )
        if reply.status >= 400:
            if not await self._wait(request, ttft):
                return self._give_up(request, entry)
            payload = error_body(
                reply.status,
                reply.error_code,
                reply.error_message,
                reply.error_type,
                entry.request_id,
            )
            return await self._send_json(request, entry, reply.status, payload, reply.headers)
        pieces = reply.pieces()
        shape = _Shape(chat=chat, model=str(body.get("model") or _FALLBACK_MODEL))
        if not stream:
            if not await self._wait(request, ttft + reply.token_ms * len(pieces) / 1000):
                return self._give_up(request, entry)
            if reply.malformed:
                raw = b'{"id": "' + shape.id.encode() + b'", "object": "broken", "choices": [{'
                return await self._send_json(
                    request, entry, reply.status, None, reply.headers, raw=raw
                )
            usage = _usage(body, pieces) if reply.usage else None
            payload = shape.full(reply.full_text(), reply.finish_reason, usage)
            entry.chunks_sent = len(pieces)
            sent = await self._send_json(request, entry, reply.status, payload, reply.headers)
            if entry.status is None:
                entry.chunks_sent = 0
            return sent
        return await self._stream(request, entry, reply, shape, pieces, body)

    async def _stream(
        self,
        request: web.Request,
        entry: LoggedRequest,
        reply: Reply,
        shape: _Shape,
        pieces: list[str],
        body: dict[str, Any],
    ) -> web.StreamResponse:
        if not await self._wait(request, reply.ttft_ms / 1000):
            return self._give_up(request, entry)
        headers = {
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "x-request-id": entry.request_id,
        }
        headers.update(reply.headers)
        resp = web.StreamResponse(status=reply.status, headers=headers)
        stream_options = body.get("stream_options")
        include_usage = (
            reply.usage
            and isinstance(stream_options, dict)
            and bool(stream_options.get("include_usage"))
        )
        entry.status = reply.status
        try:
            try:
                await resp.prepare(request)
            except ConnectionError:
                entry.status = None
                raise
            if reply.malformed:
                await resp.write(b'data: {"id": "' + shape.id.encode() + b'", "choices": [{\n\n')
            if shape.chat and reply.role_chunk:
                await resp.write(_sse(shape.chunk({"role": "assistant", "content": ""})))
            last = len(pieces) - 1
            first = time.monotonic()
            for i, piece in enumerate([*pieces, None]):  # None: the end of the text
                if reply.sse_error_after is not None and entry.chunks_sent == reply.sse_error_after:
                    error = error_body(
                        500,
                        reply.error_code,
                        reply.error_message,
                        reply.error_type,
                        entry.request_id,
                    )
                    await resp.write(_sse(error))
                    await resp.write_eof()
                    return resp
                if reply.truncate_after is not None and entry.chunks_sent == reply.truncate_after:
                    _close_connection(request)
                    return resp
                if piece is None:
                    break
                # Paced from the first token, not from the previous write, so that the reply
                # keeps to ttft + token_ms per further token however slowly the writes go.
                due = first + i * reply.token_ms / 1000
                if not await self._wait(request, max(0.0, due - time.monotonic())):
                    self._give_up(request, entry)
                    return resp
                finish = (
                    reply.finish_reason
                    if reply.finish_with_last_chunk and i == last and not reply.omit_finish
                    else None
                )
                entry.chunks_sent += 1  # counted first: the client may look once it has the chunk
                try:
                    await resp.write(_sse(shape.chunk(shape.delta(piece), finish)))
                except ConnectionError:
                    entry.chunks_sent -= 1
                    raise
            if reply.omit_finish:
                pass
            elif not (reply.finish_with_last_chunk and pieces):
                await resp.write(_sse(shape.chunk(shape.delta(None), reply.finish_reason)))
            if include_usage:
                await resp.write(_sse(shape.usage_chunk(_usage(body, pieces))))
            await resp.write(b"data: [DONE]\n\n")
            await resp.write_eof()
        except ConnectionError:
            entry.disconnected = not self.stopping
            _close_connection(request)
        return resp


class _Shape:
    """Builds the JSON objects of one reply (chat or completions)."""

    def __init__(self, *, chat: bool, model: str) -> None:
        self.chat = chat
        self.model = model
        self.id = ("chatcmpl-" if chat else "cmpl-") + uuid.uuid4().hex
        self.created = int(time.time())

    def _base(self, obj: str) -> dict[str, Any]:
        return {"id": self.id, "object": obj, "created": self.created, "model": self.model}

    def delta(self, piece: str | None) -> dict[str, Any]:
        if self.chat:
            return {} if piece is None else {"content": piece}
        return {"text": "" if piece is None else piece}

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        if self.chat:
            obj = self._base("chat.completion.chunk")
            choice: dict[str, Any] = {"index": 0, "delta": delta}
        else:
            obj = self._base("text_completion")
            choice = {"index": 0, **delta}
        choice["finish_reason"] = finish_reason
        choice["logprobs"] = None
        obj["choices"] = [choice]
        obj["system_fingerprint"] = None
        return obj

    def usage_chunk(self, usage: dict[str, int]) -> dict[str, Any]:
        obj = self._base("chat.completion.chunk" if self.chat else "text_completion")
        obj["choices"] = []
        obj["usage"] = usage
        return obj

    def full(self, text: str, finish_reason: str, usage: dict[str, int] | None) -> dict[str, Any]:
        if self.chat:
            obj = self._base("chat.completion")
            choice: dict[str, Any] = {
                "index": 0,
                "message": {"role": "assistant", "content": text},
            }
        else:
            obj = self._base("text_completion")
            choice = {"index": 0, "text": text}
        choice["finish_reason"] = finish_reason
        choice["logprobs"] = None
        obj["choices"] = [choice]
        if usage is not None:
            obj["usage"] = usage
        obj["system_fingerprint"] = None
        return obj


def _usage(body: dict[str, Any], pieces: list[str]) -> dict[str, int]:
    """Rough token counts: ~4 characters per prompt token, one token per piece."""
    prompt = body.get("prompt")
    if isinstance(prompt, str):
        chars = len(prompt)
    else:
        messages = body.get("messages")
        chars = 0
        if isinstance(messages, list):
            chars = sum(
                len(_content_text(m.get("content"))) for m in messages if isinstance(m, dict)
            )
    prompt_tokens = math.ceil(chars / 4)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": len(pieces),
        "total_tokens": prompt_tokens + len(pieces),
    }


# ---------------------------------------------------------------------- command line


def _describe(req: LoggedRequest) -> str:
    clock = time.strftime("%H:%M:%S")
    duration = f"{(req.duration or 0) * 1000:.0f}ms"
    parts = [clock, req.method, req.path, f"status={req.status}", duration]
    if req.endpoint in ("chat", "completions"):
        prompt = req.prompt
        tail = prompt[-40:]
        parts += [
            f"model={req.model}",
            f"stream={req.streamed}",
            f"chunks={req.chunks_sent}",
            f"prompt={len(prompt)}ch ...{tail!r}",
        ]
    if req.disconnected:
        parts.append("DISCONNECTED")
    return " ".join(parts)


def _header(value: str) -> tuple[str, str]:
    name, sep, val = value.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME:VALUE, got {value!r}")
    return name.strip(), val.strip()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.fake_qwen",
        description="Serve a fake Qwen/DashScope API until Ctrl-C.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--text", default="pass", help=r"the completion text (\n, \t understood)")
    parser.add_argument("--ttft-ms", type=float, default=0.0)
    parser.add_argument("--token-ms", type=float, default=0.0)
    parser.add_argument("--status", type=int, default=200)
    parser.add_argument("--finish-reason", default="stop")
    parser.add_argument(
        "--stream",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="force a stream / JSON body (default: follow the request)",
    )
    parser.add_argument("--header", type=_header, action="append", default=[], metavar="K:V")
    parser.add_argument("--api-key", default=None, help="require this Bearer key")
    args = parser.parse_args(argv)

    reply = Reply(
        text=args.text.replace("\\n", "\n").replace("\\t", "\t"),
        status=args.status,
        ttft_ms=args.ttft_ms,
        token_ms=args.token_ms,
        finish_reason=args.finish_reason,
        stream=args.stream,
        headers=dict(args.header),
    )

    def show(req: LoggedRequest) -> None:
        print(_describe(req), flush=True)

    fake = FakeQwen(args.host, args.port, default=reply, api_key=args.api_key, on_request=show)
    fake.start()
    print(f"fake Qwen serving at {fake.base_url}  (Ctrl-C to stop)", flush=True)

    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # SIGINT explicitly too: a shell starting us in the background (``&``) ignores it.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_term)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
    print("stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
