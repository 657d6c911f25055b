"""Backpropagation: networks, deltas, index forms, update rules, the fused kernel, training.

Symbolic results are compared exactly with the reference 2-3-2 derivation; numbers with
hand-written numpy forward passes and central differences (independent of symnorm).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sympy import HadamardProduct, OneMatrix

import symnorm as sn
from symnorm.backprop import KernelArgumentError, NetworkError
from symnorm.cli import main
from symnorm.model.atoms import ELEMENTWISE_BY_NAME, Relu
from symnorm.model.errors import CheckFailedError, ShapeError
from symnorm.rules import ELEMENTWISE

# -- hand-written numpy reference -----------------------------------------------------------

ACT = {
    "sigmoid": (lambda a: 1 / (1 + np.exp(-a))),
    "tanh": np.tanh,
    "relu": (lambda a: np.maximum(a, 0)),
    "softplus": (lambda a: np.log1p(np.exp(a))),
    "identity": (lambda a: a),
}
LOSS = {
    "l2sq": (None, lambda r: 0.5 * np.sum(r * r)),
    "l2": (lambda y, t: sn.norm(y - t, 2), lambda r: np.sqrt(np.sum(r * r))),
    "l1": (lambda y, t: sn.norm(y - t, 1), lambda r: np.sum(np.abs(r))),
}


def hand_loss(params: dict, x: np.ndarray, t: np.ndarray, acts: list[str], loss: str,
              lam: float = 0.0) -> float:
    h = x
    for i, act in enumerate(acts, start=1):
        a = params[f"W{i}"] @ h + params.get(f"b{i}", 0.0)
        h = ACT[act](a)
    decay = lam * sum(np.sum(params[f"W{i}"] ** 2) for i in range(1, len(acts) + 1))
    return float(LOSS[loss][1](h - t) + decay)


def random_params(net: sn.Network, rng: np.random.Generator) -> dict:
    out = {}
    for layer in net.layers:
        n_out, n_in = (int(d) for d in layer.W.shape)
        out[layer.W.name] = rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)
        if layer.b is not None:
            out[layer.b.name] = 0.3 * rng.standard_normal(n_out)
    return out


# -- the reference 2-3-2 network -------------------------------------------------------------

@pytest.fixture(scope="module")
def ref():
    net = sn.mlp([2, 3, 2])
    return net, sn.backprop(net)


def _explicit(e):
    return sp.Matrix(e.as_explicit())


def test_network_names_and_shapes(ref):
    net, _ = ref
    assert [p.name for p in net.params] == ["W1", "W2"]
    assert net.layers[0].W.shape == (3, 2) and net.layers[1].W.shape == (2, 3)
    assert [n.name for n, _ in net.forward()] == ["a1", "h1", "a2", "y"]
    assert sn.to_text(net.loss) == "norm(sigmoid(W2*sigmoid(W1*x)) - t, 2)**2/2"


def test_deltas_exactly_as_the_reference(ref):
    net, bp = ref
    y, t, h1 = net.y, net.t, net.layers[0].h
    W2, d2 = net.layers[1].W, bp.delta_symbols[2]
    one2, one3 = OneMatrix(2, 1), OneMatrix(3, 1)
    assert sn.to_text(bp.deltas[2]) == "(y - t) .* y .* (1 - y)"
    assert sn.to_text(bp.deltas[1]) == "(W2.T*delta2) .* h1 .* (1 - h1)"
    ref_out = HadamardProduct(y - t, y, one2 - y)
    ref_hid = HadamardProduct(W2.T * d2, h1, one3 - h1)
    assert _explicit(bp.deltas[2]) == _explicit(ref_out)
    assert sp.expand(_explicit(bp.deltas[1]) - _explicit(ref_hid)) == sp.zeros(3, 1)
    assert sn.latex(bp.deltas[2]) == r"\left(y - t\right) \odot y \odot \left(1 - y\right)"


def test_gradients_exactly_as_the_reference(ref):
    net, bp = ref
    assert bp.grads["W2"] == bp.delta_symbols[2] * net.layers[0].h.T
    assert bp.grads["W1"] == bp.delta_symbols[1] * net.x.T
    assert sn.to_text(bp.expanded("W2")) == "((y - t) .* y .* (1 - y))*h1.T"


def test_index_forms_exactly_as_the_reference(ref):
    _, bp = ref
    i, j, k = (sp.Symbol(s, integer=True, positive=True) for s in "ijk")
    y, t, h, x = (sp.IndexedBase(n, real=True) for n in ("y", "t", "h1", "x"))
    u, delta = sp.IndexedBase("W2", real=True), sp.IndexedBase("delta2", real=True)
    out = bp.components("W2")
    assert out.entry == sp.IndexedBase("W2", real=True)[k, j]
    assert out.expr == (y[k] - t[k]) * y[k] * (1 - y[k]) * h[j]
    assert out.value.factors == [y[k] - t[k], y[k], 1 - y[k], h[j]]  # written order
    hid = bp.components("W1")
    assert hid.entry == sp.IndexedBase("W1", real=True)[j, i]
    assert hid.expr == sp.Sum(delta[k] * u[k, j], (k, 1, 2)) * h[j] * (1 - h[j]) * x[i]
    assert "\\sum_{k=1}^{2}" in hid.latex()


def test_update_rules(ref):
    _, bp = ref
    rules = bp.update_rules()
    assert [r.param.name for r in rules] == ["W1", "W2"]
    assert sn.to_text(rules[1].matrix) == "W2 - eta*delta2*h1.T"
    assert r"W_{2} \leftarrow W_{2} - \eta \delta_{2} h_{1}^\top" in rules[1].latex()
    assert "W2[k, j] <- W2[k, j] - eta*((y[k] - t[k])*y[k]*(1 - y[k])*h1[j])" in rules[1].text()
    lr = sp.Symbol("alpha", positive=True)
    assert sn.to_text(bp.update_rules(lr)[0].matrix) == "W1 - alpha*delta1*x.T"


def test_steps_forward_then_backward_with_named_intermediates(ref):
    _, bp = ref
    text = bp.text()
    lines = text.splitlines()
    assert lines[0].startswith("a1 = W1*x") and lines[3].startswith("y = sigmoid(a2)")
    assert lines.index(next(s for s in lines if s.startswith("delta2"))) < lines.index(
        next(s for s in lines if s.startswith("delta1")))
    assert "sigmoid(W2" not in text  # never the nested expression
    tex = bp._repr_latex_()
    assert tex.startswith("$$\\begin{gathered}\n\\begin{aligned}") and r"\delta_{2}" in tex
    assert bp.report is not None and bp.report.ok


def test_grad_of_network_loss_still_works(ref):
    net, bp = ref
    d = sn.grad(net.loss, net.layers[0].W)
    rng = np.random.default_rng(1)
    p = random_params(net, rng)
    x, t = rng.standard_normal(2), rng.standard_normal(2)
    got = d.kernel([net.layers[0].W, net.layers[1].W, net.x, net.t])(p["W1"], p["W2"], x, t)
    fused = bp.kernel()(x=x, t=t, **p)
    np.testing.assert_allclose(got, fused["W1"], rtol=1e-12, atol=1e-14)


# -- activations ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "softplus", "identity"])
def test_activation_derivative(name):
    cls = ELEMENTWISE_BY_NAME[name]
    u = sn.vector("u", 1)
    d = ELEMENTWISE[name].derivative(u)
    v = sp.Symbol("v", real=True)
    f = cls(u).scalar_func(v)
    for value in (-2.5, -0.3, 0.7, 3.0):
        entry = sp.Matrix(d.as_explicit())[0, 0].xreplace({u[0, 0]: value}) if not isinstance(
            d, OneMatrix) else 1
        exact = sp.diff(f, v).subs(v, value)
        assert abs(float(entry.doit() if hasattr(entry, "doit") else entry) - float(exact)) \
            < 1e-12, name
    # the numpy forms agree with the scalar function and stay finite
    k = sn.kernel(cls(sn.vector("u")), [sn.vector("u")])
    xs = np.array([-800.0, -3.0, 0.0, 2.0, 800.0])
    got = k(xs)
    assert np.all(np.isfinite(got))
    for xv, gv in zip(xs[1:4], got[1:4]):
        assert abs(float(f.subs(v, xv)) - gv) < 1e-12


def test_relu_subgradient_at_exactly_zero_is_zero_never_nan():
    net = sn.mlp([2, 3, 1], "relu", bias=True)
    k = sn.backprop(net).kernel()
    out = k(x=np.array([1.0, -2.0]), t=np.array([0.5]), W1=np.zeros((3, 2)), b1=np.zeros(3),
            W2=np.ones((1, 3)), b2=np.zeros(1))
    for name, g in out.items():
        assert np.all(np.isfinite(g)), name
    np.testing.assert_array_equal(out["W1"], 0.0)   # relu'(0) = 0: nothing flows back
    np.testing.assert_array_equal(out["b1"], 0.0)
    u = sn.vector("u")
    g = sn.grad(sn.norm(Relu(u), 2) ** 2 / 2, u).kernel()(np.zeros(4))
    np.testing.assert_array_equal(g, 0.0)


# -- gradients of random networks against central differences --------------------------------

@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(depth=st.integers(1, 4), data=st.data())
def test_random_networks_against_central_differences(depth, data):
    sizes = data.draw(st.lists(st.integers(1, 4), min_size=depth + 1, max_size=depth + 1))
    acts = data.draw(st.lists(st.sampled_from(["tanh", "relu", "sigmoid", "softplus"]),
                              min_size=depth, max_size=depth))
    bias = data.draw(st.booleans())
    loss = data.draw(st.sampled_from(sorted(LOSS)))
    lam = data.draw(st.sampled_from([None, 0.1]))
    seed = data.draw(st.integers(0, 2**16))
    net = sn.mlp(sizes, acts, loss=LOSS[loss][0], bias=bias, weight_decay=lam)
    bp = sn.backprop(net, check=False)
    k = bp.kernel()
    rng = np.random.default_rng(seed)
    p = random_params(net, rng)
    x, t = rng.standard_normal(sizes[0]), rng.standard_normal(sizes[-1])
    out = k(x=x, t=t, **p)
    base = hand_loss(p, x, t, acts, loss, lam or 0.0)
    assert abs(float(out["loss"]) - base) <= 1e-12 * max(1.0, abs(base))
    h = 1e-6
    for name, value in p.items():
        d = rng.standard_normal(value.shape)
        plus = dict(p, **{name: value + h * d})
        minus = dict(p, **{name: value - h * d})
        fd = (hand_loss(plus, x, t, acts, loss, lam or 0.0)
              - hand_loss(minus, x, t, acts, loss, lam or 0.0)) / (2 * h)
        an = float(np.sum(out[name] * d))
        assert abs(fd - an) <= 1e-6 * max(1.0, abs(fd)), (name, sizes, acts, loss, fd, an)


@pytest.mark.parametrize("loss", sorted(LOSS))
def test_default_check_runs_for_each_loss(loss):
    bp = sn.backprop(sn.mlp([3, 4, 2], "tanh", loss=LOSS[loss][0], bias=True))
    assert bp.report.ok and set(bp.report.errors) == {"W1", "b1", "W2", "b2", "loss"}


def test_check_failure_raises_naming_the_parameter():
    bp = sn.backprop(sn.mlp([2, 3, 2]), check=False)
    bp.grads[bp.params[0]] = 2 * bp.grads[bp.params[0]]  # a wrong gradient
    bp._kernels.clear()
    report = bp.check()
    assert not report.ok and "W1" in report.failure
    from symnorm.backprop.check import ensure

    with pytest.raises(CheckFailedError, match="W1"):
        ensure(bp)


# -- weight decay --------------------------------------------------------------------------

def test_weight_decay_adds_two_lambda_w():
    net = sn.mlp([2, 3, 2], weight_decay="lam")
    bp = sn.backprop(net)
    assert sn.to_text(bp.grads["W1"]) == "2*lam*W1 + delta1*x.T"
    assert sn.to_text(bp.grads["W2"]) == "2*lam*W2 + delta2*h1.T"
    assert r"\left\lVert W_{1} \right\rVert_{F}^{2}" in sn.latex(net.loss)
    rng = np.random.default_rng(3)
    p = random_params(net, rng)
    x, t = rng.standard_normal(2), rng.standard_normal(2)
    k = bp.kernel()
    g0, g1 = k(x=x, t=t, lam=0.0, **p), k(x=x, t=t, lam=0.25, **p)
    np.testing.assert_allclose(g1["W1"] - g0["W1"], 2 * 0.25 * p["W1"], atol=1e-14)
    # the ordinary engine sees the same term
    g = sn.grad(net.loss, net.layers[1].W)
    assert g.report.ok


def test_weight_decay_number_is_exact():
    bp = sn.backprop(sn.mlp([2, 2], weight_decay=0.01))
    assert sn.to_text(bp.grads["W1"]) == "W1/50 + delta1*x.T"


# -- the fused kernel ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def biased():
    net = sn.mlp([3, 5, 2], ["tanh", "sigmoid"], bias=True, weight_decay="lam")
    bp = sn.backprop(net)
    rng = np.random.default_rng(7)
    p = random_params(net, rng)
    X, T = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    return bp, p, X, T


def test_batched_kernel_is_the_mean_of_per_sample_kernels(biased):
    bp, p, X, T = biased
    mean = bp.kernel()(x=X, t=T, lam=0.3, **p)
    singles = [bp.kernel()(x=X[i], t=T[i], lam=0.3, **p) for i in range(len(X))]
    per = bp.kernel(reduce=None)(x=X, t=T, lam=0.3, **p)
    total = bp.kernel(reduce="sum")(x=X, t=T, lam=0.3, **p)
    for name in mean:
        stacked = np.stack([np.asarray(s[name]) for s in singles])
        np.testing.assert_allclose(mean[name], stacked.mean(axis=0), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(per[name], stacked, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(total[name], stacked.sum(axis=0), rtol=1e-12, atol=1e-14)
    assert per["W1"].shape == (6, 5, 3) and per["loss"].shape == (6,)


def test_kernel_computes_the_forward_pass_once(biased):
    bp, *_ = biased
    src = bp.kernel().source
    assert src.count("@ W1.T") == 1 and src.count("@ W2.T") == 1
    assert src.count("tanh") == 1 and src.count("sigmoid") == 1


@pytest.mark.parametrize("batch", [1, 3, 8, 40])  # below, at and above n_in = 8, n_hid = 5
def test_mean_weight_gradients_divide_the_smaller_array(batch):
    # the 1/B of a mean weight gradient falls on the deltas when B < n, else on the
    # product, in place: both branches give the hand-written numpy gradient
    net = sn.mlp([8, 5, 3], "sigmoid")
    k = sn.backprop(net, check=False).kernel()
    assert k.source.count("if _B < ") == 2 and k.source.count(" /= _B") == 2
    rng = np.random.default_rng(batch)
    x, t = rng.standard_normal((batch, 8)), rng.uniform(0, 1, (batch, 3))
    W1, W2 = rng.standard_normal((5, 8)), rng.standard_normal((3, 5))
    h1 = 1 / (1 + np.exp(-x @ W1.T))
    y = 1 / (1 + np.exp(-h1 @ W2.T))
    d2 = (y - t) * y * (1 - y)
    d1 = (d2 @ W2) * h1 * (1 - h1)
    got = k(x=x, t=t, W1=W1, W2=W2)
    np.testing.assert_allclose(got["W1"], d1.T @ x / batch, rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(got["W2"], d2.T @ h1 / batch, rtol=1e-13, atol=1e-16)


def _statements(source: str) -> list[str]:
    """The kernel body's statements, each with its indented block."""
    out: list[str] = []
    for line in source.splitlines()[1:]:
        if line.startswith("     ") or line.startswith("    else:"):
            out[-1] += "\n" + line
        else:
            out.append(line)
    return out


