"""Multiple imputation by chained equations, imputed separately in each arm, pooled by Rubin's rules;
and delta-adjusted imputation for a missing-not-at-random tipping-point analysis.

Imputation (van Buuren 2018, Flexible Imputation of Missing Data, algorithm 3.1, "norm"): for each
incomplete numeric variable in turn, regress it on the others among the observed rows,
``b = (X'X + k diag(X'X))^-1 X'y`` (k = 1e-5), draw ``s*^2 = RSS / chi2_{n_obs - q}`` and
``b* = b + s* chol((X'X)^-1) z``, and impute ``X_mis b* + s* z'``; "pmm" instead takes the observed value
of a random one of the 5 nearest donors on predicted means. Chained over ``iterations`` sweeps
(one sweep is exact when only one variable is incomplete). Arms are imputed separately so the
imputation model allows every interaction with treatment (Sullivan et al. 2018, SMMR 27:2610).
Pooling (Rubin 1987): ``Q = mean q_l``, ``T = U + (1 + 1/m) B``; df by Barnard & Rubin (1999).
Delta adjustment (Ratitch, O'Kelly & Tosiello 2013): the imputed outcome values in the chosen arm are
shifted by delta after MAR imputation; the tipping point is the smallest shift at which the
conclusion at level alpha changes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from securebase.analysis.effectiveness._design import TREAT, _encode, is_factor, require_columns
from securebase.analysis.effectiveness._result import EffectResult, Estimate
from securebase.errors import DataError

Analysis = Callable[[pd.DataFrame], EffectResult]


def rubin_pool(coefs: Sequence[float], ses: Sequence[float], df_complete: float | None) -> tuple[float, float, float | None, dict[str, float]]:
    """Rubin's rules: (pooled estimate, total SE, Barnard-Rubin df or None for normal, components)."""
    q, u = np.asarray(coefs, float), np.asarray(ses, float) ** 2
    m = len(q)
    qbar, ubar = float(q.mean()), float(u.mean())
    b = float(q.var(ddof=1)) if m > 1 else 0.0
    t = ubar + (1 + 1 / m) * b
    lam = (1 + 1 / m) * b / t
    if lam == 0:
        df = df_complete
    else:
        df_old = (m - 1) / lam**2
        df = df_old if df_complete is None else (
            df_old * (df_obs := (df_complete + 1) / (df_complete + 3) * df_complete * (1 - lam)) / (df_old + df_obs))
    return qbar, float(np.sqrt(t)), df, {"within": ubar, "between": b, "total": t, "fmi_lambda": lam, "m": m}


