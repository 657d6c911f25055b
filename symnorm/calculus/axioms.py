"""Is it a norm? Check the three norm axioms of a scalar expression ``f(x)``.

1. positive definiteness: ``f(x) >= 0``, and ``f(x) = 0`` only for ``x = 0``;
2. absolute homogeneity: ``f(c x) = |c| f(x)``;
3. triangle inequality: ``f(x + y) <= f(x) + f(y)``.

A nonnegative sum of terms ``c*norm(M*x, p)`` is decided symbolically from the rule
registry (``is_norm``, ``broken_axiom``) and the rank of ``M``. Anything else, and every
axiom a rule says is broken, is searched numerically for a counterexample with a
compiled kernel; a counterexample is re-checked in exact (or 50-digit) arithmetic before
it is reported, so rounding never produces a wrong "fails".
"""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol

from ..kernels.arguments import free_arguments, is_dimension
from ..kernels.kernel import kernel
from ..model.atoms import Norm, ScalarOf
from ..model.errors import ShapeError, UnsupportedExpressionError
from ..model.text import TextPrinter
from ..rules import norm_rule
from .explicit import explicit

POSITIVITY = "positive definiteness"
HOMOGENEITY = "absolute homogeneity"
TRIANGLE = "triangle inequality"
AXIOMS = (POSITIVITY, HOMOGENEITY, TRIANGLE)
CLASSIFICATIONS = ("norm", "seminorm", "quasi-norm", "not a norm")
SYMBOLIC = "symbolic"
NUMERIC = "numeric search"

DEFAULT_TRIALS = 400
SEARCH_SIZE = 3                          # the size a symbolic dimension gets in the search
SCALARS = (2.0, -1.0, 3.0, 0.5, -0.5, -2.0)  # c in f(c x) = |c| f(x); 2 first: ||2x||_0
SCALES = (1.0, 1e-3, 1e3, 1e-1, 10.0)
_SEARCHED = "e_i, e_i +- e_j, random normal vectors at scales 1e-3..1e3"
RTOL = 1e-9                              # float screening of an (in)equality
EXACT_DIGITS = 50
MAX_EXACT_ENTRIES = 400                  # above this, verify in floats only (sympy is slow)
MAX_VERIFY = 25                          # exact re-checks per axiom before giving up on exact


# -- results -------------------------------------------------------------------------


@dataclass
class AxiomResult:
    """One axiom: whether it holds, how that was decided, why, and a counterexample.

    ``counterexample`` holds numpy arrays/scalars: ``x`` (and ``y`` or ``c``), the two
    sides ``lhs`` and ``rhs`` of the failing (in)equality, ``relation`` (its text),
    ``kind`` (for definiteness: ``"negative"``, ``"zero at nonzero x"`` or ``"nonzero at
    0"``), ``parameters`` (values drawn for the other symbols) and ``verified``
    (``"exact"``: re-checked in exact/50-digit arithmetic, ``"float"``: rtol 1e-9).
    """

    holds: bool
    method: str
    reason: str
    counterexample: dict | None = None
    trials: int | None = None  # numeric search: how many tries

    @property
    def status(self) -> str:
        if not self.holds:
            return "FAILS"
        if self.method == NUMERIC:
            return f"holds (no counterexample in {self.trials} trials)"
        return "holds"

    def to_dict(self) -> dict:
        return {"holds": self.holds, "status": self.status, "method": self.method,
                "reason": self.reason, "trials": self.trials,
                "counterexample": _jsonable(self.counterexample)}


