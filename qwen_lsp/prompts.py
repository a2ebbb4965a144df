"""Prompts: the request body for the model (context → **prompts** → backend).

Two shapes, chosen by :attr:`Settings.uses_fim`:

* FIM, ``POST {baseUrl}/completions``: Qwen's fill-in-the-middle tokens inside ``prompt``,
  preceded by the repository-level header when other files are shown::

      <|repo_name|>{repo}
      <|file_sep|>{other path}
      {snippet}
      <|file_sep|>{current path}
      <|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>

  (or, with ``fimSuffixField``, plain ``prompt`` + ``suffix`` fields for Ollama).
* Partial mode, ``POST {baseUrl}/chat/completions``: the prefix is the content of a last
  ``assistant`` message, which the model continues; the suffix and other files go in the user
  message. How a server is told to continue that message (DashScope's ``"partial": true``,
  vLLM's ``continue_final_message``, natively on llama.cpp) and to answer without thinking
  (thinking mode rejects partial mode) depends on the server family
  (:func:`qwen_lsp.backend.families.continuation_fields`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .backend.families import Family, continuation_fields, guess_family
from .config import Settings
from .context import Context

FIM_PREFIX = "<|fim_prefix|>"
FIM_SUFFIX = "<|fim_suffix|>"
FIM_MIDDLE = "<|fim_middle|>"
REPO_NAME = "<|repo_name|>"
FILE_SEP = "<|file_sep|>"

#: Tokens that end a FIM answer; any output is also cut at the first of them (postprocess).
SPECIAL_TOKENS: tuple[str, ...] = (
    FILE_SEP,
    "<|fim_pad|>",
    FIM_PREFIX,
    FIM_SUFFIX,
    FIM_MIDDLE,
    REPO_NAME,
    "<|endoftext|>",
    "<|im_end|>",
    "<|im_start|>",
)

SYSTEM_PROMPT = (
    "You are a code completion engine inside an editor. Continue the code exactly where the "
    "assistant message stops. Reply with the code to insert at the cursor only: no "
    "explanations, no markdown fences, do not repeat code that is already there."
)


@dataclass(frozen=True, slots=True)
class BackendRequest:
    """What the backend stage sends: ``POST {baseUrl}{path}`` with ``body``."""

    path: str
    body: dict[str, Any]

    @property
    def chat(self) -> bool:
        return self.path == "/chat/completions"


def build_request(ctx: Context, settings: Settings, family: Family | None = None) -> BackendRequest:
    """The request for this context under these settings, for a server of that family."""
    if settings.uses_fim:
        return _fim_request(ctx, settings)
    return _chat_request(ctx, settings, family or guess_family(settings.base_url))


def fim_prompt(ctx: Context) -> str:
    """Qwen's (repository-level) FIM prompt."""
    parts: list[str] = []
    if ctx.snippets or ctx.path:
        parts.append(f"{REPO_NAME}{ctx.repo_name or 'workspace'}\n")
        parts.extend(f"{FILE_SEP}{s.path}\n{s.text.rstrip()}\n" for s in ctx.snippets)
        if ctx.path:
            parts.append(f"{FILE_SEP}{ctx.path}\n")
    parts.append(f"{FIM_PREFIX}{ctx.prefix}{FIM_SUFFIX}{ctx.suffix}{FIM_MIDDLE}")
    return "".join(parts)


def _common(settings: Settings) -> dict[str, Any]:
    return {
        "model": settings.model,
        "max_tokens": settings.max_tokens,
        "temperature": settings.temperature,
        "stream": settings.stream,
    }


def _fim_request(ctx: Context, settings: Settings) -> BackendRequest:
    body = _common(settings)
    if settings.fim_suffix_field:
        body["prompt"] = ctx.prefix
        body["suffix"] = ctx.suffix
    else:
        body["prompt"] = fim_prompt(ctx)
    body["stop"] = list(dict.fromkeys((*SPECIAL_TOKENS, *settings.stop)))
    return BackendRequest("/completions", body)


def chat_user_message(ctx: Context) -> str:
    """The user turn of a partial-mode request: the task, other files and the suffix."""
    where = f"`{ctx.path}`" if ctx.path else "a file"
    language = f" ({ctx.language})" if ctx.language else ""
    parts = [f"Complete the code at the cursor in {where}{language}."]
    for snippet in ctx.snippets:
        parts.append(f"Related code from `{snippet.path}`:\n```\n{snippet.text.rstrip()}\n```")
    if ctx.suffix.strip():
        parts.append(
            "The code after the cursor, which must still fit after your insertion "
            f"(do not repeat it):\n```\n{ctx.suffix}\n```"
        )
    parts.append("Continue the code from where the assistant message stops.")
    return "\n\n".join(parts)


def _chat_request(ctx: Context, settings: Settings, family: Family) -> BackendRequest:
    body = _common(settings)
    message_fields, body_fields = continuation_fields(family, settings.is_local)
    body["messages"] = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": chat_user_message(ctx)},
        {"role": "assistant", "content": ctx.prefix, **message_fields},
    ]
    body.update(body_fields)
    if settings.stop:
        body["stop"] = list(settings.stop)
    return BackendRequest("/chat/completions", body)
