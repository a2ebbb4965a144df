"""A lean HTTP/1.1 transport for ``http://`` servers (backend; used by :mod:`.client`).

httpx's own transport (httpcore, h11 and anyio under it) spends about a millisecond of Python on
every request; on a server that answers from this machine or the local network (llama.cpp,
vLLM, Ollama, the tests' fake) that is most of what a completion costs outside the model. This
transport speaks the part of HTTP/1.1 those servers use, on asyncio streams, behind the same
``httpx.AsyncClient`` (headers, JSON, content decoding and the client's error handling stay
httpx's):

* one request at a time per connection, kept alive and reused (at most :data:`MAX_IDLE` idle
  connections per host, each for at most ``keepalive_expiry`` seconds); a connection goes back
  to the pool only once its response body has been read to the end, so a response closed early
  (the caller stopped reading a stream) closes its connection and the server sees the client go;
* bodies framed by ``Transfer-Encoding: chunked``, by ``Content-Length``, or by the end of the
  connection;
* failures raised as the exceptions httpx's transport raises for them (``ConnectError``,
  ``ConnectTimeout``, ``ReadTimeout``, ``WriteTimeout``, ``ReadError``, ``RemoteProtocolError``
  with its "Server disconnected without sending a response." for a pooled connection the server
  had closed, which the client retries once), with the timeouts of the request's ``timeout``
  extension.

``https://`` (TLS, HTTP/2) stays with httpx's transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator

import httpx

MAX_IDLE = 4  # idle keep-alive connections per host
_HEAD_LIMIT = 64 * 1024  # bytes of status line and headers
_READ_SIZE = 64 * 1024
_NO_BODY = frozenset({204, 304})


class _Connection:
    """One TCP connection to a host."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = 0.0

    def usable(self, now: float, expiry: float) -> bool:
        """Still open (the server has not closed it while idle) and not expired."""
        return (
            not self.reader.at_eof()
            and not self.writer.is_closing()
            and now - self.idle_since < expiry
        )

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


@contextlib.contextmanager
def _mapped(
    timeout: type[httpx.TimeoutException], error: type[httpx.TransportError]
) -> Iterator[None]:
    """asyncio and socket failures as httpx's exceptions."""
    try:
        yield
    except TimeoutError as exc:
        raise timeout(str(exc) or timeout.__name__) from exc
    except asyncio.IncompleteReadError as exc:
        raise httpx.RemoteProtocolError(
            "peer closed connection without sending complete message body"
        ) from exc
    except asyncio.LimitOverrunError as exc:
        raise httpx.RemoteProtocolError("a line of the response is too long") from exc
    except OSError as exc:
        raise error(str(exc) or type(exc).__name__) from exc


class LeanTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over asyncio streams, with a keep-alive pool (``http://`` only)."""

    def __init__(self, keepalive_expiry: float = 120.0) -> None:
        self._expiry = keepalive_expiry
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme != "http":
            raise httpx.UnsupportedProtocol(f"{url.scheme!r} is not served by this transport")
        timeouts = request.extensions.get("timeout", {})
        key = (url.host, url.port or 80)
        head = _request_head(request)
        body = await request.aread()
        conn = self._take(key)
        reused = conn is not None
        if conn is None:
            conn = await _connect(key, timeouts.get("connect"))
        try:
            try:
                with _mapped(httpx.WriteTimeout, httpx.WriteError):
                    async with asyncio.timeout(timeouts.get("write")):
                        conn.writer.write(head + body)  # one segment for a small request
                        await conn.writer.drain()
            except httpx.WriteError as exc:
                if not reused:
                    raise
                # A pooled connection the server had reset: nothing was sent, as when it
                # closes without answering (which the client retries once).
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a response."
                ) from exc
            read = timeouts.get("read")
            status, reason, version, headers = await _response_head(conn.reader, read)
            stream = _Body(self, key, conn, request.method, status, version, headers, read)
        except BaseException:
            conn.close()
            raise
        return httpx.Response(
            status,
            headers=headers,
            stream=stream,
            extensions={"http_version": version, "reason_phrase": reason},
        )

    def _take(self, key: tuple[str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if conn.usable(now, self._expiry):
                return conn
            conn.close()
        return None

    def _give_back(self, key: tuple[str, int], conn: _Connection) -> None:
        idle = [] if self._closed else self._idle.setdefault(key, [])
        if self._closed or len(idle) >= MAX_IDLE:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        idle.append(conn)

    async def aclose(self) -> None:
        self._closed = True  # a body still being read closes its connection when done
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()


async def _connect(key: tuple[str, int], seconds: float | None) -> _Connection:
    with _mapped(httpx.ConnectTimeout, httpx.ConnectError):
        async with asyncio.timeout(seconds):
            reader, writer = await asyncio.open_connection(*key, limit=_HEAD_LIMIT)
    return _Connection(reader, writer)


def _request_head(request: httpx.Request) -> bytes:
    target = request.url.raw_path or b"/"
    lines = [request.method.encode("ascii") + b" " + target + b" HTTP/1.1"]
    lines.extend(name + b": " + value for name, value in request.headers.raw)
    return b"\r\n".join(lines) + b"\r\n\r\n"


async def _response_head(
    reader: asyncio.StreamReader, seconds: float | None
) -> tuple[int, bytes, bytes, list[tuple[bytes, bytes]]]:
    """Status, reason, HTTP version and headers of the next final (non-1xx) response."""
    while True:
        with _mapped(httpx.ReadTimeout, httpx.ReadError):
            async with asyncio.timeout(seconds):
                try:
                    raw = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError as exc:
                    if exc.partial:
                        raise
                    raise httpx.RemoteProtocolError(
                        "Server disconnected without sending a response."
                    ) from exc
        status_line, *header_lines = raw[:-4].split(b"\r\n")
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
            raise httpx.RemoteProtocolError(f"not an HTTP response: {status_line[:80]!r}")
        headers = []
        for line in header_lines:
            name, sep, value = line.partition(b":")
            if not sep:
                raise httpx.RemoteProtocolError(f"malformed header line: {line[:80]!r}")
            headers.append((name.strip(), value.strip()))
        status = int(parts[1])
        if not 100 <= status < 200:
            return status, parts[2] if len(parts) > 2 else b"", parts[0], headers


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def _complete_chunks(buf: bytes) -> tuple[bytes, bytes, bool]:
    """The data of the complete chunks at the start of ``buf``, what is left of ``buf``, and
    whether the last chunk (and its trailers) has been seen."""
    parts: list[bytes] = []
    at = 0
    while True:
        line_end = buf.find(b"\r\n", at)
        if line_end < 0:
            break
        size_field = buf[at:line_end].split(b";", 1)[0].strip()
        try:
            size = int(size_field, 16)
        except ValueError:
            raise httpx.RemoteProtocolError(f"bad chunk size {size_field[:20]!r}") from None
        start = line_end + 2
        if size == 0:  # the last chunk, then trailer lines up to an empty one
            end = 0 if buf.startswith(b"\r\n", start) else buf.find(b"\r\n\r\n", start)
            if end < 0:
                break
            rest = start + 2 if end == 0 else end + 4
            return b"".join(parts), buf[rest:], True
        if len(buf) < start + size + 2:
            break
        if buf[start + size : start + size + 2] != b"\r\n":
            raise httpx.RemoteProtocolError("a chunk does not end with CRLF")
        parts.append(buf[start : start + size])
        at = start + size + 2
    return b"".join(parts), buf[at:], False


class _Body(httpx.AsyncByteStream):
    """A response body; the connection goes back to the pool once it is read to the end."""

    def __init__(
        self,
        transport: LeanTransport,
        key: tuple[str, int],
        conn: _Connection,
        method: str,
        status: int,
        version: bytes,
        headers: list[tuple[bytes, bytes]],
        timeout: float | None,
    ) -> None:
        self._transport = transport
        self._key = key
        self._conn: _Connection | None = conn
        self._timeout = timeout
        connection = (_header(headers, b"connection") or b"").lower()
        self._reusable = (
            b"close" not in connection if version == b"HTTP/1.1" else b"keep-alive" in connection
        )
        encoding = (_header(headers, b"transfer-encoding") or b"").lower()
        length = _header(headers, b"content-length")
        self._chunked = b"chunked" in encoding
        self._length: int | None = None
        if method == "HEAD" or status in _NO_BODY:
            self._length = 0
        elif not self._chunked:
            if length is not None and length.strip().isdigit():
                self._length = int(length)
            else:
                self._reusable = False  # the body ends with the connection
        self._done = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self._conn
        if conn is None or self._done:
            return
        reader = conn.reader
        with _mapped(httpx.ReadTimeout, httpx.ReadError):
            if self._chunked:
                async for chunk in self._chunks(reader):
                    yield chunk
            elif self._length is not None:
                left = self._length
                while left > 0:
                    async with asyncio.timeout(self._timeout):
                        data = await reader.read(min(left, _READ_SIZE))
                    if not data:
                        raise asyncio.IncompleteReadError(b"", left)
                    left -= len(data)
                    yield data
            else:
                while True:
                    async with asyncio.timeout(self._timeout):
                        data = await reader.read(_READ_SIZE)
                    if not data:
                        break
                    yield data
        self._done = True

    async def _chunks(self, reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
        """A chunked body, decoded from whatever has arrived: each read yields the data of
        every complete chunk it holds at once (a stream whose events came in faster than they
        were read costs one pass through the layers above, not one per event)."""
        buf = b""
        while True:
            data, buf, ended = _complete_chunks(buf)
            if data:
                yield data
            if ended:
                if buf:
                    self._reusable = False  # bytes after the body: not a clean connection
                return
            async with asyncio.timeout(self._timeout):
                more = await reader.read(_READ_SIZE)
            if not more:
                raise asyncio.IncompleteReadError(buf, None)
            buf += more

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._done and self._reusable:
            self._transport._give_back(self._key, conn)
        else:
            conn.close()
