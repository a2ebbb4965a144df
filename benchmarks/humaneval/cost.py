"""Post-processing cost on 40-line replies, measured in a fresh process (:mod:`.cost_probe`).

The replies are HumanEval ones: for ``rest`` cases (the cursor at a line of the solution), the
rest of the file followed by unrelated code, cut to exactly 40 lines. FIM replies are that
text; chat replies are it inside a ```python fence after an echo of the cursor line. Each is
streamed in the same chunks as the replay's (1-3 token-like pieces).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.humaneval import replies
from benchmarks.humaneval.cases import Case
from benchmarks.humaneval.problems import Problem
from benchmarks.humaneval.replay import server_env
from benchmarks.stats import percentile

PROBE = Path(__file__).resolve().parent / "cost_probe.py"
REPLY_LINES = 40


@dataclass(frozen=True, slots=True)
class Cost:
    """Timings of the post-processing stage."""

    module: str  # which postprocess was timed
    replies: int
    import_ms: float
    first_ms: dict[str, float]  # language -> first finish() in a fresh process
    finish_p50_us: dict[str, float]  # mode -> p50 of finish() on a 40-line reply
    finish_p95_us: dict[str, float]
    feed_p50_us: dict[str, float]  # mode -> p50 of StreamCutter.feed() per chunk
    feed_p95_us: dict[str, float]
    chunks: dict[str, int]  # mode -> chunks fed in all


def forty_lines(case: Case, junk: str) -> str:
    """The case's overrun+junk reply, padded with more junk and cut to 40 lines."""
    text = replies.model_text(case, "junk", junk)
    while text.count("\n") < REPLY_LINES:
        text += "\n" + junk
    return "\n".join(text.split("\n")[:REPLY_LINES])


def _sample(case: Case, problems: Sequence[Problem], seed: int) -> dict[str, Any]:
    rng = random.Random(f"{seed}:cost:{case.id}")
    raw = forty_lines(case, replies.junk_for(case, problems))
    chat = replies.FENCE_OPEN + replies.line_prefix(case) + raw + replies.FENCE_CLOSE
    return {
        "document": case.document,
        "cursor": case.cursor,
        "fim": raw,
        "chat": chat,
        "fim_chunks": replies.split_chunks(raw, rng),
        "chat_chunks": replies.split_chunks(chat, rng),
    }


def measure(
    cases: Sequence[Case],
    problems: Sequence[Problem],
    src: Path,
    seed: int,
    count: int,
    repeat: int,
) -> Cost:
    """Time ``count`` replies (``repeat`` finish() calls each) with ``qwen_lsp`` from ``src``."""
    chosen = [c for c in cases if c.kind == "rest"][:count]
    job = {"samples": [_sample(c, problems, seed) for c in chosen], "repeat": repeat}
    done = subprocess.run(
        [sys.executable, "-P", str(PROBE)],
        input=json.dumps(job),
        env=server_env(src),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"cost probe failed:\n{done.stderr[-2000:]}")
    out = json.loads(done.stdout)
    modes = ("fim", "chat")
    return Cost(
        module=str(out["module"]),
        replies=len(chosen),
        import_ms=float(out["import_ms"]),
        first_ms={k: float(v) for k, v in out["first_ms"].items()},
        finish_p50_us={m: percentile(out["finish_us"][m], 50) for m in modes},
        finish_p95_us={m: percentile(out["finish_us"][m], 95) for m in modes},
        feed_p50_us={m: percentile(out["feed_us"][m], 50) for m in modes},
        feed_p95_us={m: percentile(out["feed_us"][m], 95) for m in modes},
        chunks={m: int(out["chunks_fed"][m]) for m in modes},
    )
