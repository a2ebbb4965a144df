"""Helpers for the editor tests: where the editors are, and running them with bounded time."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from contextlib import suppress
from pathlib import Path
from typing import NoReturn

import pytest

from tests.support.fake_qwen import FakeQwen, LoggedRequest

REPO = Path(__file__).resolve().parents[2]
EDITORS = REPO / "editors"
HERE = Path(__file__).resolve().parent

#: Where editors/install-test-deps.sh puts what Debian does not package (code-server, Node 24,
#: a Neovim 0.12 build).
DEPS = Path(os.environ.get("QWEN_LSP_EDITOR_DEPS", "/opt/qwen-lsp-editor-deps"))

#: CI sets this: a missing editor fails the test instead of skipping it.
REQUIRE_EDITORS = os.environ.get("QWEN_LSP_REQUIRE_EDITORS") == "1"


def need(program: str | Path, what: str) -> str:
    """The path of ``program`` (a name on PATH or a path); skip or fail when it is missing."""
    found = shutil.which(str(program))
    if not found:
        unavailable(f"{what} not found ({program})")
    return str(found)


def unavailable(message: str) -> NoReturn:
    """Skip the test for want of an editor or tool, or fail it when CI requires editors."""
    message += ": run editors/install-test-deps.sh"
    if REQUIRE_EDITORS:
        pytest.fail(f"{message} (QWEN_LSP_REQUIRE_EDITORS=1)")
    pytest.skip(message)


def run_bounded(
    cmd: list[str], *, timeout: float, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` in its own process group; kill the whole group (the editor, the qwen-lsp it
    started, anything else) when it is done or ``timeout`` seconds have passed."""
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        **kwargs,  # type: ignore[call-overload]
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out, _ = proc.communicate()
        pytest.fail(f"{cmd[0]} still ran after {timeout:.0f} s; output:\n{out}")
    finally:
        kill_group(proc)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, None)


def kill_group(proc: subprocess.Popen[str]) -> None:
    """SIGKILL the process group led by ``proc`` (started with ``start_new_session``)."""
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def completions(fake: FakeQwen) -> list[LoggedRequest]:
    """The completion requests the fake received (not the server's model list warm-up)."""
    return [r for r in fake.requests if r.endpoint in {"completions", "chat"}]


def tail(log: Path, lines: int = 40) -> str:
    """The end of a log file, for a failure message."""
    return "\n".join(log.read_text().splitlines()[-lines:]) if log.exists() else "(no log)"
