"""``securebase instruments``: list, show and score instruments; REDCap dictionary export and import."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.table import Table

from securebase.cells import SafeDictWriter
from securebase.cli._common import console
from securebase.errors import NotFound, ResponseError
from securebase.instruments import (
    Instrument,
    ResponseValidationError,
    ValueSet,
    list_instruments,
    load_instrument,
    load_instrument_file,
    load_value_set,
    load_wording,
    score,
)
from securebase.interop.redcap_dictionary import (
    export_dictionary,
    read_dictionary,
    variable_name,
)

instruments_app = typer.Typer(help="Outcome instruments: definitions, scoring, REDCap dictionaries.",
                              no_args_is_help=True)

FILE_OPTION = typer.Option(None, "--file", "-f", help="Also load instrument definitions from these YAML files "
                           "(repeatable); they win over built-ins of the same name and version.")
VERSION_OPTION = typer.Option(None, "--version", help="Instrument version; default the highest.")


def _load_files(files: list[Path] | None) -> None:
    for path in files or []:
        load_instrument_file(path)


@instruments_app.command("list")
def list_command(files: list[Path] | None = FILE_OPTION) -> None:
    """List every instrument: name, version, respondent, age range and scales."""
    _load_files(files)
    table = Table(title="Instruments")
    table.add_column("name", no_wrap=True)
    for col in ("version", "title", "respondent", "ages", "scales"):
        table.add_column(col)
    for inst in list_instruments():
        ages = f"{inst.age_min:g}-{inst.age_max:g}" if inst.age_min is not None and inst.age_max is not None else ""
        table.add_row(inst.name, inst.version, inst.title, inst.respondent, ages,
                      ", ".join(s.name for s in inst.scales))
    console.print(table)


@instruments_app.command("show")
def show_command(name: str = typer.Argument(..., help="Instrument name, e.g. sdq_parent."),
                 version: str | None = VERSION_OPTION, files: list[Path] | None = FILE_OPTION,
                 as_yaml: bool = typer.Option(False, "--yaml", help="Print the definition as YAML.")) -> None:
    """Show an instrument's items, missing-value codes, scales and bands (never any licensed wording)."""
    _load_files(files)
    inst = load_instrument(name, version).without_wording()
    if as_yaml:
        console.print(yaml.safe_dump(inst.to_dict(), sort_keys=False, allow_unicode=True), markup=False)
        return
    console.print(f"[bold]{inst.title}[/] ({inst.name} {inst.version}); construct: {inst.construct}; "
                  f"respondent: {inst.respondent}", markup=True)
    if inst.source:
        console.print(f"Source: {inst.source}", markup=False)
    if inst.notes:
        console.print(f"Notes: {inst.notes}", markup=False)
    mc = inst.missing_codes
    console.print(f"Missing-value codes: not answered {mc.not_answered}, not applicable {mc.not_applicable}, "
                  f"refused {mc.refused}", markup=False)
    items = Table(title="Items")
    for col in ("code", "type", "allowed", "reverse", "label"):
        items.add_column(col)
    from securebase.instruments.validation import describe_allowed

    for it in inst.items:
        items.add_row(it.code, it.response_type, describe_allowed(it), "yes" if it.reverse else "", it.label)
    console.print(items)
    scales = Table(title="Scales")
    for col in ("name", "rule", "from", "bands"):
        scales.add_column(col)
    for sc in inst.scales:
        src = ", ".join(sc.items or sc.scales)
        bands = "; ".join(f"{b.label} {b.minimum:g}-{b.maximum:g}" for b in sc.bands)
        rule = sc.rule + (f" (min {sc.min_items} items, {sc.rounding})" if sc.min_items else "")
        scales.add_row(sc.name, rule, src, bands)
    console.print(scales)
    if inst.value_set:
        console.print(f"Value set: {inst.value_set}", markup=False)


def _value_set_for(inst: Instrument, path: Path | None) -> ValueSet | None:
    if path is None:
        return None
    vs_scales = [s for s in inst.scales if s.rule == "value_set"]
    if not vs_scales:
        raise NotFound(f"{inst.name} has no utility scale, so --value-set cannot be used with it")
    dims = vs_scales[0].items
    levels = max(len(inst.item(d).allowed or ()) for d in dims)
    return load_value_set(path, name=path.stem, instrument=inst.name, dimensions=dims, levels=levels,
                          source=str(path))


