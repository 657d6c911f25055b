"""Kernels compiled with ``torch.compile``: ``backend="torch.compile"`` and a user's own.

The vector-norm gradient, prox, Hessian and min-norm subgradient families compile to one
graph (``fullgraph``) and give the numpy kernel's numbers and hand-written numpy
formulas' numbers at random points, kinks (0 at x = 0, ties of ‖·‖∞ split evenly, no NaN)
and entries of size 1e±200. Kernels with a host helper (SVD-based matrix norms, the group
lasso, ties of a max) compile with a graph break around it, and say so. The tests use the
``aot_eager`` or ``eager`` torch.compile backends (no C++ compiler needed, fast); the
inductor test is ``slow`` and is skipped when there is no C++ compiler. Shapes stay fixed
per kernel so dynamo does not recompile.
"""

from __future__ import annotations

import functools
import importlib.util
import shutil

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import symnorm as sn
from symnorm.kernels.backends import with_backend
from symnorm.kernels.backends.dispatch import compile_status
from symnorm.model.errors import ArgumentError, DomainError, UnsupportedExpressionError

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("torch") is None or
                       importlib.util.find_spec("array_api_compat") is None,
                       reason="torch is not installed (pip install 'symnorm[torch]')"),
    # importing inductor's pieces touches torch.jit.script_method
    pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated"),
]

AOT = {"backend": "aot_eager"}


def _t(a: np.ndarray):
    import torch

    return torch.asarray(np.asarray(a, dtype=np.float64))


def _compiled(k: sn.Kernel) -> dict:
    """How a torch.compile kernel called on one dtype and device was compiled."""
    entry, = compile_status(k)
    return entry


def _rows(rng: np.random.Generator, n: int = 5) -> np.ndarray:
    """Random rows, a zero row, rows of size 1e200 and 1e-200, a tie of the max."""
    return np.stack([rng.standard_normal(n), np.zeros(n), 1e200 * rng.standard_normal(n),
                     1e-200 * rng.standard_normal(n), [2.0, -2.0, 1.0, 0.0, 2.0][:n],
                     [0.0, 3e-310, 0.0, 0.0, 0.0][:n]])


def _hand_grad(x: np.ndarray, p: float) -> np.ndarray:
    """∇‖x‖_p by hand in numpy: rows scaled by their largest entry, 0 at x = 0."""
    a = np.abs(x)
    m = a.max(axis=-1, keepdims=True)
    safe = np.where(m > 0, m, 1.0)
    if p == np.inf:
        tie = (a == m) & (m > 0)
        return np.sign(x) * tie / np.maximum(tie.sum(axis=-1, keepdims=True), 1)
    if p == 1:
        return np.sign(x)
    s = a / safe
    norm = (s ** p).sum(axis=-1, keepdims=True) ** (1 / p)
    return np.sign(x) * (s / np.where(m > 0, norm, 1.0)) ** (p - 1) * (m > 0)


ORDERS = [1, 2, 3, sp.oo, "p"]


@pytest.mark.parametrize("p", ORDERS, ids=[str(p) for p in ORDERS])
def test_vector_norm_gradients_are_one_graph_with_numpy_numbers(p, rng):
    x = sn.vector("x")
    ps = sn.scalar("p", positive=True) if p == "p" else p
    k = sn.grad(sn.norm(x, ps), x).kernel()
    kc = with_backend(k, "torch.compile", AOT)
    u = _rows(rng)
    extra = (2.5,) if p == "p" else ()
    got = kc(_t(u), *(_t(e) for e in extra))
    assert _compiled(kc)["fullgraph"] is True and _compiled(kc)["graph_break"] is None
    got = got.numpy()
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, k(u, *extra), rtol=1e-13, atol=1e-300)
    q = 2.5 if p == "p" else float(p)
    np.testing.assert_allclose(got, _hand_grad(u, q), rtol=1e-12, atol=1e-300)
    assert (got[1] == 0).all()  # the minimum-norm subgradient at x = 0


