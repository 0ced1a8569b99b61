"""Reports in the app (open pooled summary for report readers; closed by-arm summary for the DMC and other
unblinded roles) and the governed export page (reason needed for arm-level data before lock; who exported
what)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from securebase.errors import ConflictError, InputError
from securebase.trial import exports, monitoring
from securebase.web.deps import read
from securebase.web.pagekit import Form, User
from securebase.web.render import field, form, link, page

router = APIRouter(include_in_schema=False)
FRAMES = {"participants": "Participants (one row per child)", "visits": "Visits (one row per visit)",
          "resource_use": "Resource use"}


@router.get("/trials/{trial_id}/reports")
def reports_get(request: Request, trial_id: str, user: User) -> HTMLResponse:
    def build(s: Any, a: Any) -> tuple[dict[str, Any], bool]:
        return monitoring.open_summary(s, a), a.can_see_allocation() and a.has(*monitoring.CLOSED_ROLES)
    o, closed = read(request, user, trial_id, build)
    sections: list[dict[str, Any]] = [{"heading": "Open report (pooled over arms)", "id": "open-report", "dl": [
        ("Assessed for eligibility", o["assessed"]), ("Not eligible", o["not_eligible"]),
        ("Eligible, not approached", o["not_approached"]), ("Declined", o["declined"]),
        ("Enrolled, not yet randomised", o["enrolled_not_randomised"]), ("Randomised", o["randomised"]),
        (f"Followed up at {o['primary_visit']}", o["followed_up"]), ("Withdrawn", o["withdrawn"]), ("Lost", o["lost"]),
        ("Analysed (primary outcome present)", o["analysed"])],
        "table": {"columns": ["reason not eligible", "children"],
                  "rows": sorted(o["not_eligible_reasons"].items()), "empty": "No child found ineligible."}}]
    if closed:
        sections.append({"links": [link(f"/trials/{trial_id}/reports/closed", "Closed report (by arm)")]})
    return page(request, "Reports", sections, trial_id=trial_id)


@router.get("/trials/{trial_id}/reports/closed")
def closed_get(request: Request, trial_id: str, user: User) -> HTMLResponse:
    c = read(request, user, trial_id, monitoring.closed_summary)
    cols = ["arm", "allocated", "followed up", "withdrawn", "lost", "analysed", "mean age", "% female",
            f"{c['primary_outcome']} at {c['primary_visit']}: n", "mean", "events", "serious adverse events"]
    rows = [[r["arm"], r["allocated"], r["followed_up"], r["withdrawn"], r["lost"], r["analysed"], r["mean_age"],
             r["female_percent"], r["primary_n"], r["primary_mean"], r["events"], r["serious_adverse_events"]]
            for r in c["arms"]]
    return page(request, "Closed report (by arm)", [{"heading": "By arm", "id": "closed-report", "text": [
        "Closed: for the data monitoring committee and unblinded roles only. Do not share with the trial team."],
        "table": {"columns": cols, "rows": rows}}], trial_id=trial_id)


def exports_page(request: Request, user: str, trial_id: str, *, error: str = "", status: int = 200,
                 values: dict[str, str] | None = None) -> HTMLResponse:
    def build(s: Any, a: Any) -> tuple[list[dict[str, Any]], bool]:
        return exports.export_log(s, a), a.can_see_allocation()
    log, arm_level = read(request, user, trial_id, build)
    v = values or {}
    help_ = ("Your exports carry the allocation (arm): before database lock give the reason, e.g. 'DMC closed session'"
             if arm_level else "Your exports are blinded (no allocation); a reason is optional")
    sections: list[dict[str, Any]] = [
        {"heading": "Export an analysis dataset", "form": form(f"/trials/{trial_id}/exports", [
            field("frame", "Dataset", "radio", options=list(FRAMES.items()), required=True, value=v.get("frame")),
            field("reason", "Reason for the export", required=arm_level, help=help_, value=v.get("reason"))],
            "Export CSV", form_id="export-form")},
        {"heading": "Exports so far", "id": "export-log", "table": {
            "columns": ["when (UTC)", "who", "dataset", "rows", "with allocation", "reason"],
            "rows": [[r["at"], r["who"], FRAMES.get(r["frame"], r["frame"]), r["rows"], "yes" if r["arm_level"] else "no",
                      r["reason"]] for r in log], "empty": "Nothing exported yet."}}]
    return page(request, "Exports", sections, trial_id=trial_id, error=error, status=status)


@router.get("/trials/{trial_id}/exports")
def exports_get(request: Request, trial_id: str, user: User) -> HTMLResponse:
    return exports_page(request, user, trial_id)


@router.post("/trials/{trial_id}/exports")
def exports_post(request: Request, trial_id: str, user: User, data: Form) -> Response:
    from securebase.web.api import export_csv

    frame = data.get("frame", "")
    if frame not in FRAMES:
        return exports_page(request, user, trial_id, error="Dataset: choose which dataset to export", status=422,
                            values=data)
    try:
        text = export_csv(request, user, trial_id, frame, data.get("reason") or None)
    except (InputError, ConflictError) as exc:
        return exports_page(request, user, trial_id, error=exc.message, status=exc.http_status, values=data)
    return PlainTextResponse(text, media_type="text/csv",
                             headers={"Content-Disposition": f'attachment; filename="{trial_id}-{frame}.csv"'})
