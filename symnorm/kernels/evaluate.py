"""Evaluate a symnorm expression at concrete numpy values, node by node.

This is a reference evaluator, deliberately independent of the kernel generator: it
walks the SymPy tree and multiplies explicit numpy matrices in the order they are
written, so matrices never commute, and it understands what hand derivations contain
(components ``x[i, 0]``, ``Sum`` over an index, Hessian forms such as
``DiagMatrix(sign(x))``). It is used by :func:`symnorm.verify`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp
from sympy import HadamardPower, HadamardProduct, MatAdd, MatMul, MatPow, Transpose
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol
from sympy.matrices.expressions.matexpr import MatrixElement

from .. import numeric
from ..model.atoms import Elementwise, MaxAbsSelector, Norm, ScalarOf
from ..model.errors import UnsupportedExpressionError

__all__ = ["evaluate", "dimension_symbols"]

_ELEMENTWISE = {
    "sign": np.sign, "abs": np.abs, "exp": np.exp,
    "sigmoid": lambda u: 1.0 / (1.0 + np.exp(-u)),
}
_SCALAR_FUNCS = {sp.exp: np.exp, sp.log: np.log, sp.Abs: np.abs, sp.sign: np.sign,
                 sp.tanh: np.tanh, sp.sin: np.sin, sp.cos: np.cos, sp.sqrt: np.sqrt}


def dimension_symbols(*exprs: Any) -> set[sp.Symbol]:
    """The dimension symbols (``n``, ``m``) in the shapes of ``exprs``.

    >>> import symnorm as sn
    >>> sorted(map(str, dimension_symbols(sn.matrix("A") * sn.vector("x"))))
    ['m', 'n']
    """
    found: set[sp.Symbol] = set()
    for e in exprs:
        if not isinstance(e, sp.Basic):
            continue
        for node in sp.preorder_traversal(e):
            if isinstance(node, MatrixExpr):
                for d in node.shape:
                    found |= {s for s in getattr(d, "free_symbols", ())
                              if s.is_integer and s.is_positive}
            if isinstance(node, sp.Sum):
                for _, lo, hi in node.limits:
                    found |= {s for s in (lo.free_symbols | hi.free_symbols)
                              if s.is_integer and s.is_positive}
    return found


def _norm(u: np.ndarray, p: Any) -> float:
    if isinstance(p, str):
        if p == "fro":
            return float(np.linalg.norm(u, "fro"))
        if p == "nuc":
            return float(np.linalg.norm(u, "nuc"))
        raise UnsupportedExpressionError(f"no numeric evaluation for the norm order {p!r}")
    v = np.abs(np.ravel(u))
    if p == np.inf:
        return float(v.max(initial=0.0))
    if p == 0:
        return float(np.count_nonzero(v))
    return float(np.sum(v ** p) ** (1.0 / p))


class _Evaluator:
    def __init__(self, values: dict[Any, Any], dims: dict[sp.Symbol, int]) -> None:
        self.values = values
        self.dims = dims
        self.index: dict[sp.Symbol, int] = {}

    def size(self, d: Any) -> int:
        if isinstance(d, int):
            return d
        table = {k: sp.Integer(v) for k, v in (*self.dims.items(), *self.index.items())}
        value = d.xreplace(table)
        if not value.is_Integer:
            raise UnsupportedExpressionError(f"the dimension {d} has no value")
        return int(value)

    def __call__(self, e: Any) -> Any:
        if isinstance(e, MatrixExpr):
            return np.asarray(self.matrix(e), dtype=float)
        return self.scalar(e)

    def matrix(self, e: MatrixExpr) -> np.ndarray:
        if isinstance(e, MatrixSymbol):
            if e in self.values:
                return np.asarray(self.values[e], dtype=float).reshape(
                    self.size(e.shape[0]), self.size(e.shape[1]))
            raise UnsupportedExpressionError(f"no value for {e}")
        if isinstance(e, sp.Identity):
            return np.eye(self.size(e.rows))
        if isinstance(e, sp.ZeroMatrix):
            return np.zeros((self.size(e.rows), self.size(e.cols)))
        if isinstance(e, sp.OneMatrix):
            return np.ones((self.size(e.rows), self.size(e.cols)))
        if isinstance(e, Transpose):
            return self.matrix(e.arg).T
        if isinstance(e, MatAdd):
            return sum((self(a) for a in e.args), np.zeros(()))  # type: ignore[return-value]
        if isinstance(e, MatMul):
            out: Any = 1.0
            for a in e.args:
                v = self(a)
                out = out @ v if (np.ndim(out) == 2 and np.ndim(v) == 2) else out * v
            return out
        if isinstance(e, HadamardProduct):
            out = self(e.args[0])
            for a in e.args[1:]:
                out = out * self(a)
            return out
        if isinstance(e, HadamardPower):
            return self(e.base) ** self.scalar(e.exp)
        if isinstance(e, MatPow):
            return np.linalg.matrix_power(self.matrix(e.base), int(self.scalar(e.exp)))
        if isinstance(e, sp.Inverse):
            return np.linalg.inv(self.matrix(e.arg))
        if isinstance(e, MaxAbsSelector):
            u = np.abs(self.matrix(e.arg))
            hit = (u == u.max()).astype(float)
            return hit / hit.sum()
        if isinstance(e, Elementwise):
            if e.name in _ELEMENTWISE:
                return _ELEMENTWISE[e.name](self.matrix(e.arg))
            return np.vectorize(lambda v: float(e.scalar_func(sp.Float(v))))(
                self.matrix(e.arg))
        if isinstance(e, sp.DiagMatrix):
            return np.diag(np.ravel(self.matrix(e.args[0])))
        if isinstance(e, sp.DiagonalMatrix):
            return np.diag(np.diag(self.matrix(e.args[0])))
        if isinstance(e, sp.MatrixBase):
            return np.array([[self.scalar(v) for v in row] for row in e.tolist()], dtype=float)
        try:
            helper = getattr(numeric, getattr(e, "helper", "") or "_none_", None)
            if helper is not None:
                return np.asarray(helper(*[self(a) for a in e.args]), dtype=float)
        except (TypeError, ValueError):
            pass
        raise UnsupportedExpressionError(
            f"no numeric evaluation for the matrix node {type(e).__name__}: {e}")

    def scalar(self, e: Any) -> float:
        if isinstance(e, (int, float)):
            return float(e)
        if isinstance(e, sp.Symbol):
            if e in self.index:
                return float(self.index[e])
            if e in self.dims:
                return float(self.dims[e])
            if e in self.values:
                return float(self.values[e])
            raise UnsupportedExpressionError(f"no value for the symbol {e}")
        if e.is_Number or e is sp.E or e is sp.pi:
            return float(e)
        if e == sp.oo:
            return float("inf")
        if isinstance(e, Norm):
            p = e.p
            order: Any = p.name if isinstance(p, sp.core.symbol.Str) else self.scalar(p)
            return _norm(self.matrix(e.arg), order)
        if isinstance(e, ScalarOf):
            return float(self.matrix(e.mat)[0, 0])
        if isinstance(e, MatrixElement):
            return float(self.matrix(e.parent)[self.size(e.i), self.size(e.j)])
        if isinstance(e, sp.Sum):
            return self.sum(e.function, list(e.limits))
        if isinstance(e, sp.Add):
            return float(sum(self.scalar(a) for a in e.args))
        if isinstance(e, sp.Mul):
            out = 1.0
            for a in e.args:
                out *= self.scalar(a)
            return out
        if isinstance(e, sp.Pow):
            return float(np.power(self.scalar(e.base), self.scalar(e.exp)))
        if isinstance(e, (sp.Max, sp.Min)):
            vals = [self.scalar(a) for a in e.args]
            return max(vals) if isinstance(e, sp.Max) else min(vals)
        if isinstance(e, sp.Piecewise):
            for value, cond in e.args:
                if cond is sp.true or bool(self.condition(cond)):
                    return self.scalar(value)
            return float("nan")
        if isinstance(e, sp.KroneckerDelta):
            return float(self.scalar(e.args[0]) == self.scalar(e.args[1]))
        if isinstance(e, sp.Function) and e.func in _SCALAR_FUNCS:
            return float(_SCALAR_FUNCS[e.func](*[self.scalar(a) for a in e.args]))
        if isinstance(e, sp.Function):
            value = e.func(*[sp.Float(self.scalar(a)) for a in e.args]).evalf()
            if value.is_Number:
                return float(value)
        raise UnsupportedExpressionError(
            f"no numeric evaluation for {type(e).__name__}: {e}")

    def condition(self, c: Any) -> bool:
        if isinstance(c, sp.Eq):
            return self.scalar(c.lhs) == self.scalar(c.rhs)
        if isinstance(c, sp.core.relational.Relational):
            lhs, rhs = self.scalar(c.lhs), self.scalar(c.rhs)
            return bool({"<": lhs < rhs, "<=": lhs <= rhs, ">": lhs > rhs,
                         ">=": lhs >= rhs, "!=": lhs != rhs}[c.rel_op])
        raise UnsupportedExpressionError(f"cannot evaluate the condition {c}")

    def sum(self, body: Any, limits: list) -> float:
        (i, lo, hi), rest = limits[0], limits[1:]
        total = 0.0
        for k in range(int(self.scalar(lo)), int(self.scalar(hi)) + 1):
            self.index[i] = k
            total += self.sum(body, rest) if rest else self.scalar(body)
        self.index.pop(i, None)
        return total


def evaluate(expr: Any, values: dict[Any, Any], dims: dict[sp.Symbol, int] | None = None
             ) -> Any:
    """Value of ``expr`` (a float, or a 2-D array for a matrix expression).

    ``values`` maps symbols (``sn.vector``, ``sn.matrix``, ``sn.scalar``) to numbers or
    arrays; ``dims`` maps dimension symbols to sizes.

    >>> import numpy as np, symnorm as sn
    >>> A, x = sn.matrix("A", 2, 2), sn.vector("x", 2)
    >>> evaluate(A.T * x, {A: [[1, 2], [3, 4]], x: [1, 1]}).ravel().tolist()
    [4.0, 6.0]
    >>> evaluate(sn.norm(x, 1), {x: [3, -4]})
    7.0
    """
    with np.errstate(all="ignore"):
        return _Evaluator(values, dict(dims or {}))(expr)
