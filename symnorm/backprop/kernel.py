"""The fused training kernel: one numpy function, forward pass once, every gradient.

The source is generated from the derivation itself: the forward equations over the named
intermediates (``a1``, ``h1``, ..., ``y``), then the deltas, then the gradients, each
emitted once and referred to by name afterwards, so nothing is computed twice. Samples
are the rows of 2-D arrays (``x`` of shape ``(B, n_in)``), so a layer is one matrix
product ``h @ W.T`` and a weight gradient over the batch is one product ``δᵀ h``.

Only code generated here is executed (``BackpropKernel.source`` shows it). The kernel
is called with keyword arguments by name; positional calls are refused, so an argument
order can never be a silent trap. The source calls ``np.`` names the array-API shim
maps and ``_bp.`` helpers defined here, so :mod:`.backends` runs the same source on JAX,
PyTorch, CuPy and Dask arrays.
"""

from __future__ import annotations

import difflib
import itertools
from typing import TYPE_CHECKING, Any

import numpy as np
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

from .. import numeric
from ..kernels.backends.registry import library_of
from ..model.atoms import Elementwise, Norm, ScalarOf
from ..model.errors import ShapeError, SymnormError, UnsupportedExpressionError
from ..model.text import fraction, to_text
from ..rules import ELEMENTWISE, norm_rule
from .network import FrobeniusSquared

if TYPE_CHECKING:
    from .derivation import Backprop

KINK_POLICY = (
    "At kinks it returns the minimum-norm subgradient, never NaN: relu'(0) = 0, 0 for "
    "the L2 loss where y = t, sign with 0 entries for the L1 loss.")


class KernelArgumentError(SymnormError, TypeError):
    """A kernel call with a missing, unknown, positional or doubled argument."""


# -- numeric helpers the generated code calls ---------------------------------------------

def sigmoid(u: np.ndarray) -> np.ndarray:
    """``1/(1 + exp(-u))`` in place on one temporary; ``u`` is clipped at -700 first so
    ``exp`` never overflows (the value there is below 1e-304 either way), never NaN."""
    r = np.maximum(u, -700.0)
    np.negative(r, out=r)
    np.exp(r, out=r)
    r += 1.0
    np.reciprocal(r, out=r)
    return r


_ELEMENTWISE_FAST = {"sigmoid": "_bp.sigmoid({u})"}

#: the type the generated prologue accepts without conversion (other backends convert
#: every argument before the call and bind a type nothing is, see ``backends.py``)
ndarray = np.ndarray


