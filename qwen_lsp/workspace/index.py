"""Index: the definitions of every workspace file, built in the background and kept current.

:class:`Index` is the shared table: per file one packed :class:`FileEntry` (definition names,
line ranges, rendered snippets and imports in one zlib blob, decompressed for the few files a
request looks at), a map from definition name to files, and maps from file and folder names to
paths (for import resolution). Reads come from the event loop (a request), writes from the
worker; a lock held for one file's swap keeps them apart.

:class:`IndexWorker` is the one thread that writes it: a full build after ``initialized`` or a
change of folders or caps (walking with :mod:`.files`, parsing in a child process for a big
build (:mod:`.builder`), reporting progress), then single files from ``didSave``,
``didChangeWatchedFiles`` and open-document edits (re-read once the document has been quiet for
:data:`EDIT_QUIET_S`). A file that fails to decode or parse is skipped with one log line.
Nothing here runs on a keystroke's path, and no request reads the disk.
"""

from __future__ import annotations

import bisect
import contextlib
import ctypes
import gc
import logging
import os
import posixpath
import queue
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..grammars import language_of_path
from . import files as fs
from .imports import Import, Resolved, parse, resolve
from .symbols import Definition, extract

log = logging.getLogger(__name__)

CHILD_MIN_FILES = 200  # builds this big parse in a child process (see :mod:`.builder`)
EDIT_QUIET_S = 0.5  # an open document is re-indexed once it has been unedited this long
_VIEW_CACHE = 64  # files kept decompressed


