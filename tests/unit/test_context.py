"""context: prefix/suffix around the cursor within budget, cut at line boundaries."""

from __future__ import annotations

from qwen_lsp.context import build_context, word_start
from qwen_lsp.documents import split_lines
from qwen_lsp.tokens import estimate_tokens

SOURCE = "".join(f"line{i:03d} = {i}\n" for i in range(100))  # 13 characters a line


def chars(text: str) -> int:
    return len(text)


def test_small_documents_are_sent_whole() -> None:
    lines = split_lines("def f(x):\n    return x\n\nprint(f(1))\n")
    ctx = build_context(lines, 1, 4, prefix_budget=1000, suffix_budget=1000)
    assert ctx.prefix == "def f(x):\n    "
    assert ctx.suffix == "return x\n\nprint(f(1))\n"
    assert (ctx.line_prefix, ctx.line_suffix) == ("    ", "return x")
    assert ctx.mid_line


def test_budget_cuts_at_line_boundaries() -> None:
    lines = split_lines(SOURCE)
    ctx = build_context(
        lines, 50, 7, prefix_budget=13 * 3 + 7, suffix_budget=7 + 13 * 2, count=chars
    )
    assert ctx.prefix == "line047 = 47\nline048 = 48\nline049 = 49\nline050"
    assert ctx.suffix == " = 50\nline051 = 51\nline052 = 52\n"
    ctx = build_context(lines, 50, 7, prefix_budget=13 * 3 + 6, suffix_budget=0, count=chars)
    assert ctx.prefix.startswith("line048") and ctx.suffix == ""


def test_one_huge_line_is_cut_inside_the_line() -> None:
    line = "x" * 5_000_000
    ctx = build_context([line], 0, 2_500_000, prefix_budget=100, suffix_budget=50)
    assert estimate_tokens(ctx.prefix) <= 100 and estimate_tokens(ctx.suffix) <= 50
    assert ctx.prefix and ctx.suffix


def test_word_start() -> None:
    assert word_start("    result = compu") == len("    result = ")
    assert word_start("foo(") == 4
    assert word_start("") == 0
