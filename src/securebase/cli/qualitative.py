"""``securebase qual ...``: transcripts, codebooks, coding, agreement, framework matrix, REFI-QDA exchange.

Every command acts as a named user (``--as``); roles and sites are checked by the services.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.table import Table

from securebase.cli._common import console, settings, store
from securebase.errors import ProtocolError
from securebase.qualitative import (
    add_memo,
    apply_code,
    code_tree,
    coder_agreement,
    create_codebook,
    export_matrix,
    export_qdpx,
    find_codebook,
    freeze,
    import_qdpx,
    import_transcript,
    list_transcripts,
    new_version,
    read_transcript,
)
from securebase.qualitative.codebook import add_code, flatten
from securebase.trial.audit_view import actor_for

qual_app = typer.Typer(help="Qualitative data: transcripts, coding, agreement, framework matrix, REFI-QDA.",
                       no_args_is_help=True)
codebook_app = typer.Typer(help="Create, show, version and freeze codebooks.", no_args_is_help=True)

DB = typer.Option(None, "--db", help="Store URL; default SECUREBASE_DATABASE_URL.")
AS = typer.Option(..., "--as", help="Your user name (roles and sites are checked).")
TRIAL = typer.Option("ng26-care", "--trial", help="Trial ID.")
CODEBOOK = typer.Option(..., "--codebook", "-c", help="Codebook name.")
#: Ids and versions are PostgreSQL ``integer`` columns (at most 2**31 - 1; PostgreSQL documentation, "Numeric
#: Types"): larger numbers are refused as a usage error (exit 2) before they reach the database driver.
MAX_ID = 2**31 - 1
VERSION = typer.Option(None, "--version", "-v", min=1, max=MAX_ID, help="Codebook version (default: the latest).")


def _actor(st: Any, user: str, trial: str) -> Any:
    with st.read() as s:
        return actor_for(s, user, trial)


def _codebook_id(st: Any, trial: str, name: str, version: int | None) -> int:
    with st.read() as s:
        return find_codebook(s, trial, name, version).id


@qual_app.command("import")
def import_cmd(
    file: Path = typer.Argument(..., help="Transcript file: .txt (UTF-8 or UTF-16 with BOM), .docx or .vtt."),
    speaker: str = typer.Option(..., "--speaker", help="Who was interviewed: carer, child or practitioner."),
    participant: str | None = typer.Option(None, "--participant", "-p", help="Participant ID (not for practitioners)."),
    visit: str | None = typer.Option(None, "--visit", help="Visit ID the interview belongs to, e.g. m6."),
    title: str | None = typer.Option(None, "--title", help="Title (default: the file name)."),
    fmt: str | None = typer.Option(None, "--format", help="text, docx or vtt (default: from the suffix)."),
    pseudonymise: list[str] = typer.Option([], "--pseudonymise", "-x",
                                           help="A term to replace, as 'term=TAG' (e.g. 'Leeds=PLACE'); repeat."),
    no_identifiers: bool = typer.Option(False, "--no-identifier-record",
                                        help="Do not use the participant's identifier record for pseudonymisation."),
    user: str = AS, trial: str = TRIAL, db: str | None = DB,
) -> None:
    """Import a transcript (consent for the qualitative part is checked) and pseudonymise it."""
    read = read_transcript(file, fmt)
    st = store(db)
    a = _actor(st, user, trial)
    with st.unit_of_work(actor=user) as uow:
        res = import_transcript(uow, a, read, speaker_role=speaker, participant_id=participant, visit_id=visit,
                                title=title, pseudonymise_with=pseudonymise or None,
                                use_identifier_record=not no_identifiers,
                                encryption_key=settings().encryption_key or None)
        uow.commit()
    console.print(res.summary())


@qual_app.command("list")
def list_cmd(user: str = AS, trial: str = TRIAL, db: str | None = DB) -> None:
    """List the transcripts you may read."""
    st = store(db)
    a = _actor(st, user, trial)
    table = Table(title=f"Transcripts of {trial}")
    for h in ("id", "title", "participant", "site", "visit", "speaker", "characters", "pseudonymised"):
        table.add_column(h)
    with st.read() as s:
        for i in list_transcripts(s, a):
            table.add_row(str(i.id), i.title, i.participant_id or "", i.site_code or "", i.visit_id or "",
                          i.speaker_role, str(i.characters), "yes" if i.pseudonymised else "no")
    console.print(table)


def _load_codes(uow: Any, a: Any, cb_id: int, items: list[dict[str, Any]], parent: int | None, file: Path) -> int:
    n = 0
    for item in items:
        if not isinstance(item, dict) or "name" not in item:
            raise ProtocolError("each code needs a 'name' (and optional definition, inclusion, exclusion, colour, "
                                "codes)", file=str(file))
        c = add_code(uow, a, cb_id, str(item["name"]), definition=str(item.get("definition", "")),
                     inclusion=str(item.get("inclusion", "")), exclusion=str(item.get("exclusion", "")),
                     colour=item.get("colour"), parent=parent)
        n += 1 + _load_codes(uow, a, cb_id, item.get("codes", []) or [], c.id, file)
    return n


@codebook_app.command("create")
def codebook_create(name: str = typer.Argument(..., help="Codebook name."),
                    from_yaml: Path | None = typer.Option(None, "--from", help="YAML file: a list of codes, each with "
                                                          "name, definition, inclusion, exclusion, colour, codes."),
                    user: str = AS, trial: str = TRIAL, db: str | None = DB) -> None:
    """Create the next version of a codebook (empty, or with the codes of a YAML file)."""
    st = store(db)
    a = _actor(st, user, trial)
    with st.unit_of_work(actor=user) as uow:
        cb = create_codebook(uow, a, name)
        n = 0
        if from_yaml is not None:
            items = yaml.safe_load(from_yaml.read_text(encoding="utf-8")) or []
            if isinstance(items, dict):
                items = items.get("codes", [])
            n = _load_codes(uow, a, cb.id, items, None, from_yaml)
        uow.commit()
    console.print(f"created codebook '{cb.name}' version {cb.version} with {n} codes")


@codebook_app.command("add-code")
def codebook_add_code(name: str = typer.Argument(..., help="Code name."), codebook: str = CODEBOOK,
                      version: int | None = VERSION,
                      parent: str | None = typer.Option(None, "--parent", help="Parent code (name or path)."),
                      definition: str = typer.Option("", "--definition", help="What the code means."),
                      inclusion: str = typer.Option("", "--inclusion", help="When to apply it."),
                      exclusion: str = typer.Option("", "--exclusion", help="When not to apply it."),
                      colour: str | None = typer.Option(None, "--colour", help="Colour like #1f77b4."),
                      user: str = AS, trial: str = TRIAL, db: str | None = DB) -> None:
    """Add a code to a codebook version (not frozen)."""
    st = store(db)
    a = _actor(st, user, trial)
    cb_id = _codebook_id(st, trial, codebook, version)
    with st.unit_of_work(actor=user) as uow:
        c = add_code(uow, a, cb_id, name, definition=definition, inclusion=inclusion, exclusion=exclusion,
                     parent=parent, colour=colour)
        uow.commit()
    console.print(f"added code {c.id} '{c.name}'")


@codebook_app.command("show")
def codebook_show(codebook: str = typer.Argument(..., help="Codebook name."), version: int | None = VERSION,
                  user: str = AS, trial: str = TRIAL, db: str | None = DB) -> None:
    """Print the code tree with definitions, inclusion and exclusion notes."""
    st = store(db)
    a = _actor(st, user, trial)
    with st.read() as s:
        cb = find_codebook(s, trial, codebook, version)
        nodes = flatten(code_tree(s, a, cb.id))
    table = Table(title=f"{cb.name} version {cb.version}" + (" (frozen)" if cb.frozen else ""))
    for h in ("id", "code", "definition", "inclusion", "exclusion"):
        table.add_column(h, overflow="fold")
    for n in nodes:
        table.add_row(str(n.id), "  " * n.depth + n.name, n.definition, n.inclusion, n.exclusion)
    console.print(table)


@codebook_app.command("new-version")
def codebook_new_version(codebook: str = typer.Argument(..., help="Codebook name."), version: int | None = VERSION,
                         user: str = AS, trial: str = TRIAL, db: str | None = DB) -> None:
    """Copy a version (default: the latest) with all its codes to the next version number."""
    st = store(db)
    a = _actor(st, user, trial)
    cb_id = _codebook_id(st, trial, codebook, version)
    with st.unit_of_work(actor=user) as uow:
        cb = new_version(uow, a, cb_id)
        uow.commit()
    console.print(f"created codebook '{cb.name}' version {cb.version}")


@codebook_app.command("freeze")
def codebook_freeze(codebook: str = typer.Argument(..., help="Codebook name."), version: int | None = VERSION,
                    user: str = AS, trial: str = TRIAL, db: str | None = DB) -> None:
    """Freeze a version: no more codes can be added to it."""
    st = store(db)
    a = _actor(st, user, trial)
    cb_id = _codebook_id(st, trial, codebook, version)
    with st.unit_of_work(actor=user) as uow:
        cb = freeze(uow, a, cb_id)
        uow.commit()
    console.print(f"codebook '{cb.name}' version {cb.version} is frozen")


def _code_ref(code: str) -> int | str:
    """A code id (1 to MAX_ID) when ``code`` is all digits, else a code name or path; bad ids: usage error."""
    if code.isascii() and code.isdigit():
        n = int(code)
        if not 1 <= n <= MAX_ID:
            raise typer.BadParameter(f"a code id must be from 1 to {MAX_ID}; got {code}", param_hint="'CODE'")
        return n
    return code


@qual_app.command("code")
def code_cmd(transcript: int = typer.Argument(..., min=1, max=MAX_ID, help="Transcript id (see `qual list`)."),
             code: str = typer.Argument(..., help="Code id, name or path (Theme/Subtheme)."),
             start: int = typer.Option(..., "--start", help="First character (0-based)."),
             end: int = typer.Option(..., "--end", help="One past the last character."),
             codebook: str = CODEBOOK, version: int | None = VERSION,
             user: str = AS, trial: str = TRIAL, db: str | None = DB) -> None:
    """Apply a code to characters [start, end) of a transcript, as coder --as."""
    st = store(db)
    a = _actor(st, user, trial)
    cb_id = _codebook_id(st, trial, codebook, version)
    with st.unit_of_work(actor=user) as uow:
        seg = apply_code(uow, a, cb_id, transcript, _code_ref(code), start, end)
        uow.commit()
    console.print(f"coded segment {seg.id}: characters {seg.start}-{seg.end}")


@qual_app.command("memo")
def memo_cmd(text: str = typer.Argument(..., help="The memo."),
             transcript: int | None = typer.Option(None, "--transcript", min=1, max=MAX_ID,
                                                   help="Transcript id it is about."),
             code: int | None = typer.Option(None, "--code", min=1, max=MAX_ID,
                                             help="Code id it is about (a theme: a matrix summary)."),
             user: str = AS, trial: str = TRIAL, db: str | None = DB) -> None:
    """Write a memo on a transcript, a code, both, or the project."""
    st = store(db)
    a = _actor(st, user, trial)
    with st.unit_of_work(actor=user) as uow:
        m = add_memo(uow, a, text, transcript_id=transcript, code_id=code)
        uow.commit()
    console.print(f"memo {m.id} saved")


@qual_app.command("kappa")
def kappa_cmd(codebook: str = CODEBOOK, version: int | None = VERSION,
              unit: str = typer.Option("character", "--unit", help="character or segment (paragraph) units."),
              coders: str | None = typer.Option(None, "--coders", help="Comma-separated coders (default: all)."),
              as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
              user: str = AS, trial: str = TRIAL, db: str | None = DB) -> None:
    """Percentage agreement and Cohen's kappa per code between coders."""
    st = store(db)
    a = _actor(st, user, trial)
    cb_id = _codebook_id(st, trial, codebook, version)
    with st.read() as s:
        res = coder_agreement(s, a, cb_id, unit=unit, coders=coders.split(",") if coders else None)
    if as_json:
        console.print_json(json.dumps(res.to_dict()))
    else:
        console.print(res.summary(), markup=False)


