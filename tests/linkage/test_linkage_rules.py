"""Every securebase check of the CIN census and school files, and every rule of the documented SSDA903 fallback
subset, fires on a file written with that one fault (and a clean file passes)."""

from __future__ import annotations

from datetime import date

import pytest

from securebase.linkage import cin, school, ssda903
from securebase.linkage.common import upn_check_letter, upn_valid
from securebase.linkage.synthetic import Child, Episode, cin_xml, make_upn, school_csv, ssda903_files

D = date(2025, 6, 1)


def _child(**kw) -> Child:  # type: ignore[no-untyped-def]
    c = Child("LA01C0001", "1", date(2015, 5, 1), make_upn(201, 2000, 2020, 1))
    for k, v in kw.items():
        setattr(c, k, v)
    return c


def test_upn_check_letter() -> None:
    upn = make_upn(201, 2000, 2020, 1)
    assert upn_valid(upn) and upn[0] == upn_check_letter(upn[1:])
    wrong = ("A" if upn[0] != "A" else "B") + upn[1:]
    assert not upn_valid(wrong) and not upn_valid("UN1")


CIN_FAULTS = {
    "SB-CIN-1": lambda x: x.replace(b"<LAchildID>LA01C0001</LAchildID>", b"<LAchildID></LAchildID>"),
    "SB-CIN-2": lambda x: x.replace(b"2015-05-01", b"01/05/2015"),
    "SB-CIN-3": lambda x: x.replace(b"<CINreferralDate>2025-06-01", b"<CINreferralDate>2025-06-41"),
    "SB-CIN-4": lambda x: x.replace(b"<S47ActualStartDate>2025-06-10", b"<S47ActualStartDate>2025-05-10"),
    "SB-CIN-5": lambda x: x.replace(b"<CPPstartDate>2025-07-01", b"<CPPstartDate>2025-05-01"),
    "SB-CIN-6": lambda x: x.replace(b"<CPPendDate>2025-09-01", b"<CPPendDate>2025-06-20"),
    "SB-CIN-7": lambda x: x.replace(b"<UPN>", b"<UPN>X"),
    "SB-CIN-8": lambda x: x.replace(b"<CPPendDate>2025-09-01", b"<CPPendDate>2026-09-01"),
    "SB-CIN-9": lambda x: x.replace(b"</Children>", x[x.index(b"<Child>"):x.index(b"</Child>") + 8] + b"</Children>"),
}


@pytest.mark.parametrize("code", sorted(CIN_FAULTS))
def test_each_cin_check_fires(code: str) -> None:
    clean = cin_xml([_child(referrals=[{"referral": D, "s47": [date(2025, 6, 10)],
                                        "cpp": [(date(2025, 7, 1), date(2025, 9, 1))]}])],
                    la_number="201", year=2026, reference_date=date(2026, 3, 31))
    assert cin.validate(clean).ok
    got = {e.code for e in cin.validate(CIN_FAULTS[code](clean)).errors}
    assert code in got, got


SCHOOL_FAULTS = {
    "SB-SCH-1": lambda x: x.replace(b"\n" + x.split(b"\n")[1][:1], b"\nZ", 1),
    "SB-SCH-2": lambda x: x.replace(b"2025-09-01,2026-03-31", b"2026-03-31,2025-09-01"),
    "SB-SCH-3": lambda x: x.replace(b",300,280,", b",300,310,"),
    "SB-SCH-4": lambda x: x.replace(b",280,1,0,", b",280,1,2,"),
    "SB-SCH-5": lambda x: x.replace(b",104,", b",130,"),
}


@pytest.mark.parametrize("code", sorted(SCHOOL_FAULTS))
def test_each_school_check_fires(code: str) -> None:
    clean = school_csv([_child(school=[{"start": date(2025, 9, 1), "end": date(2026, 3, 31), "possible": 300,
                                        "attended": 280, "suspensions": 1, "ks2_reading": 104, "ks2_maths": 99}])])
    assert school.validate(school.read(clean)).ok
    got = {e.code for e in school.validate(school.read(SCHOOL_FAULTS[code](clean))).errors}
    assert code in got, got


SUBSET_FAULTS = {
    "101": lambda h, e: (h.replace(b",1,01/05/2015", b",3,01/05/2015"), e),
    "102": lambda h, e: (h.replace(b"01/05/2015", b"31/02/2015"), e),
    "103": lambda h, e: (h.replace(b"WBRI", b"XXXX"), e),
    "143": lambda h, e: (h, e.replace(b",S,C2,", b",Q,C2,")),
    "144": lambda h, e: (h, e.replace(b",S,C2,", b",S,Z9,")),
    "149": lambda h, e: (h, e.replace(b",X1,", b",E99,")),
    "1002": lambda h, e: (h, e.replace(b"01/09/2025,X1", b"01/01/2025,X1")),
    "1009": lambda h, e: (h, e.replace(b"CARPL", b"WHIM")),
}


@pytest.mark.parametrize("code", sorted(SUBSET_FAULTS))
def test_each_ssda903_fallback_rule_fires(code: str) -> None:
    kid = _child(episodes=[Episode(date(2025, 4, 10), "S", dec=date(2025, 9, 1), rec="X1", reason="CARPL"),
                           Episode(date(2025, 9, 1), "P", place="U4")])
    files = ssda903_files([kid])
    assert ssda903._subset(ssda903.read(files)).ok
    h, e = SUBSET_FAULTS[code](files["header.csv"], files["episodes.csv"])
    got = {(x.code, x.row) for x in ssda903._subset(ssda903.read({"header.csv": h, "episodes.csv": e})).errors}
    assert any(c == code for c, _ in got), got
