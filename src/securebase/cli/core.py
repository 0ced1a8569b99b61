"""``securebase init``, ``protocol``, ``audit`` and ``keygen`` commands."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table
from sqlalchemy import select

from securebase.cli._common import console, store
from securebase.errors import FieldError, NotFound, PermissionDenied
from securebase.protocol import load_protocol, load_protocol_file, schedule_table
from securebase.protocol.models import Protocol
from securebase.settings import get_settings, session_secret, write_secret_file
from securebase.store import verify_chain
from securebase.store.crypto import new_key
from securebase.store.tables import AuditRecord, Participant
from securebase.trial.roles import BLINDED_ROLES, Role
from securebase.trial.setup import create_trial, create_user, grant_role

DB_OPTION = typer.Option(None, "--db", help="Store URL; default SECUREBASE_DATABASE_URL.")

protocol_app = typer.Typer(help="Validate and show trial protocols.", no_args_is_help=True)
audit_app = typer.Typer(help="Check and read the hash-chained audit trail.", no_args_is_help=True)


def init(
    protocol: str = typer.Option("ng26-care", "--protocol", "-p", help="Built-in protocol name or a YAML file."),
    admin: str = typer.Option("admin", help="User name of the first administrator."),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True,
                                 envvar="SECUREBASE_ADMIN_PASSWORD",
                                 help="Password of the first administrator (or SECUREBASE_ADMIN_PASSWORD)."),
    seed: int | None = typer.Option(None, help="Seed of the trial's randomisation (stored with the trial)."),
    db: str | None = DB_OPTION,
) -> None:
    """Create the store (if needed), load a protocol into it and create the first administrator."""
    from securebase.cli._common import check_url, get_settings
    from securebase.store.audit_key import seal_for, seal_paths

    proto = load_protocol(protocol)
    text = Path(protocol).read_text(encoding="utf-8") if Path(protocol).exists() else None
    settings = get_settings()
    url = db or settings.database_url
    check_url(url)
    seal = seal_for(url, settings, create=True)  # the audit key file, created if missing
    st = store(db, create=True)
    with st.unit_of_work(actor="securebase-init") as uow:
        create_trial(uow, proto, protocol_yaml=text, seed=seed)
        user = create_user(uow, admin, password, display_name="Administrator")
        grant_role(uow, user, proto.id, Role.administrator)
        uow.commit()
    console.print(f"Created trial [bold]{proto.id}[/] ({len(proto.sites)} sites) in {st.engine.url.render_as_string()} "
                  f"with administrator '{admin}'.")
    if seal is not None:
        console.print(f"Audit chain keyed with {seal_paths(settings, url)[0]} (key id "
                      f"{seal.key_id}); heads appended to {seal.head_file}. Back the key file up apart from the "
                      "database.", markup=False)
    _ensure_secret()


def _ensure_secret() -> None:
    settings = get_settings()
    if settings.secret_key.strip():
        session_secret(settings)  # a set secret must be a good one
        console.print("Session secret: SECUREBASE_SECRET_KEY (already set).")
    elif write_secret_file(settings.secret_file):
        console.print(f"Wrote a random session secret to {settings.secret_file} (owner read/write only); keep it "
                      "with the server's configuration, outside backups of the database.")
    else:
        session_secret(settings)
        console.print(f"Session secret: {settings.secret_file} (already there).")


def secret(rotate: bool = typer.Option(False, help="Replace an existing secret file (every web session ends).")) -> None:
    """Write a random session secret to SECUREBASE_SECRET_FILE (what `securebase init` does when none exists)."""
    settings = get_settings()
    if settings.secret_key.strip() and not rotate:
        session_secret(settings)
        console.print("SECUREBASE_SECRET_KEY is set and is used; no file written.")
        return
    if write_secret_file(settings.secret_file, overwrite=rotate):
        console.print(f"Wrote a random session secret to {settings.secret_file} (owner read/write only).")
    else:
        session_secret(settings)
        console.print(f"{settings.secret_file} already holds a secret; give --rotate to replace it.")


def _print_protocol(p: Protocol) -> None:
    console.print(f"[bold]{p.id}[/] v{p.version}: {p.title}")
    console.print(f"Population: {p.population}")
    console.print(f"Target sample size: {p.target_sample_size}; recruitment {p.recruitment_months} months")
    for a in p.arms:
        console.print(f"  arm [bold]{a.id}[/] (ratio {a.ratio}): {a.name}")
        for c in a.components:
            console.print(f"      {c.maltreatment_type}: {c.target} - {c.description}")
    s = p.stratification
    console.print(f"Allocation: {s.method}" + (f", p = {s.probability}, imbalance by {s.imbalance}" if s.method == "minimisation" else "")
                  + f"; factors: {', '.join(p.factor_names)}")
    console.print("Eligibility:")
    for c in p.eligibility:
        console.print(f"  - {c.label}")
    table = Table(title=f"Schedule of assessments ({p.id})  X = required, (X) = optional")
    rows = schedule_table(p)
    for h in rows[0]:
        table.add_column(h)
    for r in rows[1:]:
        table.add_row(*r)
    console.print(table)
    out = Table(title="Outcomes")
    for h in ("", "id", "domain", "measure", "respondent", "when", "variable"):
        out.add_column(h)
    for kind, group in (("primary", p.outcomes.primary), ("secondary", p.outcomes.secondary)):
        for o in group:
            out.add_row(kind, o.id, o.domain, o.measure + (f" / {o.scale}" if o.scale else ""), o.respondent.value,
                        o.timepoint, o.variable)
    console.print(out)
    console.print("Events: " + ", ".join(e.id for e in p.events))


@protocol_app.command("validate")
def protocol_validate(file: Path = typer.Argument(..., help="Protocol YAML file.")) -> None:
    """Validate a protocol file; errors name the file, line and field."""
    p = load_protocol_file(file)
    console.print(f"{file}: valid protocol '{p.id}' v{p.version} ({len(p.arms)} arms, {len(p.visits)} visits, "
                  f"{len(p.outcomes.all)} outcomes)")


@protocol_app.command("show")
def protocol_show(name: str = typer.Argument(..., help="Built-in name (ng26-care, ng26-maltreatment) or a file."),
                  as_json: bool = typer.Option(False, "--json", help="Print the whole protocol as JSON.")) -> None:
    """A readable summary with a SPIRIT-style schedule table (visits x instruments x respondent)."""
    p = load_protocol(name)
    if as_json:
        console.print_json(json.dumps(p.to_dict(), default=str))
    else:
        _print_protocol(p)


@audit_app.command("verify")
def audit_verify(db: str | None = DB_OPTION,
                 backup: Path | None = typer.Option(None, "--backup", help="Check this backup file instead of the "
                                                    "store: signature, table hashes and its audit chain."),
                 data: bool = typer.Option(True, "--data/--no-data", help="Also replay the audit over the data "
                                           "tables to find edits made outside the application.")) -> None:
    """Check the keyed audit chain, its head file and the data tables (or a backup); exit code 6 on a problem."""
    from securebase.errors import AuditChainBroken
    from securebase.store.audit_verify import verify_all

    st = store(db)
    if backup is not None:
        from securebase.interop.backup import verify_backup

        report = verify_backup(backup, st.seal)
    else:
        with st.read() as session:
            report = verify_all(session, st.seal, data=data)
    console.print("\n".join(report.lines), markup=False, highlight=False)
    if not report.ok:
        raise AuditChainBroken(f"audit verify found {len(report.problems)} problem(s):\n"
                               + "\n".join(f"  - {p}" for p in report.problems)
                               + "\nRestore from a signed backup and investigate.")
    console.print("audit verify: everything agrees")


@audit_app.command("rekey")
def audit_rekey(reason: str = typer.Option(..., "--reason", help="Why (audited), e.g. 'seal the chain of a store "
                                           "created before audit keys'."),
                as_user: str = typer.Option("securebase-admin", "--as", help="Who is sealing the chain (audited)."),
                db: str | None = DB_OPTION) -> None:
    """Seal an unkeyed (legacy) chain with the audit key: check it, then recompute every hash as an HMAC."""
    from securebase.store.audit_verify import rekey_chain

    console.print(rekey_chain(store(db), actor=as_user, reason=reason))


@audit_app.command("head")
def audit_head(db: str | None = DB_OPTION) -> None:
    """Append the chain's current head to the head file (every commit does this; use after moving the file)."""
    st = store(db)
    if st.seal is None or st.seal.head_file is None:
        from securebase.errors import ConfigurationError

        raise ConfigurationError("no audit key is configured for this store, so there is no head file; run "
                                 "`securebase init` or set SECUREBASE_AUDIT_KEY_FILE")
    with st.read() as session:
        result = verify_chain(session)
    st.seal.append_head(result.head_seq, result.head_hash)
    console.print(f"appended head {result.head_seq} to {st.seal.head_file}")


