"""Index (component) form of matrix expressions: ``(δ hᵀ)_{kj} = δ_k h_j``.

The entries are derived from the definitions of the matrix operations (a product sums
over its inner index, a Hadamard product multiplies entries, a transpose swaps the two
indices), applied to the closed form the engine derived; nothing is templated per
network. Indices are 1-based, as written by hand; a contraction prefers the letter of
the layer it runs over (``Σ_k δ_k w_kj``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sympy as sp
from sympy import (
    HadamardPower,
    HadamardProduct,
    Identity,
    MatAdd,
    MatMul,
    OneMatrix,
    Transpose,
    ZeroMatrix,
)
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol

from ..model.atoms import Elementwise
from ..model.errors import UnsupportedExpressionError
from ..model.functions import Mean, SumOf
from ..model.text import to_text
from ..presentation.latex import latex

LETTERS = "ijkmpqrsuv"


def index_symbol(letter: str) -> sp.Symbol:
    return sp.Symbol(letter, integer=True, positive=True)


def component(sym: MatrixSymbol, row: sp.Expr, col: sp.Expr, matrix: bool = False) -> sp.Expr:
    """``x_i`` for a column vector, ``W_{ij}`` for a matrix (1-based indices); ``matrix``
    says a 1-column symbol is a matrix all the same (a weight of a one-unit layer)."""
    base = sp.IndexedBase(sym.name, real=True)
    if matrix:
        return base[row, col]
    if sym.shape[1] == 1:
        return base[row]
    if sym.shape[0] == 1:
        return base[col]
    return base[row, col]


class Entries:
    """Computes ``e[r, c]`` in index notation; ``letter_of`` names contraction indices."""

    def __init__(self, letter_of: Callable[[MatrixExpr], str | None] | None = None,
                 taken: set[str] | None = None, matrices: Any = ()) -> None:
        self.letter_of = letter_of or (lambda e: None)
        self.taken = set(taken or ())
        self.matrices = set(matrices)  # symbols that are matrices whatever their shape

    def fresh(self, hint: str | None) -> sp.Symbol:
        for letter in ([hint] if hint else []) + list(LETTERS):
            if letter and letter not in self.taken:
                self.taken.add(letter)
                return index_symbol(letter)
        raise UnsupportedExpressionError("too many nested sums for index notation")

    def scalar(self, e: Any) -> Any:
        """A scalar factor with every ``mean(u)``/``sum(u)`` of a vector written as a sum
        over a fresh index: ``mean(g ⊙ â)`` is ``(1/n) Σ_k g_k â_k``."""
        if not isinstance(e, sp.Basic) or not e.has(Mean, SumOf):
            return e
        return e.replace(lambda n: isinstance(n, (Mean, SumOf)) and n.arg.shape[1] == 1,
                         self._reduction)

    def _reduction(self, n: Any) -> sp.Expr:
        u = n.arg
        k = self.fresh(self.letter_of(u))
        total = sp.Sum(self.entry(u, k, sp.Integer(1)), (k, 1, u.shape[0]))
        return total / u.shape[0] if isinstance(n, Mean) else total

    def entry(self, e: Any, r: sp.Expr, c: sp.Expr) -> sp.Expr:
        if not isinstance(e, MatrixExpr):
            return self.scalar(e)
        if isinstance(e, MatrixSymbol):
            return component(e, r, c, e in self.matrices)
        if isinstance(e, Transpose):
            return self.entry(e.arg, c, r)
        if isinstance(e, MatAdd):
            return sp.Add(*[self.entry(a, r, c) for a in e.args])
        if isinstance(e, HadamardProduct):
            return sp.Mul(*[self.entry(a, r, c) for a in e.args])
        if isinstance(e, HadamardPower):
            return self.entry(e.base, r, c) ** e.exp
        if isinstance(e, OneMatrix):
            return sp.Integer(1)
        if isinstance(e, ZeroMatrix):
            return sp.Integer(0)
        if isinstance(e, Identity):
            return sp.KroneckerDelta(r, c)
        if isinstance(e, Elementwise):
            return e.scalar_func(self.entry(e.arg, r, c))
        if isinstance(e, MatMul):
            return sp.Mul(*self.product_factors(e, r, c))
        raise UnsupportedExpressionError(f"no index form for {type(e).__name__} in {to_text(e)}")

    def product_factors(self, e: MatMul, r: sp.Expr, c: sp.Expr) -> list[sp.Expr]:
        """Entry of a product as a list of factors (sums kept as one factor)."""
        scalars = [a for a in e.args if not isinstance(a, MatrixExpr)]
        mats = [a for a in e.args if isinstance(a, MatrixExpr)]
        idx: list[sp.Expr] = [r]
        sums: list[tuple[sp.Symbol, sp.Expr]] = []
        for left, right in zip(mats, mats[1:]):
            inner = left.shape[1]
            if inner == 1:  # an outer product: no sum
                idx.append(sp.Integer(1))
                continue
            s = self.fresh(self.letter_of(right) or self.letter_of(left.T))
            idx.append(s)
            sums.append((s, inner))
        idx.append(c)
        parts = [self.entry(m, idx[i], idx[i + 1]) for i, m in enumerate(mats)]
        if sums:
            body = sp.Mul(*parts)
            for s, n in reversed(sums):
                body = sp.Sum(body, (s, 1, n))
            parts = [body]
        return [*(self.scalar(a) for a in scalars), *parts]

    def factors(self, e: Any, r: sp.Expr, c: sp.Expr) -> list[sp.Expr]:
        """The entry as the factors a person writes, in the order of the closed form."""
        if isinstance(e, MatMul):
            mats = [a for a in e.args if isinstance(a, MatrixExpr)]
            if all(left.shape[1] == 1 for left in mats[:-1]):  # no sums: factor by factor
                scalars = [a for a in e.args if not isinstance(a, MatrixExpr)]
                idx = [r] + [sp.Integer(1)] * (len(mats) - 1) + [c]
                out: list[sp.Expr] = [self.scalar(a) for a in scalars]
                for i, m in enumerate(mats):
                    out.extend(self.factors(m, idx[i], idx[i + 1]))
                return out
            return self.product_factors(e, r, c)
        if isinstance(e, HadamardProduct):
            return [f for a in e.args for f in self.factors(a, r, c)]
        if isinstance(e, Transpose):
            return self.factors(e.arg, c, r)
        return [self.entry(e, r, c)]


class Written:
    """A product shown factor by factor in the order written (SymPy would reorder).

    ``expr`` is the SymPy product, for comparisons.
    """

    def __init__(self, factors: list[sp.Expr]) -> None:
        coeff = [f for f in factors if f.is_number]
        rest = [f for f in factors if not f.is_number]
        c = sp.Mul(*coeff)
        self.factors = ([c] if c != 1 else []) + rest
        self.expr = sp.Mul(*factors)

    def latex(self) -> str:
        parts = []
        for f in self.factors:
            s = latex(f)
            if isinstance(f, (sp.Add, sp.Sum)) and len(self.factors) > 1:
                s = rf"\left({s}\right)"
            parts.append(s)
        return r" \, ".join(parts) if parts else "1"

    def text(self) -> str:
        parts = []
        for f in self.factors:
            s = to_text(f)
            if isinstance(f, sp.Add) and len(self.factors) > 1:
                s = f"({s})"
            parts.append(s)
        return "*".join(parts) if parts else "1"

    def __repr__(self) -> str:
        return self.text()


class WrittenSum:
    """A sum of :class:`Written` products, each shown in its written order."""

    def __init__(self, terms: list[Written]) -> None:
        self.terms = terms
        self.factors = [sp.Add(*[t.expr for t in terms])]
        self.expr = self.factors[0]

    def latex(self) -> str:
        return " + ".join(t.latex() for t in self.terms).replace("+ -", "-")

    def text(self) -> str:
        return " + ".join(t.text() for t in self.terms).replace("+ -", "-")

    def __repr__(self) -> str:
        return self.text()
