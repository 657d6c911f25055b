"""Backprop kernels on JAX, PyTorch, CuPy and Dask arrays, from the same generated source.

:class:`~symnorm.backprop.kernel.BackpropKernel` hands a call here when an argument is
an array of another library than numpy, or when the kernel was made with
``backend=``. Its generated source (``k.source``) is executed once per (library, dtype,
device) with ``np`` bound to the array-API shim (:class:`symnorm.kernels.backends.shim.NumpyNames`),
``_nm`` to :class:`BatchNumeric` (the array-API kernel helpers) and ``_bp`` to
:class:`ArrayAPIHelpers` (the backprop helpers below), exactly as ordinary kernels run
on other libraries (:mod:`symnorm.kernels.backends.dispatch`). So the result is a dict of that
library's arrays with the numpy kernel's semantics: relu'(0) = 0, the sigmoid that never
overflows, the same shape errors.

**Dask.** The batch axis may be chunked; the feature axis of each data argument is put
in one chunk (rows stay whole) and the parameters in one chunk each. Every operation of
the kernel is then local to a chunk of rows except the sums over the batch: the weight
gradient ``δᵀh`` is a per-chunk product summed across chunks (Dask's ``matmul`` over a
chunked contraction axis), bias gradients and the loss are per-chunk sums added up. No
task ever holds the whole batch. The results are lazy Dask arrays, as for the gradient
kernels on Dask: compute them together (``dask.compute(out)``) so the forward pass of
each chunk runs once for all of them. ``reduce="mean"`` divides by the whole batch size
``B``; ``reduce=None`` gives per-sample arrays chunked like the batch.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import numeric as np_numeric
from ..kernels.backends.array_api import XPNumeric
from ..kernels.backends.registry import check_backend as check_known
from ..kernels.backends.registry import library_of, namespace
from ..kernels.backends.shim import NumpyNames
from ..model.errors import ArgumentError, ShapeError, UnsupportedExpressionError
from . import helpers as np_helpers


class _NoArray:
    """A type no value has: the generated prologue then hands every argument to
    :meth:`ArrayAPIHelpers.as_array` (they were converted before the call)."""


class ArrayAPIHelpers:
    """``_bp`` for generated backprop source on an array-API namespace.

    The numpy versions live in :mod:`symnorm.backprop.kernel`; these compute with
    ``nm.xp`` and keep their semantics.

    >>> import numpy as np
    >>> from array_api_compat import array_namespace
    >>> u = np.array([-1000.0, 0.0, 1000.0])
    >>> bp = ArrayAPIHelpers(BatchNumeric(array_namespace(u), "numpy", u.dtype, None))
    >>> bp.sigmoid(u)[1:], bool(bp.sigmoid(u)[0] < 1e-300)
    (array([0.5, 1. ]), True)
    >>> float(bp.vdot(np.ones((2, 3)), np.ones((2, 3)))), bp.rowdot(np.ones((2, 3)), u)
    (6.0, array([0., 0.]))
    """

    ndarray = _NoArray

    def __init__(self, nm: XPNumeric) -> None:
        self.nm = nm
        self.xp = nm.xp

    def as_array(self, value: Any, name: str) -> Any:
        """The argument as is: :func:`call` converted it to this library already."""
        return value

    def as_scalar(self, value: Any, name: str) -> Any:
        """A Python float, or a 0-d array of this library (a traced value under jit)."""
        if isinstance(value, (int, float, np.number)):
            return float(value)
        if not hasattr(value, "shape"):
            value = np.asarray(value)
        if tuple(value.shape) != ():
            np_helpers.bad_shape(name, value, "a scalar, ()")
        return float(value) if isinstance(value, np.ndarray) else value

    bad_shape = staticmethod(np_helpers.bad_shape)

    def sigmoid(self, u: Any) -> Any:
        """``1/(1 + exp(-max(u, -700)))``: the numpy kernel's formula, no overflow."""
        xp = self.xp
        # the constant is made per call: one cached while jax traces would leak a tracer
        return 1.0 / (1.0 + xp.exp(-xp.maximum(u, self.nm.arr(-700.0))))

    def rowdot(self, u: Any, v: Any) -> Any:
        """``Σ_i u_bi v_bi`` per row (a chunk-local sum on Dask)."""
        return self.xp.sum(u * v, axis=-1)

    def vdot(self, a: Any, b: Any) -> Any:
        """``Σ a ⊙ b`` over every entry (summed chunk by chunk on Dask)."""
        return self.xp.sum(a * b)


