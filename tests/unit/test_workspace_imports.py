"""workspace.imports: import statements parsed, and resolved to workspace files."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from qwen_lsp.workspace.imports import Import, parse, resolve


class Table:
    def __init__(self, paths: Iterable[str]) -> None:
        self.paths = set(paths)

    def exists(self, path: str) -> bool:
        return path in self.paths

    def by_basename(self, name: str) -> Sequence[str]:
        if name.endswith("/"):
            dirs = {p.rsplit("/", 1)[0] for p in self.paths}
            return sorted(d for d in dirs if d.rsplit("/", 1)[-1] == name[:-1])
        return sorted(p for p in self.paths if p.rsplit("/", 1)[-1] == name)

    def in_dir(self, directory: str) -> Sequence[str]:
        return sorted(p for p in self.paths if p.rsplit("/", 1)[0] == directory)


def paths(language: str, path: str, text: str, table: Table) -> list[tuple[tuple[str, ...], str]]:
    return [(r.paths, r.alias) for r in resolve(language, path, parse(language, text), table)]


def test_python_parse() -> None:
    text = (
        "import os, email.utils as eu\nfrom . import sibling\nfrom ..pkg.mod import (a,\n"
        "    b as c)\nif x:\n    from json import loads  # local\n"
    )
    assert parse("python", text) == (
        Import("os", alias="os"),
        Import("email.utils", alias="eu"),
        Import("", ("sibling",), level=1),
        Import("pkg.mod", ("a", "b"), level=2, bound=("", "c")),
        Import("json", ("loads",)),
    )


def test_python_resolution() -> None:
    table = Table(
        [
            "/w/email/__init__.py",
            "/w/email/utils.py",
            "/w/email/message.py",
            "/w/email/mime/base.py",
            "/w/email/mime/__init__.py",
        ]
    )
    me = "/w/email/mime/base.py"
    assert paths("python", me, "from email import utils\n", table) == [
        (("/w/email/utils.py",), "utils")
    ]
    assert paths("python", me, "import email.message\n", table) == [
        (("/w/email/message.py",), "email")
    ]
    assert paths("python", me, "from .. import message\n", table) == [
        (("/w/email/message.py",), "message")
    ]
    assert paths("python", me, "from email import utils as u, message\n", table) == [
        (("/w/email/utils.py",), "u"),
        (("/w/email/message.py",), "message"),
    ]
    found = resolve("python", me, parse("python", "from ..utils import quote\n"), table)
    assert [(r.paths, r.names) for r in found] == [(("/w/email/utils.py",), ("quote",))]
    assert paths("python", me, "import requests\n", table) == []  # not in the workspace


def test_javascript_and_typescript() -> None:
    table = Table(["/w/src/util.ts", "/w/src/lib/index.js", "/w/src/app.tsx", "/w/src/m.ts"])
    text = (
        "import { a, b as c } from './util'\nimport * as lib from './lib'\n"
        "const m = require('./m.js')\nimport React from 'react'\n"
    )
    assert paths("typescript", "/w/src/app.tsx", text, table) == [
        (("/w/src/util.ts",), ""),
        (("/w/src/lib/index.js",), "lib"),
        (("/w/src/m.ts",), ""),  # TypeScript sources imported with ".js"
    ]


def test_go_package_folders() -> None:
    table = Table(["/w/internal/store/store.go", "/w/internal/store/store_test.go", "/w/main.go"])
    text = 'package main\n\nimport (\n\t"fmt"\n\tst "example.com/app/internal/store"\n)\n'
    assert paths("go", "/w/main.go", text, table) == [(("/w/internal/store/store.go",), "st")]


def test_rust_mod_and_use() -> None:
    table = Table(["/w/src/main.rs", "/w/src/net.rs", "/w/src/net/tcp.rs", "/w/src/db/mod.rs"])
    text = "mod net;\nmod db;\nuse crate::net::tcp::Stream;\nuse std::io;\n"
    assert paths("rust", "/w/src/main.rs", text, table) == [
        (("/w/src/net.rs",), "net"),
        (("/w/src/db/mod.rs",), "db"),
        (("/w/src/net/tcp.rs",), "tcp"),
    ]
    assert paths("rust", "/w/src/net.rs", "mod tcp;\nuse super::db::Pool;\n", table) == [
        (("/w/src/net/tcp.rs",), "tcp"),
        (("/w/src/db/mod.rs",), "db"),
    ]


def test_java_and_c_includes() -> None:
    table = Table(["/w/src/com/acme/Util.java", "/w/include/vec.h", "/w/src/main.c"])
    assert paths("java", "/w/src/com/acme/App.java", "import com.acme.Util;\n", table) == [
        (("/w/src/com/acme/Util.java",), "")
    ]
    assert paths("c", "/w/src/main.c", '#include "vec.h"\n#include <stdio.h>\n', table) == [
        (("/w/include/vec.h",), "")
    ]
