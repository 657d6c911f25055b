"""What kernels accept and refuse: names, shapes, dtypes, out=, empty vectors, orders.

Every call of a kernel checks its arguments (O(1) each) before numpy sees them; a wrong
input is a symnorm error that names the argument, never a numpy broadcast error and
never a silently wrong number.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import sympy as sp

import symnorm as sn
from symnorm.kernels.arguments import free_arguments
from symnorm.model.errors import ArgumentError, DomainError
from symnorm.rules import NORMS, norm_rule

# vector norms here; the matrix norms have their own float32 and empty-input tests below
CASES = [(rule, p) for rule in NORMS for p in rule.sample_orders
         if not rule.extras.get("matrix")]
IDS = [f"{rule.key}-p={p}" for rule, p in CASES]
MATRIX_CASES = [p for rule in NORMS for p in rule.sample_orders if rule.extras.get("matrix")]


@pytest.fixture
def residual():
    """The gradient kernel of ||A x - b||_2: arguments (x, A, b)."""
    A, x, b = sn.matrix("A"), sn.vector("x"), sn.vector("b", "m")
    return sn.grad(sn.norm(A * x - b, 2), x).kernel()


def _extra(p, n: int, dtype=np.float64) -> dict:
    """Values of the order's own arguments (a symbolic p, group labels) for length n."""
    rule = norm_rule(p)
    if "sample_values" in rule.extras:
        values = rule.extras["sample_values"](p, max(n, 1), np.random.default_rng(0))
        return {k: np.asarray(v)[..., :n] if np.ndim(v) else v for k, v in values.items()}
    if isinstance(p, sp.Symbol):
        return {"p": dtype(2.5)}
    return {}


# -- names and positional order ---------------------------------------------------------

def test_keyword_call_in_any_order_equals_positional(residual, rng):
    a, v, bb = rng.standard_normal((4, 3)), rng.standard_normal(3), rng.standard_normal(4)
    want = a.T @ (a @ v - bb) / np.linalg.norm(a @ v - bb)
    np.testing.assert_allclose(residual(v, a, bb), want, rtol=1e-14)
    np.testing.assert_allclose(residual(b=bb, x=v, A=a), want, rtol=1e-14)
    np.testing.assert_allclose(residual(v, b=bb, A=a), want, rtol=1e-14)


def test_the_order_is_shown_in_signature_repr_and_docstring(residual):
    assert str(inspect.signature(residual)) == "(x, A, b, *, out=None)"
    assert repr(residual) == ("<symnorm kernel k(x, A, b, *, out=None) -> "
                              "A.T*(A*x - b)/norm(A*x - b, 2)>")
    doc = residual.__doc__
    assert "k(x, A, b, *, out=None), positionally in this order or by name" in doc
    assert "x: vector of length n" in doc and "A: matrix (m, n)" in doc
    assert "b: vector of length m" in doc


def test_derivation_kernels_put_the_variable_first_then_names_sorted():
    w, X, y, lam = sn.vector("w"), sn.matrix("X"), sn.vector("y", "m"), sn.scalar("lam")
    d = sn.grad(sn.norm(X * w - y, 2) ** 2 + lam * sn.norm(w, 2) ** 2, w)
    assert d.kernel().arg_names == ["w", "X", "lam", "y"]
    assert str(inspect.signature(d.kernel())) == "(w, X, lam, y, *, out=None)"
    # sn.kernel keeps the order it is given
    assert sn.kernel(d.result, [y, lam, X, w]).arg_names == ["y", "lam", "X", "w"]


