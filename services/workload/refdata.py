"""Loads the versioned reference data: taxonomy, contract clauses, rates."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from services.workload.domain.clauses import Clause, ClauseBook, ContractYear
from services.workload.domain.rates import RateCard
from services.workload.domain.taxonomy import Category, Taxonomy

REFERENCE_DIR = Path(__file__).parent / "reference"


def _yaml(name: str) -> dict[str, Any]:
    with (REFERENCE_DIR / name).open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    assert isinstance(data, dict), f"{name} must hold a mapping"
    return data


@lru_cache(maxsize=1)
def taxonomy() -> Taxonomy:
    data = _yaml("categories.yaml")
    return Taxonomy(
        str(data["version"]),
        tuple(
            Category(
                c["key"],
                c["label"],
                " ".join(c["description"].split()),
                c.get("default_clause"),
                bool(c.get("retired", False)),
            )
            for c in data["categories"]
        ),
    )


def _clause(key: str, raw: dict[str, Any]) -> Clause:
    return Clause(
        key=key,
        number=str(raw["number"]),
        title=raw["title"],
        requirement=" ".join(str(raw["requirement"]).split()),
        verified=bool(raw.get("verified")),
        contractual=bool(raw.get("contractual", True)),
        note=" ".join(str(raw["note"]).split()) if raw.get("note") else None,
        sources=tuple(raw.get("sources", ())),
        deadline=dict(raw.get("deadline") or {}),
    )


@lru_cache(maxsize=1)
def clause_book() -> ClauseBook:
    data = _yaml("contract_clauses.yaml")
    years = []
    for raw in data["years"]:
        starts, ends = raw["starts"], raw["ends"]
        assert isinstance(starts, date) and isinstance(ends, date)
        years.append(
            ContractYear(
                str(raw["year"]),
                starts,
                ends,
                raw["edition"],
                {k: _clause(k, v) for k, v in raw["clauses"].items()},
            )
        )
    years.sort(key=lambda y: y.starts)
    return ClauseBook(str(data["version"]), tuple(years), dict(data.get("sources", {})))


@lru_cache(maxsize=1)
def default_rates() -> RateCard:
    data = _yaml("hourly_rates.yaml")
    return RateCard(
        {k: Decimal(str(v["per_hour"])) for k, v in data["rates"].items()},
        {k: v["label"] for k, v in data["rates"].items()},
    )


def rate_card(overrides: dict[str, Decimal]) -> RateCard:
    return default_rates().with_overrides(overrides) if overrides else default_rates()


_SMALL_WORDS = {"AND", "OF", "UPON", "THE", "FOR", "IN", "ON", "AT"}
_AS_WRITTEN = {"NHS", "UK", "ICB", "PCT"}


def _display(official: str) -> str:
    """``THE NEWCASTLE UPON TYNE HOSPITALS NHS FOUNDATION TRUST`` -> ``The Newcastle upon Tyne Hospitals NHS
    Foundation Trust``."""
    words = []
    for i, word in enumerate(official.split()):
        if word in _AS_WRITTEN:
            words.append(word)
        elif i and word in _SMALL_WORDS:
            words.append(word.lower())
        else:
            words.append("-".join(part[:1] + part[1:].lower() for part in word.split("-")))
    return " ".join(words)


@lru_cache(maxsize=1)
def nhs_trusts() -> dict[str, str]:
    """ODS code -> display name of every NHS trust in the ODS extract (``reference/nhs_trusts.md``)."""
    with (REFERENCE_DIR / "nhs_trusts.csv").open(encoding="utf-8", newline="") as fh:
        return {row["ods_code"]: _display(row["name"]) for row in csv.DictReader(fh)}


def provider_name(ods: str, given: str | None) -> str:
    """The name every output uses for a provider: the ODS name of an NHS trust, else what the practice gave
    (else the code)."""
    return nhs_trusts().get(ods.upper()) or given or ods
