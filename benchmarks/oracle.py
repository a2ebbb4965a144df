"""What the fake backends answer: the text that really comes next in the file being typed.

The replay re-types real files, so a perfect model would suggest exactly the text the document
is missing at the cursor. The oracle finds the end of the request's prefix and the start of its
suffix in the corpus and answers with the text between them, cut after the line following the
cursor's (a coder model's typical reply). When the prefix is not in the corpus (a typo not yet
fixed) it answers with a plausible line anyway. A perfect model is the best case for reusing a
suggestion the typing catches up with; ``wrong_share`` makes that share of replies wrong. Both
fakes share one latency model: ``ttft_ms`` before the first token, ``token_ms`` per token after
it.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tests.support.fake_qwen import LoggedRequest, Reply, prompt_of, split_tokens

_ANCHOR_CHARS = 80
_MAX_CHARS = 160
_FALLBACK = "result = None\n"
_FIM_PREFIX = "<|fim_prefix|>"
_FIM_SUFFIX = "<|fim_suffix|>"
_FIM_MIDDLE = "<|fim_middle|>"


@dataclass(frozen=True, slots=True)
class Latency:
    """The backend's speed: time to first token and time per further token, in ms."""

    ttft_ms: float
    token_ms: float


class Oracle:
    """Answers completion requests from the corpus with a fixed latency model."""

    def __init__(self, texts: Iterable[str], latency: Latency, wrong_share: float = 0.0) -> None:
        """``wrong_share`` of the replies (chosen by a hash of the prefix, so the same request
        always gets the same answer) are a line from elsewhere in the corpus instead."""
        self._texts = tuple(texts)
        self._lines = [line.strip() for t in self._texts for line in t.splitlines() if line.strip()]
        self.latency = latency
        self.wrong_share = wrong_share

    def continuation(self, prefix: str, suffix: str) -> str:
        """What a perfect model would insert between ``prefix`` and ``suffix``: the file's text
        that the document is still missing there, up to the end of the line after the cursor's.
        """
        anchor = prefix[-_ANCHOR_CHARS:]
        if not anchor:
            return _FALLBACK
        for text in self._texts:
            found = text.find(anchor)
            if found >= 0:
                start = found + len(anchor)
                missing = text[start : _resume(text, start, suffix)]
                return self._perhaps_wrong(anchor, missing[: min(_MAX_CHARS, _two_lines(missing))])
        return _FALLBACK

    def _perhaps_wrong(self, anchor: str, right: str) -> str:
        digest = zlib.crc32(anchor.encode())
        if not right or digest % 10_000 >= self.wrong_share * 10_000:
            return right
        return self._lines[digest % len(self._lines)] + "\n"

    def floor_ms(self, prefix: str, suffix: str, *, streamed: bool) -> float:
        """The backend's floor for a request at this cursor: the time its reply takes to reach
        the end of its first line (the earliest a one-line suggestion can be complete). A
        streamed reply gets there ``ttft + token_ms`` per piece after the first; a JSON reply
        (the fake Tabby server) arrives whole, after ``ttft + token_ms`` per piece."""
        pieces = split_tokens(self.continuation(prefix, suffix))
        if not streamed:
            return self.latency.ttft_ms + self.latency.token_ms * len(pieces)
        cut = next((i for i, p in enumerate(pieces) if "\n" in p), len(pieces) - 1)
        return self.latency.ttft_ms + self.latency.token_ms * max(0, cut)

    def reply(self, prefix: str, suffix: str) -> Reply:
        """A reply carrying the continuation, with the latency model."""
        return Reply(
            text=self.continuation(prefix, suffix),
            ttft_ms=self.latency.ttft_ms,
            token_ms=self.latency.token_ms,
        )

    def qwen(self, request: LoggedRequest) -> Reply:
        """Responder for the fake Qwen server (FIM prompt, or a chat prefix)."""
        return self.reply(*fim_parts(prompt_of(request)))

    def tabby(self, request: LoggedRequest) -> Reply:
        """Responder for the fake Tabby server (``segments.prefix`` and ``segments.suffix``)."""
        segments = tabby_segments(request.body)
        return self.reply(str(segments.get("prefix", "")), str(segments.get("suffix", "")))


def _resume(text: str, start: int, suffix: str) -> int:
    """Where the document's text after the cursor (``suffix``) resumes in ``text``."""
    head = suffix[:_ANCHOR_CHARS]
    if len(head) < _ANCHOR_CHARS:  # near the end of the file: the suffix is all of it
        return len(text) - len(suffix) if suffix and text.endswith(suffix) else len(text)
    found = text.find(head, start)
    return len(text) if found < 0 else found


def _two_lines(text: str) -> int:
    """How many leading characters of ``text`` cover its first two lines."""
    end = 0
    for _ in range(2):
        newline = text.find("\n", end)
        if newline < 0:
            return len(text)
        end = newline + 1
    return end


def fim_parts(prompt: str) -> tuple[str, str]:
    """The code before and after the cursor in a FIM prompt (no markers: all of it is prefix)."""
    start = prompt.rfind(_FIM_PREFIX)
    if start < 0:
        return prompt, ""
    start += len(_FIM_PREFIX)
    middle = prompt.find(_FIM_SUFFIX, start)
    if middle < 0:
        return prompt[start:], ""
    end = prompt.find(_FIM_MIDDLE, middle)
    return prompt[start:middle], prompt[middle + len(_FIM_SUFFIX) : end if end >= 0 else None]


def tabby_segments(body: Any) -> dict[str, Any]:
    """The ``segments`` object of a Tabby completion request ({} when missing)."""
    segments = body.get("segments") if isinstance(body, dict) else None
    return segments if isinstance(segments, dict) else {}
