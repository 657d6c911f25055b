"""The expression-language reader: results equal to API-built expressions, shapes by
unification, precedence, every error with its message, and that nothing in the text runs.
"""

from __future__ import annotations

import functools
import os
import uuid

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symnorm.language.expression import KNOWN_FUNCTIONS, parse
from symnorm.model.atoms import Abs, Exp, ScalarOf, Sigmoid, Sign, Trace
from symnorm.model.errors import ParseError, ShapeError, SymnormError, UnknownNormError
from symnorm.model.symbols import dim, matrix, scalar, vector
from symnorm.rules.constructors import norm

x, y, z, a, w = (vector(c) for c in "xyzaw")
A = matrix("A", "m", "n")
M = matrix("M", "n", "n")
lam, lam1, lam2, p = (scalar(s) for s in ("lam", "lam1", "lam2", "p"))
n, m = dim("n"), dim("m")


# --------------------------------------------------------------------------- results

@pytest.mark.parametrize("text, expected", [
    ("norm(A*x - b, 2)", norm(A * x - vector("b", "m"), 2)),
    ("norm(x - a, 2)", norm(x - a, 2)),
    ("x.T*M*x", ScalarOf(x.T * M * x)),
    ("lam1*norm(x,1) + lam2/2*norm(x,2)**2",
     lam1 * norm(x, 1) + lam2 / 2 * norm(x, 2) ** 2),
    ("norm(x, p)", norm(x, p)),
    ("norm(x, oo)", norm(x, sp.oo)),
    ("norm(x, 3/2)", norm(x, sp.Rational(3, 2))),
    ("norm(x, 1.5)", norm(x, sp.Rational(3, 2))),
    ("norm(x)", norm(x, 2)),
    ("norm(x, 0)", norm(x, 0)),
    ("sqrt(norm(x,2)**2 + 1)", sp.sqrt(norm(x, 2) ** 2 + 1)),
    ("sigmoid(W*x)", Sigmoid(matrix("W", "m", "n") * x)),
    ("x .* y", sp.HadamardProduct(x, y)),
    ("x .* y .* z", sp.HadamardProduct(x, y, z)),
    ("abs(x).^3", sp.HadamardPower(Abs(x), 3)),
    ("exp(x) + sign(x)", Exp(x) + Sign(x)),
    ("x.T*x", ScalarOf(x.T * x)),
    ("x.T*M*x + lam*norm(x, 1)", ScalarOf(x.T * M * x) + lam * norm(x, 1)),
    ("(x.T*a)*y", ScalarOf(x.T * a) * vector("y", "m")),
    ("A.T*x", matrix("A", "n", "m").T * x),
    ("x/2 - 0.25*a", x / 2 - sp.Rational(1, 4) * a),
    ("1e-3*lam", sp.Rational(1, 1000) * lam),
    ("-lam**2", -(lam**2)),
    ("-2**2", sp.Integer(-4)),
    ("2^3^2", sp.Integer(512)),
    ("2**-1", sp.Rational(1, 2)),
    ("(2^3)^2", sp.Integer(64)),
    ("1 - 2 - 3", sp.Integer(-4)),
    ("12 / 4 / 3", sp.Integer(1)),
    ("1 + 2*3", sp.Integer(7)),
    ("(1 + 2)*3", sp.Integer(9)),
    ("exp(lam) + abs(mu) + sign(eps) + log(theta)",
     sp.exp(lam) + sp.Abs(scalar("mu")) + sp.sign(scalar("eps")) + sp.log(scalar("theta"))),
    ("sigmoid(alpha)", 1 / (1 + sp.exp(-scalar("alpha")))),
    ("lambda*norm(x)", scalar("lambda") * norm(x, 2)),
    ("eps_0 + mu2", scalar("eps_0") + scalar("mu2")),
    ("x.T.T", x),
    ("-x + +a", -x + a),
    ("lam .* x", lam * x),
    ("x .^ 2", sp.HadamardPower(x, 2)),
])
def test_equal_to_api(text: str, expected: sp.Basic) -> None:
    assert parse(text) == expected


