"""Smoke test of the benchmark suite: ``python -m benchmarks --smoke`` runs end to end and its
report has every figure. It checks that numbers are there, never what they are.

The tabby-agent columns may be ``n/a`` only when tabby-agent is not installed, and then that
test is skipped; with ``QWEN_LSP_REQUIRE_PEERS`` set (CI installs tabby-agent and sets it) the
benchmark itself refuses to run without the peer, so every test fails.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from tests.benchmarks.smoke import run_smoke

PEER = "tabby-agent"
SIZES = ("1,000 lines", "10,000 lines", "100,000 lines")
SCENARIOS = ("never right", "right 30% of the time", "perfect")
REPLAY_ROWS = (
    "keystrokes typed",
    "pauses",
    "pause→ghost-text latency p50 (ms)",
    "pause→ghost-text latency p95 (ms)",
    "pause→ghost-text latency p99 (ms)",
    "backend floor at the pauses, median (ms)",
    "pauses that got a suggestion (%)",
    "backend requests per 100 keystrokes",
    "prompt tokens per 100 keystrokes (chars/4)",
    "completion tokens per 100 keystrokes",
    "backend requests aborted (%)",
    "suggestions answered from typed-ahead/cache (%)",
)
# The accepting typist (smoke: the perfect model only): always numbers...
ACCEPT_ROWS = (
    "suggestions accepted",
    "keystrokes typed",
    "backend requests per 100 keystrokes",
    "prompt tokens per 100 keystrokes (chars/4)",
    "completion tokens per 100 keystrokes",
)
# ...numbers once a suggestion followed an accept (a short run may have none)...
ACCEPT_LATENCY_ROWS = (
    "accept→next-ghost-text latency p50 (ms)",
    "accept→next-ghost-text latency p95 (ms)",
    "suggestions after an accept with no backend request of their own (%)",
)
# ...and in qwen-lsp's columns only (against speculation off, or qwen-lsp's own count).
ACCEPT_COST_ROWS = (
    "speculative answers made ready (qwen-lsp's count)",
    "suggestions from speculation (qwen-lsp's count)",
    "extra backend requests per 100 keystrokes (against speculate=off)",
    "extra prompt tokens per 100 keystrokes (against speculate=off)",
    "extra completion tokens per 100 keystrokes (against speculate=off)",
)
ACCEPT_SECTION = "Accepting suggestions: model perfect"
QWEN_ACCEPT_COLUMNS = ("qwen-lsp speculate=stream", "qwen-lsp speculate=off")
EXPECTED: dict[str, tuple[str, ...]] = {
    **{f"Typing replay: model {name}": REPLAY_ROWS for name in SCENARIOS},
    "Server overhead per request": SIZES,
    "didChange cost per keystroke": SIZES,
    "Footprint": (
        "start-up to initialize response, median (ms)",
        "start-up to the first completion answered, median (ms)",
        "RSS idle (MiB)",
        "RSS with 200 open documents (MiB)",
    ),
}

# The smoke run replays the typist four times more than the other tests' work (accepting, per
# speculate mode): about 75 s here; room for a slower CI machine.
SMOKE_TIMEOUT_S = 240
pytestmark = pytest.mark.timeout(SMOKE_TIMEOUT_S)

Table = dict[str, dict[str, str]]  # row label -> column header -> cell


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench")
    assert str(out / "report.md") in run_smoke("benchmarks", out, timeout=SMOKE_TIMEOUT_S - 10)
    return out


@pytest.fixture(scope="module")
def tables(smoke_run: Path) -> dict[str, Table]:
    return parse_tables((smoke_run / "report.md").read_text(encoding="utf-8"))


def parse_tables(markdown: str) -> dict[str, Table]:
    """Each ``## section``'s table, keyed by the first cell of each row."""
    sections: dict[str, Table] = {}
    header: list[str] = []
    title = ""
    for line in markdown.splitlines():
        if line.startswith("## "):
            title, header = line[3:].strip(), []
        elif line.startswith("|") and title:
            cells = [c.strip() for c in line.strip("|").split("|")]
            if not header:
                header = cells
            elif set(cells) != {"---"}:
                sections.setdefault(title, {})[cells[0]] = dict(zip(header, cells, strict=True))
    return sections


def find_row(table: Table, label: str) -> dict[str, str]:
    assert label in table, f"row {label!r} missing from {sorted(table)}"
    return table[label]


def is_number(cell: str) -> bool:
    try:
        float(cell.replace(",", ""))
    except ValueError:
        return False
    return True


def peer_installed(report: str) -> bool:
    return f"{PEER} is not installed" not in report


def test_every_qwen_lsp_figure_is_a_number(tables: dict[str, Table]) -> None:
    for section, labels in EXPECTED.items():
        assert section in tables, f"section {section!r} missing"
        for label in labels:
            row = find_row(tables[section], label)
            for column, cell in list(row.items())[1:]:
                if PEER not in column:
                    assert is_number(cell), f"{section} / {label} / {column}: {cell!r}"


def test_every_peer_figure_is_a_number(smoke_run: Path, tables: dict[str, Table]) -> None:
    report = (smoke_run / "report.md").read_text(encoding="utf-8")
    if not peer_installed(report):  # the run fails instead when QWEN_LSP_REQUIRE_PEERS is set
        pytest.skip("tabby-agent is not installed (benchmarks/install-deps.sh)")
    for section, labels in EXPECTED.items():
        for label in labels:
            row = find_row(tables[section], label)
            for column, cell in row.items():
                if column == PEER:
                    assert is_number(cell), f"{section} / {label} / {column}: {cell!r}"
                elif PEER in column:  # a ratio: undefined only when the peer's figure is 0
                    defined = is_number(cell) or float(row[PEER].replace(",", "")) == 0
                    assert defined, f"{section} / {label} / {column}: {cell!r}"


def test_every_accepting_figure_is_a_number(smoke_run: Path, tables: dict[str, Table]) -> None:
    table = tables[ACCEPT_SECTION]
    report = (smoke_run / "report.md").read_text(encoding="utf-8")
    columns = [*QWEN_ACCEPT_COLUMNS, *([PEER] if peer_installed(report) else [])]
    for column in columns:
        for label in ACCEPT_ROWS:
            assert is_number(find_row(table, label)[column]), f"{label} / {column}"
        followed = find_row(table, "accepts followed by a suggestion (%)")[column]
        assert is_number(followed) or find_row(table, "suggestions accepted")[column] == "0"
        for label in ACCEPT_LATENCY_ROWS:
            cell = find_row(table, label)[column]
            assert is_number(cell) or followed in ("0.0", "n/a"), f"{label} / {column}: {cell}"
    for label in ACCEPT_COST_ROWS:
        row = find_row(table, label)
        assert all(is_number(row[c]) for c in QWEN_ACCEPT_COLUMNS), label
        assert float(row["qwen-lsp speculate=off"]) == 0  # off against itself


def test_every_target_has_a_verdict(tables: dict[str, Table]) -> None:
    targets = tables["Targets (issue 10)"]
    for name in SCENARIOS:
        assert any(label.startswith(f"{name}: p50") for label in targets), name
    assert any(label.startswith("idle RSS") for label in targets)
    for label, row in targets.items():
        assert row["this run"] in {"met", "**not met**", "n/a"}, label
        assert is_number(row["qwen-lsp"]), label


def test_plot_is_a_png(smoke_run: Path) -> None:
    data = (smoke_run / "latency.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind, width, height = struct.unpack(">I4sII", data[8:24])
    assert (length, kind) == (13, b"IHDR")
    assert width > 100 and height > 100
    assert data[-8:-4] == b"IEND"
