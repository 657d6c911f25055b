"""Shapes: what fits together, checked before anything is derived, and errors that
name the operands.

SymPy checks integer shapes while it builds ``x - b`` and raises its own error naming
neither operand; :func:`install_operand_shape_errors` has it raise
:class:`OperandShapeError` instead (the symbols module installs it when it is imported).
SymPy does not check symbolic shapes at all: :func:`check_shapes` does.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy import HadamardProduct, MatAdd, MatMul, MatPow
from sympy.matrices.exceptions import ShapeError as SympyShapeError
from sympy.matrices.expressions import MatrixExpr, hadamard, matadd, matmul

from .atoms import Norm, ScalarOf
from .errors import ShapeError
from .text import to_text


class OperandShapeError(ShapeError, SympyShapeError):
    """Operands of ``+``, ``*`` or ``.*`` whose (integer) shapes do not fit.

    SymPy checks integer shapes while it builds ``x - b``; symnorm has it raise this
    error, which is both symnorm's :class:`~symnorm.model.errors.ShapeError` and SymPy's
    ``ShapeError`` (so code catching either still works), naming each operand's shape.
    """


def _mismatch_text(op: str, args: tuple) -> str:
    mats = [a for a in args if isinstance(a, MatrixExpr)]

    def show(a: MatrixExpr) -> str:
        return f"{to_text(a)} is {a.shape[0]}x{a.shape[1]}"

    if op == "*":
        for left, right in zip(mats, mats[1:]):
            if left.shape[1] != right.shape[0]:
                return (f"cannot multiply {to_text(left)} by {to_text(right)}: "
                        f"{show(left)} and {show(right)}")
    if op == "+":
        negative = [a.could_extract_minus_sign() for a in mats]
        mats = [-a if neg else a for a, neg in zip(mats, negative)]  # x - b: name b
        whole = "".join((("- " if i else "-") if neg else ("+ " if i else "")) + to_text(a) + " "
                        for i, (a, neg) in enumerate(zip(mats, negative))).strip()
    else:
        whole = " .* ".join(to_text(a) for a in mats)
    return f"shapes do not match in {whole}: " + ", ".join(show(a) for a in mats)


def _naming(validate: Any, op: str) -> Any:
    def checked(*args: Any) -> None:
        try:
            validate(*args)
        except SympyShapeError:
            raise OperandShapeError(_mismatch_text(op, args)) from None

    checked.symnorm_names_operands = True  # type: ignore[attr-defined]
    checked.__doc__ = validate.__doc__
    return checked


def install_operand_shape_errors() -> None:
    """Have SymPy's shape validation of ``+``, ``*``, ``.*`` raise OperandShapeError.

    The only change is the class and message of an error SymPy raises anyway.
    """
    for module, op in ((matadd, "+"), (matmul, "*"), (hadamard, ".*")):
        if not getattr(module.validate, "symnorm_names_operands", False):
            module.validate = _naming(module.validate, op)


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
                                                           sp.Trace)) \
            and not getattr(expr, "scalar_of_matrices", False):
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
