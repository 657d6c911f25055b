r"""sn.verify on Jacobians of vector-valued maps: the claim's left side (``\frac{\partial
F}{\partial x}`` of a vector F, ``J_x F``, ``D_x F``, ``\partial (x/\|x\|_2)/\partial x``)
or a vector-valued F given makes the claim a Jacobian, compared with
``sn.jacobian(F, wrt).result`` in numerator layout; its transpose is "equal up to layout"
in denominator layout. The textbook Jacobians (x/‖x‖₂, softmax, Ax + b, sigmoid) are
checked both ways, against numpy finite differences written here.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symnorm as sn
from symnorm.cli import main
from symnorm.model.errors import ParseError, UnsupportedExpressionError

x, b = sn.vector("x"), sn.vector("b", "m")
A = sn.matrix("A")
M = sn.matrix("M", "n", "n")

UNIT = r"\frac{1}{\|x\|_2}\left(I - \frac{x x^\top}{\|x\|_2^2}\right)"
S_ = r"\operatorname{softmax}(x)"
SOFTMAX = rf"\operatorname{{diag}}({S_}) - {S_} {S_}^\top"
SIGMOID = r"\operatorname{diag}(\sigma(x) \odot (1 - \sigma(x)))"


def fd_jacobian(F, u: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences of a numpy map, rows are outputs."""
    cols = []
    for j in range(u.size):
        e = np.zeros_like(u)
        e[j] = h
        cols.append((F(u + e) - F(u - e)) / (2 * h))
    return np.array(cols).T


def np_softmax(u: np.ndarray) -> np.ndarray:
    e = np.exp(u - u.max())
    return e / e.sum()


# ------------------------------------------------------------------------- correct claims

@pytest.mark.parametrize("claim,F,wrt,status", [
    # the map written on the left
    (rf"\partial (x/\|x\|_2)/\partial x = {UNIT}", None, None, "proved"),
    (rf"\frac{{\partial}}{{\partial x}} \frac{{x}}{{\|x\|_2}} = {UNIT}", None, None, "proved"),
    (rf"J_x \frac{{x}}{{\|x\|_2}} = {UNIT}", None, None, "proved"),
    (rf"J_x {S_} = {SOFTMAX}", None, None, "proved"),
    (rf"J_{{x}} {S_} = {SOFTMAX}", None, None, "proved"),
    (r"D_x (Ax + b) = A", None, None, "proved"),
    (r"\mathbf{J}_{x} (Ax + b) = A", None, None, "proved"),
    (rf"J_x \sigma(x) = {SIGMOID}", None, None, "equal at random points"),
    (r"\nabla_x (Ax + b) = A", None, None, "proved"),
    ("∂(x/‖x‖₂)/∂x = (I - x xᵀ/‖x‖₂²)/‖x‖₂", None, None, "proved"),
    # the map given
    (r"\frac{\partial F}{\partial x} = A", A * x + b, None, "proved"),
    (r"\frac{\partial F}{\partial x^\top} = A", A * x + b, None, "proved"),
    (r"J_x F = A", A * x + b, x, "proved"),
    ("A", A * x + b, x, "proved"),
    ("diag(softmax(x)) - softmax(x)*softmax(x).T", sn.softmax(x), x, "proved"),
    (UNIT, x / sn.norm(x, 2), "x", "proved"),
    (SIGMOID, sn.parse("sigmoid(x)"), x, "equal at random points"),
    (r"\frac{\partial F}{\partial x} = A", "F(x) = A*x + b", None, "proved"),
    (r"\frac{\partial F}{\partial x} = A", r"F(x) = A x + b", None, "proved"),
])
def test_textbook_jacobians_hold(claim: str, F, wrt, status: str) -> None:
    v = sn.verify(claim, F, wrt)
    assert (v.status, v.kind) == (status, "jacobian"), v.text()
    assert v.layout is None and v.counterexample is None
    assert len({tuple(sorted(r["dims"].items())) for r in v.numeric}) == 3
    assert all(r["max_abs_error"] < 1e-9 for r in v.numeric)


def test_the_reference_is_sn_jacobian() -> None:
    for F in (A * x + b, sn.softmax(x), x / sn.norm(x, 2), sn.parse("sigmoid(x)")):
        v = sn.verify(sn.jacobian(F, x).result, F, x)
        assert v.status == "proved" and v.reference == sn.jacobian(F, x).result


# ------------------------------------------------------------------------- layouts

@pytest.mark.parametrize("claim,F", [
    (r"\frac{\partial F}{\partial x} = A^\top", A * x + b),     # non-square: by its shape
    (r"\frac{\partial F}{\partial x} = M^\top", M * x),          # square: by its numbers
    (r"\frac{\partial (Ax + b)^\top}{\partial x} = A^\top", None),
    (r"\nabla_x F = A^\top", A * x + b),
    ("A.T", A * x + b),
])
def test_the_transpose_is_equal_up_to_layout_in_denominator_layout(claim: str, F) -> None:
    v = sn.verify(claim, F, None if F is None else x)
    assert (v.status, v.layout, v.ok) == ("equal up to layout", "denominator", True)
    assert "denominator layout" in v.summary() and "a row for each output" in v.summary()
    assert v.to_dict()["layout"] == "denominator"