def test_a_positional_call_that_could_swap_same_kind_arguments_is_refused(rng):
    w, X, y = sn.vector("w"), sn.matrix("X"), sn.vector("y", "m")
    lam, mu = sn.scalar("lam"), sn.scalar("mu")
    d = sn.grad(sn.norm(X * w - y, 2) ** 2 + lam * sn.norm(w, 1) + mu * sn.norm(w, 2) ** 2, w)
    k = d.kernel()
    assert k.arg_names == ["w", "X", "lam", "mu", "y"]
    assert "lam and mu are scalars placed in order of their names" in k.__doc__
    wv, Xv, yv = rng.standard_normal(3), rng.standard_normal((4, 3)), rng.standard_normal(4)
    want = 2 * Xv.T @ (Xv @ wv - yv) + 0.1 * np.sign(wv) + 2 * 0.7 * wv
    # lam and mu are both scalars ordered by name: k(w, X, mu, lam, y) would be silently
    # wrong, so giving both positionally is refused
    with pytest.raises(ArgumentError, match=r"ambiguous positional call of k\(w, X, lam, mu, y, "
                                            r"\*, out=None\): lam and mu are both scalars.*"
                                            r"k\(w, X, lam=\.\.\., mu=\.\.\., y=\.\.\.\)"):
        k(wv, Xv, 0.1, 0.7, yv)
    np.testing.assert_allclose(k(wv, Xv, lam=0.1, mu=0.7, y=yv), want)
    np.testing.assert_allclose(k(wv, Xv, y=yv, mu=0.7, lam=0.1), want)
    np.testing.assert_allclose(k(wv, Xv, 0.1, mu=0.7, y=yv), want)   # one of them: fine
    # an order given by the caller is taken as meant
    k2 = d.kernel([w, X, y, mu, lam])
    np.testing.assert_allclose(k2(wv, Xv, yv, 0.7, 0.1), want)
    # sn.kernel without args orders everything by name
    a = sn.vector("a")
    kv = sn.kernel(sn.norm(w - a, 2))
    with pytest.raises(ArgumentError, match="a and w are both vectors"):
        kv(wv, wv)
    assert kv(w=wv, a=wv) == 0.0


def test_missing_misspelt_and_duplicate_names_list_the_valid_ones(residual):
    v, a, bb = np.ones(2), np.eye(2), np.ones(2)
    valid = r"the arguments are k\(x, A, b, \*, out=None\)"
    with pytest.raises(ArgumentError, match=r"missing argument\(s\): A, b; " + valid):
        residual(x=v)
    with pytest.raises(ArgumentError, match=r"unknown argument 'B'; " + valid):
        residual(x=v, A=a, B=bb)
    with pytest.raises(ArgumentError, match=r"argument 'x' given twice .*; " + valid):
        residual(v, a, bb, x=v)
    with pytest.raises(ArgumentError, match=r"takes 3 argument\(s\), got 4 positional"):
        residual(v, a, bb, bb)
    # ArgumentError is a TypeError, like Python's own call errors
    with pytest.raises(TypeError):
        residual(v)


def test_a_swapped_positional_call_is_refused_by_the_shapes(residual):
    # k(A, x, b) instead of k(x, A, b): A lands on x and x on A
    with pytest.raises(sn.ShapeError, match="argument A must be a matrix"):
        residual(np.eye(3), np.ones(3), np.ones(3))


def test_names_that_cannot_be_kernel_arguments():
    x = sn.vector("x")
    with pytest.raises(sn.UnsupportedExpressionError, match="named 'out'"):
        sn.kernel(sn.norm(x, 2) * sn.scalar("out"))
    with pytest.raises(sn.UnsupportedExpressionError, match="named x"):
        sn.kernel(sn.norm(x, 2) + sn.scalar("x"))


# -- shapes ------------------------------------------------------------------------------

def test_wrong_size_matrix_names_argument_shape_and_expected_shape(residual):
    with pytest.raises(sn.ShapeError) as err:
        residual(np.ones(3), np.ones((3, 2)), np.ones(3))
    assert str(err.value) == ("A has shape (3, 2) but x has length 3, so A must be (m, 3) "
                              "(is A transposed?)")


def test_transposed_matrix_is_named(residual):
    with pytest.raises(sn.ShapeError, match=r"A has shape \(4, 2\) but x has length 4, so A "
                                            r"must be \(m, 4\) \(is A transposed\?\)"):
        residual(x=np.ones(4), A=np.ones((2, 4)).T, b=np.ones(2))


