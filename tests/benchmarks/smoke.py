"""Runs a benchmark's ``--smoke`` mode as CI does, for the smoke tests beside this file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_smoke(module: str, out: Path, timeout: float = 110) -> str:
    """``python -m {module} --smoke --out {out}`` from the repository root; its standard output.

    The default timeout stays below pytest-timeout's 120 s, for a clearer failure.
    """
    done = subprocess.run(
        [sys.executable, "-m", module, "--smoke", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{module} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done.stdout
