"""Age/sex structure of a synthetic practice list, from the ONS-like pyramid in ``data/``."""

from __future__ import annotations

import bisect
import csv
import random
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate
from pathlib import Path

PYRAMID_FILE = Path(__file__).parent / "data" / "england_population_mid2020.csv"
MAX_AGE = 99


@dataclass(frozen=True)
class Pyramid:
    """Single-year weights by sex: ``weights[(sex, age)]`` sums to 1 over both sexes."""

    weights: dict[tuple[str, int], float]

    def __post_init__(self) -> None:
        keys = sorted(self.weights)
        object.__setattr__(self, "_keys", keys)
        object.__setattr__(self, "_cum", list(accumulate(self.weights[k] for k in keys)))

    def sample(self, rng: random.Random) -> tuple[str, int]:
        cum: list[float] = self._cum  # type: ignore[attr-defined]
        i = bisect.bisect_left(cum, rng.random() * cum[-1])
        return self._keys[min(i, len(cum) - 1)]  # type: ignore[attr-defined,no-any-return]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


@lru_cache(maxsize=1)
def england_pyramid() -> Pyramid:
    raw: dict[tuple[str, int], float] = {}
    for row in _rows(PYRAMID_FILE):
        lo, hi = int(row["age_from"]), int(row["age_to"])
        for sex in ("male", "female"):
            total = float(row[sex])
            # The open top band thins out quickly: geometric decline across its years.
            shares = [0.7**k for k in range(hi - lo + 1)] if hi - lo > 4 else [1.0] * (hi - lo + 1)
            norm = sum(shares)
            for k, share in enumerate(shares):
                raw[(sex, lo + k)] = total * share / norm
    grand = sum(raw.values())
    return Pyramid({k: v / grand for k, v in raw.items()})
