"""Rules for the vector norms: L1, L2, L∞, Lp (rational or symbolic p) and the count L0.

Each rule states the gradient in closed vector form (valid for every dimension), the
points where it does not exist and what kernels return there (the minimum-norm
subgradient), the index-notation form, and the numpy helpers that compute it.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from sympy import HadamardPower, HadamardProduct, MatMul, ZeroMatrix
from sympy.matrices.expressions import MatrixExpr

from ..model.atoms import Abs, MaxAbsSelector, Norm, Sign
from ..numeric import convex as cn
from .prox_maps import prox_l1, prox_l2, prox_linf
from .registry import NORMS, IndexForm, Kink, NormRule, SubdiffRule, kink


def _is_symbolic_order(p: sp.Basic) -> bool:
    return isinstance(p, sp.Expr) and bool(p.free_symbols)


def _zero_kink(u: MatrixExpr, p: sp.Basic) -> list[Kink]:
    return [kink("${u} = 0", "${u} = 0", "0, the minimum-norm subgradient", at_zero=True,
                 returns_latex="$0$, the minimum-norm subgradient", u=u)]


def _comp(u: str, i: str = "i") -> str:
    return f"{u}_{{{i}}}" if len(u) == 1 else rf"\left({u}\right)_{{{i}}}"


# -- L1: g_i = sign(u_i) where u_i != 0, g_i in [-1, 1] where u_i = 0 ------------------

def _l1_contains(g, u, p, tol=1e-9):
    nz = u != 0
    return bool(np.all(np.abs(g[nz] - np.sign(u[nz])) <= tol)
                and np.all(np.abs(g[~nz]) <= 1 + tol))


L1_SUBDIFF = SubdiffRule(
    latex=lambda u, p: (rf"\left\{{ g : g_i = \operatorname{{sign}}({_comp(u)}) \text{{ if }} "
                        rf"{_comp(u)} \neq 0,\ g_i \in [-1, 1] \text{{ if }} {_comp(u)} = 0 "
                        r"\right\}"),
    contains=_l1_contains,
    project=lambda s, u, p: np.where(u != 0, np.sign(u), np.clip(s, -1, 1)),
    support=lambda d, u, p: float(np.sum(np.sign(u) * d) + np.sum(np.abs(d[u == 0]))),
    support_point=lambda d, u, p: np.where(u != 0, np.sign(u), np.sign(d)),
    support_latex=lambda u, d, p: (
        rf"\sum_{{i : {_comp(u)} \neq 0}} \operatorname{{sign}}({_comp(u)})\, {_comp(d)} + "
        rf"\sum_{{i : {_comp(u)} = 0}} \lvert {_comp(d)} \rvert"),
)


# -- L2: {u/||u||} where u != 0, the unit ball at 0 -------------------------------------

def _l2_contains(g, u, p, tol=1e-9):
    n = np.linalg.norm(u)
    if n > 0:
        return bool(np.linalg.norm(g - u / n) <= tol)
    return bool(np.linalg.norm(g) <= 1 + tol)


def _unit(v):
    n = np.linalg.norm(v)
    return v / n if n > 0 else np.zeros_like(v, dtype=float)


L2_SUBDIFF = SubdiffRule(
    latex=lambda u, p: (rf"\begin{{cases}} \left\{{ \frac{{{u}}}{{\lVert {u} \rVert_2}} "
                        rf"\right\}} & {u} \neq 0 \\ \left\{{ g : \lVert g \rVert_2 \le 1 "
                        rf"\right\}} & {u} = 0 \end{{cases}}"),
    contains=_l2_contains,
    project=lambda s, u, p: _unit(u) if np.any(u) else cn.project_l2_ball(s),
    support=lambda d, u, p: float(_unit(u) @ d if np.any(u) else np.linalg.norm(d)),
    support_point=lambda d, u, p: _unit(u) if np.any(u) else _unit(d),
    support_latex=lambda u, d, p: (
        rf"\begin{{cases}} \frac{{{u}^\top {d}}}{{\lVert {u} \rVert_2}} & {u} \neq 0 \\ "
        rf"\lVert {d} \rVert_2 & {u} = 0 \end{{cases}}"),
)


# -- L-infinity: conv{sign(u_k) e_k : k ties for max |u_k|}, the unit L1 ball at 0 -------

def _linf_contains(g, u, p, tol=1e-9):
    if not np.any(u):
        return bool(np.abs(g).sum() <= 1 + tol)
    k = cn.ties(u)
    w = np.sign(u[k]) * g[k]
    return bool(np.all(np.abs(g[~k]) <= tol) and np.all(w >= -tol)
                and abs(w.sum() - 1) <= tol * max(1, k.sum()))


def _linf_project(s, u, p):
    if not np.any(u):
        return cn.project_l1_ball(s)
    k = cn.ties(u)
    out = np.zeros_like(s, dtype=float)
    out[k] = np.sign(u[k]) * cn.project_simplex(np.sign(u[k]) * s[k])
    return out


def _linf_support_point(d, u, p):
    out = np.zeros_like(d, dtype=float)
    if not np.any(u):
        if np.any(d):
            k = int(np.argmax(np.abs(d)))
            out[k] = np.sign(d[k])
        return out
    k = np.nonzero(cn.ties(u))[0]
    best = k[int(np.argmax(np.sign(u[k]) * d[k]))]
    out[best] = np.sign(u[best])
    return out


LINF_SUBDIFF = SubdiffRule(
    latex=lambda u, p: (rf"\begin{{cases}} \operatorname{{conv}}\left\{{ "
                        rf"\operatorname{{sign}}({_comp(u, 'k')})\, e_k : \lvert {_comp(u, 'k')} "
                        rf"\rvert = \lVert {u} \rVert_\infty \right\}} & {u} \neq 0 \\ "
                        rf"\left\{{ g : \lVert g \rVert_1 \le 1 \right\}} & {u} = 0 "
                        r"\end{cases}"),
    contains=_linf_contains,
    project=_linf_project,
    support=lambda d, u, p: float(_linf_support_point(d, u, p) @ d),
    support_point=_linf_support_point,
    support_latex=lambda u, d, p: (
        rf"\begin{{cases}} \max_{{k : \lvert {_comp(u, 'k')} \rvert = \lVert {u} "
        rf"\rVert_\infty}} \operatorname{{sign}}({_comp(u, 'k')})\, {_comp(d, 'k')} & {u} \neq 0"
        rf" \\ \lVert {d} \rVert_\infty & {u} = 0 \end{{cases}}"),
)


# -- Lp, 1 < p < oo: the gradient where u != 0, the unit Lq ball (1/p + 1/q = 1) at 0 -----

def _lp_point(u, p):
    n = cn.lq_norm(u, p)
    return np.sign(u) * (np.abs(u) / n) ** (p - 1)


def _lp_checked(p):
    p = float(p)
    if p <= 1:
        raise ValueError(f"the subdifferential of the Lp rule needs p > 1, got p = {p:g} "
                         "(p < 1 is not convex; p = 1 has its own rule)")
    return p


def _lp_contains(g, u, p, tol=1e-9):
    p = _lp_checked(p)
    if np.any(u):
        return bool(np.linalg.norm(g - _lp_point(u, p)) <= tol)
    return bool(cn.lq_norm(g, p / (p - 1)) <= 1 + tol)


def _lp_support_point(d, u, p):
    p = _lp_checked(p)
    if np.any(u):
        return _lp_point(u, p)
    return _lp_point(d, p) if np.any(d) else np.zeros_like(d, dtype=float)


LP_SUBDIFF = SubdiffRule(
    latex=lambda u, p: (rf"\begin{{cases}} \left\{{ \frac{{\operatorname{{sign}}({u}) \odot "
                        rf"\lvert {u} \rvert^{{p - 1}}}}{{\lVert {u} \rVert_p^{{p - 1}}}} \right\}}"
                        rf" & {u} \neq 0 \\ \left\{{ g : \lVert g \rVert_q \le 1 \right\}},\ "
                        rf"\tfrac{{1}}{{p}} + \tfrac{{1}}{{q}} = 1 & {u} = 0 \end{{cases}}"),
    contains=_lp_contains,
    project=lambda s, u, p: (_lp_point(u, _lp_checked(p)) if np.any(u)
                             else cn.project_lq_ball(s, _lp_checked(p) / (float(p) - 1))),
    support=lambda d, u, p: float(_lp_support_point(d, u, p) @ d),
    support_point=_lp_support_point,
    support_latex=lambda u, d, p: (
        rf"\begin{{cases}} \frac{{(\operatorname{{sign}}({u}) \odot \lvert {u} \rvert^{{p-1}})"
        rf"^\top {d}}}{{\lVert {u} \rVert_p^{{p-1}}}} & {u} \neq 0 \\ \lVert {d} \rVert_p & "
        rf"{u} = 0 \end{{cases}}"),
)


L1 = NORMS.register(NormRule(
    key="L1",
    title="L1 norm (sum of absolute values)",
    description="p = 1",
    matches=lambda p: p == 1,
    gradient=lambda u, p: Sign(u),
    kinks=lambda u, p: [kink("an entry of ${u} is 0", r"\left(${u}\right)_i = 0",
                             "sign with 0 in those entries, the minimum-norm subgradient",
                             returns_latex=r"$\operatorname{sign}$ with $0$ in those entries, "
                             "the minimum-norm subgradient", u=u)],
    numpy_value="norm1",
    numpy_gradient="norm1_grad",
    subdiff=L1_SUBDIFF,
    dual_order=lambda p: sp.oo,
    index_form=IndexForm(phi=lambda v, p: sp.Abs(v), psi=lambda s, p: s,
                         inverse=lambda n, p: n),
    prox=prox_l1,
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
    subdiff=L2_SUBDIFF,
    dual_order=lambda p: sp.Integer(2),
    index_form=IndexForm(phi=lambda v, p: v**2, psi=lambda s, p: sp.sqrt(s),
                         inverse=lambda n, p: n**2),
    prox=prox_l2,
    sample_orders=(2,),
))

LINF = NORMS.register(NormRule(
    key="Linf",
    title="max (L∞) norm",
    description="p = oo",
    matches=lambda p: p == sp.oo,
    gradient=lambda u, p: HadamardProduct(Sign(u), MaxAbsSelector(u)),
    kinks=lambda u, p: [
        kink("the largest |entries| of ${u} tie",
             r"\lvert \left(${u}\right)_i \rvert = \lvert \left(${u}\right)_j \rvert"
             r" = \lVert ${u} \rVert_\infty,\ i \ne j",
             "the tie split evenly, sign(u_k)/|K| on each tied k: the minimum-norm subgradient",
             returns_latex=r"the tie split evenly, $\operatorname{sign}(u_k)/\lvert K \rvert$ "
             r"on each tied $k \in K$: the minimum-norm subgradient", u=u),
        *_zero_kink(u, p)],
    numpy_value="norminf",
    numpy_gradient="norminf_grad",
    subdiff=LINF_SUBDIFF,
    dual_order=lambda p: sp.Integer(1),
    index_form=None,
    prox=prox_linf,
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
        return [kink("an entry of ${u} is 0", r"\left(${u}\right)_i = 0",
                     "0 in those entries (a quasi-norm has no subgradient there)",
                     returns_latex="$0$ in those entries (a quasi-norm has no subgradient "
                     "there)", u=u)]
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
    subdiff=LP_SUBDIFF,
    dual_order=lambda p: p / (p - 1),
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
    kinks=lambda u, p: [kink("an entry of ${u} is 0", r"\left(${u}\right)_i = 0",
                             "0 (the count jumps there; it has no derivative)",
                             returns_latex="$0$ (the count jumps there; it has no derivative)",
                             u=u)],
    numpy_value="norm0",
    numpy_gradient=None,
    index_form=None,
    is_norm=lambda p: False,
    broken_axiom=lambda p: "absolute homogeneity (||2x||_0 = ||x||_0)",
    sample_orders=(0,),
))
