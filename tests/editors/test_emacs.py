"""Emacs in batch mode (Debian's emacs-nox 28 + elpa-eglot) with editors/emacs/qwen-lsp.el.

tests/editors/emacs/drive.el visits a Python file (its mode hook starts eglot), types, runs
`completion-at-point` and reports the buffer.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.editors.support import EDITORS, HERE, completions, need, run_bounded, tail
from tests.support.fake_qwen import FakeQwen, Reply

pytestmark = pytest.mark.editor

TIMEOUT_S = 40
MODEL = "qwen2.5-coder-7b-instruct"  # not the default: shows qwen-lsp-settings reached the server


def run_emacs(setup: str, tmp_path: Path, env: dict[str, str]) -> dict[str, str]:
    """Load the config after ``setup`` (elisp a user would put before it), complete, report."""
    emacs = need("emacs", "Emacs")
    source = tmp_path / "calc.py"
    source.write_text("def add(a, b):\n    return ")
    result_file = tmp_path / "result.json"
    env = env | {
        "QWEN_EMACS_FILE": str(source),
        "QWEN_EMACS_RESULT": str(result_file),
        "QWEN_EMACS_TIMEOUT": str(TIMEOUT_S - 10),
        "QWEN_EMACS_TYPE": "a",
    }
    settings = f'(setq qwen-lsp-settings (quote (:model "{MODEL}")))'
    config, driver = EDITORS / "emacs" / "qwen-lsp.el", HERE / "emacs" / "drive.el"
    # --batch loads Debian's site-start (which activates elpa-eglot) but no init file.
    cmd = [emacs, "--batch", "--eval", settings, "--eval", setup]
    cmd += ["-l", str(config), "-l", str(driver)]
    run = run_bounded(cmd, timeout=TIMEOUT_S, env=env, cwd=tmp_path)
    log = tail(tmp_path / "qwen-lsp.log")  # see editor_env
    assert result_file.exists(), f"Emacs wrote no result:\n{run.stdout}\nqwen-lsp log:\n{log}"
    result: dict[str, str] = json.loads(result_file.read_text())
    return result


def check_completed(result: dict[str, str], fake: FakeQwen) -> None:
    assert result["buffer"] == "def add(a, b):\n    return a + b", result
    [request] = completions(fake)  # M-TAB is an explicit request: no debounce, one call
    assert "    return a<|fim_suffix|>" in request.prompt, request.prompt
    assert request.model == MODEL


def test_eglot_completion_at_point(
    tmp_path: Path, fake: FakeQwen, editor_env: dict[str, str]
) -> None:
    fake.default = Reply(text=" + b")
    # python-mode listed with no main server: qwen-lsp alone.
    result = run_emacs("(setq qwen-lsp-main-servers '(((python-mode))))", tmp_path, editor_env)
    assert result["server"] == "qwen-lsp"
    check_completed(result, fake)


def test_eglot_through_rass_beside_pylsp(
    tmp_path: Path, fake: FakeQwen, editor_env: dict[str, str]
) -> None:
    need("rass", "rassumfrassum")
    need("pylsp", "python-lsp-server")
    fake.default = Reply(text=" + b")
    # The shipped config runs python-mode through `rass -- pylsp -- qwen-lsp`. pylsp's own
    # completions are turned off here so that the one candidate left is qwen-lsp's, which
    # completion-at-point then inserts; a user gets both in one list.
    pylsp_off = (
        "(setq eglot-workspace-configuration "
        "'(:pylsp (:plugins (:jedi_completion (:enabled :json-false)))))"
    )
    result = run_emacs(pylsp_off, tmp_path, editor_env)
    assert result["server"] == "pylsp+qwen-lsp"  # rass merged both servers
    check_completed(result, fake)


def test_config_byte_compiles_cleanly(tmp_path: Path) -> None:
    emacs = need("emacs", "Emacs")
    config = tmp_path / "qwen-lsp.el"
    shutil.copy(EDITORS / "emacs" / "qwen-lsp.el", config)
    run = run_bounded(
        [
            emacs,
            "--batch",
            "--eval",
            "(setq byte-compile-error-on-warn t)",
            "-f",
            "batch-byte-compile",
            str(config),
        ],
        timeout=TIMEOUT_S,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout
