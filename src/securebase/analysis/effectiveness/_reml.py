"""Numerical helpers for the REML fits: optimisation, Hessian, gradient (central differences)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import optimize


def minimise(fun: Callable[[np.ndarray], float], x0: np.ndarray) -> tuple[np.ndarray, bool]:
    """BFGS from x0, then Newton polishing steps on a finite-difference Hessian."""
    res = optimize.minimize(fun, x0, method="BFGS", options={"gtol": 1e-7, "maxiter": 500})
    x = res.x
    ok = bool(res.success) or res.status == 2  # status 2: precision loss at the optimum
    for _ in range(5):
        g = gradient(fun, x)
        h = hessian(fun, x)
        try:
            step = np.linalg.solve(h, g)
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step)):
            break
        f0 = fun(x)
        t = 1.0
        while t > 1e-4 and fun(x - t * step) > f0 + 1e-12:
            t /= 2
        if t <= 1e-4:
            break
        x = x - t * step
        if np.max(np.abs(t * step)) < 1e-10:
            break
    return x, ok


def gradient(fun: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    g = np.empty(len(x))
    for i in range(len(x)):
        e = np.zeros(len(x))
        e[i] = h
        g[i] = (fun(x + e) - fun(x - e)) / (2 * h)
    return g


def hessian(fun: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    k = len(x)
    out = np.empty((k, k))
    f0 = fun(x)
    for i in range(k):
        ei = np.zeros(k)
        ei[i] = h
        out[i, i] = (fun(x + ei) - 2 * f0 + fun(x - ei)) / h**2
        for j in range(i):
            ej = np.zeros(k)
            ej[j] = h
            out[i, j] = out[j, i] = (fun(x + ei + ej) - fun(x + ei - ej) - fun(x - ei + ej)
                                     + fun(x - ei - ej)) / (4 * h**2)
    return out


def jacobian(fun: Callable[[np.ndarray], np.ndarray], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    cols = []
    for i in range(len(x)):
        e = np.zeros(len(x))
        e[i] = h
        cols.append((fun(x + e) - fun(x - e)) / (2 * h))
    return np.stack(cols, axis=-1)
