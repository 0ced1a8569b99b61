"""Agreement between coders, per code: percentage agreement and Cohen's kappa.

Two units of analysis (state which in every report):

* ``unit="character"``: every character of every transcript both coders coded (at least one segment of the
  codebook each) is one unit, rated 1 when the coder applied the code to it, else 0.
* ``unit="segment"``: the units are the transcript's paragraphs (lines of text between newlines, blank
  lines skipped); a unit is rated 1 when one of the coder's segments of that code overlaps it by at least
  one character.

For each code and each pair of coders, with p_o the observed agreement, p_e = sum_k p_k. p_.k the chance
agreement from the two coders' marginals (Cohen 1960, Educ Psychol Meas 20:37):
    agreement = 100 p_o,     kappa = (p_o - p_e) / (1 - p_e)
and the large-sample variance of Fleiss, Cohen & Everitt (1969, Psychol Bull 72:323):
    var = [ sum_i p_ii ((1 - p_e) - (p_i. + p_.i)(1 - p_o))^2
            + (1 - p_o)^2 sum_{i != j} p_ij (p_.i + p_j.)^2 - (p_o p_e - 2 p_e + p_o)^2 ] / (N (1 - p_e)^4)
with a normal confidence interval kappa +/- z var^0.5 clipped to [-1, 1]. These are the quantities
``psych::cohen.kappa`` reports (kappa, agree, var.kappa, confid); tests compare with it.
Kappa is undefined (NaN, with a warning) when neither coder, or only one category, was used.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
from scipy.stats import norm

from securebase.errors import DataError, FieldError

UNITS = ("character", "segment")


@dataclass(frozen=True)
class Segment:
    """A coded range as the agreement needs it (no database objects)."""

    transcript: str
    code: str
    coder: str
    start: int
    end: int


@dataclass(frozen=True)
class KappaRow:
    code: str
    coder_a: str
    coder_b: str
    unit: str
    n_units: int
    n_transcripts: int
    table: tuple[tuple[int, int], tuple[int, int]]  # [[both 0, a0 b1], [a1 b0, both 1]]
    agreement: float  # proportion p_o
    kappa: float
    var_kappa: float
    ci_lower: float
    ci_upper: float

    @property
    def percent(self) -> float:
        return 100.0 * self.agreement

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "coder_a": self.coder_a, "coder_b": self.coder_b, "unit": self.unit,
                "n_units": self.n_units, "n_transcripts": self.n_transcripts,
                "table": [list(r) for r in self.table], "percent_agreement": self.percent,
                "kappa": _num(self.kappa), "var_kappa": _num(self.var_kappa), "ci_lower": _num(self.ci_lower),
                "ci_upper": _num(self.ci_upper)}


def _num(x: float) -> float | None:
    return None if math.isnan(x) else x


@dataclass(frozen=True)
class AgreementResult:
    unit: str
    alpha: float
    rows: tuple[KappaRow, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def row(self, code: str, coder_a: str | None = None, coder_b: str | None = None) -> KappaRow:
        for r in self.rows:
            if r.code == code and (coder_a is None or {coder_a, coder_b} == {r.coder_a, r.coder_b}):
                return r
        raise FieldError("code", code, "a code with agreement results: " + ", ".join(sorted({r.code for r in self.rows})))

    def summary(self) -> str:
        unit = ("character level (each character of double-coded transcripts is a unit)" if self.unit == "character"
                else "segment-unit level (each paragraph of double-coded transcripts is a unit)")
        lines = [f"Agreement between coders per code, {unit}; {100 * (1 - self.alpha):.0f}% CI",
                 f"{'code':30} {'coders':24} {'units':>8} {'agree %':>8} {'kappa':>7}  CI"]
        for r in self.rows:
            k = "n/a" if math.isnan(r.kappa) else f"{r.kappa:.3f}"
            ci = "" if math.isnan(r.kappa) else f"{r.ci_lower:.3f} to {r.ci_upper:.3f}"
            lines.append(f"{r.code[:30]:30} {(r.coder_a + ' / ' + r.coder_b)[:24]:24} {r.n_units:8d} "
                         f"{r.percent:8.1f} {k:>7}  {ci}")
        lines.extend(f"warning: {w}" for w in self.warnings)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"unit": self.unit, "alpha": self.alpha, "rows": [r.to_dict() for r in self.rows],
                "warnings": list(self.warnings)}


def cohen_kappa(a: np.ndarray, b: np.ndarray, alpha: float = 0.05) -> tuple[float, float, float, float, float]:
    """(p_o, kappa, var, lower, upper) for two 0/1 rating vectors of equal length (formulas above)."""
    a = np.asarray(a, dtype=bool)
    b = np.asarray(b, dtype=bool)
    n = a.size
    if n == 0:
        return math.nan, math.nan, math.nan, math.nan, math.nan
    t = np.array([[np.sum(~a & ~b), np.sum(~a & b)], [np.sum(a & ~b), np.sum(a & b)]], dtype=float) / n
    used = (t.sum(axis=1) + t.sum(axis=0)) > 0
    p = t[np.ix_(used, used)]
    rows, cols = p.sum(axis=1), p.sum(axis=0)
    po = float(np.trace(p))
    if p.shape[0] < 2:  # a single category: no variance, kappa undefined
        return po, math.nan, math.nan, math.nan, math.nan
    pe = float(rows @ cols)
    kappa = (po - pe) / (1 - pe)
    diag = sum(p[i, i] * ((1 - pe) - (rows[i] + cols[i]) * (1 - po)) ** 2 for i in range(p.shape[0]))
    off = sum(p[i, j] * (cols[i] + rows[j]) ** 2 for i in range(p.shape[0]) for j in range(p.shape[0]) if i != j)
    var = (diag + (1 - po) ** 2 * off - (po * pe - 2 * pe + po) ** 2) / (n * (1 - pe) ** 4)
    var = max(var, 0.0)
    z = norm.ppf(1 - alpha / 2)
    lo, hi = max(-1.0, kappa - z * math.sqrt(var)), min(1.0, kappa + z * math.sqrt(var))
    return po, kappa, var, lo, hi


def paragraph_units(text: str) -> list[tuple[int, int]]:
    """[start, end) of each non-blank line of ``text``."""
    units, pos = [], 0
    for line in text.split("\n"):
        if line.strip():
            units.append((pos, pos + len(line)))
        pos += len(line) + 1
    return units


class CoderAgreement:
    """Percentage agreement and Cohen's kappa per code and coder pair. Options here, data in ``fit``."""

    def __init__(self, unit: str = "character", alpha: float = 0.05) -> None:
        if unit not in UNITS:
            raise FieldError("agreement unit", unit, "character or segment")
        if not 0 < alpha < 1:
            raise FieldError("alpha", alpha, "between 0 and 1, e.g. 0.05")
        self.unit, self.alpha = unit, alpha

    def _ratings(self, text: str, segs: Iterable[Segment]) -> np.ndarray:
        if self.unit == "character":
            r = np.zeros(len(text), dtype=bool)
            for s in segs:
                r[s.start:s.end] = True
            return r
        units = paragraph_units(text)
        return np.array([any(s.start < ue and s.end > us for s in segs) for us, ue in units], dtype=bool)

    def fit(self, texts: Mapping[str, str], segments: Iterable[Segment], *, coders: list[str] | None = None,
            codes: list[str] | None = None) -> AgreementResult:
        segs = list(segments)
        for s in segs:
            if s.transcript not in texts:
                raise DataError(f"segment of code '{s.code}' by {s.coder} refers to transcript '{s.transcript}', "
                                "which is not among the texts given")
        all_coders = sorted({s.coder for s in segs})
        coders = coders or all_coders
        if len(coders) < 2:
            raise DataError(f"agreement needs at least two coders; coded by: {', '.join(all_coders) or 'nobody'}. "
                            "Ask a second coder to code some of the same transcripts")
        codes = codes or sorted({s.code for s in segs})
        by_coder_transcripts = {c: {s.transcript for s in segs if s.coder == c} for c in coders}
        rows, warnings = [], []
        for ca, cb in combinations(coders, 2):
            shared = sorted(by_coder_transcripts[ca] & by_coder_transcripts[cb])
            if not shared:
                warnings.append(f"coders {ca} and {cb} coded no transcript in common; no agreement computed")
                continue
            for code in codes:
                va, vb = [], []
                for t in shared:
                    va.append(self._ratings(texts[t], [s for s in segs if s.transcript == t and s.coder == ca
                                                       and s.code == code]))
                    vb.append(self._ratings(texts[t], [s for s in segs if s.transcript == t and s.coder == cb
                                                       and s.code == code]))
                a, b = np.concatenate(va), np.concatenate(vb)
                po, k, var, lo, hi = cohen_kappa(a, b, self.alpha)
                if math.isnan(k):
                    warnings.append(f"code '{code}', coders {ca}/{cb}: kappa undefined (only one category used "
                                    f"in {a.size} units); agreement {100 * po:.1f}%")
                table = ((int(np.sum(~a & ~b)), int(np.sum(~a & b))), (int(np.sum(a & ~b)), int(np.sum(a & b))))
                rows.append(KappaRow(code, ca, cb, self.unit, int(a.size), len(shared), table, po, k, var, lo, hi))
        return AgreementResult(self.unit, self.alpha, tuple(rows), tuple(warnings))
