"""debounce: the pure wait policy, in fixed and adaptive mode."""

from __future__ import annotations

import pytest

from qwen_lsp.debounce import MIN_SAMPLES, DebouncePolicy, Decision

UPPER = 150


def typed(text: str, gap: float = 0.1, start: float = 0.0) -> DebouncePolicy:
    """A policy that saw ``text`` typed one character every ``gap`` seconds."""
    policy = DebouncePolicy()
    for i, char in enumerate(text):
        policy.keystroke(start + i * gap, char)
    return policy


@pytest.mark.parametrize("last", ["x", "(", "\n    ", ""])
def test_fixed_mode_always_waits_the_setting(last: str) -> None:
    policy = typed("abcdefgh")
    policy.keystroke(1.0, last)
    decision = policy.delay("fixed", UPPER, "")
    assert (decision.seconds, decision.reason) == (0.15, "fixed")


def test_adaptive_waits_the_upper_bound_until_it_knows_the_rhythm() -> None:
    policy = typed("ab")
    assert policy.median_gap is None
    assert policy.delay("adaptive", UPPER, "").seconds == pytest.approx(0.15)
    assert typed("a" * (MIN_SAMPLES + 1)).median_gap == pytest.approx(0.1)


@pytest.mark.parametrize("last", ["\n", "\n        ", "(", ".", ",", ":", "{", "="])
def test_no_wait_after_enter_or_a_trigger_at_the_end_of_the_line(last: str) -> None:
    policy = typed("value_of_x")
    policy.keystroke(1.1, last)
    decision = policy.delay("adaptive", UPPER, ")" if last == "(" else "")
    assert decision.seconds == 0.0
    assert decision.reason in {"newline", "pause point"}


def test_a_trigger_inside_a_line_waits_half_the_usual_gap() -> None:
    policy = typed("value_of_x")
    policy.keystroke(1.1, ".")
    decision = policy.delay("adaptive", UPPER, "foo(bar)")
    assert decision.reason == "trigger in line"
    assert decision.seconds == pytest.approx(0.05)


def test_a_slow_backend_makes_a_trigger_inside_a_line_wait_a_whole_gap() -> None:
    policy = typed("value_of_x")
    policy.backend_latency(0.9)  # far more than three gaps of 0.1 s
    policy.keystroke(1.1, ".")
    assert policy.delay("adaptive", UPPER, "foo(bar)").seconds == pytest.approx(0.1)


def test_a_fast_burst_waits_less_than_the_bound_and_a_slow_typist_the_bound() -> None:
    fast = typed("abcdefghijkl", gap=0.06)
    slow = typed("abcdefghijkl", gap=0.4)
    assert fast.delay("adaptive", UPPER, "").reason == "burst"
    assert fast.delay("adaptive", UPPER, "").seconds == pytest.approx(0.06)
    assert slow.delay("adaptive", UPPER, "").seconds == pytest.approx(0.15)


def test_after_a_hesitation_it_waits_the_usual_gap() -> None:
    policy = typed("abcdefghijkl", gap=0.06)
    policy.keystroke(0.66 + 0.5, "m")  # 0.5 s after the previous key: a hesitation
    decision = policy.delay("adaptive", 1000, "")
    assert decision.reason == "hesitation"
    assert decision.seconds == pytest.approx(0.06)


def test_pauses_and_pastes_do_not_count_as_rhythm() -> None:
    policy = typed("abcdefgh", gap=0.1)
    policy.keystroke(10.0, "x")  # after a long pause
    policy.keystroke(10.1, "pasted text")
    assert policy.median_gap == pytest.approx(0.1)
    assert len(policy._gaps) == 7


def test_deleting_is_never_a_pause_point() -> None:
    policy = typed("abcdefgh(")
    policy.keystroke(0.9, "")
    assert policy.delay("adaptive", UPPER, "").reason == "burst"


def test_the_bound_caps_every_adaptive_wait() -> None:
    policy = typed("abcdefghijkl", gap=0.9)
    for last in ("x", ".", ""):
        policy.keystroke(20.0, last)
        assert policy.delay("adaptive", 40, "rest").seconds <= 0.04


def test_the_first_space_after_a_word_at_the_end_of_a_line_does_not_wait() -> None:
    policy = typed("return", gap=0.1)
    policy.keystroke(0.6, " ")
    assert policy.delay("adaptive", UPPER, "") == Decision(0.0, "space after a word")
    assert policy.delay("adaptive", UPPER, "x)").reason == "burst"  # inside a line
    policy.keystroke(0.7, " ")  # a second space: typing on (indentation by hand)
    assert policy.delay("adaptive", UPPER, "").reason == "burst"