@audit_app.command("show")
def audit_show(participant: str = typer.Argument(..., help="Participant trial ID, e.g. CARE-0014."),
               as_user: str = typer.Option(..., "--as", help="Your user name (allocation is hidden from blinded roles)."),
               db: str | None = DB_OPTION) -> None:
    """Print a participant's history: every insert, change and deletion, who, when and why."""
    from securebase.trial.audit_view import participant_history

    st = store(db)
    with st.read() as session:
        pid = session.execute(select(Participant.trial_id).where(Participant.participant_id == participant)).first()
        if pid is None:
            raise NotFound(f"participant '{participant}' is not in this store; check the trial ID")
        rows = participant_history(session, participant, as_user)
    table = Table(title=f"Audit history of {participant}")
    chain = any("seq" in r for r in rows)  # global chain positions only for roles that may see allocation
    for h in ("#", *(["audit seq"] if chain else []), "when (UTC)", "who", "action", "table", "old", "new", "reason"):
        table.add_column(h, overflow="fold")
    for r in rows:
        table.add_row(str(r["entry"]), *([str(r["seq"])] if chain else []), r["at"], r["actor"], r["action"],
                      r["table"], r["old"] or "", r["new"] or "", r["reason"] or "")
    console.print(table)


def keygen() -> None:
    """Print a new encryption key for SECUREBASE_ENCRYPTION_KEY (keep it safe: lost key, lost identifiers)."""
    console.print(new_key())


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("keygen")(keygen)
    app.command("secret")(secret)
    app.add_typer(protocol_app, name="protocol")
    app.add_typer(audit_app, name="audit")


__all__ = ["register", "AuditRecord", "BLINDED_ROLES", "FieldError", "PermissionDenied"]
