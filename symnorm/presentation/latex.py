"""LaTeX of expressions in textbook notation, as in the Matrix Cookbook.

``latex`` prints ``\\lVert x \\rVert_2``, ``^\\top``, ``\\odot`` and ``\\operatorname{sign}``;
each symnorm node has a ``_print_<ClassName>`` method here (SymPy's printer pattern), and
a norm's or an elementwise map's own notation comes from its registered rule.
"""

from __future__ import annotations

import re

import sympy as sp
from sympy import HadamardPower, HadamardProduct, MatAdd, MatMul, Transpose
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE

from ..model.atoms import (
    LATEX_OF_NODE,
    Abs,
    ActiveGradient,
    Elementwise,
    MaxAbsSelector,
    Norm,
    NormOrderDerivative,
    ScalarActiveGradient,
    ScalarOf,
    Sign,
    Step,
)
from ..model.functions import ScalarFunction, VectorFunction
from ..model.text import HandOrder, signed_join, split_coeff
from ..rules import ELEMENTWISE, function_rule, norm_rule

_GREEK_ABBREV = {"lam": "lambda", "eps": "epsilon"}


class _Shown(sp.Dummy):
    """A factor of a product printed as it is, that SymPy's ``fraction`` does not open.

    ``LatexPrinter._print_Mul`` splits a product with ``fraction(exact=True)``, which asks
    ``is_constant()`` of every symbolic negative exponent (``exp(-sigmoid(u))``,
    ``t**(-p)``), and ``is_constant`` runs ``simplify``: slow, and fatal inside a norm
    (it rebuilds the matrix expression in its argument from scalar pieces). SymPy keeps
    such a factor in the numerator when it is not constant; this stand-in keeps it there
    without asking, sorts as the factor does and prints as the factor."""

    def __new__(cls, factor: sp.Expr) -> "_Shown":
        obj = super().__new__(cls, "shown", commutative=True)
        obj.factor = factor
        return obj

    def sort_key(self, order: object = None) -> object:
        return self.factor.sort_key(order)


def _opens_with_simplify(term: sp.Expr) -> bool:
    """Would ``fraction(exact=True)`` call ``is_constant()`` (and so ``simplify``) on it?"""
    if not (term.is_commutative and (term.is_Pow or isinstance(term, sp.exp))):
        return False
    _, ex = term.as_base_exp()
    return not ex.is_number and ex is not sp.S.NegativeOne and bool(ex.is_negative)


