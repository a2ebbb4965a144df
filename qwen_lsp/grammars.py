"""Grammars: tree-sitter languages, loaded lazily, shared by the stages that read code's structure.

Beside the pipeline, like ``config``: ``postprocess`` parses a window around the cursor to choose
where a suggestion ends, ``workspace`` reads definitions from the files of the workspace. Both ask
this module for a :class:`Grammar` by LSP language id (or by file name) and get ``None`` for a
language without a grammar, or when its wheel is missing or broken: callers then use their
fallback rules. Each grammar is loaded once per process, on first use; a parser is kept per thread
(tree-sitter parsers are not thread-safe, and the index is built in a worker thread).

The grammars are the per-language wheels on PyPI (``tree-sitter-python``...). Their
``queries/*.scm`` files are read from the wheel; a language whose queries extend another's
(TypeScript extends JavaScript) gets both, the base first.
"""

from __future__ import annotations

import importlib
import logging
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["Grammar", "grammar", "language_of_path", "parse", "suffixes"]


@dataclass(frozen=True, slots=True)
class _Spec:
    module: str  # the wheel's import name
    function: str = "language"  # the function that returns the language pointer
    inherits: tuple[str, ...] = ()  # grammar names whose queries come first


# Grammar name -> where to find it.
_SPECS: dict[str, _Spec] = {
    "python": _Spec("tree_sitter_python"),
    "javascript": _Spec("tree_sitter_javascript"),
    "typescript": _Spec("tree_sitter_typescript", "language_typescript", ("javascript",)),
    "tsx": _Spec("tree_sitter_typescript", "language_tsx", ("javascript",)),
    "go": _Spec("tree_sitter_go"),
    "rust": _Spec("tree_sitter_rust"),
    "java": _Spec("tree_sitter_java"),
    "c": _Spec("tree_sitter_c"),
    "cpp": _Spec("tree_sitter_cpp"),
    "ruby": _Spec("tree_sitter_ruby"),
    "lua": _Spec("tree_sitter_lua"),
}

# LSP language ids (as editors send them in didOpen) -> grammar name.
_LANGUAGE_IDS: dict[str, str] = {
    "python": "python",
    "javascript": "javascript",
    "javascriptreact": "javascript",  # tree-sitter-javascript parses JSX
    "typescript": "typescript",
    "typescriptreact": "tsx",
    "go": "go",
    "rust": "rust",
    "java": "java",
    "c": "c",
    "cpp": "cpp",
    "cuda-cpp": "cpp",
    "objective-cpp": "cpp",
    "ruby": "ruby",
    "lua": "lua",
}

# File name endings -> LSP language id (for files on disk, which have no language id).
_SUFFIXES: dict[str, str] = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascriptreact",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "typescriptreact",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".c++": "cpp",
    ".hh": "cpp",
    ".hpp": "cpp",
    ".hxx": "cpp",
    ".rb": "ruby",
    ".lua": "lua",
}


@dataclass(eq=False, slots=True)
class Grammar:
    """One loaded tree-sitter language and the query files its wheel ships."""

    name: str
    language: Any  # tree_sitter.Language (typed loosely: the import is lazy)
    query_dirs: tuple[Path, ...]  # the base languages' query folders first
    _local: threading.local = field(default_factory=threading.local, repr=False)
    _queries: dict[str, Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def parser(self) -> Any:
        """This thread's parser for the language (a ``tree_sitter.Parser``)."""
        parser = getattr(self._local, "parser", None)
        if parser is None:
            from tree_sitter import Parser

            parser = self._local.parser = Parser(self.language)
        return parser

    def parse(self, source: bytes) -> Any:
        """Parse UTF-8 source into a ``tree_sitter.Tree``."""
        return self.parser().parse(source)

    def query(self, name: str) -> Any | None:
        """The compiled ``queries/{name}.scm`` (``tree_sitter.Query``), or ``None`` if the wheel
        ships none or it does not compile. Compiled once per grammar."""
        with self._lock:
            if name in self._queries:
                return self._queries[name]
            sources = [d / f"{name}.scm" for d in self.query_dirs]
            text = "\n".join(p.read_text("utf-8") for p in sources if p.is_file())
            compiled: Any | None = None
            if text.strip():
                try:
                    from tree_sitter import Query

                    compiled = Query(self.language, text)
                except Exception as exc:  # a wheel whose query needs another grammar's nodes
                    log.warning("tree-sitter %s: %s.scm does not compile: %s", self.name, name, exc)
            self._queries[name] = compiled
            return compiled


def grammar(language_id: str) -> Grammar | None:
    """The grammar for an LSP language id, or ``None`` (unknown language, wheel missing)."""
    name = _LANGUAGE_IDS.get(language_id)
    return None if name is None else _load(name)


def language_of_path(path: str) -> str | None:
    """The LSP language id for a file name (``src/app.tsx`` → ``typescriptreact``), or ``None``."""
    return _SUFFIXES.get(PurePosixPath(path).suffix.lower())


def suffixes() -> tuple[str, ...]:
    """Every file name ending that has a grammar (``.py``, ``.ts``...)."""
    return tuple(_SUFFIXES)


def parse(language_id: str, source: str | bytes) -> Any | None:
    """Parse ``source`` with the language's grammar; ``None`` without one."""
    found = grammar(language_id)
    if found is None:
        return None
    return found.parse(
        source.encode("utf-8", "surrogatepass") if isinstance(source, str) else source
    )


_load_lock = threading.Lock()


@cache
def _query_dir(name: str) -> Path | None:
    spec = _SPECS[name]
    try:
        module = importlib.import_module(spec.module)
    except ImportError:
        return None
    return Path(module.__file__ or "").parent / "queries"


@cache
def _load(name: str) -> Grammar | None:
    spec = _SPECS[name]
    with _load_lock:
        try:
            from tree_sitter import Language

            module = importlib.import_module(spec.module)
            language = Language(getattr(module, spec.function)())
        except Exception as exc:  # missing wheel, ABI mismatch: callers use their fallback
            log.warning("tree-sitter grammar %s unavailable: %s", name, exc)
            return None
    dirs = [_query_dir(base) for base in spec.inherits] + [_query_dir(name)]
    return Grammar(name, language, tuple(d for d in dirs if d is not None))
