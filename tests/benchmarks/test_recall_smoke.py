"""Smoke test of the recall benchmark: ``python -m benchmarks.recall --smoke`` runs end to end
and its report and JSON hold every figure. It checks that numbers are there, never what they are.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.benchmarks.smoke import run_smoke

ROWS = (
    "index build, server",
    "peak RSS (VmHWM)",
    "idle RSS after indexing",
    "per-request context cost p50 / p99",
    "first request after opening a file",
    "request round trip while indexing",
)


def test_recall_smoke(tmp_path: Path) -> None:
    run_smoke("benchmarks.recall", tmp_path, timeout=300)
    report = (tmp_path / "recall.md").read_text()
    assert "| **all** |" in report
    for row in ROWS:
        assert f"| {row}" in report, row
    data = json.loads((tmp_path / "recall.json").read_text())
    assert sum(r["sites"] for r in data["recall"]) > 0
    assert data["server_sample"]["sites"] > 0
    assert data["index"]["files"] > 0 and data["index"]["requests"] > 0
    assert data["index"]["idle_rss_mib"] > 0 and data["index"]["request_p99_ms"] > 0