class _Imputer:
    def __init__(self, columns: Sequence[str], predictors: Sequence[str], method: str, iterations: int) -> None:
        self.columns, self.predictors, self.method, self.iterations = list(columns), list(predictors), method, iterations

    def prepare(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Predictor matrix (intercept + encoded complete predictors), incomplete values, missing mask."""
        fixed = []
        for p in self.predictors:
            col = frame[p]
            if (is_factor(col) and col.nunique() < 2) or (not is_factor(col) and np.ptp(col.to_numpy(float)) == 0):
                continue  # constant within this arm: carries no information (mice drops it too)
            fixed.append(_encode(col, p, "imputation")[0])
        F = np.column_stack([np.ones(len(frame)), *fixed])
        Y = frame[self.columns].to_numpy(dtype=float)
        miss = np.isnan(Y)
        for j, c in enumerate(self.columns):
            if miss[:, j].all():
                raise DataError(f"multiple imputation: '{c}' has no observed value in one arm; it cannot be imputed")
        return F, Y, miss

    def impute(self, F: np.ndarray, Y0: np.ndarray, miss: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        Y = Y0.copy()
        for j in range(Y.shape[1]):  # initial fill: random draws from the observed values
            if miss[:, j].any():
                Y[miss[:, j], j] = rng.choice(Y[~miss[:, j], j], miss[:, j].sum())
        incomplete = [j for j in range(Y.shape[1]) if miss[:, j].any()]
        sweeps = 1 if len(incomplete) <= 1 else self.iterations
        for _ in range(sweeps):
            for j in incomplete:
                X = np.column_stack([F, np.delete(Y, j, axis=1)])
                Y[miss[:, j], j] = self._draw(X[~miss[:, j]], Y[~miss[:, j], j], X[miss[:, j]], rng)
        return Y

    def _draw(self, xo: np.ndarray, yo: np.ndarray, xm: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        # a predictor column that is zero for every observed row (a factor level seen only among the missing)
        # carries no information for this imputation model: drop it, as mice drops constant predictors
        keep = np.abs(xo).sum(axis=0) > 0
        xo, xm = xo[:, keep], xm[:, keep]
        xtx = xo.T @ xo
        xtx = xtx + 1e-5 * np.diag(np.diag(xtx))
        try:
            v = np.linalg.inv(xtx)
        except np.linalg.LinAlgError:
            raise DataError("multiple imputation: the imputation model's predictors are collinear among the "
                            "observed values in one arm; use fewer predictors") from None
        bhat = v @ xo.T @ yo
        df = len(yo) - xo.shape[1]
        if df <= 0:
            raise DataError(f"multiple imputation: {len(yo)} observed values for {xo.shape[1]} imputation-model "
                            "parameters in one arm; use fewer predictors")
        sigma = np.sqrt(float(np.sum((yo - xo @ bhat) ** 2)) / rng.chisquare(df))
        bstar = bhat + sigma * np.linalg.cholesky((v + v.T) / 2) @ rng.standard_normal(len(bhat))
        if self.method == "pmm":
            pred_obs, pred_mis = xo @ bhat, xm @ bstar
            d = np.abs(pred_obs[None, :] - pred_mis[:, None])
            k = min(5, len(yo))
            donors = np.argpartition(d, k - 1, axis=1)[:, :k]
            pick = donors[np.arange(len(xm)), rng.integers(0, k, len(xm))]
            return yo[pick]
        return xm @ bstar + sigma * rng.standard_normal(len(xm))


class MultipleImputation:
    """MICE by arm, then ``analysis`` on each completed dataset, pooled by Rubin's rules.

    Options: ``analysis`` (an estimator, or any callable data -> EffectResult), ``impute`` (numeric
    columns to impute, outcome included), ``predictors`` (complete columns used to impute), ``m``,
    ``iterations``, ``method`` ("norm" or "pmm"), ``by_arm``, ``seed`` (int or SeedSequence).
    """

    def __init__(self, analysis: Any, impute: Sequence[str], predictors: Sequence[str] = (), m: int = 20,
                 iterations: int = 10, method: str = "norm", by_arm: bool = True,
                 seed: int | np.random.SeedSequence = 0) -> None:
        if method not in ("norm", "pmm"):
            raise DataError(f"imputation method must be 'norm' or 'pmm' (got {method!r})")
        if m < 2:
            raise DataError(f"multiple imputation needs m >= 2 imputations (got {m})")
        self.analysis = analysis.fit if hasattr(analysis, "fit") else analysis
        self.imputer = _Imputer(impute, predictors, method, iterations)
        self.m, self.by_arm, self.seed = m, by_arm, seed

    def completed(self, data: pd.DataFrame) -> list[pd.DataFrame]:
        """The m completed datasets."""
        cols = self.imputer.columns + self.imputer.predictors + [TREAT]
        require_columns(data, cols, "multiple imputation")
        bad = [p for p in self.imputer.predictors if data[p].isna().any()]
        if bad:
            raise DataError(f"multiple imputation: predictor(s) {bad} have missing values; list them under "
                            "'impute' (numeric) or use complete predictors")
        nonnum = [c for c in self.imputer.columns if is_factor(data[c])]
        if nonnum:
            raise DataError(f"multiple imputation: columns to impute must be numeric (got {nonnum})")
        ss = self.seed if isinstance(self.seed, np.random.SeedSequence) else np.random.SeedSequence(self.seed)
        tr = data[TREAT].to_numpy()
        parts = [np.flatnonzero(tr == 1), np.flatnonzero(tr == 0)] if self.by_arm else [np.arange(len(data))]
        for pos, arm in zip(parts, ("intervention", "usual_care"), strict=False):
            if len(pos) == 0:
                raise DataError(f"multiple imputation: arm '{arm}' has no participants")
        prepared = [(pos, self.imputer.prepare(data.iloc[pos])) for pos in parts]
        base = data[self.imputer.columns].to_numpy(dtype=float)
        out = []
        for child in ss.spawn(self.m):
            rng = np.random.default_rng(child)
            values = base.copy()
            for pos, (F, Y, miss) in prepared:
                values[pos] = self.imputer.impute(F, Y, miss, rng)
            out.append(data.assign(**{c: values[:, j] for j, c in enumerate(self.imputer.columns)}))
        return out

    def pool(self, results: Sequence[EffectResult], data_n: dict[str, int], extra_warn: Sequence[str] = ()) -> EffectResult:
        first = results[0]
        ests = []
        for k, est in enumerate(first.estimates):
            q, se, df, parts = rubin_pool([r.estimates[k].coef for r in results],
                                          [r.estimates[k].se for r in results], est.df)
            ests.append(Estimate(est.name, q, se, df=df, transform=est.transform, level=est.level))
            if k == 0:
                comps = parts
        warns = sorted({w for r in results for w in r.warnings if "dropped for missing" not in w})
        return EffectResult(model=f"{first.model}, multiple imputation by arm (m = {len(results)})",
                            outcome=first.outcome, estimates=tuple(ests), n_analysed=data_n,
                            warnings=tuple(warns) + tuple(extra_warn),
                            details={"rubin": comps, "seed": repr(self.seed)})

    def fit(self, data: pd.DataFrame) -> EffectResult:
        sets = self.completed(data)
        n = {"intervention": int((data[TREAT] == 1).sum()), "usual_care": int((data[TREAT] == 0).sum())}
        return self.pool([self.analysis(s) for s in sets], n)


class TippingPoint:
    """Delta-adjusted MI: shift imputed ``outcome`` values in ``arm`` by each delta, pool, and find the
    smallest |delta| at which the conclusion at ``alpha`` changes. Options as :class:`MultipleImputation`
    plus ``outcome``, ``deltas`` (grid, ascending in the direction to explore), ``arm`` (1 = intervention).
    """

    def __init__(self, mi: MultipleImputation, outcome: str, deltas: Sequence[float], arm: int = 1,
                 alpha: float = 0.05) -> None:
        self.mi, self.outcome, self.deltas, self.arm, self.alpha = mi, outcome, tuple(deltas), arm, alpha

    def fit(self, data: pd.DataFrame) -> EffectResult:
        if self.outcome not in self.mi.imputer.columns:
            raise DataError(f"tipping point: '{self.outcome}' must be among the imputed columns "
                            f"{self.mi.imputer.columns}")
        sets = self.mi.completed(data)
        shift_rows = (data[self.outcome].isna() & (data[TREAT] == self.arm)).to_numpy()
        n = {"intervention": int((data[TREAT] == 1).sum()), "usual_care": int((data[TREAT] == 0).sum())}
        table: list[dict[str, float]] = []
        mar: EffectResult | None = None
        for delta in (0.0, *self.deltas):
            res = []
            for s in sets:
                s2 = s.copy()
                s2.loc[shift_rows, self.outcome] += delta
                res.append(self.mi.analysis(s2))
            pooled = self.mi.pool(res, n)
            if mar is None:
                mar = pooled
            if delta == 0.0 and table:
                continue
            lo, hi = pooled.ci
            table.append({"delta": delta, "estimate": pooled.estimate, "se": pooled.se, "ci_lower": lo,
                          "ci_upper": hi, "p_value": pooled.p_value})
        assert mar is not None
        sig0 = mar.p_value < self.alpha
        tip = next((row["delta"] for row in table[1:] if (row["p_value"] < self.alpha) != sig0), None)
        details = dict(mar.details)
        details.update(tipping_table=table, tipping_point=tip, shifted_arm="intervention" if self.arm else "usual_care",
                       shifted_imputations=int(shift_rows.sum()), alpha=self.alpha)
        warns = () if tip is not None else (
            f"the conclusion did not change over deltas {self.deltas[0]} to {self.deltas[-1]}: no tipping point in range",)
        return EffectResult(model=f"{mar.model}, delta-adjusted (MNAR tipping point)", outcome=mar.outcome,
                            estimates=mar.estimates, n_analysed=n, warnings=mar.warnings + warns, details=details)
