"""What the oracle backend answers for a case: reply shapes, chat styles and stream chunks.

Shapes (what the model writes after the cursor):

* ``exact``: the removed span, nothing else;
* ``overrun``: the span followed by the whole rest of the original file (a model that does not
  know where to stop);
* ``junk``: the overrun followed by unrelated code: another problem's function and a
  ``__main__`` block.

In FIM mode the reply is that text. In chat (partial) mode a chat model dresses it up, by a
choice seeded with the case: ``plain`` (as is), ``fence`` (inside a ```python fence),
``echo`` (re-typing the cursor line's text left of the cursor first) or ``fence+echo``. A
fenced junk reply also has a line of prose after its closing fence, as chat models add.

Every reply is streamed in chunks of one to three token-like pieces (the fake server's
``split_tokens``); an opening fence is always split across two chunks.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from benchmarks.humaneval.cases import Case
from benchmarks.humaneval.problems import Problem
from tests.support.fake_qwen import split_tokens

SHAPES: tuple[str, ...] = ("exact", "overrun", "junk")
SHAPE_TITLES: dict[str, str] = {
    "exact": "exact",
    "overrun": "overrun",
    "junk": "overrun+junk",
}
MODES: tuple[str, ...] = ("fim", "chat")
MODE_TITLES: dict[str, str] = {"fim": "FIM", "chat": "chat"}
MODELS: dict[str, str] = {"fim": "qwen2.5-coder-7b-instruct", "chat": "qwen-plus"}
CHAT_STYLES: tuple[str, ...] = ("plain", "fence", "echo", "fence+echo")
FENCE_OPEN = "```python\n"
FENCE_CLOSE = "\n```"
PROSE = "\n\nThis completes the function; the rest of the file is unchanged.\n"


@dataclass(frozen=True, slots=True)
class OracleReply:
    """The reply to one case in one shape and mode, as the fake streams it."""

    text: str  # the model text before any chat dressing (what the server should keep part of)
    style: str  # "fim" or one of CHAT_STYLES
    chunks: tuple[str, ...]

    @property
    def raw(self) -> str:
        """The whole reply as sent."""
        return "".join(self.chunks)


def model_text(case: Case, shape: str, junk: str) -> str:
    """The code the model writes after the cursor, for ``shape``."""
    if shape == "exact":
        return case.span
    if shape == "overrun":
        return case.rest_of_file
    return case.rest_of_file.rstrip("\n") + "\n\n\n" + junk


def junk_for(case: Case, problems: Sequence[Problem]) -> str:
    """Unrelated code: another problem's function (chosen by the case) and a main block."""
    rng = random.Random(f"junk:{case.id}")
    others = [p for p in problems if p.task_id != case.task_id] or list(problems)
    other = others[rng.randrange(len(others))]
    body = "\n".join(
        line for line in other.text.split("\n") if not line.startswith(("from ", "import "))
    ).strip("\n")
    return f'{body}\n\n\nif __name__ == "__main__":\n    print({other.entry_point}.__doc__)\n'


def reply_for(case: Case, shape: str, mode: str, junk: str, seed: int) -> OracleReply:
    """The reply for ``case`` in ``shape`` and ``mode``, with its stream chunks."""
    # Seeded without the shape: the shapes of a case share their chunking and fence split, so
    # exact and overrun replies differ only in where the text ends.
    rng = random.Random(f"{seed}:{case.id}:{mode}")
    text = model_text(case, shape, junk)
    if mode == "fim":
        return OracleReply(text, "fim", tuple(split_chunks(text, rng)))
    style = CHAT_STYLES[random.Random(f"{seed}:{case.id}:style").randrange(len(CHAT_STYLES))]
    body = text
    if "echo" in style:
        body = line_prefix(case) + body
    if "fence" not in style:
        return OracleReply(text, style, tuple(split_chunks(body, rng)))
    split = rng.randint(1, len(FENCE_OPEN) - 1)  # somewhere inside "```python\n"
    head = [FENCE_OPEN[:split]]
    after = FENCE_CLOSE + (PROSE if shape == "junk" else "")
    rest = split_chunks(FENCE_OPEN[split:] + body + after, rng)
    return OracleReply(text, style, tuple(head + rest))


def line_prefix(case: Case) -> str:
    """The cursor line's text left of the cursor."""
    before = case.document[: case.cursor]
    return before[before.rfind("\n") + 1 :]


def split_chunks(text: str, rng: random.Random) -> list[str]:
    """``text`` in chunks of 1-3 token-like pieces."""
    pieces = split_tokens(text)
    chunks: list[str] = []
    i = 0
    while i < len(pieces):
        n = rng.randint(1, 3)
        chunks.append("".join(pieces[i : i + n]))
        i += n
    assert "".join(chunks) == text, "split_tokens must give the text back"
    return chunks
