"""Scalar losses through normalisations, LayerNorm/RMSNorm against PyTorch autograd, and
backprop through networks with normalised layers.

References: hand-written numpy (closed forms from the literature and central
differences), and PyTorch's autograd when it is installed.
"""

from __future__ import annotations

import numpy as np
import pytest

import symnorm as sn
from symnorm.backprop import NetworkError
from symnorm.backprop.train import init_params
from symnorm.model.functions import Softmax

EPS = 1e-5


def fd_grad(f, x0: np.ndarray, h: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(x0)
    for idx in np.ndindex(x0.shape):
        e = np.zeros_like(x0)
        e[idx] = h
        g[idx] = (f(x0 + e) - f(x0 - e)) / (2 * h)
    return g


def np_ln(z: np.ndarray, eps: float = EPS) -> np.ndarray:
    return (z - z.mean(-1, keepdims=True)) / np.sqrt(z.var(-1, keepdims=True) + eps)


def np_rms(z: np.ndarray, eps: float = EPS) -> np.ndarray:
    return z / np.sqrt(np.mean(z * z, -1, keepdims=True) + eps)


def symbol(expr, name: str):
    return next(s for s in expr.free_symbols if getattr(s, "name", None) == name)


# -- item: scalar losses through the normalisations, with sn.grad --------------------------------

def test_cosine_similarity(rng: np.random.Generator) -> None:
    f = sn.parse("x.T*y/(norm(x, 2)*norm(y, 2))")
    x = symbol(f, "x")
    d = sn.grad(f, x)
    assert d.report.ok
    x0, y0 = rng.standard_normal(6), rng.standard_normal(6)
    nx, ny = np.linalg.norm(x0), np.linalg.norm(y0)
    ref = y0 / (nx * ny) - (x0 @ y0) * x0 / (nx**3 * ny)
    np.testing.assert_allclose(d.kernel()(x0, y0), ref, rtol=1e-12)


def test_weight_normalisation(rng: np.random.Generator) -> None:
    f = sn.parse("(g*v.T*x/norm(v, 2) - t)**2", g="scalar", t="scalar")
    v, g = symbol(f, "v"), symbol(f, "g")
    v0, x0, g0, t0 = rng.standard_normal(5), rng.standard_normal(5), 1.3, 0.2

    def loss(vv: np.ndarray, gg: float = g0) -> float:
        return (gg * vv @ x0 / np.linalg.norm(vv) - t0) ** 2

    dv, dg = sn.grad(f, v), sn.grad(f, g)
    assert dv.report.ok and dg.report.ok
    np.testing.assert_allclose(dv.kernel()(v0, g=g0, t=t0, x=x0), fd_grad(loss, v0),
                               rtol=1e-6)
    fd = (loss(v0, g0 + 1e-6) - loss(v0, g0 - 1e-6)) / 2e-6
    assert float(dg.kernel()(g0, t=t0, v=v0, x=x0)) == pytest.approx(fd, rel=1e-6)


def test_spectral_normalisation(rng: np.random.Generator) -> None:
    f = sn.parse("norm((W/norm(W, 2))*x - t, 2)**2")
    W = symbol(f, "W")
    d = sn.grad(f, W)
    assert d.report.ok
    W0, x0, t0 = rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(3)

    def loss(w: np.ndarray) -> float:
        r = w @ x0 / np.linalg.norm(w, 2) - t0
        return float(r @ r)

    np.testing.assert_allclose(d.kernel()(W0, t=t0, x=x0), fd_grad(loss, W0), rtol=1e-6)


@pytest.mark.parametrize("wrt", ["W", "x"])
def test_layer_norm_loss(wrt: str, rng: np.random.Generator) -> None:
    f = sn.parse("norm(layer_norm(W*x) - t, 2)**2")
    d = sn.grad(f, symbol(f, wrt))
    assert d.report.ok
    W0, x0, t0 = rng.standard_normal((6, 4)), rng.standard_normal(4), rng.standard_normal(6)

    def loss(w: np.ndarray, xx: np.ndarray) -> float:
        r = np_ln(w @ xx) - t0
        return float(r @ r)

    got = d.kernel()(**{"W": W0, "x": x0, "t": t0})
    ref = fd_grad(lambda w: loss(w, x0), W0) if wrt == "W" else \
        fd_grad(lambda xx: loss(W0, xx), x0)
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-8)


def test_gaussian_negative_log_likelihood(rng: np.random.Generator) -> None:
    f = sn.parse("(x - mu).T*inv(S)*(x - mu)/2 + logdet(S)/2", mu="vector", S="spd")
    mu, S = symbol(f, "mu"), symbol(f, "S")
    dmu, dS = sn.grad(f, mu), sn.grad(f, S)
    assert dmu.report.ok and dS.report.ok
    r = rng.standard_normal((4, 4))
    S0, m0, x0 = r @ r.T + np.eye(4), rng.standard_normal(4), rng.standard_normal(4)
    Si, dd = np.linalg.inv(S0), x0 - m0
    np.testing.assert_allclose(dmu.kernel()(m0, S=S0, x=x0), -Si @ dd, rtol=1e-12)
    np.testing.assert_allclose(dS.kernel()(S0, mu=m0, x=x0),
                               Si / 2 - np.outer(Si @ dd, Si @ dd) / 2, rtol=1e-12)


