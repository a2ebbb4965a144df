"""Faults: what the user hears when the backend fails, and the rate-limit back-off (engine helper).

The policy: a fault the user must fix (a refused key, an unknown model, no key at all) or wait
out (a rate limit) is shown once with ``window/showMessage`` until the settings change; transient
faults (5xx, timeouts, broken streams) go to ``window/logMessage`` only. What qwen-lsp adapted
to on its own (a server context smaller than the budgets, a server without ``/completions``) and
settings that work badly with a local server (``stream: false``) are shown once too. A 429
pauses requests for ``Retry-After`` seconds, or an exponential back-off from 2 s to 60 s without it.
"""

from __future__ import annotations

import time
from typing import Protocol

from lsprotocol.types import MessageType

from . import backend as be
from . import redact
from .backend.limits import total_tokens
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

    def warn_once(self, key: str, level: MessageType, text: str) -> None:
        """Show and log ``text`` the first time only (for advice, not for faults)."""
        if key not in self._shown:
            self.show_once(key, level, text)

    def adapted(self, settings: Settings, effective: Settings, server: be.ServerInfo) -> None:
        """Tell the user once what qwen-lsp changed to suit the server, and risky settings."""
        if not settings.stream and settings.is_local:
            self.warn_once(
                "no-stream",
                MessageType.Warning,
                "qwen-lsp: `stream` is false: a local server cannot be told to stop a request "
                "the editor no longer needs, and later completions wait until it has generated "
                "all `maxTokens`. Set `stream` to true.",
            )
        if effective.mode != settings.mode:
            self.warn_once(
                "no-fim",
                MessageType.Warning,
                f"qwen-lsp: {settings.base_url} has no FIM endpoint (`/completions` answered "
                f"404); using partial mode on `/chat/completions` for {settings.model!r}. Set "
                '`mode` to "chat" to make this the rule, or point `baseUrl` at a server that '
                "serves FIM.",
            )
        if total_tokens(effective) < total_tokens(settings):
            size = f"{server.n_ctx} tokens" if server.n_ctx else "smaller than qwen-lsp's budgets"
            self.warn_once(
                "context",
                MessageType.Warning,
                f"qwen-lsp: the server's context is {size}; prompts now use "
                f"maxPrefixTokens {effective.max_prefix_tokens}, maxSuffixTokens "
                f"{effective.max_suffix_tokens}, maxRepoTokens {effective.max_repo_tokens}, "
                f"maxTokens {effective.max_tokens}. For more context start the server with a "
                "larger one (llama.cpp `--ctx-size`, llama-cpp-python `--n_ctx`, vLLM "
                "`--max-model-len`, Ollama `num_ctx`), or lower these settings yourself.",
            )

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
        elif isinstance(exc, be.EndpointNotFoundError):
            self.show_once(
                "endpoint",
                MessageType.Error,
                f"qwen-lsp: {settings.base_url} has no such endpoint ({text}). Check `baseUrl` "
                '(OpenAI-compatible servers usually end in `/v1`) and `mode` ("fim" needs '
                "`/completions`).",
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
