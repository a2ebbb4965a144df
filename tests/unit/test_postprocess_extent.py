"""postprocess: golden cases for each rule of issue 8, in many languages.

Each case: a document with ``|`` at the cursor, the language, the model's reply, whether it is a
chat reply, and the expected edit (text to insert, characters right of the cursor it replaces)
or ``None``.
"""

from __future__ import annotations

import pytest

from qwen_lsp.context import Context
from qwen_lsp.documents import line_content, split_lines
from qwen_lsp.postprocess import Edit, finish, finish_edit


def at(source: str, language: str) -> Context:
    prefix, suffix = source.split("|", 1)
    lines = split_lines(prefix)
    line_suffix = line_content(split_lines(suffix)[0])
    return Context(
        prefix=prefix,
        suffix=suffix,
        line_prefix=lines[-1],
        line_suffix=line_suffix,
        language=language,
    )


Case = tuple[str, str, str, str, bool, Edit | None]

SYNTAX: list[Case] = [
    (
        "python: an unfinished last line is dropped",
        "python",
        "def f(x):\n    |\n",
        "y = x * 2\n    return foo(y,",
        False,
        Edit("y = x * 2"),
    ),
    (
        "typescript: an unfinished call is dropped",
        "typescript",
        "function f(a: number) {\n  |\n}\n",
        "const b = a + 1;\n  return g(b,",
        False,
        Edit("const b = a + 1;"),
    ),
    (
        "c: an unfinished printf is dropped",
        "c",
        "int main() {\n    |\n}\n",
        'int a = 1;\n    printf("%d", a',
        False,
        Edit("int a = 1;"),
    ),
    (
        "ruby: an unfinished array is dropped",
        "ruby",
        "def f(x)\n  |\nend\n",
        "y = x * 2\n  [y, (x",
        False,
        Edit("y = x * 2"),
    ),
    (
        "lua: a dangling comma is dropped",
        "lua",
        "function f(x)\n  |\nend\n",
        "local y = x * 2\n  return y,",
        False,
        Edit("local y = x * 2"),
    ),
    (
        "rust: a closer the document already has, at another indentation",
        "rust",
        "fn f() -> i32 {\n    |\n}\n",
        "let x = 1;\n    x + 1\n    }",
        False,
        Edit("let x = 1;\n    x + 1"),
    ),
    (
        "java: a closer the document already has, at another indentation",
        "java",
        "class A {\n    int f() {\n        |\n    }\n}\n",
        "int x = 1;\n        return x;\n        }",
        False,
        Edit("int x = 1;\n        return x;"),
    ),
]

AUTO_CLOSED: list[Case] = [
    (
        "python: multi-line arguments before an auto-closed paren",
        "python",
        "print(|)\n",
        '"a",\n      "b")\nprint(2)',
        False,
        Edit('"a",\n      "b")', 1),
    ),
    (
        "javascript: a callback body before `});`",
        "javascript",
        "useEffect(() => {|});\n",
        "\n  go();\n});\nother();",
        False,
        Edit("\n  go();\n});", 3),
    ),
    (
        "go: arguments re-typing the paren",
        "go",
        "func f() {\n\tfmt.Println(|)\n}\n",
        "a, b)\n\treturn\n}",
        False,
        Edit("a, b)", 1),
    ),
    (
        "rust: the model types more than the auto-closed quote and paren",
        "rust",
        'fn f() {\n    foo("|");\n}\n',
        'hello", x);\n}',
        False,
        Edit('hello", x);', 3),
    ),
    (
        "java: a nested call re-typing `);`",
        "java",
        "class A {\n    void f() {\n        list.add(|);\n    }\n}\n",
        "new Item(1));\n        list.add(new Item(2));",
        False,
        Edit("new Item(1));", 2),
    ),
    (
        'cpp: a format string re-typing `");`',
        "cpp",
        'int main() {\n    printf("|");\n}\n',
        '%d\\n", x);\n}',
        False,
        Edit('%d\\n", x);', 3),
    ),
    (
        "ruby: arguments re-typing the paren",
        "ruby",
        "puts(|)\n",
        '"hi")\nputs 2',
        False,
        Edit('"hi")', 1),
    ),
    (
        "typescript: a chained .then( continues the statement",
        "typescript",
        "fetch(|)\n",
        "url)\n  .then((r) => r.json())\nconsole.log(1);",
        False,
        Edit("url)\n  .then((r) => r.json())", 1),
    ),
    (
        "python: the re-typed paren is followed by the rest of the original line",
        "python",
        "def f(numbers):\n    for x in enumerate(|)\n        pass\n",
        "numbers):\n        pass",
        False,
        Edit("numbers):", 1),
    ),
    (
        "lua: text inside the brackets only",
        "lua",
        "print(|)\n",
        "x + y",
        False,
        Edit("x + y"),
    ),
]

