"""Backprop kernels on other array libraries give the numpy kernel's numbers, in that library.

Parametrised over the installed libraries (a library that is not installed is skipped,
with the reason): ``numpy`` here is the array-API version of the kernel run on numpy
arrays (``backend="array_api"``), the others take that library's arrays. References are
the numpy kernel (itself checked against central differences by ``sn.backprop``) and
hand-written numpy backprop where the kink or overflow semantics are the point; ``sn.train``
on each library against ``sn.train`` on numpy.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_backends import _jax_x64, _skip_reason, lib_type, to_numpy

import symnorm as sn
from symnorm.backprop import KernelArgumentError
from symnorm.model.errors import ArgumentError, ShapeError, UnsupportedExpressionError

pytestmark = pytest.mark.skipif(importlib.util.find_spec("array_api_compat") is None,
                                reason="array_api_compat is not installed")

LIBS = ["numpy", "jax", "torch", "cupy", "dask"]
RTOL = 1e-12


@pytest.fixture(params=LIBS)
def lib(request) -> str:
    reason = _skip_reason("array_api" if request.param == "numpy" else request.param)
    if reason:
        pytest.skip(reason)
    if request.param == "jax":
        _jax_x64()
    return request.param


def to_lib(lib: str, a, chunks: int = 3):
    """``a`` (a numpy array, a number passes through) as an array of ``lib``."""
    if not isinstance(a, np.ndarray) or lib == "numpy":
        return a
    if lib == "jax":
        import jax.numpy as jnp

        return jnp.asarray(a)
    if lib == "torch":
        import torch

        return torch.asarray(a)
    if lib == "cupy":
        import cupy

        return cupy.asarray(a)
    import dask.array as da

    return da.from_array(a, chunks=(chunks,) + a.shape[1:] if a.ndim else ())


def run_on(lib: str, k, values: dict, eager: bool = False) -> dict:
    """The kernel's result on ``lib`` (checked to be that library's arrays) as numpy.

    JAX runs the ``jax.jit``-compiled kernel unless ``eager`` (op by op, each op
    compiled for its shapes: the same numbers, many times slower to test)."""
    kernel = k.with_backend("array_api") if lib == "numpy" else \
        k.with_backend("jax") if lib == "jax" and not eager else k
    out = kernel(**{n: to_lib(lib, v) for n, v in values.items()})
    assert list(out) == k.outputs
    for name, r in out.items():
        want = (np.ndarray, np.floating) if lib == "numpy" else lib_type(lib)
        assert isinstance(r, want), (name, type(r))
    return {n: to_numpy(lib, r) for n, r in out.items()}


def assert_same(want: dict, got: dict, rtol: float = RTOL, atol: float = 0.0) -> None:
    assert list(got) == list(want)
    for name in want:
        w, g = np.asarray(want[name]), got[name]
        assert g.shape == w.shape, name
        assert not np.any(np.isnan(g)), name
        scale = np.max(np.abs(w), initial=0.0)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=max(atol, rtol * scale),
                                   err_msg=name)


def _networks() -> dict:
    A, x, b = sn.matrix("A"), sn.vector("x"), sn.vector("b", "m")
    quadratic = x.T * sn.matrix("M", "n", "n") * x
    return {
        "sigmoid 2-3-2": sn.backprop(sn.mlp([2, 3, 2]), check=False),
        "relu, bias, weight decay lam": sn.backprop(
            sn.mlp([3, 4, 2], "relu", bias=True, weight_decay=True), check=False),
        "softplus, L1 loss": sn.backprop(
            sn.mlp([3, 2], "softplus", loss=lambda y, t: sn.norm(y - t, 1)), check=False),
        "tanh, L2 loss, bias": sn.backprop(
            sn.mlp([3, 4, 2], "tanh", loss=lambda y, t: sn.norm(y - t, 2), bias=True),
            check=False),
        "sigmoid, L3 loss": sn.backprop(
            sn.mlp([3, 4, 2], loss=lambda y, t: sn.norm(y - t, 3)), check=False),
        "any loss ||Ax - b||_2": sn.backprop(sn.norm(A * x - b, 2), [x], check=False),
        "no data: x^T M x": sn.backprop(quadratic, [x], check=False),
    }


NETWORKS = _networks()


def values_for(k, batch: int | None = 7, seed: int = 0) -> dict:
    """Random arguments of the right shapes (``batch=None``: one sample, 1-D data)."""
    rng = np.random.default_rng(seed)
    out = {}
    dims = {"n": 3, "m": 4}
    for name in k.arg_names:
        shape = k.shapes[name]
        if shape == ():
            out[name] = 0.3
            continue
        concrete = tuple(dims.get(str(d), d) if d is not None else batch for d in shape)
        if concrete and concrete[0] is None:
            concrete = concrete[1:]
        out[name] = rng.standard_normal(tuple(int(d) for d in concrete))
    return out


# -- same numbers, the library's arrays ---------------------------------------------------

@pytest.mark.parametrize("reduce", ["mean", None])
@pytest.mark.parametrize("case", list(NETWORKS))
def test_same_numbers_as_the_numpy_kernel(case, reduce, lib):
    k = NETWORKS[case].kernel(reduce)
    values = values_for(k)
    assert_same(k(**values), run_on(lib, k, values))


# the sum is the mean times B, except for terms without data (weight decay): those two
@pytest.mark.parametrize("case", ["relu, bias, weight decay lam", "any loss ||Ax - b||_2"])
def test_reduce_sum_gives_the_numpy_kernels_sum(case, lib):
    k = NETWORKS[case].kernel("sum")
    values = values_for(k, seed=4)
    assert_same(k(**values), run_on(lib, k, values))


@pytest.mark.parametrize("reduce", ["mean", None])
def test_one_sample_as_a_1d_array(reduce, lib):
    k = NETWORKS["relu, bias, weight decay lam"].kernel(reduce)
    values = values_for(k, batch=None, seed=3)
    assert values["x"].shape == (3,)
    want = k(**values)
    assert want["W1"].shape == (4, 3)  # no batch axis, whatever reduce is
    assert_same(want, run_on(lib, k, values))


def test_float32_stays_float32(lib):
    k = NETWORKS["sigmoid 2-3-2"].kernel()
    values = {n: v.astype(np.float32) for n, v in values_for(k).items()}
    kernel = k.with_backend("array_api") if lib == "numpy" else \
        k.with_backend("jax") if lib == "jax" else k
    out = kernel(**{n: to_lib(lib, v) for n, v in values.items()})
    want = k(**{n: v.astype(np.float64) for n, v in values.items()})
    for name, r in out.items():
        assert "float32" in str(r.dtype), name
    assert_same(want, {n: to_numpy(lib, r).astype(np.float64) for n, r in out.items()},
                rtol=2e-5)


# -- kinks and overflow -----------------------------------------------------------------

def _hand_relu(x, t, W1, W2) -> dict:
    """Textbook numpy backprop of relu then identity, ½‖y − t‖² averaged, relu'(0) = 0."""
    a1 = x @ W1.T
    h1 = np.maximum(a1, 0.0)
    r = h1 @ W2.T - t
    d1 = (r @ W2) * (a1 > 0)
    B = x.shape[0]
    return {"W1": d1.T @ x / B, "W2": r.T @ h1 / B, "loss": 0.5 * np.sum(r * r) / B}


