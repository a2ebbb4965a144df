"""Counters: what the server did and what the user took (read by the ``qwen/stats`` request).

The acceptance signal comes from the editor: each inline item carries the ``qwen-lsp.accepted``
command, which the editor runs when the user accepts the ghost text. Counts stay in memory and
in the log; nothing leaves the machine.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Stats:
    """Request and acceptance counters since the server started."""

    requests: Counter[str] = field(default_factory=Counter)
    shown: Counter[str] = field(default_factory=Counter)
    accepted: Counter[str] = field(default_factory=Counter)

    def count(self, event: str) -> None:
        """One more ``event`` (``backend``, ``cache``, ``superseded``, ``stale``, ``empty``...)."""
        self.requests[event] += 1

    def snapshot(self) -> dict[str, Any]:
        languages = sorted(set(self.shown) | set(self.accepted))
        return {
            "requests": dict(self.requests),
            "languages": {
                lang or "unknown": {
                    "shown": self.shown[lang],
                    "accepted": self.accepted[lang],
                    "acceptRate": round(self.accepted[lang] / self.shown[lang], 3)
                    if self.shown[lang]
                    else 0.0,
                }
                for lang in languages
            },
        }
