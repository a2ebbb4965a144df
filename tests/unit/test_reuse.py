"""reuse: typed-ahead matching and the answer cache."""

from __future__ import annotations

import pytest

from qwen_lsp import reuse
from qwen_lsp.prompts import BackendRequest
from qwen_lsp.reuse import AnswerCache, Shown, TypedAhead
from tests.support.spy import calls_of

ANCHOR = "def add(a, b):\n    "
SHOWN = Shown(anchor=ANCHOR, line_suffix="", text="return a + b", id="s1")


def typed_ahead() -> TypedAhead:
    t = TypedAhead()
    t.remember("u", SHOWN)
    return t


def test_typing_the_start_of_the_suggestion_returns_the_rest() -> None:
    t = typed_ahead()
    assert t.lookback("u") == len(ANCHOR) + len(SHOWN.text)
    assert t.match("u", "# header\n" + ANCHOR + "ret", "") == ("urn a + b", SHOWN)
    assert t.match("u", ANCHOR, "") == ("return a + b", SHOWN)  # back where it was shown


def test_no_match_when_the_user_types_something_else_or_everything() -> None:
    t = typed_ahead()
    assert t.match("u", ANCHOR + "rex", "") is None
    assert t.match("u", ANCHOR + "return a + b", "") is None  # nothing left to offer
    assert t.match("u", "def sub(a, b):\n    ret", "") is None  # another place
    assert t.match("u", ANCHOR + "ret", ")") is None  # the text after the cursor changed
    assert t.match("other", ANCHOR + "ret", "") is None
    t.forget("u")
    assert t.match("u", ANCHOR + "ret", "") is None


def test_cache_key_depends_on_everything_but_stream() -> None:
    a = BackendRequest("/completions", {"model": "m", "prompt": "p", "stream": True})
    b = BackendRequest("/completions", {"model": "m", "prompt": "p", "stream": False})
    c = BackendRequest("/completions", {"model": "m", "prompt": "q", "stream": True})
    d = BackendRequest("/chat/completions", {"model": "m", "prompt": "p", "stream": True})
    assert AnswerCache().key(a) == AnswerCache().key(b)
    assert len({AnswerCache().key(a), AnswerCache().key(c), AnswerCache().key(d)}) == 3


def test_cache_key_frames_its_fields() -> None:
    """String fields are hashed raw: no two different bodies may run together."""
    bodies = [
        {"model": "m", "prompt": "p"},
        {"model": "m", "prompt": ["p"]},
        {"model": "mp", "prompt": ""},
        {"model": "m\0sprompt\0" + "1\0p"},
        {"model": "m", "prompt": "p", "stop": ["x"]},
        {"model": "m", "prompt": "p", "suffix": ""},
        {"model": "m", "messages": [{"role": "user", "content": "p"}]},
        {"model": "m", "messages": [{"role": "user", "content": "q"}]},
    ]
    keys = {AnswerCache().key(BackendRequest("/completions", body)) for body in bodies}
    assert len(keys) == len(bodies)
    same = {"prompt": "p", "model": "m", "stream": True}  # the order of fields does not count
    assert AnswerCache().key(BackendRequest("/completions", same)) == AnswerCache().key(
        BackendRequest("/completions", bodies[0])
    )


def test_cache_evicts_the_least_recently_used() -> None:
    cache = AnswerCache(size=2)
    cache.put("a", "1")
    cache.put("b", "2")
    assert cache.get("a") == "1"  # now b is the oldest
    cache.put("c", "3")
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == ("1", None, "3")


def test_typed_ahead_keeps_the_replaced_closers_of_the_shown_suggestion() -> None:
    typed = TypedAhead()
    typed.remember("u", Shown("print(", ")", "a, b)", "id", replace=1))
    hit = typed.match("u", "print(a", ")")
    assert hit is not None and hit[0] == ", b)" and hit[1].replace == 1


def test_cache_key_of_the_same_request_is_hashed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine asks before sending and again when storing the answer: one digest."""
    calls: list[BackendRequest] = calls_of(monkeypatch, reuse, "_digest")
    a = BackendRequest("/completions", {"model": "m", "prompt": "p"})
    b = BackendRequest("/completions", {"model": "m", "prompt": "p"})
    cache = AnswerCache()
    assert cache.key(a) == cache.key(a) == cache.key(b)
    assert calls == [a, b]  # an equal but different request is hashed on its own
