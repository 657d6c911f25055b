"""``norm(expr, p)``: build a norm node after checking its argument and its order."""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from ..model.atoms import Norm, order
from ..model.errors import ShapeError, UnknownNormError
from ..model.shapes import check_shapes
from .matrix_norms import matrix_norm
from .registry import norm_rule

MATRIX_ORDERS = ("fro", "nuc")


def norm(expr: object, p: object = 2, *, p_min: object = None) -> Norm:
    """The p-norm of a vector expression, or a matrix norm of a matrix expression.

    ``p`` is 1, 2, ``oo`` (or ``"oo"``), 0 (the counting "norm"), a positive rational,
    or a symbol. A symbolic ``p`` is assumed ``>= 1`` unless ``p_min`` says otherwise.

    >>> import symnorm as sn
    >>> x = sn.vector("x")
    >>> sn.norm(x, 2)
    norm(x, 2)
    >>> sn.norm(x, "oo")
    norm(x, oo)
    >>> X = sn.matrix("X")
    >>> sn.norm(X, "fro"), sn.norm(X, "nuc"), sn.norm(X, 2), sn.norm(X, (2, 1))
    (norm(X, fro), norm(X, nuc), norm(X, 2), norm(X, (2, 1)))

    For a matrix, ``p`` is ``'fro'``, ``'nuc'``, 2 (spectral), 1 and ``oo`` (induced: the
    largest column and row sums) or a pair ``(p, q)`` (the Lq norm of the column Lp norms).
    """
    if not isinstance(expr, MatrixExpr):
        raise ShapeError(
            f"norm() takes a vector expression, got {expr!r} "
            f"({'a scalar' if isinstance(expr, sp.Expr) else type(expr).__name__})")
    check_shapes(expr)
    rows, cols = expr.shape
    if rows != 1 and cols != 1:  # a matrix: 'fro', 'nuc', 2, 1, oo or (p, q)

        return matrix_norm(expr, p)
    if rows == 1 and cols != 1:
        expr = expr.T
    try:
        q = order(p)
    except (sp.SympifyError, TypeError, ValueError):
        raise UnknownNormError(f"norm order must be a number, oo or a symbol, got {p!r}") \
            from None
    if isinstance(q, sp.Expr) and q.is_number and not q.is_extended_real:
        raise UnknownNormError(f"norm order must be real, got {p!r}")
    if isinstance(q, sp.Float):
        q = sp.nsimplify(q)
    if isinstance(q, sp.Expr) and q.is_number and q.is_negative:
        raise UnknownNormError(f"norm order must be >= 0, got p = {q}")
    norm_rule(q)  # raises UnknownNormError listing the registered rules
    return Norm(expr, q, p_min)
