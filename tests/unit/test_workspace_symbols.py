"""workspace.symbols: definitions from tree-sitter tag queries, with their rendered snippets."""

from __future__ import annotations

import pytest

from qwen_lsp.workspace.symbols import SMALL_BODY_LINES, extract

PY = (
    '''import os

LIMIT = 10


def small(a, b):
    """Add."""
    return a + b


def big(x):
    """Do many things.

    In several steps.
    """
'''
    + "".join(f"    x += {i}\n" for i in range(SMALL_BODY_LINES + 5))
    + '''    return x


class Client:
    """Talks to the server."""

    def __init__(self, url):
        self.url = url
'''
    + "".join(f"        self.f{i} = {i}\n" for i in range(SMALL_BODY_LINES))
    + """
    def fetch_page(self, n):
        return n
"""
)


def by_name(language: str, source: str) -> dict[str, tuple[str, int, int, str]]:
    found = extract(language, source.encode())
    assert found is not None
    return {d.name: (d.kind, d.start, d.end, d.text) for d in found}


def test_python_definitions_and_snippets() -> None:
    defs = by_name("python", PY)
    assert {"LIMIT", "small", "big", "Client", "__init__", "fetch_page"} <= set(defs)
    kind, start, end, text = defs["small"]
    assert (kind, start, end) == ("function", 5, 7)
    assert text == 'def small(a, b):\n    """Add."""\n    return a + b'  # small: whole
    _, _, _, text = defs["big"]
    assert text.startswith('def big(x):\n    """Do many things.')
    assert "x += 3" not in text and text.endswith("...")  # big: signature, docstring, "..."
    _, _, _, text = defs["Client"]
    assert 'class Client:\n    """Talks to the server."""' in text
    assert "def fetch_page(self, n):" in text  # a class lists its members' signatures
    assert "self.f3" not in text


@pytest.mark.parametrize(
    ("language", "source", "names"),
    [
        (
            "go",
            "package p\n// Sum adds.\nfunc Sum(a int) int { return a }\ntype T struct{}\n"
            "func (t T) Method() {}\n",
            {"Sum", "T", "Method"},
        ),
        (
            "rust",
            "/// Docs.\npub fn total() -> u32 { 1 }\nstruct S;\nimpl S { fn m(&self) {} }\n",
            {"total", "S", "m"},
        ),
        (
            "typescript",
            "export function run(a: number): number { return a }\n"
            "interface Shape { area(): number }\nclass Box { open() {} }\n",
            {"run", "Shape", "Box", "open"},
        ),
        (
            "javascript",
            "function go() {}\nclass K { m() {} }\nconst arrow = () => 1;\n",
            {"go", "K", "m", "arrow"},
        ),
        ("java", "class A { int size() { return 1; } }\ninterface I {}\n", {"A", "size", "I"}),
        (
            "c",
            "// adds\nint add(int a, int b) { return a + b; }\nstruct P { int x; };\n",
            {"add", "P"},
        ),
        ("cpp", "namespace n { class C { void f(); }; }\nint g() { return 0; }\n", {"C", "g"}),
    ],
)
def test_other_languages(language: str, source: str, names: set[str]) -> None:
    assert names <= set(by_name(language, source))


def test_doc_comments_above_and_whole_declarations() -> None:
    go = by_name("go", "package p\n// Sum adds.\nfunc Sum(a int) int { return a }\n")
    assert go["Sum"][3] == "// Sum adds.\nfunc Sum(a int) int { return a }"
    c = by_name("c", "int add(int a, int b) { return a + b; }\n")
    assert c["add"][3] == "int add(int a, int b) { return a + b; }"  # not just the declarator


def test_no_grammar_and_broken_source() -> None:
    assert extract("markdown", b"# title") is None
    broken = by_name("python", "def ok():\n    return 1\n\ndef broken(:\n")
    assert "ok" in broken
