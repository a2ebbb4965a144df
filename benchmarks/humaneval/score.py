"""Scoring: exact and whitespace-normalised matches, test passes, and failure patterns.

* **exact**: the resulting document equals the original file, byte for byte;
* **normalised**: equal after every run of whitespace is turned into one space and the ends
  stripped (``" ".join(text.split())``), so a missing blank line or trailing space does not
  count but ``returnFalse`` for ``return False`` does;
* **pass**: the problem's ``check`` passes on the resulting document.

A case that is not an exact match gets a *pattern*, the first of these that fits: no item; a
fence left in the item; the echoed line left in; the span inserted but the auto-closed closers
after the cursor doubled; the item cut short (lost lines, or inside its line); the item ran
past the span (kept text the document already has, or junk); whitespace only; other text.
The auto-closed, space and closer patterns come before "cut short" because they are the
specific reasons an item is shorter than the span.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from benchmarks.humaneval.cases import Case
from benchmarks.humaneval.replay import Outcome
from benchmarks.humaneval.replies import line_prefix
from benchmarks.stats import share

PATTERNS: tuple[str, ...] = (
    "no item",
    "fence left in the item",
    "echo of the line left in",
    "auto-closed: closers re-typed, none replaced (doubled)",
    "auto-closed: closers trimmed by the wrong amount",
    "space before the text right of the cursor dropped",
    "closer dropped that the document needed",
    "cut short: lost lines",
    "cut short inside a line",
    "ran past the span",
    "whitespace only",
    "other text",
)
_CLOSING = frozenset(")]}\"'`")


def normalise(text: str) -> str:
    """Whitespace runs as one space, ends stripped."""
    return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class Scored:
    """One outcome with its verdicts."""

    case: Case
    outcome: Outcome
    exact: bool
    normalised: bool
    passed: bool
    pattern: str  # "" when exact


def score(case: Case, outcome: Outcome, passed: bool) -> Scored:
    exact = outcome.result == case.original
    normalised = normalise(outcome.result) == normalise(case.original)
    return Scored(case, outcome, exact, normalised, passed, "" if exact else pattern(case, outcome))


def pattern(case: Case, outcome: Outcome) -> str:
    """Why the resulting document differs from the original (see the module docstring)."""
    item = outcome.inserted
    span = case.span
    if item is None or not item.strip():
        return "no item"
    if "```" in item and "```" not in span:
        return "fence left in the item"
    echo = line_prefix(case).strip()
    echoed = outcome.style in ("echo", "fence+echo") and bool(echo)
    if echoed and item.lstrip().startswith(echo) and not span.lstrip().startswith(echo):
        return "echo of the line left in"
    if case.closers and item == span:
        return "auto-closed: closers re-typed, none replaced (doubled)"
    if case.closers and span.startswith(item):
        return "auto-closed: closers trimmed by the wrong amount"
    if span != item and span.rstrip() == item:
        return "space before the text right of the cursor dropped"
    if span.startswith(item):
        if all(c in _CLOSING for c in span[len(item) :].strip()):
            return "closer dropped that the document needed"
        lost_lines = item.count("\n") < span.count("\n")
        return "cut short: lost lines" if lost_lines else "cut short inside a line"
    if item.startswith(span):
        return "ran past the span"
    if normalise(outcome.result) == normalise(case.original):
        return "whitespace only"
    return "other text"


@dataclass(frozen=True, slots=True)
class Figures:
    """n and shares (%) for a group of scored outcomes."""

    n: int
    exact: float
    normalised: float
    passed: float


def figures(group: Sequence[Scored]) -> Figures:
    n = len(group)
    return Figures(
        n,
        share(sum(s.exact for s in group), n),
        share(sum(s.normalised for s in group), n),
        share(sum(s.passed for s in group), n),
    )


def excerpt(case: Case, before: int = 3, after: int = 2) -> str:
    """The document around the cursor (``█``), a few lines each side."""
    doc, cursor = case.document, case.cursor
    start = cursor
    for _ in range(before + 1):
        start = doc.rfind("\n", 0, start)
        if start < 0:
            break
    end = cursor
    for _ in range(after + 1):
        end = doc.find("\n", end + 1)
        if end < 0:
            end = len(doc)
            break
    return doc[start + 1 : cursor] + "█" + doc[cursor:end]


def by_pattern(scored: Iterable[Scored]) -> dict[str, list[Scored]]:
    """Non-exact outcomes grouped by pattern, in :data:`PATTERNS` order."""
    groups: dict[str, list[Scored]] = {p: [] for p in PATTERNS}
    for s in scored:
        if s.pattern:
            groups[s.pattern].append(s)
    return {p: g for p, g in groups.items() if g}
