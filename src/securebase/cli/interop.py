"""``securebase export|import|lock|backup|restore|compare``: data exchange and integrity.

Thin: each command turns its arguments into one call of ``securebase.interop`` or ``securebase.trial.lock``
and prints the result's summary. Errors come back as one message (never a traceback).
"""

from __future__ import annotations

from pathlib import Path

import typer

from securebase.cli._common import console, store
from securebase.errors import FieldError, SecurebaseError

DB_OPTION = typer.Option(None, "--db", help="Store URL; default SECUREBASE_DATABASE_URL.")
AS_OPTION = typer.Option(..., "--as", help="Your user name (your roles on the trial decide what you may do and see).")

export_app = typer.Typer(help="Export a trial: CDISC ODM 1.3.2, REDCap, or analysis files (CSV, Parquet, Stata).",
                         no_args_is_help=True)
import_app = typer.Typer(help="Import CDISC ODM 1.3.2 or a REDCap project into a trial.", no_args_is_help=True)


def _actor(st, username: str, trial: str):  # type: ignore[no-untyped-def]
    from securebase.trial.audit_view import actor_for

    with st.read() as session:
        return actor_for(session, username, trial)


# ------------------------------------------------------------------------------------------- export
@export_app.command("odm")
def export_odm(trial: str = typer.Argument(..., help="Trial id, e.g. ng26-care."),
               out: Path = typer.Option(..., "--out", "-o", help="ODM XML file to write."),
               as_user: str = AS_OPTION,
               audit: bool = typer.Option(True, "--audit/--no-audit", help="Include the trial's audit trail as AuditRecords."),
               validate: bool = typer.Option(True, "--validate/--no-validate", help="Check the file against the ODM 1.3.2 schema."),
               db: str | None = DB_OPTION) -> None:
    """Write the trial (metadata, clinical data, audit records) as CDISC ODM 1.3.2 XML."""
    from securebase.interop.odm_export import write_odm

    st = store(db)
    result = write_odm(st, _actor(st, as_user, trial), out, include_audit=audit, check=validate)
    console.print(result.summary())


@export_app.command("redcap")
def export_redcap(trial: str = typer.Argument(..., help="Trial id."),
                  out_dir: Path = typer.Option(..., "--out-dir", "-o", help="Folder for the dictionary, records and event files."),
                  as_user: str = AS_OPTION,
                  db: str | None = DB_OPTION) -> None:
    """Write a REDCap data dictionary, a longitudinal records CSV, and the events and form-event mapping files."""
    from securebase.interop.redcap_records import write_redcap

    st = store(db)
    result = write_redcap(st, _actor(st, as_user, trial), out_dir)
    console.print(result.summary())


@export_app.command("analysis")
def export_analysis(trial: str = typer.Argument(..., help="Trial id."),
                    out_dir: Path = typer.Option(..., "--out-dir", "-o", help="Folder for the data files and the dictionary."),
                    as_user: str = AS_OPTION,
                    formats: str = typer.Option("csv,parquet,dta", "--format", "-f",
                                                help="Comma-separated: csv, parquet, dta (Stata, see --stata-version)."),
                    allocation: str = typer.Option("none", "--allocation",
                                                   help="none | arms (arm ids) | coded (A/B; the key is written "
                                                        "only to --key-file). arms and coded need an unblinded role."),
                    key_file: Path | None = typer.Option(None, "--key-file",
                                                         help="Where the code key of --allocation coded is written "
                                                              "(must be outside --out-dir)."),
                    seed: int | None = typer.Option(None, "--seed", help="Seed of the A/B code assignment (random if not given)."),
                    stata_version: int = typer.Option(118, "--stata-version",
                                                      help="Stata file format: 114 (Stata 10-12), 117 (Stata 13), 118 "
                                                           "(Stata 14+, default) or 119 (Stata 15+, > 32,767 variables)."),
                    db: str | None = DB_OPTION) -> None:
    """Analysis files (participants, visits, responses, scores, events) with a data dictionary; no identifiers."""
    from securebase.interop.exports import AnalysisExport

    st = store(db)
    fmts = tuple(f.strip().lower() for f in formats.split(",") if f.strip())
    exporter = AnalysisExport(formats=fmts, allocation=allocation, key_file=key_file, seed=seed,
                              stata_version=stata_version)
    result = exporter.write(st, _actor(st, as_user, trial), out_dir)
    console.print(result.summary())


