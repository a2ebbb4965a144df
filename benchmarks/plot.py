"""The PNG: per model scenario, pause→ghost-text latency CDFs (top) and backend requests per 100
keystrokes (bottom), qwen-lsp beside tabby-agent.

Drawn with matplotlib's object API, without pyplot: a bare ``Figure`` saves to PNG through the Agg
renderer, so no display and no global backend setting are involved.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matplotlib.figure import Figure

from benchmarks.results import Scenario

_COLORS = {"qwen-lsp": "#6236ff", "tabby-agent": "#f28c28"}


def draw(scenarios: Sequence[Scenario], path: Path, subtitle: str) -> None:
    """Write one column per scenario to ``path``."""
    columns = max(1, len(scenarios))
    figure = Figure(figsize=(4.2 * columns, 7.0))
    axes = figure.subplots(2, columns, squeeze=False, height_ratios=(3, 2))
    for column, scenario in enumerate(scenarios):
        cdf, bars = axes[0][column], axes[1][column]
        replays = [r for r in (scenario.qwen, scenario.peer) if r is not None]
        for result in replays:
            values = sorted(result.latencies_ms)
            if values:
                shares = [(i + 1) / result.pauses for i in range(len(values))]
                cdf.step(
                    values, shares, where="post", label=result.name, color=_COLORS.get(result.name)
                )
        floor = scenario.qwen.floor
        if floor == floor:  # not NaN
            cdf.axvline(floor, color="grey", linestyle=":", label="backend floor (median)")
        cdf.set_xlabel("pause → ghost text (ms)")
        cdf.set_ylim(0, 1)
        cdf.grid(alpha=0.3)
        cdf.legend(loc="lower right", fontsize=8)
        cdf.set_title(f"model {scenario.name}", fontsize=10)

        names = [r.name for r in replays]
        total = [r.per_100_keys(r.backend_requests) for r in replays]
        aborted = [r.per_100_keys(r.aborted) for r in replays]
        colors = [_COLORS.get(r.name, "grey") for r in replays]
        bars.bar(names, total, color=colors)
        bars.bar(names, aborted, color="none", edgecolor="black", hatch="//", label="aborted")
        for x, value in enumerate(total):
            bars.annotate(f"{value:.1f}", (x, value), ha="center", va="bottom", fontsize=9)
        bars.legend(loc="upper left", fontsize=8)
        if column == 0:
            cdf.set_ylabel("share of pauses with a suggestion")
            bars.set_ylabel("backend requests / 100 keystrokes")

    figure.suptitle(subtitle, fontsize=9)
    figure.set_dpi(100)
    figure.tight_layout()
    figure.savefig(path, format="png")