def test_a_symmetric_jacobian_is_its_own_transpose() -> None:
    """softmax and x/‖x‖₂ have symmetric Jacobians: either layout is the same matrix."""
    for claim in (rf"J_x {S_} = \left({SOFTMAX}\right)^\top",
                  rf"J_x \frac{{x}}{{\|x\|_2}} = \left({UNIT}\right)^\top"):
        v = sn.verify(claim)
        assert v.ok and v.layout is None, v.text()


def test_the_jacobian_of_a_scalar_is_its_transposed_gradient() -> None:
    """J_x f of a scalar f is a row (numerator layout): the gradient is its transpose."""
    v = sn.verify(r"J_x \|x\|_2 = \frac{x^\top}{\|x\|_2}")
    assert (v.status, v.kind) == ("proved", "jacobian")
    v = sn.verify(r"J_x \|x\|_2 = \frac{x}{\|x\|_2}")
    assert (v.status, v.layout) == ("equal up to layout", "denominator")
    v = sn.verify(r"\nabla_x \|x\|_2 = \frac{x^\top}{\|x\|_2}")  # a gradient written as a row
    assert (v.status, v.layout, v.kind) == ("equal up to layout", "numerator", "gradient")


# ------------------------------------------------------------------------- wrong claims

@pytest.mark.parametrize("claim,F,np_F", [
    (r"\partial (x/\|x\|_2)/\partial x = I - \frac{x x^\top}{\|x\|_2^2}", None,
     lambda u: u / np.linalg.norm(u)),
    (rf"J_x {S_} = \operatorname{{diag}}({S_})", None, np_softmax),
    (r"J_x \sigma(x) = \operatorname{diag}(\sigma(x))", None,
     lambda u: 1 / (1 + np.exp(-u))),
])
def test_wrong_textbook_jacobians_have_a_counterexample(claim: str, F, np_F) -> None:
    v = sn.verify(claim, F)
    assert (v.status, v.kind) == ("wrong", "jacobian")
    ce = v.counterexample
    u = np.asarray(ce.values["x"], dtype=float).ravel()
    np.testing.assert_allclose(np.asarray(ce.reference, dtype=float), fd_jacobian(np_F, u),
                               atol=1e-7)
    assert ce.differing()
    assert "is not the Jacobian of" in v.summary()


def test_a_wrong_affine_jacobian_against_numpy() -> None:
    v = sn.verify(r"\frac{\partial F}{\partial x} = 2A", A * x + b)
    ce = v.counterexample
    a = np.asarray(ce.values["A"], dtype=float)
    bb = np.asarray(ce.values["b"], dtype=float).ravel()
    u = np.asarray(ce.values["x"], dtype=float).ravel()
    np.testing.assert_allclose(np.asarray(ce.reference, dtype=float),
                               fd_jacobian(lambda t: a @ t + bb, u), atol=1e-8)
    np.testing.assert_allclose(np.asarray(ce.hand, dtype=float), 2 * a)


def test_shapes_that_fit_neither_layout() -> None:
    v = sn.verify(r"\frac{\partial F}{\partial x} = x", A * x + b)
    assert v.status == "wrong" and v.shape_mismatch == (
        "shape mismatch: the claim x is a column vector of shape (n, 1), but the Jacobian of "
        "A*x + b with respect to x is a matrix of shape (m, n)")
    v = sn.verify(r"\frac{\partial F}{\partial x} = b x^\top", A * x + b)  # (m, n): wrong
    assert v.status == "wrong" and v.counterexample is not None


# ------------------------------------------------------------------------- what is refused

@pytest.mark.parametrize("claim,F,wrt,options,message,column", [
    (r"\frac{\partial F}{\partial x_i} = A", A * x + b, None, {},
     "one column of the Jacobian of A*x + b", 28),
    (r"(\nabla F)_1 = A", A * x + b, x, {}, "one column of the Jacobian", 1),
    (r"\nabla^2 F = 0", A * x + b, None, {}, "the Hessian of A*x + b, a map with", 1),
])
def test_refused_claims_say_why_at_their_place(claim: str, F, wrt, options, message: str,
                                               column: int | None) -> None:
    with pytest.raises(ParseError) as info:
        sn.verify(claim, F, wrt, **options)
    assert message in str(info.value)
    if column is not None:
        assert f"column {column}" in str(info.value).splitlines()[0]


@pytest.mark.parametrize("F,wrt,options,message", [
    (A * x + b, x, {"hessian": True}, "has three indices, which symnorm does not form"),
    (A * x + b, "x_1", {}, "one column of the Jacobian"),
    (A * x + b, A, {}, "jacobian() with respect to the"),
    (x * x.T, x, {}, "which is a nxn matrix: its Jacobian is a tensor"),
])
def test_refused_without_a_left_side(F, wrt, options, message: str) -> None:
    with pytest.raises(UnsupportedExpressionError) as info:
        sn.verify("A", F, wrt, **options)
    assert message in str(info.value)


