"""Fuzzing support: random composed expressions, and an independent 50-digit reference.

An expression is generated as a small tree of our own (:class:`Node`), from which come
both the text handed to ``sn.parse`` and an mpmath evaluator that knows nothing of
symnorm or SymPy. The gradient symnorm derives (with its default check) and its kernel
are compared with central differences of that evaluator at points drawn to cover the
sign patterns of the expression's scalar pieces.

Each expression ends in one :class:`Outcome`:

- ``right``: derived, and the kernel matches the reference at every compared point;
- ``refused``: a clear symnorm error (unsupported, domain not found, ...);
- ``wrong``: a gradient that passed the default check but disagrees with the reference;
- ``caught``: the check refused a gradient that really is wrong (fine for the check);
- ``false_alarm``: the check refused a gradient that is right;
- ``bad_refusal``: a ShapeError or ParseError for text that is well formed;
- ``crash``: an exception that is not symnorm's own, or NaN/inf from the kernel where
  the reference is finite.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import mpmath
import numpy as np
from sympy.matrices.expressions import MatrixSymbol

import symnorm as sn
from symnorm.model.errors import CheckFailedError, ParseError, ShapeError, SymnormError

mp = mpmath.mp

# names and kinds of the symbols the generator uses (all of dimension n, matrices n x n)
SHAPES: dict[str, Any] = {"x": "n", "a": "n", "b": "n", "B": ("n", "n"), "M": ("n", "n")}


@dataclass
class Node:
    """A scalar (``vec=False``) or vector node: its text and its mpmath evaluator."""

    text: str
    vec: bool
    ev: Callable[[dict], Any]


# -- mpmath helpers (values: scalars are mpf, vectors are lists of mpf, matrices lists of rows)

def _norm(v: list, p: Any) -> Any:
    if p == "oo":
        return max(abs(t) for t in v)
    return mpmath.fsum(abs(t) ** p for t in v) ** (mpmath.mpf(1) / p)


def _matvec(A: list, v: list) -> list:
    return [mpmath.fsum(a * t for a, t in zip(row, v)) for row in A]


def _dot(u: list, v: list) -> Any:
    return mpmath.fsum(a * b for a, b in zip(u, v))


def _real_sqrt(t: Any) -> Any:
    if t < 0:
        raise ValueError("outside the real domain")
    return mpmath.sqrt(t)


def _real_log(t: Any) -> Any:
    if t <= 0:
        raise ValueError("outside the real domain")
    return mpmath.log(t)


def _sigmoid(t: Any) -> Any:
    return 1 / (1 + mpmath.exp(-t))


_ORDERS = [("1", 1), ("2", 2), ("3", 3), ("oo", "oo"), ("3/2", mpmath.mpf(3) / 2)]


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
    kind = rng.choice(["leaf", "affine", "scale", "sub", "sigmoid", "abs", "had", "exp"])
    if kind == "leaf":
        return vector_node(rng, 0)
    u = vector_node(rng, depth - 1)
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


def scalar_node(rng: random.Random, depth: int) -> Node:
    """A scalar expression: norms, forms, and scalar maps of them."""
    if depth <= 0:
        kind = rng.choice(["norm", "norm", "norm", "quad", "lin", "form"])
    else:
        kind = rng.choice(["norm", "quad", "lin", "form", "abs", "max", "sqrt", "exp", "log",
                           "sigmoid", "add", "sub", "mul", "scale", "shift", "pow"])
    if kind == "norm":
        u = vector_node(rng, rng.randint(0, max(0, depth - 1)))
        ptext, p = rng.choice(_ORDERS)
        return Node(f"norm({u.text}, {ptext})", False, lambda e: _norm(u.ev(e), p))
    if kind == "quad":
        u = vector_node(rng, 0)
        return Node(f"({u.text}.T*{u.text})", False, lambda e: _dot(u.ev(e), u.ev(e)))
    if kind == "lin":
        return Node("(a.T*x)", False, lambda e: _dot(e["a"], e["x"]))
    if kind == "form":
        return Node("(x.T*M*x)", False, lambda e: _dot(e["x"], _matvec(e["M"], e["x"])))
    s = scalar_node(rng, depth - 1)
    if kind == "abs":
        return Node(f"abs({s.text})", False, lambda e: abs(s.ev(e)))
    if kind == "max":
        t = scalar_node(rng, depth - 1)
        return Node(f"max({s.text}, {t.text})", False, lambda e: max(s.ev(e), t.ev(e)))
    if kind == "sqrt":
        return Node(f"sqrt({s.text})", False, lambda e: _real_sqrt(s.ev(e)))
    if kind == "exp":
        return Node(f"exp(-{s.text})", False, lambda e: mpmath.exp(-s.ev(e)))
    if kind == "log":
        return Node(f"log({s.text})", False, lambda e: _real_log(s.ev(e)))
    if kind == "sigmoid":
        return Node(f"sigmoid({s.text})", False, lambda e: _sigmoid(s.ev(e)))
    if kind in ("add", "sub", "mul"):
        t = scalar_node(rng, depth - 1)
        op = {"add": "+", "sub": "-", "mul": "*"}[kind]
        fn = {"add": lambda p, q: p + q, "sub": lambda p, q: p - q,
              "mul": lambda p, q: p * q}[kind]
        return Node(f"({s.text} {op} {t.text})", False, lambda e: fn(s.ev(e), t.ev(e)))
    if kind == "scale":
        c, cv = _const(rng)
        return Node(f"({c}*{s.text})", False, lambda e: cv() * s.ev(e))
    if kind == "pow":
        return Node(f"({s.text})**2", False, lambda e: s.ev(e) ** 2)
    c, cv = _const(rng)  # shift: crosses zero in part of the domain
    return Node(f"({s.text} - {c})", False, lambda e: s.ev(e) - cv())


# -- points ------------------------------------------------------------------------------

def draw_values(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Values of the constants, and a point x of one of several scales and sign patterns."""
    B = rng.standard_normal((n, n))
    R = rng.standard_normal((n, n))
    values = {"a": rng.standard_normal(n), "b": rng.standard_normal(n), "B": B, "M": R}
    values["x"] = new_x(rng, values, n)
    return values


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


