"""engine: what the orchestrator itself decides (stages have their own tests).

The backend is an ``httpx.MockTransport`` that records the prompts; no server, no network.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from lsprotocol.types import MessageType

from qwen_lsp import backend as be
from qwen_lsp import engine as engine_module
from qwen_lsp.config import Settings
from qwen_lsp.engine import Engine
from qwen_lsp.tokens import TokenCounter


class _Quiet:
    def show(self, level: MessageType, text: str) -> None: ...

    def log(self, level: MessageType, text: str) -> None: ...

    def status(self, state: str, message: str) -> None: ...


def _one_token_a_character(text: str) -> int:
    return len(text)


@pytest.fixture
def slow_vocabulary(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """``counter_for`` blocks until the event is set, then counts a token per character."""
    release = threading.Event()

    def counter_for(model: str) -> TokenCounter:
        assert release.wait(10), "the test never released the vocabulary"
        return _one_token_a_character

    monkeypatch.setattr(engine_module, "counter_for", counter_for)
    yield release
    release.set()


async def test_a_request_waits_for_the_vocabulary_being_loaded(
    slow_vocabulary: threading.Event,
) -> None:
    prompts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        prompts.append(json.loads(request.content)["prompt"])
        reply = {"choices": [{"index": 0, "text": "1", "finish_reason": "stop"}]}
        return httpx.Response(200, json=reply)

    settings = Settings(
        base_url="http://127.0.0.1:9/v1",
        model="qwen2.5-coder-7b-instruct",
        stream=False,
        debounce_ms=0,
        max_prefix_tokens=40,
        max_suffix_tokens=10,
        max_repo_tokens=0,
        index_enabled=False,
    )
    engine = Engine(_Quiet(), be.Backend(httpx.MockTransport(handler)), settings)
    text = "".join(f"v{i} = {i}\n" for i in range(100)) + "x = "
    engine.open_document("file:///t.py", text, 1, "python")
    engine.load_tokenizer()
    asking = asyncio.ensure_future(engine.suggest("file:///t.py", 100, 4, invoked=True))
    await asyncio.sleep(0.05)
    assert not asking.done() and not prompts  # nothing was sent on the estimate
    slow_vocabulary.set()
    found = await asyncio.wait_for(asking, 10)
    assert found is not None and found.text == "1"
    (prompt,) = prompts
    prefix = prompt.split("<|fim_suffix|>")[0].split("<|fim_prefix|>")[-1]
    # 40 tokens of one character each, not the 160 characters the estimate allows
    assert 0 < len(prefix) <= 40
    await engine.aclose()


async def test_a_whole_reply_with_nothing_past_the_suggestion_is_post_processed_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Speculation looks past the suggestion only when there is text there: a reply that ends
    in a newline costs the request one post-processing pass, not a second for the newline."""
    replies = iter(["value = 1\n"])

    def handler(request: httpx.Request) -> httpx.Response:
        reply = {"choices": [{"index": 0, "text": next(replies), "finish_reason": "stop"}]}
        return httpx.Response(200, json=reply)

    passes = calls_of_finish_edit(monkeypatch)
    settings = Settings(base_url="http://127.0.0.1:9/v1", stream=False, debounce_ms=0)
    engine = Engine(_Quiet(), be.Backend(httpx.MockTransport(handler)), settings)
    engine.open_document("file:///t.py", "x = 1\n", 1, "python")
    found = await engine.suggest("file:///t.py", 1, 0, invoked=True)
    assert found is not None and found.text == "value = 1"
    assert passes == ["value = 1\n"]
    await engine.aclose()


def calls_of_finish_edit(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    original = engine_module.finish_edit

    def counted(raw: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(raw)
        return original(raw, *args, **kwargs)

    monkeypatch.setattr(engine_module, "finish_edit", counted)
    return seen
