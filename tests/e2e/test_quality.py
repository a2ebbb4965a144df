"""End to end: typed-ahead, cache, early stream close, repository context, warm connection."""

from __future__ import annotations

import time

from lsprotocol import types as lsp

from tests.e2e.conftest import Session, Starter, completions, plain, until
from tests.support.fake_qwen import FakeQwen, Reply


async def inline_item(
    session: Session, uri: str, line: int, column: int
) -> lsp.InlineCompletionItem:
    result = await session.inline_request(uri, line, column)
    items = result.items if isinstance(result, lsp.InlineCompletionList) else result
    assert items, "no inline item"
    item = items[0]
    assert isinstance(item, lsp.InlineCompletionItem)
    return item


async def type_text(
    session: Session, uri: str, line: int, column: int, text: str, version: int
) -> list[str | None]:
    """Type ``text`` one character at a time, asking after each; returns the answers."""
    answers = []
    for i, char in enumerate(text):
        session.edit(uri, version + i, char, (line, column + i, line, column + i))
        answers.append(await session.inline(uri, line, column + i + 1))
    return answers


async def test_typing_the_suggestion_is_answered_without_the_backend(
    start: Starter, fake: FakeQwen
) -> None:
    fake.default = Reply(text="return a + b")
    session = await start()
    uri = session.open("def add(a, b):\n    \n")
    assert await session.inline(uri, 1, 4) == "return a + b"
    answers = await type_text(session, uri, 1, 4, "return", version=2)
    assert answers == ["eturn a + b", "turn a + b", "urn a + b", "rn a + b", "n a + b", " a + b"]
    assert len(completions(fake)) == 1
    stats = plain(await session.client.protocol.send_request_async("qwen/stats", {}))
    assert stats["requests"]["typed_ahead"] == 6
    # Typing something else asks the model again.
    fake.default = Reply(text="+ 1")
    assert await type_text(session, uri, 1, 10, "x", version=8) == ["+ 1"]
    assert len(completions(fake)) == 2


async def test_an_identical_request_is_answered_from_the_cache(
    start: Starter, fake: FakeQwen
) -> None:
    def cursor_line(prompt: str) -> str:
        return prompt.split("<|fim_suffix|>")[0].rsplit("\n", 1)[-1]

    fake.responder = lambda req: Reply(
        text="1" if cursor_line(req.prompt).endswith("first = ") else "2"
    )
    session = await start()
    uri = session.open("first = \nsecond = \n")
    assert await session.inline(uri, 0, 8) == "1"
    assert await session.inline(uri, 1, 9) == "2"
    assert await session.inline(uri, 0, 8) == "1"  # cursor back: no new call
    assert len(completions(fake)) == 2
    session.edit(uri, 2, "x", (0, 8, 0, 8))  # type, then undo: the same text again
    session.edit(uri, 3, "", (0, 8, 0, 9))
    assert await session.inline(uri, 0, 8) == "1"
    assert len(completions(fake)) == 2


async def test_the_stream_is_closed_at_the_cut_point(start: Starter, fake: FakeQwen) -> None:
    body = "x, y)\n" + "".join(f"print({i})\n" for i in range(200))
    fake.default = Reply(text=body, token_ms=20)
    session = await start()
    uri = session.open("result = add()\n")
    # The ")" is auto-closed: the model re-types it, and the item replaces it (not doubled).
    item = await inline_item(session, uri, 0, 13)
    assert item.insert_text == "x, y)"
    assert item.range == lsp.Range(lsp.Position(0, 13), lsp.Position(0, 14))
    [request] = completions(fake)
    assert await until(lambda: request.disconnected)
    assert request.chunks_sent < len(body) // 4  # far from the whole answer


async def test_repository_context_in_fim_prompts(start: Starter, fake: FakeQwen) -> None:
    fake.default = Reply(text="area_of_circle(r)")
    session = await start()
    session.open(
        "import math\n\ndef area_of_circle(radius):\n    return math.pi * radius ** 2\n",
        name="geometry.py",
    )
    session.client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(
            lsp.TextDocumentItem(
                uri="file:///elsewhere/secret.py",
                language_id="python",
                version=1,
                text="def area_of_circle(radius):\n    return 'outside the workspace'\n",
            )
        )
    )
    uri = session.open("from geometry import area_of_circle\n\nr = 2\nprint()\n", name="main.py")
    # Balance, not tail matching: the text's ")" closes its own "(", the document's stays.
    assert await session.inline(uri, 3, 6) == "area_of_circle(r)"
    [request] = completions(fake)
    prompt = request.body["prompt"]
    assert prompt.startswith("<|repo_name|>project\n<|file_sep|>geometry.py\nimport math\n")
    assert "<|file_sep|>main.py\n<|fim_prefix|>from geometry import" in prompt
    assert "outside the workspace" not in prompt


async def test_repository_context_in_partial_mode(start: Starter, fake: FakeQwen) -> None:
    fake.default = Reply(text="area_of_circle(r)")
    session = await start(model="qwen-plus")
    session.open("def area_of_circle(radius):\n    return 3.14 * radius ** 2\n", name="geometry.py")
    uri = session.open("from geometry import area_of_circle\nprint()\n", name="main.py")
    await session.inline(uri, 1, 6)
    [request] = completions(fake)
    user = request.body["messages"][-2]["content"]
    assert "`geometry.py`" in user and "def area_of_circle(radius)" in user


