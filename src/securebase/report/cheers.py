"""CHEERS 2022 checklist (Husereau et al., Value Health 2022;25:3-9): which items this report meets."""

from __future__ import annotations

from typing import Any

# (item, topic). Wording is our own short paraphrase of each item's topic.
ITEMS: tuple[tuple[str, str], ...] = (
    ("1", "Title"), ("2", "Abstract"), ("3", "Background and objectives"), ("4", "Health economic analysis plan"),
    ("5", "Study population"), ("6", "Setting and location"), ("7", "Comparators"), ("8", "Perspective"),
    ("9", "Time horizon"), ("10", "Discount rate"), ("11", "Selection of outcomes"), ("12", "Measurement of outcomes"),
    ("13", "Valuation of outcomes"), ("14", "Measurement and valuation of resources and costs"),
    ("15", "Currency, price date and conversion"), ("16", "Rationale and description of model"),
    ("17", "Analytics and assumptions"), ("18", "Characterising heterogeneity"),
    ("19", "Characterising distributional effects"), ("20", "Characterising uncertainty"),
    ("21", "Approach to engagement with patients and others affected"), ("22", "Study parameters"),
    ("23", "Summary of main results"), ("24", "Effect of uncertainty"), ("25", "Effect of engagement"),
    ("26", "Study findings, limitations, generalisability"), ("27", "Source of funding"), ("28", "Conflicts of interest"),
)


def cheers_rows(plan: Any | None, protocol: Any, *, closed: bool) -> list[tuple[str, str, str]]:
    """Each item with where it is met in this report, or why it is not (reported elsewhere / not applicable)."""
    he = plan
    where: dict[str, str] = {
        "1": "Report title names a cost-utility analysis within a randomised trial",
        "3": f"Protocol: {protocol.population}",
        "5": "Baseline characteristics table",
        "6": f"{len(protocol.sites)} sites (local authorities, adoption agencies, CAMHS)",
        "7": " vs ".join(a.name for a in protocol.arms) if closed else "The protocol's two arms (named in the closed report)",
        "11": "Outcomes table (clinical) and QALYs (economic)",
        "12": "Instruments and schedule in the protocol; utilities at each visit",
        "23": "Cost-effectiveness table" if closed else "Pooled in the open report; by arm in the closed report",
        "2": "Written by the trial team for the journal article",
        "21": "Described in the trial protocol (public involvement)", "25": "Described in the trial publication",
        "26": "Discussion of the trial publication", "27": "Trial publication", "28": "Trial publication",
        "19": "Not analysed (distributional cost-effectiveness not in the plan)",
        "16": "Within-trial analysis; no decision model",
    }
    if he is not None:
        persp = "; ".join(getattr(p, "label", str(p)) for p in getattr(he, "perspectives", ()))
        where.update({
            "4": f"Health-economics plan '{getattr(he, 'name', getattr(he, 'trial', ''))}' (as data, versioned)",
            "8": persp or "Plan perspectives",
            "9": "12 months (trial follow-up)",
            "10": "3.5% a year beyond 12 months (NICE reference case)",
            "13": f"Utilities by {getattr(getattr(he, 'utility', None), 'measure', 'the plan')} value set; QALYs by area under the curve",
            "14": "Resource use × unit costs (source and price year per item), intervention cost from the delivery log",
            "15": f"{getattr(he, 'currency', 'GBP')}, price year {getattr(he, 'price_year', '')}, inflated by a user-supplied index",
            "17": "Seemingly unrelated regression, baseline utility adjusted; multiple imputation by arm; bootstrap",
            "18": "Subgroups in the statistical plan", "20": "Bootstrap intervals, CE plane, CEAC, EVPI",
            "22": "Unit-cost table and plan", "24": "CEAC and EVPI",
        })
    return [(i, t, where.get(i, "Not reported here")) for i, t in ITEMS]


#: items this report cannot meet (they belong in the publication), with where they belong
ELSEWHERE = {"1": "the report's title names the trial report, not a cost-utility analysis (the economic "
                  "publication's title)",
             "2": "the economic publication's abstract", "21": "the trial protocol (public involvement)",
             "25": "the trial publication", "26": "the discussion of the trial publication",
             "27": "the trial publication", "28": "the trial publication",
             "19": "not analysed: distributional cost-effectiveness is not in the plan"}


def _illustrative(he: Any) -> dict[str, str]:
    """Items whose inputs are made up or illustrative: not met, and said so."""
    out = {}
    util = getattr(he, "utility", None)
    if util is not None:
        from securebase.instruments.value_sets import get_value_set, list_value_sets

        instrument = util.measure.lower().replace("-", "").replace(" ", "_")
        sets = [get_value_set(n) for n in list_value_sets()]
        used = [vs for vs in sets if vs.instrument.replace("-", "") == instrument]
        made_up = [vs.name for vs in used if vs.made_up]
        if made_up:
            out["13"] = (f"{util.measure} utilities were scored with value set '{made_up[0]}', made up for the "
                         f"synthetic demonstration, not the plan's '{util.value_set}'")
        elif not used:
            out["13"] = (f"no {util.measure} value set is registered here, so the tariff behind the utilities "
                         "cannot be stated; register the licensed value set")
    if "example" in str(getattr(he, "unit_costs", "")):
        out["14"] = (f"unit costs are the illustrative table '{he.unit_costs}', not costs sourced for this "
                     "trial; resource use x unit cost, intervention cost from the delivery log")
    return out


def cheers_items(plan: Any | None, protocol: Any, *, closed: bool) -> list[Any]:
    """CHEERS 2022 items as checklist entries: met (where), or not met (why, where it belongs)."""
    from securebase.report.checklist import MET, NOT_MET, Item

    where = {i: w for i, _, w in cheers_rows(plan, protocol, closed=closed)}
    bad = _illustrative(plan) if plan is not None else {}
    out = []
    for item, topic in ITEMS:
        if item in ELSEWHERE:
            out.append(Item("CHEERS 2022", item, topic, NOT_MET, "Not in this report: " + ELSEWHERE[item]))
        elif item in bad:
            out.append(Item("CHEERS 2022", item, topic, NOT_MET, "Not met: " + bad[item]))
        elif plan is None or where[item] == "Not reported here" or (not closed and item == "23"):
            reason = "no health-economics plan ran for this report" if plan is None else (
                "results by arm are in the closed report" if item == "23" else "not reported")
            out.append(Item("CHEERS 2022", item, topic, NOT_MET, "Not in this report: " + reason))
        else:
            out.append(Item("CHEERS 2022", item, topic, MET, where[item]))
    return out


__all__ = ["ITEMS", "cheers_items", "cheers_rows"]
