"""postprocess.indentation: what the floor costs (its results are covered by the extent tests)."""

from __future__ import annotations

import pytest

from qwen_lsp.context import Context
from qwen_lsp.postprocess import StreamCutter, finish_edit, indentation
from tests.support.spy import calls_of

PREFIX = "class A:\n    def f(self):\n        x = 1\n" * 200 + "def g():\n    y = 2\n"


@pytest.fixture
def widths(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = calls_of(monkeypatch, indentation, "width")
    indentation.floor.cache_clear()
    return seen


def test_at_column_zero_nothing_is_scanned(widths: list[str]) -> None:
    assert indentation.floor(PREFIX, 0) == 0
    assert widths == []


def test_the_same_prefix_is_scanned_once(widths: list[str]) -> None:
    assert indentation.floor(PREFIX, 4) == 1  # inside g's body: down to g's body
    scanned = len(widths)
    assert scanned > 0
    assert indentation.floor(PREFIX, 4) == 1
    assert len(widths) == scanned


def test_a_streamed_reply_scans_the_prefix_once(widths: list[str]) -> None:
    ctx = Context(
        prefix=PREFIX + "    ", suffix="\n", line_prefix="    ", line_suffix="", language="python"
    )
    cutter = StreamCutter(ctx)
    for piece in ("z = 3", "\n", "    w = 4\n"):
        cutter.feed(piece)
    edit = finish_edit(cutter.text, ctx)
    assert edit is not None and edit.text.startswith("z = 3")
    assert indentation.floor.cache_info().misses == 1