class SymnormLatexPrinter(HandOrder, LatexPrinter):
    """LaTeX in Matrix Cookbook notation. Printing never simplifies: an expression is
    shown as it is built."""

    def _print_Mul(self, expr: sp.Expr) -> str:
        factors = sp.Mul.make_args(expr)
        if not any(_opens_with_simplify(f) for f in factors):
            return super()._print_Mul(expr)
        hidden = [_Shown(f) if _opens_with_simplify(f) else f for f in factors]
        return super()._print_Mul(sp.Mul(*hidden))

    def _print__Shown(self, expr: _Shown) -> str:
        return self._print(expr.factor)

    def _needs_mul_brackets(self, expr: sp.Expr, first: bool = False,
                            last: bool = False) -> bool:
        if isinstance(expr, _Shown):
            expr = expr.factor
        return super()._needs_mul_brackets(expr, first=first, last=last)

    def _print_Norm(self, expr: Norm) -> str:
        rule = norm_rule(expr.p)
        if "latex" in rule.extras:  # a norm with a notation of its own (group lasso)
            return rule.extras["latex"](self, self._print(expr.arg), expr.p)
        p = expr.p
        sub = r"\infty" if p == sp.oo else self._print(p)
        return rf"\left\lVert {self._print(expr.arg)} \right\rVert_{{{sub}}}"

    def _print_ScalarOf(self, expr: ScalarOf) -> str:
        return self._print(expr.mat)

    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        match = re.fullmatch(r"(lam|eps)(\d*)", expr.name)
        if match:
            name = _GREEK_ABBREV[match.group(1)]
            return super()._print_Symbol(sp.Symbol(name + match.group(2)))
        match = re.fullmatch(r"delta([a-z])(\d+)", expr.name)  # deltaz1: δ^z_1 (backprop)
        if match:
            return rf"\delta^{{{match.group(1)}}}_{{{match.group(2)}}}"
        return super()._print_Symbol(expr, style=style)

    def _print_Transpose(self, expr: Transpose) -> str:
        inner = self._print(expr.arg)
        if not isinstance(expr.arg, MatrixSymbol) and not getattr(expr.arg, "prints_atomic",
                                                                  False):
            inner = rf"\left({inner}\right)"
        return rf"{inner}^\top"

    def _print_Inverse(self, expr: sp.Basic) -> str:
        arg = expr.arg
        if isinstance(arg, Transpose) and isinstance(arg.arg, MatrixSymbol):
            return rf"{self._print(arg.arg)}^{{-\top}}"
        inner = self._print(arg)
        if not isinstance(arg, MatrixSymbol):
            inner = rf"\left({inner}\right)"
        return rf"{inner}^{{-1}}"

    def _print_Indexed(self, expr: sp.Indexed) -> str:
        """``x_{k}``, ``(W_{1})_{ji}``: an entry, its base in brackets when it has an index
        of its own."""
        base = self._print(sp.Symbol(expr.base.name))
        if "_" in base or "^" in base:
            base = rf"\left({base}\right)"
        indices = [self._print(i) for i in expr.indices]
        sep = "" if all(len(i) == 1 for i in indices) else ", "
        return f"{base}_{{{sep.join(indices)}}}"

    def _print_Abs(self, expr: sp.Abs, exp: str | None = None) -> str:
        out = rf"\lvert {self._print(expr.args[0])} \rvert"
        return out if exp is None else rf"{out}^{{{exp}}}"

    def _print_sign(self, expr: sp.Basic, exp: str | None = None) -> str:
        out = rf"\operatorname{{sign}}\left({self._print(expr.args[0])}\right)"
        return out if exp is None else rf"{out}^{{{exp}}}"

    def _print_Elementwise(self, expr: Elementwise) -> str:
        return ELEMENTWISE[expr.name].latex.format(u=self._print(expr.arg))

    def _print_ScalarFunction(self, expr: ScalarFunction | VectorFunction) -> str:
        rule = function_rule(expr)
        if rule is None:  # a node type without a rule: its text
            return rf"\operatorname{{{expr.name}}}\left({self._print(expr.args[0])}\right)"
        return rule.latex(self, expr)

    _print_VectorFunction = _print_ScalarFunction

    def _print_NormOrderDerivative(self, expr: NormOrderDerivative) -> str:
        u, p = self._print(expr.arg), self._print(expr.p)
        if isinstance(expr.p, (sp.Add, sp.Mul)):
            p = rf"\left({p}\right)"
        norm = rf"\left\lVert {u} \right\rVert_{{{p}}}"
        return (rf"\frac{{{norm}}}{{{p}}} \left(\frac{{\sum_i |({u})_i|^{{{p}}} "
                rf"\log |({u})_i|}}{{{norm}^{{{p}}}}} - \log {norm}\right)")

    def _print_ActiveGradient(self, expr: ActiveGradient | ScalarActiveGradient) -> str:
        cmp = r"\max({})" if expr.kind == "max" else r"\min({})"
        tie = (r"\operatorname{{argmin}}_{{g \in \operatorname{{conv}}\{{{}\}}"
               r"_{{\text{{tied}}}}}} \lVert g \rVert_2")
        return expr._render(self._print, cmp, tie, cases=True)

    _print_ScalarActiveGradient = _print_ActiveGradient

    def _print_MaxAbsSelector(self, expr: MaxAbsSelector) -> str:
        return "e_{k}"

    def _component(self, u: MatrixExpr, index: str) -> str:
        if isinstance(u, MatrixSymbol):
            return f"{self._print(u)}_{{{index}}}"
        return rf"\left({self._print(u)}\right)_{{{index}}}"

    def _print_HadamardProduct(self, expr: HadamardProduct) -> str:
        args = list(expr.args)
        if (len(args) == 2 and isinstance(args[0], Sign) and isinstance(args[1], MaxAbsSelector)
                and args[0].arg == args[1].arg):
            return (rf"\operatorname{{sign}}\left({self._component(args[0].arg, 'k')}\right)"
                    r"\, e_{k}")
        return r" \odot ".join(self.parenthesize(a, PRECEDENCE["Mul"]) for a in args)

    def _print_HadamardPower(self, expr: HadamardPower) -> str:
        exp = self._print(expr.exp)
        if isinstance(expr.base, Abs):
            return rf"\lvert {self._print(expr.base.arg)} \rvert^{{{exp}}}"
        base = self.parenthesize(expr.base, PRECEDENCE["Pow"])
        return rf"{base}^{{\circ {exp}}}"

    def _print_Identity(self, expr: sp.Basic) -> str:
        return "I"

    def _print_OneMatrix(self, expr: sp.Basic) -> str:
        rows, cols = expr.shape
        # the vector of ones in bold, as textbooks write it (and the LaTeX reader reads)
        if rows == 1 and cols != 1:
            return r"\mathbf{1}^\top"
        return r"\mathbf{1} \mathbf{1}^\top" if rows != 1 and cols != 1 else r"\mathbf{1}"

    def _print_Step(self, expr: Step) -> str:
        """``1[|v| > lam]`` for the step of ``|v| - lam 1`` (soft thresholding's
        derivative), else the rule's ``1[u > 0]``."""
        u = expr.arg
        if isinstance(u, MatAdd) and len(u.args) == 2:
            ones = [t for t in u.args if isinstance(t, MatMul) and any(
                isinstance(a, sp.OneMatrix) for a in t.args)]
            if len(ones) == 1:
                other = next(t for t in u.args if t is not ones[0])
                c, _, mats = split_coeff(ones[0])
                if len(mats) == 1 and c.could_extract_minus_sign():
                    return (rf"\mathbb{{1}}\left[{self._print(other)} > "
                            rf"{self._print(-c)}\right]")
        return self._print_Elementwise(expr)

    def _print_DiagMatrix(self, expr: sp.Basic) -> str:
        return rf"\operatorname{{diag}}\left({self._print(expr.args[0])}\right)"

    def _print_DiagonalMatrix(self, expr: sp.Basic) -> str:
        return rf"\operatorname{{Diag}}\left({self._print(expr.args[0])}\right)"

    def _print_DiagonalOf(self, expr: sp.Basic) -> str:
        return rf"\operatorname{{diag}}\left({self._print(expr.args[0])}\right)"

    def _print_MatrixElement(self, expr: sp.Basic) -> str:
        # components are 1-based, as written by hand: x[0, 0] is x_{1}
        parent = expr.parent
        base = self._print(parent)
        if not isinstance(parent, MatrixSymbol):
            base = rf"\left({base}\right)"
        rows = [self._print(expr.i + 1)]
        if parent.shape[1] != 1:
            rows.append(self._print(expr.j + 1))
        return f"{base}_{{{', '.join(rows)}}}"

    def _print_MatAdd(self, expr: MatAdd) -> str:
        # a ones vector alone as a term is the plain 1 of y ⊙ (1 - y); in a product
        # (1 1ᵀ/n, mean(a) 1) it stays bold
        return signed_join(["1" if isinstance(t, sp.OneMatrix) and 1 in t.shape
                            and t.shape != (1, 1) else self._print(t)
                            for t in self._as_ordered_terms(expr)])

    def _print_MatMul(self, expr: MatMul) -> str:
        num, den, mats = split_coeff(expr)
        sign = ""
        if num.could_extract_minus_sign():
            num, sign = -num, "- "
        parts = [] if num == 1 else [self.parenthesize(num, PRECEDENCE["Mul"], strict=True)]
        alone = len(mats) == 1 and num == 1
        if den != 1 and alone and isinstance(mats[0], MatAdd):
            # (1/d)(a - b) reads better than a fraction over a bracket
            return (sign + rf"\frac{{1}}{{{self._print(den)}}}"
                    rf"\left({self._print(mats[0])}\right)")
        for m in mats:
            text = self._print(m)
            if isinstance(m, (MatAdd, HadamardProduct)) and not alone:
                text = rf"\left({text}\right)"
            parts.append(text)
        body = " ".join(parts) if parts else "1"
        if den != 1:
            return sign + rf"\frac{{{body}}}{{{self._print(den)}}}"
        return sign + body


