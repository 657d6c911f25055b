"""Dual norms: ``‖y‖_* = sup_{‖x‖ ≤ 1} <y, x>``, derived and checked with Hölder.

``dual(norm(x, p))`` is ``norm(y, q)`` with ``1/p + 1/q = 1`` (symbolic p too), L1 ↔ L∞,
and ``dual(norm(W*x, p)) = norm(W^{-T} y, q)`` for an invertible ``W``. The check draws
random points and tests Hölder's inequality ``|<x, y>| <= ‖x‖ ‖y‖_*`` and its equality
case: the support point ``x*`` of the dual's subdifferential at ``y`` has ``‖x*‖ = 1``
and ``<x*, y> = ‖y‖_*``, so the supremum is attained and equals the claimed formula.

Matrix norms pair in the trace, ``<X, Y> = tr(X^T Y)``: nuclear ↔ spectral, Frobenius ↔
itself, mixed ``L_{p,q}`` ↔ ``L_{p*,q*}``, the induced 1-norm ``max_j ‖x_j‖_1`` ↔
``Σ_j ‖y_j‖_∞`` (mixed (∞, 1)), the induced ∞-norm ↔ ``Σ_i ‖row_i(Y)‖_∞`` (mixed (∞, 1)
of ``Y^T``), checked the same way.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol

from .. import numeric as nm
from ..kernels.arguments import free_arguments
from ..kernels.kernel import kernel
from ..model.atoms import Norm
from ..model.errors import CheckFailedError, ShapeError, UnsupportedExpressionError
from ..model.text import to_text
from ..presentation.blocks import Block, Equations, Shown, Table, number
from ..presentation.latex import latex
from ..presentation.prose import Math, Note, Text, note
from ..rules import norm_rule, numeric_order
from .derivation import Step, step_rows


@dataclass(repr=False)
class HolderReport:
    """Numerical evidence for a dual norm: worst violations over random points."""

    points: int
    inequality_violation: float      # max of |<x,y>| - ‖x‖‖y‖_*  (should be <= 0)
    equality_gap: float              # max | <x*, y> - ‖y‖_* | at the attaining x*
    unit_gap: float                  # max | ‖x*‖ - 1 |
    tolerance: float
    counterexample: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (self.inequality_violation <= self.tolerance and self.equality_gap <= self.tolerance
                and self.unit_gap <= self.tolerance)

    def summary(self) -> str:
        verdict = "PASS" if self.ok else "FAIL"
        text = (f"{verdict}: Hölder's inequality at {self.points} random pairs (worst excess "
                f"{self.inequality_violation:.2e}); equality attained (gap "
                f"{self.equality_gap:.2e}, unit-norm gap {self.unit_gap:.2e}); "
                f"tolerance {self.tolerance:.1e}")
        if self.counterexample:
            text += "\n  " + ", ".join(f"{k} = {np.array2string(np.asarray(v), precision=6)}"
                                       for k, v in self.counterexample.items())
        return text

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return f"<HolderReport {self.summary().splitlines()[0]}>"

    def _compact_blocks_(self) -> list[Block]:
        """One row: the pairs tried, the worst excess and gaps, the tolerance, the verdict."""
        verdict = Note("pass") if self.ok else Note(r"$\textbf{FAIL}$", "FAIL")
        row = [Note(str(self.points)), number(max(self.inequality_violation, 0.0)),
               number(max(self.equality_gap, self.unit_gap)), number(self.tolerance), verdict]
        return [Table(["pairs", "excess", "equality gap", "tolerance", "verdict"], [row],
                      align="rrrrl", in_text=False,
                      caption=Note(r"checked: Hölder's inequality $\lvert\langle x, y "
                                   r"\rangle\rvert \le \lVert x \rVert \lVert y "
                                   r"\rVert_*$ at random pairs, and its equality case",
                                   "checked: Hölder's inequality |<x, y>| <= ||x|| ||y||_* at "
                                   "random pairs, and its equality case"))]

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"


@dataclass(repr=False)
class DualNorm(Shown):
    """The derived dual norm: ``result`` is ``‖·‖_*`` of ``y``; ``steps`` say why.

    ``‖y‖_* = sup_{‖x‖ <= 1} <y, x>`` (for matrices in the trace pairing
    ``<X, Y> = tr(X^T Y)``). ``repr`` is the result in one line; ``latex()`` and the
    Jupyter display show the steps (the definition, a substitution for ``norm(W*x,
    p)``, Hölder's inequality) and the check. :meth:`check` tests Hölder's inequality
    and its equality case at random pairs.

    Made by :func:`symnorm.dual`; not built by hand.

    Parameters
    ----------
    norm : Norm
        The norm whose dual this is.
    x : sympy.MatrixSymbol
        Its variable.
    y : sympy.MatrixSymbol
        The dual variable (``y``, or ``Y`` for a matrix norm, unless named otherwise).
    result : Norm
        The dual norm of ``y`` (``norm(y, q)``, or ``norm(inv(W.T)*y, q)``).
    q : sympy.Basic
        The dual order (``oo`` for ``p = 1``, ``p/(p - 1)`` for a symbolic ``p``).
    steps : list of Step
        The derivation.
    report : HolderReport, optional
        The check of Hölder's inequality run when it was derived.

    Examples
    --------
    >>> import symnorm as sn
    >>> x = sn.vector("x")
    >>> d = sn.dual(sn.norm(x, 1))
    >>> d
    dual of norm(x, 1): norm(y, oo)
    >>> d.q, d.report.ok
    (oo, True)
    >>> [s.rule for s in sn.dual(sn.norm(sn.matrix("W", "n", "n")*x, 2)).steps]
    ['definition', 'substitution', 'Hölder']
    >>> d.check(points=5, seed=1).ok
    True
    """

    norm: Norm
    x: Any
    y: Any
    result: Norm
    q: sp.Basic
    steps: list[Step]
    report: HolderReport | None = None

    def _title_(self) -> Note:
        return note("Dual norm of ", Math(latex(self.norm), to_text(self.norm)))

    def _blocks_(self) -> list[Block]:
        out: list[Block] = [Equations(step_rows(self.steps))]
        if self.report is not None:
            out += self.report._compact_blocks_()
        return out

    def __repr__(self) -> str:
        return f"dual of {to_text(self.norm)}: {to_text(self.result)}"

    def check(self, points: int = 20, seed: int = 0, **values: Any) -> HolderReport:
        return holder_check(self, points=points, seed=seed, **values)


class _Sup:
    """``sup_{‖x‖ <= 1} <y, x>`` for display."""

    def __init__(self, norm: Norm, x: Any, y: Any) -> None:
        self.norm, self.x, self.y = norm, x, y

    def latex(self) -> str:
        y = latex(self.y)
        if not isinstance(self.y, MatrixSymbol):
            y = rf"\left({y}\right)"
        return rf"\sup_{{{latex(self.norm)} \le 1}} {y}^\top {latex(self.x)}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Sup) and (self.norm, self.x, self.y) == \
            (other.norm, other.x, other.y)

    def __hash__(self) -> int:
        return hash((self.norm, self.x, self.y))

    def text(self) -> str:
        y = to_text(self.y)
        if not isinstance(self.y, MatrixSymbol):
            y = f"({y})"
        return f"sup over {to_text(self.norm)} <= 1 of {y}.T*{to_text(self.x)}"


def _split_weight(u: MatrixExpr, x: Any) -> MatrixExpr | None:
    """``W`` when ``u = W*x`` (None when ``u`` is ``x``)."""
    if u == x:
        return None
    if isinstance(u, sp.MatMul):
        scalars = [a for a in u.args if not isinstance(a, MatrixExpr)]
        mats = [a for a in u.args if isinstance(a, MatrixExpr)]
        if mats and mats[-1] == x and not any(m.has(x) for m in mats[:-1]):
            w = sp.MatMul(*scalars, *mats[:-1]) if (scalars or len(mats) > 2) else mats[0]
            if w.shape[0] != w.shape[1]:
                raise ShapeError(f"dual of {to_text(u)}: W = {to_text(w)} must be square "
                                 f"(invertible); it is {w.shape[0]}x{w.shape[1]}")
            return w
    raise UnsupportedExpressionError(
        f"dual() takes norm(x, p) or norm(W*x, p) with W square and invertible; got the "
        f"argument {to_text(u)}")


def dual(n: Any, *, check: bool = True, name: str = "y") -> DualNorm:
    """The dual norm of ``norm(x, p)`` or ``norm(W*x, p)``, derived and checked.

    ``‖y‖_* = sup_{‖x‖ <= 1} <y, x>``: for a p-norm the q-norm with ``1/p + 1/q = 1``
    (Hölder), for ``norm(W*x, p)`` with ``W`` square and invertible
    ``norm(inv(W.T)*y, q)``; for matrix norms the dual in the trace pairing (nuclear and
    spectral, Frobenius and itself, the induced 1- and oo-norms, mixed norms). The
    result is checked before it is returned (``check=False`` switches that off):
    Hölder's inequality ``|<x, y>| <= ‖x‖ ‖y‖_*`` at random pairs, and its equality
    case.

    Parameters
    ----------
    n : Norm
        A norm of a vector ``x`` or ``W*x`` (``W`` square), or of a matrix symbol ``X``;
        its order must make it a norm (not ``p < 1``, not ``p = 0``).
    check : bool, optional
        Check Hölder's inequality and its equality case before returning (default
        True).
    name : str, optional
        The name of the dual variable (default ``"y"``; ``"Y"`` for a matrix norm).

    Returns
    -------
    DualNorm
        ``result`` (the dual norm of the dual variable), ``q`` (the dual order),
        ``steps`` and ``report``.

    Raises
    ------
    UnsupportedExpressionError
        If ``n`` is not a norm, is a quasi-norm or the counting "norm" (the message
        names the axiom it breaks), or its argument is not ``x`` or ``W*x``.
    ShapeError
        If ``W`` is not square, or the dual variable's name is already used in ``n``.
    CheckFailedError
        If the derived dual norm fails Hölder's inequality or its equality case.

    Examples
    --------
    >>> import symnorm as sn
    >>> x = sn.vector("x")
    >>> sn.dual(sn.norm(x, 1)).result
    norm(y, oo)
    >>> p = sn.scalar("p")
    >>> print(sn.to_text(sn.dual(sn.norm(x, p)).result))
    norm(y, p/(p - 1))
    >>> W = sn.matrix("W", "n", "n")
    >>> sn.dual(sn.norm(W*x, 2))
    dual of norm(W*x, 2): norm(inv(W.T)*y, 2)
    >>> sn.dual(sn.norm(sn.matrix("X"), "nuc"))
    dual of norm(X, nuc): norm(Y, 2)
    >>> sn.dual(sn.norm(x, 1), name="z").result
    norm(z, oo)
    >>> sn.dual(sn.norm(x, 0.5))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symnorm.UnsupportedExpressionError: norm(x, 1/2) is not a norm: triangle inequality ...
    """
    if not isinstance(n, Norm):
        raise UnsupportedExpressionError(f"dual() takes a norm, got {to_text(n)}")
    rule = norm_rule(n.p)
    if rule.extras.get("matrix"):  # matrix norms: the trace pairing

        return matrix_dual(n, check=check, name="Y" if name == "y" else name)
    if rule.dual_order is None:
        raise UnsupportedExpressionError(
            f"{to_text(n)}: the {rule.title} has no dual norm registered "
            f"({rule.broken_axiom(n.p) or 'not a norm'})")
    if not rule.is_norm(n.p):
        raise UnsupportedExpressionError(f"{to_text(n)} is not a norm: "
                                         f"{rule.broken_axiom(n.p)}")
    symbols = [s for s in n.arg.free_symbols if isinstance(s, MatrixSymbol)
               and s.shape[1] == 1]
    if len(symbols) != 1:
        raise UnsupportedExpressionError(
            f"dual(): {to_text(n.arg)} must be W*x or x for one vector x")
    x = symbols[0]
    y = MatrixSymbol(name, *x.shape)
    if y in n.free_symbols:
        raise ShapeError(f"the dual variable {name} already appears in {to_text(n)}; pass "
                         "name=")
    q = rule.dual_order(n.p)
    w = _split_weight(n.arg, x)
    mapped = y if w is None else sp.Inverse(w.T) * y
    result = Norm(mapped, q)
    steps = [Step("definition", Norm(y, sp.Symbol("*")), _Sup(n, x, y),
                  "definition of the dual norm")]
    if w is not None:
        z = MatrixSymbol("z", *x.shape)
        steps.append(Step("substitution", _Sup(n, x, y), _Sup(Norm(z, n.p), z, mapped),
                          Text(note("substitute ", Math(f"z = {latex(n.arg)}",
                                                        f"z = {to_text(n.arg)}"),
                                    " (", Math("W", "W"), " is invertible)"))))
    steps.append(Step("Hölder", _Sup(Norm(x if w is None else MatrixSymbol("z", *x.shape),
                                          n.p), x if w is None else MatrixSymbol(
                                              "z", *x.shape), mapped),
                      result, _holder_note(n.p, q)))
    out = DualNorm(norm=n, x=x, y=y, result=result, q=q, steps=steps)
    if check:
        out.report = holder_check(out)
        if not out.report.ok:
            raise CheckFailedError(f"the dual of {to_text(n)} failed its check:\n"
                                   f"{out.report.summary()}")
    return out


def _holder_note(p: sp.Basic, q: sp.Basic) -> Any:
    if p == 2:
        return r"Cauchy–Schwarz; equality at $x = y/\lVert y \rVert_2$"
    if p == 1 or p == sp.oo:
        return (r"Hölder with the pair $(1, \infty)$; equality at a signed unit vector, or "
                r"at $\operatorname{sign}(y)$")
    return Text(note(r"Hölder with $1/p + 1/q = 1$, ", Math(f"q = {latex(q)}",
                                                            f"q = {to_text(q)}"),
                     r"; equality at $x \propto \operatorname{sign}(y) \odot "
                     r"\lvert y \rvert^{q-1}$"))


def holder_check(d: DualNorm, points: int = 20, seed: int = 0, **values: Any) -> HolderReport:
    """Hölder's inequality and its equality case at random points."""
    rng = np.random.default_rng(seed)
    n_sym, x, y = d.norm, d.x, d.y
    args_x = free_arguments(n_sym, first=x)
    args_y = free_arguments(d.result, first=y)
    primal = kernel(n_sym, args_x)
    dual_k = kernel(d.result, args_y)
    dual_rule = norm_rule(d.q)
    worst_ineq = worst_eq = worst_unit = 0.0
    example: dict = {}
    for _ in range(points):
        size = int(rng.integers(2, 6)) if not x.shape[0].is_Integer else int(x.shape[0])
        vals = dict(values)
        for s in sorted(n_sym.free_symbols | d.result.free_symbols, key=str):
            if isinstance(s, MatrixSymbol) and s not in (x, y) and s.name not in vals:
                w = rng.standard_normal((size, size)) + size * np.eye(size)  # invertible
                vals[s.name] = w
            elif isinstance(s, sp.Symbol) and not s.is_integer and s.name not in vals:
                vals[s.name] = float(rng.uniform(1.2, 4.0))
        xv, yv = rng.standard_normal(size), rng.standard_normal(size)
        if rng.random() < 0.3:  # exact zeros and ties, where the extremes sit
            xv[0], yv[-1] = 0.0, 0.0
            yv[0] = yv[1] = abs(yv[0])
        px = float(primal(xv, *[vals[a.name] for a in args_x[1:]]))
        dy = float(dual_k(yv, *[vals[a.name] for a in args_y[1:]]))
        excess = abs(float(xv @ yv)) - px * dy
        worst_ineq = max(worst_ineq, excess / max(1.0, px * dy))
        if excess > 1e-9 * max(1.0, px * dy):
            example = {"x": xv, "y": yv}
        # equality case: x* from the support point of the dual norm's subdifferential
        q_num = numeric_order(d.q, vals)
        w_val = _weight(d, vals)
        mapped = yv if w_val is None else np.linalg.solve(w_val.T, yv)
        s = np.asarray(dual_rule.subdiff.support_point(mapped, mapped, q_num), dtype=float)
        xstar = s if w_val is None else np.linalg.solve(w_val, s)
        pstar = float(primal(xstar, *[vals[a.name] for a in args_x[1:]]))
        worst_unit = max(worst_unit, abs(pstar - 1) if np.any(mapped) else 0.0)
        worst_eq = max(worst_eq, abs(float(xstar @ yv) - dy) / max(1.0, dy))
    return HolderReport(points, worst_ineq, worst_eq, worst_unit, 1e-9, example)