def test_relu_at_an_exact_zero_preactivation_gives_zero_not_nan(lib):
    bp = sn.backprop(sn.mlp([3, 4, 2], ["relu", "identity"]), check=False)
    k = bp.kernel()
    rng = np.random.default_rng(7)
    x, t = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    x[2] = 0.0                          # every unit's pre-activation is 0 for sample 2
    W1, W2 = rng.standard_normal((4, 3)), rng.standard_normal((2, 4))
    W1[1] = 0.0                         # unit 1's pre-activation is 0 for every sample
    a1 = x @ W1.T
    assert np.all(a1[2] == 0) and np.all(a1[:, 1] == 0)
    want = _hand_relu(x, t, W1, W2)
    got = run_on(lib, k, dict(x=x, t=t, W1=W1, W2=W2), eager=True)
    assert_same(want, got)
    np.testing.assert_array_equal(got["W1"][1], 0.0)  # relu'(0) = 0 exactly
    per_sample = run_on(lib, bp.kernel(None), dict(x=x, t=t, W1=W1, W2=W2), eager=True)
    np.testing.assert_array_equal(per_sample["W1"][2], 0.0)


def _sigmoid(a: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):  # the branch np.where drops
        return np.where(a >= 0, 1.0 / (1.0 + np.exp(-a)), np.exp(a) / (1.0 + np.exp(a)))