@pytest.mark.parametrize("reduce", ["mean", "sum", None])
def test_kernel_releases_every_intermediate_after_its_last_use(biased, reduce):
    import re

    bp, p, X, T = biased
    k = bp.kernel(reduce=reduce)
    statements = _statements(k.source)
    names = re.compile(r"\b(_t\d+|v_\w+)\b")
    returned = set(names.findall("\n".join(s for s in statements if "return" in s
                                             or s.strip().startswith("_out ="))))
    released = {}
    for i, s in enumerate(statements):
        if s.strip().startswith("del "):
            for n in s.strip()[4:].split(", "):
                assert n not in released, f"{n} released twice"
                released[n] = i
    for i, s in enumerate(statements):
        for n in names.findall(s) if not s.strip().startswith("del ") else []:
            assert n not in released or released[n] > i, f"{n} used after its del"
    for s in statements:  # a name bound to a result is that result
        bound = re.fullmatch(r"\s*(\w+) = (\w+)", s)
        if bound and bound.group(1) in returned:
            returned.add(bound.group(2))
    arrays = {m.group(1) for s in statements  # products and activations are arrays
              if (m := re.match(r"\s*(_t\d+) = .*(@|sigmoid|tanh)", s))}
    aliases = {m.group(1) for s in statements if (m := re.fullmatch(r"\s*(v_\w+) = (_t\d+)", s))
               and m.group(2) in arrays}
    assert arrays | aliases
    assert (arrays | aliases) - returned <= set(released)  # every array is released
    assert not set(released) & returned                    # no result is
    got = k(x=X, t=T, lam=0.3, **p)  # and the kernel still runs
    assert set(got) == {"W1", "b1", "W2", "b2", "loss"}


