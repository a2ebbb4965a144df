"""The HumanEval benchmark's pure parts: cases, replies, applying items, scoring, the checker.

These run in milliseconds (no server); the end-to-end run is ``test_humaneval_smoke.py``.
"""

from __future__ import annotations

import random

import pytest

from benchmarks.humaneval import checker, problems
from benchmarks.humaneval.cases import KINDS, Case, make_cases
from benchmarks.humaneval.replay import Outcome, apply, offset_of
from benchmarks.humaneval.replies import FENCE_OPEN, PROSE, reply_for, split_chunks
from benchmarks.humaneval.score import normalise, pattern
from tests.support.fake_qwen import split_tokens

SOLUTION = (
    "    for a in numbers:\n"
    "        if (a < 0): \n"
    "            return len(set(str(a)))\n"
    "    return 0\n"
)
PROBLEM = problems.Problem(
    task_id="Fake/0",
    prompt='def f(numbers):\n    """Doc."""\n',
    solution=SOLUTION,
    test=(
        "def check(candidate):\n"
        "    assert candidate([-12, 3]) == 3\n"
        "    assert candidate([3]) == 0\n"
    ),
    entry_point="f",
)


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return make_cases([PROBLEM], seed=1, per_kind=3)


def test_every_kind_has_cases_and_each_case_is_the_original_minus_its_span(
    cases: list[Case],
) -> None:
    assert {c.kind for c in cases} == set(KINDS)
    for case in cases:
        assert case.span.strip(), case
        assert case.start >= len(PROBLEM.prompt), "spans stay in the solution"
        assert case.document[: case.cursor] + case.span + case.document[
            case.cursor + len(case.closers) :
        ] == (case.original)
        assert not case.span.endswith((" ", "\t")) or case.kind == "inline", case


def test_cases_are_deterministic_and_depend_on_the_seed() -> None:
    first = make_cases([PROBLEM], 1, 3)
    assert first == make_cases([PROBLEM], 1, 3)
    assert [c.span for c in first] != [c.span for c in make_cases([PROBLEM], 2, 3)]


def test_line_cases_keep_the_indentation_and_nothing_right_of_the_cursor(
    cases: list[Case],
) -> None:
    for case in cases:
        if case.kind in ("line", "lines", "rest"):
            line = case.document[: case.cursor].rsplit("\n", 1)[-1]
            assert line and line.isspace()
            assert not case.document[case.cursor :].split("\n", 1)[0].strip()
        if case.kind == "rest":
            assert not case.original[case.end :].strip()
        if case.kind == "inline":
            assert case.document[case.cursor :].split("\n", 1)[0].strip()


def test_autoclosed_cases_have_only_the_editors_closers_right_of_the_cursor(
    cases: list[Case],
) -> None:
    auto = [c for c in cases if c.kind == "autoclosed"]
    assert auto
    pairs = {"(": ")", "[": "]", "{": "}"}
    for case in auto:
        right = case.document[case.cursor :].split("\n", 1)[0]
        assert right.rstrip() == case.closers
        assert not case.original[case.end :].split("\n", 1)[0].strip(), "the rest of the line"
        stack = []  # what is still open left of the cursor (no quotes in this solution)
        for char in case.document[: case.cursor].rsplit("\n", 1)[-1]:
            if char in pairs:
                stack.append(pairs[char])
            elif char in pairs.values():
                stack.pop()
        assert case.closers == "".join(reversed(stack))


def test_position_is_in_utf16_code_units() -> None:
    text = 'def f():\n    s = "😀"; return s\n'
    case = Case("x", "x", "inline", "", text, text.index("return"), text.index(" s\n"))
    assert case.position == (1, len('    s = "😀"; ') + 1)
    assert offset_of(case.document, {"line": 1, "character": case.position[1]}, -1) == (case.cursor)


def test_replies_shapes_and_chat_dressing(cases: list[Case]) -> None:
    case = next(c for c in cases if c.kind == "line")
    exact = reply_for(case, "exact", "fim", "def junk(): pass\n", seed=1)
    assert exact.raw == case.span and exact.style == "fim"
    overrun = reply_for(case, "overrun", "fim", "def junk(): pass\n", seed=1)
    assert overrun.raw == case.original[case.start :]
    junk = reply_for(case, "junk", "fim", "def junk(): pass\n", seed=1)
    assert junk.raw.startswith(overrun.raw.rstrip("\n")) and junk.raw.endswith("def junk(): pass\n")
    styles = set()
    for seed in range(40):
        chat = reply_for(case, "exact", "chat", "", seed)
        styles.add(chat.style)
        if "fence" in chat.style:
            assert chat.raw.startswith(FENCE_OPEN) and chat.raw.endswith("\n```")
            prose = reply_for(case, "junk", "chat", "", seed).raw
            assert prose.endswith("\n```" + PROSE)
            assert chat.chunks[0] != FENCE_OPEN and FENCE_OPEN.startswith(chat.chunks[0])
        if "echo" in chat.style:
            assert case.document[: case.cursor].rsplit("\n", 1)[-1] + case.span in chat.raw
    assert styles == {"plain", "fence", "echo", "fence+echo"}


