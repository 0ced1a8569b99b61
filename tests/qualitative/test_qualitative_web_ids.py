"""Regression (review E2): out-of-range, non-numeric and other-trial ids on the qualitative pages answer
422 / 404 with a message, never 500."""

from __future__ import annotations

from html import unescape

from fastapi.testclient import TestClient
from qual_app import make_app

from securebase.protocol import load_protocol
from securebase.qualitative.web import MAX_ID
from securebase.store.tables import Codebook
from securebase.trial.setup import create_trial

BASE = "/trials/ng26-care/qualitative"
QUAL = {"X-Test-User": "qual1"}
HUGE = "99999999999999999999"


def test_out_of_range_and_non_numeric_ids_are_refused_not_500(qual_trial) -> None:  # type: ignore[no-untyped-def]
    store, ids, cb_id = qual_trial
    client = TestClient(make_app(store), raise_server_exceptions=False)
    tid = ids["CARE-0002"]
    gets = [f"{BASE}/transcripts/{HUGE}", f"{BASE}/transcripts/0", f"{BASE}/transcripts/{MAX_ID + 1}",
            f"{BASE}/transcripts/abc", f"{BASE}/transcripts/{tid}?codebook={HUGE}",
            f"{BASE}/transcripts/{tid}?codebook=abc", f"{BASE}/matrix?codebook={HUGE}",
            f"{BASE}/matrix?codebook=-1", f"{BASE}/matrix.csv?codebook={HUGE}", f"{BASE}/matrix.xlsx?codebook=x"]
    for url in gets:
        r = client.get(url, headers=QUAL)
        assert r.status_code == 422, (url, r.status_code, r.text)
    # the largest id is valid input: it is simply not found
    assert client.get(f"{BASE}/transcripts/{MAX_ID}", headers=QUAL).status_code == 404
    seg = {"codebook_id": cb_id, "code_id": "1", "start": "0", "end": "5"}
    for field, value in (("codebook_id", HUGE), ("codebook_id", "abc"), ("code_id", HUGE), ("code_id", "0")):
        r = client.post(f"{BASE}/transcripts/{tid}/segments", headers=QUAL, data={**seg, field: value})
        assert r.status_code == 422, (field, value, r.status_code, r.text)
        if field == "code_id":
            assert "code_id must be a code id from 1 to 2147483647" in r.text
    r = client.post(f"{BASE}/transcripts/{HUGE}/segments", headers=QUAL, data=seg)
    assert r.status_code == 422
    for code_id in ("abc", HUGE, "1.5", "\u00b2"):
        r = client.post(f"{BASE}/transcripts/{tid}/memos", headers=QUAL, data={"text": "a memo", "code_id": code_id})
        assert r.status_code == 422 and "code_id must be a code id from 1 to 2147483647" in r.text, (code_id, r.text)
    r = client.post(f"{BASE}/transcripts/{tid}/memos", headers=QUAL, data={"text": "a memo", "codebook_id": HUGE})
    assert r.status_code == 422
    # an empty code_id still means a memo on the transcript
    ok = client.post(f"{BASE}/transcripts/{tid}/memos", headers=QUAL, follow_redirects=False,
                     data={"text": "a memo", "code_id": "", "codebook_id": cb_id})
    assert ok.status_code == 303


def test_codebook_of_another_trial_is_not_found(qual_trial) -> None:  # type: ignore[no-untyped-def]
    store, ids, cb_id = qual_trial
    with store.unit_of_work(actor="admin") as uow:
        create_trial(uow, load_protocol("ng26-maltreatment"), seed=1)
        uow.session.add(Codebook(trial_id="ng26-maltreatment", name="Other", version=1, frozen=False))
        uow.commit()
    with store.read() as s:
        from sqlalchemy import select
        other = s.execute(select(Codebook.id).where(Codebook.trial_id == "ng26-maltreatment")).scalar_one()
    client = TestClient(make_app(store), raise_server_exceptions=False)
    tid = ids["CARE-0002"]
    for url in (f"{BASE}/transcripts/{tid}?codebook={other}", f"{BASE}/matrix?codebook={other}",
                f"{BASE}/matrix.csv?codebook={other}"):
        r = client.get(url, headers=QUAL)
        assert r.status_code == 404 and f"codebook {other} is not in trial 'ng26-care'" in unescape(r.text), (url, r.text)
    r = client.post(f"{BASE}/transcripts/{tid}/segments", headers=QUAL,
                    data={"codebook_id": other, "code_id": "1", "start": "0", "end": "5"})
    assert r.status_code == 404 and f"codebook {other} is not in trial 'ng26-care'" in unescape(r.text)
    # a codebook that does not exist at all
    assert client.get(f"{BASE}/transcripts/{tid}?codebook={MAX_ID}", headers=QUAL).status_code == 404
    assert client.get(f"{BASE}/transcripts/{tid}?codebook={cb_id}", headers=QUAL).status_code == 200
