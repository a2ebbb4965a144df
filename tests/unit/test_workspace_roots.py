"""workspace.roots: which documents are inside the workspace, and their prompt paths."""

from __future__ import annotations

from qwen_lsp.workspace.roots import Roots, path_to_uri, uri_to_path


def test_root_and_relative_path() -> None:
    roots = Roots(["/work/project/", "/work/other"])
    assert roots.root_of("file:///work/project/src/a.py") == "/work/project"
    assert roots.relative_path("file:///work/project/src/a.py") == "src/a.py"
    assert roots.relative_path("file:///work/other/b%20c.py") == "b c.py"
    assert roots.root_of("file:///work/projectile/a.py") is None  # a prefix is not a folder
    assert roots.relative_path("file:///elsewhere/x/y.py") == "y.py"
    assert roots.root_of("untitled:Untitled-1") is None


def test_nested_folders_keep_the_outer_one_and_changes_are_reported() -> None:
    roots = Roots()
    assert roots.set(["/a/b", "/a"])
    assert roots.folders == ("/a",)
    assert not roots.set(["/a"])
    assert roots.relative("/a/b/c.py") == "b/c.py"


def test_uri_round_trip() -> None:
    assert uri_to_path(path_to_uri("/tmp/a b/c.py")) == "/tmp/a b/c.py"
    assert uri_to_path("https://example.com/a.py") is None
