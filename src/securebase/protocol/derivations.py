"""Derivation rules as data: how routine records (SSDA903, the Children in Need census, school records)
and hand-entered events become analysis outcomes.

Declared in a protocol's top-level ``derivations`` block, versioned with the protocol and shown in the SAP.
The analysis datasets (:mod:`securebase.analysis.datasets`) switch each derivation on because the protocol
declares it, never because of the trial's id.

SSDA903 codes: the lists of valid ``REASON_PLACE_CHANGE`` and ``REC`` codes are the DfE's (validation
rules 1009 and 149 of the published validator ``quality-lac-data-validator``); their meanings are in the DfE
"Children looked after by local authorities in England: guide to the SSDA903 collection" (annex of codes).
Which codes count as *unplanned* is the trial's decision, declared here.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: DfE SSDA903 reason for placement change (validator rule 1009).
REASON_PLACE_CHANGE_CODES: dict[str, str] = {
    "CARPL": "Change to or implementation of the care plan", "CLOSE": "Resignation or closure of the provision",
    "ALLEG": "Allegation (section 47 enquiry)", "STAND": "Standards of care concern",
    "APPRR": "Approval removed", "CREQB": "Carer requests placement end because of the child's behaviour",
    "CREQO": "Carer requests placement end, other than because of the child's behaviour",
    "CHILD": "Child requests placement end", "LAREQ": "Responsible or area authority requests placement end",
    "PLACE": "Change in the status of the placement only", "CUSTOD": "Custody arrangement", "OTHER": "Other",
}
#: DfE SSDA903 reason episode ceased (validator rule 149).
REC_CODES: dict[str, str] = {
    "E11": "Adopted: application unopposed", "E12": "Adopted: consent dispensed with by the court",
    "E2": "Died", "E3": "Care taken over by another local authority in the UK",
    "E4A": "Returned home to parents or relatives as part of the care planning process",
    "E4B": "Returned home to parents or relatives not as part of the care planning process",
    "E13": "Left care to live with parent(s), relative or other person with no parental responsibility",
    "E41": "Residence order or child arrangements order granted",
    "E45": "Special guardianship order made to former foster carers",
    "E46": "Special guardianship order made to carers other than former foster carers",
    "E47": "Special guardianship order made to former foster carers who were relatives or friends",
    "E48": "Special guardianship order made to carers, other than former foster carers, who were relatives or friends",
    "E5": "Moved into independent living (supportive accommodation)",
    "E6": "Moved into independent living (no formalised support)",
    "E7": "Transferred to residential care funded by adult social care", "E8": "Ceased for any other reason",
    "E9": "Sentenced to custody", "E14": "Accommodation on remand ended",
    "E15": "Age assessment determined the child is 18 or over", "E16": "Child moved abroad",
    "E17": "Aged 18 or over and remained with current carers (staying put)",
    "X1": "Episode ends and a new one begins on the same day (change of placement or legal status)",
}
SOURCES = ("linked", "hand_entered")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OngoingMaltreatment(_Strict):
    """``maltreatment_12``: 1 when a counted event happens from randomisation to ``window_days``; 0 when the
    whole window was observed (a linked record covering it, or the scheduled administrative form) and none did."""

    variable: str = "maltreatment_12"
    window_days: Annotated[int, Field(ge=1)] = 365
    events: tuple[str, ...] = Field(description="Protocol event ids that count (hand-entered events)")
    record_codes: tuple[str, ...] = Field(description="maltreatment_record event_type codes that count")
    linked: tuple[Literal["cin_referral", "section47", "child_protection_plan", "entry_to_care"], ...] = Field(
        description="Linked-record signals that count (CIN census referrals, section 47 enquiries, child protection "
                    "plans; entry to care from SSDA903 episodes)")
    composite_intercurrent: tuple[str, ...] = Field(
        (), description="Intercurrent events counted as the outcome (the SAP estimand's composite strategy)")


class PlacementDisruption(_Strict):
    """``placement_end_time`` / ``placement_end_event``: time to the first unplanned placement ending (1) or a
    competing event (2), censored (0) at the extract date or on leaving the authority's care."""

    variable: str = "placement_end_time"
    unplanned_reason_place_change: tuple[str, ...]
    planned_reason_place_change: tuple[str, ...]
    unplanned_rec: tuple[str, ...] = ()
    competing_rec: dict[str, str] = Field(default_factory=dict, description="REC code -> competing event id")
    leaving_rec: tuple[str, ...] = Field((), description="REC codes that end follow-up (censored): leaving the authority")
    source: str = ""

    @model_validator(mode="after")
    def _codes(self) -> PlacementDisruption:
        for field, codes, valid in (("unplanned_reason_place_change", self.unplanned_reason_place_change, REASON_PLACE_CHANGE_CODES),
                                    ("planned_reason_place_change", self.planned_reason_place_change, REASON_PLACE_CHANGE_CODES),
                                    ("unplanned_rec", self.unplanned_rec, REC_CODES),
                                    ("competing_rec", tuple(self.competing_rec), REC_CODES),
                                    ("leaving_rec", self.leaving_rec, REC_CODES)):
            bad = [c for c in codes if c not in valid]
            if bad:
                raise ValueError(f"derivations.placement_disruption.{field}: {bad} are not DfE SSDA903 codes "
                                 f"(valid: {', '.join(valid)})")
        both = set(self.unplanned_reason_place_change) & set(self.planned_reason_place_change)
        if both:
            raise ValueError(f"derivations.placement_disruption: {sorted(both)} are declared both planned and unplanned")
        missing = set(REASON_PLACE_CHANGE_CODES) - set(self.unplanned_reason_place_change) - set(self.planned_reason_place_change)
        if missing:
            raise ValueError(f"derivations.placement_disruption: reasons {sorted(missing)} are neither planned nor "
                             "unplanned; declare every DfE reason for placement change in one list")
        rec_sets = [set(self.unplanned_rec), set(self.competing_rec), set(self.leaving_rec)]
        overlap = (rec_sets[0] & rec_sets[1]) | (rec_sets[0] & rec_sets[2]) | (rec_sets[1] & rec_sets[2])
        if overlap:
            raise ValueError(f"derivations.placement_disruption: REC codes {sorted(overlap)} are in more than one list")
        return self


