"""Numpy kernels generated from symnorm expressions.

The generator walks the expression once, emits one numpy statement per distinct
subexpression (so common subexpressions are computed once), and keeps the source on
the kernel (``Kernel.source``). Only code generated here is ever executed.

Calling convention (checked on every call, in O(1) per argument; what can be decided
when the kernel is built is decided then, in a prologue written for each kernel, see
:mod:`symnorm.kernels.calling`):

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
from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol

from .. import numeric
from ..model.errors import ArgumentError, ShapeError, UnsupportedExpressionError
from ..model.shapes import check_shapes
from ..model.text import to_text
from ..presentation.blocks import Block, Equations, Paragraph, Row, Shown
from ..presentation.latex import latex as to_latex
from ..presentation.prose import Math, Note, note
from .arguments import (
    arg_spec,
    as_array,
    dtype_message,
    free_arguments,
    is_foreign,
    kind_of,
    result_dims,
    size_text,
)
from .backends import check_backend
from .backends.dispatch import call
from .calling import fast_call
from .codegen import generate_source, matrix_muls, order_ranges

_FLOAT64 = np.dtype(np.float64)
_MISSING = object()

KINK_POLICY = (
    "At points where the derivative of a norm does not exist this kernel takes the norm's "
    "minimum-norm subgradient (through a chain rule, as for ||A x - b||_1, that gives a "
    "subgradient of the whole function; the derivation's kink notes say which): "
    "0 for the L2 norm at 0, sign(u) with 0 in zero entries for the L1 norm, "
    "the tie split evenly for the max norm; for matrix norms 0 for the Frobenius norm at 0, "
    "U_r V_r^T for the nuclear norm at rank r < min(m, n), U_k V_k^T / k for the spectral "
    "norm at a top singular value of multiplicity k (singular values equal within a "
    "relative 1e-10), see symnorm.numeric.matrices. It never returns NaN for finite input.")


class Kernel(Shown):
    """A compiled numpy function with its arguments, source and kink policy.

    Call it by name (``k(x=..., A=...)``) or positionally in the order of
    :attr:`arg_names` (shown by ``repr(k)`` and ``inspect.signature(k)``), with
    ``out=`` optionally. Leading axes are a batch: a vector is an array whose last axis
    is the vector axis, a matrix uses the last two axes, and a ``(k, 1)`` array is one
    column vector (its vector result comes back as a column). Dimensions are bound
    consistently across the arguments. Real arrays only: float32 stays float32,
    integers and booleans become float64, complex, text and object arrays are refused.
    ``out=`` must be a float array of exactly the result's shape. Called on JAX,
    PyTorch, CuPy or Dask arrays it computes with that library. At a kink it returns
    the minimum-norm subgradient, never NaN for finite input (its ``__doc__`` says
    which). A call that breaks a rule raises
    :class:`~symnorm.ArgumentError`, :class:`~symnorm.ShapeError` or (an argument
    outside the range the kernel was derived for) :class:`~symnorm.DomainError`.

    Made by :func:`symnorm.kernel` and by the ``kernel()`` methods of results; not
    built by hand.

    Parameters
    ----------
    expr : sympy.Basic
        The expression computed.
    args : list of sympy symbols
        The arguments, in positional order.
    source : str
        The generated Python source of the function.
    func : callable
        That source compiled: ``func(*arrays, out=None)`` on validated arrays.
    checks : tuple of str, optional
        What the kernel refuses, in words (orders below a symbolic norm order's range).
    by_name : int, optional
        The index from which the arguments were ordered by name rather than by the
        caller: a positional call passing two of those of the same kind is refused.
    backend : str, optional
        The array library it is fixed to (``None``: numpy, or the library of the
        arrays it is called with).

    Attributes
    ----------
    arg_names : list of str
        The names of the arguments, in positional order. ``expr``, ``args``, ``source``
        (one numpy statement per distinct subexpression) and ``backend`` are kept as
        given.

    Examples
    --------
    >>> import numpy as np, symnorm as sn
    >>> A, x, b = sn.matrix("A"), sn.vector("x"), sn.vector("b", "m")
    >>> k = sn.kernel(A * x - b, [x, A, b])
    >>> k
    <symnorm kernel k(x, A, b, *, out=None) -> A*x - b>
    >>> k.arg_names
    ['x', 'A', 'b']
    >>> k(b=np.ones(2), A=np.eye(2), x=np.array([3.0, 4.0]))
    array([2., 3.])
    >>> X = np.array([[3.0, 4.0], [1.0, 1.0]])        # a batch of two vectors x
    >>> out = np.empty((2, 2))
    >>> _ = k(X, np.eye(2), np.ones(2), out=out)
    >>> out
    array([[2., 3.],
           [0., 0.]])
    >>> print(sn.kernel(sn.norm(A*x - b, 2), [x, A, b]).source)
    def kernel(a_x, a_A, a_b, out=None):
        t0 = _nm.mv(a_A, a_x)
        t1 = t0 - a_b
        t2 = _nm.norm2(t1, 2.0)
        return _nm.assign(out, t2)
    <BLANKLINE>
    >>> k(np.ones(3), np.eye(2), np.ones(2))
    Traceback (most recent call last):
    ...
    symnorm.ShapeError: A has shape (2, 2) but x has length 3, so A must be (m, 3)
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
        self._specs = [arg_spec(a) for a in args]
        self._index = {name: i for i, name in enumerate(self.arg_names)}
        self._result_is_vector = isinstance(expr, MatrixExpr) and kind_of(expr) in "vr"
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
        self._result_keys = tuple(key(d) for d in result_dims(expr))
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
        self._fast = fast_call(self)  # what is decided here is not decided again per call

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

    # -- display (Jupyter, documents) -------------------------------------------------
    def _title_(self) -> Note:
        return note("Kernel of ", Math(to_latex(self.expr), to_text(self.expr)))

    def _blocks_(self) -> list[Block]:
        """``k(x, A, b) = expression``, and what it takes and returns in a sentence."""
        names = ", ".join(to_latex(a) for a in self.args)
        lhs = Math(rf"k({names})", f"k({', '.join(self.arg_names)})")
        library = "numpy" if self.backend is None else self.backend
        return [Equations([Row(lhs, Math(to_latex(self.expr), to_text(self.expr)))]),
                Paragraph(Note(f"a {library} function for arrays of any size: call it as "
                               f"{self._call_text()}, by position or by name; leading axes "
                               "are a batch"), small=True)]

    def __str__(self) -> str:
        return repr(self)

    # -- calling -----------------------------------------------------------------
    def __call__(self, *values: Any, out: np.ndarray | None = None, **named: Any) -> Any:
        if self.backend is None:  # the prologue written for this kernel (.calling)
            return self._fast(self, values, named, out)
        return self._call_general(values, named, out)

    def _call_general(self, values: tuple, named: dict, out: Any) -> Any:
        """Every call the fast path hands over: converts, checks, explains."""
        if self._same_kind and len(values) > 1:
            self._refuse_ambiguous(len(values))
        if self.backend is not None or is_foreign(values, named):  # JAX, torch, CuPy, Dask...
            return call(self, values, named, out, self.backend)
        ordered = values if not named and len(values) == len(self._specs) else \
            self._bind(values, named)
        arrays, batch, dims, columns, dtype = self._prepare(ordered)
        shape = self._result_shape(batch, dims)
        if out is not None:
            return self._call_out(arrays, out, shape, columns)
        res = self._finish(self._func(*arrays, out=None), shape, dtype)
        if columns and self._result_is_vector:
            res = res[..., None]
        return res

    def _finish(self, res: Any, shape: tuple | None, dtype: np.dtype) -> np.ndarray:
        """The computed value as an array of the result's shape and dtype."""
        res = np.asarray(res)
        if shape is not None and res.shape != shape:  # e.g. a constant: give it the batch
            try:
                res = np.broadcast_to(res, shape).copy()
            except ValueError:
                raise ShapeError(f"kernel of {to_text(self.expr)} computed shape {res.shape},"
                                 f" expected {shape}") from None
        if res.dtype != dtype:  # e.g. an explicit float64 matrix next to float32 input
            res = res.astype(dtype)
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
            a = v if type(v) is np.ndarray else as_array(spec, v)
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
                raise ArgumentError(dtype_message(spec, a))
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
            source = f"{self._specs[seen[1]].name} {size_text(self._specs[seen[1]], seen[2])}"
        if spec.kind == "matrix":
            want = (f"so {spec.name} must be ({size(keys[0], spec.dims[0])}, "
                    f"{size(keys[1], spec.dims[1])})")
            hint = ""
            if fits(keys[0], core[1]) and fits(keys[1], core[0]):
                hint = f" (is {spec.name} transposed?)"
            return f"{spec.name} {size_text(spec, shape)} but {source}, {want}{hint}"
        want = f"so {spec.name} must have length {size(keys[0], spec.dims[0])}"
        if spec.kind == "labels":
            want += " (one label per vector entry)"
        return f"{spec.name} {size_text(spec, shape)} but {source}, {want}"

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


def kernel(expr: Any, args: list | None = None, *, fusions: dict | None = None,
           orders: dict | None = None, ordered_by_name_from: int | None = None,
           backend: str | None = None) -> Kernel:
    """A numpy function computing ``expr``; works for any dimension, batched, ``out=``.

    The expression is compiled once into numpy source (one statement per distinct
    subexpression; only code generated here is ever run) that calls numpy and
    symnorm's numeric helpers: norms that neither overflow nor underflow, the
    minimum-norm subgradient at kinks. The kernel then works for every size the
    symbolic dimensions allow. See :class:`Kernel` for the calling convention and the
    checks every call makes.

    Parameters
    ----------
    expr : sympy.Basic
        The scalar, vector or matrix expression to compute.
    args : list of sympy symbols, optional
        The symbols in positional call order (default: the free symbols sorted by
        name); every argument can also be passed by name. ``repr(k)`` and
        ``inspect.signature(k)`` show the order. Where the order is by name, a
        positional call that passes two arguments of the same kind (two scalars, two
        vectors) is refused: a swap of them would go unnoticed.
    fusions : dict, optional
        Fused derivative nodes recorded by a derivation (``Derivation.fusions``), so
        the kernel computes them with their fused helpers; the ``kernel()`` methods of
        results pass them.
    orders : dict, optional
        ``{p: (lowest value, text of its norm)}`` for symbolic norm orders, added to
        those read from ``expr``: the kernel refuses orders below them (default: ``p >=
        1``, or the ``p_min`` given to :func:`norm`).
    ordered_by_name_from : int, optional
        Says that ``args[i:]`` were sorted by name rather than chosen by the caller
        (the positional call that could swap two of them is then refused).
    backend : str, optional
        Fix the array library: ``"numpy"``, ``"array_api"``, ``"jax"`` (compiled with
        ``jax.jit``), ``"torch"``, ``"torch.compile"``, ``"cupy"``, ``"dask"``,
        ``"numba"``. Default: numpy, or the library of the arrays a call gets.

    Returns
    -------
    Kernel
        The compiled function, with its ``source``, ``arg_names`` and a ``__doc__``
        that lists its arguments and kink policy.

    Raises
    ------
    UnsupportedExpressionError
        If an argument is not a symbol, two arguments share a name (or one is named
        ``out``), ``args`` misses a symbol of ``expr``, a node has no kernel rule, or
        the backend is unknown or not installed.
    ShapeError
        If shapes inside ``expr`` do not fit, or a dimension is fixed by no argument.
    DomainError
        If ``expr`` holds a value that is not real (it has no real kernel).

    Examples
    --------
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
    >>> sn.kernel(sn.norm(x, 2), [x])(np.array([3e200, 4e200]))   # no overflow
    array(5.e+200)
    >>> kp = sn.kernel(sn.norm(x, sn.scalar("p")))     # arguments sorted by name
    >>> kp
    <symnorm kernel k(p, x, *, out=None) -> norm(x, p)>
    >>> round(float(kp(3.0, np.array([3.0, 4.0]))), 6)   # (3**3 + 4**3)**(1/3)
    4.497941
    >>> kp(0.5, np.array([3.0, 4.0]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symnorm.DomainError: the order p = 0.5 of norm(x, p) is outside the range p >= 1 ...
    >>> A = sn.matrix("A")
    >>> sn.kernel(sn.norm(A*x, 2), [x])
    Traceback (most recent call last):
    ...
    symnorm.UnsupportedExpressionError: norm(A*x, 2) needs the argument(s) A
    """

    if backend is not None:
        check_backend(backend)
    expr = matrix_muls(expr)
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
    ranges = order_ranges(expr)
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
    return kernel(deriv.result, args, fusions=deriv.fusions, orders=order_ranges(deriv.f),
                  ordered_by_name_from=by_name, backend=backend)
