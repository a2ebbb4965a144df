"""End to end: what real servers do (context limits, truncated streams, routing, families).

The fake imitates each behaviour the real-server suite (tests/realserver) meets on
llama-cpp-python, plus what only other servers do (llama.cpp's ``/props``, vLLM's
``max_model_len``, a server without ``/completions``, a thinking Qwen3 model).
"""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Starter, completions, plain, until
from tests.support.fake_qwen import FakeQwen, LoggedRequest, Reply

# About 3,000 tokens at the fake's 4 characters a token: over a 1,024-token server.
LONG = "".join(f"value_{i:04d} = compute({i}, {i + 1})\n" for i in range(330))


def local(fake: FakeQwen) -> str:
    """The fake as a plain local OpenAI-compatible server (not a DashScope path)."""
    return f"{fake.origin}/v1"


async def stats(session: Any) -> dict[str, Any]:
    result = await session.client.protocol.send_request_async("qwen/stats", None)
    return dict(plain(result))


async def test_context_overflow_in_a_stream_is_learned_shown_once_and_retried(
    start: Starter, fake: FakeQwen
) -> None:
    fake.n_ctx = 1024
    fake.default = Reply(text="x = 1")
    session = await start(baseUrl=local(fake), model="qwen2.5-coder-7b-instruct")
    uri = session.open(LONG + "y = \n")
    assert await session.inline(uri, 330, 4) == "x = 1"
    posts = completions(fake)
    # An empty 200 stream (and a dropped connection), the same without streaming to learn
    # why (400 with the context size), then the prompt fitted to it.
    assert [(r.streamed, r.status) for r in posts] == [(True, 200), (False, 400), (True, 200)]
    assert len(posts[2].prompt) < len(posts[0].prompt)
    shown = [m for m in session.shown() if "1024 tokens" in m]
    assert len(shown) == 1 and "--n_ctx" in shown[0]
    session.edit(uri, 2, LONG + "z = \n")
    assert await session.inline(uri, 330, 4) == "x = 1"
    assert len(completions(fake)) == 4  # fitted from the start now
    assert len([m for m in session.shown() if "1024 tokens" in m]) == 1


async def test_context_overflow_without_streaming_is_retried(
    start: Starter, fake: FakeQwen
) -> None:
    fake.n_ctx = 1024
    fake.default = Reply(text="x = 1")
    session = await start(baseUrl=local(fake), stream=False, model="qwen2.5-coder-7b")
    uri = session.open(LONG + "y = \n")
    assert await session.inline(uri, 330, 4) == "x = 1"
    assert [r.status for r in completions(fake)] == [400, 200]


async def test_llama_cpp_props_fit_the_budgets_before_the_first_request(
    start: Starter, fake: FakeQwen
) -> None:
    fake.props = {"default_generation_settings": {"n_ctx": 1024}, "total_slots": 1}
    fake.default = Reply(text="x = 1")
    session = await start(baseUrl=local(fake), model="qwen2.5-coder-7b")
    assert await until(lambda: any(r.endpoint == "props" for r in fake.requests))
    uri = session.open(LONG + "y = \n")
    assert await session.inline(uri, 330, 4) == "x = 1"
    [post] = completions(fake)
    assert len(post.prompt) < 1024 * 4
    assert any("1024 tokens" in m for m in session.shown())


async def test_vllm_max_model_len_and_continuation_fields(start: Starter, fake: FakeQwen) -> None:
    fake.model_fields = {"owned_by": "vllm", "max_model_len": 1024}
    fake.models = ("Qwen/Qwen3-8B",)
    fake.default = Reply(text="return a + b")
    session = await start(baseUrl=local(fake), model="Qwen/Qwen3-8B")
    assert await until(lambda: any(r.endpoint == "models" and r.done for r in fake.requests))
    uri = session.open(LONG + "def add(a, b):\n    \n")
    assert await session.inline(uri, 331, 4) == "return a + b"
    [post] = completions(fake)
    assert post.endpoint == "chat"
    assert post.body["continue_final_message"] is True
    assert post.body["add_generation_prompt"] is False
    assert post.body["chat_template_kwargs"] == {"enable_thinking": False}
    assert "partial" not in post.body["messages"][-1]
    assert sum(len(m["content"]) for m in post.body["messages"]) < 1024 * 4


