"""Generated numpy kernels: any n, batched, out=, kinks, overflow and underflow."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import sympy as sp

import symnorm as sn
from symnorm import numeric


@pytest.fixture
def x():
    return sn.vector("x")


def ulp_close(got, want, ulps=4):
    got, want = np.asarray(got, float), np.asarray(want, float)
    spacing = np.spacing(np.abs(want))
    assert np.all(np.abs(got - want) <= ulps * spacing), (got, want)


# -- overflow / underflow of the L2 norm and its gradient --------------------------------

@pytest.mark.parametrize("scale", [1e200, 1e-200, 1e300, 1e-300, 1e-310, 1.0])
def test_l2_value_and_gradient_at_extreme_scales(x, scale):
    v = np.array([scale, scale])
    value = sn.kernel(sn.norm(x, 2), [x])(v)
    grad = sn.grad(sn.norm(x, 2), x).kernel()(v)
    if scale >= 1e-300:  # a normal result: a few ulp
        ulp_close(value, np.sqrt(2.0) * scale)
    else:  # a subnormal result has fewer bits; still right to its own precision
        assert abs(value - np.sqrt(2.0) * scale) <= 2 * np.spacing(value)
    ulp_close(grad, [np.sqrt(0.5), np.sqrt(0.5)])


def test_the_naive_formula_fails_where_the_kernel_does_not():
    big, small = np.array([1e200, 1e200]), np.array([1e-200, 1e-200])
    with np.errstate(over="ignore", under="ignore"):
        assert np.isinf(np.sqrt(np.dot(big, big)))   # what sqrt(x.x) gives
        assert np.sqrt(np.dot(small, small)) == 0.0
    assert numeric.norm2(big) == pytest.approx(np.sqrt(2) * 1e200, rel=1e-15)
    assert numeric.norm2(small) == pytest.approx(np.sqrt(2) * 1e-200, rel=1e-15)


def test_l2_mixed_magnitudes_and_batches(x):
    k = sn.grad(sn.norm(x, 2), x).kernel()
    batch = np.array([[1e200, 1e200, 0.0], [3.0, 4.0, 0.0], [0.0, 0.0, 0.0], [1e-200, 0, 0]])
    got = k(batch)
    want = np.array([[np.sqrt(0.5), np.sqrt(0.5), 0], [0.6, 0.8, 0], [0, 0, 0], [1, 0, 0]])
    np.testing.assert_allclose(got, want, rtol=4e-16, atol=0)


def test_l2_gradient_of_residual_at_scale():
    A, x, b = sn.matrix("A"), sn.vector("x"), sn.vector("b", "m")
    k = sn.grad(sn.norm(A * x - b, 2), x).kernel()
    Av = np.eye(2)
    got = k(np.array([1e200, 1e200]), Av, np.zeros(2))
    np.testing.assert_allclose(got, [np.sqrt(0.5)] * 2, rtol=1e-15)


def test_lp_gradient_does_not_overflow(x):
    p = sn.scalar("p")
    k = sn.grad(sn.norm(x, p), x).kernel()
    v = np.array([1e200, -1e200, 0.0])
    got = k(v, 3.0)
    want = np.array([1, -1, 0]) * 2 ** (-2 / 3)
    np.testing.assert_allclose(got, want, rtol=1e-14)


# -- kinks ----------------------------------------------------------------------------

def test_kink_values_are_minimum_norm_subgradients(x):
    g2 = sn.grad(sn.norm(x, 2), x).kernel()
    g1 = sn.grad(sn.norm(x, 1), x).kernel()
    gi = sn.grad(sn.norm(x, sp.oo), x).kernel()
    np.testing.assert_array_equal(g2(np.zeros(4)), np.zeros(4))
    np.testing.assert_array_equal(g1(np.array([0.0, -2.0, 3.0, 0.0])), [0, -1, 1, 0])
    np.testing.assert_allclose(gi(np.array([3.0, -3.0, 1.0, 3.0])), [1 / 3, -1 / 3, 0, 1 / 3])
    np.testing.assert_array_equal(gi(np.zeros(3)), np.zeros(3))
    for k in (g2, g1, gi):
        assert "minimum-norm subgradient" in k.__doc__


def test_quasi_norm_gradient_is_finite_at_zero_entries(x):
    k = sn.grad(sn.norm(x, sp.Rational(1, 2)), x).kernel()
    got = k(np.array([0.0, 1.0, 4.0]))
    assert np.all(np.isfinite(got)) and got[0] == 0


def test_kernels_never_nan_at_the_origin(x):
    A, b = sn.matrix("A"), sn.vector("b", "m")
    lam = sn.scalar("lam")
    exprs = [sn.norm(A * x - b, 2), lam * sn.norm(x, 1) + sn.norm(x, 2),
             sn.norm(x, 2) ** 2 + sn.norm(x, sp.oo), sn.norm(x, 3)]
    for f in exprs:
        d = sn.grad(f, x)
        k = d.kernel()
        vals = {"x": np.zeros(3), "A": np.eye(3), "b": np.zeros(3), "lam": 0.5}
        got = k(**{name: vals[name] for name in k.arg_names})
        assert np.all(np.isfinite(got)), (sn.to_text(f), got)


# -- calling conventions --------------------------------------------------------------

def test_any_dimension_and_batch(x, rng):
    k = sn.grad(sn.norm(x, 1) + sn.norm(x, 2) ** 2, x).kernel()
    for n in (1, 3, 100, 10_000):
        v = rng.standard_normal(n)
        np.testing.assert_allclose(k(v), np.sign(v) + 2 * v)
    batch = rng.standard_normal((2, 3, 5))
    np.testing.assert_allclose(k(batch), np.sign(batch) + 2 * batch)


def test_out_is_written_in_place(x, rng):
    k = sn.grad(sn.norm(x, 2), x).kernel()
    v = rng.standard_normal(1000)
    out = np.empty_like(v)
    res = k(v, out=out)
    assert res is out
    np.testing.assert_allclose(out, v / np.linalg.norm(v), rtol=1e-15)


def test_out_through_the_generic_path(rng):
    x, M = sn.vector("x"), sn.matrix("M", "n", "n")
    k = sn.grad(x.T * M * x, x).kernel()
    v, m = rng.standard_normal(4), rng.standard_normal((4, 4))
    out = np.empty(4)
    assert k(v, m, out=out) is out
    np.testing.assert_allclose(out, (m + m.T) @ v)


def test_source_is_kept_and_readable(x):
    k = sn.grad(sn.norm(x, 2), x).kernel()
    assert k.source.startswith("def kernel(a_x, out=None):")
    assert "norm2_grad" in k.source
    assert "kernel" in repr(k) and "x/norm(x, 2)" in repr(k)


def test_arguments_by_name_and_errors(rng):
    A, x, b = sn.matrix("A"), sn.vector("x"), sn.vector("b", "m")
    k = sn.grad(sn.norm(A * x - b, 2) ** 2, x).kernel()
    assert k.arg_names == ["x", "A", "b"]
    a, v, bb = rng.standard_normal((3, 2)), rng.standard_normal(2), rng.standard_normal(3)
    np.testing.assert_allclose(k(b=bb, A=a, x=v), 2 * a.T @ (a @ v - bb))
    with pytest.raises(TypeError, match="missing argument"):
        k(v)
    with pytest.raises(TypeError, match="unknown argument"):
        k(v, a, bb, c=1)
    with pytest.raises(sn.ShapeError, match="argument A must be a matrix"):
        k(v, v, bb)


def test_explicit_sizes_are_enforced():
    y = sn.vector("y", 3)
    k = sn.kernel(sn.norm(y, 2), [y])
    with pytest.raises(sn.ShapeError, match=r"shape \(3, 1\)"):
        k(np.ones(4))


def test_kernel_requires_all_arguments():
    x, a = sn.vector("x"), sn.vector("a")
    with pytest.raises(sn.UnsupportedExpressionError, match="needs the argument"):
        sn.kernel(sn.norm(x - a, 2), [x])


def test_scalar_kernel_of_composite_value(rng):
    x, lam = sn.vector("x"), sn.scalar("lam")
    f = lam * sn.norm(x, 1) + sp.sqrt(sn.norm(x, 2) ** 2 + 1)
    k = sn.kernel(f, [x, lam])
    v = rng.standard_normal(5)
    want = 0.7 * np.abs(v).sum() + np.sqrt(v @ v + 1)
    np.testing.assert_allclose(k(v, 0.7), want)
    batch = rng.standard_normal((4, 5))
    np.testing.assert_allclose(k(batch, 0.7), [k(r, 0.7) for r in batch])


def test_float32_inputs_stay_float32(x, rng):
    k = sn.grad(sn.norm(x, 2), x).kernel()
    v = rng.standard_normal(8).astype(np.float32)
    assert k(v).dtype == np.float32


def test_integer_matrix_powers(rng):
    x, M = sn.vector("x"), sn.matrix("M", "n", "n")
    d = sn.grad(sn.norm(M * M * x, 2), x)
    m, v = rng.standard_normal((3, 3)), rng.standard_normal(3)
    r = m @ m @ v
    np.testing.assert_allclose(d.kernel()(v, m), (m @ m).T @ r / np.linalg.norm(r))


# -- ratios of exponentials, log1p, expm1 ------------------------------------------------------


def test_softplus_of_exp_does_not_overflow_into_nan():
    # issue: SymPy merges exp(u)*exp(v)/(exp(u) + 1) into exp(u + v)/(exp(u) + 1); at
    # x = [10, 0] exp(exp(10)) overflows and the old kernel gave [nan, nan]
    x = sn.vector("x", 2)
    d = sn.grad(sn.parse("softplus(exp(norm(x, 2)))", x=x), x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = d.kernel()(np.array([10.0, 0.0]))
    assert g.tolist() == [math.exp(10.0), 0.0]          # sigmoid(e^10) = 1 exactly
    assert g[0] == pytest.approx(22026.465794806718, rel=1e-15)
    assert "_nm.softplus" in d.kernel().source  # exp(n - softplus(-e^n)): no e^(e^n)


def _sig(t):
    import mpmath

    return 1 / (1 + mpmath.exp(-t))


# each ratio with its value from the 1-norm, 2-norm and x.T*x, by mpmath
_RATIOS = [
    ("exp(2*norm(x, 2) + norm(x, 1))/(1 + exp(norm(x, 2)))",       # j > k
     lambda n1, n2, q, mp: mp.exp(2 * n2 + n1) / (1 + mp.exp(n2))),
    ("exp(norm(x, 2) + norm(x, 1))/(1 + exp(norm(x, 2)))**2",       # 0 < j < k
     lambda n1, n2, q, mp: mp.exp(n2 + n1) / (1 + mp.exp(n2)) ** 2),
    ("exp(norm(x, 1) - 3*norm(x, 2))/(1 + exp(-norm(x, 2)))**3",    # a = -norm, j = k = 3
     lambda n1, n2, q, mp: mp.exp(n1 - 3 * n2) / (1 + mp.exp(-n2)) ** 3),
    ("exp(sigmoid(norm(x, 1)) + x.T*x)/(exp(x.T*x) + 1)",           # j = 1 on a 1x1 form
     lambda n1, n2, q, mp: mp.exp(_sig(n1) + q) / (mp.exp(q) + 1)),
    # c + e^a with c != 1: SymPy writes softplus(softplus(q)) as log(exp(q) + 2)
    ("log(exp(x.T*x) + 2)", lambda n1, n2, q, mp: mp.log(mp.exp(q) + 2)),
    ("exp(x.T*x + norm(x, 1))/(exp(x.T*x) + 2)**2",
     lambda n1, n2, q, mp: mp.exp(q + n1) / (mp.exp(q) + 2) ** 2),
    # the derivative of sigmoid(exp(x.T*x)): a = -e^q overflows, r = q with it
    ("exp(x.T*x - exp(x.T*x))/(1 + exp(-exp(x.T*x)))**2",
     lambda n1, n2, q, mp: mp.exp(q - mp.exp(q)) / (1 + mp.exp(-mp.exp(q))) ** 2),
]


@pytest.mark.parametrize("text, reference", _RATIOS)
def test_ratios_of_exponentials_are_finite_wherever_they_are(text, reference):
    import mpmath

    x = sn.vector("x", 2)
    k = sn.kernel(sn.parse(text, x=x), [x])
    for point in ([0.3, -0.2], [40.0, 30.0], [300.0, -400.0]):
        u = np.array(point)
        with mpmath.workdps(60):
            n1 = mpmath.fsum(abs(mpmath.mpf(t)) for t in u)
            q = mpmath.fsum(mpmath.mpf(t) ** 2 for t in u)
            want = reference(n1, mpmath.sqrt(q), q, mpmath)
        if abs(want) > 1e300:  # the ratio itself overflows
            continue
        with np.errstate(over="ignore"):  # e^q itself may overflow, the ratio not
            got = float(k(u))
        assert got == pytest.approx(float(want), rel=1e-12, abs=1e-300), (text, point)


def test_log_of_one_plus_and_exp_minus_one_keep_their_digits():
    x = sn.vector("x", 2)
    u = np.array([1e-9, 0.0])
    cases = [(sp.log(1 + sn.norm(x, 2)), "np.log1p", math.log1p(1e-9)),
             (sp.log(1 - sn.norm(x, 2)), "np.log1p", math.log1p(-1e-9)),
             (sp.exp(sn.norm(x, 2)) - 1, "np.expm1", math.expm1(1e-9)),
             (1 - sp.exp(sn.norm(x, 2)) + sn.norm(x, 1), "np.expm1", 1e-9 - math.expm1(1e-9))]
    for f, helper, want in cases:
        k = sn.kernel(f, [x])
        assert helper in k.source
        assert float(k(u)) == pytest.approx(want, rel=1e-15)
    assert "log1p" not in sn.kernel(sp.log(2 + sn.norm(x, 2)), [x]).source


def test_log1p_and_expm1_run_on_the_array_api_backends():
    x = sn.vector("x", 2)
    k = sn.kernel(sp.log(1 + sn.norm(x, 2)) + sp.exp(sn.norm(x, 1)) - 1, [x])
    torch = pytest.importorskip("torch")
    got = k(torch.tensor([1e-9, 0.0], dtype=torch.float64))
    assert float(got) == pytest.approx(math.log1p(1e-9) + math.expm1(1e-9), rel=1e-15)


def test_a_kernel_of_a_division_by_zero_names_the_expression():
    # issue: "no kernel rule for ComplexInfinity in zoo"
    x = sn.vector("x")
    with pytest.raises(sn.DomainError, match=r"^no kernel for zoo\*norm\(x, 2\): it holds a "
                                             r"division by zero \(SymPy's zoo"):
        sn.kernel(sn.norm(x, 2) / 0, [x])
    with pytest.raises(sn.DomainError, match=r"no kernel for zoo\*norm\(x, 2\)"):
        sn.grad(sn.norm(x, 2) / 0, x)
    with pytest.raises(sn.DomainError, match=r"^no kernel for I\*norm\(x, 1\): it holds the "
                                             r"imaginary unit I"):
        sn.kernel(sp.sqrt(-1) * sn.norm(x, 1), [x])
    with pytest.raises(sn.DomainError, match=r"^no kernel for nan: it holds an undefined "
                                             r"number"):
        sn.kernel(sp.nan * sn.norm(x, 1), [x])


def test_a_p_norm_gradient_written_out_uses_the_fused_helper():
    # the order depends on x: the chain rule leaves sign(x) .* |x|^(p-1)/norm(x, p)^(p-1)
    # written out, which overflowed to inf/inf (NaN) from |x|^(p-1) > 1e308 on
    x = sn.vector("x")
    f = sn.norm(x, sn.ScalarOf(x.T * x))
    k = sn.grad(f, x, check=False).kernel()
    assert "_nm.normp_grad(a_x, t0)" in k.source
    g = k(np.array([14.4, 10.5, 2.9]))
    assert np.all(np.isfinite(g)) and g[0] == pytest.approx(1.0, abs=1e-12)


def test_a_number_beyond_the_float_range_is_an_infinite_literal():
    # norm(x, 2.5e400): the order was written out as 400 digits and ".0"
    x = sn.vector("x", 2)
    source = sn.kernel(sn.parse("norm(x, 2.5e400)", x=x), [x]).source
    assert "_nm.normp(a_x, np.inf)" in source and "0000" not in source
    source = sn.kernel(sn.parse("norm(x, 1) - 1e400/3", x=x), [x]).source
    assert "np.inf" in source
    assert "1.152921504606847e+18 * " in sn.kernel(sp.Integer(2) ** 60 * sn.norm(x, 1),
                                                    [x]).source


def test_every_logistic_denominator_of_a_vector_coefficient_is_rewritten():
    # x e^(q + r)/((1 + e^q)(1 + e^r)) = x sigmoid(q) sigmoid(r); one rewrite left
    # e^(r - softplus(-q))/(1 + e^r) behind, inf/inf once r > 709 (the gradient of
    # sigmoid(exp(-log(sigmoid(x.T*M*x) - 0.5))) at |x| ~ 30 in the fuzz campaign)
    x = sn.vector("x", 2)
    q, r = sn.ScalarOf(x.T * x), 20 * sn.norm(x, 1)
    g = x * sp.exp(q + r) / ((1 + sp.exp(q)) * (1 + sp.exp(r)))
    k = sn.kernel(g, [x])
    with np.errstate(over="ignore"):
        assert k(np.array([30.0, 40.0])).tolist() == [30.0, 40.0]
        small = k(np.array([0.01, -0.02]))
    sig = lambda t: 1 / (1 + math.exp(-t))  # noqa: E731
    want = sig(0.0005) * sig(0.6)
    np.testing.assert_allclose(small, [0.01 * want, -0.02 * want], rtol=1e-15)
