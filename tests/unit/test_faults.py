"""faults: each user-fixable fault shown once, transient ones logged, rate-limit back-off."""

from __future__ import annotations

from lsprotocol.types import MessageType

from qwen_lsp import backend as be
from qwen_lsp.config import Settings
from qwen_lsp.faults import MAX_PAUSE_S, FaultPolicy


class Recorder:
    def __init__(self) -> None:
        self.shown: list[str] = []
        self.logged: list[str] = []
        self.states: list[str] = []

    def show(self, level: MessageType, text: str) -> None:
        self.shown.append(text)

    def log(self, level: MessageType, text: str) -> None:
        self.logged.append(text)

    def status(self, state: str, message: str) -> None:
        self.states.append(state)


def test_auth_and_model_errors_are_shown_once_until_reset() -> None:
    notes = Recorder()
    policy = FaultPolicy(notes)
    for _ in range(3):
        policy.report(be.AuthError("HTTP 401: invalid_api_key"), Settings())
        policy.report(be.ModelNotFoundError("HTTP 404"), Settings(model="qwen-x"))
    assert len(notes.shown) == 2 and "'qwen-x'" in notes.shown[1]
    assert len(notes.logged) == 6 and notes.states[-1] == "error"
    policy.reset()
    policy.report(be.AuthError("HTTP 401"), Settings())
    assert len(notes.shown) == 3


def test_transient_errors_are_logged_only() -> None:
    notes = Recorder()
    FaultPolicy(notes).report(be.ServerError("HTTP 503: ModelUnavailable"), Settings())
    assert notes.shown == [] and "HTTP 503" in notes.logged[0]


def test_rate_limit_pauses_for_retry_after_or_backs_off() -> None:
    notes = Recorder()
    policy = FaultPolicy(notes)
    policy.report(be.RateLimitError("HTTP 429", retry_after=None), Settings())
    assert policy.blocked() and "2 s" in notes.shown[0]
    policy.report(be.RateLimitError("HTTP 429", retry_after=None), Settings())
    assert "4 s" in notes.logged[-1] and len(notes.shown) == 1  # doubled, still one message
    policy.report(be.RateLimitError("HTTP 429", retry_after=86_400), Settings())
    assert f"{MAX_PAUSE_S:.0f} s" in notes.logged[-1]
    policy.reset()
    assert not policy.blocked()


def test_after_a_success_a_new_rate_limit_is_shown_again() -> None:
    notes = Recorder()
    policy = FaultPolicy(notes)
    policy.report(be.RateLimitError("HTTP 429", retry_after=0), Settings())
    policy.succeeded()
    policy.report(be.RateLimitError("HTTP 429", retry_after=0), Settings())
    assert len(notes.shown) == 2


def test_what_was_adapted_to_the_server_is_told_once() -> None:
    import dataclasses

    from qwen_lsp.backend.limits import fit

    notes = Recorder()
    policy = FaultPolicy(notes)
    settings = Settings(base_url="http://127.0.0.1:8080/v1", model="qwen2.5-coder", stream=False)
    server = be.ServerInfo("llama.cpp", n_ctx=2048, fit_ctx=2048, no_fim=True)
    effective = dataclasses.replace(fit(settings, 2048), mode="chat")
    for _ in range(3):
        policy.adapted(settings, effective, server)
    assert len(notes.shown) == 3
    stream, fim, context = notes.shown
    assert "`stream` is false" in stream
    assert "no FIM endpoint" in fim and "/completions" in fim
    assert "2048 tokens" in context and "--n_ctx" in context
    assert f"maxPrefixTokens {effective.max_prefix_tokens}" in context
    policy.adapted(dataclasses.replace(settings, stream=True), settings, server)
    assert len(notes.shown) == 3  # nothing adapted, nothing new to say


def test_a_remote_server_with_stream_off_is_not_warned() -> None:
    notes = Recorder()
    remote = Settings(stream=False)
    FaultPolicy(notes).adapted(remote, remote, be.ServerInfo("dashscope"))
    assert notes.shown == []


def test_a_missing_endpoint_is_shown_once() -> None:
    notes = Recorder()
    policy = FaultPolicy(notes)
    for _ in range(2):
        policy.report(be.EndpointNotFoundError("HTTP 404: Not Found"), Settings(mode="fim"))
    [shown] = notes.shown
    assert "`baseUrl`" in shown and "/v1" in shown
