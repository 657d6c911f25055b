"""Kernels on other array libraries give the numpy kernel's numbers, in that library.

Parametrised over the norm registry (a new rule joins through its ``sample_orders``) and
over the backend registry (a library that is not installed is skipped, with the reason).
Every kernel family: values, gradients (at kinks: the minimum-norm subgradient, checked
against ``sn.subdiff(...).min_norm``), Hessians, prox operators, elementwise maps;
random points, kinks and entries of size 1e±200 (float64), float32 and float64.
"""

from __future__ import annotations

import functools
import importlib.util

import numpy as np
import pytest
import sympy as sp

import symnorm as sn
from symnorm.kernels.arguments import free_arguments
from symnorm.kernels.backends import BACKENDS, available, with_backend
from symnorm.model.errors import ArgumentError, ShapeError, UnsupportedExpressionError
from symnorm.rules import NORMS, norm_rule
from symnorm.rules.prox_maps import ProjectL1Ball

pytestmark = [pytest.mark.filterwarnings("ignore::RuntimeWarning:dask"),  # lazy 0**-q
              pytest.mark.skipif(importlib.util.find_spec("array_api_compat") is None,
                                reason="array_api_compat is not installed "
                                       "(pip install 'symnorm[backends]')")]

LIBS = ["array_api", *[name for name in BACKENDS if name != "numpy"], "numba"]
HOST = ("array_api", "numba")  # libraries that take and return numpy arrays


def _skip_reason(lib: str) -> str | None:
    if lib == "array_api":
        return None
    if lib == "numba":
        return None if available("numba") else \
            "numba is not installed (pip install 'symnorm[numba]')"
    if not available(lib):
        return f"{lib} is not installed (pip install 'symnorm[{BACKENDS[lib].extra}]')"
    if lib == "cupy":
        try:
            import cupy

            cupy.zeros(1)
        except Exception as err:  # no GPU / no CUDA driver: nothing to run on
            return f"cupy is installed but cannot run here: {err}"
    return None


@functools.cache
def _jax_x64() -> None:
    import jax

    jax.config.update("jax_enable_x64", True)


def to_lib(lib: str, a: np.ndarray, chunks: int = 3):
    """``a`` as an array of ``lib`` (labels and scalars too)."""
    a = np.asarray(a)
    if lib in HOST:
        return a
    if lib == "jax":
        _jax_x64()
        import jax.numpy as jnp

        return jnp.asarray(a)
    if lib == "torch":
        import torch

        return torch.asarray(a)
    if lib == "cupy":
        import cupy

        return cupy.asarray(a)
    import dask.array as da

    return da.from_array(a, chunks=chunks if a.ndim else ())


def to_numpy(lib: str, r) -> np.ndarray:
    if lib in HOST:
        return np.asarray(r)
    if lib == "torch":
        return r.detach().cpu().numpy()
    if lib == "cupy":
        return r.get()
    if lib == "dask":
        return np.asarray(r.compute())
    return np.asarray(r)


def lib_type(lib: str) -> type:
    if lib in HOST or lib == "numpy":
        return np.ndarray
    if lib == "jax":
        import jax

        return jax.Array
    if lib == "torch":
        import torch

        return torch.Tensor
    if lib == "cupy":
        import cupy

        return cupy.ndarray
    import dask.array as da

    return da.Array


@pytest.fixture(params=LIBS)
def lib(request) -> str:
    reason = _skip_reason(request.param)
    if reason:
        pytest.skip(reason)
    return request.param


TOL = {np.float64: 1e-12, np.float32: 2e-5}