class BatchNumeric(XPNumeric):
    """:class:`~symnorm.kernels.backends.array_api.XPNumeric` for backprop's rows.

    On Dask, the vector axis of every batched array in a backprop kernel is one chunk, so
    a per-sample norm (an L2 or Lp loss) is the numpy helper applied to each block of
    rows, lazily, instead of the two-pass reduction across chunks that a vector split
    into chunks needs (which computes its first pass at call time).

    >>> import dask.array as da, numpy as np
    >>> from array_api_compat import array_namespace
    >>> u = da.from_array(np.array([[3e200, 4e200], [0.0, 0.0], [1.0, 0.0]]), chunks=(2, 2))
    >>> nm = BatchNumeric(array_namespace(u), "dask", u.dtype, None)
    >>> r = nm.norm2(u)
    >>> type(r).__name__, (r.compute() / [1e200, 1, 1]).round(12).tolist()
    ('Array', [5.0, 0.0, 1.0])
    """

    def _rows(self, fn: Any, u: Any, *args: Any) -> Any:
        last = u.ndim - 1
        u = u.rechunk({last: -1})
        dtype = self.dtype

        def block(b: np.ndarray) -> np.ndarray:
            return np.asarray(fn(b, *args), dtype=dtype)

        return u.map_blocks(block, drop_axis=last, dtype=dtype)

    def norm2(self, u: Any, p: Any = 2) -> Any:
        if self.lib != "dask":
            return super().norm2(u, p)
        return self._rows(np_numeric.norm2, u, 2)

    def normp(self, u: Any, p: Any) -> Any:
        if self.lib != "dask" or not isinstance(p, (int, float, np.number)):
            return super().normp(u, p)
        return self._rows(np_numeric.normp, u, float(p))


def _library_for(kernel: Any, kwargs: dict) -> str:
    """The library a call computes with: the kernel's ``backend``, else that of its
    arrays (numpy when there are none). Arrays of two libraries are refused, naming them."""
    found: dict[str, str] = {}
    for name in kernel.arg_names:
        value = kwargs[name]
        if type(value) is not np.ndarray:
            lib = library_of(value)
            if lib not in (None, "numpy"):
                found.setdefault(lib, name)
    backend = kernel.backend
    if backend not in (None, "array_api"):
        for lib, name in found.items():
            if lib != backend:
                raise ArgumentError(f"argument {name} is a {lib} array but the kernel "
                                    f"computes with {backend}; pass arrays of one library "
                                    "(numpy arrays and numbers are converted)")
        return backend
    if len(found) > 1:
        listed = ", ".join(f"{name} is a {lib} array" for lib, name in found.items())
        raise ArgumentError(f"arguments of two array libraries in one call ({listed}); "
                            "pass arrays of one library (numpy arrays and numbers are "
                            "converted)")
    return next(iter(found), "numpy")


def call(kernel: Any, kwargs: dict) -> dict:
    """Run a backprop kernel on the arrays of one library (see the module docstring).

    ``kernel.__call__`` comes here once the argument names are checked.

    >>> import dask.array as da, numpy as np, symnorm as sn
    >>> k = sn.backprop(sn.mlp([2, 1], "relu"), check=False).kernel()
    >>> x = da.from_array(np.array([[1.0, 2.0], [0.0, 0.0], [3.0, -1.0]]), chunks=(2, 2))
    >>> out = call(k, dict(x=x, t=np.zeros((3, 1)), W1=np.array([[1.0, 1.0]])))
    >>> type(out["W1"]).__name__, out["W1"].compute(), float(out["loss"].compute())
    ('Array', array([[3.        , 1.33333333]]), 2.1666666666666665)
    """
    lib = _library_for(kernel, kwargs)
    xp = namespace(lib)
    values, dtype, device = _convert(kernel, lib, xp, kwargs)
    func, nm = _compiled(kernel, lib, xp, dtype, device, jit=kernel.backend == "jax")
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        out = func(**values)
    # in the kernel's order (a jitted function returns its dict with the keys sorted)
    return {k: out[k] if library_of(out[k]) == lib else nm.arr(out[k])
            for k in kernel.outputs}


