"""Evaluate a symnorm expression at concrete values, node by node: in float64, or in
mpmath at any number of digits.

This is a reference evaluator, deliberately independent of the kernel generator and of
the numeric helpers kernels call: it walks the SymPy tree and multiplies explicit
matrices in the order they are written, so matrices never commute, and it understands
what hand derivations contain (components ``x[i, 0]``, ``Sum`` over an index, Hessian
forms such as ``DiagMatrix(sign(x))``, the functions of a whole vector or matrix by their
defining formulas: ``softmax``, ``logsumexp``, ``det``, ...). :func:`symnorm.verify` uses
it in float64; the numerical check compares value kernels with it, in mpmath
(``digits=50``) where float64 cannot decide (``norm(x, 2000)`` overflows any float64
formula that does not scale).
"""

from __future__ import annotations

import math
from typing import Any

import mpmath
import numpy as np
import sympy as sp
from sympy import HadamardPower, HadamardProduct, MatAdd, MatMul, MatPow, Transpose
from sympy.core.symbol import Str
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol
from sympy.matrices.expressions.matexpr import MatrixElement

from .. import numeric
from ..model.atoms import Elementwise, MaxAbsSelector, Norm, ScalarOf
from ..model.errors import UnsupportedExpressionError
from ..model.functions import ScalarFunction, VectorFunction
from ..rules.matrix_maps import MatrixOrder

__all__ = ["evaluate", "dimension_symbols"]


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


# -- arithmetic: float64 (numpy) or mpmath at a given precision ------------------------------

def _sigmoid64(u: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-u))


class _Float64:
    """float64 arithmetic on numpy arrays (2-D for matrices and vectors)."""

    exact = False

    def num(self, v: Any) -> Any:
        return float(v)

    def array(self, v: Any, shape: tuple) -> np.ndarray:
        return np.asarray(v, dtype=float).reshape(shape)

    def const(self, v: np.ndarray) -> np.ndarray:
        return np.asarray(v, dtype=float)

    def elementwise(self, name: str) -> Any:
        return {"sign": np.sign, "abs": np.abs, "exp": np.exp, "sigmoid": _sigmoid64,
                "tanh": np.tanh, "relu": lambda u: np.maximum(u, 0.0),
                "step": lambda u: np.heaviside(u, 0.0),
                "softplus": lambda u: np.log(1.0 + np.exp(u)),
                "identity": lambda u: u}.get(name)

    def scalar_function(self, f: Any) -> Any:
        return {sp.exp: np.exp, sp.log: np.log, sp.Abs: np.abs, sp.sign: np.sign,
                sp.tanh: np.tanh, sp.sin: np.sin, sp.cos: np.cos}.get(f)

    def power(self, a: Any, p: Any) -> Any:
        return np.power(a, p)

    def total(self, v: np.ndarray) -> Any:
        return float(np.sum(v))

    def vector_norm(self, v: np.ndarray, p: Any) -> Any:
        """The p-norm of the entries, scaled by the largest so no power over- or
        underflows (the value is finite wherever the norm is)."""
        flat = np.ravel(v)
        if p == 2 and flat.dtype == np.float64:  # one pass where the squares are safe
            squares = float(np.dot(flat, flat))
            if 1e-280 < squares < 1e300:
                return math.sqrt(squares)
        a = np.abs(flat)
        if p == 0:
            return float(np.count_nonzero(a))
        if p == 1:
            return float(np.sum(a))
        big = float(a.max(initial=0.0))
        if p == math.inf or big == 0.0 or not math.isfinite(big):
            return big
        return big * float(np.sum((a / big) ** p)) ** (1.0 / p)

    def singular_values(self, m: np.ndarray) -> np.ndarray:
        return np.linalg.svd(m, compute_uv=False)

    def inv(self, m: np.ndarray) -> np.ndarray:
        return np.linalg.inv(m)

    def det(self, m: np.ndarray) -> Any:
        return float(np.linalg.det(m))

    def logdet(self, m: np.ndarray) -> Any:
        sign, logabs = np.linalg.slogdet(m)  # finite where det itself overflows
        return float(logabs) if sign > 0 else math.nan

    def shift(self, v: np.ndarray) -> Any:
        """What exponentials are shifted by so none overflows: the largest entry."""
        return float(np.max(v)) if np.size(v) and np.isfinite(np.max(v)) else 0.0

    def matrix_power(self, m: np.ndarray, k: int) -> np.ndarray:
        return np.linalg.matrix_power(m, k)

    def from_sympy(self, v: sp.Expr) -> Any:
        return float(v)


