"""backend.limits: fitting the budgets into a server's context."""

from __future__ import annotations

from qwen_lsp.backend.limits import CHAT_OVERHEAD, FIM_OVERHEAD, MARGIN, fit, total_tokens
from qwen_lsp.config import Settings

FIM = Settings(model="qwen2.5-coder-7b", base_url="http://127.0.0.1:8080/v1")


def test_budgets_that_fit_are_kept() -> None:
    assert fit(FIM, 131_072) is FIM


def test_budgets_shrink_together_to_fit_the_context() -> None:
    fitted = fit(FIM, 2048)
    assert total_tokens(fitted) <= 2048 * MARGIN - FIM_OVERHEAD
    assert fitted.max_tokens == FIM.max_tokens
    # in proportion: the prefix keeps four times the suffix
    assert abs(fitted.max_prefix_tokens / fitted.max_suffix_tokens - 4) < 0.1
    assert fitted.max_repo_tokens < FIM.max_repo_tokens


def test_chat_prompts_leave_room_for_their_scaffolding() -> None:
    chat = Settings(model="qwen2.5-7b-instruct", base_url=FIM.base_url)
    assert total_tokens(fit(chat, 2048)) <= 2048 * MARGIN - CHAT_OVERHEAD
    assert fit(chat, 2048).max_prefix_tokens < fit(FIM, 2048).max_prefix_tokens


def test_a_tiny_context_takes_from_max_tokens_too() -> None:
    fitted = fit(FIM, 400)
    assert fitted.max_tokens < FIM.max_tokens
    assert fitted.max_prefix_tokens >= 16
    assert total_tokens(fitted) <= 400
