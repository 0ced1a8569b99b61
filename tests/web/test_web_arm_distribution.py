"""No side channel to the allocation: for every blinded role, every route, page and export that shows a
participant's data or audit trail answers the same way for the two arms.

A simulated trial where every participant has exactly the same history apart from the allocation (same
screening answers, consents, enrolment, randomisation, then, for the intervention arm only, three logged
intervention sessions, then one visible event for everyone). For each blinded role (all of
``BLINDED_ROLES``, so roles added later are covered too) and each GET route with a participant in its path,
each trial-level GET route (lists, dashboards, CSV datasets), the ODM, REDCap and analysis exports and the
service-level audit view, we compute per-participant features of the response:
status, length with digits normalised, the number of audit rows, the gaps between consecutive audit
numbers, the order of (table, action), and any key that names a global sequence or hash. The test fails if
any feature's set of values differs between the arms (issue 15, item 1).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "trial"))

from trial_world import PASSWORD, TRIAL, actor, add_users, days_ago, enrol_and_randomise  # noqa: E402
from web_routes import fill, routes  # noqa: E402
from web_world import login  # noqa: E402

from securebase.interop.odm_common import NS  # noqa: E402
from securebase.interop.odm_export import write_odm  # noqa: E402
from securebase.protocol import load_protocol  # noqa: E402
from securebase.settings import Settings  # noqa: E402
from securebase.store import open_store  # noqa: E402
from securebase.trial import delivery, events  # noqa: E402
from securebase.trial.accounts import create_api_token  # noqa: E402
from securebase.trial.audit_view import participant_history  # noqa: E402
from securebase.trial.roles import BLINDED_ROLES  # noqa: E402
from securebase.trial.setup import create_trial  # noqa: E402

N_PARTICIPANTS = 8
BLINDED = {f"blind_{r.value}": (r.value, None) for r in sorted(BLINDED_ROLES, key=lambda r: r.value)}
#: Keys that would carry the global audit chain into a blinded response.
CHAIN_KEYS = ("seq", "hash", "prev_hash")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from securebase.web import create_app

    tmp = tmp_path_factory.mktemp("arms")
    url = f"sqlite:///{tmp / 'arms.db'}"
    store = open_store(url)
    with store.unit_of_work(actor="test-setup") as uow:
        create_trial(uow, load_protocol(TRIAL), seed=20261126)
        uow.commit()
    add_users(store, {"rec1": ("site_recruiter", "LA01"), "tm": ("trial_manager", None), **BLINDED})
    tm = actor(store, "tm")
    arms: dict[str, str] = {}
    for _ in range(N_PARTICIPANTS):  # one participant at a time, so each one's rows are contiguous in the chain
        pid, arm = enrol_and_randomise(store, "rec1", "LA01", age=9, care_status="foster")
        arms[pid] = arm
        if arm == "intervention":
            with store.unit_of_work(actor="tm") as uow:
                for i in range(1, 4):
                    delivery.record_session(uow, tm, pid, session_number=i, offered_on=days_ago(180 - 7 * i),
                                            attended=True, therapist="LA01-T1", fidelity_rating=4)
                uow.commit()
        with store.unit_of_work(actor="rec1") as uow:
            events.record_event(uow, actor(store, "rec1"), pid, event_type="return_home", occurred_on=days_ago(20))
            uow.commit()
    assert set(arms.values()) == {"intervention", "usual_care"}, arms
    tokens = {}
    with store.unit_of_work(actor="test-setup") as uow:
        for name in BLINDED:
            tokens[name] = create_api_token(uow, name, label="tests")
        uow.commit()
    settings = Settings(database_url=url, secret_key="test-secret-" + "x" * 40, totp_required=False)
    app = create_app(settings, store=store, secure_cookies=False)
    yield {"store": store, "app": app, "arms": arms, "tokens": tokens, "tmp": tmp}
    store.dispose()


def _norm(text: str, pid: str) -> str:
    return re.sub(r"\d+", "0", text.replace(pid, "PID"))


def _numbering(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """Features of a list of audit rows: count, gaps between consecutive numbers, order of (table, action)."""
    nums = [int(r[key]) for r in rows if r.get(key) is not None]
    return {"rows": len(rows), "gaps": tuple(b - a for a, b in zip(nums, nums[1:], strict=False)),
            "order": tuple((r.get("table") or r.get("table_name"), r.get("action")) for r in rows),
            "chain_keys": tuple(sorted(k for r in rows for k in CHAIN_KEYS if k in r))}


def _differences(features: dict[str, dict[str, Any]], arms: dict[str, str]) -> list[str]:
    """Features whose sets of values differ between the arms."""
    by_arm: dict[str, dict[str, set[Any]]] = {}
    for pid, f in features.items():
        for k, v in f.items():
            by_arm.setdefault(k, {}).setdefault(arms[pid], set()).add(v)
    return [f"{k}: " + "; ".join(f"{a}={sorted(map(str, v))[:3]}" for a, v in sorted(per.items()))
            for k, per in by_arm.items() if len(set(map(frozenset, per.values()))) > 1]


def _pid_routes(app: Any) -> list[str]:
    return [t for m, t in routes(app) if m == "GET" and "{pid}" in t]


def _trial_routes(app: Any) -> list[str]:
    """GET routes of the trial as a whole (lists, dashboards, CSV exports), whose rows name participants."""
    skip = ("/api/openapi.json", "/api/docs", "/api/docs/oauth2-redirect", "/login", "/logout")
    return [t for m, t in routes(app) if m == "GET" and "{pid}" not in t and t not in skip
            and set(re.findall(r"{(\w+)}", t)) <= {"trial_id", "frame"}]


def _rows_of(text: str, arms: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Per participant: how many lines of ``text`` name them and the lines' lengths (digits normalised)."""
    lines = text.splitlines()
    out = {}
    for pid in arms:
        mine = [_norm(line, pid) for line in lines if pid in line]
        out[pid] = {"lines": len(mine), "lengths": tuple(sorted(len(m) for m in mine))}
    return out


