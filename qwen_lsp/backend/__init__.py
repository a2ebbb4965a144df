"""Backend: HTTP to DashScope or an OpenAI-compatible server (prompts → **backend** → postprocess).

A package, one module per idea:

* :mod:`~qwen_lsp.backend.client` -- :class:`Backend`: the pooled HTTP client, streaming, the
  retries, the per-server in-flight limit, and what it learned about the server;
* :mod:`~qwen_lsp.backend.sse` -- reading SSE events and chunks, dropping ``<think>`` blocks,
  what a truncated answer may still be used for;
* :mod:`~qwen_lsp.backend.families` -- server families (DashScope regions, vLLM, llama.cpp,
  Ollama, LM Studio): routing, prefix-continuation fields, what ``/models`` and ``/props`` say;
* :mod:`~qwen_lsp.backend.limits` -- fitting the prompt budgets into a server's context;
* :mod:`~qwen_lsp.backend.errors` -- :class:`BackendError` and its kinds, from HTTP answers.
"""

from __future__ import annotations

from .client import Backend, ServerInfo
from .errors import (
    AuthError,
    BackendError,
    BackendTimeout,
    ConnectError,
    ContextLengthError,
    EmptyStreamError,
    EndpointNotFoundError,
    ModelNotFoundError,
    ProtocolError,
    RateLimitError,
    ServerError,
    TruncatedStream,
    error_detail,
    retry_after,
)
from .sse import complete_lines

_retry_after = retry_after
_error_detail = error_detail

__all__ = [
    "AuthError",
    "Backend",
    "BackendError",
    "BackendTimeout",
    "ConnectError",
    "ContextLengthError",
    "EmptyStreamError",
    "EndpointNotFoundError",
    "ModelNotFoundError",
    "ProtocolError",
    "RateLimitError",
    "ServerError",
    "ServerInfo",
    "TruncatedStream",
    "complete_lines",
    "error_detail",
    "retry_after",
]