# -- LayerNorm and RMSNorm against PyTorch's autograd ---------------------------------------------

def test_layer_norm_and_rms_norm_against_torch(rng: np.random.Generator) -> None:
    torch = pytest.importorskip("torch")
    x = sn.vector("x")
    X, G = rng.standard_normal((8, 33)), rng.standard_normal((8, 33))
    for F, fn in [(sn.layer_norm(x), lambda t: torch.nn.functional.layer_norm(t, (33,))),
                  (sn.rms_norm(x), lambda t: t * torch.rsqrt(t.pow(2).mean(-1, True) + EPS))]:
        xt = torch.tensor(X, requires_grad=True)
        y = fn(xt)
        y.backward(torch.tensor(G))
        d = sn.jacobian(F, x)
        np.testing.assert_allclose(sn.kernel(F, [x])(X), y.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)
        np.testing.assert_allclose(d.vjp_kernel()(X, G), xt.grad.numpy(), rtol=1e-9,
                                   atol=1e-11)
        for backend in ("numba", "torch"):
            np.testing.assert_allclose(d.vjp_kernel(backend=backend)(X, G),
                                       xt.grad.numpy(), rtol=1e-9, atol=1e-11)


def test_layer_norm_vjp_always_against_finite_differences(rng: np.random.Generator) -> None:
    x = sn.vector("x")
    for F, ref in [(sn.layer_norm(x, 1e-3), lambda z: np_ln(z, 1e-3)),
                   (sn.rms_norm(x, 1e-3), lambda z: np_rms(z, 1e-3))]:
        d = sn.jacobian(F, x)
        x0, g0 = rng.standard_normal(7), rng.standard_normal(7)
        np.testing.assert_allclose(d.vjp_kernel()(x0, g0), fd_grad(lambda z: ref(z) @ g0, x0),
                                   rtol=1e-6, atol=1e-9)


# -- networks with normalised layers ------------------------------------------------------------

def hand_forward(params: dict, X: np.ndarray, norm: str) -> np.ndarray:
    """Rows of X through a tanh network whose hidden layers are normalised."""
    h = X
    layers = sorted({int(k[1:]) for k in params if k.startswith("W")})
    for i in layers:
        a = h @ params[f"W{i}"].T + params.get(f"b{i}", 0.0)
        if f"g{i}" in params:
            ahat = np_ln(a) if norm == "layer" else np_rms(a)
            a = params[f"g{i}"] * ahat + params.get(f"beta{i}", 0.0)
        h = np.tanh(a)
    return h


@pytest.mark.parametrize("norm", ["layer", "rms"])
def test_backprop_deltas_read_as_the_papers(norm: str) -> None:
    bp = sn.backprop(sn.mlp([3, 4, 2], "tanh", norm=norm))
    assert bp.report.ok
    text = sn.to_text(bp.deltas[1])
    if norm == "layer":
        assert text == "(ghat1 - mean(ghat1 .* ahat1)*ahat1 - mean(ghat1)*1)/sigma1"
    else:
        assert text == "(ghat1 - mean(ghat1 .* ahat1)*ahat1)/sigma1"
    names = [sn.to_text(s) for s, _ in bp.backward]
    assert names == ["delta2", "deltaz1", "ghat1", "delta1"]
    assert sn.to_text(dict(bp.backward)[bp.backward[2][0]]) == "g1 .* deltaz1"
    assert sn.to_text(bp.grads["g1"]) == "deltaz1 .* ahat1"
    forward = {sn.to_text(s): sn.to_text(e) for s, e in bp.forward}
    if norm == "layer":
        assert forward["sigma1"] == "sqrt(var(a1) + 1e-5)"
        assert forward["ahat1"] == "(a1 - mean(a1)*1)/sigma1"
        assert sn.to_text(bp.grads["beta1"]) == "deltaz1"
    else:
        assert forward["sigma1"] == "sqrt(mean(a1 .* a1) + 1e-5)"
        assert "beta1" not in [p.name for p in bp.params]
    tex = bp.latex()
    assert r"\delta^{z}_{1}" in tex and r"\hat{g}_{1}" in tex and r"\hat{a}_{1}" in tex
    index = bp.components("W1").text()
    assert "sum(" in index and "ghat1[k]" in index and "sigma1" in index
    rule = next(r for r in bp.update_rules() if r.param.name == "g1")
    assert rule.text() == ("g1 <- g1 - eta*(deltaz1 .* ahat1)    "
                           "g1[j] <- g1[j] - eta*(deltaz1[j]*ahat1[j])")


