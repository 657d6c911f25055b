r"""The LaTeX reader on the functions of a whole vector or matrix: every notation read to
the expression the expression language builds, the printer's LaTeX read back, the
notations refused with a message at their position, and a hand claim about each function
verified (a correct one holds, a wrong one is wrong, with numbers from an independent
numpy reference).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import sympy as sp

import symnorm as sn
from symnorm.check.compare import PROVED, SAMPLED, compare, symbols_of
from symnorm.language.latex_functions import index_sum
from symnorm.model.errors import ParseError, ShapeError

x, y, b = sn.vector("x"), sn.vector("y"), sn.vector("b", "m")
A = sn.matrix("A")
M = sn.matrix("M", "n", "n")
eps = sn.scalar("eps")
i = sp.Symbol("i", integer=True)
n = x.shape[0]

# (LaTeX as people write it, the same in the expression language); M is square
NOTATIONS: list[tuple[str, str]] = [
    # softmax, logsumexp
    (r"\operatorname{softmax}(x)", "softmax(x)"),
    (r"\mathrm{softmax}(x)", "softmax(x)"),
    (r"\text{softmax}(x)", "softmax(x)"),
    (r"\operatorname{softmax}\left(W x\right)", "softmax(W*x)"),
    (r"softmax(x)", "softmax(x)"),                     # typed without a backslash
    (r"\operatorname{logsumexp}(x)", "logsumexp(x)"),
    (r"\operatorname{LSE}(x)", "logsumexp(x)"),
    (r"\log\sum_i e^{x_i}", "logsumexp(x)"),
    (r"\log\sum_{i=1}^{n} \exp(x_i)", "logsumexp(x)"),
    (r"\ln\left(\sum_i e^{x_i}\right)", "logsumexp(x)"),
    (r"\log\left(\mathbf{1}^\top e^{x}\right)", "logsumexp(x)"),
    (r"\log \operatorname{sum}(\exp(x))", "logsumexp(x)"),
    # sum, mean, var
    (r"\operatorname{sum}(x)", "sum(x)"),
    (r"\sum_i x_i", "sum(x)"),
    (r"\sum_{i=1}^n x_i", "sum(x)"),
    (r"\sum_{i=1}^{n} x_i", "sum(x)"),
    (r"\sum_i e^{x_i}", "sum(exp(x))"),
    (r"\mathbf{1}^\top x", "sum(x)"),
    (r"x^\top \mathbf{1}", "sum(x)"),
    (r"2\,\mathbf{1}^\top (Ax - b)", "2*sum(A*x - b)"),
    (r"\mathbf{1}^\top A \mathbf{1}", "sum(A)"),
    (r"\operatorname{mean}(x)", "mean(x)"),
    (r"\frac{1}{n}\sum_{i=1}^n x_i", "sum(x)/n"),
    (r"\frac{1}{n}\mathbf{1}^\top x", "sum(x)/n"),
    (r"\operatorname{var}(x)", "var(x)"),
    (r"\operatorname{Var}(x)", "var(x)"),
    # determinant, its logarithm, the inverse, the trace
    (r"\det(M)", "det(M)"),
    (r"\det M", "det(M)"),
    (r"\det\left(M\right)", "det(M)"),
    (r"\operatorname{det}(M)", "det(M)"),
    (r"\det(A^\top A)", "det(A.T*A)"),
    (r"\log\det(M)", "logdet(M)"),
    (r"\log\det M", "logdet(M)"),
    (r"\ln\det M", "logdet(M)"),
    (r"\log\left(\det M\right)", "logdet(M)"),
    (r"\operatorname{logdet}(M)", "logdet(M)"),
    (r"M^{-1}", "inv(M)"),
    (r"M^-1", "inv(M)"),
    (r"\operatorname{inv}(M)", "inv(M)"),
    (r"M^{-\top}", "inv(M.T)"),
    (r"M^{-T}", "inv(M.T)"),
    (r"M^{-\mathsf{T}}", "inv(M.T)"),
    (r"(M^{-1})^\top", "inv(M).T"),
    (r"M^{-1} x", "inv(M)*x"),
    (r"(A^\top A)^{-1} A^\top b", "inv(A.T*A)*A.T*b"),
    (r"\operatorname{tr}(M)", "trace(M)"),
    (r"\operatorname{trace}(M)", "trace(M)"),
    (r"\mathrm{tr}(M)", "trace(M)"),
    (r"\operatorname{Tr}(M)", "trace(M)"),
    (r"\tr(M)", "trace(M)"),
    (r"\operatorname{tr}\left(A^\top A\right)", "trace(A.T*A)"),
    # the normalisation layers
    (r"\operatorname{LayerNorm}(x)", "layer_norm(x)"),
    (r"\operatorname{layer\_norm}(x)", "layer_norm(x)"),
    (r"\text{layer_norm}(x)", "layer_norm(x)"),
    (r"\operatorname{LayerNorm}(x, \epsilon)", "layer_norm(x, eps)"),
    (r"\operatorname{LayerNorm}(x; \epsilon = 10^{-3})", "layer_norm(x, 1e-3)"),
    (r"\operatorname{RMSNorm}(x)", "rms_norm(x)"),
    (r"\operatorname{rms\_norm}(x, 10^{-6})", "rms_norm(x, 1e-6)"),
    # elementwise maps, diag
    (r"\sigma(x)", "sigmoid(x)"),
    (r"\sigma(W x)", "sigmoid(W*x)"),
    (r"\operatorname{sigmoid}(x)", "sigmoid(x)"),
    (r"\operatorname{ReLU}(x)", "relu(x)"),
    (r"\operatorname{softplus}(x)", "softplus(x)"),
    (r"\operatorname{relu}(x)^2", "relu(x) .^ 2"),
    (r"\operatorname{diag}(x)", "diag(x)"),
    (r"\diag(\sigma(x))", "diag(sigmoid(x))"),
    # Unicode as typed in a notebook
    ("M⁻¹", "inv(M)"),
    ("M⁻ᵀ", "inv(M.T)"),
    ("∑ᵢ xᵢ", "sum(x)"),
    ("log(∑ᵢ exp(xᵢ))", "logsumexp(x)"),
]


def _shapes(text: str) -> dict:
    """``M`` declared square where the text has it (not the M of RMSNorm)."""
    return {"M": M} if re.search(r"(?<![A-Za-z])M(?![A-Za-z])", text) else {}


@pytest.mark.parametrize("latex,text", NOTATIONS, ids=[t for t, _ in NOTATIONS])
def test_each_notation_reads_as_the_expression_language(latex: str, text: str) -> None:
    shapes = _shapes(latex)
    assert sn.parse_latex(latex, **shapes) == sn.parse(text, **shapes)


def test_sums_that_are_not_a_whole_vector_stay_index_sums() -> None:
    assert sn.parse_latex(r"\sum_{i=2}^{n} x_i") == sp.Sum(x[i - 1, 0], (i, 2, n))
    assert sn.parse_latex(r"\sum_{i=1}^{3} x_i") == sp.Sum(x[i - 1, 0], (i, 1, 3))
    assert sn.parse_latex(r"\sum_i x_i^2") == sp.Sum(x[i - 1, 0] ** 2, (i, 1, n))
    assert sn.parse_latex(r"\sum_i x_i y_i") == sp.Sum(x[i - 1, 0] * y[i - 1, 0], (i, 1, n))
    assert index_sum(sp.Sum(x[i - 1, 0] + 1, (i, 1, n))) == sp.Sum(x[i - 1, 0] + 1, (i, 1, n))
    x3 = sn.vector("x", 3)  # a length of its own: the sum must run to it
    assert sn.parse_latex(r"\sum_{i=1}^{3} x_i", x=x3) == sn.sum(x3)
    assert sn.parse_latex(r"\sum_{i=1}^{2} x_i", x=x3) == sp.Sum(x3[i - 1, 0], (i, 1, 2))


def test_a_transposed_inverse_of_a_product_and_a_symmetric_matrix() -> None:
    S = sn.matrix("S", "n", "n", symmetric=True)
    assert sn.parse_latex(r"S^{-\top}", S=S) == sn.inv(S).T
    assert sn.parse_latex(r"(M^\top M + \lambda I)^{-1}", M=M) == \
        sn.inv(M.T * M + sn.scalar("lam") * sp.Identity(n))


# -- what symnorm writes, read back ---------------------------------------------------------

PRINTED = [
    lambda: sn.softmax(x), lambda: sn.logsumexp(x), lambda: sn.sum(x), lambda: sn.mean(x),
    lambda: sn.var(x), lambda: sn.layer_norm(x), lambda: sn.layer_norm(x, 1e-3),
    lambda: sn.layer_norm(x, eps), lambda: sn.rms_norm(x, 1e-6), lambda: sn.det(M),
    lambda: sn.logdet(M), lambda: sn.inv(M), lambda: sn.inv(M).T, lambda: sn.trace(M.T * M),
    lambda: sn.softmax(A * x), lambda: sn.grad(sn.logdet(M), M).result,
    lambda: sn.grad(sn.det(M), M).result, lambda: sn.jacobian(sn.softmax(x), x).result,
    lambda: sn.jacobian(x / sn.norm(x, 2), x).result,
    lambda: sn.jacobian(sn.parse("sigmoid(x)"), x).result,
]


@pytest.mark.parametrize("make", PRINTED, ids=range(len(PRINTED)))
def test_the_printers_latex_reads_back(make) -> None:
    expr = make()
    text = sn.latex(expr)
    back = sn.parse_latex(text, **{s.name: s for s in symbols_of(expr)})
    assert back == expr or compare(back, expr).status in (PROVED, SAMPLED), (text, back)


# -- refused, with the position -------------------------------------------------------------

@pytest.mark.parametrize("text,error,message,column", [
    (r"\log|M|", ParseError, r"for the log-determinant write \log\det M", 5),
    (r"2 + \log\lvert M \rvert", ParseError, "elementwise absolute value", 9),
    (r"\bar{x}", ParseError, r"\operatorname{mean}(x) for the mean", 1),
    (r"x + \overline{x}", ParseError, "a bar stands for a mean", 5),
    (r"\operatorname{LayerNorm}(x; \lambda = 1)", ParseError,
     r"a named argument is \epsilon", 29),
    (r"\operatorname{softmax}(x, y)", ParseError, "expected 1 (softmax(u)", 1),
    (r"\tanh(x, y)", ParseError, "wrong number of arguments to 'tanh'", 1),
])
def test_refused_notations_point_at_their_place(text: str, error, message: str,
                                                 column: int) -> None:
    with pytest.raises(error) as info:
        sn.parse_latex(text, **_shapes(text))
    first = str(info.value).splitlines()[0]
    assert message in first
    assert f"at line 1, column {column}" in first
    assert str(info.value).splitlines()[-1] == " " * (4 + column - 1) + "^"


@pytest.mark.parametrize("text,message", [
    (r"x^{-1}", r"the inverse of a square matrix, but 'x' is a column vector"),
    (r"x^{-1}", r"for the elementwise reciprocal write x^{\circ -1}"),
    (r"b^{-1}", "the inverse of a square matrix, but 'b' is a column vector of shape (n, 1)"),
    (r"b^{-\top}", "the transposed inverse of a square matrix"),
    (r"\det x", "det() takes a square matrix, but 'x' in '\\det x' is a column vector"),
    (r"\operatorname{diag}(A)", "diag() takes a column vector"),
    (r"\operatorname{softmax}(A)", "softmax() takes a column vector"),
    (r"\operatorname{logsumexp}(\lambda)", "logsumexp() takes a column vector"),
    (r"\operatorname{tr}(x)", "trace() takes a square matrix"),
])
def test_shape_errors_name_the_operand(text: str, message: str) -> None:
    with pytest.raises(ShapeError) as info:
        sn.parse_latex(text)
    assert message in str(info.value)


def test_only_a_square_matrix_is_inverted() -> None:
    assert sn.parse_latex(r"A^{-1}") == sn.parse("inv(A)")  # an undeclared A is made square
    with pytest.raises(ShapeError, match=r"the inverse of a square matrix, but 'A' is a "
                                         r"matrix of shape \(m, n\)"):
        sn.parse_latex(r"A^{-1}", A=A)


def test_bars_of_a_matrix_stay_its_elementwise_absolute_value() -> None:
    """``|M|`` is not read as a determinant (``\\det M`` is): the bars mean |.| everywhere."""
    assert sn.parse_latex(r"|M|", M=M) == sn.parse("abs(M)", M=M)
    assert sn.parse_latex(r"\log|\det M|", M=M) == sp.log(sp.Abs(sn.det(M)))


def test_a_document_reports_a_refused_notation_at_its_file_line_and_column(tmp_path) -> None:
    path = tmp_path / "notes.tex"
    path.write_text("\\begin{equation}\n  \\nabla_M \\log|M| = M^{-\\top}\n"
                    "\\end{equation}\n\\begin{equation}\n  \\nabla_x \\bar{x} = 1\n"
                    "\\end{equation}\n")
    report = sn.verify_document(path)
    first, second = report.findings
    assert (first.status, first.line, first.column) == ("skipped", 2, 16)
    assert r"\log\det M" in first.message
    assert (second.status, second.line, second.column) == ("skipped", 5, 12)
    assert "a bar stands for a mean" in second.message
    assert f"{path}:2:16: skipped" in report.text()


# -- a hand claim about each function: correct, and wrong -----------------------------------

S = sn.matrix("S", "n", "n", positive_definite=True)

CLAIMS: list[tuple[str, str, str, dict]] = [  # (claim, right side, wrong side, shapes)
    ("sum", r"\nabla_x \sum_i x_i = {}", r"\mathbf{1}", "x", {}),
    ("mean", r"\nabla_x \operatorname{mean}(x) = {}", r"\frac{1}{n}\mathbf{1}",
     r"\mathbf{1}", {}),
    ("var", r"\nabla_x \operatorname{var}(x) = {}",
     r"\frac{2}{n}(x - \operatorname{mean}(x)\mathbf{1})", r"\frac{2}{n} x", {}),
    ("logsumexp", r"\nabla_x \operatorname{logsumexp}(x) = {}", r"\operatorname{softmax}(x)",
     r"e^{x}", {}),
    ("logsumexp by its sum", r"\nabla_x \log\sum_i e^{x_i} = {}",
     r"\frac{e^{x}}{\sum_j e^{x_j}}", r"\frac{e^{x}}{\sum_j x_j}", {}),
    ("softmax", r"J_x \operatorname{softmax}(x) = {}",
     r"\operatorname{diag}(\operatorname{softmax}(x)) - \operatorname{softmax}(x)"
     r"\operatorname{softmax}(x)^\top", r"\operatorname{diag}(\operatorname{softmax}(x))", {}),
    ("layer_norm", r"J_x \operatorname{LayerNorm}(x) = {}",
     r"\frac{1}{\sqrt{\operatorname{var}(x) + 10^{-5}}}\left(I - \frac{\mathbf{1}"
     r"\mathbf{1}^\top}{n} - \frac{\operatorname{LayerNorm}(x)\operatorname{LayerNorm}(x)"
     r"^\top}{n}\right)",
     r"\frac{1}{\sqrt{\operatorname{var}(x) + 10^{-5}}}\left(I - \frac{\operatorname"
     r"{LayerNorm}(x)\operatorname{LayerNorm}(x)^\top}{n}\right)", {}),
    ("rms_norm", r"J_x \operatorname{RMSNorm}(x) = {}",
     r"\frac{1}{\sqrt{\operatorname{mean}(x \odot x) + 10^{-5}}}\left(I - \frac{\operatorname"
     r"{RMSNorm}(x)\operatorname{RMSNorm}(x)^\top}{n}\right)",
     r"\frac{1}{\sqrt{\operatorname{mean}(x \odot x) + 10^{-5}}} I", {}),
    ("det", r"\nabla_M \det(M) = {}", r"\det(M) M^{-\top}", r"M^{-\top}", {"M": M}),
    ("logdet", r"\nabla_M \log\det M = {}", r"M^{-\top}", r"2 M^{-\top}", {"M": M}),
    ("logdet of an SPD matrix", r"\nabla_S \log\det(S) = {}", r"S^{-1}", r"S", {"S": S}),
    ("inv", r"\nabla_M a^\top M^{-1} c = {}", r"-M^{-\top} a c^\top M^{-\top}",
     r"-M^{-1} a c^\top M^{-1}", {"M": M}),
    ("trace", r"\nabla_X \operatorname{tr}(A X) = {}", r"A^\top", r"2 A^\top",
     {"X": sn.matrix("X", "n", "m")}),
    ("sigmoid", r"J_x \sigma(x) = {}", r"\operatorname{diag}(\sigma(x) \odot (1 - \sigma(x)))",
     r"\operatorname{diag}(\sigma(x))", {}),
]


@pytest.mark.parametrize("name,claim,right,wrong,shapes", CLAIMS, ids=[c[0] for c in CLAIMS])
def test_a_hand_claim_about_each_function(name: str, claim: str, right: str, wrong: str,
                                          shapes: dict) -> None:
    good = sn.verify(claim.replace("{}", right), shapes=shapes)
    assert good.ok and good.status in ("proved", "equal at random points"), good.text()
    bad = sn.verify(claim.replace("{}", wrong), shapes=shapes)
    assert bad.status == "wrong", bad.text()
    assert bad.counterexample is not None and bad.counterexample.differing()


def _softmax(u: np.ndarray) -> np.ndarray:
    e = np.exp(u - u.max())
    return e / e.sum()


def test_a_wrong_softmax_claim_shows_numbers_a_numpy_reference_agrees_with() -> None:
    v = sn.verify(r"J_x \operatorname{softmax}(x) = \operatorname{diag}(\operatorname"
                  r"{softmax}(x))")
    ce = v.counterexample
    u = np.asarray(ce.values["x"], dtype=float).ravel()
    s = _softmax(u)
    np.testing.assert_allclose(np.asarray(ce.reference, dtype=float),
                               np.diag(s) - np.outer(s, s), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(ce.hand, dtype=float), np.diag(s), rtol=1e-12)


@pytest.mark.parametrize("claim", [r"\nabla_M \log\det M = M^{-1}",
                                   r"\nabla_M \det M = \det(M) M^{-1}"])
def test_the_transposed_gradient_of_det_is_equal_up_to_layout(claim: str) -> None:
    """M^{-1} where the gradient is M^{-T}: the derivative in numerator layout, as
    DESIGN's convention says (a gradient has the shape of M)."""
    v = sn.verify(claim, shapes={"M": M})
    assert (v.status, v.layout) == ("equal up to layout", "numerator")


def test_logdet_claim_against_finite_differences_at_the_counterexample() -> None:
    """The derived gradient of log det the verdict shows is the numpy finite difference of
    numpy's log det at the counterexample's point."""
    v = sn.verify(r"\nabla_M \log\det M = 2 M^{-\top}", shapes={"M": M})
    ce = v.counterexample
    m = np.asarray(ce.values["M"], dtype=float)
    sign, _ = np.linalg.slogdet(m)
    assert sign > 0  # the point is inside the domain
    h, fd = 1e-6, np.zeros_like(m)
    for k in np.ndindex(*m.shape):
        e = np.zeros_like(m)
        e[k] = h
        fd[k] = (np.linalg.slogdet(m + e)[1] - np.linalg.slogdet(m - e)[1]) / (2 * h)
    np.testing.assert_allclose(np.asarray(ce.reference, dtype=float), fd, rtol=1e-6)
