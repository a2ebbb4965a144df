"""Command line: ``python -m benchmarks.humaneval [--smoke] [--qwen-lsp-src DIR] [--out DIR]``.

Builds the cases, replays them through one server per mode and reply shape (two at a time),
tests every distinct resulting document, times post-processing in a fresh process, and writes
``humaneval.md``, ``humaneval.json`` (the figures), ``humaneval-outcomes.jsonl`` (every
outcome's verdicts) and ``humaneval-failures.md`` (examples of every failure pattern) to
``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks import machine
from benchmarks.humaneval import cost, problems, report
from benchmarks.humaneval.cases import Case, make_cases
from benchmarks.humaneval.checker import Checker
from benchmarks.humaneval.replay import Outcome, replay, server_module_file
from benchmarks.humaneval.replies import MODES, SHAPES, OracleReply, junk_for, reply_for
from benchmarks.humaneval.score import score

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "benchmarks" / "results"


@dataclass(frozen=True, slots=True)
class Plan:
    """How much a mode does."""

    name: str
    problems: tuple[int, ...] | None  # indices into HumanEval; None: all
    per_kind: int  # cases of each kind per problem
    cost_replies: int
    cost_repeat: int


SMOKE = Plan("smoke", (0, 35, 70, 105, 140), 1, 5, 3)
FULL = Plan("full", None, 2, 100, 5)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    plan = SMOKE if args.smoke else FULL
    src = (args.qwen_lsp_src or ROOT).resolve()
    if not (src / "qwen_lsp" / "__init__.py").is_file():
        print(f"error: {src} has no qwen_lsp package", file=sys.stderr)
        return 2
    out: Path = args.out or default_out(src, smoke=args.smoke)
    (out / "logs").mkdir(parents=True, exist_ok=True)
    given = list(argv) if argv is not None else sys.argv[1:]
    command = shlex.join(["python", "-m", "benchmarks.humaneval", *given])
    started = time.monotonic()

    every = problems.load()
    chosen = [every[i] for i in plan.problems] if plan.problems is not None else every
    if args.problems is not None:
        chosen = chosen[: args.problems]
    by_task = {p.task_id: p for p in chosen}
    cases = make_cases(chosen, args.seed, plan.per_kind)
    _say(f"{len(cases)} cases from {len(chosen)} problems; qwen_lsp from {src}")
    junk = {c.id: junk_for(c, every) for c in cases}
    outcomes = asyncio.run(_replay_all(cases, junk, args.seed, src, out / "logs", args.servers))

    _say("running the problems' tests")
    checker = Checker(args.workers)
    checker.run([(p, p.text) for p in chosen])
    broken = [p.task_id for p in chosen if not checker.passed(p, p.text)]
    checker.run((by_task[c.task_id], o.result) for c, o in outcomes)
    scored = [score(c, o, checker.passed(by_task[c.task_id], o.result)) for c, o in outcomes]

    _say("post-processing cost")
    costs = cost.measure(cases, every, src, args.seed, plan.cost_replies, plan.cost_repeat)
    conditions = report.Conditions(
        mode=plan.name,
        seed=args.seed,
        problems=len(chosen),
        cases=len(cases),
        command=command,
        src=str(src),
        src_revision=_revision(src),
        server_module=server_module_file(src),
        duration_s=time.monotonic() - started,
        mismatches=sum(o.mismatch for _, o in outcomes),
        backend_requests=sum(o.requests for _, o in outcomes),
        errors=sum(bool(o.error) for _, o in outcomes),
    )
    info = machine.describe()
    md = out / "humaneval.md"
    md.write_text(report.render(info, conditions, scored, costs, broken), encoding="utf-8")
    failures = out / "humaneval-failures.md"
    failures.write_text(report.failures(scored, examples=args.examples), encoding="utf-8")
    raw = {
        "machine": dataclasses.asdict(info),
        "conditions": dataclasses.asdict(conditions),
        "rows": report.rows(scored),
        "cost": dataclasses.asdict(costs),
        "broken_originals": broken,
        "patterns": report.pattern_counts(scored),
    }
    (out / "humaneval.json").write_text(json.dumps(raw, indent=1), encoding="utf-8")
    outcomes_path = out / "humaneval-outcomes.jsonl"
    with outcomes_path.open("w", encoding="utf-8") as lines:
        for s in scored:
            lines.write(json.dumps(report.outcome_record(s)) + "\n")
    print(
        f"report:   {md}\nfailures: {failures}\nraw:      {out / 'humaneval.json'}\n"
        f"outcomes: {outcomes_path}"
    )
    return 0


def default_out(src: Path, *, smoke: bool) -> Path:
    """``benchmarks/results[/smoke]`` for this tree's server; another tree's results go to
    ``benchmarks/results/src-<name>[/smoke]`` so they never overwrite the committed report."""
    base = DEFAULT_OUT if src == ROOT else DEFAULT_OUT / f"src-{src.name}"
    return base / "smoke" if smoke else base


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.humaneval",
        description="Replay HumanEval editing cases through qwen-lsp with an oracle backend.",
    )
    parser.add_argument("--smoke", action="store_true", help="a handful of problems (seconds)")
    parser.add_argument(
        "--out", type=Path, help="default: benchmarks/results[/src-NAME][/smoke] (see README)"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the spans and chunks")
    parser.add_argument(
        "--qwen-lsp-src",
        type=Path,
        help="source tree (holding qwen_lsp/) whose server to measure (default: this one)",
    )
    parser.add_argument("--problems", type=int, help="only the first N problems of the plan")
    parser.add_argument("--servers", type=int, default=2, help="servers replaying at once")
    parser.add_argument("--workers", type=int, default=2, help="test processes at once")
    parser.add_argument(
        "--examples", type=int, default=3, help="examples per failure pattern and kind"
    )
    return parser


async def _replay_all(
    cases: Sequence[Case], junk: dict[str, str], seed: int, src: Path, logs: Path, at_once: int
) -> list[tuple[Case, Outcome]]:
    gate = asyncio.Semaphore(max(1, at_once))

    async def one(mode: str, shape: str) -> list[tuple[Case, Outcome]]:
        replies: dict[str, OracleReply] = {
            c.id: reply_for(c, shape, mode, junk[c.id], seed) for c in cases
        }
        async with gate:
            _say(f"replay: {mode} / {shape}")
            log = logs / f"humaneval-{mode}-{shape}.log"
            found = await replay(cases, replies, mode, shape, src, log)
        return list(zip(cases, found, strict=True))

    runs = await asyncio.gather(*(one(m, s) for m in MODES for s in SHAPES))
    return [pair for run in runs for pair in run]


def _revision(src: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(src), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    )
    branch = subprocess.run(
        ["git", "-C", str(src), "rev-parse", "--abbrev-ref", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return f"{branch.stdout.strip()} {done.stdout.strip()}".strip() or "unknown"


def _say(step: str) -> None:
    print(f"[humaneval {time.strftime('%H:%M:%S')}] {step}", file=sys.stderr, flush=True)