def test_a_left_side_about_another_map_is_an_error() -> None:
    with pytest.raises(ParseError, match="the left side differentiates softmax"):
        sn.verify(r"J_x \operatorname{softmax}(x) = A", A * x + b)


# ------------------------------------------------------------------------- the verdict shown

def test_the_verdict_shows_a_jacobian() -> None:
    v = sn.verify(r"\frac{\partial F}{\partial x} = A^\top", A * x + b)
    assert v.kind == "jacobian" and v.to_dict()["kind"] == "jacobian"
    assert r"\frac{\partial}{\partial x}" in v.latex()
    assert "A hand derivation of the Jacobian of" in sn.latex_document([v])
    assert "Jacobian of A*x + b with respect to x" in v.text()
    assert "  derived: A" in v.text().splitlines()


def test_a_chain_of_jacobian_lines() -> None:
    v = sn.verify(rf"J_x {S_} &= {SOFTMAX} \\ &= \operatorname{{diag}}({S_})")
    assert v.status == "wrong" and v.first_wrong == 1 and v.kind == "jacobian"


def test_the_command_line(capsys) -> None:
    assert main(["verify", "A.T", "--of", "A*x + b", "--wrt", "x", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["status"], out["layout"], out["kind"]) == \
        ("equal up to layout", "denominator", "jacobian")
    assert main(["verify", "2*A", "--of", "A*x + b", "--wrt", "x"]) == 1
    assert "wrong" in capsys.readouterr().out


# ------------------------------------------------------------------------- documents

def test_a_document_judges_jacobian_claims(tmp_path) -> None:
    path = tmp_path / "maps.tex"
    path.write_text(
        "Let $F(x) = Ax + b$ and $G(x) = \\operatorname{softmax}(x)$.\n"
        "\\begin{equation}\n  \\frac{\\partial F}{\\partial x} = A\n\\end{equation}\n"
        "\\begin{equation}\n  J_F(x) = A^\\top\n\\end{equation}\n"
        "\\begin{align}\n  J_x G &= \\operatorname{diag}(G) - G G^\\top \\\\\n"
        "  &= \\operatorname{diag}(G)\n\\end{align}\n"
        "\\begin{equation}\n  J_\\lambda(w) = \\lambda \\|w\\|_2^2\n\\end{equation}\n")
    report = sn.verify_document(path, shapes={"G": sn.softmax(x)})
    found = [(f.line, f.status) for f in report.findings]
    assert found == [(3, "proved"), (6, "equal up to layout"), (9, "proved"), (10, "wrong")]
    assert report.findings[1].label == "equal up to layout (denominator layout: the transpose)"
    assert "J_lambda" not in report.text()  # a function named J_lambda: a definition


# ------------------------------------------------------------------------- a property

def _maps() -> dict:
    """Each map with its Jacobian written out here (numerator layout)."""
    s = sn.softmax(x)
    norm = sn.norm(x, 2)
    sig = sn.parse("sigmoid(x)", x=x)
    return {
        "affine": (A * x + b, A),
        "softmax": (s, sp.DiagMatrix(s) - s * s.T),
        "unit": (x / norm, (sp.Identity(x.shape[0]) - x * x.T / norm**2) / norm),
        "sigmoid": (sig, sp.DiagMatrix(sp.HadamardProduct(sig, sp.OneMatrix(*x.shape) - sig))),
        "scaled": (M * x, M),
    }


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(["affine", "scaled", "sigmoid", "softmax", "unit"]),
       scale=st.sampled_from([2, 3, -1]), transposed=st.booleans())
def test_a_jacobian_holds_up_to_layout_and_a_multiple_does_not(name: str, scale: int,
                                                               transposed: bool) -> None:
    F, J = _maps()[name]
    claim = J.T if transposed else J
    v = sn.verify(claim, F, x)
    symmetric = name in ("softmax", "unit", "sigmoid")
    assert v.ok
    if transposed and not symmetric:
        assert (v.status, v.layout) == ("equal up to layout", "denominator")
    else:
        assert v.layout is None
    assert sn.verify(scale * claim, F, x).status == "wrong"


@pytest.mark.parametrize("fn, written", [
    (lambda u: sn.layer_norm(u), r"\operatorname{LayerNorm}(x)"),
    (lambda u: sn.rms_norm(u), r"\operatorname{RMSNorm}(x)"),
    (lambda u: sn.layer_norm(u, sn.scalar("eps", positive=True)),
     r"\operatorname{LayerNorm}(x, \epsilon)"),
])
def test_symnorms_own_normalisation_jacobians_read_back_proved(fn, written) -> None:
    # the scale node prints as sqrt(var(x) + eps) and is that formula when the claim is
    # compared: symnorm's own LaTeX, pasted back, is proved, not only sampled
    F = fn(x)
    J = sn.jacobian(F, x).result
    assert sn.verify(rf"J_x {written} = {sn.latex(J)}", F, x).status == "proved"
    text = sn.latex(J).replace(r"\frac{1}{\sqrt", r"\frac{2}{\sqrt", 1)
    assert sn.verify(rf"J_x {written} = {text}", F, x).status == "wrong"