BALANCE: list[Case] = [
    (
        "javascript: a closing line the document lacks is kept",
        "javascript",
        "function f() {\n  |",
        "return 1;\n}",
        False,
        Edit("return 1;\n}"),
    ),
    (
        "lua: an `end` the document lacks is kept",
        "lua",
        "function f()\n  |",
        "return 1\nend",
        False,
        Edit("return 1\nend"),
    ),
    (
        "kotlin (no grammar): a closing line the document has is dropped",
        "kotlin",
        "fun f(): Int {\n  |\n}\n",
        "return 1\n    }",
        False,
        Edit("return 1"),
    ),
    (
        "python: a closer the text opened itself is not trimmed",
        "python",
        "foo(|)\n",
        "bar()",
        False,
        Edit("bar()"),
    ),
    (
        "javascript: a balanced call before the auto-closed paren",
        "javascript",
        "log(|);\n",
        "fmt(x)",
        False,
        Edit("fmt(x)"),
    ),
]

EXTENT: list[Case] = [
    (
        "python: the rest of a function from a nested block",
        "python",
        "def f(xs):\n    for x in xs:\n        if x:\n            |\n",
        "return x\n    return None\n\n\ndef g():\n    pass",
        False,
        Edit("return x\n    return None"),
    ),
    (
        "javascript: the rest of a function from a nested block",
        "javascript",
        "function f(xs) {\n  for (const x of xs) {\n    |",
        "if (x) return x;\n  }\n  return null;\n}\n\nfunction g() {}",
        False,
        Edit("if (x) return x;\n  }\n  return null;\n}"),
    ),
    (
        "python: the rest of a nested definition and of its enclosing body",
        "python",
        "def outer():\n    def inner(x):\n        |",
        "return x\n    return inner(1)\n\nouter()",
        False,
        Edit("return x\n    return inner(1)"),
    ),
    (
        "ruby: stops where it meets the suffix, even re-indented",
        "ruby",
        "def f(x)\n  |\n  x * 2\nend\n",
        "x += 1\n    x * 2\nend",
        False,
        Edit("x += 1"),
    ),
    (
        "python: a new top-level definition after the one it wrote",
        "python",
        "import os\n\n|\n",
        "def a():\n    return 1\n\ndef b():\n    return 2",
        False,
        Edit("def a():\n    return 1"),
    ),
    (
        "lua: a new function after the one it wrote",
        "lua",
        "|\n",
        "local function a()\n  return 1\nend\n\nlocal function b()\n  return 2\nend",
        False,
        Edit("local function a()\n  return 1\nend"),
    ),
    (
        "javascript: `} else {` continues the if",
        "javascript",
        "if (x) {|\n",
        "\n  a();\n} else {\n  b();\n}\nafter();",
        False,
        Edit("\n  a();\n} else {\n  b();\n}"),
    ),
    (
        "python: `elif` continues the if",
        "python",
        "if x:|\n",
        "\n    a()\nelif y:\n    b()\nnext()",
        False,
        Edit("\n    a()\nelif y:\n    b()"),
    ),
    (
        "java: `} catch` continues the try",
        "java",
        "class A {\n  void f() {\n    try {|\n  }\n}\n",
        "\n      a();\n    } catch (Exception e) {\n      b();\n    }\n    c();",
        False,
        Edit("\n      a();\n    } catch (Exception e) {\n      b();\n    }"),
    ),
]