def test_second_dimension_is_checked_against_the_first_binding(residual):
    with pytest.raises(sn.ShapeError) as err:
        residual(np.ones(2), np.ones((3, 2)), np.ones(4))
    assert str(err.value) == "b has length 4 but A has shape (3, 2), so b must have length 3"


def test_declared_sizes_are_enforced():
    y = sn.vector("y", 3)
    with pytest.raises(sn.ShapeError) as err:
        sn.kernel(sn.norm(y, 2), [y])(np.ones(4))
    assert str(err.value) == ("y has length 4 but it is declared with shape (3, 1), so y "
                              "must have length 3")


def test_batch_axes_must_broadcast(residual):
    with pytest.raises(sn.ShapeError, match=r"batch .* do not broadcast: x has batch shape "
                                            r"\(4,\), b has batch shape \(3,\)"):
        residual(np.ones((4, 2)), np.eye(2), np.ones((3, 2)))


def test_batches_broadcast_against_unbatched_arguments(residual, rng):
    a, bb = rng.standard_normal((3, 2)), rng.standard_normal(3)
    xs = rng.standard_normal((5, 2))
    got = residual(xs, a, bb)
    assert got.shape == (5, 2)
    np.testing.assert_allclose(got, [residual(v, a, bb) for v in xs], rtol=1e-14)


def test_a_column_vector_is_one_vector_and_comes_back_as_a_column(rng):
    x = sn.vector("x")
    g = sn.grad(sn.norm(x, 2), x).kernel()
    value = sn.kernel(sn.norm(x, 2), [x])
    col = np.array([[3.0], [4.0]])
    np.testing.assert_allclose(g(col), [[0.6], [0.8]], rtol=1e-15)  # not two 1-vectors
    assert value(col) == 5.0 and value(col).shape == ()
    out = np.empty((2, 1))
    assert g(col, out=out) is out
    np.testing.assert_allclose(out, [[0.6], [0.8]], rtol=1e-15)
    batch_of_columns = rng.standard_normal((4, 3, 1))
    np.testing.assert_allclose(g(batch_of_columns)[..., 0], g(batch_of_columns[..., 0]))
    # a row (1, n) is a batch of one vector
    np.testing.assert_allclose(g(np.array([[3.0, 4.0]])), [[0.6, 0.8]], rtol=1e-15)


def test_a_length_one_vector_keeps_the_batch_reading():
    y = sn.vector("y", 1)
    k = sn.kernel(sn.norm(y, 2), [y])
    np.testing.assert_array_equal(k(np.array([[3.0], [-4.0]])), [3.0, 4.0])
    # the same when the length 1 is fixed by another argument
    A, x = sn.matrix("A", 2, "n"), sn.vector("x")
    kA = sn.kernel(sn.norm(A * x, 1), [A, x])
    np.testing.assert_array_equal(kA(np.array([[1.0], [2.0]]), np.array([[2.0], [-1.0]])),
                                  [6.0, 3.0])


def test_a_column_with_a_known_different_length_is_refused():
    A, x = sn.matrix("A", "m", "n"), sn.vector("x")
    k = sn.kernel(A * x, [A, x])
    with pytest.raises(sn.ShapeError, match=r"x has shape \(3, 1\) but A has shape \(2, 2\)"):
        k(np.eye(2), np.ones((3, 1)))


def test_declared_structure_is_checked_on_the_values(rng):
    # x.T M x with M declared symmetric derives 2 M x; a non-symmetric value would make
    # that silently wrong ((M + M.T) x is the gradient then), so the kernel refuses it
    x, M = sn.vector("x"), sn.matrix("M", "n", "n", symmetric=True)
    k = sn.grad(x.T * M * x, x).kernel()
    np.testing.assert_array_equal(k(np.ones(2), np.array([[2.0, 1.0], [1.0, 3.0]])), [6, 8])
    with pytest.raises(ArgumentError, match="M is declared symmetric"):
        k(np.ones(2), np.array([[2.0, 1.0], [0.0, 3.0]]))
    with pytest.raises(ArgumentError, match="M is declared symmetric"):   # any batch row
        k(np.ones(2), np.array([[[1.0, 0.0], [0.0, 1.0]], [[2.0, 1.0], [0.0, 3.0]]]))


