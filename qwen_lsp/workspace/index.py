"""Index: the definitions of every workspace file, built in the background and kept current.

:class:`Index` is the shared table: per file its definitions (names, line ranges, and the
rendered snippets, zlib-compressed), its imports, and maps from definition name to files and from
file and folder names to paths (for import resolution). Reads come from the event loop (a
request), writes from the worker; a lock held for one file's swap keeps them apart.

:class:`IndexWorker` is the one thread that writes it: a full build after ``initialized`` or a
change of folders or caps (walking with :mod:`.files`, reporting progress), then single files
from ``didSave``, ``didChangeWatchedFiles`` and open-document edits (re-read once the document
has been quiet for :data:`EDIT_QUIET_S`). A file that fails to decode or parse is skipped with
one log line. Nothing here runs on a keystroke's path, and no request reads the disk.
"""

from __future__ import annotations

import bisect
import logging
import os
import posixpath
import queue
import sys
import threading
import time
import zlib
from array import array
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..grammars import language_of_path
from . import files as fs
from .imports import Import, Resolved, parse, resolve
from .symbols import Definition, extract

log = logging.getLogger(__name__)

EDIT_QUIET_S = 0.5  # an open document is re-indexed once it has been unedited this long
_TEXT_CACHE = 64  # files whose snippets are kept decompressed


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One indexed file."""

    path: str
    language: str
    names: tuple[str, ...]
    rows: array[int]  # start, end (inclusive) of each definition, flattened
    blob: bytes  # zlib of the snippets joined by NUL
    imports: tuple[Import, ...]

    @staticmethod
    def build(
        path: str, language: str, defs: Sequence[Definition], imports: tuple[Import, ...]
    ) -> FileEntry:
        rows = array("I")
        for d in defs:
            rows.append(d.start)
            rows.append(d.end)
        blob = zlib.compress("\0".join(d.text for d in defs).encode("utf-8", "replace"), 6)
        names = tuple(sys.intern(d.name) for d in defs)
        return FileEntry(path, language, names, rows, blob, imports)

    def span(self, i: int) -> tuple[int, int]:
        return self.rows[2 * i], self.rows[2 * i + 1]


class Progress(Protocol):
    """Where the worker reports a build (LSP work-done progress). Called from the worker."""

    def begin(self, title: str, total: int) -> None: ...

    def report(self, done: int, total: int) -> None: ...

    def end(self, message: str) -> None: ...


class Index:
    """Definitions by file and by name, and the path tables imports resolve against."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.files: dict[str, FileEntry] = {}
        self._names: dict[str, str | list[str]] = {}  # name -> path, or paths when several
        self._basenames: dict[str, list[str]] = {}  # "x.py" -> files; "pkg/" -> folders
        self._dirs: dict[str, list[str]] = {}  # folder -> files in it
        self._sorted: list[str] = []  # every name, sorted (rebuilt by the worker)
        self._sorted_dirty = False
        self._texts: OrderedDict[str, tuple[FileEntry, list[str]]] = OrderedDict()
        self._resolved: dict[str, tuple[int, FileEntry, tuple[Resolved, ...]]] = {}
        self.layout = 0  # bumped when files appear or disappear (import resolution changes)

    # -- writes (worker) -------------------------------------------------------------------

    def put(self, entry: FileEntry) -> None:
        with self.lock:
            old = self.files.get(entry.path)
            if old is not None:
                self._unlink_names(old)
            else:
                self._add_path(entry.path)
            self.files[entry.path] = entry
            for name in set(entry.names):
                have = self._names.get(name)
                if have is None:
                    self._names[name] = entry.path
                elif isinstance(have, str):
                    if have != entry.path:
                        self._names[name] = [have, entry.path]
                elif entry.path not in have:
                    have.append(entry.path)
            self._sorted_dirty = True
            self._texts.pop(entry.path, None)

    def remove(self, path: str) -> None:
        with self.lock:
            old = self.files.pop(path, None)
            if old is None:
                return
            self._unlink_names(old)
            directory, base = posixpath.split(path)
            _discard(self._basenames, base, path)
            _discard(self._dirs, directory, path)
            self.layout += 1
            self._texts.pop(path, None)

    def clear(self) -> None:
        with self.lock:
            self.files.clear()
            self._names.clear()
            self._basenames.clear()
            self._dirs.clear()
            self._sorted = []
            self._texts.clear()
            self._resolved.clear()
            self.layout += 1

    def refresh_sorted(self) -> None:
        """Rebuild the sorted name list for prefix search (worker, after a batch)."""
        if not self._sorted_dirty:
            return
        with self.lock:
            names = list(self._names)
            self._sorted_dirty = False
        names.sort()
        self._sorted = names

    def _add_path(self, path: str) -> None:
        directory, base = posixpath.split(path)
        if directory not in self._dirs:
            name = posixpath.basename(directory)
            self._basenames.setdefault(name + "/", []).append(directory)
        self._basenames.setdefault(base, []).append(path)
        self._dirs.setdefault(directory, []).append(path)
        self.layout += 1

    def _unlink_names(self, entry: FileEntry) -> None:
        for name in set(entry.names):
            have = self._names.get(name)
            if have == entry.path:
                del self._names[name]
            elif isinstance(have, list) and entry.path in have:
                have.remove(entry.path)
                if len(have) == 1:
                    self._names[name] = have[0]

    # -- reads (requests; call with the lock held) ---------------------------------------------

    def exists(self, path: str) -> bool:
        return path in self.files

    def by_basename(self, name: str) -> Sequence[str]:
        return self._basenames.get(name, ())

    def in_dir(self, directory: str) -> Sequence[str]:
        return self._dirs.get(directory, ())

    def defining(self, name: str) -> Sequence[str]:
        """The files that define ``name``."""
        have = self._names.get(name)
        if have is None:
            return ()
        return (have,) if isinstance(have, str) else have

    def names_with_prefix(self, prefix: str, limit: int) -> list[str]:
        names = self._sorted
        i = bisect.bisect_left(names, prefix)
        out: list[str] = []
        while i < len(names) and names[i].startswith(prefix) and len(out) < limit:
            out.append(names[i])
            i += 1
        return out

    def snippets(self, entry: FileEntry) -> list[str]:
        """The rendered snippets of a file's definitions (decompressed, a few files cached)."""
        cached = self._texts.get(entry.path)
        if cached is not None and cached[0] is entry:
            self._texts.move_to_end(entry.path)
            return cached[1]
        texts = zlib.decompress(entry.blob).decode("utf-8", "replace").split("\0")
        self._texts[entry.path] = (entry, texts)
        while len(self._texts) > _TEXT_CACHE:
            self._texts.popitem(last=False)
        return texts

    def resolved(self, entry: FileEntry) -> tuple[Resolved, ...]:
        """The entry's imports resolved to indexed files (cached until files come or go)."""
        cached = self._resolved.get(entry.path)
        if cached is not None and cached[0] == self.layout and cached[1] is entry:
            return cached[2]
        found = resolve(entry.language, entry.path, entry.imports, self)
        self._resolved[entry.path] = (self.layout, entry, found)
        return found


