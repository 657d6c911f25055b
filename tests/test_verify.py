"""sn.verify: verdicts on hand derivations, with evidence and counterexamples."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy as sp

import symnorm as sn
from symnorm.cli import main
from symnorm.kernels.evaluate import evaluate
from symnorm.model.atoms import Sigmoid, sigmoid_scalar
from symnorm.model.errors import ParseError

x, a = sn.vector("x"), sn.vector("a")
A, b = sn.matrix("A"), sn.vector("b", "m")
M = sn.matrix("M", "n", "n")


# ---------------------------------------------------------------------------- correct

@pytest.mark.parametrize("hand,f,wrt,status", [
    (r"\frac{x}{\|x\|_2}", sn.norm(x, 2), x, "proved"),
    ("x/norm(x, 2)", sn.norm(x, 2), x, "proved"),
    (r"2A^\top(Ax - b)", sn.norm(A * x - b, 2)**2, x, "proved"),
    (r"2A^T(Ax-b)", sn.norm(A * x - b, 2)**2, x, "proved"),  # no backslash: still LaTeX
    (r"A^\top A x - A^\top b", sn.norm(A * x - b, 2)**2 / 2, x, "proved"),
    (r"\frac{A^\top(Ax - b)}{\|Ax - b\|_2}", sn.norm(A * x - b, 2), x, "proved"),
    (r"(M + M^\top) x", sp.MatMul(x.T, M, x), x, "proved"),
    (r"\operatorname{sign}(x)", sn.norm(x, 1), x, "proved"),
    (r"\frac{x_1}{\|x\|_2}", sn.norm(x, 2), "x_1", "proved"),
    # SymPy does not see that the sum is the norm: the numbers decide, and say so
    (r"\frac{x_1}{\sqrt{\sum_{i=1}^{n} x_i^2}}", sn.norm(x, 2), x[0, 0],
     "equal at random points"),
    (r"\frac{x_2}{\|x\|_2}", sn.norm(x, 2), "x[1]", "proved"),
])
def test_correct_claims_are_equal(hand, f, wrt, status) -> None:
    v = sn.verify(hand, f, wrt)
    assert v.ok and v.status == status, v.text()
    assert v.counterexample is None
    # numeric evidence in several dimensions
    dims = {tuple(sorted(r["dims"].items())) for r in v.numeric}
    assert len(dims) == 3 and all(r["max_abs_error"] < 1e-9 for r in v.numeric)


def test_a_component_written_after_the_gradient_with_wrt_given() -> None:
    """(∇f)_1 with wrt given is the first component, not the whole gradient."""
    v = sn.verify(r"(\nabla f)_1 = \frac{x_1}{\|x\|_2}", sn.norm(x, 2), x)
    assert v.status == "proved" and v.wrt == x[0, 0]
    v = sn.verify(r"(\nabla f)_2 = \frac{x_1}{\|x\|_2}", sn.norm(x, 2), x)
    assert v.status == "wrong"


def test_symbolic_evidence() -> None:
    v = sn.verify(r"\frac{x}{\|x\|_2}", sn.norm(x, 2), x)
    assert v.symbolic == "the claim is the derived result, term for term"
    v = sn.verify(r"\frac{1}{\|x\|_2}\left(I - \frac{x x^\top}{\|x\|_2^2}\right)",
                  sn.norm(x, 2), x, hessian=True)
    assert v.status == "proved" and v.symbolic == "the difference simplifies to 0"
    assert v.summary().startswith("proved: the claim is the Hessian of norm(x, 2)")


# ---------------------------------------------------------------------------- wrong

def test_the_common_component_mistake_has_a_counterexample() -> None:
    v = sn.verify(r"\frac{2 x_1}{\|x\|_2}", sn.norm(x, 2), "x_1")
    assert not v.ok and v.status == "wrong"
    ce = v.counterexample
    assert ce is not None and set(ce.values) == {"x"} and set(ce.dims) == {"n"}
    # the numbers are real: recompute both sides by hand at the counterexample
    xs = np.array(ce.values["x"])
    assert len(xs) == ce.dims["n"]
    assert float(ce.hand) == pytest.approx(2 * xs[0] / np.linalg.norm(xs))
    assert float(ce.reference) == pytest.approx(xs[0] / np.linalg.norm(xs))
    assert "counterexample at n = 2, x = (" in v.text()


def test_non_commuting_matrices() -> None:
    # with a non-square A the swapped product does not even have a shape
    v = sn.verify(r"2(Ax - b)A^\top", sn.norm(A * x - b, 2)**2, x)
    assert v.status == "wrong" and v.counterexample is None
    assert v.shape_mismatch.startswith("shape mismatch in '2(Ax - b)A^\\top'")
    # with a square M it does, and the numbers tell the two orders apart
    v = sn.verify(r"M M^\top x", sn.norm(M * x, 2)**2 / 2, x)
    assert v.status == "wrong"
    ce = v.counterexample
    Mv, xv = np.array(ce.values["M"]), np.array(ce.values["x"])
    np.testing.assert_allclose(np.ravel(ce.hand), Mv @ Mv.T @ xv)
    np.testing.assert_allclose(np.ravel(ce.reference), Mv.T @ Mv @ xv)


def test_shape_mismatch_of_a_well_formed_claim() -> None:
    v = sn.verify(r"x^\top", sn.norm(x, 2)**2, x)
    assert v.status == "wrong"
    assert "row vector of shape (1, n)" in v.shape_mismatch
    assert "column vector of shape (n, 1)" in v.shape_mismatch


def test_wrong_hessian() -> None:
    v = sn.verify(r"\frac{I}{\|x\|_2}", sn.norm(x, 2), x, hessian=True)
    assert v.status == "wrong" and v.kind == "hessian"
    assert np.shape(v.counterexample.hand) == np.shape(v.counterexample.reference)


# ---------------------------------------------------------------------------- kinks

def test_equal_almost_everywhere_at_a_kink() -> None:
    # d|x_1|/dx_1 = x_1/|x_1| everywhere but at x_1 = 0, where the derived sign is 0
    v = sn.verify(r"\frac{x_1}{|x_1|}", sn.norm(x, 1), "x_1")
    assert v.ok and v.status == "equal almost everywhere"
    assert v.where == "x_1 = 0"
    kink = [r for r in v.numeric if "kink" in r]
    assert kink and kink[0]["derived"] == 0.0 and kink[0]["claim"] == "nan"


def test_a_norm_kink() -> None:
    # (x^T x / ||x||^2) 2x is 2x wherever x != 0; at x = 0 it is 0/0
    v = sn.verify(r"\frac{x^\top x}{\|x\|_2^2} 2x", sn.norm(x, 2)**2, x)
    assert v.status == "equal almost everywhere" and v.where == "x = 0"
    assert "except where x = 0" in v.summary()


# ---------------------------------------------------------------------------- lines

BLOCK = r"""\begin{aligned}
\nabla_x \tfrac12 \|Ax - b\|_2^2 &= \tfrac12 \cdot 2 A^\top (Ax - b) \\
&= A^\top A x + A^\top b \\
&= A^\top A x - A^\top b
\end{aligned}"""


def test_first_wrong_line() -> None:
    v = sn.verify(BLOCK, sn.norm(A * x - b, 2)**2 / 2, x)
    assert v.status == "wrong" and v.first_wrong == 1
    assert [line.status for line in v.lines] == ["proved", "wrong", "proved"]
    assert v.counterexample is v.lines[1].counterexample is not None
    assert "line 2" in v.summary()
    data = v.to_dict()
    assert data["first_wrong"] == 1 and len(data["claim"]) == 3


def test_all_lines_right() -> None:
    v = sn.verify(["A.T*(A*x - b)", r"A^\top A x - A^\top b"], sn.norm(A * x - b, 2)**2 / 2, x)
    assert v.ok and v.first_wrong is None and len(v.lines) == 2


def test_a_line_that_does_not_parse_is_bad_input() -> None:
    with pytest.raises(ParseError, match="line 2 of the derivation"):
        sn.verify(r"g &= 2x \\ &= 2 \foo", sn.norm(x, 2)**2, x)


# ---------------------------------------------------------------------------- backprop

def test_hand_written_backprop_rule() -> None:
    # one sigmoid neuron, squared loss: dL/dw = (y - t) y (1 - y) a, y = sigma(w^T a)
    w, t = sn.vector("w"), sn.scalar("t")
    y = sigmoid_scalar(sn.ScalarOf(w.T * a))
    loss = (y - t)**2 / 2
    hand = r"(\sigma(w^\top a) - t)\, \sigma(w^\top a)\, (1 - \sigma(w^\top a))\, a"
    assert sn.verify(hand, loss, w).status == "proved"
    wrong = r"(\sigma(w^\top a) - t)\, \sigma(w^\top a)\, a"  # forgot sigma'
    assert sn.verify(wrong, loss, w).status == "wrong"
    # the same in vector form, a layer W: grad_W of ||sigma(W a) - c||^2/2 is not a vector
    W, c = sn.matrix("W"), sn.vector("c", "m")
    v = sn.verify(r"\sigma(W a)", sn.norm(Sigmoid(W * a) - c, 2)**2 / 2, a)
    assert v.status == "wrong"


# ---------------------------------------------------------------------------- display

def test_displays() -> None:
    v = sn.verify(r"\frac{2 x_1}{\|x\|_2}", sn.norm(x, 2), "x_1")
    tex = v._repr_latex_()  # Jupyter shows the claims rendered, never their source
    assert tex.startswith("$$") and r"\frac{\partial}{\partial x_{1}}" in tex
    assert r"\textbf{wrong}" in tex and "counterexample" in tex and r"\frac{2 x_{1}}" in tex
    assert "DiagMatrix" not in tex and "[0, 0]" not in v.text()
    json.dumps(v.to_dict())


def test_evaluator_agrees_with_numpy(rng) -> None:
    A3, x3 = sn.matrix("A", 3, 2), sn.vector("x", 2)
    Av, xv = rng.normal(size=(3, 2)), rng.normal(size=2)
    e = A3.T * (A3 * x3) / sn.norm(A3 * x3, 3)
    want = Av.T @ (Av @ xv) / np.sum(np.abs(Av @ xv)**3)**(1 / 3)
    np.testing.assert_allclose(np.ravel(evaluate(e, {A3: Av, x3: xv})), want)


# ---------------------------------------------------------------------------- CLI

def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_verify_right(capsys) -> None:
    code, out, _ = run(capsys, "verify", r"\frac{x}{\|x\|_2}", "--of", "norm(x, 2)",
                       "--wrt", "x")
    assert code == 0 and out.startswith("proved:")


def test_cli_verify_wrong_prints_the_counterexample(capsys) -> None:
    code, out, _ = run(capsys, "verify", r"\frac{2x_1}{\|x\|_2}", "--of", "norm(x, 2)",
                       "--wrt", "x_1")
    assert code == 1 and out.startswith("wrong:") and "counterexample at n = 2, x = (" in out


def test_cli_verify_json_and_latex(capsys) -> None:
    code, out, _ = run(capsys, "verify", "2(Ax-b)A^T", "--of", "norm(A*x - b, 2)**2",
                       "--wrt", "x", "--json")
    data = json.loads(out)
    assert code == 1 and data["status"] == "wrong" and "shape mismatch" in data["shape_mismatch"]
    code, out, _ = run(capsys, "verify", "2*x", "--of", "norm(x, 2)**2", "--wrt", "x",
                       "--latex")
    assert code == 0 and r"\textbf{proved}" in out and r"\nabla_{x}" in out


def test_cli_verify_bad_input(capsys) -> None:
    code, _, err = run(capsys, "verify", r"\frac{x}{\|x\|_2", "--of", "norm(x, 2)",
                       "--wrt", "x")
    assert code == 2 and "unexpected end of text" in err and "^" in err
    code, _, err = run(capsys, "verify", "x", "--of", "norm(x, 2)", "--wrt", "z")
    assert code == 2 and "does not occur" in err


# ---------------------------------------------------------------------------- every form

W2 = sn.matrix("W")
DERIVED = [
    sn.norm(A * x - b, 2), sn.norm(x, 1), sn.norm(x, 3), sn.norm(x, sp.Rational(3, 2)),
    sn.norm(x, sp.oo), sn.norm(x, 2)**2 / 2 + sn.norm(x, 1),
    sn.norm(Sigmoid(W2 * x) - b, 2)**2 / 2, sp.MatMul(x.T, M, x), sn.norm(x, 2) * sn.norm(x, 1),
]


@pytest.mark.parametrize("f", DERIVED, ids=[sn.to_text(f) for f in DERIVED])
def test_symnorms_own_results_written_as_latex_are_equal(f) -> None:
    # the derived gradient, printed as LaTeX and read back, is "equal"; twice it is wrong
    d = sn.grad(f, x, check=False)
    tex = sn.latex(d.result)
    if "e_{k}" in tex:  # sign(x_k) e_k, k the argmax, has no LaTeX the reader can take back
        claim, wrong = d.result, 2 * d.result
    else:
        claim, wrong = tex, rf"2 \left({tex}\right)" if "+" in tex or "-" in tex else f"2 {tex}"
    assert sn.verify(claim, f, x).status == "proved", tex
    doubled = sn.verify(wrong, f, x)
    assert doubled.status == "wrong" and doubled.counterexample is not None


def test_a_scalar_claimed_for_a_vector_gradient_says_which_shapes() -> None:
    x = sn.vector("x")
    v = sn.verify(r"\nabla_x \|x\|_2 = 0", sn.norm(x, 2), x)
    assert v.status == "wrong"
    text = str(v)
    assert text.splitlines()[0] == "wrong: a shape mismatch"
    assert ("the claim 0 is a scalar, but the gradient of norm(x, 2) with respect to x is "
            "a column vector of shape (n, 1)") in text


def test_a_wrong_claim_with_names_the_function_lacks_says_how_it_read_them() -> None:
    # r for Ax - b, s for softmax(x): each is read as a variable of its own
    A, x, b = sn.matrix("A"), sn.vector("x"), sn.vector("b", "m")
    v = sn.verify(r"\nabla_x \|Ax-b\|_2 = A^\top r/\|r\|_2", sn.norm(A * x - b, 2), x)
    assert v.status == "wrong"
    assert v.reason == ("r does not occur in norm(A*x - b, 2), so the claim reads it as an "
                        "independent variable; write it out in terms of A, b, x")
    assert "  note: r does not occur" in str(v)
    right = sn.verify(r"\nabla_x \|Ax-b\|_2 = A^\top (Ax-b)/\|Ax-b\|_2",
                      sn.norm(A * x - b, 2), x)
    assert right.ok and right.reason is None
