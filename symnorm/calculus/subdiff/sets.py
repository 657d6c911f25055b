"""Closed convex sets at a numeric point: the numbers behind subdifferentials.

A set here is ``{c + Σ_i M_i s_i : s_i ∈ S_i}`` (an :class:`AffineSet`, with each
``S_i`` a norm's subdifferential at a point, known exactly through its rule), or the
convex hull of several such sets (a :class:`HullSet`, from a pointwise max). Support
functions are exact. Distances come with two certificates: an upper bound (the distance
to a point of the set that was found) and a lower bound from a separating hyperplane
``<w, g> - σ_S(w)``, so "not a member" is proved, not guessed. The nearest point (the
minimum-norm element, for ``g = 0``) is exact to rounding: by projection for one
scaled set, by Wolfe's minimum-norm-point method for polytopes (the sets at kinks of
L1 and L∞ terms and their images, ``Aᵀ ∂‖·‖₁(Ax − b)``), iteratively (FISTA,
Frank-Wolfe) only where a ball is among the sets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

Array = np.ndarray


@dataclass
class Atom:
    """A norm's subdifferential at a numeric point ``u`` (exact through its rule)."""

    rule: Any        # SubdiffRule
    u: Array
    p: Any
    label: str = ""

    def project(self, s: Array) -> Array:
        return np.asarray(self.rule.project(s, self.u, self.p), dtype=float)

    def support(self, d: Array) -> float:
        return float(self.rule.support(d, self.u, self.p))

    def support_point(self, d: Array) -> Array:
        return np.asarray(self.rule.support_point(d, self.u, self.p), dtype=float)

    def contains(self, g: Array, tol: float) -> bool:
        return bool(self.rule.contains(g, self.u, self.p, tol))


@dataclass
class Nearest:
    """The outcome of a distance computation."""

    point: Array          # a member of the set
    upper: float          # ||g - point||: the distance is at most this
    lower: float          # from a separating hyperplane: the distance is at least this
    iterations: int = 0
    method: str = "exact"


def wolfe_nearest(lmo: Any, g: Array, max_iter: int) -> tuple[Array, bool, int]:
    """The point of a convex set nearest to ``g``, by Wolfe's minimum-norm-point method.

    ``lmo(d)`` returns a point of the set minimising ``<d, p>``. The method keeps a few
    points of the set (a "corral") and the exact nearest point of their affine hull (one
    least-squares solve), dropping points whose weight turns negative; for a polytope it
    ends after finitely many steps, with the nearest point exact to rounding (Wolfe 1976).
    Returns ``(point, converged, iterations)``: converged when no point of the set is
    closer to ``g`` along ``g - point`` than rounding can tell.
    """
    g = np.asarray(g, dtype=float)
    corral = [np.asarray(lmo(-g), dtype=float) - g]   # points of the set, shifted by -g
    weights = np.array([1.0])
    x = corral[0].copy()
    scale = float(np.linalg.norm(corral[0]))
    for it in range(1, max_iter + 1):
        q = np.asarray(lmo(x), dtype=float) - g
        scale = max(scale, float(np.linalg.norm(q)))
        gap = float(x @ x - x @ q)
        if gap <= 64 * np.finfo(float).eps * max(scale * scale, 1e-300):
            return x + g, True, it
        if any(np.array_equal(q, c) for c in corral):
            return x + g, False, it  # rounding stalls the corral: no progress possible
        corral.append(q)
        weights = np.append(weights, 0.0)
        while True:  # minor cycles: move to the affine minimiser, or towards it
            base = corral[0]
            if len(corral) == 1:
                alpha = np.array([1.0])
            else:
                diffs = np.stack([c - base for c in corral[1:]], axis=1)
                beta = np.linalg.lstsq(diffs, -base, rcond=None)[0]
                alpha = np.concatenate([[1.0 - beta.sum()], beta])
            if np.all(alpha > 0):
                weights = alpha
                break
            shrink = weights / np.where(weights - alpha > 0, weights - alpha, np.inf)
            theta = float(np.min(np.where(alpha <= 0, shrink, np.inf)))
            weights = theta * alpha + (1 - theta) * weights
            keep = weights > 1e-15
            if not np.any(keep):  # pragma: no cover (needs exact cancellation)
                keep[int(np.argmax(alpha))] = True
            corral = [c for c, k in zip(corral, keep) if k]
            weights = weights[keep] / weights[keep].sum()
        stacked = np.stack(corral, axis=1)
        x = stacked @ weights
    return x + g, False, max_iter