def latex(expr: object) -> str:
    r"""LaTeX of ``expr`` in textbook notation.

    The notation of the Matrix Cookbook: ``\lVert x \rVert_2`` for norms,
    ``A^\top`` for transposes, ``\odot`` for elementwise products,
    ``\operatorname{sign}``, Greek letters for Greek names (``lam`` is ``\lambda``),
    vectors not in bold. It renders in MathJax and compiles under pdflatex with
    amsmath. SymPy's own ``sympy.latex`` also uses it for symnorm's nodes.

    Parameters
    ----------
    expr : sympy.Basic or object
        A SymPy or symnorm expression; a number prints as itself, any other object as
        its ``str`` in monospace text.

    Returns
    -------
    str
        LaTeX source, without surrounding ``$`` (math mode is the caller's).

    Raises
    ------
    None
        Every object has a LaTeX form.

    Examples
    --------
    >>> import symnorm as sn
    >>> x = sn.vector("x")
    >>> sn.latex(x/sn.norm(x, 2))
    '\\frac{x}{\\left\\lVert x \\right\\rVert_{2}}'
    >>> A, b = sn.matrix("A"), sn.vector("b", "m")
    >>> lam = sn.scalar("lam", positive=True)
    >>> print(sn.latex(sn.norm(A*x - b, 2)**2/2 + lam*sn.norm(x, 1)))
    \lambda \left\lVert x \right\rVert_{1} + \frac{\left\lVert A x - b \right\rVert_{2}^{2}}{2}
    >>> print(sn.latex(sn.parse("x .* y + sigmoid(W*x)")))
    x \odot y + \sigma(W x)
    >>> print(sn.latex(sn.grad(sn.norm(x, 1), x).result))
    \operatorname{sign}(x)
    """
    return SymnormLatexPrinter().doprint(expr)


# SymPy's own LaTeX printer (``sympy.latex``, Jupyter) shows symnorm's nodes with this one
LATEX_OF_NODE.append(latex)
