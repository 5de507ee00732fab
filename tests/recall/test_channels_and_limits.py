"""Pure rules of sending: SMS hours on UK clocks, SMS fragments, Notify's rate limit."""

from __future__ import annotations

import asyncio
from bisect import bisect_left
from datetime import UTC, datetime, time

from services.recall.domain.channels import sms_allowed, sms_fragments
from services.recall.domain.ratelimit import TokenBucket

EIGHT, TWENTY = time(8, 0), time(20, 0)


def test_sms_hours_are_uk_local_time_across_both_clock_changes() -> None:
    # 2026: BST starts 29 March 01:00 UTC, ends 25 October 01:00 UTC.
    # Autumn: 19:30 UTC is 20:30 BST the day before the change (too late), 19:30 GMT the day after (allowed).
    assert not sms_allowed(datetime(2026, 10, 24, 19, 30, tzinfo=UTC), EIGHT, TWENTY)
    assert sms_allowed(datetime(2026, 10, 25, 19, 30, tzinfo=UTC), EIGHT, TWENTY)
    # Spring: 07:30 UTC is 07:30 GMT the day before the change (too early), 08:30 BST the day after (allowed).
    assert not sms_allowed(datetime(2026, 3, 28, 7, 30, tzinfo=UTC), EIGHT, TWENTY)
    assert sms_allowed(datetime(2026, 3, 29, 7, 30, tzinfo=UTC), EIGHT, TWENTY)
    # The end is exclusive: 20:00 UK time is outside the hours.
    assert not sms_allowed(datetime(2026, 12, 3, 20, 0, tzinfo=UTC), EIGHT, TWENTY)
    assert sms_allowed(datetime(2026, 7, 1, 18, 59, tzinfo=UTC), EIGHT, TWENTY)  # 19:59 BST


def test_sms_fragments_as_notify_counts_them() -> None:
    # Notify: 160 GSM characters in one text, 153 per fragment beyond; 70 / 67 with any non-GSM character;
    # ^ { } \ [ ~ ] | € count as two.
    assert sms_fragments("a" * 160) == 1
    assert sms_fragments("a" * 161) == 2
    assert sms_fragments("a" * 306) == 2 and sms_fragments("a" * 307) == 3
    assert sms_fragments("€" * 80) == 1 and sms_fragments("€" * 81) == 2
    assert sms_fragments("ŵ" * 70) == 1 and sms_fragments("ŵ" + "a" * 70) == 2  # Welsh w-circumflex is not GSM
    assert sms_fragments("ŵ" * 135) == 3


def test_no_sixty_second_window_holds_more_than_notify_allows() -> None:
    # GOV.UK Notify: "You can send 3,000 messages per minute" (API rate limit per key, 60-second window).
    now = [0.0]
    stamps: list[float] = []

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    async def send_all() -> None:
        bucket = TokenBucket(3000, clock=lambda: now[0], sleep=sleep)
        for _ in range(9000):
            await bucket.take()
            stamps.append(now[0])

    asyncio.run(send_all())
    busiest = max(bisect_left(stamps, t + 60.0) - i for i, t in enumerate(stamps))
    assert busiest <= 3000
    assert stamps[-1] < 185  # and it keeps close to the limit: 9,000 in about three minutes, not more
