"""Chat framing: what wraps the code in a model's reply (the first step of ``postprocess``).

* Qwen's special tokens (``<|file_sep|>``, ``<|endoftext|>``...) end the answer;
* a Markdown fence counts only when it fills a whole line (```` ```python ````); the opening one is
  dropped and a closing one ends the answer. While streaming, a last line that is not complete yet
  is never taken for a fence: ```` `` ```` may still become ```` ```py ```` or ```` ``x`` ````;
* an echo of the prefix (a chat model repeating the code before the cursor) is removed, whether
  it starts at a line start or in the middle of an earlier line;
* FIM replies get the fence rule too in a non-Markdown document (Qwen3 coder models sometimes
  wrap a middle in a fence).
"""

from __future__ import annotations

import re

from ..context import Context
from ..prompts import SPECIAL_TOKENS

_SPECIAL = re.compile("|".join(re.escape(t) for t in SPECIAL_TOKENS))
# A whole-line fence: three or more backticks (or tildes), an optional info string, nothing else.
_FENCE = re.compile(r"^[ \t]*(?:`{3,}|~{3,})[\w+#.\-]*[ \t]*$")
_MARKDOWN = frozenset({"markdown", "mdx", "rmd", "quarto", "plaintext"})
_ECHO_WINDOW = 4000
_MIN_ECHO = 8  # a shorter "echo" spanning a line break is more likely a coincidence


def cut_special(text: str) -> tuple[str, bool]:
    """The text before the first special token, and whether there was one."""
    match = _SPECIAL.search(text)
    return (text[: match.start()], True) if match else (text, False)


def is_fence(line: str) -> bool:
    return _FENCE.match(line) is not None


def strip_fences(text: str, final: bool = True) -> tuple[str, bool]:
    """Drop the opening fence of a reply and cut at its closing fence (True when one was seen).

    ``final``: the text is the whole reply. Otherwise its last line may be incomplete and is
    never taken for a fence (it waits for the rest of its line).
    """
    lines = text.split("\n")
    complete = len(lines) if final else len(lines) - 1
    start = 0
    while start < complete and not lines[start].strip():
        start += 1
    if start < complete and is_fence(lines[start]):
        lines = lines[start + 1 :]
        complete -= start + 1
    elif not final and start == complete and lines[-1].lstrip().startswith(("`", "~")):
        return "", False  # maybe an opening fence whose line has not arrived in full
    for i in range(complete):
        if is_fence(lines[i]):
            return "\n".join(lines[:i]), True
    return "\n".join(lines), False


def fences_apply(ctx: Context, chat: bool) -> bool:
    """Fences are framing in chat replies, and in FIM replies outside Markdown-like documents
    whose nearby text has no fence of its own."""
    if chat:
        return True
    if ctx.language in _MARKDOWN:
        return False
    return "```" not in ctx.prefix[-_ECHO_WINDOW:] and "```" not in ctx.suffix[:_ECHO_WINDOW]


def strip_echo(text: str, ctx: Context) -> str:
    """Remove the end of the prefix when a chat model starts by repeating it.

    The longest echo wins: a tail of the prefix that spans a line break (starting anywhere, even
    in the middle of a line), else the cursor line restarted.
    """
    prefix = ctx.prefix[-_ECHO_WINDOW:]
    marker = "\n" + ctx.line_prefix
    best = 0
    at = text.find(marker)
    while 0 <= at < _ECHO_WINDOW:
        end = at + len(marker)
        if end >= _MIN_ECHO and prefix.endswith(text[:end]):
            best = end
        at = text.find(marker, at + 1)
    if best:
        return text[best:]
    if ctx.line_prefix and text.startswith(ctx.line_prefix):  # the cursor line restarted
        return text[len(ctx.line_prefix) :]
    stripped = ctx.line_prefix.strip()
    if len(stripped) >= 3 and text.lstrip().startswith(stripped) and not ctx.line_prefix.isspace():
        return text.lstrip()[len(stripped) :]
    return text


def maybe_echo(text: str, ctx: Context) -> bool:
    """While streaming: the text so far could still be the start of an echo of the prefix."""
    return bool(text.strip()) and text.lstrip() in ctx.prefix[-_ECHO_WINDOW:]
