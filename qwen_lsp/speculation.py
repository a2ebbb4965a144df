"""Speculation: the next suggestion, ready before the user accepts this one (reuse, one step on).

When the user accepts a shown suggestion the editor inserts it and asks again at its end, where
typed-ahead has nothing left to offer. Speculation prepares that answer while the suggestion is
on the screen (the ``speculate`` setting):

* ``stream``: the model's reply usually goes on past the cut point (the next line, the next
  statement). The text past the shown suggestion (:func:`beyond`), read on a little further up
  to its own cut point, is the suggestion for the document as if the shown text were accepted,
  post-processed in that document's context (:func:`accepted_context`). It costs no request and
  no prompt tokens: only the few generated tokens read past the first cut point.
* ``request``: as ``stream``, and when the reply holds nothing past the cut point, a request for
  that document is sent at once, if the server has a free place for it and the user has been
  taking suggestions lately (:func:`may_request`, :class:`Outcomes`: at least one of the last
  :data:`OUTCOME_WINDOW` shown suggestions accepted by the editor), so a model the user never
  agrees with, or a user who types everything out, costs no speculative request; it is
  dropped as soon as a request comes that it cannot serve.

Accepting part of a suggestion (a word, a line) needs none of this: the rest is typed-ahead.

:class:`Speculations` holds the finished speculative answers, one per document, each valid
while the suggestion it continues is the one typed-ahead holds (the engine checks it after
typed-ahead and before the cache). Answers still being read are the scheduler's streams, asked
at the accepted state's anchor, so stream reuse finds them. Pure: no I/O and no clock.
"""

from __future__ import annotations

import dataclasses
from collections import deque

from .config import SpeculateMode
from .context import Context
from .reuse import ANCHOR_CHARS, Shown, rest_of

__all__ = [
    "Outcomes",
    "SpeculateMode",
    "Speculations",
    "accepted_anchor",
    "accepted_context",
    "beyond",
]

# Shown suggestions whose fate (accepted or not) decides whether speculative requests go out.
OUTCOME_WINDOW = 8

# Characters of the reply read past the shown suggestion at most, waiting for its cut point.
TAIL_MAX_CHARS = 2_000
# Whitespace the post-processor may have dropped from the start of the reply.
_LEADING_SLACK = 8


def beyond(raw: str, shown: str) -> str | None:
    """What the reply ``raw`` holds past the suggestion ``shown`` made of it, or None when the
    suggestion is not the reply's start (apart from leading whitespace that was dropped)."""
    if not shown:
        return None
    at = raw.find(shown, 0, len(shown) + _LEADING_SLACK)
    if at < 0 or raw[:at].strip():
        return None
    return raw[at + len(shown) :]


def accepted_context(ctx: Context, text: str, replace: int = 0) -> Context:
    """The context at the end of ``text`` once it is inserted at the cursor of ``ctx`` in
    place of the ``replace`` characters right of it (as an editor's accept does). The prefix
    grows by the text (a suggestion: at most ``maxTokens`` over its budget)."""
    line_start = text.rfind("\n")
    line_prefix = ctx.line_prefix + text if line_start < 0 else text[line_start + 1 :]
    return dataclasses.replace(
        ctx,
        prefix=ctx.prefix + text,
        suffix=ctx.suffix[replace:],
        line_prefix=line_prefix,
        line_suffix=ctx.line_suffix[replace:],
    )


def accepted_anchor(anchor: str, text: str) -> str:
    """The anchor (text before the cursor) after ``text`` is accepted at ``anchor``."""
    return (anchor + text)[-ANCHOR_CHARS:]


def may_request(mode: SpeculateMode, limit: int, in_flight: int, accepting: bool) -> bool:
    """Whether a speculative request may go out now: only in ``request`` mode, only while the
    user takes suggestions (``accepting``: :meth:`Outcomes.accepting`), never to a server with
    one place (it would hold up the next real request), and only while a place would stay free
    for a real one (``limit`` 0: no limit)."""
    if mode != "request" or not accepting or limit == 1:
        return False
    return limit == 0 or in_flight + 1 < limit


def is_accept(shown: Shown, inserted: str) -> bool:
    """Whether an edit inserting ``inserted`` is the editor accepting ``shown`` (Tab: all of
    it, or a partial accept: its first word or lines), not typing: at least two characters
    besides spaces, and the start of the suggestion. Auto-indent (a newline and spaces) and
    a single typed character are never an accept."""
    return sum(not c.isspace() for c in inserted[:3]) >= 2 and shown.text.startswith(inserted)


class Outcomes:
    """Whether the user takes the suggestions shown: each shown suggestion counts once, as
    accepted when an edit inserts it (:func:`is_accept`), or as left when a request comes that
    typed-ahead cannot answer from it. Typing a suggestion out by hand is not taking it: the
    user did not wait for it, so speculating for them would only spend requests."""

    def __init__(self) -> None:
        self._recent: deque[bool] = deque(maxlen=OUTCOME_WINDOW)
        self._judged: str | None = None  # the id of the last suggestion counted

    def edited(self, shown: Shown | None, inserted: str) -> None:
        """An edit inserted ``inserted`` while ``shown`` was the suggestion in the document."""
        if shown is not None and shown.id != self._judged and is_accept(shown, inserted):
            self._count(shown, True)

    def left(self, shown: Shown | None) -> None:
        """A request typed-ahead could not answer from ``shown``: if it was not accepted, the
        user left it."""
        if shown is not None and shown.id != self._judged:
            self._count(shown, False)

    def _count(self, shown: Shown, accepted: bool) -> None:
        self._judged = shown.id
        self._recent.append(accepted)

    def accepting(self) -> bool:
        """At least one of the last :data:`OUTCOME_WINDOW` suggestions was accepted."""
        return any(self._recent)

    def clear(self) -> None:
        self._recent.clear()
        self._judged = None


@dataclasses.dataclass(frozen=True, slots=True)
class _Ready:
    parent: Shown  # the suggestion whose acceptance it answers
    answer: Shown


class Speculations:
    """Finished speculative answers per document."""

    def __init__(self) -> None:
        self._ready: dict[str, _Ready] = {}

    def ready(self, uri: str, parent: Shown, answer: Shown) -> None:
        """``answer`` is the suggestion after ``parent`` is accepted."""
        self._ready[uri] = _Ready(parent, answer)

    def lookback(self, uri: str) -> int:
        """How many characters before the cursor :meth:`match` needs to see."""
        ready = self._ready.get(uri)
        return len(ready.answer.anchor) + len(ready.answer.text) if ready else 0

    def match(
        self, uri: str, shown: Shown | None, before: str, line_suffix: str
    ) -> tuple[str, Shown] | None:
        """The speculative answer's text left to offer at this cursor, while ``shown`` (the
        suggestion typed-ahead holds) is the one it continues."""
        ready = self._ready.get(uri)
        if ready is None or shown is None or ready.parent.id != shown.id:
            return None
        rest = rest_of(ready.answer, before, line_suffix)
        return None if rest is None else (rest, ready.answer)

    def forget(self, uri: str) -> None:
        self._ready.pop(uri, None)

    def clear(self) -> None:
        self._ready.clear()
