"""Numpy kernels generated from symnorm expressions.

The generator walks the expression once, emits one numpy statement per distinct
subexpression (so common subexpressions are computed once), and keeps the source on
the kernel (``Kernel.source``). Only code generated here is ever executed.

Calling convention (checked on every call, in O(1) per argument):

* Arguments by name (``k(x=..., A=..., b=...)``) or positionally in the order shown by
  ``repr(k)``, ``help(k)`` and ``inspect.signature(k)``: the ``args`` list given to
  :func:`kernel`, or for ``Derivation.kernel()`` the variable first, then the other
  symbols sorted by name. A missing, unknown or repeated name is an ``ArgumentError``
  that lists the valid names.
* A vector is an array whose last axis is the vector axis, a matrix uses the last two
  axes, a scalar is any array; leading axes are a batch (they broadcast across
  arguments). A 2-D (or batched) array whose last axis has length 1, ``(k, 1)``, is one
  column vector of length ``k`` (unless the vector's length is known to be 1), and
  vector results then come back as columns, ``(k, 1)``.
* Dimension symbols are bound consistently across the arguments: ``A`` of shape
  ``(3, 2)`` next to ``x`` of length 3 is a ``ShapeError`` that says ``A`` must be
  ``(m, 3)``.
* Real numbers only: float arrays keep their dtype (float32 in, float32 out), integer
  and boolean arrays become float64; complex, text and object arrays are refused
  (never silently truncated).
* ``out=`` must be a float array of exactly the result's shape.
"""

from __future__ import annotations

import inspect
import itertools
from dataclasses import dataclass
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

from .. import numeric
from ..model.atoms import Elementwise, Norm, ScalarOf
from ..model.errors import ArgumentError, ShapeError, UnsupportedExpressionError
from ..model.text import fraction, to_text
from ..rules import ELEMENTWISE, norm_rule

KINK_POLICY = (
    "At points where the derivative does not exist this kernel returns the minimum-norm "
    "subgradient: 0 for the L2 norm at 0, sign(u) with 0 in zero entries for the L1 norm, "
    "the tie split evenly for the max norm; for matrix norms 0 for the Frobenius norm at 0, "
    "U_r V_r^T for the nuclear norm at rank r < min(m, n), U_k V_k^T / k for the spectral "
    "norm at a top singular value of multiplicity k (singular values equal within a "
    "relative 1e-10), see symnorm.numeric.matrices. It never returns NaN for finite input.")


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


@dataclass(frozen=True)
class _ArgSpec:
    """What one kernel argument must be: its name, kind and symbolic core shape."""

    name: str
    kind: str          # "scalar", "vector", "matrix" or "labels" (integer group labels)
    dims: tuple        # symbolic sizes of the core axes: () or (n,) or (m, n)

    def describe(self) -> str:
        if self.kind == "scalar":
            return "scalar"
        if self.kind == "matrix":
            return f"matrix ({self.dims[0]}, {self.dims[1]})"
        if self.kind == "labels":
            return f"group labels, one per vector entry (length {self.dims[0]})"
        return f"vector of length {self.dims[0]}"


def _spec(sym: Any) -> _ArgSpec:
    if isinstance(sym, MatrixSymbol):
        kind = _kind(sym)
        if kind == "m":
            return _ArgSpec(sym.name, "matrix", (sym.shape[0], sym.shape[1]))
        # a 1x1 symbol is a vector of length 1 (sn.vector("y", 1)): its last axis is 1
        return _ArgSpec(sym.name, "vector", (sym.shape[0] if kind != "r" else sym.shape[1],))
    if hasattr(sym, "dim") and hasattr(sym, "random_value"):  # group labels
        return _ArgSpec(sym.name, "labels", (sym.dim,))
    return _ArgSpec(sym.name, "scalar", ())


def _result_dims(expr: Any) -> tuple:
    """Symbolic core shape of a kernel's result (vectors have one axis)."""
    if not isinstance(expr, MatrixExpr):
        return ()
    kind = _kind(expr)
    r, c = expr.shape
    return {"s": (), "v": (r,), "r": (c,), "m": (r, c)}[kind]


