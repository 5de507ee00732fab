"""Rule sets: QOF years and local schemes with their indicators, provenance and readiness."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel, Field

from services.indicators.api.deps import AnyReader, KernelDep
from services.indicators.api.schemas import Provenance, prov
from services.indicators.domain import RuleSet
from services.indicators.service.kernel import Kernel
from shared.problems import not_found

router = APIRouter(prefix="/v1/rulesets", tags=["rule sets"])


class RuleSetSummary(BaseModel):
    id: str
    title: str
    kind: str = Field(description="qof | local_scheme")
    start: date
    pped: date
    indicators: int
    points: float
    ready: int = Field(description="Indicators that can be scored with the codelists held (provisional included)")
    incomplete: int = Field(description="Indicators not scored: a register, population or success cluster missing")
    confirmed: int = Field(description="Indicators scored with every cluster they read (stand-ins included)")
    provisional: int = Field(description="Indicators scored without some PCA / invitation clusters: a lower bound")
    stand_in: int = Field(description="Confirmed indicators reading at least one cluster served by a stand-in")
    replaces: list[str]


class IndicatorSpec(BaseModel):
    id: str
    wording: str
    group: str
    domain: str
    kind: str
    register_id: str | None
    readiness: str
    missing_clusters: list[str]
    stand_in_clusters: list[str]
    points: Provenance
    lower_threshold: Provenance | None
    upper_threshold: Provenance | None
    prevalence_adjusted: Provenance
    rules: Provenance


class RuleSetDetail(RuleSetSummary):
    description: str
    pound_per_point: Provenance
    national_average_list_size: Provenance
    business_rules_version: Provenance
    national_prevalence_basis: str
    reporting_frequency: str
    period_ends: list[date]
    indicator_specs: list[IndicatorSpec]


def summary(k: Kernel, rs: RuleSet) -> RuleSetSummary:
    ready = k.engine(rs.id).readiness
    return RuleSetSummary(
        id=rs.id,
        title=rs.title,
        kind=rs.kind,
        start=rs.settings.start,
        pped=rs.settings.pped,
        indicators=len(rs.indicators),
        points=rs.total_points,
        ready=sum(1 for r in ready.values() if r.readiness != "incomplete"),
        incomplete=sum(1 for r in ready.values() if r.readiness == "incomplete"),
        confirmed=sum(1 for r in ready.values() if r.readiness in ("ready", "stand-in", "attestation")),
        provisional=sum(1 for r in ready.values() if r.readiness == "provisional"),
        stand_in=sum(1 for r in ready.values() if r.readiness == "stand-in"),
        replaces=list(rs.replaces),
    )


@router.get("", response_model=list[RuleSetSummary], summary="Available rule sets")
async def list_rulesets(kernel: KernelDep, _p: AnyReader) -> list[RuleSetSummary]:
    return [summary(kernel, kernel.ruleset(rid)) for rid in sorted(kernel.engines)]


@router.get("/{ruleset_id}", response_model=RuleSetDetail, summary="A rule set's settings and indicators")
async def get_ruleset(ruleset_id: str, kernel: KernelDep, _p: AnyReader) -> RuleSetDetail:
    if ruleset_id not in kernel.engines:
        raise not_found(f"Rule set {ruleset_id}")
    rs = kernel.ruleset(ruleset_id)
    ready = kernel.engine(ruleset_id).readiness
    s = rs.settings
    specs = [
        IndicatorSpec(
            id=i.id,
            wording=i.wording,
            group=i.group,
            domain=i.domain,
            kind=i.kind,
            register_id=i.register,
            readiness=ready[i.id].readiness,
            missing_clusters=list(ready[i.id].missing),
            stand_in_clusters=list(ready[i.id].stand_ins),
            points=prov(i.points),
            lower_threshold=prov(i.lower_threshold),
            upper_threshold=prov(i.upper_threshold),
            prevalence_adjusted=prov(i.prevalence_adjusted),
            rules=prov(i.chain),
        )
        for i in rs.indicators
    ]
    return RuleSetDetail(
        **summary(kernel, rs).model_dump(),
        description=rs.description,
        pound_per_point=prov(s.pound_per_point),
        national_average_list_size=prov(s.national_average_list_size),
        business_rules_version=prov(s.business_rules_version),
        national_prevalence_basis=s.national_prevalence.basis,
        reporting_frequency=rs.reporting.frequency,
        period_ends=list(rs.reporting.period_ends),
        indicator_specs=specs,
    )
