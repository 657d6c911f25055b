"""The LaTeX reader: hand-written notation in, the exact symnorm expression out."""

from __future__ import annotations

import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symnorm as sn
from symnorm.language import KNOWN_COMMANDS, split_lines
from symnorm.model.atoms import Abs, Exp, ScalarOf, Sigmoid, Sign, sigmoid_scalar
from symnorm.model.errors import ParseError, ShapeError, SymnormError, UnknownNormError
from symnorm.rules import NORMS

x, y, b = sn.vector("x"), sn.vector("y"), sn.vector("b", "m")
A, W = sn.matrix("A"), sn.matrix("W")
M = sn.matrix("A", "n", "n")
Sigma = sn.matrix("Sigma")
lam, mu, eta, p = sn.scalar("lam"), sn.scalar("mu"), sn.scalar("eta"), sn.scalar("p")
ys, ts = sn.scalar("y"), sn.scalar("t")
i = sp.Symbol("i", integer=True)
n = sn.vector("x").shape[0]


def _sum(body: sp.Expr) -> sp.Sum:
    return sp.Sum(body, (i, 1, n))


# (LaTeX as people write it, the exact expression, shapes)
TABLE: list[tuple[str, object, dict]] = [
    # numbers, fractions, roots, powers, products
    ("2", sp.Integer(2), {}),
    ("3.5", sp.Rational(7, 2), {}),
    (r"\frac{1}{2}", sp.Rational(1, 2), {}),
    (r"\frac12", sp.Rational(1, 2), {}),
    (r"\dfrac{1}{\lambda}", 1 / lam, {}),
    (r"\frac{3}{4}\lambda", sp.Rational(3, 4) * lam, {}),
    (r"\sqrt{2}", sp.sqrt(2), {}),
    (r"\lambda^2", lam**2, {}),
    (r"\lambda^23", 3 * lam**2, {}),               # a script is one character
    (r"\lambda^{-1} x", x / lam, {}),
    (r"\lambda \cdot \mu", lam * mu, {}),
    (r"\lambda \times \mu", lam * mu, {}),
    (r"2\lambda", 2 * lam, {}),
    (r"\lambda\,x", lam * x, {}),
    (r"\left( \lambda + 1 \right)^2", (lam + 1)**2, {}),
    (r"[\lambda + 1]", lam + 1, {}),
    (r"\big( \lambda \big) \mu", lam * mu, {}),
    (r"-x", -x, {}),
    (r"x + y", x + y, {}),
    (r"x - y", x - y, {}),
    (r"Ax - b", A * x - b, {}),
    (r"A x", A * x, {}),
    (r"2A^\top(Ax - b)", 2 * A.T * (A * x - b), {}),
    (r"\frac{A^\top(Ax - b)}{\|Ax - b\|_2}", A.T * (A * x - b) / sn.norm(A * x - b, 2), {}),
    # norms, every notation and order
    (r"\|x\|", sn.norm(x, 2), {}),
    (r"\|x\|_2", sn.norm(x, 2), {}),
    (r"\|x\|_1", sn.norm(x, 1), {}),
    (r"\|x\|_\infty", sn.norm(x, sp.oo), {}),
    (r"\|x\|_{\infty}", sn.norm(x, sp.oo), {}),
    (r"\|x\|_p", sn.norm(x, p), {}),
    (r"\|x\|_{\frac{3}{2}}", sn.norm(x, sp.Rational(3, 2)), {}),
    (r"\lVert x \rVert_2", sn.norm(x, 2), {}),                 # SymPy: lVert*rVert_2*x
    (r"\left\| x \right\|_2", sn.norm(x, 2), {}),
    (r"\left\lVert Ax - b \right\rVert_2^2", sn.norm(A * x - b, 2)**2, {}),
    (r"\|x\|_2^2", sn.norm(x, 2)**2, {}),
    (r"\|x\|^2_2", sn.norm(x, 2)**2, {}),
    (r"\frac{1}{2}\|Ax - b\|_2^2", sn.norm(A * x - b, 2)**2 / 2, {}),
    (r"-\|x\|_2^2", -sn.norm(x, 2)**2, {}),
    (r"\| x - |y| \|_1", sn.norm(x - Abs(y), 1), {}),
    (r"\lambda \|x\|_1 + \frac{\mu}{2}\|x\|_2^2",
     lam * sn.norm(x, 1) + mu * sn.norm(x, 2)**2 / 2, {}),
    (r"$\|x\|_2$", sn.norm(x, 2), {}),
    # absolute values
    (r"|\lambda|", sp.Abs(lam), {}),
    (r"|x|", Abs(x), {}),
    (r"\lvert x \rvert", Abs(x), {}),
    (r"\left| x \right|", Abs(x), {}),
    (r"|x_1|", sp.Abs(x[0, 0]), {}),
    (r"\lvert x \rvert^{\circ 2}", sp.HadamardPower(Abs(x), 2), {}),
    (r"|x|^{p-1}", sp.HadamardPower(Abs(x), p - 1), {}),
    (r"\operatorname{sign}(x) \odot |x|^{p-1}",
     sp.HadamardProduct(Sign(x), sp.HadamardPower(Abs(x), p - 1)), {}),
    # functions (SymPy reads \operatorname{sign}(x) as a product of letters)
    (r"\operatorname{sign}(x)", Sign(x), {}),
    (r"\mathrm{sign}(x)", Sign(x), {}),
    (r"\text{sign}(x)", Sign(x), {}),
    (r"\operatorname{sgn}(\lambda)", sp.sign(lam), {}),
    (r"\sigma(x)", Sigmoid(x), {}),
    (r"\sigma(W x)", Sigmoid(W * x), {}),
    (r"\sigma\left(\lambda\right)", sigmoid_scalar(lam), {}),
    (r"\exp(\lambda)", sp.exp(lam), {}),
    (r"\exp(x)", Exp(x), {}),
    (r"\log(\lambda)", sp.log(lam), {}),
    (r"\ln \lambda", sp.log(lam), {}),
    (r"\tanh(\mu)", sp.tanh(mu), {}),
    (r"e^{\lambda}", sp.exp(lam), {}),
    (r"e^{-x_1}", sp.exp(-x[0, 0]), {}),
    (r"e", sp.E, {}),
    (r"\pi \lambda", sp.pi * lam, {}),
    # transposes (SymPy reads x^\top as x**top)
    (r"x^\top", x.T, {}),
    (r"x^T y", ScalarOf(x.T * y), {}),
    (r"x^{T} y", ScalarOf(x.T * y), {}),
    (r"x^{\mathsf T} y", ScalarOf(x.T * y), {}),
    (r"x^{\mathsf{T}} y", ScalarOf(x.T * y), {}),
    (r"x^\intercal y", ScalarOf(x.T * y), {}),
    (r"x^\top A x", ScalarOf(x.T * M * x), {}),
    (r"\sqrt{x^\top x}", sp.sqrt(ScalarOf(x.T * x)), {}),
    # elementwise products
    (r"x \odot y", sp.HadamardProduct(x, y), {}),
    (r"x \circ y", sp.HadamardProduct(x, y), {}),
    # components (1-based) and sums
    (r"x_1", x[0, 0], {}),
    (r"x_{12}", x[11, 0], {}),
    (r"A_{12}", A[0, 1], {}),
    (r"A_{2,1}", A[1, 0], {}),
    (r"\frac{x_1}{\|x\|_2}", x[0, 0] / sn.norm(x, 2), {}),
    (r"\sum_{i=1}^{n} x_i^2", _sum(x[i - 1, 0]**2), {}),
    (r"\sum_{i=1}^n x_i y_i", _sum(x[i - 1, 0] * y[i - 1, 0]), {}),
    (r"\sum_i |x_i|", _sum(sp.Abs(x[i - 1, 0])), {}),
    (r"\sqrt{\sum_{i=1}^{n} x_i^2}", sp.sqrt(_sum(x[i - 1, 0]**2)), {}),
    # names: Greek scalars, bold vectors, identity, capital Greek matrices
    (r"\eta", eta, {}),
    (r"\lambda_1 x", sn.scalar("lam_1") * x, {}),
    (r"\mathbf{x} + \boldsymbol{y}", x + y, {}),
    (r"\boldsymbol x + \bm{y}", x + y, {}),
    (r"\vec{x}", x, {}),
    (r"I - x x^\top", sp.Identity(n) - x * x.T, {}),
    (r"\mathbf{1} - x", sp.OneMatrix(n, 1) - x, {}),
    (r"1 - x", sp.OneMatrix(n, 1) - x, {}),
    (r"x \odot (1 - x)", sp.HadamardProduct(x, sp.OneMatrix(n, 1) - x), {}),
    (r"\Sigma x", Sigma * x, {}),
    # implicit multiplication of scalars (SymPy reads y (1 - y) as a call)
    (r"(y - t) y (1 - y)", (ys - ts) * ys * (1 - ys), {"y": "scalar", "t": "scalar"}),
]


