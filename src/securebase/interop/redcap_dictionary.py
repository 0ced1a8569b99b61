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
# REDCap's API (``content=metadata``) and its "Download data dictionary" use other names for the same
# 18 columns, in the same order.
API_COLUMNS: tuple[str, ...] = (
    "field_name", "form_name", "section_header", "field_type", "field_label", "select_choices_or_calculations",
    "field_note", "text_validation_type_or_show_slider_number", "text_validation_min", "text_validation_max",
    "identifier", "branching_logic", "required_field", "custom_alignment", "question_number", "matrix_group_name",
    "matrix_ranking", "field_annotation",
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


def export_dictionary(instruments: Iterable[Instrument], *, include_wording: bool = False,
                      record_id: str | None = "record_id") -> str:
    """The REDCap data dictionary CSV (text) holding ``instruments``, one form each.

    REDCap takes the first field of a dictionary as the record id, so a ``record_id`` text field opens the
    first form (``record_id=None`` leaves it out, for a caller that writes its own first field)."""
    buf = io.StringIO()
    writer = SafeDictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    names: set[str] = set()
    instruments = list(instruments)
    if record_id and instruments:
        writer.writerow({**dict.fromkeys(COLUMNS, ""), "Variable / Field Name": record_id,
                         "Form Name": instruments[0].name, "Field Type": "text", "Field Label": "Record ID"})
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


_DYNAMIC_BOUNDS = {"today", "now"}


def _date_bound(value: str, validation: str) -> str | None:
    """A REDCap date bound as ISO text; ``today``/``now`` (moving bounds) give None (reported by the caller).

    REDCap stores bounds as the project shows them: ISO (2019-01-01) or, for ``date_mdy`` / ``date_dmy``
    fields, with slashes (1/1/19 or 01/01/2019); a date-time bound keeps only its date."""
    text = value.strip().split(" ")[0].split("T")[0]
    if text.lower() in _DYNAMIC_BOUNDS:
        return None
    if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", text):
        y, m, d = (int(x) for x in text.split("-"))
    else:
        parts = re.split(r"[/.-]", text)
        if len(parts) != 3 or not all(x.isdigit() for x in parts):
            raise ValueError(f"date bound {value!r} is not a date (expected YYYY-MM-DD, M/D/Y or D/M/Y, or 'today')")
        a, b, c = (int(x) for x in parts)
        if len(parts[0]) == 4:
            y, m, d = a, b, c
        elif "dmy" in validation:
            d, m, y = a, b, c
        else:
            m, d, y = a, b, c
        if len(parts[2]) <= 2:
            y += 2000 if y <= 69 else 1900
    import datetime as _dt

    return _dt.date(y, m, d).isoformat()


def _typed(value: str, kind: str, validation: str = "") -> Any:
    if value == "":
        return None
    if kind == "date":
        return _date_bound(value, validation)
    if "comma_decimal" in validation:
        value = value.replace(",", ".")
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
    validation = row.get("Text Validation Type OR Show Slider Number", "").strip()
    if response_type in ("integer", "decimal", "date"):
        out["minimum"] = _typed(row.get("Text Validation Min", "").strip(), kind, validation)
        out["maximum"] = _typed(row.get("Text Validation Max", "").strip(), kind, validation)
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
        if validation.startswith("number") or validation == "float":
            return "decimal"
        if validation.startswith("date_") and not validation.startswith("datetime"):
            return "date"
        return "free_text"
    if ftype == "notes":
        return "free_text"
    if ftype == "calc":
        return "decimal"
    if ftype in ("descriptive", "file", "sql", "signature"):
        return None
    raise ProtocolError(f"field type {ftype!r} is not a REDCap field type (expected text, notes, radio, dropdown, "
                        "checkbox, yesno, truefalse, slider, calc, file, descriptive or sql)", field=where)


def checkbox_variable(field: str, code: str) -> str:
    """REDCap's export name of one checkbox choice: ``<field>___<code>`` (code lower case, '-' and '.' as '_')."""
    return f"{field}___{re.sub(r'[^a-z0-9_]', '_', code.strip().lower())}"


def _checkbox_items(row: dict[str, str], form: str, where: str) -> list[Item]:
    """A checkbox field is one yes/no item per choice, named as REDCap names the export columns."""
    var = row["Variable / Field Name"].strip()
    code = var[len(form) + 1:] if var.startswith(form + "_") else var
    codes, labels = _parse_choices(row.get("Choices, Calculations, OR Slider Labels", ""), where)
    label = row.get("Field Label", "").strip()
    return [Item.model_validate({"code": checkbox_variable(code, c), "label": f"{label}: {labels[c]}".strip(": "),
                                 "response_type": "category", "allowed": [1, 0],
                                 "value_labels": {"1": "Checked", "0": "Unchecked"}}) for c in codes]


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


class DictionaryImport:
    """Instruments read from a REDCap dictionary, and everything the dictionary held that they do not.

    ``not_carried`` lists, field by field, what securebase did not carry over and why (REDCap features
    with no securebase equivalent, fields flagged as identifiers, moving date bounds, ...); ``record_id``
    is the project's record id field (the first field, which REDCap uses as the record identifier);
    ``identifiers`` the fields flagged ``Identifier? = y``, which never become items (identifiers belong in
    the encrypted identifiers table, never in analysis data); ``calculated`` the calc fields, kept as decimal
    items whose values are imported as REDCap computed them (not recomputed here), with their expression."""

    def __init__(self) -> None:
        self.instruments: list[Instrument] = []
        self.not_carried: list[str] = []
        self.record_id: str | None = None
        self.identifiers: list[str] = []
        self.calculated: dict[str, str] = {}

    def summary(self) -> str:
        lines = [f"{len(self.instruments)} instruments, {sum(len(i.items) for i in self.instruments)} items"
                 + (f"; record id field {self.record_id}" if self.record_id else "")]
        if self.calculated:
            lines.append("calculated fields imported as given, not recomputed: "
                         + ", ".join(f"{k} = {v}" for k, v in self.calculated.items()))
        if self.not_carried:
            lines.append(f"not carried over ({len(self.not_carried)}):")
            lines += [f"  - {x}" for x in self.not_carried]
        return "\n".join(lines)


def normalise_header(header: tuple[str, ...]) -> dict[str, str]:
    """{name in the file: standard column name}; API-style headers map position by position."""
    lower = [h.strip().lower() for h in header]
    if "field_name" in lower and "form_name" in lower:
        api = {a: c for a, c in zip(API_COLUMNS, COLUMNS, strict=True)}
        return {h: api.get(h.strip().lower(), h) for h in header}
    return {h: h for h in header}


_METADATA_COLUMNS = (("Branching Logic (Show field only if...)", "branching logic"),
                     ("Required Field?", "required flag"), ("Matrix Group Name", "matrix group"),
                     ("Section Header", "section header"), ("Field Note", "field note"))


def _not_carried(row: dict[str, str], var: str) -> list[str]:
    out = []
    for col, what in _METADATA_COLUMNS:
        value = (row.get(col) or "").strip()
        if value and not (col == "Field Note" and value.startswith("unit: ")):
            out.append(f"{var}: {what} {value!r} (securebase forms show every item; check it by hand)")
    tags = [t for t in re.findall(r"@[A-Z][A-Z0-9_-]*", row.get("Field Annotation") or "")
            if not t.startswith("@SECUREBASE")]
    if tags:
        out.append(f"{var}: action tags {' '.join(tags)} (REDCap-only behaviour)")
    return out


def read_dictionary(source: str | Path, *, respondent: str = "carer", construct: str = "",
                    version: str = "redcap", first_is_record_id: bool = True) -> DictionaryImport:
    """Read a REDCap data dictionary (a path, or the CSV text) in either column format: what it defines
    as instruments, and a list of what could not be carried over (see :class:`DictionaryImport`)."""
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
    names = normalise_header(tuple(reader.fieldnames or ()))
    header = tuple(names.values())
    missing = [c for c in ("Variable / Field Name", "Form Name", "Field Type", "Field Label") if c not in header]
    if missing:
        raise ProtocolError(f"not a REDCap data dictionary: columns {missing} are missing (got "
                            f"{list(reader.fieldnames or ())[:6]}); the first line must be the header REDCap writes "
                            "('Variable / Field Name, Form Name, ...' or the API's 'field_name, form_name, ...')",
                            file=origin, line=1)
    result = DictionaryImport()
    forms: dict[str, dict[str, Any]] = {}
    api = any(k != v for k, v in names.items())
    for line, raw_row in enumerate(reader, start=2):
        # API metadata saved by R (REDCapR, write.csv) writes empty cells as NA
        row = {names.get(k, k): ("" if (v is None or (api and v == "NA")) else v)
               for k, v in raw_row.items() if k is not None}
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
        tagged = ITEM_TAG in row.get("Field Annotation", "")
        if first_is_record_id and result.record_id is None and not tagged:
            result.record_id = var  # REDCap: the first field is the record id, not a question
            continue
        if (row.get("Identifier?") or "").strip().lower() in ("y", "yes", "1"):
            result.identifiers.append(var)
            result.not_carried.append(f"{var}: flagged as an identifier in REDCap; identifiers never become items "
                                      "(record them as participant identifiers, which are encrypted and never "
                                      "exported for analysis)")
            continue
        ftype = row.get("Field Type", "").strip()
        if not tagged:
            result.not_carried += _not_carried(row, var)
            if ftype in ("descriptive", "file", "sql", "signature"):
                result.not_carried.append(f"{var}: {ftype} field (holds no answer securebase can analyse)")
                continue
            validation = row.get("Text Validation Type OR Show Slider Number", "").strip()
            if ftype == "text" and (validation.startswith("datetime") or validation.startswith("time")):
                result.not_carried.append(f"{var}: {validation} validation (kept as text: securebase items hold "
                                          "dates, not times)")
            for col in ("Text Validation Min", "Text Validation Max"):
                if (row.get(col) or "").strip().lower() in _DYNAMIC_BOUNDS:
                    result.not_carried.append(f"{var}: {col.split()[-1].lower()} bound "
                                              f"{row[col].strip()!r} (a moving bound; check it by hand)")
            if ftype == "calc":
                result.calculated[var] = row.get("Choices, Calculations, OR Slider Labels", "").strip()
        try:
            if ftype == "checkbox" and not tagged:
                entry["items"].extend(_checkbox_items(row, form, where))
                continue
            item = _item_from_row(row, form, where)
        except ValidationError as exc:
            raise ProtocolError(f"field cannot become an item: {exc.errors()[0]['msg']}", file=origin,
                                line=line, field=var) from exc
        except ValueError as exc:
            if isinstance(exc, ProtocolError):
                raise
            raise ProtocolError(f"bad value in the field definition: {exc}", file=origin, line=line,
                                field=var) from exc
        if item is not None:
            entry["items"].append(item)
    for form, entry in forms.items():
        if not entry["items"]:
            continue
        meta = entry["meta"] or {
            "name": re.sub(r"[^a-z0-9_]", "_", form.lower()), "version": version, "title": form,
            "label": form, "construct": construct or "not stated (imported from REDCap)",
            "respondent": respondent,
        }
        try:
            result.instruments.append(Instrument.model_validate({**meta, "items": entry["items"]}))
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ProtocolError(f"form {form}: {err['msg']}", file=origin,
                                field=".".join(str(x) for x in err["loc"])) from exc
    return result


def import_dictionary(source: str | Path, *, respondent: str = "carer", construct: str = "",
                      version: str = "redcap", first_is_record_id: bool = True) -> list[Instrument]:
    """Instruments defined in a REDCap data dictionary (see :func:`read_dictionary` for what is not kept).

    ``respondent``, ``construct`` and ``version`` fill in forms that were made in REDCap and carry no
    @SECUREBASE-INSTRUMENT annotation.
    """
    return read_dictionary(source, respondent=respondent, construct=construct, version=version,
                           first_is_record_id=first_is_record_id).instruments
