"""Fixtures for the editor tests: the fake Qwen backend and a `qwen-lsp` command for editors."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.editors.support import REPO
from tests.support.fake_qwen import FakeQwen


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "editor: drives a real editor (slow; needs editors/install-test-deps.sh)"
    )


@pytest.fixture
def fake() -> Iterator[FakeQwen]:
    with FakeQwen() as server:
        yield server


@pytest.fixture
def server_log(tmp_path: Path) -> Path:
    """Where the `qwen-lsp` of :func:`editor_env` logs (DEBUG): print it when a test fails."""
    return tmp_path / "qwen-lsp.log"


@pytest.fixture
def editor_env(tmp_path: Path, fake: FakeQwen, server_log: Path) -> dict[str, str]:
    """The environment to start an editor in, so the shipped configs run unchanged:

    * `qwen-lsp` on PATH runs this checkout with the Python running the tests;
    * the server's default endpoint is the fake (DASHSCOPE_BASE_URL, read by the server), and
      no real DASHSCOPE_API_KEY leaks in (a loopback endpoint needs none).
    """
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "qwen-lsp"
    wrapper.write_text(
        f'#!/bin/sh\nexec "{sys.executable}" -m qwen_lsp'
        f' --log-file "{server_log}" --log-level DEBUG "$@"\n'
    )
    wrapper.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(REPO)
    env["DASHSCOPE_BASE_URL"] = fake.base_url
    return env
