"""The norm axioms decided symbolically, term by term: a sum of nonnegative multiples of
norms of linear maps is homogeneous and satisfies the triangle inequality; it is
positive definite exactly when the stacked maps have full column rank."""


from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol

from ...model.atoms import Norm
from ...model.text import TextPrinter
from ...rules import norm_rule
from .report import HOMOGENEITY, POSITIVITY, SYMBOLIC, TRIANGLE, AxiomResult, _num, _vec


class _Printer(TextPrinter):
    """The expression language (explicit matrices on one line), floats to 6 digits."""

    def _print_Float(self, expr: sp.Float) -> str:
        return _num(expr)


def _text(e: Any) -> str:
    return _Printer().doprint(e)


# -- symbolic analysis ---------------------------------------------------------------


@dataclass(frozen=True)
class _Term:
    """``coeff * norm(scale * matrix * x, p)``; ``matrix`` None is the identity."""

    coeff: sp.Expr
    norm: Norm
    scale: sp.Expr
    matrix: MatrixExpr | None


def _decompose(f: sp.Expr, wrt: MatrixSymbol) -> list[_Term] | None:
    """The terms of ``f`` if it is a sum of positive multiples of ``‖M x‖_p``, else None."""
    terms = []
    for t in sp.Add.make_args(f):
        factors = sp.Mul.make_args(t)
        norms = [a for a in factors if isinstance(a, Norm)]
        if len(norms) != 1:
            return None
        coeff = sp.Mul(*[a for a in factors if a is not norms[0]])
        # a real coefficient of unknown sign becomes the condition "c > 0"
        if coeff.has(wrt) or coeff.is_positive is False or not coeff.is_extended_real:
            return None
        linear = _linear_map(norms[0].arg, wrt)
        if linear is None:
            return None
        terms.append(_Term(coeff, norms[0], *linear))
    return terms


def _linear_map(u: MatrixExpr, wrt: MatrixSymbol) -> tuple[sp.Expr, MatrixExpr | None] | None:
    if u == wrt:
        return sp.Integer(1), None
    if not isinstance(u, sp.MatMul) or u.args[-1] != wrt:
        return None
    rest = u.args[:-1]
    if any(a.has(wrt) for a in rest):
        return None
    scalars = [a for a in rest if not isinstance(a, MatrixExpr)]
    mats = [a for a in rest if isinstance(a, MatrixExpr) and not isinstance(a, sp.Identity)]
    if not mats:
        return sp.Mul(*scalars), None
    m = mats[0] if len(mats) == 1 else sp.MatMul(*mats)
    if not m.free_symbols and all(isinstance(d, sp.Integer) for d in m.shape):
        m = sp.ImmutableMatrix(m.as_explicit())
    return sp.Mul(*scalars), m


def _is_symbolic_order(p: sp.Basic) -> bool:
    return isinstance(p, sp.Expr) and bool(p.free_symbols)


def _breaks(t: _Term, axiom: str) -> bool:
    """Does the rule of this term say it breaks ``axiom``?"""
    rule = norm_rule(t.norm.p)
    if rule.is_norm(t.norm.p):
        return False
    text = rule.broken_axiom(t.norm.p) or ""
    key = {HOMOGENEITY: "homogeneity", TRIANGLE: "triangle", POSITIVITY: "definite"}[axiom]
    return key in text


def _order_conditions(terms: list[_Term]) -> list[str]:
    conds = []
    for t in terms:
        p = t.norm.p
        if _is_symbolic_order(p) and norm_rule(p).is_norm(p):
            text = f"{_text(p)} >= 1"
            if t.norm.p_min < 1:
                text += f" (for {_text(t.norm.p_min)} <= {_text(p)} < 1 only a quasi-norm)"
            if text not in conds:
                conds.append(text)
    return conds


def _symbolic_homogeneity(terms: list[_Term]) -> AxiomResult:
    keys = ", ".join(sorted({norm_rule(t.norm.p).key for t in terms}))
    return AxiomResult(True, SYMBOLIC,
                       "f is a sum of positive multiples of norms of linear maps of x, and "
                       f"||c u|| = |c| ||u|| for each ({keys})")


def _symbolic_triangle(terms: list[_Term]) -> AxiomResult:
    keys = ", ".join(sorted({norm_rule(t.norm.p).key for t in terms}))
    return AxiomResult(True, SYMBOLIC,
                       f"Minkowski's inequality for each term ({keys}, p >= 1), "
                       "||M(x + y)|| <= ||M x|| + ||M y||, summed with positive weights")


