"""Recall of repository context, and what the workspace index costs.

``python -m benchmarks.recall`` (``--smoke``: a few packages and call sites, about a minute)
writes ``benchmarks/results/recall.md`` and ``recall.json``:

* **Recall.** Real code nobody here wrote: packages of the running interpreter's standard
  library, copied into a temporary workspace folder. Call sites of a function defined in
  another module of the same package (and only there) are mined with :mod:`ast`; the name is cut
  after its first three characters and the cursor put there; the question is whether the
  definition (its ``def name(`` line) reaches the prompt. Three setups: the other files of the
  package open and nothing indexed from disk (``indexEnabled: false``), only the current file
  open with the workspace indexed from disk, and the previous selection (similarity windows of
  open files) as the baseline. Measured in process through :meth:`Engine.context`, the engine's
  context path, with the Qwen tokenizer; a sample also through the real server, read back from
  the fake backend's request log.
* **Index.** Build time and peak memory for a 5,000-file workspace (the installed
  site-packages tree), the per-request context cost at that size (p50/p99), and the server's
  idle RSS after indexing against an un-indexed server.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import contextlib
import dataclasses
import json
import os
import random
import re
import shutil
import sys
import sysconfig
import tempfile
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.lsp_client import LspClient, LspError
from benchmarks.machine import describe
from benchmarks.stats import percentile
from qwen_lsp.config import Settings
from qwen_lsp.engine import Engine
from qwen_lsp.prompts import fim_prompt
from qwen_lsp.snippets import SnippetIndex, Source, select_snippets
from qwen_lsp.tokens import TokenCounter, counter_for
from tests.support.fake_qwen import FakeQwen, Reply

RESULTS = Path(__file__).parent / "results"
PACKAGES = (
    "email",
    "asyncio",
    "json",
    "http",
    "importlib",
    "concurrent",
    "xml",
    "logging",
    "multiprocessing",
    "unittest",
)
SMOKE_PACKAGES = ("email", "json", "concurrent")
KEEP = 3  # characters of the name left before the cursor
TARGET_OPEN, TARGET_DISK = 90.0, 80.0


class _Quiet:
    """An engine notifier that drops everything."""

    def show(self, level: Any, text: str) -> None: ...

    def log(self, level: Any, text: str) -> None: ...

    def status(self, state: str, message: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Site:
    """A call site: the file, the line/column of the callee's name, the name, its definer."""

    file: str  # relative to the workspace folder
    line: int  # 0-based
    column: int  # 0-based, where the name starts
    name: str
    defined_in: str


# -- mining ------------------------------------------------------------------------------------


