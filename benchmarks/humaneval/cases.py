"""Editing cases: a canonical solution with a span removed, and the cursor where it was.

For a problem's file ``T`` (prompt + canonical solution) a case removes ``T[start:end]``, puts
the cursor at ``start`` and expects ``T`` back. The span always lies in the solution, never in
the prompt. Kinds:

* ``line``: one whole line of code; its indentation stays (an editor auto-indents), the cursor
  after it;
* ``lines``: two to five lines, from the first one's indentation to the end of the last one;
* ``rest``: from a line's indentation to the end of the solution (the rest of the function);
* ``inline``: a span inside one line with code right of it: the inside of a bracket pair (the
  cursor before its closer) or a run of tokens in the middle of the line;
* ``autoclosed``: the cursor after an opening bracket or quote, the rest of the line removed,
  and the closers an auto-pairing editor would have inserted (``)``, ``]``, ``"``...) right of
  the cursor. The span (what a model writes) is the original rest of the line, closers
  included, so the server must replace the auto-inserted ones (an item ``range``) or drop its
  own.

Every choice comes from a ``random.Random`` seeded with the run's seed, the problem and the
kind, so a case does not change when other problems or kinds are added.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from benchmarks.humaneval.problems import Problem

KINDS: tuple[str, ...] = ("line", "lines", "rest", "inline", "autoclosed")
KIND_TITLES: dict[str, str] = {
    "line": "single line",
    "lines": "2-5 lines",
    "rest": "rest of function",
    "inline": "inside a line",
    "autoclosed": "before auto-closed closers",
}
_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")
_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = {v: k for k, v in _OPENERS.items()}
_QUOTES = frozenset("\"'")


@dataclass(frozen=True, slots=True)
class Case:
    """One editing case."""

    id: str  # "HumanEval/12 lines#1"
    task_id: str
    kind: str
    detail: str  # how the span was chosen (e.g. "bracket" or "tokens" for inline)
    original: str  # T: the file the case expects back
    start: int  # span start in ``original``
    end: int  # span end in ``original``
    closers: str = ""  # autoclosed: what the editor inserted right of the cursor

    @property
    def span(self) -> str:
        """The removed text: what a perfect model inserts at the cursor."""
        return self.original[self.start : self.end]

    @property
    def document(self) -> str:
        """The document the editor shows: the span gone (auto-closed closers in its place)."""
        return self.original[: self.start] + self.closers + self.original[self.end :]

    @property
    def cursor(self) -> int:
        """The cursor's string index in :attr:`document`."""
        return self.start

    @property
    def position(self) -> tuple[int, int]:
        """The cursor as an LSP position (line, UTF-16 column)."""
        before = self.document[: self.cursor]
        line = before.count("\n")
        column = before[before.rfind("\n") + 1 :]
        return line, len(column.encode("utf-16-le")) // 2

    @property
    def rest_of_file(self) -> str:
        """The original text from the cursor on: the span and everything after it."""
        return self.original[self.start :]


@dataclass(frozen=True, slots=True)
class _Line:
    start: int  # offset of the line in T
    text: str  # without its newline
    indent: int

    @property
    def end(self) -> int:
        """The end of the line's code: trailing whitespace is not part of any span (a server
        rightly strips it at the end of an insertion)."""
        return self.start + len(self.text.rstrip())


def make_cases(problems: Sequence[Problem], seed: int, per_kind: int) -> list[Case]:
    """Up to ``per_kind`` cases of every kind for every problem (identical cases of one kind
    once; a case may be of two kinds: removing the last line is also the rest of the function).
    """
    cases: list[Case] = []
    seen: set[tuple[str, str, int, str]] = set()
    for problem in problems:
        for kind in KINDS:
            rng = random.Random(f"{seed}:{problem.task_id}:{kind}")
            for n, case in enumerate(_cases_of(problem, kind, rng, per_kind)):
                key = (kind, case.document, case.cursor, case.original)
                if key not in seen:
                    seen.add(key)
                    cases.append(_with_id(case, n))
    return cases


def _with_id(case: Case, n: int) -> Case:
    return Case(
        f"{case.task_id} {case.kind}#{n}",
        case.task_id,
        case.kind,
        case.detail,
        case.original,
        case.start,
        case.end,
        case.closers,
    )


def _solution_lines(problem: Problem) -> list[_Line]:
    """The non-blank lines of the canonical solution, with their offsets in the file."""
    lines = []
    offset = len(problem.prompt)
    for raw in problem.solution.split("\n"):
        if raw.strip():
            indent = len(raw) - len(raw.lstrip(" \t"))
            lines.append(_Line(offset, raw, indent))
        offset += len(raw) + 1
    return lines


