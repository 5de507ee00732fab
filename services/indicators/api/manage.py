"""Contracts, attestations and full recomputes (scope indicators:write)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.indicators.api.deps import KernelDep, Reader, Writer, require_ruleset
from services.indicators.api.schemas import AttestationIn, AttestationOut, ContractIn, ContractOut
from services.indicators.domain import IndicatorsError, load_contract
from services.indicators.service.achievement import achievement
from services.indicators.service.evaluation import contract_on, publish_aggregates
from services.indicators.service.jobs import SYNC_LIMIT, practice_patients, recompute, run_job, start_job
from services.indicators.service.kernel import Kernel, qof_year_label
from services.indicators.store.models import ATTESTATIONS, CONTRACTS, RecomputeJob, audit_log
from services.indicators.store.state import ContractChoice, contract_of
from shared.audit import audit
from shared.db import upsert, utcnow
from shared.events.outbox import enqueue
from shared.events.schemas import EventPayload
from shared.problems import invalid, not_found
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1/practices/{ods}", tags=["contract and attestations"])


@router.get("/contract", response_model=ContractOut, summary="The rule set the practice is paid on")
async def get_contract(ods: str, rt: RuntimeDep, kernel: KernelDep, _p: Reader) -> ContractOut:
    async with rt.sessions() as s:
        c = await contract_of(s, ods.upper(), kernel)
    return contract_out(kernel, ods.upper(), c)


def contract_out(kernel: Kernel, practice: str, recorded: ContractChoice) -> ContractOut:
    """The recorded contract and what is scored today: a rule set recorded for a closed year does not pin the
    practice to it (``contract_on``); the answer says when the two differ."""
    local = kernel.ruleset(recorded.local_scheme_id) if recorded.local_scheme_id else None
    today = kernel.today()
    now = contract_on(kernel, recorded, today)
    period = kernel.period(kernel.ruleset(now.ruleset_id))
    notes = [period.note] if period.note else []
    if now.ruleset_id != recorded.ruleset_id:
        was = kernel.ruleset(recorded.ruleset_id).settings
        notes.insert(0, f"{recorded.ruleset_id} is for QOF {qof_year_label(was.start)}"
                        f"{', a closed year' if was.pped < today else ''}: QOF {period.qof_year} is scored "
                        f"on {now.ruleset_id}")
    if recorded.local_scheme_id and now.local_scheme_id is None:
        notes.append(f"{recorded.local_scheme_id} does not cover {today.isoformat()}: not scored")
    return ContractOut(
        practice=practice,
        ruleset_id=recorded.ruleset_id,
        local_scheme_id=recorded.local_scheme_id,
        opted_out=list(local.replaces) if local else [],
        default=not recorded.stored,
        scored_on=now.ruleset_id,
        scored_local_scheme=now.local_scheme_id,
        qof_year=period.qof_year,
        note="; ".join(notes),
    )


@router.put(
    "/contract",
    response_model=ContractOut,
    summary="Choose the QOF year (and optional local scheme); the practice is recomputed",
)
async def put_contract(ods: str, body: ContractIn, rt: RuntimeDep, kernel: KernelDep, principal: Writer) -> ContractOut:
    practice = ods.upper()
    require_ruleset(kernel, body.ruleset_id, "ruleset_id", "body")
    if kernel.ruleset(body.ruleset_id).kind != "qof":
        raise invalid(
            [
                {
                    "field": "ruleset_id",
                    "reason": f"{body.ruleset_id} is a local scheme, not a QOF year",
                    "location": "body",
                }
            ]
        )
    if body.local_scheme_id:
        require_ruleset(kernel, body.local_scheme_id, "local_scheme_id", "body")
        try:
            load_contract(practice, body.ruleset_id, body.local_scheme_id)
        except IndicatorsError as exc:
            raise invalid([{"field": "local_scheme_id", "reason": str(exc), "location": "body"}]) from None
    async with rt.sessions() as s, s.begin():
        await upsert(
            s,
            CONTRACTS,
            [
                {
                    "practice_ods": practice,
                    "ruleset_id": body.ruleset_id,
                    "local_scheme_id": body.local_scheme_id,
                    "updated_by": principal.subject,
                    "updated_at": utcnow(),
                }
            ],
            ("practice_ods",),
        )
        # in full, month ends included: those held for a rule set of an earlier contract missed the stale marks
        # the reads under the other contract cleared
        await recompute(s, kernel, practice)
        await audit(
            s, audit_log, principal, "contract.set", body.ruleset_id, practice=practice, detail=body.local_scheme_id
        )
    rt.events_written()
    return contract_out(kernel, practice, ContractChoice(body.ruleset_id, body.local_scheme_id, True))


@router.put(
    "/attestations/{indicator_id}",
    response_model=AttestationOut,
    summary="Record QI evidence for an attestation indicator (QI013, QI014, ...)",
)
async def put_attestation(
    ods: str,
    indicator_id: str,
    body: AttestationIn,
    rt: RuntimeDep,
    kernel: KernelDep,
    principal: Writer,
    ruleset: Annotated[
        str | None, Query(description="QOF rule set the evidence is for (default: the one scored today); a "
                          "closed year is asked for explicitly")
    ] = None,
) -> AttestationOut:
    practice, iid = ods.upper(), indicator_id.upper()
    if ruleset is not None:
        require_ruleset(kernel, ruleset, "ruleset")
    async with rt.sessions() as s, s.begin():
        recorded = await contract_of(s, practice, kernel)
        # the year scored today unless one is named: a closed year the recorded contract names does not pin it
        contract = (
            ContractChoice(ruleset, None, recorded.stored)
            if ruleset is not None
            else contract_on(kernel, recorded, kernel.today())
        )
        rs = kernel.ruleset(contract.ruleset_id)
        ind = next((i for i in rs.indicators if i.id == iid), None)
        if ind is None or ind.kind != "attestation":
            reason = (
                f"{iid} is not an indicator of {rs.id}"
                if ind is None
                else f"{iid} is scored from patient records, not attested"
            )
            raise invalid([{"field": "indicator_id", "reason": reason, "location": "path"}])
        await upsert(
            s,
            ATTESTATIONS,
            [
                {
                    "practice_ods": practice,
                    "ruleset_id": rs.id,
                    "indicator_id": iid,
                    "activity": body.activity,
                    "plan": body.plan,
                    "network_meetings": [d.isoformat() for d in body.network_meetings],
                    "declared_on": body.declared_on,
                    "updated_by": principal.subject,
                    "updated_at": utcnow(),
                }
            ],
            ("practice_ods", "ruleset_id", "indicator_id"),
        )
        payloads: list[EventPayload] = []
        await publish_aggregates(s, kernel, practice, contract, full=False, out=payloads)
        await enqueue(s, rt.tables, payloads, source="/services/indicators")
        await audit(s, audit_log, principal, "attestation.set", iid, practice=practice)
        # evidence for a closed year is scored at that year's end (a closed year is asked for explicitly)
        closed = rs.settings.pped < kernel.today()
        a = await achievement(s, kernel, practice, contract=contract, on=rs.settings.pped if closed else None)
    rt.events_written()
    r = a.result(iid)
    assert r is not None
    return AttestationOut(
        practice=practice,
        ruleset=rs.id,
        indicator_id=iid,
        achieved=r.score.points > 0,
        points=r.score.points,
        max_points=r.score.max_points,
        pounds=None if r.pounds is None else round(r.pounds, 2),
        reasons=list(r.attestation_reasons),
    )


class JobOut(BaseModel):
    id: str
    practice: str
    status: str
    patients: int
    outcomes: int
    seconds: float | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None


def job_out(j: RecomputeJob) -> JobOut:
    return JobOut(
        id=j.id,
        practice=j.practice_ods,
        status=j.status,
        patients=j.patients,
        outcomes=j.outcomes,
        seconds=j.seconds,
        error=j.error,
        created_at=j.created_at,
        finished_at=j.finished_at,
    )


@router.post(
    "/recompute",
    response_model=JobOut,
    status_code=200,
    responses={202: {"model": JobOut, "description": "Accepted: poll the job"}},
    summary="Re-evaluate every patient of the practice (same answer as the incremental path)",
)
async def post_recompute(
    ods: str,
    request: Request,
    rt: RuntimeDep,
    kernel: KernelDep,
    principal: Writer,
    mode: Annotated[
        Literal["auto", "sync", "async"], Query(description=f"auto: synchronous up to {SYNC_LIMIT} patients")
    ] = "auto",
) -> JSONResponse:
    practice = ods.upper()
    async with rt.sessions() as s, s.begin():
        n = await practice_patients(s, practice)
        job = RecomputeJob(
            practice_ods=practice,
            requested_by=principal.subject,
            status="queued",
            patients=0,
            outcomes=0,
            created_at=utcnow(),
        )
        s.add(job)
        await s.flush()
        await audit(s, audit_log, principal, "recompute", job.id, practice=practice)
    if mode == "sync" or (mode == "auto" and n <= SYNC_LIMIT):
        await run_job(request.app, rt.sessions, kernel, job.id, practice)
        async with rt.sessions() as s:
            done = await s.get(RecomputeJob, job.id)
        assert done is not None
        return JSONResponse(job_out(done).model_dump(mode="json"), status_code=200)
    start_job(request.app, kernel, job.id, practice)
    return JSONResponse(
        job_out(job).model_dump(mode="json"),
        status_code=202,
        headers={"Location": f"/v1/practices/{practice}/recompute/{job.id}"},
    )


@router.get("/recompute/{job_id}", response_model=JobOut, summary="A recompute job's status")
async def get_recompute(ods: str, job_id: str, rt: RuntimeDep, _p: Reader) -> JobOut:
    async with rt.sessions() as s:
        job = await s.get(RecomputeJob, job_id)
    if job is None or job.practice_ods != ods.upper():
        raise not_found(f"Recompute job {job_id}")
    return job_out(job)