@dataclass
class AxiomReport:
    """Result of :func:`axioms`: the classification and the verdict on each axiom."""

    classification: str
    axioms: dict[str, AxiomResult]
    conditions: list[str] = field(default_factory=list)
    expression: str = ""
    wrt: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def is_norm(self) -> bool:
        return self.classification == "norm"

    @property
    def failing(self) -> list[str]:
        """The axioms that fail, in the usual order."""
        return [name for name in AXIOMS if not self.axioms[name].holds]

    def summary(self) -> str:
        lines = [f"{self.expression} (as a function of {self.wrt}): {self.classification}"]
        if self.failing:
            lines.append(f"  fails: {', '.join(self.failing)}")
        for name in AXIOMS:
            r = self.axioms[name]
            lines.append(f"  {name}: {r.status} [{r.method}]: {r.reason}")
        if self.conditions:
            lines.append(f"  conditions: {'; '.join(self.conditions)}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        colour = {"norm": "#1a7f37", "seminorm": "#9a6700",
                  "quasi-norm": "#9a6700"}.get(self.classification, "#cf222e")
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td>{html.escape(r.status)}</td>"
            f"<td>{html.escape(r.method)}</td><td>{html.escape(r.reason)}</td></tr>"
            for name, r in self.axioms.items())
        extra = "".join(f"<br><small>{html.escape(t)}</small>" for t in
                        [f"conditions: {c}" for c in self.conditions] + self.notes)
        return (f"<div><b style='color:{colour}'>{html.escape(self.classification)}</b>: "
                f"<code>{html.escape(self.expression)}</code> as a function of "
                f"<code>{html.escape(self.wrt)}</code>{extra}"
                f"<table><tr><th>axiom</th><th>verdict</th><th>method</th><th>reason</th>"
                f"</tr>{rows}</table></div>")

    def to_dict(self) -> dict:
        return {"classification": self.classification, "is_norm": self.is_norm,
                "expression": self.expression, "wrt": self.wrt,
                "conditions": list(self.conditions), "notes": list(self.notes),
                "axioms": {name: r.to_dict() for name, r in self.axioms.items()}}


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _jsonable(w) for k, w in v.items()}
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v


# -- formatting ----------------------------------------------------------------------


def _num(v: Any, digits: int = 6) -> str:
    v = float(v)
    if math.isfinite(v) and v == round(v) and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.{digits}g}"


def _vec(a: Any) -> str:
    return "[" + ", ".join(_num(v, 4) for v in np.ravel(a)) + "]"


class _Printer(TextPrinter):
    """The expression language (explicit matrices on one line), floats to 6 digits."""

    def _print_Float(self, expr: sp.Float) -> str:
        return _num(expr)


def _text(e: Any) -> str:
    return _Printer().doprint(e)


# -- symbolic analysis ---------------------------------------------------------------


@dataclass(frozen=True)
class _Term:
    """``coeff * norm(scale * matrix * x, p)``; ``matrix`` None is the identity."""

    coeff: sp.Expr
    norm: Norm
    scale: sp.Expr
    matrix: MatrixExpr | None


def _decompose(f: sp.Expr, wrt: MatrixSymbol) -> list[_Term] | None:
    """The terms of ``f`` if it is a sum of positive multiples of ``‖M x‖_p``, else None."""
    terms = []
    for t in sp.Add.make_args(f):
        factors = sp.Mul.make_args(t)
        norms = [a for a in factors if isinstance(a, Norm)]
        if len(norms) != 1:
            return None
        coeff = sp.Mul(*[a for a in factors if a is not norms[0]])
        # a real coefficient of unknown sign becomes the condition "c > 0"
        if coeff.has(wrt) or coeff.is_positive is False or not coeff.is_extended_real:
            return None
        linear = _linear_map(norms[0].arg, wrt)
        if linear is None:
            return None
        terms.append(_Term(coeff, norms[0], *linear))
    return terms


def _linear_map(u: MatrixExpr, wrt: MatrixSymbol) -> tuple[sp.Expr, MatrixExpr | None] | None:
    if u == wrt:
        return sp.Integer(1), None
    if not isinstance(u, sp.MatMul) or u.args[-1] != wrt:
        return None
    rest = u.args[:-1]
    if any(a.has(wrt) for a in rest):
        return None
    scalars = [a for a in rest if not isinstance(a, MatrixExpr)]
    mats = [a for a in rest if isinstance(a, MatrixExpr) and not isinstance(a, sp.Identity)]
    if not mats:
        return sp.Mul(*scalars), None
    m = mats[0] if len(mats) == 1 else sp.MatMul(*mats)
    if not m.free_symbols and all(isinstance(d, sp.Integer) for d in m.shape):
        m = sp.ImmutableMatrix(m.as_explicit())
    return sp.Mul(*scalars), m


