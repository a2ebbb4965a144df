"""End to end: capabilities, FIM and partial mode, streaming and JSON, encodings, items."""

from __future__ import annotations

import pytest
from lsprotocol import types as lsp

from tests.e2e.conftest import Starter, completions, plain
from tests.support.fake_qwen import FakeQwen, Reply

FIB = "def fib(n):\n    \n\nprint(fib(10))\n"


async def test_capabilities(start: Starter) -> None:
    session = await start(encodings=["utf-8", "utf-16"])
    caps = session.result.capabilities
    assert caps.inline_completion_provider is not None
    assert caps.completion_provider is not None
    assert caps.position_encoding == lsp.PositionEncodingKind.Utf8
    sync = caps.text_document_sync
    assert isinstance(sync, lsp.TextDocumentSyncOptions)
    assert sync.change == lsp.TextDocumentSyncKind.Incremental
    assert session.result.server_info is not None and session.result.server_info.name == "qwen-lsp"


@pytest.mark.parametrize("stream", [True, False])
async def test_fim_inline_completion(start: Starter, fake: FakeQwen, stream: bool) -> None:
    fake.default = Reply(text="if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)")
    session = await start(stream=stream, stop=["\n\n\n"])
    uri = session.open(FIB)
    text = await session.inline(uri, 1, 4)
    assert text == "if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)"
    [request] = completions(fake)
    assert request.path.endswith("/completions") and not request.path.endswith("chat/completions")
    assert request.body["prompt"].endswith(
        "<|fim_prefix|>def fib(n):\n    <|fim_suffix|>\n\nprint(fib(10))\n<|fim_middle|>"
    )
    assert "<|file_sep|>file1.py\n" in request.body["prompt"]  # path relative to the workspace
    assert request.body["stream"] is stream
    assert {"<|endoftext|>", "<|file_sep|>", "\n\n\n"} <= set(request.body["stop"])


async def test_partial_mode_for_chat_models(start: Starter, fake: FakeQwen) -> None:
    # A chat model that echoes the line and wraps its answer in a fence: both removed.
    fake.default = Reply(text="```python\n    return a + b\n```")
    session = await start(model="qwen3-coder-plus")
    uri = session.open("def add(a, b):\n    \n")
    assert await session.inline(uri, 1, 4) == "return a + b"
    [request] = completions(fake)
    assert request.path.endswith("/chat/completions")
    assert request.body["messages"][-1] == {
        "role": "assistant",
        "content": "def add(a, b):\n    ",
        "partial": True,
    }
    assert request.body["enable_thinking"] is False
    assert request.body["model"] == "qwen3-coder-plus"


async def test_completion_item_for_editors_without_inline_completion(
    start: Starter, fake: FakeQwen
) -> None:
    fake.default = Reply(text="ult = compute(x)")
    session = await start(inline=False)
    uri = session.open("def g(x):\n    res\n")
    result = await session.completion(uri, 1, 7)
    assert result.is_incomplete
    [item] = result.items
    assert item.label == "result = compute(x)"
    assert isinstance(item.text_edit, lsp.TextEdit)
    assert item.text_edit.new_text == "result = compute(x)"
    assert item.text_edit.range == lsp.Range(lsp.Position(1, 4), lsp.Position(1, 7))


@pytest.mark.parametrize(
    ("encoding", "column"),
    [("utf-16", 13), ("utf-8", 16), ("utf-32", 12)],  # the cursor after `s = "é😀" + `
)
async def test_position_encodings(
    start: Starter, fake: FakeQwen, encoding: str, column: int
) -> None:
    fake.default = Reply(text="x")
    session = await start(encodings=[encoding])
    assert session.result.capabilities.position_encoding == encoding
    uri = session.open('s = "é😀" + \n')
    assert await session.inline(uri, 0, column) == "x"
    [request] = completions(fake)
    assert '<|fim_prefix|>s = "é😀" + <|fim_suffix|>\n<|fim_middle|>' in request.body["prompt"]


async def test_form_feed_and_line_separator_are_not_line_breaks(
    start: Starter, fake: FakeQwen
) -> None:
    fake.default = Reply(text="2")
    session = await start()
    uri = session.open("a = 1\f\u2028# same line\nb = \n")
    session.edit(uri, 2, "3", (1, 4, 1, 4))  # line 1 is `b = ` only if \f and U+2028 don't split
    session.edit(uri, 3, "", (1, 4, 1, 5))
    assert await session.inline(uri, 1, 4) == "2"
    [request] = completions(fake)
    assert "<|fim_prefix|>a = 1\f\u2028# same line\nb = <|fim_suffix|>" in request.body["prompt"]


async def test_accept_command_and_stats(start: Starter, fake: FakeQwen) -> None:
    fake.default = Reply(text="42")
    session = await start()
    uri = session.open("x = \n")
    result = await session.inline_request(uri, 0, 4)
    command = result.items[0].command
    await session.client.workspace_execute_command_async(
        lsp.ExecuteCommandParams(command=command.command, arguments=command.arguments)
    )
    stats = plain(await session.client.protocol.send_request_async("qwen/stats", {}))
    assert stats["languages"]["python"] == {"shown": 1, "accepted": 1, "acceptRate": 1.0}
    assert stats["requests"]["backend"] == 1
