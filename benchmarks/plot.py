"""The PNG: pause→ghost-text latency CDF (left) and backend requests per 100 keystrokes (right).

Drawn with matplotlib's object API, without pyplot: a bare ``Figure`` saves to PNG through the Agg
renderer, so no display and no global backend setting are involved.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from benchmarks.replay import ReplayResult

_COLORS = {"qwen-lsp": "#6236ff", "tabby-agent": "#f28c28"}


def draw(replays: list[ReplayResult], path: Path, subtitle: str) -> None:
    """Write the two-panel figure for the servers in ``replays`` to ``path``."""
    figure = Figure(figsize=(11, 4.2))
    cdf, bars = figure.subplots(1, 2, width_ratios=(3, 2))
    for result in replays:
        values = sorted(result.latencies_ms)
        if values:
            shares = [(i + 1) / result.pauses for i in range(len(values))]
            cdf.step(
                values, shares, where="post", label=result.name, color=_COLORS.get(result.name)
            )
    cdf.set_xlabel("pause → ghost text (ms)")
    cdf.set_ylabel("share of pauses with a suggestion")
    cdf.set_ylim(0, 1)
    cdf.grid(alpha=0.3)
    cdf.legend(loc="lower right")
    cdf.set_title("Latency CDF (pauses with no suggestion stay below 1)", fontsize=10)

    names = [r.name for r in replays] + ["one per keystroke"]
    total = [r.per_100_keys(r.backend_requests) for r in replays] + [100.0]
    aborted = [r.per_100_keys(r.aborted) for r in replays] + [0.0]
    colors = [_COLORS.get(r.name, "grey") for r in replays] + ["#bbbbbb"]
    bars.bar(names, total, color=colors)
    bars.bar(names, aborted, color="none", edgecolor="black", hatch="//", label="aborted")
    for x, value in enumerate(total):
        bars.annotate(f"{value:.1f}", (x, value), ha="center", va="bottom", fontsize=9)
    bars.set_ylabel("backend requests per 100 keystrokes")
    bars.legend(loc="upper left")
    bars.set_title("Requests per 100 keystrokes", fontsize=10)

    figure.suptitle(subtitle, fontsize=9)
    figure.set_dpi(110)
    figure.tight_layout()
    figure.savefig(path, format="png")