@dataclass(frozen=True, slots=True)
class Unpacked:
    """A file's definitions and imports, decompressed (kept for a few files at a time)."""

    names: tuple[str, ...]
    rows: tuple[int, ...]  # start, end (inclusive) of each definition, flattened
    texts: tuple[str, ...]  # the rendered snippets
    imports: tuple[Import, ...]

    def span(self, i: int) -> tuple[int, int]:
        return self.rows[2 * i], self.rows[2 * i + 1]


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One indexed file, packed small: its definitions and imports live in one zlib blob
    (a 5,000-file index holds a hundred thousand definitions; as objects they would cost
    several times the memory)."""

    path: str
    language: str
    count: int  # definitions
    blob: bytes

    @staticmethod
    def build(
        path: str, language: str, defs: Sequence[Definition], imports: tuple[Import, ...]
    ) -> FileEntry:
        parts = (
            "\0".join(d.name for d in defs),
            ",".join(str(row) for d in defs for row in (d.start, d.end)),
            "\0".join(
                f"{i.level}\t{i.module}\t{i.alias}\t{','.join(i.names)}\t{','.join(i.bound)}"
                for i in imports
            ),
            "\0".join(d.text.replace("\1", " ").replace("\0", " ") for d in defs),
        )
        blob = zlib.compress("\1".join(parts).encode("utf-8", "replace"), 9)
        return FileEntry(path, language, len(defs), blob)

    def unpack(self) -> Unpacked:
        names, rows, imports, texts = zlib.decompress(self.blob).decode("utf-8").split("\1")
        found: list[Import] = []
        for line in imports.split("\0") if imports else ():
            level, module, alias, taken, bound = line.split("\t")
            found.append(
                Import(
                    module,
                    tuple(taken.split(",")) if taken else (),
                    alias,
                    int(level),
                    tuple(bound.split(",")) if bound else (),
                )
            )
        return Unpacked(
            tuple(names.split("\0")) if names else (),
            tuple(int(r) for r in rows.split(",")) if rows else (),
            tuple(texts.split("\0")) if names else (),
            tuple(found),
        )

    @property
    def names(self) -> tuple[str, ...]:
        return self.unpack().names

    @property
    def imports(self) -> tuple[Import, ...]:
        return self.unpack().imports

    def span(self, i: int) -> tuple[int, int]:
        return self.unpack().span(i)


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
        self._views: OrderedDict[str, tuple[FileEntry, Unpacked]] = OrderedDict()
        self._resolved: dict[str, tuple[int, FileEntry, tuple[Resolved, ...]]] = {}
        self.layout = 0  # bumped when files appear or disappear (import resolution changes)

    # -- writes (worker) -------------------------------------------------------------------

    def put(self, entry: FileEntry, names: Sequence[str] | None = None) -> None:
        """Add or replace a file (``names``: its definitions' names, if already at hand)."""
        names = entry.names if names is None else names
        with self.lock:
            old = self.files.get(entry.path)
            if old is not None:
                self._unlink_names(old)
            else:
                self._add_path(entry.path)
            self.files[entry.path] = entry
            for name in set(names):
                if not _mapped(name):
                    continue
                have = self._names.get(name)
                if have is None:
                    self._names[name] = entry.path
                elif isinstance(have, str):
                    if have != entry.path:
                        self._names[name] = [have, entry.path]
                elif entry.path not in have:
                    have.append(entry.path)
            self._sorted_dirty = True
            self._views.pop(entry.path, None)

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
            self._views.pop(path, None)

    def clear(self) -> None:
        with self.lock:
            self.files.clear()
            self._names.clear()
            self._basenames.clear()
            self._dirs.clear()
            self._sorted = []
            self._views.clear()
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

    def view(self, entry: FileEntry) -> Unpacked:
        """The entry decompressed (the last few files asked for are kept)."""
        cached = self._views.get(entry.path)
        if cached is not None and cached[0] is entry:
            self._views.move_to_end(entry.path)
            return cached[1]
        view = entry.unpack()
        self._views[entry.path] = (entry, view)
        while len(self._views) > _VIEW_CACHE:
            self._views.popitem(last=False)
        return view

    def snippets(self, entry: FileEntry) -> tuple[str, ...]:
        """The rendered snippets of a file's definitions."""
        return self.view(entry).texts

    def resolved(self, entry: FileEntry) -> tuple[Resolved, ...]:
        """The entry's imports resolved to indexed files (cached until files come or go)."""
        cached = self._resolved.get(entry.path)
        if cached is not None and cached[0] == self.layout and cached[1] is entry:
            return cached[2]
        found = resolve(entry.language, entry.path, self.view(entry).imports, self)
        self._resolved[entry.path] = (self.layout, entry, found)
        return found


def _mapped(name: str) -> bool:
    """Whether a name goes into the name -> files map (lookups ask for 3+ characters, and
    dunder methods are everywhere: they would only cost memory)."""
    return len(name) >= 3 and not (name.startswith("__") and name.endswith("__"))


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


def read_entry(path: str, max_bytes: int) -> tuple[FileEntry | None, str]:
    """A file's entry read from disk, or ``None`` and why ("" for no grammar, too big)."""
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        return None, f"cannot be read ({exc})"
    if len(data) > max_bytes:
        return None, ""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None, "is not UTF-8"
    return index_text(path, None, text), ""


def _release_memory() -> None:
    """After a build: collect the parse trees' garbage and hand freed heap back to the system."""
    gc.collect()
    with contextlib.suppress(Exception):  # not glibc
        ctypes.CDLL("libc.so.6").malloc_trim(0)


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
        self._busy = False  # re-reading edited documents
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
        """An open document, indexed once it has been quiet (``edited=False``: just opened,
        half the wait); ``None``: closed (the file on disk is what counts again)."""
        if snapshot is None:
            self._documents.pop(path, None)
            self._dirty.pop(path, None)
            self._queue.put(("file", path))
            return
        self._documents[path] = snapshot
        # Opened or edited, the document is re-read once quiet: parsing it right away would
        # compete with the request that usually follows an open.
        self._dirty[path] = time.monotonic() - (0 if edited else EDIT_QUIET_S / 2)

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
            idle = self._queue.unfinished_tasks == 0 and not self._dirty and not self._busy
            if self.built.is_set() and idle:
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
        due = [(p, t) for p, t in list(self._dirty.items()) if now - t >= EDIT_QUIET_S]
        if not due:
            return
        self._busy = True
        try:
            for path, when in due:
                self._from_document(path)
                if self._dirty.get(path) == when:  # not edited again meanwhile
                    self._dirty.pop(path, None)
            self.index.refresh_sorted()
        finally:
            self._busy = False

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
            on_disk = [f.path for f in found if f.path not in self._documents]
            for done, (path, entry, reason) in enumerate(
                self._parse(on_disk, caps.max_file_bytes, lambda: build != self._build), 1
            ):
                if entry is not None:
                    self.index.put(entry)
                    self.files_read += 1
                elif reason:
                    log.info("index: %s %s; skipped", path, reason)
                    self.skipped += 1
                now = time.monotonic()
                if progress is not None and (now - last_report > 0.1 or done == len(on_disk)):
                    progress.report(done, total)
                    last_report = now
            if build != self._build:
                if progress is not None:
                    progress.end("indexing restarted")
                return  # folders or caps changed; a new build is queued
            for path in list(self._documents):  # open documents (on disk or not yet)
                if self._allowed(path, check_disk=False):
                    self._from_document(path)
            if progress is not None and total:
                progress.report(total, total)
            self.index.refresh_sorted()
            _release_memory()
            elapsed = time.monotonic() - started
            log.info(
                "index: %d files, %d definitions in %.1f s (%d skipped)",
                len(self.index.files),
                sum(e.count for e in self.index.files.values()),
                elapsed,
                self.skipped,
            )
            if progress is not None:
                progress.end(f"indexed {len(self.index.files)} files")
        finally:
            self.building = False
            if build == self._build:
                self.built.set()

    def _parse(
        self, paths: list[str], max_bytes: int, cancelled: Callable[[], bool]
    ) -> Iterator[tuple[str, FileEntry | None, str]]:
        """Parse files: in a child process for a big build, else (or if it fails) here."""
        done = 0
        if len(paths) >= CHILD_MIN_FILES:
            from .builder import parse_in_child

            try:
                for result in parse_in_child(paths, max_bytes, cancelled):
                    done += 1
                    yield result
                return
            except Exception as exc:  # no child process: parse the rest in this thread
                log.info("index: child parser failed (%s); parsing in the server", exc)
        for path in paths[done:]:
            if cancelled():
                return
            try:
                entry, reason = read_entry(path, max_bytes)
            except Exception as exc:
                entry, reason = None, f"does not parse ({exc})"
            yield path, entry, reason
            time.sleep(0)  # let the event loop's thread take the GIL between files

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
        max_bytes = self._filter.caps.max_file_bytes if self._filter else 1 << 20
        try:
            entry, reason = read_entry(path, max_bytes)
        except Exception as exc:
            entry, reason = None, f"does not parse ({exc})"
        if entry is not None:
            self.index.put(entry)
            self.files_read += 1
        else:
            self.index.remove(path)
            if reason:
                log.info("index: %s %s; skipped", path, reason)
                self.skipped += 1

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
