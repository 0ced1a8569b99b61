"""`securebase invite send` / `remind` on a SQLite store: messages land in the outboxes of the settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from people_world import KEY, child_with_people
from typer.testing import CliRunner

from securebase.cli import app
from securebase.protocol import load_protocol
from securebase.store import open_store
from securebase.trial.setup import create_trial


def test_invite_send_and_remind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    st = open_store(url)
    with st.unit_of_work(actor="test") as uow:
        create_trial(uow, load_protocol("ng26-care"), seed=1)
        uow.commit()
    child_with_people(st, age=12)
    st.dispose()
    monkeypatch.setenv("SECUREBASE_ENCRYPTION_KEY", KEY)
    monkeypatch.setenv("SECUREBASE_MAIL_OUTBOX", str(tmp_path / "mail"))
    monkeypatch.setenv("SECUREBASE_SMS_OUTBOX", str(tmp_path / "sms"))
    monkeypatch.setenv("SECUREBASE_SMTP_HOST", "")
    r = CliRunner().invoke(app, ["invite", "send", "--as", "rec1", "--base-url", "https://t.example.org", "--db", url])
    assert r.exit_code == 0, r.output
    assert "5 invitations" in r.output and "0 skipped age" in r.output
    mails = [json.loads(p.read_text()) for p in sorted((tmp_path / "mail").glob("*.json"))]
    assert [m["to"] for m in mails] == [["carer.one@example.org"]] * 4
    assert "https://t.example.org/respond/" in json.loads(next((tmp_path / "sms").glob("*.json")).read_text())["text"]
    r = CliRunner().invoke(app, ["invite", "remind", "--as", "rec1", "--base-url", "https://t.example.org", "--db", url])
    assert r.exit_code == 0 and "0 reminders" in r.output  # the links were sent today
    r = CliRunner().invoke(app, ["invite", "send", "--as", "bstat", "--base-url", "https://t.example.org", "--db", url])
    assert r.exit_code != 0 and "bstat" in str(r.exception) and "site_recruiter" in str(r.exception)
