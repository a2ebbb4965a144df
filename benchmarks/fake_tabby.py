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
loop, like the fake Qwen server (both are :class:`ThreadedApp` subclasses).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from aiohttp import web

from tests.support.aiohttp_thread import ThreadedApp, catch_all
from tests.support.fake_qwen import LoggedRequest, Reply, RequestLog, Responder

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


class FakeTabby(ThreadedApp, RequestLog):
    """The fake server; ``start()`` / ``stop()`` or use it as a context manager."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        ThreadedApp.__init__(
            self, catch_all(self._handle), host=host, shutdown_timeout=1, name="fake-tabby"
        )
        RequestLog.__init__(self)
        self.default = Reply()
        self.responder: Responder | None = None

    @property
    def base_url(self) -> str:
        """The endpoint tabby-agent's config points at."""
        return f"http://{self.host}:{self.port}"

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
        entry = self._record(request, raw, await request.json(), time.monotonic())
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
