"""A practice's QOF pages: the overview, worklists (per indicator and across), CSV exports, a patient's page."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.web.api.deps import PracticeUser, User, calls, render
from services.web.domain.overview import overview
from services.web.domain.worklists import Identity, csv_text, identities, indicator_rows, next_best_rows
from services.web.outbound import Calls

router = APIRouter(include_in_schema=False)
PAGE = 50
ID_CHUNK = 100  # ids per registers lookup (keeps the query string short)


def _p(user: PracticeUser) -> str:
    return f"/v1/practices/{user.practice}"


@router.get("/")
async def home(user: User) -> Response:
    return RedirectResponse(user.home, status_code=303)


@router.get("/overview", response_class=HTMLResponse)
async def overview_page(request: Request, user: PracticeUser,
                        view: Literal["today", "year-end"] = "today") -> HTMLResponse:
    c = calls(request, user)
    a = await c.get("indicators", f"{_p(user)}/achievement", {"view": view})
    projection = await c.get("indicators", f"{_p(user)}/projection")
    history = await c.get("indicators", f"{_p(user)}/history")
    ruleset = await c.get("indicators", f"/v1/rulesets/{a['ruleset']}")
    o = overview(a, projection, history, float(ruleset["pound_per_point"]["value"]))
    return render(request, "overview.html", o=o, freshness=a["freshness"], title="QOF overview")


async def resolve(c: Calls, practice: str, patient_ids: list[str]) -> dict[str, Identity]:
    """Identities of these patients from registers, with the user's own token, at display time."""
    wanted = sorted(set(patient_ids))
    found: list[dict[str, Any]] = []
    for i in range(0, len(wanted), ID_CHUNK):
        part = wanted[i:i + ID_CHUNK]
        page = await c.get("registers", f"/v1/practices/{practice}/patients",
                           [("id", pid) for pid in part] + [("limit", len(part))])
        found.extend(page["items"])
    return identities(found)


def _on(on: date | None) -> dict[str, str]:
    """The ``on`` query of a worklist asked for a date (none: today)."""
    return {} if on is None else {"on": on.isoformat()}


async def _indicator_list(c: Calls, user: PracticeUser, indicator_id: str, cursor: str | None,
                          limit: int, on: date | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": limit, **_on(on)}
    if cursor:
        params["cursor"] = cursor
    return await c.get("indicators", f"{_p(user)}/indicators/{indicator_id}/worklist", params)  # type: ignore[no-any-return]


async def _every_page(c: Calls, path: str, on: date | None = None) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await c.get("indicators", path, {"limit": 1000, **_on(on), **({"cursor": cursor} if cursor else {})})
        items.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return items


async def _across(c: Calls, user: PracticeUser, ranked: dict[str, Any], day: date,
                  on: date | None = None) -> list[Any]:
    """Ranked patients with the why-trace of each gap (from each indicator's worklist) and their identities."""
    wanted = sorted({g["indicator_id"] for x in ranked["items"] for g in x["gaps"]})
    details: dict[tuple[str, str], dict[str, Any]] = {}
    for iid in wanted:
        for item in await _every_page(c, f"{_p(user)}/indicators/{iid}/worklist", on):
            details[(item["patient_id"], iid)] = item
    ids = await resolve(c, user.practice or "", [x["patient_id"] for x in ranked["items"]])
    return next_best_rows(ranked, details, ids, day)


@router.get("/worklists/export.csv")
async def across_csv(request: Request, user: PracticeUser, on: date | None = None) -> Response:
    c = calls(request, user)
    ranked = await c.get("indicators", f"{_p(user)}/worklist/next-best", {"limit": 1000, **_on(on)})
    ranked["items"] = await _every_page(c, f"{_p(user)}/worklist/next-best", on)
    rows = await _across(c, user, ranked, date.fromisoformat(ranked["achievement_date"]), on)
    return _csv(csv_text(rows), f"{user.practice}-worklist-{ranked['achievement_date']}.csv", ranked)


@router.get("/worklists", response_class=HTMLResponse)
async def across_page(request: Request, user: PracticeUser, cursor: str | None = None) -> HTMLResponse:
    c = calls(request, user)
    ranked = await c.get("indicators", f"{_p(user)}/worklist/next-best",
                         {"limit": PAGE, **({"cursor": cursor} if cursor else {})})
    rows = await _across(c, user, ranked, date.fromisoformat(ranked["achievement_date"]))
    a = await c.get("indicators", f"{_p(user)}/achievement")
    lists = [i for i in a["indicators"] if i["kind"] == "patient" and i["denominator"] > i["numerator"]]
    return render(request, "worklists.html", rows=rows, ranked=ranked, lists=lists, title="Worklists")


@router.get("/worklists/{indicator_id}/export.csv")
async def indicator_csv(request: Request, user: PracticeUser, indicator_id: str, on: date | None = None) -> Response:
    c = calls(request, user)
    wl = await _indicator_list(c, user, indicator_id, None, 1, on)
    wl["items"] = await _every_page(c, f"{_p(user)}/indicators/{indicator_id}/worklist", on)
    ids = await resolve(c, user.practice or "", [i["patient_id"] for i in wl["items"]])
    rows = indicator_rows(wl, ids, date.fromisoformat(wl["achievement_date"]))
    return _csv(csv_text(rows), f"{user.practice}-{wl['indicator_id']}-{wl['achievement_date']}.csv", wl)


@router.get("/worklists/{indicator_id}", response_class=HTMLResponse)
async def indicator_page(request: Request, user: PracticeUser, indicator_id: str,
                         cursor: str | None = None) -> HTMLResponse:
    c = calls(request, user)
    wl = await _indicator_list(c, user, indicator_id, cursor, PAGE)
    one = await c.get("indicators", f"{_p(user)}/indicators/{indicator_id}")
    ids = await resolve(c, user.practice or "", [i["patient_id"] for i in wl["items"]])
    rows = indicator_rows(wl, ids, date.fromisoformat(wl["achievement_date"]))
    return render(request, "worklist.html", wl=wl, one=one, rows=rows, title=f"{wl['indicator_id']} worklist")


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
async def patient_page(request: Request, user: PracticeUser, patient_id: str) -> HTMLResponse:
    c = calls(request, user)
    page = await c.get("indicators", f"{_p(user)}/patients/{patient_id}/indicators")
    person = (await resolve(c, user.practice or "", [patient_id])).get(patient_id)
    day = date.fromisoformat(page["achievement_date"])
    mine = [i for i in page["indicators"] if i["status"] not in ("not_in_population", "not_scored")]
    others = [i for i in page["indicators"] if i["status"] in ("not_in_population", "not_scored")]
    return render(request, "patient.html", page=page, person=person, age=person.age_on(day) if person else None,
                  mine=mine, others=others, title="Patient's QOF page")


def _csv(text: str, filename: str, year: dict[str, Any] | None = None) -> Response:
    """A CSV download; a worklist's (``year``: the answer it is built from) says its QOF year and achievement
    date in headers, as the publication CSV does (its columns carry neither)."""
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if year is not None:
        headers |= {"QOF-Year": year["qof_year"], "QOF-Year-Closed": str(year["year_closed"]).lower(),
                    "QOF-Achievement-Date": year["achievement_date"]}
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)