WHITESPACE: list[Case] = [
    (
        "python: the space before the following word is kept",
        "python",
        "def f():\n    |False\n",
        "return ",
        False,
        Edit("return "),
    ),
    (
        "go: the space before the following word is kept",
        "go",
        "func f() error {\n\t|nil\n}\n",
        "return ",
        False,
        Edit("return "),
    ),
    (
        "javascript: no doubled space at the cursor",
        "javascript",
        "const v = |\n",
        " 42;",
        False,
        Edit("42;"),
    ),
    (
        "c: no doubled space before the following text",
        "c",
        "int v = a| + b;\n",
        " * 2 ",
        False,
        Edit(" * 2"),
    ),
    (
        "c: the space before the following operator is kept",
        "c",
        "int v = a |+ b;\n",
        "* 2 ",
        False,
        Edit("* 2 "),
    ),
    (
        "rust: a lone space between two words",
        "rust",
        "fn f() -> bool {\n    return|false\n}\n",
        " ",
        False,
        Edit(" "),
    ),
]

REPETITION: list[Case] = [
    (
        "javascript: a key repeated on two consecutive lines",
        "javascript",
        "const o = {\n  |\n};\n",
        "a: 1,\n  b: 2,\n  b: 2,\n  c: 3,",
        False,
        Edit("a: 1,\n  b: 2,"),
    ),
    (
        "c: lines that only count up",
        "c",
        "void setup() {\n  |\n}\n",
        "myFuncA();\n  myFuncB();\n  myFuncC();\n  myFuncD();\n  myFuncE();",
        False,
        Edit("myFuncA();"),
    ),
    (
        "python: a token run repeating to the end",
        "python",
        "x = |\n",
        "foo(" * 7,
        False,
        Edit("foo("),
    ),
    ("python: a run of one digit is a number", "python", "N = |\n", "1000000000000", False,
     Edit("1000000000000")),
    ("ruby: a banner of one symbol", "ruby", "# |\n", "========", False, Edit("========")),
]  # fmt: skip

DUPLICATES: list[Case] = [
    (
        "python: the first line is the next document line",
        "python",
        "def f():\n    |\n    return 1\n",
        "return 1",
        False,
        None,
    ),
    (
        "javascript: the next line, without its `;`",
        "javascript",
        "function f() {\n  |\n  foo(a);\n}\n",
        "foo(a)",
        False,
        None,
    ),
]

CHAT: list[Case] = [
    (
        "chat: a line starting with backticks is not a fence",
        "",
        "|\n",
        "```python\nx = 1\n```not a fence\ny = 2\n```\nExplanation.",
        True,
        Edit("x = 1\n```not a fence\ny = 2"),
    ),
    (
        "chat python: an echo from the middle of an earlier line",
        "python",
        "def add(a, b):\n    return a|\n",
        "(a, b):\n    return a + b",
        True,
        Edit(" + b"),
    ),
    (
        "fim go: a fenced FIM reply in a Go file",
        "go",
        "func f() int {\n\t|\n}\n",
        "```go\nreturn 1\n```",
        False,
        Edit("return 1"),
    ),
    (
        "fim markdown: fences are the document's text",
        "markdown",
        "# Title\n\n|\n",
        "```python\nprint(1)\n```",
        False,
        Edit("```python\nprint(1)\n```"),
    ),
]

CASES = SYNTAX + AUTO_CLOSED + BALANCE + EXTENT + WHITESPACE + REPETITION + DUPLICATES + CHAT


@pytest.mark.parametrize(
    ("name", "language", "source", "raw", "chat", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_golden(
    name: str, language: str, source: str, raw: str, chat: bool, expected: Edit | None
) -> None:
    assert finish_edit(raw, at(source, language), chat=chat) == expected


def test_finish_gives_the_insertion_when_the_closers_are_a_tail() -> None:
    ctx = at("print(|)\n", "python")
    assert finish('"a",\n      "b")\nprint(2)', ctx) == '"a",\n      "b"'


def test_at_least_eight_languages_are_covered() -> None:
    assert len({c[1] for c in CASES} & {"python", "javascript", "typescript", "go", "rust",
                                        "java", "c", "cpp", "ruby", "lua"}) >= 8  # fmt: skip