def test_the_table_is_big_enough() -> None:
    assert len(TABLE) >= 60


@pytest.mark.parametrize("text,expected,shapes", TABLE, ids=[t for t, _, _ in TABLE])
def test_reads_hand_written_latex(text: str, expected: object, shapes: dict) -> None:
    got = sn.parse_latex(text, **shapes)
    assert got == expected, f"{text!r} read as {got!r}, expected {expected!r}"


def test_matrices_never_commute() -> None:
    a = sn.parse_latex(r"A^\top A x", A="matrix")
    b_ = sn.parse_latex(r"A A^\top x")
    assert a != b_
    assert a.args[0] == a.args[0]  # A.T first
    with pytest.raises(ShapeError, match="must match the rows"):
        sn.parse_latex(r"2(Ax - b)A^\top")


def test_shapes_override_the_conventions() -> None:
    assert sn.parse_latex(r"x", x="scalar") == sn.scalar("x")
    got = sn.parse_latex(r"W_1 x", W_1="matrix")
    assert got == sn.matrix("W_1") * x
    assert sn.parse_latex(r"x", x=3) == sn.vector("x", 3)


def test_matrix_norm_orders() -> None:
    # Frobenius and nuclear are read as 'fro' and 'nuc'; sn.norm decides if they exist
    for text, order in ((r"\|W\|_F", "fro"), (r"\|W\|_*", "nuc"), (r"\|W\|_{*}", "nuc")):
        try:
            got = sn.parse_latex(text)
        except UnknownNormError as err:
            assert order in str(err)
        else:
            assert got == sn.norm(W, order)


