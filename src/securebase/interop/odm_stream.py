"""Streaming import of a securebase ODM 1.3.2 file in bounded memory.

:func:`import_odm_stream` reads the file with ``lxml.etree.iterparse``, validating it against the official
ODM 1.3.2 schema as it is read, and imports one ``SubjectData`` (and one ``AuditRecord``) at a time with
the same rules as :func:`securebase.interop.odm_import.import_odm` (the ``_Importer`` of that module):
each element is released once imported, so memory holds one subject, not the whole document. The file is
hashed while it is read. All or nothing as before: everything is written in one unit of work, and a
schema error, a DOCTYPE, a subject in another system's shape or a file with no subject data found part
way through rolls the import back with its reason. Files from other systems (``--mapping``) are read whole
by :mod:`securebase.interop.odm_mapped`.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import IO, Any

from lxml import etree
from sqlalchemy.exc import IntegrityError

from securebase.errors import DataError, NotFound, PermissionDenied
from securebase.interop.odm_common import q, schema
from securebase.interop.odm_import import MAY_IMPORT, OdmImportResult, _Importer
from securebase.store import Store
from securebase.trial.roles import Actor

_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)


class _Hashing:
    """A binary file whose bytes are hashed as the parser reads them."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh, self.sha = fh, hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        data = self.fh.read(n)
        self.sha.update(data)
        return data


def _release(el: etree._Element) -> None:
    """Free an imported element and the siblings before it (iterparse keeps the tree otherwise)."""
    el.clear(keep_tail=False)
    parent = el.getparent()
    if parent is not None:
        while el.getprevious() is not None:
            del parent[0]


def _check_shape(sd: etree._Element, name: str) -> None:
    events = {se.get("StudyEventOID", "") for se in sd.findall(q("StudyEventData"))}
    forms = {f.get("FormOID", "") for f in sd.iter(q("FormData"))}
    if "SE.enrolment" not in events or "FT.participants" not in forms:
        raise DataError(
            f"{name} is valid ODM 1.3.2 but not a securebase export: subject {sd.get('SubjectKey')} uses another "
            f"system's study events ({', '.join(sorted(events)[:6]) or 'none'}) and forms "
            f"({', '.join(sorted(forms)[:6]) or 'none'}); import it with a mapping file that names which of its "
            "study events and items are which visit and instrument item: "
            "securebase import odm FILE --trial TRIAL --mapping MAP.yaml (docs/interop.md)")


def import_odm_stream(store: Store, actor: Actor, path: str | Path, *, check: bool = True) -> OdmImportResult:
    """Import the securebase ODM file ``path`` into ``actor.trial_id`` reading it as a stream (all or nothing)."""
    if not actor.roles & MAY_IMPORT:
        raise PermissionDenied(f"user '{actor.username}' may not import data into trial '{actor.trial_id}' (needs "
                               "data manager, trial manager or administrator); ask a trial manager")
    p = Path(path)
    if not p.exists():
        raise NotFound(f"ODM file {str(p)!r} does not exist; give the path of an ODM 1.3.2 XML file")
    with p.open("rb") as fh:
        head = fh.read(65536)
    root_at = head.find(b"<ODM")
    if _DOCTYPE.search(head[:root_at if root_at >= 0 else len(head)]):
        raise DataError(f"{p.name} starts with a DOCTYPE declaration; ODM files have none and securebase refuses "
                        "them (entity expansion); remove it")
    tags = (q("ODM"), q("SubjectData"), q("AuditRecord"), q("Study"), q("AdminData"), q("ReferenceData"),
            q("ClinicalData"))
    held: list[str] = []
    file_oid = None
    with p.open("rb") as raw_fh, store.unit_of_work(actor=actor.username) as uow:
        uow.ensure_unlocked(actor.trial_id)
        imp = _Importer(uow, actor)
        src = _Hashing(raw_fh)
        options: dict[str, Any] = {"events": ("start", "end"), "tag": tags, "huge_tree": True,
                                   "resolve_entities": False, "no_network": True, "load_dtd": False}
        if check:
            options["schema"] = schema()
        try:
            for event, el in etree.iterparse(src, **options):
                local = etree.QName(el).localname
                if event == "start":
                    if local == "ODM":
                        file_oid = el.get("FileOID")
                    elif local != "SubjectData" and local != "AuditRecord" and local not in held:
                        held.append(local)
                    continue
                if local == "SubjectData":
                    _check_shape(el, p.name)
                    imp.subject(el)
                    uow.session.flush()
                    _release(el)
                elif local == "AuditRecord":
                    imp.audit(el)
                    _release(el)
        except etree.XMLSyntaxError as exc:
            raise DataError(f"{p.name} is not valid ODM 1.3.2 (checked against the official schema as it is read): "
                            f"line {exc.lineno}: {exc.msg}; nothing was imported; fix the file or export it "
                            "again") from None
        except IntegrityError as exc:
            raise DataError(f"the ODM file does not fit trial '{actor.trial_id}': "
                            f"{str(exc.orig).strip().splitlines()[0]}; check site codes and duplicates") from None
        if not imp.counts["subjects"]:
            what = ", ".join(held) if held else "no Study, AdminData, ReferenceData or ClinicalData"
            raise DataError(f"{p.name} holds no subject data (no ClinicalData/SubjectData element; it holds {what}), "
                            "so there is nothing to import; give an ODM file with clinical data (securebase export "
                            "odm writes one)")
        src.read()  # hash whatever follows the root element
        digest = src.sha.hexdigest()
        uow.log_event("import", table_name="odm", record_id=p.name, trial_id=actor.trial_id,
                      detail={"format": "CDISC ODM 1.3.2", "sha256": digest, "file_oid": file_oid, "streamed": True,
                              **dict(imp.counts)})
        uow.commit()
    c = imp.counts
    return OdmImportResult(c["subjects"], c["visits"], c["responses"], c["missing_codes"], c["scores"], c["events"],
                           c["audit_records"], digest, c["resource_use"], c["intervention_sessions"])


__all__ = ["import_odm_stream"]
