"""Micro-benchmark: one keystroke applied to qwen-lsp's ``Document`` and to pygls' ``TextDocument``.

Both get the same incremental change (one character typed at the end of the middle line) in the
same process, timed with ``perf_counter_ns``; the figure is the median over ``reps`` keystrokes.
pygls rebuilds the whole text on each incremental edit; qwen-lsp re-splits only the lines the
edit touches.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from lsprotocol.types import Position, Range, TextDocumentContentChangePartial
from pygls.workspace import TextDocument

from benchmarks.stats import median, ratio
from qwen_lsp.documents import Change, Document

_URI = "file:///benchmark/big.py"


@dataclass(frozen=True, slots=True)
class EditCost:
    """Median microseconds per keystroke for each document model at one size."""

    lines: int
    qwen_us: float
    pygls_us: float

    @property
    def speedup(self) -> float:
        """How many times cheaper qwen-lsp's edit is."""
        return ratio(self.pygls_us, self.qwen_us)


def edit_cost(text: str, reps: int) -> EditCost:
    """Time ``reps`` keystrokes on each model, starting from ``text``."""
    lines = text.count("\n")
    line = lines // 2
    column = len(text.splitlines()[line])

    document = Document(_URI, text, 1, "python")

    def qwen_edit(i: int) -> None:
        at = column + i
        document.apply([Change("q", (line, at, line, at))], i + 2)

    text_document = TextDocument(_URI, text, 1, "python")

    def pygls_edit(i: int) -> None:
        at = Position(line, column + i)
        text_document.apply_change(TextDocumentContentChangePartial(Range(at, at), "q"))

    cost = EditCost(lines, _median_us(qwen_edit, reps), _median_us(pygls_edit, reps))
    if document.text != text_document.source:
        raise AssertionError("the two document models disagree after the same edits")
    return cost


def _median_us(edit: Callable[[int], None], reps: int) -> float:
    samples = []
    for i in range(reps):
        start = time.perf_counter_ns()
        edit(i)
        samples.append((time.perf_counter_ns() - start) / 1000)
    return median(samples)
