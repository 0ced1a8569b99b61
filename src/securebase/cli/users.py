"""``securebase user add | grant | token | unlock | list``: accounts, roles and API tokens (all audited)."""

from __future__ import annotations

import typer
from rich.table import Table

from securebase.cli._common import console, store
from securebase.trial.accounts import create_api_token, unlock, user_trials
from securebase.trial.setup import create_user, grant_role

DB_OPTION = typer.Option(None, "--db", help="Store URL; default SECUREBASE_DATABASE_URL.")
ACTOR = "securebase-cli"
user_app = typer.Typer(help="User accounts, roles and API tokens.", no_args_is_help=True)


def _user(session: object, username: str) -> object:
    from sqlalchemy import select

    from securebase.errors import NotFound
    from securebase.store.tables import User

    u = session.execute(select(User).where(User.username == username)).scalar_one_or_none()  # type: ignore[attr-defined]
    if u is None:
        raise NotFound(f"user '{username}' not found; create it with `securebase user add {username}`")
    return u


@user_app.command("add")
def add(username: str = typer.Argument(..., help="User name (letters, digits, '.', '_', '-')."),
        password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True,
                                     envvar="SECUREBASE_NEW_PASSWORD", help="Password (at least 10 characters)."),
        display_name: str = typer.Option("", help="Name shown in the pages."),
        db: str | None = DB_OPTION) -> None:
    """Create a user account (argon2 password hash)."""
    with store(db).unit_of_work(actor=ACTOR) as uow:
        create_user(uow, username, password, display_name=display_name)
        uow.commit()
    console.print(f"Created user '{username}'. Give it a role with `securebase user grant {username} --trial ... --role ...`.")


@user_app.command("grant")
def grant(username: str = typer.Argument(..., help="User name."),
          trial: str = typer.Option(..., help="Trial id, e.g. ng26-care."),
          role: str = typer.Option(..., help="Role, e.g. site_recruiter, outcome_assessor, data_manager."),
          site: str | None = typer.Option(None, help="Site code; omit for every site of the trial."),
          db: str | None = DB_OPTION) -> None:
    """Give a user a role on a trial, at one site or at all sites."""
    with store(db).unit_of_work(actor=ACTOR) as uow:
        grant_role(uow, _user(uow.session, username), trial, role, site)  # type: ignore[arg-type]
        uow.commit()
    console.print(f"'{username}' is {role} on {trial} at {site or 'every site'}.")


@user_app.command("token")
def token(username: str = typer.Argument(..., help="User name."),
          label: str = typer.Option("", help="What the token is for."),
          days: int = typer.Option(365, help="Days until the token expires."),
          db: str | None = DB_OPTION) -> None:
    """Create an API token (shown once; only its SHA-256 is stored)."""
    with store(db).unit_of_work(actor=ACTOR) as uow:
        tok = create_api_token(uow, username, label=label, days=days)
        uow.commit()
    console.print(tok, soft_wrap=True, highlight=False)


@user_app.command("unlock")
def unlock_cmd(username: str = typer.Argument(..., help="User name."),
               reason: str = typer.Option(..., help="Why the account is unlocked (audited)."),
               db: str | None = DB_OPTION) -> None:
    """Unlock an account locked after repeated failed log-ins."""
    with store(db).unit_of_work(actor=ACTOR, reason=reason) as uow:
        unlock(uow, username)
        uow.commit()
    console.print(f"'{username}' unlocked.")


@user_app.command("list")
def list_cmd(username: str = typer.Argument(..., help="User name."), db: str | None = DB_OPTION) -> None:
    """Show a user's roles."""
    with store(db).read() as s:
        _user(s, username)
        rows = user_trials(s, username)
    t = Table("trial", "role", "site")
    for tr, r, site in rows:
        t.add_row(tr, r, site or "all")
    console.print(t)


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