def _discard(table: dict[str, list[str]], key: str, value: str) -> None:
    have = table.get(key)
    if have is not None and value in have:
        have.remove(value)
        if not have:
            del table[key]


def index_text(path: str, language: str | None, text: str) -> FileEntry | None:
    """A file's entry from its text; ``None`` without a grammar for it."""
    language = language or language_of_path(path)
    if language is None:
        return None
    defs = extract(language, text.encode("utf-8", "surrogatepass"))
    if defs is None:
        return None
    return FileEntry.build(path, language, defs, parse(language, text))


# -- the worker ------------------------------------------------------------------------------

Snapshot = Callable[[], tuple[str, str]]  # an open document: () -> (language id, text)


class IndexWorker:
    """The thread that builds and updates an :class:`Index`."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self._queue: queue.Queue[tuple[str, object]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._build = 0  # bumped to abandon a build in progress
        self._documents: dict[str, Snapshot] = {}  # open documents (path -> snapshot)
        self._dirty: dict[str, float] = {}  # open documents edited, path -> last edit time
        self._filter: fs.Filter | None = None
        self.building = False
        self.built = threading.Event()
        self.files_read = 0
        self.skipped = 0

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="qwen-lsp-index", daemon=True)
            self._thread.start()

    def rebuild(self, roots: Sequence[str], caps: fs.Caps, progress: Progress | None) -> None:
        self._build += 1
        self.built.clear()
        self._filter = fs.Filter(roots, caps)
        self._queue.put(("build", (self._build, tuple(roots), caps, progress)))
        self.start()

    def file(self, path: str) -> None:
        """A file changed, appeared or vanished on disk (save, watched-file event)."""
        self._queue.put(("file", path))

    def document(self, path: str, snapshot: Snapshot | None, edited: bool) -> None:
        """An open document: index it now (``edited=False``: opened) or once quiet; ``None``:
        closed (the file on disk is what counts again)."""
        if snapshot is None:
            self._documents.pop(path, None)
            self._dirty.pop(path, None)
            self._queue.put(("file", path))
            return
        self._documents[path] = snapshot
        if edited:
            self._dirty[path] = time.monotonic()
        else:
            self._queue.put(("document", path))

    def stop(self) -> None:
        self._build += 1
        self._queue.put(("stop", None))
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    def wait_idle(self, timeout: float) -> bool:
        """For tests and benchmarks: True once the build is done and every queued update ran."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.built.is_set() and self._queue.unfinished_tasks == 0 and not self._dirty:
                return True
            time.sleep(0.01)
        return False

    # -- in the thread -------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            try:
                kind, payload = self._queue.get(timeout=EDIT_QUIET_S / 2)
            except queue.Empty:
                self._flush_dirty()
                continue
            try:
                if kind == "stop":
                    return
                if kind == "build":
                    self._full_build(*payload)  # type: ignore[misc]
                elif kind == "file":
                    self._one(str(payload))
                elif kind == "document":
                    self._from_document(str(payload))
                self._flush_dirty()
                if self._queue.empty():
                    self.index.refresh_sorted()
            except Exception:  # a bug must not end indexing for the session
                log.exception("index: %s %s failed", kind, payload)
            finally:
                self._queue.task_done()

    def _flush_dirty(self) -> None:
        now = time.monotonic()
        for path, when in list(self._dirty.items()):
            if now - when >= EDIT_QUIET_S:
                self._dirty.pop(path, None)
                self._from_document(path)
        self.index.refresh_sorted()

    def _full_build(
        self, build: int, roots: tuple[str, ...], caps: fs.Caps, progress: Progress | None
    ) -> None:
        self.building = True
        started = time.monotonic()
        try:
            self.index.clear()
            found = list(fs.walk(roots, caps))
            total = len(found)
            if progress is not None:
                progress.begin("qwen-lsp", total)
            last_report = 0.0
            for done, item in enumerate(found, 1):
                if build != self._build:
                    if progress is not None:
                        progress.end("indexing restarted")
                    return  # folders or caps changed; a new build is queued
                if item.path in self._documents:
                    self._from_document(item.path)
                else:
                    self._read(item.path)
                now = time.monotonic()
                if progress is not None and (now - last_report > 0.1 or done == total):
                    progress.report(done, total)
                    last_report = now
                time.sleep(0)  # let the event loop's thread take the GIL between files
            for path in list(self._documents):  # open documents not on disk (yet)
                if path not in self.index.files and self._allowed(path, check_disk=False):
                    self._from_document(path)
            self.index.refresh_sorted()
            elapsed = time.monotonic() - started
            log.info(
                "index: %d files, %d definitions in %.1f s (%d skipped)",
                len(self.index.files),
                sum(len(e.names) for e in self.index.files.values()),
                elapsed,
                self.skipped,
            )
            if progress is not None:
                progress.end(f"indexed {len(self.index.files)} files")
        finally:
            self.building = False
            if build == self._build:
                self.built.set()

    def _allowed(self, path: str, check_disk: bool = True) -> bool:
        return self._filter is not None and self._filter.allowed(path, check_disk)

    def _one(self, path: str) -> None:
        if path in self._documents:
            self._from_document(path)
        elif os.path.isfile(path) and self._allowed(path):
            self._read(path)
        else:
            self.index.remove(path)

    def _read(self, path: str) -> None:
        try:
            with open(path, "rb") as f:
                data = f.read((self._filter.caps.max_file_bytes if self._filter else 1 << 20) + 1)
        except OSError as exc:
            log.info("index: cannot read %s: %s; skipped", path, exc)
            self.skipped += 1
            return
        if self._filter is not None and len(data) > self._filter.caps.max_file_bytes:
            self.index.remove(path)
            return
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            log.info("index: %s is not UTF-8; skipped", path)
            self.skipped += 1
            return
        self._store(path, None, text)

    def _from_document(self, path: str) -> None:
        snapshot = self._documents.get(path)
        if snapshot is None or not self._allowed(path, check_disk=False):
            return
        language, text = snapshot()
        self._store(path, language, text)

    def _store(self, path: str, language: str | None, text: str) -> None:
        try:
            entry = index_text(path, language, text)
        except Exception as exc:  # a grammar that chokes on a file
            log.info("index: %s does not parse (%s); skipped", path, exc)
            self.skipped += 1
            return
        if entry is not None:
            self.index.put(entry)
            self.files_read += 1
