"""Simulate a whole NG26 care trial through the real services (for ``securebase demo``).

Children come from the trial simulator as *potential outcomes*: the same simulated children are
generated twice with the same seed, once all allocated to the intervention and once all to usual
care, so each child's covariates and noise are identical and only the effect of treatment differs.
Each child is then screened, consented, enrolled and randomised by the real services (minimisation
decides the arm), and the outcomes of the allocated arm are entered item by item through data entry,
with events, intervention sessions and resource use, exactly as site staff would. Synthetic only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from securebase.analysis.design.simulate import make_parameters, simulate
from securebase.instruments import load_instrument
from securebase.instruments.value_sets import ValueSet, get_value_set, register_value_set
from securebase.protocol import Protocol
from securebase.store import Store
from securebase.trial.roles import Actor, Role

#: A MADE-UP additive CHU9D tariff so the synthetic demo can show child utilities. It is NOT the licensed
#: University of Sheffield tariff (which a trial team loads under its own licence); numbers are invented.
DEMO_CHU9D = ValueSet(
    name="chu9d_uk", instrument="chu9d", kind="additive", made_up=True,
    source="MADE UP for the securebase demonstration; not the licensed CHU9D tariff",
    dimensions=("worried", "sad", "pain", "tired", "annoyed", "schoolwork", "sleep", "daily_routine", "activities"),
    levels=5, intercept=1.0,
    # worst state 1 - 0.036 x 18 = 0.352, near the real tariff's floor (about 0.33) so plans' range checks hold
    decrements={d: {2: 0.006 * (i % 3 + 1), 3: 0.015 * (i % 3 + 1), 4: 0.025 * (i % 3 + 1), 5: 0.036 * (i % 3 + 1)}
                for i, d in enumerate(("worried", "sad", "pain", "tired", "annoyed", "schoolwork", "sleep",
                                       "daily_routine", "activities"))})

NOT_ELIGIBLE_ANSWERS = (({"age_years": 4}, 0.4), ({"care_status": "birth_family"}, 0.35), ({"carer_available": False}, 0.25))
NOT_APPROACHED = ("placement breaking down", "carer unwell", "social worker advised against")
DECLINED = ("no time for group sessions", "child did not want to take part", "carer already receiving support")
CARER_ROLE = {"adopted": "adoptive_parent", "foster": "foster_carer", "kinship": "kinship_carer",
              "special_guardianship": "special_guardian", "residential": "residential_key_worker"}
MISSED = ("could_not_contact", "declined_visit", "moved_away", "placement_ended")


@dataclass
class DemoUsers:
    admin: Actor
    recruiters: dict[str, Actor]
    assessor: Actor
    coder: Actor
    data_manager: Actor
    dmc: Actor
    statistician: Actor
    qual: Actor


def levels_for_utility(vs: ValueSet, target: float, rng: np.random.Generator) -> list[int]:
    """Levels whose tariff utility is closest to ``target`` (greedy: worsen dimensions in random order)."""
    levels = [1] * len(vs.dimensions)
    best = list(levels)
    for _ in range(len(vs.dimensions) * (vs.levels - 1)):
        cur = vs.utility(levels)
        if cur <= target:
            break
        order = rng.permutation(len(vs.dimensions))
        moved = False
        for j in order:
            if levels[j] < vs.levels:
                levels[j] += 1
                moved = True
                break
        if not moved:
            break
        if abs(vs.utility(levels) - target) < abs(vs.utility(best) - target):
            best = list(levels)
    return best


def split_total(total: int, n_items: int, top: int, rng: np.random.Generator) -> list[int]:
    """n_items integers in [0, top] summing to total (clipped to the possible range)."""
    total = int(min(max(total, 0), n_items * top))
    items = [0] * n_items
    for _ in range(total):
        choices = [i for i in range(n_items) if items[i] < top]
        items[int(rng.choice(choices))] += 1
    return items


def potential_outcomes(n: int, seed: int, start: date) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    """The same n children simulated twice (all intervention / all usual care) with one seed."""
    frames = {}
    for arm, ratio in (("intervention", 1e9), ("usual_care", 1e-9)):
        params = make_parameters(protocol="ng26-care", n_participants=n, allocation_ratio=ratio, n_sites=4,
                                 start_date=start)
        frames[arm] = simulate(params, np.random.default_rng(seed), item_level=True, seed=seed)
    base = frames["usual_care"].participants
    return base, frames["intervention"].participants, frames["usual_care"].participants, frames


DEMO_PASSWORD = "synthetic-demo-only"  # every demo account; the demo store holds synthetic data only


def make_users(store: Store, trial_id: str, protocol: Protocol) -> DemoUsers:
    from securebase.trial.setup import create_user, grant_role, hash_password

    shared = hash_password(DEMO_PASSWORD)

    def actor(name: str, role: Role, site: str | None = None) -> Actor:
        return Actor(name, trial_id, frozenset({role}), frozenset({site}) if site else None)

    with store.unit_of_work(actor="securebase-demo") as uow:
        spec = [("admin", Role.administrator, None), ("tm", Role.trial_manager, None), ("assessor", Role.outcome_assessor, None), ("coder", Role.coder, None),
                ("dm", Role.data_manager, None), ("dmc", Role.dmc_member, None),
                ("stats", Role.unblinded_statistician, None), ("qual", Role.qualitative_researcher, None),
                ("econ", Role.health_economist, None)]
        spec += [(f"rec_{s.code.lower()}", Role.site_recruiter, s.code) for s in protocol.sites]
        for name, role, site in spec:
            user = create_user(uow, name, DEMO_PASSWORD, display_name=name, password_hash=shared)
            grant_role(uow, user, trial_id, role, site)
        uow.commit()
    return DemoUsers(admin=Actor.system(trial_id, "tm"),
                     recruiters={s.code: actor(f"rec_{s.code.lower()}", Role.site_recruiter, s.code) for s in protocol.sites},
                     assessor=actor("assessor", Role.outcome_assessor), coder=actor("coder", Role.coder),
                     data_manager=actor("dm", Role.data_manager), dmc=actor("dmc", Role.dmc_member),
                     statistician=actor("stats", Role.unblinded_statistician),
                     qual=actor("qual", Role.qualitative_researcher))


def _write(store: Store, actor: Actor, fn: Callable[[Any], Any], reason: str | None = None) -> Any:
    with store.unit_of_work(actor=actor.username, reason=reason) as uow:
        out = fn(uow)
        uow.commit()
        return out


class DemoTrial:
    """Drives one simulated trial through the services. ``run(progress)`` returns counts of what was done."""

    def __init__(self, store: Store, protocol: Protocol, users: DemoUsers, n: int, seed: int) -> None:
        self.store, self.protocol, self.users, self.n, self.seed = store, protocol, users, n, seed
        self.rng = np.random.default_rng(seed + 1)
        self.today = date.today()
        # recruitment 18 months + 12 months follow-up + window, all in the past (services refuse future dates)
        self.start = self.today - timedelta(days=540 + 365 + 60)
        self.base, self.pot_int, self.pot_ctl, self.frames = potential_outcomes(n, seed, self.start)
        self.sites = [s.code for s in protocol.sites]
        self.counts: dict[str, int] = {}
        self.screening_numbers: dict[str, tuple[str, str, date, str]] = {}

    def _count(self, key: str, k: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + k

    # screening of children who do not join ------------------------------------------------------------
    def screen_others(self, k: int) -> None:
        from securebase.trial import screening

        for _ in range(k):
            site = str(self.rng.choice(self.sites))
            rec_actor = self.users.recruiters[site]
            when = self.start + timedelta(days=int(self.rng.integers(0, 540)))
            answers = {"age_years": int(self.rng.integers(5, 17)), "care_status": "foster", "carer_available": True,
                       "placement_ending_planned": False}
            u = self.rng.random()
            if u < 0.5:
                upd, _ = NOT_ELIGIBLE_ANSWERS[int(self.rng.choice(3, p=[w for _, w in NOT_ELIGIBLE_ANSWERS]))]
                answers.update(upd)
            rec = _write(self.store, rec_actor, lambda uow, a=answers, s=site, w=when, ra=rec_actor: screening.screen(
                uow, ra, site_code=s, answers=a, screened_on=w))
            if not rec.eligible:
                self._count("not eligible")
                continue
            if u < 0.7:
                _write(self.store, rec_actor, lambda uow, r=rec, ra=rec_actor: screening.record_approach(
                    uow, ra, r.screening_number, approached=False,
                    not_approached_reason=str(self.rng.choice(NOT_APPROACHED))))
                self._count("not approached")
            else:
                _write(self.store, rec_actor, lambda uow, r=rec, ra=rec_actor: screening.record_approach(
                    uow, ra, r.screening_number, approached=True))
                _write(self.store, rec_actor, lambda uow, r=rec, ra=rec_actor: screening.record_decline(
                    uow, ra, r.screening_number, reason=str(self.rng.choice(DECLINED))))
                self._count("declined")

    # one randomised child --------------------------------------------------------------------------------
    def recruit(self, i: int) -> tuple[str, str]:
        from securebase.trial import consent, enrol, screening
        from securebase.trial.randomise import randomise

        row = self.base.iloc[i]
        site = self.sites[int(str(row["site"]).lstrip("S")) - 1] if str(row["site"]).startswith("S") else self.sites[0]
        rec_actor = self.users.recruiters[site]
        r0 = pd.Timestamp(row["randomised_on"]).date()
        dob = r0 - timedelta(days=21 + int(float(row["age_years"]) * 365.25))  # age at screening = simulated age
        answers = {"date_of_birth": dob.isoformat(), "care_status": row["care_status"], "carer_available": True,
                   "placement_ending_planned": False}
        rec = _write(self.store, rec_actor, lambda uow: screening.screen(uow, rec_actor, site_code=site, answers=answers,
                                                                         screened_on=r0 - timedelta(days=21)))
        sn = rec.screening_number
        _write(self.store, rec_actor, lambda uow: screening.record_approach(uow, rec_actor, sn, approached=True))

        def consents(uow: Any) -> None:
            on = r0 - timedelta(days=14)
            consent.record_consent(uow, rec_actor, sn, kind="carer_consent", form_version="1.0",
                                   signatory_role=CARER_ROLE.get(str(row["care_status"]), "foster_carer"), signed_on=on)
            consent.record_consent(uow, rec_actor, sn, kind="child_assent", form_version="1.0",
                                   signatory_role="child" if row["age_years"] < 16 else "young_person", signed_on=on)
            if consent.needs_la_consent(answers):
                consent.record_consent(uow, rec_actor, sn, kind="la_consent", form_version="1.0",
                                       signatory_role="social_worker", signed_on=on)
        _write(self.store, rec_actor, consents)
        p = _write(self.store, rec_actor, lambda uow: enrol.enrol(uow, rec_actor, sn, sex=row["sex"],
                                                                  enrolled_on=r0 - timedelta(days=7)))
        pid = p.participant_id
        view = _write(self.store, rec_actor, lambda uow: randomise(uow, rec_actor, pid, on=r0))
        self._count("randomised")
        self.screening_numbers[pid] = (sn, site, r0, CARER_ROLE.get(str(row["care_status"]), "foster_carer"))
        return pid, view.arm

    # data for one child ------------------------------------------------------------------------------------
    def follow(self, i: int, pid: str, arm: str) -> None:
        from securebase.trial.data_entry import save_responses
        from securebase.trial.visits import record_visit_outcome

        pot = self.pot_int if arm == "intervention" else self.pot_ctl
        row = pot.iloc[i].copy()
        # the child was randomised on the recruitment date (the simulator's two runs may date them differently)
        row["randomised_on"] = self.base.iloc[i]["randomised_on"]
        sim_id = row["participant_id"]
        r0 = pd.Timestamp(row["randomised_on"]).date()
        items = self.frames[arm].sdq_items
        items = items[items["participant_id"] == sim_id]
        for month, visit_id in ((0, "baseline"), (6, "m6"), (12, "m12")):
            days = row.get(f"days_{month}", 0.0 if month == 0 else np.nan)
            observed = month == 0 or (not pd.isna(days) and not pd.isna(row[f"sdq_total_{month}"]))
            if not observed:
                reason = str(self.rng.choice(MISSED))
                _write(self.store, self.users.assessor, lambda uow, v=visit_id, why=reason: record_visit_outcome(
                    uow, self.users.assessor, pid, v, status="missed", missed_reason=why), reason="visit missed")
                self._count("visits missed")
                continue
            on = r0 + timedelta(days=int(0 if month == 0 else days))
            if on > self.today:
                continue
            sdq = {str(int(r.item)): int(r.response) for r in items[items["visit_month"] == month].itertuples()
                   if not pd.isna(r.response)}
            forms = self._forms(row, month, sdq)
            _write(self.store, self.users.assessor, lambda uow, v=visit_id, d=on: record_visit_outcome(
                uow, self.users.assessor, pid, v, status="partial", completed_on=d))
            for who in (self.users.assessor, self.users.coder):  # each person's forms in one unit of work
                mine = [(ins, ans) for ins, ans, ac in forms if ac is who]

                def save(uow: Any, mine: list = mine, ac: Actor = who, v: str = visit_id) -> Any:
                    from securebase.errors import FieldError

                    for ins, ans in mine:
                        try:
                            save_responses(uow, ac, pid, v, ins, ans)
                        except FieldError as err:  # not used at the child's age (Kerns before 8, CHU9D before 7)
                            if err.field != "instrument":
                                raise
                if mine:
                    _write(self.store, who, save)
                    self._count("forms entered", len(mine))
        self._events(row, pid, arm, r0)

    def _forms(self, row: pd.Series, month: int, sdq: dict[str, int]) -> list[tuple[str, dict[str, Any], Actor]]:
        ass, coder = self.users.assessor, self.users.coder
        sdq_inst = load_instrument("sdq_parent")
        na = sdq_inst.missing_codes.not_applicable
        for it in sdq_inst.items:
            if it.code not in sdq:
                sdq[it.code] = 0 if it.code == "overall" else (na if not it.code.isdigit() else sdq_inst.missing_codes.not_answered)
        out: list[tuple[str, dict[str, Any], Actor]] = [("sdq_parent", sdq, ass)]
        visit_id = {0: "baseline", 6: "m6", 12: "m12"}[month]
        planned = {a.instrument for a in self.protocol.assessments_at(visit_id)}
        if "rpq" in planned and not pd.isna(row[f"rpq_total_{month}"]):
            vals = split_total(int(round(row[f"rpq_total_{month}"])), 10, 3, self.rng)
            out.append(("rpq", {str(k + 1): v for k, v in enumerate(vals)}, ass))
        if "kerns" in planned and not pd.isna(row[f"kerns_mean_{month}"]):
            total = int(round(float(row[f"kerns_mean_{month}"]) * 15)) - 15
            vals = split_total(total, 15, 3, self.rng)
            out.append(("kerns", {str(k + 1): v + 1 for k, v in enumerate(vals)}, ass))
        if "sensitivity_coding" in planned and not pd.isna(row[f"sensitivity_{month}"]):
            s = int(min(9, max(1, round(float(row[f"sensitivity_{month}"])))))
            out.append(("sensitivity_coding", {"recording_id": f"VID-{row['participant_id']}-{month}", "coder_id": "C1",
                                               "coding_role": "primary", "coding_date": self.today.isoformat(),
                                               "sensitivity": s, "cooperation": s, "acceptance": s, "accessibility": s},
                        coder))
        if "chu9d" in planned and not pd.isna(row[f"utility_{month}"]):
            lv = levels_for_utility(get_value_set("chu9d_uk"), float(row[f"utility_{month}"]), self.rng)
            out.append(("chu9d", dict(zip(DEMO_CHU9D.dimensions, lv, strict=True)), ass))
        if "eq5d_5l" in planned and not pd.isna(row[f"carer_utility_{month}"]):
            vs = get_value_set("eq5d_5l_uk_rowen2026")
            lv = levels_for_utility(vs, float(row[f"carer_utility_{month}"]), self.rng)
            answers = dict(zip(vs.dimensions, lv, strict=True))
            answers["vas"] = int(round(100 * float(row[f"carer_utility_{month}"])))
            out.append(("eq5d_5l", answers, ass))
        if "school_record" in planned and not pd.isna(row.get("attendance_12", np.nan)):
            r0 = pd.Timestamp(row["randomised_on"]).date()
            possible = 380
            out.append(("school_record", {
                "period_start": r0.isoformat(), "period_end": (r0 + timedelta(days=364)).isoformat(),
                "sessions_possible": possible, "sessions_attended": int(round(possible * float(row["attendance_12"]))),
                "suspensions": int(row["exclusions_12"]) if not pd.isna(row["exclusions_12"]) else 0,
                "suspension_days": float(row["exclusions_12"]) if not pd.isna(row["exclusions_12"]) else 0.0,
                "permanent_exclusion": "no"}, ass))
            school = load_instrument("school_record")
            for it in school.items:  # attainment is recorded at key stages only
                out[-1][1].setdefault(it.code, school.missing_codes.not_applicable)
        return out

    def _events(self, row: pd.Series, pid: str, arm: str, r0: date) -> None:
        from securebase.trial.delivery import record_session
        from securebase.trial.events import record_event
        from securebase.trial.visits import participant_visits  # noqa: F401  (visits exist from randomisation)

        tm = self.users.admin
        t, ev = row["placement_end_time"], row["placement_end_event"]
        if not pd.isna(t) and ev in (1, 2) and r0 + timedelta(days=int(t)) <= self.today:
            kind = "unplanned_placement_ending" if ev == 1 else str(self.rng.choice(["adoption_order", "return_home"]))
            _write(self.store, tm, lambda uow: record_event(uow, tm, pid, event_type=kind,
                                                            occurred_on=r0 + timedelta(days=int(t))))
            self._count("events")
        if arm == "intervention":
            offered, attended = int(row["sessions_offered"]), int(row["sessions_attended"])
            therapist = f"T{row['therapist']}" if not str(row["therapist"]).startswith("T") else str(row["therapist"])
            attend_set = set(self.rng.choice(offered, size=min(attended, offered), replace=False).tolist()) if offered else set()

            def sessions(uow: Any) -> None:
                for k in range(offered):
                    record_session(uow, tm, pid, session_number=k + 1, offered_on=r0 + timedelta(days=14 + 7 * k),
                                   attended=k in attend_set, therapist=therapist, duration_minutes=120,
                                   fidelity_rating=float(self.rng.integers(3, 6)))
            _write(self.store, tm, sessions)
            self._count("sessions", offered)

    def resource_use(self, i: int, pid: str, arm: str) -> None:
        from securebase.trial.data_entry import save_responses

        frame = self.frames[arm].resource_use
        pot = self.pot_int if arm == "intervention" else self.pot_ctl
        sim_id = pot.iloc[i]["participant_id"]
        r0 = pd.Timestamp(self.base.iloc[i]["randomised_on"]).date()
        rows = frame[frame["participant_id"] == sim_id]
        for (start, end), g in rows.groupby(["period_start_days", "period_end_days"]):
            if g["quantity"].isna().any():  # not collected (participant lost to follow-up)
                continue
            visit_id = "m6" if end <= 200 else "m12"
            answers: dict[str, Any] = {"period_start": (r0 + timedelta(days=int(start))).isoformat(),
                                       "period_end": (r0 + timedelta(days=int(end))).isoformat()}
            inst = load_instrument("resource_use")
            by_key = {it.cost_key: it for it in inst.items if it.cost_key}
            for it in inst.items:
                if it.code not in answers:
                    answers[it.code] = 0
            for r in g.itertuples():
                item = by_key.get(r.item)
                if item is not None:
                    q = float(r.quantity)
                    answers[item.code] = int(round(q)) if item.response_type == "integer" else round(q, 2)
            try:
                _write(self.store, self.users.assessor, lambda uow, a=answers, v=visit_id: save_responses(
                    uow, self.users.assessor, pid, v, "resource_use", a))
            except Exception as exc:  # a missed visit: resource use not collected
                from securebase.errors import ConflictError

                if not isinstance(exc, ConflictError):
                    raise
                continue
            self._count("resource-use forms")


#: Made-up interview fragments (synthetic; about support in general, so they fit either arm) and the code
#: each is an example of. Names never appear, so there is nothing to pseudonymise.
QUAL_FRAGMENTS = (
    ("Peer support", "Meeting other carers who understood helped me feel less alone with it all."),
    ("Peer support", "Talking to another foster carer in the same situation gave me ideas I still use."),
    ("Understanding the child", "I started to notice that when she pushes me away she is really checking I will stay."),
    ("Understanding the child", "Seeing it from his side, the shouting made more sense as fear than as naughtiness."),
    ("Practical barriers", "Evenings were hard to fit around contact visits and the school run."),
    ("Practical barriers", "Getting time off work for appointments was the hardest part."),
    ("Change at home", "Bedtimes are calmer now and she lets me sit with her until she sleeps."),
    ("Change at home", "We still have bad days, but they blow over faster than they used to."),
)
QUAL_CODES = {"Peer support": "Support from other carers or families",
              "Understanding the child": "Carer describes a new understanding of the child's behaviour or needs",
              "Practical barriers": "Time, travel or work getting in the way of support",
              "Change at home": "Changes in everyday family life the carer links to the support received"}


def add_qualitative(world: DemoTrial, qual: Actor, k: int = 10) -> None:
    """Consent, import and code ``k`` short synthetic carer interviews (at 12 months)."""
    from securebase.qualitative.codebook import add_code, create_codebook
    from securebase.qualitative.coding import apply_code
    from securebase.qualitative.readers import ReadTranscript
    from securebase.qualitative.transcripts import import_transcript
    from securebase.trial import consent

    chosen = list(world.screening_numbers.items())[:: max(1, len(world.screening_numbers) // k)][:k]
    cb = _write(world.store, qual, lambda uow: create_codebook(uow, qual, "carer experience"))
    _write(world.store, qual, lambda uow: [add_code(uow, qual, cb.id, name, definition=d) for name, d in QUAL_CODES.items()])
    for pid, (sn, site, r0, signatory) in chosen:
        rec = world.users.recruiters[site]
        on = min(r0 + timedelta(days=380), world.today)
        _write(world.store, rec, lambda uow, n=sn, d=on, r=rec, who=signatory: consent.record_consent(
            uow, r, n, kind="qualitative", form_version="1.0", signatory_role=who, signed_on=d))
        picks = world.rng.choice(len(QUAL_FRAGMENTS), size=4, replace=False)
        lines = [f"Interviewer: What has the last year been like?\nCarer: {QUAL_FRAGMENTS[i][1]}" for i in picks]
        text = "\n".join(lines) + "\n"
        read = ReadTranscript(text=text, source_format="txt", encoding="utf-8", name=f"{pid}-interview.txt")
        res = _write(world.store, qual, lambda uow, r=read, p=pid: import_transcript(
            uow, qual, r, speaker_role="carer", participant_id=p, visit_id="m12", title=f"Carer interview {p}",
            use_identifier_record=False))
        tid = res.transcript.id

        def code(uow: Any, picks: Any = picks, text: str = text, tid: int = tid) -> None:
            for i in picks:
                name, frag = QUAL_FRAGMENTS[int(i)]
                start = text.index(frag)
                apply_code(uow, qual, cb.id, tid, name, start, start + len(frag))
        _write(world.store, qual, code)
        world._count("interviews coded")


def install_demo_tariff() -> None:
    register_value_set(DEMO_CHU9D)


__all__ = ["DemoTrial", "install_demo_tariff", "make_users", "math"]
