"""Benchmark: import and link a year of SSDA903 and CIN census records for 5,000 children, against a plain
pandas merge of the same files.

Run: PYTHONPATH=src .venv/bin/python benchmarks/bench_linkage.py [--n 5000]

A maltreatment-trial store of ``n`` bulk-loaded children (tests/scale_world.py; loading not timed) gets each
child's LA child id and UPN (encrypted) and a linkage consent through the services (timed as "register").
Each site's authority then sends one collection year's SSDA903 return (the ~30% of children looked after) and
a CIN census XML (every child referred; section 47 enquiries and protection plans for some). securebase's
import is timed in two parts: the DfE validator (quality-lac-data-validator, SSDA903 only) and parse + match +
store (audited ORM writes). The baseline reads the same files with pandas / ElementTree and merges them on the
identifier with a participants frame (no validation, no encryption, no audit, nothing stored).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from sqlalchemy import select  # noqa: E402

from scale_world import bulk_trial  # noqa: E402
from securebase.linkage import link  # noqa: E402
from securebase.linkage.synthetic import Child, Episode, cin_xml, make_upn, ssda903_files  # noqa: E402
from securebase.store import open_store  # noqa: E402
from securebase.store.crypto import new_key  # noqa: E402
from securebase.store.tables import Participant  # noqa: E402
from securebase.trial.audit_view import actor_for  # noqa: E402
from securebase.trial.roles import Actor, Role  # noqa: E402

YEAR = (date(2025, 4, 1), date(2026, 3, 31))
LA = {"LA01": "E06000001", "LA02": "E06000002", "LA05": "E06000003"}


def _children(parts: list[Participant], rng: random.Random) -> dict[str, list[tuple[str, Child]]]:
    out: dict[str, list[tuple[str, Child]]] = {}
    ys, ye = YEAR
    for n, p in enumerate(parts, start=1):
        dob = date(2026, 1, 1) - timedelta(days=int(p.age_years * 365.25))
        c = Child(f"{p.site_code}C{n:06d}", "2" if p.sex == "female" else "1", dob,
                  make_upn(int(p.site_code[-2:]) + 200, n % 10000, dob.year + 5, n % 1000))
        ref = ys + timedelta(days=rng.randint(0, 300))
        r = {"referral": ref}
        if rng.random() < 0.4:
            r["s47"] = [ref + timedelta(days=rng.randint(1, 20))]
        if rng.random() < 0.2:
            r["cpp"] = [(ref + timedelta(days=rng.randint(21, 40)), None)]
        c.referrals = [r]
        if rng.random() < 0.3:
            start = ref + timedelta(days=rng.randint(1, 40))
            if rng.random() < 0.3 and start + timedelta(days=60) < ye:
                mid = start + timedelta(days=rng.randint(30, 60))
                c.episodes = [Episode(start, "S", dec=mid, rec="X1", reason=rng.choice(["CARPL", "CREQB"])),
                              Episode(mid, "P", place="U4")]
            else:
                c.episodes = [Episode(start, "S")]
        out.setdefault(p.site_code, []).append((p.participant_id, c))
    return out


def _pandas_baseline(files: dict[str, tuple[dict[str, bytes], bytes]], ids: pd.DataFrame) -> tuple[float, int]:
    t0 = time.perf_counter()
    linked = 0
    for _site, (ssda, cin) in files.items():
        eps = pd.read_csv(io.BytesIO(ssda["episodes.csv"]), dtype=str)
        linked += len(eps.merge(ids, left_on="CHILD", right_on="la_child_id", how="inner"))
        rows = []
        for ch in ET.fromstring(cin).find("Children"):  # type: ignore[union-attr]
            cid = ch.findtext("ChildIdentifiers/LAchildID")
            for det in ch.findall("CINdetails"):
                rows.append((cid, "cin_referral", det.findtext("CINreferralDate")))
                rows += [(cid, "section47", s.findtext("S47ActualStartDate")) for s in det.findall("Section47")]
                rows += [(cid, "cpp", p.findtext("CPPstartDate")) for p in det.findall("ChildProtectionPlans")]
        cin_df = pd.DataFrame(rows, columns=["CHILD", "kind", "date"])
        linked += len(cin_df.merge(ids, left_on="CHILD", right_on="la_child_id", how="inner"))
    return time.perf_counter() - t0, linked


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5000)
    args = ap.parse_args()
    rng = random.Random(2026)
    key = new_key()
    with tempfile.TemporaryDirectory() as tmp:
        st = open_store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        bulk_trial(st, args.n, trial="ng26-maltreatment", seed=3)
        with st.read() as s:
            parts = list(s.execute(select(Participant).where(Participant.trial_id == "ng26-maltreatment")
                                   .order_by(Participant.id)).scalars())
            dm: Actor = actor_for(s, "dm", "ng26-maltreatment")
        assert Role.data_manager in dm.roles
        kids = _children(parts, rng)
        t0 = time.perf_counter()
        flat = [(pid, c) for ks in kids.values() for pid, c in ks]
        for i in range(0, len(flat), 250):  # one transaction per 250 children
            with st.unit_of_work(actor="dm") as uow:
                for pid, c in flat[i:i + 250]:
                    link.register_identifiers(uow, dm, pid, key=key, la_child_id=c.child, upn=c.upn)
                    link.record_linkage_consent(uow, dm, pid, basis="legal_basis", sources=["ssda903", "cin"],
                                                reference="benchmark data-sharing agreement", given_on=YEAR[0])
                uow.commit()
        t_register = time.perf_counter() - t0
        files = {site: (ssda903_files([c for _, c in ks], LA[site]),
                        cin_xml([c for _, c in ks], la_number=str(200 + int(site[-2:])), year=2026, reference_date=YEAR[1]))
                 for site, ks in kids.items()}
        t_validate = t_import = 0.0
        linked = rows = 0
        from securebase.linkage import ssda903

        for site, (ssda, cin) in files.items():
            t0 = time.perf_counter()
            val = ssda903.validate(ssda, collection_year="2025/26", la_code=LA[site])
            t_validate += time.perf_counter() - t0
            assert val.ok, val.summary()
            for source, fs in (("ssda903", ssda), ("cin", {"cin.xml": cin})):
                t0 = time.perf_counter()
                with st.unit_of_work(actor="dm") as uow:
                    res = link.import_extract(uow, dm, source, fs, site_code=site, period_start=YEAR[0],
                                              period_end=YEAR[1], extract_date=YEAR[1], key=key, la_code=LA[site])
                    uow.commit()
                t_import += time.perf_counter() - t0
                linked += res.records_linked
                rows += res.rows_total
        ids = pd.DataFrame([(pid, c.child) for ks in kids.values() for pid, c in ks], columns=["participant_id", "la_child_id"])
        t_pandas, linked_pd = _pandas_baseline(files, ids)
        st.dispose()
    load = os.getloadavg()[0]
    print(f"children: {args.n}; sites: {len(files)}; SSDA903 episode rows + CIN children: {rows}; records linked: {linked} "
          f"(pandas merge rows: {linked_pd})")
    print(f"register identifiers (encrypted) + consents: {t_register:.1f} s")
    print(f"DfE validator (quality-lac-data-validator, SSDA903, once per site): {t_validate:.1f} s")
    print(f"securebase import_extract, all extracts (includes the validator run again): {t_import:.1f} s; "
          f"without the validator (parse + match + audited store): {t_import - t_validate:.1f} s")
    print(f"plain pandas read + merge (no validation, encryption, audit or storage): {t_pandas:.2f} s")
    print(f"ratio securebase import without validator / pandas merge: {(t_import - t_validate) / t_pandas:.0f}x; "
          f"load average {load:.1f}")


if __name__ == "__main__":
    main()