async def test_stream_without_finish_reason_keeps_complete_lines_and_is_not_cached(
    start: Starter, fake: FakeQwen
) -> None:
    fake.default = Reply(text="a = 1\nb = 2\nc = ", omit_finish=True)
    session = await start()
    uri = session.open("# start\n\n")
    assert await session.inline(uri, 1, 0) == "a = 1\nb = 2"
    session.edit(uri, 2, "# start\nq\n")
    assert await session.inline(uri, 1, 1) is not None
    session.edit(uri, 3, "# start\n\n")  # undo: a complete answer would come from the cache
    assert await session.inline(uri, 1, 0) == "a = 1\nb = 2"
    assert len(completions(fake)) == 3
    counters = (await stats(session))["requests"]
    assert counters["partial"] == 3 and "cache" not in counters


async def test_timeout_keeps_the_complete_lines_that_arrived(
    start: Starter, fake: FakeQwen
) -> None:
    fake.default = Reply(chunks=["a = 1\n", "b = 2\n", "c = 3\n"], token_ms=600)
    session = await start(timeoutMs=900)
    uri = session.open("# start\n\n")
    assert await session.inline(uri, 1, 0) == "a = 1\nb = 2"
    assert await until(lambda: any("kept the 2 complete line(s)" in m for m in session.logged()))


async def test_a_dropped_connection_is_retried_once(start: Starter, fake: FakeQwen) -> None:
    fake.push(Reply(hangup=True))
    fake.default = Reply(text="x = 1")
    session = await start()
    uri = session.open("y = \n")
    assert await session.inline(uri, 0, 4) == "x = 1"
    assert len(completions(fake)) == 2


async def test_a_server_without_fim_falls_back_to_partial_mode_once(
    start: Starter, fake: FakeQwen
) -> None:
    def reply(req: LoggedRequest) -> Reply:
        if req.endpoint == "completions":
            return Reply(status=404, raw_body=b'{"detail":"Not Found"}')
        return Reply(text="x = 1")

    fake.responder = reply
    session = await start(baseUrl=local(fake), model="qwen3-coder:30b")
    uri = session.open("y = \n")
    assert await session.inline(uri, 0, 4) == "x = 1"
    assert [r.endpoint for r in completions(fake)] == ["completions", "chat"]
    session.edit(uri, 2, "z = \n")
    assert await session.inline(uri, 0, 4) == "x = 1"
    assert [r.endpoint for r in completions(fake)] == ["completions", "chat", "chat"]
    assert len([m for m in session.shown() if "no FIM endpoint" in m]) == 1


async def test_think_block_is_never_ghost_text(start: Starter, fake: FakeQwen) -> None:
    fake.default = Reply(think="The user wants a sum.", text="return a + b")
    session = await start(baseUrl=local(fake), model="qwen3-8b")
    uri = session.open("def add(a, b):\n    \n")
    assert await session.inline(uri, 1, 4) == "return a + b"
    [post] = completions(fake)
    assert post.body["chat_template_kwargs"] == {"enable_thinking": False}


async def test_stream_false_on_a_local_server_warns_once(start: Starter, fake: FakeQwen) -> None:
    fake.default = Reply(text="x = 1")
    session = await start(stream=False)
    uri = session.open("y = \n")
    assert await session.inline(uri, 0, 4) == "x = 1"
    session.edit(uri, 2, "z = \n")
    assert await session.inline(uri, 0, 4) == "x = 1"
    assert len([m for m in session.shown() if "`stream` is false" in m]) == 1


async def test_one_completion_in_flight_for_a_local_server(start: Starter, fake: FakeQwen) -> None:
    fake.default = Reply(text="x = 1", ttft_ms=400)
    session = await start()
    first = session.open("a = \n")
    second = session.open("b = \n")
    answers = [session.inline_request(first, 0, 4), session.inline_request(second, 0, 4)]
    assert await until(lambda: len(completions(fake)) == 2 and completions(fake)[1].done)
    one, two = completions(fake)
    assert two.started - one.started > 0.3  # sent once the first had its answer (ttft 0.4 s)
    for answer in answers:
        assert (await answer).items[0].insert_text == "x = 1"