def test_large_preactivations_neither_overflow_nor_give_nan(lib):
    k = NETWORKS["sigmoid 2-3-2"].kernel()
    x = np.array([[1.0, 1.0], [-1.0, 2.0], [0.5, -1.0]])
    t = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
    W1 = np.array([[1e3, 0.0], [-1e3, 0.0], [0.0, 1e3]])  # pre-activations of ±1e3
    W2 = np.array([[1e3, -1e3, 1.0], [-1e3, 2.0, 1e3]])
    h1 = _sigmoid(x @ W1.T)
    y = _sigmoid(h1 @ W2.T)
    r = y - t
    d2 = r * y * (1 - y)
    d1 = (d2 @ W2) * h1 * (1 - h1)
    want = {"W1": d1.T @ x / 3, "W2": d2.T @ h1 / 3, "loss": 0.5 * np.sum(r * r) / 3}
    with np.errstate(over="raise", invalid="raise"):  # no overflow on the numpy path either
        numpy_kernel = k(x=x, t=t, W1=W1, W2=W2)
    got = run_on(lib, k, dict(x=x, t=t, W1=W1, W2=W2))
    for name in want:
        assert np.all(np.isfinite(got[name])), name
    # sigmoid(-1000) is 5e-435, below any float: the kernels give 0 or sigmoid(-700)
    assert_same(want, got, atol=1e-300)
    assert_same(numpy_kernel, got, atol=1e-300)


# -- validation: the numpy kernel's errors ------------------------------------------------

def _message(call) -> tuple[type, str]:
    with pytest.raises(Exception) as info:
        call()
    return type(info.value), str(info.value)


def test_bad_arguments_raise_the_numpy_kernels_errors(lib):
    k = NETWORKS["relu, bias, weight decay lam"].kernel()
    good = values_for(k)
    on_lib = k.with_backend("array_api") if lib == "numpy" else k

    def both(**change):
        values = {**good, **change}
        want = _message(lambda: k(**values))
        got = _message(lambda: on_lib(**{n: to_lib(lib, v) for n, v in values.items()}))
        assert got == want
        assert issubclass(got[0], sn.SymnormError)
        return got[1]

    assert "argument x must have shape (B, 3) or (3,), got an array of shape (7, 2)" in \
        both(x=good["x"][:, :2])
    assert "argument t must have shape (7, 2): the same batch as x" in both(t=good["t"][:5])
    assert "argument W1 must have shape (4, 3), got an array of shape (3, 4)" in \
        both(W1=good["W1"].T.copy())
    assert "argument x must have shape" in both(x=np.zeros((2, 2, 3)))
    assert "argument lam must have shape a scalar, ()" in both(lam=np.ones(2))
    values = {n: to_lib(lib, v) for n, v in good.items()}
    missing = {n: v for n, v in values.items() if n != "b1"}
    with pytest.raises(KernelArgumentError, match=r"missing argument\(s\): b1"):
        on_lib(**missing)
    with pytest.raises(KernelArgumentError, match="did you mean 'b1'"):
        on_lib(**missing, B1=values["b1"])
    with pytest.raises(KernelArgumentError, match="keyword arguments only"):
        on_lib(values["x"])
    with pytest.raises(ShapeError, match="argument x must be numbers"):
        on_lib(**{**values, "x": "not numbers"})


def _two_libraries() -> list[tuple[str, str]]:
    pairs = [("torch", "jax"), ("jax", "dask"), ("dask", "torch")]
    return [p for p in pairs if not (_skip_reason(p[0]) or _skip_reason(p[1]))]


