"""workspace.service: the Workspace the engine talks to, in process (no server)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from qwen_lsp.config import Settings
from qwen_lsp.documents import Change, Document
from qwen_lsp.tokens import estimate_tokens
from qwen_lsp.workspace import Workspace

HELPERS = "def compute_total(items):\n    return sum(items)\n"
SECRET = "def compute_secret():\n    return 'sk-1'\n"


def setup(tmp_path: Path, settings: Settings | None = None) -> tuple[Workspace, Path]:
    root = tmp_path / "ws"
    (root / "lib").mkdir(parents=True)
    (root / "lib/helpers.py").write_text(HELPERS)
    (root / "lib/secrets.py").write_text(SECRET)
    ws = Workspace(settings or Settings())
    ws.set_roots([str(root)])
    ws.start()
    assert ws.wait_indexed(20)
    return ws, root


def ask(ws: Workspace, doc: Document, line: int, col: int, budget: int = 500) -> str:
    snippets = ws.snippets(doc, line, col, "".join(doc.lines), budget, estimate_tokens)
    return "\n".join(f"{s.path}: {s.text}" for s in snippets)


def test_disk_definitions_and_excluded_files(tmp_path: Path) -> None:
    ws, root = setup(tmp_path)
    try:
        secret = Document((root / "lib/secrets.py").as_uri(), SECRET, 1, "python")
        ws.opened(secret)  # open, yet excluded: lends nothing
        doc = Document((root / "main.py").as_uri(), "x = compute_\n", 1, "python")
        ws.opened(doc)
        shown = ask(ws, doc, 0, len("x = compute_"))
        assert "lib/helpers.py: def compute_total(items):" in shown
        assert "compute_secret" not in shown
        assert ws.repo_name(doc.uri) == "ws" and ws.relative_path(doc.uri) == "main.py"
        outside = Document("file:///elsewhere/x.py", "x = compute_\n", 1, "python")
        assert ws.snippets(outside, 0, 12, "", 500, estimate_tokens) == ()
        assert ws.snippets(doc, 0, 12, "", 0, estimate_tokens) == ()
    finally:
        ws.close()


def test_without_the_disk_index_open_documents_still_count(tmp_path: Path) -> None:
    ws, root = setup(tmp_path, dataclasses.replace(Settings(), index_enabled=False))
    try:
        doc = Document((root / "main.py").as_uri(), "x = compute_\n", 1, "python")
        ws.opened(doc)
        assert "compute_total" not in ask(ws, doc, 0, 12)  # helpers.py is only on disk
        other = Document((root / "lib/helpers.py").as_uri(), HELPERS, 1, "python")
        ws.opened(other)
        assert ws.wait_indexed(20)
        assert "def compute_total(items):" in ask(ws, doc, 0, 12)
    finally:
        ws.close()


def test_recent_edits_of_other_documents(tmp_path: Path) -> None:
    ws, root = setup(tmp_path)
    try:
        notes = Document((root / "notes.py").as_uri(), "a = 1\nb = 2\n", 1, "python")
        ws.opened(notes)
        notes.apply([Change("zebra_marker = 3\n", (1, 0, 1, 0))], 2)
        ws.edited(notes, [Change("zebra_marker = 3\n", (1, 0, 1, 0))])
        doc = Document((root / "main.py").as_uri(), "nothing_here\n", 1, "python")
        ws.opened(doc)
        assert "notes.py: a = 1\nzebra_marker = 3" in ask(ws, doc, 0, 3)
    finally:
        ws.close()
