"""Synthetic extracts in the DfE formats (SSDA903 CSV, CIN census XML, school-records CSV), for the demo, the
tests and the benchmark. Only invented children; postcodes are real postcode units of the authority (the DfE
validator checks them against the ONS postcode directory), never anyone's address."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from securebase.cells import SafeDictWriter
from securebase.linkage.common import upn_check_letter
from securebase.linkage.ssda903 import TABLES

#: Real postcode units of three English authorities (ONS postcode directory), for placement and home postcodes.
POSTCODES = {"E06000001": ("TS22 5BF", "TS22 5FS", "TS22 5FY"), "E06000002": ("TS1 1AA", "TS1 1AB", "TS1 1AD"),
             "E06000003": ("TS10 1AA", "TS10 1AB", "TS10 1AD")}


def dmy(d: date | None) -> str:
    return d.strftime("%d/%m/%Y") if d else ""


def make_upn(la: int, school: int, year: int, serial: int) -> str:
    body = f"{la:03d}{school:04d}{year % 100:02d}{serial:03d}"
    return upn_check_letter(body) + body


@dataclass
class Episode:
    decom: date
    rne: str
    ls: str = "C2"
    cin: str = "N1"
    place: str = "U1"
    provider: str = "PR1"
    dec: date | None = None
    rec: str = ""
    reason: str = ""


@dataclass
class Child:
    child: str
    sex: str
    dob: date
    upn: str
    ethnic: str = "WBRI"
    episodes: list[Episode] = field(default_factory=list)
    referrals: list[dict[str, Any]] = field(default_factory=list)  # CIN: {referral, s47: [..], cpp: [(start, end)]}
    school: list[dict[str, Any]] = field(default_factory=list)


def _csv(columns: tuple[str, ...], rows: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    w = SafeDictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    return buf.getvalue().encode("utf-8")


def ssda903_files(children: list[Child], la_code: str = "E06000001") -> dict[str, bytes]:
    """Header.csv and Episodes.csv (DfE column names) for the looked-after children among ``children``."""
    pcs = POSTCODES.get(la_code, POSTCODES["E06000001"])
    header, eps = [], []
    for c in children:
        if not c.episodes:
            continue
        header.append({"CHILD": c.child, "SEX": c.sex, "DOB": dmy(c.dob), "ETHNIC": c.ethnic, "UPN": c.upn,
                       "MOTHER": "0" if c.sex == "2" else "",
                       "MC_DOB": ""})
        for i, e in enumerate(c.episodes):
            eps.append({"CHILD": c.child, "DECOM": dmy(e.decom), "RNE": e.rne, "LS": e.ls, "CIN": e.cin,
                        "PLACE": e.place, "PLACE_PROVIDER": e.provider, "DEC": dmy(e.dec), "REC": e.rec,
                        "REASON_PLACE_CHANGE": e.reason, "HOME_POST": pcs[0], "PL_POST": pcs[1 + i % 2], "URN": "XXXXXXX"})
    return {"header.csv": _csv(TABLES["Header"], header), "episodes.csv": _csv(TABLES["Episodes"], eps)}


def cin_xml(children: list[Child], *, la_number: str, year: int, reference_date: date) -> bytes:
    """A CIN census XML message (Message/Header/Children/Child) for the children with referrals."""
    msg = ET.Element("Message")
    hdr = ET.SubElement(msg, "Header")
    coll = ET.SubElement(hdr, "CollectionDetails")
    ET.SubElement(coll, "Collection").text = "CIN"
    ET.SubElement(coll, "Year").text = str(year)
    ET.SubElement(coll, "ReferenceDate").text = reference_date.isoformat()
    src = ET.SubElement(hdr, "Source")
    ET.SubElement(src, "SourceLevel").text = "L"
    ET.SubElement(src, "LEA").text = la_number
    kids = ET.SubElement(msg, "Children")
    for c in children:
        if not c.referrals:
            continue
        ch = ET.SubElement(kids, "Child")
        ids = ET.SubElement(ch, "ChildIdentifiers")
        ET.SubElement(ids, "LAchildID").text = c.child
        ET.SubElement(ids, "UPN").text = c.upn
        ET.SubElement(ids, "PersonBirthDate").text = c.dob.isoformat()
        ET.SubElement(ids, "Sex").text = {"1": "M", "2": "F"}[c.sex]
        chars = ET.SubElement(ch, "ChildCharacteristics")
        ET.SubElement(chars, "Ethnicity").text = c.ethnic
        for ref in c.referrals:
            det = ET.SubElement(ch, "CINdetails")
            ET.SubElement(det, "CINreferralDate").text = ref["referral"].isoformat()
            ET.SubElement(det, "ReferralSource").text = ref.get("source", "1A")
            ET.SubElement(det, "PrimaryNeedCode").text = ref.get("need", "N1")
            ET.SubElement(det, "ReferralNFA").text = "0"
            for s47 in ref.get("s47", []):
                s = ET.SubElement(det, "Section47")
                ET.SubElement(s, "S47ActualStartDate").text = s47.isoformat()
            for start, end in ref.get("cpp", []):
                p = ET.SubElement(det, "ChildProtectionPlans")
                ET.SubElement(p, "CPPstartDate").text = start.isoformat()
                if end is not None:
                    ET.SubElement(p, "CPPendDate").text = end.isoformat()
                ET.SubElement(p, "InitialCategoryOfAbuse").text = ref.get("category", "NEG")
    return ET.tostring(msg, encoding="utf-8", xml_declaration=True)


SCHOOL_COLUMNS = ("UPN", "PeriodStart", "PeriodEnd", "SessionsPossible", "SessionsAttended", "Suspensions",
                  "PermanentExclusion", "KS2ReadingScaled", "KS2MathsScaled", "KS4Attainment8")


def school_csv(children: list[Child]) -> bytes:
    rows = []
    for c in children:
        for s in c.school:
            rows.append({"UPN": c.upn, "PeriodStart": s["start"].isoformat(), "PeriodEnd": s["end"].isoformat(),
                         "SessionsPossible": s["possible"], "SessionsAttended": s["attended"],
                         "Suspensions": s.get("suspensions", 0), "PermanentExclusion": s.get("permanent", 0),
                         "KS2ReadingScaled": s.get("ks2_reading", ""), "KS2MathsScaled": s.get("ks2_maths", ""),
                         "KS4Attainment8": s.get("ks4_attainment8", "")})
    return _csv(SCHOOL_COLUMNS, rows)


def collection_years(first: date, last: date) -> list[tuple[date, date]]:
    """DfE collection years (1 April to 31 March) from the one holding ``first`` to the one holding ``last``."""
    y = first.year if first.month >= 4 else first.year - 1
    out = []
    while date(y, 4, 1) <= last:
        out.append((date(y, 4, 1), date(y + 1, 3, 31)))
        y += 1
    return out


def ssda903_return(children: list[Child], start: date, end: date, la_code: str, as_at: date | None = None
                   ) -> dict[str, bytes]:
    """One year's SSDA903 return: the episodes open at some time in [start, end], as known on ``as_at``;
    an episode still open at the year end (or on ``as_at``) has no end date or reason."""
    cut = min(end, as_at) if as_at else end
    kids = []
    for c in children:
        eps = []
        for e in c.episodes:
            if e.decom > cut or (e.dec is not None and e.dec < start):
                continue
            if e.dec is not None and e.dec > cut:
                e = Episode(e.decom, e.rne, e.ls, e.cin, e.place, e.provider)
            eps.append(e)
        if eps:
            kids.append(Child(c.child, c.sex, c.dob, c.upn, c.ethnic, eps))
    return ssda903_files(kids, la_code)
