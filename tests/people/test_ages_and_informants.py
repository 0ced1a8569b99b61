"""Instrument age ranges enforced in scheduling, forms and datasets; the teacher's and the young person's SDQ and
who reported each score reach the analysis datasets; each SAP has a teacher-reported sensitivity analysis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from people_world import KEY, child_with_people
from trial_world import actor, valid_responses

from securebase.analysis import schema
from securebase.analysis.datasets import extract_datasets
from securebase.errors import FieldError
from securebase.instruments import load_instrument
from securebase.instruments.ages import age_allows
from securebase.notify import FileMailer, FileSmsGateway
from securebase.trial import data_entry, invitations, people
from securebase.trial.invitations import Channels


def test_age_ranges_of_the_instruments() -> None:
    kerns, self_report, eq5d = load_instrument("kerns"), load_instrument("sdq_self"), load_instrument("eq5d_5l")
    assert not age_allows(kerns, 5.4) and not age_allows(kerns, 7.99) and age_allows(kerns, 8.0)
    assert age_allows(kerns, 17.9) and not age_allows(kerns, 18.0)
    assert not age_allows(self_report, 10.95) and age_allows(self_report, 11.0)
    assert age_allows(eq5d, 6.0)  # the carer's own EQ-5D-5L: its range is the carer's age, not the child's


def test_scheduling_forms_and_datasets_follow_age_and_informant(care_trial, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = child_with_people(care_trial, age=6, back=360)  # 5.6 at randomisation, 6 at the 12-month visit
    a, pid = w["actor"], w["participant_id"]
    ch = Channels(FileMailer(tmp_path / "mail"), FileSmsGateway(tmp_path / "sms"), "https://x.example.org", KEY)
    with care_trial.unit_of_work(actor="rec1") as uow:
        sent = invitations.send_invitations(uow, a, ch)
        uow.commit()
    assert sorted(x["instrument"] for x in sent.links) == ["eq5d_5l", "resource_use", "rpq", "sdq_parent",
                                                           "sdq_teacher"]
    assert sent.skipped_age == 2  # Kerns (from 8) and CHU9D (from 7) are not scheduled for a 6-year-old
    assessor = actor(care_trial, "assessor1")
    with care_trial.unit_of_work(actor="assessor1") as uow, pytest.raises(FieldError) as e:
        data_entry.save_responses(uow, assessor, pid, "m12", "kerns", valid_responses("kerns"))
    assert "Kerns" in str(e.value) and "ages 8 to 17" in str(e.value) and f"{pid} is 5 on" in str(e.value)
    with care_trial.read() as s:
        states = {x["instrument"]: x["state"] for x in data_entry.instruments_for_visit(s, assessor, pid, "m12")}
    assert states["kerns"] == "not for this age" and states["chu9d"] == "not for this age"
    with care_trial.unit_of_work(actor="rec1") as uow:  # the child moves; the new carer answers the SDQ
        new = people.add_person(uow, a, kind="carer", site_code="LA01",
                                contact={"name": "Carer Two", "email": "two@example.org"}, encryption_key=KEY)
        people.placement_move(uow, a, pid, new.reference, moved_on=sent and __import__("trial_world").days_ago(3))
        again = invitations.send_invitations(uow, a, ch)
        uow.commit()
    sdq = next(x for x in again.links if x["instrument"] == "sdq_parent")
    teacher = next(x for x in sent.links if x["instrument"] == "sdq_teacher")
    assert sdq["person"] == new.reference and teacher["person"] == w["teacher"]
    for link in (sdq, teacher):
        with care_trial.unit_of_work(actor="respondent") as uow:
            invitations.save_answers(uow, link["token"], valid_responses(link["instrument"]), submit=True)
            uow.commit()
    with care_trial.read() as s:
        data = extract_datasets(s, actor(care_trial, "ustat"))
        blind = extract_datasets(s, actor(care_trial, "bstat"))
    row = data.participants.set_index("participant_id").loc[pid]
    assert not np.isnan(row["sdq_total_12"]) and not np.isnan(row["sdq_teacher_total_12"])
    assert np.isnan(row["sdq_self_total_12"]) and np.isnan(row["kerns_mean_12"])
    assert row["sdq_respondent_12"] == "new_carer" and row["sdq_teacher_respondent_12"] == "teacher"
    assert row["sdq_self_respondent_12"] is None
    assert set(schema.RESPONDENT_COLUMNS) <= set(blind.participants.columns) and "arm" not in blind.participants


@pytest.mark.parametrize("trial", ["ng26-care", "ng26-maltreatment"])
def test_each_sap_has_a_teacher_reported_sensitivity_analysis(trial: str) -> None:
    from securebase.analysis.sap.validate import load_plan

    plan = load_plan(trial)
    behaviour = next(o for o in plan.outcomes if o.id == "behaviour")
    s = next(x for x in behaviour.sensitivity if x.id == "teacher_report")
    assert s.variable == "sdq_teacher_total_12" and "sdq_teacher_total_0" in s.model.covariates
    assert "teacher" in s.label


def test_teacher_sensitivity_runs_on_teacher_data() -> None:
    """The runner fits the teacher-reported sensitivity on its own column (synthetic frame, known effect)."""
    import pandas as pd

    from securebase.analysis.sap.runner import run_outcome
    from securebase.analysis.sap.validate import load_plan

    rng = np.random.default_rng(5)
    n = 240
    treat = rng.integers(0, 2, n)
    base = rng.normal(14, 5, n)
    df = pd.DataFrame({"participant_id": [f"P{i}" for i in range(n)], "treat": treat,
                       "arm": np.where(treat == 1, "intervention", "usual_care"),
                       "site": rng.choice(["LA01", "LA02"], n), "age_band": rng.choice(["5-10", "11-17"], n),
                       "care_status": rng.choice(["foster", "adopted"], n), "complier": treat,
                       "sdq_total_0": base, "sdq_total_12": base - 2 * treat + rng.normal(0, 3, n),
                       "sdq_teacher_total_0": base + rng.normal(0, 2, n)})
    df["sdq_teacher_total_12"] = df["sdq_teacher_total_0"] - 3 * treat + rng.normal(0, 3, n)
    plan = load_plan("ng26-care")
    o = next(o for o in plan.outcomes if o.id == "behaviour")
    o = o.model_copy(update={"sensitivity": [s for s in o.sensitivity if s.id == "teacher_report"], "subgroups": []})
    res = run_outcome(plan, o, df, None)
    teacher = res.sensitivity[0]
    assert teacher.error is None and teacher.result is not None
    assert -3.8 < teacher.result.estimate < -2.2 and -2.8 < res.primary.result.estimate < -1.2
