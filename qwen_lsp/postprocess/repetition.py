"""Repetition: cut a model that got stuck repeating itself (a step of ``postprocess``).

* a block of one to four lines repeated three times in a row (indentation included: nested
  closing braces differ only by it);
* two identical consecutive lines of a statement or key/value (some words, not a lone closer);
* near-identical lines that only count up (``myFuncC();``, ``myFuncD();``...) running to the end
  of the reply: the first of them is kept;
* a token run repeating itself to the end of the reply (``'ab' + 'ab' + ...``); a run of a single
  character (``1000000000000``, ``========``) is legitimate and kept.
"""

from __future__ import annotations

import re

_MIN_UNIT, _MAX_UNIT, _MIN_RUN = 2, 24, 6
_WORDY = re.compile(r"[A-Za-z_]\w*.*[\w)\]}\"']")  # a statement, not a lone closer or comment
_COUNTER = re.compile(r"\d+|\b[A-Za-z]\b|(?<=[a-z])[A-Z](?![a-z])|(?<=[a-z_])[A-Z]$")
_MIN_COUNTING_RUN = 4


def drop_repetition(text: str, line_prefix: str = "") -> str:
    """``text`` without the repetition loop it ends in, if any."""
    lines = text.split("\n")
    lines[0] = line_prefix + lines[0]
    cut = _repeated_block(lines)
    if cut is None:
        cut = _doubled_line(lines)
    if cut is None:
        cut = _counting_run(lines)
    if cut is not None:
        return "\n".join(lines[:cut])[len(line_prefix) :]
    loop = _token_loop(text)
    return text if loop is None else text[:loop]


def _token_loop(text: str) -> int | None:
    """Where to cut a run of one token (2-24 characters) repeated at least six times to the end
    (the last repetition may be partial): after its first occurrence."""
    for size in range(_MIN_UNIT, _MAX_UNIT + 1):
        for partial in range(size):
            end = len(text) - partial
            start = end - _MIN_RUN * size
            if start < 0:
                break
            unit = text[end - size : end]
            if not text.endswith(unit[:partial]) or len(set(unit)) < 2:
                continue
            if text[start:end] != unit * _MIN_RUN:
                continue
            while start >= size and text[start - size : start] == unit:
                start -= size
            return start + size
    return None


def _repeated_block(lines: list[str]) -> int | None:
    for size in range(1, 5):
        for start in range(len(lines) - 3 * size + 1):
            first = lines[start]
            if first != lines[start + size] or first != lines[start + 2 * size]:
                continue
            block = lines[start : start + size]
            if not any(ln.strip() for ln in block):
                continue
            if (
                block
                == lines[start + size : start + 2 * size]
                == lines[start + 2 * size : start + 3 * size]
            ):
                return start + size
    return None


def _doubled_line(lines: list[str]) -> int | None:
    for i in range(1, len(lines)):
        line = lines[i]
        if line == lines[i - 1] and len(line.strip()) >= 4 and _WORDY.search(line):
            return i
    return None


def _counts_up(a: str, b: str) -> bool:
    """``b`` is ``a`` with one counter (a number or a single letter) moved on by one."""
    if len(a) != len(b) and abs(len(a) - len(b)) > 1:
        return False
    pa, pb = _COUNTER.split(a), _COUNTER.split(b)
    if pa != pb:
        return False
    ca, cb = _COUNTER.findall(a), _COUNTER.findall(b)
    if len(ca) != len(cb):
        return False
    diffs = [(x, y) for x, y in zip(ca, cb, strict=True) if x != y]
    if len(diffs) != 1:
        return False
    x, y = diffs[0]
    if x.isdigit() and y.isdigit():
        return int(y) == int(x) + 1
    return len(x) == len(y) == 1 and ord(y) == ord(x) + 1


def _counting_run(lines: list[str]) -> int | None:
    """The start of a run of counting lines that reaches the end (the last may be partial)."""
    if len(lines) < _MIN_COUNTING_RUN:
        return None
    body = lines if _counts_up(lines[-2], lines[-1]) else lines[:-1]  # the last may be partial
    end = len(body)
    start = end - 1
    while start > 0 and body[start].strip() and _counts_up(body[start - 1], body[start]):
        start -= 1
    if end - start >= _MIN_COUNTING_RUN and _WORDY.search(body[start]):
        return start + 1
    return None
