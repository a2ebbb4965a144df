"""Human-like typing scripts: which edits a person makes to a file, and when.

A script re-types parts of a real source file. Several regions (one to three lines each, from the
first non-blank character) are cut out of the file; the document opens without them, and the
simulated person jumps to each region in random order and types it back, character by character.
The document always has real code before and after the cursor, as when editing a project.

Timing follows how people type code: bursts of keys a few tens of milliseconds apart, short
hesitations (longer than a debounce, shorter than a look at the screen), typos fixed with
backspace, and pauses at natural points inside a region (after a newline, an opening bracket, a
dot...) where the person stops and looks for a suggestion. A newline and the indentation after
it arrive as one edit, as editors auto-indent. The person never accepts a suggestion: they type
on, which is what lets a server reuse a suggestion the typing has caught up with (the replay's
accepting typist, :mod:`benchmarks.replay`, skips the keys a suggestion it accepts would have
typed). Everything is
drawn from a seeded ``random.Random``, so a seed gives the same script on every run.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"

LANGUAGE_IDS = {".py": "python", ".ts": "typescript", ".go": "go", ".rs": "rust"}

# Characters after which a person often stops to see what the model offers.
_PAUSE_AFTER = {"\n": 0.6, "(": 0.4, ".": 0.3, ":": 0.35, "{": 0.45, "=": 0.3, ",": 0.15, " ": 0.08}


@dataclass(frozen=True, slots=True)
class Timing:
    """The typing-speed model, in seconds."""

    key_median: float = 0.11
    key_sigma: float = 0.45
    key_min: float = 0.03
    key_max: float = 0.45
    hesitation_p: float = 0.04
    hesitation: tuple[float, float] = (0.25, 0.6)
    typo_p: float = 0.025
    notice_typo: tuple[float, float] = (0.2, 0.45)
    read: tuple[float, float] = (0.2, 0.8)
    jump: tuple[float, float] = (0.8, 2.0)


@dataclass(frozen=True, slots=True)
class Keystroke:
    """One edit. Positions are ``(line, UTF-16 column)`` in the text before the edit.

    ``delay`` is the idle time after the previous keystroke (or after the suggestion the person
    waited for, when the previous keystroke had ``wait``).
    """

    delay: float
    start: tuple[int, int]
    end: tuple[int, int]
    text: str
    cursor: tuple[int, int]
    wait: bool


@dataclass(frozen=True, slots=True)
class Script:
    """A document's starting text and the keystrokes that turn it into ``final_text``."""

    uri: str
    language_id: str
    initial_text: str
    final_text: str
    keystrokes: tuple[Keystroke, ...]


def corpus_files() -> list[Path]:
    """The shipped source files, in a stable order."""
    return sorted(p for p in CORPUS_DIR.iterdir() if p.suffix in LANGUAGE_IDS)


def position(text: str, offset: int) -> tuple[int, int]:
    """``(line, UTF-16 column)`` of a string offset; lines end at ``\\n`` (the corpus uses LF)."""
    line = text.count("\n", 0, offset)
    start = text.rfind("\n", 0, offset) + 1
    return line, len(text[start:offset].encode("utf-16-le")) // 2


def build_script(path: Path, keys: int, rng: random.Random, timing: Timing) -> Script:
    """A script of about ``keys`` keystrokes over the file at ``path``."""
    text = path.read_text(encoding="utf-8")
    regions = _pick_regions(text, keys, rng)
    buffer = text
    for start, stop in sorted(regions, reverse=True):
        buffer = buffer[:start] + buffer[stop:]
    initial = buffer
    rng.shuffle(regions)
    untyped = set(regions)
    keystrokes: list[Keystroke] = []
    for start, stop in regions:
        untyped.discard((start, stop))
        cursor = start - sum(b - a for a, b in untyped if a < start)
        typist = _Typist(buffer, cursor, rng, timing)
        typist.type_region(text[start:stop])
        buffer = typist.buffer
        keystrokes.extend(typist.keystrokes)
    if buffer != text:
        raise AssertionError(f"script for {path.name} does not rebuild the file")
    return Script(
        path.resolve().as_uri(), LANGUAGE_IDS[path.suffix], initial, text, tuple(keystrokes)
    )