async def test_the_connection_is_warm_before_the_first_completion(
    start: Starter, fake: FakeQwen
) -> None:
    fake.default = Reply(text="1")
    session = await start()
    assert await until(lambda: any(r.method == "GET" for r in fake.requests))
    uri = session.open("x = \n")
    assert await session.inline(uri, 0, 4) == "1"
    warm = next(r for r in fake.requests if r.method == "GET")
    [first] = completions(fake)
    assert warm.path.endswith("/models") and warm.peer == first.peer  # one kept-alive connection


async def test_typed_ahead_answers_much_faster_than_the_backend(
    start: Starter, fake: FakeQwen
) -> None:
    # Relative, not absolute: a typed-ahead answer beats a backend answer that has 300 ms of
    # latency and no debounce.
    fake.default = Reply(text="return a + b", ttft_ms=300)
    session = await start()
    uri = session.open("def add(a, b):\n    \n")
    began = time.monotonic()
    await session.inline(uri, 1, 4)
    backend_time = time.monotonic() - began
    session.edit(uri, 2, "r", (1, 4, 1, 4))
    began = time.monotonic()
    assert await session.inline(uri, 1, 5) == "eturn a + b"
    assert time.monotonic() - began < backend_time / 2


# --- extent and edges of a suggestion (issue 8) ---------------------------------------------------


async def test_auto_closed_brackets_get_multi_line_text_and_a_replacing_range(
    start: Starter, fake: FakeQwen
) -> None:
    fake.default = Reply(text="\n  go();\n});\nother();\n")
    session = await start()
    uri = session.open("useEffect(() => {});\n", name="app.js", language="javascript")
    item = await inline_item(session, uri, 0, 17)
    assert item.insert_text == "\n  go();\n});"
    assert item.range == lsp.Range(lsp.Position(0, 17), lsp.Position(0, 20))


async def test_completion_items_replace_the_re_typed_closers_too(
    start: Starter, fake: FakeQwen
) -> None:
    fake.default = Reply(text='hello", name)\n')
    session = await start(inline=False)
    uri = session.open('greet("")\n', name="main.rb", language="ruby")
    result = await session.completion(uri, 0, 7)
    [item] = result.items
    assert isinstance(item.text_edit, lsp.TextEdit)
    assert item.text_edit.new_text == 'hello", name)'
    assert item.text_edit.range == lsp.Range(lsp.Position(0, 7), lsp.Position(0, 9))


async def test_the_replacing_range_is_in_the_client_encoding(
    start: Starter, fake: FakeQwen
) -> None:
    fake.default = Reply(text="x)\n")
    session = await start(encodings=["utf-16"])
    uri = session.open("s = '😀' + f()\n", name="e.py")
    item = await inline_item(session, uri, 0, 13)  # after "f(": the emoji is two UTF-16 units
    assert item.insert_text == "x)"
    assert item.range == lsp.Range(lsp.Position(0, 13), lsp.Position(0, 14))


async def test_typing_a_replacing_suggestion_keeps_its_range(
    start: Starter, fake: FakeQwen
) -> None:
    fake.default = Reply(text="a, b)\nnext()\n")
    session = await start()
    uri = session.open("call()\n")
    first = await inline_item(session, uri, 0, 5)
    assert (first.insert_text, first.range.end.character) == ("a, b)", 6)
    session.edit(uri, 2, "a", (0, 5, 0, 5))
    second = await inline_item(session, uri, 0, 6)
    assert (second.insert_text, second.range.end.character) == (", b)", 7)
    assert len(completions(fake)) == 1  # typed ahead, no new request


async def test_the_space_before_the_following_word_is_kept(start: Starter, fake: FakeQwen) -> None:
    fake.default = Reply(text="return ")
    session = await start()
    uri = session.open("def f():\n    False\n")
    assert await session.inline(uri, 1, 4) == "return "


async def test_the_rest_of_a_function_after_a_nested_block(start: Starter, fake: FakeQwen) -> None:
    rest = "if x:\n            return x\n    return None"
    fake.default = Reply(text=rest + "\n\n\ndef unrelated():\n    pass\n")
    session = await start()
    uri = session.open("def first(xs):\n    for x in xs:\n        \n")
    assert await session.inline(uri, 2, 8) == rest


async def test_the_rest_of_a_go_function_keeps_the_closing_brace_it_lacks(
    start: Starter, fake: FakeQwen
) -> None:
    rest = "if x > 0 {\n\t\t\treturn x\n\t\t}\n\t}\n\treturn 0\n}"
    fake.default = Reply(text=rest + "\n\nfunc other() {}\n")
    session = await start()
    uri = session.open("package p\n\nfunc first(xs []int) int {\n\tfor _, x := range xs {\n\t\t",
                       name="p.go", language="go")  # fmt: skip
    assert await session.inline(uri, 4, 2) == rest


async def test_the_stream_closes_when_the_rest_of_a_function_is_complete(
    start: Starter, fake: FakeQwen
) -> None:
    body = "total += x\n    return total\n\n\ndef other():\n" + "    pass\n" * 300
    fake.default = Reply(text=body, token_ms=10)
    session = await start()
    uri = session.open("def add(xs):\n    total = 0\n    for x in xs:\n        \n")
    assert await session.inline(uri, 3, 8) == "total += x\n    return total"
    [request] = completions(fake)
    assert await until(lambda: request.disconnected)
    assert request.chunks_sent < len(body) // 4


async def test_a_chat_reply_whose_fence_is_split_across_chunks(
    start: Starter, fake: FakeQwen
) -> None:
    fake.default = Reply(chunks=["```py", "thon\nreturn a", " + b\n``", "`\nDone."])
    session = await start(model="qwen-plus")
    uri = session.open("def add(a, b):\n    \n")
    assert await session.inline(uri, 1, 4) == "return a + b"
