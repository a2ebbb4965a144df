"""postprocess: the stream cutter (early close, same final text) and replies no parser handles."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qwen_lsp.context import Context
from qwen_lsp.postprocess import Edit, StreamCutter, finish_edit
from tests.unit.test_postprocess import CASES as OLD_CASES
from tests.unit.test_postprocess import at as old_at
from tests.unit.test_postprocess_extent import CASES, at

REPLIES = [(at(c[2], c[1]), c[3], c[4]) for c in CASES] + [
    (old_at(c[1]), c[2], c[3]) for c in OLD_CASES
]


def _stream(ctx: Context, raw: str, chat: bool, sizes: list[int]) -> tuple[str, bool]:
    cutter = StreamCutter(ctx, chat)
    pos, i = 0, 0
    while pos < len(raw):
        size = sizes[i % len(sizes)]
        i += 1
        if cutter.feed(raw[pos : pos + size]):
            return cutter.text, True
        pos += size
    return cutter.text, False


@settings(max_examples=300, deadline=None)
@given(
    case=st.sampled_from(range(len(REPLIES))),
    sizes=st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=6),
)
def test_the_streamed_text_gives_the_same_edit_as_the_whole_reply(
    case: int, sizes: list[int]
) -> None:
    ctx, raw, chat = REPLIES[case]
    text, _ = _stream(ctx, raw, chat, sizes)
    assert finish_edit(text, ctx, chat=chat) == finish_edit(raw, ctx, chat=chat)


def test_the_stream_closes_at_the_end_of_the_rest_of_a_function() -> None:
    ctx = at("def f(xs):\n    for x in xs:\n        |\n", "python")
    body = "if x:\n            return x\n    return None\n"
    raw = body + "\n\ndef unrelated():\n" + "    pass\n" * 200
    text, closed = _stream(ctx, raw, False, [3])
    assert closed and len(text) < len(body) + 40
    assert finish_edit(text, ctx) == finish_edit(raw, ctx)


def test_the_stream_closes_after_the_auto_closed_paren_is_re_typed() -> None:
    ctx = at("print(|)\n", "python")
    text, closed = _stream(ctx, "x, y)\nprint(1)\nprint(2)\n" * 50, False, [4])
    assert closed and text.count("\n") <= 2


def test_a_continuation_line_keeps_the_stream_open() -> None:
    cutter = StreamCutter(at("fetch(|)\n", "javascript"))
    assert not cutter.feed("url)\n")
    assert not cutter.feed("  .th")  # may be `.then(`: not certain yet
    assert not cutter.feed("en(show)\n")
    assert cutter.feed("next();\n")


def test_an_opening_fence_split_across_chunks_waits_for_its_line() -> None:
    ctx = at("def f():\n    |\n", "python")
    cutter = StreamCutter(ctx, chat=True)
    for piece in ["``", "`py", "thon", "\nreturn 1\n"]:
        assert not cutter.feed(piece)
    assert cutter.feed("```\nThat returns one.")
    assert finish_edit(cutter.text, ctx, chat=True) is not None
    assert finish_edit(cutter.text, ctx, chat=True) == finish_edit(
        "```python\nreturn 1\n```\nThat returns one.", ctx, chat=True
    )


def test_a_chat_echo_in_progress_does_not_close_the_stream() -> None:
    ctx = at("import os\n\ndef main():\n    |\n", "python")
    cutter = StreamCutter(ctx, chat=True)
    assert not cutter.feed("import os\n")
    assert not cutter.feed("\ndef main():\n")
    cutter.feed("    print(os.getcwd())\n")
    assert finish_edit(cutter.text, ctx, chat=True) == finish_edit(
        "import os\n\ndef main():\n    print(os.getcwd())\n", ctx, chat=True
    )


# --- replies the parser cannot handle: the fallback rules, never an exception ------------------


def test_an_unknown_language_gets_the_fallback_rules() -> None:
    ctx = at("fun f(): Int {\n  |\n}\n", "cobol")
    edit = finish_edit("val x = 1\n  return x\n}\n\nfun g() {}", ctx)
    assert edit is not None and edit.text == "val x = 1\n  return x"


def test_a_five_megabyte_reply_is_cut_without_parsing_it() -> None:
    ctx = at("def f():\n    |\n", "python")
    raw = "x = 1\n" + "    y = [" + "1, " * 1_700_000
    began = time.perf_counter()
    edit = finish_edit(raw, ctx)
    small = time.perf_counter()
    finish_edit("x = 1\n    y = [1, 2]", ctx)
    small = time.perf_counter() - small
    assert edit is not None and edit.text.startswith("x = 1")
    assert time.perf_counter() - began < 2000 * max(small, 1e-4)  # bounded, not quadratic


def test_lone_surrogates_do_not_break_the_parser() -> None:
    ctx = at('def f():\n    s = "\ud800|"\n', "python")
    edit = finish_edit('\udfff"\n    return s', ctx)
    assert edit is not None and "\udfff" in edit.text


def test_a_single_line_five_megabyte_reply_mid_line() -> None:
    ctx = at("x = foo(|, 2)\n", "javascript")
    edit = finish_edit("a" * 5_000_000, ctx)
    assert edit is not None and len(edit.text) <= 5_000_000


_PIECES = [*"ab1 \t\n(){}[]\"'`;,.:#/*-=<>\\", "\ud800", "é", "```", "end", "def ", "if ", "    "]
_CODE = st.lists(st.sampled_from(_PIECES), max_size=40).map("".join)


@settings(max_examples=400, deadline=None)
@given(
    before=_CODE,
    after=_CODE,
    raw=_CODE,
    chat=st.booleans(),
    language=st.sampled_from(["python", "javascript", "go", "ruby", "lua", "cpp", "", "cobol"]),
)
def test_any_reply_in_any_context_gives_an_edit_or_none(
    before: str, after: str, raw: str, chat: bool, language: str
) -> None:
    ctx = Context(
        prefix=before,
        suffix=after,
        line_prefix=before.rsplit("\n", 1)[-1],
        line_suffix=after.split("\n", 1)[0],
        language=language,
    )
    edit = finish_edit(raw, ctx, chat=chat)
    assert edit is None or (edit.text and 0 <= edit.replace <= len(ctx.line_suffix))
    cutter = StreamCutter(ctx, chat)
    for i in range(0, len(raw), 3):
        if cutter.feed(raw[i : i + 3]):
            break


def test_a_failing_rule_falls_back_to_the_plain_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    import qwen_lsp.postprocess as pp
    import qwen_lsp.postprocess.streaming as streaming

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(pp, "scope", broken)
    monkeypatch.setattr(streaming, "scope", broken)
    ctx = at("x = f(|, 2)\n", "python")
    assert finish_edit("a\nb<|endoftext|>", ctx) == Edit("a")
    assert not StreamCutter(ctx).feed("a\nb\n")
