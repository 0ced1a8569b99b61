"""Batched Newton optimisation for the REML fits (many datasets at once, each with its own
parameters), with central-difference derivatives. ``fun`` maps parameters of shape (B, k) to
criteria of shape (B,); infinite values mark invalid points and trigger step halving."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Fun = Callable[[np.ndarray], np.ndarray]


def gradient(fun: Fun, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    g = np.empty_like(x)
    for i in range(x.shape[1]):
        e = np.zeros(x.shape[1])
        e[i] = h
        g[:, i] = (fun(x + e) - fun(x - e)) / (2 * h)
    return g


def hessian(fun: Fun, x: np.ndarray, h: float = 1e-4, f0: np.ndarray | None = None) -> np.ndarray:
    B, k = x.shape
    f0 = fun(x) if f0 is None else f0
    H = np.empty((B, k, k))
    eye = np.eye(k) * h
    for i in range(k):
        H[:, i, i] = (fun(x + eye[i]) - 2 * f0 + fun(x - eye[i])) / h**2
        for j in range(i):
            H[:, i, j] = H[:, j, i] = (fun(x + eye[i] + eye[j]) - fun(x + eye[i] - eye[j])
                                       - fun(x - eye[i] + eye[j]) + fun(x - eye[i] - eye[j])) / (4 * h**2)
    return H


def jacobian(fun: Callable[[np.ndarray], np.ndarray], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """d fun / d x for fun: (B, k) -> (B, ...); result (B, ..., k)."""
    cols = []
    for i in range(x.shape[1]):
        e = np.zeros(x.shape[1])
        e[i] = h
        cols.append((fun(x + e) - fun(x - e)) / (2 * h))
    return np.stack(cols, axis=-1)


def newton(fun: Callable[[np.ndarray, np.ndarray], np.ndarray], x0: np.ndarray, max_iter: int = 100,
           tol: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    """Damped Newton (Levenberg-regularised when the Hessian is not positive definite) with step
    halving, run on every row of x0 at once; ``fun(z, idx)`` evaluates datasets ``idx`` at rows of z.
    Returns (x, converged per row)."""
    x = np.array(x0, dtype=float)
    B, k = x.shape
    f = fun(x, np.arange(B))
    done = np.zeros(B, dtype=bool)
    for _ in range(max_iter):
        idx = np.flatnonzero(~done)
        if len(idx) == 0:
            break

        def fa(z: np.ndarray, idx: np.ndarray = idx) -> np.ndarray:
            return fun(z, idx)

        xa, fa0 = x[idx], f[idx]
        g = gradient(fa, xa)
        H = hessian(fa, xa, f0=fa0)
        lam = np.maximum(0.0, -np.linalg.eigvalsh(H)[:, 0]) * 1.5 + 1e-10
        step = np.linalg.solve(H + lam[:, None, None] * np.eye(k), g[..., None])[..., 0]
        step = np.clip(step, -3.0, 3.0)
        t = np.ones(len(idx))
        new_f = fa(xa - step)
        for _h in range(40):
            bad = ~(new_f <= fa0 + 1e-12)
            if not bad.any():
                break
            t[bad] /= 2
            new_f[bad] = fun(xa[bad] - t[bad, None] * step[bad], idx[bad])
        bad = ~(new_f <= fa0 + 1e-12)
        t[bad] = 0.0
        moved = np.max(np.abs(t[:, None] * step), axis=1)
        x[idx] = xa - t[:, None] * step
        f[idx] = np.where(bad, fa0, new_f)
        # stop on a tiny step, a tiny gradient, no further decrease, or a negligible decrease (a variance
        # drifting to the boundary, e.g. log(tau) -> -inf, changes the criterion by ever less)
        flat = (fa0 - f[idx]) < 1e-11 * (1 + np.abs(fa0))
        done[idx[(moved < tol) | (np.max(np.abs(g), axis=1) < 1e-9) | bad | flat]] = True
    g = gradient(lambda z: fun(z, np.arange(B)), x)
    return x, done & (np.max(np.abs(g), axis=1) < 1e-3)
