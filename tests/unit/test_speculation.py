"""speculation: the reply past a suggestion, the accepted state's context, the policy, the store."""

from __future__ import annotations

from qwen_lsp.context import build_context
from qwen_lsp.postprocess import finish_edit
from qwen_lsp.reuse import ANCHOR_CHARS, Shown
from qwen_lsp.speculation import (
    OUTCOME_WINDOW,
    Outcomes,
    Speculations,
    accepted_anchor,
    accepted_context,
    beyond,
    is_accept,
    may_request,
)


def context_at(marked: str, language: str = "python"):  # type: ignore[no-untyped-def]
    """The context at the ``|`` of ``marked``."""
    at = marked.index("|")
    text = marked.replace("|", "", 1)
    row = text.count("\n", 0, at)
    column = at - (text.rfind("\n", 0, at) + 1)
    lines = text.splitlines(keepends=True)
    return build_context(
        lines, row, column, prefix_budget=2048, suffix_budget=512, language=language
    )


def test_beyond_is_the_reply_past_the_suggestion() -> None:
    assert beyond("a, b)\ny = 1\n", "a, b)") == "\ny = 1\n"
    assert beyond("  x = 1\nfoo", "x = 1") == "\nfoo"  # leading spaces were fitted away
    assert beyond("a, b)", "a, b)") == ""  # nothing more came
    assert beyond("q = 2\nx = 1", "x = 1") is None  # not the reply's start
    assert beyond("anything", "") is None


def test_the_accepted_context_is_the_one_at_the_end_of_the_inserted_text() -> None:
    ctx = context_at("def f():\n    x = compute(|\n\nprint(1)\n")
    after = accepted_context(ctx, "a, b)")
    again = context_at("def f():\n    x = compute(a, b)|\n\nprint(1)\n")
    assert after == again
    multi = accepted_context(ctx, "a,\n        b)")
    assert multi == context_at("def f():\n    x = compute(a,\n        b)|\n\nprint(1)\n")


def test_the_accepted_context_drops_the_replaced_closers() -> None:
    ctx = context_at("print(|)\n")
    after = accepted_context(ctx, "a, b)", replace=1)
    assert (after.line_prefix, after.line_suffix) == ("print(a, b)", "")
    assert after == context_at("print(a, b)|\n")


def test_the_next_suggestion_is_post_processed_in_the_accepted_context() -> None:
    reply = "a, b)\ny = x + 1\nz = 2\n"
    ctx = context_at("x = compute(|\n")
    first = finish_edit(reply, ctx)
    assert first is not None and first.text == "a, b)"  # the call's end is the cut point
    rest = beyond(reply, first.text)
    assert rest is not None
    following = finish_edit(rest, accepted_context(ctx, first.text))
    assert following is not None and following.text == "\ny = x + 1\nz = 2"


def test_the_accepted_anchor_is_bounded() -> None:
    anchor = "x" * ANCHOR_CHARS
    assert accepted_anchor(anchor, "abc") == "x" * (ANCHOR_CHARS - 3) + "abc"
    assert accepted_anchor("def f():\n    ", "pass") == "def f():\n    pass"


def test_a_speculative_request_needs_request_mode_and_a_free_place() -> None:
    assert may_request("request", 0, 5, True)  # no limit
    assert may_request("request", 4, 2, True)
    assert not may_request("request", 4, 3, True)  # the last place stays for a real request
    assert not may_request("request", 1, 0, True)  # a server with one place
    assert not may_request("stream", 0, 0, True)
    assert not may_request("request", 0, 0, False)  # the user has not been accepting
    assert not may_request("off", 0, 0, True)


PARENT = Shown("def add(a, b):\n    ", "", "total = a + b", "p1")
ANSWER = Shown("def add(a, b):\n    total = a + b", "", "\n    return total", "a1")


def test_a_ready_answer_serves_the_accepted_state_while_its_suggestion_is_shown() -> None:
    ready = Speculations()
    ready.ready("u", PARENT, ANSWER)
    before = "# top\n" + PARENT.anchor + PARENT.text
    assert ready.lookback("u") == len(ANSWER.anchor) + len(ANSWER.text)
    assert ready.match("u", PARENT, before, "") == ("\n    return total", ANSWER)
    assert ready.match("u", PARENT, before + "\n    ret", "") == ("urn total", ANSWER)
    other = Shown(PARENT.anchor, "", "total = a - b", "p2")
    assert ready.match("u", other, before, "") is None  # another suggestion is shown now
    assert ready.match("u", None, before, "") is None
    assert ready.match("u", PARENT, PARENT.anchor + "total = a", "") is None  # not accepted
    assert ready.match("v", PARENT, before, "") is None
    ready.forget("u")
    assert ready.match("u", PARENT, before, "") is None
    ready.ready("u", PARENT, ANSWER)
    ready.clear()
    assert ready.lookback("u") == 0


def test_an_edit_inserting_the_suggestion_is_an_accept() -> None:
    assert is_accept(PARENT, "total = a + b")  # Tab
    assert is_accept(PARENT, "total")  # a partial accept: a word
    assert not is_accept(PARENT, "t")  # typed
    assert not is_accept(PARENT, "count")  # something else
    assert not is_accept(Shown("f(", "", "\n    x", "p3"), "\n    ")  # auto-indent
    assert not is_accept(Shown("f", "", "()", "p4"), "(")


def test_outcomes_gate_on_recent_accepts_and_count_each_suggestion_once() -> None:
    outcomes = Outcomes()
    assert not outcomes.accepting()
    outcomes.edited(PARENT, "total = a + b")
    assert outcomes.accepting()
    outcomes.left(PARENT)  # the request after the accept: already counted
    for i in range(OUTCOME_WINDOW - 1):
        outcomes.left(Shown("a", "", "b", f"miss{i}"))
    assert outcomes.accepting()  # one of the last OUTCOME_WINDOW
    outcomes.left(Shown("a", "", "b", "one more"))
    assert not outcomes.accepting()
    typed_out = Shown("a", "", "bc", "typed")
    outcomes.edited(typed_out, "b")
    outcomes.edited(typed_out, "c")
    outcomes.left(typed_out)
    assert not outcomes.accepting()  # typed by hand, one key at a time
    outcomes.left(None)
    outcomes.edited(None, "bc")
    assert not outcomes.accepting()
