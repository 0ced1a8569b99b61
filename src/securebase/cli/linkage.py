"""``securebase import ssda903|cin|school ...``: routine records linked to participants (docs/linkage.md).

These are sub-commands of the ``import`` group of :mod:`securebase.cli.interop`, which adds them; this module
has no ``register`` of its own (no top-level command).

Also ``import linkage-consent`` (the consent or documented legal basis every import needs), ``import
linkage-ids`` (LA child id / UPN, stored encrypted) and ``import match-rates``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from securebase.cli._common import console, err_console, settings, store
from securebase.errors import FieldError
from securebase.trial.audit_view import actor_for

DB = typer.Option(None, "--db", help="Store URL; default SECUREBASE_DATABASE_URL.")
AS = typer.Option(..., "--as", help="Your user name (a data manager, trial manager or administrator).")
TRIAL = typer.Option("ng26-care", "--trial", help="Trial ID.")
SITE = typer.Option(..., "--site", help="Site code of the local authority that sent the extract, e.g. LA01.")
START = typer.Option(..., "--period-start", help="First day the extract covers (yyyy-mm-dd).")
END = typer.Option(..., "--period-end", help="Last day the extract covers (yyyy-mm-dd).")
EXTRACTED = typer.Option(None, "--extract-date", help="Day the authority extracted it (default: --period-end).")


def _date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FieldError(name, value, "a date as yyyy-mm-dd") from None


def _import(source: str, paths: list[Path], user: str, trial: str, site: str, start: str, end: str,
            extracted: str | None, db: str | None, **kw: str | None) -> None:
    from securebase.linkage import link

    files = {p.name: p.read_bytes() for p in paths}
    st = store(db)
    with st.read() as s:
        a = actor_for(s, user, trial)
    try:
        with st.unit_of_work(actor=user) as uow:
            res = link.import_extract(uow, a, source, files, site_code=site, period_start=_date(start, "--period-start"),
                                      period_end=_date(end, "--period-end"),
                                      extract_date=_date(extracted or end, "--extract-date"),
                                      key=settings().encryption_key, **kw)  # type: ignore[arg-type]
            uow.commit()
    except link.ExtractRefused as exc:
        err_console.print(exc.validation.summary(limit=50), soft_wrap=True)
        raise
    console.print(res.summary(), soft_wrap=True)


def add_import_commands(import_app: typer.Typer) -> None:
    """Add the routine-record commands to the ``import`` group (called by ``cli/interop.register``; the group's
    module is the one the lazy CLI imports for ``securebase import ...``)."""
    if any(c.name == "ssda903" for c in import_app.registered_commands):
        return

    @import_app.command("ssda903")
    def ssda903_cmd(files: list[Path] = typer.Argument(..., exists=True, dir_okay=False,  # noqa: B008
                                                        help="The SSDA903 CSV files (Header, Episodes, and optionally "
                                                             "AD1, PlacedAdoption, PrevPerm, Missing ...)."),
                    la_code: str = typer.Option(..., "--la-code", help="The authority's ONS code, e.g. E06000001."),
                    collection_year: str = typer.Option(None, "--collection-year",
                                                        help="DfE collection year, e.g. 2025/26 (default: the year "
                                                             "holding --period-end)."),
                    user: str = AS, trial: str = TRIAL, site: str = SITE, start: str = START, end: str = END,
                    extracted: str = EXTRACTED, db: str = DB) -> None:
        """Import an SSDA903 extract, checked first by the DfE rules (quality-lac-data-validator)."""
        _import("ssda903", files, user, trial, site, start, end, extracted, db, la_code=la_code,
                collection_year=collection_year)

    @import_app.command("cin")
    def cin_cmd(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The CIN census XML file."),  # noqa: B008
                user: str = AS, trial: str = TRIAL, site: str = SITE, start: str = START, end: str = END,
                extracted: str = EXTRACTED, db: str = DB) -> None:
        """Import a Children in Need census XML extract (referrals, section 47 enquiries, protection plans)."""
        _import("cin", [file], user, trial, site, start, end, extracted, db)

    @import_app.command("school")
    def school_cmd(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The school records CSV."),  # noqa: B008
                   user: str = AS, trial: str = TRIAL, site: str = SITE, start: str = START, end: str = END,
                   extracted: str = EXTRACTED, db: str = DB) -> None:
        """Import school records (attendance sessions, suspensions, exclusions, key stage results)."""
        _import("school", [file], user, trial, site, start, end, extracted, db)

    @import_app.command("linkage-consent")
    def consent_cmd(participant: str = typer.Argument(..., help="Trial ID of the participant."),
                    basis: str = typer.Option("consent", "--basis", help="consent or legal_basis."),
                    reference: str = typer.Option(..., "--reference",
                                                  help="Consent form version, or the documented legal basis."),
                    sources: str = typer.Option("ssda903,cin,school", "--sources", help="Comma-separated sources."),
                    given_on: str = typer.Option(..., "--given-on", help="Date given (yyyy-mm-dd)."),
                    user: str = AS, trial: str = TRIAL, db: str = DB) -> None:
        """Record the linkage consent (or documented legal basis) that allows a participant's records to be linked."""
        from securebase.linkage import link

        st = store(db)
        with st.read() as s:
            a = actor_for(s, user, trial)
        with st.unit_of_work(actor=user) as uow:
            link.record_linkage_consent(uow, a, participant, basis=basis, reference=reference,
                                        sources=[x.strip() for x in sources.split(",") if x.strip()],
                                        given_on=_date(given_on, "--given-on"))
            uow.commit()
        console.print(f"linkage consent ({basis}) recorded for {participant}: {sources}")

    @import_app.command("linkage-ids")
    def ids_cmd(participant: str = typer.Argument(..., help="Trial ID of the participant."),
                la_child_id: str = typer.Option(None, "--la-child-id", help="The authority's child id (SSDA903 CHILD)."),
                upn: str = typer.Option(None, "--upn", help="Unique pupil number."),
                user: str = AS, trial: str = TRIAL, db: str = DB) -> None:
        """Store a participant's LA child id and/or UPN, encrypted, for deterministic matching."""
        from securebase.linkage import link

        st = store(db)
        with st.read() as s:
            a = actor_for(s, user, trial)
        with st.unit_of_work(actor=user) as uow:
            link.register_identifiers(uow, a, participant, key=settings().encryption_key, la_child_id=la_child_id,
                                      upn=upn)
            uow.commit()
        console.print(f"linkage identifiers stored (encrypted) for {participant}")

    @import_app.command("match-rates")
    def rates_cmd(user: str = AS, trial: str = TRIAL, db: str = DB) -> None:
        """Match rates: pooled for everyone; by site and arm only for roles that may see allocation."""
        from securebase.linkage.report import match_rates, render

        st = store(db)
        with st.read() as s:
            console.print(render(match_rates(s, actor_for(s, user, trial))), soft_wrap=True)
