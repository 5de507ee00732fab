"""CSV imports of clinical-system search exports, run as background jobs with progress."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from services.registers.api.deps import KnowledgeDep, RecordsReader, RecordsWriter, Today
from services.registers.domain.csv_encoding import EncodingRefused, decode_csv
from services.registers.domain.csv_mapping import PREAMBLE_ROWS, HeaderError, read_csv
from services.registers.store.imports import ImportJobs, create_job, get_job, import_jobs, run_csv_import
from services.registers.store.models import ImportJob, audit_log
from shared.audit import audit
from shared.problems import Problem, invalid, not_found
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1/practices/{ods}/imports", tags=["imports"])
CSV_MEDIA = ("text/csv", "application/csv", "text/plain")
MAX_BYTES = 200 * 1024 * 1024


class ImportErrorOut(BaseModel):
    row: int | None = Field(description="Row number as a spreadsheet shows it (the first line is row 1); "
                                        "null when the error is about the whole file")
    column: str
    reason: str


class ImportJobOut(BaseModel):
    id: str
    practice: str
    kind: str
    status: str = Field(description="queued | running | done | failed")
    total_rows: int
    processed_rows: int
    accepted: int
    rejected: int
    percent: float
    created: int | None = Field(None, description="Entries new to the platform (known while the service that "
                                                  "ran the job is up)")
    corrected: int | None = None
    unchanged: int | None = None
    errors: list[ImportErrorOut] = Field(description="The first 1,000 errors; a failed job stored nothing")
    created_at: datetime
    finished_at: datetime | None
    links: dict[str, str]


def job_out(job: ImportJob, jobs: ImportJobs) -> ImportJobOut:
    counts = jobs.counts.get(job.id)
    if job.status == "done":
        percent = 100.0
    else:
        percent = round(100 * job.processed_rows / job.total_rows, 1) if job.total_rows else 0.0
    return ImportJobOut(
        id=job.id, practice=job.practice_ods, kind=job.kind, status=job.status, total_rows=job.total_rows,
        processed_rows=job.processed_rows, accepted=job.accepted, rejected=job.rejected, percent=percent,
        created=counts.created if counts else None, corrected=counts.corrected if counts else None,
        unchanged=counts.unchanged if counts else None,
        errors=[ImportErrorOut.model_validate(e) for e in job.errors or []], created_at=job.created_at,
        finished_at=job.finished_at,
        links={"self": f"/v1/practices/{job.practice_ods}/imports/{job.id}"})


def _decode(data: bytes) -> str:
    try:
        return decode_csv(data)[0]
    except EncodingRefused as exc:
        raise invalid([{"field": "file", "reason": str(exc)}], "The file cannot be read; no job was "
                      "started") from None


async def _csv_text(request: Request) -> str:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "multipart/form-data":
        form = await request.form(max_files=1)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise invalid([{"field": "file", "reason": "attach the CSV as the form field 'file'"}])
        data = await upload.read(MAX_BYTES + 1)
    elif media in CSV_MEDIA:
        data = await request.body()
    else:
        raise Problem(415, "Unsupported media type", "Send the CSV as text/csv or as the multipart/form-data "
                      "field 'file'", kind="unsupported-media-type")
    if len(data) > MAX_BYTES:
        raise Problem(413, "Content too large", f"A file may be at most {MAX_BYTES // (1024 * 1024)} MiB; "
                      "split it", kind="too-large")
    return _decode(data)


DESCRIPTION = (
    "Columns (any case or spacing): NHS Number; SNOMED Code / Code / SNOMED CT Concept ID; Date / "
    "Effective Date / Event Date; optional Value, Unit, Recorded By / User, Entry Id / Id, Kind. "
    "Dates as 2024-03-01, 01/03/2024 or 01-Mar-2024. The whole file is validated first: if any row is"
    " invalid the job fails listing the rows and nothing is stored. Without an entry id column each "
    "row's id is derived from its content, so importing the same file again changes nothing."
)


@router.post(
    "/csv", status_code=202, response_model=ImportJobOut,
    summary="Import a clinical-system search export (CSV) as a background job",
    description=DESCRIPTION,
    responses={415: {"description": "Neither text/csv nor multipart/form-data"},
               422: {"description": "The header lacks a required column (problem+json)"}},
    openapi_extra={"requestBody": {"required": True, "content": {
        "text/csv": {"schema": {"type": "string"},
                     "example": "NHS Number,SNOMED Code,Date,Value,Unit\n9990000018,1107481000000106,"
                                "01/03/2024,48,mmol/mol\n"},
        "multipart/form-data": {"schema": {"type": "object", "properties": {
            "file": {"type": "string", "format": "binary"}}, "required": ["file"]}}}}})
async def post_csv(ods: str, request: Request, rt: RuntimeDep, principal: RecordsWriter, today: Today,
                   kb: KnowledgeDep) -> JSONResponse:
    text = await _csv_text(request)
    head = text.split("\n", PREAMBLE_ROWS + 50)
    try:
        header, rows = read_csv("\n".join(head[:PREAMBLE_ROWS + 50]))
    except HeaderError as exc:
        raise invalid([e.as_dict() for e in exc.errors], "The file's header cannot be used; no job was "
                      "started") from None
    if not rows and (len(head) <= PREAMBLE_ROWS + 50 or not head[-1].strip()):
        raise invalid([{"row": header.row, "column": "", "field": "file",
                        "reason": "the file has a header but no data rows"}], "Nothing to import; no job "
                      "was started")
    practice = ods.upper()
    async with rt.sessions() as s, s.begin():
        job = await create_job(s, practice, principal.subject)
        await audit(s, audit_log, principal, "records.import", job.id, practice=practice, detail="csv")
    jobs = import_jobs(request.app)
    jobs.start(job.id, run_csv_import(rt, jobs, job.id, practice, text, knowledge=kb, today=today))
    out = job_out(job, jobs)
    return JSONResponse(out.model_dump(mode="json"), status_code=202, headers={"Location": out.links["self"]})


@router.get("/{job_id}", response_model=ImportJobOut, summary="An import job's status, progress and errors")
async def read_job(ods: str, job_id: str, request: Request, rt: RuntimeDep,
                   principal: RecordsReader) -> ImportJobOut:
    async with rt.sessions() as s, s.begin():
        job = await get_job(s, ods.upper(), job_id)
        if job is None:
            raise not_found("Import job")
    return job_out(job, import_jobs(request.app))
