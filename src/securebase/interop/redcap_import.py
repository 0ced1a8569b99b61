"""Import a REDCap project (data dictionary + raw records CSV) into a securebase trial.

Forms and fields are matched as :mod:`securebase.interop.redcap_records` writes them; instrument forms
are read by :func:`~securebase.interop.redcap_dictionary.import_dictionary`. A field value equal to the
instrument's missing-value code (-99/-98/-97 by default) becomes a missing response with that reason.
Projects made in REDCap itself (no ``@SECUREBASE-FIELD`` annotations) need the participant fields
(``participant_site_code``, or the record's data access group, ``participant_enrolled_on``,
``participant_age_years``, ``participant_age_band``). Events are matched by the unique names REDCap derives
from the visit labels ("6 months" is ``6_months_arm_1``), or ``<visit id>_arm_<n>``; a data access group
is matched to a site by the unique name REDCap derives from the site code or the site name; visits missing from the file are scheduled from the protocol, and scores
missing from the file are computed by the instruments' own scoring (what cannot be scored is listed in
``warnings``). All or nothing: one audited unit of work.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from securebase.errors import BlindingError, ConflictError, DataError, FieldError, PermissionDenied
from securebase.instruments import Instrument, score, validate_responses
from securebase.interop.extract import instrument
from securebase.interop.odm_common import REPEATING, VISIT_REF, from_text, table_columns
from securebase.interop.redcap_dictionary import COLUMNS, import_dictionary, normalise_header, variable_name
from securebase.interop.redcap_names import unique_group_names
from securebase.interop.redcap_records import FIELD_TAG, MODELS, REPEAT, TABLE_FORMS, project_events, read_csv
from securebase.protocol import Protocol, protocol_from_yaml_text, visit_windows
from securebase.store import Store, UnitOfWork
from securebase.store.tables import Participant, Response, Score, Visit
from securebase.trial.roles import Actor, Role

MAY_IMPORT = frozenset({Role.administrator, Role.trial_manager, Role.data_manager})
ENTRY = re.compile(r"^(.*)--(\d+)$")
FORM_TABLES = {form: table for table, form in REPEAT.items()}


@dataclass(frozen=True)
class RedcapImportResult:
    records: int
    visits: int
    responses: int
    missing_codes: int
    scores: int
    events: int
    instruments: tuple[str, ...]
    warnings: tuple[str, ...] = field(default=())
    resource_use: int = 0
    intervention_sessions: int = 0

    def summary(self) -> str:
        text = (f"imported {self.records} records: {self.visits} visits, {self.responses} item responses "
                f"({self.missing_codes} with missing-value codes), {self.scores} scores, {self.events} events and "
                f"withdrawals, {self.resource_use} resource-use records, {self.intervention_sessions} intervention "
                f"sessions (instruments: {', '.join(self.instruments)})")
        return text + "".join(f"\nwarning: {w}" for w in self.warnings)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "instruments": list(self.instruments), "warnings": list(self.warnings)}


class _Project:
    """The dictionary, split into securebase fields and instrument items."""

    def __init__(self, rows: list[dict[str, str]], header: list[str]) -> None:
        if not rows:
            raise DataError("the REDCap data dictionary has no fields; export it again from REDCap")
        self.record_field = rows[0]["Variable / Field Name"].strip()
        self.tags: dict[str, tuple[str, str]] = {}  # var -> (form, tag)
        items: list[dict[str, str]] = []
        for r in rows[1:] if FIELD_TAG not in rows[0].get("Field Annotation", "") else rows:
            ann = r.get("Field Annotation", "")
            if FIELD_TAG in ann:
                tag = ann.split(FIELD_TAG, 1)[1].split()[0]
                self.tags[r["Variable / Field Name"].strip()] = (r["Form Name"].strip(), tag)
            elif r["Form Name"].strip() not in TABLE_FORMS.values():
                items.append(r)
        self.instruments: dict[str, Instrument] = {}
        self.items: dict[str, tuple[Instrument, str]] = {}
        if items:
            buf = io.StringIO()
            w = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")  # not an export: parsed again at once
            w.writeheader()
            w.writerows(items)
            forms = list(dict.fromkeys(r["Form Name"].strip() for r in items))
            for form, inst in zip(forms, import_dictionary(buf.getvalue(), first_is_record_id=False), strict=False):
                known = instrument(inst.name)  # a form named like a registered instrument uses its scoring rules
                if known is not None and {i.code for i in inst.items} <= {i.code for i in known.items}:
                    inst = known
                self.instruments[inst.name] = inst
                for r in (x for x in items if x["Form Name"].strip() == form):
                    var = r["Variable / Field Name"].strip()
                    for it in inst.items:
                        if var in (variable_name(inst.name, it.code), it.code, f"{form}_{it.code}"):
                            self.items[var] = (inst, it.code)
        for var, (form, tag) in self.tags.items():  # answers to items outside the instrument definition
            if tag.startswith("items.") and form in self.instruments:
                self.items[var] = (self.instruments[form], tag.split(".", 1)[1])

    def table_vars(self, tname: str) -> dict[str, str]:
        """var -> column of a securebase table form (tagged, or named ``<form>_<column>``)."""
        out = {v: tag.split(".", 1)[1] for v, (_f, tag) in self.tags.items() if tag.startswith(f"{tname}.")}
        if not out:
            out = {variable_name(TABLE_FORMS[tname], c.name): c.name for c in table_columns(MODELS[tname].__table__)}
        out.pop(self.record_field, None)
        return out


class _Importer:
    def __init__(self, uow: UnitOfWork, actor: Actor, project: _Project, protocol: Protocol) -> None:
        self.uow, self.actor, self.project, self.protocol = uow, actor, project, protocol
        self.counts: dict[str, int] = defaultdict(int)
        self.warnings: list[str] = []
        self.events = {e.unique: e.visit or "" for e in project_events(protocol)}
        self.visit_ids = {v.id for v in protocol.visits}
        codes = [s.code for s in protocol.sites]
        self.groups = {**dict(zip(unique_group_names(s.name for s in protocol.sites), codes, strict=True)),
                       **dict(zip(unique_group_names(codes), codes, strict=True))}

    def visit_of(self, event: str, where: str) -> str:
        """The visit id of a unique event name ('' for the enrolment and trial-events events)."""
        if event in self.events:
            return self.events[event]
        m = re.fullmatch(r"(.+)_arm_\d+", event)
        if m and (m.group(1) in self.visit_ids or m.group(1) in ("enrolment", "events")):
            return m.group(1) if m.group(1) in self.visit_ids else ""
        raise FieldError(f"{where} redcap_event_name", event,
                         f"one of {', '.join(self.events)} (the names REDCap gives events labelled like the protocol's "
                         "visits) or <visit id>_arm_1",
                         "rename the event in REDCap after its visit, or map the file's event names before importing")

    def site_of(self, rows: list[dict[str, str]], given: str | None, where: str) -> str | None:
        """The site code from the record's data access group, checked against a site field if both are given."""
        dags = {(r.get("redcap_data_access_group") or "").strip() for r in rows} - {""}
        if not dags:
            return given
        if len(dags) > 1 or next(iter(dags)) not in self.groups:
            raise FieldError(f"{where} redcap_data_access_group", ", ".join(sorted(dags)),
                             f"one data access group named after a site ({', '.join(sorted(self.groups))})",
                             "name the project's data access groups after the trial's sites or map them first")
        code = self.groups[next(iter(dags))]
        if given is not None and given != code:
            raise DataError(f"{where}: participant_site_code is {given!r} but data access group "
                            f"{next(iter(dags))!r} is site {code!r}; make them agree and export again")
        return code

    def fields(self, rows: list[dict[str, str]], tname: str, where: str) -> dict[str, Any] | None:
        cols = {c.name: c for c in table_columns(MODELS[tname].__table__)}
        out: dict[str, Any] = {}
        for var, col in self.project.table_vars(tname).items():
            for r in rows:
                cell = (r.get(var) or "").strip()
                if cell and col in cols:
                    out[col] = from_text(cols[col], cell, f"{where} field {var}")
        return out or None

    def record(self, pid: str, rows: list[tuple[int, dict[str, str]]], flat_visit: str | None) -> None:
        where = f"record {pid!r}"
        prefix = self.protocol.participant_prefix
        if not re.fullmatch(rf"{prefix}-\d{{4,6}}", pid):
            raise FieldError(f"{self.project.record_field} (record id)", pid,
                             f"a participant id of trial '{self.actor.trial_id}' such as {prefix}-0001",
                             "map the project's record ids to trial ids before importing")
        if self.uow.session.execute(select(Participant.id).where(
                Participant.trial_id == self.actor.trial_id, Participant.participant_id == pid)).first():
            raise ConflictError(f"participant {pid} is already in trial '{self.actor.trial_id}'; import into an "
                                "empty trial or remove the record from the file")
        main = [r for e, r in rows if e == 1]
        base = [r for r in main if not r.get("redcap_repeat_instrument")]
        pf = self.fields(base, "participants", where) or {}
        site = self.site_of(base, pf.get("site_code"), where)
        if site is not None:
            pf["site_code"] = site
        need = [c for c in ("site_code", "enrolled_on", "age_years", "age_band") if c not in pf]
        if need:
            raise DataError(f"{where}: the participant fields {', '.join('participant_' + c for c in need)} are empty "
                            "or missing; add a 'participant' form with them to the REDCap project and export again")
        p = Participant(trial_id=self.actor.trial_id, participant_id=pid, **pf)
        self.uow.session.add(p)
        self.uow.session.flush()
        self.counts["records"] += 1
        alloc = self.fields(base, "allocations", where)
        if alloc:
            if not self.actor.can_see_allocation():
                raise BlindingError(f"the records hold allocations, which user '{self.actor.username}' may not see; "
                                    "ask an unblinded trial manager to import them")
            self.uow.session.add(MODELS["allocations"](trial_id=self.actor.trial_id, participant_pk=p.id, **alloc))
        windows = {w.visit_id: w for w in visit_windows(self.protocol, p.enrolled_on)}
        by_visit: dict[str, list[tuple[int, dict[str, str]]]] = defaultdict(list)
        repeats: list[tuple[str, dict[str, str]]] = []
        for entry, r in rows:
            repeat = r.get("redcap_repeat_instrument") or ""
            if repeat in FORM_TABLES:
                repeats.append((FORM_TABLES[repeat], r))
                continue
            event = r.get("redcap_event_name")
            visit = flat_visit if event is None else self.visit_of(event.strip(), where)
            if visit:
                by_visit[visit].append((entry, r))
        visits = {visit_id: self.visit(p, visit_id, vrows, windows, f"{where} {visit_id}")
                  for visit_id, vrows in by_visit.items()}
        for tname, r in repeats:
            rec = self.fields([r], tname, f"{where} {REPEAT[tname]} {r.get('redcap_repeat_instance')}")
            if not rec:
                continue
            if REPEATING[tname] and not self.actor.can_see_allocation():
                raise BlindingError(f"the records hold {tname.replace('_', ' ')}, which reveal allocation to user "
                                    f"'{self.actor.username}'; ask an unblinded trial manager to import them")
            if rec.get(VISIT_REF) is not None:
                if rec[VISIT_REF] not in visits:
                    raise DataError(f"{where}: {REPEAT[tname]} refers to visit {rec[VISIT_REF]!r}, which the record "
                                    f"does not have ({', '.join(visits)}); fix the file")
                rec[VISIT_REF] = visits[rec[VISIT_REF]]
            self.uow.session.add(MODELS[tname](trial_id=self.actor.trial_id, participant_pk=p.id, **rec))
            self.counts["events" if tname in ("events", "withdrawals") else tname] += 1

    def visit(self, p: Participant, visit_id: str, rows: list[tuple[int, dict[str, str]]], windows: dict[str, Any],
              where: str) -> int:
        vf = self.fields([r for e, r in rows if e == 1], "visits", where)
        if vf is None:
            if visit_id not in windows:
                raise DataError(f"{where}: visit '{visit_id}' is not in the protocol ({', '.join(windows)}) and the "
                                "file has no visit fields; check redcap_event_name or --visit")
            w = windows[visit_id]
            vf = {"visit_id": visit_id, "month": self.protocol.visit(visit_id).month, "due_on": w.due,
                  "window_opens": w.opens, "window_closes": w.closes, "status": "completed"}
        v = Visit(trial_id=self.actor.trial_id, participant_pk=p.id, **vf)
        self.uow.session.add(v)
        self.uow.session.flush()
        self.counts["visits"] += 1
        tags = self.project.tags
        for name, inst in self.project.instruments.items():
            meta = {t.split(".", 1)[1]: var for var, (f, t) in tags.items() if f == name and t.startswith("responses.")}
            raw_main: dict[str, Any] = {}
            respondent: str = inst.respondent
            for entry, r in rows:
                answered = {var: (r.get(var) or "").strip() for var, (i, _c) in self.project.items.items() if i is inst}
                answered = {k: x for k, x in answered.items() if x}
                if not answered:
                    continue
                respondent = (r.get(meta.get("respondent", "")) or "").strip() or inst.respondent
                version = (r.get(meta.get("version", "")) or "").strip() or inst.version
                by = self.actor.username  # who entered the rows here; REDCap's own log stays in REDCap
                known = {i.code for i in inst.items}
                validate_responses(inst, {self.project.items[var][1]: cell for var, cell in answered.items()
                                          if self.project.items[var][1] in known},
                                   participant=p.participant_id, visit=v.visit_id)
                for var, cell in answered.items():
                    code = self.project.items[var][1]
                    reason = inst.missing_codes.reason_for(cell)
                    self.uow.session.add(Response(
                        trial_id=self.actor.trial_id, participant_pk=p.id, visit_pk=v.id, instrument=name,
                        instrument_version=version, respondent=respondent, item=code,
                        value=None if reason else cell, missing_code=reason, entry=entry, entered_by=by))
                    self.counts["responses"] += 1
                    self.counts["missing_codes"] += reason is not None
                    if entry == 1 and code in {i.code for i in inst.items}:
                        raw_main[code] = cell
            self.scores(inst, [r for e, r in rows if e == 1], raw_main, respondent, p, v, where)
        return v.id

    def scores(self, inst: Instrument, rows: list[dict[str, str]], raw: dict[str, Any], respondent: str,
               p: Participant, v: Visit, where: str) -> None:
        tagged: dict[str, dict[str, str]] = defaultdict(dict)
        has_fields = False
        for var, (form, tag) in self.project.tags.items():
            if form == inst.name and tag.startswith("scores."):
                has_fields = True
                _s, scale, part = tag.split(".", 2)
                for r in rows:
                    if (r.get(var) or "").strip():
                        tagged[scale][part] = r[var].strip()
        if has_fields and not tagged:
            return  # a securebase export with no scores for this form (not complete at the source): none here
        if not raw or not inst.scales:
            if has_fields and tagged:
                raise DataError(f"{where} {inst.name}: the file has scores but no item answers; scores are recomputed "
                                "from the items, so export the project again with its item fields")
            return
        results = score(inst, raw, participant=p.participant_id, visit=v.visit_id)
        for scale, res in results.items():
            value = None if res.value is None else float(res.value)
            given = tagged.get(scale, {}).get("value")
            if given is not None and (value is None or abs(float(given) - value) > 1e-9):
                raise DataError(f"{where} {inst.name}: the file's {scale} score is {given!r} but its items score "
                                f"{res.value!r}; scores are recomputed from the items, so the file has been altered "
                                "or comes from another scoring version: fix or re-export it")
            self.uow.session.add(Score(trial_id=self.actor.trial_id, participant_pk=p.id, visit_pk=v.id,
                                       instrument=inst.name, respondent=respondent, scale=scale,
                                       value=value, category=res.band, missing_reason=res.reason))
            self.counts["scores"] += 1