@functools.cache
def _property_kernels(p: int) -> tuple:
    """The numpy kernel and its compiled twin, made once for every example."""
    x = sn.vector("x")
    k = sn.grad(sn.norm(x, p), x).kernel()
    return k, with_backend(k, "torch.compile", AOT)


_ENTRIES = st.one_of(st.floats(-1e3, 1e3), st.sampled_from([0.0, 1e200, -3e200, 1e-200,
                                                             -5e-310, 1e308, -1e-308]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(u=arrays(np.float64, (3, 4), elements=_ENTRIES), p=st.sampled_from([2, 3]))
def test_compiled_gradients_match_numpy_on_random_rows(u, p):
    """Any rows, extremes mixed in: the compiled kernel (one shape, compiled once) gives
    the numpy kernel's numbers, finite, 0 on zero rows."""
    k, kc = _property_kernels(p)
    got = kc(_t(u)).numpy()
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, k(u), rtol=1e-12, atol=1e-300)
    assert (got[~u.any(axis=-1)] == 0).all()


def test_order_below_its_range_is_refused_when_compiled(rng):
    x, p = sn.vector("x"), sn.scalar("p", positive=True)
    k = sn.grad(sn.norm(x, p), x).kernel()
    kc = with_backend(k, "torch.compile", AOT)
    u = _t(rng.standard_normal(4))
    with pytest.raises(DomainError) as compiled_err:
        kc(u, _t(0.5))
    with pytest.raises(DomainError) as eager_err:
        k(u.numpy(), 0.5)
    assert str(compiled_err.value) == str(eager_err.value)
    with pytest.raises(DomainError, match="p = nan"):
        kc(u, _t(np.nan))
    np.testing.assert_allclose(kc(u, _t(4.0)).numpy(), _hand_grad(u.numpy(), 4.0),
                               rtol=1e-13)
    assert _compiled(kc)["fullgraph"] is True


def test_soft_thresholding_is_one_graph_and_refuses_a_negative_threshold(rng):
    x, lam = sn.vector("x"), sn.scalar("lam", positive=True)
    k = sn.prox(lam * sn.norm(x, 1), x).kernel()
    kc = with_backend(k, "torch.compile", AOT)
    v = _rows(rng)
    lams = np.array([0.5, 0.0, 1e200, 1e-200, 2.0, 1.0])
    got = kc(_t(v), _t(lams)).numpy()
    assert _compiled(kc)["fullgraph"] is True
    hand = np.sign(v) * np.maximum(np.abs(v) - lams[:, None], 0.0)
    np.testing.assert_array_equal(got, hand)
    np.testing.assert_array_equal(got, k(v, lams))
    with pytest.raises(ValueError, match="the threshold lam must be >= 0"):
        kc(_t(v), _t(-lams))


def test_hessian_composite_and_min_norm_subgradient_are_one_graph(rng):
    x, A, b = sn.vector("x"), sn.matrix("A"), sn.vector("b", "m")
    u = rng.standard_normal((3, 4))
    # the Hessian of ||x||_2: (I - g g^T)/||x||_2, overflow-safe at 1e200
    kh = sn.hessian(sn.norm(x, 2), x).kernel()
    kc = with_backend(kh, "torch.compile", AOT)
    big = u * np.array([[1.0], [1e200], [1e-200]])
    got = kc(_t(big)).numpy()
    assert _compiled(kc)["fullgraph"] is True
    r = np.linalg.norm(u, axis=-1)
    g = u / r[:, None]
    hand = (np.eye(4) - g[:, :, None] * g[:, None, :]) / r[:, None, None]
    hand = hand / np.array([1.0, 1e200, 1e-200])[:, None, None]
    np.testing.assert_allclose(got, hand, rtol=1e-12)
    # grad ||A x - b||_2 = A^T r/||r||_2
    kd = sn.grad(sn.norm(A * x - b, 2), x).kernel()
    kc = with_backend(kd, "torch.compile", AOT)
    Am, bm = rng.standard_normal((3, 4)), rng.standard_normal(3)
    got = kc(x=_t(u[0]), A=_t(Am), b=_t(bm)).numpy()
    assert _compiled(kc)["fullgraph"] is True
    res = Am @ u[0] - bm
    np.testing.assert_allclose(got, Am.T @ res / np.linalg.norm(res), rtol=1e-12)
    # the minimum-norm subgradient of ||x||_oo at a tie, and at 0
    S = sn.subdiff(sn.norm(x, sp.oo), x)
    km = with_backend(S.min_norm_kernel(), "torch.compile", AOT)
    at = np.array([[2.0, -2.0, 1.0], [0.0, 0.0, 0.0]])
    got = km(_t(at)).numpy()
    assert _compiled(km)["fullgraph"] is True
    np.testing.assert_allclose(got[0], S.min_norm(at=at[0]), atol=1e-12)
    np.testing.assert_array_equal(got, [[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]])


def test_out_dtype_and_batch_when_compiled(rng):
    import torch

    x = sn.vector("x")
    k = with_backend(sn.grad(sn.norm(x, 2), x).kernel(), "torch.compile", AOT)
    u = torch.tensor([[3e200, 4e200], [0.0, 0.0]], dtype=torch.float64)
    out = torch.empty_like(u)
    assert k(u, out=out) is out
    np.testing.assert_allclose(out.numpy(), [[0.6, 0.8], [0.0, 0.0]], rtol=1e-15)
    u32 = torch.tensor([[3e20, 4e20], [0.0, 0.0]], dtype=torch.float32)
    got = k(u32)
    assert got.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), [[0.6, 0.8], [0.0, 0.0]], rtol=1e-6)
    with pytest.raises(ArgumentError, match="torch array"):
        k(u, out=np.empty((2, 2)))
    got = k(np.array([[3.0, 4.0], [0.0, 0.0]]))  # numpy in: computed and returned by torch
    assert isinstance(got, torch.Tensor)
    np.testing.assert_allclose(got.numpy(), [[0.6, 0.8], [0.0, 0.0]], rtol=1e-15)


