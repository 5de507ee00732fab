"""Rate limits on authentication failures (per client address) and on requests (per token), with ``limits``.

Counters are per process (moving windows in memory); a refused request is answered 429 problem+json with
``Retry-After`` in seconds.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from shared.problems import Problem
from shared.settings import ServiceSettings


@dataclass
class RateLimits:
    auth_failures: RateLimitItem
    per_token: RateLimitItem
    limiter: MovingWindowRateLimiter = field(default_factory=lambda: MovingWindowRateLimiter(MemoryStorage()))

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> RateLimits:
        return cls(parse(settings.auth_failure_limit), parse(settings.token_request_limit))

    def _refusal(self, item: RateLimitItem, keys: tuple[str, str], what: str) -> Problem:
        reset = self.limiter.get_window_stats(item, *keys).reset_time
        wait = max(1, math.ceil(reset - time.time()))
        return Problem(429, "Too many requests", f"{what}; try again in {wait} s", kind="rate-limited",
                       headers={"Retry-After": str(wait)})

    def check_client(self, address: str) -> None:
        """Before authenticating: refuse a client address that has failed too often."""
        if not self.limiter.test(self.auth_failures, "auth", address):
            raise self._refusal(self.auth_failures, ("auth", address), "Too many failed authentications")

    def failed(self, address: str) -> None:
        self.limiter.hit(self.auth_failures, "auth", address)

    def hit_token(self, token: str) -> None:
        key = hashlib.sha256(token.encode()).hexdigest()[:32]
        if not self.limiter.hit(self.per_token, "token", key):
            raise self._refusal(self.per_token, ("token", key), "Too many requests with this token")
