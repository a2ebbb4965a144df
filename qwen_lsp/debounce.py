"""Debounce policy: how long to wait after a keystroke before asking the model (→ scheduler).

A pure policy, no clock and no I/O: the engine feeds it what happened (:meth:`keystroke` with the
time of each edit and the text it inserted, :meth:`backend_latency` with each answer's time to
first token) and asks :meth:`delay` for the wait before a request; the scheduler does the
waiting. Times are seconds from any monotonic clock.

``fixed`` mode waits ``debounceMs`` every time. ``adaptive`` mode (the default) treats
``debounceMs`` as the upper bound and waits less when a pause is likely:

* **at a pause point**, a newline or a trigger character (``.`` ``(`` ``,`` ``:`` ``{`` ``=``…)
  just typed with nothing but closers after the cursor: no wait at all. People stop there to
  look, and a request fired at once is the one that gets the ghost text up soonest;
* **the first space after a word at the end of a line**: no wait either (people stop after
  ``return`` or ``x =``; a request that turns out early costs a backend call, not latency);
* **a trigger character inside a line**: a short wait (half the usual gap between keys), unless
  the backend is so slow that its answer would come several keys late;
* **after a hesitation** (the gap before this key was well over the user's usual gap): the usual
  gap, since a person who stopped once is likely to stop again;
* **in a burst**: long enough that the next key usually comes first, the 90th percentile of the
  recent gaps (the user's rhythm), capped by ``debounceMs``.

The rhythm is learned from the last :data:`WINDOW` gaps between single-character edits (gaps over
:data:`MAX_GAP_S` are pauses, not rhythm); until there are :data:`MIN_SAMPLES`, the policy waits
``debounceMs`` in bursts.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

DebounceMode = Literal["adaptive", "fixed"]

WINDOW = 32  # recent inter-key gaps kept
MIN_SAMPLES = 6  # gaps needed before the rhythm is trusted
MAX_GAP_S = 1.0  # longer gaps are pauses, not typing rhythm
HESITATION = 2.0  # a gap this many times the median gap is a hesitation
SLOW_BACKEND = 3.0  # a first token later than this many median gaps is "several keys late"

TRIGGERS = frozenset(".(,:{[=>")
_CLOSERS = frozenset(")]}>;,'\"` \t")


@dataclass(frozen=True, slots=True)
class Decision:
    """A wait and why (the reason goes to the debug log and the tests)."""

    seconds: float
    reason: str


class DebouncePolicy:
    """Learns the typing rhythm and the backend's latency; says how long to wait."""

    def __init__(self) -> None:
        self._gaps: deque[float] = deque(maxlen=WINDOW)
        self._ttfts: deque[float] = deque(maxlen=8)
        self._last_key: float | None = None
        self._last_gap: float | None = None
        self._last_text = ""
        self._before_last = ""  # what the edit before that inserted

    def keystroke(self, at: float, inserted: str) -> None:
        """An edit at time ``at`` that inserted ``inserted`` (empty for a deletion)."""
        if self._last_key is not None:
            gap = at - self._last_key
            self._last_gap = gap
            if 0 <= gap <= MAX_GAP_S and len(inserted) <= 1:
                self._gaps.append(gap)
        self._last_key = at
        self._before_last, self._last_text = self._last_text, inserted

    def backend_latency(self, ttft: float) -> None:
        """An answer's time to first token."""
        self._ttfts.append(ttft)

    @property
    def median_gap(self) -> float | None:
        """The user's usual gap between keys, once there are enough samples."""
        return _quantile(self._gaps, 0.5) if len(self._gaps) >= MIN_SAMPLES else None

    @property
    def ttft(self) -> float | None:
        """The median recent time to first token."""
        return _quantile(self._ttfts, 0.5) if self._ttfts else None

    def delay(self, mode: DebounceMode, upper_ms: int, line_after: str) -> Decision:
        """The wait before a request whose cursor has ``line_after`` to its right on its
        line, after the keystrokes seen so far (the last one is what was just typed)."""
        upper = upper_ms / 1000
        if mode == "fixed":
            return Decision(upper, "fixed")
        typed = self._last_text
        at_end = all(c in _CLOSERS for c in line_after)
        if "\n" in typed:
            return Decision(0.0, "newline")
        gap = self.median_gap
        if typed in (" ", "\t") and at_end and self._before_last.strip():
            return Decision(0.0, "space after a word")
        if typed[-1:] in TRIGGERS:
            if at_end:
                return Decision(0.0, "pause point")
            if gap is None:
                return Decision(min(upper, 0.05), "trigger in line")
            slow = (self.ttft or 0.0) > SLOW_BACKEND * gap
            return Decision(min(upper, gap if slow else gap / 2), "trigger in line")
        if gap is None:
            return Decision(upper, "learning")
        if self._last_gap is not None and self._last_gap > HESITATION * gap:
            return Decision(min(upper, gap), "hesitation")
        return Decision(min(upper, _quantile(self._gaps, 0.9)), "burst")


def _quantile(values: deque[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