class _Mp:
    """mpmath arithmetic at ``digits`` significant digits: numbers are ``mpf``, arrays
    are numpy object arrays of ``mpf`` (2-D); no overflow, no underflow."""

    exact = True

    def __init__(self, digits: int) -> None:
        self.digits = digits
        self._maps: dict[str, Any] = {}

    def num(self, v: Any) -> Any:
        return mpmath.mpf(v) if not isinstance(v, mpmath.mpf) else v

    def array(self, v: Any, shape: tuple) -> np.ndarray:
        a = np.asarray(v)
        if a.dtype != object:
            a = np.asarray(a, dtype=float)
        return self.const(a.reshape(shape))

    def const(self, v: np.ndarray) -> np.ndarray:
        out = np.empty(np.shape(v), dtype=object)
        flat = np.asarray(v).ravel()
        out.ravel()[:] = [self.num(float(t)) if not isinstance(t, mpmath.mpf) else t
                          for t in flat]
        return out

    def _map(self, fn: Any) -> Any:
        ufunc = np.frompyfunc(fn, 1, 1)
        return lambda u: ufunc(u) if isinstance(u, np.ndarray) else fn(u)

    def elementwise(self, name: str) -> Any:
        table = {"sign": mpmath.sign, "abs": abs, "exp": mpmath.exp,
                 "sigmoid": lambda t: 1 / (1 + mpmath.exp(-t)), "tanh": mpmath.tanh,
                 "relu": lambda t: t if t > 0 else mpmath.mpf(0),
                 "step": lambda t: mpmath.mpf(1) if t > 0 else mpmath.mpf(0),
                 "softplus": lambda t: mpmath.log(1 + mpmath.exp(t)),
                 "identity": lambda t: t}
        fn = table.get(name)
        return None if fn is None else self._map(fn)

    def scalar_function(self, f: Any) -> Any:
        fn = {sp.exp: mpmath.exp, sp.log: _mp_log, sp.Abs: abs, sp.sign: mpmath.sign,
              sp.tanh: mpmath.tanh, sp.sin: mpmath.sin, sp.cos: mpmath.cos}.get(f)
        return None if fn is None else self._map(fn)

    def power(self, a: Any, p: Any) -> Any:
        return self._map(lambda t: _mp_power(t, self.num(p)))(a)

    def total(self, v: np.ndarray) -> Any:
        return mpmath.fsum(np.ravel(v))

    def vector_norm(self, v: np.ndarray, p: Any) -> Any:
        a = [abs(t) for t in np.ravel(v)]
        if p == 0:
            return mpmath.mpf(sum(1 for t in a if t != 0))
        if p == math.inf or p == mpmath.inf:
            return max(a, default=mpmath.mpf(0))
        p = self.num(p)
        return mpmath.fsum(t ** p for t in a) ** (1 / p)

    def singular_values(self, m: np.ndarray) -> np.ndarray:
        s = mpmath.svd_r(mpmath.matrix(m.tolist()), compute_uv=False)
        return np.array([s[i] for i in range(s.rows)], dtype=object)

    def inv(self, m: np.ndarray) -> np.ndarray:
        return np.array((mpmath.matrix(m.tolist()) ** -1).tolist(), dtype=object)

    def det(self, m: np.ndarray) -> Any:
        return mpmath.det(mpmath.matrix(m.tolist()))

    def logdet(self, m: np.ndarray) -> Any:
        return _mp_log(self.det(m))

    def shift(self, v: np.ndarray) -> Any:
        return mpmath.mpf(0)  # mpmath does not overflow

    def matrix_power(self, m: np.ndarray, k: int) -> np.ndarray:
        return np.array((mpmath.matrix(m.tolist()) ** k).tolist(), dtype=object)

    def from_sympy(self, v: sp.Expr) -> Any:
        return mpmath.mpf(sp.Float(v, self.digits + 5))


def _mp_log(t: Any) -> Any:
    # log 0 is undefined (-inf only as a limit), and so is what is built on it, even
    # where float64 makes a number of it again (softplus(-inf) = 0)
    return mpmath.log(t) if t > 0 else mpmath.nan


def _mp_power(t: Any, p: Any) -> Any:
    if t < 0 and p != mpmath.floor(p):
        return mpmath.nan  # not real
    if t == 0 and p < 0:
        return mpmath.nan  # a division by 0: undefined (+-inf only as a one-sided limit)
    return t ** p


