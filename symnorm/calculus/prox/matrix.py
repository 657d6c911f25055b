r"""Proximal operators and dual norms of matrix norms, derived and checked.

Prox (``prox_f(V) = argmin_X f(X) + ‖X - V‖_F²/2``), reached through
:func:`symnorm.prox`
when the variable is a matrix:

* ``lam*norm(X, 'nuc')``: singular value soft thresholding ``U max(Σ - λ, 0) V^T``;
* ``lam*norm(X, 2)``: Moreau, ``V - Π_{‖·‖_* <= λ}(V)`` (the nuclear norm is the dual);
* ``lam*norm(X, 'fro')``: block soft thresholding ``max(0, 1 - λ/‖V‖_F) V``;
* ``lam*norm(X, (2, 1))``: the same, column by column;
* any of them plus ``mu/2*norm(X, 'fro')**2``.

Each is checked through its optimality condition ``(V - (1 + μ) P)/λ ∈ ∂‖·‖(P)``
with the exact matrix sets of :mod:`symnorm.calculus.subdiff.matrix`.

Duals in the trace pairing ``<X, Y> = tr(X^T Y)`` (reached through :func:`symnorm.calculus.dual`):
nuclear ↔ spectral, Frobenius ↔ itself, mixed ``L_{p,q}`` ↔ ``L_{p*,q*}``, the induced
1-norm ``max_j ‖x_j‖_1`` ↔ ``Σ_j ‖y_j‖_∞`` (mixed (∞, 1)), the induced ∞-norm ↔
``Σ_i ‖row_i(Y)‖_∞`` (mixed (∞, 1) of ``Y^T``), checked by the Hölder-type inequality
``|<X, Y>| <= ‖X‖ ‖Y‖_*`` and its equality case at a subgradient of the dual norm.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol

from ...model.atoms import Norm
from ...model.errors import CheckFailedError, ShapeError, UnsupportedExpressionError
from ...model.text import to_text
from ...rules import norm_rule, numeric_order
from ...rules.matrix_norms import MatrixOrder, _MatrixMap
from ..derivation import Step
from .vector import Argmin, Prox, ProxCheckReport, ProxOf, ProxPoint, split_norm_terms

__all__ = ["ColumnShrink", "FrobeniusShrink", "MatrixProx", "ProjectNuclearBall",
           "SingularValueThreshold", "derive_matrix_prox", "matrix_dual", "prox_node"]


class _ProxMap(_MatrixMap):
    def __new__(cls, v: MatrixExpr, lam: object) -> "_ProxMap":
        lam = sp.sympify(lam)
        if isinstance(lam, MatrixExpr):
            raise ShapeError(f"{cls.name}(): the threshold must be a scalar, got {lam}")
        return MatrixExpr.__new__(cls, v, lam)

    @property
    def lam(self) -> sp.Expr:
        return self.args[1]

    def _lam_latex(self, printer: Any) -> str:
        t = printer._print(self.lam)
        return rf"\left({t}\right)" if isinstance(self.lam, sp.Add) else t

    def _v_latex(self, printer: Any) -> str:
        t = printer._print(self.arg)
        return t if isinstance(self.arg, MatrixSymbol) else rf"\left({t}\right)"


class SingularValueThreshold(_ProxMap):
    r"""``U max(Σ - λ, 0) V^T`` for the thin SVD ``U Σ V^T`` of the argument.

    >>> import symnorm as sn
    >>> print(sn.latex(SingularValueThreshold(sn.matrix("Z"), sn.scalar("lam"))))
    U \max(\Sigma - \lambda, 0) V^{\top} \text{ where } U \Sigma V^{\top} = Z
    """

    name = "svt"
    helper = "mat_svt"

    def _latex(self, printer: Any) -> str:
        return (rf"U \max(\Sigma - {self._lam_latex(printer)}, 0) V^{{\top}} \text{{ where }}"
                rf" U \Sigma V^{{\top}} = {printer._print(self.arg)}")


class ProjectNuclearBall(_ProxMap):
    r"""Projection onto ``{‖X‖_* <= λ}``: the singular values projected onto the L1 ball.

    >>> import symnorm as sn
    >>> print(sn.latex(ProjectNuclearBall(sn.matrix("Z"), 2)))
    \Pi_{\lVert \cdot \rVert_* \le 2}\left(Z\right)
    """

    name = "proj_nucball"
    helper = "mat_proj_nuc_ball"

    def _latex(self, printer: Any) -> str:
        return (rf"\Pi_{{\lVert \cdot \rVert_* \le {printer._print(self.lam)}}}"
                rf"\left({printer._print(self.arg)}\right)")


class FrobeniusShrink(_ProxMap):
    r"""``max(0, 1 - λ/‖V‖_F) V``.

    >>> import symnorm as sn
    >>> print(sn.latex(FrobeniusShrink(sn.matrix("Z"), 1)))
    \max\left(0, 1 - \frac{1}{\lVert Z \rVert_F}\right) Z
    """

    name = "fro_shrink"
    helper = "mat_fro_shrink"

    def _latex(self, printer: Any) -> str:
        return (rf"\max\left(0, 1 - \frac{{{printer._print(self.lam)}}}{{\lVert "
                rf"{printer._print(self.arg)} \rVert_F}}\right) {self._v_latex(printer)}")


class ColumnShrink(_ProxMap):
    r"""``max(0, 1 - λ/‖v_j‖_2) v_j`` on each column ``v_j``.

    >>> import symnorm as sn
    >>> print(sn.latex(ColumnShrink(sn.matrix("Z"), 1)))
    \left( \max\left(0, 1 - \frac{1}{\lVert Z_{j} \rVert_2}\right) Z_{j} \right)_{j}
    """

    name = "col_shrink"
    helper = "mat_col_shrink"

    def _latex(self, printer: Any) -> str:
        col = f"{printer._print(self.arg)}_{{j}}" if isinstance(self.arg, MatrixSymbol) \
            else rf"\left({printer._print(self.arg)}\right)_{{j}}"
        return (rf"\left( \max\left(0, 1 - \frac{{{printer._print(self.lam)}}}{{\lVert {col} "
                rf"\rVert_2}}\right) {col} \right)_{{j}}")


def prox_node(kind: str, v: MatrixExpr, lam: sp.Expr, p: MatrixOrder) -> MatrixExpr:
    """The closed form of ``prox_{lam*‖·‖}(v)`` for the matrix norm ``p`` (rule entries).

    >>> import symnorm as sn
    >>> print(sn.to_text(prox_node("spectral", sn.matrix("Z"), 2, MatrixOrder("spectral"))))
    Z - proj_nucball(Z, 2)
    """
    if kind == "svt":
        return SingularValueThreshold(v, lam)
    if kind == "spectral":
        return sp.MatAdd(v, sp.MatMul(-1, ProjectNuclearBall(v, lam)))
    if kind == "fro":
        return FrobeniusShrink(v, lam)
    if kind == "cols":
        return ColumnShrink(v, lam)
    raise UnsupportedExpressionError(f"no matrix prox named {kind!r}")


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
        from ..subdiff.matrix import norm_set

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

def matrix_dual(n: Norm, *, check: bool = True, name: str = "Y") -> Any:
    """The dual of a matrix norm in the trace pairing, derived and checked (Hölder).

    >>> import symnorm as sn
    >>> X = sn.matrix("X")
    >>> [sn.to_text(sn.dual(sn.norm(X, p)).result) for p in ("nuc", 2, "fro", 1, "oo")]
    ['norm(Y, 2)', 'norm(Y, nuc)', 'norm(Y, fro)', 'norm(Y, (oo, 1))', 'norm(Y.T, (oo, 1))']
    >>> sn.to_text(sn.dual(sn.norm(X, (2, 1))).result)
    'norm(Y, (2, oo))'
    """
    from ..dual import DualNorm

    x = n.arg
    if not isinstance(x, MatrixSymbol):
        raise UnsupportedExpressionError(
            f"dual() of a matrix norm takes norm(X, p) for a matrix symbol X; got the argument "
            f"{to_text(x)}")
    rule = norm_rule(n.p)
    y = MatrixSymbol(name, *x.shape)
    if y == x:
        raise ShapeError(f"the dual variable {name} is the primal variable; pass name=")
    q = rule.dual_order(n.p)
    mapped = y.T if rule.extras.get("dual_transposed") else y
    result = Norm(mapped, q)
    steps = [Step("definition", Norm(y, sp.Symbol("*")), _Sup(n, x, y),
                  "definition of the dual norm, <X, Y> = tr(X^T Y)"),
             Step("Hölder", _Sup(n, x, y), result, _NOTES[rule.key])]
    out = DualNorm(norm=n, x=x, y=y, result=result, q=q, steps=steps)
    if check:
        out.report = matrix_holder_check(out)
        if not out.report.ok:
            raise CheckFailedError(f"the dual of {to_text(n)} failed its check:\n"
                                   f"{out.report.summary()}")
    return out


class _Sup:
    """``sup_{‖X‖ <= 1} tr(Y^T X)`` for display."""

    def __init__(self, norm: Norm, x: Any, y: Any) -> None:
        self.norm, self.x, self.y = norm, x, y

    def latex(self) -> str:
        from ...presentation.latex import latex

        return (rf"\sup_{{{latex(self.norm)} \le 1}} \operatorname{{tr}}\left("
                rf"{latex(self.y)}^\top {latex(self.x)}\right)")

    def text(self) -> str:
        return f"sup over {to_text(self.norm)} <= 1 of trace({self.y}.T*{self.x})"


_NOTES = {
    "fro": "Cauchy-Schwarz for the trace inner product; equality at X = Y/||Y||_F",
    "nuc": "von Neumann's trace inequality; equality at X = u_1 v_1^T of Y",
    "spectral": "von Neumann's trace inequality; equality at X = U V^T of Y",
    "induced1": "Hölder: sum_j <x_j, y_j> <= sum_j ||x_j||_1 ||y_j||_oo <= "
                "max_j ||x_j||_1 sum_j ||y_j||_oo",
    "inducedinf": "Hölder row by row (the induced oo-norm of X is the induced 1-norm of "
                  "X^T)",
    "mixed": "Hölder twice: within columns (p, p*) and across columns (q, q*)",
}


def matrix_holder_check(d: Any, points: int = 20, seed: int = 0) -> Any:
    """``|<X, Y>| <= ‖X‖ ‖Y‖_*`` at random pairs, and equality at a subgradient of the dual
    norm at Y (a subgradient of a norm at Y ≠ 0 has dual norm 1 and pairs to ‖Y‖)."""
    from ... import numeric as nm
    from ..dual import HolderReport

    rng = np.random.default_rng(seed)
    prim_rule, dual_rule = norm_rule(d.norm.p), norm_rule(d.q)
    p_num, q_num = numeric_order(d.norm.p, {}), numeric_order(d.q, {})
    transposed = d.result.arg != d.y
    prim = getattr(nm, prim_rule.numpy_value)
    dual_v = getattr(nm, dual_rule.numpy_value)
    dual_g = getattr(nm, dual_rule.numpy_gradient)
    worst_ineq = worst_eq = worst_unit = 0.0
    example: dict = {}
    for i in range(points):
        m, n = (int(s) if s.is_Integer else int(rng.integers(2, 6)) for s in d.x.shape)
        xv, yv = rng.standard_normal((m, n)), rng.standard_normal((m, n))
        if i % 3 == 1:  # ties and zeros, where the extremes sit
            yv[:, 0] = 0.0
            yv[0, :] = np.abs(yv[0, :]).max()
        ym = yv.T if transposed else yv
        px, dy = float(prim(xv, p_num)), float(dual_v(ym, q_num))
        excess = abs(float(np.sum(xv * yv))) - px * dy
        worst_ineq = max(worst_ineq, excess / max(1.0, px * dy))
        if excess > 1e-9 * max(1.0, px * dy):
            example = {"X": xv, "Y": yv}
        g = np.asarray(dual_g(ym, q_num), dtype=float)
        xstar = g.T if transposed else g
        worst_unit = max(worst_unit, abs(float(prim(xstar, p_num)) - 1) if np.any(yv) else 0)
        worst_eq = max(worst_eq, abs(float(np.sum(xstar * yv)) - dy) / max(1.0, dy))
    return HolderReport(points, worst_ineq, worst_eq, worst_unit, 1e-9, example)
