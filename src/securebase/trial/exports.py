"""The export list: who exported which analysis frame, when, whether it carried the allocation, and why."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from securebase.store.tables import AuditRecord
from securebase.trial import access
from securebase.trial.roles import Role

EXPORT_ROLES = access.READ_ROLES | {Role.health_economist, Role.dmc_member}


def export_log(session: Session, actor: Any) -> list[dict[str, Any]]:
    access.require(actor, EXPORT_ROLES, "reading the export list")
    rows = session.execute(select(AuditRecord).where(AuditRecord.trial_id == actor.trial_id,
                                                     AuditRecord.action == "dataset_exported")
                           .order_by(AuditRecord.seq.desc())).scalars()
    out = []
    for r in rows:
        d = json.loads(r.new or "{}")
        out.append({"at": r.at.strftime("%Y-%m-%d %H:%M"), "who": r.actor, "frame": d.get("frame", ""),
                    "rows": d.get("rows"), "arm_level": bool(d.get("arm_level", not d.get("blinded", True))),
                    "reason": d.get("reason") or r.reason or ""})
    return out
