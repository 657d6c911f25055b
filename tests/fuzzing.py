"""Fuzzing support: random composed expressions, and an independent 50-digit reference.

An expression is generated as a small tree of our own (:class:`Node`), from which come
both the text handed to ``sn.parse`` and an mpmath evaluator that knows nothing of
symnorm or SymPy. The gradient symnorm derives (with its default check) and its kernel
are compared with central differences of that evaluator at points drawn to cover the
sign patterns of the expression's scalar pieces.

The expressions are scalars in a vector variable ``x`` (norms of orders 1, 2, 3, 4, oo,
3/2, 5/2, 5/4 and, now and then, 1000, 2000 or 10**100; forms; elementwise sigmoid, abs,
exp, tanh, relu, softplus; ``max`` pieces, also of ``exp(-s)`` products) or in a matrix
variable ``X`` (every matrix norm: fro, nuc, 2, 1, oo; traces; bilinear forms; the
elementwise maps of matrices), composed with scalar maps (abs, max, sqrt, exp(-s), log,
sigmoid, tanh, relu, softplus, sums, products, powers).

Each expression ends in one :class:`Outcome`:

- ``right``: derived, and the kernel matches the reference at every compared point;
- ``refused``: a clear symnorm error (unsupported, no domain point where the reference
  finds none either, ...);
- ``no_domain``: :class:`~symnorm.check.NoDomainPointError` although the reference finds
  points where the expression is finite (a false refusal);
- ``wrong``: a gradient (or a value kernel) that passed the default check but disagrees
  with the reference, or is NaN/inf where the reference is finite: wrong past the check;
- ``caught``: the check refused a result that really is wrong (fine for the check);
- ``false_alarm``: the check refused a gradient that is right;
- ``bad_refusal``: a ShapeError or ParseError for text that is well formed;
- ``crash``: an exception that is not symnorm's own (foreign).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import mpmath
import numpy as np
from fuzz_reference import (
    _MAPS,
    _dot,
    _matrix_norm,
    _matvec,
    _mp_matmul,
    _mp_sub,
    _mp_transpose,
    _norm,
    _positive,
    _real_log,
    _real_sqrt,
    _relu,
    _sigmoid,
    _softplus,
    reference,
    value_at,
)
from sympy.matrices.expressions import MatrixSymbol

import symnorm as sn
from symnorm.check import NoDomainPointError
from symnorm.model.errors import CheckFailedError, ParseError, ShapeError, SymnormError

# names and kinds of the symbols the generator uses (all of dimension n, matrices n x n)
SHAPES: dict[str, Any] = {"x": "n", "a": "n", "b": "n", "B": ("n", "n"), "M": ("n", "n"),
                          "X": ("n", "n"), "A": ("n", "n")}


@dataclass
class Node:
    """A scalar (``vec=False``) or vector/matrix node: its text, its mpmath evaluator and
    the variable it is differentiated in (``x``, or the matrix ``X``)."""

    text: str
    vec: bool
    ev: Callable[[dict], Any]
    var: str = "x"


# -- the generator: norm orders, constants, vector, matrix and scalar nodes (values in the
# reference: scalars are mpf, vectors lists of mpf, matrices lists of rows; fuzz_reference)

_ORDERS = [("1", 1), ("2", 2), ("3", 3), ("oo", "oo"), ("3/2", mpmath.mpf(3) / 2),
           ("4", 4), ("5/2", mpmath.mpf(5) / 2), ("5/4", mpmath.mpf(5) / 4)]
# orders of 1000 and more (scaled by the largest entry, or they under/overflow): rarer
_LARGE_ORDERS = [("1000", 1000), ("2000", 2000), ("10**100", mpmath.mpf(10) ** 100)]
_MATRIX_ORDERS = ["fro", "nuc", "2", "1", "oo"]


def _order(rng: random.Random) -> tuple[str, Any]:
    return rng.choice(_LARGE_ORDERS) if rng.random() < 0.06 else rng.choice(_ORDERS)


def _const(rng: random.Random) -> tuple[str, Callable[[], Any]]:
    """A constant: its text, and its value at the working precision when evaluated."""
    c = rng.choice(["2", "3", "0.5", "0.1", "4"])
    return c, lambda: mpmath.mpf(c)


def vector_node(rng: random.Random, depth: int) -> Node:
    """A vector expression in x (x, x - a, B*x - a, sigmoid(...), abs(...), ...)."""
    if depth <= 0:
        return rng.choice([
            Node("x", True, lambda e: e["x"]),
            Node("(x - a)", True, lambda e: [s - t for s, t in zip(e["x"], e["a"])]),
            Node("(B*x - a)", True,
                 lambda e: [s - t for s, t in zip(_matvec(e["B"], e["x"]), e["a"])]),
        ])
    kind = rng.choice(["leaf", "affine", "scale", "sub", "sigmoid", "abs", "had", "exp",
                       "tanh", "relu", "softplus"])
    if kind == "leaf":
        return vector_node(rng, 0)
    u = vector_node(rng, depth - 1)
    if kind in ("tanh", "relu", "softplus"):
        fn = _MAPS[kind]
        return Node(f"{kind}({u.text})", True, lambda e: [fn(t) for t in u.ev(e)])
    if kind == "affine":
        return Node(f"(B*{u.text} + b)", True,
                    lambda e: [s + t for s, t in zip(_matvec(e["B"], u.ev(e)), e["b"])])
    if kind == "scale":
        c, cv = _const(rng)
        return Node(f"({c}*{u.text})", True, lambda e: [cv() * t for t in u.ev(e)])
    if kind == "sub":
        return Node(f"({u.text} - b)", True, lambda e: [s - t for s, t in zip(u.ev(e), e["b"])])
    if kind == "sigmoid":
        return Node(f"sigmoid({u.text})", True, lambda e: [_sigmoid(t) for t in u.ev(e)])
    if kind == "abs":
        return Node(f"abs({u.text})", True, lambda e: [abs(t) for t in u.ev(e)])
    if kind == "exp":
        return Node(f"exp({u.text})", True, lambda e: [mpmath.exp(t) for t in u.ev(e)])
    v = vector_node(rng, depth - 1)
    return Node(f"({u.text} .* {v.text})", True,
                lambda e: [s * t for s, t in zip(u.ev(e), v.ev(e))])


def matrix_node(rng: random.Random, depth: int) -> Node:
    """A matrix expression in X (n x n): X, X - A, A*X, X*A - B, X.T, elementwise maps."""
    if depth <= 0:
        return rng.choice([
            Node("X", True, lambda e: e["X"], "X"),
            Node("(X - A)", True, lambda e: _mp_sub(e["X"], e["A"]), "X"),
            Node("(A*X)", True, lambda e: _mp_matmul(e["A"], e["X"]), "X"),
            Node("(X*A - B)", True, lambda e: _mp_sub(_mp_matmul(e["X"], e["A"]), e["B"]),
                 "X"),
            Node("X.T", True, lambda e: _mp_transpose(e["X"]), "X"),
        ])
    kind = rng.choice(["leaf", "map", "map", "sub", "prod", "scale"])
    if kind == "leaf":
        return matrix_node(rng, 0)
    u = matrix_node(rng, depth - 1)
    if kind == "map":
        name = rng.choice(sorted(_MAPS))
        fn = _MAPS[name]
        return Node(f"{name}({u.text})", True, lambda e: [[fn(t) for t in r] for r in u.ev(e)],
                    "X")
    if kind == "sub":
        return Node(f"({u.text} - B)", True, lambda e: _mp_sub(u.ev(e), e["B"]), "X")
    if kind == "prod":
        return Node(f"(A*{u.text})", True, lambda e: _mp_matmul(e["A"], u.ev(e)), "X")
    c, cv = _const(rng)
    return Node(f"({c}*{u.text})", True, lambda e: [[cv() * t for t in r] for r in u.ev(e)],
                "X")


def _matrix_leaf(rng: random.Random, depth: int) -> Node:
    """A scalar of a matrix expression in X: a matrix norm, a trace, a bilinear form."""
    kind = rng.choice(["norm", "norm", "norm", "trace", "trace_prod", "bilinear"])
    u = matrix_node(rng, rng.randint(0, max(0, depth - 1)))
    if kind == "norm":
        p = rng.choice(_MATRIX_ORDERS)
        return Node(f"norm({u.text}, {p})", False, lambda e: _matrix_norm(u.ev(e), p), "X")
    if kind == "trace":
        return Node(f"trace({u.text})", False,
                    lambda e: mpmath.fsum(r[i] for i, r in enumerate(u.ev(e))), "X")
    if kind == "trace_prod":
        return Node(f"trace(B*{u.text})", False,
                    lambda e: mpmath.fsum(r[i] for i, r in
                                          enumerate(_mp_matmul(e["B"], u.ev(e)))), "X")
    return Node(f"(a.T*{u.text}*b)", False,
                lambda e: _dot(e["a"], [_dot(r, e["b"]) for r in u.ev(e)]), "X")


def scalar_node(rng: random.Random, depth: int, var: str = "x") -> Node:
    """A scalar expression in ``var`` (``x`` or the matrix ``X``): norms, forms, traces,
    and scalar maps of them."""
    if depth <= 0:
        kind = rng.choice(["norm", "norm", "norm", "quad", "lin", "form"])
    else:
        kind = rng.choice(["norm", "quad", "lin", "form", "abs", "max", "sqrt", "exp", "log",
                           "sigmoid", "add", "sub", "mul", "scale", "shift", "pow", "tanh",
                           "relu", "softplus", "maxexp", "narrow"])
    if var == "X" and kind in ("norm", "quad", "lin", "form"):
        return _matrix_leaf(rng, depth)
    if kind == "norm":
        u = vector_node(rng, rng.randint(0, max(0, depth - 1)))
        ptext, p = _order(rng)
        return Node(f"norm({u.text}, {ptext})", False, lambda e: _norm(u.ev(e), p))
    if kind == "quad":
        u = vector_node(rng, 0)
        return Node(f"({u.text}.T*{u.text})", False, lambda e: _dot(u.ev(e), u.ev(e)))
    if kind == "lin":
        return Node("(a.T*x)", False, lambda e: _dot(e["a"], e["x"]))
    if kind == "form":
        return Node("(x.T*M*x)", False, lambda e: _dot(e["x"], _matvec(e["M"], e["x"])))
    if kind == "narrow":
        return narrow_node(rng, depth - 1, var)
    s = scalar_node(rng, depth - 1, var)
    if kind == "abs":
        return Node(f"abs({s.text})", False, lambda e: abs(s.ev(e)), var)
    if kind in ("tanh", "relu", "softplus"):
        fn = _MAPS[kind]
        return Node(f"{kind}({s.text})", False, lambda e: fn(s.ev(e)), var)
    if kind == "max":
        t = scalar_node(rng, depth - 1, var)
        return Node(f"max({s.text}, {t.text})", False, lambda e: max(s.ev(e), t.ev(e)), var)
    if kind == "maxexp":  # max(s, exp(-t)*u) and max(s, exp(-t)/u): issue 3, item 8
        t, u = scalar_node(rng, depth - 1, var), scalar_node(rng, 0, var)
        if rng.random() < 0.5:
            return Node(f"max({s.text}, exp(-{t.text})*{u.text})", False,
                        lambda e: max(s.ev(e), mpmath.exp(-t.ev(e)) * u.ev(e)), var)
        return Node(f"max({s.text}, exp(-{t.text})/{u.text})", False,
                    lambda e: max(s.ev(e), mpmath.exp(-t.ev(e)) / u.ev(e)), var)
    if kind == "sqrt":
        return Node(f"sqrt({s.text})", False, lambda e: _real_sqrt(s.ev(e)), var)
    if kind == "exp":
        return Node(f"exp(-{s.text})", False, lambda e: mpmath.exp(-s.ev(e)), var)
    if kind == "log":
        return Node(f"log({s.text})", False, lambda e: _real_log(s.ev(e)), var)
    if kind == "sigmoid":
        return Node(f"sigmoid({s.text})", False, lambda e: _sigmoid(s.ev(e)), var)
    if kind in ("add", "sub", "mul"):
        t = scalar_node(rng, depth - 1, var)
        op = {"add": "+", "sub": "-", "mul": "*"}[kind]
        fn = {"add": lambda p, q: p + q, "sub": lambda p, q: p - q,
              "mul": lambda p, q: p * q}[kind]
        return Node(f"({s.text} {op} {t.text})", False, lambda e: fn(s.ev(e), t.ev(e)), var)
    if kind == "scale":
        c, cv = _const(rng)
        return Node(f"({c}*{s.text})", False, lambda e: cv() * s.ev(e), var)
    if kind == "pow":
        return Node(f"({s.text})**2", False, lambda e: s.ev(e) ** 2, var)
    c, cv = _const(rng)  # shift: crosses zero in part of the domain
    return Node(f"({s.text} - {c})", False, lambda e: s.ev(e) - cv(), var)


def narrow_node(rng: random.Random, depth: int, var: str = "x") -> Node:
    """A scalar finite on part of the space only, often a small part: log or sqrt of a
    piece shifted by a constant, of relu, tanh, sigmoid or softplus pieces (what makes a
    domain hard to find by random draws)."""
    s = scalar_node(rng, depth, var)
    c, cv = _const(rng)
    forms: list[tuple[str, Callable[[Any], Any]]] = [
        (f"log({s.text} - {c})", lambda v: _real_log(v - cv())),
        (f"sqrt({s.text} - {c})", lambda v: _real_sqrt(v - cv())),
        (f"log(relu({s.text} - {c}))", lambda v: _real_log(_relu(v - cv()))),
        (f"log(tanh({s.text}))", lambda v: _real_log(mpmath.tanh(v))),
        (f"sqrt(tanh({s.text}) - 0.5)", lambda v: _real_sqrt(mpmath.tanh(v) - 0.5)),
        (f"log(softplus({s.text}) - {c})", lambda v: _real_log(_softplus(v) - cv())),
        (f"log(sigmoid({s.text}) - 0.5)", lambda v: _real_log(_sigmoid(v) - 0.5)),
        (f"(1/relu({s.text} - {c}))", lambda v: 1 / _positive(_relu(v - cv()))),
    ]
    text, fn = rng.choice(forms)
    return Node(text, False, lambda e: fn(s.ev(e)), var)


def random_node(rng: random.Random, depth: int) -> Node:
    """An expression of the campaign: in x, or (one time in four) in the matrix X."""
    return scalar_node(rng, depth, "X" if rng.random() < 0.25 else "x")


# -- points ------------------------------------------------------------------------------

def draw_values(rng: np.random.Generator, n: int, var: str = "x") -> dict[str, np.ndarray]:
    """Values of the constants, and a point of the variable (``x``, or the matrix ``X``)
    of one of several scales and sign patterns."""
    B = rng.standard_normal((n, n))
    R = rng.standard_normal((n, n))
    values = {"a": rng.standard_normal(n), "b": rng.standard_normal(n), "B": B, "M": R,
              "A": rng.standard_normal((n, n))}
    values["x"] = new_x(rng, values, n)
    values["X"] = new_matrix(rng, values, n)
    return values


def new_matrix(rng: np.random.Generator, values: dict, n: int) -> np.ndarray:
    style = rng.integers(0, 4)
    scale = (1.0, 0.2, 3.0, 1.0)[style]
    X = scale * rng.standard_normal((n, n))
    if style == 3:  # near A: X - A small
        X = values["A"] + 0.3 * rng.standard_normal((n, n))
    return X


def new_x(rng: np.random.Generator, values: dict, n: int) -> np.ndarray:
    style = rng.integers(0, 5)
    if style == 0:
        return rng.standard_normal(n)
    if style == 1:
        return 0.2 * rng.standard_normal(n)
    if style == 2:
        return 3.0 * rng.standard_normal(n)
    if style == 3:  # near a: x - a small, signs of a.T*x follow a
        return values["a"] + 0.3 * rng.standard_normal(n)
    return -values["a"] + 0.3 * rng.standard_normal(n)


@dataclass
class Outcome:
    text: str
    status: str     # right, refused, no_domain, wrong, caught, false_alarm, bad_refusal, crash
    detail: str = ""
    compared: int = 0             # points compared with the reference
    values: dict = field(default_factory=dict)
    var: str = "x"


def has_domain(node: Node, seed: int, n: int, tries: int = 48) -> dict | None:
    """A point where the expression is real and finite (in 50 digits), or None: tells a
    false "no domain point" from a true one. The search is wider than the check's: the
    comparisons' own draws, then the variable at scales 1e-3 to 1e3, and along the
    constants (t*a, t*b, rows of B; t*A, t*B, t*I for a matrix) for t from -300 to 300."""
    rng = np.random.default_rng(seed + 7)
    for _ in range(tries):
        values = draw_values(rng, n)
        if value_at(node, values) is not None:
            return values
    var = node.var
    for scale in (1e-3, 1e-2, 0.1, 10.0, 30.0, 100.0, 1e3):
        for _ in range(4):
            values = draw_values(rng, n)
            values[var] = scale * rng.standard_normal(np.shape(values[var]))
            if value_at(node, values) is not None:
                return values
    for t in (0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0):
        for sign in (1.0, -1.0):
            values = draw_values(rng, n)
            if var == "x":
                along = [values["a"], values["b"], *values["B"]]
            else:
                along = [values["A"], values["B"], np.eye(n)]
            for v in along:
                values[var] = sign * t * v + 0.01 * rng.standard_normal(np.shape(v))
                if value_at(node, values) is not None:
                    return values
    return None


def _compare(node: Node, d: Any, k: Any, fk: Any, values: dict) -> tuple[str, str] | None:
    """The kernels at ``values`` against the reference: None where the reference has no
    smooth, finite gradient there; ("right", "") or ("wrong", what differs) otherwise. A
    kernel that refuses the point raises (the caller classifies)."""
    ref = reference(node, values)
    if ref is None or not ref[2]:
        return None
    f_ref, g_ref, _ = ref
    if np.max(np.abs(g_ref)) > 1e100:
        return None
    args = {k2: values[k2] for k2 in k.arg_names}
    with np.errstate(all="ignore"):
        g = np.asarray(k(**args), dtype=float).reshape(-1)
        fv = float(np.asarray(fk(**args)))
    tol = 1e-6 * (np.max(np.abs(g_ref)) + 1e-3 * max(1.0, abs(f_ref)))
    if not (np.all(np.isfinite(g)) and np.isfinite(fv)):
        return "wrong", (f"kernel gives non-finite {to_list(g)} / f = {fv} where the "
                         f"reference is {to_list(g_ref)} / f = {f_ref}")
    if abs(fv - f_ref) > 1e-6 * max(1.0, abs(f_ref)):
        return "wrong", f"value kernel {fv!r}, reference {f_ref!r}"
    if np.max(np.abs(g - g_ref)) > tol:
        return "wrong", (f"gradient {to_list(g)}, reference {to_list(g_ref)}; derived "
                         f"{sn.to_text(d.result)}")
    return "right", ""


def run_expression(node: Node, seed: int, n: int = 3, points: int = 6) -> Outcome:
    """Derive the gradient of ``node`` in its variable with the default check; compare
    with mpmath: first at the points where the check failed (if it did), then at points
    of the fuzzer's own."""
    text = node.text
    try:
        used = set(re.findall(r"[A-Za-z_]\w*", text))
        f = sn.parse(text, **{k: v for k, v in SHAPES.items() if k in used})
        x = next((s for s in f.atoms(MatrixSymbol) if s.name == node.var), None)
        if x is None:  # e.g. (a.T*x) - (a.T*x): a constant, nothing to differentiate
            return Outcome(text, "right", "constant", var=node.var)
    except SymnormError as err:
        if isinstance(err, ParseError) and has_domain(node, seed, n) is None:
            # log(0), 0/0 written out by the generator: refused as it should be
            return Outcome(text, "refused", f"parse: {err}", var=node.var)
        return Outcome(text, "bad_refusal", f"parse: {type(err).__name__}: {err}")
    except Exception as err:  # noqa: BLE001 -- the fuzzer classifies every exception
        return Outcome(text, "crash", f"parse: {type(err).__name__}: {err}")
    rng = np.random.default_rng(seed)
    checked_ok = True
    failing: list[dict] = []
    try:
        d = sn.grad(f, x)
    except CheckFailedError as err:
        checked_ok = False
        check_message = str(err)
        report = getattr(err, "report", None)
        failing = [p.values for p in getattr(report, "points", []) if not p.ok][:2]
        try:
            d = sn.grad(f, x, check=False)
        except Exception as err2:  # noqa: BLE001
            return Outcome(text, "crash", f"grad(check=False) after a failed check: "
                                          f"{type(err2).__name__}: {err2}")
    except (ShapeError, ParseError) as err:  # the generator writes only well-shaped text
        return Outcome(text, "bad_refusal", f"grad: {type(err).__name__}: {err}")
    except NoDomainPointError as err:
        found = has_domain(node, seed, n)
        if found is not None:
            return Outcome(text, "no_domain", f"{err}", 0, found, node.var)
        return Outcome(text, "refused", f"NoDomainPointError (no finite point found by the "
                                        f"reference either): {err}", var=node.var)
    except SymnormError as err:
        return Outcome(text, "refused", f"{type(err).__name__}: {err}", var=node.var)
    except Exception as err:  # noqa: BLE001
        return Outcome(text, "crash", f"grad: {type(err).__name__}: {err}")
    try:
        k = d.kernel()
        fk = d.value_kernel()
    except SymnormError as err:
        return Outcome(text, "refused" if checked_ok else "caught",
                       f"kernel: {type(err).__name__}: {err}")
    except Exception as err:  # noqa: BLE001
        return Outcome(text, "crash", f"kernel: {type(err).__name__}: {err}")
    for values in failing:  # where the check failed: is the kernel really wrong there?
        try:
            verdict = _compare(node, d, k, fk, values)
        except Exception:  # noqa: BLE001 -- a kernel refusing the check's point: not judged
            verdict = None
        if verdict is not None and verdict[0] == "wrong":
            return Outcome(text, "caught", f"at the check's failing point: {verdict[1]}\n"
                                           f"    check: {check_message.splitlines()[0]}",
                           0, values, node.var)
    compared, tries = 0, 0
    while compared < points and tries < 4 * points:
        tries += 1
        values = draw_values(rng, n, node.var)
        try:
            verdict = _compare(node, d, k, fk, values)
        except SymnormError as err:
            return Outcome(text, "refused", f"kernel call: {type(err).__name__}: {err}",
                           compared, values, node.var)
        except Exception as err:  # noqa: BLE001
            return Outcome(text, "crash", f"kernel call: {type(err).__name__}: {err}",
                           compared, values, node.var)
        if verdict is None:
            continue
        compared += 1
        if verdict[0] == "wrong":
            if checked_ok:
                return Outcome(text, "wrong", verdict[1], compared, values, node.var)
            return Outcome(text, "caught", f"{verdict[1]}\n    check: "
                                           f"{check_message.splitlines()[0]}",
                           compared, values, node.var)
    if not checked_ok:
        if compared == 0:
            return Outcome(text, "refused", "check failed and no reference point found: "
                                            + check_message.splitlines()[0], var=node.var)
        return Outcome(text, "false_alarm", check_message, compared, var=node.var)
    return Outcome(text, "right", "", compared, var=node.var)


