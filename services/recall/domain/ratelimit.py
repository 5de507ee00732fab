"""A token bucket for Notify's limit of 3,000 requests a minute per API key."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class TokenBucket:
    """A burst of ``capacity`` plus a steady rate, sized so that no 60-second window holds more than
    ``per_minute`` requests (the burst and a minute of refill together stay within the limit)."""

    def __init__(
        self,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.capacity = float(max(1, per_minute // 60))  # about one second's worth at once
        self.rate = max(per_minute - self.capacity, 1.0) / 60.0
        self.tokens = self.capacity
        self.clock = clock
        self.sleep = sleep
        self.at = clock()

    def wait_time(self) -> float:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1 - 1e-9:  # a sleep of exactly the wait may refill to 0.999…: that is a token
            self.tokens = max(0.0, self.tokens - 1)
            return 0.0
        return (1 - self.tokens) / self.rate

    async def take(self) -> None:
        while True:
            delay = self.wait_time()
            if delay <= 0:
                return
            await self.sleep(delay)
