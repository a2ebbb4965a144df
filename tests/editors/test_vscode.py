"""VS Code: the extension in editors/vscode, packaged and installed into a real VS Code
(code-server, served on 127.0.0.1), driven in Debian's Chromium by tests/editors/vscode/drive.mjs.

The chain: `npm run package` builds the .vsix; code-server installs it; settings.json points
`qwen-lsp.baseUrl` at the fake backend, which only accepts the API key typed into
"Qwen: Set API Key"; typing in a file shows the fake's ghost text; Tab accepts it; the saved
file has it; the status bar item shows the server's state and toggles completions off.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from qwen_lsp.config import FIELDS, Settings
from tests.editors.support import (
    DEPS,
    EDITORS,
    HERE,
    completions,
    kill_group,
    need,
    run_bounded,
    tail,
    unavailable,
)
from tests.support.fake_qwen import FakeQwen, Reply

API_KEY = "sk-vscode-secret-storage-test"
MODEL = "qwen2.5-coder-7b-instruct"  # not the default: shows the settings reached the server
SCREENSHOT = Path(os.environ.get("QWEN_LSP_VSCODE_SCREENSHOT", "/tmp/qwen-lsp-vscode.png"))
QUIET_WORKBENCH = {
    "workbench.startupEditor": "none",
    "workbench.secondarySideBar.defaultVisibility": "hidden",
    "telemetry.telemetryLevel": "off",
    "extensions.autoCheckUpdates": False,
    "extensions.autoUpdate": False,
}


@pytest.fixture
def fake() -> Iterator[FakeQwen]:
    """This test's backend insists on the key (the shared fixture's accepts any request)."""
    with FakeQwen(api_key=API_KEY) as server:
        yield server


def build_vsix(out: Path) -> None:
    """`npm run package` in editors/vscode (typecheck, bundle, vsce package)."""
    npm = need("npm", "npm")
    build = run_bounded([npm, "run", "package", "--", "-o", str(out)], timeout=120,
                        cwd=EDITORS / "vscode")  # fmt: skip
    assert build.returncode == 0 and out.exists(), build.stdout


@contextmanager
def serving(command: list[str], env: dict[str, str]) -> Iterator[str]:
    """Run code-server on a free loopback port; yield its URL once it answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [*command, "--auth", "none", "--bind-addr", f"127.0.0.1:{port}"],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, "code-server exited"
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=1).close()
                break
            except (urllib.error.URLError, OSError):
                assert time.monotonic() < deadline, f"code-server did not serve {url}"
                time.sleep(0.2)
        yield url
    finally:
        kill_group(server)
        server.communicate()


@pytest.mark.editor
@pytest.mark.timeout(300)  # builds the .vsix and starts VS Code: longer than the default
def test_ghost_text_accepted_in_code_server(
    tmp_path: Path, fake: FakeQwen, editor_env: dict[str, str], server_log: Path
) -> None:
    code_server = need(DEPS / "bin" / "code-server", "code-server")
    need("/usr/bin/chromium", "Debian's chromium")
    node = need("node", "Node.js")
    for package in (EDITORS / "vscode", HERE / "vscode"):
        if not (package / "node_modules").is_dir():
            unavailable(f"{package}/node_modules (npm ci)")
    vsix = tmp_path / "qwen-lsp.vsix"
    build_vsix(vsix)

    # code-server and VS Code keep all their state in tmp_path.
    user_data, extensions, project = tmp_path / "user", tmp_path / "extensions", tmp_path / "proj"
    for folder in (user_data / "User", extensions, project):
        folder.mkdir(parents=True)
    env = editor_env | {
        "PATH": f"{DEPS / 'bin'}{os.pathsep}{editor_env['PATH']}",  # Node 24 for code-server
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    del env["DASHSCOPE_BASE_URL"]  # the endpoint must come from qwen-lsp.baseUrl
    code = [code_server, "--config", str(tmp_path / "config.yaml"),
            "--user-data-dir", str(user_data), "--extensions-dir", str(extensions)]  # fmt: skip
    install = run_bounded([*code, "--install-extension", str(vsix)], timeout=60, env=env)
    assert "successfully installed" in install.stdout, install.stdout

    settings_file = user_data / "User" / "settings.json"
    settings_file.write_text(json.dumps(QUIET_WORKBENCH | {
        # Absolute: VS Code's server replaces PATH with the login shell's.
        "qwen-lsp.serverPath": shutil.which("qwen-lsp", path=editor_env["PATH"]),
        "qwen-lsp.baseUrl": fake.base_url,
        "qwen-lsp.model": MODEL,
        "qwen-lsp.debounceMs": 50,
    }))  # fmt: skip
    source = project / "calc.py"
    source.write_text("def add(a, b):\n    ")
    fake.default = Reply(text=" a + b")

    with serving([*code, "--disable-telemetry", "--disable-update-check",
                  "--disable-workspace-trust", str(project)], env) as url:  # fmt: skip
        steps = {"url": url, "folder": str(project), "file": source.name, "type": "return",
                 "ghost": " a + b", "apiKey": API_KEY, "screenshot": str(SCREENSHOT),
                 "timeoutMs": 60_000}  # fmt: skip
        drive = run_bounded([node, str(HERE / "vscode" / "drive.mjs"), json.dumps(steps)],
                            timeout=240, cwd=HERE / "vscode", env=env)  # fmt: skip

    assert drive.returncode == 0, f"{drive.stdout}\nqwen-lsp log:\n{tail(server_log)}"
    result = json.loads(drive.stdout.strip().splitlines()[-1])
    assert result["ghost"] == " a + b"
    assert source.read_text() == "def add(a, b):\n    return a + b"
    assert (result["statusAfterAccept"], result["statusAfterToggle"]) == ("sparkle", "circle-slash")
    # The key reached the backend from SecretStorage, never settings.json; the settings did too.
    asked = completions(fake)
    assert asked and asked[-1].headers.get("authorization") == f"Bearer {API_KEY}"
    assert {r.model for r in asked} == {MODEL}
    settings = settings_file.read_text()
    assert API_KEY not in settings
    assert json.loads(settings)["qwen-lsp.enabled"] is False  # the status bar toggle


def test_contributed_settings_match_the_server() -> None:
    """Every `qwen-lsp.<key>` setting is a server setting, with the server's default, and the
    other way round; apiKey is the exception (SecretStorage), serverPath and trace the client's."""
    manifest = json.loads((EDITORS / "vscode" / "package.json").read_text())
    properties = manifest["contributes"]["configuration"]["properties"]
    contributed = {key.removeprefix("qwen-lsp."): spec for key, spec in properties.items()}
    server_keys = set(contributed) - {"serverPath", "trace.server"}
    assert server_keys == {f.key for f in FIELDS} - {"apiKey"}
    defaults = Settings()
    for field in FIELDS:
        if field.key in server_keys - {"baseUrl"}:  # baseUrl's "" means: env, else DashScope
            want = getattr(defaults, field.name)
            want = list(want) if isinstance(want, tuple) else want
            assert contributed[field.key]["default"] == want, field.key
    sent = (EDITORS / "vscode" / "src" / "settings.ts").read_text()
    for key in server_keys:
        assert f"'{key}'" in sent, f"settings.ts does not send {key}"
