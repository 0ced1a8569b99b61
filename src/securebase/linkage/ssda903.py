"""SSDA903 (children looked after) CSV files, as a local authority extracts them for the DfE, validated with
the DfE's rules through the published validator ``quality-lac-data-validator`` (package ``validator903``).

The validator's rules run on the installed pandas (2.x): the probe in ``docs/linkage.md`` lists the rules run
and skipped. Rules that need tables or lookups not supplied (UASC, OC2/OC3, reviews, last year's return, the
Ofsted provider lists) are skipped by the validator itself and reported as skipped. A file set with any error is
refused: the errors name the DfE rule code, the table and the data row.

When the validator cannot be imported (it is an optional dependency), :func:`validate` falls back to a small
documented subset of the DfE rules, with the DfE rule codes, and says so in ``Validation.validator``.
"""

from __future__ import annotations

import io
import warnings
from typing import Any

import pandas as pd

from securebase.errors import DataError
from securebase.linkage.common import RuleError, Validation, parse_dmy, upn_valid
from securebase.protocol.derivations import REASON_PLACE_CHANGE_CODES, REC_CODES

#: DfE column names of each SSDA903 table (as in the DfE guide and validator903.config).
TABLES: dict[str, tuple[str, ...]] = {
    "Header": ("CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB"),
    "Episodes": ("CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC",
                 "REASON_PLACE_CHANGE", "HOME_POST", "PL_POST", "URN"),
    "Reviews": ("CHILD", "DOB", "REVIEW", "REVIEW_CODE"),
    "UASC": ("CHILD", "SEX", "DOB", "DUC"),
    "OC2": ("CHILD", "DOB", "SDQ_SCORE", "SDQ_REASON", "CONVICTED", "HEALTH_CHECK", "IMMUNISATIONS", "TEETH_CHECK",
            "HEALTH_ASSESSMENT", "SUBSTANCE_MISUSE", "INTERVENTION_RECEIVED", "INTERVENTION_OFFERED"),
    "OC3": ("CHILD", "DOB", "IN_TOUCH", "ACTIV", "ACCOM"),
    "AD1": ("CHILD", "DOB", "DATE_INT", "DATE_MATCH", "FOSTER_CARE", "NB_ADOPTR", "SEX_ADOPTR", "LS_ADOPTR"),
    "PlacedAdoption": ("CHILD", "DOB", "DATE_PLACED", "DATE_PLACED_CEASED", "REASON_PLACED_CEASED"),
    "PrevPerm": ("CHILD", "DOB", "PREV_PERM", "LA_PERM", "DATE_PERM"),
    "Missing": ("CHILD", "DOB", "MISSING", "MIS_START", "MIS_END"),
}
#: Episode fields kept in a linked record (postcodes and URNs are not kept).
EPISODE_FIELDS = ("RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "REC", "REASON_PLACE_CHANGE")


def read(files: dict[str, bytes]) -> dict[str, pd.DataFrame]:
    """The tables of an SSDA903 CSV file set (``{file name: bytes}``), told apart by their DfE column names."""
    out: dict[str, pd.DataFrame] = {}
    for name, data in files.items():
        try:
            df = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
        except (UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise DataError(f"SSDA903 file '{name}' cannot be read as CSV ({exc}); save it as UTF-8 CSV") from None
        cols = tuple(c.strip().upper() for c in df.columns)
        table = next((t for t, want in TABLES.items() if set(cols) == set(want)), None)
        if table is None:
            raise DataError(f"SSDA903 file '{name}' has columns {list(cols)}, which match no SSDA903 table; "
                            f"expected one of: " + "; ".join(f"{t}: {','.join(c)}" for t, c in TABLES.items()))
        if table in out:
            raise DataError(f"SSDA903 file '{name}' is a second {table} table; supply one file per table")
        df.columns = list(cols)
        out[table] = df.apply(lambda c: c.str.strip())
    if "Header" not in out or "Episodes" not in out:
        raise DataError(f"an SSDA903 extract needs the Header and Episodes tables (got {sorted(out)})")
    return out


def validate(files: dict[str, bytes], *, collection_year: str, la_code: str) -> Validation:
    """Run the DfE rules on the file set. ``collection_year`` as '2024/25'; ``la_code`` the authority's ONS code."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from validator903.config import configured_errors
            from validator903.datastore import copy_datastore, create_datastore
            from validator903.ingress import read_csvs_from_text
    except Exception:  # noqa: BLE001 - the optional validator is missing or broken: use the documented subset
        return _subset(read(files))
    from importlib.metadata import version

    res = Validation(validator=f"quality-lac-data-validator {version('quality-lac-data-validator')}")
    read(files)  # our own checks of the table set first (clear messages)
    raw = [{"name": f"{i}.csv", "fileText": data, "description": "This year"} for i, data in enumerate(files.values())]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dfs = read_csvs_from_text(raw)
        store = create_datastore(dfs, {"collectionYear": collection_year, "localAuthority": la_code,
                                       "file_format": "csv"})
        for err, fn in configured_errors:
            try:
                result = fn(copy_datastore(store))
            except Exception:  # noqa: BLE001 - a rule that crashes is reported, not hidden
                res.rules_failed.append(err.code)
                continue
            if result == {}:
                res.rules_skipped.append(err.code)
                continue
            res.rules_run.append(err.code)
            for table, rows in result.items():
                df = store.get(table)
                for i in sorted({int(r) for r in rows if pd.notna(r)}):
                    child = str(df.loc[i, "CHILD"]) if df is not None and i in df.index and "CHILD" in df else ""
                    res.errors.append(RuleError(err.code, err.description.strip(), table, i + 1, child,
                                                tuple(err.affected_fields)))
    res.errors.sort(key=lambda e: (e.table, e.row, e.code))
    return res


#: The documented fallback subset (DfE SSDA903 validation rule codes).
SUBSET_RULES = {
    "101": "Gender code is not valid.", "102": "Date of birth is not a valid date.",
    "103": "The ethnicity code is either not valid or has not been entered.",
    "143": "The code entered for the reason for new episode is not a valid code.",
    "144": "The legal status code is not a valid code.",
    "149": "Reason episode ceased code is not valid.",
    "1009": "Reason for placement change is not a valid code.",
    "1002": "Date episode ceased is before the date episode started.",
}
_ETHNIC = {"WBRI", "WIRI", "WOTH", "WIRT", "WROM", "MWBC", "MWBA", "MWAS", "MOTH", "AIND", "APKN", "ABAN", "AOTH",
           "BCRB", "BAFR", "BOTH", "CHNE", "OOTH", "REFU", "NOBT"}
_RNE = {"S", "P", "L", "T", "U", "B"}
_LS = {"C1", "C2", "D1", "E1", "J1", "J2", "J3", "L1", "L2", "L3", "V2", "V3", "V4"}


def _subset(tables: dict[str, pd.DataFrame]) -> Validation:
    res = Validation(validator="securebase subset of the DfE SSDA903 rules (validator903 not installed)",
                     rules_run=list(SUBSET_RULES))
    h, ep = tables["Header"], tables["Episodes"]

    def add(code: str, table: str, i: int, child: str, fields: tuple[str, ...]) -> None:
        res.errors.append(RuleError(code, SUBSET_RULES[code], table, i + 1, child, fields))

    for i, r in h.iterrows():
        if r["SEX"] not in ("1", "2"):
            add("101", "Header", int(i), r["CHILD"], ("SEX",))
        if parse_dmy(r["DOB"]) is None:
            add("102", "Header", int(i), r["CHILD"], ("DOB",))
        if r["ETHNIC"] not in _ETHNIC:
            add("103", "Header", int(i), r["CHILD"], ("ETHNIC",))
    for i, r in ep.iterrows():
        if r["RNE"] not in _RNE:
            add("143", "Episodes", int(i), r["CHILD"], ("RNE",))
        if r["LS"] not in _LS:
            add("144", "Episodes", int(i), r["CHILD"], ("LS",))
        if r["REC"] and r["REC"] not in REC_CODES:
            add("149", "Episodes", int(i), r["CHILD"], ("REC",))
        if r["REASON_PLACE_CHANGE"] and r["REASON_PLACE_CHANGE"] not in REASON_PLACE_CHANGE_CODES:
            add("1009", "Episodes", int(i), r["CHILD"], ("REASON_PLACE_CHANGE",))
        a, b = parse_dmy(r["DECOM"]), parse_dmy(r["DEC"])
        if a is not None and b is not None and b < a:
            add("1002", "Episodes", int(i), r["CHILD"], ("DECOM", "DEC"))
    return res


def children(tables: dict[str, pd.DataFrame]) -> dict[str, dict[str, Any]]:
    """CHILD -> {'la_child_id', 'upn'} from the Header table (UPN None when a UN code stands in for it)."""
    out = {}
    for _, r in tables["Header"].iterrows():
        upn = r["UPN"] if upn_valid(r["UPN"]) else None
        out[r["CHILD"]] = {"la_child_id": r["CHILD"], "upn": upn}
    return out


def records(tables: dict[str, pd.DataFrame]) -> list[tuple[str, dict[str, Any]]]:
    """(CHILD, linked-record fields) for episodes, adoption placements, missing episodes and previous permanence."""
    out: list[tuple[str, dict[str, Any]]] = []
    for _, r in tables["Episodes"].iterrows():
        out.append((r["CHILD"], {"kind": "episode", "starts_on": parse_dmy(r["DECOM"]), "ends_on": parse_dmy(r["DEC"]),
                                 "details": {k: (r[k] or None) for k in EPISODE_FIELDS}}))
    for _, r in tables.get("PlacedAdoption", pd.DataFrame()).iterrows():
        out.append((r["CHILD"], {"kind": "adoption", "starts_on": parse_dmy(r["DATE_PLACED"]),
                                 "ends_on": parse_dmy(r["DATE_PLACED_CEASED"]),
                                 "details": {"REASON_PLACED_CEASED": r["REASON_PLACED_CEASED"] or None}}))
    for _, r in tables.get("Missing", pd.DataFrame()).iterrows():
        out.append((r["CHILD"], {"kind": "missing", "starts_on": parse_dmy(r["MIS_START"]),
                                 "ends_on": parse_dmy(r["MIS_END"]), "details": {"MISSING": r["MISSING"]}}))
    for _, r in tables.get("PrevPerm", pd.DataFrame()).iterrows():
        d = parse_dmy(str(r["DATE_PERM"]).lower().replace("zz", "01"))
        if d is not None:
            out.append((r["CHILD"], {"kind": "prev_perm", "starts_on": d, "ends_on": None,
                                     "details": {"PREV_PERM": r["PREV_PERM"], "LA_PERM": r["LA_PERM"] or None}}))
    return [(c, f) for c, f in out if f["starts_on"] is not None]
