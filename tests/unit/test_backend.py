"""backend: SSE and JSON decoding, error mapping, and where the key goes (httpx.MockTransport)."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from qwen_lsp import backend as be
from qwen_lsp.config import Settings
from qwen_lsp.prompts import BackendRequest

KEY = "sk-test-0123456789"
SETTINGS = Settings(api_key=KEY, base_url="https://qwen.example/compatible-mode/v1")
FIM = BackendRequest("/completions", {"model": "m", "prompt": "p", "stream": True})
CHAT = BackendRequest("/chat/completions", {"model": "m", "messages": [], "stream": True})


def sse(*events: object) -> bytes:
    return b"".join(
        f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n".encode() for e in events
    )


def chunk(text: str, finish: str | None = None) -> dict[str, object]:
    return {
        "object": "text_completion",
        "choices": [{"index": 0, "text": text, "finish_reason": finish}],
    }


def delta(text: str | None, finish: str | None = None) -> dict[str, object]:
    return {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]}


async def collect(
    handler: Callable[[httpx.Request], httpx.Response], request: BackendRequest = FIM
) -> str:
    backend = be.Backend(httpx.MockTransport(handler))
    try:
        return "".join([piece async for piece in backend.stream(request, SETTINGS)])
    finally:
        await backend.aclose()


def event_stream(body: bytes, status: int = 200) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(
        status, content=body, headers={"content-type": "text/event-stream"}
    )


async def test_fim_stream_is_decoded() -> None:
    body = sse(
        chunk("if n"),
        chunk(" < 2:"),
        chunk("", "stop"),
        {"choices": [], "usage": {"total_tokens": 3}},
        "[DONE]",
    )
    assert await collect(event_stream(body)) == "if n < 2:"


async def test_chat_stream_with_role_chunk_and_finish_on_content() -> None:
    body = sse(
        {"choices": [{"delta": {"role": "assistant", "content": ""}, "index": 0}]},
        delta("return "),
        delta("x", "stop"),
        "[DONE]",
    )
    assert await collect(event_stream(body), CHAT) == "return x"


async def test_sse_framing_details() -> None:
    body = (
        b": keep-alive comment\r\n\r\nevent: message\r\ndata:"
        + json.dumps(chunk("a")).encode()
        + b"\r\n\r\ndata: "
        + json.dumps(chunk("b", "length")).encode()
        + b"\r\n\r\n"
    )
    assert await collect(event_stream(body)) == "ab"  # CRLF, comments, no [DONE] but finished


async def test_plain_json_answers() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"choices": [{"message": {"content": "done"}}]})

    assert await collect(handler, CHAT) == "done"


@pytest.mark.parametrize(
    ("status", "body", "headers", "error", "fragment"),
    [
        (
            401,
            {"error": {"code": "invalid_api_key", "message": "Incorrect API key"}},
            {},
            be.AuthError,
            "invalid_api_key",
        ),
        (
            403,
            {"error": {"code": "AccessDenied.Unpurchased", "message": "no"}},
            {},
            be.AuthError,
            "AccessDenied",
        ),
        (
            404,
            {"error": {"code": "model_not_found", "message": "gone"}},
            {},
            be.ModelNotFoundError,
            "model_not_found",
        ),
        (
            429,
            {"error": {"code": "limit_requests", "message": "slow down"}},
            {"Retry-After": "7"},
            be.RateLimitError,
            "limit_requests",
        ),
        (500, {"error": {"code": "InternalError", "message": "boom"}}, {}, be.ServerError, "500"),
        (503, "<html>Service Unavailable</html>", {}, be.ServerError, "Service Unavailable"),
    ],
)
async def test_http_errors_map_to_the_hierarchy(
    status: int, body: object, headers: dict[str, str], error: type[Exception], fragment: str
) -> None:
    content = body.encode() if isinstance(body, str) else json.dumps(body).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=content, headers=headers)

    with pytest.raises(error) as caught:
        await collect(handler)
    assert fragment in str(caught.value) and KEY not in str(caught.value)
    if status == 429:
        assert caught.value.retry_after == 7.0  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (sse(chunk("a")), "ended before"),  # truncated: no finish_reason, no [DONE]
        (sse(chunk("a"), {"error": {"code": "InternalError", "message": "mid"}}), "mid"),
        (b"data: {not json\n\n", "not valid JSON"),
        (sse({"choices": "nope"}), "no 'choices'"),
    ],
)
async def test_broken_streams_are_protocol_errors(body: bytes, fragment: str) -> None:
    with pytest.raises(be.ProtocolError, match=fragment):
        await collect(event_stream(body))


async def test_malformed_json_body() -> None:
    with pytest.raises(be.ProtocolError, match="not valid JSON"):
        await collect(
            lambda r: httpx.Response(
                200, content=b"{oops", headers={"content-type": "application/json"}
            )
        )


async def test_transport_failures() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(be.ConnectError, match="cannot reach"):
        await collect(refuse)
    with pytest.raises(be.BackendTimeout):
        await collect(slow)


async def test_key_goes_to_base_url_only_and_redirects_are_not_followed() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(307, headers={"Location": "https://elsewhere.example/steal"})

    with pytest.raises(be.ServerError, match="307"):
        await collect(handler)
    assert [str(r.url) for r in seen] == ["https://qwen.example/compatible-mode/v1/completions"]
    assert seen[0].headers["authorization"] == f"Bearer {KEY}"


async def test_closing_early_closes_the_response() -> None:
    closed: list[bool] = []

    class Body(httpx.AsyncByteStream):
        async def __aiter__(self):  # type: ignore[override]
            yield sse(chunk("first"))
            yield sse(chunk("second"))

        async def aclose(self) -> None:
            closed.append(True)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Body(), headers={"content-type": "text/event-stream"})

    backend = be.Backend(httpx.MockTransport(handler))
    stream = backend.stream(FIM, SETTINGS)
    assert await stream.__anext__() == "first"
    await stream.aclose()
    assert closed == [True]
    await backend.aclose()


def test_retry_after_forms() -> None:
    assert be._retry_after("3") == 3.0
    assert be._retry_after(None) is None
    assert be._retry_after("garbage") is None
    assert 0 <= be._retry_after("Wed, 21 Oct 2015 07:28:00 GMT") <= 0.0 + 1e-9  # type: ignore[operator]


# -- what real servers do ------------------------------------------------------------------------

LLAMA_OVERFLOW = {
    "error": {
        "message": "This model's maximum context length is 2048 tokens, however you requested "
        "2724 tokens (2468 in your prompt; 256 for the completion). Please reduce your prompt; "
        "or completion length.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded",
    }
}


@pytest.mark.parametrize(
    ("body", "n_ctx"),
    [
        (LLAMA_OVERFLOW, 2048),  # llama-cpp-python
        (
            {
                "error": {
                    "code": 400,
                    "message": "the request exceeds the available context size, try increasing it",
                    "type": "exceed_context_size_error",
                    "n_prompt_tokens": 5000,
                    "n_ctx": 4096,
                }
            },
            4096,
        ),  # llama.cpp's server
        (
            {
                "object": "error",
                "message": "This model's maximum context length is 32768 tokens. However, you "
                "requested 33000 tokens (32744 in the messages, 256 in the completion).",
                "type": "BadRequestError",
                "code": 400,
            },
            None,  # vLLM puts the message at the top: recognised, size unknown
        ),
    ],
)
def test_context_overflow_errors_carry_the_context_size(
    body: dict[str, object], n_ctx: int | None
) -> None:
    error = be.errors.status_error(400, json.dumps(body).encode(), {}, "m")
    assert isinstance(error, be.ContextLengthError)
    assert error.n_ctx == n_ctx


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b'{"detail":"Not Found"}', be.EndpointNotFoundError),  # FastAPI servers
        (b"404 page not found", be.EndpointNotFoundError),  # Ollama
        (b'{"error":{"code":"model_not_found","message":"no"}}', be.ModelNotFoundError),
        (
            b'{"error":{"message":"model \\"x\\" not found, try pulling it first"}}',
            be.ModelNotFoundError,
        ),
    ],
)
def test_a_404_of_the_endpoint_is_not_a_missing_model(body: bytes, kind: type) -> None:
    assert type(be.errors.status_error(404, body, {}, "x")) is kind


async def test_an_empty_stream_is_asked_again_without_streaming() -> None:
    seen: list[object] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body["stream"])
        if body["stream"]:
            return httpx.Response(200, content=b"", headers={"content-type": "text/event-stream"})
        return httpx.Response(400, json=LLAMA_OVERFLOW)

    backend = be.Backend(httpx.MockTransport(handler))
    with pytest.raises(be.ContextLengthError):
        _ = [p async for p in backend.stream(FIM, SETTINGS)]
    assert seen == [True, False]
    assert backend.server(SETTINGS).n_ctx == 2048
    fitted = backend.effective(SETTINGS)
    assert fitted.max_prefix_tokens < SETTINGS.max_prefix_tokens
    await backend.aclose()


async def test_an_empty_answer_to_the_second_ask_is_an_error() -> None:
    with pytest.raises(be.EmptyStreamError):
        await collect(event_stream(b""))


async def test_a_dropped_connection_is_retried_once() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return httpx.Response(200, json={"choices": [{"text": "ok", "finish_reason": "stop"}]})

    assert await collect(handler) == "ok"
    assert len(calls) == 2


async def test_done_without_finish_reason_is_a_truncated_stream_after_its_text() -> None:
    backend = be.Backend(httpx.MockTransport(event_stream(sse(chunk("a\n"), chunk("b"), "[DONE]"))))
    got: list[str] = []
    with pytest.raises(be.TruncatedStream):
        async for piece in backend.stream(FIM, SETTINGS):
            got.append(piece)
    assert got == ["a\n", "b"]
    await backend.aclose()


async def test_a_think_block_is_dropped_from_the_stream() -> None:
    body = sse(delta("<think>"), delta("hmm"), delta("</think>\n\n"), delta("x", "stop"), "[DONE]")
    assert await collect(event_stream(body), CHAT) == "x"


async def test_a_404_of_completions_in_auto_mode_switches_to_partial_mode() -> None:
    settings = Settings(base_url="http://127.0.0.1:9/v1", model="qwen2.5-coder")
    assert settings.uses_fim
    backend = be.Backend(httpx.MockTransport(lambda r: httpx.Response(404, text="Not Found")))
    with pytest.raises(be.EndpointNotFoundError):
        _ = [p async for p in backend.stream(FIM, settings)]
    assert not backend.effective(settings).uses_fim
    forced = Settings(base_url=settings.base_url, model=settings.model, mode="fim")
    assert backend.effective(forced).uses_fim  # an explicit mode is obeyed
    await backend.aclose()


async def test_local_servers_get_one_request_in_flight() -> None:
    import asyncio

    backend = be.Backend()
    local = Settings(base_url="http://127.0.0.1:9/v1")
    inside = 0
    most = 0

    async def hold() -> None:
        nonlocal inside, most
        async with backend.slot(local):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.01)
            inside -= 1

    await asyncio.gather(*(hold() for _ in range(4)))
    assert most == 1
    remote = Settings(base_url="https://dashscope.aliyuncs.com/compatible-mode/v1")
    async with backend.slot(remote), backend.slot(remote):
        pass  # no limit: both at once
    await backend.aclose()


async def test_warm_reads_the_context_size_and_believes_a_new_one() -> None:
    local = Settings(base_url="http://127.0.0.1:9/v1", model="m")
    size = {"n": 1024}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/props":
            return httpx.Response(200, json={"default_generation_settings": {"n_ctx": size["n"]}})
        return httpx.Response(200, json={"data": [{"id": "m", "owned_by": "llamacpp"}]})

    backend = be.Backend(httpx.MockTransport(handler))
    await backend.warm(local)
    assert backend.family(local) == "llama.cpp"
    assert backend.server(local).fit_ctx == 1024
    small = backend.effective(local)
    size["n"] = 32768  # restarted with a bigger context
    await backend.warm(local)
    assert backend.effective(local) == local != small
    await backend.aclose()


async def test_the_request_is_what_httpx_would_build() -> None:
    """The backend builds its POST itself (cheaper than ``client.build_request``): the same
    URL, body and headers, and a lone surrogate from the client's JSON goes out escaped."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=chunk("x", "stop"))

    body = {"model": "m", "prompt": "é\ud800", "stream": False}
    assert await collect(handler, BackendRequest("/completions", body)) == "x"
    (sent,) = seen
    async with httpx.AsyncClient(base_url=SETTINGS.base_url) as client:
        plain = {**body, "prompt": "é"}
        built = client.build_request("POST", "/completions", json=plain)
    assert sent.url == built.url == "https://qwen.example/compatible-mode/v1/completions"
    assert json.loads(sent.content) == body
    assert b"\\ud800" in sent.content  # escaped, so the body is valid UTF-8
    assert sent.headers["content-type"] == built.headers["content-type"] == "application/json"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["user-agent"].startswith("qwen-lsp/")
    assert sent.extensions["timeout"]["read"] == SETTINGS.timeout_ms / 1000