class _Evaluator:
    def __init__(self, values: dict[Any, Any], dims: dict[sp.Symbol, int],
                 arith: _Float64 | _Mp) -> None:
        self.values = values
        self.dims = dims
        self.ar = arith
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
            return self.matrix(e)
        return self.scalar(e)

    def constant(self, v: np.ndarray) -> np.ndarray:
        return self.ar.const(v)

    def matrix(self, e: MatrixExpr) -> np.ndarray:
        ar = self.ar
        if isinstance(e, MatrixSymbol):
            if e in self.values:
                return ar.array(self.values[e], (self.size(e.shape[0]), self.size(e.shape[1])))
            raise UnsupportedExpressionError(f"no value for {e}")
        if isinstance(e, sp.Identity):
            return self.constant(np.eye(self.size(e.rows)))
        if isinstance(e, sp.ZeroMatrix):
            return self.constant(np.zeros((self.size(e.rows), self.size(e.cols))))
        if isinstance(e, sp.OneMatrix):
            return self.constant(np.ones((self.size(e.rows), self.size(e.cols))))
        if isinstance(e, Transpose):
            return self.matrix(e.arg).T
        if isinstance(e, MatAdd):
            parts = [self(a) for a in e.args]
            out = parts[0]
            for p in parts[1:]:
                out = out + p
            return out
        if isinstance(e, MatMul):
            out: Any = None
            for a in e.args:
                v = self(a)
                if out is None:
                    out = v
                elif np.ndim(out) == 2 and np.ndim(v) == 2:
                    out = out @ v
                else:
                    out = out * v
            return out
        if isinstance(e, HadamardProduct):
            out = self(e.args[0])
            for a in e.args[1:]:
                out = out * self(a)
            return out
        if isinstance(e, HadamardPower):
            return ar.power(self(e.base), self.scalar(e.exp))
        if isinstance(e, MatPow):
            return ar.matrix_power(self.matrix(e.base), int(self.scalar(e.exp)))
        if isinstance(e, sp.Inverse):
            return ar.inv(self.matrix(e.arg))
        if isinstance(e, MaxAbsSelector):
            u = abs(self.matrix(e.arg))
            hit = (u == u.max()).astype(float)
            return self.constant(hit / hit.sum())
        if isinstance(e, Elementwise):
            fn = ar.elementwise(e.name)
            if fn is not None:
                return fn(self.matrix(e.arg))
            return self.by_sympy(lambda v: e.scalar_func(v), self.matrix(e.arg))
        if isinstance(e, VectorFunction):
            return self.function(e)
        if isinstance(e, sp.DiagMatrix):
            v = np.ravel(self.matrix(e.args[0]))
            out = self.constant(np.zeros((v.size, v.size)))
            for i, t in enumerate(v):
                out[i, i] = t
            return out
        if isinstance(e, sp.DiagonalMatrix):
            m = self.matrix(e.args[0])
            out = self.constant(np.zeros(m.shape))
            for i in range(min(m.shape)):
                out[i, i] = m[i, i]
            return out
        if isinstance(e, sp.MatrixBase):
            rows = [[self.scalar(v) for v in row] for row in e.tolist()]
            return np.array(rows, dtype=object if ar.exact else float)
        helper = getattr(numeric, getattr(e, "helper", "") or "_none_", None)
        if helper is not None and not ar.exact:  # float64 only: a helper is float64 code
            try:
                return np.asarray(helper(*[self(a) for a in e.args]), dtype=float)
            except (TypeError, ValueError):
                pass
        raise UnsupportedExpressionError(
            f"no numeric evaluation for the matrix node {type(e).__name__}: {e}")

    def by_sympy(self, fn: Any, m: np.ndarray) -> np.ndarray:
        """Entries of a map with no table entry, through its SymPy form of one entry."""
        digits = getattr(self.ar, "digits", 15)
        out = np.empty(m.shape, dtype=object if self.ar.exact else float)
        for idx, v in np.ndenumerate(m):
            value = fn(sp.Float(str(v), digits + 5)).evalf(digits + 5)
            if not value.is_Number:
                raise UnsupportedExpressionError(f"no numeric value for {value}")
            out[idx] = self.ar.from_sympy(value)
        return out

    def norm(self, e: Norm) -> Any:
        p = e.p
        u = self.matrix(e.arg)
        ar = self.ar
        if isinstance(p, MatrixOrder):
            kind = p.kind
            if kind == "fro":
                return ar.vector_norm(u, 2)
            if kind == "nuc":
                return ar.total(ar.singular_values(u))
            if kind == "spectral":
                s = ar.singular_values(u)
                return max(s) if len(s) else ar.num(0.0)
            if kind == "induced1":
                return max(ar.total(abs(u[:, j])) for j in range(u.shape[1]))
            if kind == "inducedinf":
                return max(ar.total(abs(u[i, :])) for i in range(u.shape[0]))
            pp, qq = (math.inf if v == sp.oo else self.scalar(v) for v in p.pq)
            cols = [ar.vector_norm(u[:, j], pp) for j in range(u.shape[1])]
            return ar.vector_norm(np.array(cols, dtype=object if ar.exact else float), qq)
        if isinstance(p, Str):
            raise UnsupportedExpressionError(f"no numeric evaluation for the norm order {p}")
        order: Any = math.inf if p == sp.oo else self.scalar(p)
        return ar.vector_norm(u, order)

    def scalar(self, e: Any) -> Any:
        ar = self.ar
        if isinstance(e, (int, float)):
            return ar.num(e)
        if isinstance(e, sp.Symbol):
            if e in self.index:
                return ar.num(self.index[e])
            if e in self.dims:
                return ar.num(self.dims[e])
            if e in self.values:
                return ar.num(float(self.values[e]))
            raise UnsupportedExpressionError(f"no value for the symbol {e}")
        if e == sp.oo:
            return ar.num(math.inf)
        if e.is_Number or e is sp.E or e is sp.pi:
            return ar.from_sympy(e)
        if isinstance(e, Norm):
            return self.norm(e)
        if isinstance(e, ScalarOf):
            return self.matrix(e.mat)[0, 0]
        if isinstance(e, ScalarFunction):
            return self.function(e)
        if isinstance(e, MatrixElement):
            return self.matrix(e.parent)[self.size(e.i), self.size(e.j)]
        if isinstance(e, sp.Trace):
            m = self.matrix(e.arg)
            return ar.total(np.array([m[i, i] for i in range(min(m.shape))],
                                     dtype=object if ar.exact else float))
        if isinstance(e, sp.Sum):
            return self.sum(e.function, list(e.limits))
        if isinstance(e, sp.Add):
            return ar.total(np.array([self.scalar(a) for a in e.args],
                                     dtype=object if ar.exact else float))
        if isinstance(e, sp.Mul):
            out = ar.num(1.0)
            for a in e.args:
                out = out * self.scalar(a)
            return out
        if isinstance(e, sp.Pow):
            return ar.power(self.scalar(e.base), self.scalar(e.exp))
        if isinstance(e, (sp.Max, sp.Min)):
            vals = [self.scalar(a) for a in e.args]
            if any(v != v for v in vals):  # NaN (a piece outside its domain) stays NaN
                return ar.num(math.nan)
            return max(vals) if isinstance(e, sp.Max) else min(vals)
        if isinstance(e, sp.Piecewise):
            for value, cond in e.args:
                if cond is sp.true or bool(self.condition(cond)):
                    return self.scalar(value)
            return ar.num(math.nan)
        if isinstance(e, sp.KroneckerDelta):
            return ar.num(float(self.scalar(e.args[0]) == self.scalar(e.args[1])))
        if isinstance(e, sp.Function):
            fn = ar.scalar_function(e.func)
            if fn is not None and len(e.args) == 1:
                return fn(self.scalar(e.args[0]))
            digits = getattr(ar, "digits", 15)
            args = [sp.Float(str(self.scalar(a)), digits + 5) for a in e.args]
            value = e.func(*args).evalf(digits + 5)
            if value.is_Number:
                return ar.from_sympy(value)
        raise UnsupportedExpressionError(
            f"no numeric evaluation for {type(e).__name__}: {e}")

    def function(self, e: Any) -> Any:
        """A function of a whole vector or matrix (:mod:`symnorm.model.functions`) by its
        defining formula, with exponentials shifted by the largest entry in float64."""
        ar = self.ar
        u = self.matrix(e.arg)
        name = e.name
        if name in ("det", "logdet"):
            return ar.det(u) if name == "det" else ar.logdet(u)
        half = ar.from_sympy(sp.Rational(1, 2))
        count = ar.num(np.size(u))
        mean = ar.total(u) / count
        if name == "sum":
            return ar.total(u)
        if name == "mean":
            return mean
        if name in ("logsumexp", "softmax"):
            c = ar.shift(u)
            exp = ar.elementwise("exp")(u - c)
            total = ar.total(exp)
            if name == "softmax":
                return exp / total
            return c + ar.scalar_function(sp.log)(total)
        eps = self.scalar(e.args[1]) if len(e.args) > 1 else ar.num(0)
        if name in ("var", "layer_norm", "layer_norm_scale"):
            centred = u - mean
            var = ar.total(centred * centred) / count
            if name == "var":
                return var
            scale = ar.power(var + eps, half)
            return scale if name == "layer_norm_scale" else centred / scale
        if name in ("rms_norm", "rms_norm_scale"):
            scale = ar.power(ar.total(u * u) / count + eps, half)
            return scale if name == "rms_norm_scale" else u / scale
        raise UnsupportedExpressionError(f"no numeric evaluation for {name}(): {e}")

    def condition(self, c: Any) -> bool:
        if isinstance(c, sp.Eq):
            return self.scalar(c.lhs) == self.scalar(c.rhs)
        if isinstance(c, sp.core.relational.Relational):
            lhs, rhs = self.scalar(c.lhs), self.scalar(c.rhs)
            return bool({"<": lhs < rhs, "<=": lhs <= rhs, ">": lhs > rhs,
                         ">=": lhs >= rhs, "!=": lhs != rhs}[c.rel_op])
        raise UnsupportedExpressionError(f"cannot evaluate the condition {c}")

    def sum(self, body: Any, limits: list) -> Any:
        (i, lo, hi), rest = limits[0], limits[1:]
        terms = []
        for k in range(int(self.scalar(lo)), int(self.scalar(hi)) + 1):
            self.index[i] = k
            terms.append(self.sum(body, rest) if rest else self.scalar(body))
        self.index.pop(i, None)
        return self.ar.total(np.array(terms, dtype=object if self.ar.exact else float))


