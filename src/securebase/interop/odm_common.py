"""What securebase's CDISC ODM 1.3.2 files look like: OIDs, typed values, the schema check.

Mapping (one ``Study`` per trial; OIDs are stable so an import can read them back):

========================  =====================================================================
store                     ODM
========================  =====================================================================
participant               ``SubjectData SubjectKey="CARE-0001"`` + ``SiteRef``; its columns are the
                          items ``T.participants.<column>`` of form ``FT.participants`` in study
                          event ``SE.enrolment``
allocation (unblinded)    form ``FT.allocations`` in ``SE.enrolment``
visit                     study event ``SE.<visit id>``; its columns in form ``FT.visits``
responses                 form ``FI.<instrument>``, ``FormRepeatKey`` = respondent; item group
                          ``GI.<instrument>``, ``ItemGroupRepeatKey`` = entry (1, or 2 for double
                          data entry); items ``I.<instrument>.<item code>``; the instrument version
                          and who entered it are items ``M.<instrument>.version`` / ``.entered_by``
scores                    item group ``GS.<instrument>``: ``SV.<instrument>.<scale>`` (value),
                          ``SC.`` (category/band), ``SR.`` (missing reason)
events, withdrawals,      repeating study events ``SE.<table>`` (``StudyEventRepeatKey`` 1, 2, ...)
resource use, sessions    with forms ``FT.<table>``; a visit reference is written as the visit id;
                          intervention sessions only for roles that may see allocation
audit trail               ``ClinicalData/AuditRecords/AuditRecord ID="AR.<seq>"`` with ``UserRef``,
                          ``LocationRef``, ``DateTimeStamp``, ``ReasonForChange`` and, in ``SourceID``,
                          the securebase record (sequence, action, table, record, old and new
                          values, hashes, ``entry`` 1..n in the file) as JSON; for blinded roles
                          ``ID="AR.<entry>"`` and no sequence or hashes (their gaps would count
                          the hidden allocation records)
========================  =====================================================================

Missing-value codes (schema-valid, no extension namespace): an item answered with a missing-value code
is ``<ItemData ItemOID=... IsNull="Yes">`` carrying ``<Annotation SeqNum="1"><Flag><FlagValue
CodeListOID="CL.SB.MISSING">not_answered</FlagValue><FlagType CodeListOID="CL.SB.FLAGTYPE">missing_code
</FlagType></Flag></Annotation>``; the code list ``CL.SB.MISSING`` decodes each code and gives the
instrument's numeric code as an ``Alias``. A stored value that also has a missing code keeps its
``Value`` and gets the same flag.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from functools import lru_cache
from importlib import resources
from typing import Any

from lxml import etree
from sqlalchemy import JSON, Boolean, Date, Float, Integer

from securebase.errors import DataError
from securebase.store.tables.base import UTCDateTime

NS = "http://www.cdisc.org/ns/odm/v1.3"
XML_NS = "http://www.w3.org/XML/1998/namespace"
MISSING_CL = "CL.SB.MISSING"
FLAGTYPE_CL = "CL.SB.FLAGTYPE"
MISSING_FLAG = "missing_code"
#: Participant-level repeating tables (each a repeating study event ``SE.<table>`` and form ``FT.<table>``),
#: and whether only roles that may see allocation get them.
REPEATING = {"events": False, "withdrawals": False, "resource_use": False, "intervention_sessions": True}
#: A visit reference, written as the visit id (text) and resolved back to the visit on import.
VISIT_REF = "visit_pk"
#: Columns never written as items (surrogate keys; the trial and participant are the Study and Subject).
SKIP_COLUMNS = frozenset({"id", "trial_id", "participant_pk", "participant_id"})


#: Characters that XML 1.0 does not allow (https://www.w3.org/TR/xml/#charsets: Char ::= #x9 | #xA | #xD |
#: [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]); tab, newline and carriage return are kept.
XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: What an XML-unsafe character is written as (the Unicode replacement character).
XML_REPLACEMENT = "\ufffd"


def xml_safe(text: str) -> tuple[str, int]:
    """``text`` with every character XML 1.0 does not allow replaced by U+FFFD, and how many were replaced."""
    return XML_UNSAFE.subn(XML_REPLACEMENT, text)


def q(tag: str) -> str:
    """Qualified ODM tag name."""
    return f"{{{NS}}}{tag}"


def data_type(column: Any) -> str:
    """ODM DataType of a store column."""
    t = column.type
    if column.name == VISIT_REF:
        return "text"
    if isinstance(t, UTCDateTime):
        return "datetime"
    if isinstance(t, Date):
        return "date"
    if isinstance(t, Boolean):
        return "boolean"
    if isinstance(t, Integer):
        return "integer"
    if isinstance(t, Float):
        return "float"
    return "text"


def to_text(column: Any, value: Any) -> str:
    """A column value as ODM ``Value`` text (ISO 8601 dates, UTC timestamps, shortest float repr, JSON)."""
    if isinstance(column.type, JSON):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def from_text(column: Any, text: str, where: str) -> Any:
    """Inverse of :func:`to_text`; a bad value raises DataError naming the item."""
    t = column.type
    if column.name == VISIT_REF:
        return text
    try:
        if isinstance(t, JSON):
            return json.loads(text)
        if isinstance(t, UTCDateTime):
            return datetime.fromisoformat(text)
        if isinstance(t, Date):
            return date.fromisoformat(text)
        if isinstance(t, Boolean):
            if text not in ("true", "false"):
                raise ValueError(text)
            return text == "true"
        if isinstance(t, Integer):
            return int(text)
        if isinstance(t, Float):
            return float(text)
    except (ValueError, json.JSONDecodeError):
        raise DataError(f"{where} must be a {data_type(column)} value (got {text!r}); fix the file") from None
    return text


def table_columns(table: Any) -> list[Any]:
    return [c for c in table.columns if c.name not in SKIP_COLUMNS]


@lru_cache(maxsize=1)
def schema() -> etree.XMLSchema:
    """The official CDISC ODM 1.3.2 schema, shipped unmodified in ``interop/schema/cdisc-odm-1.3.2`` (MIT licence;
    its ``SOURCE.md`` says where it comes from). Its imports are local files: nothing is fetched."""
    path = resources.files("securebase.interop") / "schema" / "cdisc-odm-1.3.2" / "ODM1-3-2.xsd"
    with resources.as_file(path) as p:
        parser = etree.XMLParser(no_network=True, resolve_entities=False)
        return etree.XMLSchema(etree.parse(str(p), parser))


_ODM_NAMESPACES = frozenset({NS, "http://www.w3.org/XML/1998/namespace", "http://www.w3.org/2000/09/xmldsig#",
                             "http://www.w3.org/1999/xlink", "http://www.w3.org/2001/XMLSchema-instance"})


def without_vendor_extensions(doc: etree._ElementTree | etree._Element) -> tuple[etree._Element, dict[str, int]]:
    """A copy of ``doc`` without elements and attributes in other namespaces (vendor extensions such as
    REDCap's ``redcap:`` or OpenClinica's ``OpenClinica:``), and how many of each were left out.

    ODM lets vendors extend files in their own namespaces and a receiver may ignore what it does not know
    (ODM 1.3.2 specification, "Vendor Extensions"); the official schema only accepts extensions declared
    by redefining it, so the standard part is validated on its own."""
    root = doc.getroot() if isinstance(doc, etree._ElementTree) else doc
    copy = etree.fromstring(etree.tostring(root))
    dropped: dict[str, int] = {}
    for el in list(copy.iter()):
        if not isinstance(el.tag, str):
            continue
        ns = etree.QName(el).namespace
        if ns not in _ODM_NAMESPACES:
            dropped[str(ns)] = dropped.get(str(ns), 0) + 1
            parent = el.getparent()
            if parent is not None:
                parent.remove(el)
            continue
        for attr in list(el.attrib):
            ans = etree.QName(attr).namespace
            if ans is not None and ans not in _ODM_NAMESPACES:
                dropped[ans] = dropped.get(ans, 0) + 1
                del el.attrib[attr]
    return copy, dropped


def validate(doc: etree._ElementTree | etree._Element, origin: str = "the ODM file", *,
             vendor_extensions: bool = False) -> dict[str, int]:
    """Raise DataError listing the first schema errors (line and message) when ``doc`` is not valid ODM 1.3.2.

    With ``vendor_extensions=True`` elements and attributes in other namespaces are set aside first (see
    :func:`without_vendor_extensions`); returns what was set aside, by namespace."""
    sch = schema()
    dropped: dict[str, int] = {}
    if vendor_extensions:
        doc, dropped = without_vendor_extensions(doc)
    if not sch.validate(doc):
        errs = [f"line {e.line}: {e.message}" for e in list(sch.error_log)[:5]]
        raise DataError(f"{origin} does not validate against the ODM 1.3.2 schema: " + "; ".join(errs)
                        + "; fix the file or export it again")
    return dropped


__all__ = ["FLAGTYPE_CL", "MISSING_CL", "MISSING_FLAG", "NS", "REPEATING", "VISIT_REF", "data_type", "from_text", "q",
           "schema", "table_columns", "to_text", "validate", "without_vendor_extensions", "xml_safe"]
