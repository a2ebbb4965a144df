"""Reuse: answers that need no backend call (the engine asks before scheduling a request).

* :class:`TypedAhead`: while the user types the first characters of the suggestion last shown
  in a document, the rest of that suggestion is the answer.
* :func:`typed_since` and :func:`can_serve`: whether an answer still streaming in (the
  scheduler's :class:`~qwen_lsp.scheduler.Stream`) can serve the current cursor: the user typed
  on from where it was asked, and what they typed agrees with what it has produced so far.
* :class:`AnswerCache`: an LRU of model answers keyed by everything the request depends on
  (endpoint, model, prompt or messages, sampling settings), so undo, or moving the cursor away
  and back, asks nothing twice.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass

from .prompts import BackendRequest

# How much text before the cursor identifies where a suggestion was shown.
ANCHOR_CHARS = 256
# Most characters typed on from a streaming answer's position for it still to count.
STREAM_TYPED_MAX = 256


@dataclass(frozen=True, slots=True)
class Shown:
    """A suggestion as it was shown: where (the text around the cursor) and what."""

    anchor: str  # the last ANCHOR_CHARS characters before the cursor
    line_suffix: str  # the cursor line right of the cursor
    text: str
    id: str
    replace: int = 0  # characters right of the cursor the text replaces


class TypedAhead:
    """The last suggestion shown per document, and whether the user is typing it."""

    def __init__(self) -> None:
        self._shown: dict[str, Shown] = {}

    def remember(self, uri: str, shown: Shown) -> None:
        self._shown[uri] = shown

    def current(self, uri: str) -> Shown | None:
        """The suggestion last shown in ``uri`` (speculation continues it)."""
        return self._shown.get(uri)

    def forget(self, uri: str) -> None:
        self._shown.pop(uri, None)

    def clear(self) -> None:
        self._shown.clear()

    def lookback(self, uri: str) -> int:
        """How many characters before the cursor :meth:`match` needs to see."""
        shown = self._shown.get(uri)
        return len(shown.anchor) + len(shown.text) if shown else 0

    def match(self, uri: str, before: str, line_suffix: str) -> tuple[str, Shown] | None:
        """The rest of the shown suggestion, if ``before`` (the text before the cursor, at
        least :meth:`lookback` characters of it) is its anchor followed by a start of it."""
        shown = self._shown.get(uri)
        rest = None if shown is None else rest_of(shown, before, line_suffix)
        return None if rest is None or shown is None else (rest, shown)


def rest_of(shown: Shown, before: str, line_suffix: str) -> str | None:
    """What is left of ``shown`` to offer at a cursor with ``before`` to its left, or None."""
    typed = typed_since(shown.anchor, shown.line_suffix, before, line_suffix, len(shown.text))
    if typed is None or not shown.text.startswith(typed):
        return None
    rest = shown.text[len(typed) :]
    return rest if rest.strip() else None


def typed_since(
    anchor: str, anchor_suffix: str, before: str, line_suffix: str, limit: int = STREAM_TYPED_MAX
) -> str | None:
    """The text typed since a cursor that had ``anchor`` before it and ``anchor_suffix`` after
    it on its line, if the cursor now (``before``, ``line_suffix``) is that one typed on (at
    most ``limit`` characters); None for anywhere else."""
    if line_suffix != anchor_suffix:
        return None
    at = before.rfind(anchor, max(0, len(before) - len(anchor) - limit))
    return None if at < 0 else before[at + len(anchor) :]


def can_serve(produced: str, typed: str, finished: bool) -> bool:
    """Whether a stream that has ``produced`` this much may still answer after ``typed``:
    either it already holds the typed text, or (unfinished) it has not contradicted it yet."""
    return produced.startswith(typed) or (not finished and typed.startswith(produced))


class AnswerCache:
    """Least-recently-used model answers by request."""

    def __init__(self, size: int = 256) -> None:
        self._items: OrderedDict[str, str] = OrderedDict()
        self._size = size
        self._last: tuple[BackendRequest, str] | None = None  # the last request's key

    def key(self, request: BackendRequest) -> str:
        """A digest of the request without its ``stream`` flag. String fields (the prompt, tens
        of kilobytes) are hashed as they are, each framed by its name and length; only the
        small rest goes through JSON, whose escaping pass over a long prompt cost more than the
        hash itself. The last request's key is remembered (by identity: a request is not
        changed once built), since the engine asks for it before sending the request and
        again to store the answer."""
        if self._last is not None and self._last[0] is request:
            return self._last[1]
        found = _digest(request)
        self._last = (request, found)
        return found

    def get(self, key: str) -> str | None:
        text = self._items.get(key)
        if text is not None:
            self._items.move_to_end(key)
        return text

    def put(self, key: str, text: str) -> None:
        self._items[key] = text
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()


def _digest(request: BackendRequest) -> str:
    digest = hashlib.blake2b(request.path.encode(), digest_size=16)
    rest: dict[str, object] = {}
    for name, value in sorted(request.body.items()):
        if name == "stream":
            continue
        if isinstance(value, str):
            data = value.encode("utf-8", "surrogatepass")
            digest.update(b"\0s%s\0%d\0" % (name.encode("utf-8", "surrogatepass"), len(data)))
            digest.update(data)
        else:
            rest[name] = value
    payload = json.dumps(rest, sort_keys=True, ensure_ascii=False)
    digest.update(b"\0j" + payload.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()
