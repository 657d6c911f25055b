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
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol

from ..model.atoms import Norm, order
from ..model.errors import ShapeError, UnknownNormError
from .registry import NORMS, Kink, NormRule

__all__ = ["FRO", "INDUCED1", "INDUCEDINF", "MIXED", "NUC", "SPECTRAL", "InducedGrad",
           "MatrixOrder", "MixedGrad", "SpectralUV", "SvdUV", "matrix_norm", "matrix_order",
           "trace"]

_KINDS = ("fro", "nuc", "spectral", "induced1", "inducedinf", "mixed")
_TEXT = {"fro": "fro", "nuc": "nuc", "spectral": "2", "induced1": "1", "inducedinf": "oo"}
_SUB = {"fro": "F", "nuc": "*", "spectral": "2", "induced1": "1", "inducedinf": r"\infty"}


class MatrixOrder(sp.Basic):
    r"""The order of a matrix norm: ``fro``, ``nuc``, ``spectral`` (2), ``induced1`` (1),
    ``inducedinf`` (oo) or ``mixed`` with orders ``(p, q)``.

    A plain ``Basic`` (not a number), so the vector rules never claim it; kernels get the
    kind (or the pair ``(p, q)``) in its place.

    >>> MatrixOrder("nuc"), MatrixOrder("mixed", 2, 1)
    (nuc, (2, 1))
    """

    def __new__(cls, kind: str, p: object = None, q: object = None) -> "MatrixOrder":
        kind = str(kind)  # SymPy rebuilds nodes from their args, where the kind is a Str
        if kind not in _KINDS:
            raise UnknownNormError(f"unknown matrix norm kind {kind!r}; known: "
                                   f"{', '.join(_KINDS)}")
        if kind == "mixed":
            return sp.Basic.__new__(cls, Str(kind), _mixed_order(p), _mixed_order(q))
        return sp.Basic.__new__(cls, Str(kind))

    @property
    def kind(self) -> str:
        return str(self.args[0])

    @property
    def pq(self) -> tuple[sp.Basic, sp.Basic]:
        return self.args[1], self.args[2]

    def numeric(self, values: dict) -> Any:
        """What kernels receive: the kind, or ``(p, q)`` as floats for a mixed norm."""
        if self.kind == "mixed":
            return tuple(float("inf") if v == sp.oo else float(v) for v in self.pq)
        return self.kind

    def kernel_code(self, parts: list[str]) -> str:
        if self.kind == "mixed":
            return f"({parts[1]}, {parts[2]})"
        return repr(self.kind)

    def _sympystr(self, printer: Any) -> str:
        if self.kind == "mixed":
            return f"({printer._print(self.pq[0])}, {printer._print(self.pq[1])})"
        return _TEXT[self.kind]

    def _latex(self, printer: Any) -> str:
        if self.kind == "mixed":
            return ",".join(r"\infty" if v == sp.oo else printer._print(v) for v in self.pq)
        return _SUB[self.kind]


