"""Fused CPU loops (numba) for the helpers vector-norm gradients and prox kernels call.

``kernel(..., backend="numba")`` executes the kernel's generated source unchanged, with
``_nm`` bound to :class:`NumbaNumeric`: the helpers a rule names for its fused gradient
(``NormRule.numpy_gradient``: ``norm2_grad``, ``norm1_grad``, ``norminf_grad``,
``normp_grad``), the soft-thresholding prox, the normalisation layers and their VJPs
(``layer_norm``, ``rms_norm``, ``layer_norm_vjp``, ``rms_norm_vjp``: one task per row,
whose later passes read the row from the cache) and the VJP of ``u/‖u‖₂``
(``norm2_hvp``: two passes) run as compiled loops, every other helper is the numpy one
(:mod:`symnorm.numeric`). Same semantics as numpy:

* elementwise chains (``sign``, soft thresholding) are one pass;
* norm-then-scale is two passes: per-block partial sums (in parallel over blocks of
  every row, so one long vector and a batch of short rows both use every core), then
  the scaled write. A row whose sum of powers over/underflows is redone from entries
  scaled by a power of two (exact), so ``[DBL_MAX, DBL_MAX]`` gives ``1/sqrt(2)``;
* the L∞ gradient is two passes too: the largest magnitude per block from the entries'
  bits (sign cleared, compared as integers, so the loop vectorises and a NaN shows as a
  value above inf), then the write, counting the entries that reach the maximum; a row
  with a tied maximum (rare in data, certain at ``u = 0``) gets one more pass that
  splits the weight evenly;
* results of at least ``STREAM_BYTES`` are written with non-temporal stores (as memcpy
  writes large copies), so a pass costs one read of ``u`` and one write of ``out``;
* at a kink the minimum-norm subgradient: 0 for the L2 gradient at 0, sign with 0
  entries for L1, ties split evenly for L∞; never NaN for finite input;
* non-finite input as in :mod:`symnorm.numeric`: a NaN makes its row NaN (its entry
  only, for ``sign``), a row with infinite entries gets its limit direction (``sign`` on
  those, normalised, 0 elsewhere); orders above 1022 (float64) and ``p = oo`` run numpy's
  helper, which forms them from ``|u_i|/max|u|``.

The loops are compiled on first use for the dtype at hand (float32 or float64).
"""

from __future__ import annotations

import contextlib
import functools
import math
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ... import numeric as np_numeric


def _jit() -> Any:
    """The compiled loops. Their module imports numba (an optional library) at its top, so
    it is imported here, when the backend is first used, not with the package."""
    from . import numba_loops

    if numba_loops.numba is None:
        raise ImportError("backend='numba' needs numba (pip install 'symnorm[numba]')")
    return numba_loops


#: results this large (bytes) bypass the cache when written: larger than the last-level
#: cache of common CPUs, so the result would not have stayed there for its next reader
STREAM_BYTES = 1 << 23

_LOW = math.sqrt(float(np.finfo(np.float64).tiny))  # smaller sums may have lost squares
_HIGH = float(np.finfo(np.float64).max)


