"""The fast path of a kernel call (symnorm.kernels.calling) against the general path.

The prologue written for each kernel takes the common call (numpy float arrays of one
dtype, all positional or all by name, no batch or one shared batch) and hands every
other call to ``Kernel._call_general``. It must never answer differently: the property
test below makes random calls, right and wrong, and compares both paths — the same
array (values, dtype, shape), or the same error with the same message.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symnorm as sn
from symnorm.kernels.backends.dispatch import with_backend
from symnorm.kernels.calling import general_call


def _kernels() -> dict[str, sn.Kernel]:
    x, A, b = sn.vector("x"), sn.matrix("A"), sn.vector("b", "m")
    p, lam, mu = sn.scalar("p"), sn.scalar("lam"), sn.scalar("mu")
    M = sn.matrix("M", "n", "n", symmetric=True)
    F, G = sn.matrix("F", 2, "n"), sn.group_labels("G")
    w, X, y = sn.vector("w"), sn.matrix("X"), sn.vector("y", "m")
    return {
        "residual": sn.grad(sn.norm(A * x - b, 2), x).kernel(),          # x, A, b
        "order": sn.grad(sn.norm(x, p), x).kernel(),                       # x, p
        "symmetric": sn.grad(x.T * M * x, x).kernel(),                     # x, M
        "group": sn.grad(sn.group_norm(x, G), x).kernel(),                 # x, G
        "fixed": sn.kernel(F * x, [F, x]),                                 # F (2, n), x
        "value": sn.kernel(lam * sn.norm(x, 1), [x, lam]),                 # a scalar result
        # lam and mu both scalars, placed by name: a positional call is refused
        "same-kind": sn.grad(sn.norm(X * w - y, 2) ** 2 + lam * sn.norm(w, 1)
                             + mu * sn.norm(w, 2) ** 2, w).kernel(),
        "scalars": sn.kernel(lam * mu + 1, [lam, mu]),                     # no fast path
    }


KERNELS = _kernels()


def _outcome(f, *args):
    """(``"value"``, array) or (``"error"``, type, message) of one call."""
    try:
        return "value", f(*args)
    except Exception as err:  # noqa: BLE001 - the errors themselves are compared
        return "error", type(err), str(err)


def _same(fast, general) -> None:
    assert fast[0] == general[0], (fast, general)
    if fast[0] == "error":
        assert fast[1:] == general[1:]
        return
    a, b = fast[1], general[1]
    assert type(a) is type(b)
    assert a.shape == b.shape and a.dtype == b.dtype
    np.testing.assert_array_equal(a, b)


@st.composite
def calls(draw):
    """A kernel and a call of it: values (right or wrong), positional or by name."""
    name = draw(st.sampled_from(sorted(KERNELS)))
    k = KERNELS[name]
    sizes: dict = {}
    dtype = draw(st.sampled_from([np.float64, np.float64, np.float32]))
    batch = draw(st.sampled_from([(), (), (2,), (3, 2)]))
    good = draw(st.booleans())  # a call the fast path should take: right in every way
    values = []
    for spec in k._specs:
        core = []
        for d in spec.dims:
            size = sizes.setdefault(d, draw(st.integers(1, 3))) if not d.is_Integer \
                else int(d)
            core.append(size + (0 if good else draw(st.sampled_from([0, 0, 0, 0, 1]))))
        if good:
            own = draw(st.sampled_from([batch, ()]))
            form = draw(st.sampled_from(["array", "array", "python"]))
        else:
            own = draw(st.sampled_from([batch, batch, (), (1,), (3,)]))
            form = draw(st.sampled_from(["array"] * 4 + ["float32", "int", "list", "column",
                                                         "python", "complex", "short"]))
        shape = (*own, *core)
        rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
        if spec.kind == "labels":
            v = rng.integers(0, 2, shape)
            if form == "float32":
                v = v.astype(np.float32)
        elif spec.kind == "scalar" and form == "python":
            v = draw(st.sampled_from([2.5, 3, 1.5] if good else
                                     [2.5, 3, True, 10 ** 30, 2 ** 62 + 1, -2 ** 63]))
        else:
            v = rng.uniform(1.0, 2.0, shape).astype(dtype)
            if spec.kind == "matrix" and len(core) == 2 and core[0] == core[1] and \
                    draw(st.booleans()):
                v = v + np.swapaxes(v, -1, -2)  # a symmetric value, for M
            if form == "float32":
                v = v.astype(np.float32)
            elif form == "int":
                v = (v * 3).astype(np.int64)
            elif form == "list":
                v = v.tolist()
            elif form == "column" and spec.kind == "vector":
                v = v[..., None]
            elif form == "complex":
                v = v.astype(np.complex128)
            elif form == "short":
                v = v[..., :-1] if v.ndim else v
        values.append(v)
    style = draw(st.sampled_from(["positional", "named"] if good else
                                 ["positional", "named", "mixed", "missing", "extra"]))
    names = k.arg_names
    if style == "positional":
        args, named = tuple(values), {}
    elif style == "named":
        args, named = (), dict(zip(names, values))
    elif style == "mixed":
        args, named = tuple(values[:1]), dict(zip(names[1:], values[1:]))
    elif style == "missing":
        args, named = (), dict(zip(names[:-1], values[:-1]))
    else:
        args, named = (), {**dict(zip(names, values)), "zz": 1.0}
    with_out = draw(st.booleans())
    return k, args, named, with_out


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calls())
def test_the_fast_path_answers_as_the_general_path(call):
    k, args, named, with_out = call
    general = _outcome(k._call_general, args, named, None)
    fast = _outcome(k._fast, k, args, named, None)
    _same(fast, general)
    if with_out and general[0] == "value":
        res = general[1]
        out_fast, out_general = np.full(res.shape, np.nan), np.full(res.shape, np.nan)
        got_general = _outcome(k._call_general, args, named, out_general)
        got_fast = _outcome(k._fast, k, args, named, out_fast)
        _same(got_fast, got_general)
        np.testing.assert_array_equal(out_fast, out_general)


def _no_general(k, monkeypatch):
    def refuse(*args):
        raise AssertionError("the general path was taken")

    monkeypatch.setattr(k, "_call_general", refuse)


def test_the_common_calls_take_the_fast_path(monkeypatch, rng):
    k = KERNELS["residual"]
    a, v, bb = rng.standard_normal((4, 3)), rng.standard_normal(3), rng.standard_normal(4)
    want = a.T @ (a @ v - bb) / np.linalg.norm(a @ v - bb)
    _no_general(k, monkeypatch)
    np.testing.assert_allclose(k(v, a, bb), want, rtol=1e-14)
    np.testing.assert_allclose(k(b=bb, A=a, x=v), want, rtol=1e-14)
    got = k(v.astype(np.float32), a.astype(np.float32), bb.astype(np.float32))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5)
    out = np.empty(3)
    assert k(v, a, bb, out=out) is out
    np.testing.assert_allclose(out, want, rtol=1e-14)
    # a batch: the same leading axes on every batched argument, others unbatched
    xs, bs = rng.standard_normal((5, 3)), rng.standard_normal((5, 4))
    np.testing.assert_allclose(k(xs, a, bs), [k(xi, a, bi) for xi, bi in zip(xs, bs)],
                               rtol=1e-14)
    # scalars given as Python numbers
    order = KERNELS["order"]
    _no_general(order, monkeypatch)
    np.testing.assert_allclose(order(v, 3.0), order(v, 3), rtol=0)
    assert order(v.astype(np.float32), 3.0).dtype == np.float32


@pytest.mark.parametrize("call", [
    lambda k, v, a, b: k(list(v), a, b),                         # a list
    lambda k, v, a, b: k(v.astype(np.float32), a, b),            # mixed dtypes
    lambda k, v, a, b: k(v.astype(int), a, b),                   # integers
    lambda k, v, a, b: k(v[None, None], a, b[None]),             # batches that broadcast
    lambda k, v, a, b: k(v[:, None], a, b),                      # a column vector
    lambda k, v, a, b: k(v, A=a, b=b),                           # positional and by name
    lambda k, v, a, b: k(np.ma.masked_array(v), a, b),           # an ndarray subclass
])
def test_other_calls_are_handed_to_the_general_path(call, rng):
    k = KERNELS["residual"]
    a, v, bb = rng.standard_normal((4, 3)), np.array([1.0, -2.0, 3.0]), rng.standard_normal(4)
    want = k(v, a, bb)
    seen = []

    def spy(*args):
        seen.append(args)
        return type(k)._call_general(k, *args)

    k._call_general = spy
    try:
        got = call(k, v, a, bb)
    finally:
        del k._call_general
    assert len(seen) == 1
    np.testing.assert_allclose(np.squeeze(got), want, rtol=1e-6)


def test_wrong_calls_get_the_general_paths_errors(rng):
    k = KERNELS["residual"]
    with pytest.raises(sn.ShapeError, match=r"A has shape \(3, 4\) .*\(is A transposed\?\)"):
        k(np.ones(3), np.ones((3, 4)), np.ones(4))
    with pytest.raises(sn.ArgumentError, match="missing argument"):
        k(x=np.ones(3), A=np.ones((4, 3)))
    with pytest.raises(sn.ArgumentError, match="declared symmetric"):
        KERNELS["symmetric"](np.ones(2), np.array([[1.0, 2.0], [0.0, 1.0]]))
    with pytest.raises(sn.ArgumentError, match="ambiguous positional call"):
        KERNELS["same-kind"](np.ones(2), np.ones((3, 2)), 1.0, 2.0, np.ones(3))


def test_kernels_without_a_vector_or_matrix_argument_use_the_general_path():
    k = KERNELS["scalars"]
    assert k._fast is general_call
    assert k(2.0, 3.0) == 7.0 and k(lam=np.array([1.0, 2.0]), mu=2.0).shape == (2,)


def test_backend_twins_leave_the_numpy_fast_path(rng):
    k = KERNELS["residual"]
    a, v, bb = rng.standard_normal((4, 3)), rng.standard_normal(3), rng.standard_normal(4)
    twin = with_backend(k, "array_api")
    assert twin.backend == "array_api" and k.backend is None
    np.testing.assert_allclose(twin(v, a, bb), k(v, a, bb), rtol=1e-14)
