"""Post-processing: from model output to the text to insert (backend → **postprocess** → items).

One pure function, :func:`finish`, applied the same way for inline and completion items:

1. cut at Qwen's special tokens (``<|file_sep|>``, ``<|endoftext|>``...);
2. chat replies: drop markdown fences and an echoed prefix;
3. scope: in the middle of a line (non-blank text right of the cursor) keep one line; otherwise
   keep a block, cut where indentation returns above the block's level, where the model starts
   writing the line that already follows the cursor, or after a block's closing line;
4. drop repetition loops (a line or block of lines repeated, a token run repeated to the end);
5. trim closing text that repeats what follows the cursor (``)``, ``]``, ``"``, the whole rest
   of the line), and trailing whitespace;
6. nothing left → ``None``.

:class:`StreamCutter` runs steps 1-3 on a stream as it arrives and says when the cut point has
been seen, so the backend can stop reading (fewer tokens billed, ghost text sooner).
"""

from __future__ import annotations

import re

from .context import Context
from .prompts import SPECIAL_TOKENS

_CLOSERS = frozenset(")]}>\"'`;:,")
_BLOCK_CLOSER = re.compile(r"^(?:[}\])]|end\b|fi\b|done\b|esac\b)")
_OPENER = re.compile(r"(?:[:{(\[]|=>|->|\bdo|\bthen|\bbegin)\s*(?:#.*|//.*)?$")
# Blocks that languages like Ruby, Lua or Elixir open with a keyword and close with `end`.
_KEYWORD_OPENER = re.compile(
    r"^\s*(?:(?:local\s+)?function|def|defp|class|module|if|unless|while|until|for|case)\b"
)
_FENCE = re.compile(r"^\s*```")
_TOKEN_LOOP = re.compile(r"(.{1,16}?)\1{7,}$", re.DOTALL)
_SPECIAL = re.compile("|".join(re.escape(t) for t in SPECIAL_TOKENS))


def finish(raw: str, ctx: Context, chat: bool = False) -> str | None:
    """The text to insert at the cursor, or ``None`` when nothing useful is left."""
    text, _ = scope(raw, ctx, chat, final=True)
    text = drop_repetition(text, ctx.line_prefix)
    text = trim_suffix_overlap(text, ctx)
    text = text.rstrip()
    if not text.strip():
        return None
    return text


def scope(raw: str, ctx: Context, chat: bool = False, final: bool = False) -> tuple[str, bool]:
    """Steps 1-3. Returns the text and whether a cut point was seen.

    ``final``: the text is the whole answer, so its last line is complete too.
    """
    text, cut = _cut_special(raw)
    if chat:
        text, fenced = strip_fences(text)
        cut = cut or fenced
        text = strip_echo(text, ctx)
    text, limited = limit_scope(text, ctx, final)
    return text, cut or limited


class StreamCutter:
    """Accumulates a stream; :meth:`feed` turns True once the rest cannot be kept."""

    def __init__(self, ctx: Context, chat: bool = False) -> None:
        self._ctx = ctx
        self._chat = chat
        self._parts: list[str] = []
        self.done = False

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def feed(self, piece: str) -> bool:
        self._parts.append(piece)
        # A cut point only shows up at a line break or a special token; check only then.
        if "\n" in piece or "<|" in piece or "|>" in piece or "```" in piece:
            _, self.done = scope(self.text, self._ctx, self._chat)
        return self.done


def _cut_special(text: str) -> tuple[str, bool]:
    match = _SPECIAL.search(text)
    return (text[: match.start()], True) if match else (text, False)


def strip_fences(text: str) -> tuple[str, bool]:
    """Drop a markdown fence a chat model wrapped its code in; True if a closing fence ended it."""
    lines = text.split("\n")
    if lines and _FENCE.match(lines[0]) and len(lines) > 1:
        lines = lines[1:]
    for i, line in enumerate(lines):
        if _FENCE.match(line):
            return "\n".join(lines[:i]), True
    return "\n".join(lines), False


