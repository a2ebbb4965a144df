"""Brackets: a bracket and quote scanner, the fallback where no grammar parses the language.

* :func:`auto_closed`: the rest of the cursor line holds only what auto-pairing editors insert
  (closers, quotes, ``;``, ``,``), so the cursor is not really "mid-line";
* :func:`first_escape`: where a suggestion closes something opened before the cursor (the
  model re-typing an auto-closed ``)``), and :func:`retyped`: how many characters of the rest of
  the line that closing run covers (they are replaced, not doubled);
* :func:`excess_closers`: balance, not tail matching: how many closers prefix + text + suffix
  has beyond what prefix + suffix needed (a closing line the document already has).

Strings and comments are skipped roughly (one-line quotes, Python triple quotes, ``//``, ``#``,
``--`` and ``/* */`` where the language uses them): good enough to count brackets, not a parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CLOSERS = frozenset(")]}")
OPENERS = {"(": ")", "[": "]", "{": "}"}
_AUTO = frozenset(")]}>\"'`;,")
_QUOTES = frozenset("\"'`")
_TOKEN = re.compile(r"\\.|//|/\*|\*/|--|#|\"\"\"|'''|[\"'`()\[\]{}\n]", re.DOTALL)
_HASH = frozenset({"python", "ruby", "shellscript", "perl", "r", "yaml", "toml", "elixir", "make"})
_DASHES = frozenset({"lua", "sql", "haskell"})
_NO_SINGLE_QUOTE_STRINGS = frozenset({"rust", "ocaml"})  # 'a is a lifetime / type variable
_WINDOW = 3000


def auto_closed(rest: str) -> bool:
    """The rest of the line is only closers, quotes, ``;`` and ``,`` (and at least one)."""
    body = rest.strip()
    return bool(body) and all(c in _AUTO or c in " \t" for c in body)


@dataclass(slots=True)
class Scanner:
    """Bracket and string state over text fed in order."""

    language: str = ""
    stack: list[str] = field(default_factory=list)  # the openers still open
    quote: str = ""  # the string being read ('"', "'", '`', '\"\"\"', "'''")
    comment: str = ""  # "line" or "block"
    unmatched: int = 0  # closers with nothing open to close

    def feed(self, text: str, stop_below: int | None = None) -> int:
        """Scan ``text``; with ``stop_below``, return the index of the first closer that takes
        the depth below it (or that ends the string the scan started in), else -1."""
        start_quote = self.quote
        for match in _TOKEN.finditer(text):
            tok = match.group()
            if tok == "\n":
                if self.comment == "line":
                    self.comment = ""
                if self.quote in ('"', "'"):
                    self.quote = ""
                continue
            if self.comment:
                if self.comment == "block" and tok == "*/":
                    self.comment = ""
                continue
            if self.quote:
                if tok == self.quote:
                    self.quote = ""
                    if stop_below is not None and start_quote and tok == start_quote:
                        return match.start()
                continue
            if tok in OPENERS:
                self.stack.append(tok)
            elif tok in CLOSERS:
                if self.stack and OPENERS[self.stack[-1]] == tok:
                    self.stack.pop()
                else:
                    self.unmatched += 1
                if stop_below is not None and len(self.stack) - self.unmatched < stop_below:
                    return match.start()
            elif tok in _QUOTES or tok in ('"""', "'''"):
                if not (tok == "'" and self.language in _NO_SINGLE_QUOTE_STRINGS):
                    self.quote = tok
            elif (
                (tok == "#" and self.language in _HASH)
                or (tok == "--" and self.language in _DASHES)
                or (tok == "//" and self.language not in _HASH | _DASHES)
            ):
                self.comment = "line"
            elif tok == "/*" and self.language not in _HASH | _DASHES:
                self.comment = "block"
        return -1


def first_escape(text: str, line_prefix: str, language: str) -> int:
    """Index in ``text`` of the first character that closes a bracket opened before the cursor
    (or the string the cursor is in), or -1."""
    before = Scanner(language)
    before.feed(line_prefix)
    scanner = Scanner(language, quote=before.quote)
    return scanner.feed(text, stop_below=0)


def imbalance(line: str, language: str) -> int:
    """Openers left open, closers with nothing to close and an unterminated string in a line."""
    scanner = Scanner(language)
    scanner.feed(line)
    return len(scanner.stack) + scanner.unmatched + (scanner.quote in ('"', "'", "`"))


def retyped(text: str, line_prefix: str, rest: str, language: str) -> int:
    """How many characters of ``rest`` (the auto-closed rest of the line) the text re-types:
    the replacement that leaves the cursor line best balanced, the longest among equals."""
    head = line_prefix + text
    last_line = head[head.rfind("\n") + 1 :]
    best_k, best = 0, imbalance(head + rest, language)
    for k in range(1, len(rest) + 1):
        if rest[k - 1] in " \t" or not _subsequence(rest[:k], last_line):
            continue
        score = imbalance(head + rest[k:], language)
        if score <= best:
            best_k, best = k, score
    return best_k


def _subsequence(chars: str, line: str) -> bool:
    """The non-space characters of ``chars`` appear in ``line`` in order."""
    at = 0
    for char in chars:
        if char in " \t":
            continue
        at = line.find(char, at) + 1
        if at == 0:
            return False
    return True


def excess_closers(prefix: str, text: str, suffix: str, language: str) -> int:
    """How many more closers than openers prefix + text + suffix has, beyond prefix + suffix."""

    def unmatched(middle: str) -> int:
        scanner = Scanner(language)
        scanner.feed(prefix[-_WINDOW:])
        scanner.feed(middle)
        scanner.feed(suffix[:_WINDOW])
        return scanner.unmatched

    return unmatched(text) - unmatched("")


def closing_line(line: str) -> bool:
    """A line of closers only (``}``, ``});``, ``end``)."""
    body = line.strip().rstrip(";,")
    return bool(body) and (all(c in CLOSERS for c in body) or body in ("end", "fi", "done"))