def _functions(tree: ast.Module) -> set[str]:
    """Top-level function names (and methods, to rule them out as ambiguous)."""
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def _top_level(tree: ast.Module) -> set[str]:
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def mine(folder: Path, package: str, limit: int, rng: random.Random) -> list[Site]:
    """Call sites in ``folder/package`` of functions defined in exactly one sibling module."""
    trees: dict[str, ast.Module] = {}
    for path in sorted((folder / package).rglob("*.py")):
        if "test" in path.relative_to(folder).parts[1:-1]:
            continue
        try:
            trees[str(path.relative_to(folder))] = ast.parse(path.read_text("utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
    defined: dict[str, set[str]] = defaultdict(set)  # name -> files defining it anywhere
    for rel, tree in trees.items():
        for name in _functions(tree):
            defined[name].add(rel)
    sites: list[Site] = []
    for rel, tree in trees.items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name):
                name, line, col = func.id, func.lineno, func.col_offset
            elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                name = func.attr
                line = func.end_lineno or func.lineno
                col = (func.end_col_offset or 0) - len(name)
            else:
                continue
            owners = defined.get(name, set())
            if len(name) <= KEEP + 1 or len(owners) != 1 or rel in owners or name.startswith("__"):
                continue
            (owner,) = owners
            if name not in _top_level(trees[owner]):
                continue
            sites.append(Site(rel, line - 1, col, name, owner))
    rng.shuffle(sites)
    # At most 4 sites per callee, so one popular function does not decide the figure.
    kept: list[Site] = []
    per_name: dict[str, int] = defaultdict(int)
    for site in sites:
        if per_name[site.name] < 4:
            per_name[site.name] += 1
            kept.append(site)
    return kept[:limit]


def cut(text: str, site: Site) -> tuple[str, int, int]:
    """The file with the name cut after its first characters; the cursor (line, character)."""
    lines = text.split("\n")
    line = lines[site.line]
    assert line[site.column : site.column + len(site.name)] == site.name, (site, line)
    lines[site.line] = line[: site.column + KEEP] + line[site.column + len(site.name) :]
    return "\n".join(lines), site.line, site.column + KEEP


def reached(prompt: str, site: Site) -> bool:
    return f"def {site.name}(" in prompt


# -- in process -------------------------------------------------------------------------------


@dataclass
class RecallResult:
    package: str
    sites: int
    open_hits: int = 0
    disk_hits: int = 0
    baseline_hits: int = 0
    over_budget: int = 0
    costs_ms: list[float] = field(default_factory=list)


def _uri(folder: Path, rel: str) -> str:
    return (folder / rel).as_uri()


def _engine(folder: Path, settings: Settings, count: TokenCounter) -> Engine:
    engine = Engine(_Quiet(), settings=settings, count=count)
    engine.set_roots([str(folder)])
    return engine


def recall_package(
    folder: Path, package: str, limit: int, settings: Settings, count: TokenCounter
) -> tuple[RecallResult, list[Site]]:
    sites = mine(folder, package, limit, random.Random(7))
    result = RecallResult(package, len(sites))
    files = {
        str(p.relative_to(folder)): p.read_text("utf-8") for p in (folder / package).rglob("*.py")
    }
    # Disk: the workspace indexed, only the current file open.
    disk = _engine(folder, settings, count)
    disk.start_indexing()
    assert disk.workspace.wait_indexed(300), "index build did not finish"
    # Open: every file of the package open, nothing read from disk.
    opened = _engine(folder, dataclasses.replace(settings, index_enabled=False), count)
    opened.start_indexing()
    for rel, text in files.items():
        opened.open_document(_uri(folder, rel), text, 1, "python")
    assert opened.workspace.wait_indexed(300)
    windows = SnippetIndex()
    for site in sites:
        text, line, character = cut(files[site.file], site)
        uri = _uri(folder, site.file)
        for engine, attr in ((disk, "disk_hits"), (opened, "open_hits")):
            engine.open_document(uri, text, 2, "python")
            assert engine.workspace.wait_indexed(60)  # time the context path, not the re-index
            started = time.perf_counter()
            ctx = engine.context(uri, line, character)
            elapsed = (time.perf_counter() - started) * 1000
            assert ctx is not None
            if engine is disk:
                result.costs_ms.append(elapsed)
            if reached(fim_prompt(ctx), site):
                setattr(result, attr, getattr(result, attr) + 1)
            used = sum(count(s.text) + count(s.path) + 2 for s in ctx.snippets)
            if used > settings.max_repo_tokens:
                result.over_budget += 1
            if engine is disk:
                engine.close_document(uri)
            else:
                engine.open_document(uri, files[site.file], 3, "python")  # back as it was
        # Baseline: the previous selection, similarity windows of the other open files.
        ctx = opened.context(uri, line, character)
        assert ctx is not None
        query = ctx.prefix[-1500:] + ctx.suffix[:500]
        sources = [
            Source((_uri(folder, rel), 1), rel, t.splitlines(keepends=True))
            for rel, t in files.items()
            if rel != site.file
        ][:16]
        chosen = select_snippets(query, sources, settings.max_repo_tokens, count, windows)
        if any(f"def {site.name}(" in s.text for s in chosen):
            result.baseline_hits += 1
    disk.workspace.close()
    opened.workspace.close()
    return result, sites


def copy_packages(packages: tuple[str, ...], into: Path) -> None:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for package in packages:
        shutil.copytree(
            stdlib / package,
            into / package,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            symlinks=False,
        )


# -- through the real server -------------------------------------------------------------------


class _RecordingClient(LspClient):
    """The benchmark LSP client, keeping the server's notifications (``$/progress``...)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        super().__init__(process)
        self.notifications: list[dict[str, Any]] = []

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "method" in message and "id" not in message:
            self.notifications.append(message)
        super()._dispatch(message)

    def progress_ended(self) -> bool:
        return any(
            n["method"] == "$/progress" and n["params"]["value"].get("kind") == "end"
            for n in self.notifications
        )


_CAPABILITIES = {
    "general": {"positionEncodings": ["utf-16"]},
    "textDocument": {"inlineCompletion": {}, "completion": {}, "synchronization": {}},
    "window": {"workDoneProgress": True},
    "workspace": {"didChangeWatchedFiles": {"dynamicRegistration": True}},
}


async def start_server(
    folder: Path, options: dict[str, Any], stderr: Path | None = None
) -> _RecordingClient:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    err = os.open(stderr or os.devnull, flags, 0o644)
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "qwen_lsp",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=err,
            env=env,
            limit=64 * 1024 * 1024,
        )
    finally:
        os.close(err)
    client = _RecordingClient(process)
    await client.request(
        "initialize",
        {
            "processId": os.getpid(),
            "rootUri": folder.as_uri(),
            "workspaceFolders": [{"uri": folder.as_uri(), "name": folder.name}],
            "capabilities": _CAPABILITIES,
            "initializationOptions": {"debounceMs": 0, **options},
        },
    )
    client.notify("initialized", {})
    return client


async def until(predicate: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def server_recall(folder: Path, sites: list[Site], files: dict[str, str]) -> tuple[int, int]:
    """Disk setup through the real server: hits among ``sites``, read from the fake's log."""
    hits = 0
    with FakeQwen() as fake:
        fake.default = Reply(text="x")
        client = await start_server(folder, {"baseUrl": fake.base_url})
        try:
            assert await until(client.progress_ended, 300), "indexing never ended"
            for n, site in enumerate(sites):
                text, line, character = cut(files[site.file], site)
                uri = _uri(folder, site.file)
                doc = {"uri": uri, "languageId": "python", "version": 1, "text": text}
                client.notify("textDocument/didOpen", {"textDocument": doc})
                before = len(fake.requests)
                await client.request(
                    "textDocument/inlineCompletion",
                    {
                        "textDocument": {"uri": uri},
                        "position": {"line": line, "character": character},
                        "context": {"triggerKind": 1},
                    },
                )
                posts = [r for r in fake.requests[before:] if r.method == "POST"]
                if posts and reached(str(posts[-1].body.get("prompt", "")), site):
                    hits += 1
                client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
                del n
        finally:
            await client.close()
    return hits, len(sites)


# -- index cost at 5,000 files --------------------------------------------------------------------


def big_workspace() -> Path:
    """The installed site-packages tree: real code, well over 5,000 source files."""
    return Path(sysconfig.get_paths()["purelib"])


@dataclass
class IndexCost:
    files: int = 0
    definitions: int = 0
    build_s: float = 0.0
    peak_rss_mib: float = 0.0  # the server's VmHWM, indexed
    peak_rss_unindexed_mib: float = 0.0
    idle_rss_mib: float = 0.0  # after indexing
    idle_rss_unindexed_mib: float = 0.0
    request_p50_ms: float = 0.0
    request_p99_ms: float = 0.0
    request_cold_p50_ms: float = 0.0
    requests: int = 0
    while_indexing_ms: float = 0.0  # median ping while the index builds
    idle_ping_ms: float = 0.0


def _status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


async def _ping(client: LspClient) -> float:
    started = time.monotonic()
    with contextlib.suppress(LspError):
        await client.request("qwen/stats", None)
    return (time.monotonic() - started) * 1000


def edited_sample(folder: Path) -> tuple[Path, str]:
    """A file of the workspace to open and edit before measuring idle memory."""
    sample = next(p for p in sorted(folder.glob("*/*.py")) if p.stat().st_size > 2000)
    return sample, sample.read_text("utf-8")


async def server_index_cost(
    folder: Path, max_files: int, cost: IndexCost, edited: tuple[Path, str]
) -> None:
    """Idle and peak RSS of an indexed and an un-indexed server; build time; responsiveness."""
    sample, text = edited
    with FakeQwen() as fake:
        for indexed in (False, True):
            options: dict[str, Any] = {"baseUrl": fake.base_url, "indexEnabled": indexed}
            options["indexMaxFiles"] = max_files
            client = await start_server(folder, options)
            try:
                started = time.monotonic()
                pings = []
                if indexed:
                    while not client.progress_ended() and time.monotonic() - started < 600:
                        pings.append(await _ping(client))
                        await asyncio.sleep(0.2)
                    cost.build_s = time.monotonic() - started
                    cost.while_indexing_ms = percentile(pings, 50) if pings else 0.0
                # One document open and edited (its re-index parses in the server's process,
                # loading the grammar there), then idle: the tokenizer loads in the background.
                uri = sample.as_uri()
                doc = {"uri": uri, "languageId": "python", "version": 1, "text": text}
                client.notify("textDocument/didOpen", {"textDocument": doc})
                client.notify(
                    "textDocument/didChange",
                    {
                        "textDocument": {"uri": uri, "version": 2},
                        "contentChanges": [{"text": text + "\n# edited\n"}],
                    },
                )
                await asyncio.sleep(3.0)
                idle = [await _ping(client) for _ in range(20)]
                pid = client.pid
                rss = _status_kib(pid, "VmRSS") / 1024
                peak = _status_kib(pid, "VmHWM") / 1024
                if indexed:
                    cost.idle_rss_mib, cost.peak_rss_mib = rss, peak
                    cost.idle_ping_ms = percentile(idle, 50)
                else:
                    cost.idle_rss_unindexed_mib, cost.peak_rss_unindexed_mib = rss, peak
            finally:
                await client.close()


def request_cost(folder: Path, max_files: int, samples: int, cost: IndexCost) -> None:
    """Per-request context cost in process, with ``max_files`` of ``folder`` indexed."""
    count = counter_for("qwen2.5-coder-32b-instruct")
    settings = Settings(index_max_files=max_files)
    engine = _engine(folder, settings, count)
    started = time.monotonic()
    engine.start_indexing()
    assert engine.workspace.wait_indexed(900)
    index = engine.workspace.index
    cost.files = len(index.files)
    cost.definitions = sum(e.count for e in index.files.values())
    if not cost.build_s:
        cost.build_s = time.monotonic() - started
    rng = random.Random(11)
    paths = sorted(p for p in index.files if p.endswith(".py"))
    rng.shuffle(paths)
    warm: list[float] = []
    cold: list[float] = []
    for path in paths[:samples]:
        text = Path(path).read_text("utf-8")
        lines = text.split("\n")
        spots = [
            (i, m.start())
            for i, line in enumerate(lines)
            for m in _CALL.finditer(line)
            if len(m.group(1)) > KEEP + 1
        ]
        if not spots:
            continue
        row, col = rng.choice(spots)
        name = _CALL.match(lines[row], col)
        assert name is not None
        lines[row] = lines[row][: col + KEEP] + lines[row][col + len(name.group(1)) :]
        uri = Path(path).as_uri()
        engine.open_document(uri, "\n".join(lines), 1, "python")
        assert engine.workspace.wait_indexed(60)
        for timings in (cold, warm):
            t = time.perf_counter()
            engine.context(uri, row, col + KEEP)
            timings.append((time.perf_counter() - t) * 1000)
        engine.close_document(uri)
    engine.workspace.close()
    cost.requests = len(warm)
    cost.request_p50_ms = percentile(warm, 50)
    cost.request_p99_ms = percentile(warm, 99)
    cost.request_cold_p50_ms = percentile(cold, 50)


_CALL = re.compile(r"\b([A-Za-z_]\w*)\(")


# -- report ------------------------------------------------------------------------------------


def _pct(hits: int, total: int) -> float:
    return 100.0 * hits / total if total else 0.0


def write_report(
    results: list[RecallResult],
    server: tuple[int, int],
    cost: IndexCost,
    settings: Settings,
    smoke: bool,
    out: Path,
) -> None:
    machine = describe()
    total = sum(r.sites for r in results)
    open_hits = sum(r.open_hits for r in results)
    disk_hits = sum(r.disk_hits for r in results)
    base_hits = sum(r.baseline_hits for r in results)
    over = sum(r.over_budget for r in results)
    costs = [c for r in results for c in r.costs_ms]
    growth = cost.idle_rss_mib - cost.idle_rss_unindexed_mib
    lines = [
        "# Repository context: recall and index cost",
        "",
        f"{machine.date}, {machine.cpu}, {machine.cores} cores, {machine.ram_gib:.1f} GiB, "
        f"Python {machine.python}{' (smoke run)' if smoke else ''}. "
        "Written by `python -m benchmarks.recall`; see the module docstring for the method.",
        "",
        "## Recall: the callee's definition reaches the prompt",
        "",
        f"Call sites of functions defined in another module of the same standard-library "
        f"package, the name cut after {KEEP} characters; `maxRepoTokens` "
        f"{settings.max_repo_tokens}, Qwen tokenizer.",
        "",
        "| package | call sites | other files open (no disk index) | current file only, "
        "workspace indexed | previous selection (windows of open files) |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| `{r.package}` | {r.sites} | {_pct(r.open_hits, r.sites):.0f} % | "
            f"{_pct(r.disk_hits, r.sites):.0f} % | {_pct(r.baseline_hits, r.sites):.0f} % |"
        )
    lines += [
        f"| **all** | **{total}** | **{_pct(open_hits, total):.1f} %** | "
        f"**{_pct(disk_hits, total):.1f} %** | **{_pct(base_hits, total):.1f} %** |",
        "",
        f"Targets: ≥ {TARGET_OPEN:.0f} % open, ≥ {TARGET_DISK:.0f} % from disk. Prompts over "
        f"the repository budget: {over} of {2 * total}. Context cost on these call sites "
        f"(disk setup, first request after opening the file, the line-token cache cold): p50 "
        f"{percentile(costs, 50) if costs else 0:.2f} ms, p99 "
        f"{percentile(costs, 99) if costs else 0:.2f} ms.",
        "",
        f"Through the real server (disk setup, a sample, prompt read from the fake backend's "
        f"request log): {server[0]} of {server[1]} "
        f"({_pct(*server):.0f} %).",
        "",
        "## Index cost",
        "",
        f"Workspace: the installed site-packages tree, capped at {cost.files:,} files "
        f"({cost.definitions:,} definitions).",
        "",
        "| figure | value |",
        "|---|---|",
        f"| index build, server, `initialized` → progress end (s) | {cost.build_s:.1f} |",
        f"| peak RSS (VmHWM), indexed / un-indexed server (MiB) | {cost.peak_rss_mib:.1f} / "
        f"{cost.peak_rss_unindexed_mib:.1f} |",
        "| idle RSS after indexing / un-indexed server, one file open and edited (MiB) | "
        f"{cost.idle_rss_mib:.1f} / "
        f"{cost.idle_rss_unindexed_mib:.1f} (+{growth:.1f}) |",
        f"| per-request context cost p50 / p99 (ms, {cost.requests} requests) | "
        f"{cost.request_p50_ms:.2f} / {cost.request_p99_ms:.2f} |",
        f"| first request after opening a file, p50 (ms) | {cost.request_cold_p50_ms:.2f} |",
        f"| request round trip while indexing / idle, median (ms) | "
        f"{cost.while_indexing_ms:.1f} / {cost.idle_ping_ms:.1f} |",
        "",
        "The per-request cost is the engine's context path in process (prefix and suffix, "
        "cursor analysis, candidates, ranking, token counts), the request repeated at the same "
        "cursor as a keystroke would after the previous one warmed the line-token cache; the "
        "first request after opening a file counts every line afresh. Round trips are a "
        "`qwen/stats` request, answered on the event loop while the worker thread indexes.",
        "",
    ]
    out.mkdir(parents=True, exist_ok=True)
    (out / "recall.md").write_text("\n".join(lines), encoding="utf-8")
    data = {
        "machine": asdict(machine),
        "smoke": smoke,
        "recall": [{k: v for k, v in asdict(r).items() if k != "costs_ms"} for r in results],
        "recall_open_pct": _pct(open_hits, total),
        "recall_disk_pct": _pct(disk_hits, total),
        "recall_baseline_pct": _pct(base_hits, total),
        "over_budget": over,
        "server_sample": {"hits": server[0], "sites": server[1]},
        "index": asdict(cost),
    }
    (out / "recall.json").write_text(json.dumps(data, indent=2), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.recall", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="a small, quick run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--sites", type=int, default=40, help="call sites per package")
    parser.add_argument("--files", type=int, default=5000, help="files of the index workspace")
    args = parser.parse_args(argv)
    packages = SMOKE_PACKAGES if args.smoke else PACKAGES
    per_package = 8 if args.smoke else args.sites
    max_files = 300 if args.smoke else args.files
    settings = Settings()
    count = counter_for(settings.model)
    results: list[RecallResult] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "stdlib-sample"
        folder.mkdir()
        copy_packages(packages, folder)
        sample: list[Site] = []
        files: dict[str, str] = {}
        for package in packages:
            result, sites = recall_package(folder, package, per_package, settings, count)
            results.append(result)
            print(
                f"{package}: {result.sites} sites, open {result.open_hits}, "
                f"disk {result.disk_hits}, baseline {result.baseline_hits}",
                flush=True,
            )
            sample += sites[: 2 if args.smoke else 5]
        for p in folder.rglob("*.py"):
            files[str(p.relative_to(folder))] = p.read_text("utf-8")
        server = asyncio.run(server_recall(folder, sample, files))
        print(f"server sample: {server[0]}/{server[1]}", flush=True)
    cost = IndexCost()
    big = big_workspace()
    asyncio.run(server_index_cost(big, max_files, cost, edited_sample(big)))
    print(f"server: build {cost.build_s:.1f} s, idle RSS {cost.idle_rss_mib:.1f} MiB", flush=True)
    build_s = cost.build_s
    request_cost(big, max_files, 40 if args.smoke else 300, cost)
    cost.build_s = build_s
    write_report(results, server, cost, settings, args.smoke, args.out)
    print(f"wrote {args.out / 'recall.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
