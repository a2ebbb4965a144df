"""prompts: FIM template, repository header, partial-mode messages."""

from __future__ import annotations

from qwen_lsp.config import Settings
from qwen_lsp.context import Context, Snippet
from qwen_lsp.prompts import SPECIAL_TOKENS, build_request, fim_prompt

CTX = Context(
    prefix="def add(a, b):\n    ",
    suffix="\n\nprint(add(1, 2))\n",
    line_prefix="    ",
    line_suffix="",
)


def test_fim_request_shape() -> None:
    req = build_request(CTX, Settings(stop=("\n\n",), max_tokens=64, stream=False))
    assert req.path == "/completions" and not req.chat
    assert req.body["prompt"] == (
        "<|fim_prefix|>def add(a, b):\n    <|fim_suffix|>\n\nprint(add(1, 2))\n<|fim_middle|>"
    )
    assert set(SPECIAL_TOKENS) <= set(req.body["stop"]) and "\n\n" in req.body["stop"]
    assert req.body["model"] == "qwen2.5-coder-32b-instruct"
    assert (req.body["max_tokens"], req.body["stream"]) == (64, False)


def test_repository_level_fim_prompt() -> None:
    ctx = Context(
        prefix="x = ",
        suffix="",
        line_prefix="x = ",
        line_suffix="",
        path="src/b.py",
        repo_name="proj",
        snippets=(Snippet("src/a.py", "A = 1\n"),),
    )
    assert fim_prompt(ctx) == (
        "<|repo_name|>proj\n<|file_sep|>src/a.py\nA = 1\n<|file_sep|>src/b.py\n"
        "<|fim_prefix|>x = <|fim_suffix|><|fim_middle|>"
    )


def test_suffix_field_style_for_ollama() -> None:
    req = build_request(CTX, Settings(fim_suffix_field=True))
    assert (req.body["prompt"], req.body["suffix"]) == (CTX.prefix, CTX.suffix)


def test_partial_mode_request_shape() -> None:
    req = build_request(CTX, Settings(model="qwen3-coder-plus"))
    assert req.path == "/chat/completions" and req.chat
    messages = req.body["messages"]
    assert messages[-1] == {"role": "assistant", "content": CTX.prefix, "partial": True}
    assert "print(add(1, 2))" in messages[-2]["content"] and messages[-2]["role"] == "user"
    assert req.body["enable_thinking"] is False
    assert "stop" not in req.body