def test_group_labels_of_the_wrong_length(rng):
    x, G = sn.vector("x"), sn.group_labels("G")
    k = sn.grad(sn.group_norm(x, G), x).kernel()
    with pytest.raises(sn.ShapeError, match=r"G has length 2 but x has length 3, so G must "
                                            r"have length 3 \(one label per vector entry\)"):
        k(np.ones(3), np.array([0, 1]))


# -- dtypes ------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [np.array([3 + 4j, 0]), [3 + 4j, 0], np.complex64(3)])
def test_complex_input_is_refused_never_truncated(value):
    x = sn.vector("x")
    k = sn.kernel(sn.norm(x, 2), [x])
    with pytest.raises(ArgumentError, match=r"argument x is complex .*real numbers only"):
        k(np.atleast_1d(value))


@pytest.mark.parametrize("value", [np.array(["3", "4"]), np.array([3.0, None]), ["a", "b"],
                                   np.array([np.datetime64("2020-01-01")])])
def test_text_and_object_arrays_are_refused(value):
    x = sn.vector("x")
    with pytest.raises(ArgumentError, match="argument x must be an array of real numbers"):
        sn.kernel(sn.norm(x, 2), [x])(value)


def test_masked_entries_are_refused_not_read_as_numbers():
    x = sn.vector("x")
    k = sn.kernel(sn.norm(x, 1), [x])
    with pytest.raises(ArgumentError, match=r"argument x has masked entries"):
        k(np.ma.masked_array([1.0, 100.0], mask=[False, True]))
    assert k(np.ma.masked_array([1.0, -2.0], mask=[False, False])) == 3.0


def test_ragged_lists_are_refused():
    x = sn.vector("x")
    with pytest.raises(ArgumentError, match="argument x is not an array of numbers"):
        sn.kernel(sn.norm(x, 2), [x])([[1.0, 2.0], [3.0]])


def test_integers_and_lists_are_converted_to_float64(residual):
    got = residual([3, 4], np.eye(2, dtype=int), np.array([0, 0]))
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, [0.6, 0.8], rtol=1e-15)
    x = sn.vector("x")
    assert sn.kernel(sn.norm(x, 1), [x])(np.array([True, False, True])) == 2.0


@pytest.mark.parametrize("rule,p", CASES, ids=IDS)
def test_float32_in_float32_out_for_every_norm(rule, p, rng):
    x = sn.vector("x")
    f = sn.norm(x, p)
    v = rng.standard_normal((3, 5)).astype(np.float32)
    extra = _extra(p, 5, np.float32)
    value = sn.kernel(f, free_arguments(f, first=x))(v, **extra)
    assert value.dtype == np.float32 and value.shape == (3,)
    if rule.key == "L0":
        return
    g = sn.grad(f, x).kernel()(v, **extra)
    assert g.dtype == np.float32 and g.shape == (3, 5)
    ref = sn.grad(f, x).kernel()(v.astype(np.float64), **extra)
    np.testing.assert_allclose(g, ref, rtol=2e-5, atol=1e-6)


def test_float32_survives_python_scalars_and_explicit_matrices(rng):
    x, lam = sn.vector("x"), sn.scalar("lam")
    k = sn.grad(lam * sn.norm(x, sp.oo) + sn.norm(x, 2) ** 2, x).kernel()
    v = rng.standard_normal(4).astype(np.float32)
    assert k(v, 0.5).dtype == np.float32
    assert k(v, np.float64(0.5)).dtype == np.float32   # a 0-d value does not promote
    assert k(v.astype(np.float64), 0.5).dtype == np.float64
    D = sp.Matrix([[1, -1, 0], [0, 1, -1]])
    kd = sn.kernel(sn.norm(D * sn.vector("y", 3), 2), [sn.vector("y", 3)])
    assert kd(np.ones(3, np.float32)).dtype == np.float32
    G = sn.group_labels("G")
    kg = sn.grad(sn.group_norm(x, G), x).kernel()
    assert kg(v, np.array([0.0, 1.0, 0.0, 2.0])).dtype == np.float32   # labels do not vote