def test_norm_of_residual_has_expected_structure() -> None:
    e = parse("norm(A*x - b, 2)")
    assert e.arg.shape == (m, 1)
    assert e.free_symbols == norm(A * x - vector("b", "m"), 2).free_symbols


def test_dimension_naming_order() -> None:
    # first vector gets n, others m, k, ... in order of first appearance
    e = parse("B*A*x")
    B, Am, xv = e.args
    assert xv.shape == (n, 1)
    assert Am.shape == (dim("k"), n)
    assert B.shape == (m, dim("k"))
    # no vector: a lone matrix reads like matrix("A")
    assert parse("A") == matrix("A")
    assert parse("x + y + z") == x + y + z


def test_square_matrix_by_unification() -> None:
    assert parse("x.T*M*x").mat.args[1].shape == (n, n)


def test_order_names_are_scalars() -> None:
    assert parse("norm(x, q) + q") == scalar("q") + norm(x, scalar("q"))


# --------------------------------------------------------------------------- shapes=

def test_shapes_keyword_forms() -> None:
    assert parse("x + y", x=3) == vector("x", 3) + vector("y", 3)
    assert parse("A*x", x=3) == matrix("A", "m", 3) * vector("x", 3)
    assert parse("b + c", b="d") == vector("b", "d") + vector("c", "d")
    assert parse("A*x", A=(2, 3)) == matrix("A", 2, 3) * vector("x", 3)
    assert parse("A*x", A=("r", "c")) == matrix("A", "r", "c") * vector("x", "c")
    assert parse("t*x", t="scalar") == scalar("t") * x
    assert parse("B + C", B="matrix", C="matrix") == matrix("B") + matrix("C")
    assert parse("x*L", L="vector", x="matrix") == matrix("x", "m", "n") * vector("L")


def test_shapes_ready_objects_used_as_is() -> None:
    t = sp.Symbol("t", positive=True)
    Q = sp.MatrixSymbol("Q", 4, 4)
    e = parse("t*Q*x", t=t, Q=Q)
    assert e == t * Q * vector("x", 4)
    assert parse("lam*x", lam=scalar("lam", positive=True)).args[0].is_positive


def test_shapes_integer_propagates_through_classes() -> None:
    e = parse("norm(A*x - b, 2)", b=5, x=2)
    assert e == norm(matrix("A", 5, 2) * vector("x", 2) - vector("b", 5), 2)


def test_named_dims_from_shapes_are_not_reused() -> None:
    # b takes the name n, so the first vector x gets the next free name
    assert parse("A*x - b", b="n") == \
        matrix("A", "n", "m") * vector("x", "m") - vector("b", "n")


@pytest.mark.parametrize("value", [0, -2, True, "not a name", (1, 2, 3), 1.5, object()])
def test_bad_shapes_values(value: object) -> None:
    with pytest.raises(ShapeError, match="shape"):
        parse("x", x=value)


# --------------------------------------------------------------------------- shape errors

def test_vector_minus_matrix_names_both_shapes() -> None:
    with pytest.raises(ShapeError) as info:
        parse("norm(x - A, 2)")
    msg = str(info.value)
    assert "'x - A'" in msg
    assert "column vector of shape (n, 1)" in msg
    assert "matrix of shape (m, k)" in msg


def test_product_of_two_column_vectors_suggests_fixes() -> None:
    with pytest.raises(ShapeError) as info:
        parse("x*y + 1")
    msg = str(info.value)
    assert "'x*y'" in msg and "(n, 1)" in msg and "(m, 1)" in msg
    assert "x.T*y" in msg and "x .* y" in msg


def test_suggestion_parenthesises_compound_operands() -> None:
    with pytest.raises(ShapeError, match=r"\(A\*x\)\.T\*\(x - a\)"):
        parse("(A*x)*(x - a)")


def test_conflicting_integer_sizes() -> None:
    with pytest.raises(ShapeError) as info:
        parse("x + y", x=3, y=4)
    assert "(3, 1)" in str(info.value) and "(4, 1)" in str(info.value)


def test_conflicting_sizes_through_unification() -> None:
    with pytest.raises(ShapeError, match="matrix product"):
        parse("A*x + A*y", A=(2, 3), y=4)


