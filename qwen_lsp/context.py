"""Context: what the model sees around the cursor (scheduler → **context** → prompts).

:func:`build_context` reads a document's lines at a cursor and returns the prefix and suffix,
each cut to its token budget at line boundaries (the cursor line is always kept whole on its
side, unless that line alone overflows the budget). Pure: plain data in, plain data out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .documents import line_content
from .tokens import TokenCounter, estimate_tokens

# No tokenizer packs more characters than this into one token; bounds the search in a huge line.
_MAX_CHARS_PER_TOKEN = 32


@dataclass(frozen=True, slots=True)
class Snippet:
    """A piece of another file shown to the model as repository context."""

    path: str
    text: str


@dataclass(frozen=True, slots=True)
class Context:
    """The text around the cursor, already within budget."""

    prefix: str
    suffix: str
    line_prefix: str  # the cursor line, left of the cursor
    line_suffix: str  # the cursor line, right of the cursor (no terminator)
    path: str = ""
    language: str = ""
    repo_name: str = ""
    snippets: tuple[Snippet, ...] = field(default=())

    @property
    def mid_line(self) -> bool:
        """Non-blank text right of the cursor: completions stay on this line."""
        return bool(self.line_suffix.strip())


def build_context(
    lines: Sequence[str],
    line: int,
    index: int,
    *,
    prefix_budget: int,
    suffix_budget: int,
    count: TokenCounter = estimate_tokens,
    path: str = "",
    language: str = "",
) -> Context:
    """Cut the prefix and suffix around ``(line, index)`` (a string index, not a column)."""
    current = lines[line]
    content = line_content(current)
    line_prefix = content[:index]
    line_suffix = content[index:]

    prefix = _take_backward(lines, line, line_prefix, prefix_budget, count)
    rest_of_line = current[index:]
    suffix = _take_forward(lines, line, rest_of_line, suffix_budget, count)
    return Context(
        prefix=prefix,
        suffix=suffix,
        line_prefix=line_prefix,
        line_suffix=line_suffix,
        path=path,
        language=language,
    )


def _take_backward(
    lines: Sequence[str], line: int, head: str, budget: int, count: TokenCounter
) -> str:
    used = count(head)
    if used > budget:
        return _tail_within(head, budget, count)
    parts = [head]
    for i in range(line - 1, -1, -1):
        cost = count(lines[i])
        if used + cost > budget:
            break
        parts.append(lines[i])
        used += cost
    parts.reverse()
    return "".join(parts)


def _take_forward(
    lines: Sequence[str], line: int, head: str, budget: int, count: TokenCounter
) -> str:
    if budget <= 0:
        return ""
    used = count(head)
    if used > budget:
        return _head_within(head, budget, count)
    parts = [head]
    for i in range(line + 1, len(lines)):
        cost = count(lines[i])
        if used + cost > budget:
            break
        parts.append(lines[i])
        used += cost
    return "".join(parts)


def _tail_within(text: str, budget: int, count: TokenCounter) -> str:
    """The longest tail of one overlong line that fits (binary search on characters)."""
    text = text[-budget * _MAX_CHARS_PER_TOKEN :] if budget > 0 else ""
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi) // 2
        if count(text[mid:]) <= budget:
            hi = mid
        else:
            lo = mid + 1
    return text[lo:]


def _head_within(text: str, budget: int, count: TokenCounter) -> str:
    text = text[: budget * _MAX_CHARS_PER_TOKEN]
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count(text[:mid]) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo]


_WORD_TAIL = re.compile(r"[\w$]*$")


def word_start(line_prefix: str) -> int:
    """Index where the identifier under the cursor starts (for completion items' textEdit)."""
    match = _WORD_TAIL.search(line_prefix)
    return match.start() if match else len(line_prefix)