# -- out= --------------------------------------------------------------------------------

def test_out_must_have_exactly_the_result_shape():
    x = sn.vector("x")
    g = sn.grad(sn.norm(x, 2), x).kernel()
    with pytest.raises(sn.ShapeError, match=r"out= has shape \(2, 3\), but the result has "
                                            r"shape \(3,\)"):
        g(np.ones(3), out=np.empty((2, 3)))     # broadcastable, but not the result's shape
    with pytest.raises(sn.ShapeError, match=r"out= has shape \(1, 3\)"):
        g(np.ones(3), out=np.empty((1, 3)))
    with pytest.raises(sn.ShapeError, match=r"out= has shape \(\)"):
        sn.kernel(sn.norm(x, 2), [x])(np.ones((2, 3)), out=np.empty(()))


def test_out_must_be_a_float_array():
    x = sn.vector("x")
    g = sn.grad(sn.norm(x, 2), x).kernel()
    with pytest.raises(ArgumentError, match="out= must be a float numpy array, got an array "
                                            "of dtype int64"):
        g(np.ones(3), out=np.empty(3, dtype=np.int64))
    with pytest.raises(ArgumentError, match="got list"):
        g(np.ones(3), out=[0.0, 0.0, 0.0])
    ro = np.empty(3)
    ro.flags.writeable = False
    with pytest.raises(ArgumentError, match="read-only"):
        g(np.ones(3), out=ro)
    out32 = np.empty(2, dtype=np.float32)
    assert g(np.array([3.0, 4.0]), out=out32) is out32
    np.testing.assert_allclose(out32, [0.6, 0.8], rtol=1e-7)


def test_out_of_a_batched_scalar_result():
    x = sn.vector("x")
    k = sn.kernel(sn.norm(x, 1), [x])
    out = np.empty(2)
    assert k(np.array([[1.0, -2.0], [0.5, 0.5]]), out=out) is out
    np.testing.assert_array_equal(out, [3.0, 1.0])


# -- constants and empty vectors -----------------------------------------------------------

def test_constant_kernels():
    k = sn.kernel(sp.Integer(3), [])
    assert k() == 3.0 and k().dtype == np.float64
    assert str(inspect.signature(k)) == "(*, out=None)"
    x = sn.vector("x")
    kx = sn.kernel(sp.Integer(3), [x])
    np.testing.assert_array_equal(kx(np.ones((4, 2))), [3.0, 3.0, 3.0, 3.0])
    assert kx(np.ones(2)).shape == ()
    a = sn.vector("a")
    ka = sn.grad(a.T * x, x).kernel()         # the gradient a does not depend on x
    np.testing.assert_array_equal(ka(np.ones((3, 2)), np.array([1.0, 2.0])), [[1, 2]] * 3)
    out = np.empty((3, 2))
    assert ka(np.ones((3, 2)), np.array([1.0, 2.0]), out=out) is out
    np.testing.assert_array_equal(out, [[1, 2]] * 3)


@pytest.mark.parametrize("rule,p", CASES, ids=IDS)
def test_empty_vectors_give_the_mathematical_answer(rule, p):
    x = sn.vector("x")
    f = sn.norm(x, p)
    extra = _extra(p, 0)
    value = sn.kernel(f, free_arguments(f, first=x))
    assert value(np.zeros(0), **extra) == 0.0
    np.testing.assert_array_equal(value(np.zeros((3, 0)), **extra), [0.0, 0.0, 0.0])
    if rule.key == "L0":
        return
    g = sn.grad(f, x).kernel()
    assert g(np.zeros(0), **extra).shape == (0,)
    assert g(np.zeros((3, 0)), **extra).shape == (3, 0)


