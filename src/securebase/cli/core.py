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
    proto = load_protocol(protocol)
    text = Path(protocol).read_text(encoding="utf-8") if Path(protocol).exists() else None
    st = store(db, create=True)
    with st.unit_of_work(actor="securebase-init") as uow:
        create_trial(uow, proto, protocol_yaml=text, seed=seed)
        user = create_user(uow, admin, password, display_name="Administrator")
        grant_role(uow, user, proto.id, Role.administrator)
        uow.commit()
    console.print(f"Created trial [bold]{proto.id}[/] ({len(proto.sites)} sites) in {st.engine.url.render_as_string()} "
                  f"with administrator '{admin}'.")


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
def audit_verify(db: str | None = DB_OPTION) -> None:
    """Recompute the hash chain; name the first record where it breaks (exit code 6)."""
    st = store(db)
    with st.read() as session:
        result = verify_chain(session)
    console.print(result.summary())


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
    for h in ("seq", "when (UTC)", "who", "action", "table", "old", "new", "reason"):
        table.add_column(h, overflow="fold")
    for r in rows:
        table.add_row(str(r["seq"]), r["at"], r["actor"], r["action"], r["table"], r["old"] or "", r["new"] or "",
                      r["reason"] or "")
    console.print(table)


def keygen() -> None:
    """Print a new encryption key for SECUREBASE_ENCRYPTION_KEY (keep it safe: lost key, lost identifiers)."""
    console.print(new_key())


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("keygen")(keygen)
    app.add_typer(protocol_app, name="protocol")
    app.add_typer(audit_app, name="audit")


__all__ = ["register", "AuditRecord", "BLINDED_ROLES", "FieldError", "PermissionDenied"]
