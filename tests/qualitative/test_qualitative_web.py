"""The qualitative pages through FastAPI's test client: coding by offsets, refusals, matrix, blinding."""

from __future__ import annotations

from fastapi.testclient import TestClient
from qual_app import make_app

from securebase.qualitative.web import utf16_to_index
from securebase.store.tables import Transcript


def test_pages_code_a_segment_and_show_it_in_the_matrix(qual_trial) -> None:  # type: ignore[no-untyped-def]
    store, ids, cb_id = qual_trial
    client = TestClient(make_app(store))
    base = "/trials/ng26-care/qualitative"
    qual = {"X-Test-User": "qual1"}
    assert client.get(base).status_code == 401
    page = client.get(base, headers=qual)
    assert page.status_code == 200 and "CARE-0001-m6.txt" in page.text
    tid = ids["CARE-0002"]
    with store.read() as s:
        text = s.get(Transcript, tid).text
    i = text.index("asks for a hug")
    codes = client.get(f"{base}/transcripts/{tid}?codebook={cb_id}", headers=qual)
    assert 'id="transcript-text"' in codes.text and "Emotional openness" in codes.text
    from securebase.qualitative import code_tree
    from securebase.qualitative.codebook import flatten
    with store.read() as s:
        from qual_synth import actor
        openness = next(n for n in flatten(code_tree(s, actor(store, "qual1"), cb_id)) if n.name == "Emotional openness")
    r = client.post(f"{base}/transcripts/{tid}/segments", headers=qual, follow_redirects=False,
                    data={"codebook_id": cb_id, "code_id": openness.id, "start": i, "end": i + 14})
    assert r.status_code == 303 and "#seg-" in r.headers["location"]
    bad = client.post(f"{base}/transcripts/{tid}/segments", headers=qual,
                      data={"codebook_id": cb_id, "code_id": openness.id, "start": 5, "end": len(text) + 50})
    assert bad.status_code == 422 and f"segment end must be at most {len(text)}" in bad.text
    m = client.get(f"{base}/matrix?codebook={cb_id}", headers=qual)
    assert m.status_code == 200 and "asks for a hug" in m.text and "<th>Arm</th>" not in m.text
    assert client.get(f"{base}/matrix?codebook={cb_id}&arm=intervention", headers=qual).status_code == 403
    tm = client.get(f"{base}/matrix?codebook={cb_id}&arm=usual_care", headers={"X-Test-User": "tm"})
    assert tm.status_code == 200 and "<th>Arm</th>" in tm.text and "CARE-0001" not in tm.text
    x = client.get(f"{base}/matrix.xlsx?codebook={cb_id}", headers=qual)
    assert x.status_code == 200 and x.content[:2] == b"PK"
    c = client.get(f"{base}/matrix.csv?codebook={cb_id}&age_band=11-17", headers=qual)
    assert c.text.splitlines()[0].startswith("participant_id,site,age_band,Change in the child")
    assert client.get(f"{base}/transcripts/{ids['CARE-0001']}", headers={"X-Test-User": "siteqr"}).status_code == 404


def test_utf16_offsets() -> None:
    text = "a\U0001F600b"
    assert [utf16_to_index(text, k) for k in (0, 1, 3, 4)] == [0, 1, 2, 3]
    assert utf16_to_index(text, 9) == 8