@pytest.mark.parametrize("first,second", _two_libraries())
def test_arrays_of_two_libraries_are_refused(first, second):
    _jax_x64()
    k = NETWORKS["sigmoid 2-3-2"].kernel()
    values = values_for(k)
    values = {**values, "x": to_lib(first, values["x"]), "W2": to_lib(second, values["W2"])}
    with pytest.raises(ArgumentError, match=f"x is a {first} array, W2 is a {second} array"
                                            r".*pass arrays of one library"):
        k(**values)


def test_backend_names_are_checked():
    bp = NETWORKS["sigmoid 2-3-2"]
    with pytest.raises(UnsupportedExpressionError, match="no kernel backend named 'tf'"):
        bp.kernel(backend="tf")
    with pytest.raises(UnsupportedExpressionError, match="no numba backend"):
        bp.kernel(backend="numba")
    assert "backend='array_api'" in repr(bp.kernel(backend="array_api"))
    assert bp.kernel().backend is None  # the cached numpy kernel is not changed


# -- JAX: compiled, and traced inside the user's jit ------------------------------------------

def test_backend_jax_is_jit_compiled_and_traces_inside_a_users_jit():
    if _skip_reason("jax"):
        pytest.skip(_skip_reason("jax"))
    _jax_x64()
    import jax
    import jax.numpy as jnp

    bp = NETWORKS["relu, bias, weight decay lam"]
    k, kj = bp.kernel(), bp.kernel(backend="jax")
    values = values_for(k, batch=16)
    want = k(**values)
    got = kj(**values)                       # numpy in, JAX arrays out
    assert all(isinstance(v, jax.Array) for v in got.values())
    assert_same(want, {n: np.asarray(v) for n, v in got.items()})
    func, _ = next(iter(kj._backend_cache.values()))
    assert hasattr(func, "lower")            # a jax.jit-wrapped function
    names = [n for n in k.arg_names if n not in ("x", "t", "lam")]

    @jax.jit
    def step(params, x, t):                  # the plain kernel, traced in the user's jit
        g = k(x=x, t=t, lam=0.3, **params)
        return {n: params[n] - 0.1 * g[n] for n in params}, g["loss"]

    params = {n: jnp.asarray(values[n]) for n in names}
    new, loss = step(params, jnp.asarray(values["x"]), jnp.asarray(values["t"]))
    assert float(loss) == pytest.approx(float(want["loss"]), rel=RTOL)
    for n in names:
        np.testing.assert_allclose(np.asarray(new[n]), values[n] - 0.1 * want[n],
                                   rtol=RTOL, atol=RTOL)
    # the same kernel traced again, in another function
    other = jax.jit(lambda x: k(**{**values, "x": x})["W2"])(jnp.asarray(values["x"]))
    np.testing.assert_allclose(np.asarray(other), want["W2"], rtol=RTOL, atol=RTOL)
    traced = jax.jit(lambda lam: kj(**{**values, "lam": lam})["W1"])(0.3)
    np.testing.assert_allclose(np.asarray(traced), want["W1"], rtol=RTOL, atol=RTOL)


@pytest.mark.parametrize("backend", ["torch", "dask"])
def test_a_named_backend_converts_numpy_arguments(backend):
    if _skip_reason(backend):
        pytest.skip(_skip_reason(backend))
    k = NETWORKS["softplus, L1 loss"].kernel()
    values = values_for(k)
    got = k.with_backend(backend)(**values)
    assert all(isinstance(v, lib_type(backend)) for v in got.values())
    assert_same(k(**values), {n: to_numpy(backend, v) for n, v in got.items()})


# -- Dask: the mean gradient over a chunked batch ------------------------------------------

def _dask():
    if _skip_reason("dask"):
        pytest.skip(_skip_reason("dask"))
    import dask.array as da

    return da


