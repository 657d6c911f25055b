r"""Rules for the matrix norms: Frobenius, nuclear, spectral, induced 1 and ∞, mixed L_{p,q}.

A matrix norm is an ordinary :class:`~symnorm.model.atoms.Norm` whose order is a
:class:`MatrixOrder` (``fro``, ``nuc``, ``2``, ``1``, ``oo`` or ``(p, q)``), so no vector
rule claims it and the engine, the kernel generator and the checks need no special case.
:func:`symnorm.norm` builds it for any argument with more than one row and column:

>>> import numpy as np
>>> import symnorm as sn
>>> X = sn.matrix("X")
>>> d = sn.grad(sn.norm(X, "nuc"), X)
>>> print(sn.to_text(d.result)); print(sn.latex(d.result))
svd_uv(X)
U V^{\top}
>>> d.kernel()(np.diag([2.0, 0.0]))   # rank 1 < 2: the minimum-norm subgradient U_r V_r^T
array([[1., 0.],
       [0., 0.]])

The gradients are closed matrix forms: ``X/‖X‖_F``, ``U V^T`` (thin SVD), ``u_1 v_1^T``,
``sign(X) ⊙ 1 e_k^T`` (induced 1), and the column-wise form of the mixed norms. Each
SVD-based node has a numpy kernel (batched over leading axes) in
:mod:`symnorm.numeric.matrices`, whose module docstring states the minimum-norm
subgradients returned at kinks and the tolerance for equal singular values.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.core.symbol import Str
from sympy.matrices.expressions import MatrixExpr

from ..model.atoms import Norm, Trace, order
from ..model.errors import ShapeError, UnknownNormError
from .matrix_maps import (
    InducedGrad,
    MatrixOrder,
    MixedGrad,
    SpectralUV,
    SvdUV,
    prox_node,
)
from .registry import NORMS, Kink, NormRule, kink

__all__ = ["FRO", "INDUCED1", "INDUCEDINF", "MIXED", "NUC", "SPECTRAL", "matrix_norm",
           "matrix_order", "trace"]

def matrix_order(p: object) -> MatrixOrder:
    """The matrix norm order named by ``p``: ``'fro'``, ``'nuc'``, 2 (spectral), 1 and
    ``oo`` (induced), or a pair ``(p, q)`` (mixed).

    >>> matrix_order("fro"), matrix_order(2).kind, matrix_order((2, 1))
    (fro, 'spectral', (2, 1))
    >>> matrix_order(3)
    Traceback (most recent call last):
    ...
    symnorm.UnknownNormError: no matrix norm of order 3; matrix norms: 'fro' ...
    """
    if isinstance(p, MatrixOrder):
        return p
    if isinstance(p, (tuple, list, sp.Tuple)) and len(p) == 2:
        return MatrixOrder("mixed", p[0], p[1])
    key = str(p) if isinstance(p, (str, Str)) else None
    if key in ("fro", "F"):
        return MatrixOrder("fro")
    if key in ("nuc", "*"):
        return MatrixOrder("nuc")
    try:
        q = order(p) if key is None or key in ("oo", "inf", "infinity") else None
    except (sp.SympifyError, TypeError, ValueError):
        q = None
    if q == 2:
        return MatrixOrder("spectral")
    if q == 1:
        return MatrixOrder("induced1")
    if q == sp.oo:
        return MatrixOrder("inducedinf")
    raise UnknownNormError(
        f"no matrix norm of order {p}; matrix norms: 'fro' (Frobenius), 'nuc' (nuclear), "
        f"2 (spectral), 1 (max column sum), oo (max row sum), (p, q) (mixed: the Lq norm "
        f"of the column Lp norms)")


def matrix_norm(expr: MatrixExpr, p: object = "fro") -> Norm:
    """``norm(X, p)`` for a matrix expression ``X`` (called by :func:`symnorm.norm`).

    >>> import symnorm as sn
    >>> A, X = sn.matrix("A", "m", "m"), sn.matrix("X")
    >>> matrix_norm(A*X, "fro")
    norm(A*X, fro)
    """
    if not isinstance(expr, MatrixExpr):
        raise ShapeError(f"a matrix norm takes a matrix expression, got {expr!r}")
    return Norm(expr, matrix_order(p))


def trace(expr: object) -> sp.Expr:
    r"""The trace ``tr(X)`` of a square matrix expression, a scalar the engine can
    differentiate (``∇_X tr(A X) = A^T``).

    Parameters
    ----------
    expr : sympy.MatrixExpr
        A square matrix expression (``n x n``, or a product such as ``A*X`` whose shape
        is square).

    Returns
    -------
    sympy.Expr
        A real scalar node, ``trace(...)`` in the expression language and
        ``\operatorname{tr}(...)`` in LaTeX.

    Raises
    ------
    ShapeError
        If ``expr`` is not a matrix expression, or is not square.

    Examples
    --------
    >>> import symnorm as sn
    >>> A, X = sn.matrix("A", "n", "n"), sn.matrix("X", "n", "n")
    >>> print(sn.to_text(sn.grad(sn.trace(A*X), X).result))
    A.T
    >>> print(sn.latex(sn.trace(A*X)))
    \operatorname{tr}\left(A X \right)
    >>> print(sn.to_text(sn.grad(sn.trace(X.T*A*X), X).result))
    (A + A.T)*X
    >>> sn.trace(sn.matrix("B"))
    Traceback (most recent call last):
    ...
    symnorm.ShapeError: trace() needs a square matrix; B is mxn
    """
    if not isinstance(expr, MatrixExpr):
        raise ShapeError(f"trace() takes a square matrix expression, got {expr!r}")
    rows, cols = expr.shape
    if rows != cols:
        raise ShapeError(f"trace() needs a square matrix; {expr} is {rows}x{cols}")
    return Trace(expr)


# -- rules ----------------------------------------------------------------------------------------

def _zero_kink(u: MatrixExpr, p: Any) -> list[Kink]:
    return [kink("${u} = 0", "${u} = 0", "0, the minimum-norm subgradient", at_zero=True,
                 returns_latex="$0$, the minimum-norm subgradient", u=u)]


def _norm_latex(printer: Any, u: str, p: MatrixOrder) -> str:
    return rf"\left\lVert {u} \right\rVert_{{{p._latex(printer)}}}"


def _kind(kind: str):  # noqa: ANN202
    return lambda p: isinstance(p, MatrixOrder) and p.kind == kind


def _extras(form: str, **more: Any) -> dict:
    return {"latex": _norm_latex, "matrix": True, "explicit": False, "prox_form": form,
            **more}


def _prox(node: str):  # noqa: ANN202
    def make(v: MatrixExpr, lam: sp.Expr, p: MatrixOrder) -> MatrixExpr:
        return prox_node(node, v, lam, p)
    make.__doc__ = {
        "svt": "singular value soft thresholding (of the thin SVD)",
        "spectral": "Moreau: v minus the projection onto the nuclear-norm ball of radius lam",
        "fro": "block soft thresholding: max(0, 1 - lam/||V||_F) V",
        "cols": "column-wise block soft thresholding: max(0, 1 - lam/||v_j||_2) v_j",
    }[node]
    return make


FRO = NORMS.register(NormRule(
    key="fro",
    title="Frobenius norm",
    description="matrix, p = 'fro'",
    matches=_kind("fro"),
    gradient=lambda u, p: sp.MatMul(1 / Norm(u, p), u),
    kinks=_zero_kink,
    numpy_value="mat_fro",
    numpy_gradient="mat_fro_grad",
    dual_order=lambda p: MatrixOrder("fro"),
    prox=_prox("fro"),
    sample_orders=(MatrixOrder("fro"),),
    extras=_extras("lam*norm(X, 'fro')"),
))

NUC = NORMS.register(NormRule(
    key="nuc",
    title="nuclear norm (sum of singular values)",
    description="matrix, p = 'nuc'",
    matches=_kind("nuc"),
    gradient=lambda u, p: SvdUV(u),
    kinks=lambda u, p: [kink(
        "${u} is rank-deficient (rank r < min(m, n))",
        r"\operatorname{rank}(${u}) < \min(m, n)",
        "U_r V_r^T over the nonzero singular values, the minimum-norm subgradient",
        returns_latex=r"$U_r V_r^\top$ over the nonzero singular values, the minimum-norm "
        "subgradient", u=u)],
    numpy_value="mat_nuc",
    numpy_gradient="mat_nuc_grad",
    dual_order=lambda p: MatrixOrder("spectral"),
    prox=_prox("svt"),
    sample_orders=(MatrixOrder("nuc"),),
    extras=_extras("lam*norm(X, 'nuc')"),
))

SPECTRAL = NORMS.register(NormRule(
    key="spectral",
    title="spectral norm (largest singular value)",
    description="matrix, p = 2",
    matches=_kind("spectral"),
    gradient=lambda u, p: SpectralUV(u),
    kinks=lambda u, p: [
        kink("the largest singular value of ${u} is repeated (multiplicity k > 1)",
             r"\sigma_1(${u}) = \sigma_2(${u})", "U_k V_k^T / k, the minimum-norm subgradient",
             returns_latex=r"$U_k V_k^\top / k$, the minimum-norm subgradient", u=u),
        *_zero_kink(u, p)],
    numpy_value="mat_spectral",
    numpy_gradient="mat_spectral_grad",
    dual_order=lambda p: MatrixOrder("nuc"),
    prox=_prox("spectral"),
    sample_orders=(MatrixOrder("spectral"),),
    extras=_extras("lam*norm(X, 2)"),
))


def _induced_kinks(what: str):  # noqa: ANN202
    def kinks(u: MatrixExpr, p: Any) -> list[Kink]:
        return [kink(f"two {what}s of ${{u}} tie for the largest absolute sum, or an "
                     f"entry of the largest {what} is 0",
                     rf"\text{{{what}s tie, or a zero entry in the top {what}}}",
                     f"the tied {what}s weighted for least norm (an even split when they "
                     f"have equally many nonzeros), 0 in zero entries: the minimum-norm "
                     f"subgradient",
                     returns_latex=f"the tied {what}s weighted for least norm (an even split "
                     f"when they have equally many nonzeros), $0$ in zero entries: the "
                     f"minimum-norm subgradient", u=u),
                *_zero_kink(u, p)]
    return kinks


INDUCED1 = NORMS.register(NormRule(
    key="induced1",
    title="induced 1-norm (largest absolute column sum)",
    description="matrix, p = 1",
    matches=_kind("induced1"),
    gradient=lambda u, p: InducedGrad(u, Str("cols")),
    kinks=_induced_kinks("column"),
    numpy_value="induced1",
    numpy_gradient="induced1_grad",
    # the trace-pairing dual of max_j ||x_j||_1 is sum_j ||y_j||_oo (mixed (oo, 1))
    dual_order=lambda p: MatrixOrder("mixed", sp.oo, 1),
    sample_orders=(MatrixOrder("induced1"),),
    extras=_extras("lam*norm(X, 1)"),
))

INDUCEDINF = NORMS.register(NormRule(
    key="inducedinf",
    title="induced ∞-norm (largest absolute row sum)",
    description="matrix, p = oo",
    matches=_kind("inducedinf"),
    gradient=lambda u, p: InducedGrad(u, Str("rows")),
    kinks=_induced_kinks("row"),
    numpy_value="inducedinf",
    numpy_gradient="inducedinf_grad",
    # the dual is sum_i ||row_i||_oo: the mixed (oo, 1) norm of the transpose (matrix_prox)
    dual_order=lambda p: MatrixOrder("mixed", sp.oo, 1),
    sample_orders=(MatrixOrder("inducedinf"),),
    extras=_extras("lam*norm(X, oo)", dual_transposed=True),
))


def _dual_exponent(p: sp.Basic) -> sp.Basic:
    if p == 1:
        return sp.oo
    if p == sp.oo:
        return sp.Integer(1)
    return p / (p - 1)


def _mixed_prox(v: MatrixExpr, lam: sp.Expr, p: MatrixOrder) -> MatrixExpr | None:
    """column-wise block soft thresholding: max(0, 1 - lam/||v_j||_2) v_j (p, q = 2, 1)"""
    return _prox("cols")(v, lam, p) if p.pq == (2, 1) else None


MIXED = NORMS.register(NormRule(
    key="mixed",
    title="mixed Lp,q norm (the Lq norm of the column Lp norms)",
    description="matrix, p = (p, q), e.g. (2, 1) the sum of column 2-norms",
    matches=_kind("mixed"),
    gradient=lambda u, p: MixedGrad(u, p),
    kinks=lambda u, p: [kink("a column of ${u} is 0 (or an entry, when p = 1)",
                             r"\left(${u}\right)_{j} = 0",
                             "the vector rules' minimum-norm choices column by column "
                             "(0 on zero columns)",
                             returns_latex="the vector rules' minimum-norm choices column by "
                             "column ($0$ on zero columns)", u=u), *_zero_kink(u, p)],
    numpy_value="mixed",
    numpy_gradient="mixed_grad",
    dual_order=lambda p: MatrixOrder("mixed", *(_dual_exponent(v) for v in p.pq)),
    prox=_mixed_prox,
    sample_orders=(MatrixOrder("mixed", 2, 1), MatrixOrder("mixed", 3, sp.Rational(3, 2))),
    extras=_extras("lam*norm(X, (2, 1))"),
))
