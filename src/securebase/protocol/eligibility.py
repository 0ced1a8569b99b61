"""Evaluate a protocol's eligibility criteria against screening answers, with a reason per failure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from securebase.protocol.models import Criterion, Protocol


def age_in_years(date_of_birth: date, on: date) -> int:
    """Age in completed years on a date (birthday counted on the day)."""
    years = on.year - date_of_birth.year
    if (on.month, on.day) < (date_of_birth.month, date_of_birth.day):
        years -= 1
    return years


@dataclass(frozen=True)
class EligibilityResult:
    eligible: bool
    reasons: tuple[str, ...] = field(default=())
    missing: tuple[str, ...] = field(default=())

    def summary(self) -> str:
        if self.eligible:
            return "eligible"
        parts = list(self.reasons) + [f"answer missing: {m}" for m in self.missing]
        return "not eligible: " + "; ".join(parts)


def _age(answers: dict[str, Any]) -> float | None:
    if answers.get("age_years") is not None:
        return float(answers["age_years"])
    dob, on = answers.get("date_of_birth"), answers.get("assessment_date") or date.today()
    if dob is None:
        return None
    if isinstance(dob, str):
        dob = date.fromisoformat(dob)
    if isinstance(on, str):
        on = date.fromisoformat(on)
    return float(age_in_years(dob, on))


def check_criterion(c: Criterion, answers: dict[str, Any]) -> tuple[bool | None, str]:
    """Return (passes, reason). ``passes`` is None when the answer needed is missing."""
    if c.kind == "age_range":
        age = _age(answers)
        if age is None:
            return None, f"{c.label}: age or date of birth not given"
        if c.min_years is not None and age < c.min_years:
            return False, f"{c.label}: age {age:g} is under {c.min_years:g}"
        if c.max_years_exclusive is not None and age >= c.max_years_exclusive:
            return False, f"{c.label}: age {age:g} is not under {c.max_years_exclusive:g}"
        return True, ""
    value = answers.get(c.field)
    if value is None or value == "" or value == []:
        return None, f"{c.label}: '{c.field}' not answered"
    if c.kind == "in_set":
        ok = str(value) in c.allowed
        return ok, "" if ok else f"{c.label}: '{value}' is not one of {', '.join(c.allowed)}"
    if c.kind == "any_in_set":
        values = value if isinstance(value, (list, tuple, set)) else [v.strip() for v in str(value).split(",")]
        ok = any(str(v) in c.allowed for v in values)
        return ok, "" if ok else f"{c.label}: none of {sorted(map(str, values))} is one of {', '.join(c.allowed)}"
    # boolean
    truth = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "y")
    ok = truth == c.expected
    if c.exclusion:
        return ok, "" if ok else f"{c.label} (exclusion criterion met)"
    return ok, "" if ok else f"{c.label}: answered {'yes' if truth else 'no'}"


def check_eligibility(protocol: Protocol, answers: dict[str, Any]) -> EligibilityResult:
    """Evaluate every criterion; eligible only when all pass and none is missing."""
    reasons: list[str] = []
    missing: list[str] = []
    for c in protocol.eligibility:
        passes, reason = check_criterion(c, answers)
        if passes is None:
            missing.append(reason)
        elif not passes:
            reasons.append(reason)
    return EligibilityResult(not reasons and not missing, tuple(reasons), tuple(missing))


# -- the screening form: positive yes/no questions ---------------------------------------------------------
def met_field(c: Criterion) -> str:
    """The form field of a boolean criterion's question: "yes" there always means the criterion is met."""
    return f"met_{c.id}"


def answers_from_met(protocol: Protocol, form: dict[str, Any]) -> dict[str, Any]:
    """Turn the ``met_<criterion>`` yes/no answers of a screening form into the protocol's stored fields.

    For a criterion with ``expected: false`` (for example ``placement_ending_planned``) answering "yes, met"
    stores ``False`` (no ending planned): the person never has to invert a double negative.
    Unanswered questions are left out (and reported by :func:`unanswered`).
    """
    out: dict[str, Any] = {}
    for c in protocol.eligibility:
        if c.kind != "boolean":
            continue
        raw = form.get(met_field(c))
        if raw in (None, ""):
            continue
        met = raw if isinstance(raw, bool) else str(raw).strip().lower() in ("yes", "true", "1", "y", "on")
        out[c.field] = bool(c.expected) if met else not c.expected
    return out


@dataclass(frozen=True)
class CriterionAnswer:
    """One row of the eligibility summary: the question, whether it is met (None: not answered), why."""

    criterion_id: str
    question: str
    met: bool | None
    detail: str

    @property
    def answer(self) -> str:
        return {True: "Yes", False: "No", None: "Not answered"}[self.met]


def summarise(protocol: Protocol, answers: dict[str, Any]) -> list[CriterionAnswer]:
    """Each criterion as its positive question with the answer the stored values give (for the summary)."""
    rows = []
    for c in protocol.eligibility:
        passes, reason = check_criterion(c, answers)
        rows.append(CriterionAnswer(c.id, c.asked, passes, reason))
    return rows


def unanswered(protocol: Protocol, answers: dict[str, Any]) -> list[Criterion]:
    """The criteria the answers leave undecided (a screening record is saved only when this is empty)."""
    return [c for c in protocol.eligibility if check_criterion(c, answers)[0] is None]
