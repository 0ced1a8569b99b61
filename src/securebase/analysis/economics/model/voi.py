"""Value of information from probabilistic sensitivity analysis (PSA) samples.

With S samples of the net benefit ``NB[s, d]`` of each option d (at one willingness to pay):

* **EVPI** = mean_s max_d NB[s, d] - max_d mean_s NB[s, d] (per person);
* **EVPPI** for a parameter group phi, by non-parametric regression (Strong, Oakley & Brennan 2014, Med
  Decis Making 34:311): regress the incremental net benefit of each option against the reference,
  ``INB_d = NB_d - NB_0``, on phi; the fitted values g_d(phi_s) estimate E[INB_d | phi_s], and
  EVPPI = mean_s max(0, g_1, ..., g_D) - max(0, mean g_1, ..., mean g_D). The regression is a generalised
  additive model: a cubic P-spline per parameter (Eilers & Marx 1996; 20 B-spline segments, second-order
  difference penalty; 10 or 6 segments for groups of more than 3 or 8 parameters), smoothing chosen by generalised cross-validation, as R ``mgcv::gam`` does by default
  (GCV for a Gaussian model) with thin-plate splines; ``tests/reference/economics/evppi_gam.R`` checks it
  against mgcv;
* **EVSI** for a proposed study (Strong et al. 2015, Med Decis Making 35:570): simulate the study's summary
  statistic X_s from each sample's parameters and regress INB on X_s the same way;
* population values multiply by ``sum_{t<years} N / (1 + r)^t`` (``decision.population_multiplier``).

Closed forms for a linear-normal model (used in the tests): if INB = a + b'x with x ~ N(mu, Sigma), then
E[max(0, Y)] - max(0, E Y) = s phi(m/s) + m Phi(m/s) - max(0, m) for Y ~ N(m, s^2), with s^2 = b' Sigma b
(EVPI), b_1^2 sigma_1^2 (EVPPI of x_1, independent x) and b_1^2 sigma_1^4 / (sigma_1^2 + tau^2/n) (EVSI of n
observations of x_1 with noise variance tau^2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.interpolate import BSpline

from securebase.errors import DataError


def evpi(nb: np.ndarray) -> float:
    """Per-person EVPI from an (S, D) matrix of net benefits."""
    nb = _nb(nb)
    return float(np.mean(nb.max(axis=1)) - nb.mean(axis=0).max())


def normal_expected_max0(m: float, s: float) -> float:
    """E[max(0, Y)] - max(0, E Y) for Y ~ N(m, s^2): the closed form of two-option EVPI/EVPPI/EVSI."""
    if s <= 0:
        return 0.0
    z = m / s
    return float(s * stats.norm.pdf(z) + m * stats.norm.cdf(z) - max(0.0, m))


def _nb(nb: np.ndarray) -> np.ndarray:
    nb = np.asarray(nb, dtype=float)
    if nb.ndim == 1:
        nb = np.column_stack([np.zeros_like(nb), nb])  # a vector is the INB of option 1 vs option 0
    if nb.ndim != 2 or nb.shape[1] < 2:
        raise DataError(f"net benefits must be an (samples x options) matrix with >= 2 options (got {nb.shape})")
    if not np.all(np.isfinite(nb)):
        raise DataError("net benefits contain missing or infinite values; check the PSA samples")
    return nb


def _bspline_basis(x: np.ndarray, nseg: int = 20, deg: int = 3) -> np.ndarray:
    lo, hi = float(np.min(x)), float(np.max(x))
    if hi <= lo:
        return np.zeros((len(x), 0))
    pad = 1e-6 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    dx = (hi - lo) / nseg
    knots = lo + dx * np.arange(-deg, nseg + deg + 1)
    B = BSpline.design_matrix(x, knots, deg).toarray()
    return B


@dataclass(frozen=True)
class GamFit:
    fitted: np.ndarray
    edf: float
    lam: float
    r2: float


def auto_segments(p: int) -> int:
    """B-spline segments per parameter: 20 for up to 3 parameters, fewer for larger groups (speed)."""
    return 20 if p <= 3 else 10 if p <= 8 else 6


def gam_fit(y: np.ndarray, X: np.ndarray, nseg: int | None = None, lambdas: Sequence[float] | None = None) -> GamFit:
    """Additive P-spline regression of y on the columns of X, one smoothing parameter chosen by GCV.

    Each column gets a cubic B-spline basis (centred, so the intercept is separate) with a second-order
    difference penalty; ``lambda`` minimises GCV = n RSS / (n - edf)^2 over a log grid.
    """
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    X = X[:, None] if X.ndim == 1 else X
    nseg = nseg or auto_segments(X.shape[1])
    n = len(y)
    blocks, pens = [], []
    for j in range(X.shape[1]):
        x = X[:, j]
        sd = x.std()
        if not sd > 0:
            continue
        B = _bspline_basis((x - x.mean()) / sd, nseg)
        B = B - B.mean(axis=0)
        D = np.diff(np.eye(B.shape[1]), n=2, axis=0)
        blocks.append(B)
        pens.append(D.T @ D)
    if not blocks:
        return GamFit(np.full(n, y.mean()), 1.0, np.inf, 0.0)
    B = np.hstack(blocks)
    k = B.shape[1]
    Pen = np.zeros((k, k))
    o = 0
    for p in pens:
        Pen[o:o + len(p), o:o + len(p)] = p
        o += len(p)
    yc = y - y.mean()
    BtB, Bty = B.T @ B, B.T @ yc
    BtB += 1e-9 * np.trace(BtB) / k * np.eye(k)  # identifiability of the centred bases
    # one generalised eigen-decomposition serves every lambda: B'B = R'R, R^-T Pen R^-1 = U diag(e) U'
    R = np.linalg.cholesky(BtB).T
    Rinv = np.linalg.solve(R, np.eye(k))
    e, U = np.linalg.eigh(Rinv.T @ Pen @ Rinv)
    e = np.maximum(e, 0)
    z = U.T @ (Rinv.T @ Bty)
    yty = float(yc @ yc)
    scale = np.trace(BtB) / max(np.trace(Pen), 1e-300)
    grid = np.asarray(lambdas if lambdas is not None else scale * 10.0 ** np.arange(-8, 6.01, 0.25), dtype=float)
    best = None
    for lam in grid:
        w = 1 / (1 + lam * e)
        edf = float(w.sum()) + 1
        # RSS = y'y - 2 z'Wz + z'W^2 z  (fitted = B R^-1 U W z)
        rss = max(yty - 2 * float(np.sum(w * z ** 2)) + float(np.sum((w * z) ** 2)), 0.0)
        gcv = n * rss / (n - edf) ** 2
        if best is None or gcv < best[0]:
            best = (gcv, lam, w, edf, rss)
    assert best is not None
    _, lam, w, edf, rss = best
    beta = Rinv @ (U @ (w * z))
    fitted = y.mean() + B @ beta
    tss = float(np.sum(yc ** 2))
    return GamFit(fitted, edf, float(lam), 1 - rss / tss if tss > 0 else 0.0)


def evppi(nb: np.ndarray, params: np.ndarray, nseg: int | None = None) -> float:
    """Per-person EVPPI of the parameters in the columns of ``params`` (S x p), Strong et al. (2014)."""
    nb = _nb(nb)
    X = np.asarray(params, dtype=float)
    X = X[:, None] if X.ndim == 1 else X
    if X.shape[0] != nb.shape[0]:
        raise DataError(f"parameter samples ({X.shape[0]}) and net-benefit samples ({nb.shape[0]}) differ in number")
    inb = nb[:, 1:] - nb[:, :1]
    g = np.column_stack([np.zeros(len(inb))] + [gam_fit(inb[:, d], X, nseg).fitted for d in range(inb.shape[1])])
    return float(max(0.0, np.mean(g.max(axis=1)) - g.mean(axis=0).max()))


def evsi(nb: np.ndarray, summary: np.ndarray, nseg: int | None = None) -> float:
    """Per-person EVSI: regression of INB on the simulated study summary statistic(s) (Strong et al. 2015)."""
    return evppi(nb, summary, nseg)


def evppi_groups(nb: np.ndarray, samples: dict[str, np.ndarray], groups: dict[str, Sequence[str]],
                 nseg: int | None = None) -> dict[str, float]:
    """EVPPI per named parameter group; ``samples`` maps parameter name -> (S,) or (S, k) samples."""
    out = {}
    for g, names in groups.items():
        cols = [np.asarray(samples[n], dtype=float).reshape(len(nb), -1) for n in names]
        X = np.hstack(cols)
        # drop constant and exactly collinear columns (a Dirichlet row's last share is 1 - the others)
        keep, seen = [], []
        for j in range(X.shape[1]):
            if X[:, j].std() > 0 and (not seen or np.linalg.matrix_rank(np.column_stack([*seen, X[:, j]])) > len(seen)):
                keep.append(j)
                seen.append(X[:, j])
        out[g] = evppi(nb, X[:, keep], nseg) if keep else 0.0
    return out
