"""Server families: who is behind ``baseUrl``, and how to talk to it (backend; pure).

qwen-lsp speaks the OpenAI-compatible API, but the servers behind it differ in what they serve
and in how a chat continues a final assistant message (prefix continuation, "partial mode"):

=============  ==============================  ===============================================
family         FIM on ``/completions``         continuing the assistant prefix
=============  ==============================  ===============================================
dashscope      Beijing region only             ``"partial": true`` on the message,
                                               ``enable_thinking: false``
vllm           yes (raw FIM tokens)            ``continue_final_message: true`` +
                                               ``add_generation_prompt: false``
llama.cpp      yes (raw FIM tokens)            native: a final assistant message is continued
                                               (llama-cpp-python closes it as a finished turn)
ollama         yes (``suffix`` field)          native (a final assistant message)
lmstudio       yes (raw FIM tokens)            native (a final assistant message)
openai         unknown: tried, 404 → chat      local: vLLM's fields (others ignore them);
                                               remote: DashScope's
=============  ==============================  ===============================================

Local servers also get ``chat_template_kwargs: {"enable_thinking": false}`` so Qwen3 hybrid
models answer without thinking. The family is guessed from the URL (host, well-known ports) and
then read from what the server says about itself at start-up (``GET /models``'s ``owned_by``,
llama.cpp's ``GET /props``), which also gives the context size when the server tells it.
"""

from __future__ import annotations

import re
from typing import Any, Literal
from urllib.parse import urlsplit

Family = Literal["dashscope", "vllm", "llama.cpp", "ollama", "lmstudio", "openai"]

# Coder models trained for FIM, in the spellings of DashScope (`qwen2.5-coder-7b-instruct`),
# vLLM / Hugging Face (`Qwen/Qwen3-Coder-30B-A3B-Instruct`), Ollama (`qwen2.5-coder`,
# `qwen3-coder:30b`), LM Studio (`qwen/qwen3-coder-30b`) and GGUF files
# (`Qwen2.5-Coder-7B-Instruct-Q4_K_M.gguf`); matched on the last path segment.
_QWEN25_CODER = re.compile(r"^qwen2[._]?5[-_ ]?coder(?:$|[-_:.@ ])", re.I)
_QWEN3_CODER = re.compile(r"^qwen3[-_ ]?coder(?:$|[-_:.@ ])", re.I)
_CODER_TURBO = re.compile(r"^qwen-coder-turbo", re.I)

_DASHSCOPE_BEIJING = {"dashscope.aliyuncs.com"}


def is_dashscope(base_url: str) -> bool:
    """Model Studio: its hosts, or its ``/compatible-mode/`` path (a proxy in front of it)."""
    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower()
    return host.endswith(".aliyuncs.com") or "/compatible-mode/" in parts.path + "/"


def dashscope_serves_fim(base_url: str) -> bool:
    """Model Studio serves ``/completions`` in the Beijing region only (a proxy: assumed so)."""
    host = (urlsplit(base_url).hostname or "").lower()
    return host in _DASHSCOPE_BEIJING or not host.endswith(".aliyuncs.com")


def model_name(model: str) -> str:
    """The last path segment of a model name (``/models/x.gguf`` → ``x.gguf``)."""
    return model.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def fim_by_default(model: str, base_url: str) -> bool:
    """``auto`` mode: FIM for Qwen coder models on servers that serve ``/completions``."""
    name = model_name(model)
    if is_dashscope(base_url):
        if not dashscope_serves_fim(base_url):
            return False
        return bool(_QWEN25_CODER.match(name) or _CODER_TURBO.match(name))
    return bool(_QWEN25_CODER.match(name) or _QWEN3_CODER.match(name) or _CODER_TURBO.match(name))


def guess_family(base_url: str) -> Family:
    """The family from the URL alone (before the server said anything)."""
    if is_dashscope(base_url):
        return "dashscope"
    parts = urlsplit(base_url)
    port = parts.port
    if port == 11434:
        return "ollama"
    if port == 1234:
        return "lmstudio"
    if port == 8080:
        return "llama.cpp"
    return "openai"


def family_from_models(payload: Any) -> Family | None:
    """The family ``GET /models`` reveals (``owned_by``, vLLM's ``max_model_len``)."""
    for model in _models(payload):
        owner = str(model.get("owned_by", "")).lower()
        if owner == "vllm" or "max_model_len" in model:
            return "vllm"
        if owner in {"llamacpp", "me"}:  # llama.cpp's server, llama-cpp-python
            return "llama.cpp"
        if owner == "library" or owner == "ollama":
            return "ollama"
        if owner == "organization_owner":
            return "lmstudio"
    return None


def n_ctx_from_models(payload: Any, model: str) -> int | None:
    """vLLM's ``max_model_len`` (or llama.cpp's ``meta.n_ctx``) for ``model``, else the first."""
    found: int | None = None
    for entry in _models(payload):
        value = entry.get("max_model_len")
        meta = entry.get("meta")
        if value is None and isinstance(meta, dict):
            value = meta.get("n_ctx")
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            if entry.get("id") == model:
                return value
            found = found or value
    return found


def n_ctx_from_props(payload: Any) -> int | None:
    """llama.cpp's ``GET /props``: ``default_generation_settings.n_ctx`` (or top-level)."""
    if not isinstance(payload, dict):
        return None
    settings = payload.get("default_generation_settings")
    for source in (settings, payload):
        if isinstance(source, dict):
            value = source.get("n_ctx")
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value
    return None


def _models(payload: Any) -> list[dict[str, Any]]:
    data = payload.get("data") if isinstance(payload, dict) else None
    return [m for m in data if isinstance(m, dict)] if isinstance(data, list) else []


def continuation_fields(family: Family, local: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """What a partial-mode request adds: (fields of the final assistant message, body fields)."""
    message: dict[str, Any] = {}
    body: dict[str, Any] = {}
    if family == "dashscope":
        message["partial"] = True
        body["enable_thinking"] = False
    elif family == "vllm" or (family == "openai" and local):
        body["continue_final_message"] = True
        body["add_generation_prompt"] = False
    elif family == "openai":  # a remote server of unknown kind: DashScope's fields, as before
        message["partial"] = True
        body["enable_thinking"] = False
    if local or family in ("vllm", "llama.cpp"):
        body["chat_template_kwargs"] = {"enable_thinking": False}
    return message, body