def test_release_dead_releases_bound_names_together():
    from symnorm.backprop.emitter import release_dead

    lines = ["_t0 = x @ W.T", "v_a = _t0", "_t1 = f(v_a)", "if _B < 3:", "    _t2 = _t1 / 2",
             "else:", "    _t2 = _t1", "    _t2 /= 2", "_t3 = _t2 + v_b"]
    assert release_dead(lines, {"_t3"}) == [
        "_t0 = x @ W.T", "v_a = _t0", "_t1 = f(v_a)", "del _t0, v_a", "if _B < 3:",
        "    _t2 = _t1 / 2", "else:", "    _t2 = _t1", "    _t2 /= 2", "del _t1",
        "_t3 = _t2 + v_b", "del _t2, v_b"]


def test_kernel_refuses_positional_calls(biased):
    bp, p, X, T = biased
    with pytest.raises(KernelArgumentError, match=r"keyword arguments only.*k\(x=\.\.\., t="):
        bp.kernel()(X, T, p["W1"], p["b1"], p["W2"], p["b2"], 0.1)


def test_kernel_names_missing_and_misspelt_arguments(biased):
    bp, p, X, T = biased
    k = bp.kernel()
    with pytest.raises(KernelArgumentError, match="missing argument.*lam"):
        k(x=X, t=T, **p)
    bad = dict(p)
    bad["w1"] = bad.pop("W1")
    with pytest.raises(KernelArgumentError, match="unknown argument 'w1'.*did you mean 'W1'"):
        k(x=X, t=T, lam=0.1, **bad)


