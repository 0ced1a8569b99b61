"""Issue 17, slice 6: arm-level exports before database lock need a reason and are audited; the export list
shows who exported what."""

from __future__ import annotations

from web_world import csrf

T = "/trials/ng26-care"


def test_arm_level_export_needs_a_reason_and_is_listed(client_for, api_for) -> None:  # type: ignore[no-untyped-def]
    c = client_for("ustat")
    page = c.get(f"{T}/exports").text
    assert "Your exports carry the allocation" in page
    r = c.post(f"{T}/exports", data={"csrf_token": csrf(page), "frame": "participants"})
    assert r.status_code == 409 and "needs a reason" in r.text and "text/csv" not in r.headers["content-type"]
    assert c.get(f"{T}/export/participants.csv").status_code == 409  # the old one-click link is refused too
    r = c.post(f"{T}/exports", data={"csrf_token": csrf(page), "frame": "participants",
                                     "reason": "DMC closed session, March 2027"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv") and "arm" in r.text.splitlines()[0]
    assert api_for("ustat").get(f"/api{T}/datasets/visits").status_code == 409
    assert api_for("ustat").get(f"/api{T}/datasets/visits", params={"reason": "DMC closed session"}).status_code == 200
    log = c.get(f"{T}/exports").text
    row = log[log.index('id="export-log"'):]
    assert "<td>ustat</td>" in row and "DMC closed session, March 2027" in row and "<td>yes</td>" in row


def test_blinded_export_needs_no_reason(client_for) -> None:  # type: ignore[no-untyped-def]
    c = client_for("bstat")
    page = c.get(f"{T}/exports").text
    assert "Your exports are blinded" in page
    r = c.post(f"{T}/exports", data={"csrf_token": csrf(page), "frame": "visits"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv") and ",arm" not in r.text.splitlines()[0]
    log = c.get(f"{T}/exports").text
    assert "<td>bstat</td>" in log and "<td>no</td>" in log
