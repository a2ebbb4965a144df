"""server: the status notifier sends "fetching" only for a request that lasts (no LSP session)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from qwen_lsp import server


def notifier() -> tuple[Any, list[tuple[str, dict[str, str]]]]:
    sent: list[tuple[str, dict[str, str]]] = []
    protocol = SimpleNamespace(notify=lambda method, params: sent.append((method, params)))
    return server._ClientNotifier(SimpleNamespace(protocol=protocol)), sent  # type: ignore[arg-type]


def states(sent: list[tuple[str, dict[str, str]]]) -> list[str]:
    assert all(method == server.STATUS_NOTIFICATION for method, _ in sent)
    return [params["state"] for _, params in sent]


async def test_a_quick_request_sends_no_status() -> None:
    status, sent = notifier()
    status.status("ready", "m")
    for _ in range(3):
        status.status("fetching", "asking m")
        status.status("ready", "m")
    await asyncio.sleep(server.STATUS_DELAY_S * 2)  # nothing left pending fires later
    assert states(sent) == ["ready"]


async def test_a_lasting_request_shows_fetching(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server, "STATUS_DELAY_S", 0.0)
    status, sent = notifier()
    status.status("ready", "m")
    status.status("fetching", "asking m")
    assert states(sent) == ["ready"]  # not yet: only once the delay has passed
    await asyncio.sleep(0.01)
    status.status("ready", "m")
    status.status("disabled", "completions are off")
    assert states(sent) == ["ready", "fetching", "ready", "disabled"]


def test_without_a_loop_fetching_is_sent_at_once() -> None:
    status, sent = notifier()
    status.status("ready", "m")
    status.status("fetching", "asking m")
    status.status("fetching", "asking m")
    assert states(sent) == ["ready", "fetching"]  # and no repeat of the same status
