"""Indentation: the last-resort extent rules, and the line shapes the other rules share.

Used on every reply (cheap, and the only rules while streaming); the syntax check then picks the
longest cut point within what these rules allow:

* after a block opener left of the cursor (``def f():|``, ``{|``), the block: it ends where
  indentation returns to the opener's level; a closing line at that level (``}``, ``end``) is
  kept;
* otherwise the statements at the cursor's level: the text ends where indentation drops below
  the first line's;
* a line that continues the enclosing statement never ends it (``} else {``, ``elif``,
  ``} catch``, ``.then(``);
* a completion that started a definition stops before the next definition at its level (a new
  sibling nobody asked for).
"""

from __future__ import annotations

import functools
import re

_BLOCK_CLOSER = re.compile(r"^(?:[}\])]|end\b|fi\b|done\b|esac\b)")
_OPENER = re.compile(r"(?:[:{(\[]|=>|->|\bdo|\bthen|\bbegin)\s*(?:#.*|//.*)?$")
# Blocks that languages like Ruby, Lua or Elixir open with a keyword and close with `end`.
_KEYWORD_OPENER = re.compile(
    r"^\s*(?:(?:local\s+)?function|def|defp|class|module|if|unless|while|until|for|case)\b"
)
_CONTINUATION = re.compile(
    r"^\s*(?:[}\])]+\s*)?(?:else\b|elif\b|elsif\b|elseif\b|except\b|catch\b|finally\b|rescue\b"
    r"|ensure\b|when\b|case\b|default\b|\.(?!\.\.)|\?|&&|\|\||\+(?!\+)|\bor\b|\band\b)"
)
_DEFINITION = re.compile(
    r"^\s*(?:export\s+)?(?:default\s+)?(?:pub(?:\([\w:]+\))?\s+)?(?:async\s+)?(?:static\s+)?"
    r"(?:def|class|function|func|fn|impl|struct|enum|trait|interface|module|local\s+function"
    r"|@\w+)\b"
)


# C, C++, Java, C# style: a signature with a parameter list and the body's brace (or nothing).
_SIGNATURE = re.compile(
    r"^\s*(?!(?:if|for|while|switch|return|else|do|catch|try|new|sizeof|throw|case)\b)"
    r"(?:[\w*&:<>\[\],.?]+\s+)+[*&]*~?[\w:]+\s*\([^;{}]*\)\s*"
    r"(?:const\s*|noexcept\s*|override\s*|throws\s+[\w., ]+)*(?:->\s*[\w:<>*&]+\s*)?\{?\s*$"
)


_CONTAINER = re.compile(
    r"^\s*(?:export\s+)?(?:pub(?:\([\w:]+\))?\s+)?(?:(?:public|private|protected|abstract|final|static)\s+)*"
    r"(?:class|module|impl|struct|enum|trait|interface|namespace|object)\b"
)


# JavaScript/TypeScript class methods: `name(args): Type {`.
_METHOD = re.compile(
    r"^\s*(?!(?:if|for|while|switch|catch|with|return|function)\b)"
    r"(?:(?:public|private|protected|static|async|get|set|readonly|override)\s+)*"
    r"[\w$]+\s*(?:<[^>]*>)?\s*\([^;]*\)\s*(?::\s*[^{;=]+)?\{\s*$"
)


def width(line: str) -> int:
    """Indentation in columns (a tab counts four)."""
    if not line or line[0] not in " \t":
        return 0
    ws = line[: len(line) - len(line.lstrip(" \t"))]
    return len(ws) if "\t" not in ws else len(ws.expandtabs(4))


def opens_block(line_prefix: str) -> bool:
    head = line_prefix.rstrip()
    return bool(head) and bool(_OPENER.search(head) or _KEYWORD_OPENER.match(head))


def continues(line: str) -> bool:
    """The line continues the statement above it (``} else {``, ``.then(``, ``elif x:``)."""
    return _CONTINUATION.match(line) is not None


_CONTINUATION_WORDS = (
    "else", "elif", "elsif", "elseif", "except", "catch", "finally", "rescue", "ensure",
    "when", "case", "default", "or", "and",
)  # fmt: skip


def may_continue(partial: str) -> bool:
    """A line not complete yet could still turn out to continue the statement above."""
    rest = partial.lstrip(" \t}])")
    if not rest:
        return True
    if rest[0] in ".?&|+":
        return True
    word = rest.split(None, 1)[0] if rest.strip() else rest
    return any(w.startswith(word) or word.startswith(w) for w in _CONTINUATION_WORDS)


def is_definition(line: str) -> bool:
    return any(r.match(line) is not None for r in (_DEFINITION, _SIGNATURE, _METHOD))


@functools.lru_cache(maxsize=8)
def floor(prefix: str, base: int) -> int:
    """The least indentation the statements at the cursor's level may return to.

    Inside a function the text may run on through the rest of its body, and through the bodies
    of the functions it is nested in (the suffix-aware limit stops it where it meets what
    follows): down to the body of the outermost function around the cursor. A class or module
    around it is not crossed, so a new method after the body is a new sibling. Outside any
    definition, the cursor line's level.

    Never above ``base``, so at column 0 there is nothing to scan. Remembered for the last few
    prefixes: the stream cutter and the final pass ask it for the same reply."""
    if base <= 0:
        return base
    level: int | None = None
    below = base
    for line in reversed(prefix[-8000:].split("\n")[:-1]):
        if not line.strip():
            continue
        w = width(line)
        if w >= below:
            continue  # inside a block that is already closed, or at the cursor's level
        if is_definition(line):
            if _CONTAINER.match(line):
                break
            level = w + 1
        if w == 0:
            break
        below = w  # an enclosing block opens above
    return base if level is None else min(level, base)


def first_width(lines: list[str], line_prefix: str) -> int | None:
    first = line_prefix + lines[0]
    return next((width(ln) for ln in [first, *lines[1:]] if ln.strip()), None)


def limit(
    lines: list[str], line_prefix: str, final: bool, least: int | None = None
) -> tuple[int, bool]:
    """How many of ``lines`` (the text split at line breaks) to keep, and whether that cut is
    certain (a later line can't change it). Only complete lines can end the scope.

    ``least``: the :func:`floor` for statements at the cursor's level (default: the first
    line's indentation)."""
    first = line_prefix + lines[0]
    nonblank = [ln for ln in [first, *lines[1:]] if ln.strip()]
    if not nonblank:
        return len(lines), False
    base = width(nonblank[0])
    opener = opens_block(line_prefix)
    definition = is_definition(nonblank[0])
    seen_body = False
    for i in range(1, len(lines)):
        line = lines[i]
        if not line.strip():
            continue
        if not final and i == len(lines) - 1:
            break
        w = width(line)
        if w > base:
            seen_body = True
        if continues(line) and w >= (base if opener else min(base, least or 0) - 4):
            continue
        if opener and w <= base:
            if w == base and _BLOCK_CLOSER.match(line.strip()):
                return i + 1, True
            return i, True
        if not opener and w < (base if least is None else least):
            # A closing line may be one the document lacks: the syntax check or the bracket
            # balance decides whether it stays.
            end = i
            while end < len(lines) and (end < len(lines) - 1 or final):
                if not _BLOCK_CLOSER.match(lines[end].strip()):
                    break
                end += 1  # closing lines in a row: the syntax check decides how many stay
            return end, True
        if definition and seen_body and w == base and is_definition(line):
            return i, True
    return len(lines), False
