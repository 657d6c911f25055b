"""Rules for elementwise maps of vectors: sign, abs, sigmoid, exp, and the activations
tanh, relu (with its derivative, the unit step), softplus and identity."""

from __future__ import annotations

from sympy import HadamardProduct, MatAdd, MatMul, OneMatrix
from sympy.matrices.expressions import MatrixExpr

from ..model.atoms import Exp, Sigmoid, Sign, Step, Tanh
from .registry import ELEMENTWISE, ElementwiseRule, Kink, kink


def _zero_entries(u: MatrixExpr) -> list[Kink]:
    return [kink("an entry of ${u} is 0", r"\left(${u}\right)_i = 0",
                 "the minimum-norm subgradient in those entries", u=u)]


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

ELEMENTWISE.register(ElementwiseRule(
    key="tanh",
    derivative=lambda u: MatAdd(OneMatrix(*u.shape), MatMul(-1, HadamardProduct(Tanh(u), Tanh(u)))),
    numpy="np.tanh({u})", latex=r"\tanh({u})"))


def _relu_kinks(u: MatrixExpr) -> list[Kink]:
    return [kink("an entry of ${u} is 0", r"\left(${u}\right)_i = 0",
                 "derivative 0 in those entries (0 is the minimum-norm element of the "
                 "subdifferential [0, 1] of relu at 0)", u=u)]


# relu'(u) = 1[u > 0]: at u = 0 the kernel uses 0, the minimum-norm subgradient; never NaN
ELEMENTWISE.register(ElementwiseRule(
    key="relu", derivative=lambda u: Step(u), numpy="np.maximum({u}, 0.0)",
    latex=r"\operatorname{{relu}}({u})", kinks=_relu_kinks))

ELEMENTWISE.register(ElementwiseRule(
    key="step", derivative=lambda u: None, numpy="np.heaviside({u}, 0.0)",
    latex=r"\mathbb{{1}}\left[{u} > 0\right]", kinks=_zero_entries))

# log(1 + exp(u)) computed as logaddexp(0, u): no overflow for large u
ELEMENTWISE.register(ElementwiseRule(
    key="softplus", derivative=lambda u: Sigmoid(u), numpy="np.logaddexp(0.0, {u})",
    latex=r"\operatorname{{softplus}}({u})"))

ELEMENTWISE.register(ElementwiseRule(
    key="identity", derivative=lambda u: OneMatrix(*u.shape), numpy="(+{u})",
    latex="{u}"))