def test_kernel_names_wrong_shapes(biased):
    bp, p, X, T = biased
    k = bp.kernel()
    with pytest.raises(ShapeError, match=r"argument W1 must have shape \(5, 3\).*\(3, 5\)"):
        k(x=X, t=T, lam=0.1, **dict(p, W1=p["W1"].T))
    with pytest.raises(ShapeError, match="argument t .*same batch as x"):
        k(x=X, t=T[:4], lam=0.1, **p)
    with pytest.raises(ShapeError, match=r"argument x must have shape \(B, 3\)"):
        k(x=X[:, :2], t=T, lam=0.1, **p)
    with pytest.raises(ShapeError, match="argument lam must have shape a scalar"):
        k(x=X, t=T, lam=np.ones(2), **p)
    with pytest.raises(ShapeError, match="argument b1 must have shape"):
        k(x=X, t=T, lam=0.1, **dict(p, b1=np.ones((5, 1))))


def test_kernel_accepts_lists_and_ints(biased):
    bp, p, X, T = biased
    k = bp.kernel()
    a = k(x=X.tolist(), t=T, lam=1, **{n: v.tolist() for n, v in p.items()})
    b = k(x=X, t=T, lam=1.0, **p)
    np.testing.assert_allclose(a["W1"], b["W1"])


