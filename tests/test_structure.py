"""Declared matrix structure: sn.matrix(..., symmetric=..., positive_definite=...)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import sympy as sp

import symnorm as sn
from symnorm.model.atoms import ScalarOf
from symnorm.model.symbols import StructuredMatrix, dim, structure_of


def test_structure_is_closed_under_implication() -> None:
    M = sn.matrix("M", "n", "n", symmetric=True, positive_definite=True)
    assert structure_of(M) == {"symmetric", "positive_definite", "positive_semidefinite"}
    assert structure_of(sn.matrix("P", positive_semidefinite=True)) == {
        "positive_semidefinite", "symmetric"}
    assert structure_of(sn.matrix("D", 3, diagonal=True)) == {"diagonal", "symmetric"}
    assert structure_of(sn.matrix("Q", orthogonal=True)) == {"orthogonal"}
    assert structure_of(sn.matrix("A")) == frozenset()
    assert structure_of(sn.vector("x")) == frozenset()
    assert structure_of(sp.Symbol("t")) == frozenset()
    assert structure_of(M.T) == structure_of(M)  # M.T is M itself


def test_structure_needs_a_square_matrix() -> None:
    with pytest.raises(sn.ShapeError, match="3x4 is not square"):
        sn.matrix("B", 3, 4, symmetric=True)
    with pytest.raises(sn.ShapeError, match="not square"):
        sn.matrix("B", "m", "n", positive_definite=True)
    assert sn.matrix("S", symmetric=True).shape == (dim("n"),) * 2
    assert sn.matrix("S", 4, symmetric=True).shape == (4, 4)
    assert sn.matrix("S", "k", symmetric=True).shape == (dim("k"),) * 2


def test_structured_matrix_is_a_matrix_symbol_that_survives_rebuilding() -> None:
    M = sn.matrix("M", symmetric=True)
    assert isinstance(M, sp.MatrixSymbol) and isinstance(M, StructuredMatrix)
    assert M.name == "M"
    assert pickle.loads(pickle.dumps(M)) == M
    n = dim("n")
    M3 = M.subs(n, 3)
    assert M3.shape == (3, 3) and structure_of(M3) == {"symmetric"}
    assert M != sn.matrix("M", "n", "n")  # the declaration is part of the symbol


def test_symmetric_transpose_and_explicit_entries() -> None:
    M = sn.matrix("M", 2, symmetric=True)
    x = sn.vector("x", 2)
    assert M.T == M
    assert (x.T * M).T == M * x
    E = M.as_explicit()
    assert E[0, 1] == E[1, 0]
    D = sn.matrix("D", 3, diagonal=True).as_explicit()
    assert D[0, 1] == 0 and D[2, 1] == 0 and D[1, 1] != 0
    Q = sn.matrix("Q", orthogonal=True)
    assert Q.I == Q.T


def test_quadratic_form_gradient_with_symmetric_matrix() -> None:
    M = sn.matrix("M", symmetric=True)
    x = sn.vector("x")
    d = sn.grad(x.T * M * x, x, check=False)
    assert d.result == 2 * M * x
    assert sn.to_text(d.result) == "2*M*x"
    h = sn.hessian(x.T * M * x, x, check=False)
    assert sn.to_text(h.result) == "2*M"


def test_quadratic_form_without_declaration_keeps_both_terms() -> None:
    M = sn.matrix("M", "n", "n")
    x = sn.vector("x")
    assert sn.to_text(sn.grad(x.T * M * x, x, check=False).result) == "(M + M.T)*x"


def test_mahalanobis_gradient_and_hessian() -> None:
    M = sn.matrix("M", symmetric=True, positive_definite=True)
    x = sn.vector("x")
    f = sp.sqrt(ScalarOf(x.T * M * x))
    g = sn.grad(f, x, check=False).result
    assert sn.to_text(g) == "M*x/sqrt(x.T*M*x)"
    assert g == M * x / sp.sqrt(ScalarOf(x.T * M * x))
    h = sn.hessian(f, x, check=False).result
    assert sn.to_text(h) == "(M - M*x*x.T*M/(x.T*M*x))/sqrt(x.T*M*x)"
    # numbers against hand-written numpy
    rng = np.random.default_rng(0)
    R = rng.standard_normal((4, 4))
    Mv = R @ R.T + 4 * np.eye(4)
    xv = rng.standard_normal(4)
    q = xv @ Mv @ xv
    want_g = Mv @ xv / np.sqrt(q)
    want_h = Mv / np.sqrt(q) - np.outer(Mv @ xv, Mv @ xv) / q ** 1.5
    np.testing.assert_allclose(sn.kernel(g, [x, M])(xv, Mv), want_g, rtol=1e-12)
    np.testing.assert_allclose(sn.kernel(h, [x, M])(xv, Mv), want_h, rtol=1e-12)


def test_mismatched_integer_shapes_raise_symnorm_shape_error_naming_both() -> None:
    from sympy.matrices.exceptions import ShapeError as SympyShapeError

    x, b, A = sn.vector("x", 3), sn.vector("b", 4), sn.matrix("A", 3, 3)
    with pytest.raises(sn.ShapeError, match=r"in x - b: x is 3x1, b is 4x1") as info:
        x - b
    assert isinstance(info.value, SympyShapeError)  # code catching SymPy's still works
    with pytest.raises(sn.ShapeError, match=r"in A\*x - b: A\*x is 3x1, b is 4x1"):
        A * x - b
    with pytest.raises(sn.ShapeError, match=r"in -x - b: x is 3x1, b is 4x1"):
        -x - b
    with pytest.raises(sn.ShapeError, match=r"cannot multiply A by b: A is 3x3 and b is 4x1"):
        A * b
    with pytest.raises(sn.ShapeError, match=r"x .\* b: x is 3x1, b is 4x1"):
        sp.HadamardProduct(x, b)


def test_orthogonal_matrix_cancels_with_its_transpose() -> None:
    Q = sn.matrix("Q", orthogonal=True)
    x = sn.vector("x")
    assert sn.grad(sn.norm(Q * x, 2) ** 2, x, check=False).result == 2 * x
    assert sn.to_text(sn.hessian(ScalarOf(x.T * Q.T * Q * x), x, check=False).result) == "2*I"
    A = sn.matrix("A", "n", "n")  # not declared: nothing cancels
    assert sn.to_text(sn.grad(sn.norm(A * x, 2) ** 2, x, check=False).result) == "2*A.T*A*x"


def test_diagonal_matrix_is_symmetric_in_results() -> None:
    D = sn.matrix("D", diagonal=True)
    x = sn.vector("x")
    assert sn.to_text(sn.grad(x.T * D * x, x, check=False).result) == "2*D*x"
    assert sn.to_text(sn.grad(sn.norm(D * x, 1), x, check=False).result) == "D*sign(D*x)"
    assert sn.to_text(sn.hessian(sn.norm(D * x, 1), x, check=False).result) == "0"


def test_mahalanobis_passes_the_default_check_with_a_declared_spd_matrix() -> None:
    M = sn.matrix("M", symmetric=True, positive_definite=True)
    x = sn.vector("x")
    d = sn.grad(sp.sqrt(x.T * M * x), x)  # the Python form: SymPy's matrix power
    assert d.report is not None and d.report.ok
    assert sn.to_text(d.result) == "M*x/sqrt(x.T*M*x)"
    assert repr(d) == "grad_x(sqrt(x.T*M*x)) = M*x/sqrt(x.T*M*x)"


def test_check_value_refuses_values_that_break_the_declaration() -> None:
    from symnorm.model.errors import ArgumentError

    S = sn.matrix("S", 3, symmetric=True)
    R = np.arange(9.0).reshape(3, 3)
    S.check_value(R + R.T)
    S.check_value(np.stack([R + R.T, np.eye(3)]))  # a batch
    with pytest.raises(ArgumentError, match=r"S is declared symmetric.*entry 4\)"):
        S.check_value(R)
    D = sn.matrix("D", 3, diagonal=True)
    D.check_value(np.diag([1.0, 2.0, 3.0]))
    with pytest.raises(ArgumentError, match="off the diagonal"):
        D.check_value(np.diag([1.0, 2.0, 3.0]) + 1e-3)
    Q = sn.matrix("Q", 2, orthogonal=True)
    c, s = np.cos(0.3), np.sin(0.3)
    Q.check_value(np.array([[c, -s], [s, c]]))
    with pytest.raises(ArgumentError, match=r"Q.T\*Q = I"):
        Q.check_value(2 * np.eye(2))


# -- gradients in the space of symmetric (diagonal) matrices ---------------------------------

N3 = 3
XS = sn.matrix("X", N3, N3, symmetric=True)
DD = sn.matrix("D", N3, N3, diagonal=True)
A3 = sn.matrix("A", N3, N3)
RNG = np.random.default_rng(5)


def _symmetric(rng: np.random.Generator) -> np.ndarray:
    r = rng.standard_normal((N3, N3))
    return (r + r.T) / 2


def _space_gradient(f, M: np.ndarray, diagonal: bool = False, h: float = 1e-6) -> np.ndarray:
    """The gradient in the space by definition: the R in the space with <R, T> = f'(M; T)
    for T over a basis (E_ii, and E_ij + E_ji off the diagonal), by central differences."""
    R = np.zeros_like(M)
    for i in range(N3):
        for j in range(i, N3):
            if diagonal and i != j:
                continue
            T = np.zeros_like(M)
            T[i, j] = T[j, i] = 1.0
            slope = (f(M + h * T) - f(M - h * T)) / (2 * h)
            R[i, j] = R[j, i] = slope if i == j else slope / 2  # <R, T> = 2 R_ij
    return R


def test_symmetric_gradient_of_a_trace() -> None:
    d = sn.grad(sn.trace(A3 * XS), XS)
    assert sn.to_text(d.result) == "(A + A.T)/2"
    assert d.report.ok
    assert d.convention.startswith("X is declared symmetric: its gradient is the one in the "
                                   "space of symmetric matrices, sym(G) = (G + G.T)/2")
    assert "Matrix Cookbook's G + G.T - G .* I" in d.convention
    assert d.text().splitlines()[0] == "d/d_X(trace(A*X)) = A.T    [linearity of the trace]"
    assert d.steps[-1].rule == "symmetric gradient"
    assert "convention: X is declared symmetric" in d.text()
    assert r"\frac{\partial}{\partial X} \operatorname{tr}\left(A X \right) &= A^\top" in \
        d.latex()
    assert r"\nabla_{X} \operatorname{tr}\left(A X \right) &= \frac{1}{2}\left(A + A^\top" \
        r"\right)" in d.latex()
    assert d.to_dict()["convention"] == d.convention
    Av, M = RNG.standard_normal((N3, N3)), _symmetric(RNG)
    got = d.kernel()(X=M, A=Av)
    np.testing.assert_allclose(got, (Av + Av.T) / 2, rtol=1e-15)
    np.testing.assert_allclose(got, _space_gradient(lambda Y: np.trace(Av @ Y), M), atol=1e-8)


def test_symmetric_gradient_of_a_frobenius_distance_keeps_the_step_symmetric() -> None:
    d = sn.grad(sn.norm(XS - A3, "fro") ** 2, XS)
    assert sn.to_text(d.result) == "2*(X - (A + A.T)/2)"
    Av, M = RNG.standard_normal((N3, N3)), _symmetric(RNG)
    got = d.kernel()(X=M, A=Av)
    np.testing.assert_allclose(got, _space_gradient(
        lambda Y: np.sum((Y - Av) ** 2), M), rtol=1e-7, atol=1e-8)
    step = M - 0.1 * got  # a gradient step stays in the symmetric matrices
    np.testing.assert_array_equal(step, step.T)
    # gradient descent converges to the nearest symmetric matrix, (A + A^T)/2
    Y = M.copy()
    for _ in range(200):
        Y = Y - 0.25 * d.kernel()(X=Y, A=Av)
    np.testing.assert_allclose(Y, (Av + Av.T) / 2, atol=1e-12)


@pytest.mark.parametrize("f,text", [
    (sn.trace(A3 * DD), "A.T .* I"),
    (sn.norm(DD - A3, "fro") ** 2, "2*(D - (I .* A))"),
    (sn.trace(DD * DD), "2*D"),
])
def test_diagonal_gradients(f, text) -> None:
    d = sn.grad(f, DD)
    assert sn.to_text(d.result) == text and d.report.ok
    assert d.convention.startswith("D is declared diagonal: its gradient is the one in the "
                                   "space of diagonal matrices, diag(G) = G .* I")
    Av, Dv = RNG.standard_normal((N3, N3)), np.diag(RNG.standard_normal(N3))
    numeric = {"A.T .* I": lambda Y: np.trace(Av @ Y),
               "2*(D - (I .* A))": lambda Y: np.sum((Y - Av) ** 2),
               "2*D": lambda Y: np.trace(Y @ Y)}[text]
    k = d.kernel()
    got = k(**{name: {"D": Dv, "A": Av}[name] for name in k.arg_names})
    np.testing.assert_allclose(got, _space_gradient(numeric, Dv, diagonal=True), atol=1e-8)
    assert np.count_nonzero(got - np.diag(np.diag(got))) == 0


def test_positive_definite_is_symmetric_and_symmetric_results_stay() -> None:
    S = sn.matrix("S", "n", "n", positive_definite=True)
    x = sn.vector("x")
    d = sn.grad(ScalarOf(x.T * S * x), S)
    assert sn.to_text(d.result) == "x*x.T"  # already symmetric: sym(G) = G
    assert d.convention.startswith("S is declared symmetric")
    assert sn.grad(sn.trace(A3 * XS), A3).convention is None  # only the structured wrt
    Q = sn.matrix("Q", 3, 3, orthogonal=True)
    assert sn.grad(sn.trace(A3 * Q), Q).convention is None  # a manifold, not a space


def test_verify_calls_the_cookbook_form_wrong_and_names_the_convention() -> None:
    f = sn.trace(A3 * XS)
    cookbook = A3 + A3.T - sp.HadamardProduct(A3, sp.Identity(N3))
    v = sn.verify(cookbook, f, XS)
    assert v.status == "wrong" and v.counterexample is not None
    cx = v.counterexample
    Av, Xv = np.array(cx.values["A"]), np.array(cx.values["X"])
    np.testing.assert_array_equal(Xv, Xv.T)  # the counterexample is in the space
    np.testing.assert_allclose(cx.reference, (Av + Av.T) / 2)
    np.testing.assert_allclose(cx.hand, Av + Av.T - np.diag(np.diag(Av)))
    assert v.convention_note.startswith("the claim is G + G.T - G .* I (the Matrix Cookbook's "
                                        "form for a symmetric X")
    assert "counts each off-diagonal entry twice" in v.text()
    assert "convention: X is declared symmetric" in v.text()
    assert "Matrix Cookbook" in v.latex() and v.to_dict()["convention_note"]
    # the Cookbook's form for the squared distance too
    G = 2 * (XS - A3)
    v = sn.verify(G + G.T - sp.HadamardProduct(G, sp.Identity(N3)),
                  sn.norm(XS - A3, "fro") ** 2, XS)
    assert v.status == "wrong" and "Matrix Cookbook" in v.convention_note
    # the unconstrained G: its symmetric part is the gradient
    v = sn.verify(A3.T, f, XS)
    assert v.status == "wrong"
    assert v.convention_note.startswith("the claim's symmetric part is the gradient")
    assert sn.verify("(A + A.T)/2", f, XS).status == "proved"
    v = sn.verify(A3.T, sn.trace(A3 * DD), DD)
    assert v.status == "wrong" and v.convention_note.startswith("the claim's diagonal is")


def test_check_in_the_space_accepts_sym_and_refuses_the_cookbook_form() -> None:
    f = sn.trace(A3 * XS)
    assert sn.check(f, XS, grad=(A3 + A3.T) / 2).ok
    assert not sn.check(f, XS, grad=A3 + A3.T - sp.HadamardProduct(A3, sp.Identity(N3))).ok
