"""Explicit components: expand vector expressions of integer size into SymPy scalars.

Used to cross-check vector-form results against SymPy's scalar calculus, and for
teaching (``x_1 .. x_n``).
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from ..model.atoms import MaxAbsSelector, Norm, ScalarOf
from ..model.errors import ShapeError, UnsupportedExpressionError
from ..model.functions import ScalarFunction
from ..rules import norm_rule


def _entries(u: MatrixExpr) -> list[sp.Expr]:
    m = explicit(u)
    return list(m)


def component_symbol(name: str, i: int, j: int | None = None) -> sp.Symbol:
    """The real scalar ``x_1`` (1-based, as written by hand) for entry ``(i, j)``."""
    label = f"{name}_{i + 1}" if j is None else f"{name}_{i + 1}{j + 1}"
    return sp.Symbol(label, real=True)


def _real_entries(e: sp.Basic) -> sp.Basic:
    """Replace ``x[i, 0]`` by the real symbol ``x_{i+1}`` (SymPy cannot see they are real)."""
    def swap(m: sp.Basic) -> sp.Basic:
        parent, i, j = m.args
        name = parent.name
        if parent.shape[1] == 1:
            return component_symbol(name, int(i))
        return component_symbol(name, int(i), int(j))
    return e.replace(lambda t: isinstance(t, sp.matrices.expressions.matexpr.MatrixElement)
                     and isinstance(t.args[0], sp.MatrixSymbol), swap)


def explicit_norm(n: Norm) -> sp.Expr:
    """The scalar formula of a norm over explicit entries."""

    if norm_rule(n.p).extras.get("explicit") is False:
        raise UnsupportedExpressionError(
            f"{n} has no explicit-component formula: its structure is known only at "
            "kernel time")
    entries = _entries(n.arg)
    p = n.p
    if p == 2:
        return sp.sqrt(sp.Add(*[e**2 for e in entries]))
    if p == 1:
        return sp.Add(*[sp.Abs(e) for e in entries])
    if p == sp.oo:
        return sp.Max(*[sp.Abs(e) for e in entries])
    if p == 0:
        return sp.Add(*[sp.Piecewise((0, sp.Eq(e, 0)), (1, True)) for e in entries])
    return sp.Add(*[sp.Abs(e) ** p for e in entries]) ** (1 / p)


def explicit(expr: Any) -> Any:
    """Replace every vector/matrix expression by an explicit matrix of entries.

    >>> import symnorm as sn
    >>> x = sn.vector("x", 2)
    >>> explicit(sn.norm(x, 2))
    sqrt(x_1**2 + x_2**2)
    """
    if isinstance(expr, MatrixExpr):
        for d in expr.shape:
            if not (isinstance(d, (int, sp.Integer))):
                raise ShapeError(f"explicit components need integer sizes; {expr} has "
                                 f"shape {expr.shape}")
        if isinstance(expr, MaxAbsSelector):
            return sp.Matrix(expr.as_explicit())
        mapped = expr.replace(lambda e: isinstance(e, (Norm, ScalarOf, ScalarFunction)),
                              lambda e: _explicit_scalar_atom(e))
        return _real_entries(sp.Matrix(mapped.as_explicit()))
    if isinstance(expr, sp.Basic):
        return _real_entries(expr.replace(
            lambda e: isinstance(e, (Norm, ScalarOf, ScalarFunction)),
            lambda e: _explicit_scalar_atom(e)))
    return expr


def _explicit_scalar_atom(e: sp.Expr) -> sp.Expr:
    if isinstance(e, Norm):
        return explicit_norm(e)
    if isinstance(e, ScalarFunction):  # sum(x), var(x), det(M), ... over the entries
        return e.explicit_value(sp.Matrix(explicit(e.arg)))
    return explicit(e.mat)[0, 0]
