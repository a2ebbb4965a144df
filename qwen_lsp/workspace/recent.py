"""Recent: the documents used lately and the line ranges edited in them.

:class:`Recent` keeps open documents in order of use plus the last few closed ones (they still
lend context: the user was just there), and, per document, the few line ranges edited most
recently. :meth:`Recent.edited_snippets` turns those ranges into snippets (a few lines around
each edit). State only; no I/O.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..documents import Change, Document

RECENT_CLOSED = 8  # closed documents kept as context sources
RANGES_PER_DOCUMENT = 3
EDIT_CONTEXT_LINES = 3  # lines shown above and below an edited range
MAX_EDIT_LINES = 20


@dataclass(frozen=True, slots=True)
class Edited:
    """Lines of another document near a recent edit."""

    uri: str
    start: int
    text: str


class Recent:
    """Documents by recency of use (closed ones kept for a while) and their edited ranges."""

    def __init__(self) -> None:
        self._documents: OrderedDict[str, Document] = OrderedDict()
        self._open: set[str] = set()
        self._ranges: dict[str, list[tuple[int, int]]] = {}  # uri -> (first, last), newest last

    def opened(self, doc: Document) -> None:
        self._documents.pop(doc.uri, None)
        self._documents[doc.uri] = doc
        self._open.add(doc.uri)
        self._trim()

    def edited(self, doc: Document, changes: Iterable[Change]) -> None:
        if doc.uri in self._documents:
            self._documents.move_to_end(doc.uri)
        ranges = self._ranges.setdefault(doc.uri, [])
        for change in changes:
            if change.range is None:
                continue
            first = change.range[0]
            last = first + change.text.count("\n")
            merged = False
            for i, (a, b) in enumerate(ranges):
                if first <= b + EDIT_CONTEXT_LINES and last >= a - EDIT_CONTEXT_LINES:
                    ranges[i] = (min(a, first), max(b, last))
                    ranges.append(ranges.pop(i))
                    merged = True
                    break
            if not merged:
                ranges.append((first, last))
            del ranges[:-RANGES_PER_DOCUMENT]

    def closed(self, uri: str) -> None:
        self._open.discard(uri)
        self._trim()

    def documents(self) -> Iterator[Document]:
        """Open and recently closed documents, the most recently used first."""
        return reversed(list(self._documents.values()))

    def edited_snippets(self, exclude: str) -> list[Edited]:
        """Lines around the recent edits of other documents, the most recent first."""
        out: list[Edited] = []
        for doc in self.documents():
            if doc.uri == exclude:
                continue
            lines = doc.lines
            for first, last in reversed(self._ranges.get(doc.uri, ())):
                lo = max(0, first - EDIT_CONTEXT_LINES)
                hi = min(len(lines), last + EDIT_CONTEXT_LINES + 1, lo + MAX_EDIT_LINES)
                if lo < hi:
                    out.append(Edited(doc.uri, lo, "".join(lines[lo:hi])))
        return out

    def _trim(self) -> None:
        closed = [u for u in self._documents if u not in self._open]
        for uri in closed[: max(0, len(closed) - RECENT_CLOSED)]:
            del self._documents[uri]
            self._ranges.pop(uri, None)
