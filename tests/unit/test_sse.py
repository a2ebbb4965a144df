"""backend.sse: think blocks, complete lines of partial answers."""

from __future__ import annotations

import pytest

from qwen_lsp.backend.sse import ThinkFilter, complete_lines


def run(pieces: list[str]) -> str:
    think = ThinkFilter()
    return "".join(think.feed(p) for p in pieces) + think.flush()


@pytest.mark.parametrize(
    ("pieces", "expected"),
    [
        (["<think>", "plan", "</think>", "\n\n", "return 1"], "return 1"),
        (["<thi", "nk>a</th", "ink>\nx"], "x"),  # tags split across pieces
        (["\n<think>\n", "a\n", "</think>\n\nx = 1\n"], "x = 1\n"),
        (["<think>never closed"], ""),  # an answer all thought: nothing to show
        (["return <think>"], "return <think>"),  # only at the start
        (["<", "div>"], "<div>"),  # a prefix of "<think>" that is not it
        (["<th"], "<th"),  # the end of the answer releases what was held
        (["x = 1"], "x = 1"),
    ],
)
def test_a_leading_think_block_is_dropped(pieces: list[str], expected: str) -> None:
    assert run(pieces) == expected


def test_plain_text_is_not_held_back() -> None:
    think = ThinkFilter()
    assert think.feed("ret") == "ret"
    assert think.feed("urn") == "urn"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("a = 1\nb = 2\nc = ", "a = 1\nb = 2\n"),
        ("a = 1\n", "a = 1\n"),
        ("no line break", ""),
        ("", ""),
    ],
)
def test_complete_lines(text: str, kept: str) -> None:
    assert complete_lines(text) == kept
