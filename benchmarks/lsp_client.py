"""A minimal LSP client over a subprocess's stdio, speaking plain JSON.

The benchmark drives language servers written in different languages (qwen-lsp in Python,
tabby-agent in Node), so the client stays deliberately thin: it frames JSON-RPC messages, matches
responses to requests, stamps each response with the time it was read, and answers the few
requests servers send back (``workspace/configuration``, ``client/registerCapability``...) with
``null``. Plain dicts instead of typed ``lsprotocol`` objects keep the client's own cost small and
the same for every server, which matters when the figures are fractions of a millisecond.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REQUEST_TIMEOUT_S = 60.0
_CLOSE_GRACE_S = 5.0
_STREAM_LIMIT = 64 * 1024 * 1024


class LspError(RuntimeError):
    """The server answered a request with a JSON-RPC error."""

    def __init__(self, method: str, error: Mapping[str, Any]) -> None:
        super().__init__(f"{method}: {error.get('code')} {error.get('message')}")
        self.code = error.get("code")


@dataclass(frozen=True, slots=True)
class Response:
    """A response to one request, stamped with ``time.monotonic()`` when it was read."""

    result: Any
    error: Mapping[str, Any] | None
    received_at: float


@dataclass(frozen=True, slots=True)
class Pending:
    """A request in flight: its id, when it was written, and the future of its response."""

    id: int
    sent_at: float
    future: asyncio.Future[Response]


class LspClient:
    """One language server subprocess and the JSON-RPC session with it."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Response]] = {}
        self._reader = asyncio.create_task(self._read_loop())

    @classmethod
    async def start(
        cls,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        stderr_path: Path | None = None,
    ) -> LspClient:
        """Start ``argv`` with pipes on stdin/stdout; its stderr goes to ``stderr_path``."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        stderr = os.open(stderr_path or os.devnull, flags, 0o644)
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                env=dict(env) if env is not None else None,
                limit=_STREAM_LIMIT,
            )
        finally:
            os.close(stderr)
        return cls(process)

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self._process.pid

    def send(self, method: str, params: Any) -> Pending:
        """Write a request and return at once; await ``Pending.future`` for the response."""
        msg_id = next(self._ids)
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        sent_at = time.monotonic()
        self._write({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return Pending(msg_id, sent_at, future)

    async def request(self, method: str, params: Any) -> Any:
        """Send a request and return its result; raise :class:`LspError` on an error.

        A server that has not answered within ``REQUEST_TIMEOUT_S`` raises ``TimeoutError``.
        """
        response = await asyncio.wait_for(self.send(method, params).future, REQUEST_TIMEOUT_S)
        if response.error is not None:
            raise LspError(method, response.error)
        return response.result

    def notify(self, method: str, params: Any) -> None:
        """Write a notification."""
        self._write({"jsonrpc": "2.0", "method": method, "params": params})

    def cancel(self, pending: Pending) -> None:
        """Send ``$/cancelRequest`` for a request still in flight."""
        if not pending.future.done():
            self.notify("$/cancelRequest", {"id": pending.id})

    async def drain(self) -> None:
        """Wait until everything written so far has been handed to the pipe."""
        stdin = self._process.stdin
        assert stdin is not None
        await stdin.drain()

    async def close(self) -> None:
        """Shut the server down politely (shutdown + exit), killing it if it lingers."""
        if self._process.returncode is None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(_CLOSE_GRACE_S):
                    await self.request("shutdown", None)
                self.notify("exit", None)
                await self.drain()
            try:
                await asyncio.wait_for(self._process.wait(), _CLOSE_GRACE_S)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader

    def _write(self, message: Mapping[str, Any]) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        body = json.dumps(message, separators=(",", ":")).encode()
        stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    async def _read_loop(self) -> None:
        stdout = self._process.stdout
        assert stdout is not None
        try:
            while True:
                length = 0
                while (line := await stdout.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("ascii").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                if not line:
                    break
                self._dispatch(json.loads(await stdout.readexactly(length)))
        finally:
            gone = ConnectionError(f"server {self.pid} closed its output")
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(gone)

    def _dispatch(self, message: dict[str, Any]) -> None:
        now = time.monotonic()
        if "method" not in message:
            future = self._pending.pop(message.get("id", -1), None)
            if future is not None and not future.done():
                future.set_result(Response(message.get("result"), message.get("error"), now))
        elif "id" in message:
            self._answer_server_request(message)

    def _answer_server_request(self, message: Mapping[str, Any]) -> None:
        result: Any = None
        if message["method"] == "workspace/configuration":
            result = [None] * len(message.get("params", {}).get("items", []))
        self._write({"jsonrpc": "2.0", "id": message["id"], "result": result})