def _mp_env(values: dict) -> dict:
    env: dict[str, Any] = {}
    for k, v in values.items():
        v = np.asarray(v, dtype=float)
        if v.ndim == 1:
            env[k] = [mpmath.mpf(float(t)) for t in v]
        else:
            env[k] = [[mpmath.mpf(float(t)) for t in row] for row in v]
    return env


def reference(node: Node, values: dict) -> tuple[float, np.ndarray, bool] | None:
    """(f, grad f, smooth) at ``values`` by 50-digit central differences, or None when f
    is not real and finite around the point. ``smooth`` is False near a kink (two step
    sizes disagree), where no gradient comparison is meaningful."""
    with mp.workdps(50):
        env = _mp_env(values)
        try:
            f0 = node.ev(env)
        except (ValueError, ZeroDivisionError, OverflowError):
            return None
        if not isinstance(f0, mpmath.mpf) or not mpmath.isfinite(f0) or abs(f0) > 1e200:
            return None
        x = env["x"]
        grads = []
        for h in (mpmath.mpf("1e-20"), mpmath.mpf("1e-13")):
            g = []
            for i in range(len(x)):
                xp, xm = list(x), list(x)
                xp[i] += h
                xm[i] -= h
                try:
                    fp, fm = node.ev(dict(env, x=xp)), node.ev(dict(env, x=xm))
                except (ValueError, ZeroDivisionError, OverflowError):
                    return None
                if not (isinstance(fp, mpmath.mpf) and isinstance(fm, mpmath.mpf)):
                    return None
                g.append((fp - fm) / (2 * h))
            grads.append(g)
        fine, coarse = grads
        scale = max([abs(t) for t in fine] + [mpmath.mpf(1)])
        smooth = max(abs(s - t) for s, t in zip(fine, coarse)) <= mpmath.mpf("1e-9") * scale
        return float(f0), np.array([float(t) for t in fine]), bool(smooth)


# -- one expression ------------------------------------------------------------------------

@dataclass
class Outcome:
    text: str
    status: str                   # right, refused, wrong, caught, false_alarm, crash
    detail: str = ""
    compared: int = 0             # points compared with the reference
    values: dict = field(default_factory=dict)