def test_kernel_reduce_validated(biased):
    bp, *_ = biased
    with pytest.raises(ValueError, match="reduce"):
        bp.kernel(reduce="max")


# -- any loss and parameters -----------------------------------------------------------------

def test_backprop_of_any_loss():
    A, x, b = sn.matrix("A"), sn.vector("x"), sn.vector("b", "m")
    bp = sn.backprop(sn.norm(A * x - b, 2), [x])
    assert bp.report.ok
    assert sn.to_text(bp.grads["x"]) == "A.T*(A*x - b)/norm(A*x - b, 2)"
    rng = np.random.default_rng(0)
    Av, xv, B = rng.standard_normal((4, 3)), rng.standard_normal(3), rng.standard_normal((5, 4))
    out = bp.kernel()(A=Av, x=xv, b=B)
    r = xv @ Av.T - B
    want = np.mean((r @ Av) / np.linalg.norm(r, axis=1)[:, None], axis=0)
    np.testing.assert_allclose(out["x"], want, rtol=1e-12)
    with pytest.raises(TypeError, match="name the parameters"):
        sn.backprop(sn.norm(x, 2))


# -- errors when building networks ----------------------------------------------------------

@pytest.mark.parametrize("kwargs, match", [
    ({"sizes": [2]}, "at least two"),
    ({"sizes": [2, 0]}, "positive"),
    ({"sizes": [2, 3], "activation": "swish"}, "unknown activation 'swish'.*relu"),
    ({"sizes": [2, 3, 1], "activation": ["relu"]}, "2 layer"),
    ({"sizes": [2, 3], "weight_decay": -1}, ">= 0"),
    ({"sizes": [2, 3], "loss": lambda y, t: y - t}, "must be a scalar"),
])
def test_network_errors(kwargs, match):
    with pytest.raises((NetworkError, ShapeError), match=match):
        sn.mlp(**kwargs)


