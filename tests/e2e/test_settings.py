"""End to end: initializationOptions, didChangeConfiguration in both shapes, bad values."""

from __future__ import annotations

from tests.e2e.conftest import Starter, completions, until
from tests.support.fake_qwen import FakeQwen, Reply


async def test_settings_change_in_both_shapes(start: Starter, fake: FakeQwen) -> None:
    fake.default = Reply(text="1")
    session = await start(model="qwen2.5-coder-7b-instruct", maxTokens=32)
    uri = session.open("x = \n")
    await session.inline(uri, 0, 4)
    session.configure({"qwen-lsp": {"model": "qwen-coder-turbo", "maxTokens": 64}})
    await session.inline(uri, 0, 4)
    session.configure({"model": "qwen-plus"})  # flat; and a chat model now
    await session.inline(uri, 0, 4)
    bodies = [r.body for r in completions(fake)]
    assert [(b["model"], b["max_tokens"]) for b in bodies] == [
        ("qwen2.5-coder-7b-instruct", 32),
        ("qwen-coder-turbo", 64),
        ("qwen-plus", 64),
    ]
    assert "messages" in bodies[2] and "prompt" in bodies[1]


async def test_bad_values_are_shown_and_the_old_value_kept(start: Starter, fake: FakeQwen) -> None:
    fake.default = Reply(text="1")
    session = await start(debounceMs="fast", mode="turbo", model="qwen2.5-coder-3b-instruct")
    assert await until(lambda: len(session.shown()) == 2)
    assert any("debounceMs" in m for m in session.shown())
    assert any("'mode'" in m for m in session.shown())
    uri = session.open("x = \n")
    assert await session.inline(uri, 0, 4) == "1"  # the rest of the settings applied
    assert completions(fake)[0].body["model"] == "qwen2.5-coder-3b-instruct"
    session.configure({"temperature": 5})
    assert await until(lambda: len(session.shown()) == 3)
    session.edit(uri, 2, "y = \n", (1, 0, 1, 0))  # somewhere new, so the cache cannot answer
    assert await session.inline(uri, 1, 4) == "1"
    assert completions(fake)[1].body["temperature"] == 0.2  # the default stayed


async def test_non_object_settings_are_rejected(start: Starter, fake: FakeQwen) -> None:
    session = await start(raw_options=["nonsense"])
    assert await until(lambda: any("must be an object" in m for m in session.shown()))


async def test_disabled_means_no_backend_calls(start: Starter, fake: FakeQwen) -> None:
    session = await start(enabled=False)
    uri = session.open("x = \n")
    assert await session.inline(uri, 0, 4) is None
    assert completions(fake) == []
    session.configure({"enabled": True})
    fake.default = Reply(text="1")
    assert await session.inline(uri, 0, 4) == "1"


async def test_key_and_endpoint_from_the_environment(start: Starter, fake: FakeQwen) -> None:
    fake.default = Reply(text="1")
    env = {"DASHSCOPE_API_KEY": "sk-from-env-123", "DASHSCOPE_BASE_URL": fake.base_url}
    session = await start(env=env)
    uri = session.open("x = \n")
    assert await session.inline(uri, 0, 4) == "1"
    [request] = completions(fake)
    assert request.headers["authorization"] == "Bearer sk-from-env-123"
    session.configure({"apiKey": "sk-from-settings-456"})  # settings win over the environment
    session.edit(uri, 2, "y", (0, 4, 0, 4))
    await session.inline(uri, 0, 5)
    assert completions(fake)[1].headers["authorization"] == "Bearer sk-from-settings-456"
