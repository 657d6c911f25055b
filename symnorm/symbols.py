"""Real symbols: scalars, vectors and matrices, with symbolic or explicit dimensions.

All symbols are real (``real=True``): SymPy differentiates ``Abs`` of an unassumed
symbol into ``re``/``im`` terms nobody can use. Vectors are column ``MatrixSymbol``s of
shape ``(n, 1)``; with ``n=None`` the dimension is the symbol ``n`` shared by every
vector that does not say otherwise, so ``x - a`` just works.
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol

from .errors import ShapeError

DimLike = "int | str | sp.Symbol | None"


def dim(name: str) -> sp.Symbol:
    """The dimension symbol called ``name`` (a positive integer).

    >>> dim("n")
    n
    >>> dim("n").is_integer and dim("n").is_positive
    True
    """
    return sp.Symbol(name, integer=True, positive=True)


def _as_dim(value: object, default: str) -> sp.Expr:
    if value is None:
        return dim(default)
    if isinstance(value, str):
        if not value.isidentifier():
            raise ShapeError(f"dimension name {value!r} is not an identifier")
        return dim(value)
    if isinstance(value, bool):
        raise ShapeError(f"dimension must be a positive integer or a name, got {value!r}")
    if isinstance(value, int):
        if value < 1:
            raise ShapeError(f"dimension must be a positive integer, got {value}")
        return sp.Integer(value)
    if isinstance(value, sp.Basic) and isinstance(value, sp.Expr):
        if value.is_Integer and value > 0:
            return value
        if value.is_Symbol:
            if not (value.is_integer and value.is_positive):
                return dim(value.name)
            return value
    raise ShapeError(f"dimension must be a positive integer or a name, got {value!r}")


def scalar(name: str, *, positive: bool = False, nonnegative: bool = False) -> sp.Symbol:
    """A real scalar symbol.

    >>> lam = scalar("lam", positive=True)
    >>> lam.is_real, lam.is_positive
    (True, True)
    """
    _check_name(name)
    kwargs: dict[str, bool] = {"real": True}
    if positive:
        kwargs["positive"] = True
    elif nonnegative:
        kwargs["nonnegative"] = True
    return sp.Symbol(name, **kwargs)


def vector(name: str, n: object = None) -> MatrixSymbol:
    """A real column vector of dimension ``n`` (symbolic ``n`` when ``None``).

    >>> x = vector("x")
    >>> x.shape
    (n, 1)
    >>> vector("b", "m").shape
    (m, 1)
    >>> vector("y", 3).shape
    (3, 1)
    """
    _check_name(name)
    return MatrixSymbol(name, _as_dim(n, "n"), 1)


def matrix(name: str, m: object = None, n: object = None) -> MatrixSymbol:
    """A real matrix of shape ``(m, n)`` (symbols ``m`` and ``n`` by default).

    >>> matrix("A").shape
    (m, n)
    >>> matrix("M", "n", "n").shape
    (n, n)
    """
    _check_name(name)
    return MatrixSymbol(name, _as_dim(m, "m"), _as_dim(n, "n"))


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"symbol name must be an identifier, got {name!r}")


def is_matrix_expr(e: object) -> bool:
    return isinstance(e, MatrixExpr)


def is_vector(e: object) -> bool:
    """True for a column vector expression (shape ``(k, 1)``, ``k`` not 1)."""
    return isinstance(e, MatrixExpr) and e.shape[1] == 1 and e.shape[0] != 1


def is_row(e: object) -> bool:
    return isinstance(e, MatrixExpr) and e.shape[0] == 1 and e.shape[1] != 1


def is_one_by_one(e: object) -> bool:
    return isinstance(e, MatrixExpr) and e.shape == (1, 1)


def shape_text(e: object) -> str:
    """A short description of an expression's shape for error messages."""
    if isinstance(e, MatrixExpr):
        r, c = e.shape
        return f"{r}x{c} matrix"
    return "scalar"


def check_shapes(expr: object) -> None:
    """Raise :class:`ShapeError` naming the first subexpression whose shapes do not fit.

    SymPy does not validate symbolic shapes (``x - b`` with ``x`` of size ``n`` and
    ``b`` of size ``m`` is accepted), so symnorm does it before deriving.
    """
    from sympy import HadamardProduct, MatAdd, MatMul, MatPow

    from .atoms import Norm, ScalarOf
    from .printing import to_text

    if not isinstance(expr, sp.Basic):
        return
    for arg in expr.args:
        check_shapes(arg)
    if isinstance(expr, MatPow) and expr.base.shape[0] != expr.base.shape[1]:
        # SymPy turns x*x into x**2 even for a column vector
        base = expr.base
        hint = ("; for a vector use x.T*x (inner product) or x .* x (elementwise)"
                if 1 in base.shape else "")
        raise ShapeError(f"{to_text(expr)}: {to_text(base)} is {base.shape[0]}x"
                         f"{base.shape[1]}, not square{hint}")
    if isinstance(expr, sp.Trace) and expr.arg.shape[0] != expr.arg.shape[1]:
        raise ShapeError(f"{to_text(expr)}: the trace needs a square matrix, "
                         f"{to_text(expr.arg)} is {expr.arg.shape[0]}x{expr.arg.shape[1]}")
    if isinstance(expr, sp.Expr) and not isinstance(expr, (MatrixExpr, Norm, ScalarOf,
                                                           sp.Trace)):
        inside = [a for a in expr.args if isinstance(a, MatrixExpr) and a.shape != (1, 1)]
        if inside:  # e.g. sp.sin(x): SymPy builds it, but it is neither scalar nor vector
            raise ShapeError(f"{to_text(expr)} applies a scalar operation to the "
                             f"{inside[0].shape[0]}x{inside[0].shape[1]} {to_text(inside[0])};"
                             " use the elementwise maps (sign, abs, exp, sigmoid) or a norm")
    if isinstance(expr, (MatAdd, HadamardProduct)):
        shapes = {a.shape for a in expr.args if isinstance(a, MatrixExpr)}
        if len(shapes) > 1:
            op = "+" if isinstance(expr, MatAdd) else ".*"
            detail = ", ".join(f"{to_text(a)} is {a.shape[0]}x{a.shape[1]}"
                               for a in expr.args if isinstance(a, MatrixExpr))
            raise ShapeError(f"shapes do not match in {to_text(expr)} ({op}): {detail}")
    if isinstance(expr, MatMul):
        mats = [a for a in expr.args if isinstance(a, MatrixExpr)]
        for left, right in zip(mats, mats[1:]):
            if left.shape[1] != right.shape[0]:
                raise ShapeError(
                    f"cannot multiply in {to_text(expr)}: {to_text(left)} is "
                    f"{left.shape[0]}x{left.shape[1]} and {to_text(right)} is "
                    f"{right.shape[0]}x{right.shape[1]}")