def test_dask_batch_gradients_are_summed_chunk_by_chunk():
    da = _dask()
    import dask
    from dask.callbacks import Callback

    bp = NETWORKS["relu, bias, weight decay lam"]
    B = 1000
    values = {**values_for(bp.kernel(), batch=B, seed=2), "lam": 0.01}
    x = da.from_array(values["x"], chunks=(128, 2))   # uneven last chunk, split features
    t = da.from_array(values["t"], chunks=(300, 2))   # chunked differently from x
    sizes: list[int] = []

    class Largest(Callback):
        def _posttask(self, key, result, dsk, state, worker_id):
            sizes.append(getattr(result, "nbytes", 0))

    for reduce in ("mean", "sum"):
        k = bp.kernel(reduce)
        out = k(**{**values, "x": x, "t": t})
        assert all(isinstance(v, da.Array) for v in out.values())  # lazy
        sizes.clear()
        with Largest():
            got = dask.compute(out)[0]       # one graph: each chunk's forward pass once
        # no task ever held more than a chunk of rows (128 rows x 4 units x 8 bytes)
        assert 0 < max(sizes) <= 128 * 4 * 8 < values["x"].nbytes
        assert_same(k(**values), got)
    per_sample = bp.kernel(None)(**{**values, "x": x, "t": t})
    assert per_sample["W1"].chunks[0] == x.chunks[0]  # stays chunked along the batch
    assert per_sample["loss"].chunks == x.chunks[:1]
    want = bp.kernel(None)(**values)
    assert_same(want, {n: v.compute() for n, v in per_sample.items()})


def test_a_dask_batch_of_unknown_size_is_refused_saying_what_to_do():
    da = _dask()
    k = NETWORKS["sigmoid 2-3-2"].kernel()
    values = values_for(k, batch=6)
    x = da.from_array(values["x"], chunks=(4, 2))
    x = x[x[:, 0] > -10]  # a selection by value: the number of rows is unknown until computed
    with pytest.raises(ShapeError, match=r"x is a Dask array of unknown shape .*"
                                         r"x.compute_chunk_sizes\(\) first"):
        k(**{**values, "x": x})
    x.compute_chunk_sizes()
    assert_same(k(**values), {n: v.compute() for n, v in k(**{**values, "x": x}).items()})


@pytest.mark.parametrize("reduce", ["mean", "sum", None])
def test_dask_results_are_lazy(reduce):
    da = _dask()
    from dask.callbacks import Callback

    ran: list = []
    for case in ("relu, bias, weight decay lam", "tanh, L2 loss, bias", "sigmoid, L3 loss"):
        k = NETWORKS[case].kernel(reduce)
        values = values_for(k, batch=10)
        with Callback(pretask=lambda key, dsk, state: ran.append(key)):
            out = k(**{**values, "x": da.from_array(values["x"], chunks=(4, 3)),
                       "t": da.from_array(values["t"], chunks=(4, 2))})
        assert ran == [], case                   # nothing computed by the call itself
        assert all(isinstance(v, da.Array) for v in out.values())
        if reduce is None:
            assert all(v.chunks[0] == (4, 4, 2) for v in out.values())


@settings(max_examples=10, deadline=None)
@given(batch=st.integers(1, 40), chunk=st.integers(1, 17), seed=st.integers(0, 2**16))
def test_dask_mean_gradient_is_the_mean_over_samples_for_any_chunking(batch, chunk, seed):
    da = _dask()
    import dask

    bp = NETWORKS["tanh, L2 loss, bias"]
    values = values_for(bp.kernel(), batch=batch, seed=seed)
    per_sample = bp.kernel(None)(**values)  # the numpy kernel, one gradient per sample
    lazy = bp.kernel()(**{**values, "x": da.from_array(values["x"], chunks=(chunk, 3)),
                          "t": da.from_array(values["t"], chunks=(chunk, 2))})
    got = dask.compute(lazy)[0]
    want = {n: np.mean(v, axis=0) for n, v in per_sample.items()}
    assert_same(want, got, rtol=1e-11)


def test_dask_mean_gradient_on_a_local_cluster_matches_numpy():
    da = _dask()
    pytest.importorskip("distributed", reason="dask.distributed is not installed")
    import dask
    from distributed import Client, LocalCluster

    bp = NETWORKS["sigmoid 2-3-2"]
    k = bp.kernel()
    B = 20_003
    values = values_for(k, batch=B, seed=5)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster):
        x = da.from_array(values["x"], chunks=(2_000, 2))   # 11 chunks, the last of 3 rows
        t = da.from_array(values["t"], chunks=(2_000, 2))
        assert x.numblocks[0] == 11 and x.chunks[0][-1] == 3
        out = k(x=x, t=t, W1=values["W1"], W2=values["W2"])
        assert all(isinstance(v, da.Array) for v in out.values())
        got = dask.compute(out)[0]
    assert_same(k(**values), got)


