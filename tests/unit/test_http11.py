"""backend.http11: the lean HTTP/1.1 transport against a scripted server on 127.0.0.1, and the
backend's keep-alive through it (a streamed answer leaves its connection for the next one)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from qwen_lsp import backend as be
from qwen_lsp.backend.http11 import LeanTransport, _complete_chunks
from qwen_lsp.config import Settings
from qwen_lsp.prompts import BackendRequest
from tests.support.fake_qwen import FakeQwen, Reply

Reader, Writer = asyncio.StreamReader, asyncio.StreamWriter


class Server:
    """Answers each request with ``answer(n)`` (n: requests so far; ``None``: hang up without
    an answer) and closes the connection after the requests numbered in ``close_after``."""

    def __init__(
        self, answer: Callable[[int], bytes | None], close_after: tuple[int, ...] = ()
    ) -> None:
        self.answer = answer
        self.close_after = close_after
        self.connections = 0
        self.requests: list[bytes] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    async def _serve(self, reader: Reader, writer: Writer) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                self.requests.append(head + await reader.readexactly(length))
                reply = self.answer(len(self.requests))
                if reply is None:  # hang up without an answer
                    break
                writer.write(reply)
                await writer.drain()
                if len(self.requests) in self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> Server:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()


def chunked(*parts: bytes) -> bytes:
    body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
    return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body


def sized(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n" % (len(body), extra) + body


@pytest.fixture
async def client() -> AsyncIterator[Callable[[Server], httpx.AsyncClient]]:
    made: list[httpx.AsyncClient] = []

    def make(server: Server) -> httpx.AsyncClient:
        made.append(
            httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{server.port}", transport=LeanTransport(), timeout=5
            )
        )
        return made[-1]

    yield make
    for c in made:
        await c.aclose()


async def test_bodies_of_each_framing_and_keep_alive(
    client: Callable[..., httpx.AsyncClient],
) -> None:
    replies = [chunked(b"ab", b"c"), sized(b'{"x": 1}'), sized(b"", b"X-Empty: 1\r\n")]
    async with Server(lambda n: replies[n - 1]) as server:
        c = client(server)
        first = await c.post("/v1/completions", json={"prompt": "p"})
        second = await c.get("/v1/models")
        third = await c.get("/v1/models")
        assert (first.text, second.json(), third.content) == ("abc", {"x": 1}, b"")
        assert third.headers["x-empty"] == "1"
        assert server.connections == 1  # each body read to its end: the connection is reused
        assert server.requests[0].startswith(b"POST /v1/completions HTTP/1.1\r\n")
        assert server.requests[0].endswith(b'{"prompt":"p"}')
        assert b"\r\nhost: 127.0.0.1:" in server.requests[0].lower()


async def test_body_until_close_and_connection_close(
    client: Callable[..., httpx.AsyncClient],
) -> None:
    replies = [
        b"HTTP/1.1 200 OK\r\n\r\nto the end",  # no framing: the body ends with the connection
        sized(b"once", b"Connection: close\r\n"),  # the server says it will not reuse it
        sized(b"ok"),
    ]
    async with Server(lambda n: replies[n - 1], close_after=(1,)) as server:
        c = client(server)
        assert [(await c.get(p)).text for p in ("/a", "/b", "/c")] == ["to the end", "once", "ok"]
        assert server.connections == 3  # neither of the first two could be reused


async def test_a_response_closed_early_closes_its_connection(
    client: Callable[..., httpx.AsyncClient],
) -> None:
    async with Server(lambda n: chunked(b"data: 1\n\n", b"data: 2\n\n")) as server:
        c = client(server)
        async with c.stream("POST", "/s", json={}) as response:
            async for _ in response.aiter_bytes():
                break  # the caller has seen enough
        assert (await c.post("/s", json={})).text == "data: 1\n\ndata: 2\n\n"
        assert server.connections == 2


async def test_failures_are_httpx_errors(client: Callable[..., httpx.AsyncClient]) -> None:
    async with Server(lambda n: None) as server:
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            await client(server).get("/")
    short = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"
    async with Server(lambda n: short, close_after=(1,)) as server:
        with pytest.raises(httpx.RemoteProtocolError, match="complete message body"):
            await client(server).get("/")
    async with Server(lambda n: b"garbage\r\n\r\n") as server:
        with pytest.raises(httpx.RemoteProtocolError, match="not an HTTP response"):
            await client(server).get("/")
    bad_chunk = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
    async with Server(lambda n: bad_chunk) as server:
        with pytest.raises(httpx.RemoteProtocolError, match="chunk size"):
            await client(server).get("/")
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(transport=LeanTransport()) as c:
            await c.get("http://127.0.0.1:9/")  # the discard port: nothing listens
    with pytest.raises(httpx.UnsupportedProtocol):
        await LeanTransport().handle_async_request(httpx.Request("GET", "https://x.example/"))


async def test_read_timeout(client: Callable[..., httpx.AsyncClient]) -> None:
    async def never(reader: Reader, writer: Writer) -> None:
        await reader.read(1)
        await asyncio.sleep(10)

    server = await asyncio.start_server(never, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(transport=LeanTransport(), timeout=0.1) as c:
            with pytest.raises(httpx.ReadTimeout):
                await c.get(f"http://127.0.0.1:{port}/")
    finally:
        server.close()


async def test_a_pooled_connection_the_server_closed_is_not_reused(
    client: Callable[..., httpx.AsyncClient],
) -> None:
    answers = [sized(b"x"), sized(b"y")]
    async with Server(lambda n: answers[n - 1], close_after=(1,)) as server:
        c = client(server)
        assert (await c.get("/")).text == "x"
        transport = c._transport
        assert isinstance(transport, LeanTransport)
        (idle,) = transport._idle.values()
        async with asyncio.timeout(5):  # until the server's close has reached the client
            assert await idle[0].reader.read() == b""
        assert (await c.get("/")).text == "y"
        assert server.connections == 2


async def _completions(
    settings: Settings, n: int, transport: httpx.AsyncBaseTransport | None = None
) -> list[str]:
    backend = be.Backend(transport)
    request = BackendRequest("/completions", {"model": "m", "prompt": "p", "stream": True})
    try:
        texts = []
        for _ in range(n):
            texts.append("".join([p async for p in backend.stream(request, settings)]))
        return texts
    finally:
        await backend.aclose()


@pytest.mark.parametrize("httpx_transport", [False, True], ids=["lean", "httpx"])
async def test_streamed_answers_leave_their_connection_for_the_next(httpx_transport: bool) -> None:
    """An SSE body is read past its ``[DONE]`` to its end, so the next request reuses the
    connection instead of opening one (with httpx's transport as with the lean one)."""
    with FakeQwen() as fake:
        fake.default = Reply(text="value = 1\n")
        settings = Settings(base_url=fake.base_url, max_in_flight=4)
        transport = httpx.AsyncHTTPTransport() if httpx_transport else None
        assert await _completions(settings, 3, transport) == ["value = 1\n"] * 3
        peers = [r.peer for r in fake.requests]
        assert len(peers) == 3 and None not in peers
        assert len(set(peers)) == 1


async def test_plain_http_uses_the_lean_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    handled: list[httpx.Request] = []
    original = LeanTransport.handle_async_request

    async def spy(self: LeanTransport, request: httpx.Request) -> httpx.Response:
        handled.append(request)
        return await original(self, request)

    monkeypatch.setattr(LeanTransport, "handle_async_request", spy)
    with FakeQwen() as fake:
        await _completions(Settings(base_url=fake.base_url), 1)
    assert [r.url.path for r in handled] == ["/compatible-mode/v1/completions"]


def test_chunked_bodies_decode_however_they_are_split() -> None:
    body = b"3\r\nabc\r\n1;ext=1\r\nd\r\n0\r\nTrailer: x\r\n\r\n"
    for cut in range(len(body) + 1):
        data, rest, ended = _complete_chunks(body[:cut])
        assert ended == (cut == len(body))
        if not ended:
            more, rest, ended = _complete_chunks(rest + body[cut:])
            data += more
        assert (data, rest, ended) == (b"abcd", b"", True)
    assert _complete_chunks(b"2\r\nab\r\n0\r\n\r\nX") == (b"ab", b"X", True)
    assert _complete_chunks(b"2\r\nab\r\n0\r\n") == (b"ab", b"0\r\n", False)
    with pytest.raises(httpx.RemoteProtocolError, match="CRLF"):
        _complete_chunks(b"2\r\nabc\r\n")


async def test_events_that_arrived_together_come_out_together(
    client: Callable[..., httpx.AsyncClient],
) -> None:
    reply = chunked(b"data: 1\n\n", b"data: 2\n\n", b"data: 3\n\n")
    async with Server(lambda n: reply) as server, client(server).stream("GET", "/") as response:
        pieces = [piece async for piece in response.aiter_raw()]
    assert b"".join(pieces) == b"data: 1\n\ndata: 2\n\ndata: 3\n\n"
    assert len(pieces) == 1  # one write by the server, one read, one piece


async def test_a_reset_pooled_connection_reads_as_a_disconnect(
    client: Callable[..., httpx.AsyncClient],
) -> None:
    """A write that fails on a reused connection is the dropped keep-alive the backend
    retries once; on a fresh connection it stays a write error."""

    def reset(*args: object) -> None:
        raise ConnectionResetError("reset by peer")

    async with Server(lambda n: sized(b"x")) as server:
        c = client(server)
        await c.get("/")
        transport = c._transport
        assert isinstance(transport, LeanTransport)
        (idle,) = transport._idle.values()
        idle[0].writer.write = reset  # type: ignore[method-assign]
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            await c.get("/")
        assert (await c.get("/")).text == "x"  # on a new connection
        (idle,) = transport._idle.values()
        idle[0].writer.write = reset  # type: ignore[method-assign]
        idle[0].idle_since = -1e9  # expired: not reused, so the next write is on a fresh one
        original = asyncio.StreamWriter.write
        try:
            asyncio.StreamWriter.write = reset  # type: ignore[method-assign,assignment]
            with pytest.raises(httpx.WriteError):
                await c.get("/")
        finally:
            asyncio.StreamWriter.write = original  # type: ignore[method-assign]


async def test_a_body_finished_after_close_closes_its_connection(
    client: Callable[..., httpx.AsyncClient],
) -> None:
    async with Server(lambda n: sized(b"late")) as server:
        c = client(server)
        transport = c._transport
        assert isinstance(transport, LeanTransport)
        async with c.stream("GET", "/") as response:
            await transport.aclose()
            assert await response.aread() == b"late"
        assert transport._idle == {}