def _pick_regions(text: str, keys: int, rng: random.Random) -> list[tuple[int, int]]:
    """Non-overlapping ``(start, stop)`` offsets of lines to re-type, about ``keys`` chars."""
    offsets = [0]
    for line in text.splitlines(keepends=True):
        offsets.append(offsets[-1] + len(line))
    lines = text.splitlines()
    candidates = [
        i for i, line in enumerate(lines) if len(line.strip()) > 8 and 3 < i < len(lines) - 3
    ]
    taken: set[int] = set()
    regions: list[tuple[int, int]] = []
    total = 0
    rng.shuffle(candidates)
    for first in candidates:
        if total >= keys:
            break
        count = rng.randint(1, 3)
        span = range(first, min(first + count, len(lines) - 3))
        if any(i in taken for i in range(first - 2, span.stop + 2)):
            continue
        start = offsets[first] + len(lines[first]) - len(lines[first].lstrip())
        stop = offsets[span.stop - 1] + len(lines[span.stop - 1])
        if regions and total + stop - start > keys * 1.2:
            continue
        taken.update(span)
        regions.append((start, stop))
        total += stop - start
    return regions


class _Typist:
    """Types one region into a buffer, recording keystrokes."""

    def __init__(self, buffer: str, cursor: int, rng: random.Random, timing: Timing) -> None:
        self.buffer = buffer
        self.cursor = cursor
        self.rng = rng
        self.timing = timing
        self.keystrokes: list[Keystroke] = []
        self._next_delay: float | None = rng.uniform(*timing.jump)

    def type_region(self, content: str) -> None:
        units = _units(content)
        for index, unit in enumerate(units):
            if unit.isalpha() and self.rng.random() < self.timing.typo_p:
                self._key(self.rng.choice(string.ascii_lowercase), wait=False)
                self._next_delay = self.rng.uniform(*self.timing.notice_typo)
                self._backspace()
            last = index == len(units) - 1
            self._key(unit, wait=not last and self._pauses_after(unit))

    def _pauses_after(self, unit: str) -> bool:
        return self.rng.random() < _PAUSE_AFTER.get(unit[0], 0.0)

    def _delay(self) -> float:
        if self._next_delay is not None:
            delay, self._next_delay = self._next_delay, None
            return delay
        t = self.timing
        if self.rng.random() < t.hesitation_p:
            return self.rng.uniform(*t.hesitation)
        key = self.rng.lognormvariate(0.0, t.key_sigma) * t.key_median
        return min(t.key_max, max(t.key_min, key))

    def _key(self, text: str, *, wait: bool) -> None:
        here = position(self.buffer, self.cursor)
        self.buffer = self.buffer[: self.cursor] + text + self.buffer[self.cursor :]
        self.cursor += len(text)
        self.keystrokes.append(
            Keystroke(self._delay(), here, here, text, position(self.buffer, self.cursor), wait)
        )
        if wait:
            self._next_delay = self.rng.uniform(*self.timing.read)

    def _backspace(self) -> None:
        start = position(self.buffer, self.cursor - 1)
        end = position(self.buffer, self.cursor)
        self.buffer = self.buffer[: self.cursor - 1] + self.buffer[self.cursor :]
        self.cursor -= 1
        self.keystrokes.append(Keystroke(self._delay(), start, end, "", start, False))


def _units(content: str) -> list[str]:
    """Split into keystrokes: one character each, but a newline carries the next line's indent."""
    units: list[str] = []
    i = 0
    while i < len(content):
        if content[i] == "\n":
            j = i + 1
            while j < len(content) and content[j] in " \t":
                j += 1
            units.append(content[i:j])
            i = j
        else:
            units.append(content[i])
            i += 1
    return units


def synthetic_text(lines: int) -> str:
    """A Python document of exactly ``lines`` lines, made by repeating the Python corpus file."""
    source = (CORPUS_DIR / "rate_limiter.py").read_text(encoding="utf-8").splitlines()
    repeats = -(-lines // len(source))
    return "\n".join((source * repeats)[:lines]) + "\n"
