"""Reading answers: SSE events, response chunks, ``<think>`` blocks, partial text (backend).

Pure helpers of the backend client: :func:`sse_events` splits a server-sent-event body into its
``data`` payloads, :func:`piece` reads the text and ``finish_reason`` of one response object or
stream chunk, :class:`ThinkFilter` drops a leading ``<think>…</think>`` block (a Qwen3 hybrid
model that was not told to stop thinking), and :func:`complete_lines` is what a truncated answer
may still be used for.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from .errors import ProtocolError, error_detail

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"


def piece(payload: Any, chat: bool) -> tuple[str, str | None]:
    """The text and finish_reason of one response object or stream chunk."""
    if not isinstance(payload, dict):
        raise ProtocolError("the answer is not a JSON object")
    if isinstance(payload.get("error"), dict):
        raise ProtocolError("error in the answer: " + error_detail(json.dumps(payload).encode()))
    choices = payload.get("choices")
    if not isinstance(choices, list):
        raise ProtocolError("the answer has no 'choices' list")
    if not choices:
        return "", None  # e.g. the usage-only last chunk
    choice = choices[0]
    if not isinstance(choice, dict):
        raise ProtocolError("a choice is not an object")
    if chat:
        message = choice.get("delta") or choice.get("message") or {}
        text = message.get("content") if isinstance(message, dict) else None
    else:
        text = choice.get("text")
    if text is not None and not isinstance(text, str):
        raise ProtocolError("the completion text is not a string")
    finish = choice.get("finish_reason")
    return text or "", finish if isinstance(finish, str) else None


async def sse_events(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The ``data`` of each server-sent event (multi-line data joined with newlines)."""
    data: list[str] = []
    async for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue  # comment / keep-alive
        name, _, value = line.partition(":")
        if name == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)


class ThinkFilter:
    """Drops a ``<think>…</think>`` block at the start of an answer, fed piece by piece.

    Text is held back only while it could still be the start of ``<think>``; anything else
    passes at once. After the block, the whitespace that separates it from the answer goes too.
    """

    def __init__(self) -> None:
        self._held = ""
        self._state = "start"  # start → (thinking → after) | through

    def feed(self, text: str) -> str:
        if self._state == "through":
            return text
        self._held += text
        if self._state == "start":
            head = self._held.lstrip()
            if head.startswith(THINK_OPEN):
                self._state = "thinking"
            elif THINK_OPEN.startswith(head):
                return ""  # could still become "<think>"
            else:
                return self._release()
        if self._state == "thinking":
            end = self._held.find(THINK_CLOSE)
            if end < 0:
                return ""
            self._held = self._held[end + len(THINK_CLOSE) :]
            self._state = "after"
        if self._state == "after":
            self._held = self._held.lstrip()
            return self._release() if self._held else ""
        return ""  # pragma: no cover - every state returns above

    def flush(self) -> str:
        """What is still held at the end of the answer (never the inside of a think block)."""
        if self._state == "start":
            return self._release()
        self._held = ""
        return ""

    def _release(self) -> str:
        out, self._held, self._state = self._held, "", "through"
        return out


def complete_lines(text: str) -> str:
    """The part of a partial answer that can be trusted: up to its last line break."""
    end = text.rfind("\n")
    return text[: end + 1] if end >= 0 else ""