# ---------------------------------------------------------------------------- errors

def test_syntax_error_has_a_caret() -> None:
    with pytest.raises(ParseError) as info:
        sn.parse_latex(r"\|x + \|")
    err = info.value
    assert err.position == 8 and err.line == 1 and err.column == 9
    assert "unexpected end of text" in str(err)
    assert str(err).splitlines()[-1] == " " * 12 + "^"


def test_unknown_command_names_itself_and_the_known_ones() -> None:
    with pytest.raises(ParseError) as info:
        sn.parse_latex(r"\frac{1}{2}\|x\|_2 + \foo")
    text = str(info.value)
    assert text.startswith(r"unknown command '\foo' at line 1, column 22")
    for known in (r"\frac", r"\lVert", r"\operatorname", r"\sigma", r"\top", r"\sum"):
        assert known in KNOWN_COMMANDS and known in text


@pytest.mark.parametrize("text,message", [
    (r"\mathrm{hardtanh}(x)", "unknown name 'hardtanh'"),
    (r"x_i", r"index 'i' is not bound by a \sum"),
    (r"x_0", "components are numbered from 1"),
    (r"\infty", "may only be a norm order"),
    (r"|x", "unexpected end of text"),
    (r"x \right|", "never opened"),
    (r"a @ b", "unexpected character '@'"),
    (r"  ", "empty expression"),
    (r"\lambda_1 + \left", "needs a delimiter"),
    (r"x & y", "unexpected character '&'"),
    (r"\lambda_1 x_{1,2}", "needs 1"),
    (r"(x", "expected ')'"),
])
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=None) as info:
        sn.parse_latex(text)
    assert message in str(info.value)
    assert "^" in str(info.value).splitlines()[-1]


