"""Keeping the API key out of logs and messages (used by every stage that writes text out).

The key is registered here as soon as it is known (from the environment or the client's
settings). :class:`RedactingFilter`, installed on every log handler qwen-lsp creates, replaces
it in each record, including pygls' own (which logs ``initialize`` params, and with them
``initializationOptions.apiKey``); :func:`scrub` does the same for messages built from
backend errors.
"""

from __future__ import annotations

import logging
import re

MASK = "***"
_secrets: set[str] = set()
# "apiKey": "…" / Authorization: Bearer … in anything that looks like JSON or a header dump.
_PATTERNS = (
    re.compile(r"""(["']?api_?key["']?\s*[:=]\s*["'])[^"']+(["'])""", re.IGNORECASE),
    re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE),
)


def add_secret(secret: str | None) -> None:
    """Remember a value that must never be written out (short values are ignored)."""
    if secret and len(secret) >= 6:
        _secrets.add(secret)


def scrub(text: str) -> str:
    """``text`` with every registered secret and key-looking value masked."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(
            lambda m: m.group(1) + MASK + (m.group(2) if m.lastindex == 2 else ""), text
        )
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with :func:`scrub`."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_text is None and record.exc_info[1] is not None:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        return True
