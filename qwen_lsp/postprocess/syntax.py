"""Syntax: choose a suggestion's cut point by parsing it in place (tree-sitter).

:func:`longest_valid` gets candidate cut points (line boundaries of the model text, longest
first) and returns the first after which a window of the document (a few lines of prefix, the
candidate, a few lines of suffix) has no syntax error that the same window without the
candidate did not already have. Only a window is parsed, never the file: the parser costs about
a third of a microsecond per byte, so a parse of a 40-line reply in its window takes well under a
millisecond, and the usual answer (the longest candidate is fine) costs one parse. The window
without the candidate is parsed only when needed, and cached.

``None`` means "no opinion": no grammar for the language (``grammars`` returns ``None``), a
reply too large to parse, no valid candidate within the parse budget, or any parser failure.
The caller then uses the bracket and indentation rules.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from .. import grammars
from .brackets import closing_line

log = logging.getLogger(__name__)

PREFIX_LINES = 40
PREFIX_CHARS = 1200
SUFFIX_LINES = 40
SUFFIX_CHARS = 1200
MAX_TEXT = 16_000  # characters of candidate; beyond that the reply is not parsed
MAX_PARSES = 4
NEAR_LINES = 3  # lines of suffix after the candidate whose errors count

_baselines: OrderedDict[tuple[str, str, str], int] = OrderedDict()


def prefix_window(prefix: str) -> str:
    """The last lines of the prefix, starting at the least indented line among them (so the
    window starts at a statement, not inside one)."""
    head = prefix[-PREFIX_CHARS:]
    cut = head.find("\n") + 1 if len(prefix) > PREFIX_CHARS else 0
    lines = head[cut:].split("\n")
    if len(lines) > PREFIX_LINES:
        lines = lines[-PREFIX_LINES:]
    complete = lines[:-1]  # the cursor line is kept whole
    best, best_width = 0, None
    for i, line in enumerate(complete):
        if line.strip():
            w = len(line) - len(line.lstrip())
            if best_width is None or w < best_width:
                best, best_width = i, w
    return "\n".join(lines[best:])


def suffix_window(suffix: str) -> str:
    """The suffix up to the end of the top-level construct the cursor is in: through its
    closing line at column 0 (``}``, ``end``), or up to the next top-level line. When that is
    too far, the first lines, ending after the last closing line among the least indented."""
    lines = suffix[:SUFFIX_CHARS].split("\n")
    complete = lines[:-1] if len(suffix) > SUFFIX_CHARS else lines
    for i, line in enumerate(complete[1:SUFFIX_LINES], start=1):
        if line.strip() and line[0] not in " \t":
            return "\n".join(lines[: i + 1] if closing_line(line) else lines[:i]) + "\n"
    lines = complete[:SUFFIX_LINES]
    widths = [len(ln) - len(ln.lstrip()) for ln in lines[1:] if ln.strip()]
    least = min(widths, default=0)
    for i in range(len(lines) - 1, 0, -1):
        line = lines[i]
        if line.strip() and len(line) - len(line.lstrip()) == least and closing_line(line):
            return "\n".join(lines[: i + 1]) + "\n"
    return "\n".join(lines)


def errors(tree: Any, limit: int) -> int:
    """ERROR and MISSING nodes that start before byte ``limit`` (walks only the subtrees that
    have errors). Errors further on come from where the suffix window was cut, not from the
    candidate: a block the window cuts short misses its closer at the very end."""
    count = 0
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.start_byte >= limit:
            continue
        if node.is_error or node.is_missing:
            count += 1
            continue
        stack.extend(child for child in node.children if child.has_error or child.is_missing)
    return count


def _size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _near(after: str) -> str:
    """The part of the suffix window right after the insertion whose errors count: its first
    lines (a closer the candidate duplicates shows up there)."""
    return "\n".join(after.split("\n", NEAR_LINES + 1)[: NEAR_LINES + 1])


def _parse(g: grammars.Grammar, source: str) -> Any:
    return g.parse(source.encode("utf-8", "surrogatepass"))


def _baseline(g: grammars.Grammar, before: str, after: str) -> int:
    key = (g.name, before, after)
    found = _baselines.get(key)
    if found is None:
        limit = _size(before + _near(after))
        found = _baselines[key] = errors(_parse(g, before + after), limit)
        if len(_baselines) > 64:
            _baselines.popitem(last=False)
    return found


def longest_valid(
    language: str, prefix: str, suffix: str, candidates: Sequence[tuple[str, int]]
) -> int | None:
    """Index into ``candidates`` (each: the text, how many suffix characters it replaces) of
    the first that parses as well in place as the document did without it; ``None`` if the
    parser can't tell."""
    try:
        g = grammars.grammar(language)
        if g is None or not candidates or len(candidates[0][0]) > MAX_TEXT:
            return None
        before = prefix_window(prefix)
        baseline: int | None = None
        for i, (text, replace) in enumerate(candidates[:MAX_PARSES]):
            after = suffix_window(suffix[replace:])
            limit = _size(before + text + _near(after))
            found = errors(_parse(g, before + text + after), limit)
            if found == 0:
                return i
            if baseline is None:
                baseline = _baseline(g, before, suffix_window(suffix))
            if found <= baseline:
                return i
        return None
    except Exception as exc:  # the parser must never cost the suggestion
        log.debug("syntax check failed: %s", exc)
        return None
