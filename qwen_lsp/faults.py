"""Faults: what the user hears when the backend fails, and the rate-limit back-off (engine helper).

The policy: a fault the user must fix (a refused key, an unknown model, no key at all) or wait
out (a rate limit) is shown once with ``window/showMessage`` until the settings change; transient
faults (5xx, timeouts, broken streams) go to ``window/logMessage`` only. A 429 pauses requests
for ``Retry-After`` seconds, or an exponential back-off from 2 s to 60 s without it.
"""

from __future__ import annotations

import time
from typing import Protocol

from lsprotocol.types import MessageType

from . import backend as be
from . import redact
from .config import Settings

MAX_PAUSE_S = 600.0  # a Retry-After longer than this is not taken at its word


class Notifier(Protocol):
    """How the engine reaches the user (``window/showMessage``, ``window/logMessage``...)."""

    def show(self, level: MessageType, text: str) -> None: ...

    def log(self, level: MessageType, text: str) -> None: ...

    def status(self, state: str, message: str) -> None: ...


class FaultPolicy:
    """Turns backend errors into messages (each kind once) and a back-off window."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier
        self._shown: set[str] = set()
        self._blocked_until = 0.0
        self._backoff = 0.0

    def reset(self) -> None:
        """New settings: every message may be shown again, and any back-off ends."""
        self._shown.clear()
        self._blocked_until = self._backoff = 0.0

    def blocked(self) -> bool:
        """Whether requests are paused after a rate limit."""
        return time.monotonic() < self._blocked_until

    def succeeded(self) -> None:
        self._backoff = 0.0
        self._shown.discard("rate-limit")

    def show_once(self, key: str, level: MessageType, text: str) -> None:
        self.notifier.log(level, text)
        if key not in self._shown:
            self._shown.add(key)
            self.notifier.show(level, text)

    def report(self, exc: be.BackendError, settings: Settings) -> None:
        text = redact.scrub(str(exc))
        if isinstance(exc, be.AuthError):
            self.show_once(
                "auth",
                MessageType.Error,
                f"qwen-lsp: the backend refused the API key ({text}). Check `apiKey` and that "
                f"the key belongs to the region of `baseUrl` ({settings.base_url}).",
            )
        elif isinstance(exc, be.RateLimitError):
            self._backoff = min(60.0, max(2.0, self._backoff * 2))
            pause = exc.retry_after if exc.retry_after is not None else self._backoff
            pause = min(pause, MAX_PAUSE_S)
            self._blocked_until = time.monotonic() + pause
            self.show_once(
                "rate-limit",
                MessageType.Warning,
                f"qwen-lsp: rate limited by the backend ({text}); pausing completions for "
                f"{pause:.0f} s.",
            )
        elif isinstance(exc, be.ModelNotFoundError):
            self.show_once(
                "model",
                MessageType.Error,
                f"qwen-lsp: model {settings.model!r} was not found or this key cannot use it "
                f"({text}). Check the `model` setting.",
            )
        else:
            self.notifier.log(MessageType.Warning, f"qwen-lsp: completion failed: {text}")
        self.notifier.status("error", text)

    def missing_key(self) -> None:
        self.show_once(
            "no-key",
            MessageType.Warning,
            "qwen-lsp: no API key. Set `apiKey` in the qwen-lsp settings or DASHSCOPE_API_KEY "
            "in the environment the editor starts qwen-lsp from.",
        )