def _size_text(spec: _ArgSpec, shape: tuple) -> str:
    if spec.kind in ("vector", "labels") and len(shape) == 1:
        return f"has length {shape[0]}"
    return f"has shape {shape}"


class Kernel:
    """A compiled numpy function with its arguments, source and kink policy.

    Call it by name (``k(x=..., A=...)``) or positionally in the order of
    :attr:`arg_names` (shown by ``repr(k)`` and ``inspect.signature(k)``), with
    ``out=`` optionally. Leading axes are a batch. See the module docstring for the
    checks every call makes.

    >>> import numpy as np, symnorm as sn
    >>> A, x, b = sn.matrix("A"), sn.vector("x"), sn.vector("b", "m")
    >>> k = sn.kernel(A * x - b, [x, A, b])
    >>> k
    <symnorm kernel k(x, A, b, *, out=None) -> A*x - b>
    >>> k(b=np.ones(2), A=np.eye(2), x=np.array([3.0, 4.0]))
    array([2., 3.])
    """

    def __init__(self, expr: Any, args: list, source: str, func: Any,
                 checks: tuple = (), by_name: int | None = None,
                 backend: str | None = None) -> None:
        self.expr = expr
        self.backend = backend  # None: numpy, or the library of foreign array arguments
        self.args = args
        self.arg_names = [a.name for a in args]
        self.source = source
        self._func = func
        self._specs = [_spec(a) for a in args]
        self._index = {name: i for i, name in enumerate(self.arg_names)}
        self._result_is_vector = isinstance(expr, MatrixExpr) and _kind(expr) in "vr"
        # sizes as plain ints for the per-call checks: n >= 0 a fixed size, -1, -2, ...
        # a dimension symbol, None a size expression (not checked)
        ids: dict = {}

        def key(d: Any) -> int | None:
            if isinstance(d, (int, sp.Integer)):
                return int(d)
            if isinstance(d, sp.Symbol):
                return ids.setdefault(d, -1 - len(ids))
            return None

        self._keys = [tuple(key(d) for d in s.dims) for s in self._specs]
        self._result_keys = tuple(key(d) for d in _result_dims(expr))
        # arguments from index by_name on were ordered by name, not by the user: two of
        # the same kind there could be swapped silently, so a positional call passing
        # both is refused (by name it is always fine)
        self._same_kind: list[tuple[int, ...]] = []
        if by_name is not None:
            groups: dict = {}
            for i in range(by_name, len(self._specs)):
                groups.setdefault(self._specs[i].kind, []).append(i)
            self._same_kind = [tuple(g) for g in groups.values() if len(g) > 1]
        # matrices declared symmetric, diagonal, orthogonal: results were simplified with
        # that, so a value that breaks it would give silently wrong numbers
        self._value_checks = [(i, a.check_value) for i, a in enumerate(args)
                              if callable(getattr(a, "check_value", None))]
        self.__signature__ = self._signature()
        self.__doc__ = self._docstring(checks)

    # -- documentation -----------------------------------------------------------
    def _call_text(self) -> str:
        return f"k({', '.join([*self.arg_names, '*', 'out=None'])})"

    def _signature(self) -> inspect.Signature | None:
        try:
            params = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD)
                      for n in self.arg_names]
            params.append(inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY,
                                            default=None))
            return inspect.Signature(params)
        except ValueError:  # a name that is not a Python identifier: no signature
            return None

    def _docstring(self, checks: tuple) -> str:
        lines = [f"Kernel of {to_text(self.expr)}", "",
                 f"Call: {self._call_text()}, positionally in this order or by name"
                 + (f" ({', '.join(f'{n}=...' for n in self.arg_names)})."
                    if self.arg_names else "."), ""]
        lines += [f"  {s.name}: {s.describe()}" for s in self._specs]
        for g in self._same_kind:
            names = " and ".join(self.arg_names[i] for i in g)
            lines += ["", f"{names} are {self._specs[g[0]].kind}s placed in order of their "
                      "names: pass them by name (a positional call giving both is refused)."]
        lines += ["", "Leading axes are a batch; a (k, 1) array is one column vector and "
                  "its vector result comes back as a column. Real arrays only (float32 "
                  "stays float32, integers become float64; complex and text are refused). "
                  "out= must be a float array of exactly the result's shape."]
        lines += [f"Refuses {c}." for c in checks]
        lines += ["", KINK_POLICY]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<symnorm kernel {self._call_text()} -> {to_text(self.expr)}>"

    # -- calling -----------------------------------------------------------------
    def __call__(self, *values: Any, out: np.ndarray | None = None, **named: Any) -> Any:
        if self._same_kind and len(values) > 1:
            self._refuse_ambiguous(len(values))
        if self.backend is not None or _foreign(values, named):  # JAX, torch, CuPy, Dask...
            from .backends.dispatch import call

            return call(self, values, named, out, self.backend)
        ordered = values if not named and len(values) == len(self._specs) else \
            self._bind(values, named)
        arrays, batch, dims, columns, dtype = self._prepare(ordered)
        shape = self._result_shape(batch, dims)
        if out is not None:
            return self._call_out(arrays, out, shape, columns)
        res = np.asarray(self._func(*arrays, out=None))
        if shape is not None and res.shape != shape:  # e.g. a constant: give it the batch
            try:
                res = np.broadcast_to(res, shape).copy()
            except ValueError:
                raise ShapeError(f"kernel of {to_text(self.expr)} computed shape {res.shape},"
                                 f" expected {shape}") from None
        if res.dtype != dtype:  # e.g. an explicit float64 matrix next to float32 input
            res = res.astype(dtype)
        if columns and self._result_is_vector:
            res = res[..., None]
        return res

    def _call_out(self, arrays: list, out: Any, shape: tuple | None, columns: bool) -> Any:
        if not isinstance(out, np.ndarray) or out.dtype.kind != "f":
            what = type(out).__name__ if not isinstance(out, np.ndarray) else \
                f"an array of dtype {out.dtype}"
            raise ArgumentError(f"out= must be a float numpy array, got {what}")
        want = shape if shape is None or not (columns and self._result_is_vector) \
            else (*shape, 1)
        if want is not None and out.shape != want:
            raise ShapeError(f"out= has shape {out.shape}, but the result has shape {want}")
        if not out.flags.writeable:
            raise ArgumentError("out= is read-only")
        target = out[..., 0] if want is not None and len(want) > len(shape or ()) else out
        res = self._func(*arrays, out=target)
        if res is not target:
            np.copyto(target, res)
        return out

    def _refuse_ambiguous(self, given: int) -> None:
        for g in self._same_kind:
            hit = [i for i in g if i < given]
            if len(hit) > 1:
                names = [self.arg_names[i] for i in hit]
                pos = ", ".join([*self.arg_names[:min(hit)], *(f"{n}=..." for n in
                                                                self.arg_names[min(hit):])])
                raise ArgumentError(
                    f"ambiguous positional call of {self._call_text()}: "
                    f"{' and '.join(names)} are both {self._specs[hit[0]].kind}s, placed in "
                    f"order of their names, not in an order you gave; pass them by name, "
                    f"k({pos}), or give the order: .kernel([{', '.join(self.arg_names)}])")

    def _bind(self, values: tuple, named: dict) -> list:
        names = self.arg_names
        valid = f"the arguments are {self._call_text()}"
        if len(values) > len(names):
            raise ArgumentError(f"kernel takes {len(names)} argument(s), got {len(values)}"
                                f" positional; {valid}")
        bound: list = list(values) + [_MISSING] * (len(names) - len(values))
        for key, v in named.items():
            i = self._index.get(key)
            if i is None:
                raise ArgumentError(f"unknown argument {key!r}; {valid}")
            if bound[i] is not _MISSING:
                raise ArgumentError(f"argument {key!r} given twice (positionally and by "
                                    f"name); {valid}")
            bound[i] = v
        missing = [n for n, v in zip(names, bound) if v is _MISSING]
        if missing:
            raise ArgumentError(f"missing argument(s): {', '.join(missing)}; {valid}")
        return bound

    def _prepare(self, values: Any) -> tuple[list, tuple, dict, bool, np.dtype]:
        """Arrays of one real dtype, the broadcast batch shape, bound dimensions.

        O(1) per argument: only dtypes and shapes are looked at (integer arrays are
        converted, as numpy would convert them anyway).
        """
        arrays = []
        votes = []
        for spec, v in zip(self._specs, values):
            a = v if type(v) is np.ndarray else _asarray(spec, v)
            kind = a.dtype.kind
            if kind == "f":
                if a.ndim and spec.kind != "labels":  # labels are names, not numbers
                    votes.append(a.dtype)
            elif kind in "iub":
                if spec.kind != "labels":
                    a = a.astype(np.float64)
                    if a.ndim:
                        votes.append(a.dtype)
            else:
                raise ArgumentError(_dtype_message(spec, a))
            arrays.append(a)
        if not votes:
            dtype = _FLOAT64
        elif len(votes) == 1 or all(d == votes[0] for d in votes):
            dtype = votes[0]
        else:
            dtype = np.result_type(*votes)
        for i, spec in enumerate(self._specs):
            if spec.kind != "labels" and arrays[i].dtype != dtype:
                arrays[i] = arrays[i].astype(dtype)
        arrays, batch, dims, columns = self._bind_shapes(arrays)
        for i, check in self._value_checks:
            check(arrays[i])
        return arrays, batch, dims, columns, dtype

    def _bind_shapes(self, arrays: list) -> tuple[list, tuple, dict, bool]:
        """Bind the dimension symbols to the arrays' sizes and find the broadcast batch
        shape, or refuse with the argument's name. Works on any array with ``.shape``
        (the other array libraries use it too); a ``(k, 1)`` vector becomes ``[..., 0]``."""
        dims: dict = {}
        batches = []
        later = []
        columns = False
        for i, spec in enumerate(self._specs):
            a = arrays[i]
            keys = self._keys[i]
            core = len(keys)
            shape = tuple(a.shape)
            if not core:
                batches.append(shape)
                continue
            if len(shape) < core:
                need = "a matrix" if spec.kind == "matrix" else "a vector"
                raise ShapeError(f"argument {spec.name} must be {need} ({spec.describe()}), "
                                 f"got an array of shape {shape}")
            if spec.kind == "vector" and len(shape) >= 2 and shape[-1] == 1 and shape[-2] != 1:
                later.append(i)  # (k, 1): a column, unless the length is known to be 1
                continue
            self._bind_dims(i, shape, shape[-core:], dims)
            batches.append(shape[:-core])
        for i in later:
            a, key = arrays[i], self._keys[i][0]
            shape = tuple(a.shape)
            known = key if key is not None and key >= 0 else dims.get(key, (None,))[0]
            if known == 1:
                self._bind_dims(i, shape, shape[-1:], dims)
                batches.append(shape[:-1])
            else:
                arrays[i] = a[..., 0]
                columns = True
                self._bind_dims(i, shape, shape[-2:-1], dims)
                batches.append(shape[:-2])
        if len(batches) == 1 or all(b == batches[0] for b in batches):
            batch = batches[0] if batches else ()
        else:
            try:
                batch = np.broadcast_shapes(*batches)
            except ValueError:
                detail = ", ".join(f"{s.name} has batch shape {b}"
                                   for s, b in zip(self._specs, batches) if b)
                raise ShapeError(f"the batch (leading) axes of the arguments do not "
                                 f"broadcast: {detail}") from None
        return arrays, batch, dims, columns

    def _bind_dims(self, i: int, shape: tuple, core: tuple, dims: dict) -> None:
        """Bind argument ``i``'s dimension symbols to the sizes in ``core``, or refuse."""
        for key, got in zip(self._keys[i], core):
            if key is None:  # a size that is an expression (n - 1): not checked here
                continue
            if key >= 0:
                if key != got:
                    raise ShapeError(self._mismatch(i, shape, core, dims, None))
                continue
            seen = dims.get(key)
            if seen is None:
                dims[key] = (got, i, shape)
            elif seen[0] != got:
                raise ShapeError(self._mismatch(i, shape, core, dims, seen))

    def _mismatch(self, i: int, shape: tuple, core: tuple, dims: dict,
                  seen: tuple | None) -> str:
        spec = self._specs[i]
        by_others = {k: v[0] for k, v in dims.items() if v[1] != i}

        def size(key: int | None, d: Any) -> str:
            if key is not None and key >= 0:
                return str(key)
            return str(by_others[key]) if key in by_others else str(d)

        def fits(key: int | None, got: int) -> bool:
            if key is None:
                return True
            return key == got if key >= 0 else by_others.get(key, got) == got

        keys = self._keys[i]
        if seen is None:
            source = f"it is declared with shape {self.args[i].shape}"
        else:
            source = f"{self._specs[seen[1]].name} {_size_text(self._specs[seen[1]], seen[2])}"
        if spec.kind == "matrix":
            want = (f"so {spec.name} must be ({size(keys[0], spec.dims[0])}, "
                    f"{size(keys[1], spec.dims[1])})")
            hint = ""
            if fits(keys[0], core[1]) and fits(keys[1], core[0]):
                hint = f" (is {spec.name} transposed?)"
            return f"{spec.name} {_size_text(spec, shape)} but {source}, {want}{hint}"
        want = f"so {spec.name} must have length {size(keys[0], spec.dims[0])}"
        if spec.kind == "labels":
            want += " (one label per vector entry)"
        return f"{spec.name} {_size_text(spec, shape)} but {source}, {want}"

    def _result_shape(self, batch: tuple, dims: dict) -> tuple | None:
        core = []
        for key in self._result_keys:
            if key is not None and key >= 0:
                core.append(key)
            elif key in dims:
                core.append(dims[key][0])
            else:
                return None
        return (*batch, *core)


