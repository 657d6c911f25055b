"""``norm(expr, p)``: build a norm node after checking its argument and its order."""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from ..model.atoms import Norm, order
from ..model.errors import ShapeError, UnknownNormError
from ..model.shapes import check_shapes
from ..model.text import to_text
from .matrix_norms import matrix_norm
from .registry import norm_rule

MATRIX_ORDERS = ("fro", "nuc")


def norm(expr: object, p: object = 2, *, p_min: object = None) -> Norm:
    r"""The p-norm of a vector expression, or a matrix norm of a matrix expression.

    ``p`` is 1, 2, ``oo`` (or ``"oo"``), 0 (the counting "norm"), a positive rational,
    or a symbol. A symbolic ``p`` is assumed ``>= 1`` unless ``p_min`` says otherwise.
    For a matrix, ``p`` is ``'fro'``, ``'nuc'``, 2 (spectral), 1 and ``oo`` (induced: the
    largest column and row sums) or a pair ``(p, q)`` (the Lq norm of the column Lp norms).
    Quasi-norms (``0 < p < 1``) and the counting "norm" are allowed; derivations flag
    them as not norms, naming the axiom they break.

    Parameters
    ----------
    expr : sympy.MatrixExpr
        A column vector (``n x 1``) or matrix expression; a row vector is normed as the
        column it is the transpose of.
    p : int, float, str, tuple or sympy.Basic, optional
        The order (default 2). Vectors: ``0``, ``1``, ``2``, ``oo`` (also ``"oo"``,
        ``"inf"``, ``float("inf")``), a positive rational (a float such as ``1.5`` is
        read as ``3/2``) or a symbol. Matrices: ``'fro'``, ``'nuc'``, ``2``, ``1``,
        ``oo`` or a pair ``(p, q)``.
    p_min : number, optional
        For a symbolic ``p``: the lowest value it may take (default 1). Results are
        derived for ``p >= p_min``, and kernels refuse orders below it.

    Returns
    -------
    Norm
        A real, nonnegative scalar node.

    Raises
    ------
    ShapeError
        If ``expr`` is not a vector or matrix expression (a scalar, a string), or its
        operands' shapes do not fit.
    UnknownNormError
        If ``p`` is negative, complex, not a number or symbol, or an order without a
        registered rule (the message lists the registered norms).

    Examples
    --------
    >>> import symnorm as sn
    >>> x = sn.vector("x")
    >>> sn.norm(x, 2)
    norm(x, 2)
    >>> sn.norm(x, "oo"), sn.norm(x, 1.5), sn.norm(x.T, 1)
    (norm(x, oo), norm(x, 3/2), norm(x, 1))
    >>> X = sn.matrix("X")
    >>> sn.norm(X, "fro"), sn.norm(X, "nuc"), sn.norm(X, 2), sn.norm(X, (2, 1))
    (norm(X, fro), norm(X, nuc), norm(X, 2), norm(X, (2, 1)))
    >>> print(sn.latex(sn.norm(X, (2, 1))))
    \left\lVert X \right\rVert_{2,1}
    >>> p = sn.scalar("p")
    >>> print(sn.to_text(sn.grad(sn.norm(x, p), x).result))
    (sign(x) .* abs(x).^(p - 1))/norm(x, p)**(p - 1)
    >>> sn.norm(x, "foo")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symnorm.UnknownNormError: no norm rule for order p = foo; registered: L1 (p = 1); ...
    >>> sn.norm(sn.scalar("a"))
    Traceback (most recent call last):
    ...
    symnorm.ShapeError: norm() takes a vector expression, got a (a scalar)
    """
    if not isinstance(expr, MatrixExpr):
        raise ShapeError(
            f"norm() takes a vector expression, got {expr!r} "
            f"({'a scalar' if isinstance(expr, sp.Expr) else type(expr).__name__})")
    check_shapes(expr)
    rows, cols = expr.shape
    if rows != 1 and cols != 1:  # a matrix: 'fro', 'nuc', 2, 1, oo or (p, q)

        return matrix_norm(expr, p)
    if isinstance(p, str) and p.strip().lower() in ("fro", "nuc"):
        raise UnknownNormError(
            f"{p!r} is a matrix norm order, but {to_text(expr)} is a vector of length "
            f"{rows if cols == 1 else cols}; for vectors use 1, 2, oo or p (norm(x, 2) is "
            f"the Frobenius and the nuclear norm of a vector)")
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
    if isinstance(q, sp.Expr) and q.is_negative:  # a number, or a symbol declared so
        raise UnknownNormError(f"norm order must be >= 0, got p = {q}"
                               + ("" if q.is_number else " (declared negative)"))
    norm_rule(q)  # raises UnknownNormError listing the registered rules
    return Norm(expr, q, p_min)
