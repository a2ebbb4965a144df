"""config: defaults from the environment, validation that keeps old values, mode selection."""

from __future__ import annotations

from pathlib import Path

import pytest

from qwen_lsp.config import (
    DEFAULT_BASE_URL,
    Settings,
    defaults,
    markdown_table,
    parse_settings,
    unwrap,
)


def test_defaults_come_from_the_environment() -> None:
    s = defaults({"DASHSCOPE_API_KEY": " sk-env ", "DASHSCOPE_BASE_URL": "http://127.0.0.1:9/v1/"})
    assert (s.api_key, s.base_url) == ("sk-env", "http://127.0.0.1:9/v1")
    assert defaults({}).base_url == DEFAULT_BASE_URL
    assert defaults({"DASHSCOPE_BASE_URL": "not a url"}).base_url == DEFAULT_BASE_URL


def test_debounce_mode_defaults_to_adaptive_and_takes_fixed() -> None:
    assert Settings().debounce == "adaptive"
    s, errors = parse_settings({"debounce": "fixed"}, Settings())
    assert (s.debounce, errors) == ("fixed", [])


def test_valid_settings_apply() -> None:
    s, errors = parse_settings(
        {"model": "qwen-plus", "debounceMs": 0, "temperature": 0, "stop": "\n\n", "mode": "chat"},
        Settings(),
    )
    assert errors == []
    assert (s.model, s.debounce_ms, s.temperature, s.stop, s.mode) == (
        "qwen-plus",
        0,
        0.0,
        ("\n\n",),
        "chat",
    )


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("debounceMs", -5, "between 0 and 5000"),
        ("debounceMs", "fast", "whole number"),
        ("debounceMs", True, "whole number"),
        ("temperature", 2, "[0.0, 2.0)"),
        ("temperature", float("nan"), "[0.0, 2.0)"),
        ("mode", "turbo", "one of 'auto', 'fim', 'chat'"),
        ("debounce", "smart", "one of 'adaptive', 'fixed'"),
        ("baseUrl", "ftp://x", "http(s) URL"),
        ("stop", [1], "non-empty strings"),
        ("enabled", "yes", "true or false"),
        ("model", "", "must not be empty"),
    ],
)
def test_bad_values_are_reported_and_the_old_value_kept(
    key: str, value: object, fragment: str
) -> None:
    before = Settings(debounce_ms=42)
    after, errors = parse_settings({key: value, "maxTokens": 99}, before)
    assert len(errors) == 1 and key in errors[0] and fragment in errors[0]
    assert getattr(after, _attr(key)) == getattr(before, _attr(key))
    assert after.max_tokens == 99  # the good key in the same object still applies


def _attr(key: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in key)


def test_unknown_keys_and_non_objects_are_reported() -> None:
    _, errors = parse_settings({"modle": "x"}, Settings())
    assert errors == ["qwen-lsp: unknown setting 'modle' ignored"]
    same, errors = parse_settings(["not", "an", "object"], Settings(model="m"))
    assert same.model == "m" and "must be an object" in errors[0]


def test_a_bad_api_key_value_is_not_echoed() -> None:
    _, errors = parse_settings({"apiKey": "sk secret with spaces"}, Settings())
    assert errors and "secret" not in errors[0] and "<hidden>" in errors[0]


def test_null_resets_to_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-from-env")
    s, _ = parse_settings({"apiKey": None, "model": None}, Settings(api_key="sk-x", model="m"))
    assert (s.api_key, s.model) == ("sk-from-env", Settings().model)


@pytest.mark.parametrize(
    ("model", "mode", "fim"),
    [
        ("qwen2.5-coder-32b-instruct", "auto", True),
        ("qwen2.5-coder-0.5b-instruct", "auto", True),
        ("qwen-coder-turbo-latest", "auto", True),
        ("Qwen/Qwen2.5-Coder-7B-Instruct", "auto", True),  # vLLM naming
        ("qwen2.5-coder:7b", "auto", True),  # Ollama naming
        ("qwen3-coder-plus", "auto", False),
        ("qwen-plus", "auto", False),
        ("qwen-max", "fim", True),
        ("qwen2.5-coder-7b-instruct", "chat", False),
    ],
)
def test_auto_mode_picks_fim_for_qwen_coder_fim_models(model: str, mode: str, fim: bool) -> None:
    s, errors = parse_settings({"model": model, "mode": mode}, Settings())
    assert not errors and s.uses_fim is fim


def test_local_servers_are_recognised() -> None:
    assert Settings(base_url="http://127.0.0.1:8000/v1").is_local
    assert Settings(base_url="http://localhost:11434/v1").is_local
    assert not Settings().is_local


def test_unwrap_accepts_both_shapes() -> None:
    assert unwrap({"qwen-lsp": {"model": "m"}}) == {"model": "m"}
    assert unwrap({"model": "m"}) == {"model": "m"}


def test_redacted_hides_the_key() -> None:
    assert "sk-very-secret" not in repr(Settings(api_key="sk-very-secret").redacted())


def test_readme_settings_table_is_generated_from_the_schema() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert markdown_table() in readme, "README out of date: run python -m qwen_lsp.config"
