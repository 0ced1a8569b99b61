"""Pages for qualitative work: read a transcript, select text and apply a code, read the framework matrix.

Mount with ``app.include_router(router(get_store=..., current_user=...))``:

* ``get_store``: a FastAPI dependency returning the :class:`securebase.store.Store`.
* ``current_user``: a FastAPI dependency returning the authenticated user name (``str``) or raising
  (401 / redirect to the log-in page). Roles and sites come from the store (``actor_for``), per trial.
* ``csrf_token`` (optional): ``request -> str`` giving the token to embed in forms as ``csrf_token``;
  ``verify_csrf`` (optional): a dependency run on every POST that raises when the token is wrong.

Routes live under ``/trials/{trial_id}/qualitative``. The web layer only translates: form fields into
service calls, errors from :mod:`securebase.errors` into a status and the message.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from securebase.errors import FieldError, NotFound, SecurebaseError
from securebase.qualitative.codebook import code_tree, flatten
from securebase.qualitative.coding import add_memo, apply_code, segments
from securebase.qualitative.matrix import export_matrix, framework_matrix
from securebase.qualitative.transcripts import get_transcript, list_transcripts
from securebase.store import Store
from securebase.store.tables import Codebook, Participant
from securebase.trial.audit_view import actor_for

PREFIX = "/trials/{trial_id}/qualitative"

#: Largest row id: keys are PostgreSQL ``integer`` columns (4 bytes, -2147483648 to +2147483647; PostgreSQL
#: documentation, "Numeric Types", table 8.2). Larger numbers overflow the database driver, so every id
#: parameter is range-checked here (FastAPI answers 422) before it reaches a query.
MAX_ID = 2**31 - 1
IdPath = Annotated[int, PathParam(ge=1, le=MAX_ID)]
IdQuery = Annotated[int, Query(ge=1, le=MAX_ID)]
OptionalIdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
IdForm = Annotated[int, Form(ge=1, le=MAX_ID)]
OptionalIdForm = Annotated[int | None, Form(ge=1, le=MAX_ID)]


def _templates() -> Jinja2Templates:
    path = resources.files("securebase.qualitative").joinpath("templates")
    return Jinja2Templates(directory=str(path))


def utf16_to_index(text: str, offset: int) -> int:
    """A browser offset (UTF-16 code units) as a Python index (code points)."""
    units = 0
    for i, ch in enumerate(text):
        if units >= offset:
            return i
        units += 2 if ord(ch) > 0xFFFF else 1
    if units < offset:
        return len(text) + (offset - units)  # beyond the end: let the service refuse it with its message
    return len(text)


def code_ref(value: str, *, names: bool) -> int | str | None:
    """A code reference typed into a form: an id from 1 to :data:`MAX_ID`, a code name or path when ``names``,
    or None when empty. Anything else raises FieldError."""
    v = value.strip()
    if not v:
        return None
    if v.isascii() and v.isdigit():
        n = int(v)
        if 1 <= n <= MAX_ID:
            return n
    elif names:
        return v
    raise FieldError("code_id", value, f"a code id from 1 to {MAX_ID}" + (" or a code name" if names else ""),
                     "choose the code from the list on the transcript page")


def pieces(text: str, segs: list[Any]) -> list[dict[str, Any]]:
    """The text cut at every segment boundary; each piece lists the segments covering it."""
    cuts = sorted({0, len(text), *(s.start for s in segs), *(s.end for s in segs)})
    out = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        covering = [s for s in segs if s.start <= a and s.end >= b]
        out.append({"text": text[a:b], "segments": covering, "start": a})
    return out


def router(*, get_store: Callable[..., Store], current_user: Callable[..., str],
           csrf_token: Callable[[Request], str] | None = None,
           verify_csrf: Callable[..., Any] | None = None,
           chrome: Callable[[Request, str | None], dict[str, Any]] | None = None) -> APIRouter:
    """The qualitative pages as an APIRouter (see the module docstring for the dependencies)."""
    templates = _templates()
    post_deps = [Depends(verify_csrf)] if verify_csrf is not None else []
    r = APIRouter(prefix=PREFIX, tags=["qualitative"])

    def actor(store: Store, username: str, trial_id: str):  # type: ignore[no-untyped-def]
        with store.read() as s:
            return actor_for(s, username, trial_id)

    def render(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        ctx["csrf_token"] = csrf_token(request) if csrf_token else ""
        if chrome is not None:  # the staff app's header: user, role-shaped navigation, log-out
            ctx.update(chrome(request, ctx.get("trial_id")))
        return templates.TemplateResponse(request, name, ctx, status_code=status)

    def error(request: Request, err: SecurebaseError, trial_id: str) -> HTMLResponse:
        return render(request, "qual_error.html", err.http_status, message=err.message, trial_id=trial_id)

    def codebook_for(session: Any, trial_id: str, codebook: int | None) -> Codebook | None:
        """The codebook asked for (NotFound unless it belongs to this trial), else the trial's newest one."""
        if codebook is not None:
            cb = session.get(Codebook, codebook)
            if cb is None or cb.trial_id != trial_id:
                raise NotFound(f"codebook {codebook} is not in trial '{trial_id}'; choose one on the "
                               "qualitative start page")
            return cb
        from sqlalchemy import select

        return session.execute(select(Codebook).where(Codebook.trial_id == trial_id)
                               .order_by(Codebook.id.desc())).scalars().first()

    @r.get("", response_class=HTMLResponse, name="qual_index")
    def index(request: Request, trial_id: str, store: Store = Depends(get_store),
              user: str = Depends(current_user)) -> HTMLResponse:
        try:
            a = actor(store, user, trial_id)
            with store.read() as s:
                from sqlalchemy import select

                books = s.execute(select(Codebook).where(Codebook.trial_id == trial_id)
                                  .order_by(Codebook.name, Codebook.version)).scalars().all()
                return render(request, "qual_index.html", trial_id=trial_id, transcripts=list_transcripts(s, a),
                              codebooks=books)
        except SecurebaseError as err:
            return error(request, err, trial_id)

    @r.get("/transcripts/{transcript_id}", response_class=HTMLResponse, name="qual_transcript")
    def transcript(request: Request, trial_id: str, transcript_id: IdPath, codebook: OptionalIdQuery = None,
                   store: Store = Depends(get_store), user: str = Depends(current_user)) -> HTMLResponse:
        return transcript_page(request, trial_id, transcript_id, codebook, store, user)

    def transcript_page(request: Request, trial_id: str, transcript_id: int, codebook: int | None, store: Store,
                        user: str, message: str = "", status: int = 200) -> HTMLResponse:
        """The transcript page; after a refused POST, ``message`` and ``status`` tell why."""
        try:
            a = actor(store, user, trial_id)
            with store.read() as s:
                t = get_transcript(s, a, transcript_id)
                cb = codebook_for(s, trial_id, codebook)
                codes = flatten(code_tree(s, a, cb.id)) if cb else []
                segs = segments(s, a, transcript_id=t.id, codebook_id=cb.id) if cb else []
                p = s.get(Participant, t.participant_pk) if t.participant_pk else None
                return render(request, "qual_transcript.html", status, trial_id=trial_id, t=t, codebook=cb,
                              codes=codes, segments=segs, pieces=pieces(t.text, segs), message=message,
                              participant_id=p.participant_id if p else None)
        except SecurebaseError as err:
            return error(request, err, trial_id)

    @r.post("/transcripts/{transcript_id}/segments", dependencies=post_deps, name="qual_apply_code")
    def code_segment(request: Request, trial_id: str, transcript_id: IdPath, codebook_id: IdForm,
                     code_id: str = Form(...), start: str = Form(...), end: str = Form(...),
                     unit: str = Form("utf16"), store: Store = Depends(get_store),
                     user: str = Depends(current_user)) -> Response:
        try:
            code = code_ref(code_id, names=True)
            if code is None:
                raise FieldError("code_id", code_id, "a code of the codebook", "choose a code from the list")
            a = actor(store, user, trial_id)
            with store.unit_of_work(actor=user) as uow:
                t = get_transcript(uow, a, transcript_id)
                first: Any = start
                last: Any = end
                if unit == "utf16":
                    try:
                        first, last = (utf16_to_index(t.text, int(v)) for v in (start, end))
                    except ValueError:
                        raise FieldError("segment start/end", f"{start}-{end}", "whole numbers") from None
                seg = apply_code(uow, a, codebook_id, transcript_id, code, first, last)
                uow.commit()
            url = request.url_for("qual_transcript", trial_id=trial_id, transcript_id=transcript_id)
            return RedirectResponse(f"{url}?codebook={codebook_id}#seg-{seg.id}", status_code=303)
        except SecurebaseError as err:
            return transcript_page(request, trial_id, transcript_id, codebook_id, store, user, err.message,
                                   err.http_status)

    @r.post("/transcripts/{transcript_id}/memos", dependencies=post_deps, name="qual_add_memo")
    def memo(request: Request, trial_id: str, transcript_id: IdPath, text: str = Form(...),
             codebook_id: OptionalIdForm = None, code_id: str = Form(""), store: Store = Depends(get_store),
             user: str = Depends(current_user)) -> Response:
        try:
            code = code_ref(code_id, names=False)
            a = actor(store, user, trial_id)
            with store.unit_of_work(actor=user) as uow:
                add_memo(uow, a, text, transcript_id=transcript_id, code_id=code)  # type: ignore[arg-type]
                uow.commit()
            url = request.url_for("qual_transcript", trial_id=trial_id, transcript_id=transcript_id)
            return RedirectResponse(f"{url}?codebook={codebook_id or ''}", status_code=303)
        except SecurebaseError as err:
            return transcript_page(request, trial_id, transcript_id, codebook_id, store, user, err.message,
                                   err.http_status)

    def _filters(site: str, age_band: str, arm: str) -> dict[str, Any]:
        return {"site": site or None, "age_band": age_band or None, "arm": arm or None}

    @r.get("/matrix", response_class=HTMLResponse, name="qual_matrix")
    def matrix(request: Request, trial_id: str, codebook: OptionalIdQuery = None, site: str = "", age_band: str = "",
               arm: str = "", store: Store = Depends(get_store), user: str = Depends(current_user)) -> HTMLResponse:
        try:
            a = actor(store, user, trial_id)
            with store.read() as s:
                cb = codebook_for(s, trial_id, codebook)
                if cb is None:
                    raise FieldError("codebook", codebook, "a codebook of this trial",
                                     "create one with `securebase qual codebook create`")
                m = framework_matrix(s, a, cb.id, **_filters(site, age_band, arm))
                from sqlalchemy import select

                sites = s.execute(select(Participant.site_code).where(Participant.trial_id == trial_id)
                                  .distinct().order_by(Participant.site_code)).scalars().all()
                return render(request, "qual_matrix.html", trial_id=trial_id, m=m, codebook=cb,
                              can_see_arm=a.can_see_allocation(), sites=[x for x in sites if a.can_reach_site(x)],
                              site=site, age_band=age_band, arm=arm)
        except SecurebaseError as err:
            return error(request, err, trial_id)

    @r.get("/matrix.{fmt}", name="qual_matrix_export")
    def matrix_export(request: Request, trial_id: str, fmt: str, codebook: IdQuery, site: str = "", age_band: str = "",
                      arm: str = "", store: Store = Depends(get_store), user: str = Depends(current_user)) -> Response:
        try:
            if fmt not in ("csv", "xlsx"):
                raise FieldError("format", fmt, "csv or xlsx")
            a = actor(store, user, trial_id)
            with tempfile.TemporaryDirectory() as tmp, store.unit_of_work(actor=user) as uow:
                out = export_matrix(uow, a, codebook, Path(tmp) / f"framework-matrix.{fmt}",
                                    **_filters(site, age_band, arm))
                data = out.read_bytes()
                uow.commit()
            media = "text/csv" if fmt == "csv" else \
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            return Response(data, media_type=media,
                            headers={"Content-Disposition": f'attachment; filename="framework-matrix.{fmt}"'})
        except SecurebaseError as err:
            return error(request, err, trial_id)

    return r


__all__ = ["MAX_ID", "PREFIX", "code_ref", "pieces", "router", "utf16_to_index"]
