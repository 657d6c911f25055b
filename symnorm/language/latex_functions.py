r"""What the LaTeX reader makes of the notations for functions of a whole vector or matrix.

The function names themselves (``\operatorname{softmax}``, ``\det``, ``\operatorname{tr}``,
...) are words of the lexer; this module reads the notations that are more than a name:

* ``M^{-1}`` and ``M^{-\top}`` (``M^{-T}``, ``M^{-\mathsf{T}}``, Unicode ``M⁻¹``, ``M⁻ᵀ``):
  the inverse of a square matrix, and its transpose. ``x^{-1}`` of a vector is refused.
* ``\operatorname{LayerNorm}(x, \epsilon)``, ``\operatorname{LayerNorm}(x; \epsilon =
  10^{-3})``: a second argument (the printer writes the second form).
* ``\log\det M`` and ``\log\det(M)``: ``logdet(M)``.
* ``\sum_i x_i``, ``\sum_{i=1}^{n} x_i`` (over every entry of a vector ``x``): ``sum(x)``;
  ``\sum_i e^{x_i}``: ``sum(exp(x))``; ``\mathbf{1}^\top u``, ``u^\top \mathbf{1}``:
  ``sum(u)``, and ``\mathbf{1}^\top X \mathbf{1}``: ``sum(X)``. A sum over part of the
  entries, or of any other term, stays an index sum.
* ``\log`` of a sum of exponentials (``\log\sum_i e^{x_i}``,
  ``\log \mathbf{1}^\top e^{x}``): ``logsumexp(x)``.
* ``\log|M|`` of a matrix is refused with a hint: ``|M|`` is the elementwise absolute
  value in this reader, and some authors write ``\log|\Sigma|`` for ``\log\det\Sigma``
  and others for ``\log|\det\Sigma|``, which differ where ``\det\Sigma < 0``.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy import MatMul
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol
from sympy.matrices.expressions.matexpr import MatrixElement

from ..model.atoms import Exp, ScalarOf
from ..model.errors import ShapeError
from ..model.functions import SumOf
from ..rules import matrix_functions, vector_functions
from .expression import _Reader
from .names import _Shape
from .syntax import Tree

__all__ = ["FunctionReader", "index_sum", "log_of_sum", "ones_sum"]


def _is_minus_one(node: Any) -> bool:
    """``-1`` as an exponent: ``M^{-1}``, ``M^-1``, ``M^{- 1}``."""
    if not isinstance(node, Tree) or node.data != "neg":
        return False
    inner = node.children[0]
    return isinstance(inner, Tree) and inner.data == "number" and str(inner.children[0]) == "1"


class FunctionReader(_Reader):
    """The expression language's reader, plus the inverse ``M^{-1}``, ``M^{-\\top}``, a named
    second argument (``\\epsilon = ...``) and the sums and logarithms that are functions of
    a whole vector (see the module docstring)."""

    def __init__(self, text: str, shapes: dict[str, object]) -> None:
        super().__init__(text, shapes)
        self.inverses: set[int] = set()   # ids of 'pow' nodes that are M^{-1}

    # ---- pass 1
    def square(self, node: Tree, base: Tree, shape: _Shape, written: str) -> None:
        """``base`` (in ``written``: ``M^{-1}`` or ``M^{-T}``) must be a square matrix."""
        if shape is None or self.is_1x1(shape):
            return
        if self.dims.is_one(shape[1]) or self.dims.is_one(shape[0]) or \
                not self.dims.unify([(shape[0], shape[1])]):
            hint = ""
            if self.dims.is_one(shape[1]) and written == "M^{-1}":
                hint = (f"; for the elementwise reciprocal write "
                        f"{self.operand(base)}^{{\\circ -1}}")
            what = "inverse" if written == "M^{-1}" else "transposed inverse"
            raise ShapeError(f"'{self.src(node)}' reads as {written}, the {what} of a square "
                             f"matrix, but '{self.src(base)}' is {self.describe(shape)}{hint}")

    def binary_shape(self, node: Tree, ls: _Shape, rs: _Shape) -> _Shape:
        if node.data == "pow" and ls is not None and not self.is_1x1(ls) \
                and _is_minus_one(node.children[1]):
            self.square(node, node.children[0], ls, "M^{-1}")
            self.inverses.add(id(node))
            return ls
        return super().binary_shape(node, ls, rs)

    def shape_of(self, node: Tree) -> _Shape:
        kind = node.data
        if kind == "inverse_t":  # M^{-\top}
            base = node.children[0]
            shape = self.shape_of(base)
            if shape is None or self.is_1x1(shape):
                raise ShapeError(f"'{self.src(node)}' is M^{{-T}}, the transposed inverse of a "
                                 f"square matrix, but '{self.src(base)}' is "
                                 f"{self.describe(shape)}")
            self.square(node, base, shape, "M^{-T}")
            return shape
        if kind == "named":  # LayerNorm(x; \epsilon = 10^{-3})
            name, value = node.children
            if str(name) != "eps":
                raise self.error(node, f"unknown argument name '{self.src(name)}'",
                                 "; a named argument is \\epsilon, as in "
                                 "\\operatorname{LayerNorm}(x; \\epsilon = 10^{-5})")
            return self.shape_of(value)
        return super().shape_of(node)

    def call_shape(self, node: Tree) -> _Shape:
        try:
            return super().call_shape(node)
        except ShapeError:
            token, *args = node.children
            inner = args[0] if args else None
            if str(token) == "log" and isinstance(inner, Tree) and inner.data == "call" \
                    and str(inner.children[0]) == "abs":
                shape = self.shape_of(inner.children[1])
                if shape is not None and not self.dims.is_one(shape[1]):
                    raise self.error(inner, f"'{self.src(node)}' is not read: |.| of a matrix "
                                            "is its elementwise absolute value here",
                                     "; for the log-determinant write \\log\\det "
                                     f"{self.operand(inner.children[1])} (or \\log|\\det "
                                     f"{self.operand(inner.children[1])}| for log |det|)"
                                     ) from None
            raise

    # ---- pass 2
    def binary(self, node: Tree, left: sp.Basic, right: sp.Basic) -> sp.Basic:
        if id(node) in self.inverses:
            return matrix_functions.inv(left)
        return super().binary(node, left, right)

    def build(self, node: Tree) -> sp.Basic:
        if node.data == "inverse_t":
            return self.finish(node, matrix_functions.inv(self.build(node.children[0])).T)
        if node.data == "named":
            return self.build(node.children[1])
        return super().build(node)

    def call(self, node: Tree) -> sp.Basic:
        value = super().call(node)
        return log_of_sum(value) if str(node.children[0]) == "log" else value

    def finish(self, node: Tree, value: sp.Basic) -> sp.Basic:
        value = super().finish(node, value)
        return ones_sum(value) if isinstance(value, ScalarOf) else value

    def read(self, tree: Tree) -> sp.Basic:
        value = super().read(tree)
        return ones_sum(value) if isinstance(value, ScalarOf) else value


# --------------------------------------------------------------------------- rewrites

def _whole_vector(term: sp.Basic, index: sp.Symbol, lower: Any, upper: Any
                  ) -> MatrixSymbol | None:
    """The vector ``x`` when ``term`` is ``x_i`` and ``i`` runs over all its entries."""
    if not isinstance(term, MatrixElement) or lower != 1:
        return None
    parent = term.parent
    if not isinstance(parent, MatrixSymbol) or parent.shape[1] != 1:
        return None
    if term.j != 0 or term.i != index - 1 or sp.simplify(upper - parent.shape[0]) != 0:
        return None
    return parent


def index_sum(total: sp.Sum) -> sp.Basic:
    r"""``\sum_i x_i`` over every entry of ``x`` as ``sum(x)``, ``\sum_i e^{x_i}`` as
    ``sum(exp(x))``; any other sum as it is.

    >>> import symnorm as sn
    >>> x, i = sn.vector("x"), sp.Symbol("i", integer=True)
    >>> index_sum(sp.Sum(x[i - 1, 0], (i, 1, x.shape[0])))
    sum(x)
    >>> index_sum(sp.Sum(sp.exp(x[i - 1, 0]), (i, 1, x.shape[0])))
    sum(exp(x))
    >>> index_sum(sp.Sum(x[i - 1, 0], (i, 2, x.shape[0])))
    Sum(x[i - 1, 0], (i, 2, n))
    """
    if not isinstance(total, sp.Sum) or len(total.limits) != 1:
        return total
    index, lower, upper = total.limits[0]
    body = total.function
    exponential = isinstance(body, sp.exp)
    vector = _whole_vector(body.args[0] if exponential else body, index, lower, upper)
    if vector is None:
        return total
    return SumOf(Exp(vector) if exponential else vector)


def ones_sum(value: sp.Basic) -> sp.Basic:
    r"""``\mathbf{1}^\top u`` and ``u^\top \mathbf{1}`` (a 1x1 product, ``ScalarOf``) as
    ``sum(u)``, ``\mathbf{1}^\top X \mathbf{1}`` as ``sum(X)``, with its coefficient.

    >>> import symnorm as sn
    >>> x, A = sn.vector("x"), sn.matrix("A")
    >>> ones_sum(ScalarOf(sp.OneMatrix(1, x.shape[0]) * A * x))
    sum(A*x)
    """
    if not isinstance(value, ScalarOf):
        return value
    product = value.args[0]
    if not isinstance(product, MatMul):
        return value
    coeff, mats = product.as_coeff_matrices()
    if len(mats) < 2:
        return value
    first, last = mats[0], mats[-1]
    lead = isinstance(first, sp.OneMatrix) and first.shape[0] == 1
    trail = isinstance(last, sp.OneMatrix) and last.shape[1] == 1
    if lead and trail and len(mats) >= 3:
        inner = mats[1:-1]
        return coeff * SumOf(inner[0] if len(inner) == 1 else MatMul(*inner))
    if lead:
        rest = mats[1:]
        return coeff * SumOf(rest[0] if len(rest) == 1 else MatMul(*rest))
    if trail:
        rest = mats[:-1]
        row = rest[0] if len(rest) == 1 else MatMul(*rest)
        return coeff * SumOf(sp.transpose(row).doit(deep=False))
    return value


def log_of_sum(value: sp.Basic) -> sp.Basic:
    r"""``\log`` of ``sum(exp(u))`` as ``logsumexp(u)`` (``u`` a column vector): the same
    function, computed without overflow.

    >>> import symnorm as sn
    >>> x = sn.vector("x")
    >>> log_of_sum(sp.log(SumOf(Exp(x))))
    logsumexp(x)
    """
    if not isinstance(value, sp.log):
        return value
    inner = value.args[0]
    if isinstance(inner, SumOf) and isinstance(inner.arg, Exp):
        u = inner.arg.args[0]
        if isinstance(u, MatrixExpr) and u.shape[1] == 1 and u.shape[0] != 1:
            return vector_functions.logsumexp(u)
    return value