def to_list(a: np.ndarray) -> list:
    return [float(f"{t:.6g}") for t in np.asarray(a).reshape(-1)]


def campaign(count: int, seed: int = 0, depth: int = 3, n: int = 3,
             points: int = 6) -> list[Outcome]:
    """Run ``count`` random expressions; the outcome of each."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        node = random_node(rng, rng.randint(0, depth))
        out.append(run_expression(node, seed=seed * 100_003 + i, n=n, points=points))
    return out


STATUSES = ("right", "refused", "no_domain", "bad_refusal", "wrong", "caught", "false_alarm",
            "crash")


def statistics(outcomes: list[Outcome]) -> dict[str, int]:
    stats = {"tried": len(outcomes), "compared": sum(o.compared > 0 for o in outcomes),
             "matrix": sum(o.var == "X" for o in outcomes)}
    for status in STATUSES:
        stats[status] = sum(o.status == status for o in outcomes)
    return stats


if __name__ == "__main__":
    # python tests/fuzzing.py COUNT SEED [narrow]: a campaign with a report; with
    # "narrow", every expression is a narrow_node (how often "no domain point" is false)
    import sys
    import time

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    narrow = len(sys.argv) > 3 and sys.argv[3] == "narrow"
    t0 = time.perf_counter()
    rng = random.Random(seed)
    outcomes = []
    for i in range(count):  # as campaign(), reporting as it goes
        if narrow:
            node = narrow_node(rng, rng.randint(0, 2), "X" if rng.random() < 0.25 else "x")
        else:
            node = random_node(rng, rng.randint(0, 3))
        o = run_expression(node, seed=seed * 100_003 + i)
        outcomes.append(o)
        if o.status != "right":
            vals = {k: np.round(v, 4).tolist() for k, v in o.values.items()}
            print(f"[{o.status}] {o.text}\n    {o.detail[:400]}\n    {vals if vals else ''}",
                  flush=True)
        if (i + 1) % 100 == 0 or i + 1 == count:
            print(statistics(outcomes), f"{time.perf_counter() - t0:.1f} s", flush=True)