@pytest.mark.parametrize("text,message", [
    (r"x^2", "raises a scalar to a scalar power"),
    (r"x + \lambda", "'+' needs equal shapes"),
    (r"\tanh(x)", r"\tanh takes a scalar"),
    (r"\|\lambda\|", "is a scalar"),
])
def test_shape_errors(text: str, message: str) -> None:
    with pytest.raises(ShapeError) as info:
        sn.parse_latex(text)
    assert message in str(info.value)


def test_not_a_string() -> None:
    with pytest.raises(TypeError):
        sn.parse_latex(42)  # type: ignore[arg-type]


def test_nothing_is_evaluated() -> None:
    with pytest.raises(ParseError):
        sn.parse_latex("__import__('os').system('true')")


# ---------------------------------------------------------------------------- lines

def test_split_lines_of_an_aligned_block() -> None:
    block = (r"\begin{aligned} \nabla_x f &= A^\top(Ax - b) \\ &= A^\top A x - A^\top b, "
             r"\end{aligned}")
    assert split_lines(block) == [(r"A^\top(Ax - b)", 1), (r"A^\top A x - A^\top b", 2)]
    assert split_lines(r"g = 2x = x + x") == [("2x", 1), ("x + x", 1)]
    assert split_lines(r"\frac{x}{2}") == [(r"\frac{x}{2}", 1)]


# ---------------------------------------------------------------------------- round trip

# the group norm's LaTeX names blocks (integer labels) the reader has no symbol for
ROUND_TRIP_ORDERS = [(rule.key, order) for rule in NORMS for order in rule.sample_orders
                     if rule.key != "group"]
W2, V2 = sn.matrix("W"), sn.matrix("V")


def test_every_registered_norm_is_covered() -> None:
    covered = {key for key, _ in ROUND_TRIP_ORDERS}
    assert covered | {"group"} == {rule.key for rule in NORMS}


@pytest.mark.parametrize("key,order", ROUND_TRIP_ORDERS,
                         ids=[f"{k}-{o}" for k, o in ROUND_TRIP_ORDERS])
def test_round_trip_of_every_registered_norm(key: str, order: object) -> None:
    order = sn.scalar("p") if isinstance(order, sp.Symbol) else order
    if NORMS[key].extras.get("matrix"):
        cases = [sn.norm(W2, order), 3 * sn.norm(W2 - V2, order)**2]
    else:
        cases = [sn.norm(x, order), sn.norm(A * x - b, order), 3 * sn.norm(x - y, order)**2]
    for e in cases:
        assert sn.parse_latex(sn.latex(e)) == e


def test_mixed_matrix_norm_notation() -> None:
    # \|X\|_{2,1} is read as the order (2, 1); sn.norm decides whether it exists
    try:
        got = sn.parse_latex(r"\|W\|_{2,1} + \|W\|_{\infty, 1}")
    except UnknownNormError as err:
        assert "matrix" in str(err)
    else:
        assert got == sn.norm(W2, (2, 1)) + sn.norm(W2, (sp.oo, 1))