def run(k, lib: str, values: dict, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """(numpy kernel's result, the backend's result as numpy) for the same values."""
    cast = {name: (np.asarray(v, dtype=dtype) if np.asarray(v).dtype.kind == "f" else v)
            for name, v in values.items()}
    want = k(**cast)
    if lib in HOST:
        got = _forced(k, lib)(**cast)
    elif lib == "jax":  # compiled once per shape (JAX's eager mode compiles every op)
        _jax_x64()
        r = _forced(k, "jax")(**{name: to_lib(lib, v) for name, v in cast.items()})
        assert isinstance(r, lib_type(lib)), type(r)
        got = to_numpy(lib, r)
    else:
        r = k(**{name: to_lib(lib, v) for name, v in cast.items()})
        assert isinstance(r, lib_type(lib)), type(r)
        got = to_numpy(lib, r)
    return want, got


@functools.cache
def _forced(k, lib: str = "array_api"):
    """The same kernel (same generated source) computing through ``lib``."""
    return with_backend(k, lib)


def assert_same(want: np.ndarray, got: np.ndarray, dtype=np.float64) -> None:
    assert got.shape == want.shape
    assert got.dtype == want.dtype
    assert not np.any(np.isnan(got)), got
    scale = np.max(np.abs(want), initial=0.0)
    np.testing.assert_allclose(got, want, rtol=TOL[dtype], atol=TOL[dtype] * scale)


# -- the registry's norms ---------------------------------------------------------------

ALL_CASES = [(rule, p) for rule in NORMS for p in rule.sample_orders]
# vector norms here; the matrix norms (SVD-based helpers on the host) further down
CASES = [(rule, p) for rule, p in ALL_CASES if not rule.extras.get("matrix")]
IDS = [f"{rule.key}-p={p}" for rule, p in CASES]
MATRIX_CASES = [(rule, p) for rule, p in ALL_CASES if rule.extras.get("matrix")]


def _extra(p, n: int) -> dict:
    rule = norm_rule(p)
    if "sample_values" in rule.extras:
        return rule.extras["sample_values"](p, n, np.random.default_rng(0))
    if isinstance(p, sp.Symbol):
        return {"p": np.float64(2.7)}
    return {}


def _batch(n: int = 6, extremes: bool = True) -> np.ndarray:
    """One batch of rows: generic, the zero vector, ties and zeros, 1e+200, 1e-200.

    Rows are independent, so one call checks every kind of point and, on the rows of
    size 1e±200, the per-row choice between the fast path and the rescaling.
    """
    rng = np.random.default_rng(7)
    kink = np.array([2.0, -2.0, 0.0, 1.0, -2.0, 0.0][:n])
    rows = [*rng.standard_normal((2, n)), np.zeros(n), kink]
    if extremes:
        rows += [1e200 * kink, 1e-200 * rng.standard_normal(n)]
    return np.array(rows)


@functools.cache
def _grad(p):
    x = sn.vector("x")
    return sn.grad(sn.norm(x, p), x)


@pytest.mark.parametrize("rule,p", CASES, ids=IDS)
def test_value_and_gradient_kernels_match_numpy(rule, p, lib):
    x = sn.vector("x")
    kernels = [sn.kernel(sn.norm(x, p), free_arguments(sn.norm(x, p), first=x))]
    try:
        kernels.append(_grad(p).kernel())
    except sn.SymnormError as err:  # e.g. the counting norm: no gradient
        assert p == 0, err
    for k in kernels:
        for dtype in (np.float64, np.float32):  # 1e±200 rows in float64 only
            v = _batch(extremes=dtype == np.float64)
            want, got = run(k, lib, {"x": v, **_extra(p, v.shape[-1])}, dtype)
            assert_same(want, got, dtype)


SUBDIFF = [(rule, p) for rule, p in CASES if rule.subdiff is not None
           and "sample_values" not in rule.extras and not isinstance(p, sp.Symbol)
           and (p == sp.oo or p >= 1)]


@pytest.mark.parametrize("rule,p", SUBDIFF, ids=[f"{r.key}-p={p}" for r, p in SUBDIFF])
def test_gradient_at_a_kink_is_the_min_norm_subgradient(rule, p, lib):
    x = sn.vector("x")
    k = _grad(p).kernel()
    sd = sn.subdiff(sn.norm(x, p), x)
    kinks = _batch()[2:4]
    r = k(to_lib(lib, kinks)) if lib not in HOST else _forced(k, lib)(kinks)
    for v, got in zip(kinks, to_numpy(lib, r)):
        np.testing.assert_allclose(got, sd.min_norm(x=v), atol=1e-12)


PROX = [(rule, p) for rule, p in CASES if rule.prox is not None]


@pytest.mark.parametrize("rule,p", PROX, ids=[f"{r.key}-p={p}" for r, p in PROX])
def test_prox_kernels_match_numpy(rule, p, lib):
    x, lam = sn.vector("x"), sn.scalar("lam", positive=True)
    k = sn.prox(lam * sn.norm(x, p), x).kernel()
    v_name = k.arg_names[0]
    for dtype in (np.float64, np.float32):
        v = _batch(extremes=False)
        want, got = run(k, lib, {v_name: v, "lam": 0.7, **_extra(p, v.shape[-1])}, dtype)
        assert_same(want, got, dtype)
    v = 1e200 * _batch(extremes=False)   # thresholds of size 1e200: per-row lam
    lam = np.array([2e200, 1e200, 1.0, 3e200])
    want, got = run(k, lib, {v_name: v, "lam": lam, **_extra(p, 6)})
    assert_same(want, got)


def test_l1_ball_projection_matches_numpy(lib):
    x, r = sn.vector("x"), sn.scalar("r", positive=True)
    k = sn.kernel(ProjectL1Ball(x, r), [x, r])
    rng = np.random.default_rng(3)
    # rows: generic, inside the ball, the zero vector, on a kink, radius 0
    v = np.vstack([rng.standard_normal((2, 5)), [0.5, -0.25, 0, 0, 0], np.zeros(5),
                   [3.0, -1.0, 0.0, 0.0, 1.0], [1.0, 1.0, 0, 0, 0]])
    radius = np.array([1.3, 0.2, 1.0, 1.0, 2.0, 0.0])
    want, got = run(k, lib, {"x": v, "r": radius})
    assert_same(want, got)


# -- other kernel families -----------------------------------------------------------------

def _family_cases():
    A, x, b = sn.matrix("A"), sn.vector("x"), sn.vector("b", "m")
    return {
        "grad ||Ax-b||_2": (sn.grad(sn.norm(A * x - b, 2), x), 1.0),
        "grad ||Ax-b||_1": (sn.grad(sn.norm(A * x - b, 1), x), 1.0),
        "grad ||Ax-b||_2^2": (sn.grad(sn.norm(A * x - b, 2) ** 2, x), 1.0),
        "hessian ||x||_2": (sn.hessian(sn.norm(x, 2), x), 1.0),
        "hessian ||Ax-b||_2^2": (sn.hessian(sn.norm(A * x - b, 2) ** 2, x), 1.0),
        "grad ||sigmoid(Ax)-b||_2": (sn.grad(sn.parse("norm(sigmoid(A*x) - b, 2)"), x), 1.0),
    }


@functools.cache
def _families():
    return _family_cases()


FAMILIES = ["grad ||Ax-b||_2", "grad ||Ax-b||_1", "grad ||Ax-b||_2^2", "hessian ||x||_2",
            "hessian ||Ax-b||_2^2", "grad ||sigmoid(Ax)-b||_2"]


@pytest.mark.parametrize("name", FAMILIES)
def test_gradient_and_hessian_families_match_numpy(name, lib):
    d, _ = _families()[name]
    k = d.kernel()
    rng = np.random.default_rng(11)
    A = rng.standard_normal((4, 3))
    x = rng.standard_normal((2, 3))
    # one batch: a generic point, the kink Ax = b, and residuals of size 1e200
    values = {"A": np.stack([A, A, 1e100 * A]),
              "x": np.stack([x[0], np.zeros(3), 1e100 * x[1]]),
              "b": np.stack([rng.standard_normal(4), np.zeros(4), np.zeros(4)])}
    values = {key: v for key, v in values.items() if key in k.arg_names}
    for dtype in (np.float64, np.float32):  # float32: without the 1e200 row
        cut = {key: v if dtype == np.float64 else v[:2] for key, v in values.items()}
        want, got = run(k, lib, cut, dtype)
        assert_same(want, got, dtype)


def test_results_keep_batch_columns_and_dtype(lib):
    x = sn.vector("x")
    k = _grad(2).kernel()
    want, got = run(k, lib, {"x": np.array([[3.0], [4.0]])})   # one column vector
    assert got.shape == (2, 1)
    assert_same(want, got)
    want, got = run(k, lib, {"x": np.array([[1, 2], [0, 0]])})  # integers become floats
    assert got.dtype == np.float64
    assert_same(want, got)
    assert x is not None


def test_out_is_written_where_the_library_has_it(lib):
    k = _grad(2).kernel()
    v = np.array([[3.0, 4.0], [0.0, 0.0]])
    if lib in HOST:
        out = np.empty((2, 2))
        assert _forced(k, lib)(v, out=out) is out
        np.testing.assert_allclose(out, [[0.6, 0.8], [0, 0]])
        return
    xv = to_lib(lib, v)
    if not BACKENDS[lib].supports_out:
        with pytest.raises(ArgumentError, match="out= is not supported"):
            k(xv, out=to_lib(lib, np.empty((2, 2))))
        return
    out = to_lib(lib, np.empty((2, 2)))
    assert k(xv, out=out) is out
    np.testing.assert_allclose(to_numpy(lib, out), [[0.6, 0.8], [0, 0]])
    with pytest.raises(ShapeError, match="out= has shape"):
        k(xv, out=to_lib(lib, np.empty(3)))


def test_validation_is_the_same_as_on_numpy(lib):
    A, x, b = sn.matrix("A"), sn.vector("x"), sn.vector("b", "m")
    k = sn.grad(sn.norm(A * x - b, 2), x).kernel()
    if lib in HOST:
        k = _forced(k, lib)
        conv = np.asarray
    else:
        def conv(a):
            return to_lib(lib, np.asarray(a, dtype=float))
    with pytest.raises(ShapeError, match="A has shape"):
        k(x=conv(np.ones(3)), A=conv(np.ones((3, 2))), b=conv(np.ones(3)))
    with pytest.raises(ArgumentError, match="missing argument"):
        k(x=conv(np.ones(3)))


def test_arrays_of_two_libraries_are_refused():
    if _skip_reason("torch") or _skip_reason("jax"):
        pytest.skip("needs torch and jax")
    k = _grad(2).kernel()
    with pytest.raises(ArgumentError, match="pass arrays of one library"):
        sn.kernel(sn.vector("x") + sn.vector("y"),
                  [sn.vector("x"), sn.vector("y")])(to_lib("torch", np.ones(2)),
                                                    to_lib("jax", np.ones(2)))
    assert k is not None


def test_unknown_backend_is_refused_listing_the_valid_ones():
    x = sn.vector("x")
    with pytest.raises(UnsupportedExpressionError, match="known: numpy, array_api, jax"):
        _grad(2).kernel(backend="tensorflow")
    assert x is not None


# -- JAX: compiled ahead of time, and inside the user's own jit ------------------------------

def test_jax_jit_of_a_kernel_and_backend_jax():
    if _skip_reason("jax"):
        pytest.skip(_skip_reason("jax"))
    _jax_x64()
    import jax
    import jax.numpy as jnp

    k = _grad(2).kernel()
    jitted = jax.jit(lambda v: k(v))
    big = jnp.asarray(1e200 * np.array([3.0, -4.0]))
    for v in (jnp.asarray([3.0, 4.0]), jnp.zeros(2), big):  # fast path, kink, rescaling
        np.testing.assert_allclose(np.asarray(jitted(v)), k(np.asarray(v)), rtol=1e-14)
    kj = _grad(3).kernel(backend="jax")
    r = kj(np.array([[3.0, 4.0], [0.0, 0.0]]))                 # numpy in, jax out
    assert isinstance(r, jax.Array)
    np.testing.assert_allclose(np.asarray(r), _grad(3).kernel()(np.array([[3.0, 4.0],
                                                                          [0.0, 0.0]])))
    # the jit'ed kernel is differentiable by JAX too (its own autodiff through the kernel)
    lam_prox = sn.prox(sn.scalar("lam", positive=True) * sn.norm(sn.vector("x"), 1),
                       sn.vector("x")).kernel(backend="jax")
    np.testing.assert_allclose(np.asarray(lam_prox(np.array([3.0, -0.5]), 1.0)), [2.0, 0.0])


# -- Dask: chunk-wise, and on a LocalCluster ----------------------------------------------

def _dask():
    if _skip_reason("dask"):
        pytest.skip(_skip_reason("dask"))
    import dask.array as da

    return da


def test_dask_gradient_reduces_norms_across_chunks_overflow_safe():
    da = _dask()
    rng = np.random.default_rng(5)
    v = rng.standard_normal(10_000)
    for p in (2, 3, sp.Rational(3, 2), sp.oo, 1):
        k = _grad(p).kernel()
        for scale in (1.0, 1e200, 1e-200, 1e300):
            w = scale * v
            w[:5000] = 0.0                         # whole chunks of zeros
            got = k(da.from_array(w, chunks=1000))
            assert isinstance(got, da.Array)
            assert got.chunks == ((1000,) * 10,)   # computed chunk by chunk
            np.testing.assert_allclose(got.compute(), k(w), rtol=1e-12, atol=0)
    # the value kernel: ||u||_2 of 1e300-sized entries does not overflow
    x = sn.vector("x")
    kv = sn.kernel(sn.norm(x, 2), [x])
    big = np.full(4000, 1e300)
    assert float(kv(da.from_array(big, chunks=500)).compute()) == pytest.approx(
        float(kv(big)), rel=1e-14)


def test_dask_on_a_local_cluster_matches_numpy():
    _dask()
    pytest.importorskip("distributed", reason="dask.distributed is not installed")
    import dask.array as da
    from distributed import Client, LocalCluster

    x = sn.vector("x")
    lam = sn.scalar("lam", positive=True)
    grad = _grad(2).kernel()
    prox = sn.prox(lam * sn.norm(x, 1), x).kernel()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster):
        u = da.random.default_rng(0).standard_normal(1_000_000, chunks=100_000) * 1e200
        g = grad(u)
        s = prox(u, 1e200)
        host = u.compute()
        g_val, s_val = da.compute(g, s)
    np.testing.assert_allclose(g_val, grad(host), rtol=1e-12, atol=0)
    np.testing.assert_allclose(s_val, prox(host, 1e200), rtol=1e-12, atol=0)
    assert abs(np.linalg.norm(g_val) - 1.0) < 1e-12


