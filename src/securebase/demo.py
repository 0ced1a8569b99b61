"""The main job: a whole synthetic NG26 care trial through the real services, then the report."""

from __future__ import annotations

import secrets
from pathlib import Path

from rich.console import Console

from securebase.protocol import load_protocol
from securebase.store import open_store
from securebase.trial.roles import Role
from securebase.trial.setup import create_trial, create_user, grant_role


def run_demo(out: Path, n: int, seed: int, console: Console) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    db = out / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    store = open_store(f"sqlite:///{db}")
    proto = load_protocol("ng26-care")
    with store.unit_of_work(actor="securebase-demo") as uow:
        create_trial(uow, proto, seed=seed)
        admin = create_user(uow, "admin", secrets.token_urlsafe(12))
        grant_role(uow, admin, proto.id, Role.administrator)
        uow.commit()
    console.print(f"Created the trial [bold]{proto.id}[/] in {db}")
    from securebase.cli.core import _print_protocol

    for name in ("ng26-care", "ng26-maltreatment"):
        _print_protocol(load_protocol(name))
    store.dispose()
    return db