def _is_symbolic_order(p: sp.Basic) -> bool:
    return isinstance(p, sp.Expr) and bool(p.free_symbols)


def _breaks(t: _Term, axiom: str) -> bool:
    """Does the rule of this term say it breaks ``axiom``?"""
    rule = norm_rule(t.norm.p)
    if rule.is_norm(t.norm.p):
        return False
    text = rule.broken_axiom(t.norm.p) or ""
    key = {HOMOGENEITY: "homogeneity", TRIANGLE: "triangle", POSITIVITY: "definite"}[axiom]
    return key in text


def _order_conditions(terms: list[_Term]) -> list[str]:
    conds = []
    for t in terms:
        p = t.norm.p
        if _is_symbolic_order(p) and norm_rule(p).is_norm(p):
            text = f"{_text(p)} >= 1"
            if t.norm.p_min < 1:
                text += f" (for {_text(t.norm.p_min)} <= {_text(p)} < 1 only a quasi-norm)"
            if text not in conds:
                conds.append(text)
    return conds


def _symbolic_homogeneity(terms: list[_Term]) -> AxiomResult:
    keys = ", ".join(sorted({norm_rule(t.norm.p).key for t in terms}))
    return AxiomResult(True, SYMBOLIC,
                       "f is a sum of positive multiples of norms of linear maps of x, and "
                       f"||c u|| = |c| ||u|| for each ({keys})")


def _symbolic_triangle(terms: list[_Term]) -> AxiomResult:
    keys = ", ".join(sorted({norm_rule(t.norm.p).key for t in terms}))
    return AxiomResult(True, SYMBOLIC,
                       f"Minkowski's inequality for each term ({keys}, p >= 1), "
                       "||M(x + y)|| <= ||M x|| + ||M y||, summed with positive weights")


def _quasi_constant(terms: list[_Term]) -> sp.Expr | None:
    """``K`` with ``f(x + y) <= K (f(x) + f(y))`` for sums of Lp terms, ``p > 0``."""
    ks = []
    for t in terms:
        p = t.norm.p
        if _is_symbolic_order(p) or p == 0:
            return None
        ks.append(sp.Integer(1) if p == sp.oo or p >= 1 else sp.Integer(2) ** (1 / p - 1))
    return sp.Max(*ks)


