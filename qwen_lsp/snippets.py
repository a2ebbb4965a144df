"""Repository snippets: the most relevant pieces of other files (the context stage, part two).

Other open documents, and recently closed ones, are cut into overlapping windows of lines. Each
window is scored by the Jaccard similarity between its identifiers and those around the cursor;
the best windows that fit the ``maxRepoTokens`` budget go into the prompt, one per file, the most
relevant last (nearest the current file, as Qwen's repository-level format orders files).

A window's identifiers are computed once per document version (:class:`SnippetIndex`), with an
inverted index from identifier to windows, so a keystroke in the current file costs a lookup per
identifier near the cursor, not a re-read of other files or a pass over every window.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .context import Snippet
from .tokens import TokenCounter

WINDOW_LINES = 24
STEP_LINES = 12
_IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]{2,}")

Windows = list[tuple[int, frozenset[str]]]


@dataclass(frozen=True, slots=True)
class _Postings:
    """A source's windows as an inverted index: identifier -> windows that hold it."""

    starts: tuple[int, ...]
    sizes: tuple[int, ...]
    holding: dict[str, tuple[int, ...]]


def identifiers(text: str) -> frozenset[str]:
    """The identifiers of three or more characters in ``text``."""
    return frozenset(_IDENTIFIER.findall(text))


@dataclass(frozen=True, slots=True)
class Source:
    """A file that may lend snippets: its path as the prompt shows it, and its lines."""

    key: tuple[str, int]  # (uri, version): what the cached windows are valid for
    path: str
    lines: Sequence[str]


class SnippetIndex:
    """Identifier sets of each source's windows, cached by (uri, version), least recent evicted."""

    def __init__(self, max_sources: int = 64) -> None:
        self._cache: OrderedDict[str, tuple[int, Windows, _Postings]] = OrderedDict()
        self._max = max_sources

    def windows(self, source: Source) -> Windows:
        return self._entry(source)[1]

    def postings(self, source: Source) -> _Postings:
        return self._entry(source)[2]

    def _entry(self, source: Source) -> tuple[int, Windows, _Postings]:
        uri, version = source.key
        cached = self._cache.get(uri)
        if cached is not None and cached[0] == version:
            self._cache.move_to_end(uri)
            return cached
        lines = source.lines
        starts = range(0, max(1, len(lines) - WINDOW_LINES + STEP_LINES), STEP_LINES)
        windows = [(s, identifiers("".join(lines[s : s + WINDOW_LINES]))) for s in starts]
        holding: dict[str, list[int]] = {}
        for i, (_, found) in enumerate(windows):
            for name in found:
                holding.setdefault(name, []).append(i)
        postings = _Postings(
            tuple(s for s, _ in windows),
            tuple(len(f) for _, f in windows),
            {k: tuple(v) for k, v in holding.items()},
        )
        entry = (version, windows, postings)
        self._cache[uri] = entry
        self._cache.move_to_end(uri)
        while len(self._cache) > self._max:
            self._cache.popitem(last=False)
        return entry


def select_snippets(
    query: str,
    sources: Iterable[Source],
    budget: int,
    count: TokenCounter,
    index: SnippetIndex,
) -> tuple[Snippet, ...]:
    """The best window of each relevant source, within ``budget`` tokens, best last."""
    wanted = identifiers(query)
    if not wanted or budget <= 0:
        return ()
    best: dict[str, tuple[float, Source, int]] = {}
    size = len(wanted)
    for source in sources:
        postings = index.postings(source)
        shared: dict[int, int] = {}
        for name in wanted:
            for i in postings.holding.get(name, ()):
                shared[i] = shared.get(i, 0) + 1
        top = 0.0
        for i in sorted(shared):  # the first of equally good windows wins
            n = shared[i]
            score = n / (size + postings.sizes[i] - n)  # Jaccard, without the union set
            if score > top:
                top = score
                best[source.path] = (score, source, postings.starts[i])
    chosen: list[tuple[float, Snippet]] = []
    used = 0
    for score, source, start in sorted(best.values(), key=lambda b: b[0], reverse=True):
        window = source.lines[start : start + WINDOW_LINES]
        cost = sum(count(line) for line in window) + count(source.path) + 2  # lines are cached
        if used + cost <= budget:
            chosen.append((score, Snippet(source.path, "".join(window))))
            used += cost
    return tuple(snippet for _, snippet in sorted(chosen, key=lambda c: c[0]))