_FLOAT64 = np.dtype(np.float64)
_MISSING = object()
_FOREIGN_ROOTS = frozenset({"jax", "jaxlib", "torch", "cupy", "dask"})


def _foreign(values: tuple, named: dict) -> bool:
    """Whether an argument is an array of another library (see symnorm.kernels.backends)."""
    for v in itertools.chain(values, named.values()):
        if type(v) is not np.ndarray and \
                type(v).__module__.partition(".")[0] in _FOREIGN_ROOTS:
            return True
    return False


def _asarray(spec: _ArgSpec, v: Any) -> np.ndarray:
    if isinstance(v, np.ma.MaskedArray) and np.ma.is_masked(v):
        raise ArgumentError(f"argument {spec.name} has masked entries, which a kernel would "
                            f"read as numbers; pass {spec.name}.filled(value) or "
                            f"{spec.name}.compressed()")
    try:
        return np.asarray(v)
    except ValueError as err:  # ragged nested lists
        raise ArgumentError(f"argument {spec.name} is not an array of numbers: {err}") from None


def _dtype_message(spec: _ArgSpec, a: np.ndarray) -> str:
    if a.dtype.kind == "c":
        return (f"argument {spec.name} is complex ({a.dtype}); symnorm kernels compute with "
                f"real numbers only (pass {spec.name}.real if the imaginary part is to be "
                "dropped)")
    return (f"argument {spec.name} must be an array of real numbers, got dtype {a.dtype} "
            f"({'text' if a.dtype.kind in 'US' else 'not numbers'})")


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
            return self.tmp(self.sum_code(e.args))
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
        c = sp.Mul(*scalars)
        num, den = fraction(_stable_logistic(c) or c)
        items = [(self.emit(m), _kind(m)) for m in mats]
        powers = _l2_powers(den)
        if powers:
            # c/‖u‖₂ · M u is computed as c · M (u/‖u‖₂): u/‖u‖₂ cannot overflow or
            # underflow, while M u can before the division (A = 1e150 I, x = 1e150 1);
            # each factor u or u.T of the product absorbs one power of ‖u‖₂
            for i, m in enumerate(mats):
                kind = _kind(m)
                u = m if kind == "v" else (m.arg if kind == "r" and isinstance(m, Transpose)
                                           else None)
                if u is None or powers.get(u, (None, 0))[1] < 1:
                    continue
                n2, k = powers[u]
                powers[u] = (n2, k - 1)
                if len(mats) == 2 and i == 1 and kind == "v" and _kind(mats[0]) == "m":
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
        return self.product_items([(self.emit(m), _kind(m)) for m in mats])

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
        if isinstance(e, sp.log):  # log((1 + exp(a))**k) = k softplus(a): log(sigmoid) too
            arg = e.args[0]
            base, k = (arg.base, arg.exp) if isinstance(arg, sp.Pow) else (arg, sp.S.One)
            a = _one_plus_exp(base)
            if a is not None:
                sp_code = self.tmp(f"_nm.softplus({self.emit_scalar(a)})")
                return sp_code if k == 1 else self.tmp(f"{self.emit_scalar(k)} * {sp_code}")
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
                    name: str = "kernel", orders: dict | None = None) -> str:
    """The Python source of a kernel (exposed for inspection and tests).

    Its arguments arrive as validated arrays of one real dtype (see :class:`Kernel`).
    ``orders`` maps each symbolic norm order to ``(lowest value, norm text)``: the
    kernel refuses orders below it.
    """
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


