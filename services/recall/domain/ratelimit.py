"""A token bucket for Notify's limit of 3,000 requests a minute per API key."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class TokenBucket:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(max(1, per_minute // 60))  # at most one second's worth at once
        self.tokens = self.capacity
        self.clock = clock
        self.at = clock()

    def wait_time(self) -> float:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate

    async def take(self) -> None:
        for _ in range(1000):
            delay = self.wait_time()
            if delay <= 0:
                return
            await asyncio.sleep(delay)