def test_readme_dask_backprop_example_gives_the_numpy_mean_gradient():
    _dask()
    pytest.importorskip("distributed", reason="dask.distributed is not installed")
    from test_readme import _blocks

    block = next(b for b in _blocks() if "sn.backprop(sn.mlp([2, 3, 2], \"relu\")" in b)
    ns: dict = {}
    exec(compile(block, "README.md backprop on Dask", "exec"), ns)
    x, t = ns["x"], ns["t"]
    assert x.numblocks[0] == 11 and x.shape[0] == 10_500
    want = ns["k"](x=x.compute(), t=t.compute(), W1=ns["W1"], W2=ns["W2"])
    assert_same(want, ns["grads"])


def test_the_shims_new_names_keep_numpys_values(lib):
    """heaviside (relu's derivative), logaddexp (softplus), broadcast_to (per-sample
    losses) on each library, against numpy itself, NaN included."""
    from array_api_compat import array_namespace

    from symnorm.kernels.backends.array_api import XPNumeric
    from symnorm.kernels.backends.registry import namespace
    from symnorm.kernels.backends.shim import NumpyNames

    a = np.array([-2.0, -0.0, 0.0, 3.0, np.nan, 800.0, -800.0])
    arr = to_lib(lib, a)
    xp = array_namespace(a) if lib == "numpy" else namespace(lib)
    names = NumpyNames(XPNumeric(xp, lib, arr.dtype, None))
    with np.errstate(invalid="ignore"):
        for h0 in (0.0, 0.5):
            np.testing.assert_array_equal(to_numpy(lib, names.heaviside(arr, h0)),
                                          np.heaviside(a, h0))
        np.testing.assert_allclose(to_numpy(lib, names.logaddexp(0.0, arr)),
                                   np.logaddexp(0.0, a), rtol=RTOL)
    got = to_numpy(lib, names.broadcast_to(arr[:1], (3,)))
    np.testing.assert_array_equal(got, np.full(3, -2.0))


# -- sn.train on the arrays of other libraries -----------------------------------------------

@pytest.mark.parametrize("name", ["jax", "torch", "cupy", "dask"])
def test_train_computes_with_the_library_of_the_data(name):
    if _skip_reason(name):
        pytest.skip(_skip_reason(name))
    if name == "jax":
        _jax_x64()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 2))
    T = (X[:, :1] > 0).astype(float)
    net = sn.mlp([2, 3, 1], bias=True, weight_decay=True)
    options = dict(eta=2.0, epochs=4, batch_size=20, lam=1e-3, progress=False)
    want = sn.train(net, X, T, **options)                     # numpy, the same shuffles
    got = sn.train(net, to_lib(name, X, chunks=7), to_lib(name, T, chunks=7), **options)
    np.testing.assert_allclose(got.losses, want.losses, rtol=RTOL)
    for n, p in got.params.items():
        # the parameters live with the data; Dask's gradients are computed each step
        assert isinstance(p, np.ndarray if name == "dask" else lib_type(name)), n
        np.testing.assert_allclose(to_numpy("numpy" if name == "dask" else name, p),
                                   want.params[n], rtol=RTOL, atol=RTOL)
    np.testing.assert_allclose(got.predict(to_lib(name, X)), want.predict(X), rtol=RTOL)
    full = sn.train(net, to_lib(name, X, chunks=7), to_lib(name, T, chunks=7),
                    **{**options, "batch_size": None, "epochs": 2})
    np.testing.assert_allclose(full.losses, sn.train(net, X, T, **{
        **options, "batch_size": None, "epochs": 2}).losses, rtol=RTOL)
    with pytest.raises(ShapeError, match=r"X must have shape \(samples, 2\)"):
        sn.train(net, to_lib(name, X[:, :1]), to_lib(name, T), **options)
