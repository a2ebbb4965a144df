"""Unit tests for the lazily loaded tree-sitter grammars."""

from __future__ import annotations

import threading

import pytest

from qwen_lsp import grammars

SAMPLES = {
    "python": "def f(x):\n    return x\n",
    "javascript": "function f(x) { return x; }\n",
    "javascriptreact": "const A = () => <div>{x}</div>;\n",
    "typescript": "function f(x: number): number { return x; }\n",
    "typescriptreact": "const A = (p: P) => <div>{p.x}</div>;\n",
    "go": "package main\nfunc f(x int) int { return x }\n",
    "rust": "fn f(x: i32) -> i32 { x }\n",
    "java": "class A { int f(int x) { return x; } }\n",
    "c": "int f(int x) { return x; }\n",
    "cpp": "namespace n { int f(int x) { return x; } }\n",
    "ruby": "def f(x)\n  x\nend\n",
    "lua": "local function f(x)\n  return x\nend\n",
}


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_every_language_parses_valid_code_without_errors(language: str) -> None:
    tree = grammars.parse(language, SAMPLES[language])
    assert tree is not None
    assert not tree.root_node.has_error


def test_broken_code_has_an_error() -> None:
    tree = grammars.parse("python", "def f(x:\n    return (x\n")
    assert tree is not None and tree.root_node.has_error


def test_unknown_language_has_no_grammar() -> None:
    assert grammars.grammar("cobol") is None
    assert grammars.parse("plaintext", "anything") is None


def test_grammar_is_loaded_once() -> None:
    assert grammars.grammar("python") is grammars.grammar("python")


@pytest.mark.parametrize(
    ("path", "language"),
    [("src/app.tsx", "typescriptreact"), ("a/B.JAVA", "java"), ("x.h", "c"), ("README", None)],
)
def test_language_of_path(path: str, language: str | None) -> None:
    assert grammars.language_of_path(path) == language


@pytest.mark.parametrize("language", ["python", "typescript", "go", "rust", "java", "c", "cpp"])
def test_tags_query_finds_definitions(language: str) -> None:
    found = grammars.grammar(language)
    assert found is not None
    query = found.query("tags")
    assert query is not None
    from tree_sitter import QueryCursor

    captures = QueryCursor(query).captures(found.parse(SAMPLES[language].encode()).root_node)
    names = {node.text.decode() for node in captures.get("name", [])}
    assert "f" in names


def test_typescript_tags_include_javascript_base() -> None:
    found = grammars.grammar("typescript")
    assert found is not None and len(found.query_dirs) == 2


def test_missing_query_file_is_none() -> None:
    found = grammars.grammar("go")
    assert found is not None and found.query("no-such-query") is None


def test_each_thread_gets_its_own_parser() -> None:
    found = grammars.grammar("python")
    assert found is not None
    mine = found.parser()
    theirs: list[object] = []
    thread = threading.Thread(target=lambda: theirs.append(found.parser()))
    thread.start()
    thread.join()
    assert found.parser() is mine and theirs[0] is not mine


def test_invalid_surrogates_still_parse() -> None:
    assert grammars.parse("python", "x = '\udcff'\n") is not None