def _weight(d: DualNorm, vals: dict) -> np.ndarray | None:
    w = _split_weight(d.norm.arg, d.x)
    if w is None:
        return None
    k = kernel(w, free_arguments(w))
    return np.asarray(k(*[vals[a.name] for a in free_arguments(w)]), dtype=float)


# -- matrix norms: duals in the trace pairing <X, Y> = tr(X^T Y) -------------------------

def matrix_dual(n: Norm, *, check: bool = True, name: str = "Y") -> Any:
    """The dual of a matrix norm in the trace pairing, derived and checked (Hölder).

    >>> import symnorm as sn
    >>> X = sn.matrix("X")
    >>> [sn.to_text(sn.dual(sn.norm(X, p)).result) for p in ("nuc", 2, "fro", 1, "oo")]
    ['norm(Y, 2)', 'norm(Y, nuc)', 'norm(Y, fro)', 'norm(Y, (oo, 1))', 'norm(Y.T, (oo, 1))']
    >>> sn.to_text(sn.dual(sn.norm(X, (2, 1))).result)
    'norm(Y, (2, oo))'
    """
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
    steps = [Step("definition", Norm(y, sp.Symbol("*")), _TraceSup(n, x, y),
                  r"definition of the dual norm, with $\langle X, Y \rangle = "
                  r"\operatorname{tr}(X^\top Y)$"),
             Step("Hölder", _TraceSup(n, x, y), result, _NOTES[rule.key])]
    out = DualNorm(norm=n, x=x, y=y, result=result, q=q, steps=steps)
    if check:
        out.report = matrix_holder_check(out)
        if not out.report.ok:
            raise CheckFailedError(f"the dual of {to_text(n)} failed its check:\n"
                                   f"{out.report.summary()}")
    return out


