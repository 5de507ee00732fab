from __future__ import annotations

from datetime import date

import pytest

from shared.synthetic import SyntheticPatient, SyntheticPractice

AS_OF = date(2026, 11, 23)


@pytest.fixture(scope="session")
def as_of() -> date:
    return AS_OF


@pytest.fixture(scope="session")
def practice_10k() -> list[SyntheticPatient]:
    """10,000 patients with recent history: every diagnosis is kept, so registers can be counted."""
    return list(SyntheticPractice("A81001", 10_000, seed=7, history="recent", as_of=AS_OF))


@pytest.fixture(scope="session")
def practice_full() -> list[SyntheticPatient]:
    return list(SyntheticPractice("A81001", 800, seed=3, history="full", as_of=AS_OF))