def test_host_helpers_compile_with_a_graph_break_and_say_so(rng):
    """SVD-based matrix norms, the group lasso and ties of max/min run numpy on the host:
    compiled with a graph break around the host call, same numbers."""
    X, x = sn.matrix("X"), sn.vector("x")
    k = sn.grad(sn.norm(X, "nuc"), X).kernel()
    kc = with_backend(k, "torch.compile", {"backend": "eager"})
    m = rng.standard_normal((3, 4))
    got = kc(_t(m)).numpy()
    info = _compiled(kc)
    assert info["fullgraph"] is False
    assert "numpy helper on the host" in info["graph_break"]
    assert "mat_nuc_grad" in info["graph_break"]
    U, _, Vt = np.linalg.svd(m, full_matrices=False)
    np.testing.assert_allclose(got, U @ Vt, atol=1e-12)
    strict = with_backend(k, "torch.compile", {"backend": "eager", "fullgraph": True})
    with pytest.raises(UnsupportedExpressionError, match="cannot be one torch.compile graph"):
        strict(_t(m))
    # group lasso: block soft thresholding on the host
    import torch

    G, lam = sn.group_labels("G"), sn.scalar("lam", positive=True)
    kp = sn.prox(lam * sn.group_norm(x, G), x).kernel()
    kg = with_backend(kp, "torch.compile", {"backend": "eager"})
    v, labels = rng.standard_normal(6), np.array([0, 0, 1, 1, 1, 2])
    got = kg(v=_t(v), lam=_t(0.7), G=torch.asarray(labels)).numpy()
    assert _compiled(kg)["fullgraph"] is False
    assert "group_shrink" in _compiled(kg)["graph_break"]
    hand = np.empty(6)
    for g in range(3):
        block = v[labels == g]
        r = np.linalg.norm(block)
        hand[labels == g] = block * max(0.0, 1 - 0.7 / r)
    np.testing.assert_allclose(got, hand, rtol=1e-13)
    # max of two norms: at a tie the minimum-norm element of the hull of both gradients
    kmax = sn.grad(sp.Max(sn.norm(x, 1), sn.norm(x, 2)), x).kernel()
    kc = with_backend(kmax, "torch.compile", {"backend": "eager"})
    at = np.array([[1.0, 0.0, 0.0], [1.0, -2.0, 0.5]])
    got = kc(_t(at)).numpy()
    assert "active_gradient" in _compiled(kc)["graph_break"]
    np.testing.assert_allclose(got, [[1.0, 0.0, 0.0], [1.0, -1.0, 1.0]], atol=1e-15)


