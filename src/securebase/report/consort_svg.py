"""Draw the CONSORT flow diagram as inline SVG (self-contained, crisp in HTML and PDF)."""

from __future__ import annotations

from html import escape

from securebase.report.consort import ConsortCounts

W_BOX = 300
LINE = 15


def _reasons(d: dict[str, int], limit: int = 6) -> list[str]:
    items = sorted(d.items(), key=lambda kv: (-kv[1], kv[0]))
    lines = [f"• {k.replace('_', ' ')} (n = {v})" for k, v in items[:limit]]
    if len(items) > limit:
        lines.append(f"• other reasons (n = {sum(v for _, v in items[limit:])})")
    return lines


def _wrap(text: str, width: int = 46) -> list[str]:
    words, lines, cur = text.split(), [], ""
    for w in words:
        if len(cur) + len(w) + 1 > width and cur:
            lines.append(cur)
            cur = "  " + w if text.startswith("•") else w
        else:
            cur = f"{cur} {w}".strip() if cur else w
    if cur:
        lines.append(cur)
    return lines


def _follow_up_lines(a: dict, visit_label: str, as_of: str) -> list[str]:
    """The follow-up box: the six mutually exclusive categories at the analysis date, zeros left out
    except the assessed line and lost to follow-up (CONSORT asks for both even when nil)."""
    lines = [f"Assessed at {visit_label} (n = {a['followed_up']})"]
    if a.get("not_yet_due"):
        lines.append(f"Not yet due on {as_of} (n = {a['not_yet_due']})")
    if a.get("in_window"):
        lines.append(f"Visit window open on {as_of} (n = {a['in_window']})")
    if a.get("missed"):
        lines += [f"Missed the visit (n = {a['missed']})"] + _reasons(a.get("missed_reasons", {}), 4)
    lines += [f"Lost to follow-up (n = {a['lost']})"] + _reasons(a.get("lost_reasons", {}), 2)
    if a.get("withdrawn"):
        lines.append(f"Withdrew from follow-up (n = {a['withdrawn']})")
    lines.append(f"Discontinued intervention (n = {a['discontinued_intervention']})")
    return lines


class _Canvas:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.height = 0
        self.width = 0

    def box(self, x: float, y: float, lines: list[str], *, bold_first: bool = True, width: int = W_BOX,
            data: str = "") -> float:
        wrapped: list[str] = []
        for ln in lines:
            wrapped.extend(_wrap(ln, int(width / 6.4)))
        h = LINE * len(wrapped) + 12
        attr = f' data-box="{escape(data)}"' if data else ""
        self.parts.append(f'<rect x="{x}" y="{y}" width="{width}" height="{h}" rx="3" class="cbox"{attr}/>')
        for i, ln in enumerate(wrapped):
            weight = ' font-weight="bold"' if (i == 0 and bold_first) else ""
            self.parts.append(f'<text x="{x + 8}" y="{y + 18 + i * LINE}"{weight}>{escape(ln)}</text>')
        self.height = max(self.height, y + h)
        self.width = max(self.width, int(x + width))
        return y + h

    def arrow(self, x1: float, y1: float, x2: float, y2: float) -> None:
        self.parts.append(f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" class="carrow" marker-end="url(#ah)"/>')

    def label(self, x: float, y: float, text: str) -> None:
        self.parts.append(f'<text x="{x}" y="{y}" class="cstage">{escape(text)}</text>')

    def svg(self, width: int) -> str:
        width = max(width, self.width + 10)
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" style="max-width:{width}px;height:auto" '
                f'viewBox="0 0 {width} {self.height + 10}" role="img" aria-label="CONSORT flow diagram" '
                'font-family="Helvetica, Arial, sans-serif" font-size="12">'
                '<defs><marker id="ah" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto">'
                '<path d="M0,0 L8,4 L0,8 z" fill="#333"/></marker></defs>'
                '<style>.cbox{fill:#fff;stroke:#333;stroke-width:1}.carrow{stroke:#333;stroke-width:1.2}'
                '.cstage{font-weight:bold;fill:#1d4e89}</style>' + "".join(self.parts) + "</svg>")


def consort_svg(c: ConsortCounts, *, by_arm: bool, arm_labels: dict[str, str] | None = None,
                visit_label: str | None = None) -> str:
    """The flow diagram. ``by_arm=False`` (the open report) pools every post-randomisation box."""
    arm_labels = arm_labels or {}
    visit_label = visit_label or c.primary_visit
    as_of = c.as_of.isoformat() if c.as_of else "the analysis date"
    cv = _Canvas()
    cx = 330 if by_arm else 180
    width = 960 if by_arm else 760
    cv.label(10, 20, "Enrolment")
    y = cv.box(cx, 30, [f"Assessed for eligibility (n = {c.assessed})"], data="assessed")
    ex_lines = [f"Excluded (n = {c.excluded})", f"Not meeting inclusion criteria (n = {c.not_eligible})"]
    ex_lines += _reasons(c.not_eligible_reasons)
    ex_lines += [f"Eligible, not approached (n = {c.not_approached})"] + _reasons(c.not_approached_reasons, 3)
    ex_lines += [f"Declined to participate (n = {c.declined})"] + _reasons(c.declined_reasons, 3)
    if c.enrolled_not_randomised:
        ex_lines += [f"Consented, not yet randomised (n = {c.enrolled_not_randomised})"]
    ex_x = cx + W_BOX + 30
    y_ex_top = y + 15
    y_ex = cv.box(ex_x, y_ex_top, ex_lines, width=310, data="excluded")
    cv.arrow(cx + W_BOX / 2, y + 30, ex_x, y + 30)
    y_r = max(y_ex, y + 60) + 20
    cv.arrow(cx + W_BOX / 2, y, cx + W_BOX / 2, y_r)
    y = cv.box(cx, y_r, [f"Randomised (n = {c.randomised})"], data="randomised")
    stages = [
        ("Allocation", lambda a: [(f"Allocated to {arm_labels.get(a['arm'], a['arm'])} (n = {a['allocated']})" if by_arm
                                   else f"All randomised, arms pooled (n = {a['allocated']})"),
                                  f"Received allocated intervention (n = {a['received']})",
                                  f"Did not receive allocated intervention (n = {a['not_received']})"]
         + _reasons(a.get("not_received_reasons", {}), 3)),
        ("Follow-up", lambda a: _follow_up_lines(a, visit_label, as_of)),
        ("Analysis", lambda a: [f"Analysed, primary outcome (n = {a['analysed']})",
                                f"Not analysed (n = {a['not_analysed']})"]
         + _reasons(a.get("not_analysed_reasons", {}), 6)),
    ]
    if by_arm:
        columns = [dict(vars(a)) for a in c.arms]
        xs = [120 + i * 420 for i in range(len(columns))]
    else:
        pooled = c.pooled()
        pooled.update(arm="pooled", not_received_reasons={})
        columns = [pooled]
        xs = [cx]
    top = y + 25
    for x in xs:
        cv.arrow(cx + W_BOX / 2, y, x + W_BOX / 2, top)
    for name, lines in stages:
        cv.label(10, top + 14, name)
        bottoms = []
        for col, x in zip(columns, xs, strict=True):
            key = f"{name.lower()}:{col['arm']}"
            bottoms.append(cv.box(x, top, lines(col), data=key))
        nxt = max(bottoms, default=top) + 25
        if name != "Analysis":
            for b, x in zip(bottoms, xs, strict=True):
                cv.arrow(x + W_BOX / 2, b, x + W_BOX / 2, nxt)
        top = nxt
    return cv.svg(width)