@qual_app.command("matrix")
def matrix_cmd(out: Path = typer.Option(..., "--out", "-o", help="Output file, .xlsx or .csv."),
               codebook: str = CODEBOOK, version: int | None = VERSION,
               site: str | None = typer.Option(None, "--site", help="Only this site."),
               age_band: str | None = typer.Option(None, "--age-band", help="Only this age band (5-10, 11-17)."),
               arm: str | None = typer.Option(None, "--arm", help="Only this arm (roles that may see allocation)."),
               user: str = AS, trial: str = TRIAL, db: str | None = DB) -> None:
    """Write the framework matrix (participants x themes) to XLSX or CSV."""
    st = store(db)
    a = _actor(st, user, trial)
    cb_id = _codebook_id(st, trial, codebook, version)
    with st.unit_of_work(actor=user) as uow:
        p = export_matrix(uow, a, cb_id, out, site=site, age_band=age_band, arm=arm)
        uow.commit()
    console.print(f"wrote {p}")


@qual_app.command("export-qdpx")
def export_cmd(out: Path = typer.Option(..., "--out", "-o", help="Output .qdpx file."),
               codebook: str = CODEBOOK, version: int | None = VERSION,
               user: str = AS, trial: str = TRIAL, db: str | None = DB) -> None:
    """Export a codebook version with transcripts, segments and memos as a REFI-QDA project."""
    st = store(db)
    a = _actor(st, user, trial)
    cb_id = _codebook_id(st, trial, codebook, version)
    with st.unit_of_work(actor=user) as uow:
        res = export_qdpx(uow, a, cb_id, out)
        uow.commit()
    console.print(res.summary())


