"""Issue 17, slice 7: CLI traps. A missing SQLite store is refused (not silently created), a port out of
range is a clear usage error, and no bad value of any option of any command produces a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from securebase.cli import app, main


def test_missing_store_is_refused_not_created(tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import secrets

    monkeypatch.setenv("SECUREBASE_SECRET_KEY", secrets.token_urlsafe(48))  # serve checks the secret first
    missing = tmp_path / "typo.db"
    for argv in (["report", "--trial", "ng26-care", "--as", "tm", "--db", f"sqlite:///{missing}"],
                 ["serve", "--db", f"sqlite:///{missing}"],
                 ["user", "list", "tm", "--db", f"sqlite:///{missing}"]):
        code = main(argv)
        err = capsys.readouterr().err
        assert code != 0 and not missing.exists(), argv
        assert f"No store at {missing}" in err and "securebase init" in err, (argv, err)


def test_serve_port_out_of_range_is_a_clear_error(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code = main(["serve", "--port", "99999", "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    out = capsys.readouterr()
    text = out.out + out.err
    assert code == 2 and "Invalid value for '--port'" in text and "65535" in text and "Traceback" not in text


def _sweep() -> list[tuple[list[str], str]]:
    """Every option of every command with a value its type refuses (Typer builds its own click objects, so
    the walk goes by attributes)."""
    root = typer.main.get_command(app)
    cases: list[tuple[list[str], str]] = []

    def walk(cmd: object, path: list[str]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, path + [name])
            return
        for p in getattr(cmd, "params", []):
            if getattr(p, "is_flag", False) or not p.opts[0].startswith("--") or type(p).__name__ != "TyperOption":
                continue
            kind = getattr(p.type_descriptor, "annotation", str)
            bad = {int: "not-a-number", float: "not-a-number", Path: "/no/such/dir/file.x"}.get(kind, "\x01bad value")
            cases.append((path + [p.opts[0], bad], p.name or ""))
    walk(root, [])
    return cases


@pytest.mark.slow
def test_no_option_value_gives_a_traceback(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SECUREBASE_DATABASE_URL", f"sqlite:///{tmp_path / 'none.db'}")
    monkeypatch.setenv("SECUREBASE_ADMIN_PASSWORD", "a-long-enough-password")
    cases = _sweep()
    assert len(cases) > 50
    failures = []
    for argv, _ in cases:
        if argv[0] in ("serve", "demo"):  # serve would listen, demo builds a whole world: checked separately
            continue
        try:
            code = main(argv)
        except SystemExit as exc:  # a prompt or parser exit is fine; a traceback is not
            code = exc.code
        out = capsys.readouterr()
        text = out.out + out.err
        if "Traceback" in text or "Internal error" in text or code == 70:
            failures.append((argv, text[-300:]))
    assert failures == [], "\n".join(map(str, failures[:20]))
