"""Everything one run measured, in one object the report and the plot read."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.doc_cost import EditCost
from benchmarks.footprint import Footprint
from benchmarks.machine import Machine
from benchmarks.oracle import Latency
from benchmarks.overhead import ChangeCost, RequestOverhead
from benchmarks.replay import ReplayResult


@dataclass(frozen=True, slots=True)
class Conditions:
    """How the run was set up."""

    mode: str
    seed: int
    latency: Latency
    wait_cap_s: float
    debounce_ms: int | None
    debounce_mode: str | None
    corpus: tuple[str, ...]
    keys_per_file: int
    pace: float
    startup_runs: int
    documents: int
    command: str


@dataclass(frozen=True, slots=True)
class Scenario:
    """One model scenario of the typing replay, typed into both servers."""

    name: str
    wrong_share: float  # share of the fake model's replies that are wrong
    qwen: ReplayResult
    peer: ReplayResult | None


@dataclass(frozen=True, slots=True)
class AcceptScenario:
    """One model scenario replayed by a typist who accepts suggestions, in every server:
    qwen-lsp in each ``speculate`` mode replayed (``--speculate``), then the peer."""

    name: str
    wrong_share: float
    replays: tuple[ReplayResult, ...]


@dataclass(frozen=True, slots=True)
class Results:
    """One run's figures; ``peer`` is None when tabby-agent was skipped (``peer_note`` says why)."""

    machine: Machine
    conditions: Conditions
    scenarios: tuple[Scenario, ...]
    overhead: tuple[RequestOverhead, ...]
    change: tuple[ChangeCost, ...]
    edits: tuple[EditCost, ...]
    footprints: tuple[Footprint, ...]  # qwen-lsp, the bare pygls server, then tabby-agent
    peer_note: str | None
    duration_s: float
    accept: tuple[AcceptScenario, ...] = ()  # the typist who accepts suggestions