# ------------------------------------------------------------------------------------------- import
@import_app.command("odm")
def import_odm(file: Path = typer.Argument(..., help="ODM 1.3.2 XML file: written by `securebase export odm`, or by "
                                                  "another system together with --mapping."),
               trial: str = typer.Option(..., "--trial", help="Trial to import into (created with `securebase init`)."),
               as_user: str = AS_OPTION,
               validate: bool = typer.Option(True, "--validate/--no-validate", help="Check the file against the official ODM 1.3.2 schema first."),
               mapping: Path | None = typer.Option(None, "--mapping", help="YAML file mapping another system's study "
                                                   "events and items to visits and instrument items (docs/interop.md)."),
               db: str | None = DB_OPTION) -> None:
    """Import subjects, visits, responses (with missing-value codes), scores and events from ODM; answers from
    another system's ODM file through a mapping file."""
    from securebase.interop.odm_import import import_odm as run

    st = store(db)
    result = run(st, _actor(st, as_user, trial), file, check=validate, mapping=mapping)
    console.print(result.summary())


@import_app.command("redcap")
def import_redcap(trial: str = typer.Option(..., "--trial", help="Trial to import into."),
                  dictionary: Path = typer.Option(..., "--dictionary", help="REDCap data dictionary CSV."),
                  records: Path = typer.Option(..., "--records", help="REDCap records export CSV (raw values; flat or longitudinal)."),
                  as_user: str = AS_OPTION,
                  visit: str | None = typer.Option(None, "--visit",
                                                   help="Flat projects (no redcap_event_name): the visit id every row belongs to."),
                  db: str | None = DB_OPTION) -> None:
    """Import a REDCap project's records (with its data dictionary) into a trial."""
    from securebase.interop.redcap_import import import_redcap as run

    st = store(db)
    result = run(st, _actor(st, as_user, trial), dictionary, records, flat_visit=visit)
    console.print(result.summary())


# ------------------------------------------------------------------------------------- lock/backup
def lock(words: list[str] = typer.Argument(..., metavar="[release|status] TRIAL",
                                           help="`lock TRIAL` freezes it; `lock release TRIAL` unlocks it; "
                                                "`lock status TRIAL` checks the data against the lock hash."),
         reason: str | None = typer.Option(None, "--reason", help="Why (required to lock and to release; audited)."),
         as_user: str | None = typer.Option(None, "--as", help="Your user name (lock: trial manager, data manager or "
                                                               "administrator; release: trial manager or administrator)."),
         db: str | None = DB_OPTION) -> None:
    """Database lock: freeze a trial's data, release it with a reason, or check it."""
    from securebase.trial.lock import lock_status, lock_trial, release_lock

    if len(words) == 1:
        action, trial = "lock", words[0]
    elif len(words) == 2 and words[0] in ("release", "status"):
        action, trial = words
    else:
        raise FieldError("arguments", " ".join(words), "TRIAL, 'release TRIAL' or 'status TRIAL'",
                         "for example: securebase lock ng26-care --reason 'final analysis' --as tm1")
    st = store(db)
    if action == "status":
        with st.read() as session:
            console.print(lock_status(session, trial).summary())
        return
    if not as_user:
        raise FieldError("--as", "", "your user name", "locking and releasing are done on behalf of a named user")
    actor = _actor(st, as_user, trial)
    with st.unit_of_work(actor=as_user, reason=reason) as uow:
        result = lock_trial(uow, actor, reason) if action == "lock" else release_lock(uow, actor, reason)
        uow.commit()
    console.print(result.summary())


def backup(file: Path = typer.Argument(..., help="Backup file to write (a zip)."), db: str | None = DB_OPTION) -> None:
    """Back up the whole store (every table, the audit chain included) to a portable zip."""
    from securebase.interop.backup import backup_store

    console.print(backup_store(store(db), file).summary())


def restore(file: Path = typer.Argument(..., help="Backup file written by `securebase backup`."),
            replace: bool = typer.Option(False, "--replace", help="Delete everything in the target store first."),
            accept_unsigned: bool = typer.Option(False, "--accept-unsigned",
                                                 help="Restore a backup that carries no audit-key signature (one "
                                                      "written before the store had a key)."),
            db: str | None = DB_OPTION) -> None:
    """Restore a backup into an empty store (SQLite or PostgreSQL); then run `securebase audit verify`.

    The backup's signature is checked under the audit key first; a backup that does not verify is refused."""
    from securebase.interop.backup import restore_store

    console.print(restore_store(store(db, create=True), file, replace=replace, accept_unsigned=accept_unsigned).summary())


def compare(url1: str = typer.Argument(..., help="First store URL."),
            url2: str = typer.Argument(..., help="Second store URL.")) -> None:
    """Compare every row of two stores; exit code 1 when they differ."""
    from securebase.interop.backup import compare_stores

    result = compare_stores(store(url1), store(url2))
    console.print(result.summary())
    if not result.identical:
        raise SecurebaseError(f"the stores differ in {len(result.differences)} tables (listed above)")


def register(app: typer.Typer) -> None:
    from securebase.cli.linkage import add_import_commands  # securebase import ssda903|cin|school ...

    add_import_commands(import_app)
    app.add_typer(export_app, name="export")
    app.add_typer(import_app, name="import")
    app.command("lock")(lock)
    app.command("backup")(backup)
    app.command("restore")(restore)
    app.command("compare")(compare)
