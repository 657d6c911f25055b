"""The expression language's text of an expression: what every message names.

``to_text`` prints the language the parser reads (``A.T*(A*x - b)/norm(A*x - b, 2)``,
``.*`` and ``.^`` for elementwise product and power), so printed results built from
symbols can be pasted back (explicit number matrices print as nested lists, which the
language does not read). Terms and factors are ordered as written by hand; the LaTeX
printer (:mod:`symnorm.presentation.latex`) shares that order.
"""

from __future__ import annotations

import sympy as sp
from sympy import HadamardPower, HadamardProduct, MatAdd, MatMul, Transpose
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from .atoms import Elementwise, Norm, ScalarOf


def _reads_as_negative(e: sp.Expr) -> bool:
    """True for exponents a person writes with a minus: -2, -1/2, 1 - p (= -(p - 1))."""
    if e.is_number:
        return bool(e.is_negative)
    if e.could_extract_minus_sign():
        return True
    if e.is_Add:
        _, dependent = e.as_independent(*e.free_symbols, as_Add=True)
        return dependent.could_extract_minus_sign()
    return False


def fraction(c: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """Split a scalar into numerator and denominator as a person writes them."""
    num, den = [], []
    for factor in sp.Mul.make_args(c):
        if factor.is_Rational and not factor.is_Integer:
            num.append(sp.Integer(factor.p))
            den.append(sp.Integer(factor.q))
        elif factor.is_Pow and _reads_as_negative(factor.exp):
            den.append(sp.Pow(factor.base, -factor.exp))
        else:
            num.append(factor)
    return sp.Mul(*num), sp.Mul(*den)


def split_coeff(expr: MatMul) -> tuple[sp.Expr, sp.Expr, list[MatrixExpr]]:
    """Scalar numerator, scalar denominator and matrix factors of a matrix product."""
    scalars = [a for a in expr.args if not isinstance(a, MatrixExpr)]
    mats = [a for a in expr.args if isinstance(a, MatrixExpr)]
    num, den = fraction(sp.Mul(*scalars))
    return num, den, mats


class HandOrder:
    """Terms in SymPy's order, but those that read as negative after the others, as
    written by hand: ``1 - lam/norm(v, 2)``, ``I - x*x.T/norm(x, 2)**2``."""

    def _as_ordered_terms(self, expr: sp.Basic, order: object = None) -> list:
        terms = super()._as_ordered_terms(expr, order=order)  # type: ignore[misc]
        return [t for t in terms if not _negative(t)] + [t for t in terms if _negative(t)]


def signed_join(texts: list[str]) -> str:
    """Join printed terms with + and -, folding each term's own leading minus."""
    out = ""
    for i, text in enumerate(texts):
        if text.startswith("-"):
            out += (" - " if i else "-") + text[1:].lstrip()
        else:
            out += (" + " if i else "") + text
    return out


def _negative(term: sp.Basic) -> bool:
    if isinstance(term, MatMul):
        scalars = [a for a in term.args if not isinstance(a, MatrixExpr)]
        return sp.Mul(*scalars).could_extract_minus_sign()
    return term.could_extract_minus_sign()


class TextPrinter(HandOrder, StrPrinter):
    """Prints the expression language (round-trips through :func:`symnorm.parse`)."""

    def _print_Norm(self, expr: Norm) -> str:
        return f"norm({self._print(expr.arg)}, {self._print(expr.p)})"

    def _print_Infinity(self, expr: sp.Basic) -> str:
        return "oo"

    def _print_Abs(self, expr: sp.Abs) -> str:  # the language writes abs, SymPy Abs
        return f"abs({self._print(expr.args[0])})"

    def _print_ScalarOf(self, expr: ScalarOf) -> str:
        return self._print(expr.mat)

    def _print_Transpose(self, expr: Transpose) -> str:
        inner = self._print(expr.arg)
        if not isinstance(expr.arg, MatrixSymbol) and not getattr(expr.arg, "prints_atomic",
                                                                  False):
            inner = f"({inner})"
        return f"{inner}.T"

    def _print_Elementwise(self, expr: Elementwise) -> str:
        return f"{expr.name}({self._print(expr.arg)})"

    def _print_HadamardProduct(self, expr: HadamardProduct) -> str:
        return " .* ".join(self.parenthesize(a, PRECEDENCE["Mul"]) for a in expr.args)

    def _print_HadamardPower(self, expr: HadamardPower) -> str:
        base = self.parenthesize(expr.base, PRECEDENCE["Pow"])
        exp = self._print(expr.exp)
        if not (expr.exp.is_Atom and (expr.exp.is_Integer or expr.exp.is_Symbol)):
            exp = f"({exp})"
        return f"{base}.^{exp}"

    def _print_Identity(self, expr: sp.Basic) -> str:
        return "I"

    def _print_OneMatrix(self, expr: sp.Basic) -> str:
        """``1`` (a column of ones), ``1.T`` (a row), ``1*1.T`` (a matrix of ones)."""
        rows, cols = expr.shape
        if rows == 1 and cols != 1:
            return "1.T"
        return "1*1.T" if rows != 1 and cols != 1 else "1"

    def _print_Trace(self, expr: sp.Basic) -> str:
        return f"trace({self._print(expr.arg)})"

    def _print_Inverse(self, expr: sp.Basic) -> str:
        return f"inv({self._print(expr.arg)})"

    def _print_DiagMatrix(self, expr: sp.Basic) -> str:
        return f"diag({self._print(expr.args[0])})"

    def _print_Max(self, expr: sp.Basic) -> str:
        return "max(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Min(self, expr: sp.Basic) -> str:
        return "min(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Derivative(self, expr: sp.Derivative) -> str:
        """``u''(t)`` for a function of one variable, ``diff(u(x, y), x, y)`` otherwise."""
        f = expr.expr
        counts = list(expr.variable_count)
        if isinstance(f, sp.core.function.AppliedUndef) and len(f.args) == 1 and \
                len(counts) == 1 and counts[0][1] <= 3:
            return f"{f.func.__name__}{chr(39) * int(counts[0][1])}({self._print(f.args[0])})"
        spec = ", ".join(self._print(v) if n == 1 else f"{self._print(v)}, {n}"
                         for v, n in counts)
        return f"diff({self._print(f)}, {spec})"

    def _print_Integral(self, expr: sp.Integral) -> str:
        limits = ", ".join(f"({self._print(v)}, {self._print(a)}, {self._print(b)})"
                           if len(lim) == 3 else self._print(lim[0])
                           for lim in expr.limits for v, a, b in [(lim + (None, None))[:3]])
        return f"integral({self._print(expr.function)}, {limits})"

    def _print_Sum(self, expr: sp.Sum) -> str:
        (k, a, b), *more = expr.limits
        inner = self._print(expr.function)
        if more:
            inner = self._print(sp.Sum(expr.function, *more))
        return f"sum({inner} for {self._print(k)} = {self._print(a)}..{self._print(b)})"

    def _print_MatrixBase(self, expr: sp.MatrixBase) -> str:
        rows = (", ".join(self._print(e) for e in expr.row(i)) for i in range(expr.rows))
        return "[" + ", ".join(f"[{r}]" for r in rows) + "]"

    _print_ImmutableDenseMatrix = _print_MatrixBase
    _print_MutableDenseMatrix = _print_MatrixBase

    def _print_MatAdd(self, expr: MatAdd) -> str:
        return signed_join([self._print(t) for t in self._as_ordered_terms(expr)])

    def _print_MatMul(self, expr: MatMul) -> str:
        num, den, mats = split_coeff(expr)
        sign = ""
        if num.could_extract_minus_sign():
            num, sign = -num, "-"
        factors = [] if num == 1 else [self.parenthesize(num, PRECEDENCE["Mul"], strict=True)]
        factors += [self.parenthesize(m, PRECEDENCE["Mul"]) for m in mats]
        text = "*".join(factors) if factors else "1"
        if den != 1:
            text += "/" + self.parenthesize(den, PRECEDENCE["Mul"] + 1)
        return sign + text


def to_text(expr: object) -> str:
    """Expression-language text of ``expr``.

    The text is what :func:`symnorm.parse` reads back (``norm(x, 2)``, ``A.T``, ``.*``
    for the elementwise product, ``x.T*y`` for an inner product), in the textbook
    order SymPy's ``str`` does not keep (``A.T*(A*x - b)/norm(A*x - b, 2)`` rather
    than ``1/norm(A*x - b, 2)*A.T*(A*x - b)``). Every message of symnorm names
    expressions this way.

    Parameters
    ----------
    expr : sympy.Basic or object
        A SymPy or symnorm expression; any other object is written with ``str``.

    Returns
    -------
    str
        One line of the expression language.

    Raises
    ------
    None
        Every object has a text.

    Examples
    --------
    >>> import symnorm as sn
    >>> A, x, b = sn.matrix("A"), sn.vector("x"), sn.vector("b", "m")
    >>> sn.to_text(A.T*(A*x - b)/sn.norm(A*x - b, 2))
    'A.T*(A*x - b)/norm(A*x - b, 2)'
    >>> lam = sn.scalar("lam", positive=True)
    >>> f = sn.norm(A*x - b, 2)**2/2 + lam*sn.norm(x, 1)
    >>> sn.to_text(f)
    'lam*norm(x, 1) + norm(A*x - b, 2)**2/2'
    >>> sn.parse(sn.to_text(f), lam=lam) == f     # it reads back as the same expression
    True
    >>> sn.to_text(sn.parse("x .* y + sigmoid(W*x)"))
    'x .* y + sigmoid(W*x)'
    """
    return TextPrinter().doprint(expr)