def _rank_explicit(m: sp.MatrixBase) -> tuple[int, np.ndarray | None, bool]:
    """Rank, one null-space vector (small integers when exact), and whether exact."""
    if all(e.is_Rational for e in m):
        null = m.nullspace()
        if not null:
            return m.cols, None, True
        v = null[0]
        den = sp.ilcm(*[sp.fraction(e)[1] for e in v])
        ints = [int(e * den) for e in v]
        g = math.gcd(*ints) or 1
        ints = [i // g for i in ints]
        if next(i for i in ints if i) < 0:
            ints = [-i for i in ints]
        return m.rank(), np.array(ints, dtype=float), True
    a = np.array(m.evalf(), dtype=float)
    rank = int(np.linalg.matrix_rank(a))
    if rank == a.shape[1]:
        return rank, None, False
    return rank, np.linalg.svd(a)[2][-1], False


def _symbolic_definiteness(terms: list[_Term]) -> tuple[AxiomResult, list[str]]:
    """f >= 0 always; f(x) = 0 iff M_k x = 0 for every term (each norm is definite)."""
    base = "every term is a positive multiple of a norm, so f >= 0; "
    conditions: list[str] = []
    symbolic: list[MatrixExpr] = []
    explicit_mats: list[sp.MatrixBase] = []
    for t in terms:
        scale_known = t.scale.is_zero is False
        if t.matrix is None and scale_known:
            return AxiomResult(True, SYMBOLIC, base + f"the term {_text(t.norm)} is 0 "
                               "only at x = 0"), []
        if not scale_known:
            conditions.append(f"{_text(t.scale)} != 0")
        if t.matrix is None:
            continue
        if isinstance(t.matrix, sp.MatrixBase) and not t.matrix.free_symbols:
            rank, _, _ = _rank_explicit(t.matrix)
            if rank == t.matrix.cols and scale_known:
                return AxiomResult(True, SYMBOLIC, base + f"{_text(t.matrix)} has full "
                                   f"column rank {rank}, so {_text(t.norm)} = 0 only at "
                                   "x = 0"), []
            explicit_mats.append(t.matrix)
        else:
            rows, cols = t.matrix.shape
            if len(terms) == 1 and scale_known and (rows - cols).is_negative:
                return AxiomResult(False, SYMBOLIC, f"{_text(t.matrix)} is {rows}x{cols}, "
                                   "so it has a null vector x != 0, where f(x) = 0"), []
            symbolic.append(t.matrix)
    if symbolic or conditions:
        names = [_text(m) for m in symbolic] + [_text(m) for m in explicit_mats]
        if len(names) == 1 and symbolic:
            rows, cols = symbolic[0].shape
            need = f"; needs {rows} >= {cols}" if rows != cols else ""
            conditions.insert(0, f"{names[0]} has full column rank ({names[0]} x = 0 only "
                                 f"for x = 0{need})")
        elif names:
            conditions.insert(0, f"the null spaces of {', '.join(names)} meet only in 0 "
                                 "(stacked, they have full column rank)")
        return AxiomResult(True, SYMBOLIC, base + "f(x) = 0 only at x = 0 if and only if "
                           + "; ".join(conditions)), conditions
    stacked = sp.Matrix.vstack(*explicit_mats)
    rank, null, exact = _rank_explicit(stacked)
    if null is None:
        return AxiomResult(True, SYMBOLIC, base + "the matrices have no common null vector "
                           f"(stacked rank {rank}), so f(x) = 0 only at x = 0"), []
    which = " and ".join(_text(m) for m in explicit_mats)
    ce = {"x": null, "lhs": 0.0, "rhs": 0.0, "relation": "f(x) = 0 at x != 0",
          "kind": "zero at nonzero x", "parameters": {},
          "verified": "exact" if exact else "float"}
    prefix = "" if exact else "numerically "
    return AxiomResult(False, SYMBOLIC,
                       f"fails at x = {_vec(null)} != 0: f(x) = 0; x {prefix}lies in the null "
                       f"space of {which} (rank {rank} < {stacked.cols})", ce), []


# -- numeric search ------------------------------------------------------------------


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


def _validate(f: Any, wrt: Any) -> sp.Expr:
    if isinstance(f, MatrixExpr):
        if f.shape != (1, 1):
            raise ShapeError(f"axioms() needs a scalar expression; {_text(f)} is a "
                             f"{f.shape[0]}x{f.shape[1]} matrix expression")

        f = ScalarOf(f)
    if not isinstance(f, sp.Expr):
        raise UnsupportedExpressionError(
            f"axioms() needs a SymPy/symnorm scalar expression, got {type(f).__name__}: {f!r}")
    if not isinstance(wrt, MatrixSymbol):
        raise UnsupportedExpressionError(
            f"wrt must be a vector symbol made by sn.vector, got {wrt!r} "
            f"({type(wrt).__name__})")
    if wrt.shape[1] != 1 or wrt.shape[0] == 1:
        raise ShapeError(f"wrt must be a column vector symbol (sn.vector); {wrt.name} is "
                         f"{wrt.shape[0]}x{wrt.shape[1]}")
    if not f.has(wrt):
        raise UnsupportedExpressionError(
            f"{_text(f)} does not depend on {wrt.name}: nothing to check")
    return f


def axioms(f: Any, wrt: Any, *, trials: int = DEFAULT_TRIALS, seed: int = 0) -> AxiomReport:
    """Check the norm axioms of the scalar ``f`` as a function of the vector ``wrt``.

    Nonnegative sums of ``c*norm(M*x, p)`` are decided symbolically from the norm rules
    and the rank of ``M`` (a symbolic ``M`` gives a condition in ``report.conditions``);
    everything else is searched numerically for a counterexample (``trials`` tries per
    axiom, seeded by ``seed``), and every counterexample is re-checked exactly. The
    classification is ``"norm"``, ``"seminorm"`` (``f(x) = 0`` for some ``x != 0``),
    ``"quasi-norm"`` (only the triangle inequality fails; it holds with a constant) or
    ``"not a norm"``.

    >>> import symnorm as sn, sympy as sp
    >>> from symnorm.calculus.axioms import axioms
    >>> x = sn.vector("x")
    >>> axioms(sn.norm(x, 1), x).classification
    'norm'
    >>> r = axioms(sn.norm(x, sp.Rational(1, 2)), x)
    >>> r.classification
    'quasi-norm'
    >>> print(r.axioms["triangle inequality"].reason)  # doctest: +ELLIPSIS
    fails at x = [1, 0, 0], y = [0, 1, 0]: f(x + y) = 4 > f(x) + f(y) = 2; ...
    >>> axioms(sn.norm(x, 2)**2, x).failing
    ['absolute homogeneity', 'triangle inequality']
    >>> W = sn.matrix("W", "n", "n")
    >>> axioms(sn.norm(W*x, 2), x).conditions
    ['W has full column rank (W x = 0 only for x = 0)']
    """
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ValueError(f"trials must be a positive integer, got {trials!r}")
    f = _validate(f, wrt)
    terms = _decompose(f, wrt)
    search: _Search | None = None

    def searcher() -> _Search:
        nonlocal search
        if search is None:
            search = _Search(f, wrt, trials, seed)
        return search

    conditions: list[str] = []
    worst = 0.0
    if terms is not None:
        positivity, conditions = _symbolic_definiteness(terms)
        conditions[:0] = sorted({f"{_text(t.coeff)} > 0" for t in terms
                                 if t.coeff.is_positive is not True})
        if any(_breaks(t, HOMOGENEITY) for t in terms):
            homogeneity = _search_homogeneity(searcher())
            homogeneity.reason += _rule_note(terms, HOMOGENEITY)
        else:
            homogeneity = _symbolic_homogeneity(terms)
        if all(norm_rule(t.norm.p).is_norm(t.norm.p) for t in terms):
            triangle = _symbolic_triangle(terms)
            conditions += _order_conditions(terms)
        else:
            triangle, worst = _search_triangle(searcher())
            triangle.reason += _rule_note(terms, TRIANGLE)
    else:
        s = searcher()
        positivity = _search_positivity(s)
        homogeneity = _search_homogeneity(s)
        triangle, worst = _search_triangle(s)

    classification = _classify(positivity, homogeneity, triangle)
    if classification == "quasi-norm":
        k = _quasi_constant(terms) if terms is not None else None
        if k is not None:
            triangle.reason += (f"; it holds with a constant: f(x + y) <= K (f(x) + f(y)) "
                                f"with K = {_text(k)}")
        else:
            triangle.reason += ("; being definite and homogeneous in finite dimension, f "
                                "satisfies it with some constant K (largest ratio "
                                f"f(x + y)/(f(x) + f(y)) found: {_num(worst)})")
    notes = list(search.notes) if search is not None else []
    return AxiomReport(classification=classification,
                       axioms={POSITIVITY: positivity, HOMOGENEITY: homogeneity,
                               TRIANGLE: triangle},
                       conditions=conditions, expression=_text(f), wrt=wrt.name, notes=notes)


def _rule_note(terms: list[_Term], axiom: str) -> str:
    texts = sorted({f"the {norm_rule(t.norm.p).key} rule for p = {_text(t.norm.p)} lists "
                    f"it as broken: {norm_rule(t.norm.p).broken_axiom(t.norm.p)}"
                    for t in terms if _breaks(t, axiom)})
    return "".join(f"; {t}" for t in texts)


def _classify(positivity: AxiomResult, homogeneity: AxiomResult,
              triangle: AxiomResult) -> str:
    # a symbolic failure without a point is a null space: zero at some x != 0
    kind = (None if positivity.holds else
            (positivity.counterexample or {}).get("kind", "zero at nonzero x"))
    if not homogeneity.holds or kind in ("negative", "nonzero at 0"):
        return "not a norm"
    if positivity.holds:
        return "norm" if triangle.holds else "quasi-norm"
    return "seminorm" if triangle.holds else "not a norm"
