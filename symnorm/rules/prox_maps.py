"""SymPy nodes for the closed forms of proximal operators, and the per-norm prox maps.

The nodes are matrix expressions with the shape of their vector argument. Each prints as
the expression language (``soft(v, lam)``) and as textbook LaTeX, and says how a kernel
computes it (``kernel_code``, calling the helpers in :mod:`symnorm.numeric`).

The functions ``prox_l1``, ``prox_l2``, ``prox_linf`` are the ``prox=`` entries of the
L1, L2 and L-infinity rules: ``prox(v, lam, p)`` is the closed form of
``argmin_x lam*||x||_p + ||x - v||_2**2/2``. The first line of each docstring names the
rule in derivation steps.
"""

from __future__ import annotations

import sympy as sp
from sympy import MatAdd, MatMul
from sympy.matrices.expressions import MatrixExpr

from ..model.atoms import Norm, VectorMap
from ..model.errors import ShapeError


def _vector_arg(v: object, who: str) -> MatrixExpr:
    if not isinstance(v, MatrixExpr) or v.shape[1] != 1:
        raise ShapeError(f"{who}() takes a column vector expression, got {v!r}")
    return v


def _scalar_arg(s: object, who: str) -> sp.Expr:
    if isinstance(s, MatrixExpr):
        raise ShapeError(f"{who}(): the threshold must be a scalar, got the matrix {s}")
    s = sp.sympify(s)
    if s.is_number and s.is_extended_real and s.is_negative:
        raise ValueError(f"{who}(): the threshold must be >= 0, got {s}")
    return s


def _latex_scalar(printer: object, s: sp.Expr) -> str:
    text = printer._print(s)
    return rf"\left({text}\right)" if isinstance(s, sp.Add) else text


def _latex_arg(printer: object, v: MatrixExpr) -> str:
    return printer._print(v)


class SoftThreshold(VectorMap):
    """``soft(v, lam) = sign(v) ⊙ max(|v| - lam, 0)``, entry by entry (soft thresholding).

    The prox of ``lam*||.||_1``. Entries with ``|v_i| <= lam`` become exactly 0.

    >>> import symnorm as sn
    >>> from symnorm import latex, to_text
    >>> v, lam = sn.vector("v"), sn.scalar("lam", positive=True)
    >>> to_text(SoftThreshold(v, lam))
    'soft(v, lam)'
    >>> latex(SoftThreshold(v, lam))
    '\\\\operatorname{sign}(v) \\\\odot \\\\max(\\\\lvert v \\\\rvert - \\\\lambda, 0)'
    """

    name = "soft"
    helper = "soft_threshold"

    def __new__(cls, v: MatrixExpr, lam: object) -> "SoftThreshold":
        return MatrixExpr.__new__(cls, _vector_arg(v, "soft"), _scalar_arg(lam, "soft"))

    @property
    def v(self) -> MatrixExpr:
        return self.args[0]

    @property
    def lam(self) -> sp.Expr:
        return self.args[1]

    def _entry(self, i: object, j: object, **kwargs: object) -> sp.Expr:
        vi = self.v._entry(i, j, **kwargs)
        return sp.sign(vi) * sp.Max(sp.Abs(vi) - self.lam, 0)

    def _latex(self, printer: object) -> str:
        v = _latex_arg(printer, self.v)
        lam = printer._print(self.lam)
        return (rf"\operatorname{{sign}}({v}) \odot \max(\lvert {v} \rvert - {lam}, 0)")


