"""workspace.recent: documents by recency, closed ones kept a while, edited ranges."""

from __future__ import annotations

from qwen_lsp.documents import Change, Document
from qwen_lsp.workspace.recent import RECENT_CLOSED, Recent


def doc(uri: str, lines: int = 50) -> Document:
    return Document(uri, "".join(f"line {i}\n" for i in range(lines)), 1, "python")


def test_order_and_closed_documents_are_trimmed() -> None:
    recent = Recent()
    docs = [doc(f"file:///w/{i}.py") for i in range(RECENT_CLOSED + 3)]
    for d in docs:
        recent.opened(d)
    assert next(d.uri for d in recent.documents()) == docs[-1].uri
    for d in docs:
        recent.closed(d.uri)
    assert len(list(recent.documents())) == RECENT_CLOSED  # the oldest closed ones went


def test_edited_ranges_merge_and_show_their_lines() -> None:
    recent = Recent()
    a, b = doc("file:///w/a.py"), doc("file:///w/b.py")
    recent.opened(a)
    recent.opened(b)
    recent.edited(a, [Change("x", (10, 0, 10, 1))])
    recent.edited(a, [Change("y\nz", (11, 0, 11, 0))])  # next to the first: merged
    recent.edited(a, [Change("w", (40, 0, 40, 0))])
    recent.edited(a, [Change("whole text", None)])  # no range: nothing to show
    edits = recent.edited_snippets(exclude=b.uri)
    assert [(e.uri, e.start) for e in edits] == [(a.uri, 37), (a.uri, 7)]  # newest first
    assert edits[1].text.startswith("line 7\n") and "line 15\n" in edits[1].text
    assert recent.edited_snippets(exclude=a.uri) == []
