"""Analysis exports: CSV, Parquet and Stata agree, with labels and a dictionary; blinding and identifiers."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from interop_synth import build_trial

from securebase.cli import main
from securebase.errors import BlindingError, FieldError
from securebase.instruments import load_instrument
from securebase.interop.exports import AnalysisExport
from securebase.store.crypto import encrypt_identifiers, new_key
from securebase.store.tables import Identifier, Participant
from securebase.trial.roles import Actor, Role

ADMIN = Actor("admin", "ng26-care", frozenset({Role.administrator}))
BLINDED = Actor("stat1", "ng26-care", frozenset({Role.blinded_statistician}))


@pytest.fixture
def trial_store(fresh_care):  # type: ignore[no-untyped-def]
    st = fresh_care("sqlite")
    counts = build_trial(st, n=4)
    with st.unit_of_work(actor="recruiter1") as uow:
        for p in uow.session.query(Participant).all():
            uow.session.add(Identifier(trial_id="ng26-care", participant_pk=p.id, ciphertext=encrypt_identifiers(
                new_key(), {"name": f"Synthetic Name {p.participant_id}", "postcode": "ZZ99 9ZZ"})))
        uow.commit()
    return st, counts


def _all_text(folder) -> str:  # type: ignore[no-untyped-def]
    return "".join(p.read_bytes().decode("latin-1") for p in sorted(folder.iterdir()))


def test_formats_agree_with_labels_and_dictionary(trial_store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    st, counts = trial_store
    res = AnalysisExport(allocation="arms").write(st, ADMIN, tmp_path / "out")
    assert res.rows["responses"] == counts["responses"] and res.rows["participants"] == 4
    assert res.rows["resource_use"] == counts["resource_use"]
    for table in ("participants", "visits", "responses", "scores", "events", "resource_use"):
        csv_ = pd.read_csv(tmp_path / "out" / f"{table}.csv", keep_default_na=True)
        pq = pd.read_parquet(tmp_path / "out" / f"{table}.parquet")
        dta = pd.read_stata(tmp_path / "out" / f"{table}.dta", convert_categoricals=True)
        assert len(csv_) == len(pq) == len(dta)
        num = [c for c in pq.columns if pd.api.types.is_float_dtype(pq[c])]
        for c in num:  # every number identical in the three formats (Stata names may be shortened)
            dcol = dta.iloc[:, list(pq.columns).index(c)]
            assert (pq[c].isna() == dcol.isna()).all() and (pq[c].dropna().to_numpy() == dcol.dropna().to_numpy()).all()
            assert (pq[c].isna() == csv_[c].isna()).all() and (pq[c] - csv_[c]).abs().fillna(0).max() < 1e-12
    with pd.io.stata.StataReader(tmp_path / "out" / "responses.dta") as reader:
        labels = reader.variable_labels()
        value_labels = reader.value_labels()
    assert labels["missing_code"] == "Missing-value code" and labels["value_num"].startswith("Answer")
    assert any(set(v.values()) >= {"not_answered", "refused"} for v in value_labels.values())
    dta = pd.read_stata(tmp_path / "out" / "responses.dta")
    assert set(dta["missing_code"].dropna()) == {"not_answered", "not_applicable", "refused"}
    part = pd.read_stata(tmp_path / "out" / "participants.dta")
    assert set(part["arm"]) <= {"intervention", "usual_care"} and "sdq_parent_total_12" in part.columns
    assert str(part["enrolled_on"].dtype).startswith("datetime64")
    dic = pd.read_csv(tmp_path / "out" / "dictionary.csv").fillna("")
    row = dic[(dic.table == "responses") & (dic.variable == "missing_code")].iloc[0]
    assert "not_answered=Not answered" in row.codes
    units = dic[dic.table == "responses:resource_use"].set_index("variable")["unit"]
    assert units["gp_contacts"] == load_instrument("resource_use").item("gp_contacts").unit != ""
    assert dic[(dic.table == "responses:sdq_parent") & (dic.variable == "1")].iloc[0].codes.startswith("0=not true")
    assert all(len(n) <= 32 for n in dic.loc[dic.stata_name != "", "stata_name"])
    text = _all_text(tmp_path / "out")
    assert "Synthetic Name" not in text and "ZZ99" not in text  # direct identifiers never exported


def test_blinded_and_coded_exports(trial_store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    st, _ = trial_store
    with pytest.raises(BlindingError, match="may not export allocation"):
        AnalysisExport(allocation="arms").write(st, BLINDED, tmp_path / "x")
    res = AnalysisExport(formats=("csv",), allocation="none").write(st, BLINDED, tmp_path / "blind")
    assert "arm" not in pd.read_csv(res.out_dir / "participants.csv").columns
    assert "usual_care" not in _all_text(tmp_path / "blind")
    with pytest.raises(FieldError, match="outside the export folder"):
        AnalysisExport(allocation="coded", key_file=tmp_path / "coded" / "key.json").write(st, ADMIN, tmp_path / "coded")
    res = AnalysisExport(formats=("csv", "dta"), allocation="coded", key_file=tmp_path / "key.json",
                         seed=5).write(st, ADMIN, tmp_path / "coded")
    part = pd.read_csv(res.out_dir / "participants.csv")
    assert set(part["arm_code"]) <= {"A", "B"} and "arm" not in part.columns and "treat" not in part.columns
    text = _all_text(tmp_path / "coded")
    assert "usual_care" not in text and "intervention=" not in text
    key = json.loads((tmp_path / "key.json").read_text())
    arms = pd.read_csv(AnalysisExport(formats=("csv",), allocation="arms").write(
        st, ADMIN, tmp_path / "open").out_dir / "participants.csv").set_index("participant_id")["arm"]
    decoded = part.set_index("participant_id")["arm_code"].map(key["codes"])
    assert (decoded == arms.loc[decoded.index]).all()  # the held-back key decodes the coded arms exactly


def test_export_import_cli(trial_store, fresh_care, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    st, _ = trial_store
    db = ["--db", st.url]
    assert main(["export", "analysis", "ng26-care", "--out-dir", str(tmp_path / "a"), "--as", "admin",
                 "--format", "csv,parquet", *db]) == 0
    assert main(["export", "odm", "ng26-care", "--out", str(tmp_path / "t.xml"), "--as", "admin", *db]) == 0
    assert main(["export", "redcap", "ng26-care", "--out-dir", str(tmp_path / "r"), "--as", "admin", *db]) == 0
    assert main(["export", "analysis", "ng26-care", "--out-dir", str(tmp_path / "b"), "--as", "admin",
                 "--format", "xlsx", *db]) == FieldError.exit_code
    out = capsys.readouterr()
    assert "valid against the ODM 1.3.2 schema" in " ".join(out.out.split()) and "--format must be" in out.err
    assert (tmp_path / "a" / "participants.parquet").exists() and (tmp_path / "r" / "ng26-care_Records.csv").exists()
    odm_target, rc_target = fresh_care("sqlite"), fresh_care("sqlite")
    assert main(["import", "odm", str(tmp_path / "t.xml"), "--trial", "ng26-care", "--as", "admin",
                 "--db", odm_target.url]) == 0
    assert main(["import", "redcap", "--trial", "ng26-care", "--dictionary", str(tmp_path / "r" / "ng26-care_DataDictionary.csv"),
                 "--records", str(tmp_path / "r" / "ng26-care_Records.csv"), "--as", "admin", "--db", rc_target.url]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "imported 4 subjects" in out and "imported 4 records" in out
    assert main(["compare", odm_target.url, rc_target.url]) == 1  # different stores: their audit trails differ