# -- training --------------------------------------------------------------------------------

def test_train_reduces_the_loss_and_returns_parameters():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 2))
    T = (X[:, 0] * X[:, 1] > 0).astype(float)[:, None]  # XOR-like: not linearly separable
    net = sn.mlp([2, 4, 1], "tanh", bias=True, weight_decay="lam")
    r = sn.train(net, X, T, eta=0.5, epochs=150, batch_size=16, lam=1e-4, progress=False)
    assert len(r.losses) == 150 and r.losses[-1] < 0.5 * r.losses[0]
    assert set(r.params) == {"W1", "b1", "W2", "b2"}
    assert r.predict(X).shape == (64, 1)
    with pytest.raises(KernelArgumentError, match="lam"):
        sn.train(net, X, T, epochs=1)
    with pytest.raises(ShapeError, match="X must have shape"):
        sn.train(sn.backprop(net), X[:, :1], T, epochs=1, lam=0.0)


# -- CLI -------------------------------------------------------------------------------------

def test_cli_backprop_text(capsys):
    assert main(["backprop", "--sizes", "2,3,2", "--activation", "sigmoid"]) == 0
    out = capsys.readouterr().out
    assert "delta2 = dL/da2 = (y - t) .* y .* (1 - y)" in out
    assert "dL/dW2[k, j] = (y[k] - t[k])*y[k]*(1 - y[k])*h1[j]" in out
    assert "W1 <- W1 - eta*delta1*x.T" in out and "check: OK" in out


