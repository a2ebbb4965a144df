"""Post-processing: from model output to the edit at the cursor (backend → **postprocess** → items).

:func:`finish_edit` (and :func:`finish`, its plain-text form) applies, the same way for inline
and completion items and for the stream cutter's text:

1. framing (:mod:`.chat`): cut at Qwen's special tokens, drop whole-line Markdown fences and an
   echoed prefix;
2. extent (:mod:`.extent`): mid-line one line; an auto-closed rest of line re-typed by the model
   is replaced; the suffix-aware limit; the indentation rules (:mod:`.indentation`) as the
   bound, then the longest cut point that parses (:mod:`.syntax`, tree-sitter), or bracket
   balance (:mod:`.brackets`) without a grammar;
3. repetition loops cut (:mod:`.repetition`);
4. what the rest of the line already holds trimmed, and the spaces at the edges fitted to the
   text right of the cursor (:mod:`.whitespace`);
5. nothing left, or a first line that duplicates the next document line → ``None``.

:class:`StreamCutter` (:mod:`.streaming`) runs steps 1-2 on a stream as it arrives and says when
the cut point is certain, so the backend can stop reading (fewer tokens billed, ghost text
sooner). A reply nothing can parse (an unknown language, megabytes, lone surrogates) gets the
fallback rules; no step raises.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..context import Context
from .brackets import CLOSERS, auto_closed, imbalance, retyped
from .chat import cut_special
from .extent import scope
from .repetition import drop_repetition
from .streaming import MAX_REPLY, StreamCutter, framed
from .whitespace import fit_spaces

__all__ = [
    "Edit",
    "StreamCutter",
    "drop_repetition",
    "finish",
    "finish_edit",
    "trim_suffix_overlap",
]

log = logging.getLogger(__name__)

_TRIMMABLE = CLOSERS | frozenset(">\"'`;:,")


@dataclass(frozen=True, slots=True)
class Edit:
    """The text to insert at the cursor, replacing the ``replace`` characters right of it."""

    text: str
    replace: int = 0


def finish_edit(raw: str, ctx: Context, chat: bool = False) -> Edit | None:
    """The edit at the cursor, or ``None`` when nothing useful is left."""
    try:
        return _finish_edit(raw, ctx, chat)
    except Exception:  # a bug in a rule must not cost the answer: the plainest rules then
        log.exception("post-processing failed; using the fallback rules")
        text, _ = cut_special(raw[:MAX_REPLY])
        if ctx.mid_line:
            text = text.split("\n", 1)[0]
        text = text.rstrip()
        return Edit(text) if text.strip() else None


def _finish_edit(raw: str, ctx: Context, chat: bool) -> Edit | None:
    text, _ = framed(raw[:MAX_REPLY], ctx, chat, final=True)
    scoped = scope(text, ctx, final=True)
    text, replace = scoped.text, scoped.replace
    text = drop_repetition(text, ctx.line_prefix)
    if replace and text != scoped.text:  # the repetition cut may have removed them
        replace = retyped(text, ctx.line_prefix, ctx.line_suffix.rstrip(), ctx.language)
    if not replace:
        text = trim_suffix_overlap(text, ctx)
    text = fit_spaces(text, ctx.line_prefix, ctx.line_suffix[replace:])
    if text == ctx.line_suffix[:replace] or not (text.strip() or _needed_space(text, ctx)):
        return None
    return Edit(text, replace)


def _needed_space(text: str, ctx: Context) -> bool:
    """A lone space between two words of the line (``return|False``) is a suggestion too."""
    return (
        text in (" ", "\t")
        and ctx.line_prefix.strip() != ""
        and ctx.line_prefix[-1] not in " \t"
        and ctx.line_suffix[:1] not in ("", " ", "\t")
    )


def finish(raw: str, ctx: Context, chat: bool = False) -> str | None:
    """The text to insert at the cursor, or ``None``.

    When the model re-typed the closers right of the cursor, the text is given as an insertion
    without them if that yields the same line; :func:`finish_edit` has the replacing form."""
    edit = finish_edit(raw, ctx, chat)
    if edit is None:
        return None
    if edit.replace:
        replaced = ctx.line_suffix[: edit.replace]
        if edit.text.endswith(replaced):
            text = fit_spaces(edit.text[: -len(replaced)], ctx.line_prefix, ctx.line_suffix)
            return text if text.strip() else None
    return edit.text


def trim_suffix_overlap(text: str, ctx: Context) -> str:
    """Don't insert what already follows the cursor on this line (single-line text)."""
    rest = ctx.line_suffix.rstrip()
    if not rest or "\n" in text:
        return text
    line = ctx.line_prefix + text
    if text.rstrip().endswith(rest):
        trimmed = text.rstrip()[: -len(rest)]
        if not auto_closed(rest) or imbalance(
            ctx.line_prefix + trimmed + rest, ctx.language
        ) < imbalance(line + rest, ctx.language):
            return trimmed
    for k in range(len(rest), 0, -1):
        head = rest[:k]
        # Balance, not tail matching: trim only what would close one too many.
        if (
            all(c in _TRIMMABLE or c == " " for c in head)
            and text.endswith(head)
            and imbalance(line[:-k] + rest, ctx.language) < imbalance(line + rest, ctx.language)
        ):
            return text[:-k]
    return text