class NumericSet:
    """Interface of numeric convex sets."""

    def _exact_nearest(self, g: Array, tol: float, fallback: Any) -> Nearest:
        """Wolfe's method (exact for the polytopes that kinks of L1 and L∞ terms give);
        the iterative ``fallback(g, tol)`` where it does not end (a ball among the sets),
        keeping the closer of the two points."""
        point, converged, iterations = wolfe_nearest(
            lambda d: self.support_point(-np.asarray(d, dtype=float)), g,
            max_iter=50 + 10 * int(np.size(g)))
        upper = float(np.linalg.norm(g - point))
        found = Nearest(point, upper, self.lower_bound(g, point), iterations,
                        "Wolfe's minimum-norm point")
        if converged:
            return found
        other = fallback(g, tol)
        return other if other.upper < found.upper else found

    dim: int

    def support(self, d: Array) -> float:
        raise NotImplementedError

    def support_point(self, d: Array) -> Array:
        raise NotImplementedError

    def nearest(self, g: Array, tol: float) -> Nearest:
        raise NotImplementedError

    def lower_bound(self, g: Array, point: Array) -> float:
        """Distance lower bound from the hyperplane through ``point`` normal to g - point."""
        w = g - point
        n = float(np.linalg.norm(w))
        if n == 0:
            return 0.0
        w = w / n
        return max(0.0, float(w @ g) - self.support(w))

    def contains(self, g: Array, tol: float = 1e-8) -> bool:
        return self.nearest(np.asarray(g, dtype=float), tol).upper <= tol * max(
            1.0, float(np.linalg.norm(g)))

    def min_norm(self, tol: float = 1e-10) -> Array:
        return self.nearest(np.zeros(self.dim), tol).point


