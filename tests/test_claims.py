"""One-line claims in every common notation, and verdicts that say how sure they are."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st

import symnorm as sn
from symnorm.check.compare import compare
from symnorm.language.claims import read_definition, read_head, relation_pieces
from symnorm.model.errors import ParseError, ShapeError

x, y = sn.vector("x"), sn.vector("y")
A, b = sn.matrix("A"), sn.vector("b", "m")
X = sn.matrix("X")
S = sn.matrix("S", "n", "n")
lam = sn.scalar("lam")
t = sn.scalar("t")

L2, L1 = sn.norm(x, 2), sn.norm(x, 1)
LS = sn.norm(A * x - b, 2)**2


# ---------------------------------------------------------------------------- notations

# (claim, f given or None, expected status)
NOTATIONS = [
    # \nabla f, the function given
    (r"\nabla f = \frac{x}{\|x\|_2}", L2, "proved"),
    (r"\nabla f = \frac{2x}{\|x\|_2}", L2, "wrong"),
    (r"\nabla f &= \frac{x}{\|x\|_2}", L2, "proved"),      # a one-line '&='
    # \nabla_x with the function written on the left
    (r"\nabla_x \|x\|_2 = \frac{x}{\|x\|_2}", None, "proved"),
    (r"\nabla_x \|x\|_1 = \frac{x}{\|x\|_2}", None, "wrong"),
    (r"\nabla_x f(x) = \frac{x}{\|x\|_2}", L2, "proved"),
    (r"\nabla_{x} f(x) = x", L2, "wrong"),
    # Hessians
    (r"\nabla^2 f = \frac{1}{\|x\|_2}\left(I - \frac{x x^\top}{\|x\|_2^2}\right)", L2, "proved"),
    (r"\nabla^2 f = \frac{I}{\|x\|_2}", L2, "wrong"),
    (r"\nabla_x^2 \frac{1}{2}\|x\|_2^2 = I", None, "proved"),
    (r"\frac{\partial^2 f}{\partial x \partial x^\top} = 2A^\top A", LS, "proved"),
    # \frac{\partial f}{\partial x}
    (r"\frac{\partial f}{\partial x} = 2A^\top(Ax - b)", LS, "proved"),
    (r"\frac{\partial f}{\partial x} = 2A^\top(Ax + b)", LS, "wrong"),
    (r"\frac{\partial}{\partial x}\|Ax - b\|_2^2 = 2A^\top A x - 2A^\top b", None, "proved"),
    (r"\frac{\partial}{\partial x}\|Ax-b\|_2^2 = 2(Ax - b)^\top A", None, "equal up to layout"),
    (r"\dfrac{\mathrm{d}}{\mathrm{d}x} \left(\lambda \|x\|_1\right) = \lambda "
     r"\operatorname{sign}(x)", None, "proved"),
    # \partial f/\partial X, a matrix
    (r"\partial f/\partial X = 2X", sn.norm(X, "fro")**2, "proved"),
    (r"\partial f / \partial X = X", sn.norm(X, "fro")**2, "wrong"),
    # a free index: a claim for every i
    (r"\frac{\partial f}{\partial x_i} = \frac{x_i}{\|x\|_2}", L2, "proved"),
    (r"\frac{\partial f}{\partial x_i} = \frac{x_1}{\|x\|_2}", L2, "wrong"),
    (r"\frac{\partial \|x\|_1}{\partial x_i} = \operatorname{sign}(x_i)", None, "proved"),
    (r"\frac{\partial \|x\|_1}{\partial x_i} = \frac{x_i}{|x_i|}", None,
     "equal almost everywhere"),
    (r"(\nabla f)_i = 2 x_i", sn.norm(x, 2)**2, "proved"),
    (r"\frac{\partial f}{\partial X_{ij}} = 2X_{ij}", sn.norm(X, "fro")**2, "proved"),
    # one component
    (r"\frac{\partial f}{\partial x_1} = \frac{x_1}{\|x\|_2}", L2, "proved"),
    (r"\partial_{x_2} f = \frac{x_1}{\|x\|_2}", L2, "wrong"),
    # d/dx of a scalar
    (r"df/dt = 2t", t**2, "proved"),
    (r"\frac{df}{dt} = t", t**2, "wrong"),
    (r"\frac{d}{dt} \log(1 + e^{t}) = \frac{e^t}{1 + e^t}", None, "proved"),
    # Unicode, as typed in a notebook
    ("∇f = x/‖x‖₂", L2, "proved"),
    ("∇ₓ‖x‖₁ = sign(x)", None, "proved"),
    ("∂f/∂x₁ = x₁/‖x‖₂", L2, "proved"),
    ("∂f/∂x₁ = 2x₁/‖x‖₂", L2, "wrong"),
    ("∇ₓ²f = 2AᵀA", LS, "proved"),
    ("∇ₓ λ‖x‖₁ = λ sign(x)", None, "proved"),
    ("∇ₓ ½‖x‖₂² = x", None, None),  # a vulgar fraction: not read
]


@pytest.mark.parametrize("claim,f,status", [n for n in NOTATIONS if n[2] is not None],
                         ids=[n[0] for n in NOTATIONS if n[2] is not None])
def test_every_notation_has_its_verdict(claim: str, f, status: str) -> None:
    v = sn.verify(claim, f)
    assert v.status == status, v.text()
    assert v.ok == (status != "wrong")
    if status == "wrong" and v.shape_mismatch is None:
        # the counterexample's numbers are those of the two sides at its point
        ce = v.counterexample
        assert ce is not None and set(ce.values)
        assert not np.allclose(np.ravel(ce.hand), np.ravel(ce.reference))


def test_an_unreadable_character_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="unexpected character '½'"):
        sn.verify("∇ₓ ½‖x‖₂² = x")


def test_the_component_of_a_free_index_claim_is_reported() -> None:
    v = sn.verify(r"\frac{\partial f}{\partial x_i} = \frac{x_1}{\|x\|_2}", L2)
    ce = v.counterexample
    # x_1 is right for i = 1 and wrong from i = 2 on: the counterexample names i
    assert ce.index["i"] >= 2
    xs = np.array(ce.values["x"])
    i = ce.index["i"]
    assert float(ce.hand) == pytest.approx(xs[0] / np.linalg.norm(xs))
    assert float(ce.reference) == pytest.approx(xs[i - 1] / np.linalg.norm(xs))
    assert f"i = {i}" in ce.text()


def test_free_index_claims_are_checked_at_every_index() -> None:
    v = sn.verify(r"\frac{\partial f}{\partial x_i} = \frac{x_i}{\|x\|_2}", L2)
    runs = [r for r in v.numeric if "kink" not in r]
    # every point counts once for each i = 1..n
    assert sum(r["points"] for r in runs) == sum(3 * r["dims"]["n"] for r in runs)
    assert v.wrt == x[sp.Symbol("i", integer=True) - 1, 0]
    assert "with respect to x_i" in v.summary()


def test_layout_says_which() -> None:
    v = sn.verify(r"\nabla f = \frac{x^\top}{\|x\|_2}", L2)
    assert v.status == "equal up to layout" and v.layout == "numerator"
    assert "numerator layout" in v.summary() and v.ok
    # a matrix: the transpose of the gradient of tr(S X) with respect to X is S
    v = sn.verify(r"\partial f/\partial X = S", sp.Trace(S * sn.matrix("X", "n", "n")))
    assert v.status == "equal up to layout" and v.layout == "numerator"
    # the transpose of a wrong claim is still wrong
    v = sn.verify(r"\nabla f = \frac{2x^\top}{\|x\|_2}", L2)
    assert v.status == "wrong" and "its transpose is not either" in v.shape_mismatch


def test_a_left_side_that_names_another_function_is_an_error() -> None:
    with pytest.raises(ParseError, match="the left side differentiates norm.x, 1.") as info:
        sn.verify(r"\nabla_x \|x\|_1 = \operatorname{sign}(x)", L2)
    assert info.value.column == 10  # where the function is written
    with pytest.raises(ParseError, match="differentiates g, but the function given is f"):
        sn.verify(r"\nabla g = \frac{x}{\|x\|_2}", r"f(x) = \|x\|_2")
    assert sn.verify(r"\nabla f = \frac{x}{\|x\|_2}", r"f(x) = \|x\|_2").status == "proved"
    # the same function written differently is the same function
    assert sn.verify(r"\nabla_x \sqrt{x^\top x} = \frac{x}{\|x\|_2}", L2).ok


def test_a_left_side_with_another_variable_is_an_error() -> None:
    with pytest.raises(ParseError, match="with respect to y, but wrt is x"):
        sn.verify(r"\nabla_y f = y", sn.norm(x - y, 2)**2 / 2, x)
    with pytest.raises(ShapeError, match="with respect to z, which does not occur"):
        sn.verify(r"\frac{\partial f}{\partial z} = 0", L2)
    with pytest.raises(ParseError, match="does not say with respect to which"):
        sn.verify(r"\nabla f = A^\top(Ax - b)", LS)
    with pytest.raises(ParseError, match="which is not defined"):
        sn.verify(r"\nabla f = 2x")
    with pytest.raises(ParseError, match="hessian=True, but the left side is a first"):
        sn.verify(r"\nabla f = 2x", sn.norm(x, 2)**2, hessian=True)
    with pytest.raises(ShapeError, match="x has no component 3"):
        sn.verify(r"\frac{\partial f}{\partial x_3} = 0", sn.norm(sn.vector("x", 2), 2))


def test_the_variable_is_read_from_the_function_arguments() -> None:
    f = sn.norm(A * x - b, 2)**2
    assert sn.verify(r"\nabla f(x) = 2A^\top(Ax - b)", f).status == "proved"
    # a layer's matrix W_1 is the symbol W1 when the function has one
    W1, a, c = sn.matrix("W1", "m", "n"), sn.vector("a"), sn.vector("c", "m")
    v = sn.verify(r"\frac{\partial L}{\partial W_1} = (W_1 a - c) a^\top",
                  sn.norm(W1 * a - c, 2)**2 / 2)
    assert v.status == "proved"


def test_chains_on_one_line() -> None:
    v = sn.verify(r"\nabla_x f = 2A^\top(Ax - b) = 2A^\top A x - 2A^\top b", LS)
    assert [line.status for line in v.lines] == ["proved", "proved"]
    v = sn.verify(r"\nabla_x \|x\|_2^2 = \nabla_x (x^\top x) = x + x", None)
    assert v.status == "proved" and v.lines is None  # the restated derivative is dropped


# ---------------------------------------------------------------------------- verdicts

def test_proved_needs_no_sampling_but_is_checked_anyway() -> None:
    v = sn.verify(r"A^\top A x - A^\top b", LS / 2, x)
    assert v.status == "proved" and v.symbolic == "the difference simplifies to 0"
    assert sum(r["points"] for r in v.numeric) == 9  # the numbers agree too


def test_equal_at_random_points_says_where() -> None:
    v = sn.verify(r"\frac{x_1}{\sqrt{\sum_{i=1}^{n} x_i^2}}", L2, "x_1")
    assert v.status == "equal at random points" and v.ok
    assert v.sampled() == "9 random points (n = 2, 3, 4)"
    assert v.summary().startswith("equal at 9 random points (n = 2, 3, 4): the claim is")


@pytest.mark.parametrize("decimal", ["0.3333333333", "0.333333", "0.33333333333333"])
def test_a_rounded_constant_is_never_equal(decimal: str) -> None:
    # Math-Verify accepts 1/3 == 0.333333 by design; symnorm must not
    f = sp.MatMul(x.T, x) / 6
    v = sn.verify(rf"\nabla f = {decimal} x", f)
    assert v.status == "wrong" and not v.ok
    ce = v.counterexample
    # printed with enough digits to see the difference
    assert ce.text().count("(") >= 3
    claim, derived = ce.text().split("the claim is ")[1].split(", the derived result is ")
    assert claim.split(",")[0] != derived.split(",")[0]
    # and exact decimals are exact
    assert sn.verify(r"\nabla f = 0.5 x", sp.MatMul(x.T, x) / 4).status == "proved"


def test_a_tiny_difference_is_wrong_when_it_can_be_seen_undecided_when_not() -> None:
    f = sp.MatMul(x.T, x) / 6
    v = sn.verify(r"\frac{x}{3} + \frac{x + \mathbf{1}}{10^{9}}", f, x)
    assert v.status == "wrong" and "is not 0 here" in v.reason
    v = sn.verify(r"\frac{x}{3} e^{(\|x\|_2 - 0.5\sqrt{x^\top x})/10^{9}}", f, x)
    assert v.status == "could not decide" and not v.ok
    assert "too small for them to tell" in v.reason
    assert v.summary().startswith("could not decide whether the claim is the gradient")
    # exactly 0 but not simplified by SymPy: the numbers may say equal
    v = sn.verify(r"\frac{x}{3} + \frac{\|x\|_2 - \sqrt{x^\top x}}{10^{9}} x", f, x)
    assert v.status == "equal at random points"


def test_undecided_when_the_derived_result_is_undefined_at_the_points() -> None:
    c = compare(sn.parse("x/norm(x, 2)"), sn.parse("log(-norm(x, 2))*x"))
    assert c.status == "could not decide" and "undefined at every random point" in c.reason


def test_almost_everywhere_says_where() -> None:
    v = sn.verify(r"\nabla_x \|x\|_1 = x \odot |x|^{\circ -1}")
    assert v.status == "equal almost everywhere" and v.where == "an entry of x is 0"
    assert v.summary().endswith("except where an entry of x is 0")


def test_counterexample_components_are_one_based() -> None:
    v = sn.verify(r"\nabla f = \begin{aligned} x \end{aligned}", sn.norm(x, 2)**2)
    ce = v.counterexample
    assert ce.differing() == [(k,) for k in range(1, len(ce.values["x"]) + 1)]
    assert "component 1 differs" in ce.text()
    data = ce.to_dict()
    assert data["differing"][0] == [1]
    # a matrix: (row, column), 1-based
    v = sn.verify(r"\partial f/\partial X = 2X + I", sn.norm(sn.matrix("X", "n", "n"), "fro")**2)
    assert v.counterexample.differing()[0] == (1, 1)
    assert "component 1,1 differs" in v.counterexample.text()


# ---------------------------------------------------------------------------- reading

@pytest.mark.parametrize("text,order,wrt,index,name,function", [
    (r"\nabla f", 1, None, (), "f", None),
    (r"\nabla_x f(x)", 1, "x", (), "f", None),
    (r"\nabla_{\mathbf{x}} \mathcal{L}(\mathbf{x}, \lambda)", 1, "x", (), r"\mathcal{L}", None),
    (r"\nabla^2_x \|x\|_2", 2, "x", (), None, r"\|x\|_2"),
    (r"\frac{\partial^2 f}{\partial x^2}", 2, "x", (), "f", None),
    (r"\frac{\partial f}{\partial X_{ij}}", 1, "X", ("i", "j"), "f", None),
    (r"\frac{\partial f}{\partial x_{12}}", 1, "x", ("12",), "f", None),
    (r"\partial f/\partial \theta", 1, "theta", (), "f", None),
    (r"\frac{\mathrm{d}f}{\mathrm{d}t}", 1, "t", (), "f", None),
    (r"\frac{d}{dt}\, f(t)", 1, "t", (), "f", None),
    (r"\frac{\partial}{\partial x}\left(\frac12 \|x\|^2\right)", 1, "x", (), None,
     r"\left(\frac12 \|x\|^2\right)"),
    ("∂²f/∂x²", 2, "x", (), "f", None),
    ("(∇f)ᵢ", 1, None, ("i",), "f", None),
])
def test_heads(text, order, wrt, index, name, function) -> None:
    head = read_head(text)
    assert (head.order, head.wrt, head.index, head.name, head.function) == \
        (order, wrt, index, name, function)


@pytest.mark.parametrize("text,fragment,column", [
    (r"\partial f", "a lone '\\partial' is not read", 1),
    (r"\frac{\partial f}{\partial x} g", "unexpected text after the derivative", 31),
    (r"\frac{\partial^2 f}{\partial x}", "a derivative of order 2 has 1 differentiation", 21),
    (r"\frac{\partial^2 f}{\partial x \partial y}", "mixed second derivatives", 21),
    (r"\nabla", "has no function after it", 7),
    (r"\nabla^3 f", r"is read only as \nabla^2", 7),
    (r"2\nabla f", "cannot read the derivative on the left", 2),
])
def test_head_errors_point_at_the_problem(text: str, fragment: str, column: int) -> None:
    with pytest.raises(ParseError) as info:
        read_head(text)
    assert fragment in str(info.value) and info.value.column == column


def test_relation_pieces_and_definitions() -> None:
    text = r"\nabla f = \frac{x_i}{\|x\|} \quad \text{for } i = 1, \dots, n."
    assert [text[s:e] for s, e, _ in relation_pieces(text)] == [r"\nabla f",
                                                                r"\frac{x_i}{\|x\|}"]
    text = r"a \overset{(1)}{=} b \stackrel{\text{def}}{=} c \coloneqq d"
    assert [(text[s:e], r) for s, e, r in relation_pieces(text)] == [
        ("a", ""), ("b", "="), ("c", "="), ("d", ":=")]
    assert read_definition(r"\ell(w; X)").arguments == ("w", "X")
    assert read_definition("2x") is None and read_definition("f(x + 1)") is None


# ---------------------------------------------------------------------------- properties

@settings(max_examples=25, deadline=None)
@given(st.integers(-6, 6), st.integers(1, 4))
def test_a_multiple_of_the_gradient_is_right_only_when_it_is_the_gradient(p: int, q: int) -> None:
    claim = rf"\nabla_x \|x\|_2^2 = \frac{{{p}}}{{{q}}} x"
    v = sn.verify(claim)
    assert v.status == ("proved" if sp.Rational(p, q) == 2 else "wrong")


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(["x", "2x", "x + x", r"\frac{x}{\|x\|_2}", r"\operatorname{sign}(x)",
                        r"A^\top(Ax - b)", r"x^\top", "0.5x"]),
       st.sampled_from([L2, L1, sn.norm(x, 2)**2, LS / 2]))
def test_verdicts_agree_with_numpy_at_a_point(claim: str, f) -> None:
    # an independent check: wrong exactly when the claim and numpy's gradient differ
    v = sn.verify(claim, f, x)
    rng = np.random.default_rng(7)
    n, m = 4, 3
    xv, Av, bv = rng.normal(size=n), rng.normal(size=(m, n)), rng.normal(size=m)
    grads = {L2: xv / np.linalg.norm(xv), L1: np.sign(xv), sn.norm(x, 2)**2: 2 * xv,
             LS / 2: Av.T @ (Av @ xv - bv)}
    values = {"x": xv, "2x": 2 * xv, "x + x": 2 * xv, r"\frac{x}{\|x\|_2}": grads[L2],
              r"\operatorname{sign}(x)": np.sign(xv), r"A^\top(Ax - b)": grads[LS / 2],
              r"x^\top": xv, "0.5x": 0.5 * xv}
    same = np.allclose(values[claim], grads[f])
    if claim == r"A^\top(Ax - b)" and f != LS / 2:
        assert v.status == "wrong"  # names A and b that f does not have
    else:
        assert v.ok == same, (claim, sn.to_text(f), v.text())


# Any text made of the pieces claims are written with: a verdict, or a symnorm error that
# names the problem, never a Python error from inside SymPy or the readers.
_PIECES = [r"\nabla", r"\partial", "f", "x", "_", "^", "2", "=", r"\frac", "{", "}", "/", "d",
           "(", ")", r"\|", "i", "∇", "ₓ", "‖", "₂", " ", "+", "A", r"^\top", "1", r"\left(",
           r"\right)", "&", r"\\"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=12).map("".join))
@example("AA₂₂")  # a component of a matrix whose size is fitted to the gradient's
def test_any_claim_text_gives_a_verdict_or_a_symnorm_error(text: str) -> None:
    from symnorm.model.errors import SymnormError

    for f in (None, L2):
        try:
            v = sn.verify(text, f)
        except SymnormError:
            continue
        assert v.status in ("proved", "equal at random points", "equal up to layout",
                            "equal almost everywhere", "wrong", "could not decide")


def test_cli_one_line_claims(capsys) -> None:
    import json

    from symnorm.cli import main

    assert main(["verify", r"\nabla_x \|x\|_2 = \frac{x}{\|x\|_2}"]) == 0
    assert capsys.readouterr().out.startswith("proved: the claim is the gradient of norm(x, 2)")
    assert main(["verify", "∂f/∂x₁ = 2x₁/‖x‖₂", "--of", "norm(x, 2)"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("wrong:") and "counterexample at n = 2, x = (" in out
    assert main(["verify", r"\nabla f = x^\top/\|x\|_2", "--of", "f(x) = norm(x)",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "equal up to layout" and data["layout"] == "numerator"
    assert main(["verify", r"\nabla g = x", "--of", r"f(x) = \|x\|_2"]) == 2
    err = capsys.readouterr().err
    assert "the left side differentiates g, but the function given is f" in err and "^" in err


def test_a_component_on_the_left_and_in_wrt() -> None:
    claim = r"\frac{\partial \|x\|_2}{\partial x_1} = \frac{x_1}{\|x\|_2}"
    assert sn.verify(claim, L2, "x_1").status == "proved"  # the same component twice
    with pytest.raises(ParseError, match="with respect to x_1, but wrt is x_2"):
        sn.verify(claim, L2, "x_2")
