"""Documents: text, versions and position encodings (server → **documents** → scheduler).

pygls' ``TextDocument`` splits lines with ``str.splitlines`` (so a form feed, ``\\v``, ``\\x1c``
or U+2028 inside a line counts as a line break and shifts every position after it) and rebuilds
the whole text on each incremental edit. This module keeps the text as a list of lines, each with
its own terminator, where only ``\\n``, ``\\r\\n`` and ``\\r`` end a line, as LSP specifies. An
edit re-splits only the lines it touches (plus one neighbour on each side, so a ``\\r`` and a
``\\n`` that meet become one ``\\r\\n``), which makes a keystroke cost O(length of the edited
lines), not O(document).

Columns arrive in the negotiated position encoding (UTF-16 code units by default, UTF-8 bytes
for Neovim and Helix, code points for eglot) and are turned into Python string indices here; no
other stage sees encoded columns.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class PositionEncoding(enum.StrEnum):
    """How a ``Position.character`` counts: the LSP ``PositionEncodingKind`` values."""

    UTF8 = "utf-8"
    UTF16 = "utf-16"
    UTF32 = "utf-32"


class PositionError(ValueError):
    """A position lies outside the document."""


@dataclass(frozen=True, slots=True)
class Change:
    """One ``TextDocumentContentChangeEvent``: ``range`` None replaces the whole text.

    ``range`` is ``(start_line, start_character, end_line, end_character)`` in the document's
    position encoding.
    """

    text: str
    range: tuple[int, int, int, int] | None = None


def split_lines(text: str) -> list[str]:
    """Split into lines that keep their terminators; the last item has none (it may be "")."""
    lines: list[str] = []
    start = 0
    for match in _LINE_BREAK.finditer(text):
        lines.append(text[start : match.end()])
        start = match.end()
    lines.append(text[start:])
    return lines


def line_content(line: str) -> str:
    """A line without its terminator."""
    if line.endswith("\r\n"):
        return line[:-2]
    if line.endswith(("\n", "\r")):
        return line[:-1]
    return line


def column_to_index(content: str, column: int, encoding: PositionEncoding) -> int:
    """The string index of an encoded column; past the end clamps to the end (LSP rule).

    A column inside a character (half a surrogate pair, the middle of a UTF-8 sequence) rounds
    down to that character's start.
    """
    if column <= 0:
        return 0
    if encoding is PositionEncoding.UTF32 or content.isascii():
        return min(column, len(content))
    if encoding is PositionEncoding.UTF16:
        units = content.encode("utf-16-le", "surrogatepass")[: 2 * column]
        return len(units.decode("utf-16-le", "ignore"))
    data = content.encode("utf-8", "surrogatepass")[:column]
    return len(data.decode("utf-8", "ignore"))


def index_to_column(content: str, index: int, encoding: PositionEncoding) -> int:
    """The encoded column of a string index (the inverse of :func:`column_to_index`)."""
    index = max(0, min(index, len(content)))
    if encoding is PositionEncoding.UTF32 or content.isascii():
        return index
    if encoding is PositionEncoding.UTF16:
        return len(content[:index].encode("utf-16-le", "surrogatepass")) // 2
    return len(content[:index].encode("utf-8", "surrogatepass"))


class Document:
    """An open text document: its lines, version and language.

    ``lines`` is exposed for the pure stages that read around the cursor without joining the
    whole text; treat it as read-only and read it without awaiting in between.
    """

    __slots__ = ("_text", "encoding", "language_id", "lines", "uri", "version")

    def __init__(
        self,
        uri: str,
        text: str,
        version: int = 0,
        language_id: str = "",
        encoding: PositionEncoding = PositionEncoding.UTF16,
    ) -> None:
        self.uri = uri
        self.version = version
        self.language_id = language_id
        self.encoding = encoding
        self.lines = split_lines(text)
        self._text: str | None = text

    @property
    def text(self) -> str:
        """The whole text (joined once per version, on demand)."""
        if self._text is None:
            self._text = "".join(self.lines)
        return self._text

    def locate(self, line: int, character: int, *, clamp: bool = False) -> tuple[int, int]:
        """Turn an LSP position into ``(line, string index)``.

        A line past the end raises :class:`PositionError`, or with ``clamp`` becomes the end of
        the document (how edits that overshoot are applied). A character past the end of its
        line is the end of the line.
        """
        last = len(self.lines) - 1
        if line < 0 or character < 0:
            if not clamp:
                raise PositionError(f"negative position {line}:{character}")
            line, character = max(line, 0), max(character, 0)
        if line > last:
            if not clamp:
                raise PositionError(f"line {line} is past the end (document has {last + 1})")
            return last, len(self.lines[last])
        content = line_content(self.lines[line])
        return line, column_to_index(content, character, self.encoding)

    def text_before(self, line: int, index: int, limit: int) -> str:
        """Up to ``limit`` characters before ``(line, index)``, without joining the document."""
        parts = [self.lines[line][:index]]
        size = len(parts[0])
        row = line - 1
        while size < limit and row >= 0:
            parts.append(self.lines[row])
            size += len(self.lines[row])
            row -= 1
        text = "".join(reversed(parts))
        return text[-limit:] if limit > 0 else ""

    def apply(self, changes: Iterable[Change], version: int | None = None) -> None:
        """Apply content changes in order, then take ``version``."""
        for change in changes:
            if change.range is None:
                self.lines = split_lines(change.text)
            else:
                self._splice(change.range, change.text)
        self._text = None
        if version is not None:
            self.version = version

    def _splice(self, rng: tuple[int, int, int, int], text: str) -> None:
        start = self.locate(rng[0], rng[1], clamp=True)
        end = self.locate(rng[2], rng[3], clamp=True)
        if end < start:
            start, end = end, start
        lines = self.lines
        lo = max(0, start[0] - 1)
        hi = min(len(lines), end[0] + 2)
        window = "".join(lines[lo:hi])
        begin = sum(len(lines[i]) for i in range(lo, start[0])) + start[1]
        stop = sum(len(lines[i]) for i in range(lo, end[0])) + end[1]
        replacement = split_lines(window[:begin] + text + window[stop:])
        if hi < len(lines):
            # The window ends with a terminator, so splitting leaves an empty last piece that
            # belongs to the next line, which is outside the window.
            replacement.pop()
        lines[lo:hi] = replacement


class DocumentStore:
    """The open documents by URI, fed by didOpen / didChange / didClose."""

    def __init__(self) -> None:
        self._docs: dict[str, Document] = {}
        self.encoding = PositionEncoding.UTF16

    def open(self, uri: str, text: str, version: int, language_id: str) -> Document:
        doc = Document(uri, text, version, language_id, self.encoding)
        self._docs[uri] = doc
        return doc

    def change(self, uri: str, version: int, changes: Iterable[Change]) -> Document | None:
        """Apply an edit; None for a document that was never opened (the edit is dropped)."""
        doc = self._docs.get(uri)
        if doc is not None:
            doc.apply(changes, version)
        return doc

    def close(self, uri: str) -> Document | None:
        return self._docs.pop(uri, None)

    def get(self, uri: str) -> Document | None:
        return self._docs.get(uri)

    def __len__(self) -> int:
        return len(self._docs)