@pytest.mark.parametrize("text, fragment", [
    ("x + 1", "a scalar"),
    ("1/x", "divides by a scalar only"),
    ("x**2", "x .^ 2"),
    ("norm(x) + 2^x", "'**' raises a scalar"),
    ("x .^ y + y", "must be a scalar"),
    ("x .* A", "'.*' needs equal shapes"),
    ("norm(lam)", "norm() takes a vector"),
    ("norm(x, A*x)", "must be a scalar"),
    ("sqrt(x)", "sqrt() takes a scalar"),
    ("log(A)", "log() takes a scalar"),
    ("A*B*C + x", "'+' needs equal shapes"),
])
def test_shape_errors(text: str, fragment: str) -> None:
    with pytest.raises(ShapeError) as info:
        parse(text)
    assert fragment in str(info.value)


# --------------------------------------------------------------------------- norm errors

def test_unknown_norm_passes_through_with_context() -> None:
    with pytest.raises(UnknownNormError) as info:
        parse("norm(x, -1)")
    assert "norm(x, -1)" in str(info.value) and ">= 0" in str(info.value)
    with pytest.raises(UnknownNormError, match="matrix norms"):
        parse("norm(A, 3)")


# --------------------------------------------------------------------------- parse errors

def test_syntax_error_position_and_caret() -> None:
    with pytest.raises(ParseError) as info:
        parse("norm(x, 2) + ;")
    err = info.value
    assert (err.position, err.line, err.column) == (13, 1, 14)
    assert "unexpected character ';' at line 1, column 14" in str(err)
    assert str(err).splitlines()[-2:] == ["    norm(x, 2) + ;", "                 ^"]


def test_syntax_error_on_second_line() -> None:
    with pytest.raises(ParseError) as info:
        parse("norm(x, 2)\n  + ) ")
    err = info.value
    assert (err.position, err.line, err.column) == (15, 2, 5)
    assert "unexpected ')'" in str(err) and "expected" in str(err)
    assert str(err).splitlines()[-2:] == ["      + ) ", "        ^"]


def test_unexpected_end_of_text() -> None:
    with pytest.raises(ParseError) as info:
        parse("norm(x,")
    assert "unexpected end of text at line 1, column 8" in str(info.value)
    assert info.value.position == 7


def test_missing_operator_hint() -> None:
    with pytest.raises(ParseError) as info:
        parse("2x")
    assert "unexpected name 'x'" in str(info.value)
    assert "operator" in str(info.value)
    assert info.value.column == 2


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text(text: str) -> None:
    with pytest.raises(ParseError, match="empty expression"):
        parse(text)


def test_unknown_function_lists_known_ones() -> None:
    with pytest.raises(ParseError) as info:
        parse("foo(x)")
    msg = str(info.value)
    assert msg.startswith("unknown function 'foo' at line 1, column 1; known functions: "
                          + ", ".join(KNOWN_FUNCTIONS))
    assert (info.value.line, info.value.column, info.value.position) == (1, 1, 0)


@pytest.mark.parametrize("text, fragment, column", [
    ("norm(x, 1, 2)", "expected 1 or 2", 1),
    ("lam + norm()", "expected 1 or 2", 7),
    ("sqrt(lam, 2)", "'sqrt'", 1),
    ("2*sigmoid()", "'sigmoid'", 3),
])
def test_wrong_arity(text: str, fragment: str, column: int) -> None:
    with pytest.raises(ParseError) as info:
        parse(text)
    assert "wrong number of arguments" in str(info.value)
    assert fragment in str(info.value)
    assert info.value.column == column
    assert f"column {column}" in str(info.value)


def test_underscore_names_rejected_with_position() -> None:
    with pytest.raises(ParseError) as info:
        parse("x + _secret")
    assert "'_secret'" in str(info.value)
    assert (info.value.position, info.value.column) == (4, 5)


