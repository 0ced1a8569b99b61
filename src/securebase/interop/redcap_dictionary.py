"""REDCap data dictionary import and export for instrument definitions.

A REDCap data dictionary is a CSV with 18 standard columns, one row per field; each instrument is a
REDCap form (``Form Name`` = instrument name) and each item a field named ``<form>_<item code>``.
What REDCap's columns can hold is written there (field type, choices, validation type and bounds,
label); what they cannot (item codes, response types, reverse scoring, score maps, unit-cost keys,
missing-value codes, scales, bands, constraints, the value set) is written as JSON in the
``Field Annotation`` column after the tags ``@SECUREBASE-ITEM=`` (every field) and
``@SECUREBASE-INSTRUMENT=`` (the form's first field). REDCap keeps annotations untouched, so a
dictionary exported here and imported back gives the same definitions; when the standard columns were
edited in REDCap (choices, bounds, label) those edits win. Dictionaries made in REDCap without our
tags are imported from the standard columns alone (no scales).

Item wording is exported only when asked (``include_wording=True``) and only if the trial team
attached it; the built-ins carry none.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from securebase.cells import SafeDictWriter, unescape_row
from securebase.errors import DataError, ProtocolError
from securebase.instruments.model import Instrument, Item

COLUMNS: tuple[str, ...] = (
    "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
    "Choices, Calculations, OR Slider Labels", "Field Note", "Text Validation Type OR Show Slider Number",
    "Text Validation Min", "Text Validation Max", "Identifier?", "Branching Logic (Show field only if...)",
    "Required Field?", "Custom Alignment", "Question Number (surveys only)", "Matrix Group Name",
    "Matrix Ranking?", "Field Annotation",
)
ITEM_TAG = "@SECUREBASE-ITEM="
INSTRUMENT_TAG = "@SECUREBASE-INSTRUMENT="
_STANDARD_ITEM_FIELDS = {"allowed", "value_labels", "minimum", "maximum", "wording"}


def variable_name(form: str, code: str) -> str:
    """REDCap variable name for an item: lower case letters, digits and underscores, from a letter."""
    var = re.sub(r"[^a-z0-9_]", "_", f"{form}_{code}".lower())
    if not var[0].isalpha():
        var = "v_" + var
    return var


def _num_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _choices(item: Item) -> str:
    if item.allowed is None:
        return ""
    labels = item.value_labels or {}
    return " | ".join(f"{v}, {labels.get(str(v), str(v))}" for v in item.allowed)


def _field_type(item: Item) -> tuple[str, str]:
    rt = item.response_type
    if rt in ("ordinal", "category"):
        return "radio", ""
    if rt == "integer":
        return "text", "integer"
    if rt == "decimal":
        return "text", "number"
    if rt == "date":
        return "text", "date_ymd"
    return "text", ""


def _item_row(inst: Instrument, item: Item, first: bool, include_wording: bool) -> dict[str, str]:
    ftype, validation = _field_type(item)
    default_label = item.label or item.code
    label = item.wording if (include_wording and item.wording) else default_label
    meta = item.model_dump(mode="json", exclude_defaults=True, exclude=_STANDARD_ITEM_FIELDS)
    meta["code"], meta["response_type"] = item.code, item.response_type
    annotation = ITEM_TAG + json.dumps(meta, separators=(",", ":"), sort_keys=True)
    if first:
        inst_meta = inst.model_dump(mode="json", exclude_defaults=True, exclude={"items"})
        annotation = INSTRUMENT_TAG + json.dumps(inst_meta, separators=(",", ":"), sort_keys=True) + \
            " " + annotation
    row = dict.fromkeys(COLUMNS, "")
    row.update({
        "Variable / Field Name": variable_name(inst.name, item.code),
        "Form Name": inst.name,
        "Field Type": ftype,
        "Field Label": label,
        "Choices, Calculations, OR Slider Labels": _choices(item),
        "Field Note": f"unit: {item.unit}" if item.unit else "",
        "Text Validation Type OR Show Slider Number": validation,
        "Text Validation Min": _num_text(item.minimum),
        "Text Validation Max": _num_text(item.maximum),
        "Field Annotation": annotation,
    })
    return row


def export_dictionary(instruments: Iterable[Instrument], *, include_wording: bool = False) -> str:
    """The REDCap data dictionary CSV (text) holding ``instruments``, one form each."""
    buf = io.StringIO()
    writer = SafeDictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    names: set[str] = set()
    for inst in instruments:
        if inst.name in names:
            raise ProtocolError(f"instrument {inst.name} appears twice; REDCap forms need unique names")
        names.add(inst.name)
        variables: dict[str, str] = {}
        for k, item in enumerate(inst.items):
            var = variable_name(inst.name, item.code)
            if var in variables:
                raise ProtocolError(f"items {variables[var]!r} and {item.code!r} of {inst.name} both become "
                                    f"REDCap variable {var}; rename one of them")
            variables[var] = item.code
            for code in item.allowed or ():
                label = (item.value_labels or {}).get(str(code), "")
                if any(ch in str(code) for ch in ",|") or "|" in label:
                    raise ProtocolError(f"choice {code!r} of item {item.code} in {inst.name} cannot be written to "
                                        "REDCap: codes may not contain ',' or '|' and labels may not contain '|'")
            writer.writerow(_item_row(inst, item, k == 0, include_wording))
    return buf.getvalue()


def write_dictionary(path: str | Path, instruments: Iterable[Instrument], *,
                     include_wording: bool = False) -> Path:
    p = Path(path)
    p.write_text(export_dictionary(instruments, include_wording=include_wording), encoding="utf-8")
    return p


def _tag_json(annotation: str, tag: str, where: str) -> dict[str, Any] | None:
    pos = annotation.find(tag)
    if pos < 0:
        return None
    try:
        obj, _ = json.JSONDecoder().raw_decode(annotation, pos + len(tag))
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"the {tag.rstrip('=')} annotation is not valid JSON ({exc.msg})",
                            field=where) from exc
    if not isinstance(obj, dict):
        raise ProtocolError(f"the {tag.rstrip('=')} annotation must be a JSON object", field=where)
    return obj


def _parse_choices(text: str, where: str) -> tuple[list[str], dict[str, str]]:
    codes: list[str] = []
    labels: dict[str, str] = {}
    for part in text.split("|"):
        part = part.strip()
        if not part:
            continue
        code, sep, label = part.partition(",")
        if not sep:
            raise ProtocolError(f"choice {part!r} must be 'code, label'", field=where)
        codes.append(code.strip())
        labels[code.strip()] = label.strip()
    return codes, labels


def _typed(value: str, kind: str) -> Any:
    if value == "":
        return None
    if kind == "date":
        return value
    f = float(value)
    return int(f) if kind in ("ordinal", "integer") or (f.is_integer() and "." not in value) else f


def _standard_fields(row: dict[str, str], response_type: str, where: str) -> dict[str, Any]:
    """What the standard REDCap columns say about an item."""
    out: dict[str, Any] = {}
    choices = row.get("Choices, Calculations, OR Slider Labels", "")
    if response_type in ("ordinal", "category"):
        codes, labels = _parse_choices(choices, where)
        if response_type == "ordinal" or all(re.fullmatch(r"-?\d+", c) for c in codes):
            allowed: list[Any] = [int(c) for c in codes]
        else:
            allowed = codes
        out["allowed"] = allowed
        vl = {c: lab for c, lab in labels.items() if lab != c}
        out["value_labels"] = vl or None
    kind = "integer" if response_type == "integer" else ("date" if response_type == "date" else "decimal")
    if response_type in ("integer", "decimal", "date"):
        out["minimum"] = _typed(row.get("Text Validation Min", "").strip(), kind)
        out["maximum"] = _typed(row.get("Text Validation Max", "").strip(), kind)
    return out


def _plain_type(row: dict[str, str], where: str) -> str | None:
    ftype = row.get("Field Type", "").strip()
    validation = row.get("Text Validation Type OR Show Slider Number", "").strip()
    if ftype in ("radio", "dropdown"):
        codes, _ = _parse_choices(row.get("Choices, Calculations, OR Slider Labels", ""), where)
        return "ordinal" if all(re.fullmatch(r"-?\d+", c) for c in codes) else "category"
    if ftype in ("yesno", "truefalse"):
        return "category"
    if ftype == "slider":
        return "integer"
    if ftype == "text":
        if validation == "integer":
            return "integer"
        if validation.startswith("number"):
            return "decimal"
        if validation.startswith("date_"):
            return "date"
        return "free_text"
    if ftype == "notes":
        return "free_text"
    if ftype in ("calc", "descriptive", "file", "sql"):
        return None
    raise ProtocolError(f"field type {ftype!r} cannot be imported (checkbox, signature ... have no single "
                        "value); split a checkbox into yes/no fields in REDCap first", field=where)


def _item_from_row(row: dict[str, str], form: str, where: str) -> Item | None:
    annotation = row.get("Field Annotation", "")
    meta = _tag_json(annotation, ITEM_TAG, where)
    label = row.get("Field Label", "").strip()
    if meta is None:
        rt = _plain_type(row, where)
        if rt is None:
            return None
        var = row["Variable / Field Name"].strip()
        code = var[len(form) + 1:] if var.startswith(form + "_") else var
        data: dict[str, Any] = {"code": code, "label": label, "response_type": rt}
        ftype = row.get("Field Type", "").strip()
        if ftype == "yesno":
            data.update(allowed=[1, 0], value_labels={"1": "Yes", "0": "No"})
        elif ftype == "truefalse":
            data.update(allowed=[1, 0], value_labels={"1": "True", "0": "False"})
        elif ftype == "slider":
            data.update(minimum=float(row.get("Text Validation Min") or 0),
                        maximum=float(row.get("Text Validation Max") or 100))
        else:
            data.update({k: v for k, v in _standard_fields(row, rt, where).items() if v is not None})
        return Item.model_validate(data)
    data = dict(meta)
    standard = _standard_fields(row, str(meta.get("response_type")), where)
    data.update({k: v for k, v in standard.items() if v is not None})
    default_label = str(meta.get("label") or meta.get("code"))
    if label and label != default_label:
        data["wording"] = label
    return Item.model_validate(data)


def import_dictionary(source: str | Path, *, respondent: str = "carer", construct: str = "",
                      version: str = "redcap") -> list[Instrument]:
    """Instruments defined in a REDCap data dictionary (a path, or the CSV text itself).

    ``respondent``, ``construct`` and ``version`` fill in forms that were made in REDCap and carry no
    @SECUREBASE-INSTRUMENT annotation.
    """
    origin = "<text>"
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source and source.endswith(".csv")):
        p = Path(source)
        if not p.exists():
            raise ProtocolError("the data dictionary file does not exist; give the path of a REDCap "
                                "data dictionary CSV", file=str(p))
        try:
            origin, text = str(p), p.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DataError(f"the data dictionary {str(p)!r} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} "
                            f"at offset {exc.start} cannot be decoded); save it as UTF-8 CSV (in Excel: "
                            "'CSV UTF-8') and try again", file=str(p)) from None
    else:
        text = str(source).lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text))
    header = tuple(reader.fieldnames or ())
    missing = [c for c in ("Variable / Field Name", "Form Name", "Field Type", "Field Label") if c not in header]
    if missing:
        raise ProtocolError(f"not a REDCap data dictionary: columns {missing} are missing (got {list(header)})",
                            file=origin, line=1)
    forms: dict[str, dict[str, Any]] = {}
    for line, row in enumerate(reader, start=2):
        row = unescape_row(row)  # cells securebase escaped against formula injection (securebase.cells)
        form = (row.get("Form Name") or "").strip()
        var = (row.get("Variable / Field Name") or "").strip()
        where = f"{var} (line {line})"
        if not form or not var:
            raise ProtocolError("every row needs a variable name and a form name", file=origin, line=line)
        entry = forms.setdefault(form, {"meta": None, "items": []})
        inst_meta = _tag_json(row.get("Field Annotation", ""), INSTRUMENT_TAG, where)
        if inst_meta is not None:
            entry["meta"] = inst_meta
        try:
            item = _item_from_row(row, form, where)
        except ValidationError as exc:
            raise ProtocolError(f"field cannot become an item: {exc.errors()[0]['msg']}", file=origin,
                                line=line, field=var) from exc
        except ValueError as exc:
            if isinstance(exc, ProtocolError):
                raise
            raise ProtocolError(f"bad number in the field definition: {exc}", file=origin, line=line,
                                field=var) from exc
        if item is not None:
            entry["items"].append(item)
    out: list[Instrument] = []
    for form, entry in forms.items():
        meta = entry["meta"] or {
            "name": re.sub(r"[^a-z0-9_]", "_", form.lower()), "version": version, "title": form,
            "label": form, "construct": construct or "not stated (imported from REDCap)",
            "respondent": respondent,
        }
        try:
            out.append(Instrument.model_validate({**meta, "items": entry["items"]}))
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ProtocolError(f"form {form}: {err['msg']}", file=origin,
                                field=".".join(str(x) for x in err["loc"])) from exc
    return out
