"""The compiled loops of the numba backend (see :mod:`symnorm.kernels.backends.numba_kernels`).

Defined at module level so numba can cache them on disk (``cache=True``); this module
imports without numba (then it defines nothing) so that collecting doctests never fails.

Every loop runs in parallel over blocks of ``BLOCK`` entries of every row, so one long
vector and a batch of short rows both use every core. A writing loop takes ``stream``:
when true (large float arrays, see ``numba_kernels.STREAM_BYTES``) the aligned middle of
each block is written with non-temporal stores, which skip reading the destination into
the cache before overwriting it; ``np.copyto`` (memcpy) does the same for large arrays,
and without it a pass that reads ``u`` and writes ``out`` moves a third more memory than
the copy it is measured against.
"""

from __future__ import annotations

import math
import platform

import numpy as np

try:
    import numba
    from numba import prange, types
    from numba.extending import intrinsic
except ImportError:  # the numba extra is not installed
    numba = None

BLOCK = 1 << 16  # entries per parallel task of one row (a multiple of 4)
_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
MASK64 = np.int64(0x7FFF_FFFF_FFFF_FFFF)  # clears the sign bit: |v| as ordered integers
MASK32 = np.int32(0x7FFF_FFFF)

if numba is not None:
    from llvmlite import ir

    _parallel = numba.njit(parallel=True, cache=True, nogil=True)
    # sums may be reassociated (so they vectorise): the order of a float sum is not
    # part of the result's contract (numpy sums pairwise); inf/NaN stay IEEE
    _parallel_sum = numba.njit(parallel=True, cache=True, nogil=True,
                               fastmath={"reassoc"})
    _inline = numba.njit(inline="always", cache=True)

    @intrinsic
    def _stream4(typingctx, row, i, a, b, c, d):  # pragma: no cover - compiled
        """``row[i:i+4] = a, b, c, d`` as one non-temporal vector store; ``&row[i]`` must
        be aligned to four items (the callers take the span from ``_aligned``)."""
        sig = types.void(row, i, a, b, c, d)

        def codegen(context, builder, signature, args):
            arrty = signature.args[0]
            ary = context.make_array(arrty)(context, builder, args[0])
            item = context.get_value_type(arrty.dtype)
            vec = ir.VectorType(item, 4)
            v = ir.Constant(vec, ir.Undefined)
            for k in range(4):
                val = context.cast(builder, args[2 + k], signature.args[2 + k], arrty.dtype)
                v = builder.insert_element(v, val, ir.Constant(ir.IntType(32), k))
            ptr = builder.bitcast(builder.gep(ary.data, [args[1]]), vec.as_pointer())
            store = builder.store(v, ptr, align=4 * arrty.dtype.bitwidth // 8)
            store.set_metadata("nontemporal",
                               builder.module.add_metadata([ir.Constant(ir.IntType(32), 1)]))
            return context.get_dummy_value()

        return sig, codegen

    @intrinsic
    def _load4(typingctx, row, i):  # pragma: no cover - compiled
        """``row[i:i+4]`` as a tuple, read as one vector (no negative-index handling,
        which kept the loops scalar: callers pass ``0 <= i <= len(row) - 4``)."""
        ret = types.UniTuple(row.dtype, 4)
        sig = ret(row, i)

        def codegen(context, builder, signature, args):
            arrty = signature.args[0]
            ary = context.make_array(arrty)(context, builder, args[0])
            vec = ir.VectorType(context.get_value_type(arrty.dtype), 4)
            ptr = builder.bitcast(builder.gep(ary.data, [args[1]]), vec.as_pointer())
            v = builder.load(ptr, align=arrty.dtype.bitwidth // 8)
            items = [builder.extract_element(v, ir.Constant(ir.IntType(32), k))
                     for k in range(4)]
            return context.make_tuple(builder, signature.return_type, items)

        return sig, codegen

    @intrinsic
    def _store_fence(typingctx):  # pragma: no cover - compiled
        """Orders this thread's non-temporal stores before anything it does next (the
        join of the parallel loop): ``sfence`` on x86, a full fence elsewhere."""
        sig = types.void()

        def codegen(context, builder, signature, args):
            if _X86:
                fn = builder.module.declare_intrinsic(
                    "llvm.x86.sse.sfence", fnty=ir.FunctionType(ir.VoidType(), []))
                builder.call(fn, [])
            else:
                builder.fence("seq_cst")
            return context.get_dummy_value()

        return sig, codegen

    @_inline
    def _aligned(out, r, lo, hi, stream):  # pragma: no cover - compiled
        # [lo, a) and [b, hi) are written plainly, [a, b) four at a time, streamed
        if not stream:
            return hi, hi
        size = out.itemsize
        addr = out.ctypes.data + (r * out.shape[1] + lo) * size
        if addr % size:
            return hi, hi
        head = ((4 * size - addr % (4 * size)) % (4 * size)) // size
        a = min(lo + head, hi)
        return a, a + (hi - a) // 4 * 4

    @_inline
    def _tasks(u):  # pragma: no cover - compiled
        return max(1, (u.shape[1] + BLOCK - 1) // BLOCK)

    # -- elementwise maps, written once and used by the plain and the streamed loops --

    @_inline
    def _sign(v):  # pragma: no cover - compiled
        # branch-free (random signs would mispredict a branch half the time); NaN stays
        s = np.float64(v > 0) - np.float64(v < 0)
        return s if v == v else v

    @_inline
    def _soft(x, t):  # pragma: no cover - compiled
        c = x if x < t else t
        c = c if c > -t else -t
        return x - c

    # sign(v) (|v| f)**q for the orders norms use most, then any q; |v| f <= 1 is formed
    # first. One function per q, so the loop a block writer compiles for it has no branch
    @_inline
    def _q1(v, f, q):  # pragma: no cover - compiled
        return np.float64(v) * f

    @_inline
    def _q2(v, f, q):  # pragma: no cover - compiled
        vf = np.float64(v) * f
        return vf * abs(vf)

    @_inline
    def _q3(v, f, q):  # pragma: no cover - compiled
        vf = np.float64(v) * f
        return vf * vf * vf

    @_inline
    def _qany(v, f, q):  # pragma: no cover - compiled
        g = abs(np.float64(v) * f) ** q
        return g if v > 0 else (-g if v < 0 else 0.0)

    @_inline
    def _scaled_block(fn, u, out, r, lo, hi, f, q, stream):  # pragma: no cover
        # out[r, lo:hi] = fn(u[r, lo:hi], f, q): plain head and tail, streamed middle
        a, e = _aligned(out, r, lo, hi, stream)
        for i in range(lo, a):
            out[r, i] = fn(u[r, i], f, q)
        o, ur = out[r], u[r]
        for i in range(a, e, 4):
            x0, x1, x2, x3 = _load4(ur, i)
            _stream4(o, i, fn(x0, f, q), fn(x1, f, q), fn(x2, f, q), fn(x3, f, q))
        for i in range(e, hi):
            out[r, i] = fn(u[r, i], f, q)
        if stream:
            _store_fence()

    @_inline
    def _hit(bits, mb):  # pragma: no cover - compiled
        # 1 where |v| (as sign-cleared bits) is the row's largest, mb (-1 when u = 0)
        return np.int64(bits == mb)

    @_inline
    def _linf(hit, v, w):  # pragma: no cover - compiled
        hw = w * hit  # products, not (sign) * hw, so a non-hit is +0.0, never -0.0
        return np.float64(v > 0) * hw - np.float64(v < 0) * hw

    # -- reductions: one read of u ----------------------------------------------------

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
    def partial_max_bits(bits, part, mask):  # pragma: no cover - compiled
        # part[r, b] = the largest |u| of block b as sign-cleared bits: for IEEE floats
        # those order like the magnitudes, and a NaN is larger than inf (so it shows)
        rows, n = bits.shape
        nb = part.shape[1]
        for t in prange(rows * nb):
            r = t // nb
            b = t % nb
            m = bits[r, 0] & 0
            for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
                a = bits[r, i] & mask
                m = a if a > m else m
            part[r, b] = m

    # -- writes: one read of u, one write of out ---------------------------------------

    @_parallel
    def write_lp(u, out, fac, fast, q, stream):  # pragma: no cover - compiled
        # out = sign(u) (|u| fac)**q on the rows of the fast path (q = 1: the L2 gradient)
        rows, n = u.shape
        nb = _tasks(u)
        # blocks in the reverse order of the reduction's, so each thread starts on what
        # the reduction read last (still in the cache)
        for k in prange(rows * nb):
            t = rows * nb - 1 - k
            r = t // nb
            b = t % nb
            if fast[r]:
                f = fac[r]
                lo, hi = b * BLOCK, min(n, (b + 1) * BLOCK)
                if q == 1.0:
                    _scaled_block(_q1, u, out, r, lo, hi, f, q, stream)
                elif q == 2.0:
                    _scaled_block(_q2, u, out, r, lo, hi, f, q, stream)
                elif q == 3.0:
                    _scaled_block(_q3, u, out, r, lo, hi, f, q, stream)
                else:
                    _scaled_block(_qany, u, out, r, lo, hi, f, q, stream)

    @_parallel
    def write_linf(u, bits, out, big, weight, count, mask, stream):  # pragma: no cover
        # +-weight at the entries reaching the row's largest |u| (big, as bits), else 0;
        # count[r, b] = how many there are in block b (ties are split after, if any).
        # Hits are rare: four entries are tested at once and, almost always, four zeros
        # written without looking at the values.
        rows, n = u.shape
        nb = count.shape[1]
        # blocks in the reverse order of the reduction's, so each thread starts on what
        # the reduction read last (still in the cache)
        for k in prange(rows * nb):
            t = rows * nb - 1 - k
            r = t // nb
            b = t % nb
            mb = big[r] if big[r] != 0 else big[r] - 1  # u = 0: nothing is a hit
            w = weight[r]
            lo, hi = b * BLOCK, min(n, (b + 1) * BLOCK)
            c = 0
            a, e = _aligned(out, r, lo, hi, stream)
            for i in range(lo, a):
                h = _hit(bits[r, i] & mask, mb)
                c += h
                out[r, i] = _linf(h, u[r, i], w)
            o, br = out[r], bits[r]
            for i in range(a, e, 4):
                b0, b1, b2, b3 = _load4(br, i)
                b0, b1, b2, b3 = b0 & mask, b1 & mask, b2 & mask, b3 & mask
                if (b0 == mb) | (b1 == mb) | (b2 == mb) | (b3 == mb):
                    h0, h1, h2, h3 = _hit(b0, mb), _hit(b1, mb), _hit(b2, mb), _hit(b3, mb)
                    c += h0 + h1 + h2 + h3
                    _stream4(o, i, _linf(h0, u[r, i], w), _linf(h1, u[r, i + 1], w),
                             _linf(h2, u[r, i + 2], w), _linf(h3, u[r, i + 3], w))
                else:
                    _stream4(o, i, 0.0, 0.0, 0.0, 0.0)
            for i in range(e, hi):
                h = _hit(bits[r, i] & mask, mb)
                c += h
                out[r, i] = _linf(h, u[r, i], w)
            count[r, b] = c
            if stream:
                _store_fence()

    @_parallel
    def scale_rows(out, rows_, factor):  # pragma: no cover - compiled
        # out[r] *= factor[k] for the rows r = rows_[k] (the rare rows with a tied maximum)
        n = out.shape[1]
        nb = max(1, (n + BLOCK - 1) // BLOCK)
        for t in prange(rows_.shape[0] * nb):
            k = t // nb
            r = rows_[k]
            f = factor[k]
            for i in range(t % nb * BLOCK, min(n, (t % nb + 1) * BLOCK)):
                out[r, i] = out[r, i] * f

    @_parallel
    def sign(u, out, stream):  # pragma: no cover - compiled
        rows, n = u.shape
        nb = _tasks(u)
        for t in prange(rows * nb):
            r = t // nb
            lo, hi = t % nb * BLOCK, min(n, (t % nb + 1) * BLOCK)
            a, e = _aligned(out, r, lo, hi, stream)
            for i in range(lo, a):
                out[r, i] = _sign(u[r, i])
            o, ur = out[r], u[r]
            for i in range(a, e, 4):
                x0, x1, x2, x3 = _load4(ur, i)
                _stream4(o, i, _sign(x0), _sign(x1), _sign(x2), _sign(x3))
            for i in range(e, hi):
                out[r, i] = _sign(u[r, i])
            if stream:
                _store_fence()

    @_parallel
    def soft_threshold(v, lam, out, stream):  # pragma: no cover - compiled
        rows, n = v.shape
        nb = _tasks(v)
        for t in prange(rows * nb):
            r = t // nb
            th = lam[r]
            lo, hi = t % nb * BLOCK, min(n, (t % nb + 1) * BLOCK)
            a, e = _aligned(out, r, lo, hi, stream)
            for i in range(lo, a):
                out[r, i] = _soft(v[r, i], th)
            o, vr = out[r], v[r]
            for i in range(a, e, 4):
                x0, x1, x2, x3 = _load4(vr, i)
                _stream4(o, i, _soft(x0, th), _soft(x1, th), _soft(x2, th), _soft(x3, th))
            for i in range(e, hi):
                out[r, i] = _soft(v[r, i], th)
            if stream:
                _store_fence()

    @numba.njit(cache=True)
    def _scaled_row(u, out, r, p, kind):  # pragma: no cover - compiled
        # slow path of one row: entries scaled so that the largest is in [0.5, 1). A row
        # holding a NaN gives NaN throughout; one with k infinite entries (no NaN) its
        # limit direction: +-k**((1-p)/p) on those (1/sqrt(k) for L2), 0 elsewhere
        n = u.shape[1]
        big = 0.0
        nan = False
        k = 0
        for i in range(n):
            a = abs(np.float64(u[r, i]))
            if a != a:
                nan = True
            elif a > big:
                big = a
            if a == math.inf:
                k += 1
        if nan or big == 0.0:
            for i in range(n):
                out[r, i] = math.nan if nan else 0.0
            return
        if k > 0:
            w = 1.0 / math.sqrt(k) if kind == 2 else k ** ((1.0 - p) / p)
            for i in range(n):
                v = u[r, i]
                out[r, i] = w if v == math.inf else (-w if v == -math.inf else 0.0)
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

    # -- normalisation layers: one task per row, the row's later passes read the cache --
    # One pass gives sum(u) and sum(u*u) (and sum(g), sum(g*u) for the VJP); where
    # sum(u*u) - n mean**2 cancels more than 6 digits (|mean| >> the spread) the centred
    # sums are redone in a second pass over the row, which is in the cache by then.

    @_inline
    def _finish_stats(u, g, r, n, s, ss, sg, sgu, centred, with_g):  # pragma: no cover
        # (mean, sum (u - mean)**2, sum g (u - mean)) from the raw sums of row r
        if not centred:
            return 0.0, ss, sgu
        mu = s / n
        var_n = ss - s * mu
        if var_n >= 1e-6 * ss:
            return mu, var_n, sgu - mu * sg
        d2 = 0.0
        gd = 0.0
        for i in range(n):
            d = np.float64(u[r, i]) - mu
            d2 += d * d
            if with_g:
                gd += np.float64(g[r, i]) * d
        return mu, d2, gd

    @_inline
    def _scale_of(ss_c, n, eps, low, high, raw):  # pragma: no cover - compiled
        # (1/sqrt(ss_c/n + eps), ok): ok is false where a sum over/underflowed
        ok = raw <= high and (ss_c >= low or eps > 0.0) and math.isfinite(ss_c)
        total = ss_c / n + eps
        return (1.0 / math.sqrt(total) if total > 0.0 else 0.0), ok

    @_parallel_sum
    def normalise_rows(u, eps, out, ok, centred, low, high, stream):  # pragma: no cover
        # out[r] = (u[r] - mean) / sqrt(mean(d*d) + eps[r]) (mean 0 for RMSNorm); ok[r] =
        # 0 marks a row whose sums over/underflowed (redone scaled by the caller)
        rows, n = u.shape
        for r in prange(rows):
            s = 0.0
            ss = 0.0
            for i in range(n):
                a = np.float64(u[r, i])
                s += a
                ss += a * a
            mu, ss_c, _ = _finish_stats(u, u, r, n, s, ss, 0.0, 0.0, centred, False)
            rr, good = _scale_of(ss_c, n, eps[r], low, high, ss)
            ok[r] = good and math.isfinite(mu)
            if not ok[r]:
                continue
            a, e = _aligned(out, r, 0, n, stream)
            for i in range(0, a):
                out[r, i] = (u[r, i] - mu) * rr
            o, ur = out[r], u[r]
            for i in range(a, e, 4):
                x0, x1, x2, x3 = _load4(ur, i)
                _stream4(o, i, (x0 - mu) * rr, (x1 - mu) * rr, (x2 - mu) * rr,
                         (x3 - mu) * rr)
            for i in range(e, n):
                out[r, i] = (u[r, i] - mu) * rr
            if stream:
                _store_fence()

    @_parallel_sum
    def normalise_rows_vjp(u, eps, g, out, ok, centred, low, high, stream):  # pragma: no cover
        # out[r] = rr (g - mean(g) - x̂ mean(g x̂)) (LayerNorm; RMSNorm without mean(g)),
        # x̂ = (u - mean) rr; ok[r] = 0 marks a row to redo scaled
        rows, n = u.shape
        for r in prange(rows):
            s = 0.0
            ss = 0.0
            sg = 0.0
            sgu = 0.0
            for i in range(n):
                a = np.float64(u[r, i])
                b = np.float64(g[r, i])
                s += a
                ss += a * a
                sg += b
                sgu += b * a
            mu, ss_c, sgd = _finish_stats(u, g, r, n, s, ss, sg, sgu, centred, True)
            rr, good = _scale_of(ss_c, n, eps[r], low, high, ss)
            ok[r] = good and math.isfinite(mu)
            if not ok[r]:
                continue
            mg = sg / n if centred else 0.0
            c = sgd * rr * rr / n          # mean(g x̂) rr
            a, e = _aligned(out, r, 0, n, stream)
            for i in range(0, a):
                out[r, i] = rr * (g[r, i] - mg - (u[r, i] - mu) * c)
            o, ur, gr = out[r], u[r], g[r]
            for i in range(a, e, 4):
                x0, x1, x2, x3 = _load4(ur, i)
                g0, g1, g2, g3 = _load4(gr, i)
                _stream4(o, i, rr * (g0 - mg - (x0 - mu) * c), rr * (g1 - mg - (x1 - mu) * c),
                         rr * (g2 - mg - (x2 - mu) * c), rr * (g3 - mg - (x3 - mu) * c))
            for i in range(e, n):
                out[r, i] = rr * (g[r, i] - mg - (u[r, i] - mu) * c)
            if stream:
                _store_fence()

    @_parallel_sum
    def normalise_rows_value_vjp(u, eps, g, val, out, ok, centred, low, high,
                                 stream):  # pragma: no cover - compiled
        # val[r] = x̂ and out[r] = rr (g - mean(g) - x̂ mean(g x̂)): forward and backward
        # from one pass of sums over u and g and one write pass of both
        rows, n = u.shape
        for r in prange(rows):
            s = 0.0
            ss = 0.0
            sg = 0.0
            sgu = 0.0
            for i in range(n):
                a = np.float64(u[r, i])
                b = np.float64(g[r, i])
                s += a
                ss += a * a
                sg += b
                sgu += b * a
            mu, ss_c, sgd = _finish_stats(u, g, r, n, s, ss, sg, sgu, centred, True)
            rr, good = _scale_of(ss_c, n, eps[r], low, high, ss)
            ok[r] = good and math.isfinite(mu)
            if not ok[r]:
                continue
            mg = sg / n if centred else 0.0
            c = sgd * rr * rr / n
            a, e = _aligned(out, r, 0, n, stream)
            a2, e2 = _aligned(val, r, 0, n, stream)
            if a2 != a or e2 != e:  # the two rows are not aligned alike: plain writes
                a, e = n, n
            for i in range(0, a):
                d = u[r, i] - mu
                val[r, i] = d * rr
                out[r, i] = rr * (g[r, i] - mg - d * c)
            o, v, ur, gr = out[r], val[r], u[r], g[r]
            for i in range(a, e, 4):
                x0, x1, x2, x3 = _load4(ur, i)
                g0, g1, g2, g3 = _load4(gr, i)
                d0, d1, d2, d3 = x0 - mu, x1 - mu, x2 - mu, x3 - mu
                _stream4(v, i, d0 * rr, d1 * rr, d2 * rr, d3 * rr)
                _stream4(o, i, rr * (g0 - mg - d0 * c), rr * (g1 - mg - d1 * c),
                         rr * (g2 - mg - d2 * c), rr * (g3 - mg - d3 * c))
            for i in range(e, n):
                d = u[r, i] - mu
                val[r, i] = d * rr
                out[r, i] = rr * (g[r, i] - mg - d * c)
            if stream:
                _store_fence()

    # -- u/||u||_2: the VJP is the Hessian of the L2 norm times v, two passes -----------

    @_parallel_sum
    def partial_dots(u, v, part):  # pragma: no cover - compiled
        # part[r, b] = (sum u*u, sum u*v) over block b of row r
        rows, n = u.shape
        nb = part.shape[1]
        for t in prange(rows * nb):
            r = t // nb
            b = t % nb
            s = 0.0
            w = 0.0
            for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
                a = np.float64(u[r, i])
                s += a * a
                w += a * np.float64(v[r, i])
            part[r, b, 0] = s
            part[r, b, 1] = w

    @_parallel
    def write_axpby(u, v, out, alpha, beta, fast, stream):  # pragma: no cover - compiled
        # out[r] = alpha[r] v[r] - beta[r] u[r] on the rows of the fast path
        rows, n = u.shape
        nb = _tasks(u)
        for k in prange(rows * nb):
            t = rows * nb - 1 - k
            r = t // nb
            if not fast[r]:
                continue
            al = alpha[r]
            be = beta[r]
            lo, hi = t % nb * BLOCK, min(n, (t % nb + 1) * BLOCK)
            a, e = _aligned(out, r, lo, hi, stream)
            for i in range(lo, a):
                out[r, i] = al * v[r, i] - be * u[r, i]
            o, ur, vr = out[r], u[r], v[r]
            for i in range(a, e, 4):
                x0, x1, x2, x3 = _load4(ur, i)
                y0, y1, y2, y3 = _load4(vr, i)
                _stream4(o, i, al * y0 - be * x0, al * y1 - be * x1, al * y2 - be * x2,
                         al * y3 - be * x3)
            for i in range(e, hi):
                out[r, i] = al * v[r, i] - be * u[r, i]
            if stream:
                _store_fence()
