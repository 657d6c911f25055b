"""Rules for elementwise maps of vectors: sign, abs, sigmoid, exp."""

from __future__ import annotations

from sympy import HadamardProduct, MatAdd, MatMul, OneMatrix
from sympy.matrices.expressions import MatrixExpr

from ..atoms import Exp, Sigmoid, Sign
from .registry import ELEMENTWISE, ElementwiseRule, Kink


def _zero_entries(u: MatrixExpr) -> list[Kink]:
    from ..printing import latex

    return [Kink(f"an entry of {u} is 0", f"({latex(u)})_i = 0",
                 "the minimum-norm subgradient in those entries")]


ELEMENTWISE.register(ElementwiseRule(
    key="sign", derivative=lambda u: None, numpy="np.sign({u})",
    latex=r"\operatorname{{sign}}({u})", kinks=_zero_entries))

ELEMENTWISE.register(ElementwiseRule(
    key="abs", derivative=lambda u: Sign(u), numpy="np.abs({u})",
    latex=r"\lvert {u} \rvert", kinks=_zero_entries))

ELEMENTWISE.register(ElementwiseRule(
    key="sigmoid",
    derivative=lambda u: HadamardProduct(
        Sigmoid(u), MatAdd(OneMatrix(*u.shape), MatMul(-1, Sigmoid(u)))),
    numpy="_nm.sigmoid({u})", latex=r"\sigma({u})"))

ELEMENTWISE.register(ElementwiseRule(
    key="exp", derivative=lambda u: Exp(u), numpy="np.exp({u})",
    latex=r"\exp({u})"))

ELEMENTWISE.register(ElementwiseRule(
    key="argmaxabs", derivative=lambda u: None, numpy="_nm.maxabs_selector({u})",
    latex=r"e_{{k}}"))
