"""``securebase user add/grant/token/list/unlock`` and ``securebase serve``'s refusal of the default secret."""

from __future__ import annotations

from securebase.cli import main


def test_user_commands_and_token_works(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.chdir(tmp_path)  # `init` writes securebase.secret here
    monkeypatch.delenv("SECUREBASE_SECRET_KEY", raising=False)
    monkeypatch.setenv("SECUREBASE_ADMIN_PASSWORD", "correct-horse-battery")
    monkeypatch.setenv("SECUREBASE_NEW_PASSWORD", "another-long-pass")
    assert main(["init", "--protocol", "ng26-care", "--db", db]) == 0
    assert main(["user", "add", "rec.la01", "--db", db]) == 0
    assert main(["user", "grant", "rec.la01", "--trial", "ng26-care", "--role", "site_recruiter", "--site", "LA01",
                 "--db", db]) == 0
    assert main(["user", "grant", "rec.la01", "--trial", "ng26-care", "--role", "wizard", "--db", db]) == 2
    capsys.readouterr()
    assert main(["user", "token", "rec.la01", "--db", db]) == 0
    token = capsys.readouterr().out.strip().split()[-1]
    assert main(["user", "list", "rec.la01", "--db", db]) == 0
    assert "site_recruiter" in capsys.readouterr().out
    assert main(["user", "unlock", "nobody", "--reason", "x", "--db", db]) == 3

    from fastapi.testclient import TestClient

    from securebase.settings import Settings
    from securebase.web import create_app

    app = create_app(Settings(database_url=db))  # the secret `init` wrote
    r = TestClient(app).get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert r.json()["roles"] == [{"trial_id": "ng26-care", "role": "site_recruiter", "site": "LA01"}]


def test_serve_refuses_a_missing_secret(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("SECUREBASE_SECRET_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    code = main(["serve", "--host", "0.0.0.0", "--db", f"sqlite:///{tmp_path / 's.db'}"])
    assert code == 7 and "SECUREBASE_SECRET_KEY" in capsys.readouterr().err