class _TraceSup:
    """``sup_{‖X‖ <= 1} tr(Y^T X)`` for display."""

    def __init__(self, norm: Norm, x: Any, y: Any) -> None:
        self.norm, self.x, self.y = norm, x, y

    def latex(self) -> str:
        return (rf"\sup_{{{latex(self.norm)} \le 1}} \operatorname{{tr}}\left("
                rf"{latex(self.y)}^\top {latex(self.x)}\right)")

    def text(self) -> str:
        return f"sup over {to_text(self.norm)} <= 1 of trace({self.y}.T*{self.x})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _TraceSup) and (self.norm, self.x, self.y) == \
            (other.norm, other.x, other.y)

    def __hash__(self) -> int:
        return hash((self.norm, self.x, self.y))


_NOTES = {
    "fro": r"Cauchy–Schwarz for the trace inner product; equality at "
           r"$X = Y/\lVert Y \rVert_F$",
    "nuc": r"von Neumann's trace inequality; equality at $X = u_1 v_1^\top$, the top "
           r"singular pair of $Y$",
    "spectral": r"von Neumann's trace inequality; equality at $X = U V^\top$ of $Y$",
    "induced1": r"Hölder: $\sum_j \langle x_j, y_j \rangle \le \sum_j \lVert x_j \rVert_1 "
                r"\lVert y_j \rVert_\infty \le \max_j \lVert x_j \rVert_1 \sum_j "
                r"\lVert y_j \rVert_\infty$",
    "inducedinf": r"Hölder row by row (the induced $\infty$-norm of $X$ is the induced "
                  r"1-norm of $X^\top$)",
    "mixed": r"Hölder twice: within columns $(p, p^*)$ and across columns $(q, q^*)$",
}


def matrix_holder_check(d: Any, points: int = 20, seed: int = 0) -> Any:
    """``|<X, Y>| <= ‖X‖ ‖Y‖_*`` at random pairs, and equality at a subgradient of the dual
    norm at Y (a subgradient of a norm at Y ≠ 0 has dual norm 1 and pairs to ‖Y‖)."""
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