def evaluate(expr: Any, values: dict[Any, Any], dims: dict[sp.Symbol, int] | None = None,
             *, digits: int | None = None) -> Any:
    """Value of ``expr`` (a number, or a 2-D array for a matrix expression).

    ``values`` maps symbols (``sn.vector``, ``sn.matrix``, ``sn.scalar``) to numbers or
    arrays; ``dims`` maps dimension symbols to sizes. By default the arithmetic is
    float64 (p-norms scaled by the largest entry, so they neither overflow nor
    underflow); ``digits=50`` computes in mpmath at 50 significant digits and returns
    ``mpf`` numbers (object arrays of them for matrices), with no overflow at all. A node
    without a numeric evaluation raises
    :class:`~symnorm.model.errors.UnsupportedExpressionError`.

    Parameters
    ----------
    expr : sympy.Basic
        A scalar or matrix expression.
    values : dict
        Symbol -> number or array.
    dims : dict, optional
        Dimension symbol -> size.
    digits : int, optional
        Significant digits of an mpmath evaluation; None for float64.

    Returns
    -------
    float, mpmath.mpf or numpy.ndarray

    Examples
    --------
    >>> import numpy as np, symnorm as sn
    >>> A, x = sn.matrix("A", 2, 2), sn.vector("x", 2)
    >>> evaluate(A.T * x, {A: [[1, 2], [3, 4]], x: [1, 1]}).ravel().tolist()
    [4.0, 6.0]
    >>> evaluate(sn.norm(x, 1), {x: [3, -4]})
    7.0
    >>> evaluate(sn.norm(x, 2000), {x: [1, 2]})
    2.0
    >>> evaluate(sn.norm(x, 2) - 1, {x: [1e-20, 1]})  # all cancellation in float64
    0.0
    >>> import mpmath
    >>> mpmath.nstr(evaluate(sn.norm(x, 2) - 1, {x: [1e-20, 1]}, digits=50), 3)
    '5.0e-41'
    """
    arith: _Float64 | _Mp = _Float64() if digits is None else _Mp(digits)
    if digits is None:
        with np.errstate(all="ignore"):
            out = _Evaluator(values, dict(dims or {}), arith)(expr)
        return np.asarray(out, dtype=float) if isinstance(out, np.ndarray) else float(out)
    with mpmath.workdps(digits):
        return _Evaluator(values, dict(dims or {}), arith)(expr)
