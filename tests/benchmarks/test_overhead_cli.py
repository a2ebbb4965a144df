"""``python -m benchmarks.overhead`` (the request overhead alone) prints a row of numbers per
run and size. It checks that numbers are there, never what they are."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.benchmarks.smoke import ROOT


def test_overhead_alone_prints_every_row() -> None:
    argv = ["--lines", "200", "--lines", "400", "--reps", "3", "--runs", "2"]
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.overhead", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    number = r"-?\d+\.\d\d"
    row = re.compile(rf"^(\d) \| ([\d,]+) \| {number} \| {number} \| {number} / {number} \| (\d+)$")
    rows = [m.groups() for line in done.stdout.splitlines() if (m := row.match(line))]
    assert rows == [(run, size, "3") for run in "01" for size in ("200", "400")]
