"""Array-API versions of the helpers of the functions of a whole vector or matrix
(:mod:`symnorm.numeric.normalization`, :mod:`symnorm.numeric.determinants`).

:class:`FunctionHelpers` is a base class of
:class:`~symnorm.kernels.backends.array_api.XPNumeric`: the methods compute with its
``xp`` namespace, dtype and device, so kernels of ``softmax``, ``layer_norm`` and their
VJPs trace under ``jax.jit`` and ``torch.compile`` and stay lazy on Dask, with the numpy
helpers' semantics: softmax and logsumexp shift by the largest entry; a normalisation
layer rescales a row by a power of two where its variance over- or underflows (a
``where`` select, computed only when some row needs it on libraries that compute
eagerly); ``inv`` and ``logdet`` raise :class:`~symnorm.DomainError` where they are not
defined when the values are concrete, and give NaN under tracing, where no error can be
raised.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import numeric as np_numeric

Array = Any


class FunctionHelpers:
    """The function helpers for one array namespace (mixed into ``XPNumeric``)."""

    xp: Any
    lib: str
    _low: float
    _high: float

    # provided by XPNumeric
    def arr(self, s: Any) -> Array: ...  # pragma: no cover
    def assign(self, out: Any, value: Any) -> Array: ...  # pragma: no cover
    def all_true(self, cond: Array) -> bool | None: ...  # pragma: no cover
    def concrete(self, x: Any) -> bool: ...  # pragma: no cover
    def sv(self, s: Any) -> Array: ...  # pragma: no cover
    def where(self, cond: Array, a: Any, b: Any) -> Array: ...  # pragma: no cover
    def exponent(self, big: Array) -> Array: ...  # pragma: no cover
    def scale(self, u: Array, e: Array) -> Array: ...  # pragma: no cover
    def unscale(self, s: Array, e: Array) -> Array: ...  # pragma: no cover
    def max_abs(self, a: Array) -> Array: ...  # pragma: no cover
    def host(self, fn: Any, *args: Any, shape: tuple | None) -> Array: ...  # pragma: no cover
    def _host_eager(self, fn: Any, args: tuple, kwargs: dict) -> Array: ...  # pragma: no cover

    # -- sums and means ------------------------------------------------------------------
    def _axes(self, core: Any) -> tuple[int, ...]:
        return (-2, -1) if int(core) == 2 else (-1,)

    def entries_sum(self, u: Array, core: Any = 1) -> Array:
        return self.xp.sum(u, axis=self._axes(core))

    def entries_mean(self, u: Array, core: Any = 1) -> Array:
        return self.xp.mean(u, axis=self._axes(core))

    def entries_var(self, u: Array, core: Any = 1) -> Array:
        axes = self._axes(core)
        d = u - self.xp.mean(u, axis=axes, keepdims=True)
        return self.xp.mean(d * d, axis=axes)

    # -- softmax and log-sum-exp ---------------------------------------------------------
    def softmax(self, u: Array, out: Array | None = None) -> Array:
        xp = self.xp
        e = xp.exp(u - xp.max(u, axis=-1, keepdims=True))
        return self.assign(out, e / xp.sum(e, axis=-1, keepdims=True))

    def softmax_vjp(self, u: Array, g: Array, out: Array | None = None) -> Array:
        s = self.softmax(u)
        return self.assign(out, s * (g - self.xp.sum(s * g, axis=-1, keepdims=True)))

    def logsumexp(self, u: Array) -> Array:
        xp = self.xp
        m = xp.max(u, axis=-1)
        finite = xp.isfinite(m)
        safe = self.where(finite, m, 0.0)
        total = xp.sum(xp.exp(u - safe[..., None]), axis=-1)
        return xp.where(finite, safe + xp.log(total), m)

    # -- normalisation layers ------------------------------------------------------------
    def _centred(self, u: Array, rms: bool) -> Array:
        return u if rms else u - self.xp.mean(u, axis=-1, keepdims=True)

    def _norm_stats(self, u: Array, eps: Any, rms: bool) -> tuple[Array, Array, Array | None]:
        """``(d, r, slow)``: the centred entries ``d``, ``r = 1/sqrt(mean(d*d) + eps)``
        per row (0 where that sum is 0) and, where some row's sum of squares over- or
        underflows, ``(d', r')`` of the rows scaled by a power of two (else None)."""
        xp = self.xp
        n = u.shape[-1]
        eps = self.arr(eps)
        d = self._centred(u, rms)
        if n == 0:
            return d, xp.zeros(tuple(u.shape[:-1]), dtype=u.dtype), None
        ss = xp.sum(d * d, axis=-1)
        ok = (ss <= self._high) & ((ss >= self._low) | (eps > 0)) & xp.isfinite(d[..., 0])
        total = ss / n + eps
        pos = total > 0
        r = self.where(pos, 1.0 / xp.sqrt(self.where(pos, total, 1.0)), 0.0)
        if self.all_true(ok):
            return d, r, None
        if self.lib == "jax" and not self.concrete(ok):
            import jax  # under jit: the scaled path runs only when some row needs it

            return jax.lax.cond(xp.all(ok), lambda: (d, r, 0.0 * r),
                                lambda: self._scaled_stats(u, eps, rms, d, r, ok))
        return self._scaled_stats(u, eps, rms, d, r, ok)

    def _scaled_stats(self, u: Array, eps: Array, rms: bool, d: Array, r: Array,
                      ok: Array) -> tuple[Array, Array, Array]:
        """The rows that are not ``ok`` redone scaled by a power of two (see
        :meth:`_norm_stats`); the ``ok`` rows as they are."""
        xp = self.xp
        n = u.shape[-1]
        # rows scaled so their largest entry is in [0.5, 1), centred, scaled again
        e1 = self.exponent(self.max_abs(xp.abs(u)))
        ds = self._centred(self.scale(u, e1), rms)
        e2 = self.exponent(self.max_abs(xp.abs(ds))) if not rms else e1 * 0.0
        ds = self.scale(ds, e2) if not rms else ds
        e = e1 + e2
        eps_s = self.unscale(self.unscale(eps + 0.0 * e, -e), -e)   # eps * 4**-e
        tot_s = xp.sum(ds * ds, axis=-1) / n + eps_s
        huge = ~xp.isfinite(eps_s)       # eps dwarfs the variance: r = 1/sqrt(eps)
        good = (tot_s > 0) & ~huge
        r_s = self.where(good, 1.0 / xp.sqrt(self.where(good, tot_s, 1.0)), 0.0)
        d_slow = xp.where(self.sv(huge), d, ds)
        r_slow = xp.where(huge, 1.0 / xp.sqrt(self.where(eps > 0, eps + 0.0 * e, 1.0)), r_s)
        scale_back = self.where(huge, 0.0, e)   # r = r_s 2^-e
        return xp.where(self.sv(ok), d, d_slow), xp.where(ok, r, r_slow), \
            xp.where(ok, 0.0 * e, scale_back)

    def _normalised(self, u: Array, eps: Any, rms: bool) -> Array:
        d, r, _ = self._norm_stats(u, eps, rms)
        return d * self.sv(r)

    def layer_norm(self, u: Array, eps: Any = 1e-5, out: Array | None = None) -> Array:
        """``(u - mean(u))/sqrt(var(u) + eps)``, 0 where ``var(u) + eps`` is 0."""
        return self.assign(out, self._normalised(u, eps, rms=False))

    def rms_norm(self, u: Array, eps: Any = 1e-5, out: Array | None = None) -> Array:
        """``u/sqrt(mean(u .* u) + eps)``, 0 where ``u = 0, eps = 0``."""
        return self.assign(out, self._normalised(u, eps, rms=True))

    def _scale_of(self, u: Array, eps: Any, rms: bool) -> Array:
        d, r, e = self._norm_stats(u, eps, rms)
        pos = r > 0
        s = self.where(pos, 1.0 / self.where(pos, r, 1.0), 0.0)
        return s if e is None else self.unscale(s, e)

    def layer_norm_std(self, u: Array, eps: Any = 1e-5) -> Array:
        return self._scale_of(u, eps, rms=False)

    def rms(self, u: Array, eps: Any = 1e-5) -> Array:
        return self._scale_of(u, eps, rms=True)

    def _vjp(self, u: Array, eps: Any, g: Array, rms: bool) -> Array:
        xp = self.xp
        n = u.shape[-1]
        d, r, e = self._norm_stats(u, eps, rms)
        xhat = d * self.sv(r)
        t = g - xhat * (xp.sum(g * xhat, axis=-1, keepdims=True) / n)
        if not rms:
            t = t - xp.mean(g, axis=-1, keepdims=True)
        t = t * self.sv(r)
        return t if e is None else self.scale(t, e)

    def layer_norm_vjp(self, u: Array, eps: Any, g: Array, out: Array | None = None) -> Array:
        """``(g - mean(g) - x̂ mean(g ⊙ x̂))/σ`` (the Jacobian is symmetric)."""
        return self.assign(out, self._vjp(u, eps, g, rms=False))

    def rms_norm_vjp(self, u: Array, eps: Any, g: Array, out: Array | None = None) -> Array:
        """``(g - ŷ mean(g ⊙ ŷ))/r`` (the Jacobian is symmetric)."""
        return self.assign(out, self._vjp(u, eps, g, rms=True))

    def layer_norm_value_vjp(self, u: Array, eps: Any, g: Array, out: Any = None) -> tuple:
        """``(layer_norm(u), J^T g)`` (two calls here: the libraries fuse what they can)."""
        want = out if out is not None else (None, None)
        return (self.layer_norm(u, eps, out=want[0]),
                self.layer_norm_vjp(u, eps, g, out=want[1]))

    def rms_norm_value_vjp(self, u: Array, eps: Any, g: Array, out: Any = None) -> tuple:
        """``(rms_norm(u), J^T g)``."""
        want = out if out is not None else (None, None)
        return (self.rms_norm(u, eps, out=want[0]), self.rms_norm_vjp(u, eps, g, out=want[1]))

    def norm2_hvp(self, u: Array, v: Array, out: Array | None = None) -> Array:
        """``(v - u (uᵀv)/‖u‖₂²)/‖u‖₂``, 0 at ``u = 0``; scaled where ``uᵀu`` over- or
        underflows."""
        xp = self.xp
        uu = xp.sum(u * u, axis=-1)
        ok = (uu >= self._low) & (uu <= self._high)
        if self.all_true(ok):
            inv = 1.0 / xp.sqrt(uu)
            coef = xp.sum(u * v, axis=-1) * inv / uu
            return self.assign(out, v * self.sv(inv) - u * self.sv(coef))
        e = self.exponent(self.max_abs(xp.abs(u)))
        s = self.scale(u, e)
        ss = xp.sum(s * s, axis=-1)
        pos = ss > 0
        safe = self.where(pos, ss, 1.0)
        inv = 1.0 / xp.sqrt(safe)
        res = (v - s * self.sv(xp.sum(s * v, axis=-1) / safe)) * self.sv(inv)
        res = self.scale(res, e)
        return self.assign(out, xp.where(self.sv(pos & xp.isfinite(ss)), res, 0.0 * res))

    # -- square matrices -----------------------------------------------------------------
    def _refuse(self, fn: Any, m: Array, *args: Any) -> None:
        """The numpy helper on a host copy, for its DomainError (values are concrete)."""
        self._host_eager(fn, (m, *args), {})

    def inv(self, m: Array, name: str = "M") -> Array:
        """``M^-1``; a DomainError naming ``M`` at a singular value (NaN under tracing)."""
        xp = self.xp
        if self.lib == "dask":
            return self.host(lambda a: np_numeric.inv(a, name), m, shape=None)
        res = xp.linalg.inv(m)
        if self.concrete(m) and not bool(xp.all(xp.isfinite(res))):
            self._refuse(np_numeric.inv, m, name)
        return res

    def det(self, m: Array) -> Array:
        if self.lib == "dask":
            return self.host(np_numeric.det, m, shape=tuple(m.shape[:-2]))
        return self.xp.linalg.det(m)

    def det_grad(self, m: Array, out: Array | None = None) -> Array:
        """The transposed adjugate ``det(M) M^-T``, also at singular ``M`` (host SVD)."""
        return self.assign(out, self.host(np_numeric.det_grad, m, shape=None))

    def logdet(self, m: Array, name: str = "M", spd: bool = False) -> Array:
        """``log(det(M))``; a DomainError naming ``M`` where ``det(M) <= 0`` (NaN under
        tracing)."""
        xp = self.xp
        if self.lib == "dask":
            return self.host(lambda a: np_numeric.logdet(a, name, spd), m,
                             shape=tuple(m.shape[:-2]))
        sign, value = xp.linalg.slogdet(m)
        if self.concrete(m) and not bool(xp.all(sign > 0)):
            self._refuse(np_numeric.logdet, m, name, spd)
        return xp.where(sign > 0, value, value * np.nan)
