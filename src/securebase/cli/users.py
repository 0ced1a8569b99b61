"""``securebase user add | grant | revoke-role | token | tokens | revoke-token | totp | unlock | deactivate |
activate | list``: accounts, roles, API tokens and second factors (all audited)."""

from __future__ import annotations

import typer
from rich.table import Table

from securebase.cli._common import console, store
from securebase.trial import totp
from securebase.trial.accounts import (
    create_api_token,
    get_user,
    list_tokens,
    revoke_role,
    revoke_tokens,
    set_active,
    unlock,
    user_trials,
)
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
          days: int | None = typer.Option(None, help="Days until the token expires (1-366; default "
                                          "SECUREBASE_TOKEN_DAYS, 30)."),
          scope: str = typer.Option("write", help="read (GET requests only) or write."),
          db: str | None = DB_OPTION) -> None:
    """Create an API token (shown once; only its SHA-256 is stored)."""
    from securebase.settings import get_settings

    with store(db).unit_of_work(actor=ACTOR) as uow:
        tok = create_api_token(uow, username, label=label, days=days or get_settings().token_days, scope=scope)
        uow.log_event("token_created", table_name="users", record_id=username, trial_id=None,
                      detail={"username": username, "label": label[:120], "scope": scope})
        uow.commit()
    console.print(tok, soft_wrap=True, highlight=False)


@user_app.command("tokens")
def tokens_cmd(username: str = typer.Argument(..., help="User name."), db: str | None = DB_OPTION) -> None:
    """List a user's API tokens (id, label, scope, expiry; never the token)."""
    with store(db).read() as s:
        rows = list_tokens(s, username)
    t = Table("id", "label", "scope", "created (UTC)", "expires (UTC)", "revoked")
    for r in rows:
        t.add_row(str(r["id"]), str(r["label"]), str(r["scope"]), f"{r['created']:%Y-%m-%d %H:%M}",
                  f"{r['expires']:%Y-%m-%d %H:%M}" if r["expires"] else "never", "yes" if r["revoked"] else "no")
    console.print(t)


@user_app.command("revoke-token")
def revoke_token_cmd(username: str = typer.Argument(..., help="User name."),
                     token_id: int | None = typer.Option(None, "--id", help="Token id (from `securebase user tokens`)."),
                     label: str | None = typer.Option(None, help="Revoke the tokens with this label."),
                     all_tokens: bool = typer.Option(False, "--all", help="Revoke every token of the user."),
                     reason: str = typer.Option(..., help="Why (audited)."),
                     db: str | None = DB_OPTION) -> None:
    """Revoke an API token at once (by --id or --label, or every token with --all)."""
    from securebase.errors import InputError

    if token_id is None and label is None and not all_tokens:
        raise InputError("say which token to revoke: --id N, --label TEXT, or --all")
    with store(db).unit_of_work(actor=ACTOR, reason=reason) as uow:
        n = revoke_tokens(uow, username, token_id=token_id, label=label)
        uow.log_event("token_revoked", table_name="users", record_id=username, trial_id=None,
                      detail={"username": username, "id": token_id, "label": label, "count": n})
        uow.commit()
    console.print(f"Revoked {n} token(s) of '{username}'.")


@user_app.command("revoke-role")
def revoke_role_cmd(username: str = typer.Argument(..., help="User name."),
                    trial: str = typer.Option(..., help="Trial id, e.g. ng26-care."),
                    role: str = typer.Option(..., help="Role to remove."),
                    site: str | None = typer.Option(None, help="Site code; omit for the every-site grant."),
                    reason: str = typer.Option(..., help="Why (audited)."),
                    db: str | None = DB_OPTION) -> None:
    """Remove a role from a user (takes effect on the next request; open sessions stay but lose the role)."""
    with store(db).unit_of_work(actor=ACTOR, reason=reason) as uow:
        revoke_role(uow, username, trial, role, site)
        uow.commit()
    console.print(f"'{username}' is no longer {role} on {trial} at {site or 'every site'}.")


@user_app.command("deactivate")
def deactivate_cmd(username: str = typer.Argument(..., help="User name."),
                   reason: str = typer.Option(..., help="Why (audited)."),
                   db: str | None = DB_OPTION) -> None:
    """Deactivate an account: its web sessions end at once and its API tokens stop working."""
    with store(db).unit_of_work(actor=ACTOR, reason=reason) as uow:
        set_active(uow, username, False)
        uow.commit()
    console.print(f"'{username}' deactivated; open sessions ended and tokens refused.")


@user_app.command("activate")
def activate_cmd(username: str = typer.Argument(..., help="User name."),
                 reason: str = typer.Option(..., help="Why (audited)."),
                 db: str | None = DB_OPTION) -> None:
    """Reactivate a deactivated account."""
    with store(db).unit_of_work(actor=ACTOR, reason=reason) as uow:
        set_active(uow, username, True)
        uow.commit()
    console.print(f"'{username}' is active again.")


@user_app.command("totp")
def totp_cmd(username: str = typer.Argument(..., help="User name."),
             replace: bool = typer.Option(False, help="Issue a new key even if one exists (the old one stops working)."),
             remove: bool = typer.Option(False, help="Remove the second factor (the user enrols again at next log-in)."),
             db: str | None = DB_OPTION) -> None:
    """Enrol a TOTP second factor for a user: prints the key and the otpauth:// URI for an authenticator app."""
    with store(db).unit_of_work(actor=ACTOR, reason="second factor") as uow:
        user = get_user(uow.session, username)
        if remove:
            totp.remove(uow, user)
            uow.commit()
            console.print(f"Second factor of '{username}' removed.")
            return
        key = totp.enrol(uow, user, replace=replace)
        uow.commit()
    console.print(f"Key: {key}", soft_wrap=True, highlight=False)
    console.print(totp.provisioning_uri(key, username), soft_wrap=True, highlight=False)


@user_app.command("unlock")
def unlock_cmd(username: str = typer.Argument(..., help="User name."),
               reason: str = typer.Option(..., help="Why the account is unlocked (audited)."),
               db: str | None = DB_OPTION) -> None:
    """Clear the failed log-ins counted against a user name (and an administrator's lock)."""
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
