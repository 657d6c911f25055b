"""Hessians: forward mode through the gradient's matrix expression.

``derive_hessian`` derives the gradient with the engine (:mod:`.engine`), then the
Jacobian of that gradient with respect to the same vector, node by node (products,
elementwise maps, the active piece of a ``max``), in closed form for every dimension.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy import DiagMatrix, HadamardPower, HadamardProduct, Identity, MatAdd, MatMul, ZeroMatrix
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol

from ..model.atoms import ActiveGradient, Elementwise
from ..model.errors import UnsupportedExpressionError
from ..model.text import to_text
from ..rules import ELEMENTWISE
from ..rules.registry import function_rule
from .algebra import Expr, _product, add, as_scalar, depends, factor_identity, scale
from .derivation import Derivation, Differential
from .engine import Recorder, _hadamard, derive_gradient, fixed_parameters, grad_scalar

__all__ = ["derive_hessian", "jacobian"]


# -- forward mode for Hessians ----------------------------------------------------------

def jacobian(e: Expr, wrt: MatrixExpr, rec: Recorder) -> MatrixExpr | None:
    """Jacobian ``∂e/∂wrt`` of a column vector ``e`` with respect to a column vector."""
    if e == wrt:
        return Identity(wrt.shape[0])
    if not depends(e, wrt):
        return None
    if isinstance(e, MatAdd):
        return add([jacobian(t, wrt, rec) for t in e.args])
    if isinstance(e, MatMul):
        scalars = [a for a in e.args if not isinstance(a, MatrixExpr)]
        mats = [a for a in e.args if isinstance(a, MatrixExpr)]
        c = sp.Mul(*scalars)
        terms = []
        if depends(c, wrt):
            g_c = grad_scalar(c, wrt, rec)
            if g_c is not None:
                terms.append(_product([*mats, g_c.T]))
        for i, factor in enumerate(mats):
            if not depends(factor, wrt):
                continue
            if i != len(mats) - 1:
                raise UnsupportedExpressionError(
                    f"Hessian: the factor {to_text(factor)} of {to_text(e)} depends on "
                    f"{wrt} but is not the last factor")
            j = jacobian(factor, wrt, rec)
            if j is not None:  # None: zero almost everywhere (e.g. sign)
                terms.append(_product([c, *mats[:-1], j]))
        return add(terms)
    if isinstance(e, HadamardProduct):
        terms = []
        for i, a in enumerate(e.args):
            if depends(a, wrt):
                others = [b for j, b in enumerate(e.args) if j != i]
                j = jacobian(a, wrt, rec)
                if j is not None:
                    terms.append(_product([DiagMatrix(_hadamard(others)), j]))
        return add(terms)
    if isinstance(e, HadamardPower):
        j = jacobian(e.base, wrt, rec)
        if j is None:
            return None
        d = scale(e.exp, HadamardPower(e.base, e.exp - 1)) if e.exp != 2 else scale(2, e.base)
        return _product([DiagMatrix(d), j])
    if isinstance(e, Elementwise):
        rule = ELEMENTWISE[e.name]
        rec.kink(rule.kinks(e.arg), source=e)
        d = rule.derivative(e.arg)
        j = jacobian(e.arg, wrt, rec)
        if d is None or j is None:
            return None
        return _product([DiagMatrix(d), j])
    rule = function_rule(e)
    if rule is not None and rule.jvp is not None:  # softmax(u), layer_norm(u), ...
        rec.kink(rule.kinks(e), source=e)
        fixed_parameters(e, wrt)
        j = jacobian(e.args[0], wrt, rec)
        return None if j is None else rule.jvp(e, j)
    if isinstance(e, ActiveGradient):  # the active piece's Hessian; hull at a tie
        js = [jacobian(g, wrt, rec) for g in e.gradients]
        n = wrt.shape[0]
        return ActiveGradient.build(e.kind, e.pieces,
                                    [ZeroMatrix(n, n) if j is None else j for j in js])
    raise UnsupportedExpressionError(
        f"no Jacobian rule for {type(e).__name__} in {to_text(e)}")


def derive_hessian(f: Any, wrt: Any) -> Derivation:
    f = as_scalar(f)
    if not (isinstance(wrt, MatrixSymbol) and wrt.shape[1] == 1):
        raise UnsupportedExpressionError(f"hessian() needs a column vector wrt, got {wrt!r}")
    first = derive_gradient(f, wrt)
    rec = Recorder()
    rec.steps.extend(first.steps)
    rec.kinks.extend(first.kinks)
    rec.assumptions.extend(first.assumptions)
    rec.warnings.extend(first.warnings)
    rec.step("gradient", Differential(f, wrt), first.result, "the gradient")
    h = jacobian(first.result, wrt, rec)
    n = wrt.shape[0]
    result = ZeroMatrix(n, n) if h is None else factor_identity(h)
    rec.step("Jacobian of the gradient", Differential(first.result, wrt, "partial"),
             result, "differentiate the gradient (product and chain rules)")
    return Derivation(f=f, wrt=wrt, result=result, steps=rec.steps,
                      assumptions=rec.assumptions, kinks=rec.kinks, kind="hessian",
                      fusions={}, warnings=rec.warnings, gradient=first)
