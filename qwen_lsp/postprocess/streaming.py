"""Streaming: the cutter that lets the backend stop reading (backend ↔ **postprocess**).

:class:`StreamCutter` accumulates a streamed reply and runs the cheap steps (special tokens,
fences, echo, the extent's upper bound) whenever a piece could have completed a cut point: a
line break, a special token, a fence. It turns ``done`` as soon as the cut point is certain,
that is, when no later text can change what :func:`qwen_lsp.postprocess.finish` makes of the
reply; so the text read so far gives the same suggestion as the whole reply would.
"""

from __future__ import annotations

import logging

from ..context import Context
from . import chat as framing
from .extent import scope


def framed(raw: str, ctx: Context, chat: bool, final: bool) -> tuple[str, bool]:
    """Special tokens, fences and echo: the code text, and whether its end was seen."""
    text, cut = framing.cut_special(raw)
    final = final or cut
    if framing.fences_apply(ctx, chat):
        text, fenced = framing.strip_fences(text, final)
        cut = cut or fenced
        final = final or fenced
    if chat:
        if not final and framing.maybe_echo(text, ctx):
            return "", False  # an echo in progress: nothing is known yet
        text = framing.strip_echo(text, ctx)
    return text, cut


log = logging.getLogger(__name__)

# Characters of a reply that are read at all; no completion is longer (max_tokens bounds it),
# and everything after them is ignored the same way by the cutter and by ``finish``.
MAX_REPLY = 64_000


class StreamCutter:
    """Accumulates a stream; :meth:`feed` turns True once the rest cannot be kept."""

    def __init__(self, ctx: Context, chat: bool = False) -> None:
        self._ctx = ctx
        self._chat = chat
        self._parts: list[str] = []
        self._size = 0
        self.done = False

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def feed(self, piece: str) -> bool:
        self._parts.append(piece)
        self._size += len(piece)
        if self._size >= MAX_REPLY:
            self.done = True
            return True
        # A cut point only shows up at a line break, a special token or a fence.
        if "\n" in piece or "<|" in piece or "|>" in piece or "`" in piece or "~" in piece:
            try:
                text, cut = framed(self.text, self._ctx, self._chat, final=False)
                self.done = cut or scope(text, self._ctx, final=False).certain
            except Exception:  # keep reading: ``finish`` decides on the whole text
                log.exception("stream cutter failed")
        return self.done