# -- numba: fused loops over blocks of long rows and over batches -------------------------

def test_numba_loops_over_many_blocks_and_mixed_rows():
    if _skip_reason("numba"):
        pytest.skip(_skip_reason("numba"))
    rng = np.random.default_rng(2)
    long_row = rng.standard_normal(200_000)            # several parallel blocks
    long_row[::7] = 0.0
    batch = rng.standard_normal((4, 70_000))
    batch[1] *= 1e300                                  # one row takes the rescaling path
    batch[2] = 0.0                                     # one row is the kink
    batch[3, :5] = 1e-310                              # subnormal entries
    for p in (2, 3, sp.oo, 1, sp.Rational(3, 2)):
        k = _grad(p).kernel()
        kn = _forced(k, "numba")
        for v in (long_row, batch):
            out = np.empty_like(v)
            assert kn(v, out=out) is out
            np.testing.assert_allclose(out, k(v), rtol=1e-12, atol=0)
    x, lam = sn.vector("x"), sn.scalar("lam", positive=True)
    prox = sn.prox(lam * sn.norm(x, 1), x).kernel()
    np.testing.assert_array_equal(_forced(prox, "numba")(batch, np.array([0.1, 2e300, 0, 1])),
                                  prox(batch, np.array([0.1, 2e300, 0, 1])))


