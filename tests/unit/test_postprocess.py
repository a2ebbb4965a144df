"""postprocess: golden before/after cases for each rule, and the streaming cut."""

from __future__ import annotations

import pytest

from qwen_lsp.context import Context
from qwen_lsp.documents import line_content, split_lines
from qwen_lsp.postprocess import StreamCutter, drop_repetition, finish


def at(source: str) -> Context:
    """A context from source text with a `|` marking the cursor."""
    prefix, suffix = source.split("|", 1)
    lines = split_lines(prefix)
    line_suffix = line_content(split_lines(suffix)[0])
    return Context(prefix=prefix, suffix=suffix, line_prefix=lines[-1], line_suffix=line_suffix)


CASES = [
    # --- special tokens --------------------------------------------------------------------
    (
        "python: cut at a FIM token",
        "def f():\n    |\n",
        "return 1<|file_sep|>other.py\nx = 2",
        False,
        "return 1",
    ),
    ("python: <|endoftext|>", "x = |", "42<|endoftext|>", False, "42"),
    # --- mid-line: one line, and no duplicated closers ---------------------------------------
    ("python: call closed by the editor", "print(|)\n", 'f"{x}")\nprint(y)', False, 'f"{x}"'),
    ("typescript: args and bracket", "const v = fn(|);\n", "a, b);", False, "a, b"),
    ("go: map index", "v := m[|]\n", "key]", False, "key"),
    ("python: dict literal key", 'd = {"|": 1}\n', 'name": 1}', False, "name"),
    ("rust: whole rest of line repeated", "let x = foo(|);\n", "bar, baz);", False, "bar, baz"),
    ("js: nothing new", "call(|)\n", ")", False, None),
    ("python: mid-line keeps one line", "if x|:\n    pass\n", " > 0:\n    y = 1", False, " > 0"),
    # --- blocks: after an opener, on a blank line ----------------------------------------------
    (
        "python: body after def stops at dedent",
        "def fib(n):|\n",
        "\n    if n < 2:\n        return n\n    return fib(n-1) + fib(n-2)\n\n"
        "def other():\n    pass",
        False,
        "\n    if n < 2:\n        return n\n    return fib(n-1) + fib(n-2)",
    ),
    (
        "python: blank line keeps statements at its level",
        "def f(n):\n    |\n",
        "total = 0\n    for i in range(n):\n        total += i\n    return total\n\nprint(f(3))",
        False,
        "total = 0\n    for i in range(n):\n        total += i\n    return total",
    ),
    (
        "c: block body includes its closing brace",
        "int main() {|\n",
        "\n    return 0;\n}\n\nint other() {\n}",
        False,
        "\n    return 0;\n}",
    ),
    (
        "c: closing brace already in the suffix is not repeated",
        "int main() {\n    |\n}\n",
        "return 0;\n}\n",
        False,
        "return 0;",
    ),
    (
        "go: stop where the model writes the next existing line",
        "func f() int {\n\t|\n\treturn x\n}\n",
        "x := 1\n\treturn x\n}",
        False,
        "x := 1",
    ),
    (
        "python: end of a plain line continues the statement list",
        "    a = 1|\n",
        "\n    b = 2\nc = 3",
        False,
        "\n    b = 2",
    ),
    # --- repetition loops ----------------------------------------------------------------------
    (
        "python: same line over and over",
        "def f():\n    |\n",
        "x += 1\n    x += 1\n    x += 1\n    x += 1\n    x += 1",
        False,
        "x += 1",
    ),
    (
        "js: token run to the end",
        "const s = |\n",
        "'ab' + 'ab' + 'ab' + 'ab' + 'ab' + 'ab' + 'ab' + 'ab' + 'ab' + ",
        False,
        "'ab' +",
    ),
    ("python: banner of one symbol is not a loop", "# |\n", "==========", False, "=========="),
    # --- empty and whitespace ------------------------------------------------------------------
    ("any: whitespace only", "x = |\n", "   \n\n  ", False, None),
    ("any: trailing whitespace trimmed", "x = |\n", "1   ", False, "1"),
    # --- chat replies: fences and echo ---------------------------------------------------------
    (
        "chat: fenced reply",
        "def add(a, b):\n    |\n",
        "```python\nreturn a + b\n```\nThis adds two numbers.",
        True,
        "return a + b",
    ),
    (
        "chat: echoed current line",
        "def add(a, b):\n    return a|\n",
        "    return a + b",
        True,
        " + b",
    ),
    (
        "chat: echoed several lines",
        "import os\ndef main():\n    |\n",
        "def main():\n    print(os.getcwd())",
        True,
        "print(os.getcwd())",
    ),
    ("fim: an echo-like start is kept for FIM", "x = |\n", "x = 1", False, "x = 1"),
    # --- more languages --------------------------------------------------------------------------
    (
        "java: method body, closing brace kept once",
        "class A {\n    int twice(int x) {|\n}\n",
        "\n        return 2 * x;\n    }\n\n    int thrice(int x) {",
        False,
        "\n        return 2 * x;\n    }",
    ),
    (
        "ruby: block closed by end",
        "def greet(name)|\n",
        '\n  puts "hi #{name}"\nend\n\ndef other\nend',
        False,
        '\n  puts "hi #{name}"\nend',
    ),
    (
        "rust: match arm mid-line keeps one line",
        "match x {\n    Some(v) => |,\n}\n",
        "v * 2,\n    None => 0,",
        False,
        "v * 2",
    ),
    (
        "typescript: arrow function body",
        "const add = (a: number, b: number) => {|\n",
        "\n  return a + b;\n};\n\nexport {};",
        False,
        "\n  return a + b;\n};",
    ),
    (
        "python: string argument closed by the editor",
        'open("|")\n',
        'data.txt")',
        False,
        "data.txt",
    ),
    (
        "go: if err block after opener",
        "\tf, err := os.Open(p)\n\tif err != nil {|\n",
        "\n\t\treturn err\n\t}\n\tdefer f.Close()",
        False,
        "\n\t\treturn err\n\t}",
    ),
    (
        "lua: block closed by end keeps the end",
        "function f()|\n",
        "\n  return 1\nend\nprint(f())",
        False,
        "\n  return 1\nend",
    ),
]


@pytest.mark.parametrize(
    ("name", "source", "raw", "chat", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_golden(name: str, source: str, raw: str, chat: bool, expected: str | None) -> None:
    assert finish(raw, at(source), chat=chat) == expected


def test_nested_closers_are_not_a_repetition_loop() -> None:
    closers = "go();\n    }\n  }\n}"
    assert drop_repetition(closers) == closers


def test_stream_cutter_stops_at_the_cut_point_mid_line() -> None:
    cutter = StreamCutter(at("print(|)\n"))
    assert not cutter.feed("x")
    assert not cutter.feed(", y")
    assert cutter.feed(")\nprint(")  # the first line is complete: nothing after it is kept


def test_stream_cutter_stops_on_dedent_but_not_before() -> None:
    cutter = StreamCutter(at("def f():|\n"))
    for piece in ["\n    a = 1", "\n    b = 2", "\n"]:
        assert not cutter.feed(piece)
    assert not cutter.feed("de")  # a partial line cannot end the block yet
    assert cutter.feed("f g():\n")


def test_stream_cutter_stops_at_a_special_token() -> None:
    cutter = StreamCutter(at("x = |\n"))
    assert cutter.feed("1<|endoftext|>")