def test_a_kernel_traces_inside_a_users_fullgraph_compile(rng):
    import torch

    x = sn.vector("x")
    k3 = sn.grad(sn.norm(x, 3), x).kernel()
    kst = sn.prox(sn.scalar("lam", positive=True) * sn.norm(x, 1), x).kernel()
    u = _t(_rows(rng))
    k3(u)  # the first call builds the torch kernel (not traceable: exec of the source)
    kst(u, _t(0.5))
    out = torch.empty_like(u)

    def step(w: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        return kst(w - 0.1 * k3(w), 0.5, out=out) * 2.0

    got = torch.compile(step, fullgraph=True, backend="eager")(u, out)
    un = u.numpy()
    want = k3(un)
    want = kst(un - 0.1 * want, 0.5)
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(got.numpy(), 2 * want, rtol=1e-13, atol=1e-300)


def test_value_checks_inside_a_users_compile_are_runtime_asserts(rng):
    import torch

    x, p = sn.vector("x"), sn.scalar("p", positive=True)
    k = sn.grad(sn.norm(x, p), x).kernel()
    u = _t(rng.standard_normal(4))
    k(u, _t(3.0))
    step = torch.compile(lambda w, q: k(w, q), fullgraph=True, backend="aot_eager")
    np.testing.assert_allclose(step(u, _t(3.0)).numpy(), _hand_grad(u.numpy(), 3.0),
                               rtol=1e-13)
    with pytest.raises(RuntimeError, match="the order p of norm\\(x, p\\) is outside"):
        step(u, _t(0.5))


def test_compile_options_only_for_compiling_backends():
    x = sn.vector("x")
    k = sn.grad(sn.norm(x, 2), x).kernel()
    with pytest.raises(ArgumentError, match="compile_options are for the compiling"):
        with_backend(k, "torch", {"backend": "eager"})
    assert sn.grad(sn.norm(x, 2), x).kernel(backend="torch.compile").backend == \
        "torch.compile"
    with pytest.raises(UnsupportedExpressionError, match="torch.compile"):
        sn.grad(sn.norm(x, 2), x).kernel(backend="torch.jit")


def _cxx() -> str | None:
    return shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")


@pytest.mark.slow
@pytest.mark.skipif(_cxx() is None, reason="torch.compile's inductor backend needs a C++ "
                    "compiler on CPU (g++/clang++), none on PATH")
def test_inductor_compiles_the_l2_gradient(rng):
    x = sn.vector("x")
    k = sn.grad(sn.norm(x, 2), x).kernel(backend="torch.compile")  # inductor, fullgraph
    u = _rows(rng)
    got = k(_t(u)).numpy()
    assert _compiled(k)["fullgraph"] is True
    np.testing.assert_allclose(got, _hand_grad(u, 2.0), rtol=1e-12, atol=1e-300)


def test_a_missing_cxx_compiler_is_a_clear_error(rng, monkeypatch):
    import torch._inductor.config as inductor_config

    monkeypatch.setattr(inductor_config.cpp, "cxx", ("/nonexistent/g++",))
    monkeypatch.setattr(inductor_config, "fx_graph_cache", False)  # compile, not reuse
    x = sn.vector("x")
    k = sn.grad(sn.norm(x, 1), x).kernel(backend="torch.compile")
    with pytest.raises(UnsupportedExpressionError, match="needs a C\\+\\+ compiler"):
        k(_t(rng.standard_normal(3)))