def _blocks(n: int) -> int:
    return max(1, -(-n // _jit().BLOCK))


def _rows(u: np.ndarray) -> np.ndarray:
    """``u`` as a C-contiguous 2-D array of rows (a view when possible)."""
    u = np.ascontiguousarray(u)
    return u.reshape(-1, u.shape[-1]) if u.ndim != 2 else u


def _target(u: np.ndarray, out: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(2-D view to write, what to return): ``out`` itself when it is contiguous."""
    if out is not None and out.flags.c_contiguous and out.dtype == u.dtype \
            and out.shape == u.shape:
        return out.reshape(-1, u.shape[-1]) if out.ndim != 2 else out, out
    res = np.empty(u.shape, dtype=u.dtype)
    return res.reshape(-1, u.shape[-1]) if res.ndim != 2 else res, res


def _stream(w: np.ndarray) -> bool:
    """Whether to write ``w`` with non-temporal stores (read at call time, so tests can
    lower the threshold)."""
    return w.nbytes >= STREAM_BYTES and w.flags.aligned


def _finish(res: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    if out is None or res is out:
        return res
    np.copyto(out, res)
    return out


_LOCK = threading.RLock()
_serial: bool | None = None  # None until the first call shows numba's threading layer


@contextlib.contextmanager
def _parallel_section() -> Iterator[None]:
    """Runs the loops of one call. numba's ``workqueue`` threading layer (the one left
    when neither OpenMP nor TBB is installed) aborts the process when two threads launch
    parallel loops at once, so with it calls take turns; with OpenMP or TBB they do not."""
    global _serial
    if _serial is False:
        yield
        return
    with _LOCK:
        yield
        if _serial is None:
            import numba

            with contextlib.suppress(ValueError):  # no parallel loop has run yet
                _serial = numba.threading_layer() == "workqueue"


def _one_at_a_time(method: Callable) -> Callable:
    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        with _parallel_section():
            return method(*args, **kwargs)
    return run


class NumbaNumeric:
    """``_nm`` for generated kernels: fused numba loops, numpy for everything else.

    >>> import numpy as np
    >>> nm = NumbaNumeric()
    >>> nm.norm2_grad(np.array([3.0, 4.0]))
    array([0.6, 0.8])
    >>> nm.soft_threshold(np.array([3.0, -0.5, 0.0]), 1.0)
    array([2., 0., 0.])
    """

    def __getattr__(self, name: str) -> Any:
        return getattr(np_numeric, name)

    @staticmethod
    def _plain(u: Any) -> np.ndarray | None:
        """``u`` as a float array the loops take, or None (then numpy computes)."""
        a = np.asarray(u)
        if a.dtype not in (np.float64, np.float32) or a.ndim == 0 or a.shape[-1] == 0 \
                or a.size == 0:
            return None
        return a

    @_one_at_a_time
    def norm2_grad(self, u: Any, p: Any = 2, out: np.ndarray | None = None) -> np.ndarray:
        a = self._plain(u)
        if a is None:
            return np_numeric.norm2_grad(u, p, out=out)
        return self._norm_then_scale(a, 2.0, out)

    def _norm_then_scale(self, a: np.ndarray, p: float, out: np.ndarray | None) -> np.ndarray:
        """Pass 1: block sums of ``|u|^p`` (float64); pass 2: the scaled write."""
        loops = _jit()
        rows = _rows(a)
        w, res = _target(a, out)
        part = np.empty((rows.shape[0], _blocks(rows.shape[1])))
        loops.partial_powers(rows, part, p)
        total = part.sum(axis=1)
        if a.dtype == np.float32:  # float64 sums of float32 powers: only 0 is special
            low, high = float(np.finfo(np.float64).tiny), math.inf
        else:
            low, high = _LOW, _HIGH
        fast = (total >= low) & (total <= high)
        with np.errstate(divide="ignore", over="ignore"):
            fac = np.where(fast, 1.0 / np.where(fast, total, 1.0) ** (1.0 / p), 0.0)
        loops.write_lp(rows, w, fac, fast, p - 1.0, _stream(w))
        for r in np.flatnonzero(~fast):  # rare: sums that over/underflowed, or u = 0
            loops._scaled_row(rows, w, r, p, 2 if p == 2.0 else 0)
        return _finish(res, out)

    @_one_at_a_time
    def norm1_grad(self, u: Any, p: Any = 1, out: np.ndarray | None = None) -> np.ndarray:
        a = self._plain(u)
        if a is None:
            return np_numeric.norm1_grad(u, p, out=out)
        w, res = _target(a, out)
        _jit().sign(_rows(a), w, _stream(w))
        return _finish(res, out)

    @_one_at_a_time
    def norminf_grad(self, u: Any, p: Any = None, out: np.ndarray | None = None) -> np.ndarray:
        a = self._plain(u)
        if a is None:
            return np_numeric.norminf_grad(u, p, out=out)
        loops = _jit()
        rows = _rows(a)
        if a.dtype == np.float64:
            bits, mask, inf = rows.view(np.int64), loops.MASK64, np.int64(0x7FF0 << 48)
        else:
            bits, mask, inf = rows.view(np.int32), loops.MASK32, np.int32(0x7F80 << 16)
        part = np.empty((rows.shape[0], _blocks(rows.shape[1])), dtype=bits.dtype)
        loops.partial_max_bits(bits, part, mask)
        big = part.max(axis=1)
        if (big > inf).any():  # a NaN: numpy's semantics (NaN where it propagates)
            return np_numeric.norminf_grad(u, p, out=out)
        w, res = _target(a, out)
        count = np.empty(part.shape, dtype=np.int64)
        loops.write_linf(rows, bits, w, big, np.ones(rows.shape[0]), count, mask,
                         _stream(w))
        ties = count.sum(axis=1)
        tied = np.flatnonzero(ties > 1)
        if tied.size:  # ties split evenly: each gets 1/(how many)
            loops.scale_rows(w, tied, 1.0 / ties[tied])
        return _finish(res, out)

    @_one_at_a_time
    def normp_grad(self, u: Any, p: Any, out: np.ndarray | None = None) -> np.ndarray:
        a = self._plain(u)
        pa = np_numeric.order_array(p, np.dtype(np.float64))
        if a is None or pa.ndim != 0 or \
                not (1.0 < float(pa) <= np_numeric.large_order(a.dtype)):
            # p per row, p <= 1, and orders whose powers underflow even for entries
            # scaled into [0.5, 1) (p > 1022 for float64, up to p = oo): numpy's helper
            return np_numeric.normp_grad(u, p, out=out)
        return self._norm_then_scale(a, float(pa), out)

    @_one_at_a_time
    def soft_threshold(self, v: Any, lam: Any, out: np.ndarray | None = None) -> np.ndarray:
        a = self._plain(v)
        lam_a = np.asarray(lam, dtype=np.float64)
        if np.any(lam_a < 0):
            raise ValueError(f"the threshold lam must be >= 0, got {lam!r}")
        if a is None:
            return np_numeric.soft_threshold(v, lam, out=out)
        rows = _rows(a)
        try:
            per_row = np.ascontiguousarray(np.broadcast_to(lam_a, a.shape[:-1]).reshape(-1),
                                           dtype=a.dtype)
        except ValueError:  # thresholds that broadcast against the batch the other way
            return np_numeric.soft_threshold(v, lam, out=out)
        w, res = _target(a, out)
        _jit().soft_threshold(rows, per_row, w, _stream(w))
        return _finish(res, out)


    # -- normalisation layers and the VJP of u/||u||_2 -----------------------------------
    def _rows_eps(self, a: np.ndarray, eps: Any) -> np.ndarray | None:
        e = np.asarray(eps, dtype=np.float64)
        if np.any(e < 0) or np.any(np.isnan(e)):
            raise ValueError(f"eps must be >= 0, got {eps!r}")
        try:
            return np.ascontiguousarray(np.broadcast_to(e, a.shape[:-1]).reshape(-1))
        except ValueError:  # eps that broadcasts against the batch the other way
            return None

    def _limits(self, a: np.ndarray) -> tuple[float, float]:
        if a.dtype == np.float32:  # float64 sums of float32 squares: only 0 is special
            return float(np.finfo(np.float64).tiny), math.inf
        return _LOW, _HIGH

    def _normalise(self, u: Any, eps: Any, out: Any, centred: bool) -> np.ndarray:
        helper = np_numeric.layer_norm if centred else np_numeric.rms_norm
        a = self._plain(u)
        per_row = None if a is None else self._rows_eps(a, eps)
        if per_row is None:
            return helper(u, eps, out=out)
        rows = _rows(a)
        w, res = _target(a, out)
        ok = np.empty(rows.shape[0], dtype=np.bool_)
        low, high = self._limits(a)
        _jit().normalise_rows(rows, per_row, w, ok, centred, low, high, _stream(w))
        for r in np.flatnonzero(~ok):  # rare: a variance that over/underflowed
            w[r] = helper(rows[r], per_row[r])
        return _finish(res, out)

    def _normalise_vjp(self, u: Any, eps: Any, g: Any, out: Any, centred: bool) -> np.ndarray:
        helper = np_numeric.layer_norm_vjp if centred else np_numeric.rms_norm_vjp
        a, b = self._plain(u), self._plain(g)
        per_row = None if a is None else self._rows_eps(a, eps)
        if a is None or b is None or a.shape != b.shape or a.dtype != b.dtype \
                or per_row is None:
            return helper(u, eps, g, out=out)
        rows, grows = _rows(a), _rows(b)
        w, res = _target(a, out)
        ok = np.empty(rows.shape[0], dtype=np.bool_)
        low, high = self._limits(a)
        _jit().normalise_rows_vjp(rows, per_row, grows, w, ok, centred, low, high,
                                  _stream(w))
        for r in np.flatnonzero(~ok):
            w[r] = helper(rows[r], per_row[r], grows[r])
        return _finish(res, out)

    @_one_at_a_time
    def layer_norm(self, u: Any, eps: Any = 1e-5, out: np.ndarray | None = None) -> np.ndarray:
        return self._normalise(u, eps, out, True)

    @_one_at_a_time
    def rms_norm(self, u: Any, eps: Any = 1e-5, out: np.ndarray | None = None) -> np.ndarray:
        return self._normalise(u, eps, out, False)

    @_one_at_a_time
    def layer_norm_vjp(self, u: Any, eps: Any, g: Any,
                       out: np.ndarray | None = None) -> np.ndarray:
        return self._normalise_vjp(u, eps, g, out, True)

    @_one_at_a_time
    def rms_norm_vjp(self, u: Any, eps: Any, g: Any,
                     out: np.ndarray | None = None) -> np.ndarray:
        return self._normalise_vjp(u, eps, g, out, False)

    def _normalise_value_vjp(self, u: Any, eps: Any, g: Any, out: Any,
                             centred: bool) -> tuple:
        helper = np_numeric.layer_norm_value_vjp if centred else \
            np_numeric.rms_norm_value_vjp
        a, b = self._plain(u), self._plain(g)
        per_row = None if a is None else self._rows_eps(a, eps)
        if a is None or b is None or a.shape != b.shape or a.dtype != b.dtype \
                or per_row is None:
            return helper(u, eps, g, out=out)
        rows, grows = _rows(a), _rows(b)
        want = out if out is not None else (None, None)
        wv, value = _target(a, want[0])
        w, res = _target(a, want[1])
        ok = np.empty(rows.shape[0], dtype=np.bool_)
        low, high = self._limits(a)
        _jit().normalise_rows_value_vjp(rows, per_row, grows, wv, w, ok, centred, low, high,
                                        _stream(w))
        for r in np.flatnonzero(~ok):
            wv[r], w[r] = helper(rows[r], per_row[r], grows[r])
        return _finish(value, want[0]), _finish(res, want[1])

    @_one_at_a_time
    def layer_norm_value_vjp(self, u: Any, eps: Any, g: Any, out: Any = None) -> tuple:
        return self._normalise_value_vjp(u, eps, g, out, True)

    @_one_at_a_time
    def rms_norm_value_vjp(self, u: Any, eps: Any, g: Any, out: Any = None) -> tuple:
        return self._normalise_value_vjp(u, eps, g, out, False)

    @_one_at_a_time
    def norm2_hvp(self, u: Any, v: Any, out: np.ndarray | None = None) -> np.ndarray:
        """Pass 1: block sums of ``u*u`` and ``u*v``; pass 2: ``a v - b u``, streamed."""
        a, b = self._plain(u), self._plain(v)
        if a is None or b is None or a.shape != b.shape or a.dtype != b.dtype:
            return np_numeric.norm2_hvp(u, v, out=out)
        rows, vrows = _rows(a), _rows(b)
        part = np.empty((rows.shape[0], _blocks(rows.shape[1]), 2))
        loops = _jit()
        loops.partial_dots(rows, vrows, part)
        uu, uv = part[..., 0].sum(axis=1), part[..., 1].sum(axis=1)
        low, high = self._limits(a)
        fast = (uu >= low) & (uu <= high)
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = np.where(fast, 1.0 / np.sqrt(np.where(fast, uu, 1.0)), 0.0)
            beta = np.where(fast, uv * inv / np.where(fast, uu, 1.0), 0.0)
        w, res = _target(a, out)
        loops.write_axpby(rows, vrows, w, inv, beta, fast, _stream(w))
        for r in np.flatnonzero(~fast):  # rare: u = 0, or a sum that over/underflowed
            w[r] = np_numeric.norm2_hvp(rows[r], vrows[r])
        return _finish(res, out)


def compiled(kernel: Any) -> Any:
    """The kernel's generated source executed with numpy and the fused helpers."""
    cache = kernel.__dict__.setdefault("_backend_cache", {})
    if "numba" not in cache:
        namespace: dict = {"np": np, "_nm": NumbaNumeric()}
        exec(compile(kernel.source, "<symnorm numba kernel>", "exec"), namespace)
        cache["numba"] = namespace["kernel"]
    return cache["numba"]