def test_a_helper_without_an_array_api_version_runs_on_the_host(lib):
    """New kernel families (matrix norms, backprop) work on eager arrays before they get
    an array-API version of their numpy helpers; under jit or on Dask they say why not."""
    from symnorm.kernels.backends.dispatch import compiled
    from symnorm.kernels.backends.registry import namespace

    if lib in HOST:
        return
    v = to_lib(lib, np.array([[3.0, -4.0], [0.0, 0.0]]))
    import array_api_compat

    xp = namespace(lib)
    _, nm = compiled(_grad(2).kernel(), lib, xp, v.dtype, array_api_compat.device(v))
    on_host = nm.__getattr__("norm0")  # as if XPNumeric had no norm0 of its own
    if lib == "dask":
        with pytest.raises(NotImplementedError, match="no array-API version yet"):
            on_host(v)
        return
    got = to_numpy(lib, on_host(v))
    np.testing.assert_array_equal(got, [2.0, 0.0])
    with pytest.raises(AttributeError, match="_nm.no_such_helper"):
        nm.no_such_helper  # noqa: B018


# -- the registry's matrix norms --------------------------------------------------------

@pytest.mark.parametrize("rule,p", MATRIX_CASES, ids=[f"{r.key}-p={p}" for r, p in MATRIX_CASES])
@pytest.mark.parametrize("name", ["array_api", "torch", "jax"])
def test_matrix_norm_kernels_match_numpy_on_eager_arrays(rule, p, name):
    """Matrix-norm value and gradient kernels (SVD-based helpers run on the host) give
    numpy's numbers and the caller's array type, at generic points, kinks and ties."""
    reason = _skip_reason(name)
    if reason:
        pytest.skip(reason)
    X = sn.matrix("X")
    f = sn.norm(X, p)
    kernels = [sn.kernel(f, [X]), sn.grad(f, X, check=False).kernel()]
    rng = np.random.default_rng(11)
    points = [rng.standard_normal((3, 4, 3)), np.zeros((3, 3)), np.eye(3),
              np.diag([2.0, 2.0, 1.0])]  # a batch, the zero matrix, ties of singular values
    for k in kernels:
        for v in points:
            want = k(v)
            if name == "jax":
                _jax_x64()
            r = (_forced(k, name) if name in HOST else k)(to_lib(name, v))
            assert isinstance(r, lib_type(name)), type(r)
            assert_same(want, to_numpy(name, r))


def test_a_declared_structure_is_checked_on_other_libraries_too():
    reason = _skip_reason("torch")
    if reason:
        pytest.skip(reason)
    import torch

    x = sn.vector("x", 3)
    M = sn.matrix("M", 3, 3, symmetric=True)
    k = sn.grad(sn.ScalarOf(x.T * M * x), x).kernel()
    with pytest.raises(ArgumentError, match="declared symmetric"):
        k(x=torch.ones(3, dtype=torch.float64),
          M=torch.tensor(np.arange(9.0).reshape(3, 3)))
    got = k(x=torch.ones(3, dtype=torch.float64), M=2 * torch.eye(3, dtype=torch.float64))
    assert isinstance(got, torch.Tensor) and got.tolist() == [4.0, 4.0, 4.0]
