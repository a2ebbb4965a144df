"""workspace.retrieval: the cursor query, candidate order, and budgeted assembly."""

from __future__ import annotations

from qwen_lsp.tokens import estimate_tokens
from qwen_lsp.workspace.imports import Resolved
from qwen_lsp.workspace.index import Index, index_text
from qwen_lsp.workspace.retrieval import Candidate, assemble, cursor_query, rank


def test_cursor_query() -> None:
    lines = ["import os\n", "total = compute_sum(values)\n", "    self.client.fet\n", "after_it\n"]
    q = cursor_query(lines, 2, len("    self.client.fet"))
    assert q.typed == "fet"
    assert q.chain == ("self", "client")
    assert q.nearby[:2] == ("client", "values")  # nearest first; keywords left out
    assert "after_it" in q.nearby and "self" not in q.nearby
    assert cursor_query(["crate::net::con"], 0, 15).chain == ("crate", "net")
    assert cursor_query(["x = (\n"], 0, 5).typed == ""


def build(files: dict[str, str]) -> Index:
    index = Index()
    for path, text in files.items():
        found = index_text(path, None, text)
        assert found is not None
        index.put(found)
    index.refresh_sorted()
    return index


FILES = {
    "/w/utils.py": "def decode_params(p):\n    return p\n\ndef decode_rfc(s):\n    return s\n"
    "\ndef unrelated():\n    pass\n",
    "/w/other.py": "def decode_elsewhere():\n    pass\n\n"
    "def helper_used_nearby(x):\n    return x\n",
    "/w/app.py": "from w import utils\n",
}


def test_prefix_matches_in_the_module_the_chain_names_come_first() -> None:
    index = build(FILES)
    resolved = (Resolved(("/w/utils.py",), (), "utils"),)
    lines = ["x = helper_used_nearby(1)\n", "utils.dec\n"]
    found = rank(cursor_query(lines, 1, 9), "/w/app.py", resolved, index)
    names = [c.text.split("(")[0] for c in found]
    assert names[:2] == ["def decode_params", "def decode_rfc"]
    assert "def helper_used_nearby" in names  # tier 2: used nearby
    assert "def decode_elsewhere" in names  # prefix anywhere, after what the imports say
    assert names.index("def decode_elsewhere") > 1
    assert all(c.path != "/w/app.py" for c in found)  # never the current file


def test_assemble_keeps_order_within_budget_and_puts_the_best_last() -> None:
    c = [
        Candidate("/w/a.py", 0, 1, "def best():\n    return 1\n", 1),
        Candidate("/w/b.py", 0, 1, "def second():\n    return 2\n", 2),
        Candidate("/w/a.py", 5, 6, "def third():\n    return 3\n", 2),
        Candidate("/w/c.py", 0, 1, "def best():\n    return 1\n", 2),  # duplicate text
        Candidate("/w/d.py", 0, 50, "x = 1\n" * 400, 3),  # too big for what is left
    ]
    relative = {"/w/a.py": "a.py", "/w/b.py": "b.py", "/w/c.py": "c.py", "/w/d.py": "d.py"}
    out = assemble(c, relative, 200, estimate_tokens)
    assert [s.path for s in out] == ["b.py", "a.py"]  # best file last
    assert out[1].text == "def best():\n    return 1\n\ndef third():\n    return 3"
    small = assemble(c, relative, 12, estimate_tokens)
    assert [s.path for s in small] == ["a.py"] and "third" not in small[0].text
    asked: list[int] = []

    def fallback(left: int) -> list[Candidate]:
        asked.append(left)
        return [Candidate("\0win.py", -1, -1, "window text\n", 4)]

    out = assemble(c[:1], {**relative, "\0win.py": "win.py"}, 200, estimate_tokens, fallback)
    assert asked and [s.path for s in out] == ["win.py", "a.py"]
    assert assemble([], relative, 0, estimate_tokens) == ()
