"""Extent: where a suggestion ends (the central step of ``postprocess``).

The cheap rules run first, on the stream as it arrives and on the whole reply, and give an upper
bound with a flag saying whether it is certain (a later line cannot move it):

* **mid-line** (text right of the cursor that an editor did not auto-insert): one line;
* **auto-closed** rest of line (only closers, quotes, ``;``, ``,``): multi-line text is fine;
  where the text closes what was open at the cursor (it re-types the auto-closed ``)``) the
  statement is finished: the suggestion ends with that line (unless the next line continues the
  statement) and replaces the re-typed characters instead of doubling them;
* **suffix-aware limit**: the text stops where it starts re-writing the lines that already
  follow the cursor; a first line equal to the next document line leaves nothing to suggest;
* the **indentation** rules (:mod:`.indentation`).

On the whole reply, :mod:`.syntax` then chooses the longest line boundary within that bound
after which the document parses as well as before; without a grammar, :mod:`.brackets` drops
closing lines the document already has (balance).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..context import Context
from . import brackets, indentation, syntax

_TRAILING = re.compile(r"[\s;,]+$")
_WORD = re.compile(r"\w")


@dataclass(frozen=True, slots=True)
class Scoped:
    text: str
    replace: int  # characters right of the cursor that the text re-types
    certain: bool  # the cut point has been seen: nothing later can change the result


def _norm(line: str) -> str:
    return _TRAILING.sub("", line.strip())


def _following(ctx: Context, count: int = 2) -> list[str]:
    """The next non-blank lines after the cursor line (as written)."""
    found: list[str] = []
    for line in ctx.suffix.split("\n", 40)[1:40]:
        if line.strip():
            found.append(line.rstrip())
            if len(found) == count:
                break
    return found


def _suffix_limit(lines: list[str], ctx: Context, final: bool) -> tuple[int, bool]:
    """Where the text starts writing what follows the cursor: (lines to keep, certain).

    A line of words matches the next document line ignoring indentation and a trailing ``;`` or
    ``,``, and the line after it must match too (when both exist); a first line must match with
    its indentation. A lone closer (``}``) matches only with the same indentation."""
    following = _following(ctx)
    if not following or ctx.line_suffix.strip():
        return len(lines), False
    target = _norm(following[0])
    exact = following[0].rstrip().rstrip(";,")
    trivial = not _WORD.search(target) or brackets.closing_line(target)
    complete = len(lines) if final else len(lines) - 1
    first = True
    for i in range(complete):
        line = (ctx.line_prefix if i == 0 else "") + lines[i]
        if not line.strip():
            continue
        if trivial:
            hit = not first and line.rstrip() == following[0]
        else:
            hit = (line.rstrip().rstrip(";,") == exact) if first else (_norm(line) == target)
            if hit:
                nxt = next((j for j in range(i + 1, len(lines)) if lines[j].strip()), None)
                if (nxt is None and not final) or (nxt is not None and nxt >= complete):
                    return i, False  # wait for the next line to confirm
                if nxt is None or len(following) < 2:
                    hit = line.rstrip().rstrip(";,") == exact  # unconfirmed: indentation too
                else:
                    hit = _norm(lines[nxt]) == _norm(following[1])
        if hit:
            return (0 if first else i), True
        first = False
    return len(lines), False


def _auto_closed_limit(
    lines: list[str], text: str, ctx: Context, final: bool
) -> tuple[int, int, bool, int]:
    """(lines to keep, characters of the rest re-typed, certain, the line that re-types them)
    for an auto-closed rest of line."""
    rest = ctx.line_suffix.rstrip()
    escape = brackets.first_escape(text, ctx.line_prefix, ctx.language)
    row = -1 if escape < 0 else text.count("\n", 0, escape)
    # Closers of brackets the text opened itself, `;`, `,`, quotes: a line ending in them,
    # before the line (if any) that closes what was open at the cursor.
    last = rest.strip()[-1]
    complete = len(lines) if final else len(lines) - 1
    for i in range(complete if row < 0 else row):
        if lines[i].rstrip().endswith(last):
            head = "\n".join(lines[: i + 1])
            if brackets.retyped(head, ctx.line_prefix, rest, ctx.language):
                row = i
                break
    if row < 0:
        return len(lines), 0, False, -1
    replace = brackets.retyped("\n".join(lines[: row + 1]), ctx.line_prefix, rest, ctx.language)
    if not final and row == len(lines) - 1:
        return len(lines), 0, False, -1  # the line that closes is not complete yet
    keep = row + 1
    level = indentation.width(ctx.line_prefix)
    while True:  # lines that continue the finished statement (deeper, or `.then(`)
        nxt = next((j for j in range(keep, len(lines)) if lines[j].strip()), None)
        if nxt is None:
            if not final:
                return keep, replace, False, row  # nothing after it yet
            break
        line = lines[nxt]
        if nxt == len(lines) - 1 and not final:
            if indentation.may_continue(line) and indentation.width(line) >= level:
                return keep, replace, False, row
            break
        if not (indentation.continues(line) and indentation.width(line) >= level):
            break
        keep = nxt + 1
    return keep, replace, True, row


def scope(text: str, ctx: Context, final: bool) -> Scoped:
    """The extent of ``text`` at the cursor of ``ctx``."""
    rest = ctx.line_suffix
    auto = brackets.auto_closed(rest)
    if rest.strip() and not auto:
        newline = text.find("\n")
        return Scoped(text, 0, False) if newline < 0 else Scoped(text[:newline], 0, True)

    lines = text.split("\n")
    base = indentation.first_width(lines, ctx.line_prefix)
    least = None
    if base is not None and not indentation.opens_block(ctx.line_prefix):
        least = indentation.floor(ctx.prefix, base)
    keep, certain = indentation.limit(lines, ctx.line_prefix, final, least)
    replace, row = 0, -1
    if auto:
        k, r, c, row = _auto_closed_limit(lines, text, ctx, final)
        if k <= keep:
            keep, certain = k, c or (certain and k == keep)
        replace = r if 0 <= row < keep else 0
    else:
        k, c = _suffix_limit(lines, ctx, final)
        if k < keep or (k == keep and c):
            keep, certain = k, c or certain
    if keep == 0:
        return Scoped("", 0, certain)
    if not final:
        return Scoped("\n".join(lines[:keep]), replace, certain)
    return _choose(lines[:keep], ctx, replace, row, certain)


def _choose(lines: list[str], ctx: Context, replace: int, row: int, certain: bool) -> Scoped:
    """The longest valid line boundary within ``lines`` (syntax, else bracket balance)."""
    ends = [n for n in range(len(lines), 0, -1) if n == len(lines) or lines[n - 1].strip()]
    candidates = []
    for n in ends:
        body = "\n".join(lines[:n])
        candidates.append((body, replace if n > row else 0))
    if not candidates:
        return Scoped("", 0, certain)
    found = syntax.longest_valid(ctx.language, ctx.prefix, ctx.suffix, candidates)
    if found is not None:
        text, r = candidates[found]
        return Scoped(text, r, certain)
    text = _balance(lines, ctx, replace)
    return Scoped(text, replace if text.count("\n") >= row else 0, certain)


def _balance(lines: list[str], ctx: Context, replace: int) -> str:
    """Drop trailing closing lines that the document already has."""
    text = "\n".join(lines)
    excess = brackets.excess_closers(ctx.prefix, text, ctx.suffix[replace:], ctx.language)
    while excess > 0 and len(lines) > 1:
        last = lines[-1]
        if not last.strip():
            lines = lines[:-1]
            continue
        if not brackets.closing_line(last):
            break
        excess -= sum(c in brackets.CLOSERS for c in last)
        lines = lines[:-1]
    return "\n".join(lines)
