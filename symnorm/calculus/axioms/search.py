"""The norm axioms searched numerically: unit vectors, sums of two, random vectors at
scales 1e-3..1e3, every candidate violation re-checked in exact arithmetic."""


from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixSymbol

from ...kernels.arguments import free_arguments, is_dimension
from ...kernels.kernel import kernel
from ...model.atoms import Norm
from ...model.errors import UnsupportedExpressionError
from ..explicit import explicit
from .report import (
    _SEARCHED,
    EXACT_DIGITS,
    MAX_EXACT_ENTRIES,
    MAX_VERIFY,
    NUMERIC,
    RTOL,
    SCALARS,
    SCALES,
    SEARCH_SIZE,
    AxiomResult,
    _num,
    _vec,
)
from .symbolic import _is_symbolic_order, _text


class _Search:
    """Concrete sizes, drawn parameters, a compiled kernel and an exact evaluator."""

    def __init__(self, f: sp.Expr, wrt: MatrixSymbol, trials: int, seed: int) -> None:
        self.f = f
        self.wrt = wrt
        self.trials = trials
        self.rng = np.random.default_rng(seed)
        self.notes: list[str] = []
        dims = {d for s in f.atoms(MatrixSymbol) | {wrt} for d in s.shape if is_dimension(d)}
        self.sizes = {d: SEARCH_SIZE for d in dims}
        if dims:
            self.notes.append("numeric search with " + ", ".join(
                f"{d} = {SEARCH_SIZE}" for d in sorted(dims, key=str)))
        # kernels have no rule for explicit matrices: pass them as arguments
        self.explicit = {m: MatrixSymbol(f"_explicit{i}", *m.shape) for i, m in
                         enumerate(sorted(f.atoms(sp.ImmutableDenseMatrix), key=str))}
        f_kernel = f.xreplace(self.explicit)
        args = free_arguments(f_kernel, first=wrt)
        self.n = int(self._size(wrt.shape[0]))
        self.params: dict[str, Any] = {}    # kernel argument name -> value
        self.exact_map: dict = dict(self.sizes)
        orders = {n.p: n.p_min for n in f.atoms(Norm) if _is_symbolic_order(n.p)}
        drawn = []
        for a in args[1:]:
            if isinstance(a, MatrixSymbol) and a in self.explicit.values():
                m = next(k for k, v in self.explicit.items() if v == a)
                if m.free_symbols:
                    raise UnsupportedExpressionError(
                        f"the numeric search needs explicit matrices of numbers; "
                        f"{_text(m)} has symbols in it")
                self.params[a.name] = self._as_array(a, np.array(m.evalf(), dtype=float))
                continue
            if isinstance(a, MatrixSymbol):
                shape = tuple(int(self._size(d)) for d in a.shape)
                value = self.rng.standard_normal(shape)
                drawn.append(f"{a.name} ({shape[0]}x{shape[1]}, standard normal entries)")
                self.exact_map[a] = sp.ImmutableMatrix(
                    shape[0], shape[1], [sp.Rational(float(v)) for v in value.ravel()])
                self.params[a.name] = self._as_array(a, value)
            elif a in orders:
                lo = float(orders[a])
                value = float(self.rng.choice([1.5, 2.5, 3.5]) if lo >= 1 else
                              max(lo, 0.25) + 0.25 * self.rng.integers(0, 8))
                drawn.append(f"{a} = {_num(value)} (a norm order >= {_num(lo)})")
                self.exact_map[a] = sp.Rational(value)
                self.params[a.name] = value
            else:
                value = float(self.rng.integers(4, 17)) / 8  # exact in binary: 0.5 .. 2
                drawn.append(f"{a} = {_num(value)} (drawn > 0)")
                self.exact_map[a] = sp.Rational(value)
                self.params[a.name] = value
        if drawn:
            self.notes.append("drawn at random: " + "; ".join(drawn))
        self.kernel = kernel(f_kernel, args)
        entries = self.n + sum(int(np.size(v)) for v in self.params.values())
        self.can_exact = entries <= MAX_EXACT_ENTRIES
        self.scale = self._typical()

    def _size(self, d: sp.Expr) -> int:
        return int(sp.sympify(d).xreplace(self.sizes))

    @staticmethod
    def _as_array(sym: MatrixSymbol, value: np.ndarray) -> np.ndarray:
        if 1 in sym.shape and sym.shape != (1, 1):
            return np.ravel(value)  # kernels take vectors as 1-D arrays
        return value

    def parameters(self) -> dict[str, Any]:
        return {k: v for k, v in self.params.items() if not k.startswith("_explicit")}

    # evaluation
    def value(self, x: np.ndarray) -> float:
        try:
            with np.errstate(all="ignore"):
                return float(self.kernel(x, **self.params))
        except (ArithmeticError, ValueError, TypeError):
            return float("nan")

    def exact(self, x: Any) -> sp.Expr | None:
        """f at ``x`` (floats read as exact binary rationals), or None where that fails."""
        if not self.can_exact or x is None:
            return None
        mapping = dict(self.exact_map)
        mapping[self.wrt] = sp.ImmutableMatrix([_rational(v) for v in x])
        try:
            value = sp.N(explicit(self.f.xreplace(mapping)), EXACT_DIGITS)
        except Exception:  # sympy cannot evaluate it: floats from now on
            value = None
        if value is None or not (value.is_number and value.is_extended_real
                                 and value.is_finite):
            self.can_exact = False
            return None
        return value

    def _typical(self) -> float:
        vals = [abs(self.value(self.rng.standard_normal(self.n))) for _ in range(4)]
        vals = [v for v in vals if math.isfinite(v)]
        return max(vals + [1e-300])

    def exact_compare(self, a: list, b: Any, budget: list[int]) -> int | None:
        """Sign of ``f(a) - b`` in 50-digit arithmetic (-1, 0, 1); None if unknown.

        ``a`` is a point (a list of rationals); ``b`` is the exact right-hand side, or a
        callable that computes it from the exact evaluator ``self.exact``. ``budget``
        counts down the exact evaluations this axiom may still spend.
        """
        if budget[0] <= 0 or not self.can_exact:
            return None
        budget[0] -= 1
        lhs = self.exact(a)
        rhs = b(self.exact) if callable(b) else b
        if lhs is None or rhs is None:
            return None
        d = lhs - rhs
        tol = sp.Float(10) ** (8 - EXACT_DIGITS) * max(1, abs(lhs), abs(rhs))
        return 0 if abs(d) <= tol else (1 if d > 0 else -1)

    # candidates
    def vectors(self) -> Iterator[np.ndarray]:
        n = self.n
        eye = np.eye(n)
        for i in range(min(n, 8)):
            yield eye[i]
        for i, j in itertools.combinations(range(min(n, 6)), 2):
            yield eye[i] + eye[j]
            yield eye[i] - eye[j]
        yield np.ones(n)
        yield np.where(np.arange(n) % 2, -1.0, 1.0)
        for k in itertools.count():
            yield SCALES[k % len(SCALES)] * self.rng.standard_normal(n)

    def pairs(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        n = self.n
        eye = np.eye(n)
        for i, j in itertools.permutations(range(min(n, 6)), 2):
            yield eye[i], eye[j]
        for i, j in itertools.combinations(range(min(n, 6)), 2):
            yield eye[i] + eye[j], eye[i] - eye[j]
            yield eye[i], -eye[j]
        for i in range(min(n, 6)):
            yield eye[i], eye[i]  # catches powers: f(2 e_i) > 2 f(e_i)
        yield np.ones(n), np.ones(n)
        for k in itertools.count():
            sx, sy = (1.0, 1.0) if k % 3 == 0 else self.rng.choice(SCALES, 2)
            yield sx * self.rng.standard_normal(n), sy * self.rng.standard_normal(n)

    def null_vectors(self) -> Iterator[np.ndarray]:
        """Null-space vectors of the matrices acting on x, scaled to max entry 1."""
        mats = [np.atleast_2d(v) for v in self.params.values()
                if np.ndim(v) == 2 and np.shape(v)[1] == self.n]
        if len(mats) > 1:
            mats.append(np.vstack(mats))
        for a in mats:
            _, s, vt = np.linalg.svd(a)
            small = [i for i in range(vt.shape[0])
                     if (s[i] if i < len(s) else 0.0) <= 1e-10 * max(s.max(initial=0), 1e-300)]
            for i in small:
                v = vt[i] / np.max(np.abs(vt[i]))
                # small rationals, so the exact check can find f(x) = 0 exactly
                yield np.array([float(Fraction(float(t)).limit_denominator(1000)) for t in v])


def _confirmed(s: _Search, sign: int | None, violated: Callable[[int], bool]) -> bool:
    """Is a candidate the float screening flagged a real counterexample?

    With exact arithmetic available only an exact verdict counts (a used-up budget
    rejects), so rounding never makes an axiom fail; without it, trust the floats.
    """
    if sign is not None:
        return violated(sign)
    return not s.can_exact


def _how(sign: int | None) -> str:
    return "float" if sign is None else "exact"


def _close(a: float, b: float, atol: float) -> bool:
    return abs(a - b) <= RTOL * max(abs(a), abs(b)) + atol


def _search_positivity(s: _Search) -> AxiomResult:
    budget = [MAX_VERIFY]
    f0 = s.value(np.zeros(s.n))
    zero_x = np.zeros(s.n)
    if math.isfinite(f0) and not _close(f0, 0.0, 1e-12 * s.scale):
        sign = s.exact_compare(_rat(zero_x), sp.Integer(0), budget)
        if _confirmed(s, sign, lambda g: g != 0):
            return AxiomResult(False, NUMERIC, f"fails at x = 0: f(0) = {_num(f0)} != 0",
                               {"x": zero_x, "lhs": f0, "rhs": 0.0, "relation": "f(0) != 0",
                                "kind": "nonzero at 0", "parameters": s.parameters(),
                                "verified": _how(sign)})
    zero_hit: dict | None = None
    tried = 0
    candidates = itertools.chain(s.null_vectors(), s.vectors())
    for x in candidates:
        if tried >= s.trials:
            break
        tried += 1
        v = s.value(x)
        if not math.isfinite(v):
            continue
        atol = 1e-12 * s.scale * max(1.0, float(np.max(np.abs(x))))
        if v < 0 and not _close(v, 0.0, atol):
            sign = s.exact_compare(_rat(x), sp.Integer(0), budget)
            if _confirmed(s, sign, lambda g: g < 0):
                return AxiomResult(False, NUMERIC, f"fails at x = {_vec(x)}: f(x) = {_num(v)}"
                                   " < 0", {"x": x, "lhs": v, "rhs": 0.0,
                                            "relation": "f(x) < 0", "kind": "negative",
                                            "parameters": s.parameters(), "verified": _how(sign)})
        elif zero_hit is None and _close(v, 0.0, atol):
            sign = s.exact_compare(_rat(x), sp.Integer(0), budget)
            if _confirmed(s, sign, lambda g: g == 0):
                zero_hit = {"x": x, "lhs": v, "rhs": 0.0, "relation": "f(x) = 0 at x != 0",
                            "kind": "zero at nonzero x", "parameters": s.parameters(),
                            "verified": _how(sign)}
    if zero_hit is not None:
        return AxiomResult(False, NUMERIC, f"fails at x = {_vec(zero_hit['x'])} != 0: "
                           f"f(x) = {_num(zero_hit['lhs'])}", zero_hit)
    return AxiomResult(True, NUMERIC, "searched x = 0, null vectors of the matrices, "
                       f"{_SEARCHED} for f(x) < 0 or f(x) = 0", trials=tried)


def _search_homogeneity(s: _Search) -> AxiomResult:
    budget = [MAX_VERIFY]
    tried = 0
    for x in s.vectors():
        for c in SCALARS:
            if tried >= s.trials:
                cs = ", ".join(_num(v) for v in SCALARS)
                return AxiomResult(True, NUMERIC, f"searched x among {_SEARCHED}, "
                                   f"c in {{{cs}}}", trials=tried)
            tried += 1
            lhs, rhs = s.value(c * x), abs(c) * s.value(x)
            if not (math.isfinite(lhs) and math.isfinite(rhs)):
                continue
            atol = 1e-12 * s.scale * max(1.0, abs(c) * float(np.max(np.abs(x))))
            if _close(lhs, rhs, atol):
                continue
            cr = _rational(c)
            sign = s.exact_compare(
                [cr * v for v in _rat(x)],
                lambda ex: None if (fx := ex(_rat(x))) is None else abs(cr) * fx, budget)
            if not _confirmed(s, sign, lambda g: g != 0):
                continue
            return AxiomResult(
                False, NUMERIC, f"fails at x = {_vec(x)}, c = {_num(c)}: f(c x) = "
                f"{_num(lhs)} != |c| f(x) = {_num(rhs)}",
                {"x": x, "c": c, "lhs": lhs, "rhs": rhs, "relation": "f(c x) != |c| f(x)",
                 "parameters": s.parameters(), "verified": _how(sign)})
    raise AssertionError("unreachable: vectors() is infinite")


def _rational(v: Any) -> sp.Rational:
    return v if isinstance(v, sp.Rational) else sp.Rational(float(v))


def _rat(x: np.ndarray) -> list[sp.Rational]:
    return [_rational(v) for v in x]


def _sum(a: sp.Expr | None, b: sp.Expr | None) -> sp.Expr | None:
    return None if a is None or b is None else a + b


def _search_triangle(s: _Search) -> tuple[AxiomResult, float]:
    """The result and the largest ratio f(x + y)/(f(x) + f(y)) seen."""
    budget = [MAX_VERIFY]
    worst = 0.0
    tried = 0
    for x, y in s.pairs():
        if tried >= s.trials:
            break
        tried += 1
        lhs, fx, fy = s.value(x + y), s.value(x), s.value(y)
        rhs = fx + fy
        if not all(math.isfinite(v) for v in (lhs, fx, fy)):
            continue
        if rhs > 0:
            worst = max(worst, lhs / rhs)
        atol = 1e-12 * s.scale * max(1.0, float(np.max(np.abs(x))), float(np.max(np.abs(y))))
        if lhs <= rhs or _close(lhs, rhs, atol):
            continue
        sign = s.exact_compare([a + b for a, b in zip(_rat(x), _rat(y))],
                               lambda ex: _sum(ex(_rat(x)), ex(_rat(y))), budget)
        if not _confirmed(s, sign, lambda g: g > 0):
            continue
        return AxiomResult(False, NUMERIC, f"fails at x = {_vec(x)}, y = {_vec(y)}: "
                           f"f(x + y) = {_num(lhs)} > f(x) + f(y) = {_num(rhs)}",
                           {"x": x, "y": y, "lhs": lhs, "rhs": rhs,
                            "relation": "f(x + y) > f(x) + f(y)",
                            "parameters": s.parameters(), "verified": _how(sign)}), worst
    return AxiomResult(True, NUMERIC, f"searched pairs x, y among {_SEARCHED}",
                       trials=tried), worst


# -- entry point ---------------------------------------------------------------------
