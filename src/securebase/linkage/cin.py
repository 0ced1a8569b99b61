"""The Children in Need census XML (DfE CIN census: Message / Header / Children / Child), read and checked.

Read per child: ``ChildIdentifiers`` (``LAchildID``, ``UPN``, ``PersonBirthDate``), and per ``CINdetails``
episode the referral date, ``Section47`` enquiries (``S47ActualStartDate``) and ``ChildProtectionPlans``
(``CPPstartDate``, ``CPPendDate``, ``InitialCategoryOfAbuse``).

No published CIN validator is installed here, so the checks are securebase's own structural checks, coded
``SB-CIN-*`` (not DfE rule codes): a file that fails any of them is refused, nothing imported.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date
from typing import Any

from securebase.errors import DataError
from securebase.linkage.common import RuleError, Validation, parse_iso, upn_valid

RULES = {
    "SB-CIN-1": "LAchildID is missing.",
    "SB-CIN-2": "PersonBirthDate is missing or not a date (yyyy-mm-dd).",
    "SB-CIN-3": "CINreferralDate is missing or not a date (yyyy-mm-dd).",
    "SB-CIN-4": "S47ActualStartDate is not a date, or is before the referral date.",
    "SB-CIN-5": "CPPstartDate is not a date, or is before the referral date.",
    "SB-CIN-6": "CPPendDate is before CPPstartDate.",
    "SB-CIN-7": "UPN is present but is not a valid unique pupil number (check letter).",
    "SB-CIN-8": "A date is after the census reference date.",
    "SB-CIN-9": "The same LAchildID appears in two Child elements.",
}


def _text(el: ET.Element | None, tag: str) -> str:
    found = el.find(tag) if el is not None else None
    return (found.text or "").strip() if found is not None and found.text else ""


def parse(data: bytes) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(header, children) of a CIN census XML message; refuses DTDs and entities (XML bombs)."""
    head = data[:4096].upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise DataError("the CIN census file declares a DOCTYPE or entities, which securebase does not read; "
                        "export the plain CIN census XML")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise DataError(f"the CIN census file is not well-formed XML ({exc}); re-export it from the case system") from None
    if root.tag != "Message" or root.find("Children") is None:
        raise DataError(f"the CIN census file has root <{root.tag}>, expected <Message> with <Children>; "
                        "is this the CIN census XML?")
    hdr = root.find("Header")
    header = {"collection": _text(hdr.find("CollectionDetails") if hdr is not None else None, "Collection"),
              "year": _text(hdr.find("CollectionDetails") if hdr is not None else None, "Year"),
              "reference_date": _text(hdr.find("CollectionDetails") if hdr is not None else None, "ReferenceDate"),
              "lea": _text(hdr.find("Source") if hdr is not None else None, "LEA")}
    kids = []
    for ch in root.find("Children").findall("Child"):  # type: ignore[union-attr]
        ids = ch.find("ChildIdentifiers")
        kid: dict[str, Any] = {"la_child_id": _text(ids, "LAchildID"), "upn": _text(ids, "UPN"),
                               "dob": _text(ids, "PersonBirthDate"), "episodes": []}
        for det in ch.findall("CINdetails"):
            kid["episodes"].append({
                "referral": _text(det, "CINreferralDate"), "closure": _text(det, "CINclosureDate"),
                "need": _text(det, "PrimaryNeedCode"),
                "s47": [_text(s, "S47ActualStartDate") for s in det.findall("Section47")],
                "cpp": [(_text(p, "CPPstartDate"), _text(p, "CPPendDate"), _text(p, "InitialCategoryOfAbuse"))
                        for p in det.findall("ChildProtectionPlans")]})
        kids.append(kid)
    return header, kids


def validate(data: bytes) -> Validation:
    header, kids = parse(data)
    res = Validation(validator="securebase CIN census checks (SB-CIN-1..9; no published CIN validator installed)",
                     rules_run=list(RULES))
    ref = parse_iso(header["reference_date"])
    seen: set[str] = set()

    def add(code: str, row: int, child: str, fields: tuple[str, ...]) -> None:
        res.errors.append(RuleError(code, RULES[code], "Child", row, child, fields))

    def late(d: date | None) -> bool:
        return ref is not None and d is not None and d > ref

    for i, k in enumerate(kids, start=1):
        cid = k["la_child_id"]
        if not cid:
            add("SB-CIN-1", i, cid, ("LAchildID",))
        elif cid in seen:
            add("SB-CIN-9", i, cid, ("LAchildID",))
        seen.add(cid)
        if parse_iso(k["dob"]) is None:
            add("SB-CIN-2", i, cid, ("PersonBirthDate",))
        if k["upn"] and not upn_valid(k["upn"]):
            add("SB-CIN-7", i, cid, ("UPN",))
        for ep in k["episodes"]:
            r = parse_iso(ep["referral"])
            if r is None:
                add("SB-CIN-3", i, cid, ("CINreferralDate",))
                continue
            dates = [r]
            for s in ep["s47"]:
                d = parse_iso(s)
                if d is None or d < r:
                    add("SB-CIN-4", i, cid, ("S47ActualStartDate",))
                dates.append(d)
            for start, end, _cat in ep["cpp"]:
                a, b = parse_iso(start), parse_iso(end)
                if a is None or a < r:
                    add("SB-CIN-5", i, cid, ("CPPstartDate",))
                if a is not None and b is not None and b < a:
                    add("SB-CIN-6", i, cid, ("CPPendDate",))
                dates += [a, b]
            if any(late(d) for d in dates):
                add("SB-CIN-8", i, cid, ("ReferenceDate",))
    return res


def children(kids: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {k["la_child_id"]: {"la_child_id": k["la_child_id"], "upn": k["upn"] if upn_valid(k["upn"]) else None}
            for k in kids}


def records(kids: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(LAchildID, linked-record fields): referrals, section 47 enquiries and child protection plans."""
    out: list[tuple[str, dict[str, Any]]] = []
    for k in kids:
        for ep in k["episodes"]:
            r = parse_iso(ep["referral"])
            out.append((k["la_child_id"], {"kind": "cin_referral", "starts_on": r, "ends_on": parse_iso(ep["closure"]),
                                           "details": {"PrimaryNeedCode": ep["need"] or None}}))
            for s in ep["s47"]:
                out.append((k["la_child_id"], {"kind": "section47", "starts_on": parse_iso(s), "ends_on": None,
                                               "details": {}}))
            for start, end, cat in ep["cpp"]:
                out.append((k["la_child_id"], {"kind": "child_protection_plan", "starts_on": parse_iso(start),
                                               "ends_on": parse_iso(end), "details": {"InitialCategoryOfAbuse": cat or None}}))
    return [(c, f) for c, f in out if f["starts_on"] is not None]
