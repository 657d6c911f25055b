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
    # sums may be reassociated (so they vectorise): the order of a float sum is not
    # part of the result's contract (numpy sums pairwise); inf/NaN stay IEEE
    _parallel_sum = numba.njit(parallel=True, cache=True, nogil=True,
                               fastmath={"reassoc"})


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

    @_parallel_sum
    def partial_powers(u, part, p):  # pragma: no cover - compiled
        # part[r, b] = sum of |u[r, i]|**p over block b of row r; whole p unrolled
        rows, n = u.shape
        nb = part.shape[1]
        for t in prange(rows * nb):
            r = t // nb
            b = t % nb
            lo, hi = b * BLOCK, min(n, (b + 1) * BLOCK)
            s = 0.0
            if p == 2.0:
                for i in range(lo, hi):
                    a = np.float64(u[r, i])
                    s += a * a
            elif p == 3.0:
                for i in range(lo, hi):
                    a = abs(np.float64(u[r, i]))
                    s += a * a * a
            elif p == 4.0:
                for i in range(lo, hi):
                    a = np.float64(u[r, i])
                    a2 = a * a
                    s += a2 * a2
            else:
                for i in range(lo, hi):
                    s += abs(np.float64(u[r, i])) ** p
            part[r, b] = s

    @_parallel
    def partial_max_count(u, part, count):  # pragma: no cover - compiled
        # per block: the largest |u_i| and how many entries reach it (one pass)
        rows, n = u.shape
        nb = part.shape[1]
        for t in prange(rows * nb):
            r = t // nb
            b = t % nb
            m = 0.0
            c = 0.0
            for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
                a = abs(np.float64(u[r, i]))
                if a > m:
                    m = a
                    c = 1.0
                elif a == m:
                    c += 1.0
            part[r, b] = m
            count[r, b] = c

    @_parallel
    def write_l2(u, out, fac, fast):  # pragma: no cover - compiled
        rows, n = u.shape
        nb = max(1, (n + BLOCK - 1) // BLOCK)
        for t in prange(rows * nb):
            r = t // nb
            b = t % nb
            if fast[r]:
                f = fac[r]
                for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
                    out[r, i] = u[r, i] * f

    @_parallel
    def write_lp(u, out, fac, fast, q):  # pragma: no cover - compiled
        # out = sign(u) (|u| fac)**q on the rows of the fast path; whole q unrolled
        rows, n = u.shape
        nb = max(1, (n + BLOCK - 1) // BLOCK)
        for t in prange(rows * nb):
            r = t // nb
            b = t % nb
            if fast[r]:
                f = fac[r]
                lo, hi = b * BLOCK, min(n, (b + 1) * BLOCK)
                if q == 2.0:  # p = 3: sign(u) (|u| f)**2, with |u| f <= 1 formed first
                    for i in range(lo, hi):
                        vf = np.float64(u[r, i]) * f
                        out[r, i] = vf * abs(vf)
                elif q == 3.0:
                    for i in range(lo, hi):
                        vf = np.float64(u[r, i]) * f
                        out[r, i] = vf * vf * vf
                else:
                    for i in range(lo, hi):
                        v = np.float64(u[r, i])
                        g = (abs(v) * f) ** q
                        out[r, i] = g if v > 0 else (-g if v < 0 else 0.0)

    @_parallel
    def write_linf(u, out, big, weight):  # pragma: no cover - compiled
        rows, n = u.shape
        nb = max(1, (n + BLOCK - 1) // BLOCK)
        for t in prange(rows * nb):
            r = t // nb
            b = t % nb
            m = big[r]
            w = weight[r]
            for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
                v = u[r, i]
                if v != 0 and abs(np.float64(v)) == m:
                    out[r, i] = w if v > 0 else -w
                else:
                    out[r, i] = 0.0

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

