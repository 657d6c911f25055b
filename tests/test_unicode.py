"""Unicode as typed in Jupyter markdown, in both readers: the same expression as the ASCII
spelling, and errors that point at the character typed."""

from __future__ import annotations

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import symnorm as sn
from symnorm.model.errors import ParseError, SymnormError

x, y, b = sn.vector("x"), sn.vector("y"), sn.vector("b", "m")
A, X, W1 = sn.matrix("A"), sn.matrix("X"), sn.matrix("W1")
lam, mu, p = sn.scalar("lam"), sn.scalar("mu"), sn.scalar("p")
Sigma = sn.matrix("Sigma", "n", "n")


# (typed, ASCII LaTeX it means)
LATEX = [
    ("‖x‖₂", r"\|x\|_2"),
    ("‖x‖₁", r"\|x\|_1"),
    ("‖x‖_∞", r"\|x\|_\infty"),
    ("‖x‖∞", None),                                  # an order needs its '_': not read
    ("‖x‖", r"\|x\|"),
    ("‖x‖ₚ", r"\|x\|_p"),
    ("∥x∥₂", r"\|x\|_2"),                            # U+2225 PARALLEL TO, as some fonts type it
    ("‖Ax − b‖₂²", r"\|Ax - b\|_2^2"),
    ("½‖Ax − b‖₂²", None),                           # vulgar fractions are not read
    ("λ‖x‖₁ + μ/2 ‖x‖₂²", r"\lambda\|x\|_1 + \mu/2 \|x\|_2^2"),
    ("2Aᵀ(Ax − b)", r"2A^\top(Ax - b)"),
    ("x^⊤ x", r"x^\top x"),
    ("xᵀx", r"x^\top x"),
    ("x ⊙ y", r"x \odot y"),
    ("x ∘ y", r"x \circ y"),
    ("λ·μ", r"\lambda \cdot \mu"),
    ("λ⋅μ", r"\lambda \cdot \mu"),
    ("λ × μ", r"\lambda \times \mu"),
    ("x − y", "x - y"),
    ("x₁", "x_1"),
    ("x₁₂", "x_{12}"),
    ("x₁²", "x_1^2"),
    ("λ²³", r"\lambda^{23}"),                        # a run of superscripts is one exponent
    ("‖x‖₂⁻¹ x", r"\|x\|_2^{-1} x"),
    ("∑ᵢ xᵢ²", r"\sum_{i} x_{i}^{2}"),
    ("Σx", r"\Sigma x"),
    ("x\u00a0+\u2009y", "x + y"),                     # no-break and thin spaces
    ("λ sign(x)", r"\lambda \operatorname{sign}(x)"),  # a function's name, no backslash
    ("exp(λ) x", r"\exp(\lambda) x"),
]


@pytest.mark.parametrize("typed,ascii_", [t for t in LATEX if t[1] is not None])
def test_latex_reader_reads_unicode_as_its_latex(typed: str, ascii_: str) -> None:
    assert sn.parse_latex(typed) == sn.parse_latex(ascii_)


def test_latex_unicode_exact_objects() -> None:
    assert sn.parse_latex("‖x‖₂") == sn.norm(x, 2)
    assert sn.parse_latex("‖x‖_∞") == sn.norm(x, sp.oo)
    assert sn.parse_latex("λ‖x‖₁") == lam * sn.norm(x, 1)
    assert sn.parse_latex("x₂") == x[1, 0]
    greek = sn.parse_latex("α + β γ + δ + ε + η + θ + κ + ρ + τ + ω")
    names = {s.name for s in greek.free_symbols if isinstance(s, sp.Symbol)}
    assert {"alpha", "beta", "gamma", "delta", "eps", "eta", "theta", "kappa", "rho", "tau",
            "omega"} <= names


