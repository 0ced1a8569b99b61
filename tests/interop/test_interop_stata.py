"""Stata and Parquet exports analysts can use as they are: `reshape long` works on every score family,
labels are distinct, the Stata version is chosen, Parquet types are fixed, every categorical has its codes."""

from __future__ import annotations

import re

import pandas as pd
import pyarrow.parquet as pq
import pytest
from interop_synth import build_trial

from securebase.errors import FieldError
from securebase.interop.exports import AnalysisExport, stata_names
from securebase.trial.roles import Actor, Role

ADMIN = Actor("admin", "ng26-care", frozenset({Role.administrator}))


def test_family_stems_are_shared_and_shortened_alike() -> None:
    cols = ["participant_id"] + [f"sensitivity_coding_mean_rating_{m}" for m in (0, 6, 12)] + [
        f"sensitivity_coding_mean_rating_sd_{m}" for m in (0, 12)] + ["sdq_parent_total_0", "sdq_parent_total_12"]
    fam = {c: (c.rsplit("_", 1)[0], c.rsplit("_", 1)[1]) for c in cols[1:]}
    names = stata_names(cols, fam)
    assert names["participant_id"] == "participant_id"
    assert names["sdq_parent_total_12"] == "sdq_parent_total_12"
    for stem in {f[0] for f in fam.values()}:
        members = [c for c in fam if fam[c][0] == stem]
        shorts = {names[c].rsplit("_", 1)[0] for c in members}
        assert len(shorts) == 1, (stem, [names[c] for c in members])  # one stem for the whole family
        assert all(names[c].endswith(f"_{fam[c][1]}") and len(names[c]) <= 32 for c in members)
    assert len(set(names.values())) == len(names)  # two long stems that would meet are told apart


def _release(path) -> int:  # type: ignore[no-untyped-def]
    """The format of a .dta file: its first byte (114) or its <release> tag (117 and later)."""
    head = path.read_bytes()[:80]
    m = re.search(rb"<release>(\d+)</release>", head)
    return int(m.group(1)) if m else head[0]


def _families(columns: list[str]) -> dict[str, list[tuple[str, int]]]:
    out: dict[str, list[tuple[str, int]]] = {}
    for c in columns:
        m = re.fullmatch(r"(.+)_(\d+)", c)
        if m:
            out.setdefault(m.group(1), []).append((c, int(m.group(2))))
    return out


@pytest.mark.parametrize("version", [117, 118])
def test_stata_file_reshapes_long(fresh_care, tmp_path, version) -> None:  # type: ignore[no-untyped-def]
    st = fresh_care("sqlite")
    build_trial(st, n=3)
    out = tmp_path / "out"
    AnalysisExport(formats=("dta", "parquet"), stata_version=version).write(st, ADMIN, out)
    dic = pd.read_csv(out / "dictionary.csv", keep_default_na=False)
    wide = dic[(dic.table == "participants") & dic.variable.str.match(r".+_(0|6|12)$")]
    assert len(wide) >= 6
    assert _release(out / "participants.dta") == version
    with pd.io.stata.StataReader(out / "participants.dta") as reader:
        labels = reader.variable_labels()
    data = pd.read_stata(out / "participants.dta")
    # every family (instrument score by visit): one Stata stem, the visit month as its suffix
    stems: dict[str, set[str]] = {}
    for var, short in zip(wide.variable, wide.stata_name, strict=True):
        stem, month = var.rsplit("_", 1)
        assert short.endswith(f"_{month}") and short in data.columns and len(short) <= 32
        stems.setdefault(stem, set()).add(short.rsplit("_", 1)[0])
    assert all(len(s) == 1 for s in stems.values()), stems
    families = _families(list(wide.stata_name))
    assert any(len(m) >= 2 for m in families.values())
    # distinct labels within the file, naming the visit
    assert len(set(labels.values())) == len(labels)
    for short in wide.stata_name:
        month = int(short.rsplit("_", 1)[1])
        assert labels[short].endswith({0: ", Baseline", 6: ", 6 months", 12: ", 12 months"}[month]), labels[short]
    # what `reshape long <stem>_, i(participant_id) j(month)` does: one row per participant and month
    for stem, members in families.items():
        long = data.melt(id_vars=["participant_id"], value_vars=[c for c, _m in members], var_name="v")
        long["month"] = long["v"].str.rsplit("_", n=1).str[1].astype(int)
        assert sorted(set(long["month"])) == sorted(m for _c, m in members), stem
        assert len(long) == len(data) * len(members)


def test_stata_version_is_checked(fresh_care, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FieldError, match="--stata-version"):
        AnalysisExport(stata_version=115)
    st = fresh_care("sqlite")
    build_trial(st, n=2)
    AnalysisExport(formats=("dta",), stata_version=114).write(st, ADMIN, tmp_path / "s114")
    assert _release(tmp_path / "s114" / "visits.dta") == 114
    assert len(pd.read_stata(tmp_path / "s114" / "visits.dta")) > 0


def test_parquet_schema_is_typed_and_codes_are_listed(fresh_care, tmp_path) -> None:  # type: ignore[no-untyped-def]
    full, empty = fresh_care("sqlite"), fresh_care("sqlite")
    build_trial(full, n=2)
    AnalysisExport(formats=("parquet",)).write(full, ADMIN, tmp_path / "full")
    AnalysisExport(formats=("parquet",)).write(empty, ADMIN, tmp_path / "empty")
    for table in ("participants", "visits", "responses", "scores", "events", "resource_use"):
        a = pq.read_schema(tmp_path / "full" / f"{table}.parquet")
        b = pq.read_schema(tmp_path / "empty" / f"{table}.parquet")
        assert all(str(f.type) != "null" for f in list(a) + list(b)), table
        shared = [n for n in b.names if n in a.names]
        assert [str(b.field(n).type) for n in shared] == [str(a.field(n).type) for n in shared], table
    part = pq.read_schema(tmp_path / "full" / "participants.parquet")
    assert str(part.field("maltreatment_status").type) == "string"  # all empty in the care trial
    assert str(part.field("enrolled_on").type) == "date32[day]" and str(part.field("age_years").type) == "double"
    assert str(pq.read_schema(tmp_path / "empty" / "visits.parquet").field("month").type) == "int64"
    dic = pd.read_csv(tmp_path / "full" / "dictionary.csv", keep_default_na=False)
    codes = {(t, v): c for t, v, c in zip(dic.table, dic.variable, dic.codes, strict=True)}
    assert codes[("participants", "site")].startswith("LA01=Northshire County Council")
    assert "female=female" in codes[("participants", "sex")]
    assert "special_guardianship=special guardianship" in codes[("participants", "care_status")]
    assert "enrolled=enrolled" in codes[("participants", "status")]
    assert "missed=missed" in codes[("visits", "status")]
    assert "life_threatening=life threatening" in codes[("events", "seriousness")]
    assert all(codes[(t, v)] for t, v, k in zip(dic.table, dic.variable, dic.type, strict=True) if k == "categorical")