def _cases_of(problem: Problem, kind: str, rng: random.Random, count: int) -> Iterator[Case]:
    lines = _solution_lines(problem)
    if not lines:
        return
    text = problem.text

    def case(detail: str, start: int, end: int, closers: str = "") -> Case:
        return Case("", problem.task_id, kind, detail, text, start, end, closers)

    if kind == "line":
        for line in rng.sample(lines, min(count, len(lines))):
            yield case("line", line.start + line.indent, line.end)
    elif kind == "lines":
        starts = [i for i in range(len(lines)) if i + 1 < len(lines)]
        for i in rng.sample(starts, min(count, len(starts))):
            j = min(len(lines) - 1, i + rng.randint(1, 4))  # 2-5 lines
            yield case(f"{j - i + 1} lines", lines[i].start + lines[i].indent, lines[j].end)
    elif kind == "rest":
        for i in rng.sample(range(len(lines)), min(count, len(lines))):
            yield case(f"{len(lines) - i} lines", lines[i].start + lines[i].indent, lines[-1].end)
    elif kind == "inline":
        yield from _inline_cases(lines, rng, count, case)
    elif kind == "autoclosed":
        candidates = [(line, p, c) for line in lines for p, c in _autoclose_points(line.text)]
        for line, p, closers in rng.sample(candidates, min(count, len(candidates))):
            yield case(f"after {line.text[p - 1]!r}", line.start + p, line.end, closers)


class _CaseMaker(Protocol):
    """How :func:`_cases_of` makes a case of the current problem and kind."""

    def __call__(self, detail: str, start: int, end: int, closers: str = "") -> Case: ...


def _inline_cases(
    lines: Sequence[_Line],
    rng: random.Random,
    count: int,
    case: _CaseMaker,
) -> Iterator[Case]:
    """Half the inside of a bracket pair, half a run of tokens, both with code right of them."""
    brackets = [(line, s, e) for line in lines for s, e in _bracket_insides(line.text)]
    tokens = [(line, s, e) for line in lines for s, e in _token_spans(line, rng)]
    for n in range(count):
        pool, detail = (brackets, "bracket") if n % 2 == 0 else (tokens, "tokens")
        if not pool:
            pool, detail = (tokens, "tokens") if pool is brackets else (brackets, "bracket")
        if not pool:
            return
        line, s, e = pool.pop(rng.randrange(len(pool)))
        yield case(detail, line.start + s, line.start + e)


def _bracket_insides(text: str) -> Iterator[tuple[int, int]]:
    """(after opener, before closer) of the non-empty bracket pairs of a line outside strings."""
    stack: list[int] = []
    for i, char, in_code in _scan(text):
        if not in_code:
            continue
        if char in _OPENERS:
            stack.append(i)
        elif char in _CLOSERS and stack:
            opened = stack.pop()
            if text[opened + 1 : i].strip():
                yield opened + 1, i


def _token_spans(line: _Line, rng: random.Random) -> Iterator[tuple[int, int]]:
    """At most one random run of 1-4 tokens inside ``line`` with code right of it."""
    text = line.text
    bounds = [m.start() for m in _TOKEN.finditer(text) if m.start() > line.indent]
    candidates = [b for b in bounds if text[b:].strip()]
    if len(candidates) < 2:
        return
    first = rng.randrange(len(candidates) - 1)
    last = min(len(candidates) - 1, first + rng.randint(1, 4))
    start, end = candidates[first], candidates[last]
    if text[start:end].strip() and text[end:].strip():
        yield start, end


def _autoclose_points(text: str) -> Iterator[tuple[int, str]]:
    """Positions just after an opening bracket or quote, with the closers an auto-pairing
    editor would have inserted there (for everything still open on the line). Only lines that
    balance on their own, with no comment and no triple quote, and where the rest of the line
    is more than those closers."""
    if '"""' in text or "'''" in text:
        return
    open_stack: list[str] = []
    points: list[tuple[int, str]] = []
    in_string = ""
    escaped = False
    for i, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == in_string:
                in_string = ""
                open_stack.pop()
            continue
        if char == "#":
            return
        if char in _QUOTES:
            in_string = char
            open_stack.append(char)
        elif char in _OPENERS:
            open_stack.append(_OPENERS[char])
        elif char in _CLOSERS:
            if not open_stack or open_stack[-1] != char:
                return
            open_stack.pop()
        else:
            continue
        if char in _OPENERS or char in _QUOTES:
            closers = "".join(reversed(open_stack))
            if text[i + 1 :].rstrip() != closers:
                points.append((i + 1, closers))
    if not open_stack and not in_string:
        yield from points


def _scan(text: str) -> Iterator[tuple[int, str, bool]]:
    """Each character with whether it is code (outside strings and comments)."""
    in_string = ""
    escaped = False
    for i, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == in_string:
                in_string = ""
            yield i, char, False
        elif char == "#":
            return
        elif char in _QUOTES:
            in_string = char
            yield i, char, False
        else:
            yield i, char, True