def _order_ranges(*exprs: Any) -> dict:
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


def _matrix_muls(e: Any) -> Any:
    """``Mul`` nodes that hold matrices (SymPy builds them in substitutions) as ``MatMul``."""
    if not isinstance(e, sp.Basic) or not e.args or isinstance(e, MatrixSymbol):
        return e
    args = tuple(_matrix_muls(a) for a in e.args)
    if isinstance(e, sp.Mul) and any(isinstance(a, MatrixExpr) for a in args):
        return MatMul(*args)
    if args != e.args:
        return e.func(*args)
    return e


class _Sigmoid(sp.Function):
    """The logistic function inside kernels (computed by ``numeric.sigmoid``)."""

    nargs = 1


def _one_plus_exp(b: Any) -> Any:
    """``a`` when ``b`` is ``1 + exp(a)``, else None."""
    if isinstance(b, sp.Add) and len(b.args) == 2 and sp.S.One in b.args:
        other = b.args[0] if b.args[1] == 1 else b.args[1]
        if isinstance(other, sp.exp):
            return other.args[0]
    return None


def _stable_logistic(e: Any) -> Any:
    """``exp(a)**j/(1 + exp(a))**k`` rewritten as ``sigmoid(a)**j * sigmoid(-a)**(k-j)``.

    The textbook forms of the sigmoid and its derivative overflow to ``inf/inf`` for
    large ``|a|``; the rewritten form is exact in the same arithmetic. None when ``e``
    has no such factor.
    """
    factors = list(sp.Mul.make_args(e)) if isinstance(e, (sp.Mul, sp.Pow)) else []
    for i, f in enumerate(factors):
        if not (isinstance(f, sp.Pow) and f.exp.is_number and f.exp.is_negative):
            continue
        a = _one_plus_exp(f.base)
        if a is None:
            continue
        k = -f.exp
        rest = factors[:i] + factors[i + 1:]
        for j_index, g in enumerate(rest):
            if isinstance(g, sp.exp):
                j = g.args[0] / a
                if j.is_number and j.is_positive and (j <= k) is sp.true:
                    others = rest[:j_index] + rest[j_index + 1:]
                    return sp.Mul(*others, _Sigmoid(a) ** j, _Sigmoid(-a) ** (k - j))
        return sp.Mul(*rest, _Sigmoid(-a) ** k)
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


