"""Token-bucket rate limiting for outgoing API calls, with per-key buckets and retry hints."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


class RateLimited(Exception):
    """Raised when a call would exceed its budget and the caller asked not to wait."""

    def __init__(self, key: str, retry_after: float) -> None:
        super().__init__(f"rate limit for {key!r}: retry in {retry_after:.2f}s")
        self.key = key
        self.retry_after = retry_after


@dataclass
class Bucket:
    """A bucket that refills ``rate`` tokens per second up to ``capacity``."""

    rate: float
    capacity: float
    tokens: float = field(init=False)
    updated: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.capacity <= 0:
            raise ValueError("rate and capacity must be positive")
        self.tokens = self.capacity

    def refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.updated = now

    def take(self, cost: float, now: float) -> float:
        """Take ``cost`` tokens if there are enough; return how long to wait otherwise."""
        self.refill(now)
        if self.tokens >= cost:
            self.tokens -= cost
            return 0.0
        missing = cost - self.tokens
        return missing / self.rate


@dataclass(frozen=True)
class Policy:
    """How many calls a key may make: a sustained rate and a burst on top of it."""

    per_second: float
    burst: int = 1

    @classmethod
    def per_minute(cls, calls: int, burst: int = 1) -> Policy:
        return cls(per_second=calls / 60.0, burst=burst)


class RateLimiter:
    """Hands out permission to call an API, one bucket per key (a user, a model, a region)."""

    def __init__(self, default: Policy, clock: Callable[[], float] = time.monotonic) -> None:
        self._default = default
        self._policies: dict[str, Policy] = {}
        self._buckets: dict[str, Bucket] = {}
        self._clock = clock
        self._lock = asyncio.Lock()

    def configure(self, key: str, policy: Policy) -> None:
        """Give ``key`` its own policy; an existing bucket keeps its tokens."""
        self._policies[key] = policy
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.rate = policy.per_second
            bucket.capacity = float(policy.burst)
            bucket.tokens = min(bucket.tokens, bucket.capacity)

    def _bucket(self, key: str) -> Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            policy = self._policies.get(key, self._default)
            bucket = Bucket(rate=policy.per_second, capacity=float(policy.burst))
            self._buckets[key] = bucket
        return bucket

    def try_acquire(self, key: str, cost: float = 1.0) -> None:
        """Take a token now or raise :class:`RateLimited` with the time to wait."""
        wait = self._bucket(key).take(cost, self._clock())
        if wait > 0:
            raise RateLimited(key, wait)

    async def acquire(self, key: str, cost: float = 1.0, max_wait: float = math.inf) -> float:
        """Wait until a token is free; return the time waited (never more than ``max_wait``)."""
        waited = 0.0
        while True:
            async with self._lock:
                wait = self._bucket(key).take(cost, self._clock())
            if wait == 0:
                return waited
            if waited + wait > max_wait:
                raise RateLimited(key, wait)
            await asyncio.sleep(wait)
            waited += wait

    def penalize(self, key: str, retry_after: float) -> None:
        """Empty the bucket after the server said 429, so no call goes out before it allows."""
        bucket = self._bucket(key)
        bucket.refill(self._clock())
        bucket.tokens = -retry_after * bucket.rate

    def snapshot(self) -> dict[str, float]:
        """Tokens left per key, for a status page."""
        now = self._clock()
        out: dict[str, float] = {}
        for key, bucket in sorted(self._buckets.items()):
            bucket.refill(now)
            out[key] = round(bucket.tokens, 3)
        return out


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter, capped at ``ceiling`` seconds."""

    base: float = 0.25
    factor: float = 2.0
    ceiling: float = 30.0

    def delay(self, attempt: int, jitter: Callable[[], float]) -> float:
        raw = min(self.ceiling, self.base * self.factor**attempt)
        return raw * jitter()


async def call_with_retries(
    limiter: RateLimiter,
    key: str,
    call: Callable[[], Awaitable[T]],
    *,
    attempts: int = 4,
    backoff: Backoff | None = None,
    jitter: Callable[[], float] = lambda: 1.0,
) -> T:
    """Run ``call`` under the limiter, retrying rate-limit errors with backoff.

    A :class:`RateLimited` raised by ``call`` (the server's own 429) empties the bucket for
    ``retry_after`` seconds, so the next attempt waits at least that long.
    """
    backoff = backoff or Backoff()
    last: RateLimited | None = None
    for attempt in range(attempts):
        await limiter.acquire(key)
        try:
            return await call()
        except RateLimited as error:
            last = error
            limiter.penalize(key, error.retry_after)
            await asyncio.sleep(backoff.delay(attempt, jitter))
    assert last is not None
    raise last


def parse_retry_after(header: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an epoch timestamp)."""
    if not header:
        return None
    try:
        value = float(header.strip())
    except ValueError:
        return None
    if value > 1e9:
        return max(0.0, value - now)
    return max(0.0, value)
