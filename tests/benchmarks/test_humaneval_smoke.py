"""Smoke test of the HumanEval extent benchmark: ``python -m benchmarks.humaneval --smoke`` runs
end to end against this tree's server and its report has every kind x shape x mode row with
numbers. Scores are not asserted, except where a working server cannot fail: a single-line FIM
case with the exact reply is a plain insertion at the end of an indented blank line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.humaneval.cases import KIND_TITLES
from benchmarks.humaneval.replies import MODE_TITLES, SHAPE_TITLES
from tests.benchmarks.smoke import run_smoke
from tests.benchmarks.test_bench_smoke import Table, find_row, is_number, parse_tables

ROOT = Path(__file__).resolve().parents[2]
MAIN = "By kind, reply shape and mode"
COLUMNS = ("n", "exact (%)", "normalised (%)", "tests pass (%)")
COST_ROWS = (
    "finish() on a 40-line reply, p50 (µs)",
    "finish() on a 40-line reply, p95 (µs)",
    "StreamCutter.feed() per chunk, p50 (µs)",
    "StreamCutter.feed() per chunk, p95 (µs)",
)


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("humaneval")
    assert str(out / "humaneval.md") in run_smoke("benchmarks.humaneval", out)
    return out


@pytest.fixture(scope="module")
def tables(smoke_run: Path) -> dict[str, Table]:
    return parse_tables((smoke_run / "humaneval.md").read_text(encoding="utf-8"))


def test_every_kind_shape_and_mode_has_numbers(tables: dict[str, Table]) -> None:
    main = tables[MAIN]
    for kind in KIND_TITLES.values():
        for shape in SHAPE_TITLES.values():
            for mode in MODE_TITLES.values():
                row = find_row(main, f"{kind} · {shape} · {mode}")
                for column in COLUMNS:
                    assert is_number(row[column]), f"{kind}/{shape}/{mode}/{column}: {row}"
                assert int(row["n"]) > 0


def test_exact_single_line_fim_reply_is_inserted(tables: dict[str, Table]) -> None:
    row = find_row(tables[MAIN], "single line · exact · FIM")
    assert float(row["exact (%)"]) > 0
    assert float(row["tests pass (%)"]) > 0


def test_cost_figures_are_numbers(tables: dict[str, Table]) -> None:
    cost = tables["Post-processing cost"]
    for label in COST_ROWS:
        row = find_row(cost, label)
        assert is_number(row["FIM"]) and is_number(row["chat"]), row
    first = tables["First use of a language"]
    assert is_number(find_row(first, "python")["first finish() (ms)"])


def test_server_ran_this_tree_and_every_request_was_the_case(smoke_run: Path) -> None:
    raw = json.loads((smoke_run / "humaneval.json").read_text(encoding="utf-8"))
    conditions = raw["conditions"]
    assert conditions["server_module"].startswith(str(ROOT / "qwen_lsp"))
    assert conditions["mismatches"] == 0
    assert conditions["errors"] == 0
    assert raw["broken_originals"] == []
    assert len(raw["rows"]) == len(KIND_TITLES) * len(SHAPE_TITLES) * len(MODE_TITLES)
