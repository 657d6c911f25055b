r"""Proximal operators of matrix norms, derived and checked.

``prox_f(V) = argmin_X f(X) + ‖X - V‖_F²/2``, reached through :func:`symnorm.prox` when
the variable is a matrix:

* ``lam*norm(X, 'nuc')``: singular value soft thresholding ``U max(Σ - λ, 0) V^T``;
* ``lam*norm(X, 2)``: Moreau, ``V - Π_{‖·‖_* <= λ}(V)`` (the nuclear norm is the dual);
* ``lam*norm(X, 'fro')``: block soft thresholding ``max(0, 1 - λ/‖V‖_F) V``;
* ``lam*norm(X, (2, 1))``: the same, column by column;
* any of them plus ``mu/2*norm(X, 'fro')**2``.

Each is checked through its optimality condition ``(V - (1 + μ) P)/λ ∈ ∂‖·‖(P)``
with the exact matrix sets of :mod:`symnorm.calculus.subdiff.matrix`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol

from ...model.atoms import Norm
from ...model.errors import ShapeError, UnsupportedExpressionError
from ...model.text import to_text
from ...rules import norm_rule
from ...rules.matrix_maps import MatrixOrder
from ..derivation import Step
from ..subdiff.matrix import norm_set
from .vector import Argmin, Prox, ProxCheckReport, ProxOf, ProxPoint, split_norm_terms

__all__ = ["MatrixProx", "derive_matrix_prox"]


# -- prox: matching, deriving, checking ---------------------------------------------------------

FORMS = ("lam*norm(X, 'nuc')", "lam*norm(X, 2)", "lam*norm(X, 'fro')", "lam*norm(X, (2, 1))",
         "mu/2*norm(X, 'fro')**2", "any of these + mu/2*norm(X, 'fro')**2")


def _unsupported(f: Any, why: str) -> UnsupportedExpressionError:
    return UnsupportedExpressionError(
        f"no closed-form prox for {to_text(f)}: {why}. Supported for a matrix X (lam, mu "
        f"positive scalars): {'; '.join(FORMS)}")


def _match(f: Any, wrt: MatrixSymbol) -> tuple[Any, Any, sp.Expr]:
    if not isinstance(f, sp.Expr) or isinstance(f, MatrixExpr):
        raise ShapeError(f"prox() needs a scalar function f, got {to_text(f)}")
    if not f.has(wrt):
        raise _unsupported(f, f"it does not depend on {wrt} (the variable must be a column "
                              f"vector or a matrix that f depends on)")
    norms, mu = split_norm_terms(f, wrt, MatrixOrder("fro"), _unsupported)
    if len(norms) > 1:
        raise _unsupported(f, "it is a sum of different norms")
    if not norms:
        return None, None, mu
    (p, lam), = norms.items()
    if not isinstance(p, MatrixOrder) or norm_rule(p).prox is None or \
            norm_rule(p).prox(MatrixSymbol("V", *wrt.shape), lam, p) is None:
        raise _unsupported(f, f"the {to_text(Norm(wrt, p))} has no closed-form prox here")
    return lam, p, mu


def derive_matrix_prox(f: Any, wrt: MatrixSymbol) -> "MatrixProx":
    """Match ``f`` and derive its prox (no numeric check); see :func:`symnorm.calculus.prox.vector`.

    >>> import symnorm as sn
    >>> X, lam = sn.matrix("X"), sn.scalar("lam", positive=True)
    >>> print(sn.to_text(derive_matrix_prox(lam*sn.norm(X, "nuc"), X).result))
    svt(V, lam)
    """
    lam, p, mu = _match(f, wrt)
    coeffs = [c for c in (lam, mu) if c is not None]
    params = sorted({s for c in coeffs for s in c.free_symbols}, key=lambda s: s.name)
    taken = {wrt.name, *(s.name for s in f.free_symbols if hasattr(s, "name"))}
    name = next(n for n in ("V", "Z", "W", "V1", "V2") if n not in taken)
    v = MatrixSymbol(name, *wrt.shape)
    target = ProxOf(f, wrt, v)
    steps = [Step("definition", target,
                  Argmin(f + Norm(wrt - v, MatrixOrder("fro")) ** 2 / 2, wrt),
                  "definition of the proximal operator")]
    rule = None
    if lam is None:
        result = sp.MatMul(1 / (1 + mu), v)
        steps.append(Step("quadratic", target, result,
                          "smooth objective: its gradient (1 + mu) X - V vanishes"))
    else:
        rule = norm_rule(p)
        base = rule.prox(v, lam, p)
        note = (rule.prox.__doc__ or rule.title).strip().splitlines()[0]
        if mu == 0:
            result = base
            steps.append(Step(rule.key, target, result, note))
        else:
            c = 1 / (1 + mu)
            g = lam * Norm(wrt, p)
            shrunk = ProxOf(c * g, wrt, sp.MatMul(c, v))
            steps.append(Step("quadratic term", target, shrunk,
                              "adding mu/2 times the squared Frobenius norm: the prox of "
                              "g/(1 + mu) at V/(1 + mu)"))
            steps.append(Step("positive homogeneity", shrunk, ProxOf(g, wrt, v, c),
                              "a norm is positively homogeneous"))
            steps.append(Step(rule.key, ProxOf(g, wrt, v), base, note))
            result = sp.MatMul(c, base)
            steps.append(Step("result", target, result, "result"))
    return MatrixProx(f=f, wrt=wrt, v=v, params=params, result=result, steps=steps, lam=lam,
                      mu=mu, rule=rule, p=p)


class MatrixProx(Prox):
    """A derived matrix prox; :meth:`check` tests ``(V - (1 + μ)P)/λ ∈ ∂‖·‖(P)`` with the
    exact matrix sets (random V, low-rank and tied V, V so small that P = 0)."""

    def check(self, points: int = 3, seed: int | None = 0, at: Any = None) -> ProxCheckReport:
        rng = np.random.default_rng(seed)
        fixed = at if isinstance(at, list) else ([at] if at is not None else [])
        count = len(fixed) if fixed else points
        results = []
        for i in range(count):
            given = fixed[i] if fixed else {}
            if not isinstance(given, dict):
                given = {self.v.name: given}
            values: dict[str, Any] = {}
            for s in self.params:
                values[s.name] = float(given.get(s.name, rng.uniform(0.5, 2.0)))
            subs = {s: values[s.name] for s in self.params}
            lam = float(self.lam.subs(subs)) if self.lam is not None else 1.0
            mu = float(sp.sympify(self.mu).subs(subs))
            vv = np.asarray(given[self.v.name], dtype=float) if self.v.name in given else \
                _sample_matrix(rng, i, self.wrt.shape, lam)
            point = ProxPoint(values={self.v.name: vv, **values})
            try:
                u = np.asarray(self.kernel()(vv, *[values[s.name] for s in self.params]),
                               dtype=float)
            except Exception as exc:  # reported, not raised
                point.problem = f"evaluation failed: {type(exc).__name__}: {exc}"
                results.append(point)
                continue
            point.prox = u
            residual = vv - (1 + mu) * u
            scale = max(1.0, float(np.abs(vv).max(initial=0.0)) * (1 + mu) / lam)
            point.tolerance = 1e-8 * scale
            if self.rule is None:
                point.distance = float(np.linalg.norm(residual))
            else:
                g = residual / lam
                point.subgradient = g
                # rounding leaves ~eps*|V| where the prox is exactly 0: read that as 0
                at = u if np.linalg.norm(u) > 1e-12 * np.linalg.norm(vv) else 0 * u
                point.distance = norm_set(Norm(self.wrt, self.p), at).distance(g)
            point.ok = bool(np.all(np.isfinite(u)) and point.distance <= point.tolerance)
            results.append(point)
        return ProxCheckReport(expression=to_text(self.f), result=to_text(self.result),
                               method="optimality condition (V - (1 + mu) P)/lam in the "
                                      "subdifferential of the norm at P (exact matrix sets)",
                               points=results)


def _sample_matrix(rng: np.random.Generator, i: int, shape: tuple, lam: float) -> np.ndarray:
    m, n = (int(d) if d.is_Integer else int(rng.integers(2, 6)) for d in shape)
    kind = i % 3
    v = 2.0 * rng.standard_normal((m, n))
    if kind == 1:  # singular values on, inside and above the threshold; ties; a zero column
        u, _, vt = np.linalg.svd(v, full_matrices=False)
        k = min(m, n)
        s = np.linspace(2.5 * lam, 0.3 * lam, k)
        s[:2] = 2.5 * lam
        s[-1] = lam if k > 2 else s[-1]
        v = (u * s) @ vt
        if n > 2:
            v[:, -1] = 0.0
    elif kind == 2:  # so small that every supported prox gives 0
        v *= 0.3 * lam / max(np.linalg.svd(v, compute_uv=False).sum(), 1e-300)
    return v


# -- duals -----------------------------------------------------------------------------------------