class ProjectL1Ball(VectorMap):
    """``proj_l1ball(v, r)``: the Euclidean projection of ``v`` onto ``{x : ||x||_1 <= r}``.

    Computed by the sort-based method of Duchi et al. (2008); ``v`` itself when
    ``||v||_1 <= r``, 0 when ``r = 0``.

    >>> import symnorm as sn
    >>> from symnorm import latex, to_text
    >>> v, lam = sn.vector("v"), sn.scalar("lam", positive=True)
    >>> to_text(ProjectL1Ball(v, lam))
    'proj_l1ball(v, lam)'
    >>> latex(ProjectL1Ball(v, lam))
    '\\\\Pi_{\\\\lambda B_1}(v)'
    """

    name = "proj_l1ball"
    helper = "project_l1_ball"

    def __new__(cls, v: MatrixExpr, radius: object) -> "ProjectL1Ball":
        return MatrixExpr.__new__(cls, _vector_arg(v, "proj_l1ball"),
                                  _scalar_arg(radius, "proj_l1ball"))

    @property
    def v(self) -> MatrixExpr:
        return self.args[0]

    @property
    def radius(self) -> sp.Expr:
        return self.args[1]

    def _latex(self, printer: object) -> str:
        r = "" if self.radius == 1 else _latex_scalar(printer, self.radius) + " "
        return rf"\Pi_{{{r}B_1}}({_latex_arg(printer, self.v)})"


class GroupShrink(VectorMap):
    """``group_shrink(v, lam, G)``: ``max(1 - lam/||v_g||_2, 0) v_g`` on each block ``g``.

    Block soft thresholding, the prox of ``lam`` times the group-lasso norm; the blocks
    are the entries sharing a label in ``G`` (an integer label array given to kernels).
    A block with ``||v_g||_2 <= lam`` (in particular a zero block) becomes exactly 0.
    """

    name = "group_shrink"
    helper = "group_shrink"

    def __new__(cls, v: MatrixExpr, lam: object, labels: sp.Symbol) -> "GroupShrink":
        if not isinstance(labels, sp.Symbol):
            raise TypeError(f"group_shrink(): labels must be a group-label symbol, got "
                            f"{labels!r}")
        return MatrixExpr.__new__(cls, _vector_arg(v, "group_shrink"),
                                  _scalar_arg(lam, "group_shrink"), labels)

    @property
    def v(self) -> MatrixExpr:
        return self.args[0]

    @property
    def lam(self) -> sp.Expr:
        return self.args[1]

    @property
    def labels(self) -> sp.Symbol:
        return self.args[2]

    def _latex(self, printer: object) -> str:
        v = _latex_arg(printer, self.v)
        vg = f"{v}_{{g}}" if isinstance(self.v, sp.MatrixSymbol) else rf"\left({v}\right)_{{g}}"
        lam = printer._print(self.lam)
        return (rf"\left( \max\left(1 - \frac{{{lam}}}{{\lVert {vg} \rVert_2}}, 0\right) "
                rf"{vg} \right)_{{g \in {printer._print(self.labels)}}}")


# -- the prox= entries of the vector-norm rules -------------------------------------------

def prox_l1(v: MatrixExpr, lam: sp.Expr, p: sp.Basic) -> MatrixExpr:
    """soft thresholding: sign(v) .* max(|v| - lam, 0)

    >>> import symnorm as sn
    >>> print(sn.to_text(prox_l1(sn.vector("v"), sn.scalar("lam", positive=True), 1)))
    soft(v, lam)
    """
    return SoftThreshold(v, lam)


def prox_l2(v: MatrixExpr, lam: sp.Expr, p: sp.Basic) -> MatrixExpr:
    """block soft thresholding: max(1 - lam/||v||_2, 0) v (0 at v = 0)

    >>> import symnorm as sn
    >>> print(sn.to_text(prox_l2(sn.vector("v"), sn.scalar("lam", positive=True), 2)))
    max(0, 1 - lam/norm(v, 2))*v
    """
    return MatMul(sp.Max(1 - _scalar_arg(lam, "prox_l2") / Norm(v, 2), 0), v)


def prox_linf(v: MatrixExpr, lam: sp.Expr, p: sp.Basic) -> MatrixExpr:
    """Moreau decomposition: v minus its projection onto the dual (L1) ball of radius lam

    >>> import symnorm as sn
    >>> print(sn.to_text(prox_linf(sn.vector("v"), sn.scalar("lam", positive=True), sp.oo)))
    v - proj_l1ball(v, lam)
    """
    return MatAdd(v, MatMul(-1, ProjectL1Ball(v, lam)))
