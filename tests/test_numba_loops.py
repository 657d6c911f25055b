"""The numba backend's loops against hand-written numpy, on both write paths.

Large results are written with non-temporal stores (``numba_kernels.STREAM_BYTES``); the
tests lower that threshold to 0 so small arrays go through the streamed path too: with
the output aligned and misaligned to the vector width, lengths that are not a multiple
of four or of a block, float32 and float64, single rows and batches.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("numba", reason="numba is not installed (pip install 'symnorm[numba]')")

from symnorm.kernels.backends import numba_kernels  # noqa: E402
from symnorm.kernels.backends.numba_loops import BLOCK  # noqa: E402

NM = numba_kernels.NumbaNumeric()


@pytest.fixture(params=["plain", "streamed"])
def stream(request, monkeypatch):
    monkeypatch.setattr(numba_kernels, "STREAM_BYTES", 0 if request.param == "streamed"
                        else 1 << 62)
    return request.param


def _misaligned(shape, dtype):
    """An output array whose first entry is one item past a 32-byte boundary."""
    size = int(np.prod(shape))
    item = np.dtype(dtype).itemsize
    raw = np.empty(size + 64 // item, dtype=dtype)
    skip = (-raw.ctypes.data % 32) // item + 1
    out = raw[skip:skip + size].reshape(shape)
    assert out.ctypes.data % 32 == item
    return out


# independent references: the textbook formulas, in float64 then rounded once
def ref_l2(u):
    u = u.astype(np.float64)
    n = np.linalg.norm(u, axis=-1, keepdims=True)
    return np.divide(u, n, out=np.zeros_like(u), where=n > 0)


def ref_lp(u, p):
    u = u.astype(np.float64)
    n = np.sum(np.abs(u) ** p, axis=-1, keepdims=True) ** (1 / p)
    return np.sign(u) * np.divide(np.abs(u), n, out=np.zeros_like(u), where=n > 0) ** (p - 1)


def ref_linf(u):
    a = np.abs(u.astype(np.float64))
    top = a.max(axis=-1, keepdims=True)
    hit = (a == top) & (top > 0)
    return np.sign(u) * hit / np.maximum(hit.sum(axis=-1, keepdims=True), 1)


def ref_soft(u, lam):
    return np.sign(u) * np.maximum(np.abs(u) - lam, 0)


SHAPES = [(1,), (3,), (4,), (37,), (2 * BLOCK + 5,), (5, 3), (3, 1001), (2, BLOCK + 3)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("aligned", [True, False], ids=["aligned", "misaligned"])
def test_every_loop_matches_numpy(stream, shape, dtype, aligned):
    rng = np.random.default_rng(sum(shape))
    u = rng.standard_normal(shape).astype(dtype)
    u.reshape(-1)[::5] = 0.0
    tol = 1e-13 if dtype == np.float64 else 3e-6
    cases = [
        (lambda o: NM.norm2_grad(u, out=o), ref_l2(u)),
        (lambda o: NM.normp_grad(u, 3.0, out=o), ref_lp(u, 3)),
        (lambda o: NM.normp_grad(u, 4.0, out=o), ref_lp(u, 4)),
        (lambda o: NM.normp_grad(u, 1.5, out=o), ref_lp(u, 1.5)),
        (lambda o: NM.norm1_grad(u, out=o), np.sign(u)),
        (lambda o: NM.norminf_grad(u, out=o), ref_linf(u)),
        (lambda o: NM.soft_threshold(u, 0.3, out=o), ref_soft(u, 0.3)),
    ]
    for run, want in cases:
        out = np.empty(shape, dtype) if aligned else _misaligned(shape, dtype)
        out.fill(np.nan)  # every entry must be written
        got = run(out)
        assert got is out and got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 1e-3)
        got_new = run(None)  # a fresh result, same numbers
        np.testing.assert_array_equal(got_new, got)


def test_ties_at_the_maximum_are_split_evenly(stream):
    u = np.zeros((4, 2 * BLOCK + 9))
    u[0, [3, BLOCK + 1, 2 * BLOCK + 8]] = [-2.0, 2.0, 2.0]      # three ties over blocks
    u[1, 7] = 5.0                                               # one maximum
    u[2, [0, 1]] = [np.inf, -np.inf]                            # ties at inf
    out = NM.norminf_grad(u)
    np.testing.assert_array_equal(out, ref_linf(u))
    assert out[0, 3] == -1 / 3 and out[0, BLOCK + 1] == 1 / 3
    assert not out[3].any()                                     # u = 0: the subgradient 0
    assert out[2, 0] == 0.5 and out[2, 1] == -0.5
    assert not np.signbit(out[out == 0]).any()  # zeros are +0.0, as numpy writes them


def test_subnormal_and_huge_maxima(stream):
    tiny = math.ulp(0.0)  # the smallest subnormal
    u = np.array([[tiny, -tiny, 0.0], [1e308, -1.7e308, 1.7e308], [1e-310, 2e-310, 0]])
    np.testing.assert_array_equal(NM.norminf_grad(u), ref_linf(u))
    f32 = np.array([np.float32(1e-45), np.float32(-3e38), np.float32(3e38)])
    np.testing.assert_array_equal(NM.norminf_grad(f32), ref_linf(f32).astype(np.float32))


def test_nan_keeps_numpy_semantics(stream):
    u = np.array([[1.0, np.nan, 3.0], [1.0, 2.0, -2.0]])
    from symnorm import numeric

    np.testing.assert_array_equal(NM.norminf_grad(u), numeric.norminf_grad(u))
    np.testing.assert_array_equal(NM.norm1_grad(u), np.sign(u))  # NaN stays NaN
    assert np.isnan(NM.soft_threshold(u, 0.5)[0, 1])


def test_rows_that_overflow_or_vanish_take_the_scaled_path(stream):
    big = float(np.finfo(np.float64).max)
    u = np.array([[big, big, 0.0, 0.0], [3e-200, 4e-200, 0, 0], [0.0, 0, 0, 0],
                  [3.0, 4.0, 0, 0]])
    g = NM.norm2_grad(u)
    np.testing.assert_allclose(g[0, :2], [2 ** -0.5] * 2, rtol=1e-15)
    np.testing.assert_allclose(g[1, :2], [0.6, 0.8], rtol=1e-15)
    assert not g[2].any()
    np.testing.assert_allclose(g[3, :2], [0.6, 0.8], rtol=1e-15)
    g3 = NM.normp_grad(u, 3.0)
    np.testing.assert_allclose(g3[0, :2], [2 ** (-2 / 3)] * 2, rtol=1e-14)


def test_streamed_writes_are_seen_by_the_caller_at_once():
    """Non-temporal stores are fenced before the loop returns: a large result read right
    after the call (and by numpy on another thread's cache) has every entry."""
    n = (numba_kernels.STREAM_BYTES // 8) + 12345
    u = np.random.default_rng(0).standard_normal(n)
    out = np.full(n, np.nan)
    for _ in range(3):
        NM.norm2_grad(u, out=out)
        assert not np.isnan(out).any()
        np.testing.assert_allclose(out, u / np.linalg.norm(u), rtol=1e-13, atol=1e-19)
        NM.soft_threshold(u, 0.5, out=out)
        np.testing.assert_array_equal(out, ref_soft(u, 0.5))


def test_threads_take_turns_on_the_workqueue_layer():
    """numba's workqueue threading layer (no OpenMP, no TBB) aborts the process when two
    threads launch parallel loops at once; the backend's calls then take turns."""
    import os
    import subprocess
    import sys

    script = """
import numpy as np
from concurrent.futures import ThreadPoolExecutor
import numba
from symnorm.kernels.backends import numba_kernels  # noqa: E402
nm = numba_kernels.NumbaNumeric()
x = np.random.default_rng(0).standard_normal((8, 200_000))
want = x / np.linalg.norm(x, axis=1, keepdims=True)
def work(i):
    got = nm.norm2_grad(x)
    nm.soft_threshold(x, 0.1)
    nm.norminf_grad(x)
    nm.normp_grad(x, 3.0)
    nm.norm1_grad(x)
    return bool(np.allclose(got, want, rtol=1e-13))
with ThreadPoolExecutor(4) as pool:
    ok = all(pool.map(work, range(24)))
print(numba.threading_layer(), numba_kernels._serial, ok)
"""
    env = dict(os.environ, NUMBA_THREADING_LAYER="workqueue")
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["workqueue", "True", "True"]


def test_in_place_calls_match_numpy(stream):
    """``out=u``: every loop reads an entry before it writes the same entry (the streamed
    stores included), and the tie fix-up reads only ``out``."""
    from symnorm import numeric

    rng = np.random.default_rng(1)
    cases = [(NM.norm2_grad, numeric.norm2_grad), (NM.norm1_grad, numeric.norm1_grad),
             (NM.norminf_grad, numeric.norminf_grad),
             (lambda u, out=None: NM.normp_grad(u, 3.0, out=out),
              lambda u: numeric.normp_grad(u, 3.0)),
             (lambda u, out=None: NM.soft_threshold(u, 0.3, out=out),
              lambda u: numeric.soft_threshold(u, 0.3))]
    for run, reference in cases:
        u = rng.standard_normal((3, 1003))
        u[1, :2] = [9.0, -9.0]  # a tie at the maximum
        u[2] = 0.0              # the kink
        want = reference(u.copy())
        assert run(u, out=u) is u
        np.testing.assert_allclose(u, want, rtol=1e-13, atol=0)