@instruments_app.command("score")
def score_command(
    name: str = typer.Argument(..., help="Instrument name, e.g. sdq_parent."),
    responses: Path = typer.Option(..., "--responses", "-r", help="CSV with one row per completed form; "
                                   "columns are item codes (or REDCap variable names)."),
    output: Path = typer.Option(Path("scores.csv"), "--output", "-o", help="Where to write the scores CSV."),
    version: str | None = VERSION_OPTION,
    value_set: Path | None = typer.Option(None, "--value-set", help="Value-set file (YAML, or CSV "
                                          "state,utility / dimension,level,decrement) for utility scales."),
    participant_column: str = typer.Option("participant_id", help="Column naming the participant."),
    visit_column: str = typer.Option("visit", help="Column naming the visit."),
    files: list[Path] | None = FILE_OPTION,
) -> None:
    """Score every row of a responses CSV; all rows are checked first and nothing is written if any fails."""
    _load_files(files)
    inst = load_instrument(name, version)
    vs = _value_set_for(inst, value_set)
    if not responses.exists():
        raise NotFound(f"responses file {str(responses)!r} does not exist; give a CSV with one row per form")
    with responses.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        header = list(reader.fieldnames or [])
    by_var = {variable_name(inst.name, it.code): it.code for it in inst.items}
    codes = {it.code for it in inst.items}
    passthrough = [c for c in header if c not in codes and c not in by_var]
    out_rows: list[dict[str, Any]] = []
    issues = []
    for line, row in enumerate(rows, start=2):
        answers = {by_var.get(k, k): v for k, v in row.items() if k in codes or k in by_var}
        participant = row.get(participant_column) or f"row {line}"
        try:
            results = score(inst, answers, value_set=vs, participant=participant, visit=row.get(visit_column))
        except ResponseValidationError as err:
            issues.extend(err.issues)
            continue
        rec: dict[str, Any] = {c: row[c] for c in passthrough}
        for sc in inst.scales:
            res = results[sc.name]
            rec[sc.name] = "" if res.value is None else res.value
            if sc.bands:
                rec[f"{sc.name}_band"] = res.band or ""
            rec[f"{sc.name}_missing_reason"] = res.reason or ""
        out_rows.append(rec)
    if issues:
        shown = "\n".join(f"- {i.message}" for i in issues[:50])
        more = f"\n... and {len(issues) - 50} more" if len(issues) > 50 else ""
        raise ResponseError(f"{len(issues)} responses in {responses} failed their checks; nothing was "
                            f"written. Correct them and run again:\n{shown}{more}")
    fields = passthrough + [f for sc in inst.scales for f in
                            ([sc.name] + ([f"{sc.name}_band"] if sc.bands else []) + [f"{sc.name}_missing_reason"])]
    with output.open("w", newline="", encoding="utf-8") as fh:
        writer = SafeDictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(out_rows)
    console.print(f"Scored {len(out_rows)} forms of {inst.name} {inst.version}; wrote {output}", markup=False)


@instruments_app.command("redcap-export")
def redcap_export_command(
    names: list[str] = typer.Argument(None, help="Instrument names; default every instrument."),
    output: Path = typer.Option(Path("redcap_dictionary.csv"), "--output", "-o", help="CSV to write."),
    include_wording: bool = typer.Option(False, "--include-wording", help="Put item wording the trial team "
                                         "attached into Field Label (only for your own licensed use)."),
    wording: Path | None = typer.Option(None, "--wording", help="Wording file (YAML instrument: {item: text} "
                                        "or CSV instrument,item,wording) held under your licence."),
    files: list[Path] | None = FILE_OPTION,
) -> None:
    """Write a REDCap data dictionary (18 standard columns) holding the chosen instruments."""
    _load_files(files)
    insts = [load_instrument(n) for n in names] if names else list_instruments()
    if wording is not None:
        texts = load_wording(wording)
        insts = [i.with_wording(texts[i.name]) if i.name in texts else i for i in insts]
    output.write_text(export_dictionary(insts, include_wording=include_wording), encoding="utf-8")
    console.print(f"Wrote {len(insts)} instrument(s) to {output}", markup=False)


@instruments_app.command("redcap-import")
def redcap_import_command(
    dictionary: Path = typer.Argument(..., help="REDCap data dictionary CSV."),
    output_dir: Path = typer.Option(Path("instruments"), "--output-dir", "-o",
                                    help="Folder to write one YAML definition per form into."),
    respondent: str = typer.Option("carer", help="Respondent of forms without a securebase annotation."),
    construct: str = typer.Option("", help="Construct of forms without a securebase annotation."),
) -> None:
    """Turn a REDCap data dictionary into instrument YAML files (load them with --file)."""
    read = read_dictionary(dictionary, respondent=respondent, construct=construct)
    output_dir.mkdir(parents=True, exist_ok=True)
    for inst in read.instruments:
        path = output_dir / f"{inst.name}-{inst.version}.yaml"
        path.write_text(yaml.safe_dump(inst.to_dict(), sort_keys=False, allow_unicode=True), encoding="utf-8")
        console.print(f"{inst.name} {inst.version}: {len(inst.items)} items, {len(inst.scales)} scales -> {path}",
                      markup=False)
    console.print(read.summary(), markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(instruments_app, name="instruments")