class Attainment(_Strict):
    """Attainment at the key stage the child reaches during follow-up (school records)."""

    ks2_variable: str = "ks2_mean_12"
    ks4_variable: str = "attainment8_12"


class AdoptionDisruption(_Strict):
    """``adoption_disruption``: 1 when a child whose care episode ended in adoption (``adoption_rec``) after
    randomisation starts a new period of care (an SSDA903 episode with RNE = S) before the extract date; else 0
    for a linked child; missing without linked SSDA903 records."""

    variable: str = "adoption_disruption"
    adoption_rec: tuple[str, ...] = ("E11", "E12")


class Derivations(_Strict):
    version: str = "1.0"
    primary_source: Literal["linked", "hand_entered"] = Field(
        "linked", description="'linked': linked records, with hand-entered events and forms filling gaps; "
                              "'hand_entered': research-team entries only. The other is a sensitivity analysis.")
    ongoing_maltreatment: OngoingMaltreatment | None = None
    placement_disruption: PlacementDisruption | None = None
    attainment: Attainment | None = None
    adoption_disruption: AdoptionDisruption | None = None

    @property
    def sensitivity_source(self) -> str:
        return next(s for s in SOURCES if s != self.primary_source)


def describe(d: Derivations) -> list[str]:
    """The declared rules as sentences, for the SAP document."""
    out = [f"Derivation rules version {d.version}; primary source: {d.primary_source.replace('_', ' ')} records "
           f"(sensitivity analysis: {d.sensitivity_source.replace('_', ' ')})."]
    if d.ongoing_maltreatment is not None:
        om = d.ongoing_maltreatment
        out.append(f"{om.variable}: 1 when any of {', '.join(om.events)} (or linked {', '.join(om.linked)}) occurs within "
                   f"{om.window_days} days after randomisation; 0 when none did and the whole window was observed by linked "
                   "records or the 12-month administrative form, whether or not the research visit happened; else missing."
                   + (f" Counted as the outcome (composite strategy): {', '.join(om.composite_intercurrent)}."
                      if om.composite_intercurrent else ""))
    if d.placement_disruption is not None:
        pd_ = d.placement_disruption
        out.append(f"{pd_.variable}: unplanned reasons for placement change {', '.join(pd_.unplanned_reason_place_change)}; "
                   f"planned (not a disruption) {', '.join(pd_.planned_reason_place_change)}; unplanned episode endings "
                   f"{', '.join(pd_.unplanned_rec) or 'none'}; competing "
                   + ", ".join(f"{k} ({v})" for k, v in pd_.competing_rec.items())
                   + f"; censored at the extract date or on leaving care ({', '.join(pd_.leaving_rec)}).")
    if d.adoption_disruption is not None:
        out.append(f"{d.adoption_disruption.variable}: re-entry to care (a new SSDA903 period, RNE S) after an episode "
                   f"ended in adoption ({', '.join(d.adoption_disruption.adoption_rec)}) after randomisation.")
    if d.attainment is not None:
        out.append(f"Attainment at the key stage reached: {d.attainment.ks2_variable} (KS2 mean scaled score), "
                   f"{d.attainment.ks4_variable} (KS4 Attainment 8).")
    return out
