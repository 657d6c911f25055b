"""Numbers in the expression language: literals read exactly (with limits on their
size), signed sums of terms, and the refusal of what SymPy makes of numbers that are not
real (``x/0`` is ``zoo``, ``0/0`` is ``nan``, ``sqrt(-1)`` is ``I``), at their position
in the text."""


from __future__ import annotations

import math
import re

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from ..model.errors import ParseError
from .syntax import Token, Tree, _error, _span

_NUMBER_RE = re.compile(r"([0-9]*)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?")

_MAX_DIGITS = 1000        # digits in one number literal
_MAX_EXPONENT = 1000      # |e| in 1e-3 style literals
_MAX_BITS = 10_000        # size of an exact number built from the text (~3000 digits)


def _total(terms: list[tuple[int, sp.Basic]]) -> sp.Basic:
    """The sum of signed terms; equal terms are counted first (``x + x + x`` is ``3*x``),
    so SymPy only sees the distinct ones."""
    if len(terms) == 1:
        sign, value = terms[0]
        return value if sign > 0 else -value
    counts: dict[sp.Basic, int] = {}
    for sign, value in terms:
        counts[value] = counts.get(value, 0) + sign
    parts = [v if c == 1 else -v if c == -1 else c * v for v, c in counts.items() if c]
    matrices = [v for v in counts if isinstance(v, MatrixExpr)]
    if matrices:
        if not parts:
            return sp.ZeroMatrix(*matrices[0].shape)
        return parts[0] if len(parts) == 1 else sp.MatAdd(*parts).doit()
    return sp.Add(*parts)


def _bits(value: sp.Rational) -> float:
    big = max(abs(value.p), value.q)
    return math.log2(big) if big > 1 else 0.0


def read_number(text: str, token: Token) -> sp.Rational:
    """The exact value of a number literal of ``text`` (``1e-3`` is ``1/1000``).

    >>> from symnorm.language.syntax import _tokens
    >>> read_number("2.5e-3", next(_tokens("2.5e-3")))
    1/400
    """
    match = _NUMBER_RE.fullmatch(token)
    if match is None:  # the grammar's NUMBER guarantees a match
        raise _error(text, _span(token)[0], f"malformed number '{token}'")
    whole, frac, exp = match.group(1), match.group(2) or "", match.group(3)
    digits = (whole + frac).lstrip("0") or "0"
    if len(whole) + len(frac) > _MAX_DIGITS:  # leading zeros count: 0.000...1
        raise _error(text, _span(token)[0], f"number with more than {_MAX_DIGITS} digits")
    shift = -len(frac)
    if exp is not None:
        if len(exp.lstrip("+-").lstrip("0")) > 6 or abs(int(exp)) > _MAX_EXPONENT:
            raise _error(text, _span(token)[0], f"exponent of '{token}' out of range",
                         f" (at most {_MAX_EXPONENT} in size)")
        shift += int(exp)
    n = int(digits)
    return sp.Rational(n * 10**shift) if shift >= 0 else sp.Rational(n, 10**-shift)


def _source(text: str, node: Tree | Token) -> str:
    start, end = _span(node)
    return text[start:end]


def division_by_zero(text: str, node: Tree, zero: Tree | Token, why: str = "") -> ParseError:
    """The error for a division by a zero divisor (or 0 to a negative power) at ``node``:
    at the operator ``/`` when there is one, else at the zero.

    >>> from symnorm.language.syntax import _syntax_tree
    >>> tree = _syntax_tree("x/0")
    >>> print(division_by_zero("x/0", tree, tree.children[1]))
    division by zero at line 1, column 2 in 'x/0': '0' is 0
        x/0
         ^
    """
    left_end, zero_start = _span(node.children[0])[1], _span(zero)[0]
    slash = text.find("/", left_end, zero_start) if node.data == "div" else -1
    detail = why or f"'{_source(text, zero)}' is 0"
    return _error(text, slash if slash >= 0 else zero_start, "division by zero",
                  f" in '{_source(text, node)}': {detail}")


def real_number(text: str, node: Tree, value: sp.Basic) -> sp.Basic:
    """``value`` (just built at ``node`` of ``text``) if it is not a number or is a real,
    finite one; SymPy's complex results (``sqrt(-1)`` is ``I``, ``log(-2)`` is ``log(2) +
    I*pi``) and non-finite ones (``zoo``, ``nan``) are refused with the position.

    >>> from symnorm.language.syntax import _syntax_tree
    >>> real_number("sqrt(4)", _syntax_tree("sqrt(4)"), sp.sqrt(4))
    2
    """
    if not (isinstance(value, sp.Expr) and value.is_number):
        return value
    start = _span(node)[0]
    if value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise _error(text, start, "not finite", f": '{_source(text, node)}' is {value}")
    if value.is_extended_real is False or value.has(sp.I):
        raise _error(text, start, "not real",
                     f": '{_source(text, node)}' is the complex number {value}, and "
                     f"symnorm works with real numbers only")
    return value