def _compiled(kernel: Any, lib: str, xp: Any, dtype: Any, device: Any,
              jit: bool = False) -> tuple[Any, XPNumeric]:
    """The kernel's source executed for one library, dtype and device (cached)."""
    cache = kernel.__dict__.setdefault("_backend_cache", {})
    key = (lib, str(dtype), str(device), jit)
    if key not in cache:
        nm = BatchNumeric(xp, lib, dtype, device)
        names: dict = {"np": NumpyNames(nm), "_nm": nm, "_bp": ArrayAPIHelpers(nm)}
        exec(compile(kernel.source, f"<symnorm {lib} backprop kernel>", "exec"), names)
        func = names["kernel"]
        if jit:
            import jax

            func = jax.jit(func)
        cache[key] = (func, nm)
    return cache[key]


def _device(a: Any) -> Any:
    from array_api_compat import device

    try:
        return device(a)
    except Exception:  # noqa: BLE001 - a JAX tracer may have no device to report
        return None


def _default_float(lib: str, xp: Any) -> Any:
    """The float dtype integer arguments become (JAX: float32 unless x64 is enabled)."""
    if lib == "numpy":
        return np.dtype(np.float64)
    if lib == "torch":
        import torch

        return torch.float64
    return xp.asarray(0.0).dtype


def _convert(kernel: Any, lib: str, xp: Any, kwargs: dict) -> tuple[dict, Any, Any]:
    """Every array argument as an array of ``lib`` in one real floating dtype (numbers,
    lists and numpy arrays converted; scalar arguments left to the kernel's prologue)."""
    arrays: dict[str, Any] = {}
    device = None
    for name in kernel.arg_names:
        value = kwargs[name]
        if kernel.shapes.get(name) == ():
            continue
        if library_of(value) == lib and lib != "numpy":
            if device is None:
                device = _device(value)
            arrays[name] = value
            continue
        host = value if isinstance(value, np.ndarray) else np_helpers.as_array(value, name)
        if host.dtype.kind not in "fiub":
            raise ArgumentError(f"argument {name} must be an array of real numbers, got "
                                f"dtype {host.dtype}")
        arrays[name] = host if host.dtype.kind == "f" else host.astype(np.float64)
    votes = []
    for name, a in arrays.items():
        if isinstance(a, np.ndarray) and lib != "numpy":
            a = xp.asarray(a, device=device)
        if xp.isdtype(a.dtype, "real floating"):
            votes.append(a.dtype)
        elif xp.isdtype(a.dtype, ("integral", "bool")):
            a = xp.astype(a, _default_float(lib, xp))
            votes.append(a.dtype)
        else:
            raise ArgumentError(f"argument {name} must be an array of real numbers, got "
                                f"dtype {a.dtype}")
        arrays[name] = a
    if not votes:
        dtype = _default_float(lib, xp)
    elif all(v == votes[0] for v in votes):  # the common case, without a promotion call
        dtype = votes[0]
    else:
        dtype = xp.result_type(*votes)
    for name, a in arrays.items():
        if a.dtype != dtype:
            arrays[name] = xp.astype(a, dtype)
    if lib == "dask":
        _rechunk(kernel, arrays)
    values = dict(kwargs)
    values.update(arrays)
    return values, dtype, device


def _rechunk(kernel: Any, arrays: dict) -> None:
    """Dask: whole rows in each chunk of the data, one chunk per parameter, the data
    chunked alike along the batch (so every chunk of rows is one set of tasks)."""
    for name, a in arrays.items():
        if any(isinstance(d, float) and math.isnan(d) for d in a.shape):
            raise ShapeError(f"argument {name} is a Dask array of unknown shape {a.shape}; "
                             f"call {name}.compute_chunk_sizes() first")
    data = [n for n in kernel.batched if n in arrays]
    rows = None
    for name in data:
        a = arrays[name]
        if a.ndim == 2:
            if rows is None or a.shape[0] != sum(rows):
                a = a.rechunk({1: -1})
                rows = rows or a.chunks[0]
            else:
                a = a.rechunk({0: rows, 1: -1})
        arrays[name] = a
    for name, a in arrays.items():
        if name not in data:
            arrays[name] = a.rechunk(-1)


def check_backend(backend: str | None) -> str | None:
    """``backend`` if backprop kernels can compute with it, else a clear error.

    >>> check_backend("jax")
    'jax'
    >>> check_backend("numba")
    Traceback (most recent call last):
    ...
    symnorm.UnsupportedExpressionError: backprop kernels have no numba backend (their \
work is matrix products, which numpy already hands to BLAS); use backend=None
    """

    if backend == "numba":
        raise UnsupportedExpressionError(
            "backprop kernels have no numba backend (their work is matrix products, which "
            "numpy already hands to BLAS); use backend=None")
    return check_known(backend)
