"""The demo step: respondents answer through links, one placement move changes the carer."""

from __future__ import annotations

from pathlib import Path

from securebase.demo_people import run_people_demo
from securebase.demo_world import make_users
from securebase.protocol import load_protocol
from securebase.store import open_store
from securebase.trial.setup import create_trial


def test_people_demo_step(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'demo.db'}")
    proto = load_protocol("ng26-care")
    with store.unit_of_work(actor="test") as uow:
        create_trial(uow, proto, seed=3)
        uow.commit()
    make_users(store, proto.id, proto)
    out = run_people_demo(store, proto.id, tmp_path, seed=3)
    store.dispose()
    # 9-year-old: 4 carer (CHU9D: no young-person link); 12 and 14: 4 carer + CHU9D by SMS; after the move the new
    # carer is sent only what the old carer left unanswered (the SDQ)
    assert out["invitations"] == 4 + 5 + 5 + 1 and out["skipped_for_age"] == 0
    assert out["revoked_links"] == 1 and out["old_link_status"] == 410
    assert out["consent_tasks"] == ["carer_consent"]
    assert out["submitted"] == 4 + 5 + 4 - 1 + 1  # the old carer left the SDQ (the new carer answered it); YP-0002 waits
    assert out["reminders"] == 1
    assert len(list((tmp_path / "outbox" / "mail").glob("*.eml"))) == 4 + 4 + 4 + 1
    assert len(list((tmp_path / "outbox" / "sms").glob("*.json"))) == 3
