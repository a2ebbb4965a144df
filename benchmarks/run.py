"""Entry point: ``python -m benchmarks [--smoke] [--out DIR] ...`` runs every section.

Sections, in order: the typing replay in each model scenario (:data:`SCENARIOS`: a model that is
never right, one right 30% of the time, a perfect one; qwen-lsp, then tabby-agent), the same
typing by a typist who accepts suggestions (qwen-lsp in each ``speculate`` mode, then
tabby-agent; ``--no-accept`` skips it), request
overhead and didChange cost at 1k/10k/100k lines, start-up and memory (against a bare pygls
server's too), and the in-process document-model micro-benchmark. The report (``report.md``),
the plot (``latency.png``), the raw figures (``results.json``) and the servers' stderr
(``logs/``) go to ``--out``.

tabby-agent is optional unless ``QWEN_LSP_REQUIRE_PEERS`` is set (CI sets it): without it, the
peer's columns say ``n/a`` and the report says why.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import random
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks import machine, plot, report, servers
from benchmarks.doc_cost import edit_cost
from benchmarks.fake_tabby import FakeTabby
from benchmarks.footprint import Measured, footprints
from benchmarks.keystrokes import Timing, build_script, corpus_files, synthetic_text
from benchmarks.oracle import Latency, Oracle
from benchmarks.overhead import ChangeCost, RequestOverhead, change_cost, request_overhead
from benchmarks.replay import ReplayResult, RequestLog, replay
from benchmarks.results import AcceptScenario, Conditions, Results, Scenario
from tests.support.fake_qwen import FakeQwen

DEFAULT_OUT = Path(__file__).resolve().parent / "results"
REQUIRE_PEERS_ENV = "QWEN_LSP_REQUIRE_PEERS"
SIZES = (1_000, 10_000, 100_000)
# Model scenarios of the typing replay: name -> share of the fake model's replies that are wrong.
SCENARIOS = {"never right": 1.0, "right 30% of the time": 0.7, "perfect": 0.0}
# qwen-lsp's ``speculate`` modes the accepting typist is replayed with by default: each of
# them, the server's default first (``--speculate`` chooses).
SPECULATE_MODES = ("request", "stream", "off")


@dataclass(frozen=True, slots=True)
class Plan:
    """How much of everything a mode does."""

    name: str
    files: tuple[str, ...] | None  # corpus file names; None: all
    keys_per_file: int
    overhead_reps: int
    change_reps: int
    change_burst: int
    edit_reps: int
    startup_runs: int
    documents: int = 200
    pace: float = 1.0  # the typist's delays are multiplied by this
    accept_scenarios: tuple[str, ...] | None = None  # replayed with acceptance; None: all


SMOKE = Plan(
    name="smoke",
    files=("lru_cache.go",),
    keys_per_file=12,
    overhead_reps=3,
    change_reps=2,
    change_burst=5,
    edit_reps=5,
    startup_runs=2,
    pace=0.5,  # twice as fast a typist: the smoke run checks figures, not their values
    accept_scenarios=("perfect",),
)
FULL = Plan(
    name="full",
    files=None,
    keys_per_file=60,
    overhead_reps=30,
    change_reps=5,
    change_burst=40,
    edit_reps=50,
    startup_runs=6,
)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run the benchmark, write the report; 0 on success."""
    args = _parser().parse_args(argv)
    plan = SMOKE if args.smoke else FULL
    peer_note = _peer_note()
    if peer_note and os.environ.get(REQUIRE_PEERS_ENV):
        print(f"error: {peer_note}, and {REQUIRE_PEERS_ENV} is set", file=sys.stderr)
        return 2
    out: Path = args.out or (DEFAULT_OUT / "smoke" if args.smoke else DEFAULT_OUT)
    (out / "logs").mkdir(parents=True, exist_ok=True)
    given = list(argv) if argv is not None else sys.argv[1:]
    command = shlex.join(["python", "-m", "benchmarks", *given])
    results = asyncio.run(_run(plan, args, out, peer_note, command))
    report_path, plot_path = out / "report.md", out / "latency.png"
    plot.draw(
        results.scenarios,
        plot_path,
        f"{results.machine.cpu}, {results.machine.cores} cores · "
        f"{results.machine.date} · {plan.name}",
    )
    report_path.write_text(report.render(results, plot_path.name), encoding="utf-8")
    (out / "results.json").write_text(
        json.dumps(dataclasses.asdict(results), indent=2, default=str), encoding="utf-8"
    )
    print(f"report: {report_path}\nplot:   {plot_path}\nraw:    {out / 'results.json'}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description="Benchmark qwen-lsp against tabby-agent."
    )
    parser.add_argument("--smoke", action="store_true", help="tiny run (seconds), as CI does")
    parser.add_argument(
        "--out", type=Path, help="where results go (default: benchmarks/results[/smoke])"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the typing scripts")
    parser.add_argument("--ttft-ms", type=float, default=350.0, help="fake time to first token")
    parser.add_argument("--token-ms", type=float, default=20.0, help="fake time per token")
    parser.add_argument(
        "--scenario",
        action="append",
        choices=sorted(SCENARIOS),
        help="model scenario to replay (repeatable; default: all of them)",
    )
    parser.add_argument("--keys", type=int, help="keystrokes per corpus file (default: by mode)")
    parser.add_argument(
        "--debounce-ms", type=int, help="qwen-lsp's debounceMs (default: the server's)"
    )
    parser.add_argument(
        "--debounce-mode",
        choices=("adaptive", "fixed"),
        help="qwen-lsp's debounce mode (default: the server's, adaptive)",
    )
    parser.add_argument(
        "--wait-cap-s", type=float, default=3.0, help="longest wait for a suggestion at a pause"
    )
    parser.add_argument(
        "--speculate",
        action="append",
        choices=("off", "stream", "request"),
        help="qwen-lsp's speculate mode for the accepting typist (repeatable; default: "
        + " and ".join(SPECULATE_MODES)
        + ")",
    )
    parser.add_argument(
        "--no-accept",
        action="store_true",
        help="skip the replay by a typist who accepts suggestions",
    )
    return parser


def _peer_note() -> str | None:
    if servers.tabby_agent_available():
        return None
    return "tabby-agent is not installed (run benchmarks/install-deps.sh)"


async def _run(
    plan: Plan, args: argparse.Namespace, out: Path, peer_note: str | None, command: str
) -> Results:
    started = time.monotonic()
    logs = out / "logs"
    keys = args.keys or plan.keys_per_file
    rng = random.Random(args.seed)
    files = [path for path in corpus_files() if plan.files is None or path.name in plan.files]
    timing = _paced(Timing(), plan.pace)
    scripts = [build_script(path, keys, rng, timing) for path in files]
    latency = Latency(args.ttft_ms, args.token_ms)
    oracle = Oracle([s.final_text for s in scripts], latency)
    chosen = [name for name in SCENARIOS if not args.scenario or name in args.scenario]
    settings: dict[str, object] = {}
    if args.debounce_ms is not None:
        settings["debounceMs"] = args.debounce_ms
    if args.debounce_mode is not None:
        settings["debounce"] = args.debounce_mode
    with FakeQwen() as qwen_fake, FakeTabby() as tabby_fake, tempfile.TemporaryDirectory() as home:
        qwen_fake.responder = oracle.qwen
        tabby_fake.responder = oracle.tabby
        qwen = servers.qwen_lsp(qwen_fake.base_url, **settings)
        peer = None if peer_note else servers.tabby_agent(tabby_fake.base_url, Path(home))
        subjects: list[tuple[servers.Subject, RequestLog]] = [(qwen, qwen_fake)]
        if peer is not None:
            subjects.append((peer, tabby_fake))

        def floor(prefix: str, suffix: str, streamed: bool) -> float:
            return oracle.floor_ms(prefix, suffix, streamed=streamed)

        async def typed(
            subject: servers.Subject, backend: RequestLog, log: Path, *, accept: bool
        ) -> ReplayResult:
            """The scripts typed into ``subject`` (accepting suggestions, or never)."""
            return await replay(
                subject,
                scripts,
                backend,
                wait_cap_s=args.wait_cap_s,
                floor=None if accept else floor,
                stderr_path=log,
                accept=accept,
            )

        scenarios = []
        for name in chosen:
            oracle.wrong_share = SCENARIOS[name]
            replays = []
            for subject, backend in subjects:
                _say(f"typing replay, model {name}: {subject.name}")
                log = logs / f"{subject.name}-replay-{name.split()[0]}.log"
                replays.append(await typed(subject, backend, log, accept=False))
            peer_replay = replays[1] if len(replays) > 1 else None
            scenarios.append(Scenario(name, SCENARIOS[name], replays[0], peer_replay))
        modes = tuple(args.speculate or SPECULATE_MODES)
        accepting = {} if args.no_accept else _accepting(plan, chosen, subjects, modes)
        accept = []
        for name in accepting:
            oracle.wrong_share = SCENARIOS[name]
            replays = []
            for subject, backend in accepting[name]:
                _say(f"accepting typist, model {name}: {subject.name}")
                log = logs / f"{subject.name.replace(' ', '-')}-accept-{name.split()[0]}.log"
                replays.append(await typed(subject, backend, log, accept=True))
            accept.append(AcceptScenario(name, SCENARIOS[name], tuple(replays)))
        fast = servers.qwen_lsp(qwen_fake.base_url, debounceMs=0)
        overhead, change = await _document_costs(plan, fast, qwen_fake, logs)
        _say("start-up and memory")
        bare = servers.pygls_baseline()
        measured = [
            Measured(subject, subject is not bare, logs / f"{subject.name}-footprint.log")
            for subject in [subjects[0][0], bare, *(s for s, _ in subjects[1:])]
        ]
        prints = await footprints(
            measured, corpus_files(), runs=plan.startup_runs, documents=plan.documents
        )
    _say("document models in process")
    edits = tuple(edit_cost(synthetic_text(lines), plan.edit_reps) for lines in SIZES)
    conditions = Conditions(
        mode=plan.name,
        seed=args.seed,
        latency=latency,
        wait_cap_s=args.wait_cap_s,
        debounce_ms=args.debounce_ms,
        debounce_mode=args.debounce_mode,
        corpus=tuple(p.name for p in files),
        keys_per_file=keys,
        pace=plan.pace,
        startup_runs=plan.startup_runs,
        documents=plan.documents,
        command=command,
    )
    return Results(
        machine=machine.describe(),
        conditions=conditions,
        scenarios=tuple(scenarios),
        overhead=overhead,
        change=change,
        edits=edits,
        footprints=tuple(prints),
        peer_note=peer_note,
        duration_s=time.monotonic() - started,
        accept=tuple(accept),
    )


def _accepting(
    plan: Plan,
    chosen: Sequence[str],
    subjects: Sequence[tuple[servers.Subject, RequestLog]],
    modes: Sequence[str],
) -> dict[str, list[tuple[servers.Subject, RequestLog]]]:
    """The servers the accepting typist uses in each scenario: qwen-lsp (``subjects[0]``) in
    each ``speculate`` mode of ``modes``, against the same fake backend, then the peers."""
    (qwen, fake), *peers = subjects
    variants = [
        (
            dataclasses.replace(
                qwen,
                name=f"{qwen.name} speculate={mode}",
                options={**(qwen.options or {}), "speculate": mode},
            ),
            fake,
        )
        for mode in modes
    ]
    names = [n for n in chosen if plan.accept_scenarios is None or n in plan.accept_scenarios]
    return {name: [*variants, *peers] for name in names}


async def _document_costs(
    plan: Plan, fast: servers.Subject, fake: FakeQwen, logs: Path
) -> tuple[tuple[RequestOverhead, ...], tuple[ChangeCost, ...]]:
    """Request overhead (``fast``: qwen-lsp without debounce) and didChange cost at each size."""
    texts = {lines: synthetic_text(lines) for lines in SIZES}
    overhead, mine = [], []
    client, _ = await servers.launch(fast, logs / "qwen-lsp-documents.log")
    try:
        for lines, text in texts.items():
            _say(f"qwen-lsp request overhead and didChange cost: {lines:,} lines")
            overhead.append(await request_overhead(client, fast, fake, text, plan.overhead_reps))
            mine.append(await change_cost(client, text, plan.change_reps, plan.change_burst))
    finally:
        await client.close()
    theirs = []
    client, _ = await servers.launch(servers.pygls_baseline(), logs / "pygls-documents.log")
    try:
        for lines, text in texts.items():
            _say(f"pygls didChange cost: {lines:,} lines")
            theirs.append(await change_cost(client, text, plan.change_reps, plan.change_burst))
    finally:
        await client.close()
    change = (ChangeCost(n, a, b) for n, a, b in zip(SIZES, mine, theirs, strict=True))
    return tuple(overhead), tuple(change)


def _paced(timing: Timing, pace: float) -> Timing:
    """``timing`` with every delay multiplied by ``pace`` (shares and spreads unchanged)."""
    if pace == 1.0:
        return timing
    return dataclasses.replace(
        timing,
        key_median=timing.key_median * pace,
        key_min=timing.key_min * pace,
        key_max=timing.key_max * pace,
        hesitation=(timing.hesitation[0] * pace, timing.hesitation[1] * pace),
        notice_typo=(timing.notice_typo[0] * pace, timing.notice_typo[1] * pace),
        read=(timing.read[0] * pace, timing.read[1] * pace),
        jump=(timing.jump[0] * pace, timing.jump[1] * pace),
    )


def _say(step: str) -> None:
    print(f"[benchmarks {time.strftime('%H:%M:%S')}] {step}", file=sys.stderr, flush=True)