def import_redcap(store: Store, actor: Actor, dictionary: str | Path, records: str | Path, *,
                  flat_visit: str | None = None) -> RedcapImportResult:
    """Import the REDCap ``records`` (raw CSV) described by ``dictionary`` into ``actor.trial_id``."""
    if not actor.roles & MAY_IMPORT:
        raise PermissionDenied(f"user '{actor.username}' may not import data into trial '{actor.trial_id}' (needs "
                               "data manager, trial manager or administrator); ask a trial manager")
    dpath, rpath = Path(dictionary), Path(records)
    drows = read_csv(dpath, "data dictionary")
    if drows:  # the API's column names (field_name, form_name, ...) mean the same columns
        names = normalise_header(tuple(drows[0].keys()))
        drows = [{names.get(k, k): v for k, v in r.items()} for r in drows]
    header = list(drows[0].keys()) if drows else list(COLUMNS)
    project = _Project(drows, header)
    identifiers = [r["Variable / Field Name"].strip() for r in drows
                   if (r.get("Identifier?") or "").strip().lower() in ("y", "yes", "1")]
    rrows = read_csv(rpath, "records file")
    if rrows and "redcap_event_name" not in rrows[0] and flat_visit is None:
        raise DataError("the records file has no redcap_event_name column (a flat project); give the visit the rows "
                        "belong to with --visit (for example --visit baseline)")
    grouped: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for r in rrows:
        rid = (r.get(project.record_field) or "").strip()
        if not rid:
            raise DataError(f"a records row has an empty {project.record_field}; every row needs the record id")
        m = ENTRY.match(rid)
        base, entry = (m.group(1), int(m.group(2))) if m else (rid, 1)
        grouped.setdefault(base, []).append((entry, r))
    with store.unit_of_work(actor=actor.username) as uow:
        trial = uow.ensure_unlocked(actor.trial_id)
        protocol = protocol_from_yaml_text(trial.protocol_yaml, actor.trial_id)
        if flat_visit is not None and flat_visit not in {v.id for v in protocol.visits}:
            raise DataError(f"--visit must be one of {', '.join(v.id for v in protocol.visits)} (got {flat_visit!r})")
        imp = _Importer(uow, actor, project, protocol)
        if identifiers:
            imp.warnings.append(f"fields flagged as identifiers in REDCap were not imported: {', '.join(identifiers)} "
                                "(identifiers never enter trial data or analysis exports; record them as participant "
                                "identifiers, which are encrypted)")
        try:
            for pid, rows in grouped.items():
                imp.record(pid, rows, flat_visit)
            uow.session.flush()
        except IntegrityError as exc:
            raise DataError(f"the REDCap records do not fit trial '{actor.trial_id}': "
                            f"{str(exc.orig).strip().splitlines()[0]}; check site codes and duplicates") from None
        digest = hashlib.sha256(dpath.read_bytes() + rpath.read_bytes()).hexdigest()
        uow.log_event("import", table_name="redcap", record_id=rpath.name, trial_id=actor.trial_id,
                      detail={"format": "REDCap", "sha256": digest, **dict(imp.counts)})
        uow.commit()
    c = imp.counts
    return RedcapImportResult(c["records"], c["visits"], c["responses"], c["missing_codes"], c["scores"], c["events"],
                              tuple(project.instruments), tuple(imp.warnings), c["resource_use"],
                              c["intervention_sessions"])


__all__ = ["RedcapImportResult", "import_redcap"]
