"""Builder: a child process that parses the files of a full index build.

A full build parses thousands of files; in the server's own process that would hold the GIL
against the event loop for seconds and leave tree-sitter's and the parser's garbage behind in
the server's heap. :func:`parse_in_child` runs ``python -c`` with this module's :func:`main`,
sends it the paths (pickled, on stdin) and reads back one packed
:class:`~qwen_lsp.workspace.index.FileEntry` (or the reason a file was skipped) per path, as
it is done, so the index fills and progress is reported while the child works. When the child
cannot be started the caller parses in its own thread.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import BinaryIO

from .index import FileEntry, read_entry

Result = tuple[str, FileEntry | None, str]  # path, entry or None, why it was skipped


def parse_in_child(
    paths: Sequence[str], max_bytes: int, cancelled: Callable[[], bool]
) -> Iterator[Result]:
    """Parse ``paths`` in a child process; stops (and kills it) once ``cancelled()``."""
    package_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
    child = subprocess.Popen(
        [sys.executable, "-c", "from qwen_lsp.workspace.builder import main; main()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        pickle.dump((list(paths), max_bytes), child.stdin)
        child.stdin.close()
        for _ in paths:
            if cancelled():
                return
            result: Result = pickle.load(child.stdout)
            yield result
    finally:
        with contextlib.suppress(Exception):
            child.kill()
        child.wait()
        child.stdout.close()


def _serve(source: BinaryIO, sink: BinaryIO) -> None:
    paths, max_bytes = pickle.load(source)
    for path in paths:
        try:
            entry, reason = read_entry(path, max_bytes)
        except Exception as exc:  # a grammar that chokes on a file
            entry, reason = None, f"does not parse ({exc})"
        pickle.dump((path, entry, reason), sink, protocol=pickle.HIGHEST_PROTOCOL)
        sink.flush()


def main() -> None:
    """The child's entry point: paths in on stdin, results out on stdout."""
    _serve(sys.stdin.buffer, sys.stdout.buffer)
