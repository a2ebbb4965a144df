"""A fake Tabby server on 127.0.0.1, with the same latency model as the fake Qwen server.

tabby-agent (the peer the benchmark compares with) talks to a Tabby server. This fake answers
what tabby-agent 1.5 calls, in the shapes it checks:

* ``GET /v1/health``: model, device and ``version.git_describe`` (>= 0.9.0, or the agent skips
  fetching the server setting);
* ``GET /v1beta/server_setting``: ``{"disable_client_side_telemetry": true}``;
* ``POST /v1/completions``: ``{language, segments: {prefix, suffix, ...}}`` in,
  ``{id, choices: [{index, text}]}`` out, after ``ttft_ms + token_ms * pieces`` (pieces as
  ``split_tokens`` cuts them), the same wait the fake Qwen server makes for a JSON reply;
* anything else: ``200 {}``.

Requests are logged as the fake Qwen server's :class:`LoggedRequest` objects (the ``reply``,
``started``, ``finished``, ``chunks_sent`` and ``disconnected`` fields mean the same), so the
replay reads both logs with one piece of code. It serves from a daemon thread with its own event
loop, like the fake Qwen server.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from tests.support.fake_qwen import LoggedRequest, Reply, Responder

_POLL_S = 0.005

HEALTH: dict[str, Any] = {
    "model": "TabbyML/FakeCoder-1B",
    "chat_model": None,
    "device": "cpu",
    "arch": "x86_64",
    "cpu_info": "fake",
    "cpu_count": 1,
    "cuda_devices": [],
    "version": {
        "build_date": "2024-06-01",
        "build_timestamp": "2024-06-01T00:00:00Z",
        "git_sha": "0" * 40,
        "git_describe": "v0.11.1",
    },
}


class FakeTabby:
    """The fake server; ``start()`` / ``stop()`` or use it as a context manager."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.default = Reply()
        self.responder: Responder | None = None
        self._port: int | None = None
        self._lock = threading.Lock()
        self._requests: list[LoggedRequest] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()

    @property
    def base_url(self) -> str:
        """The endpoint tabby-agent's config points at."""
        if self._port is None:
            raise RuntimeError("FakeTabby is not running")
        return f"http://{self.host}:{self._port}"

    @property
    def requests(self) -> list[LoggedRequest]:
        """A snapshot of the log; the entries are updated while their replies go out."""
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        """Forget the logged requests."""
        with self._lock:
            self._requests.clear()

    def start(self) -> Self:
        """Serve from a background thread; returns once the port is bound."""
        self._thread = threading.Thread(target=self._run, name="fake-tabby", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise TimeoutError("FakeTabby did not start")
        return self

    def stop(self) -> None:
        """Stop serving and join the thread."""
        if self._thread is None:
            return
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        self._thread = None
        self._port = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        finally:
            loop.close()
            self._ready.set()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, 0).start()
            self._port = int(runner.addresses[0][1])
            self._ready.set()
            await self._stop.wait()
        finally:
            await runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/v1/health":
            return web.json_response(HEALTH)
        if request.path == "/v1beta/server_setting":
            return web.json_response({"disable_client_side_telemetry": True})
        if request.method != "POST" or request.path != "/v1/completions":
            return web.json_response({})
        return await self._complete(request)

    async def _complete(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        entry = LoggedRequest(
            index=len(self._requests),
            method=request.method,
            path=request.path,
            query=request.query_string,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=await request.json(),
            raw=raw,
            started=time.monotonic(),
        )
        with self._lock:
            self._requests.append(entry)
        reply = self._choose(entry)
        entry.reply = reply
        entry.streamed = False
        pieces = reply.pieces()
        try:
            if not await _wait(request, (reply.ttft_ms + reply.token_ms * len(pieces)) / 1000):
                entry.disconnected = True
                if request.transport is not None:
                    request.transport.close()
                return web.Response(status=499)
            entry.chunks_sent = len(pieces)
            entry.status = 200
            return web.json_response(_completion(reply.full_text()))
        finally:
            entry.finished = time.monotonic()

    def _choose(self, entry: LoggedRequest) -> Reply:
        chosen = self.responder(entry) if self.responder is not None else None
        return chosen if chosen is not None else self.default


async def _wait(request: web.BaseRequest, seconds: float) -> bool:
    """Sleep, polling the connection; False when the client hung up."""
    deadline = time.monotonic() + seconds
    while True:
        transport = request.transport
        if transport is None or transport.is_closing():
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return True
        await asyncio.sleep(min(_POLL_S, remaining))


def _completion(text: str) -> dict[str, Any]:
    return {"id": f"cmpl-{uuid.uuid4().hex}", "choices": [{"index": 0, "text": text}]}
