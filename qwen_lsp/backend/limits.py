"""Context limits: fitting the prompt budgets into a server's context (backend; pure).

A local server often runs with a small context (llama.cpp's and llama-cpp-python's default is
2,048 tokens) while qwen-lsp's default budgets add up to more (prefix 2,048 + suffix 512 +
repository 1,024 + ``maxTokens`` 256). Once the server's size is known (its error message,
llama.cpp's ``/props``, vLLM's ``max_model_len``), :func:`fit` scales the three budgets down
together so that prompt, answer and the prompt's own scaffolding fit, with a margin for tokens
counted differently than the server counts them.
"""

from __future__ import annotations

import dataclasses

from ..config import Settings

MARGIN = 0.9  # of the context; our counts may differ from the server's tokenizer
FIM_OVERHEAD = 64  # FIM tokens, the repository header, file names
CHAT_OVERHEAD = 224  # system prompt, the task text, ChatML scaffolding
MIN_PREFIX = 16
MIN_ROOM = 128  # the least prompt room worth having; below it ``maxTokens`` gives way


def fit(settings: Settings, n_ctx: int) -> Settings:
    """``settings`` with budgets (and if need be ``maxTokens``) that fit in ``n_ctx`` tokens."""
    usable = int(n_ctx * MARGIN) - (FIM_OVERHEAD if settings.uses_fim else CHAT_OVERHEAD)
    max_tokens = settings.max_tokens
    if usable - max_tokens < MIN_ROOM:
        max_tokens = max(1, min(max_tokens, usable // 4))
    room = max(MIN_PREFIX, usable - max_tokens)
    budgets = (settings.max_prefix_tokens, settings.max_suffix_tokens, settings.max_repo_tokens)
    total = sum(budgets)
    if total <= room and max_tokens == settings.max_tokens:
        return settings
    scale = min(1.0, room / total)
    prefix, suffix, repo = (int(b * scale) for b in budgets)
    return dataclasses.replace(
        settings,
        max_tokens=max_tokens,
        max_prefix_tokens=max(MIN_PREFIX, prefix),
        max_suffix_tokens=suffix,
        max_repo_tokens=repo,
    )


def total_tokens(settings: Settings) -> int:
    """Everything the settings let one request take: budgets plus ``maxTokens``."""
    return (
        settings.max_prefix_tokens
        + settings.max_suffix_tokens
        + settings.max_repo_tokens
        + settings.max_tokens
    )
