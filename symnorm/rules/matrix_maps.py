r"""The node types of matrix norms: the order of a matrix norm, and the maps of a matrix
that its gradients and proximal operators are (``U V^T``, ``u_1 v_1^T``, singular value
thresholding, ...). Each map is computed by one numpy helper (``helper``) of
:mod:`symnorm.numeric.matrices` and prints its LaTeX through SymPy's ``_latex`` protocol
(the printer's ``_print`` of its arguments; no printer is imported here).
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.core.symbol import Str
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol

from ..model.atoms import order
from ..model.errors import ShapeError, UnknownNormError, UnsupportedExpressionError

__all__ = ["ColumnShrink", "FrobeniusShrink", "InducedGrad", "MatrixOrder", "MixedGrad",
           "ProjectNuclearBall", "SingularValueThreshold", "SpectralUV", "SvdUV", "prox_node"]

_KINDS = ("fro", "nuc", "spectral", "induced1", "inducedinf", "mixed")
_TEXT = {"fro": "fro", "nuc": "nuc", "spectral": "2", "induced1": "1", "inducedinf": "oo"}
_SUB = {"fro": "F", "nuc": "*", "spectral": "2", "induced1": "1", "inducedinf": r"\infty"}


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


# -- prox maps ------------------------------------------------------------------------------------

class _ProxMap(_MatrixMap):
    def __new__(cls, v: MatrixExpr, lam: object) -> "_ProxMap":
        lam = sp.sympify(lam)
        if isinstance(lam, MatrixExpr):
            raise ShapeError(f"{cls.name}(): the threshold must be a scalar, got {lam}")
        return MatrixExpr.__new__(cls, v, lam)

    @property
    def lam(self) -> sp.Expr:
        return self.args[1]

    def _lam_latex(self, printer: Any) -> str:
        t = printer._print(self.lam)
        return rf"\left({t}\right)" if isinstance(self.lam, sp.Add) else t

    def _v_latex(self, printer: Any) -> str:
        t = printer._print(self.arg)
        return t if isinstance(self.arg, MatrixSymbol) else rf"\left({t}\right)"


class SingularValueThreshold(_ProxMap):
    r"""``U max(Σ - λ, 0) V^T`` for the thin SVD ``U Σ V^T`` of the argument.

    >>> import symnorm as sn
    >>> print(sn.latex(SingularValueThreshold(sn.matrix("Z"), sn.scalar("lam"))))
    U \max(\Sigma - \lambda, 0) V^{\top} \text{ where } U \Sigma V^{\top} = Z
    """

    name = "svt"
    helper = "mat_svt"

    def _latex(self, printer: Any) -> str:
        arg = printer._print(self.arg)
        u, v = ("P", "Q") if arg in ("U", "V") else ("U", "V")  # the factors' names are free
        return (rf"{u} \max(\Sigma - {self._lam_latex(printer)}, 0) {v}^{{\top}} "
                rf"\text{{ where }} {u} \Sigma {v}^{{\top}} = {arg}")


class ProjectNuclearBall(_ProxMap):
    r"""Projection onto ``{‖X‖_* <= λ}``: the singular values projected onto the L1 ball.

    >>> import symnorm as sn
    >>> print(sn.latex(ProjectNuclearBall(sn.matrix("Z"), 2)))
    \Pi_{\lVert \cdot \rVert_* \le 2}\left(Z\right)
    """

    name = "proj_nucball"
    helper = "mat_proj_nuc_ball"

    def _latex(self, printer: Any) -> str:
        return (rf"\Pi_{{\lVert \cdot \rVert_* \le {printer._print(self.lam)}}}"
                rf"\left({printer._print(self.arg)}\right)")


class FrobeniusShrink(_ProxMap):
    r"""``max(0, 1 - λ/‖V‖_F) V``.

    >>> import symnorm as sn
    >>> print(sn.latex(FrobeniusShrink(sn.matrix("Z"), 1)))
    \max\left(0, 1 - \frac{1}{\lVert Z \rVert_F}\right) Z
    """

    name = "fro_shrink"
    helper = "mat_fro_shrink"

    def _latex(self, printer: Any) -> str:
        return (rf"\max\left(0, 1 - \frac{{{printer._print(self.lam)}}}{{\lVert "
                rf"{printer._print(self.arg)} \rVert_F}}\right) {self._v_latex(printer)}")


class ColumnShrink(_ProxMap):
    r"""``max(0, 1 - λ/‖v_j‖_2) v_j`` on each column ``v_j``.

    >>> import symnorm as sn
    >>> print(sn.latex(ColumnShrink(sn.matrix("Z"), 1)))
    \left( \max\left(0, 1 - \frac{1}{\lVert Z_{j} \rVert_2}\right) Z_{j} \right)_{j}
    """

    name = "col_shrink"
    helper = "mat_col_shrink"

    def _latex(self, printer: Any) -> str:
        col = f"{printer._print(self.arg)}_{{j}}" if isinstance(self.arg, MatrixSymbol) \
            else rf"\left({printer._print(self.arg)}\right)_{{j}}"
        return (rf"\left( \max\left(0, 1 - \frac{{{printer._print(self.lam)}}}{{\lVert {col} "
                rf"\rVert_2}}\right) {col} \right)_{{j}}")


def prox_node(kind: str, v: MatrixExpr, lam: sp.Expr, p: MatrixOrder) -> MatrixExpr:
    """The closed form of ``prox_{lam*‖·‖}(v)`` for the matrix norm ``p`` (rule entries).

    >>> import symnorm as sn
    >>> print(sn.to_text(prox_node("spectral", sn.matrix("Z"), 2, MatrixOrder("spectral"))))
    Z - proj_nucball(Z, 2)
    """
    if kind == "svt":
        return SingularValueThreshold(v, lam)
    if kind == "spectral":
        return sp.MatAdd(v, sp.MatMul(-1, ProjectNuclearBall(v, lam)))
    if kind == "fro":
        return FrobeniusShrink(v, lam)
    if kind == "cols":
        return ColumnShrink(v, lam)
    raise UnsupportedExpressionError(f"no matrix prox named {kind!r}")
