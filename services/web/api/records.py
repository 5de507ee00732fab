"""A practice's registers and data quality, recall and workload pages."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.web.api.deps import FormUser, PracticeUser, Refused, calls, render
from services.web.outbound import ServiceError

router = APIRouter(include_in_schema=False)


def _p(ods: str | None) -> str:
    return f"/v1/practices/{ods}"


@router.get("/registers", response_class=HTMLResponse)
async def registers_page(request: Request, user: PracticeUser) -> HTMLResponse:
    c = calls(request, user)
    regs = await c.get("registers", f"{_p(user.practice)}/registers")
    quality = await c.get("registers", f"{_p(user.practice)}/quality", {"limit": 200})
    scoring: Any = None
    scoring_error: str | None = None
    try:  # the scoring findings are the indicators service's: the page stands without them, and says so
        scoring = await c.get("indicators", f"{_p(user.practice)}/data-quality")
    except ServiceError as exc:
        scoring_error = str(exc)
    return render(request, "registers.html", regs=regs, quality=quality, scoring=scoring, scoring_error=scoring_error,
                  title="Registers and data quality")


@router.get("/recall", response_class=HTMLResponse)
async def recall_page(request: Request, user: PracticeUser, nhs_number: str | None = None) -> HTMLResponse:
    c = calls(request, user)
    plan = await c.post("recall", f"{_p(user.practice)}/recall/plan", {"strategy": "birthday", "mop_up": True})
    campaigns = await c.get("recall", f"{_p(user.practice)}/recall/campaigns")
    responses = await c.get("recall", f"{_p(user.practice)}/recall/responses")
    lookup: dict[str, Any] | None = None
    lookup_error = None
    if nhs_number:
        try:
            lookup = await c.get("recall", f"{_p(user.practice)}/recall/lookup",
                                 {"nhs_number": "".join(nhs_number.split())})
        except ServiceError as exc:
            if exc.status >= 500:
                raise
            lookup_error = exc.detail
    months: dict[str, dict[str, int]] = {}
    for m in plan["load"]:
        row = months.setdefault(m["month"][:7], {"planned": 0, "capacity": 0})
        row["planned"] += m["planned"]
        row["capacity"] += m["capacity"]
    return render(request, "recall.html", plan=plan, months=months, campaigns=campaigns, responses=responses,
                  lookup=lookup, lookup_error=lookup_error, nhs_number=nhs_number or "", title="Recall")


async def _workload_context(request: Request, user: PracticeUser) -> dict[str, Any]:
    c = calls(request, user)
    return {
        "summary": await c.get("workload", f"{_p(user.practice)}/workload/reports/summary", {"by": "provider"}),
        "categories": (await c.get("workload", "/v1/workload/reference/categories"))["categories"],
        "rates": (await c.get("workload", "/v1/workload/reference/rates"))["rates"],
        "title": "Workload",
    }


@router.get("/workload", response_class=HTMLResponse)
async def workload_page(request: Request, user: PracticeUser, logged: str | None = None) -> HTMLResponse:
    return render(request, "workload.html", **await _workload_context(request, user), logged=logged, error=None,
                  form={})


@router.post("/workload/quick")
async def workload_quick(
    request: Request,
    user: FormUser,
    provider_ods: Annotated[str, Form(max_length=10)],
    category: Annotated[str, Form(max_length=60)],
    staff_role: Annotated[str, Form(max_length=40)] = "",
    minutes: Annotated[str, Form(max_length=5)] = "",
    provider_name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    if user.role != "practice":
        raise Refused("Workload is logged by a practice's staff.")
    body: dict[str, Any] = {"provider_ods": provider_ods.strip().upper(), "category": category}
    if staff_role:
        body["staff_role"] = staff_role
    if minutes.strip():
        body["minutes"] = minutes.strip()
    if provider_name.strip():
        body["provider_name"] = provider_name.strip()
    try:
        item = await calls(request, user).post("workload", f"{_p(user.practice)}/workload/quick", body)
    except ServiceError as exc:
        if exc.status >= 500:
            raise
        form = {"provider_ods": provider_ods, "category": category, "staff_role": staff_role, "minutes": minutes,
                "provider_name": provider_name}
        return render(request, "workload.html", 422, **await _workload_context(request, user), logged=None,
                      error=exc.detail, form=form)
    return RedirectResponse(f"/workload?logged={item['provider_ods']}", status_code=303)


@router.get("/workload/letters/{provider_ods}")
async def workload_letter(request: Request, user: PracticeUser, provider_ods: str) -> Response:
    html = await calls(request, user).get_text("workload", f"{_p(user.practice)}/workload/letters/{provider_ods}")
    # The letter is the workload service's own document, printed or sent as it is.
    return HTMLResponse(html)
