"""End to end: the command line (`complete`, exit codes, --version, TCP transport)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qwen_lsp import __version__
from tests.e2e.conftest import server_env
from tests.support.fake_qwen import FakeQwen, Reply

QWEN_LSP = [sys.executable, "-m", "qwen_lsp"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*QWEN_LSP, *args], capture_output=True, text=True, timeout=60, env=env or server_env()
    )


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "fib.py"
    path.write_text("def fib(n):\n    \n\nprint(fib(10))\n", encoding="utf-8")
    return path


def test_complete_prints_the_completion(fake: FakeQwen, source: Path) -> None:
    fake.default = Reply(text="return n if n < 2 else fib(n - 1) + fib(n - 2)")
    env = {**server_env(), "DASHSCOPE_BASE_URL": fake.base_url}
    done = run("complete", f"{source}:2:5", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
    [request] = [r for r in fake.requests if r.method == "POST"]
    assert request.body["prompt"].endswith(
        "<|fim_prefix|>def fib(n):\n    <|fim_suffix|>\n\nprint(fib(10))\n<|fim_middle|>"
    )


def test_complete_sends_the_key_from_the_environment(fake: FakeQwen, source: Path) -> None:
    fake.default = Reply(text="pass")
    env = {**server_env(), "DASHSCOPE_API_KEY": "sk-cli-12345678"}
    done = run(
        "complete", f"{source}:2:5", "--base-url", fake.base_url, "--model", "qwen-plus", env=env
    )
    assert done.returncode == 0, done.stderr
    [request] = [r for r in fake.requests if r.method == "POST"]
    assert request.headers["authorization"] == "Bearer sk-cli-12345678"
    assert request.path.endswith("/chat/completions")


def test_complete_without_a_key_says_what_to_set(source: Path) -> None:
    done = run("complete", f"{source}:2:5")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "DASHSCOPE_API_KEY" in done.stderr and len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("location", ["nofile", "x.py:0:1", "x.py:a:b"])
def test_complete_rejects_bad_locations(location: str) -> None:
    done = run("complete", location)
    assert done.returncode == 2 and "LINE" in done.stderr


def test_complete_reports_backend_errors(fake: FakeQwen, source: Path) -> None:
    fake.default = Reply(status=401, error_code="invalid_api_key")
    env = {
        **server_env(),
        "DASHSCOPE_API_KEY": "sk-wrong-123456",
        "DASHSCOPE_BASE_URL": fake.base_url,
    }
    done = run("complete", f"{source}:2:5", env=env)
    assert done.returncode == 1
    assert "refused the API key" in done.stderr and "sk-wrong-123456" not in done.stderr


def test_the_installed_command() -> None:
    command = shutil.which("qwen-lsp")
    assert command, "pip install -e . puts qwen-lsp on PATH"
    done = subprocess.run([command, "--version"], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == f"qwen-lsp {__version__}"


def test_version_and_help() -> None:
    assert run("--version").stdout.strip() == f"qwen-lsp {__version__}"
    help_text = run("--help").stdout
    for flag in ("--tcp", "--host", "--port", "--log-file", "--log-level", "complete"):
        assert flag in help_text


def _frame(message: dict[str, object]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def test_tcp_transport() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [*QWEN_LSP, "--tcp", "--host", "127.0.0.1", "--port", str(port)], env=server_env()
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = socket.create_connection(("127.0.0.1", port), timeout=10)
                break
            except OSError:
                assert time.monotonic() < deadline, "server did not listen"
                time.sleep(0.1)
        with conn:
            conn.sendall(
                _frame(
                    {
                        "jsonrpc": "2.0",
                        "id": 1,
                        "method": "initialize",
                        "params": {"capabilities": {}},
                    }
                )
            )
            data = b""
            while b'"result"' not in data or not data.rstrip().endswith(b"}"):
                chunk = conn.recv(65536)
                assert chunk, "connection closed"
                data += chunk
        body = json.loads(data.split(b"\r\n\r\n", 1)[1])
        assert body["id"] == 1 and "inlineCompletionProvider" in body["result"]["capabilities"]
    finally:
        server.terminate()
        server.wait(10)
