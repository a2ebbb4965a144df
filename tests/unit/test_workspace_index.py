"""workspace.index: the shared tables, and the worker that builds and updates them."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from qwen_lsp.workspace import index as ix
from qwen_lsp.workspace.files import Caps
from qwen_lsp.workspace.index import Index, IndexWorker, index_text


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def begin(self, title: str, total: int) -> None:
        self.events.append(("begin", total))

    def report(self, done: int, total: int) -> None:
        self.events.append(("report", f"{done}/{total}"))

    def end(self, message: str) -> None:
        self.events.append(("end", message))


def entry(path: str, text: str) -> ix.FileEntry:
    found = index_text(path, None, text)
    assert found is not None
    return found


def test_names_files_and_snippets() -> None:
    index = Index()
    index.put(entry("/w/a.py", "def parse_header(x):\n    return x\n\nclass Parser:\n    pass\n"))
    index.put(entry("/w/b.py", "def parse_header(y):\n    return y\n"))
    index.refresh_sorted()
    assert sorted(index.defining("parse_header")) == ["/w/a.py", "/w/b.py"]
    assert index.names_with_prefix("pars", 5) == ["parse_header"]
    a = index.files["/w/a.py"]
    assert a.names == ("parse_header", "Parser")
    assert a.span(1) == (3, 4)
    assert index.snippets(a)[0] == "def parse_header(x):\n    return x"
    layout = index.layout
    index.put(entry("/w/a.py", "def other():\n    pass\n"))  # same file again: no new layout
    assert index.layout == layout
    assert index.defining("parse_header") == ("/w/b.py",)
    assert index.defining("Parser") == ()
    index.remove("/w/b.py")
    assert index.defining("parse_header") == () and index.layout > layout
    assert index.by_basename("b.py") == ()


def test_resolution_is_cached_until_files_come_or_go() -> None:
    index = Index()
    me = entry("/w/p/app.py", "from p import util\n")
    index.put(me)
    assert index.resolved(me) == ()
    index.put(entry("/w/p/util.py", "def helper():\n    pass\n"))
    assert [r.paths for r in index.resolved(me)] == [("/w/p/util.py",)]
    aliased = entry("/w/p/b.py", "from p import util as u, other\nimport os\n")
    assert [(i.module, i.names, i.bound, i.alias) for i in aliased.imports] == [
        ("p", ("util", "other"), ("u", ""), ""),
        ("os", (), (), "os"),
    ]  # packed into the blob and back


def tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def test_worker_builds_with_progress_and_skips_bad_files(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tree(
        tmp_path,
        {
            "a.py": b"def alpha():\n    pass\n",
            "b.py": b"def beta():\n    pass\n",
            "latin1.py": b"def caf\xe9():\n    pass\n",  # not UTF-8
        },
    )
    index = Index()
    worker = IndexWorker(index)
    progress = Recorder()
    caplog.set_level(logging.INFO, logger="qwen_lsp.workspace.index")
    try:
        worker.rebuild([str(root)], Caps(), progress)
        assert worker.wait_idle(20)
        assert set(index.files) == {str(root / "a.py"), str(root / "b.py")}
        assert progress.events[0] == ("begin", 3)
        assert ("report", "3/3") in progress.events
        assert progress.events[-1] == ("end", "indexed 2 files")
        skipped = [r.message for r in caplog.records if "latin1.py" in r.message]
        assert len(skipped) == 1 and "not UTF-8" in skipped[0]

        # Saved / watched files: changed, created, deleted.
        (root / "a.py").write_text("def alpha_two():\n    pass\n")
        (root / "c.py").write_text("def gamma():\n    pass\n")
        (root / "b.py").unlink()
        for name in ("a.py", "b.py", "c.py"):
            worker.file(str(root / name))
        assert worker.wait_idle(20)
        assert index.files[str(root / "a.py")].names == ("alpha_two",)
        assert str(root / "b.py") not in index.files
        assert index.defining("gamma") == (str(root / "c.py"),)
    finally:
        worker.stop()


def test_open_documents_are_indexed_once_quiet(tmp_path: Path) -> None:
    index = Index()
    worker = IndexWorker(index)
    text = ["def first():\n    pass\n"]
    path = str(tmp_path / "doc.py")  # not on disk
    try:
        worker.rebuild([str(tmp_path)], Caps(), None)
        worker.document(path, lambda: ("python", text[0]), edited=False)
        assert worker.wait_idle(20)
        assert index.files[path].names == ("first",)
        text[0] = "def second():\n    pass\n"
        worker.document(path, lambda: ("python", text[0]), edited=True)
        assert index.files[path].names == ("first",)  # not on the keystroke's path
        assert worker.wait_idle(20)
        assert index.files[path].names == ("second",)
        worker.document(path, None, edited=False)  # closed, and not on disk: gone
        assert worker.wait_idle(20)
        assert path not in index.files
    finally:
        worker.stop()


def test_a_new_build_abandons_the_old_one(tmp_path: Path) -> None:
    root = tree(tmp_path / "big", {f"m{i}.py": b"def f():\n    pass\n" * 50 for i in range(200)})
    small = tree(tmp_path / "small", {"only.py": b"def only():\n    pass\n"})
    index = Index()
    worker = IndexWorker(index)
    try:
        worker.rebuild([str(root)], Caps(), None)
        time.sleep(0.05)
        worker.rebuild([str(small)], Caps(), None)
        assert worker.wait_idle(30)
        assert list(index.files) == [str(small / "only.py")]
    finally:
        worker.stop()


def test_a_big_build_parses_in_a_child_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ix, "CHILD_MIN_FILES", 2)
    root = tree(
        tmp_path,
        {
            "a.py": b"def alpha():\n    pass\n",
            "b.py": b"def beta():\n    pass\n",
            "bad.py": b"def caf\xe9():\n    pass\n",
        },
    )
    from qwen_lsp.workspace import builder

    calls: list[int] = []
    real = builder.parse_in_child

    def spy(paths: list[str], max_bytes: int, cancelled: object) -> object:
        calls.append(len(paths))
        return real(paths, max_bytes, cancelled)  # type: ignore[arg-type]

    monkeypatch.setattr(builder, "parse_in_child", spy)
    caplog.set_level(logging.INFO, logger="qwen_lsp.workspace.index")
    index = Index()
    worker = IndexWorker(index)
    try:
        worker.rebuild([str(root)], Caps(), None)
        assert worker.wait_idle(60)
        assert calls == [3]
        assert index.defining("alpha") == (str(root / "a.py"),)
        assert index.snippets(index.files[str(root / "b.py")]) == ("def beta():\n    pass",)
        assert [r.message for r in caplog.records if "bad.py" in r.message] == [
            f"index: {root / 'bad.py'} is not UTF-8; skipped"
        ]
    finally:
        worker.stop()
