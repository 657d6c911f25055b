r"""Rules for the functions of a square matrix: the inverse, the determinant and its
logarithm (for ``det > 0``).

* ``inv``: ``d(M^{-1}) = -M^{-1} dM M^{-1}``, so the VJP of a cotangent ``G`` is
  ``-M^{-T} G M^{-T}``;
* ``det``: ``∇ det(M) = det(M) M^{-T}`` (the transposed adjugate, which kernels compute
  also where ``M`` is singular);
* ``logdet``: ``∇ log det(M) = M^{-T}``.

For a matrix declared symmetric (or positive definite) ``M^{-T}`` is ``M^{-1}``, so the
gradients are symmetric already: they are the gradients in the space of symmetric
matrices, ``sym(G) = (G + G^T)/2`` of the unstructured ones.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy import Inverse, MatMul
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol

from ..model.errors import ShapeError
from ..model.functions import Det, LogDet
from ..model.shapes import check_shapes
from ..model.symbols import structure_of
from ..model.text import to_text
from .registry import FUNCTIONS, FunctionRule, Kink, kink

__all__ = ["det", "inv", "logdet"]


def inverse_of(m: MatrixExpr) -> MatrixExpr:
    """``M^{-1}``, with what declared structure says (``Q^{-1} = Q^T`` for an orthogonal
    ``Q``)."""
    if "orthogonal" in structure_of(m):
        return m.T
    return Inverse(m)


def inverse_transpose(m: MatrixExpr) -> MatrixExpr:
    """``M^{-T}``: ``M^{-1}`` itself for a matrix declared symmetric."""
    return inverse_of(m).T


def _chain(*factors: Any) -> MatrixExpr:
    """The product of ``factors`` as one flat ``MatMul`` (nested products opened, scalar
    coefficients combined in front)."""
    args: list = []
    for f in factors:
        args.extend(f.args if isinstance(f, MatMul) else [f])
    c = sp.Mul(*[a for a in args if not isinstance(a, MatrixExpr)])
    mats = [a for a in args if isinstance(a, MatrixExpr)]
    return MatMul(c, *mats) if c != 1 else MatMul(*mats)


def _call(printer: Any, name: str, arg: Any) -> str:
    body = printer._print(arg)
    if isinstance(arg, MatrixSymbol):
        return rf"{name}({body})"
    return rf"{name}\left({body}\right)"


def _name(e: Any) -> tuple[str, ...]:
    return (repr(to_text(e.arg)),)


def _logdet_args(e: Any) -> tuple[str, ...]:
    spd = "positive_definite" in structure_of(e.arg)
    return (repr(to_text(e.arg)), "True" if spd else "False")


def _det_kinks(e: Any) -> list[Kink]:
    return [kink("det(${u}) = 0 (${u}^-1 does not exist)", r"\det(${u}) = 0",
                 "the transposed adjugate adj(M)^T, the gradient there", u=e.arg)]


FUNCTIONS.register(FunctionRule(
    key="inv", title="matrix inverse", node=Inverse, numpy_value="inv", kernel_args=_name,
    operands=lambda e: (e.arg,),
    vjp=lambda e, g: _chain(-1, inverse_transpose(e.arg), g, inverse_transpose(e.arg)),
    jvp=lambda e, t: _chain(-1, inverse_of(e.arg), t, inverse_of(e.arg)),
    latex=lambda p, e: p._print_Inverse(e),
    domain="square matrices with det(M) != 0 (kernels raise DomainError elsewhere)",
    description="inv(M) = M^-1; the VJP of G is -M^-T G M^-T"))

FUNCTIONS.register(FunctionRule(
    key="det", title="determinant", node=Det, numpy_value="det",
    gradient=lambda e: MatMul(Det(e.arg), inverse_transpose(e.arg)),
    numpy_gradient="det_grad", kinks=_det_kinks,
    latex=lambda p, e: _call(p, r"\det", e.arg),
    domain="square matrices",
    description="det(M); gradient det(M) M^-T (the transposed adjugate)"))

FUNCTIONS.register(FunctionRule(
    key="logdet", title="log-determinant", node=LogDet, numpy_value="logdet",
    kernel_args=_logdet_args, gradient=lambda e: inverse_transpose(e.arg),
    latex=lambda p, e: _call(p, r"\log\det", e.arg),
    domain="square matrices with det(M) > 0 (kernels raise DomainError elsewhere); a "
           "matrix declared positive definite is computed from its Cholesky factor",
    description="logdet(M) = log(det(M)); gradient M^-T (M^-1 for a symmetric M)"))


def _square_arg(expr: Any, who: str) -> MatrixExpr:
    if not isinstance(expr, MatrixExpr):
        what = "a scalar" if isinstance(expr, sp.Expr) else type(expr).__name__
        raise ShapeError(f"{who}() takes a square matrix expression, got {expr!r} ({what})")
    check_shapes(expr)
    rows, cols = expr.shape
    if rows != cols:
        raise ShapeError(f"{who}() needs a square matrix, but {to_text(expr)} is {rows}x{cols}"
                         + (" (declare it square: sn.matrix(name, n, n))"
                            if isinstance(expr, MatrixSymbol) else ""))
    return expr


def inv(expr: Any) -> MatrixExpr:
    r"""``inv(M) = M^{-1}`` of a square matrix expression.

    Parameters
    ----------
    expr : square matrix expression

    Returns
    -------
    MatrixExpr
        SymPy's ``Inverse(M)`` (``Q^T`` for a matrix declared orthogonal). Its derivative:
        ``d(M^{-1}) = -M^{-1} dM M^{-1}``; kernels raise
        :class:`~symnorm.DomainError` at a singular value.

    Raises
    ------
    ShapeError
        If ``expr`` is not a square matrix.

    Examples
    --------
    >>> import symnorm as sn
    >>> S = sn.matrix("S", "n", "n", positive_definite=True)
    >>> x = sn.vector("x")
    >>> print(sn.to_text(sn.grad(x.T*sn.inv(S)*x, x).result))
    2*inv(S)*x
    >>> sn.inv(sn.matrix("A"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symnorm.ShapeError: inv() needs a square matrix, but A is mxn (declare it square: ...)
    """
    return inverse_of(_square_arg(expr, "inv"))


def det(expr: Any) -> Det:
    r"""``det(M)``: the determinant of a square matrix expression.

    Parameters
    ----------
    expr : square matrix expression

    Returns
    -------
    Det
        A scalar node; its gradient is ``det(M) M^{-T}`` (kernels compute the transposed
        adjugate, also at singular ``M``).

    Raises
    ------
    ShapeError
        If ``expr`` is not a square matrix.

    Examples
    --------
    >>> import symnorm as sn
    >>> M = sn.matrix("M", "n", "n")
    >>> print(sn.latex(sn.grad(sn.det(M), M).result))
    \det(M) M^{-\top}
    """
    return Det(_square_arg(expr, "det"))


def logdet(expr: Any) -> LogDet:
    r"""``logdet(M) = log(det(M))`` of a square matrix expression, for ``det(M) > 0``.

    Parameters
    ----------
    expr : square matrix expression

    Returns
    -------
    LogDet
        A scalar node; gradient ``M^{-T}``, which is ``M^{-1}`` for a matrix declared
        symmetric or positive definite. Kernels raise :class:`~symnorm.DomainError`
        naming the matrix and its value where ``det(M) <= 0``.

    Raises
    ------
    ShapeError
        If ``expr`` is not a square matrix.

    Examples
    --------
    >>> import symnorm as sn
    >>> S = sn.matrix("S", "n", "n", positive_definite=True)
    >>> print(sn.to_text(sn.grad(sn.logdet(S), S).result))
    inv(S)
    """
    return LogDet(_square_arg(expr, "logdet"))
