"""postprocess.syntax and postprocess.brackets: the cut point chooser and its fallback."""

from __future__ import annotations

from qwen_lsp.postprocess import brackets, syntax


def test_the_longest_candidate_that_parses_in_place_wins() -> None:
    prefix, suffix = "def f(x):\n    ", "\n"
    candidates = [("y = x\n    return g(y,", 0), ("y = x", 0)]
    assert syntax.longest_valid("python", prefix, suffix, candidates) == 1


def test_an_error_the_document_already_had_does_not_count() -> None:
    prefix = "def f(x):\n    z = (\n    "  # broken before the cursor
    assert syntax.longest_valid("python", prefix, "\n", [("y = x", 0)]) == 0


def test_no_opinion_without_a_grammar_or_for_a_huge_candidate() -> None:
    assert syntax.longest_valid("cobol", "", "", [("x", 0)]) is None
    assert syntax.longest_valid("python", "", "", [("x = 1\n" * 5000, 0)]) is None


def test_the_windows_start_and_end_at_statement_boundaries() -> None:
    prefix = "import os\n\ndef f():\n    a = 1\n    "
    assert syntax.prefix_window(prefix).startswith("import os")
    suffix = "\n    return a\n}\n\nfunction g() {\n" + "  x();\n" * 80
    assert syntax.suffix_window(suffix) == "\n    return a\n}\n"


def test_auto_closed_rests() -> None:
    assert brackets.auto_closed(")")
    assert brackets.auto_closed('"]);')
    assert not brackets.auto_closed(") + 1")
    assert not brackets.auto_closed("")


def test_retyped_closers_leave_the_line_balanced() -> None:
    assert brackets.retyped("numbers):", "for x in enumerate(", ")", "python") == 1
    assert brackets.retyped("9}", "xs = {1, 3.", ";", "c") == 0  # the `;` was not re-typed
    assert brackets.retyped('hello", x);', 'foo("', '");', "rust") == 3


def test_excess_closers_counts_only_what_the_text_adds() -> None:
    assert brackets.excess_closers("int f() {\n  ", "return 1;\n}", "\n}\n", "c") == 1
    assert brackets.excess_closers("int f() {\n  ", "return 1;\n}", "\n", "c") == 0
