"""Exact numeric pieces of the subdifferentials of vector norms at a point.

Projections onto the sets that appear as subdifferentials (boxes, balls, simplex faces),
membership tests and support functions. Arrays are 1-D; ``u`` is the point.
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray


def project_simplex(v: Array, radius: float = 1.0) -> Array:
    """Euclidean projection onto {w >= 0, sum w = radius} (sort-based, Held et al.)."""
    v = np.asarray(v, dtype=float)
    if v.size == 0:
        return v
    mu = np.sort(v)[::-1]
    cumulative = np.cumsum(mu) - radius
    index = np.arange(1, v.size + 1)
    rho = np.nonzero(mu - cumulative / index > 0)[0][-1]
    theta = cumulative[rho] / (rho + 1)
    return np.maximum(v - theta, 0)


def project_l1_ball(v: Array, radius: float = 1.0) -> Array:
    """Euclidean projection onto {x : ||x||_1 <= radius}."""
    v = np.asarray(v, dtype=float)
    if np.abs(v).sum() <= radius:
        return v.copy()
    return np.sign(v) * project_simplex(np.abs(v), radius)


def project_l2_ball(v: Array, radius: float = 1.0) -> Array:
    n = float(np.linalg.norm(v))
    return v * (radius / n) if n > radius else np.asarray(v, dtype=float).copy()


def lq_norm(v: Array, q: float) -> float:
    a = np.abs(v)
    big = a.max() if a.size else 0.0
    if big == 0:
        return 0.0
    return float(big * np.sum((a / big) ** q) ** (1 / q))


def project_lq_ball(v: Array, q: float) -> Array:
    """Euclidean projection onto {x : ||x||_q <= 1} for 1 < q < oo.

    KKT: x_i = sign(v_i) t_i with t_i + mu * t_i**(q-1) = |v_i| and sum t_i**q = 1;
    both equations are monotone, so nested bisection converges.
    """
    v = np.asarray(v, dtype=float)
    if lq_norm(v, q) <= 1:
        return v.copy()
    a = np.abs(v)

    def t_of(mu: float) -> Array:
        lo, hi = np.zeros_like(a), a.copy()
        for _ in range(80):
            mid = (lo + hi) / 2
            too_big = mid + mu * mid ** (q - 1) > a
            hi = np.where(too_big, mid, hi)
            lo = np.where(too_big, lo, mid)
        return (lo + hi) / 2

    mu_lo, mu_hi = 0.0, 1.0
    while np.sum(t_of(mu_hi) ** q) > 1:
        mu_hi *= 2
    for _ in range(80):
        mid = (mu_lo + mu_hi) / 2
        if np.sum(t_of(mid) ** q) > 1:
            mu_lo = mid
        else:
            mu_hi = mid
    return np.sign(v) * t_of(mu_hi)


def ties(u: Array) -> Array:
    """Boolean mask of the entries whose |u_i| equals max |u| (exactly)."""
    a = np.abs(u)
    return a == a.max() if a.size else np.zeros(0, dtype=bool)
