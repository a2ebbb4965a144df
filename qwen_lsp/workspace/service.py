"""The workspace service: the one object the engine asks about the repository.

:class:`Workspace` owns the roots, the index and its worker, the recent documents and their
edits, and the similarity windows; the engine tells it what happens (documents opened, edited,
saved, closed; watched files changed; folders and settings changed; ``initialized``) and asks
:meth:`Workspace.snippets` for a cursor's repository context. Requests read only memory: the
index is built and updated in the worker thread.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from pathlib import PurePosixPath

from ..config import Settings
from ..context import Snippet
from ..documents import Change, Document
from ..snippets import SnippetIndex, Source, select_snippets
from ..tokens import TokenCounter
from . import files as fs
from .imports import Resolved, parse, resolve
from .index import Index, IndexWorker, Progress
from .recent import Recent
from .retrieval import Candidate, assemble, cursor_query, rank
from .roots import Roots, uri_to_path

log = logging.getLogger(__name__)

__all__ = ["Progress", "Workspace"]

MAX_SOURCES = 16  # most recently used documents searched for similarity windows
MAX_SOURCE_LINES = 20_000  # larger files lend no windows (cutting them would stall a keystroke)
IMPORT_SCAN_LINES = 1000  # an open document not indexed yet: imports read from its head


def caps_of(settings: Settings) -> fs.Caps:
    return fs.Caps(
        max_files=settings.index_max_files,
        max_file_bytes=settings.index_max_file_bytes,
        max_total_bytes=settings.index_max_total_bytes,
        exclude_globs=settings.exclude_globs,
    )


class Workspace:
    """Roots, index, recent documents: the repository context for a cursor."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.roots = Roots()
        self.index = Index()
        self.worker = IndexWorker(self.index)
        self.recent = Recent()
        self._windows = SnippetIndex()
        self._caps = caps_of(settings) if settings is not None else fs.Caps()
        self._filter = fs.Filter((), self._caps)
        self._enabled = settings.index_enabled if settings is not None else True
        self._progress: Progress | None = None
        self._started = False
        self._imports: dict[str, tuple[int, tuple[Resolved, ...]]] = {}  # uri -> (layout, ...)
        self._excluded: dict[str, bool] = {}

    # -- what happens --------------------------------------------------------------------------

    def set_roots(self, folders: Iterable[str]) -> None:
        if self.roots.set(folders):
            self._filter = fs.Filter(self.roots.folders, self._caps)
            self._excluded.clear()
            self._rebuild()

    def configure(self, settings: Settings) -> None:
        caps = caps_of(settings)
        enabled = settings.index_enabled
        if caps != self._caps or enabled != self._enabled:
            self._caps, self._enabled = caps, enabled
            self._filter = fs.Filter(self.roots.folders, caps)
            self._excluded.clear()
            self._rebuild()

    def start(self, progress: Progress | None = None) -> None:
        """``initialized``: build the index in the background."""
        self._progress = progress
        self._started = True
        self._rebuild()

    def _rebuild(self) -> None:
        if not self._started:
            return
        # Without indexEnabled nothing is read from disk, but open documents are still indexed.
        caps = self._caps if self._enabled else dataclasses.replace(self._caps, max_files=0)
        self.worker.rebuild(self.roots.folders, caps, self._progress if self._enabled else None)

    def opened(self, doc: Document) -> None:
        self.recent.opened(doc)
        self._track(doc, edited=False)

    def edited(self, doc: Document, changes: Iterable[Change]) -> None:
        changes = list(changes)
        self.recent.edited(doc, changes)
        self._track(doc, edited=True)

    def closed(self, uri: str) -> None:
        self.recent.closed(uri)
        path = self._indexable(uri)
        if path is not None and self._started:
            self.worker.document(path, None, edited=False)

    def saved(self, uri: str) -> None:
        path = self._indexable(uri)
        if path is not None and self._started:
            self.worker.file(path)

    def files_changed(self, uris: Iterable[str]) -> None:
        """``workspace/didChangeWatchedFiles``: re-read (or drop) each file."""
        for uri in uris:
            path = self._indexable(uri)
            if path is not None and self._started:
                self.worker.file(path)

    def _track(self, doc: Document, edited: bool) -> None:
        path = self._indexable(doc.uri)
        if path is None or not self._started:
            return

        def snapshot(doc: Document = doc) -> tuple[str, str]:
            return doc.language_id, "".join(list(doc.lines))

        self.worker.document(path, snapshot, edited)

    def _indexable(self, uri: str) -> str | None:
        path = uri_to_path(uri)
        if path is None or self.roots.root_of_path(path) is None:
            return None
        return path

    def close(self) -> None:
        self.worker.stop()

    # -- what the model sees -------------------------------------------------------------------

    def root_of(self, uri: str) -> str | None:
        return self.roots.root_of(uri)

    def relative_path(self, uri: str) -> str:
        return self.roots.relative_path(uri)

    def repo_name(self, uri: str) -> str:
        root = self.roots.root_of(uri)
        return PurePosixPath(root).name if root else ""

    def shown(self, uri: str) -> bool:
        """Whether a document may lend context: inside the workspace and not excluded."""
        hit = self._excluded.get(uri)
        if hit is None:
            path = uri_to_path(uri)
            hit = path is None or self._filter.excluded(path)
            if len(self._excluded) > 4096:
                self._excluded.clear()
            self._excluded[uri] = hit
        return not hit

    def snippets(
        self,
        doc: Document,
        row: int,
        index: int,
        similar_to: str,
        budget: int,
        count: TokenCounter,
    ) -> tuple[Snippet, ...]:
        """Repository context for a cursor in ``doc``, within ``budget`` tokens, best last."""
        if budget <= 0 or self.roots.root_of(doc.uri) is None:
            return ()
        current = uri_to_path(doc.uri) or ""
        query = cursor_query(doc.lines, row, index)
        candidates: list[Candidate] = []
        relative: dict[str, str] = {}
        if self.index.files:
            with self.index.lock:
                resolved = self._resolved(doc, current)
                candidates = rank(query, current, resolved, self.index)
        for edit in self.recent.edited_snippets(doc.uri):
            if self.shown(edit.uri):
                path = uri_to_path(edit.uri) or edit.uri
                lines = edit.text.count("\n")
                candidates.append(Candidate(path, edit.start, edit.start + lines, edit.text, 3))
        for c in candidates:
            if c.path not in relative:
                relative[c.path] = self.roots.relative(c.path)

        def windows(left: int) -> list[Candidate]:
            chosen = select_snippets(similar_to, self._sources(doc.uri), left, count, self._windows)
            out = []
            for w in reversed(chosen):  # best first
                out.append(Candidate("\0" + w.path, -1, -1, w.text, 4))
                relative["\0" + w.path] = w.path
            return out

        return assemble(candidates, relative, budget, count, windows)

    def _resolved(self, doc: Document, current: str) -> tuple[Resolved, ...]:
        entry = self.index.files.get(current)
        if entry is not None:
            return self.index.resolved(entry)
        cached = self._imports.get(doc.uri)
        if cached is not None and cached[0] == self.index.layout:
            return cached[1]
        head = "".join(doc.lines[:IMPORT_SCAN_LINES])
        found = resolve(doc.language_id, current, parse(doc.language_id, head), self.index)
        self._imports[doc.uri] = (self.index.layout, found)
        if len(self._imports) > 64:
            self._imports.pop(next(iter(self._imports)))
        return found

    def _sources(self, current: str) -> list[Source]:
        """Other documents inside the workspace, the most recently used first."""
        sources: list[Source] = []
        for other in self.recent.documents():
            uri = other.uri
            if uri == current or len(other.lines) > MAX_SOURCE_LINES:
                continue
            if self.roots.root_of(uri) is not None and self.shown(uri):
                sources.append(Source((uri, other.version), self.relative_path(uri), other.lines))
                if len(sources) == MAX_SOURCES:
                    break
        return sources

    def wait_indexed(self, timeout: float = 60.0) -> bool:
        """For tests and benchmarks: block until the worker is idle."""
        return self.worker.wait_idle(timeout)