def _quasi_constant(terms: list[_Term]) -> sp.Expr | None:
    """``K`` with ``f(x + y) <= K (f(x) + f(y))`` for sums of Lp terms, ``p > 0``."""
    ks = []
    for t in terms:
        p = t.norm.p
        if _is_symbolic_order(p) or p == 0:
            return None
        ks.append(sp.Integer(1) if p == sp.oo or p >= 1 else sp.Integer(2) ** (1 / p - 1))
    return sp.Max(*ks)


def _rank_explicit(m: sp.MatrixBase) -> tuple[int, np.ndarray | None, bool]:
    """Rank, one null-space vector (small integers when exact), and whether exact."""
    if all(e.is_Rational for e in m):
        null = m.nullspace()
        if not null:
            return m.cols, None, True
        v = null[0]
        den = sp.ilcm(*[sp.fraction(e)[1] for e in v])
        ints = [int(e * den) for e in v]
        g = math.gcd(*ints) or 1
        ints = [i // g for i in ints]
        if next(i for i in ints if i) < 0:
            ints = [-i for i in ints]
        return m.rank(), np.array(ints, dtype=float), True
    a = np.array(m.evalf(), dtype=float)
    rank = int(np.linalg.matrix_rank(a))
    if rank == a.shape[1]:
        return rank, None, False
    return rank, np.linalg.svd(a)[2][-1], False


def _symbolic_definiteness(terms: list[_Term]) -> tuple[AxiomResult, list[str]]:
    """f >= 0 always; f(x) = 0 iff M_k x = 0 for every term (each norm is definite)."""
    base = "every term is a positive multiple of a norm, so f >= 0; "
    conditions: list[str] = []
    symbolic: list[MatrixExpr] = []
    explicit_mats: list[sp.MatrixBase] = []
    for t in terms:
        scale_known = t.scale.is_zero is False
        if t.matrix is None and scale_known:
            return AxiomResult(True, SYMBOLIC, base + f"the term {_text(t.norm)} is 0 "
                               "only at x = 0"), []
        if not scale_known:
            conditions.append(f"{_text(t.scale)} != 0")
        if t.matrix is None:
            continue
        if isinstance(t.matrix, sp.MatrixBase) and not t.matrix.free_symbols:
            rank, _, _ = _rank_explicit(t.matrix)
            if rank == t.matrix.cols and scale_known:
                return AxiomResult(True, SYMBOLIC, base + f"{_text(t.matrix)} has full "
                                   f"column rank {rank}, so {_text(t.norm)} = 0 only at "
                                   "x = 0"), []
            explicit_mats.append(t.matrix)
        else:
            rows, cols = t.matrix.shape
            if len(terms) == 1 and scale_known and (rows - cols).is_negative:
                return AxiomResult(False, SYMBOLIC, f"{_text(t.matrix)} is {rows}x{cols}, "
                                   "so it has a null vector x != 0, where f(x) = 0"), []
            symbolic.append(t.matrix)
    if symbolic or conditions:
        names = [_text(m) for m in symbolic] + [_text(m) for m in explicit_mats]
        if len(names) == 1 and symbolic:
            rows, cols = symbolic[0].shape
            need = f"; needs {rows} >= {cols}" if rows != cols else ""
            conditions.insert(0, f"{names[0]} has full column rank ({names[0]} x = 0 only "
                                 f"for x = 0{need})")
        elif names:
            conditions.insert(0, f"the null spaces of {', '.join(names)} meet only in 0 "
                                 "(stacked, they have full column rank)")
        return AxiomResult(True, SYMBOLIC, base + "f(x) = 0 only at x = 0 if and only if "
                           + "; ".join(conditions)), conditions
    stacked = sp.Matrix.vstack(*explicit_mats)
    rank, null, exact = _rank_explicit(stacked)
    if null is None:
        return AxiomResult(True, SYMBOLIC, base + "the matrices have no common null vector "
                           f"(stacked rank {rank}), so f(x) = 0 only at x = 0"), []
    which = " and ".join(_text(m) for m in explicit_mats)
    ce = {"x": null, "lhs": 0.0, "rhs": 0.0, "relation": "f(x) = 0 at x != 0",
          "kind": "zero at nonzero x", "parameters": {},
          "verified": "exact" if exact else "float"}
    prefix = "" if exact else "numerically "
    return AxiomResult(False, SYMBOLIC,
                       f"fails at x = {_vec(null)} != 0: f(x) = 0; x {prefix}lies in the null "
                       f"space of {which} (rank {rank} < {stacked.cols})", ce), []


# -- numeric search ------------------------------------------------------------------
