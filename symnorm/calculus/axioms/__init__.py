"""Is it a norm? Check the three norm axioms of a scalar expression ``f(x)``.

1. positive definiteness: ``f(x) >= 0``, and ``f(x) = 0`` only for ``x = 0``;
2. absolute homogeneity: ``f(c x) = |c| f(x)``;
3. triangle inequality: ``f(x + y) <= f(x) + f(y)``.

A nonnegative sum of terms ``c*norm(M*x, p)`` is decided symbolically from the rule
registry (``is_norm``, ``broken_axiom``) and the rank of ``M``. Anything else, and every
axiom a rule says is broken, is searched numerically for a counterexample with a
compiled kernel; a counterexample is re-checked in exact (or 50-digit) arithmetic before
it is reported, so rounding never produces a wrong "fails".
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol

from ...model.atoms import ScalarOf
from ...model.errors import ShapeError, UnsupportedExpressionError
from ...rules import norm_rule
from .report import (
    AXIOMS,
    CLASSIFICATIONS,
    DEFAULT_TRIALS,
    HOMOGENEITY,
    POSITIVITY,
    TRIANGLE,
    AxiomReport,
    AxiomResult,
    _num,
)
from .search import _Search, _search_homogeneity, _search_positivity, _search_triangle
from .symbolic import (
    _breaks,
    _decompose,
    _order_conditions,
    _quasi_constant,
    _symbolic_definiteness,
    _symbolic_homogeneity,
    _symbolic_triangle,
    _Term,
    _text,
)

__all__ = ["AXIOMS", "CLASSIFICATIONS", "HOMOGENEITY", "POSITIVITY", "TRIANGLE", "AxiomReport",
           "AxiomResult", "axioms"]


def _validate(f: Any, wrt: Any) -> sp.Expr:
    if isinstance(f, MatrixExpr):
        if f.shape != (1, 1):
            raise ShapeError(f"axioms() needs a scalar expression; {_text(f)} is a "
                             f"{f.shape[0]}x{f.shape[1]} matrix expression")

        f = ScalarOf(f)
    if not isinstance(f, sp.Expr):
        raise UnsupportedExpressionError(
            f"axioms() needs a SymPy/symnorm scalar expression, got {type(f).__name__}: {f!r}")
    if not isinstance(wrt, MatrixSymbol):
        raise UnsupportedExpressionError(
            f"wrt must be a vector symbol made by sn.vector, got {wrt!r} "
            f"({type(wrt).__name__})")
    if wrt.shape[1] != 1 or wrt.shape[0] == 1:
        raise ShapeError(f"wrt must be a column vector symbol (sn.vector); {wrt.name} is "
                         f"{wrt.shape[0]}x{wrt.shape[1]}")
    if not f.has(wrt):
        raise UnsupportedExpressionError(
            f"{_text(f)} does not depend on {wrt.name}: nothing to check")
    return f


def axioms(f: Any, wrt: Any, *, trials: int = DEFAULT_TRIALS, seed: int = 0) -> AxiomReport:
    """Check the norm axioms of the scalar ``f`` as a function of the vector ``wrt``.

    Nonnegative sums of ``c*norm(M*x, p)`` are decided symbolically from the norm rules
    and the rank of ``M`` (a symbolic ``M`` gives a condition in ``report.conditions``);
    everything else is searched numerically for a counterexample (``trials`` tries per
    axiom, seeded by ``seed``), and every counterexample is re-checked exactly. The
    classification is ``"norm"``, ``"seminorm"`` (``f(x) = 0`` for some ``x != 0``),
    ``"quasi-norm"`` (only the triangle inequality fails; it holds with a constant) or
    ``"not a norm"``.

    Parameters
    ----------
    f : sympy.Expr
        A scalar function of ``wrt``.
    wrt : sympy.MatrixSymbol
        A column vector made by :func:`vector`.
    trials : int, optional
        Tries per axiom of the numeric search for a counterexample (default 400): unit
        vectors, their sums and differences, null vectors of the matrices, random
        vectors at scales 1e-3 to 1e3.
    seed : int, optional
        Seed of the numeric search (default 0).

    Returns
    -------
    AxiomReport
        ``classification``, the verdict on each axiom (``axioms``), ``failing``,
        ``conditions`` on symbolic parameters; ``str`` gives the summary.

    Raises
    ------
    UnsupportedExpressionError
        If ``f`` is not a SymPy scalar expression, does not depend on ``wrt``, or
        ``wrt`` is not a symbol.
    ShapeError
        If ``wrt`` is not a column vector.
    ValueError
        If ``trials`` is not a positive integer.

    Examples
    --------
    >>> import symnorm as sn, sympy as sp
    >>> x = sn.vector("x")
    >>> sn.axioms(sn.norm(x, 1), x).classification
    'norm'
    >>> r = sn.axioms(sn.norm(x, sp.Rational(1, 2)), x)
    >>> r.classification
    'quasi-norm'
    >>> print(r.axioms["triangle inequality"].reason)  # doctest: +ELLIPSIS
    fails at x = [1, 0, 0], y = [0, 1, 0]: f(x + y) = 4 > f(x) + f(y) = 2; ...
    >>> sn.axioms(sn.norm(x, 2)**2, x).failing
    ['absolute homogeneity', 'triangle inequality']
    >>> W = sn.matrix("W", "n", "n")
    >>> sn.axioms(sn.norm(W*x, 2), x).conditions
    ['W has full column rank (W x = 0 only for x = 0)']
    >>> sn.axioms(sn.norm(x, 1), sn.matrix("A"))
    Traceback (most recent call last):
    ...
    symnorm.ShapeError: wrt must be a column vector symbol (sn.vector); A is mxn
    """
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ValueError(f"trials must be a positive integer, got {trials!r}")
    f = _validate(f, wrt)
    terms = _decompose(f, wrt)
    search: _Search | None = None

    def searcher() -> _Search:
        nonlocal search
        if search is None:
            search = _Search(f, wrt, trials, seed)
        return search

    conditions: list[str] = []
    worst = 0.0
    if terms is not None:
        positivity, conditions = _symbolic_definiteness(terms)
        conditions[:0] = sorted({f"{_text(t.coeff)} > 0" for t in terms
                                 if t.coeff.is_positive is not True})
        if any(_breaks(t, HOMOGENEITY) for t in terms):
            homogeneity = _search_homogeneity(searcher())
            homogeneity.reason += _rule_note(terms, HOMOGENEITY)
        else:
            homogeneity = _symbolic_homogeneity(terms)
        if all(norm_rule(t.norm.p).is_norm(t.norm.p) for t in terms):
            triangle = _symbolic_triangle(terms)
            conditions += _order_conditions(terms)
        else:
            triangle, worst = _search_triangle(searcher())
            triangle.reason += _rule_note(terms, TRIANGLE)
    else:
        s = searcher()
        positivity = _search_positivity(s)
        homogeneity = _search_homogeneity(s)
        triangle, worst = _search_triangle(s)

    classification = _classify(positivity, homogeneity, triangle)
    if classification == "quasi-norm":
        k = _quasi_constant(terms) if terms is not None else None
        if k is not None:
            triangle.reason += (f"; it holds with a constant: f(x + y) <= K (f(x) + f(y)) "
                                f"with K = {_text(k)}")
        else:
            triangle.reason += ("; being definite and homogeneous in finite dimension, f "
                                "satisfies it with some constant K (largest ratio "
                                f"f(x + y)/(f(x) + f(y)) found: {_num(worst)})")
    notes = list(search.notes) if search is not None else []
    return AxiomReport(classification=classification,
                       axioms={POSITIVITY: positivity, HOMOGENEITY: homogeneity,
                               TRIANGLE: triangle},
                       conditions=conditions, expression=_text(f), wrt=wrt.name, notes=notes)


def _rule_note(terms: list[_Term], axiom: str) -> str:
    texts = sorted({f"the {norm_rule(t.norm.p).key} rule for p = {_text(t.norm.p)} lists "
                    f"it as broken: {norm_rule(t.norm.p).broken_axiom(t.norm.p)}"
                    for t in terms if _breaks(t, axiom)})
    return "".join(f"; {t}" for t in texts)


def _classify(positivity: AxiomResult, homogeneity: AxiomResult,
              triangle: AxiomResult) -> str:
    # a symbolic failure without a point is a null space: zero at some x != 0
    kind = (None if positivity.holds else
            (positivity.counterexample or {}).get("kind", "zero at nonzero x"))
    if not homogeneity.holds or kind in ("negative", "nonzero at 0"):
        return "not a norm"
    if positivity.holds:
        return "norm" if triangle.holds else "quasi-norm"
    return "seminorm" if triangle.holds else "not a norm"
