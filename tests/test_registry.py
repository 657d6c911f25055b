"""Every registered norm rule, tested for value, gradient, LaTeX and kernel output.

Parametrised over the registry: a newly registered rule is covered automatically
through its ``sample_orders``.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symnorm as sn
from symnorm.calculus.explicit import component_symbol, explicit
from symnorm.rules import ELEMENTWISE, NORMS, norm_rule

CASES = [(rule, p) for rule in NORMS for p in rule.sample_orders]
IDS = [f"{rule.key}-p={p}" for rule, p in CASES]


def is_matrix(rule) -> bool:
    return bool(rule.extras.get("matrix"))


def variable(rule, name: str = "x", n=None):
    """The argument a rule applies to: a vector, or a matrix for the matrix norms."""
    if is_matrix(rule):
        return sn.matrix(name.upper(), n, n) if n is not None else sn.matrix(name.upper())
    return sn.vector(name, n)


def sample(rule, n: int, rng, lead: tuple = ()) -> np.ndarray:
    shape = (*lead, n, max(1, n - 1)) if is_matrix(rule) else (*lead, n)
    return rng.standard_normal(shape)


def numpy_matrix_norm(v: np.ndarray, p) -> float:
    """Matrix norms from their definitions (loops over columns, numpy's SVD)."""
    kind = p.kind
    if kind == "fro":
        return float(np.sqrt(sum(e * e for e in v.ravel())))
    if kind == "nuc":
        return float(np.sum(np.linalg.svd(v, compute_uv=False)))
    if kind == "spectral":
        return float(np.max(np.linalg.svd(v, compute_uv=False)))
    if kind == "induced1":
        return float(max(sum(abs(v[i, j]) for i in range(v.shape[0]))
                         for j in range(v.shape[1])))
    if kind == "inducedinf":
        return float(max(sum(abs(v[i, j]) for j in range(v.shape[1]))
                         for i in range(v.shape[0])))
    pp, qq = (float("inf") if t == sp.oo else float(t) for t in p.pq)
    cols = [numpy_norm(v[:, j], pp) for j in range(v.shape[1])]
    return numpy_norm(np.array(cols), qq)


def numpy_norm(v: np.ndarray, p: float) -> float:
    """Independent reference, written from the definition."""
    a = np.abs(v)
    if p == 0:
        return float(np.count_nonzero(v))
    if p == np.inf:
        return float(a.max())
    return float(np.sum(a**p) ** (1 / p))


def _numeric_order(p: sp.Basic, n: int = 4, rng=None) -> tuple[float, dict]:
    rule = norm_rule(p)
    if "sample_values" in rule.extras:  # orders given at kernel time (group labels)
        return p, rule.extras["sample_values"](p, n, rng or np.random.default_rng(0))
    if isinstance(p, sp.Symbol):
        return 2.7, {"p": 2.7}
    if is_matrix(rule):
        return p, {}
    return (np.inf if p == sp.oo else float(p)), {}


def _reference(rule, v: np.ndarray, q, extra: dict) -> float:
    if is_matrix(rule):
        return numpy_matrix_norm(v, q)
    if "reference" in rule.extras:
        return rule.extras["reference"](v, extra, q)
    return numpy_norm(v, q)


@pytest.mark.parametrize("rule,p", CASES, ids=IDS)
def test_rule_is_found_for_its_orders(rule, p):
    assert norm_rule(sp.sympify(p)) is rule


@pytest.mark.parametrize("rule,p", CASES, ids=IDS)
def test_value_kernel_matches_definition(rule, p, rng):
    x = variable(rule)
    f = sn.norm(x, p)
    k = sn.kernel(f, sn.kernel.__globals__["free_arguments"](f, first=x))
    for n in (1, 2, 7, 50):
        q, extra = _numeric_order(p, n, rng)
        v = sample(rule, n, rng)
        v.flat[0] = 0.0  # an exact zero entry must not disturb the value
        got = k(v, **extra)
        np.testing.assert_allclose(got, _reference(rule, v, q, extra), rtol=1e-13)


@pytest.mark.parametrize("rule,p", CASES, ids=IDS)
def test_gradient_passes_finite_difference_check(rule, p):
    x = variable(rule)
    d = sn.grad(sn.norm(x, p), x, check=False)
    report = d.check(points=4, directions=3, seed=7)
    assert report.ok, report.summary()
    assert max(report.errors) < 1e-6


@pytest.mark.parametrize("rule,p", CASES, ids=IDS)
def test_gradient_matches_explicit_components(rule, p):
    """Vector-form result against SymPy's scalar diff of the explicit formula (n = 3)."""
    if p == 0:
        pytest.skip("the count is piecewise constant; its explicit diff is Piecewise noise")
    if is_matrix(rule):
        pytest.skip(f"{rule.key}: checked against SymPy's explicit matrix calculus in "
                    "tests/test_matrix_norms.py")
    if rule.extras.get("explicit", True) is False:
        pytest.skip(f"{rule.key}: no explicit components (its order is given at kernel time)")
    y = sn.vector("y", 3)
    d = sn.grad(sn.norm(y, p), y, check=False)
    comp = d.components()
    f = explicit(sn.norm(y, p))
    q, _ = _numeric_order(p)
    ys = [component_symbol("y", i) for i in range(3)]
    point = dict(zip(ys, (0.3, -1.7, 0.9)))
    if isinstance(p, sp.Symbol):
        point[p] = q
    for i in range(3):
        want = sp.diff(f, ys[i]).subs(point).evalf()
        got = comp[i].subs(point).evalf()
        assert abs(float(want) - float(got)) < 1e-12


@pytest.mark.parametrize("rule,p", CASES, ids=IDS)
def test_latex_renders_norm_and_gradient(rule, p):
    x = variable(rule)
    f = sn.norm(x, p)
    tex = sn.latex(f)
    name = sn.latex(x)
    assert tex.startswith(rf"\left\lVert {name} \right\rVert_") or "latex" in rule.extras
    d = sn.grad(f, x, check=False)
    src = d.latex()
    assert r"\begin{aligned}" in src and r"\end{aligned}" in src
    assert rf"\nabla_{{{name}}}" in src
    assert src.count("{") == src.count("}")
    assert d._repr_latex_().startswith("$$")


@pytest.mark.parametrize("rule,p", CASES, ids=IDS)
def test_gradient_kernel_batched_out_and_kinks(rule, p, rng):
    x = variable(rule)
    d = sn.grad(sn.norm(x, p), x, check=False)
    k = d.kernel()
    _, extra = _numeric_order(p, 4, rng)
    batch = sample(rule, 4, rng, (5,))
    single = np.stack([k(row, **extra) for row in batch])
    np.testing.assert_allclose(k(batch, **extra), single, rtol=1e-14)
    out = np.empty_like(batch)
    res = k(batch, out=out, **extra)
    np.testing.assert_allclose(out, single, rtol=1e-14)
    assert res is out or np.shares_memory(res, out)
    # kinks: exact zeros, the origin, ties: never NaN
    kinks = (np.zeros(4), np.array([0.0, 1.0, -1.0, 0.0]), np.array([2.0, -2.0, 1.0, 2.0]))
    if is_matrix(rule):  # 0, rank-deficient, repeated singular values, tied columns
        kinks = (np.zeros((4, 3)), np.outer([1.0, 0, 2, 0], [0, 1.0, -1]), np.eye(4, 3),
                 np.array([[1.0, -1, 1], [1, 1, -1], [0, 0, 0], [1, 1, 1]]))
    for v in kinks:
        g = k(v, **extra)
        assert np.all(np.isfinite(g)), (rule.key, v, g)
    assert "minimum-norm subgradient" in k.__doc__


@pytest.mark.parametrize("rule,p", CASES, ids=IDS)
def test_rule_reports_kinks_and_classification(rule, p):
    x = variable(rule)
    q = sp.sympify(p)
    kinks = rule.kinks(x, q)
    assert kinks and all(k.where and k.returns for k in kinks)
    if rule.is_norm(q):
        assert rule.broken_axiom(q) is None
    else:
        assert rule.broken_axiom(q)


def test_unknown_order_lists_registered_rules():
    x = sn.vector("x")
    with pytest.raises(sn.UnknownNormError) as err:
        sn.norm(x, (1, 2))  # a mixed-norm order: matrices only
    for rule in NORMS:
        assert rule.key in str(err.value)


def test_negative_and_complex_orders_are_rejected():
    x = sn.vector("x")
    with pytest.raises(sn.UnknownNormError, match="p = -1"):
        sn.norm(x, -1)
    with pytest.raises(sn.UnknownNormError, match=r"p = p \(declared negative\)"):
        sn.norm(x, sp.Symbol("p", negative=True))
    with pytest.raises(sn.UnknownNormError, match="real"):
        sn.norm(x, sp.I)


def test_registering_twice_is_an_error():
    rule = next(iter(NORMS))
    with pytest.raises(ValueError, match="already registered"):
        NORMS.register(rule)


def test_unknown_elementwise_lists_known():
    with pytest.raises(sn.UnsupportedExpressionError, match="sign"):
        ELEMENTWISE["tanhh"]
