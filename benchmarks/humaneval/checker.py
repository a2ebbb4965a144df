"""Run a problem's tests on a resulting document: ``check(entry_point)`` in a subprocess.

The code run is the benchmark's own: HumanEval's canonical solutions with spans removed and put
back by the server (plus, for junk replies, another canonical solution). Still, each run is
contained: a fresh ``python -I -S`` (isolated, no site), in an empty temporary directory, with
no environment, a wall-clock timeout and CPU, memory (1 GiB) and file-size (1 MiB) limits that
the child sets on itself before it runs the program (read from its stdin).
Documents are tested once per distinct text and problem (cached by hash), on a small thread
pool (each thread waits on its subprocess).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from benchmarks.humaneval.problems import Problem

TIMEOUT_S = 5.0
_MEMORY_BYTES = 1 << 30
_FILE_BYTES = 1 << 20


def program(problem: Problem, document: str) -> str:
    """The document followed by the problem's tests and their call."""
    return f"{document}\n\n{problem.test}\n\ncheck({problem.entry_point})\n"


def key(problem: Problem, document: str) -> str:
    """The cache key of a document for a problem."""
    return hashlib.sha256(f"{problem.task_id}\0{document}".encode()).hexdigest()


# The child limits itself before running the program (no ``preexec_fn``: that is unsafe with
# the thread pool), then runs it as ``__main__``.
_BOOTSTRAP = f"""
import resource, sys
resource.setrlimit(resource.RLIMIT_CPU, ({int(TIMEOUT_S) + 1}, {int(TIMEOUT_S) + 1}))
resource.setrlimit(resource.RLIMIT_AS, ({_MEMORY_BYTES}, {_MEMORY_BYTES}))
resource.setrlimit(resource.RLIMIT_FSIZE, ({_FILE_BYTES}, {_FILE_BYTES}))
source = sys.stdin.read()
exec(compile(source, "<humaneval>", "exec"), {{"__name__": "__main__"}})
"""


def passes(problem: Problem, document: str) -> bool:
    """Whether the problem's tests pass on ``document``."""
    with tempfile.TemporaryDirectory(prefix="humaneval-") as cwd:
        try:
            done = subprocess.run(
                [sys.executable, "-I", "-S", "-c", _BOOTSTRAP],
                input=program(problem, document),
                capture_output=True,
                text=True,
                cwd=cwd,
                env={},
                timeout=TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return False
    return done.returncode == 0


class Checker:
    """Tests documents, each distinct (problem, document) once."""

    def __init__(self, workers: int = 2) -> None:
        self.workers = workers
        self.results: dict[str, bool] = {}

    def run(self, jobs: Iterable[tuple[Problem, str]]) -> None:
        """Test every (problem, document) not tested yet."""
        todo: dict[str, tuple[Problem, str]] = {}
        for problem, document in jobs:
            k = key(problem, document)
            if k not in self.results:
                todo[k] = (problem, document)
        with ThreadPoolExecutor(self.workers) as pool:
            done = pool.map(lambda job: passes(*job), todo.values())
            self.results.update(zip(todo, done, strict=True))

    def passed(self, problem: Problem, document: str) -> bool:
        """The result of an earlier :meth:`run` (which must have covered this document)."""
        return self.results[key(problem, document)]