def run_expression(node: Node, seed: int, n: int = 3, points: int = 6) -> Outcome:
    """Derive the gradient of ``node`` in x with the default check; compare with mpmath."""
    text = node.text
    try:
        used = set(re.findall(r"[A-Za-z_]\w*", text))
        f = sn.parse(text, **{k: v for k, v in SHAPES.items() if k in used})
        x = next((s for s in f.atoms(MatrixSymbol) if s.name == "x"), None)
        if x is None:  # e.g. (a.T*x) - (a.T*x): a constant, nothing to differentiate
            return Outcome(text, "right", "constant")
    except SymnormError as err:
        return Outcome(text, "bad_refusal", f"parse: {type(err).__name__}: {err}")
    except Exception as err:  # noqa: BLE001 -- the fuzzer classifies every exception
        return Outcome(text, "crash", f"parse: {type(err).__name__}: {err}")
    rng = np.random.default_rng(seed)
    checked_ok = True
    try:
        d = sn.grad(f, x)
    except CheckFailedError as err:
        checked_ok = False
        check_message = str(err)
        try:
            d = sn.grad(f, x, check=False)
        except Exception as err2:  # noqa: BLE001
            return Outcome(text, "crash", f"grad(check=False) after a failed check: "
                                          f"{type(err2).__name__}: {err2}")
    except (ShapeError, ParseError) as err:  # the generator writes only well-shaped text
        return Outcome(text, "bad_refusal", f"grad: {type(err).__name__}: {err}")
    except SymnormError as err:
        return Outcome(text, "refused", f"{type(err).__name__}: {err}")
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
    names = k.arg_names
    compared, tries = 0, 0
    wrong: Outcome | None = None
    while compared < points and tries < 4 * points:
        tries += 1
        values = draw_values(rng, n)
        ref = reference(node, values)
        if ref is None or not ref[2]:
            continue
        f_ref, g_ref, _ = ref
        if np.max(np.abs(g_ref)) > 1e100:
            continue
        args = {k2: values[k2] for k2 in names}
        try:
            with np.errstate(all="ignore"):
                g = np.asarray(k(**args), dtype=float).reshape(-1)
                fv = float(np.asarray(fk(**args)))
        except SymnormError as err:
            return Outcome(text, "refused", f"kernel call: {type(err).__name__}: {err}",
                           compared, values)
        except Exception as err:  # noqa: BLE001
            return Outcome(text, "crash", f"kernel call: {type(err).__name__}: {err}",
                           compared, values)
        compared += 1
        tol = 1e-6 * (np.max(np.abs(g_ref)) + 1e-3 * max(1.0, abs(f_ref)))
        if not (np.all(np.isfinite(g)) and np.isfinite(fv)):
            return Outcome(text, "crash", f"kernel gives non-finite {g} / f = {fv} where the "
                                          f"reference is {g_ref} / f = {f_ref}",
                           compared, values)
        if abs(fv - f_ref) > 1e-6 * max(1.0, abs(f_ref)):
            wrong = Outcome(text, "wrong_value", f"value kernel {fv!r}, reference {f_ref!r}",
                            compared, values)
            break
        if np.max(np.abs(g - g_ref)) > tol:
            wrong = Outcome(text, "wrong", f"gradient {to_list(g)}, reference "
                                           f"{to_list(g_ref)}; derived {sn.to_text(d.result)}",
                            compared, values)
            break
    if wrong is not None:
        if wrong.status == "wrong_value":
            wrong.status = "crash"
            return wrong
        if not checked_ok:
            wrong.status = "caught"
        return wrong
    if not checked_ok:
        if compared == 0:
            return Outcome(text, "refused", "check failed and no reference point found: "
                                            + check_message.splitlines()[0])
        return Outcome(text, "false_alarm", check_message, compared)
    return Outcome(text, "right", "", compared)


def to_list(a: np.ndarray) -> list:
    return [float(f"{t:.6g}") for t in np.asarray(a).reshape(-1)]


def campaign(count: int, seed: int = 0, depth: int = 3, n: int = 3,
             points: int = 6) -> list[Outcome]:
    """Run ``count`` random expressions; the outcome of each."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        node = scalar_node(rng, rng.randint(0, depth))
        out.append(run_expression(node, seed=seed * 100_003 + i, n=n, points=points))
    return out


def statistics(outcomes: list[Outcome]) -> dict[str, int]:
    stats = {"tried": len(outcomes), "compared": sum(o.compared > 0 for o in outcomes)}
    for status in ("right", "refused", "bad_refusal", "wrong", "caught", "false_alarm",
                   "crash"):
        stats[status] = sum(o.status == status for o in outcomes)
    return stats


if __name__ == "__main__":  # python tests/fuzzing.py COUNT SEED: a campaign with a report
    import sys
    import time

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    t0 = time.perf_counter()
    rng = random.Random(seed)
    outcomes = []
    for i in range(count):  # as campaign(), reporting as it goes
        node = scalar_node(rng, rng.randint(0, 3))
        o = run_expression(node, seed=seed * 100_003 + i)
        outcomes.append(o)
        if o.status not in ("right", "caught"):
            vals = {k: np.round(v, 4).tolist() for k, v in o.values.items()}
            print(f"[{o.status}] {o.text}\n    {o.detail[:400]}\n    {vals if vals else ''}",
                  flush=True)
        if (i + 1) % 100 == 0 or i + 1 == count:
            print(statistics(outcomes), f"{time.perf_counter() - t0:.1f} s", flush=True)