@pytest.mark.parametrize("text, fragment", [
    ("x.foo", "unknown attribute '.foo'"),
    ("x.__class__", "unknown attribute"),
    ("oo", "'oo' (infinity) may only be a norm order"),
    ("norm(x, -oo)", "may only be a norm order"),
    ("norm + 1", "'norm' is a function"),
    ("import os", "keyword 'import'"),
    ("x if lam else y", "keyword 'if'"),
    ("None", "keyword 'None'"),
    ("'x'", "unexpected character"),
    ('"x"', "unexpected character"),
    ("[x]", "unexpected character '['"),
    ("{x}", "unexpected character '{'"),
    ("x, y", "unexpected ','"),
    ("x; y", "unexpected character ';'"),
    ("lambda x: x", "unexpected name 'x'"),
    ("x = y", "unexpected character '='"),
    ("2.", "unexpected character '.'"),
    ("2e", "unexpected name 'e'"),
    ("x[0]", "unexpected character '['"),
    ("x ≤ y", "unexpected character '≤' (U+2264 LESS-THAN OR EQUAL TO)"),
    ("2^9^9", "number too large"),
    ("9" * 2000, "more than 1000 digits"),
    ("1e99999", "out of range"),
])
def test_parse_errors(text: str, fragment: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(text)
    err = info.value
    assert fragment in str(err)
    assert isinstance(err.position, int) and err.line >= 1 and err.column >= 1
    assert "^" in str(err).splitlines()[-1]


def test_deep_nesting_is_refused_but_long_chains_are_fine() -> None:
    with pytest.raises(ParseError, match="nested too deeply"):
        parse("sqrt(" * 500 + "lam" + ")" * 500)
    with pytest.raises(ParseError, match="nested too deeply"):
        parse("-" * 500 + "x")
    assert parse("(" * 500 + "x" + ")" * 500) == x  # parentheses add no nodes
    assert parse(" + ".join(["lam"] * 2000)) == 2000 * lam
    assert parse("*".join(["lam"] * 2000)) == lam**2000


def test_long_line_caret_window() -> None:
    text = "lam + " * 40 + "?" + " + lam" * 40
    with pytest.raises(ParseError) as info:
        parse(text)
    shown, caret = str(info.value).splitlines()[-2:]
    assert shown[caret.index("^")] == "?"
    assert len(shown) < 100


def test_non_string_input() -> None:
    with pytest.raises(TypeError):
        parse(42)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- safety

def test_import_injection_runs_nothing() -> None:
    target = f"/tmp/pwned-{uuid.uuid4().hex}"
    for text in (f"__import__('os').system('touch {target}')",
                 "__import__('os').system('touch /tmp/pwned')",
                 f"exec(\"open('{target}','w')\")",
                 f"eval('__import__(\"os\").system(\"touch {target}\")')"):
        with pytest.raises(ParseError):
            parse(text)
    assert not os.path.exists(target)


@pytest.mark.parametrize("text", [
    "().__class__",
    "().__class__.__bases__[0].__subclasses__()",
    "x.__class__.__mro__",
    "(lambda: 0)()",
    "getattr(x, 'T')",
    "__builtins__",
    "x.T.__dict__",
    "Symbol('x')",
    "sp.exp(x)",
])
def test_python_constructs_are_parse_errors(text: str) -> None:
    with pytest.raises(ParseError):
        parse(text)


# --------------------------------------------------------------------------- property

@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30))
def test_random_text_parses_or_raises_symnorm_error(text: str) -> None:
    try:
        parse(text)
    except (ParseError, ShapeError, UnknownNormError):
        pass


_TOKENS = ["x", "y", "A", "M", "lam", "p", "2", "0.5", "oo", "+", "-", "*", "/", "**", "^",
           ".*", ".^", ".T", "(", ")", ",", "norm(", "sqrt(", "abs(", "sigmoid(", "exp(", " "]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_TOKENS), max_size=14))
def test_random_token_soup_parses_or_raises_symnorm_error(tokens: list[str]) -> None:
    try:
        result = parse("".join(tokens))
    except (ParseError, ShapeError, UnknownNormError) as err:
        assert isinstance(err, SymnormError)
        return
    assert isinstance(result, sp.Basic)


# --------------------------------------------------------------------------- issue 6

@pytest.mark.parametrize("name", ["oo", "inf", "Inf", "INF", "infinity", "Infinity"])
def test_infinity_names_are_the_max_norm(name: str) -> None:
    assert parse(f"norm(x, {name})") == norm(x, sp.oo)


