"""Files: which files of the workspace folders the index reads.

:func:`walk` lists the source files under the folders, skipping what a person would not want a
model to see or what is not theirs: paths ignored by ``.gitignore`` files (nested ones too),
vendored and build folders (``node_modules``, ``.venv``, ``target``, ``dist``...), files matching
``excludeGlobs`` (secrets by default), symlinks that lead out of the workspace, files without a
tree-sitter grammar, and anything past the caps (number of files, bytes per file, total bytes).
:class:`Filter` answers the same question for one path (a saved file, a watched-file event, an
open document). Runs in the index's worker thread; never on a keystroke's path.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pathspec

from ..config import DEFAULT_EXCLUDE_GLOBS
from ..grammars import language_of_path

log = logging.getLogger(__name__)

#: Folders never indexed: version control, dependencies, virtual environments, build output.
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "bower_components",
        "vendor",
        "third_party",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "site-packages",
        "dist",
        "build",
        "out",
        "target",
        ".next",
        ".nuxt",
        ".gradle",
        ".idea",
        ".vscode",
        ".cache",
        "coverage",
    }
)

#: The default of ``excludeGlobs``: files that hold secrets.
DEFAULT_EXCLUDES = DEFAULT_EXCLUDE_GLOBS


@dataclass(frozen=True, slots=True)
class Caps:
    """Limits on what is indexed."""

    max_files: int = 5000
    max_file_bytes: int = 512 * 1024
    max_total_bytes: int = 64 * 1024 * 1024
    exclude_globs: tuple[str, ...] = DEFAULT_EXCLUDES


@dataclass(frozen=True, slots=True)
class Found:
    """A file the index should read."""

    path: str  # absolute, as reached from the root (not symlink-resolved)
    size: int


def exclusion(globs: Iterable[str]) -> pathspec.PathSpec[Any]:
    return pathspec.GitIgnoreSpec.from_lines(list(globs))


def _gitignore(directory: str) -> pathspec.PathSpec[Any] | None:
    path = os.path.join(directory, ".gitignore")
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    spec = pathspec.GitIgnoreSpec.from_lines(lines)
    return spec if len(spec) else None


def walk(roots: Iterable[str], caps: Caps) -> Iterator[Found]:
    """The indexable files under ``roots``, breadth-first, within the caps."""
    excluded = exclusion(caps.exclude_globs)
    count = total = 0
    for root in roots:
        real_root = os.path.realpath(root)
        seen: set[str] = set()
        # (directory, ignore specs that apply: (their folder, spec))
        queue: list[tuple[str, tuple[tuple[str, pathspec.PathSpec[Any]], ...]]] = [(root, ())]
        while queue:
            directory, specs = queue.pop(0)
            real = os.path.realpath(directory)
            if real in seen:
                continue
            seen.add(real)
            own = _gitignore(directory)
            if own is not None:
                specs = (*specs, (directory, own))
            try:
                entries = sorted(os.scandir(directory), key=lambda e: e.name)
            except OSError as exc:
                log.info("index: cannot list %s: %s", directory, exc)
                continue
            for entry in entries:
                path = entry.path
                try:
                    is_dir = entry.is_dir()
                    is_file = not is_dir and entry.is_file()
                except OSError:
                    continue
                if entry.is_symlink() and not _inside(os.path.realpath(path), real_root):
                    log.debug("index: %s leads out of the workspace; skipped", path)
                    continue
                rel = path[len(root.rstrip("/")) + 1 :]
                if is_dir:
                    if entry.name in SKIP_DIRS or _ignored(path + "/", specs):
                        continue
                    if excluded.match_file(rel + "/"):
                        continue
                    queue.append((path, specs))
                elif is_file:
                    if language_of_path(entry.name) is None or excluded.match_file(rel):
                        continue
                    if _ignored(path, specs):
                        continue
                    try:
                        size = entry.stat().st_size
                    except OSError:
                        continue
                    if size > caps.max_file_bytes:
                        log.debug("index: %s is %d bytes, over the cap; skipped", path, size)
                        continue
                    if count >= caps.max_files or total + size > caps.max_total_bytes:
                        log.info("index: cap reached (%d files, %d bytes); stopped", count, total)
                        return
                    count += 1
                    total += size
                    yield Found(path, size)


def _ignored(path: str, specs: Iterable[tuple[str, pathspec.PathSpec[Any]]]) -> bool:
    return any(spec.match_file(path[len(folder.rstrip("/")) + 1 :]) for folder, spec in specs)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


class Filter:
    """Whether one path may be indexed or shown (the rules of :func:`walk`, for a single path)."""

    def __init__(self, roots: Iterable[str], caps: Caps) -> None:
        self.roots = tuple(r.rstrip("/") for r in roots)
        self.caps = caps
        self._excluded = exclusion(caps.exclude_globs)

    def root_of(self, path: str) -> str | None:
        return next((r for r in self.roots if path.startswith(r + "/")), None)

    def excluded(self, path: str) -> bool:
        """Matched by ``excludeGlobs`` or inside a skipped folder (cheap: no disk access)."""
        root = self.root_of(path)
        if root is None:
            return True
        rel = path[len(root) + 1 :]
        parts = rel.split("/")
        if any(p in SKIP_DIRS for p in parts[:-1]):
            return True
        return bool(self._excluded.match_file(rel))

    def allowed(self, path: str, check_disk: bool = True) -> bool:
        """Everything :func:`walk` checks, for one file (reads ``.gitignore`` files on the way)."""
        if language_of_path(path) is None or self.excluded(path):
            return False
        if not check_disk:
            return True
        root = self.root_of(path)
        assert root is not None
        if not _inside(os.path.realpath(path), os.path.realpath(root)):
            return False
        directory = os.path.dirname(path)
        while True:
            spec = _gitignore(directory)
            if spec is not None and spec.match_file(path[len(directory) + 1 :]):
                return False
            if directory == root or len(directory) <= len(root):
                return True
            directory = os.path.dirname(directory)
