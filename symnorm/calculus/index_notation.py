"""Index-notation steps: the derivation a person writes by hand, component by component.

For a norm with an index form ``‖u‖ = psi(sum_j phi(u_j))`` the engine records

    ∂/∂u_k psi(Σ_j phi(u_j)) = psi'(Σ_j phi(u_j)) · phi'(u_k) = (simplified, in ‖u‖)

using SymPy's scalar calculus on ``psi`` and ``phi``; nothing here is hard-coded per norm.
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatrixSymbol

from ..model.atoms import Norm
from ..model.text import to_text
from ..presentation.latex import latex
from ..rules import NormRule
from .derivation import Differential, Step


class Juxtaposed:
    """A product shown factor by factor, in the order written (SymPy would reorder)."""

    def __init__(self, factors: list[sp.Expr]) -> None:
        self.factors = factors

    def subs(self, old: sp.Basic, new: sp.Basic) -> "Juxtaposed":
        return Juxtaposed([f.subs(old, new) for f in self.factors])

    def __repr__(self) -> str:
        return self.text()

    def latex(self) -> str:
        return r" \cdot ".join(_paren(latex(f), f) for f in self.factors)

    def text(self) -> str:
        return " * ".join(_paren(to_text(f), f, "(", ")") for f in self.factors)


def _paren(s: str, f: sp.Expr, left: str = r"\left(", right: str = r"\right)") -> str:
    return f"{left}{s}{right}" if isinstance(f, sp.Add) else s


def _expand_exponents(e: sp.Expr) -> sp.Expr:
    return e.replace(lambda t: t.is_Pow and not t.exp.is_number,
                     lambda t: sp.Pow(t.base, sp.expand(t.exp)))


def index_steps(rule: NormRule, n: Norm) -> list[Step]:
    """The steps of ``∂‖u‖/∂u_k`` in index notation for a rule with an index form."""
    form = rule.index_form
    if form is None:
        return []
    u, p = n.arg, n.p
    # derive with a symbolic order, substitute a numeric one at the end: SymPy would
    # otherwise rewrite |v|**3 as v**2*|v| before differentiating
    q = sp.Symbol("p", positive=True) if p.is_number else p
    name = u.name if isinstance(u, MatrixSymbol) else "u"
    dim = u.shape[0]
    j, k = sp.symbols("j k", integer=True, positive=True)
    base = sp.IndexedBase(name, real=True)
    uj, uk = base[j], base[k]
    v = sp.Symbol("v", real=True)
    s = sp.Symbol("S", positive=True)
    total = sp.Sum(form.phi(uj, q), (j, 1, dim))
    value = form.psi(total, q)
    outer = _expand_exponents(sp.powsimp(sp.diff(form.psi(s, q), s)))
    inner = sp.powsimp(sp.diff(form.phi(v, q), v))
    factors = [f for f in (outer.subs(s, total), inner.subs(v, uk)) if f != 1]
    product = Juxtaposed(factors)
    size = sp.Symbol("N", positive=True)
    final = sp.powsimp(sp.expand_power_base((outer.subs(s, form.inverse(size, q)) * inner),
                                            force=True))
    final = sp.powsimp(_expand_exponents(final)).subs(v, uk)
    if q != p:
        value, product, final = (value.subs(q, p), product.subs(q, p), final.subs(q, p))
    final = final.xreplace({size: n})
    steps = [
        Step("definition", n, value, f"definition of the {rule.key} norm in components"),
        Step("chain rule (index notation)", Differential(value, uk, "partial"), product,
             "chain rule; the derivative of u_j with respect to u_k is the Kronecker delta"),
    ]
    if product.factors != [final]:  # nothing to substitute back (L1): no extra line
        steps.append(Step("simplify", product, final, "substitute the norm back"))
    return steps