def test_chunks_are_one_to_three_token_pieces() -> None:
    text = "for i in range(10):\n    total += i * 2\n"
    chunks = split_chunks(text, random.Random(3))
    assert "".join(chunks) == text
    assert len(split_tokens(text)) / 3 <= len(chunks) < len(split_tokens(text))


def test_apply_inserts_at_the_cursor_or_replaces_the_items_range() -> None:
    doc = "x = f()\n"
    at = doc.index(")")
    assert apply(doc, at, None) == (None, "", doc)
    assert apply(doc, at, {"items": []}) == (None, "", doc)
    empty = {"start": {"line": 0, "character": 6}, "end": {"line": 0, "character": 6}}
    item = {"insertText": "a, b", "range": empty}
    assert apply(doc, at, {"items": [item]}) == ("a, b", "", "x = f(a, b)\n")
    over = {"start": {"line": 0, "character": 6}, "end": {"line": 0, "character": 7}}
    item = {"insertText": "a, b):", "range": over}
    assert apply(doc, at, [item]) == ("a, b):", ")", "x = f(a, b):\n")
    snippet = {"insertText": {"kind": "snippet", "value": "1"}}
    assert apply(doc, at, {"items": [snippet]})[2] == "x = f(1)\n"


def _outcome(inserted: str | None, result: str, style: str = "fim") -> Outcome:
    return Outcome("c", "fim", "exact", style, "", inserted, "", result, 1, False)


def test_patterns_name_why_a_document_differs() -> None:
    text = "def f(s):\n    return len(set(s)) + 1\n"
    start = text.index("set")
    inside = Case("c", "t", "inline", "bracket", text, start, text.index(") + 1"))
    doc = inside.document
    trimmed = "set(s"
    assert pattern(inside, _outcome(None, doc)) == "no item"
    assert pattern(inside, _outcome(trimmed, doc[:start] + trimmed + doc[start:])) == (
        "closer dropped that the document needed"
    )
    assert pattern(inside, _outcome("```python\nset(s)", "")) == "fence left in the item"
    auto = Case("c", "t", "autoclosed", "", text, start, text.index("\n", start), ")")
    assert pattern(auto, _outcome(auto.span, "")) == (
        "auto-closed: closers re-typed, none replaced (doubled)"
    )
    spaced = Case("c", "t", "inline", "tokens", text, text.index(" + 1"), text.index("1\n"))
    assert (
        pattern(spaced, _outcome(" +", "")) == "space before the text right of the cursor dropped"
    )
    body = "def f(x):\n    if x:\n        return 1\n    return 2\n"
    lines = Case("c", "t", "rest", "", body, body.index("return 1"), len(body) - 1)
    assert pattern(lines, _outcome("return 1", "")) == "cut short: lost lines"
    assert pattern(lines, _outcome(lines.span + "\ndef g(): pass", "")) == "ran past the span"


def test_normalise_ignores_whitespace_runs_but_not_missing_spaces() -> None:
    assert normalise("a  = 1\n\n\nb = 2  \n") == normalise("a = 1\nb = 2")
    assert normalise("returnFalse") != normalise("return False")


def test_checker_passes_the_original_and_fails_a_broken_document(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(checker, "TIMEOUT_S", 1.0)
    assert checker.passes(PROBLEM, PROBLEM.text)
    assert not checker.passes(PROBLEM, PROBLEM.text.replace("return 0", "return 7"))
    assert not checker.passes(PROBLEM, PROBLEM.text.replace("len(", "len(("))  # syntax error
    assert not checker.passes(PROBLEM, PROBLEM.prompt + "    while True:\n        pass\n")
    hog = PROBLEM.text + "\n_hog = bytearray(2 << 30)\n"  # 2 GiB: over the memory limit
    assert not checker.passes(PROBLEM, hog)
    assert checker.passes(PROBLEM, PROBLEM.text + "\n_small = bytearray(1 << 20)\n")


def test_checker_tests_each_distinct_document_once() -> None:
    check = checker.Checker(workers=2)
    broken = PROBLEM.text.replace("return 0", "return 7")
    check.run([(PROBLEM, PROBLEM.text), (PROBLEM, PROBLEM.text), (PROBLEM, broken)])
    assert len(check.results) == 2
    assert check.passed(PROBLEM, PROBLEM.text) and not check.passed(PROBLEM, broken)


def test_the_installed_data_set_has_every_problem() -> None:
    loaded = problems.load()
    assert len(loaded) == 164
    assert all(p.solution.strip() and "def check" in p.test for p in loaded)
