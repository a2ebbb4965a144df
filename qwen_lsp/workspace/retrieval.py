"""Retrieval: the repository snippets for one cursor, ranked and cut to ``maxRepoTokens``.

:func:`cursor_query` reads the cursor: the identifier being typed, the member-access chain
before it (``module.pre|``, ``self.client.pre|``, ``crate::a::pre|``) and the identifiers of the
nearby lines, nearest first. :func:`rank` turns that, with the current file's resolved imports
and the :class:`~.index.Index`, into candidates, in this order:

1. definitions whose names start with the typed prefix, in the resolved modules (the module the
   chain names first, then the names imported from modules, then the other imported modules);
2. definitions of identifiers used nearby (imported names first, then names defined in only a
   few files), then prefix matches anywhere in the workspace;
3. recently edited ranges of other documents;
4. the similarity windows of :mod:`qwen_lsp.snippets` (the fallback).

:func:`assemble` keeps candidates in that order while they fit the budget, skipping duplicates,
and groups them by file, the most relevant file last (nearest the current file, as Qwen's
repository-level format orders files). Everything read here is in memory.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ..context import Snippet
from ..tokens import TokenCounter
from .imports import Resolved
from .index import FileEntry, Index, Unpacked

NEARBY_BEFORE = 40  # lines above the cursor whose identifiers count as "used nearby"
NEARBY_AFTER = 10
MAX_NEARBY = 40  # identifiers looked up
MAX_DEFINERS = 4  # a nearby name defined in more files than this is too common to guess
MAX_PREFIX = 8  # prefix matches taken per tier
MAX_SNIPPETS = 16
MAX_FILES_VIEWED = 16  # files whose definitions one request looks at
MAX_TRIED = 48  # candidates weighed at most (each costs a token count)

_IDENT = re.compile(r"[A-Za-z_$][\w$]*")
_TYPED = re.compile(r"[A-Za-z_$][\w$]*$")
_CHAIN = re.compile(r"((?:[A-Za-z_$][\w$]*\s*(?:\.|::|->)\s*)+)$")
_CHAIN_PART = re.compile(r"[A-Za-z_$][\w$]*")

KEYWORDS = frozenset(
    """
    and as assert async await break case catch class const continue def default del defer do
    elif else enum except export extends false final finally fn for from func function go if impl
    import in interface is lambda let match mod mut new nil none not null or package pass pub
    raise return self static struct super switch this throw trait true try type typeof use var
    void where while with yield None True False int str float bool list dict set tuple bytes
    string number boolean any object char long short unsigned signed auto include define
    """.split()  # noqa: SIM905
)


@dataclass(frozen=True, slots=True)
class CursorQuery:
    typed: str  # the identifier left of the cursor ("" when none)
    chain: tuple[str, ...]  # names before it: `a.b.pre|` -> ("a", "b")
    nearby: tuple[str, ...]  # identifiers of the nearby lines, nearest first


def cursor_query(lines: Sequence[str], row: int, index: int) -> CursorQuery:
    """What the cursor is typing and what is around it (pure)."""
    head = lines[row][:index]
    typed_match = _TYPED.search(head)
    typed = typed_match.group(0) if typed_match else ""
    rest = head[: len(head) - len(typed)]
    chain_match = _CHAIN.search(rest)
    chain = tuple(_CHAIN_PART.findall(chain_match.group(1))) if chain_match else ()
    seen: set[str] = {typed}
    nearby: list[str] = []
    order = [row]
    for d in range(1, NEARBY_BEFORE + 1):
        if row - d >= 0:
            order.append(row - d)
        if d <= NEARBY_AFTER and row + d < len(lines):
            order.append(row + d)
    for r in order:
        text = lines[r][:index] if r == row else lines[r]
        if len(text) > 400:
            text = text[:400]
        for name in reversed(_IDENT.findall(text)) if r <= row else _IDENT.findall(text):
            if name not in seen and len(name) >= 3 and name not in KEYWORDS:
                seen.add(name)
                nearby.append(name)
        if len(nearby) >= MAX_NEARBY:
            break
    return CursorQuery(typed, chain, tuple(nearby[:MAX_NEARBY]))


@dataclass(frozen=True, slots=True)
class Candidate:
    path: str  # absolute
    start: int  # first line, for ordering and dedup
    end: int
    text: str
    tier: int


def rank(
    query: CursorQuery,
    current: str,
    resolved: Sequence[Resolved],
    index: Index,
) -> list[Candidate]:
    """Definition candidates (tiers 1 and 2), best first. Call with ``index.lock`` held."""
    out: list[Candidate] = []
    taken: set[tuple[str, int]] = set()
    viewed: set[str] = set()

    def view(entry: FileEntry) -> Unpacked | None:
        """The file's definitions, unless this request has already looked into enough files
        (each costs a decompression; the first ones are the most relevant)."""
        if entry.path not in viewed:
            if len(viewed) >= MAX_FILES_VIEWED:
                return None
            viewed.add(entry.path)
        return index.view(entry)

    def add(entry: FileEntry, i: int, tier: int) -> None:
        unpacked = view(entry)
        if unpacked is None:
            return
        start, end = unpacked.span(i)
        if (entry.path, start) in taken:
            return
        taken.add((entry.path, start))
        out.append(Candidate(entry.path, start, end, unpacked.texts[i], tier))

    def with_prefix(
        paths: Iterable[str], prefix: str, limit: int, only: Iterable[str] = ()
    ) -> None:
        wanted = set(only)
        for path in paths:
            entry = index.files.get(path)
            if entry is None or path == current:
                continue
            taken_here = 0
            unpacked = view(entry)
            for i, name in enumerate(unpacked.names if unpacked else ()):
                if name.startswith(prefix) and (not wanted or name in wanted):
                    add(entry, i, 1)
                    taken_here += 1
                    if taken_here >= limit:
                        break

    def named(paths: Iterable[str], name: str, tier: int) -> None:
        """The first definition of ``name`` in each of ``paths``."""
        for path in paths:
            entry = index.files.get(path)
            if entry is None or path == current:
                continue
            found = view(entry)
            names = list(found.names) if found else []
            if name in names:
                add(entry, names.index(name), tier)

    typed = query.typed
    resolved_paths = [p for r in resolved for p in r.paths]
    if typed or query.chain:
        owner = query.chain[-1] if query.chain else ""
        if owner:  # `module.pre|`: the module bound to that name
            for r in resolved:
                if r.alias == owner or (r.alias.split(".")[-1] == owner):
                    with_prefix(r.paths, typed, MAX_PREFIX)
        if typed:
            for r in resolved:  # `from m import name`: names that start with the prefix
                names = [n for n in r.names if n.startswith(typed)]
                if names:
                    with_prefix(r.paths, typed, MAX_PREFIX, names)
            if not query.chain or not out:
                with_prefix(resolved_paths, typed, MAX_PREFIX)

    # Tier 2: what the nearby identifiers are.
    imported = {n: r.paths for r in resolved for n in r.names}
    resolved_set = set(resolved_paths)
    for name in query.nearby:
        paths = imported.get(name)
        definers = index.defining(name)
        if not definers:
            continue
        if paths is None:
            near = [p for p in definers if p in resolved_set]
            if near:
                paths = tuple(near)
            elif len(definers) <= MAX_DEFINERS:
                paths = tuple(definers)
            else:
                continue
        named(paths[:2], name, 2)
    if len(typed) >= 3:  # anywhere in the workspace, when the imports did not say
        for name in index.names_with_prefix(typed, MAX_PREFIX):
            definers = index.defining(name)
            if len(definers) > MAX_DEFINERS:
                continue
            named(definers, name, 2)
    return out


def tokens_of(text: str, count: TokenCounter) -> int:
    """Tokens of a snippet, counted line by line (the counter caches lines)."""
    return sum(count(line) for line in text.splitlines(keepends=True))


def assemble(
    candidates: Iterable[Candidate],
    relative: dict[str, str],
    budget: int,
    count: TokenCounter,
    fallback: Callable[[int], Iterable[Candidate]] | None = None,
) -> tuple[Snippet, ...]:
    """Candidates in order while they fit ``budget`` tokens, grouped by file, best file last.

    ``relative`` maps each candidate's path to the path the prompt shows. ``fallback`` is asked
    for more candidates (with the tokens left) when the others leave a quarter of the budget.
    """
    chosen: list[Candidate] = []
    seen_text: set[str] = set()
    spans: dict[str, list[tuple[int, int]]] = {}
    files_paid: set[str] = set()
    used = 0

    def take(pool: Iterable[Candidate]) -> None:
        nonlocal used
        tried = 0
        for c in pool:
            tried += 1
            if len(chosen) >= MAX_SNIPPETS or (used and budget - used < 16) or tried > MAX_TRIED:
                break
            key = c.text.strip()
            if not key or key in seen_text:
                continue
            inside = any(a <= c.start and c.end <= b for a, b in spans.get(c.path, ()))
            if inside and not c.text.rstrip().endswith("..."):
                continue  # inside a definition already shown whole
            cost = tokens_of(c.text, count) + 1
            if c.path not in files_paid:
                cost += count(relative.get(c.path, c.path)) + 2
            if used + cost > budget:
                continue
            used += cost
            files_paid.add(c.path)
            seen_text.add(key)
            chosen.append(c)
            spans.setdefault(c.path, []).append((c.start, c.end))

    take(candidates)
    if fallback is not None and budget - used >= budget // 4:
        take(fallback(budget - used))
    order: list[str] = []
    for c in chosen:
        if c.path not in order:
            order.append(c.path)
    snippets: list[Snippet] = []
    for path in reversed(order):  # most relevant last
        parts = sorted((c for c in chosen if c.path == path), key=lambda c: c.start)
        text = "\n\n".join(c.text.rstrip("\n") for c in parts)
        snippets.append(Snippet(relative.get(path, path), text))
    return tuple(snippets)