# (typed, the expression language's ASCII spelling)
EXPRESSIONS = [
    ("‖x‖₂", "norm(x, 2)"),
    ("‖x‖", "norm(x)"),
    ("‖x‖_∞", "norm(x, oo)"),
    ("‖x‖_oo", "norm(x, oo)"),
    ("‖x‖_1", "norm(x, 1)"),
    ("‖x‖_p", "norm(x, p)"),
    ("‖x‖ₚ", "norm(x, p)"),
    ("‖x‖_λ", "norm(x, lam)"),
    ("‖X‖_F", "norm(X, fro)"),
    ("‖X‖_*", "norm(X, nuc)"),
    ("‖A*x − b‖₂²", "norm(A*x - b, 2)**2"),
    ("½*x", None),
    ("λ*‖x‖₁ + μ/2*‖x‖₂²", "lam*norm(x, 1) + mu/2*norm(x, 2)**2"),
    ("2*Aᵀ*(A*x − b)", "2*A.T*(A*x - b)"),
    ("x⊤*y", "x.T*y"),
    ("x ⊙ y", "x .* y"),
    ("λ·μ", "lam*mu"),
    ("λ × μ", "lam*mu"),
    ("W₁*x", "W1*x"),
    ("‖x‖₂⁻¹*x", "norm(x, 2)**(-1)*x"),
    ("Σ*x", "Sigma*x"),
    ("‖‖x‖₂*y‖₁", "norm(norm(x, 2)*y, 1)"),
    ("norm(x, ∞)", "norm(x, oo)"),
]


@pytest.mark.parametrize("typed,ascii_", [t for t in EXPRESSIONS if t[1] is not None])
def test_expression_language_reads_unicode(typed: str, ascii_: str) -> None:
    assert sn.parse(typed) == sn.parse(ascii_)


def test_expression_language_unicode_exact_objects() -> None:
    assert sn.parse("‖A*x − b‖₂²") == sn.norm(A * x - b, 2)**2
    product = sn.parse("W₁*x")
    assert isinstance(product.args[0], sp.MatrixSymbol) and product.args[0].name == "W1"
    # a capital Greek letter is a matrix, as in LaTeX
    assert sn.parse("Σ*x", Sigma=Sigma) == Sigma * x
    assert sn.parse("Σ*x").args[0].name == "Sigma"


@pytest.mark.parametrize("reader", [sn.parse, sn.parse_latex])
@pytest.mark.parametrize("typed,column,fragment", [
    ("x ≤ y", 3, "unexpected character '≤' (U+2264 LESS-THAN OR EQUAL TO)"),
    ("∇f", 1, "'∇' begins a derivative"),
    ("2 + ∂f", 5, "'∂' begins a derivative"),
])
def test_unicode_errors_point_at_the_character(reader, typed: str, column: int,
                                               fragment: str) -> None:
    with pytest.raises(ParseError) as info:
        reader(typed)
    assert fragment in str(info.value)
    assert info.value.column == column
    caret = str(info.value).splitlines()[-1]
    assert caret.index("^") - 4 == column - 1


@pytest.mark.parametrize("typed,fragment", [
    ("‖x", "expected '+', '-', '*', '/', '.*', '**', '^', '.^', '.T', '‖'"),
    ("x‖", "'‖' closes a norm that was never opened"),
    ("(‖x)‖", "unexpected ')'"),
    ("x₁ + ₂", "unexpected subscript '₂'"),
    ("x²ⁿ³", "cannot read the superscript"),
])
def test_expression_language_unicode_errors(typed: str, fragment: str) -> None:
    with pytest.raises(ParseError, match=None) as info:
        sn.parse(typed)
    assert fragment in str(info.value)


def test_a_function_word_needs_its_parenthesis() -> None:
    # without '(' right after it, "sign" is four letters, as LaTeX reads it
    lam_ = sn.scalar("lam")
    product = sn.parse_latex("s i g n", s="scalar", i="scalar", g="scalar", n="scalar")
    assert product == sp.Mul(*(sn.scalar(c) for c in "sign"))
    assert sn.parse_latex("λ sign(x)") == lam_ * sn.parse("sign(x)")


def test_latex_unicode_norm_errors() -> None:
    with pytest.raises(ParseError, match="unexpected end of text"):
        sn.parse_latex("‖x")


# Any mix of the characters a notebook user types: the readers answer with an expression
# or a symnorm error naming the problem, never a Python error from inside.
_ALPHABET = list("xyAbλμΣ‖₂₁ₚ²⁻¹ᵀ⊙·×−∞∇∂_()+-*/ ") + ["‖x‖₂", "x", "A"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_ALPHABET), min_size=1, max_size=14).map("".join))
def test_readers_never_fail_from_inside(text: str) -> None:
    for reader in (sn.parse, sn.parse_latex):
        try:
            reader(text)
        except SymnormError:
            pass
