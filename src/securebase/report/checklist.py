"""Reviewer's checklist: CONSORT 2025 (with the harms items it integrates) and CHEERS 2022, each item
with where this report meets it, or "not met" and why.

CONSORT 2025: Hopewell S, Chan A-W, Collins GS, et al. CONSORT 2025 statement: updated guideline for
reporting randomised trials. BMJ 2025;389:e081123 (Table 1; 30 items). The topic wording below is our
own short paraphrase. Items a report of the data monitoring committee cannot meet (title, abstract,
discussion, funding) are listed as not met, with where they belong; they are never counted as met.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MET, NOT_MET = "met", "not met"

#: (item, topic, harms-related)
CONSORT_2025: tuple[tuple[str, str, bool], ...] = (
    ("1a", "Identification as a randomised trial", False), ("1b", "Structured summary", False),
    ("2", "Trial registration: registry, number, date", False),
    ("3", "Where the protocol and statistical analysis plan can be accessed", False),
    ("4", "Data sharing: where data, dictionary and code can be accessed", False),
    ("5a", "Funding and role of funders", False), ("5b", "Conflicts of interest", False),
    ("6", "Background and rationale", False), ("7", "Objectives, for benefits and harms", True),
    ("8", "Patient and public involvement", False),
    ("9", "Trial design, allocation ratio and framework", False),
    ("10", "Changes to the trial after it started, with reasons", False),
    ("11", "Settings and locations", False), ("12a", "Eligibility criteria for participants", False),
    ("12b", "Eligibility of sites and of those delivering the intervention", False),
    ("13", "Intervention and comparator in enough detail to replicate", False),
    ("14", "Prespecified primary and secondary outcomes (variable, metric, time point)", False),
    ("15", "How harms were defined and assessed", True),
    ("16a", "How the sample size was determined", False), ("16b", "Interim analyses and stopping guidelines", False),
    ("17a", "Sequence generation", False), ("17b", "Type of randomisation and restrictions", False),
    ("18", "Allocation concealment", False), ("19", "Implementation: who enrolled and assigned", False),
    ("20a", "Who was blinded", False), ("20b", "How blinding was achieved", False),
    ("21a", "Statistical methods for each outcome, including harms", True),
    ("21b", "Who is included in each analysis, in which group", False),
    ("21c", "How missing data were handled", False),
    ("21d", "Additional analyses (subgroup, sensitivity), prespecified or not", False),
    ("22a", "Participant flow: randomised, received, analysed, by group", False),
    ("22b", "Losses and exclusions after randomisation, with reasons (including harms)", True),
    ("23a", "Dates of recruitment and follow-up", False), ("23b", "Why the trial ended or was stopped", False),
    ("24a", "Intervention and comparator as delivered (adherence)", False), ("24b", "Concomitant care", False),
    ("25", "Baseline characteristics by group", False),
    ("26", "Each outcome by group: numbers analysed, effect and precision (absolute and relative)", False),
    ("27", "All harms or unintended effects in each group", True),
    ("28", "Ancillary analyses: subgroup and sensitivity, prespecified or exploratory", False),
    ("29", "Interpretation, balancing benefits and harms", True),
    ("30", "Limitations and generalisability", False),
)


@dataclass(frozen=True)
class Item:
    guideline: str
    item: str
    topic: str
    status: str
    where: str


def consort_items(protocol: Any, *, closed: bool, sections: set[str]) -> list[Item]:
    """CONSORT 2025 items for this report. ``sections`` names the sections the report holds
    (e.g. "harms" once the safety section is in)."""
    reg = protocol.registration
    by = "by arm" if closed else "pooled (by arm in the closed report)"
    met: dict[str, str] = {
        "3": "Trial identification: protocol and SAP ids, versions and dates (held as data in the platform)",
        "9": f"Trial identification; {len(protocol.arms)} arms, ratio "
             + ":".join(str(a.ratio) for a in protocol.arms),
        "11": f"Protocol: {len(protocol.sites)} sites",
        "14": "Estimands table: variable, summary measure and time point of every outcome",
        "21a": "Outcomes table: model of each outcome (analysis column) and plan's multiplicity method",
        "21b": "Estimands table: analysis set of each outcome; numbers analysed per arm in the outcomes table",
        "21c": "Sensitivity analyses under the primary (multiple imputation under MAR, tipping point under MNAR); "
               "complete-case exclusions in the notes",
        "21d": "Sensitivity analyses and subgroups, all prespecified in the SAP",
        "22a": f"CONSORT flow diagram, {by}, at the data date",
        "22b": f"CONSORT flow: missed, lost, withdrawn, not yet due with reasons, {by}",
        "24a": f"Adherence and dose, {by}",
        "25": f"Baseline characteristics, {by}",
        "28": "Sensitivity analyses beside each primary; subgroup table with interaction tests" if closed else "",
    }
    if closed:
        met["26"] = "Outcomes table: n analysed per arm, effect with 95% CI, p and adjusted p"
    if reg.number:
        met["2"] = f"Trial identification: {reg.registry} {reg.number}"
    if "harms" in sections:
        met.update({"15": "Harms section", "27": f"Harms section, {by}"})
    why_not: dict[str, str] = {
        "1a": "the trial publication's title", "1b": "the trial publication's abstract",
        "2": f"no {reg.registry} number in the protocol: register the trial and add registration.number",
        "4": "the data-sharing statement of the publication (the exports and `securebase analyse` reproduce "
             "the numbers)",
        "5a": "the trial publication", "5b": "the trial publication", "6": "the protocol and publication",
        "7": "the protocol and publication", "8": "the protocol and publication",
        "10": "not tracked by the platform: state protocol amendments in the publication",
        "12a": "the protocol (eligibility criteria as data); not restated here",
        "12b": "the protocol", "13": "the protocol (intervention components); not restated here",
        "15": "harms section pending (safeguarding and adverse events, issue 19)",
        "16a": "the protocol and `securebase design` output",
        "16b": "the DMC charter", "17a": "concealed: seed stored with the trial, not printed",
        "17b": "the protocol (minimisation factors as data); not restated here",
        "18": "the protocol (central web randomisation)", "19": "the audit trail; not summarised here",
        "20a": "the protocol (blinded roles as data); not summarised here", "20b": "the protocol",
        "23a": "not summarised: the data date is given, not recruitment dates",
        "23b": "not applicable while the trial is running",
        "24b": "not collected as a separate field", "26": "by arm only in the closed report",
        "27": "harms section pending (safeguarding and adverse events, issue 19)",
        "28": "by arm only in the closed report",
        "29": "the trial publication (a DMC report gives no interpretation)",
        "30": "the trial publication",
    }
    out = []
    for item, topic, harms in CONSORT_2025:
        where = met.get(item)
        label = "CONSORT 2025" + (" (harms)" if harms else "")
        if where:
            out.append(Item(label, item, topic, MET, where))
        else:
            out.append(Item(label, item, topic, NOT_MET, "Not in this report: " + why_not.get(item, "not reported")))
    return out


def checklist(protocol: Any, he_plan: Any | None, *, closed: bool, sections: set[str]) -> dict[str, Any]:
    """Both checklists as rows, with counts of items met and not met."""
    from securebase.report.cheers import cheers_items

    items = consort_items(protocol, closed=closed, sections=sections) + cheers_items(he_plan, protocol, closed=closed)
    counts: dict[str, dict[str, int]] = {}
    for it in items:
        g = it.guideline.split(" (")[0]
        counts.setdefault(g, {MET: 0, NOT_MET: 0})[it.status] += 1
    return {"items": items, "counts": counts}
