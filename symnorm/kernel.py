"""Numpy kernels generated from symnorm expressions.

The generator walks the expression once, emits one numpy statement per distinct
subexpression (so common subexpressions are computed once), and keeps the source on
the kernel (``Kernel.source``). Only code generated here is ever executed. Vectors are
arrays whose last axis is the vector axis; any leading axes are a batch. Kernels accept
``out=`` and write the final operation straight into it.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import sympy as sp
from sympy import (
    DiagMatrix,
    HadamardPower,
    HadamardProduct,
    Identity,
    MatAdd,
    MatMul,
    OneMatrix,
    Transpose,
    ZeroMatrix,
)
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol

from . import numeric
from .atoms import Elementwise, Norm, ScalarOf
from .errors import ShapeError, UnsupportedExpressionError
from .printing import fraction, to_text
from .rules import ELEMENTWISE, norm_rule

KINK_POLICY = (
    "At points where the derivative does not exist this kernel returns the minimum-norm "
    "subgradient: 0 for the L2 norm at 0, sign(u) with 0 in zero entries for the L1 norm, "
    "the tie split evenly for the max norm; for matrix norms 0 for the Frobenius norm at 0, "
    "U_r V_r^T for the nuclear norm at rank r < min(m, n), U_k V_k^T / k for the spectral "
    "norm at a top singular value of multiplicity k (singular values equal within a "
    "relative 1e-10), see symnorm.numeric_matrix. It never returns NaN for finite input.")


def _is_dim(s: sp.Basic) -> bool:
    return isinstance(s, sp.Symbol) and bool(s.is_integer) and bool(s.is_positive)


def free_arguments(expr: Any, first: Any = None) -> list:
    """Symbols a kernel of ``expr`` needs: ``first``, then the rest sorted by name."""
    found: set = set()

    def walk(e: sp.Basic) -> None:
        if isinstance(e, MatrixSymbol):
            found.add(e)
            return
        if isinstance(e, sp.Symbol) and not _is_dim(e) and not isinstance(e, sp.Dummy):
            found.add(e)
            return
        for a in e.args:
            if isinstance(a, sp.Basic):
                walk(a)

    walk(expr)
    rest = sorted((s for s in found if s != first), key=lambda s: s.name)
    return ([first] if first is not None else []) + rest


def _kind(e: Any) -> str:
    if isinstance(e, MatrixExpr):
        r, c = e.shape
        if r == 1 and c == 1:
            return "s"
        if c == 1:
            return "v"
        if r == 1:
            return "r"
        return "m"
    return "s"


class Kernel:
    """A compiled numpy function with its arguments, source and kink policy.

    Call it with arrays (positionally in ``args`` order, or by name) and optionally
    ``out=``. Vectors may carry a leading batch axis.
    """

    def __init__(self, expr: Any, args: list, source: str, func: Any) -> None:
        self.expr = expr
        self.args = args
        self.arg_names = [a.name for a in args]
        self.source = source
        self._func = func
        self.__doc__ = (f"Kernel of {to_text(expr)}\n\nArguments: "
                        f"{', '.join(self.arg_names)}; out= optional.\n\n{KINK_POLICY}")

    def __call__(self, *values: Any, out: np.ndarray | None = None, **named: Any) -> Any:
        if len(values) > len(self.args):
            raise TypeError(f"kernel takes {len(self.args)} arguments "
                            f"({', '.join(self.arg_names)}), got {len(values)}")
        bound = dict(zip(self.arg_names, values))
        for k, v in named.items():
            if k not in self.arg_names:
                raise TypeError(f"unknown argument {k!r}; arguments: {', '.join(self.arg_names)}")
            if k in bound:
                raise TypeError(f"argument {k!r} given twice")
            bound[k] = v
        missing = [n for n in self.arg_names if n not in bound]
        if missing:
            raise TypeError(f"missing argument(s): {', '.join(missing)}")
        ordered = [bound[n] for n in self.arg_names]
        for sym, val in zip(self.args, ordered):
            _check_arg(sym, val)
        return self._func(*ordered, out=out)

    def __repr__(self) -> str:
        return f"<symnorm kernel ({', '.join(self.arg_names)}) -> {to_text(self.expr)}>"


def _check_arg(sym: Any, val: Any) -> None:
    if isinstance(sym, MatrixSymbol):
        nd = np.ndim(val)
        kind = _kind(sym)
        need = 2 if kind == "m" else 1
        if nd < need:
            raise ShapeError(f"argument {sym.name} must be a {'matrix' if need == 2 else 'vector'}"
                             f" (shape {sym.shape}), got an array of shape {np.shape(val)}")
        shape = np.shape(val)[-need:]
        expect = sym.shape if kind == "m" else (sym.shape[0] if kind == "v" else sym.shape[1],)
        for got, want in zip(shape, expect):
            if isinstance(want, (int, sp.Integer)) and int(want) != got:
                raise ShapeError(f"argument {sym.name} must have shape {sym.shape}, "
                                 f"got {np.shape(val)}")


class _Generator:
    def __init__(self, args: list, fusions: dict) -> None:
        self.args = args
        self.fusions = fusions
        self.lines: list[str] = []
        self.memo: dict = {}
        self.names = {a: f"a_{a.name}" for a in args}
        self.counter = itertools.count()
        self.dims: dict = {}
        for a in args:
            if isinstance(a, MatrixSymbol):
                kind = _kind(a)
                axes = {"v": [(a.shape[0], -1)], "r": [(a.shape[1], -1)],
                        "m": [(a.shape[0], -2), (a.shape[1], -1)], "s": []}[kind]
                for d, axis in axes:
                    if _is_dim(d) and d not in self.dims:
                        self.dims[d] = f"np.shape({self.names[a]})[{axis}]"

    def dim(self, d: Any) -> str:
        if isinstance(d, (int, sp.Integer)):
            return str(int(d))
        if d in self.dims:
            return self.dims[d]
        raise ShapeError(f"dimension {d} is not fixed by any kernel argument")

    def tmp(self, code: str) -> str:
        name = f"t{next(self.counter)}"
        self.lines.append(f"{name} = {code}")
        return name

    def scalar_literal(self, e: sp.Expr) -> str | None:
        if e.is_Integer:
            return f"{int(e)}.0"
        if e.is_Rational:
            return repr(float(e))
        if e == sp.oo:
            return "np.inf"
        if e.is_Float:
            return repr(float(e))
        return None

    # -- emission ---------------------------------------------------------------
    def emit(self, e: Any, out: bool = False) -> str:
        key = (e, out)
        if key in self.memo:
            return self.memo[key]
        code = self._emit(e, out)
        self.memo[key] = code
        return code

    def _emit(self, e: Any, out: bool) -> str:
        o = ", out=out" if out else ""
        if e in self.names:
            return self.names[e]
        if e in self.fusions:
            rule, u, p = self.fusions[e]
            if rule.numpy_gradient:
                return self.tmp(f"_nm.{rule.numpy_gradient}({self.emit(u)}, "
                                f"{self.emit_scalar(p)}{o})")
        if not isinstance(e, MatrixExpr):
            return self.emit_scalar(e)
        if isinstance(e, MatrixSymbol):
            raise UnsupportedExpressionError(f"{e.name} is not a kernel argument")
        if hasattr(e, "kernel_code"):  # nodes that say how they are computed
            parts = [self.emit(a) if isinstance(a, MatrixExpr) else self.emit_scalar(a)
                     for a in e.args]
            code = e.kernel_code(parts)
            if out and getattr(e, "kernel_accepts_out", False):  # helper writes into out
                code = code[:-1] + ", out=out)"
            return self.tmp(code)
        if isinstance(e, MatMul):
            return self.emit_matmul(e, out)
        if isinstance(e, MatAdd):
            return self.tmp(" + ".join(self.emit(t) for t in e.args))
        if isinstance(e, Transpose):
            inner = self.emit(e.arg)
            return inner if _kind(e) in "vrs" else self.tmp(f"np.swapaxes({inner}, -1, -2)")
        if isinstance(e, HadamardProduct):
            parts = [self.emit(a) for a in e.args]
            if len(parts) == 2 and out:
                return self.tmp(f"np.multiply({parts[0]}, {parts[1]}, out=out)")
            return self.tmp(" * ".join(parts))
        if isinstance(e, HadamardPower):
            base = self.emit(e.base)
            lit = self.scalar_literal(e.exp) if isinstance(e.exp, sp.Expr) else None
            exp = lit if lit is not None else f"_nm.sv({self.emit_scalar(e.exp)})"
            return self.tmp(f"np.power({base}, {exp}{o})")
        if isinstance(e, Elementwise):
            code = ELEMENTWISE[e.name].numpy.format(u=self.emit(e.arg))
            if out and code.startswith("np.") and code.endswith(")"):
                code = code[:-1] + ", out=out)"
            return self.tmp(code)
        if isinstance(e, sp.MatrixBase):  # explicit numbers, e.g. a difference matrix
            rows = [[float(v) for v in e.row(i)] for i in range(e.rows)]
            if e.cols == 1:
                return self.tmp(f"np.array({[r[0] for r in rows]!r})")
            if e.rows == 1:
                return self.tmp(f"np.array({rows[0]!r})")
            return self.tmp(f"np.array({rows!r})")
        if isinstance(e, sp.MatPow) and e.exp.is_Integer:
            return self.tmp(f"np.linalg.matrix_power({self.emit(e.base)}, {int(e.exp)})")
        if isinstance(e, sp.Inverse):
            return self.tmp(f"np.linalg.inv({self.emit(e.arg)})")
        if isinstance(e, DiagMatrix):
            return self.tmp(f"_nm.diag({self.emit(e.args[0])})")
        if isinstance(e, Identity):
            return self.tmp(f"np.eye({self.dim(e.shape[0])})")
        if isinstance(e, (ZeroMatrix, OneMatrix)):
            fill = "zeros" if isinstance(e, ZeroMatrix) else "ones"
            like = [a for a in self.args if isinstance(a, MatrixSymbol) and a.shape == e.shape]
            if like:  # keeps the batch shape of the argument
                return self.tmp(f"np.{fill}_like({self.names[like[0]]})")
            return self.tmp(f"np.{fill}({self.shape(e)})")
        raise UnsupportedExpressionError(
            f"no kernel rule for {type(e).__name__} in {to_text(e)}")

    def shape(self, e: MatrixExpr) -> str:
        kind = _kind(e)
        if kind == "m":
            return f"({self.dim(e.shape[0])}, {self.dim(e.shape[1])})"
        if kind == "v":
            return f"({self.dim(e.shape[0])},)"
        if kind == "r":
            return f"({self.dim(e.shape[1])},)"
        return "()"

    def emit_matmul(self, e: MatMul, out: bool) -> str:
        scalars = [a for a in e.args if not isinstance(a, MatrixExpr)]
        mats = [a for a in e.args if isinstance(a, MatrixExpr)]
        num, den = fraction(sp.Mul(*scalars))
        body, kind = self.product(mats)
        o = ", out=out" if out else ""
        lift = {"v": "_nm.sv", "r": "_nm.sv", "m": "_nm.sm", "s": ""}[kind]
        if num != 1:
            lit = self.scalar_literal(num)
            factor = lit if lit is not None else f"{lift}({self.emit_scalar(num)})"
            if den == 1:
                return self.tmp(f"np.multiply({factor}, {body}{o})")
            body = self.tmp(f"{factor} * {body}")
        if den != 1:
            return self.tmp(f"_nm.sdiv({body}, {lift}({self.emit_scalar(den)}){o})")
        return body

    def product(self, mats: list[MatrixExpr]) -> tuple[str, str]:
        items = [(self.emit(m), _kind(m)) for m in mats]
        if len(items) == 1:
            return items[0]
        right_to_left = items[-1][1] == "v"
        while len(items) > 1:
            if right_to_left:
                (a, ka), (b, kb) = items[-2], items[-1]
                items[-2:] = [self.combine(a, ka, b, kb)]
            else:
                (a, ka), (b, kb) = items[0], items[1]
                items[:2] = [self.combine(a, ka, b, kb)]
        return items[0]

    def combine(self, a: str, ka: str, b: str, kb: str) -> tuple[str, str]:
        if ka == "s" or kb == "s":
            if ka == kb:
                return self.tmp(f"{a} * {b}"), "s"
            s, other, k = (a, b, kb) if ka == "s" else (b, a, ka)
            lift = "_nm.sm" if k == "m" else "_nm.sv"
            return self.tmp(f"{lift}({s}) * {other}"), k
        table = {("m", "m"): ("np.matmul", "m"), ("m", "v"): ("_nm.mv", "v"),
                 ("r", "m"): ("_nm.vm", "r"), ("r", "v"): ("_nm.dot", "s"),
                 ("v", "r"): ("_nm.outer", "m")}
        if (ka, kb) not in table:
            raise ShapeError(f"cannot multiply a {ka} by a {kb} in a kernel")
        fn, k = table[(ka, kb)]
        return self.tmp(f"{fn}({a}, {b})"), k

    def emit_scalar(self, e: Any) -> str:
        if e in self.names:
            return self.names[e]
        if isinstance(e, sp.core.symbol.Str):
            return repr(str(e))
        lit = self.scalar_literal(e) if isinstance(e, sp.Expr) else None
        if lit is not None:
            return lit
        key = ("scalar", e)
        if key in self.memo:
            return self.memo[key]
        code = self._emit_scalar(e)
        self.memo[key] = code
        return code

    def _emit_scalar(self, e: sp.Expr) -> str:
        if hasattr(e, "kernel_code"):
            parts = [self.emit(a) if isinstance(a, MatrixExpr) else self.emit_scalar(a)
                     for a in e.args]
            return self.tmp(e.kernel_code(parts))
        if isinstance(e, Norm):
            rule = norm_rule(e.p)
            return self.tmp(f"_nm.{rule.numpy_value}({self.emit(e.arg)}, "
                            f"{self.emit_scalar(e.p)})")
        if isinstance(e, ScalarOf):
            return self.emit(e.mat)
        if isinstance(e, sp.Trace):
            return self.tmp(f"_nm.trace({self.emit(e.arg)})")
        if _is_dim(e):  # a dimension used as a number (difference matrices, 1/n)
            return self.tmp(f"float({self.dim(e)})")
        if isinstance(e, MatrixExpr):
            if e.shape == (1, 1):
                return self.emit(e)
            raise ShapeError(f"{to_text(e)} is not a scalar")
        if isinstance(e, sp.Add):
            return self.tmp(" + ".join(self.emit_scalar(a) for a in e.args))
        if isinstance(e, sp.Mul):
            num, den = fraction(e)
            if den != 1:
                return self.tmp(f"_nm.sdiv({self.emit_scalar(num)}, {self.emit_scalar(den)})")
            return self.tmp(" * ".join(self.emit_scalar(a) for a in e.args))
        if isinstance(e, sp.Pow):
            base = self.emit_scalar(e.base)
            if e.exp == sp.Rational(1, 2):
                return self.tmp(f"np.sqrt({base})")
            if e.exp.is_number and e.exp.is_negative:
                pos = self.emit_scalar(sp.Pow(e.base, -e.exp))
                return self.tmp(f"_nm.sdiv(1.0, {pos})")
            return self.tmp(f"np.power({base}, {self.emit_scalar(e.exp)})")
        simple = {sp.exp: "np.exp", sp.log: "np.log", sp.Abs: "np.abs", sp.sign: "np.sign",
                  sp.tanh: "np.tanh", sp.sin: "np.sin", sp.cos: "np.cos"}
        for f, name in simple.items():
            if isinstance(e, f):
                return self.tmp(f"{name}({self.emit_scalar(e.args[0])})")
        if isinstance(e, (sp.Max, sp.Min)):
            fn = "np.maximum" if isinstance(e, sp.Max) else "np.minimum"
            code = self.emit_scalar(e.args[0])
            for a in e.args[1:]:
                code = self.tmp(f"{fn}({code}, {self.emit_scalar(a)})")
            return code
        if isinstance(e, sp.Symbol):
            raise UnsupportedExpressionError(f"{e} is not a kernel argument")
        raise UnsupportedExpressionError(
            f"no kernel rule for {type(e).__name__} in {to_text(e)}")


def generate_source(expr: Any, args: list, fusions: dict | None = None,
                    name: str = "kernel") -> str:
    """The Python source of a kernel (exposed for inspection and tests)."""
    gen = _Generator(args, fusions or {})
    result = gen.emit(expr, out=True)
    params = ", ".join(gen.names[a] for a in args)
    body = [f"def {name}({params}, out=None):"]
    for a in args:
        if isinstance(a, sp.Symbol):
            body.append(f"    {gen.names[a]} = np.asarray({gen.names[a]}, dtype=float)")
        else:
            body.append(f"    {gen.names[a]} = _nm._float({gen.names[a]})")
    body += [f"    {line}" for line in gen.lines]
    if "out=out" in "\n".join(gen.lines):
        body.append(f"    return {result}")
    else:
        body.append(f"    return _nm.assign(out, {result})")
    return "\n".join(body) + "\n"


def kernel(expr: Any, args: list | None = None, *, fusions: dict | None = None) -> Kernel:
    """A numpy function computing ``expr``; works for any dimension, batched, ``out=``.

    ``args`` lists the symbols in call order (default: the free symbols by name).

    >>> import numpy as np, symnorm as sn
    >>> x = sn.vector("x")
    >>> k = sn.kernel(x/sn.norm(x, 2), [x])
    >>> k(np.array([3.0, 4.0]))
    array([0.6, 0.8])
    >>> k(np.zeros(3))
    array([0., 0., 0.])
    """
    from .symbols import check_shapes

    check_shapes(expr)
    if args is None:
        args = free_arguments(expr)
    args = list(args)
    for a in args:
        if not isinstance(a, (sp.Symbol, MatrixSymbol)):
            raise UnsupportedExpressionError(f"kernel arguments must be symbols, got {a!r}")
    missing = [s for s in free_arguments(expr) if s not in args]
    if missing:
        raise UnsupportedExpressionError(
            f"{to_text(expr)} needs the argument(s) {', '.join(map(str, missing))}")
    source = generate_source(expr, args, fusions)
    namespace: dict = {"np": np, "_nm": numeric}
    exec(compile(source, f"<symnorm kernel: {to_text(expr)[:60]}>", "exec"), namespace)
    return Kernel(expr, args, source, namespace["kernel"])


def kernel_for_derivation(deriv: Any, args: list | None = None) -> Kernel:
    args = args or free_arguments(deriv.f, first=deriv.wrt)
    k = kernel(deriv.result, args, fusions=deriv.fusions)
    return k