@qual_app.command("import-qdpx")
def import_qdpx_cmd(file: Path = typer.Argument(..., help="A REFI-QDA project (.qdpx)."),
                    name: str | None = typer.Option(None, "--codebook-name",
                                                    help="Name of the new codebook (default: from the project)."),
                    assign: list[str] = typer.Option([], "--assign",
                                                     help="'<source name or GUID>=<participant ID>' or "
                                                          "'<source name or GUID>=practitioner' for a source without a "
                                                          "case (repeat for each; such sources are refused otherwise)."),
                    terms: list[str] = typer.Option([], "--pseudonymise",
                                                    help="'term=TAG' (e.g. 'Ellie=CHILD') to replace in every imported "
                                                         "source, coded segments moved with the text (repeatable)."),
                    identifiers: bool = typer.Option(False, "--use-identifiers/--no-identifiers",
                                                     help="Also replace the names and places of each matched "
                                                          "participant's identifier record (needs the settings key)."),
                    user: str = AS, trial: str = TRIAL, db: str | None = DB) -> None:
    """Import a REFI-QDA project (from NVivo, ATLAS.ti, MAXQDA or securebase) into the trial."""
    st = store(db)
    a = _actor(st, user, trial)
    pairs = {}
    for entry in assign:
        if "=" not in entry:
            raise typer.BadParameter(f"--assign {entry!r}: expected '<source>=<participant ID>' or "
                                     "'<source>=practitioner'")
        source, target = entry.rsplit("=", 1)
        pairs[source.strip()] = target.strip()
    with st.unit_of_work(actor=user) as uow:
        res = import_qdpx(uow, a, file, codebook_name=name, assign=pairs, pseudonymise_with=terms or None,
                          use_identifier_record=identifiers, encryption_key=(settings().encryption_key or None) if identifiers else None)
        uow.commit()
    console.print(res.summary())


qual_app.add_typer(codebook_app, name="codebook")


def register(app: typer.Typer) -> None:
    app.add_typer(qual_app, name="qual")
