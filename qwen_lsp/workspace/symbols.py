"""Symbols: the definitions of one file, from tree-sitter tag queries.

:func:`extract` parses a file with its grammar (:mod:`qwen_lsp.grammars`), runs the wheel's
``queries/tags.scm`` and keeps every ``@definition.*`` capture (functions, classes, methods,
types, interfaces, modules, constants) with its name, kind and line range, and renders the
snippet the model will see for it: the signature, the docstring or the doc comment above it, and
the whole body when it is small (classes: their method signatures). Snippets are rendered once,
at index time, so a request never re-reads or re-parses a file.

Pure (bytes in, definitions out); runs in the index's worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import grammars

SMALL_BODY_LINES = 10  # a definition this short is shown whole
DOC_LINES = 5  # most docstring / doc-comment lines shown
OUTLINE_LINES = 12  # most member signatures shown for a class
MAX_SNIPPET_CHARS = 800
MAX_LINE_CHARS = 200


@dataclass(frozen=True, slots=True)
class Definition:
    name: str
    kind: str  # "function", "class", "method", "type", "interface", "module", "constant"...
    start: int  # first line (0-based)
    end: int  # last line (inclusive)
    text: str  # the snippet shown to the model


_KEPT_DUNDERS = frozenset({"__init__", "__call__", "__new__"})
_CLASS_KINDS = frozenset({"class", "interface", "type", "struct", "enum", "trait", "module"})


def extract(language_id: str, source: bytes) -> list[Definition] | None:
    """The file's definitions in line order; ``None`` when the language has no grammar/query."""
    found = grammars.grammar(language_id)
    if found is None:
        return None
    query = found.query("tags")
    if query is None:
        return None
    from tree_sitter import QueryCursor

    tree = found.parse(source)
    lines = source.decode("utf-8", "replace").splitlines()
    spans: dict[tuple[int, int, str], tuple[str, Any]] = {}
    for _, captures in QueryCursor(query).matches(tree.root_node):
        names = captures.get("name")
        if not names:
            continue
        for capture, nodes in captures.items():
            if not capture.startswith("definition."):
                continue
            node = _whole(nodes[0])
            name = (names[0].text or b"").decode("utf-8", "replace")
            if name.startswith("__") and name.endswith("__") and name not in _KEPT_DUNDERS:
                continue  # __repr__, __eq__...: many, and never what a completion needs
            kind = capture.removeprefix("definition.")
            key = (node.start_point.row, node.end_point.row, name)
            if key not in spans or kind == "method":
                spans[key] = (kind, node)
    ordered = sorted(spans.items(), key=lambda item: (item[0][0], -item[0][1]))
    out: list[Definition] = []
    starts = [k[0] for k, _ in ordered]
    for i, ((start, end, name), (kind, node)) in enumerate(ordered):
        members = [
            ordered[j][0][0] for j in range(i + 1, len(ordered)) if starts[j] <= end
        ]  # definitions nested in this one
        text = _render(lines, node, kind, members)
        out.append(Definition(name, kind, start, end, text))
    return out


def _whole(node: Any) -> Any:
    """The whole declaration around a captured node (C declarators, Go type specs...)."""
    while node.parent is not None and (
        "declarator" in node.type
        or node.type in {"type_spec", "const_spec", "var_spec"}
        or (node.parent.type in {"decorated_definition", "export_statement"})
    ):
        node = node.parent
        if node.type in {"function_definition", "declaration", "type_declaration"}:
            break
    return node


def _doc_above(lines: list[str], start: int) -> list[str]:
    """Comment lines (``//``, ``#``, ``///``, ``/** */``, ``--``) right above a definition."""
    out: list[str] = []
    row = start - 1
    while row >= 0 and len(out) < DOC_LINES:
        stripped = lines[row].strip()
        if stripped.startswith(("//", "#", "--", "*", "/*", "*/")) and not stripped.startswith(
            ("#include", "#define", "#[")
        ):
            out.append(lines[row])
            row -= 1
        else:
            break
    out.reverse()
    return out


def _body(node: Any) -> Any | None:
    body = node.child_by_field_name("body")
    if body is None and node.type == "decorated_definition":
        inner = node.child_by_field_name("definition")
        body = inner.child_by_field_name("body") if inner is not None else None
    return body


def _docstring(lines: list[str], body: Any) -> list[str]:
    """A Python docstring: the body's first statement when it is a string."""
    first = body.named_children[0] if body.named_children else None
    if first is None or first.type != "expression_statement":
        return []
    if not first.named_children or first.named_children[0].type != "string":
        return []
    rows = lines[first.start_point.row : first.end_point.row + 1]
    if len(rows) > DOC_LINES:
        indent = rows[0][: len(rows[0]) - len(rows[0].lstrip())]
        rows = [*rows[: DOC_LINES - 1], indent + '..."""']
    return rows


def _render(lines: list[str], node: Any, kind: str, members: list[int]) -> str:
    start, end = node.start_point.row, node.end_point.row
    doc = _doc_above(lines, start)
    if end - start + 1 <= SMALL_BODY_LINES:
        shown = lines[start : end + 1]
    else:
        body = _body(node)
        head_end = start if body is None else max(start, body.start_point.row - 1)
        if body is not None and body.start_point.row == start:
            head_end = start  # `func f() {` on one line
        head_end = min(head_end, start + 6)
        shown = lines[start : head_end + 1]
        if body is not None and body.start_point.row > start:
            shown += _docstring(lines, body)
        if kind in _CLASS_KINDS or kind == "class":
            seen = set(range(start, start + len(shown)))
            for row in members[:OUTLINE_LINES]:
                if row not in seen and row < len(lines):
                    shown.append(lines[row])
                    seen.add(row)
        indent = _indent_of(lines, start + len(shown), end)
        shown.append(indent + "...")
    text = "\n".join(line[:MAX_LINE_CHARS] for line in (*doc, *shown))
    return text[:MAX_SNIPPET_CHARS]


def _indent_of(lines: list[str], row: int, end: int) -> str:
    for r in range(row, min(end + 1, len(lines))):
        line = lines[r]
        if line.strip():
            return line[: len(line) - len(line.lstrip())]
    return "    "