def test_cli_backprop_json_and_latex(capsys):
    assert main(["backprop", "--sizes", "2,3,1", "--activation", "relu,identity", "--bias",
                 "--weight-decay", "lam", "--loss", "l1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["params"] == ["W1", "b1", "W2", "b2"] and data["check"]["ok"]
    assert [d["name"] for d in data["deltas"]] == ["delta2", "delta1"]
    assert data["grads"][0]["value"] == "2*lam*W1 + delta1*x.T"
    assert main(["backprop", "--sizes", "2,3,2", "--latex"]) == 0
    assert r"\delta_{2} = \frac{\partial L}{\partial a_{2}}" in capsys.readouterr().out


@pytest.mark.parametrize("argv, match", [
    (["--sizes", "2,x"], "--sizes"),
    (["--sizes", "2,3", "--activation", "swish"], "unknown activation"),
])
def test_cli_backprop_bad_input(capsys, argv, match):
    assert main(["backprop", *argv]) == 2
    assert match in capsys.readouterr().err


# -- the expression language knows the activations ----------------------------------------

@pytest.mark.parametrize("name", ["tanh", "relu", "softplus", "sigmoid"])
def test_parser_reads_activations(name):
    e = sn.parse(f"norm({name}(W*x) - t, 2)**2/2", W=(3, 2), x=2, t=3)
    net = sn.mlp([2, 3], name)
    assert sn.to_text(e) == sn.to_text(net.loss).replace("W1", "W")
    W = next(s for s in e.free_symbols if getattr(s, "name", "") == "W")
    assert sn.grad(e, W).report.ok


@pytest.mark.parametrize("loss", ["l2", "l1"])
def test_loss_kinks_give_the_minimum_norm_subgradient(loss):
    """At y = t the L2 loss's delta is 0 and the L1 loss's is sign(0) = 0: never NaN."""
    net = sn.mlp([2, 2], "identity", loss=LOSS[loss][0], bias=True)
    bp = sn.backprop(net)
    assert bp.kinks, "the kink y = t is listed"
    out = bp.kernel()(x=np.array([[1.0, 2.0]]), t=np.zeros((1, 2)), W1=np.zeros((2, 2)),
                      b1=np.zeros(2))
    for name, g in out.items():
        assert np.all(np.isfinite(g)), name
        np.testing.assert_array_equal(g, 0.0)


def test_backprop_of_a_loss_without_data():
    f = sn.parse("x.T*M*x", M=("n", "n"))
    x = next(s for s in f.free_symbols if getattr(s, "name", "") == "x")
    bp = sn.backprop(f, [x])
    assert sn.to_text(bp.grads["x"]) == "(M + M.T)*x"
    M, xv = np.arange(9.0).reshape(3, 3), np.array([1.0, 2.0, 3.0])
    out = bp.kernel()(x=xv, M=M)
    np.testing.assert_allclose(out["x"], (M + M.T) @ xv)
    assert float(out["loss"]) == xv @ M @ xv


# -- loss names: the API and the command line agree -------------------------------------------

def test_loss_names_as_on_the_command_line():
    from symnorm.backprop.network import LOSSES
    from symnorm.cli.parser import LOSSES as CLI_LOSSES

    assert list(LOSSES) == list(CLI_LOSSES) == ["l2sq", "l2", "l1"]
    y, t = sn.vector("y", 2), sn.vector("t", 2)
    for name, text in CLI_LOSSES.items():  # the text --help shows is the loss mlp builds
        assert sn.parse(text, y=y, t=t) == LOSSES[name](y, t)
        net = sn.mlp([2, 3, 2], loss=name)
        assert net.data_loss == sn.parse(text, y=net.y, t=net.t)
    assert sn.mlp([2, 3, 2], loss="l2sq").loss == sn.mlp([2, 3, 2]).loss
    assert sn.to_text(sn.mlp([2, 3, 2], loss="l1").data_loss) == "norm(y - t, 1)"
    bp = sn.backprop(sn.mlp([2, 3, 2], "tanh", loss="l2"))
    assert bp.report.ok


@pytest.mark.parametrize("loss,match", [
    ("l3", r"unknown loss 'l3'; choose from 'l2sq', 'l2', 'l1', or pass a function"),
    ("L2SQ", r"unknown loss 'L2SQ'"),
    (3, r"loss must be one of 'l2sq', 'l2', 'l1' or a function loss\(y, t\), got 3"),
])
def test_unknown_loss_names_list_the_valid_ones(loss, match):
    with pytest.raises(NetworkError, match=match):
        sn.mlp([2, 3, 2], loss=loss)
