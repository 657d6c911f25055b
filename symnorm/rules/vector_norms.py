"""Rules for the vector norms: L1, L2, L∞, Lp (rational or symbolic p) and the count L0.

Each rule states the gradient in closed vector form (valid for every dimension), the
points where it does not exist and what kernels return there (the minimum-norm
subgradient), the index-notation form, and the numpy helpers that compute it.
"""

from __future__ import annotations

import sympy as sp
from sympy import HadamardPower, HadamardProduct, MatMul, ZeroMatrix
from sympy.matrices.expressions import MatrixExpr

from ..atoms import Abs, MaxAbsSelector, Norm, Sign
from .registry import NORMS, IndexForm, Kink, NormRule


def _text(u: MatrixExpr) -> str:
    return str(u)


def _latex(u: MatrixExpr) -> str:
    from ..printing import latex

    return latex(u)


def _is_symbolic_order(p: sp.Basic) -> bool:
    return isinstance(p, sp.Expr) and bool(p.free_symbols)


def _zero_kink(u: MatrixExpr, p: sp.Basic) -> list[Kink]:
    return [Kink(f"{_text(u)} = 0", f"{_latex(u)} = 0",
                 "0, the minimum-norm subgradient", at_zero=True)]


L1 = NORMS.register(NormRule(
    key="L1",
    title="L1 norm (sum of absolute values)",
    description="p = 1",
    matches=lambda p: p == 1,
    gradient=lambda u, p: Sign(u),
    kinks=lambda u, p: [Kink(f"an entry of {_text(u)} is 0",
                             f"({_latex(u)})_i = 0",
                             "sign with 0 in those entries, the minimum-norm subgradient")],
    numpy_value="norm1",
    numpy_gradient="norm1_grad",
    index_form=IndexForm(phi=lambda v, p: sp.Abs(v), psi=lambda s, p: s,
                         inverse=lambda n, p: n),
    sample_orders=(1,),
))

L2 = NORMS.register(NormRule(
    key="L2",
    title="Euclidean (L2) norm",
    description="p = 2",
    matches=lambda p: p == 2,
    gradient=lambda u, p: MatMul(1 / Norm(u, 2), u),
    kinks=_zero_kink,
    numpy_value="norm2",
    numpy_gradient="norm2_grad",
    index_form=IndexForm(phi=lambda v, p: v**2, psi=lambda s, p: sp.sqrt(s),
                         inverse=lambda n, p: n**2),
    sample_orders=(2,),
))

LINF = NORMS.register(NormRule(
    key="Linf",
    title="max (L-infinity) norm",
    description="p = oo",
    matches=lambda p: p == sp.oo,
    gradient=lambda u, p: HadamardProduct(Sign(u), MaxAbsSelector(u)),
    kinks=lambda u, p: [
        Kink(f"the largest |entries| of {_text(u)} tie",
             rf"\lvert ({_latex(u)})_i \rvert = \lvert ({_latex(u)})_j \rvert"
             rf" = \lVert {_latex(u)} \rVert_\infty,\ i \ne j",
             "the tie split evenly, sign(u_k)/|K| on each tied k: the minimum-norm subgradient"),
        *_zero_kink(u, p)],
    numpy_value="norminf",
    numpy_gradient="norminf_grad",
    index_form=None,
    sample_orders=(sp.oo,),
))


def _lp_matches(p: sp.Basic) -> bool:
    if _is_symbolic_order(p):
        return True
    return bool(isinstance(p, sp.Rational) and p > 0 and p not in (1, 2))


def _lp_gradient(u: MatrixExpr, p: sp.Basic) -> MatrixExpr:
    return MatMul(Norm(u, p) ** (1 - p),  # printed as a fraction over ‖u‖^(p-1)
                  HadamardProduct(Sign(u), HadamardPower(Abs(u), p - 1)))


def _lp_kinks(u: MatrixExpr, p: sp.Basic) -> list[Kink]:
    if not _is_symbolic_order(p) and p < 1:
        return [Kink(f"an entry of {_text(u)} is 0",
                     f"({_latex(u)})_i = 0",
                     "0 in those entries (a quasi-norm has no subgradient there)")]
    return _zero_kink(u, p)


def _lp_assumptions(p: sp.Basic, p_min: sp.Basic) -> list[sp.Basic]:
    if _is_symbolic_order(p):
        return [sp.Ge(p, p_min, evaluate=False)]
    return []


def _lp_is_norm(p: sp.Basic) -> bool:
    return bool(_is_symbolic_order(p) or p >= 1)


LP = NORMS.register(NormRule(
    key="Lp",
    title="Lp norm (p rational or symbolic; p < 1 is a quasi-norm)",
    description="p rational > 0, or a symbol (assumed p >= 1)",
    matches=_lp_matches,
    gradient=_lp_gradient,
    kinks=_lp_kinks,
    numpy_value="normp",
    numpy_gradient="normp_grad",
    index_form=IndexForm(phi=lambda v, p: sp.Abs(v) ** p, psi=lambda s, p: s ** (1 / p),
                         inverse=lambda n, p: n**p),
    assumptions=_lp_assumptions,
    is_norm=_lp_is_norm,
    broken_axiom=lambda p: (None if _lp_is_norm(p)
                            else "triangle inequality (a quasi-norm for 0 < p < 1)"),
    sample_orders=(3, sp.Rational(3, 2), sp.Rational(1, 2), sp.Symbol("p", positive=True)),
))

L0 = NORMS.register(NormRule(
    key="L0",
    title='counting "norm" (number of nonzero entries)',
    description="p = 0",
    matches=lambda p: p == 0,
    gradient=lambda u, p: ZeroMatrix(*u.shape),
    kinks=lambda u, p: [Kink(f"an entry of {_text(u)} is 0",
                             f"({_latex(u)})_i = 0",
                             "0 (the count jumps there; it has no derivative)")],
    numpy_value="norm0",
    numpy_gradient=None,
    index_form=None,
    is_norm=lambda p: False,
    broken_axiom=lambda p: "absolute homogeneity (||2x||_0 = ||x||_0)",
    sample_orders=(0,),
))
