"""The helpers of :mod:`symnorm.numeric`, written against the array API standard.

One :class:`XPNumeric` is bound to an array namespace (``array_api_compat``'s wrapper of
numpy, JAX, PyTorch, CuPy or Dask), a working dtype and a device; generated kernels call
its methods under the name ``_nm`` exactly as the numpy path calls
:mod:`symnorm.numeric`, so one kernel source serves every library.

Same semantics as :mod:`symnorm.numeric`:

* at a kink the minimum-norm subgradient, never NaN (0 for the L2 gradient at 0, sign
  with 0 entries for L1, ties split evenly for L∞);
* norms neither overflow nor underflow where the true value is a finite nonzero float:
  the fast ``sqrt(u·u)`` is used, and only rows where it over/underflows are recomputed
  from entries scaled by a power of two;
* orders above 1022 (float64; 126 for float32) are formed from ``|u_i|/max|u|``, and
  ``p = oo`` (an order too large for a float) is the L∞ limit;
* non-finite input: NaN reaches every entry that depends on it (the whole row of an
  L2/Lp/L∞ gradient, the entry of ``sign``); a row with ±inf entries has norm inf and
  the gradient at its limit direction (``sign`` on the infinite entries, 0 elsewhere).
  See :mod:`symnorm.numeric` for the whole rule.

Data-dependent branches are ``where`` selects, so the code traces under ``jax.jit`` and
``torch.compile`` and stays lazy on Dask. On libraries that compute eagerly (numpy,
PyTorch, CuPy, JAX outside ``jit``) the slow path is skipped when every row passed the
fast path, so the common case costs what the textbook formula costs. Helpers with no
array-API form (group-lasso blocks, the hull of tied gradients, the SVD-based matrix
norms) run the numpy helper on the host: see :meth:`host`. While ``torch.compile``
traces, value checks (orders, thresholds) are recorded as flags (:attr:`flags`) for the
caller to test after the compiled call, and host helpers are a graph break.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import numpy as np

from ... import numeric as np_numeric
from . import dask_reduce
from .array_functions import FunctionHelpers

Array = Any


class XPNumeric(FunctionHelpers):
    """Kernel helpers for one array namespace, dtype and device.

    >>> import numpy as np
    >>> from array_api_compat import array_namespace
    >>> x = np.array([3.0, 4.0])
    >>> nm = XPNumeric(array_namespace(x), "numpy", x.dtype, None)
    >>> nm.norm2_grad(x)
    array([0.6, 0.8])
    >>> round(float(nm.norm2(np.array([1e200, 1e200]))) / 1e200, 12)
    1.414213562373
    """

    def __init__(self, xp: Any, lib: str, dtype: Any, device: Any) -> None:
        self.xp = xp
        self.lib = lib
        self.dtype = dtype
        self.device = device
        info = xp.finfo(dtype)
        tiny = float(info.smallest_normal)
        self._low = math.sqrt(tiny)   # below it squares that underflowed may matter
        self._high = float(info.max)
        self._tiny = tiny
        #: orders above this use the ratio to the largest entry (numeric.large_order)
        self._large_order = -math.log2(tiny)
        #: under torch.compile, ``(bad, check)`` pairs of the value checks that could not
        #: run while tracing; None: such checks are skipped (as under jax.jit)
        self.flags: list | None = None
        self._compiling = None
        self._host_call = self._host_eager
        self._pow2_bits: tuple | None = None   # (mantissa bits, bias, int dtype)
        if lib == "torch":
            import torch

            self._pow2_bits = {torch.float64: (52, 1023, torch.int64),
                               torch.float32: (23, 127, torch.int32),
                               torch.float16: (10, 15, torch.int16),
                               torch.bfloat16: (7, 127, torch.int16)}.get(dtype)
            self._compiling = torch.compiler.is_compiling
            # a host helper is a graph break under torch.compile, never traced into
            self._host_call = torch.compiler.disable(self._host_eager)

    # -- plumbing ------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        """A helper of :mod:`symnorm.numeric` with no array-API version here yet.

        It runs on the host (arrays copied to numpy and back) when every argument is
        concrete, so kernels of new families (matrix norms, backprop) work on eager
        arrays of every library; under ``jax.jit`` or on Dask it fails naming itself.
        """
        fn = getattr(np_numeric, name, None)
        if name.startswith("_") or fn is None or not callable(fn):
            raise AttributeError(f"generated kernel source calls _nm.{name}, which neither "
                                 "symnorm.numeric nor the array-API backends define")

        def on_host(*args: Any, out: Any = None, **kwargs: Any) -> Any:
            arrays = [a for a in args if _is_array(a)]
            if self.lib == "dask" or (self.lib == "jax" and
                                      not all(self.concrete(a) for a in arrays)):
                raise NotImplementedError(
                    f"symnorm.numeric.{name} has no array-API version yet "
                    f"(symnorm/kernels/backends/array_api.py): it runs on eager {self.lib} arrays "
                    "through the host (a graph break under torch.compile), not under "
                    "jax.jit or on Dask")
            return self.assign(out, self._host_call(fn, args, kwargs))

        return on_host

    def arr(self, s: Any) -> Array:
        """``s`` as an array of the working dtype on the working device."""
        if isinstance(s, (int, float, np.number, np.ndarray)) or isinstance(s, list):
            return self.xp.asarray(np.asarray(s, dtype=np.float64), dtype=self.dtype,
                                   device=self.device)
        return s

    def concrete(self, x: Any) -> bool:
        """Whether branching on the values of ``x`` is allowed (no tracer, not lazy)."""
        if self.lib == "dask":
            return False
        if self.lib == "jax":
            import jax

            return not isinstance(x, jax.core.Tracer)
        if self._compiling is not None:  # torch: not while torch.compile traces
            return not self._compiling()
        return True

    def torch_tracing(self) -> bool:
        """Whether ``torch.compile`` is tracing this call (PyTorch only)."""
        return self._compiling is not None and self._compiling()

    def all_true(self, cond: Array) -> bool | None:
        """``all(cond)`` when it can be known now, None under tracing or on Dask."""
        if not self.concrete(cond):
            return None
        return bool(self.xp.all(cond))

    def assign(self, out: Array | None, value: Any) -> Array:
        """Write ``value`` into ``out`` when given (numpy, CuPy, PyTorch)."""
        value = self.arr(value)
        if out is None:
            return value
        if self.lib == "torch":
            out.copy_(self.xp.broadcast_to(value, tuple(out.shape)))
        else:
            out[...] = value
        return out

    def where(self, cond: Array, a: Any, b: Any) -> Array:
        return self.xp.where(cond, self.arr(a), self.arr(b))

    def sv(self, s: Any) -> Array:
        """A per-batch scalar shaped to broadcast against vectors."""
        return self.arr(s)[..., None]

    def sm(self, s: Any) -> Array:
        """A per-batch scalar shaped to broadcast against matrices."""
        return self.arr(s)[..., None, None]

    def sdiv(self, a: Any, d: Any, out: Array | None = None) -> Array:
        """``a / d`` with 0 where ``d == 0``."""
        a, d = self.arr(a), self.arr(d)
        zero = d == 0
        r = a / self.where(zero, 1.0, d)
        return self.assign(out, self.where(zero, 0.0, r))

    # -- powers of two (exact scaling) ----------------------------------------------
    def exponent(self, big: Array) -> Array:
        """``e`` with ``big * 2**-e`` in [0.5, 2): 0 where ``big`` is 0, inf or NaN."""
        xp = self.xp
        ok = xp.isfinite(big) & (big > 0)
        safe = self.where(ok, big, 1.0)
        return self.where(ok, xp.floor(xp.log2(safe)) + 1.0, 0.0)

    def _factors(self, e: Array) -> tuple[Array, Array]:
        """Two powers of two whose product is ``2**-e`` (each stays a normal float)."""
        xp = self.xp
        half = xp.floor(-e / 2.0)
        if self._pow2_bits is not None:
            return self._pow2(half), self._pow2(-e - half)
        two = self.arr(2.0)
        return xp.pow(two, half), xp.pow(two, -e - half)

    def _pow2(self, k: Array) -> Array:
        """``2**k`` for integral ``k`` in the normal range, built from its bits: exact,
        and cheap where torch.compile's loops recompute it per element (``pow`` is not)."""
        mant, bias, itype = self._pow2_bits
        return ((k.to(itype) + bias) << mant).view(self.dtype)

    def scale(self, u: Array, e: Array) -> Array:
        """``u * 2**-e`` with ``e`` per batch row."""
        f1, f2 = self._factors(e)
        return u * self.sv(f1) * self.sv(f2)

    def unscale(self, s: Array, e: Array) -> Array:
        """``s * 2**e`` for a per-row value ``s``: the inverse of :meth:`scale`."""
        f1, f2 = self._factors(e)
        return s / f1 / f2

    def _row(self, s: Array) -> Array:
        """A per-row value computed once per row under torch.compile.

        Inductor inlines a value computed from a reduction into the loop that uses it and
        so recomputes it, ``pow`` and all, in every vector step; a reduction over two
        copies of it is stored before that loop instead. Elsewhere ``s`` itself.
        """
        if not self.torch_tracing():
            return s
        return self.xp.max(self.xp.stack([s, s], axis=-1), axis=-1)

    def scale_limit(self, u: Array, big: Array, positive: bool = False) -> Array:
        """``u * 2**-e`` per row, ``e = exponent(big)`` (``big = max |u_i|``), with every
        row whose ``big`` is inf mapped to its limit direction (see
        :func:`symnorm.numeric._signed_limit`): ±2 on the infinite entries, 0 elsewhere.

        No select over the entries: such a row is multiplied by the smallest normal
        float three times (finite entries underflow to 0, infinite ones stay infinite)
        and every row is clipped to [-2, 2] (the scaled entries of other rows are below
        2, so it leaves them alone); a NaN stays NaN. ``positive``: ``u >= 0`` given.
        Eager libraries skip all that when no row has an infinite entry.
        """
        xp = self.xp
        e = self.exponent(big)
        inf = xp.isinf(big)
        if self.all_true(~inf):
            return self.scale(u, e)
        f1, f2 = self._factors(e)
        tiny = self._tiny
        f3 = self.where(inf, tiny, 1.0)
        x = u * self.sv(self.where(inf, tiny, f1)) * self.sv(self.where(inf, tiny, f2)) * \
            self.sv(f3)
        x = xp.minimum(x, self.arr(2.0))
        return x if positive else xp.maximum(x, self.arr(-2.0))

    def max_abs(self, a: Array) -> Array:
        """``max a_i`` over the last axis for ``a >= 0``; 0 for an empty axis."""
        if a.shape[-1] == 0:
            return self.xp.zeros(tuple(a.shape[:-1]), dtype=self.dtype, device=self.device)
        return self.xp.max(a, axis=-1)

    def sum_squares(self, u: Array) -> Array:
        if self.lib != "numpy":  # (np.errstate is a graph break under torch.compile)
            return self.xp.sum(u * u, axis=-1)
        with np.errstate(over="ignore", under="ignore"):  # numpy: the overflow is handled
            return self.xp.sum(u * u, axis=-1)

    # -- vector norms and their gradients --------------------------------------------
    def norm2(self, u: Array, p: Any = 2) -> Array:
        """Euclidean norm over the last axis, rescaled only where ``sqrt(u·u)`` fails."""
        if self.lib == "dask":
            return dask_reduce.normp(u, 2.0)
        xp = self.xp
        ss = self.sum_squares(u)
        ok = (ss >= self._low) & (ss <= self._high)
        if self.all_true(ok):
            return xp.sqrt(ss)
        a = xp.abs(u)
        big = self.max_abs(a)
        e = self.exponent(big)
        slow = self.unscale(xp.sqrt(self.sum_squares(self.scale(u, e))), e)
        special = ~(xp.isfinite(big) & (big > 0))   # 0, inf, NaN: the max says it
        slow = xp.where(special, big, slow)
        return xp.where(ok, xp.sqrt(self.where(ok, ss, 1.0)), slow)

    def norm2_grad(self, u: Array, p: Any = 2, out: Array | None = None) -> Array:
        """``u/‖u‖₂``, 0 at ``u = 0``; entries scaled by a power of two where needed."""
        xp = self.xp
        if self.lib == "dask":
            s, e = dask_reduce.scaled_norm(u, 2.0)
            if _finite_dask(s):  # else (inf or NaN entries) the select form below
                return self.sdiv(self.scale(u, e), self.sv(s))
        ss = self.sum_squares(u)
        ok = (ss >= self._low) & (ss <= self._high)
        if self.all_true(ok):
            return self.assign(out, u * self.sv(1.0 / xp.sqrt(ss)))
        fast = u * self.sv(self._row(1.0 / xp.sqrt(self.where(ok, ss, 1.0))))
        scaled = self.scale_limit(u, self.max_abs(xp.abs(u)))
        slow = self.sdiv(scaled, self.sv(self._row(xp.sqrt(self.sum_squares(scaled)))))
        return self.assign(out, xp.where(self.sv(ok), fast, slow))

    def norm1(self, u: Array, p: Any = 1) -> Array:
        return self.xp.sum(self.xp.abs(u), axis=-1)

    def norm1_grad(self, u: Array, p: Any = 1, out: Array | None = None) -> Array:
        """``sign(u)``, 0 in zero entries, NaN in NaN entries."""
        return self.assign(out, self.sign(u))

    def sign(self, u: Array) -> Array:
        """``sign(u)`` with NaN kept: PyTorch's ``sign`` gives 0 for NaN, the others NaN.

        PyTorch: a select where ``torch.compile`` traces (fused into the one loop);
        eager, only when the sum of ``u`` is NaN (one read of ``u``, a third of what the
        select's two more passes cost).
        """
        xp = self.xp
        s = xp.sign(u)
        if self.lib != "torch":
            return s
        if self.torch_tracing() or math.isnan(float(xp.sum(u))):
            return xp.where(xp.isnan(u), u, s)
        return s

    def norminf(self, u: Array, p: Any = None) -> Array:
        return self.max_abs(self.xp.abs(u))

    def maxabs_selector(self, u: Array) -> Array:
        """``e_k`` for ``k = argmax |u_i|``; a tie over K gives ``1/|K|`` on each of K."""
        xp = self.xp
        a = xp.abs(u)
        if a.shape[-1] == 0:
            return xp.zeros_like(u)
        mask = xp.astype(a == xp.max(a, axis=-1, keepdims=True), self.dtype)
        # count is 0 only where the maximum is NaN: then NaN throughout
        count = xp.sum(mask, axis=-1, keepdims=True)
        share = self.where(count == 0, math.nan, 1.0 / self.where(count == 0, 1.0, count))
        if self.lib == "jax":  # XLA turns mask * share into a select, 0 where mask is 0
            return self.where(count == 0, math.nan, mask * share)
        return mask * share  # per row: no pass over the entries beyond the product

    def norminf_grad(self, u: Array, p: Any = None, out: Array | None = None) -> Array:
        """``sign(u_k) e_k``; ties split evenly, 0 at ``u = 0``."""
        return self.assign(out, self.xp.sign(u) * self.maxabs_selector(u))

    def _order(self, p: Any) -> tuple[Any, Any]:
        """``p`` as an array and shaped against vectors; a number stays a Python float
        (``x ** 3.0`` is two multiplications for torch and under torch.compile)."""
        if isinstance(p, (int, float, np.number)):
            return _to_float(p), _to_float(p)
        pa = self.arr(p)
        return pa, (pa[..., None] if pa.ndim else pa)

    def _large(self, p: Any) -> bool:
        """Whether the order ``p`` takes the ratio to the largest entry (:meth:`_ratio`):
        a number above 1022 (float64) or inf, or orders given per row (any of which may
        be; the ratio form is right for every order)."""
        return not _is_number(p) or not _to_float(p) <= self._large_order

    def _ratio(self, a: Array, big: Array, p: Any) -> tuple[Array, Array]:
        """``(r, S)`` for ``a >= 0`` with largest entries ``big``: ``r = a/big`` (0 at 0)
        and ``S = Σ r_i^p`` (:func:`symnorm.numeric._ratio_powers`): ``‖a‖_p = big
        S^(1/p)``, the gradient ``r^(p-1) S^(1/p - 1)``, any order up to inf. A row with
        an infinite entry gets its limit direction, ``r`` 1 on the infinite entries and
        0 elsewhere (as :meth:`scale_limit` does it, without a select over entries)."""
        xp = self.xp
        _, pv = self._order(p)
        inf = xp.isinf(big)
        if self.all_true(~inf):
            r = a / self.sv(self.where(big == 0, 1.0, big))
        else:
            h = self.sv(self.where(inf, self._tiny, 1.0))
            r = a / self.sv(self.where((big == 0) | inf, 1.0, big)) * h * h * h
            r = xp.minimum(r, self.arr(1.0))
        return r, self._row(xp.sum(r ** pv, axis=-1))

    def _quiet(self) -> Any:
        """numpy's floating-point warnings off (a result the helper handles); elsewhere
        nothing (``np.errstate`` would be a graph break under torch.compile)."""
        return np.errstate(all="ignore") if self.lib == "numpy" else contextlib.nullcontext()

    def normp(self, u: Array, p: Any) -> Array:
        """``(Σ|u_i|^p)^(1/p)``, scaled by a power of two so it cannot overflow; large
        orders from the ratio to the largest entry, ``p = oo`` the largest entry."""
        xp = self.xp
        if _is_number(p) and math.isinf(_to_float(p)):
            return self.norminf(u)
        if self._large(p):
            pa, _ = self._order(p)
            a = xp.abs(u)
            big = self.max_abs(a)
            _, total = self._ratio(a, big, p)
            return big * total ** (1.0 / pa)  # rows with inf entries: inf
        if self.lib == "dask" and _is_number(p):
            return dask_reduce.normp(u, float(p))
        pa, pv = self._order(p)
        a = xp.abs(u)
        e = self.exponent(self.max_abs(a))
        s = xp.sum(self.scale(a, e) ** pv, axis=-1) ** (1.0 / pa)
        return self.unscale(s, e)

    def normp_grad(self, u: Array, p: Any, out: Array | None = None) -> Array:
        """``sign(u) ⊙ (|u|/‖u‖_p)^(p-1)`` from scaled entries; 0 at ``u = 0``; large
        orders as ``sign(u) r^(p-1) S^(1/p - 1)`` (:meth:`_ratio`), ``p = oo`` the max
        norm's gradient; rows with infinite entries at their limit direction."""
        xp = self.xp
        if _is_number(p) and math.isinf(_to_float(p)):
            return self.norminf_grad(u, out=out)
        pa, pv = self._order(p)
        a = xp.abs(u)
        with self._quiet():  # 0**(negative) at zero entries (p < 1): set to 0 below
            if self._large(p):
                r, total = self._ratio(a, self.max_abs(a), p)
                factor = self.where(total == 0, 1.0, total) ** (1.0 / pa - 1.0)
                g = r ** (pv - 1.0) * self.sv(factor)
            else:
                g = self._normp_ratio(u, a, p, pa, pv)
        # 0**(negative) = inf: no subgradient (only where p < 1: a NaN row stays NaN)
        below_one = pa < 1 if isinstance(pa, float) else self.all_true(~(pa < 1)) is not True
        if below_one:
            g = self.where((u != 0) if isinstance(pv, float) else (u != 0) | (pv >= 1), g, 0.0)
        return self.assign(out, xp.sign(u) * g)

    def _normp_ratio(self, u: Array, a: Array, p: Any, pa: Any, pv: Any) -> Array:
        """``(|u|/‖u‖_p)^(p-1)`` from entries scaled by a power of two (orders up to
        1022); rows with infinite entries at their limit direction."""
        xp = self.xp
        if self.lib == "dask" and _is_number(p):
            s, e = dask_reduce.scaled_norm(u, float(p))
            if _finite_dask(s):  # else (inf or NaN entries) the select form below
                return self.sdiv(self.scale(a, e), self.sv(s)) ** (pv - 1.0)
        scaled = self.scale_limit(a, self.max_abs(a), positive=True)
        s = self._row(xp.sum(scaled ** pv, axis=-1) ** (1.0 / pa))
        return self.sdiv(scaled, self.sv(s)) ** (pv - 1.0)

    def norm0(self, u: Array, p: Any = 0) -> Array:
        """Number of nonzero entries; NaN for a row holding a NaN."""
        xp = self.xp
        count = xp.sum(xp.astype(u != 0, self.dtype), axis=-1)
        return self.where(xp.any(xp.isnan(u), axis=-1), math.nan, count)

    # -- linear algebra over the last axes ------------------------------------------
    def mT(self, a: Array) -> Array:
        return self.xp.matrix_transpose(a)

    def mv(self, a: Array, v: Array) -> Array:
        return self.xp.matmul(a, v[..., None])[..., 0]

    def mv_unit(self, a: Array, v: Array) -> Array:
        # always the safe order (u normalised first): no data-dependent branch to trace
        return self.mv(a, self.norm2_grad(v))

    def vm(self, r: Array, a: Array) -> Array:
        return self.xp.matmul(r[..., None, :], a)[..., 0, :]

    def dot(self, r: Array, v: Array) -> Array:
        return self.xp.sum(r * v, axis=-1)

    def outer(self, v: Array, r: Array) -> Array:
        return v[..., :, None] * r[..., None, :]

    def diag(self, v: Array) -> Array:
        eye = self.xp.eye(v.shape[-1], dtype=self.dtype, device=self.device)
        return v[..., :, None] * eye

    # -- checks, smooth maps ------------------------------------------------------------
    def check_order(self, p: Any, p_min: float, name: str, where: str) -> None:
        """Refuse an order below the derived range (a flag under torch.compile, skipped
        under jax.jit and on Dask)."""
        if self.concrete(p):
            np_numeric.check_order(to_numpy(p), p_min, name, where)
        else:
            self._refuse_traced(self.xp.any(~(self.arr(p) >= p_min)),  # NaN is refused too
                                f"the order {name} of {where} is outside the range "
                                f"{name} >= {p_min:g} this kernel was derived for")

    def _nonnegative(self, s: Array, what: str) -> None:
        if self.concrete(s):
            if bool(self.xp.any(s < 0)):
                raise ValueError(f"{what} must be >= 0, got {to_numpy(s)!r}")
        else:
            self._refuse_traced(self.xp.any(s < 0), f"{what} must be >= 0")

    def _refuse_traced(self, bad: Array, message: str) -> None:
        """A value check while tracing: a flag for ``backend="torch.compile"``; inside a
        user's torch.compile on the CPU a runtime assert in the graph (RuntimeError with
        ``message``); skipped on a GPU (a device-side assert ends the process's CUDA
        context), under jax.jit and on Dask."""
        if self.flags is not None:
            self.flags.append(bad)
        elif self.lib == "torch" and getattr(self.device, "type", "cpu") == "cpu":
            import torch

            torch._assert_async(~bad, message)

    def sigmoid(self, u: Array) -> Array:
        xp = self.xp
        e = xp.exp(-xp.abs(u))
        return xp.where(u >= 0, 1.0 / (1.0 + e), e / (1.0 + e))

    def softplus(self, u: Array) -> Array:
        return self.xp.logaddexp(self.xp.zeros_like(u), u)

    # -- proximal operators -------------------------------------------------------------
    def soft_threshold(self, v: Array, lam: Any, out: Array | None = None) -> Array:
        """``v - clip(v, -lam, lam)``: the prox of ``lam*||.||_1`` (``+0.0`` inside)."""
        xp = self.xp
        lam = self.arr(lam)
        self._nonnegative(lam, "the threshold lam")
        lv = self.sv(lam)
        clipped = xp.minimum(xp.maximum(v, -lv), lv)
        return self.assign(out, v - clipped)

    def project_l1_ball(self, v: Array, radius: Any = 1.0, out: Array | None = None) -> Array:
        """Projection onto ``{||x||_1 <= radius}``: threshold ``max_k (cs_k - r)/k``.

        The sorted cumulative sums ``cs`` give the simplex threshold as a maximum over
        ``k`` (Condat 2016), which needs no data-dependent index and so traces.
        """
        xp = self.xp
        r = self.arr(radius)
        self._nonnegative(r, "the radius")
        if self.lib == "dask":
            return self.host(np_numeric.project_l1_ball, v, r, shape=None)
        n = v.shape[-1]
        if n == 0:
            return self.assign(out, xp.zeros_like(v))
        a = xp.abs(v)
        mu = xp.flip(xp.sort(a, axis=-1), axis=-1)
        cs = xp.cumulative_sum(mu, axis=-1)
        k = xp.arange(1, n + 1, dtype=self.dtype, device=self.device)
        theta = xp.maximum(xp.max((cs - self.sv(r)) / k, axis=-1), self.arr(0.0))
        proj = xp.sign(v) * xp.maximum(a - self.sv(theta), self.arr(0.0))
        inside = xp.sum(a, axis=-1) <= r
        return self.assign(out, xp.where(self.sv(inside), v, proj) + 0.0)

    # -- helpers run on the host -------------------------------------------------------
    def host(self, fn: Any, *args: Any, shape: tuple | None) -> Array:
        """``fn`` (a numpy helper) applied on the host, its result back in this library.

        numpy: called directly; PyTorch, CuPy and JAX outside ``jit``: arrays copied to
        host memory and back; under ``jax.jit``: ``jax.pure_callback``; Dask: per block
        of whole rows (the vector axis in one chunk) when the first argument is the
        only Dask array, else as one delayed task. ``shape`` is the result's shape
        (None: the first argument's).
        """
        first = args[0]
        if shape is None:
            shape = tuple(first.shape)
        if self.lib == "dask":
            return dask_reduce.host(fn, args, shape, self.dtype)
        if self.lib == "jax" and not all(self.concrete(a) for a in args if _is_array(a)):
            import jax

            def call(*values: Any) -> np.ndarray:
                return np.asarray(fn(*values), dtype=self.dtype)

            return jax.pure_callback(call, jax.ShapeDtypeStruct(shape, self.dtype), *args,
                                     vmap_method="sequential")
        return self._host_call(fn, args, {})

    def _host_eager(self, fn: Any, args: tuple, kwargs: dict) -> Array:
        """``fn`` on host copies of the arrays in ``args``; the result in this library."""
        values = [to_numpy(a) if _is_array(a) else a for a in args]
        res = np.asarray(fn(*values, **kwargs))
        if self.lib == "numpy":
            return res.astype(self.dtype, copy=False)
        return self.xp.asarray(res.astype(np.dtype(str(self.dtype).split(".")[-1]),
                                          copy=False), device=self.device)

    def group_normalize(self, u: Array, labels: Any, out: Array | None = None) -> Array:
        """``u_g/||u_g||_2`` per block (host helper; see :meth:`host`)."""
        return self.assign(out, self.host(np_numeric.group_normalize, u, labels, shape=None))

    def group_shrink(self, v: Array, lam: Any, labels: Any,
                     out: Array | None = None) -> Array:
        """Block soft thresholding (host helper; see :meth:`host`)."""
        lam = self.arr(lam)
        self._nonnegative(lam, "the threshold lam")
        return self.assign(out, self.host(np_numeric.group_shrink, v, lam, labels,
                                          shape=None))

    def group_block_norms(self, u: Array, labels: Any) -> Array:
        return self.host(np_numeric.group_block_norms, u, labels, shape=None)

    def norm_group(self, u: Array, labels: Any) -> Array:
        """The group-lasso norm (host helper; see :meth:`host`)."""
        return self.host(np_numeric.norm_group, u, labels, shape=tuple(u.shape[:-1]))

    def active_gradient(self, kind: str, core: int, *pieces: Any,
                        out: Array | None = None) -> Array:
        """Gradient of max/min of pieces; ties by the hull's minimum-norm element (host)."""
        values, grads = pieces[0::2], pieces[1::2]
        shapes = [tuple(np.shape(g)) for g in grads]
        gshape = np.broadcast_shapes(*shapes)
        core_shape = gshape[len(gshape) - core:] if core else ()
        batch = np.broadcast_shapes(gshape[:len(gshape) - core],
                                    *[tuple(np.shape(v)) for v in values])

        def fn(*ps: Any) -> np.ndarray:
            return np_numeric.active_gradient(kind, core, *ps)

        arrays = [self.arr(p) for p in pieces]
        return self.assign(out, self.host(fn, *arrays, shape=batch + core_shape))


def _finite_dask(s: Any) -> bool:
    """Whether the per-row norms ``s`` from :mod:`.dask_reduce` (computed already: a Dask
    array holding a numpy array) are all finite."""
    return bool(np.isfinite(np.asarray(s.compute())).all())


def _to_float(p: Any) -> float:
    """A numeric order as a float; beyond the float range ±inf (``p = oo``, the limit)."""
    return np_numeric.order_float(p)


def _is_number(p: Any) -> bool:
    return isinstance(p, (int, float, np.number)) or (isinstance(p, np.ndarray) and p.ndim == 0)


def _is_array(a: Any) -> bool:
    return hasattr(a, "shape") and hasattr(a, "dtype")


def to_numpy(a: Any) -> np.ndarray:
    """A host numpy copy (or view) of an array of any supported library."""
    if isinstance(a, np.ndarray):
        return a
    mod = type(a).__module__.split(".")[0]
    if mod == "torch":
        return a.detach().cpu().numpy()
    if mod == "cupy":
        return a.get()
    if mod == "dask":
        return np.asarray(a.compute())
    return np.asarray(a)