def kernel(expr: Any, args: list | None = None, *, fusions: dict | None = None,
           orders: dict | None = None, ordered_by_name_from: int | None = None,
           backend: str | None = None) -> Kernel:
    """A numpy function computing ``expr``; works for any dimension, batched, ``out=``.

    ``args`` lists the symbols in positional call order (default: the free symbols
    sorted by name); every argument can also be passed by name. ``repr(k)`` and
    ``inspect.signature(k)`` show the order. Where the order is by name (no ``args``;
    ``ordered_by_name_from=i`` says ``args[i:]`` were sorted by name), a positional
    call that passes two arguments of the same kind (two scalars, two vectors) is
    refused: a swap of them would go unnoticed. A kernel of a symbolic norm order refuses
    orders below the declared range (``p >= 1`` unless ``norm(x, p, p_min=...)``).
    Called on JAX, PyTorch, CuPy or Dask arrays it computes with that library;
    ``backend=`` (``"jax"``, ``"torch"``, ``"numba"``, ... see :mod:`symnorm.kernels.backends`)
    fixes one library (``"jax"`` compiles with ``jax.jit``).

    >>> import numpy as np, symnorm as sn
    >>> x = sn.vector("x")
    >>> k = sn.kernel(x/sn.norm(x, 2), [x])
    >>> k(np.array([3.0, 4.0]))
    array([0.6, 0.8])
    >>> k(np.zeros(3))
    array([0., 0., 0.])
    >>> k(x=np.array([[3.0, 4.0], [0.0, 2.0]]))      # by name; a batch of two vectors
    array([[0.6, 0.8],
           [0. , 1. ]])
    >>> sn.kernel(sn.norm(x, 1), [x])(np.array([[1.0], [-2.0]]))  # one column vector
    array(3.)
    """
    from ..model.symbols import check_shapes

    if backend is not None:
        from .backends import check_backend

        check_backend(backend)
    expr = _matrix_muls(expr)
    check_shapes(expr)
    by_name = None
    if args is None:
        args, by_name = free_arguments(expr), 0
    args = list(args)
    for a in args:
        if not isinstance(a, (sp.Symbol, MatrixSymbol)):
            raise UnsupportedExpressionError(f"kernel arguments must be symbols, got {a!r}")
    names = [a.name for a in args]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UnsupportedExpressionError(
            f"two different kernel arguments are named {', '.join(twice)}; rename one")
    if "out" in names:
        raise UnsupportedExpressionError("a kernel argument cannot be named 'out' (the name "
                                         "of the output array)")
    missing = [s for s in free_arguments(expr) if s not in args]
    if missing:
        raise UnsupportedExpressionError(
            f"{to_text(expr)} needs the argument(s) {', '.join(map(str, missing))}")
    ranges = _order_ranges(expr)
    ranges.update(orders or {})
    ranges = {p: r for p, r in ranges.items() if p.free_symbols <= set(args)}
    source = generate_source(expr, args, fusions, orders=ranges)
    namespace: dict = {"np": np, "_nm": numeric}
    exec(compile(source, f"<symnorm kernel: {to_text(expr)[:60]}>", "exec"), namespace)
    checks = tuple(f"{to_text(p)} < {low:g} ({where} was derived for {to_text(p)} >= {low:g})"
                   for p, (low, where) in ranges.items())
    if by_name is None:
        by_name = ordered_by_name_from
    return Kernel(expr, args, source, namespace["kernel"], checks, by_name, backend=backend)


def kernel_for_derivation(deriv: Any, args: list | None = None,
                          backend: str | None = None) -> Kernel:
    """The kernel of a derivation's result: ``wrt`` first, then the other symbols by name.

    Symbolic norm orders of the differentiated function keep their declared range.
    """
    by_name = None if args else 1
    args = args or free_arguments(deriv.f, first=deriv.wrt)
    return kernel(deriv.result, args, fusions=deriv.fusions, orders=_order_ranges(deriv.f),
                  ordered_by_name_from=by_name, backend=backend)