def strip_echo(text: str, ctx: Context) -> str:
    """Remove the end of the prefix when a chat model starts by repeating it.

    Tries the tails of the prefix that start at a line start (longest first): the model
    restarting the current line, or several lines before it.
    """
    prefix = ctx.prefix
    starts = [m.end() for m in re.finditer("\n", prefix[-4000:])]
    offset = max(0, len(prefix) - 4000)
    candidates = ([0] if offset == 0 else []) + [offset + s for s in starts]
    for start in candidates:
        tail = prefix[start:]
        if tail and text.startswith(tail):  # a whitespace tail: the model re-indented
            return text[len(tail) :]
    stripped = ctx.line_prefix.strip()
    if len(stripped) >= 3 and text.lstrip().startswith(stripped) and not ctx.line_prefix.isspace():
        return text.lstrip()[len(stripped) :]
    return text


def _width(line: str) -> int:
    ws = line[: len(line) - len(line.lstrip(" \t"))]
    return len(ws.expandtabs(4))


def limit_scope(text: str, ctx: Context, final: bool = True) -> tuple[str, bool]:
    """Step 3: one line in the middle of a line, else the block that starts at the cursor."""
    if ctx.mid_line:
        newline = text.find("\n")
        return (text, False) if newline < 0 else (text[:newline], True)

    lines = text.split("\n")
    first = ctx.line_prefix + lines[0]
    nonblank = [ln for ln in [first, *lines[1:]] if ln.strip()]
    if not nonblank:
        return text, False
    base = _width(nonblank[0])
    # A block opener left of the cursor (`def f():|`) makes the completion that block's body.
    head = ctx.line_prefix.rstrip()
    opener = bool(head) and bool(_OPENER.search(head) or _KEYWORD_OPENER.match(head))
    following = _next_suffix_line(ctx)

    # Only lines known to be complete (followed by a newline) can end the scope.
    for i in range(1, len(lines)):
        line = lines[i]
        if not line.strip():
            continue
        if not final and i == len(lines) - 1:
            break
        if following and line.rstrip() == following:
            return "\n".join(lines[:i]), True
        width = _width(line)
        if opener and width <= base:
            if width == base and _BLOCK_CLOSER.match(line.strip()):
                return "\n".join(lines[: i + 1]), True
            return "\n".join(lines[:i]), True
        if not opener and width < base:
            return "\n".join(lines[:i]), True
    return text, False


def _next_suffix_line(ctx: Context) -> str:
    """The first non-blank line after the cursor line (indentation kept: a class's closing
    brace is not the method's)."""
    for line in ctx.suffix.split("\n")[1:]:
        if line.strip():
            return line.rstrip()
    return ""


def drop_repetition(text: str, line_prefix: str = "") -> str:
    """Step 4: cut a model that got stuck repeating itself.

    Lines are compared whole, indentation included (nested closing braces differ only by it);
    the first line is compared with the cursor line's text in front of it.
    """
    lines = text.split("\n")
    lines[0] = line_prefix + lines[0]
    for size in range(1, 5):
        for start in range(len(lines) - 3 * size + 1):
            block = lines[start : start + size]
            if not any(ln.strip() for ln in block):
                continue
            if (
                block
                == lines[start + size : start + 2 * size]
                == lines[start + 2 * size : start + 3 * size]
            ):
                return "\n".join(lines[: start + size])[len(line_prefix) :]
    match = _TOKEN_LOOP.search(text)
    if match and (len(match.group(1)) > 1 or match.group(1).isalnum()):
        return text[: match.start() + len(match.group(1))]
    return text


def trim_suffix_overlap(text: str, ctx: Context) -> str:
    """Step 5: don't insert what already follows the cursor on this line."""
    rest = ctx.line_suffix.rstrip()
    if not rest or "\n" in text:
        return text
    if text.endswith(rest):
        return text[: -len(rest)]
    for k in range(len(rest), 0, -1):
        head = rest[:k]
        if all(c in _CLOSERS or c == " " for c in head) and text.endswith(head):
            return text[:-k]
    return text