@pytest.mark.parametrize("user", sorted(BLINDED))
def test_no_route_answers_differently_by_arm(world, user) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    app, arms = world["app"], world["arms"]
    api = TestClient(app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {world['tokens'][user]}"})
    pages = TestClient(app, raise_server_exceptions=False)
    assert login(pages, user, PASSWORD).status_code == 200
    templates = _pid_routes(app)
    assert any(t.endswith("/audit") and t.startswith("/api") for t in templates)
    assert any(t.endswith("/audit") and not t.startswith("/api") for t in templates)
    problems: dict[str, list[str]] = {}
    for template in templates:
        feats: dict[str, dict[str, Any]] = {}
        for pid in arms:
            path = fill(template, {"trial_id": TRIAL, "pid": pid, "visit_id": "m6", "instrument": "sdq_parent"})
            r = (api if template.startswith("/api") else pages).get(path)
            assert r.status_code < 500, (path, r.status_code, r.text[:300])
            f: dict[str, Any] = {"status": r.status_code, "length": len(_norm(r.text, pid))}
            if template.endswith("/audit") and r.status_code == 200:
                if template.startswith("/api"):
                    rows = r.json()
                    assert not {k for row in rows for k in CHAIN_KEYS if k in row}, (user, path, rows[0])
                    f.update(_numbering(rows, "seq" if rows and "seq" in rows[0] else "entry"))
                else:
                    nums = [int(n) for n in re.findall(r"<tr>\s*<td[^>]*>\s*(\d+)\s*</td>", r.text)]
                    f["rows"] = len(nums)
                    f["gaps"] = tuple(b - a for a, b in zip(nums, nums[1:], strict=False))
            feats[pid] = f
        diff = _differences(feats, arms)
        if diff:
            problems[template] = diff
    assert problems == {}, json.dumps(problems, indent=1)


@pytest.mark.parametrize("user", sorted(BLINDED))
def test_audit_view_and_odm_export_are_the_same_for_both_arms(world, user) -> None:  # type: ignore[no-untyped-def]
    store, arms = world["store"], world["arms"]
    feats: dict[str, dict[str, Any]] = {}
    with store.read() as s:
        for pid in arms:
            try:
                rows = participant_history(s, pid, user)
            except Exception as exc:  # a role that may not read the trail: refused the same way for both arms
                feats[pid] = {"refused": type(exc).__name__}
                continue
            key = "seq" if rows and "seq" in rows[0] else "entry"
            feats[pid] = _numbering(rows, key)
            assert feats[pid]["chain_keys"] == (), f"{user} sees the global chain position in the audit view"
    assert _differences(feats, arms) == []
    try:
        result = write_odm(store, actor(store, user), world["tmp"] / f"{user}.xml")
    except Exception as exc:  # a role that may not export: nothing to compare, but the refusal is not a crash
        assert type(exc).__name__ == "PermissionDenied", exc
        return
    doc = etree.parse(str(result.path))
    per: dict[str, list[dict[str, Any]]] = {pid: [] for pid in arms}
    for ar in doc.iter(f"{{{NS}}}AuditRecord"):
        src = json.loads(ar.find(f"{{{NS}}}SourceID").text)
        src["_id"] = int(ar.get("ID").split(".")[-1])
        if src.get("participant_id") in per:
            per[src["participant_id"]].append(src)
    odm = {pid: {**_numbering(rows, "_id"), "length": sum(len(_norm(json.dumps(r, sort_keys=True), pid)) for r in rows)}
           for pid, rows in per.items()}
    assert _differences(odm, arms) == []
    assert all(f["chain_keys"] == () for f in odm.values()), "a blinded ODM export carries seq/hash/prev_hash"


@pytest.mark.parametrize("user", sorted(BLINDED))
def test_trial_lists_and_exports_show_both_arms_alike(world, user) -> None:  # type: ignore[no-untyped-def]
    """Lists, dashboards, the CSV datasets, the REDCap records and the analysis export: the rows naming each
    participant have the same count and lengths in both arms."""
    from fastapi.testclient import TestClient

    from securebase.errors import PermissionDenied
    from securebase.interop.exports import AnalysisExport
    from securebase.interop.redcap_records import write_redcap

    app, arms, store = world["app"], world["arms"], world["store"]
    api = TestClient(app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {world['tokens'][user]}"})
    pages = TestClient(app, raise_server_exceptions=False)
    assert login(pages, user, PASSWORD).status_code == 200
    texts: dict[str, str] = {}
    for template in _trial_routes(app):
        for frame in ("participants", "visits", "resource_use") if "{frame}" in template else ("",):
            path = fill(template, {"trial_id": TRIAL, "frame": frame})
            r = (api if template.startswith("/api") else pages).get(path)
            assert r.status_code < 500, (path, r.status_code, r.text[:300])
            texts[path] = r.text
    assert any("datasets" in p for p in texts) and any(p.endswith(".csv") for p in texts)
    a = actor(store, user)
    for name, write in (("redcap", lambda out: write_redcap(store, a, out).files),
                        ("analysis", lambda out: AnalysisExport(formats=("csv",)).write(store, a, out).files)):
        try:
            files = write(world["tmp"] / f"{name}-{user}")
        except PermissionDenied:
            continue
        for f in files:
            if f.suffix == ".csv":
                texts[f"{name}:{f.name}"] = f.read_text(encoding="utf-8")
    problems = {}
    for where, text in texts.items():
        diff = _differences(_rows_of(text, arms), arms)
        if diff:
            problems[where] = diff
    assert problems == {}, json.dumps(problems, indent=1)


def test_the_features_would_catch_a_leak(world) -> None:  # type: ignore[no-untyped-def]
    """The same features separate the arms in what an unblinded trial manager is shown (the arm column),
    and in the global audit numbering the blinded view used to carry."""
    from fastapi.testclient import TestClient

    pages = TestClient(world["app"], raise_server_exceptions=False)
    assert login(pages, "tm", PASSWORD).status_code == 200
    csv_text = pages.get(f"/trials/{TRIAL}/export/participants.csv",  # before lock an arm-level export needs a reason
                         params={"reason": "checking the leak detector"}).text
    assert _differences(_rows_of(csv_text, world["arms"]), world["arms"])
    with world["store"].read() as s:
        feats = {pid: _numbering(participant_history(s, pid, "tm"), "seq") for pid in world["arms"]}
    assert any(d.startswith("gaps") for d in _differences(feats, world["arms"]))
