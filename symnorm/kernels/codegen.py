"""Kernel source from an expression: one numpy statement per distinct subexpression
(common subexpressions are computed once), helpers of :mod:`symnorm.numeric` called as
``_nm.<name>``, and the rewrites that keep the numbers finite (stable logistic ratios,
fused norm gradients). Only code generated here is ever executed.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

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

from ..model.atoms import Elementwise, Norm, ScalarOf
from ..model.errors import DomainError, ShapeError, UnsupportedExpressionError
from ..model.functions import ScalarFunction, VectorFunction
from ..model.text import fraction, to_text
from ..rules import ELEMENTWISE, Fusion, function_rule, norm_rule
from .arguments import is_dimension, kind_of


class _Generator:
    def __init__(self, args: list, fusions: dict) -> None:
        self.args = args
        self.fusions = fusions
        self.lines: list[str] = []
        self.memo: dict = {}
        self.names = {a: f"a_{a.name}" if f"a_{a.name}".isidentifier() else f"a_{i}"
                      for i, a in enumerate(args)}
        self.counter = itertools.count()
        self.dims: dict = {}
        for a in args:
            if isinstance(a, MatrixSymbol):
                kind = kind_of(a)
                axes = {"v": [(a.shape[0], -1)], "r": [(a.shape[1], -1)],
                        "m": [(a.shape[0], -2), (a.shape[1], -1)], "s": []}[kind]
                for d, axis in axes:
                    if is_dimension(d) and d not in self.dims:
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
        if e.is_Rational:  # beyond the float range (norm(x, 2.5e400)): infinite order
            v = float(e) if abs(e) < sp.Integer(2) ** 1024 else math.copysign(math.inf, e)
            if math.isinf(v):
                return "np.inf" if v > 0 else "-np.inf"
            return f"{int(e)}.0" if e.is_Integer and abs(e) < 2 ** 53 else repr(v)
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
            if isinstance(self.fusions[e], Fusion):  # a derivative with a helper of its own
                return self.tmp(self.fused(self.fusions[e], o))
            rule, u, p = self.fusions[e]
            if _contracted(u) and _scalar_norm(p):  # ∇|u| of a 1x1 u: sign(u)
                return self.tmp(f"np.sign({self.emit(u)}{o})")
            if rule.numpy_gradient:
                return self.tmp(f"_nm.{rule.numpy_gradient}({self.emit(u)}, "
                                f"{self.emit_scalar(p)}{o})")
        if not isinstance(e, MatrixExpr):
            return self.emit_scalar(e)
        if isinstance(e, MatrixSymbol):
            raise UnsupportedExpressionError(f"{e.name} is not a kernel argument")
        rule = function_rule(e)
        if rule is not None and not hasattr(e, "kernel_code"):  # softmax(u), inv(M), ...
            o = o if isinstance(e, VectorFunction) else ""  # (those helpers take out=)
            return self.tmp(self.function_code(e, rule) [:-1] + f"{o})")
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
            return self.tmp(self.sum_code(e.args))
        if isinstance(e, Transpose):
            inner = self.emit(e.arg)
            return inner if kind_of(e) in "vrs" else self.tmp(f"_nm.mT({inner})")
        if isinstance(e, HadamardProduct):
            parts = [self.emit(a) for a in e.args]
            if len(parts) == 2 and out:
                return self.tmp(f"np.multiply({parts[0]}, {parts[1]}, out=out)")
            return self.tmp(" * ".join(parts))
        if isinstance(e, HadamardPower):
            base = self.emit(e.base)
            lit = self.scalar_literal(e.exp) if isinstance(e.exp, sp.Expr) else None
            exp = lit if lit is not None else self.emit_scalar(e.exp) \
                if _contracted(e.base) else f"_nm.sv({self.emit_scalar(e.exp)})"
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

    def function_code(self, e: Any, rule: Any) -> str:
        """``_nm.<value helper>(args..., literals...)`` of a registered function node."""
        parts = [self.emit(a) if isinstance(a, MatrixExpr) else self.emit_scalar(a)
                 for a in rule.operands(e)]
        return f"_nm.{rule.numpy_value}({', '.join([*parts, *rule.kernel_args(e)])})"

    def fused(self, fusion: Fusion, o: str = "") -> str:
        """The call of a fused derivative helper recorded by the engine."""
        parts = [self.emit(a) if isinstance(a, MatrixExpr) else self.emit_scalar(a)
                 for a in fusion.args]
        code = fusion.kernel_code(parts)
        return code[:-1] + f"{o})" if o else code

    def sum_code(self, terms: Any) -> str:
        """``a + b - c``: a term ``-c`` is subtracted, not first multiplied by -1 into a
        temporary of its own."""
        plus, minus = [], []
        for t in terms:
            if isinstance(t, MatMul) and t.args[0] == -1 and len(t.args) > 1:
                rest = t.args[1:]
                minus.append(rest[0] if len(rest) == 1 else MatMul(*rest))
            else:
                plus.append(t)
        if not plus:  # every term negated: keep the generic form
            return " + ".join(self.emit(t) for t in terms)
        code = " + ".join(self.emit(t) for t in plus)
        return code + "".join(f" - {self.emit(t)}" for t in minus)

    def shape(self, e: MatrixExpr) -> str:
        kind = kind_of(e)
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
        c = sp.Mul(*scalars)
        hit = _lp_gradient_form(c, mats)
        if hit is not None:  # sign(u) .* |u|^(p-1) / norm(u, p)^(p-1): the fused helper
            u, p, rest, lead = hit
            helper = norm_rule(p).numpy_gradient
            if helper:
                o = ", out=out" if out else ""
                alone = rest == 1 and not lead
                grad = self.tmp(f"_nm.{helper}({self.emit(u)}, {self.emit_scalar(p)}"
                                f"{o if alone else ''})")
                for m in reversed(lead):  # M u_p-gradient (the chain rule's A.T g)
                    grad = self.tmp(f"_nm.mv({self.emit(m)}, {grad})")
                if rest == 1:
                    return self.tmp(f"_nm.assign(out, {grad})") if lead and out else grad
                lit = self.scalar_literal(rest)
                factor = lit if lit is not None else f"_nm.sv({self.emit_scalar(rest)})"
                return self.tmp(f"np.multiply({factor}, {grad}{o})")
        stable = _stable_logistic(c)
        while stable is not None:  # one logistic denominator at a time, until none is left
            c, stable = stable, _stable_logistic(stable)
        num, den = fraction(c)
        items = [(self.emit(m), kind_of(m)) for m in mats]
        powers = _l2_powers(den)
        if powers:
            # c/‖u‖₂ · M u is computed as c · M (u/‖u‖₂): u/‖u‖₂ cannot overflow or
            # underflow, while M u can before the division (A = 1e150 I, x = 1e150 1);
            # each factor u or u.T of the product absorbs one power of ‖u‖₂
            for i, m in enumerate(mats):
                kind = kind_of(m)
                u = m if kind == "v" else (m.arg if kind == "r" and isinstance(m, Transpose)
                                           else None)
                if u is None or powers.get(u, (None, 0))[1] < 1:
                    continue
                n2, k = powers[u]
                powers[u] = (n2, k - 1)
                if len(mats) == 2 and i == 1 and kind == "v" and kind_of(mats[0]) == "m":
                    # M (u/‖u‖₂) in one helper: it scales the product, not u, when safe
                    items = [(self.tmp(f"_nm.mv_unit({self.emit(mats[0])}, "
                                       f"{self.emit(u)})"), "v")]
                    break
                key = ("unit", u)
                if key not in self.memo:
                    self.memo[key] = self.tmp(f"_nm.norm2_grad({self.emit(u)})")
                items[i] = (self.memo[key], kind)
            rest = [f for f in sp.Mul.make_args(den) if _l2_power(f) is None]
            den = sp.Mul(*rest, *(n2**k for n2, k in powers.values()))
        body, kind = self.product_items(items)
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
        return self.product_items([(self.emit(m), kind_of(m)) for m in mats])

    def product_items(self, items: list[tuple[str, str]]) -> tuple[str, str]:
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
        stable = _stable_logistic(e)
        if stable is not None:  # exp(a)/(1 + exp(a))**2 and friends, without inf/inf
            return self.emit_scalar(stable)
        if isinstance(e, _Sigmoid):
            return self.tmp(f"_nm.sigmoid({self.emit_scalar(e.args[0])})")
        if isinstance(e, _Softplus):
            return self.tmp(f"_nm.softplus({self.emit_scalar(e.args[0])})")
        if isinstance(e, sp.log):  # log((1 + exp(a))**k) = k softplus(a): log(sigmoid) too
            arg = e.args[0]
            base, k = (arg.base, arg.exp) if isinstance(arg, sp.Pow) else (arg, sp.S.One)
            hit = _c_plus_exp(base)
            if hit is not None:  # log(c + e^a) = log(c) + softplus(a - log(c))
                c, a = hit
                sp_code = self.tmp(f"_nm.softplus({self.emit_scalar(a - sp.log(c))})")
                if c != 1:
                    sp_code = self.tmp(f"{self.emit_scalar(sp.log(c))} + {sp_code}")
                return sp_code if k == 1 else self.tmp(f"{self.emit_scalar(k)} * {sp_code}")
            rest = _one_plus(arg)
            if rest is not None:  # log(1 + u) = log1p(u): exact where u is tiny
                return self.tmp(f"np.log1p({self.emit_scalar(rest)})")
        if isinstance(e, sp.Add):
            split = _exp_minus_one(e)
            if split is not None:  # s*(exp(u) - 1) = s*expm1(u): exact where u is tiny
                s, u, others = split
                code = self.tmp(f"np.expm1({self.emit_scalar(u)})")
                if s == -1:
                    code = self.tmp(f"-{code}")
                if others == 0:
                    return code
                return self.tmp(f"{code} + {self.emit_scalar(others)}")
        if hasattr(e, "kernel_code"):
            parts = [self.emit(a) if isinstance(a, MatrixExpr) else self.emit_scalar(a)
                     for a in e.args]
            return self.tmp(e.kernel_code(parts))
        if isinstance(e, Norm) and _contracted(e.arg) and _scalar_norm(e.p):
            # every p-norm (p > 0) of a 1x1 argument is its absolute value (the helpers
            # reduce over the last axis, which for a batch of 1x1 values is the batch)
            u = self.emit(e.arg)
            if e.p == 0:
                return self.tmp(f"np.not_equal({u}, 0).astype(float)")
            return self.tmp(f"np.abs({u})")
        if isinstance(e, ScalarFunction):  # sum(u), det(M), logsumexp(u), ...
            rule = function_rule(e)
            if rule is None:
                raise UnsupportedExpressionError(f"no kernel rule for {type(e).__name__} in "
                                                 f"{to_text(e)}")
            return self.tmp(self.function_code(e, rule))
        if isinstance(e, Norm):
            rule = norm_rule(e.p)
            return self.tmp(f"_nm.{rule.numpy_value}({self.emit(e.arg)}, "
                            f"{self.emit_scalar(e.p)})")
        if isinstance(e, ScalarOf):
            return self.emit(e.mat)
        if isinstance(e, sp.Trace):
            return self.tmp(f"_nm.trace({self.emit(e.arg)})")
        if is_dimension(e):  # a dimension used as a number (difference matrices, 1/n)
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
                    name: str = "kernel", orders: dict | None = None) -> str:
    """The Python source of a kernel (exposed for inspection and tests).

    Its arguments arrive as validated arrays of one real dtype (see :class:`Kernel`).
    ``orders`` maps each symbolic norm order to ``(lowest value, norm text)``: the
    kernel refuses orders below it.
    """
    _refuse_non_real(expr)
    gen = _Generator(args, fusions or {})
    for p, (low, where) in (orders or {}).items():
        gen.lines.append(f"_nm.check_order({gen.emit_scalar(p)}, {float(low)!r}, "
                         f"{to_text(p)!r}, {where!r})")
    result = gen.emit(expr, out=True)
    params = ", ".join([*(gen.names[a] for a in args), "out=None"])
    body = [f"def {name}({params}):"]
    body += [f"    {line}" for line in gen.lines]
    if "out=out" in "\n".join(gen.lines):
        body.append(f"    return {result}")
    else:
        body.append(f"    return _nm.assign(out, {result})")
    return "\n".join(body) + "\n"


_NOT_REAL = ((sp.zoo, "a division by zero (SymPy's zoo, complex infinity, as in x/0)"),
             (sp.nan, "an undefined number (SymPy's nan, as in 0/0)"),
             (sp.I, "the imaginary unit I (as in sqrt(-1)): it is not real"))


def _refuse_non_real(expr: Any) -> None:
    """A clear error for an expression no kernel can compute: one holding ``zoo``,
    ``nan`` or ``I`` (SymPy builds them from ``x/0``, ``0/0``, ``sqrt(-1)``)."""
    if not isinstance(expr, sp.Basic):
        return
    for atom, what in _NOT_REAL:
        if expr.has(atom):
            raise DomainError(f"no kernel for {to_text(expr)}: it holds {what}")


def order_ranges(*exprs: Any) -> dict:
    """``{p: (p_min, "norm(u, p)")}`` for every norm of a symbolic order in ``exprs``."""
    found: dict = {}
    for e in exprs:
        if not isinstance(e, sp.Basic):
            continue
        for n in e.atoms(Norm):
            p = n.p
            if isinstance(p, sp.Expr) and p.free_symbols and n.p_min.is_number:
                low = float(n.p_min)
                if p not in found or low > found[p][0]:
                    found[p] = (low, to_text(n))
    return found


def matrix_muls(e: Any) -> Any:
    """``Mul`` nodes that hold matrices (SymPy builds them in substitutions) as ``MatMul``."""
    if not isinstance(e, sp.Basic) or not e.args or isinstance(e, MatrixSymbol):
        return e
    args = tuple(matrix_muls(a) for a in e.args)
    if isinstance(e, sp.Mul) and any(isinstance(a, MatrixExpr) for a in args):
        return MatMul(*args)
    if args != e.args:
        return e.func(*args)
    return e


class _Sigmoid(sp.Function):
    """The logistic function inside kernels (computed by ``numeric.sigmoid``)."""

    nargs = 1


def _contracted(u: Any) -> bool:
    """Is ``u`` 1x1 by a contraction (``a.T*x``), computed as one number per batch entry?
    A vector argument of length 1 keeps its last axis, and the norm helpers reduce it."""
    return isinstance(u, MatrixExpr) and kind_of(u) == "s" and not any(
        s.shape == (1, 1) for s in u.atoms(MatrixSymbol))


def _scalar_norm(p: Any) -> bool:
    """Is a norm of order ``p`` of a single number its absolute value (its count for
    ``p = 0``)? Every order that is a number, ``oo``, a symbol or a matrix-norm word;
    not an order object with its own parameters (group labels)."""
    return isinstance(p, (sp.Expr, sp.core.symbol.Str)) and not hasattr(p, "numeric")


class _Softplus(sp.Function):
    """``log(1 + exp(a))`` inside kernels (computed by ``numeric.softplus``)."""

    nargs = 1


def _c_plus_exp(b: Any) -> tuple[Any, Any] | None:
    """``(c, a)`` when ``b`` is ``c + exp(a)`` with ``c`` a positive number, else None
    (SymPy writes ``softplus(softplus(q))`` as ``log(exp(q) + 2)``)."""
    if isinstance(b, sp.Add) and len(b.args) == 2:
        c, other = b.as_coeff_Add()
        if c.is_positive and isinstance(other, sp.exp):
            return c, other.args[0]
    return None


def _one_plus(arg: Any) -> Any:
    """``u`` when ``arg`` is ``1 + u`` (a sum whose constant term is 1), else None."""
    if isinstance(arg, sp.Add):
        const, rest = arg.as_coeff_Add()
        if const == 1 and rest != 0:
            return rest
    return None


def _exp_minus_one(e: sp.Add) -> tuple | None:
    """``(s, u, others)`` when the sum ``e`` is ``s*(exp(u) - 1) + others`` (``s = +-1``),
    else None."""
    const, rest = e.as_coeff_Add()
    if const not in (1, -1):
        return None
    terms = sp.Add.make_args(rest)
    for i, t in enumerate(terms):
        coeff, body = t.as_coeff_Mul()
        if isinstance(body, sp.exp) and coeff == -const:
            return coeff, body.args[0], sp.Add(*terms[:i], *terms[i + 1:])
    return None


def _coefficient(exponent: Any, a: Any) -> tuple[Any, Any]:
    """``(j, rest)`` with ``exponent = j*a + rest``, ``j`` a number taken so that the terms
    of ``a`` cancel from ``rest`` (``j = 0``, ``rest = exponent`` when they do not)."""
    lead = sp.Add.make_args(a)[0]
    size = len(sp.Add.make_args(exponent))
    for t in sp.Add.make_args(exponent):
        j = t / lead
        if j.is_number and j.is_real and j != 0:
            rest = exponent - j * a
            if len(sp.Add.make_args(rest)) < size or rest == 0:
                return j, rest
    return sp.S.Zero, exponent


def _stable_logistic(e: Any) -> Any:
    """``exp(j*a + r)/(1 + exp(a))**k`` rewritten without ``inf/inf``: as
    ``sigmoid(a)**j * sigmoid(-a)**(k-j)`` when ``r = 0`` (exact), else as one
    exponential ``exp(r - j*softplus(-a) - (k - j)*softplus(a))`` (for ``0 <= j <= k``;
    the same identity for other ``j``). A denominator ``c + exp(a)`` (``c > 0``) is
    ``c*(1 + exp(a - log(c)))``.

    The textbook forms of the sigmoid and its derivative overflow to ``inf/inf`` for
    large ``|a|``, and so do the ratios SymPy builds when it merges exponentials
    (``exp(u)*exp(v)/(exp(u) + 1)`` becomes ``exp(u + v)/(exp(u) + 1)``); the rewritten
    forms are finite wherever the ratio is. None when ``e`` has no such factor.
    """
    factors = list(sp.Mul.make_args(e)) if isinstance(e, (sp.Mul, sp.Pow)) else []
    for i, f in enumerate(factors):
        if not (isinstance(f, sp.Pow) and f.exp.is_number and f.exp.is_negative):
            continue
        hit = _c_plus_exp(f.base)
        if hit is None:
            continue
        c, a0 = hit
        k = -f.exp
        rest = factors[:i] + factors[i + 1:]
        # (c + e^a0)^-k = c^-k (1 + e^a)^-k with a = a0 - log(c); e^(j a0) = c^j e^(j a)
        a = a0 - sp.log(c)
        for j_index, g in enumerate(rest):
            if not isinstance(g, sp.exp):
                continue
            j, r = _coefficient(g.args[0], a0)
            others = [*rest[:j_index], *rest[j_index + 1:], c ** (j - k)]
            if r == 0 and (0 < j) is sp.true and (j <= k) is sp.true:
                return sp.Mul(*others, _Sigmoid(a) ** j, _Sigmoid(-a) ** (k - j))
            # one exponential of log-sigmoids, exp(r + j*log(sigmoid(a)) + (k - j)*
            # log(sigmoid(-a))): never inf*0, whichever of exp(r) and the sigmoids
            # overflows or underflows on its own (r = -a, a -> -oo: exp(r) sigmoid(a))
            if (0 <= j) is sp.true and (j <= k) is sp.true:
                power = r - j * _Softplus(-a) - (k - j) * _Softplus(a)
            elif (j > k) is sp.true:
                power = r + (j - k) * a - k * _Softplus(-a)
            else:
                power = r + j * a - k * _Softplus(a)
            return sp.Mul(*others, sp.exp(power))
        return sp.Mul(*rest, c ** -k, _Sigmoid(-a) ** k)
    return None


def _lp_gradient_form(c: Any, mats: list) -> tuple | None:
    """``(u, p, rest, lead)`` when ``c * mats`` is ``rest * lead * norm(u, p)**(1 - p) *
    (sign(u) .* abs(u).^(p - 1))`` (``lead`` the matrices in front, ``A.T`` of
    ``‖A x − b‖_p``), the gradient of a p-norm written out (as the chain rule leaves it
    when the order depends on the variable, or for an order of 1e100): computed as the
    ratio it is, it overflows to ``inf/inf`` long before the gradient does. None
    otherwise."""
    if not mats or not isinstance(mats[-1], HadamardProduct) or len(mats[-1].args) != 2:
        return None
    lead = mats[:-1]
    if any(kind_of(m) != "m" for m in lead):
        return None
    sign = next((a for a in mats[-1].args if isinstance(a, Elementwise) and a.name == "sign"),
                None)
    power = next((a for a in mats[-1].args if isinstance(a, HadamardPower)), None)
    if sign is None or power is None or not (isinstance(power.base, Elementwise) and
                                             power.base.name == "abs"):
        return None
    u = sign.arg
    if power.base.arg != u or kind_of(u) != "v":
        return None
    for f in sp.Mul.make_args(c):
        if isinstance(f, sp.Pow) and isinstance(f.base, Norm) and f.base.arg == u:
            p = f.base.p
            if sp.expand(power.exp - (p - 1)) != 0:
                continue
            # norm(u, p)**e = norm(u, p)**(1 - p) * norm(u, p)**(e - (1 - p)): SymPy merges
            # the gradient's power with the norm's other factors (1/norm(x, p)**(p + 1) in
            # the gradient of 1/norm(x, p), norm**(2 - p) in that of norm**2)
            extra = sp.expand(f.exp - (1 - p))
            others = [g for g in sp.Mul.make_args(c) if g is not f]
            if extra != 0:
                others.append(sp.Pow(f.base, extra))
            return u, p, sp.Mul(*others), lead
    return None


def _l2_power(f: Any) -> tuple | None:
    """``(norm(u, 2), k)`` when the factor ``f`` is ``norm(u, 2)**k``, k a positive integer."""
    base, k = (f.base, f.exp) if isinstance(f, sp.Pow) else (f, sp.S.One)
    if isinstance(base, Norm) and base.p == 2 and k.is_Integer and k > 0:
        return base, int(k)
    return None


def _l2_powers(den: Any) -> dict:
    """``{u: (norm(u, 2), k)}`` for the factors ``norm(u, 2)**k`` of a denominator."""
    found: dict = {}
    for f in sp.Mul.make_args(den):
        hit = _l2_power(f)
        if hit is not None:
            n2, k = hit
            found[n2.arg] = (n2, found.get(n2.arg, (n2, 0))[1] + k)
    return found