@pytest.mark.parametrize("norm", ["layer", "rms"])
def test_backprop_kernel_against_central_differences(norm: str,
                                                     rng: np.random.Generator) -> None:
    net = sn.mlp([3, 5, 4, 2], "tanh", norm=norm, bias=True)
    bp = sn.backprop(net)
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in init_params(net).items()}
    X, T = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    got = bp.kernel(reduce="sum")(x=X, t=T, **params)

    def loss(p: dict) -> float:
        return float(0.5 * np.sum((hand_forward(p, X, norm) - T) ** 2))

    assert got["loss"] == pytest.approx(loss(params), rel=1e-12)
    for name, value in params.items():
        def shifted(v: np.ndarray, name: str = name) -> float:
            return loss({**params, name: v})

        np.testing.assert_allclose(got[name], fd_grad(shifted, value), rtol=1e-5,
                                   atol=1e-8, err_msg=name)


def test_backprop_against_torch(rng: np.random.Generator) -> None:
    torch = pytest.importorskip("torch")
    net = sn.mlp([4, 6, 3], "relu", norm="layer", bias=True)
    bp = sn.backprop(net)
    params = {k: v + 0.2 * rng.standard_normal(v.shape) for k, v in init_params(net).items()}
    X, T = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    got = bp.kernel()(x=X, t=T, **params)
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    a1 = torch.tensor(X) @ tp["W1"].T + tp["b1"]
    z1 = torch.nn.functional.layer_norm(a1, (6,), tp["g1"], tp["beta1"], eps=EPS)
    y = torch.relu(torch.relu(z1) @ tp["W2"].T + tp["b2"])
    loss = (0.5 * ((y - torch.tensor(T)) ** 2).sum(-1)).mean()
    loss.backward()
    assert got["loss"] == pytest.approx(float(loss.detach()), rel=1e-12)
    for k, v in tp.items():
        np.testing.assert_allclose(got[k], v.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=k)


def test_a_normalised_network_trains(rng: np.random.Generator) -> None:
    net = sn.mlp([2, 8, 1], "tanh", norm="layer", bias=True)
    X = rng.standard_normal((64, 2))
    T = np.tanh(X[:, :1] * X[:, 1:])
    result = sn.train(net, X, T, eta=0.2, epochs=60, progress=False)
    assert result.losses[-1] < 0.5 * result.losses[0]
    assert result.predict(X).shape == (64, 1)


def test_mlp_norm_options_and_errors() -> None:
    net = sn.mlp([3, 4, 4, 2], norm=["rms", None, "layer"], eps=1e-3)
    assert [la.norm.kind if la.norm else None for la in net.layers] == ["rms", None, "layer"]
    assert "layer_norm(W3*" in sn.to_text(net.output) and "rms_norm(W1*x, 1e-3)" in \
        sn.to_text(net.output)
    assert "layer/rms norm" in repr(net)
    with pytest.raises(NetworkError, match="unknown normalisation 'batch'"):
        sn.mlp([3, 4, 2], norm="batch")
    with pytest.raises(NetworkError, match="2 layer\\(s\\) need 2 entries"):
        sn.mlp([3, 4, 2], norm=["layer"])


@pytest.mark.parametrize("backend", [None, "numba"])
@pytest.mark.parametrize("make", [lambda x: sn.layer_norm(x), lambda x: sn.rms_norm(x, 0),
                                  lambda x: sn.softmax(x)], ids=["layer", "rms", "softmax"])
def test_value_and_vjp_in_one_call(make, backend: str | None,
                                   rng: np.random.Generator) -> None:
    x = sn.vector("x")
    F = make(x)
    d = sn.jacobian(F, x)
    k = d.value_and_vjp_kernel(backend=backend)
    assert (k.fused is not None) == (not isinstance(F, Softmax))  # no one-pass helper
    X, G = rng.standard_normal((5, 9)), rng.standard_normal((5, 9))
    y, dx = k(X, G)
    np.testing.assert_allclose(y, sn.kernel(F, [x])(X), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(dx, d.vjp_kernel()(X, G), rtol=1e-12, atol=1e-14)
    Y, D = np.empty_like(X), np.empty_like(X)
    res = k(x=X, v=G, out=(Y, D))
    assert res[0] is Y and res[1] is D
    np.testing.assert_allclose(D, dx, rtol=1e-13)
    # not plain float arrays of one shape: the two validated kernels, the same numbers
    y1, dx1 = k(X[0].tolist(), G[0])
    np.testing.assert_allclose(dx1, dx[0], rtol=1e-12)
    with pytest.raises(sn.ArgumentError, match="unknown"):
        k(X, w=G)
    with pytest.raises(sn.ArgumentError, match="pair"):
        k(X, G, out=Y)
    with pytest.raises(sn.ShapeError):
        k(X, G[:, :4])