def rowdot(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``Σ_i u_bi v_bi`` per row ``b``: one pass, no product array."""
    return np.einsum("...i,...i->...", u, v)


def vdot(a: np.ndarray, b: np.ndarray) -> Any:
    """``Σ a ⊙ b`` over every entry (a batch total, a Frobenius product)."""
    return np.vdot(a, b)


def as_scalar(value: Any, name: str) -> float:
    """A scalar argument (a weight-decay coefficient, say) as a float."""
    if np.ndim(value) != 0:
        bad_shape(name, np.asarray(value), "a scalar, ()")
    return float(value)


def as_array(value: Any, name: str) -> np.ndarray:
    """A float array from lists, scalars or array-likes (the slow path of a call)."""
    try:
        a = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ShapeError(f"argument {name} must be numbers (an array), got "
                         f"{type(value).__name__}") from None
    return a


def bad_shape(name: str, value: Any, want: str) -> None:
    shape = tuple(value.shape) if hasattr(value, "shape") else np.shape(value)
    raise ShapeError(f"argument {name} must have shape {want}, got an array of shape "
                     f"{shape}")


# -- the generator -------------------------------------------------------------------

class _Value:
    """An emitted expression: its code, whether it has a batch axis, and its orientation
    (``col``/``row`` vector, ``mat`` matrix, ``scalar``)."""

    __slots__ = ("code", "batched", "kind")

    def __init__(self, code: str, batched: bool, kind: str) -> None:
        self.code = code
        self.batched = batched
        self.kind = kind


def _orientation(e: Any) -> str:
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
        return kinds.get(e, _orientation(e))
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
    return _orientation(e)


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

    def tmp(self, code: str, batched: bool, kind: str) -> _Value:
        name = f"_t{next(self.counter)}"
        self.lines.append(f"{name} = {code}")
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
                prod = self.tmp(f"{left.code}.T @ {vv.code}", False, "mat")
                return self.tmp(f"{prod.code} / _B", False, "mat").code if reduce == "mean" \
                    else prod.code
        v = self.emit(e)
        if not v.batched:
            if reduce == "sum":
                return self.tmp(f"_B * {v.code}", False, v.kind).code
            return v.code
        if reduce is None:
            return v.code
        total = self.tmp(f"{v.code}.sum(axis=0)", False, v.kind).code
        return self.tmp(f"{total} / _B", False, v.kind).code if reduce == "mean" else total

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

class BackpropKernel:
    """A fused forward + backward numpy function; call it with keyword arguments.

    ``arg_names`` are its arguments (data first, then parameters, then scalars);
    ``batched`` the ones that take a leading batch axis; ``source`` the generated code.
    """

    def __init__(self, source: str, func: Any, arg_names: list[str], shapes: dict,
                 batched: list[str], outputs: list[str], reduce: str | None,
                 backend: str | None = None) -> None:
        self.source = source
        self.backend = backend
        self._func = func
        self.arg_names = arg_names
        self._keys = frozenset(arg_names)
        self.shapes = shapes
        self.batched = batched
        self.outputs = outputs
        self.reduce = reduce
        call = ", ".join(f"{n}=..." for n in arg_names)
        self.__doc__ = (
            f"Fused backprop kernel: k({call}) -> dict with keys {', '.join(outputs)}.\n\n"
            f"Batched arguments ({', '.join(batched)}) take a leading batch axis; the "
            f"gradients are of the {reduce or 'per-sample'} loss over the batch.\n\n"
            + KINK_POLICY + "\n\nCalled on JAX, PyTorch, CuPy or Dask arrays it computes "
            "with that library and returns its arrays (Dask: lazy, see "
            "symnorm.backprop.backends).")

    def __call__(self, *args: Any, **kwargs: Any) -> dict:
        if args:
            raise KernelArgumentError(
                f"this kernel takes keyword arguments only, so an argument order can never "
                f"be mixed up: call it as k({', '.join(f'{n}=...' for n in self.arg_names)})")
        if kwargs.keys() != self._keys:
            self._diagnose(kwargs)
        if self.backend is None:
            for v in kwargs.values():
                if type(v) is not np.ndarray and library_of(v) not in (None, "numpy"):
                    break
            else:  # numpy arrays, numbers, lists: the numpy source as it is
                return self._func(**kwargs)
        from .backends import call

        return call(self, kwargs)

    def with_backend(self, backend: str | None) -> "BackpropKernel":
        """The same kernel (the same source) computing with ``backend``.

        ``"jax"`` compiles it with ``jax.jit``; ``"torch"``, ``"cupy"``, ``"dask"``
        convert numpy arguments to that library; ``"numpy"``/``"array_api"`` run the
        array-API version on numpy arrays; ``None`` follows the arguments.

        >>> import numpy as np, symnorm as sn
        >>> k = sn.backprop(sn.mlp([2, 1], "relu"), check=False).kernel()
        >>> out = k.with_backend("array_api")(x=np.ones(2), t=np.zeros(1), W1=np.ones((1, 2)))
        >>> out["W1"], float(out["loss"])
        (array([[2., 2.]]), 2.0)
        """
        import copy

        from .backends import check_backend

        check_backend(backend)
        twin = copy.copy(self)
        twin.__dict__ = dict(self.__dict__)
        twin.__dict__.pop("_backend_cache", None)
        twin.backend = backend
        return twin

    def _diagnose(self, kwargs: dict) -> None:
        unknown = [k for k in kwargs if k not in self._keys]
        missing = [n for n in self.arg_names if n not in kwargs]
        parts = []
        for k in unknown:
            close = [n for n in self.arg_names if n.lower() == k.lower()] or \
                difflib.get_close_matches(k, self.arg_names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            parts.append(f"unknown argument {k!r}{hint}")
        if missing:
            parts.append(f"missing argument(s): {', '.join(missing)}")
        raise KernelArgumentError("; ".join(parts) + f". Arguments: {', '.join(self.arg_names)}")

    def __repr__(self) -> str:
        backend = "" if self.backend is None else f", backend={self.backend!r}"
        return (f"<symnorm backprop kernel ({', '.join(self.arg_names)}) -> "
                f"{{{', '.join(self.outputs)}}}, reduce={self.reduce!r}{backend}>")


def _shape_text(shape: tuple) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _kinds(bp: "Backprop") -> dict:
    """Orientation of every symbol whose shape is ambiguous (1x1)."""
    kinds: dict = {}
    if bp.network is not None:
        for layer in bp.network.layers:
            kinds[layer.W] = "mat"
    return kinds


def _arguments(bp: "Backprop") -> tuple[list, list, list]:
    """(data, parameters, scalars): the kernel's arguments in their documented order."""
    from ..kernels.kernel import free_arguments

    params = list(bp.params)
    if bp.network is not None:
        net = bp.network
        data = [net.x, net.t]
        scalars = [s for s in free_arguments(bp.loss) if isinstance(s, sp.Symbol)]
        return data, params, scalars
    rest = [s for s in free_arguments(bp.loss) if s not in params]
    data = [s for s in rest if isinstance(s, MatrixSymbol) and _orientation(s) == "col"]
    others = [s for s in rest if s not in data]
    return data, params, others


def _prologue(data: list, params: list, scalars: list, kinds: dict) -> tuple[list[str], dict]:
    """Input conversion and shape checks; returns the lines and the argument shapes."""
    lines: list[str] = []
    shapes: dict = {}
    dims: dict = {}

    def dim_code(d: Any, code: str, name: str, what: str) -> None:
        if isinstance(d, (int, sp.Integer)):
            lines.append(f"if {code} != {int(d)}: _bp.bad_shape({name!r}, {name}, {what!r})")
        elif d in dims:
            lines.append(f"if {code} != {dims[d]}: _bp.bad_shape({name!r}, {name}, "
                         f"{what!r} + ' (' + {str(d)!r} + ' = ' + str({dims[d]}) + ')')")
        else:
            var = f"_dim_{d}"
            lines.append(f"{var} = {code}")
            dims[d] = var

    if not data:  # nothing to batch over: one sample
        lines += ["_B = 1", "_single = True"]
    for i, s in enumerate(data):
        n = s.name
        shapes[n] = (None, s.shape[0])
        what = f"(B, {s.shape[0]}) or ({s.shape[0]},)"
        lines.append(f"if type({n}) is not _bp.ndarray: {n} = _bp.as_array({n}, {n!r})")
        if i == 0:
            lines.append(f"_single = {n}.ndim == 1")
        lines.append(f"if {n}.ndim != 2:")
        lines.append(f"    if {n}.ndim != 1: _bp.bad_shape({n!r}, {n}, {what!r})")
        lines.append(f"    {n} = {n}[None, :]")
        dim_code(s.shape[0], f"{n}.shape[1]", n, what)
        if i == 0:
            lines.append(f"_B = {n}.shape[0]")
        else:
            lines.append(f"if {n}.shape[0] != _B: _bp.bad_shape({n!r}, {n}, "
                         f"'(' + str(_B) + ', {s.shape[0]}): the same batch as {data[0].name}')")
    for s in params + [a for a in scalars if isinstance(a, MatrixSymbol)]:
        n = s.name
        kind = kind_of(s, kinds)
        shape = (s.shape[0],) if kind == "col" else (s.shape[1],) if kind == "row" else s.shape
        shapes[n] = shape
        what = _shape_text(shape)
        lines.append(f"if type({n}) is not _bp.ndarray: {n} = _bp.as_array({n}, {n!r})")
        if all(isinstance(d, (int, sp.Integer)) for d in shape):  # one tuple comparison
            fixed = _shape_text(tuple(int(d) for d in shape))
            lines.append(f"if {n}.shape != {fixed}: _bp.bad_shape({n!r}, {n}, {what!r})")
            continue
        lines.append(f"if {n}.ndim != {len(shape)}: _bp.bad_shape({n!r}, {n}, {what!r})")
        for axis, d in enumerate(shape):
            dim_code(d, f"{n}.shape[{axis}]", n, what)
    for s in scalars:
        if isinstance(s, sp.Symbol):
            n = s.name
            shapes[n] = ()
            lines.append(f"{n} = _bp.as_scalar({n}, {n!r})")
    return lines, shapes


def build_kernel(bp: "Backprop", reduce: str | None) -> BackpropKernel:
    """Generate, compile and wrap the fused kernel of a :class:`Backprop`."""
    data, params, scalars = _arguments(bp)
    args = data + params + scalars
    for a in args:
        if not a.name.isidentifier() or a.name.startswith("_") or a.name in ("np", "_nm"):
            raise UnsupportedExpressionError(f"{a.name!r} cannot be a kernel argument name")
    names = {a: a.name for a in args}
    kinds = _kinds(bp)
    em = Emitter(names, set(data), {}, kinds)
    outputs: dict[str, str] = {}
    if bp.network is not None:
        net = bp.network
        for sym, expr in bp.forward:
            em.define(sym, expr, f"v_{sym.name}")
        for k in sorted(bp.deltas, reverse=True):
            em.define(bp.delta_symbols[k], bp.deltas[k], f"v_delta{k}")
        for p in bp.params:
            outputs[p.name] = em.reduced(bp.grads[p], reduce)
        loss_expr = net.data_loss + net.decay
    else:
        for p in bp.params:
            outputs[p.name] = em.reduced(bp.grads[p], reduce)
        loss_expr = bp.loss
    if reduce is None:
        lv = em.scalar(loss_expr)
        outputs["loss"] = em.tmp(f"np.broadcast_to({lv.code}, (_B,))", True, "scalar").code
        for name, code in list(outputs.items()):
            if name != "loss" and not _is_batched_code(em, code):
                p = next(q for q in bp.params if q.name == name)
                outputs[name] = em.tmp(f"np.broadcast_to({code}, (_B,) + {code}.shape)", True,
                                       kind_of(p, kinds)).code
    else:
        total = em.batch_total(loss_expr)
        outputs["loss"] = em.tmp(f"{total} / _B", False, "scalar").code \
            if reduce == "mean" else total
    prologue, shapes = _prologue(data, params, scalars, kinds)
    body = [f"def kernel(*, {', '.join(a.name for a in args)}):"]
    body += [f"    {line}" for line in prologue + em.lines]
    result = ", ".join(f"{k!r}: {v}" for k, v in outputs.items())
    if reduce is None:
        body.append(f"    _out = {{{result}}}")
        body.append("    if _single:")
        body.append("        return {k: v[0] for k, v in _out.items()}")
        body.append("    return _out")
    else:
        body.append(f"    return {{{result}}}")
    source = "\n".join(body) + "\n"
    namespace: dict = {"np": np, "_nm": numeric, "_bp": _helpers()}
    exec(compile(source, "<symnorm backprop kernel>", "exec"), namespace)
    return BackpropKernel(source, namespace["kernel"], [a.name for a in args], shapes,
                          [a.name for a in data], list(outputs), reduce)


def _is_batched_code(em: Emitter, code: str) -> bool:
    for v in em.memo.values():
        if v.code == code:
            return v.batched
    return True


def _helpers() -> Any:
    import sys

    return sys.modules[__name__]


def build_loss_function(bp: "Backprop") -> Any:
    """The per-sample loss computed from the nested loss expression alone (no deltas,
    no named intermediates): the reference the check differentiates numerically."""
    data, params, scalars = _arguments(bp)
    args = data + params + scalars
    kinds = _kinds(bp)
    em = Emitter({a: a.name for a in args}, set(data), {}, kinds)
    value = em.scalar(bp.loss)
    prologue, _ = _prologue(data, params, scalars, kinds)
    body = [f"def loss(*, {', '.join(a.name for a in args)}):"]
    body += [f"    {line}" for line in prologue + em.lines]
    body.append(f"    return np.broadcast_to({value.code}, (_B,))")
    namespace: dict = {"np": np, "_nm": numeric, "_bp": _helpers()}
    exec(compile("\n".join(body) + "\n", "<symnorm loss>", "exec"), namespace)
    return namespace["loss"]


def build_forward(net: Any) -> Any:
    """``forward(x=..., W1=..., ...)``: the network output, rows of ``x`` in, rows out."""
    params = list(net.params)
    kinds = {layer.W: "mat" for layer in net.layers}
    em = Emitter({a: a.name for a in [net.x, *params]}, {net.x}, {}, kinds)
    for sym, expr in net.forward():
        em.define(sym, expr, f"v_{sym.name}")
    prologue, _ = _prologue([net.x], params, [], kinds)
    body = [f"def forward(*, {', '.join(a.name for a in [net.x, *params])}):"]
    body += [f"    {line}" for line in prologue + em.lines]
    body.append(f"    return v_{net.y.name}[0] if _single else v_{net.y.name}")
    namespace: dict = {"np": np, "_nm": numeric, "_bp": _helpers()}
    exec(compile("\n".join(body) + "\n", "<symnorm forward>", "exec"), namespace)
    return namespace["forward"]