def _mixed_order(v: object) -> sp.Basic:
    try:
        o = order(v)
    except (sp.SympifyError, TypeError, ValueError):
        raise UnknownNormError(f"mixed norm orders must be numbers >= 1 or oo, got {v!r}") \
            from None
    if o != sp.oo and not (isinstance(o, sp.Rational) and o >= 1):
        raise UnknownNormError(f"mixed norm orders must be numbers >= 1 or oo, got {v!r} "
                               "(below 1 the triangle inequality fails)")
    return o


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

    >>> import symnorm as sn
    >>> A, X = sn.matrix("A", "n", "n"), sn.matrix("X", "n", "n")
    >>> print(sn.to_text(sn.grad(trace(A*X), X).result))
    A.T
    >>> print(sn.latex(trace(A*X)))
    \operatorname{tr}\left(A X \right)
    """
    if not isinstance(expr, MatrixExpr):
        raise ShapeError(f"trace() takes a square matrix expression, got {expr!r}")
    rows, cols = expr.shape
    if rows != cols:
        raise ShapeError(f"trace() needs a square matrix; {expr} is {rows}x{cols}")
    return sp.Trace(expr)


# -- gradient nodes ------------------------------------------------------------------------------

class _MatrixMap(MatrixExpr):
    """A map of a matrix (its first argument) computed by one numpy helper; same shape."""

    name = "matrix_map"
    helper = ""
    is_commutative = False
    kernel_accepts_out = True
    prints_atomic = True  # f(X).T, not (f(X)).T

    def __new__(cls, u: MatrixExpr, *params: Any) -> "_MatrixMap":
        if not isinstance(u, MatrixExpr):
            raise ShapeError(f"{cls.name}() takes a matrix expression, got {u!r}")
        return MatrixExpr.__new__(cls, u, *params)

    @property
    def arg(self) -> MatrixExpr:
        return self.args[0]

    @property
    def shape(self) -> tuple:
        return self.args[0].shape

    def kernel_code(self, parts: list[str]) -> str:
        return f"_nm.{self.helper}({', '.join(parts)})"

    def _entry(self, i: object, j: object, **kwargs: object) -> sp.Expr:
        from ..model.errors import UnsupportedExpressionError

        raise UnsupportedExpressionError(
            f"{self.name}({self.arg}) has no explicit components in closed form")

    def _sympystr(self, printer: Any) -> str:
        return f"{self.name}({', '.join(printer._print(a) for a in self.args)})"

    def _of(self, printer: Any, body: str) -> str:
        """``body`` alone for a symbol, else marked with the matrix it belongs to."""
        if isinstance(self.arg, MatrixSymbol):
            return body
        return rf"\left[{body}\right]_{{{printer._print(self.arg)}}}"


class SvdUV(_MatrixMap):
    r"""``U V^T`` from the thin SVD ``X = U Σ V^T``, over the nonzero singular values:
    the gradient of the nuclear norm (the minimum-norm subgradient when rank-deficient).

    >>> import symnorm as sn
    >>> print(sn.latex(SvdUV(sn.matrix("A") * sn.matrix("X", "n", "n"))))
    \left[U V^{\top}\right]_{A X}
    """

    name = "svd_uv"
    helper = "mat_nuc_grad"

    def _latex(self, printer: Any) -> str:
        return self._of(printer, r"U V^{\top}")


class SpectralUV(_MatrixMap):
    r"""``u_1 v_1^T`` for the top singular pair: the gradient of the spectral norm;
    ``U_k V_k^T / k`` when the top singular value has multiplicity k.

    >>> import symnorm as sn
    >>> print(sn.latex(SpectralUV(sn.matrix("X"))))
    u_{1} v_{1}^{\top}
    """

    name = "svd_top_uv"
    helper = "mat_spectral_grad"

    def _latex(self, printer: Any) -> str:
        return self._of(printer, r"u_{1} v_{1}^{\top}")


class InducedGrad(_MatrixMap):
    r"""``sign(X) ⊙ 1 e_k^T`` with k the column of largest absolute sum (``rows=False``)
    or ``e_k 1^T ⊙ sign(X)`` with k the row of largest absolute sum (rows).

    >>> import symnorm as sn
    >>> print(sn.latex(InducedGrad(sn.matrix("X"), Str("cols"))))
    \operatorname{sign}(X) \odot \mathbf{1} e_{k}^{\top}
    """

    name = "induced_grad"

    @property
    def helper(self) -> str:  # type: ignore[override]
        return "induced1_grad" if str(self.args[1]) == "cols" else "inducedinf_grad"

    def kernel_code(self, parts: list[str]) -> str:
        return f"_nm.{self.helper}({parts[0]})"

    def _sympystr(self, printer: Any) -> str:
        which = "cols" if str(self.args[1]) == "cols" else "rows"
        return f"induced_grad_{which}({printer._print(self.arg)})"

    def _latex(self, printer: Any) -> str:
        x = printer._print(self.arg)
        x = x if isinstance(self.arg, MatrixSymbol) else rf"\left({x}\right)"
        if str(self.args[1]) == "cols":
            return rf"\operatorname{{sign}}({x}) \odot \mathbf{{1}} e_{{k}}^{{\top}}"
        return rf"\operatorname{{sign}}({x}) \odot e_{{k}} \mathbf{{1}}^{{\top}}"


class MixedGrad(_MatrixMap):
    r"""The gradient of ``‖X‖_{p,q}``, column by column:
    ``‖x_j‖_p^{q-p} sign(x_j) ⊙ |x_j|^{p-1} / ‖X‖_{p,q}^{q-1}``.

    >>> import symnorm as sn
    >>> print(sn.latex(MixedGrad(sn.matrix("X"), MatrixOrder("mixed", 2, 1))))
    \left( \frac{X_{j}}{\lVert X_{j} \rVert_2} \right)_{j}
    """

    name = "mixed_grad"
    helper = "mixed_grad"

    def kernel_code(self, parts: list[str]) -> str:
        return f"_nm.mixed_grad({parts[0]}, {parts[1]})"

    def _sympystr(self, printer: Any) -> str:
        return f"mixed_grad({printer._print(self.arg)}, {printer._print(self.args[1])})"

    def _latex(self, printer: Any) -> str:
        x = printer._print(self.arg)
        col = f"{x}_{{j}}" if isinstance(self.arg, MatrixSymbol) else \
            rf"\left({x}\right)_{{j}}"
        p, q = self.args[1].pq
        if (p, q) == (2, 1):
            return rf"\left( \frac{{{col}}}{{\lVert {col} \rVert_2}} \right)_{{j}}"
        pt = r"\infty" if p == sp.oo else printer._print(p)
        qt = r"\infty" if q == sp.oo else printer._print(q)
        return (rf"\left( \frac{{\lVert {col} \rVert_{{{pt}}}^{{{qt} - {pt}}}\, "
                rf"\operatorname{{sign}}({col}) \odot \lvert {col} \rvert^{{{pt} - 1}}}}"
                rf"{{\lVert {x} \rVert_{{{pt},{qt}}}^{{{qt} - 1}}}} \right)_{{j}}")


# -- rules ----------------------------------------------------------------------------------------

def _text(u: MatrixExpr) -> str:
    from ..model.text import to_text

    return to_text(u)


def _latex(u: MatrixExpr) -> str:
    from ..presentation.latex import latex

    return latex(u)


def _zero_kink(u: MatrixExpr, p: Any) -> list[Kink]:
    return [Kink(f"{_text(u)} = 0", f"{_latex(u)} = 0", "0, the minimum-norm subgradient",
                 at_zero=True)]


def _norm_latex(u: str, p: MatrixOrder) -> str:
    return rf"\left\lVert {u} \right\rVert_{{{p._latex(_PlainPrinter())}}}"


class _PlainPrinter:
    def _print(self, v: Any) -> str:
        from ..presentation.latex import latex

        return latex(v)


def _kind(kind: str):  # noqa: ANN202
    return lambda p: isinstance(p, MatrixOrder) and p.kind == kind


def _extras(form: str, **more: Any) -> dict:
    return {"latex": _norm_latex, "matrix": True, "explicit": False, "prox_form": form,
            **more}


def _prox(node: str):  # noqa: ANN202
    def make(v: MatrixExpr, lam: sp.Expr, p: MatrixOrder) -> MatrixExpr:
        from ..calculus.prox.matrix import prox_node

        return prox_node(node, v, lam, p)
    make.__doc__ = {
        "svt": "singular value soft thresholding: U max(S - lam, 0) V^T",
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
    kinks=lambda u, p: [Kink(
        f"{_text(u)} is rank-deficient (rank r < min(m, n))",
        rf"\operatorname{{rank}}({_latex(u)}) < \min(m, n)",
        "U_r V_r^T over the nonzero singular values, the minimum-norm subgradient",
        at_zero=False)],
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
        Kink(f"the largest singular value of {_text(u)} is repeated (multiplicity k > 1)",
             rf"\sigma_1({_latex(u)}) = \sigma_2({_latex(u)})",
             "U_k V_k^T / k, the minimum-norm subgradient"),
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
        return [Kink(f"two {what}s of {_text(u)} tie for the largest absolute sum, or an "
                     f"entry of the largest {what} is 0",
                     rf"\text{{{what}s tie, or a zero entry in the top {what}}}",
                     f"the tied {what}s weighted for least norm (an even split when they "
                     f"have equally many nonzeros), 0 in zero entries: the minimum-norm "
                     f"subgradient"),
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
    title="induced oo-norm (largest absolute row sum)",
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
    title="mixed L_{p,q} norm (the Lq norm of the column Lp norms)",
    description="matrix, p = (p, q), e.g. (2, 1) the sum of column 2-norms",
    matches=_kind("mixed"),
    gradient=lambda u, p: MixedGrad(u, p),
    kinks=lambda u, p: [Kink(f"a column of {_text(u)} is 0 (or an entry, when p = 1)",
                             rf"\left({_latex(u)}\right)_{{j}} = 0",
                             "the vector rules' minimum-norm choices column by column "
                             "(0 on zero columns)"), *_zero_kink(u, p)],
    numpy_value="mixed",
    numpy_gradient="mixed_grad",
    dual_order=lambda p: MatrixOrder("mixed", *(_dual_exponent(v) for v in p.pq)),
    prox=_mixed_prox,
    sample_orders=(MatrixOrder("mixed", 2, 1), MatrixOrder("mixed", 3, sp.Rational(3, 2))),
    extras=_extras("lam*norm(X, (2, 1))"),
))