@dataclass
class AffineSet(NumericSet):
    """``{offset + Σ_i maps[i] @ s_i : s_i ∈ atoms[i]}``; ``maps[i]`` None means identity."""

    offset: Array
    atoms: list[Atom] = field(default_factory=list)
    maps: list[Array | None] = field(default_factory=list)

    @property
    def dim(self) -> int:  # type: ignore[override]
        return int(self.offset.shape[0])

    def scaled(self, c: float) -> "AffineSet":
        return AffineSet(c * self.offset, list(self.atoms),
                         [c * (np.eye(self.dim) if m is None else m) for m in self.maps])

    def mapped(self, m: Array) -> "AffineSet":
        return AffineSet(m @ self.offset, list(self.atoms),
                         [m if a is None else m @ a for a in self.maps])

    def plus(self, other: "AffineSet") -> "AffineSet":
        return AffineSet(self.offset + other.offset, self.atoms + other.atoms,
                         self.maps + other.maps)

    def _apply(self, i: int, s: Array) -> Array:
        m = self.maps[i]
        return s if m is None else m @ s

    def _adjoint(self, i: int, r: Array) -> Array:
        m = self.maps[i]
        return r if m is None else m.T @ r

    def support(self, d: Array) -> float:
        d = np.asarray(d, dtype=float)
        return float(self.offset @ d) + sum(
            a.support(self._adjoint(i, d)) for i, a in enumerate(self.atoms))

    def support_point(self, d: Array) -> Array:
        d = np.asarray(d, dtype=float)
        out = self.offset.astype(float).copy()
        for i, a in enumerate(self.atoms):
            out += self._apply(i, a.support_point(self._adjoint(i, d)))
        return out

    def _scalar_identity(self) -> float | None:
        """α when the set is offset + α S for one atom (exact projection applies)."""
        if len(self.atoms) != 1:
            return None
        m = self.maps[0]
        if m is None:
            return 1.0
        if m.shape[0] == m.shape[1] and np.allclose(m, m[0, 0] * np.eye(m.shape[0]),
                                                    rtol=0, atol=0) and m[0, 0] > 0:
            return float(m[0, 0])
        return None

    def nearest(self, g: Array, tol: float) -> Nearest:
        g = np.asarray(g, dtype=float)
        if not self.atoms:
            point = self.offset.astype(float)
            dist = float(np.linalg.norm(g - point))
            return Nearest(point, dist, dist)
        alpha = self._scalar_identity()
        if alpha is not None:  # g - c ∈ α S  <=>  projection is exact
            s = self.atoms[0].project((g - self.offset) / alpha)
            point = self.offset + alpha * s
            dist = float(np.linalg.norm(g - point))
            return Nearest(point, dist, self.lower_bound(g, point), 0, "exact projection")
        return self._exact_nearest(g, tol, self._accelerated_projected_gradient)

    def _accelerated_projected_gradient(self, g: Array, tol: float,
                                        max_iter: int = 20000) -> Nearest:
        """FISTA with restarts on 1/2 ||offset + Σ M_i s_i - g||^2 over the product set."""
        blocks = [np.eye(self.dim) if m is None else m for m in self.maps]
        lipschitz = float(np.linalg.norm(np.hstack(blocks), 2) ** 2) or 1.0
        s = [a.project(np.zeros(b.shape[1])) for a, b in zip(self.atoms, blocks)]
        y = [v.copy() for v in s]
        t = 1.0
        best = None
        scale = max(1.0, float(np.linalg.norm(g)))
        for it in range(1, max_iter + 1):
            r = self.offset + sum(b @ v for b, v in zip(blocks, y)) - g
            new = [a.project(v - (b.T @ r) / lipschitz)
                   for a, b, v in zip(self.atoms, blocks, y)]
            t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2
            momentum = (t - 1) / t_next
            y = [n + momentum * (n - o) for n, o in zip(new, s)]
            s, t = new, t_next
            if it % 25 == 0 or it == max_iter:
                point = self.offset + sum(b @ v for b, v in zip(blocks, s))
                upper = float(np.linalg.norm(g - point))
                lower = self.lower_bound(g, point)
                best = Nearest(point, upper, lower, it, "accelerated projected gradient")
                if upper <= tol * scale or upper - lower <= 1e-3 * max(upper, tol):
                    return best
                if it % 500 == 0:  # restart the momentum (keeps FISTA monotone enough)
                    y, t = [v.copy() for v in s], 1.0
        assert best is not None
        return best


@dataclass
class HullSet(NumericSet):
    """The convex hull of several sets (the subdifferential of a pointwise max)."""

    parts: list[NumericSet]

    @property
    def dim(self) -> int:  # type: ignore[override]
        return self.parts[0].dim

    def support(self, d: Array) -> float:
        return max(p.support(d) for p in self.parts)

    def support_point(self, d: Array) -> Array:
        best = max(self.parts, key=lambda p: p.support(d))
        return best.support_point(d)

    def nearest(self, g: Array, tol: float) -> Nearest:
        """Wolfe's minimum-norm point over the hull (exact for polytopes), else
        Frank-Wolfe."""
        g = np.asarray(g, dtype=float)
        if len(self.parts) == 1:
            return self.parts[0].nearest(g, tol)
        return self._exact_nearest(g, tol, self._frank_wolfe)

    def _frank_wolfe(self, g: Array, tol: float, max_iter: int = 20000) -> Nearest:
        """Frank-Wolfe with exact line search; the FW gap bounds the distance below."""
        x = self.support_point(g)
        scale = max(1.0, float(np.linalg.norm(g)))
        result = Nearest(x, float(np.linalg.norm(g - x)), 0.0, 0, "Frank-Wolfe")
        for it in range(1, max_iter + 1):
            s = self.support_point(g - x)
            step = x - s
            denom = float(step @ step)
            gamma = 0.0 if denom == 0 else min(1.0, max(0.0, float((x - g) @ step) / denom))
            x = x - gamma * step
            if it % 25 == 0 or gamma == 0:
                upper = float(np.linalg.norm(g - x))
                lower = self.lower_bound(g, x)
                result = Nearest(x, upper, lower, it, "Frank-Wolfe")
                if upper <= tol * scale or upper - lower <= 1e-3 * max(upper, tol) or gamma == 0:
                    return result
        return result