DERIVED = [
    (lambda: sn.norm(A * x - b, 2), x),
    (lambda: sn.norm(A * x - b, 2)**2 / 2, x),
    (lambda: sn.norm(x, 1), x),
    (lambda: sn.norm(x, 2), x),
    (lambda: sn.norm(x, 3), x),
    (lambda: sn.norm(x, sp.Rational(3, 2)), x),
    (lambda: lam * sn.norm(x, 1) + mu / 2 * sn.norm(x, 2)**2, x),
    (lambda: ScalarOf(x.T * M * x), x),
    (lambda: sn.norm(Sigmoid(W * x) - b, 2)**2, x),
    (lambda: sn.norm(x, 2) * sn.norm(x, 1), x),
]


def _canonical(e: sp.Basic) -> sp.Basic:
    """The same expression with the terms of + and the factors of ⊙ in SymPy's order
    (the engine builds some sums unsorted; the reader's are sorted)."""
    if not isinstance(e, sp.Basic) or not e.args:
        return e
    args = [_canonical(a) for a in e.args]
    if isinstance(e, (sp.MatAdd, sp.HadamardProduct)):
        args.sort(key=sp.default_sort_key)
        return type(e)(*args)
    return e.func(*args)


@pytest.mark.parametrize("make,wrt", DERIVED, ids=[str(k) for k in range(len(DERIVED))])
def test_round_trip_of_derived_results(make, wrt) -> None:
    d = sn.grad(make(), wrt, check=False)
    assert _canonical(sn.parse_latex(sn.latex(d.result))) == _canonical(d.result)
    assert sn.parse_latex(sn.latex(d.f)) == d.f


def test_round_trip_of_hessians() -> None:
    h = sn.hessian(sn.norm(x, 2), x, check=False)
    assert _canonical(sn.parse_latex(sn.latex(h.result))) == _canonical(h.result)


# ---------------------------------------------------------------------------- fuzz

FRAGMENTS = [r"\|", "|", "x", "y", "A", "b", "2", "0", "_", "^", "{", "}", "(", ")", "[", "]",
             "+", "-", r"\cdot", r"\odot", r"\frac", r"\sqrt", r"\sum", r"\top", "T",
             r"\lambda", r"\sigma", r"\operatorname{sign}", r"\left(", r"\right)",
             r"\left\|", r"\right\|", r"\lVert", r"\rVert", r"\infty", "i", "=", "1", "n",
             "e", "I", r"\exp", r"\log", r"\mathbf{x}", ",", "*", "/", r"\foo", " ", "&",
             r"\\", ".", r"\mathsf{T}", r"\,", r"\tanh", "p", "F"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=14))
def test_fuzzed_latex_raises_only_symnorm_errors(parts: list[str]) -> None:
    text = "".join(parts)
    try:
        result = sn.parse_latex(text)
    except SymnormError:
        return
    assert isinstance(result, sp.Basic)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(codec="ascii"), max_size=25))
def test_fuzzed_ascii_raises_only_symnorm_errors(text: str) -> None:
    try:
        sn.parse_latex(text)
    except SymnormError:
        pass


@pytest.mark.parametrize("text, message, column", [
    (r"\frac{\|x\|_2}{0}", r"division by zero at line 1, column 16 in '\frac{\|x\|_2}{0}': "
                           r"'0' is 0", 16),
    (r"\frac{0}{0}", r"division by zero at line 1, column 10", 10),
    (r"\log 0", r"log of 0 at line 1, column 1 in '\log 0'", 1),
    (r"\ln(0) + \|x\|_1", r"log of 0 at line 1, column 1", 1),
    (r"\sqrt{-1}", r"not real at line 1, column 1: '\sqrt{-1}' is the complex number I", 1),
])
def test_latex_numbers_that_are_not_real_are_refused(text, message, column):
    with pytest.raises(ParseError) as caught:
        sn.parse_latex(text)
    assert str(caught.value).startswith(message)
    assert caught.value.column == column