@pytest.mark.parametrize("name", ["inf", "Inf", "infinity"])
def test_infinity_elsewhere_is_an_error(name: str) -> None:
    with pytest.raises(ParseError, match="may only be a norm order"):
        parse(f"x.T*x + {name}")


@pytest.mark.parametrize("order", ["fro", "nuc"])
def test_matrix_orders_of_a_vector_are_refused(order: str) -> None:
    with pytest.raises(UnknownNormError, match=f"{order} is a matrix norm order"):
        parse(f"norm(x, {order})")
    with pytest.raises(UnknownNormError, match=f"{order} is a matrix norm order"):
        parse(f"norm(A*x - b, {order})")


def test_matrix_orders_reach_the_norm_constructor() -> None:
    from symnorm.rules.matrix_maps import MatrixOrder

    # fro, 'fro', nuc and 'nuc' of a matrix are the matrix norms' own orders
    for text, kind in (("norm(A, fro)", "fro"), ("norm(A, 'fro')", "fro"),
                       ('norm(A, "nuc")', "nuc"), ("norm(A, nuc)", "nuc")):
        e = parse(text)
        assert e.p == MatrixOrder(kind) and e == norm(matrix("A", dim("m"), dim("n")), kind)


@pytest.mark.parametrize("text,column", [("norm(X, 'abc')", 9), ("norm(X, 'fro)", 9),
                                         ("norm(X, 'FRO')", 9), ("x + 'nuc", 5)])
def test_other_quoted_text_is_refused_with_a_caret(text: str, column: int) -> None:
    with pytest.raises(ParseError, match="unexpected") as info:
        parse(text)
    assert info.value.column == column and "^" in str(info.value)


def test_trace_reads_a_square_matrix() -> None:
    t = parse("trace(X)")
    X = t.arg
    assert isinstance(t, sp.Trace) and X.name == "X" and X.shape[0] == X.shape[1]
    # symnorm's trace: SymPy's Trace, kept whole by SymPy's scalar rewriting
    assert parse("trace(A*x*x.T)") == Trace(matrix("A", dim("n"), dim("n")) *
                                            vector("x", dim("n")) * vector("x", dim("n")).T)
    with pytest.raises(ParseError, match="wrong number of arguments to 'trace'"):
        parse("trace(X, X)")


@pytest.mark.parametrize("text", ["norm(x, abc)", "norm(x, H1)", "norm(x, fr)", "norm(x, y)"])
def test_undeclared_names_are_not_norm_orders(text: str) -> None:
    with pytest.raises(ParseError, match="unknown norm order") as info:
        parse(text)
    assert info.value.column == 9 and "declared scalar" in str(info.value)


def test_conventional_and_declared_orders() -> None:
    p, q = sp.Symbol("p", real=True), sp.Symbol("q", real=True)
    assert parse("norm(x, p)") == norm(x, p)
    assert parse("norm(x, q)").p == q
    assert parse("norm(x, alpha)").p == sp.Symbol("alpha", real=True)
    assert parse("norm(x, r)", r="scalar").p == sp.Symbol("r", real=True)


def test_an_order_that_moves_with_x_is_refused() -> None:
    with pytest.raises(ShapeError, match="must be a scalar"):
        parse("norm(x, x.T*x)")


def test_exponent_names_are_scalars() -> None:
    p = sp.Symbol("p", real=True)
    assert parse("norm(x, 2)**p") == norm(x, 2) ** p
    assert parse("x .^ (p - 1)") == sp.HadamardPower(x, p - 1)
    with pytest.raises(ShapeError):  # used as a vector too: no guessing
        parse("norm(x, 2)**y + norm(y)")


@pytest.mark.parametrize("value, hint", [("scaler", "did you mean 'scalar'"),
                                         ("vectr", "did you mean 'vector'"),
                                         ("postive", "valid kinds"),
                                         ("matrix2", "valid kinds")])
def test_unknown_shape_kinds_list_the_valid_ones(value: str, hint: str) -> None:
    with pytest.raises(ShapeError) as info:
        parse("c*norm(x, 1)", c=value)
    msg = str(info.value)
    assert hint in msg and "scalar, vector, matrix, spd" in msg and repr(value) in msg