@pytest.mark.parametrize("p", MATRIX_CASES, ids=str)
def test_float32_in_float32_out_for_every_matrix_norm(p, rng):
    X = sn.matrix("X")
    v = rng.standard_normal((3, 4, 5)).astype(np.float32)   # a batch of three 4x5 matrices
    value = sn.kernel(sn.norm(X, p), [X])(v)
    assert value.dtype == np.float32 and value.shape == (3,)
    g = sn.grad(sn.norm(X, p), X, check=False).kernel()
    got = g(v)
    assert got.dtype == np.float32 and got.shape == (3, 4, 5)
    np.testing.assert_allclose(got, g(v.astype(np.float64)), rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("p", MATRIX_CASES, ids=str)
@pytest.mark.parametrize("shape", [(0, 0), (3, 0), (0, 3), (2, 3, 0), (2, 0, 3), (0, 3, 2)])
def test_empty_matrices_give_the_mathematical_answer(p, shape):
    X = sn.matrix("X")
    value = sn.kernel(sn.norm(X, p), [X])(np.zeros(shape))
    np.testing.assert_array_equal(value, np.zeros(shape[:-2]))
    assert sn.grad(sn.norm(X, p), X, check=False).kernel()(np.zeros(shape)).shape == shape


@pytest.mark.parametrize("p", [3, sp.Rational(3, 2), sp.Rational(1, 2), sp.oo, 1, 2,
                               sp.Symbol("p")])
def test_nan_propagates_into_every_norm_value(p):
    x = sn.vector("x")
    f = sn.norm(x, p)
    k = sn.kernel(f, free_arguments(f, first=x))
    extra = {"p": 3.0} if isinstance(p, sp.Symbol) else {}
    assert np.isnan(k(np.array([np.nan, 1.0]), **extra))
    assert np.isnan(k(np.array([1.0, np.nan]), **extra))


# -- symbolic orders -----------------------------------------------------------------------

def test_symbolic_order_outside_its_range_is_refused():
    x, p = sn.vector("x"), sn.scalar("p")
    g = sn.grad(sn.norm(x, p), x).kernel()
    v = sn.kernel(sn.norm(x, p), [x, p])
    for k in (g, v):
        with pytest.raises(DomainError, match=r"the order p = -1 of norm\(x, p\) is outside "
                                              r"the range p >= 1"):
            k(np.ones(3), -1.0)
        with pytest.raises(DomainError, match="p = 0.5"):
            k(np.ones(3), 0.5)
        with pytest.raises(DomainError, match="p = nan"):
            k(np.ones(3), np.nan)
        with pytest.raises(DomainError, match="p = 0.5"):
            k(np.ones((2, 3)), np.array([2.0, 0.5]))   # per batch row
    assert "Refuses p < 1" in g.__doc__
    np.testing.assert_allclose(g(np.array([3.0, -4.0]), 1.0), [1.0, -1.0])
    np.testing.assert_allclose(g(np.array([3.0, 4.0]), 2.0), [0.6, 0.8])


def test_declared_lower_bound_is_honoured():
    x, p = sn.vector("x"), sn.scalar("p")
    k = sn.kernel(sn.norm(x, p, p_min=sp.Rational(1, 2)), [x, p])
    assert k(np.array([1.0, 1.0]), 0.5) == pytest.approx(4.0)
    with pytest.raises(DomainError, match=r"p >= 0.5"):
        k(np.array([1.0, 1.0]), 0.25)


def test_infinite_order_at_run_time_is_the_max_norm_gradient():
    x, p = sn.vector("x"), sn.scalar("p")
    g = sn.grad(sn.norm(x, p), x).kernel()
    np.testing.assert_array_equal(g(np.array([3.0, -3.0, 1.0]), np.inf), [0.5, -0.5, 0.0])
