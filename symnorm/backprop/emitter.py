"""Backprop kernel source from a derivation: the forward equations over the named
intermediates, then the deltas and the gradients, each emitted once and referred to by
name afterwards; samples are the rows of 2-D arrays (a layer is one product ``h @ W.T``)."""

from __future__ import annotations

import itertools
import re
from typing import Any

import sympy as sp
from sympy import (
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
from ..model.errors import UnsupportedExpressionError
from ..model.functions import ScalarFunction, VectorFunction
from ..model.text import fraction, to_text
from ..rules import ELEMENTWISE, function_rule, norm_rule
from .network import FrobeniusSquared

# elementwise maps the generated code computes with a _bp helper instead of the rule's numpy
_ELEMENTWISE_FAST = {"sigmoid": "_bp.sigmoid({u})"}
# the variables the emitter writes: temporaries and named intermediates
_LOCAL = re.compile(r"\b(_t\d+|v_\w+)\b")
_ALIAS = re.compile(r"(_t\d+|v_\w+) = (_t\d+|v_\w+)")


def release_dead(lines: list[str], keep: set[str]) -> list[str]:
    """``lines`` (statements at indentation 0, their blocks indented) with ``del`` after
    the last use of every temporary and named intermediate not in ``keep``.

    Without it every array of the step stays alive until the kernel returns: at large
    batches each new array is then fresh memory from the system, and its page faults
    cost as much as computing it (the 784-128-10 step at B = 1024 was 1.14x hand numpy,
    whose temporaries die as it goes). Names bound to one another (``v_a1 = _t0``) are
    one array: they are released together, after the last use of any of them.
    """
    statements: list[list[str]] = []
    for line in lines:
        if statements and line.startswith((" ", "else:", "elif ")):
            statements[-1].append(line)
        else:
            statements.append([line])
    group: dict[str, str] = {}  # name -> the first name of its array

    def root(name: str) -> str:
        while name in group:
            name = group[name]
        return name

    last: dict[str, int] = {}
    for i, statement in enumerate(statements):
        alias = _ALIAS.fullmatch(statement[0]) if len(statement) == 1 else None
        if alias:
            group[alias.group(1)] = root(alias.group(2))
        for line in statement:
            for name in _LOCAL.findall(line):
                last[root(name)] = i
    kept = {root(name) for name in keep}
    members: dict[str, list[str]] = {}
    for name in last:
        members.setdefault(root(name), [])
    for name in group:
        members.setdefault(root(name), []).append(name)
    out: list[str] = []
    for i, statement in enumerate(statements):
        out += statement
        dead = sorted(n for r, j in last.items() if j == i and r not in kept
                      for n in [r, *members.get(r, [])])
        if dead:
            out.append(f"del {', '.join(dead)}")
    return out


class _Value:
    """An emitted expression: its code, whether it has a batch axis, and its orientation
    (``col``/``row`` vector, ``mat`` matrix, ``scalar``)."""

    __slots__ = ("code", "batched", "kind")

    def __init__(self, code: str, batched: bool, kind: str) -> None:
        self.code = code
        self.batched = batched
        self.kind = kind


def orientation(e: Any) -> str:
    """``col``, ``row``, ``mat`` or ``scalar`` from the shape (a 1x1 symbol is a vector)."""
    if not isinstance(e, MatrixExpr):
        return "scalar"
    r, c = e.shape
    if c == 1:
        return "col"
    if r == 1:
        return "row"
    return "mat"


def kind_of(e: Any, kinds: dict) -> str:
    """Orientation from the structure, so that 1x1 vectors and 1x1 weights stay what they
    are (a shape alone cannot tell a vector of length 1 from an inner product)."""
    if not isinstance(e, MatrixExpr):
        return "scalar"
    if isinstance(e, MatrixSymbol):
        return kinds.get(e, orientation(e))
    if e.shape[0] != 1 and e.shape[1] != 1:
        return "mat"
    if isinstance(e, Transpose):
        return {"col": "row", "row": "col"}.get(kind_of(e.arg, kinds), kind_of(e.arg, kinds))
    if isinstance(e, MatMul):
        mats = [a for a in e.args if isinstance(a, MatrixExpr)]
        first, last = kind_of(mats[0], kinds), kind_of(mats[-1], kinds)
        rowlike = first in ("row", "scalar")
        collike = last in ("col", "scalar")
        return {(False, True): "col", (True, True): "scalar", (True, False): "row",
                (False, False): "mat"}[(rowlike, collike)]
    if isinstance(e, (MatAdd, HadamardProduct)):
        for a in e.args:
            if not isinstance(a, (OneMatrix, ZeroMatrix)) and isinstance(a, MatrixExpr):
                return kind_of(a, kinds)
    if isinstance(e, (Elementwise, HadamardPower)):
        return kind_of(e.args[0], kinds)
    return orientation(e)


class Emitter:
    """Emits numpy statements for derived expressions; each subexpression once."""

    def __init__(self, names: dict, batched: set, fusions: dict, kinds: dict) -> None:
        self.names = dict(names)          # symbol -> variable
        self.kinds = kinds                # symbol -> orientation, where a shape is ambiguous
        self.batched = set(batched)       # symbols whose arrays have a batch axis
        self.fusions = fusions
        self.lines: list[str] = []
        self.memo: dict = {}
        self.counter = itertools.count()
        self.scalars: set[str] = set()    # temporaries holding numbers or (B,) arrays

    def tmp(self, code: str, batched: bool, kind: str) -> _Value:
        name = f"_t{next(self.counter)}"
        self.lines.append(f"{name} = {code}")
        if kind == "scalar":
            self.scalars.add(name)
        return _Value(name, batched, kind)

    def define(self, symbol: MatrixSymbol, expr: Any, var: str) -> None:
        """``var = expr`` for a named intermediate, then use ``var`` for the symbol."""
        v = self.emit(expr)
        self.lines.append(f"{var} = {v.code}")
        self.names[symbol] = var
        if v.batched:
            self.batched.add(symbol)

    # -- matrices and vectors ------------------------------------------------------
    def emit(self, e: Any) -> _Value:
        if e in self.memo:
            return self.memo[e]
        v = self._emit(e)
        self.memo[e] = v
        return v

    def _emit(self, e: Any) -> _Value:
        if not isinstance(e, MatrixExpr):
            return self.scalar(e)
        kind = kind_of(e, self.kinds)
        if e in self.names:
            return _Value(self.names[e], e in self.batched, kind)
        if isinstance(e, MatrixSymbol):
            raise UnsupportedExpressionError(f"{e.name} is not a kernel argument")
        if e in self.fusions:
            rule, u, p = self.fusions[e]
            if rule.numpy_gradient:
                uv = self.emit(u)
                return self.tmp(f"_nm.{rule.numpy_gradient}({uv.code}, "
                                f"{self.scalar(p).code})", uv.batched, kind)
        if isinstance(e, Transpose):
            inner = self.emit(e.arg)
            if kind == "mat":
                if inner.batched:
                    return self.tmp(f"np.swapaxes({inner.code}, -1, -2)", True, kind)
                return _Value(f"{inner.code}.T", False, kind)
            return _Value(inner.code, inner.batched, kind)  # rows and columns: one array
        if isinstance(e, MatAdd):
            return self.add(e.args, kind)
        if isinstance(e, HadamardProduct):
            parts = [self.emit(a) for a in e.args]
            return self.tmp(" * ".join(p.code for p in parts), any(p.batched for p in parts),
                            kind)
        if isinstance(e, HadamardPower):
            base = self.emit(e.base)
            if e.exp == 2:
                return self.tmp(f"{base.code} * {base.code}", base.batched, kind)
            ex = self.scalar(e.exp)
            return self.tmp(f"np.power({base.code}, {ex.code})", base.batched, kind)
        if isinstance(e, Elementwise):
            u = self.emit(e.arg)
            template = _ELEMENTWISE_FAST.get(e.name, ELEMENTWISE[e.name].numpy)
            return self.tmp(template.format(u=u.code), u.batched, kind)
        if isinstance(e, VectorFunction):  # layer_norm(a), softmax(a): one row per sample
            return self.function(e, kind)
        if isinstance(e, OneMatrix):
            return _Value("1.0", False, kind)
        if isinstance(e, ZeroMatrix):
            return _Value("0.0", False, kind)
        if isinstance(e, Identity):
            return self.tmp(f"np.eye({int(e.shape[0])})", False, kind)
        if isinstance(e, MatMul):
            return self.matmul(e)
        raise UnsupportedExpressionError(f"no fused-kernel rule for {type(e).__name__} in "
                                         f"{to_text(e)}")

    def add(self, terms: Any, kind: str) -> _Value:
        code, batched = "", False
        negative = [t for t in terms if isinstance(t, MatMul) and t.args[0] == -1]
        terms = [t for t in terms if t not in negative] + negative  # y - t, not -t + y
        for i, t in enumerate(terms):
            sign = "+"
            if isinstance(t, MatMul) and t.args[0] == -1:
                sign, t = "-", MatMul(*t.args[1:]) if len(t.args) > 2 else t.args[1]
            v = self.emit(t)
            batched = batched or v.batched
            if i == 0:
                code = v.code if sign == "+" else f"-{v.code}"
            else:
                code += f" {sign} {v.code}"
        return self.tmp(code, batched, kind)

    def coefficient(self, c: sp.Expr, body: _Value) -> _Value:
        """``c * body`` for a scalar ``c``; a zero denominator gives 0 (the kink value)."""
        if c == 1:
            return body
        num, den = fraction(c)
        out = body
        if num != 1:
            n = self.scalar(num)
            out = self.tmp(f"{self.lift(n, out)} * {out.code}", n.batched or out.batched,
                           out.kind)
        if den != 1:
            d = self.scalar(den)
            if d.code.replace(".", "", 1).isdigit():
                return self.tmp(f"{out.code} / {d.code}", out.batched, out.kind)
            return self.tmp(f"_nm.sdiv({out.code}, {self.lift(d, out)})",
                            d.batched or out.batched, out.kind)
        return out

    def lift(self, s: _Value, target: _Value) -> str:
        """A batched scalar ``(B,)`` shaped to broadcast against ``target``."""
        if not s.batched or target.kind == "scalar":
            return s.code
        return f"{s.code}[:, None, None]" if target.kind == "mat" else f"{s.code}[:, None]"

    def matmul(self, e: MatMul) -> _Value:
        scalars = [a for a in e.args if not isinstance(a, MatrixExpr)]
        mats = [a for a in e.args if isinstance(a, MatrixExpr)]
        items = [(self.emit(m), kind_of(m, self.kinds)) for m in mats]
        if len(items) == 1:
            body = items[0][0]
        elif items[-1][1] == "col":  # a chain ending in a vector: right to left
            body, kind = items[-1]
            for left, lk in reversed(items[:-1]):
                body = self.combine(left, lk, body, kind)
                kind = body.kind
        else:
            body, kind = items[0]
            for right, rk in items[1:]:
                body = self.combine(body, kind, right, rk)
                kind = body.kind
        return self.coefficient(sp.Mul(*scalars), body)

    def combine(self, a: _Value, ka: str, b: _Value, kb: str) -> _Value:
        batched = a.batched or b.batched
        if ka == "scalar" or kb == "scalar":
            s, other = (a, b) if ka == "scalar" else (b, a)
            return self.tmp(f"{self.lift(s, other)} * {other.code}", batched, other.kind)
        if ka == "mat" and kb == "col":
            if a.batched:
                return self.tmp(f"np.matmul({a.code}, {b.code}[..., None])[..., 0]", True, "col")
            if a.code.endswith(".T"):          # (Wᵀ v) for row-stored v: v @ W
                return self.tmp(f"{b.code} @ {a.code[:-2]}", batched, "col")
            return self.tmp(f"{b.code} @ {a.code}.T", batched, "col")
        if ka == "row" and kb == "mat":
            if b.batched:
                return self.tmp(f"np.matmul({a.code}[..., None, :], {b.code})[..., 0, :]",
                                True, "row")
            return self.tmp(f"{a.code} @ {b.code}", batched, "row")
        if ka == "row" and kb == "col":
            if batched:
                return self.tmp(f"_bp.rowdot({a.code}, {b.code})", True, "scalar")
            return self.tmp(f"{a.code} @ {b.code}", False, "scalar")
        if ka == "col" and kb == "row":
            if batched:
                return self.tmp(f"{a.code}[..., :, None] * {b.code}[..., None, :]", True, "mat")
            return self.tmp(f"{a.code}[:, None] * {b.code}[None, :]", False, "mat")
        if ka == "mat" and kb == "mat":
            return self.tmp(f"np.matmul({a.code}, {b.code})", batched, "mat")
        raise UnsupportedExpressionError(f"cannot multiply a {ka} by a {kb} in a kernel")

    def function(self, e: Any, kind: str) -> _Value:
        """A registered function of a whole vector, row by row: ``_nm.<helper>(u, ...)``
        (the helpers reduce over the last axis, so a batch of rows is one call)."""
        rule = function_rule(e)
        if rule is None:
            raise UnsupportedExpressionError(f"no fused-kernel rule for {type(e).__name__} "
                                             f"in {to_text(e)}")
        parts = [self.emit(a) if isinstance(a, MatrixExpr) else self.scalar(a)
                 for a in rule.operands(e)]
        code = ", ".join([*(p.code for p in parts), *rule.kernel_args(e)])
        return self.tmp(f"_nm.{rule.numpy_value}({code})", any(p.batched for p in parts),
                        kind)

    # -- scalars ---------------------------------------------------------------------
    def scalar(self, e: Any) -> _Value:
        key = ("scalar", e)
        if key in self.memo:
            return self.memo[key]
        v = self._scalar(e)
        self.memo[key] = v
        return v

    def _scalar(self, e: Any) -> _Value:
        if isinstance(e, sp.core.symbol.Str):
            return _Value(repr(str(e)), False, "scalar")
        if e in self.names:
            return _Value(self.names[e], e in self.batched, "scalar")
        if isinstance(e, sp.Expr) and e.is_number and not e.has(sp.oo, sp.zoo):
            if e.is_Integer:
                return _Value(f"{int(e)}.0", False, "scalar")
            return _Value(repr(float(e)), False, "scalar")
        if e == sp.oo:
            return _Value("np.inf", False, "scalar")
        if isinstance(e, FrobeniusSquared):
            w = self.emit(e.matrix)
            return self.tmp(f"_bp.vdot({w.code}, {w.code})", False, "scalar")
        if isinstance(e, ScalarFunction):  # mean(a), sqrt(var(a) + eps), ...: per sample
            return self.function(e, "scalar")
        if isinstance(e, Norm):
            u = self.emit(e.arg)
            rule = norm_rule(e.p)
            return self.tmp(f"_nm.{rule.numpy_value}({u.code}, {self.scalar(e.p).code})",
                            u.batched, "scalar")
        if isinstance(e, ScalarOf):
            return self.emit(e.mat)
        if isinstance(e, MatrixExpr) and e.shape == (1, 1):
            v = self.emit(e)
            if v.kind != "scalar":
                raise UnsupportedExpressionError(f"{to_text(e)} is not a scalar")
            return v
        if isinstance(e, sp.Add):
            parts = [self.scalar(a) for a in e.args]
            return self.tmp(" + ".join(p.code for p in parts), any(p.batched for p in parts),
                            "scalar")
        if isinstance(e, sp.Mul):
            num, den = fraction(e)
            if den.is_number and den != 0 and den != 1:
                n = self.scalar(num)
                return self.tmp(f"{n.code} / {self.scalar(den).code}", n.batched, "scalar")
            if den != 1:
                n, d = self.scalar(num), self.scalar(den)
                return self.tmp(f"_nm.sdiv({n.code}, {d.code})", n.batched or d.batched,
                                "scalar")
            parts = [self.scalar(a) for a in e.args]
            return self.tmp(" * ".join(p.code for p in parts), any(p.batched for p in parts),
                            "scalar")
        if isinstance(e, sp.Pow) and e.exp == 2 and isinstance(e.base, Norm) and \
                e.base.p == 2:  # ‖u‖₂² = u·u: one pass, no square root
            u = self.emit(e.base.arg)
            if u.batched:
                return self.tmp(f"_bp.rowdot({u.code}, {u.code})", True, "scalar")
            return self.tmp(f"_bp.vdot({u.code}, {u.code})", False, "scalar")
        if isinstance(e, sp.Pow):
            base = self.scalar(e.base)
            if e.exp == sp.Rational(1, 2):
                return self.tmp(f"np.sqrt({base.code})", base.batched, "scalar")
            if e.exp == 2:
                return self.tmp(f"{base.code} * {base.code}", base.batched, "scalar")
            if e.exp.is_number and e.exp.is_negative:
                pos = self.scalar(sp.Pow(e.base, -e.exp))
                return self.tmp(f"_nm.sdiv(1.0, {pos.code})", pos.batched, "scalar")
            ex = self.scalar(e.exp)
            return self.tmp(f"np.power({base.code}, {ex.code})", base.batched or ex.batched,
                            "scalar")
        simple = {sp.exp: "np.exp", sp.log: "np.log", sp.Abs: "np.abs", sp.sign: "np.sign",
                  sp.tanh: "np.tanh"}
        for f, name in simple.items():
            if isinstance(e, f):
                a = self.scalar(e.args[0])
                return self.tmp(f"{name}({a.code})", a.batched, "scalar")
        if isinstance(e, sp.Symbol):
            raise UnsupportedExpressionError(f"{e} is not a kernel argument")
        raise UnsupportedExpressionError(f"no fused-kernel rule for {type(e).__name__} in "
                                         f"{to_text(e)}")

    # -- reduction over the batch ----------------------------------------------------
    def reduced(self, e: Any, reduce: str | None) -> str:
        """Code of ``e`` summed/averaged over the batch (``reduce=None``: per sample)."""
        if isinstance(e, MatAdd):
            parts = [self.reduced(t, reduce) for t in e.args]
            return self.tmp(" + ".join(parts), True, kind_of(e, self.kinds)).code
        outer = self._outer(e)
        if outer is not None and reduce is not None:
            coeff, u, v = outer
            uv, vv = self.emit(u), self.emit(v)
            if uv.batched and vv.batched:
                left = self.coefficient(coeff, uv) if coeff != 1 else uv
                if reduce == "mean":
                    return self.mean_outer(left, vv)
                return self.tmp(f"{left.code}.T @ {vv.code}", False, "mat").code
        v = self.emit(e)
        if not v.batched:
            if reduce == "sum":
                return self.tmp(f"_B * {v.code}", False, v.kind).code
            return v.code
        if reduce is None:
            return v.code
        total = self.tmp(f"{v.code}.sum(axis=0)", False, v.kind).code
        return self.tmp(f"{total} / _B", False, v.kind).code if reduce == "mean" else total

    def mean_outer(self, u: _Value, v: _Value) -> str:
        """Code of ``uᵀ v / B`` for batched rows ``u`` (B, k) and ``v`` (B, n), a weight
        gradient averaged over the batch. The division falls on the smaller array: the
        B·k entries of ``u`` when B < n, else the k·n product, in place, so no second
        array of the gradient's size is ever made (at 784-128-10, B = 64 that copy
        cost as much as the rest of the backward pass outside the matrix products)."""
        name = f"_t{next(self.counter)}"
        self.lines += [f"if _B < {v.code}.shape[-1]:",
                       f"    {name} = ({u.code} / _B).T @ {v.code}",
                       "else:",
                       f"    {name} = {u.code}.T @ {v.code}",
                       f"    {name} /= _B"]
        return name

    def batch_total(self, e: Any) -> str:
        """Code of the per-sample scalar ``e`` summed over the batch (no per-sample array
        where a closed form exists: ``Σ_b ‖u_b‖₂² = u·u`` over all entries)."""
        if isinstance(e, sp.Add):
            return self.tmp(" + ".join(self.batch_total(a) for a in e.args), False,
                            "scalar").code
        if isinstance(e, sp.Mul):
            const = [a for a in e.args if not self.scalar_batched(a)]
            rest = [a for a in e.args if self.scalar_batched(a)]
            if const and rest:
                c = self.scalar(sp.Mul(*const)).code
                return self.tmp(f"{c} * {self.batch_total(sp.Mul(*rest))}", False,
                                "scalar").code
        if isinstance(e, sp.Pow) and e.exp == 2 and isinstance(e.base, Norm) and \
                e.base.p == 2:
            u = self.emit(e.base.arg)
            if u.batched:
                return self.tmp(f"_bp.vdot({u.code}, {u.code})", False, "scalar").code
        v = self.scalar(e)
        if not v.batched:
            return self.tmp(f"_B * {v.code}", False, "scalar").code
        return self.tmp(f"{v.code}.sum()", False, "scalar").code

    def scalar_batched(self, e: Any) -> bool:
        return any(s in self.batched for s in e.free_symbols) if isinstance(e, sp.Basic) \
            else False

    def _outer(self, e: Any) -> tuple[sp.Expr, MatrixExpr, MatrixExpr] | None:
        """``c u vᵀ`` with column vectors ``u``, ``v`` (a weight gradient), else None."""
        if not isinstance(e, MatMul):
            return None
        scalars = [a for a in e.args if not isinstance(a, MatrixExpr)]
        mats = [a for a in e.args if isinstance(a, MatrixExpr)]
        if len(mats) != 2 or kind_of(mats[0], self.kinds) != "col" or kind_of(
                mats[1], self.kinds) != "row":
            return None
        right = mats[1]
        v = right.arg if isinstance(right, Transpose) else Transpose(right)
        return sp.Mul(*scalars), mats[0], v


# -- the kernel object -----------------------------------------------------------------