def test_shapes_for_names_that_do_not_occur_are_refused() -> None:
    with pytest.raises(ShapeError, match="'c', which does not occur"):
        parse("norm(x, 1)", c="scalar")


@pytest.mark.parametrize("word, flags", [
    ("spd", {"symmetric", "positive_definite", "positive_semidefinite"}),
    ("psd", {"symmetric", "positive_semidefinite"}),
    ("sym", {"symmetric"}), ("symmetric", {"symmetric"}),
    ("diag", {"diagonal", "symmetric"}), ("orth", {"orthogonal"}),
])
def test_structure_words(word: str, flags: set) -> None:
    from symnorm.model.symbols import structure_of

    e = parse("x.T*M*x", M=word)
    M = next(s for s in e.atoms(sp.MatrixSymbol) if s.name == "M")
    assert set(structure_of(M)) == flags and M.shape[0] == M.shape[1]


def test_mahalanobis_with_a_declared_spd_matrix() -> None:
    import symnorm as sn

    f = parse("sqrt(x.T*M*x)", M="spd")
    xs = next(s for s in f.atoms(sp.MatrixSymbol) if s.name == "x")
    d = sn.grad(f, xs)
    assert sn.to_text(d.result) == "M*x/sqrt(x.T*M*x)" and d.report.ok


def test_long_literals_are_refused_before_they_reach_printing() -> None:
    for text in ("0." + "0" * 5000 + "1", "1" + "0" * 5000, "0" * 1001 + "1"):
        with pytest.raises(ParseError, match="more than 1000 digits"):
            parse(text)
    big = "9" * 999
    with pytest.raises(ParseError, match="number too large"):
        parse(" + ".join(f"1/{big}{i}" for i in range(10)) + " + lam")


def test_parsing_is_linear_in_the_text() -> None:
    # 2,000 distinct names and ~100 KB of sums: quadratic reading would take minutes
    names = [f"x{i}" for i in range(2000)]
    e = parse(" + ".join(names))
    assert len(e.args) == 2000
    assert parse("x + " * 20_000 + "x") == 20_001 * x
    assert parse(" - ".join(["lam"] * 5_001)) == -4_999 * lam


# the LALR grammar the reader replaced: the tree of every text must be the same
_LARK_GRAMMAR = r"""
?start: sum
?sum: product | sum "+" product -> add | sum "-" product -> sub
?product: unary | product "*" unary -> mul | product "/" unary -> div
    | product ".*" unary -> hadamard
?unary: power | "-" unary -> neg | "+" unary -> pos
?power: postfix | postfix "**" unary -> pow | postfix "^" unary -> pow
    | postfix ".^" unary -> hpow
?postfix: atom | postfix ATTR -> attr
?atom: NUMBER -> number | NAME -> var | NAME "(" _args? ")" -> call | "(" sum ")"
_args: sum ("," sum)*
ATTR: /\.[A-Za-z_][A-Za-z0-9_]*/
NAME: /[A-Za-z_][A-Za-z0-9_]*/
NUMBER: /([0-9]+(\.[0-9]+)?|\.[0-9]+)([eE][+-]?[0-9]+)?/
%ignore /[ \t\r\n\f]+/
"""


@functools.lru_cache(maxsize=1)
def _lark_reader() -> object:
    from lark import Lark

    return Lark(_LARK_GRAMMAR, parser="lalr", lexer="basic", propagate_positions=True)


def _shape(tree: object) -> object:
    from lark import Tree as LarkTree

    from symnorm.language.syntax import Tree as OurTree

    if isinstance(tree, (LarkTree, OurTree)):
        return (tree.data, tree.meta.start_pos, tree.meta.end_pos,
                [_shape(c) for c in tree.children])
    return (str(tree), tree.start_pos, tree.end_pos)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_TOKENS + ["a", "b", "-", "-", "(", ")", "f(", ","]),
                max_size=16))
