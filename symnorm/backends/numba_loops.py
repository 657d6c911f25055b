"""The compiled loops of the numba backend (see :mod:`symnorm.backends.numba_kernels`).

Defined at module level so numba can cache them on disk (``cache=True``); this module
imports without numba (then it defines nothing) so that collecting doctests never fails.
"""

from __future__ import annotations

import math

import numpy as np

try:
    import numba
    from numba import prange
except ImportError:  # the numba extra is not installed
    numba = None

BLOCK = 1 << 16  # entries per parallel task of one row

if numba is not None:
    _parallel = numba.njit(parallel=True, cache=True, nogil=True)


    @numba.njit(cache=True)
    def _scaled_row(u, out, r, p, kind):  # pragma: no cover - compiled
        # slow path of one row: entries scaled so that the largest is in [0.5, 1)
        n = u.shape[1]
        big = 0.0
        for i in range(n):
            a = abs(u[r, i])
            if a > big:
                big = a
        if big == 0.0 or not math.isfinite(big):
            for i in range(n):
                out[r, i] = 0.0 if big == 0.0 else math.nan
            return
        e = math.frexp(big)[1]
        s = 0.0
        for i in range(n):
            a = math.ldexp(abs(u[r, i]), -e)
            s += a * a if kind == 2 else a ** p
        norm = math.sqrt(s) if kind == 2 else s ** (1.0 / p)
        for i in range(n):
            v = u[r, i]
            ratio = math.ldexp(abs(v), -e) / norm
            g = ratio if kind == 2 else ratio ** (p - 1.0)
            if v > 0:
                out[r, i] = g
            elif v < 0:
                out[r, i] = -g
            else:
                out[r, i] = 0.0

    @_parallel
    def norm2_grad(u, out, low, high):  # pragma: no cover - compiled
        rows, n = u.shape
        nb = max(1, (n + BLOCK - 1) // BLOCK)
        part = np.zeros(rows * nb)
        for t in prange(rows * nb):
            r, b = t // nb, t % nb
            s = 0.0
            for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
                v = np.float64(u[r, i])
                s += v * v
            part[t] = s
        fac = np.zeros(rows)
        fast = np.zeros(rows, dtype=np.bool_)
        for r in range(rows):
            ss = 0.0
            for b in range(nb):
                ss += part[r * nb + b]
            if ss >= low and ss <= high:
                fast[r] = True
                fac[r] = 1.0 / math.sqrt(ss)
        for t in prange(rows * nb):
            r, b = t // nb, t % nb
            if fast[r]:
                f = fac[r]
                for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
                    out[r, i] = u[r, i] * f
        for r in range(rows):
            if not fast[r]:
                _scaled_row(u, out, r, 2.0, 2)

    @_parallel
    def normp_grad(u, out, p, low, high):  # pragma: no cover - compiled
        rows, n = u.shape
        nb = max(1, (n + BLOCK - 1) // BLOCK)
        part = np.zeros(rows * nb)
        whole = p == math.floor(p) and p <= 4.0
        k = int(p)
        for t in prange(rows * nb):
            r, b = t // nb, t % nb
            s = 0.0
            for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
                a = abs(np.float64(u[r, i]))
                if whole:
                    term = a
                    for _ in range(k - 1):
                        term *= a
                    s += term
                else:
                    s += a ** p
            part[t] = s
        fac = np.zeros(rows)
        fast = np.zeros(rows, dtype=np.bool_)
        for r in range(rows):
            ss = 0.0
            for b in range(nb):
                ss += part[r * nb + b]
            if ss >= low and ss <= high:
                fast[r] = True
                fac[r] = 1.0 / ss ** (1.0 / p)
        q = p - 1.0
        wq = q == math.floor(q) and q <= 3.0
        kq = int(q)
        for t in prange(rows * nb):
            r, b = t // nb, t % nb
            if fast[r]:
                f = fac[r]
                for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
                    v = np.float64(u[r, i])
                    ratio = abs(v) * f
                    if wq:
                        g = 1.0
                        for _ in range(kq):
                            g *= ratio
                    else:
                        g = ratio ** q
                    if v > 0:
                        out[r, i] = g
                    elif v < 0:
                        out[r, i] = -g
                    else:
                        out[r, i] = 0.0
        for r in range(rows):
            if not fast[r]:
                _scaled_row(u, out, r, p, 0)

    @_parallel
    def sign(u, out):  # pragma: no cover - compiled
        rows, n = u.shape
        for r in prange(rows):
            for i in range(n):
                v = u[r, i]
                out[r, i] = 1.0 if v > 0 else (-1.0 if v < 0 else 0.0)

    @_parallel
    def sign_flat(u, out):  # pragma: no cover - compiled
        for i in prange(u.shape[0]):
            v = u[i]
            out[i] = 1.0 if v > 0 else (-1.0 if v < 0 else 0.0)

    @_parallel
    def norminf_grad(u, out):  # pragma: no cover - compiled
        rows, n = u.shape
        nb = max(1, (n + BLOCK - 1) // BLOCK)
        part = np.zeros(rows * nb)
        for t in prange(rows * nb):
            r, b = t // nb, t % nb
            m = 0.0
            for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
                a = abs(np.float64(u[r, i]))
                if a > m:
                    m = a
            part[t] = m
        big = np.zeros(rows)
        for r in range(rows):
            for b in range(nb):
                if part[r * nb + b] > big[r]:
                    big[r] = part[r * nb + b]
        count = np.zeros(rows * nb)
        for t in prange(rows * nb):
            r, b = t // nb, t % nb
            c = 0.0
            for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
                if abs(np.float64(u[r, i])) == big[r]:
                    c += 1.0
            count[t] = c
        for t in prange(rows * nb):
            r, b = t // nb, t % nb
            total = 0.0
            for bb in range(nb):
                total += count[r * nb + bb]
            w = 1.0 / total
            for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
                v = u[r, i]
                if abs(np.float64(v)) == big[r] and v != 0:
                    out[r, i] = w if v > 0 else -w
                else:
                    out[r, i] = 0.0

    @_parallel
    def soft_threshold(v, lam, out):  # pragma: no cover - compiled
        rows, n = v.shape
        nb = max(1, (n + BLOCK - 1) // BLOCK)
        for t in prange(rows * nb):
            r, b = t // nb, t % nb
            t_ = lam[r]
            for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
                x = v[r, i]
                c = x if x < t_ else t_
                c = c if c > -t_ else -t_
                out[r, i] = x - c

