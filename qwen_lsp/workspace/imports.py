"""Imports: what a file imports, and which workspace files that is.

:func:`parse` reads the import statements of a file (regular expressions over its text; no
parse needed) into :class:`Import` records; :func:`resolve` maps them to workspace files through
a :class:`FileTable` (the index's tables of paths): Python packages, absolute and relative
imports (``from . import x``, ``from ..a.b import c``), JavaScript/TypeScript relative imports
with their extensions and ``index`` files, Go package folders, Rust ``mod`` and
``use crate::/super::/self::`` paths, Java imports and C/C++ ``#include "..."``.

Pure: text and tables in, paths out. Anything that would resolve outside the workspace (a
third-party package, the standard library of the language) resolves to nothing.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Import:
    """One import: the module as written, the names taken from it, the name it is bound to."""

    module: str
    names: tuple[str, ...] = ()
    alias: str = ""  # the local name the module itself is bound to ("" when none)
    level: int = 0  # Python: leading dots of a relative import
    bound: tuple[str, ...] = ()  # Python: the local name of each of ``names`` (`a as b`), if any

    def local(self, i: int) -> str:
        return self.bound[i] if i < len(self.bound) and self.bound[i] else self.names[i]


@dataclass(frozen=True, slots=True)
class Resolved:
    """An import resolved to files: ``bound`` local names -> definitions in ``paths``."""

    paths: tuple[str, ...]
    names: tuple[str, ...]  # names imported from it (look for their definitions)
    alias: str  # the local name the module is bound to


class FileTable(Protocol):
    def exists(self, path: str) -> bool: ...

    def by_basename(self, name: str) -> Sequence[str]: ...

    def in_dir(self, directory: str) -> Sequence[str]: ...


_PY_FROM = re.compile(r"^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+(\(?[^#\n]*)", re.M)
_PY_IMPORT = re.compile(r"^[ \t]*import[ \t]+([^#\n]+)", re.M)
_JS = re.compile(
    r"""(?:^|[\s;])(?:import|export)\s+(?:([\w$*{}\s,]+?)\s+from\s+)?['"]([^'"]+)['"]"""
    r"""|require\(\s*['"]([^'"]+)['"]\s*\)|import\(\s*['"]([^'"]+)['"]\s*\)""",
    re.M,
)
_GO_BLOCK = re.compile(r"^import\s*\(([^)]*)\)", re.M)
_GO_ONE = re.compile(r'^import\s+(\w+\s+)?"([^"]+)"', re.M)
_GO_SPEC = re.compile(r'^\s*(\w+|\.|_)?\s*"([^"]+)"', re.M)
_RUST_MOD = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", re.M)
_RUST_USE = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?use\s+([\w:]+)(?:::\{([^}]*)\})?", re.M)
_JAVA = re.compile(r"^\s*import\s+(?:static\s+)?([\w.]+)(?:\.\*)?\s*;", re.M)
_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def parse(language_id: str, text: str) -> tuple[Import, ...]:
    """The imports of a file, in source order."""
    if language_id == "python":
        return _python(text)
    if language_id in {"javascript", "javascriptreact", "typescript", "typescriptreact"}:
        return _javascript(text)
    if language_id == "go":
        return _go(text)
    if language_id == "rust":
        return _rust(text)
    if language_id == "java":
        return tuple(Import(m.group(1)) for m in _JAVA.finditer(text))
    if language_id in {"c", "cpp"}:
        return tuple(Import(m.group(1)) for m in _INCLUDE.finditer(text))
    return ()


def _python(text: str) -> tuple[Import, ...]:
    out: list[tuple[int, Import]] = []
    for m in _PY_FROM.finditer(text):
        names_text = m.group(3)
        if names_text.startswith("(") and ")" not in names_text:
            close = text.find(")", m.end())
            names_text = text[m.start(3) : close if close >= 0 else m.end()]
        parts = names_text.strip("()").replace("\\", " ").replace("\n", ",").split(",")
        pairs = [(p.split(" as ")[0].strip(), p.split(" as ")[-1].strip()) for p in parts]
        pairs = [(n, b) for n, b in pairs if n.isidentifier()]
        kept = tuple(n for n, _ in pairs)
        bound = tuple(b if b != n else "" for n, b in pairs)
        bound = bound if any(bound) else ()
        out.append((m.start(), Import(m.group(2), kept, level=len(m.group(1)), bound=bound)))
    for m in _PY_IMPORT.finditer(text):
        for part in m.group(1).split(","):
            words = part.split()
            if not words:
                continue
            module = words[0]
            alias = words[2] if len(words) >= 3 and words[1] == "as" else module.split(".")[0]
            if all(p.isidentifier() for p in module.split(".")):
                out.append((m.start(), Import(module, alias=alias)))
    out.sort(key=lambda item: item[0])
    return tuple(imp for _, imp in out)


def _javascript(text: str) -> tuple[Import, ...]:
    out: list[Import] = []
    for m in _JS.finditer(text):
        spec = m.group(2) or m.group(3) or m.group(4)
        bound = m.group(1) or ""
        names = tuple(n for n in re.findall(r"[\w$]+", bound.split(" as ")[0]) if n != "as")
        alias_match = re.search(r"\*\s+as\s+([\w$]+)", bound)
        alias = alias_match.group(1) if alias_match else ""
        out.append(Import(spec, names, alias))
    return tuple(out)


def _go(text: str) -> tuple[Import, ...]:
    specs: list[tuple[str, str]] = []
    for block in _GO_BLOCK.finditer(text):
        for m in _GO_SPEC.finditer(block.group(1)):
            specs.append(((m.group(1) or "").strip(), m.group(2)))
    for m in _GO_ONE.finditer(text):
        specs.append(((m.group(1) or "").strip(), m.group(2)))
    return tuple(Import(path, alias=alias or path.rsplit("/", 1)[-1]) for alias, path in specs)


def _rust(text: str) -> tuple[Import, ...]:
    out = [Import(m.group(1), alias=m.group(1)) for m in _RUST_MOD.finditer(text)]
    for m in _RUST_USE.finditer(text):
        path = m.group(1).rstrip(":")
        names = tuple(
            n.strip().split(" as ")[0] for n in (m.group(2) or "").split(",") if n.strip()
        )
        if not names:
            head, _, last = path.rpartition("::")
            if head:
                path, names = head, (last,)
        out.append(Import("use:" + path, names, alias=path.rsplit("::", 1)[-1]))
    return tuple(out)


# -- resolution ------------------------------------------------------------------------------

_JS_EXTS = (".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")


def resolve(
    language_id: str, path: str, imports: Sequence[Import], table: FileTable
) -> tuple[Resolved, ...]:
    """The workspace files behind ``imports`` of the file at ``path`` (absolute)."""
    out: list[Resolved] = []
    directory = posixpath.dirname(path)
    for imp in imports:
        found: list[str] = []
        if language_id == "python":
            out.extend(_resolve_python(directory, imp, table))
            continue
        if language_id in {"javascript", "javascriptreact", "typescript", "typescriptreact"}:
            if imp.module.startswith("."):
                found = _resolve_js(
                    posixpath.normpath(posixpath.join(directory, imp.module)), table
                )
        elif language_id == "go":
            found = _resolve_go(imp.module, table)
        elif language_id == "rust":
            found = _resolve_rust(path, imp, table)
        elif language_id == "java":
            found = _by_suffix(imp.module.replace(".", "/") + ".java", table)
        elif language_id in {"c", "cpp"}:
            local = posixpath.normpath(posixpath.join(directory, imp.module))
            found = [local] if table.exists(local) else _by_suffix(imp.module, table)
        if found:
            out.append(Resolved(tuple(found), imp.names, imp.alias))
    return tuple(out)


def _by_suffix(suffix: str, table: FileTable) -> list[str]:
    """Workspace files whose path ends with ``suffix`` (whole path components)."""
    name = suffix.rsplit("/", 1)[-1]
    tail = "/" + suffix
    return [p for p in table.by_basename(name) if p.endswith(tail)][:4]


def _py_module(base: str, dotted: str, table: FileTable) -> list[str]:
    """``dotted`` under folder ``base`` as a module file or a package ``__init__``."""
    stem = posixpath.join(base, *dotted.split(".")) if dotted else base
    for candidate in (stem + ".py", stem + ".pyi", stem + "/__init__.py"):
        if table.exists(candidate):
            return [candidate]
    return []


def _py_absolute(directory: str, dotted: str, table: FileTable) -> list[str]:
    parts = dotted.split(".")
    rel = "/".join(parts)
    found = _by_suffix(rel + ".py", table) or _by_suffix(rel + "/__init__.py", table)
    # Prefer the copy nearest the importing file (monorepos hold several packages).
    found.sort(key=lambda p: -len(posixpath.commonpath([p, directory])))
    return found[:1]


def _resolve_python(directory: str, imp: Import, table: FileTable) -> list[Resolved]:
    out: list[Resolved] = []
    if imp.level:
        base = directory
        for _ in range(imp.level - 1):
            base = posixpath.dirname(base)

        def find(dotted: str) -> list[str]:
            return _py_module(base, dotted, table)
    else:

        def find(dotted: str) -> list[str]:
            return _py_absolute(directory, dotted, table)

    module = find(imp.module) if imp.module or imp.level else []
    plain_names: list[str] = []
    for i, name in enumerate(imp.names):  # `from pkg import submodule` binds a module
        sub = find(f"{imp.module}.{name}" if imp.module else name)
        if sub and sub != module:
            out.append(Resolved(tuple(sub), (), imp.local(i)))
        else:
            plain_names.append(name)
    if module and (plain_names or not imp.names):  # only submodules taken: not bound
        out.insert(0, Resolved(tuple(module), tuple(plain_names), imp.alias))
    return out


def _resolve_js(stem: str, table: FileTable) -> list[str]:
    if table.exists(stem) and posixpath.splitext(stem)[1] in _JS_EXTS:
        return [stem]
    base, ext = posixpath.splitext(stem)
    if ext in {".js", ".mjs", ".cjs", ".jsx"}:  # TypeScript sources imported as ".js"
        for candidate in (base + ".ts", base + ".tsx", base + ".mts"):
            if table.exists(candidate):
                return [candidate]
    for ext in _JS_EXTS:
        if table.exists(stem + ext):
            return [stem + ext]
    for ext in _JS_EXTS:
        if table.exists(f"{stem}/index{ext}"):
            return [f"{stem}/index{ext}"]
    return []


def _resolve_go(import_path: str, table: FileTable) -> list[str]:
    parts = import_path.split("/")
    for k in range(len(parts)):
        suffix = "/".join(parts[k:])
        name = parts[-1]
        for directory in table.by_basename(name + "/"):
            if directory.endswith("/" + suffix):
                files = [p for p in table.in_dir(directory) if p.endswith(".go")]
                return [p for p in files if not p.endswith("_test.go")][:8]
    return []


def _rust_crate_root(path: str, table: FileTable) -> str:
    directory = posixpath.dirname(path)
    probe = directory
    while probe and probe != "/":
        if table.exists(probe + "/lib.rs") or table.exists(probe + "/main.rs"):
            return probe
        probe = posixpath.dirname(probe)
    return directory


def _rust_module_dir(path: str) -> str:
    """The folder a Rust file's own `mod x;` declarations live in."""
    directory, name = posixpath.split(path)
    if name in {"lib.rs", "main.rs", "mod.rs"}:
        return directory
    return posixpath.join(directory, name.removesuffix(".rs"))


def _rust_file(base: str, parts: Sequence[str], table: FileTable) -> str | None:
    """The longest prefix of ``parts`` under ``base`` that is a module file."""
    for k in range(len(parts), 0, -1):
        stem = posixpath.join(base, *parts[:k])
        for candidate in (stem + ".rs", stem + "/mod.rs"):
            if table.exists(candidate):
                return candidate
    return None


def _resolve_rust(path: str, imp: Import, table: FileTable) -> list[str]:
    if not imp.module.startswith("use:"):
        found = _rust_file(_rust_module_dir(path), [imp.module], table)
        return [found] if found else []
    parts = imp.module[4:].split("::")
    if parts[0] == "crate":
        base, parts = _rust_crate_root(path, table), parts[1:]
    elif parts[0] == "self":
        base, parts = _rust_module_dir(path), parts[1:]
    elif parts[0] == "super":
        base = posixpath.dirname(_rust_module_dir(path))
        parts = parts[1:]
        while parts and parts[0] == "super":
            base, parts = posixpath.dirname(base), parts[1:]
    else:
        return []
    if not parts:
        return []
    found = _rust_file(base, parts, table)
    return [found] if found else []