def test_reader_builds_the_trees_of_the_grammar(tokens: list[str]) -> None:
    from lark.exceptions import LarkError

    from symnorm.language.syntax import _syntax_tree

    reference = _lark_reader()
    text = "".join(tokens)
    try:
        expected = _shape(reference.parse(text))
    except LarkError:
        expected = None
    try:
        got = _shape(_syntax_tree(text))
    except ParseError:
        got = None
    assert got == expected


# -- a dimension used as a number is a scalar --------------------------------------------------

def test_a_dimension_used_as_a_number() -> None:
    """norm(x, 2)**2/n with n the dimension of x: the mean square, not a vector n."""
    x = vector("x")
    e = parse("norm(x, 2)**2/n", x=x)
    n = dim("n")
    assert e == norm(x, 2) ** 2 / n and n in e.free_symbols
    assert parse("norm(x, 2)**2/n") == e               # by convention x has dimension n
    two = parse("x.T*y/m + norm(x, 1)/m", x=vector("x", "m"), y=vector("y", "m"))
    assert {s for s in two.free_symbols if not isinstance(s, sp.MatrixSymbol)} == {dim("m")}
    assert parse("sqrt(n)*norm(x, 2)", x=x) == sp.sqrt(n) * norm(x, 2)  # declared: n is x's
    # no dimension is called n: a name used only as a divisor is a real scalar
    assert parse("norm(x, 2)/n", x=3) == norm(vector("x", 3), 2) / scalar("n")
    # declared otherwise, it is what it is declared
    assert parse("norm(x, 2)/n", x=x, n="scalar") == norm(x, 2) / scalar("n")


def test_a_dimension_used_as_a_number_derives_and_computes() -> None:
    import numpy as np

    import symnorm as sn

    x = vector("x")
    d = sn.grad(parse("norm(x, 2)**2/n", x=x), x)
    assert sn.to_text(d.result) == "2*x/n"
    np.testing.assert_allclose(d.kernel()(np.array([1.0, 2.0, 3.0])), [2 / 3, 4 / 3, 2.0])
    np.testing.assert_allclose(d.value_kernel()(np.array([1.0, 2.0, 3.0, 4.0])), 30 / 4)


# -- numbers that are not real: division by zero, log of 0, roots of negatives ----------------

@pytest.mark.parametrize("text, message, column", [
    ("norm(x, 2)/0", "division by zero at line 1, column 11 in 'norm(x, 2)/0': '0' is 0", 11),
    ("0/0", "division by zero at line 1, column 2 in '0/0': '0' is 0", 2),
    ("x/(3 - 3)", "division by zero at line 1, column 2 in 'x/(3 - 3)': '3 - 3' is 0", 2),
    ("a.T*x/(0*lam)", "division by zero at line 1, column 6 in 'a.T*x/(0*lam)': "
                      "'0*lam' is 0", 6),
    ("norm(x, 1) + 0**-1", "division by zero at line 1, column 14 in '0**-1': 0 raised to "
                           "a negative power", 14),
    ("log(0)", "log of 0 at line 1, column 1 in 'log(0)': '0' is 0, and log is finite for "
               "positive numbers only", 1),
    ("norm(x, 2) + log(1 - 1)", "log of 0 at line 1, column 14 in 'log(1 - 1)': '1 - 1' is "
                                "0", 14),
    ("sqrt(-1)", "not real at line 1, column 1: 'sqrt(-1)' is the complex number I, and "
                 "symnorm works with real numbers only", 1),
    ("log(-2)*norm(x, 1)", "not real at line 1, column 1: 'log(-2)' is the complex number "
                           "log(2) + I*pi", 1),
    ("(-8)**(1/3)", "not real at line 1, column 1: '(-8)**(1/3)' is the complex number "
                    "2*(-1)**(1/3)", 1),
])
def test_numbers_that_are_not_real_are_refused_with_the_position(text, message, column):
    with pytest.raises(ParseError) as caught:
        parse(text)
    assert str(caught.value).startswith(message)
    assert caught.value.column == column and caught.value.line == 1


def test_real_numbers_are_still_read():
    assert parse("sqrt(4)") == 2 and parse("log(1)") == 0 and parse("2/4") == sp.Rational(1, 2)
    assert parse("0**2") == 0 and parse("(-8)**3") == -512
