"""Every module of the package imports on its own, first, in a fresh interpreter.

An import cycle between stages (prompts ↔ backend, say) only breaks when the cycle is entered
from one particular side; the server's own import order can hide it from every other test.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import qwen_lsp

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(qwen_lsp.__path__, "qwen_lsp.")
    if m.name != "qwen_lsp.__main__"
)


def test_every_module_imports_first() -> None:
    script = (
        "import subprocess, sys\n"
        "bad = []\n"
        "for name in sys.argv[1:]:\n"
        "    done = subprocess.run([sys.executable, '-c', f'import {name}'], capture_output=True)\n"
        "    if done.returncode:\n"
        "        bad.append((name, done.stderr.decode()[-400:]))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, *MODULES], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


@pytest.mark.parametrize("name", ["qwen_lsp.postprocess", "qwen_lsp.prompts", "qwen_lsp.backend"])
def test_the_modules_this_guards_are_listed(name: str) -> None:
    assert name in MODULES


# What the server's start-up must not import before it answers ``initialize``: the engine and
# the heavy libraries of its stages come after, in a worker thread (see qwen_lsp/server.py).
DEFERRED = ["qwen_lsp.engine", "httpx", "tree_sitter", "pathspec", "qwen_lsp.postprocess"]


@pytest.mark.parametrize("entry", ["qwen_lsp.server", "qwen_lsp.cli"])
def test_start_up_defers_the_engine(entry: str) -> None:
    script = (
        f"import sys, {entry}\n"
        f"from qwen_lsp.server import create_server\n"
        f"create_server()\n"
        f"print([m for m in {DEFERRED!r} if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
