"""The derivation engine: textbook forms (exact), Matrix Cookbook identities, steps."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from sympy import HadamardPower, HadamardProduct, Identity, MatAdd, MatMul

import symnorm as sn
from symnorm.model.atoms import Abs, MaxAbsSelector, ScalarOf, Sigmoid, Sign
from symnorm.model.symbols import dim

n = dim("n")


def text(e):
    return sn.to_text(e)


# -- the acceptance table: exact symbolic forms ----------------------------------------

def test_grad_l2(syms):
    x = syms["x"]
    d = sn.grad(sn.norm(x, 2), x)
    assert d.result == MatMul(1 / sn.norm(x, 2), x)
    assert text(d.result) == "x/norm(x, 2)"


def test_grad_l2_squared(syms):
    x = syms["x"]
    assert sn.grad(sn.norm(x, 2) ** 2, x).result == 2 * x


def test_grad_shifted_l2(syms):
    x, a = syms["x"], syms["a"]
    d = sn.grad(sn.norm(x - a, 2), x)
    assert d.result == MatMul(1 / sn.norm(x - a, 2), x - a)
    assert text(d.result) == "(x - a)/norm(x - a, 2)"


def test_grad_least_squares(syms):
    A, x, b = syms["A"], syms["x"], syms["b"]
    d = sn.grad(sn.norm(A * x - b, 2) ** 2, x)
    assert d.result == MatMul(2, A.T, A * x - b)
    assert text(d.result) == "2*A.T*(A*x - b)"


def test_grad_residual_norm(syms):
    A, x, b = syms["A"], syms["x"], syms["b"]
    d = sn.grad(sn.norm(A * x - b, 2), x)
    assert d.result == MatMul(1 / sn.norm(A * x - b, 2), A.T, A * x - b)
    assert text(d.result) == "A.T*(A*x - b)/norm(A*x - b, 2)"
    assert sn.latex(d.result) == (r"\frac{A^\top \left(A x - b\right)}"
                                  r"{\left\lVert A x - b \right\rVert_{2}}")


def test_grad_l1(syms):
    x = syms["x"]
    assert sn.grad(sn.norm(x, 1), x).result == Sign(x)


def test_grad_lp_symbolic(syms):
    x, p = syms["x"], syms["p"]
    d = sn.grad(sn.norm(x, p), x)
    want = MatMul(sn.norm(x, p) ** (1 - p), HadamardProduct(Sign(x), HadamardPower(Abs(x), p - 1)))
    assert d.result == want
    assert text(d.result) == "(sign(x) .* abs(x).^(p - 1))/norm(x, p)**(p - 1)"
    assert sn.latex(d.result) == (
        r"\frac{\operatorname{sign}(x) \odot \lvert x \rvert^{p - 1}}"
        r"{\left\lVert x \right\rVert_{p}^{p - 1}}")
    assert sp.Ge(p, 1, evaluate=False) in d.assumptions


def test_grad_linf(syms):
    x = syms["x"]
    d = sn.grad(sn.norm(x, sp.oo), x)
    assert d.result == HadamardProduct(Sign(x), MaxAbsSelector(x))
    assert sn.latex(d.result) == r"\operatorname{sign}\left(x_{k}\right)\, e_{k}"


def test_grad_elastic_net(syms):
    x, lam, mu = syms["x"], syms["lam"], syms["mu"]
    d = sn.grad(lam * sn.norm(x, 1) + mu / 2 * sn.norm(x, 2) ** 2, x)
    assert d.result == MatAdd(lam * Sign(x), mu * x)
    assert text(d.result) == "lam*sign(x) + mu*x"


def test_hessian_l2(syms):
    x = syms["x"]
    h = sn.hessian(sn.norm(x, 2), x)
    N = sn.norm(x, 2)
    assert h.result == MatMul(1 / N, MatAdd(Identity(n), MatMul(-1 / N**2, x, x.T)))
    assert text(h.result) == "(I - x*x.T/norm(x, 2)**2)/norm(x, 2)"
    assert h.kind == "hessian" and h.report.ok


def test_hessian_kernel_matches_numpy(rng):
    x = sn.vector("x")
    k = sn.hessian(sn.norm(x, 2), x).kernel()
    v = rng.standard_normal(6)
    r = np.linalg.norm(v)
    np.testing.assert_allclose(k(v), (np.eye(6) - np.outer(v, v) / r**2) / r, rtol=1e-13)


@pytest.mark.parametrize("p", [1, 2, 3, sp.oo, sp.Rational(3, 2)])
def test_hessians_pass_check(p):
    x = sn.vector("x")
    assert sn.hessian(sn.norm(x, p), x).report.ok


# -- Matrix Cookbook identities (Petersen & Pedersen, sec. 2.4) ----------------------------

def test_cookbook_linear_form(syms):
    x, a = syms["x"], syms["a"]
    assert sn.grad(a.T * x, x).result == a          # (69) d(a^T x)/dx = a
    assert sn.grad(x.T * a, x).result == a


def test_cookbook_quadratic_form(syms):
    x, M = syms["x"], syms["M"]
    d = sn.grad(x.T * M * x, x)                      # (81) d(x^T M x)/dx = (M + M^T) x
    assert d.result == MatMul(MatAdd(M, M.T), x)
    assert text(d.result) == "(M + M.T)*x"


def test_cookbook_inner_product(syms):
    x = syms["x"]
    assert sn.grad(x.T * x, x).result == 2 * x


def test_cookbook_least_squares_expanded(syms):
    A, x, b = syms["A"], syms["x"], syms["b"]
    # (84) d/dx (Ax - b)^T (Ax - b) = 2 A^T (Ax - b)
    d = sn.grad((A * x - b).T * (A * x - b), x)
    assert d.result == MatMul(2, A.T, A * x - b)


def test_cookbook_norm_of_difference(syms):
    x, a = syms["x"], syms["a"]
    # (129) d||x - a||_2 / dx = (x - a)/||x - a||_2
    assert sn.grad(sn.norm(x - a, 2), x).result == (x - a) / sn.norm(x - a, 2)


def test_cookbook_gradient_wrt_matrix():
    A, x = sn.matrix("A", "n", "n"), sn.vector("x")
    a = sn.vector("a")
    # (70) d(a^T X b)/dX = a b^T ; here d(a^T A x)/dA = a x^T
    assert sn.grad(a.T * A * x, A).result == a * x.T


def test_gradient_wrt_matrix_of_residual_norm(rng):
    A, x, b = sn.matrix("A"), sn.vector("x"), sn.vector("b", "m")
    d = sn.grad(sn.norm(A * x - b, 2) ** 2, A)
    assert d.result == MatMul(2, A * x - b, x.T)
    assert d.result.shape == A.shape


def test_chain_through_sqrt_and_powers(syms):
    x = syms["x"]
    d = sn.grad(sp.sqrt(sn.norm(x, 2) ** 2 + 1), x)
    assert text(d.result) == "x/sqrt(norm(x, 2)**2 + 1)"
    d = sn.grad(sn.norm(x, 2) ** 3, x)
    assert d.result == 3 * sn.norm(x, 2) * x


def test_scalar_multiple_inside(syms):
    x = syms["x"]
    d = sn.grad(sn.norm(3 * x, 1), x)
    assert d.result == MatMul(3, Sign(3 * x))


def test_sigmoid_chain(rng):
    W, x = sn.matrix("W"), sn.vector("x")
    y = sn.vector("y", "m")
    d = sn.grad(sn.norm(Sigmoid(W * x) - y, 2) ** 2, x)
    assert d.report.ok


def test_gradient_wrt_scalar(syms):
    x, lam = syms["x"], syms["lam"]
    d = sn.grad(lam * sn.norm(x, 1) + lam**2, lam)
    assert d.result == sn.norm(x, 1) + 2 * lam


def test_no_dependence_gives_zero(syms):
    x, a = syms["x"], syms["a"]
    d = sn.grad(sn.norm(a, 2), x)
    assert d.result == sp.ZeroMatrix(n, 1)


# -- derivation record --------------------------------------------------------------

def test_steps_record_rules_in_order(syms):
    A, x, b = syms["A"], syms["x"], syms["b"]
    d = sn.grad(sn.norm(A * x - b, 2) ** 2, x)
    rules = [s.rule for s in d.steps]
    assert rules == ["chain rule", "L2", "chain rule"]
    first = d.steps[0]
    assert first.text().endswith("= 2*norm(A*x - b, 2)*grad_x(norm(A*x - b, 2))")
    assert d.steps[1].after == MatMul(1 / sn.norm(A * x - b, 2), A * x - b)
    assert d.kinks == []  # squared: differentiable at the residual's zero
    plain = sn.grad(sn.norm(A * x - b, 2), x)
    assert [k.where for k in plain.kinks] == ["A*x - b = 0"]


def test_latex_is_an_aligned_derivation(syms):
    x = syms["x"]
    d = sn.grad(sn.norm(x, 2), x, index_notation=True)
    tex = d.latex()
    assert tex.startswith("\\begin{gathered}\n\\begin{aligned}")
    block = tex[tex.index(r"\begin{aligned}"):tex.index(r"\end{aligned}")]
    assert "&=" in block and block.count(r"\\") == len(d.steps) - 1
    assert r"\sum_{j=1}^{n} x_{j}^{2}" in tex
    assert r"\frac{x_{k}}{\left\lVert x \right\rVert_{2}}" in tex
    # the notes are under the block, not to its right, their formulas typeset
    assert (r"\text{not valid where }x = 0\text{; kernels return }0\text{, the minimum-norm "
            r"subgradient}") in tex[tex.index(r"\end{aligned}"):]


def test_index_notation_steps_for_l2(syms):
    x = syms["x"]
    d = sn.grad(sn.norm(x, 2), x, index_notation=True)
    names = [s.rule for s in d.steps]
    assert names[:3] == ["definition", "chain rule (index notation)", "simplify"]
    k = sp.Symbol("k", integer=True, positive=True)
    xk = sp.IndexedBase("x", real=True)[k]
    assert d.steps[2].after == xk / sn.norm(x, 2)
    assert "1/(2*sqrt(sum(x[j]**2 for j = 1..n))) * 2*x[k]" in d.steps[1].text()


def test_index_notation_for_symbolic_p(syms):
    x, p = syms["x"], syms["p"]
    d = sn.grad(sn.norm(x, p), x, index_notation=True)
    k = sp.Symbol("k", integer=True, positive=True)
    xk = sp.IndexedBase("x", real=True)[k]
    assert sp.simplify(d.steps[2].after
                       - sp.sign(xk) * sp.Abs(xk) ** (p - 1) * sn.norm(x, p) ** (1 - p)) == 0


def test_explicit_size_turns_index_notation_on():
    y = sn.vector("y", 3)
    d = sn.grad(sn.norm(y, 2), y)
    assert d.steps[0].rule == "definition"
    comps = d.components()
    y1, y2, y3 = sp.symbols("y_1 y_2 y_3", real=True)
    assert sp.simplify(comps[0] - y1 / sp.sqrt(y1**2 + y2**2 + y3**2)) == 0


def test_to_dict_is_json_ready(syms):
    import json

    x = syms["x"]
    d = sn.grad(sn.norm(x, 1), x)
    data = json.loads(json.dumps(d.to_dict()))
    assert data["result"] == "sign(x)" and data["check"]["ok"] is True


# -- errors ---------------------------------------------------------------------------

def test_matrix_valued_f_is_rejected(syms):
    x = syms["x"]
    with pytest.raises(sn.ShapeError, match="scalar"):
        sn.grad(2 * x, x)


def test_norm_of_scalar_is_rejected(syms):
    with pytest.raises(sn.ShapeError, match="vector expression"):
        sn.norm(syms["lam"], 2)


def test_wrt_must_be_a_symbol(syms):
    x = syms["x"]
    with pytest.raises(sn.UnsupportedExpressionError, match="wrt"):
        sn.grad(sn.norm(x, 2), 2 * x)


def test_shape_mismatch_is_reported():
    x, b = sn.vector("x"), sn.vector("b", "m")
    with pytest.raises(Exception) as err:
        sn.norm(x - b, 2)
    assert "n" in str(err.value) and "m" in str(err.value)


def test_wrong_claimed_result_raises_check_error(monkeypatch, syms):
    from symnorm.calculus import engine

    x = syms["x"]
    real = engine.derive_gradient

    def broken(f, wrt, **kw):
        d = real(f, wrt, **kw)
        d.result = 3 * x  # what a silent bug would look like
        return d

    monkeypatch.setattr("symnorm.api.derive_gradient", broken)
    with pytest.raises(sn.CheckFailedError) as err:
        sn.grad(sn.norm(x, 2) ** 2, x)
    msg = str(err.value)
    assert "norm(x, 2)**2" in msg and "x = [" in msg
    assert err.value.report is not None and not err.value.report.ok


def test_check_can_be_switched_off(syms):
    x = syms["x"]
    d = sn.grad(sn.norm(x, 2), x, check=False)
    assert d.report is None


def test_scalarof_repr(syms):
    x = syms["x"]
    assert text(ScalarOf(x.T * x)) == "x.T*x"


def test_squared_l2_has_no_kink_but_l2_does(syms):
    x = syms["x"]
    assert sn.grad(sn.norm(x, 2) ** 2, x).kinks == []
    assert [k.where for k in sn.grad(sn.norm(x, 2), x).kinks] == ["x = 0"]
    d = sn.grad(syms["lam"] * sn.norm(x, 1) + sn.norm(x, 2) ** 2 / 2, x)
    assert [k.where for k in d.kinks] == ["an entry of x is 0"]


def test_quasi_norms_and_the_count_are_flagged(syms):
    x = syms["x"]
    d = sn.grad(sn.norm(x, sp.Rational(1, 2)), x)
    assert d.warnings == ["norm(x, 1/2) is not a norm: it breaks the triangle inequality "
                          "(a quasi-norm for 0 < p < 1)"]
    assert "note: norm(x, 1/2) is not a norm" in d.text()
    assert "homogeneity" in sn.grad(sn.norm(x, 0), x).warnings[0]
    assert sn.grad(sn.norm(x, 2), x).warnings == []


@pytest.mark.parametrize("make", [
    lambda x, a, M: sn.norm(sn.norm(x, 2) * x, 1),
    lambda x, a, M: sn.norm(ScalarOf(a.T * x) * x, 2),
    lambda x, a, M: ScalarOf(x.T * (sn.norm(x, 1) * M) * x),
], ids=["norm-times-x", "inner-product-times-x", "norm-inside-quadratic-form"])
def test_products_whose_scalar_factor_depends_on_x(syms, make):
    f = make(syms["x"], syms["a"], syms["M"])
    d = sn.grad(f, syms["x"])  # raises if finite differences disagree
    assert d.report.ok and max(d.report.errors) < 1e-6


def test_sympy_shape_slips_are_caught(syms):
    x, A = syms["x"], syms["A"]
    with pytest.raises(sn.ShapeError, match="x.T\\*x"):
        sn.norm(x * x, 2)                      # SymPy builds x**2 for a column vector
    with pytest.raises(sn.ShapeError, match="not square"):
        sn.norm(A * A * x, 2)
    with pytest.raises(sn.ShapeError, match="scalar operation"):
        sn.grad(sp.sin(x), x)                  # not a scalar: SymPy would accept it
