"""backend.families: routing per model spelling and host, family detection, continuation fields."""

from __future__ import annotations

import pytest

from qwen_lsp.backend import families as fam

BEIJING = "https://dashscope.aliyuncs.com/compatible-mode/v1"
SINGAPORE = "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"
VIRGINIA = "https://dashscope-us.aliyuncs.com/compatible-mode/v1"
FRANKFURT = "https://ws-123.eu-central-1.maas.aliyuncs.com/compatible-mode/v1"
LOCAL = "http://127.0.0.1:8000/v1"


@pytest.mark.parametrize(
    ("model", "fim"),
    [
        ("qwen2.5-coder-7b-instruct", True),  # DashScope, vLLM served-model-name
        ("Qwen/Qwen2.5-Coder-7B-Instruct", True),  # vLLM / Hugging Face
        ("qwen2.5-coder", True),  # Ollama without a tag
        ("qwen2.5-coder:1.5b-base", True),  # Ollama with one
        ("qwen3-coder:30b", True),
        ("Qwen/Qwen3-Coder-30B-A3B-Instruct", True),
        ("qwen/qwen3-coder-30b", True),  # LM Studio
        ("lmstudio-community/Qwen2.5-Coder-7B-Instruct-GGUF", True),
        ("/models/Qwen2.5-Coder-7B-Instruct-Q4_K_M.gguf", True),  # llama.cpp file names
        ("qwen2.5-coder-7b-instruct-q8_0.gguf", True),
        ("Qwen3-Coder-30B-A3B-Instruct-UD-Q4_K_XL.gguf", True),
        ("qwen-coder-turbo", True),
        ("qwen2.5-7b-instruct", False),
        ("Qwen/Qwen3-8B", False),
        ("qwen2.5-coderx", False),
        ("qwen-plus", False),
    ],
)
def test_coder_models_use_fim_on_a_local_server(model: str, fim: bool) -> None:
    assert fam.fim_by_default(model, LOCAL) is fim


@pytest.mark.parametrize(
    ("model", "url", "fim"),
    [
        ("qwen2.5-coder-32b-instruct", BEIJING, True),
        ("qwen-coder-turbo", BEIJING, True),
        ("qwen3-coder-plus", BEIJING, False),  # partial mode only on Model Studio
        ("qwen2.5-coder-32b-instruct", SINGAPORE, False),  # /completions is Beijing only
        ("qwen2.5-coder-32b-instruct", VIRGINIA, False),
        ("qwen2.5-coder-32b-instruct", FRANKFURT, False),
        ("qwen2.5-coder-32b-instruct", "http://127.0.0.1:9/compatible-mode/v1", True),  # proxy
    ],
)
def test_model_studio_serves_fim_in_beijing_only(model: str, url: str, fim: bool) -> None:
    assert fam.fim_by_default(model, url) is fim


@pytest.mark.parametrize(
    ("url", "family"),
    [
        (BEIJING, "dashscope"),
        (FRANKFURT, "dashscope"),
        ("http://127.0.0.1:11434/v1", "ollama"),
        ("http://localhost:1234/v1", "lmstudio"),
        ("http://127.0.0.1:8080/v1", "llama.cpp"),
        (LOCAL, "openai"),
    ],
)
def test_family_guessed_from_the_url(url: str, family: str) -> None:
    assert fam.guess_family(url) == family


@pytest.mark.parametrize(
    ("entry", "family"),
    [
        ({"id": "m", "owned_by": "vllm", "max_model_len": 32768}, "vllm"),
        ({"id": "m", "owned_by": "llamacpp", "meta": {"n_ctx_train": 32768}}, "llama.cpp"),
        ({"id": "m", "owned_by": "me", "permissions": []}, "llama.cpp"),  # llama-cpp-python
        ({"id": "qwen2.5-coder:7b", "owned_by": "library"}, "ollama"),
        ({"id": "m", "owned_by": "organization_owner"}, "lmstudio"),
        ({"id": "m", "owned_by": "system"}, None),
    ],
)
def test_family_from_the_model_list(entry: dict[str, object], family: str | None) -> None:
    assert fam.family_from_models({"object": "list", "data": [entry]}) == family


def test_context_size_from_models_and_props() -> None:
    models = {
        "data": [
            {"id": "other", "max_model_len": 8192},
            {"id": "Qwen/Qwen3-8B", "max_model_len": 4096},
        ]
    }
    assert fam.n_ctx_from_models(models, "Qwen/Qwen3-8B") == 4096
    assert fam.n_ctx_from_models(models, "unknown") == 8192
    assert fam.n_ctx_from_models({"data": [{"id": "m"}]}, "m") is None
    assert fam.n_ctx_from_props({"default_generation_settings": {"n_ctx": 2048}}) == 2048
    assert fam.n_ctx_from_props({"n_ctx": 4096}) == 4096
    assert fam.n_ctx_from_props({"detail": "Not Found"}) is None
    assert fam.n_ctx_from_props(["nope"]) is None


def test_continuation_fields_per_family() -> None:
    assert fam.continuation_fields("dashscope", local=False) == (
        {"partial": True},
        {"enable_thinking": False},
    )
    message, body = fam.continuation_fields("vllm", local=True)
    assert message == {}
    assert body == {
        "continue_final_message": True,
        "add_generation_prompt": False,
        "chat_template_kwargs": {"enable_thinking": False},
    }
    # llama.cpp continues a final assistant message by itself
    assert fam.continuation_fields("llama.cpp", local=True) == (
        {},
        {"chat_template_kwargs": {"enable_thinking": False}},
    )
    assert fam.continuation_fields("ollama", local=True)[0] == {}
    # an unknown remote server gets what worked before: DashScope's fields
    assert fam.continuation_fields("openai", local=False)[0] == {"partial": True}
