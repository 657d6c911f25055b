"""Two expressions compared, and how sure the answer is: a claim against a derived result
(or one step of a derivation against the step before it).

First symbolically: the difference, expanded and simplified where SymPy can; 0 is a proof
for every dimension. Then numerically, always, at random points in several dimensions,
with explicit numpy matrices multiplied in the order written (so swapped non-commuting
factors are caught), and for a claim about the ``i``-th component at every ``i``. Then at
the kinks (where a norm's or an absolute value's argument vanishes). The statuses:

* ``proved``: the difference simplifies to 0, for every ``n``;
* ``equal at random points``: equal at every sampled point, not reduced symbolically;
* ``equal up to layout``: the transpose of the reference (a gradient in numerator layout,
  a Jacobian in denominator layout);
* ``equal almost everywhere``: equal except on a null set (``where`` says which);
* ``wrong``: a point where they differ (every symbol's value, both sides' numbers);
* ``could not decide``: neither a proof nor a counterexample (``reason`` says why): the
  numbers agree to rounding but the difference simplifies to something that is not 0 and
  cannot be shown to be nonzero at a point, the values cannot be computed, or a proof and
  the numbers disagree. Never a false "equal".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product
from typing import Any

import numpy as np
import sympy as sp
from sympy import MatAdd, MatMul
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol
from sympy.matrices.expressions.matexpr import MatrixElement

from ..kernels.evaluate import dimension_symbols, evaluate
from ..model.atoms import Elementwise, MaxAbsSelector, Norm, ScalarOf
from ..model.errors import SymnormError, UnsupportedExpressionError
from ..model.functions import ScaleOf
from ..model.symbols import structure_of
from ..model.text import to_text

__all__ = ["ALMOST", "LAYOUT", "PROVED", "RANK", "SAMPLED", "STATUSES", "UNDECIDED", "WRONG",
           "Comparison", "Point", "compare", "component_text", "symbols_of"]

PROVED = "proved"
SAMPLED = "equal at random points"
LAYOUT = "equal up to layout"
ALMOST = "equal almost everywhere"
WRONG = "wrong"
UNDECIDED = "could not decide"
STATUSES = (PROVED, SAMPLED, LAYOUT, ALMOST, UNDECIDED, WRONG)
RANK = {status: k for k, status in enumerate(STATUSES)}  # a chain is as sure as its worst
RTOL = 1e-7


@dataclass
class Point:
    """Where two sides differ: every symbol's value (vectors as lists, matrices as lists of
    rows), the dimensions, a free index's value (1-based, as written), both sides."""

    values: dict[str, Any]
    dims: dict[str, int]
    index: dict[str, int]
    hand: np.ndarray
    reference: np.ndarray


@dataclass
class Comparison:
    """The outcome of :func:`compare`: a status and its evidence."""

    status: str
    symbolic: str = ""
    difference: Any = None
    numeric: list[dict] = field(default_factory=list)
    point: Point | None = None
    where: str | None = None
    layout: str | None = None
    reason: str | None = None
    shape_mismatch: str | None = None


def symbols_of(e: Any) -> list[Any]:
    """The matrix and scalar symbols of ``e`` (not its dimensions), by name."""
    found = {s for s in sp.preorder_traversal(e) if isinstance(s, MatrixSymbol)}
    found |= {s for s in getattr(e, "free_symbols", set())
              if isinstance(s, sp.Symbol) and not s.is_integer}
    return sorted(found, key=lambda s: s.name)


def component_text(index: tuple) -> str:
    """``(1,)`` -> ``"1"``, ``(2, 3)`` -> ``"2,3"`` (1-based, as written)."""
    return ",".join(str(k) for k in index)


# --------------------------------------------------------------------------- sampling

class Sampler:
    def __init__(self, exprs: list[Any], seed: int, min_size: int,
                 sizes: dict[sp.Symbol, int] | None = None) -> None:
        self.rng = np.random.default_rng(seed)
        self.dims = sorted(dimension_symbols(*exprs), key=lambda s: s.name)
        self.symbols: list[Any] = []
        for e in exprs:
            for s in symbols_of(e):
                if s not in self.symbols:
                    self.symbols.append(s)
        self.orders = {n.p for e in exprs for n in sp.preorder_traversal(e)
                       if isinstance(n, Norm) and isinstance(n.p, sp.Symbol)}
        self.min_size = max(min_size, 2)
        self.sizes = sizes or {}

    def settings(self, count: int) -> list[dict[sp.Symbol, int]]:
        out = []
        for k in range(count):
            out.append({d: max(self.sizes.get(d, 0), self.min_size) + (k + 2 * j) % 4
                        for j, d in enumerate(self.dims)})
        return out

    def value(self, shape: tuple[int, int], symbol: Any = None) -> np.ndarray:
        """Random entries (rounded, none 0), drawn with ``symbol``'s declared structure."""
        v = np.round(self.rng.normal(size=shape), 2)
        v[v == 0] = 0.37  # keep generic points off the kinks
        structure = structure_of(symbol) if symbol is not None else frozenset()
        if not structure or shape[0] != shape[1]:
            return v
        k = shape[0]
        if "orthogonal" in structure:  # a rotation (reflections too): Q from QR
            q, r = np.linalg.qr(v)
            return q * np.where(np.diag(r) < 0, -1.0, 1.0)
        if "positive_definite" in structure or "positive_semidefinite" in structure:
            v = np.round(v @ v.T / k, 2) + (np.eye(k) if "positive_definite" in structure
                                             else 0.0)
        if "diagonal" in structure:
            return np.diag(np.abs(np.diag(v)) if "positive_semidefinite" in structure
                           else np.diag(v))
        return np.round((v + v.T) / 2, 3)  # as declared: symmetric

    def point(self, dims: dict[sp.Symbol, int], scale: float = 1.0) -> dict[Any, Any]:
        pt: dict[Any, Any] = {}
        table = {k: sp.Integer(v) for k, v in dims.items()}
        for s in self.symbols:
            if isinstance(s, MatrixSymbol):
                shape = tuple(int(sp.sympify(d).xreplace(table)) for d in s.shape)
                v = self.value(shape, s)  # type: ignore[arg-type]
                # scaled, a declared structure stays (an orthogonal matrix is not scaled)
                pt[s] = v if "orthogonal" in structure_of(s) else scale * v
            elif s in self.orders:
                pt[s] = float(np.round(self.rng.uniform(1.3, 4.0), 2))
            elif s.is_positive or s.is_nonnegative:
                pt[s] = scale * float(np.round(self.rng.uniform(0.2, 2.0), 2))
            else:
                pt[s] = scale * float(self.value((1,))[0])
        return pt


def _close(h: Any, r: Any) -> bool:
    h, r = np.asarray(h, dtype=float), np.asarray(r, dtype=float)
    if h.shape != r.shape:
        if h.size == r.size == 1:
            h, r = h.reshape(()), r.reshape(())
        else:
            return False
    both_nan = ~np.isfinite(h) & ~np.isfinite(r)
    with np.errstate(invalid="ignore"):
        ok = np.abs(h - r) <= RTOL * (1.0 + np.abs(r))
    return bool(np.all(ok | both_nan))


def _kink_args(exprs: list[Any]) -> list[tuple[Any, bool]]:
    """(argument, whole) for every place a derivative can fail: ``whole`` when the kink
    is where the argument vanishes (a norm), else where one entry does (|.|, sign)."""
    found: list[tuple[Any, bool]] = []
    for e in exprs:
        for node in sp.preorder_traversal(e):
            item = None
            if isinstance(node, Norm):
                item = (node.arg, node.p == 2)
            elif isinstance(node, (sp.Abs, sp.sign)):
                item = (node.args[0], True)
            elif isinstance(node, Elementwise) and node.name in ("abs", "sign"):
                item = (node.arg, False)
            elif isinstance(node, MaxAbsSelector):
                item = (node.arg, False)
            if item is not None and item not in found:
                found.append(item)
    return found


def _zero_at(u: Any, point: dict, dims: dict, whole: bool) -> dict | None:
    """A copy of ``point`` moved so that ``u`` (or its first entry) vanishes."""
    pt = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in point.items()}
    if isinstance(u, (MatrixSymbol, sp.Symbol)) and u in pt:
        if isinstance(u, MatrixSymbol):
            if whole:
                pt[u][:] = 0.0
            else:
                pt[u].flat[0] = 0.0
        else:
            pt[u] = 0.0
        return pt
    if isinstance(u, MatrixElement) and u.parent in pt:
        try:
            pt[u.parent][int(u.i), int(u.j)] = 0.0
        except TypeError:  # a symbolic index: the kink of every component is the first's
            pt[u.parent].flat[0] = 0.0
        return pt
    terms = u.args if isinstance(u, (MatAdd, sp.Add)) else (u,)
    for t in terms:
        coeff, rest = (t.as_coeff_mmul() if isinstance(t, MatMul) else
                       t.as_coeff_Mul() if isinstance(t, sp.Mul) else (sp.Integer(1), t))
        if isinstance(rest, MatMul) and len(rest.args) == 1:
            rest = rest.args[0]
        if not (isinstance(rest, (MatrixSymbol, sp.Symbol)) and rest in pt
                and coeff.is_number and coeff != 0):
            continue
        others = [o for o in terms if o is not t]
        if len(terms) == 1:
            return _zero_at(rest, pt, dims, whole)
        if any(rest in getattr(o, "free_symbols", set()) or o.has(rest) for o in others):
            continue
        other = evaluate(sp.Add(*others) if not isinstance(u, MatrixExpr) else MatAdd(*others),
                         pt, dims)
        solved = -np.asarray(other, dtype=float) / float(coeff)
        if isinstance(rest, MatrixSymbol):
            if whole:
                pt[rest] = solved.reshape(pt[rest].shape)
            else:
                pt[rest].flat[0] = solved.flat[0]
        else:
            pt[rest] = float(np.asarray(solved).ravel()[0])
        return pt
    return None


def _values_text(point: dict) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for s, v in sorted(point.items(), key=lambda kv: kv[0].name):
        a = np.asarray(v, dtype=float)
        if a.ndim == 2 and a.shape[1] == 1:
            out[s.name] = a[:, 0].tolist()
        elif a.ndim == 2:
            out[s.name] = a.tolist()
        else:
            out[s.name] = float(a.ravel()[0]) if a.size == 1 else a.tolist()
    return out


# --------------------------------------------------------------------------- symbolic

def _components_text(text: str) -> str:
    """``x[0, 0]`` written ``x_1`` (1-based, as in LaTeX), ``x[i - 1, 0]`` as ``x_i``."""
    import re

    text = re.sub(r"(\w+)\[(\d+), 0\]", lambda m: f"{m.group(1)}_{int(m.group(2)) + 1}", text)
    text = re.sub(r"(\w+)\[(\d+), (\d+)\]",
                  lambda m: f"{m.group(1)}_{{{int(m.group(2)) + 1},{int(m.group(3)) + 1}}}",
                  text)
    return re.sub(r"(\w+)\[([a-z]) - 1, 0\]", r"\1_\2", text)


def _difference(hand: Any, ref: Any) -> Any:
    if isinstance(hand, MatrixExpr) != isinstance(ref, MatrixExpr):
        return None
    diff = (hand - ref).doit()
    if isinstance(diff, MatrixExpr) and not isinstance(diff, sp.ZeroMatrix):
        expanded = diff.expand().doit()
        if isinstance(expanded, sp.ZeroMatrix) or expanded == 0 or _collects_to_zero(expanded):
            return sp.ZeroMatrix(*diff.shape)
    return diff


def _collects_to_zero(diff: Any) -> bool:
    """Whether the scalar coefficients of each matrix product in ``diff`` (a sum of
    ``scalar * matrix`` terms) add up to 0: ``(σ(1 - σ) - σ e^{-u}/(1 + e^{-u})^2) a``."""
    terms = diff.args if isinstance(diff, MatAdd) else (diff,)
    groups: dict[Any, list[Any]] = {}
    for term in terms:
        parts = term.args if isinstance(term, MatMul) else (term,)
        scalars = [p for p in parts if not isinstance(p, MatrixExpr)]
        matrices = tuple(p for p in parts if isinstance(p, MatrixExpr))
        groups.setdefault(matrices, []).append(sp.Mul(*scalars))
    if all(len(v) == 1 and v[0].is_number for v in groups.values()):
        return False
    for coeffs in groups.values():
        total = sp.Add(*coeffs)
        if sp.count_ops(total) > 80:
            return False
        try:
            if sp.simplify(total) != 0:
                return False
        except (TypeError, ValueError, AttributeError, NotImplementedError, RecursionError):
            return False  # SymPy cannot simplify a norm inside: the numbers decide
    return True


def _unfold_scales(e: Any) -> Any:
    if not isinstance(e, sp.Basic) or not e.has(ScaleOf):
        return e
    return e.replace(lambda a: isinstance(a, ScaleOf), lambda a: a.definition())


def _symbolic(hand: Any, ref: Any) -> tuple[str, Any, bool]:
    """(evidence, difference, proved)."""
    h = hand.mat if isinstance(hand, ScalarOf) and hand.mat.shape == (1, 1) else hand
    # a normalisation's scale node is its formula, as a hand derivation writes it
    hand, h, ref = _unfold_scales(hand), _unfold_scales(h), _unfold_scales(ref)
    if hand == ref or h == ref:
        return "the claim is the derived result, term for term", sp.Integer(0), True
    try:
        diff = _difference(h, ref)
        if diff is None:
            return "not compared symbolically (a 1x1 matrix against a scalar)", None, False
        if isinstance(diff, sp.ZeroMatrix) or diff == 0:
            return "the difference simplifies to 0", sp.Integer(0), True
        if not isinstance(diff, MatrixExpr) and sp.count_ops(diff) <= 40 \
                and not diff.has(Norm, ScalarOf, MatrixElement):
            simple = sp.simplify(diff)
            if simple == 0:
                return "the difference simplifies to 0", sp.Integer(0), True
            return (f"the difference simplifies to {_components_text(to_text(simple))}",
                    simple, False)
        if (_scaled(diff) or (0, 0, False))[2]:
            return (f"the difference simplifies to {_components_text(to_text(diff))}", diff,
                    False)
        return (f"SymPy does not reduce the difference {_components_text(to_text(diff))} "
                "to 0"), diff, False
    except (TypeError, ValueError, AttributeError, NotImplementedError, RecursionError,
            SymnormError) as err:
        return f"not compared symbolically ({type(err).__name__})", None, False


def _scaled(diff: Any) -> tuple[Any, Any, bool] | None:
    """``diff`` as a nonzero exact number times the rest: ``(number, rest, atomic)``, where
    ``atomic`` says the rest is a product of symbols, norms and powers, so its value at a
    point has no cancellation and a nonzero float is a nonzero value. None otherwise."""
    if diff is None or diff == 0 or diff.has(sp.Piecewise, sp.nan, sp.zoo, sp.oo):
        return None
    coeff, rest = (diff.as_coeff_mmul() if isinstance(diff, MatMul) else
                   diff.as_coeff_Mul() if isinstance(diff, sp.Mul) else (sp.Integer(1), diff))
    if isinstance(rest, MatMul) and len(rest.args) == 1:
        rest = rest.args[0]
    if isinstance(rest, (sp.Add, MatAdd)) and coeff == 1:  # x/10^12 + A.T*b/10^12
        coeffs = [(t.as_coeff_mmul() if isinstance(t, MatMul) else t.as_coeff_Mul())[0]
                  for t in rest.args]
        if all(c.is_number and c.is_nonzero for c in coeffs):
            return max(coeffs, key=lambda c: abs(float(c))), rest, False
    if not (coeff.is_number and coeff.is_nonzero):
        return None
    factors = rest.args if isinstance(rest, (sp.Mul, MatMul)) else (rest,)
    atomic = all(isinstance(f, (sp.Symbol, MatrixSymbol, Norm, MatrixElement))
                 or (isinstance(f, sp.Pow) and isinstance(f.base, (sp.Symbol, Norm,
                                                                   MatrixElement)))
                 for f in factors)
    return coeff, rest, atomic


# --------------------------------------------------------------------------- compare

def _shape(e: Any) -> tuple:
    if isinstance(e, MatrixExpr) and e.shape != (1, 1):
        return tuple(e.shape)
    return ()


def _fit_free_dims(hand: Any, reference: Any, *known: Any) -> Any:
    """A dimension only the claim has (the size of a lone ``I``) is the reference's."""
    free = dimension_symbols(hand) - dimension_symbols(reference, *known)
    if not free or not isinstance(hand, MatrixExpr) or not isinstance(reference, MatrixExpr):
        return hand
    mapping = {h: r for h, r in zip(hand.shape, reference.shape) if h in free}
    try:
        return hand.xreplace(mapping) if mapping else hand
    except (IndexError, ValueError, TypeError):  # a component the new size does not have
        return hand


class _Numbers:
    """The reference's values (the whole result, indexed where a component is claimed)
    and the claim's, at a point and for every value of a free index."""

    def __init__(self, hand: Any, full: Any, component: tuple, indices: dict) -> None:
        self.hand, self.full, self.component, self.indices = hand, full, component, indices

    def assignments(self, dims: dict) -> list[dict]:
        if not self.indices:
            return [{}]
        names = list(self.indices)
        ranges = []
        for i in names:
            size = sp.sympify(self.indices[i]).xreplace({k: sp.Integer(v)
                                                         for k, v in dims.items()})
            ranges.append(range(1, int(size) + 1))
        return [dict(zip(names, combo)) for combo in product(*ranges)]

    def pairs(self, pt: dict, dims: dict) -> list[tuple[dict, Any, Any]]:
        full = evaluate(self.full, pt, dims) if self.component else None
        out = []
        for assign in self.assignments(dims):
            if self.component:
                table = {s: sp.Integer(v) for s, v in assign.items()}
                at = tuple(int(sp.sympify(c).xreplace(table)) for c in self.component)
                r = np.asarray(full, dtype=float)[at]
            else:  # a step compared with the step before: both may hold the free index
                r = evaluate(self.full, pt, {**dims, **assign})
            h = evaluate(self.hand, pt, {**dims, **assign})
            out.append((assign, h, r))
        return out


def compare(hand: Any, reference: Any, *, full: Any = None, component: tuple = (),
            indices: dict | None = None, kinks: tuple = (), layout: bool | str = False,
            what: str = "the derived result", min_size: int = 2,
            sizes: dict | None = None, seed: int = 0, settings: int = 3,
            points: int = 3) -> Comparison:
    """Compare ``hand`` with ``reference`` (see the module docstring).

    ``full`` is the whole result a ``component`` (0-based entries, possibly holding a free
    index symbol of ``indices``, which maps it to its range) is taken from; ``kinks`` more
    expressions whose kinks to visit (the function differentiated); ``layout`` allows
    "equal up to layout" (the claim is the transpose), and names the layout the transpose
    is in (``True`` is ``"numerator"``: a gradient written as a row; a Jacobian's transpose
    is ``"denominator"``); ``what`` names the reference in
    messages; ``min_size`` the smallest dimension to sample (a claim about ``x_3`` needs
    ``n >= 3``).

    >>> import symnorm as sn
    >>> x = sn.vector("x")
    >>> compare(2 * x, x + x).status
    'proved'
    >>> compare(x.T, x, layout=True).layout
    'numerator'
    >>> A = sn.matrix("A", "n", "n")
    >>> compare(A.T, A, layout="denominator").layout
    'denominator'
    """
    transposed = "numerator" if layout is True else layout or None
    indices = dict(indices or {})
    full = reference if full is None else full
    hand = _fit_free_dims(hand, reference, full, *kinks)
    want, got = _shape(reference), _shape(hand)
    if want != got or layout:
        reverse = got == tuple(reversed(want)) and len(want) == 2
        if layout and reverse and want != got:
            out = _compare(hand.T, reference, full, component, indices, kinks, min_size,
                           sizes, seed, settings, points)
            if out.status != WRONG and out.status != UNDECIDED:
                out.status, out.layout = LAYOUT, transposed
                return out
            out.shape_mismatch = (f"shape mismatch: the claim {to_text(hand)} is "
                                  f"{_shape_words(got)}, but {what} is {_shape_words(want)} "
                                  "(and its transpose is not either)")
            out.status = WRONG
            return out
        if want != got:
            return Comparison(WRONG, shape_mismatch=(
                f"shape mismatch: the claim {_components_text(to_text(hand))} is "
                f"{_shape_words(got)}, but {what} is {_shape_words(want)}"))
    out = _compare(hand, reference, full, component, indices, kinks, min_size, sizes, seed,
                   settings, points)
    if layout and out.status == WRONG and want and want[0] == want[1] != 1:
        flipped = _compare(hand.T, reference, full, component, indices, kinks, min_size,
                           sizes, seed, settings, points)
        if flipped.status not in (WRONG, UNDECIDED):
            flipped.status, flipped.layout = LAYOUT, transposed
            return flipped
    return out


def _shape_words(shape: tuple) -> str:
    if not shape:
        return "a scalar"
    r, c = shape
    kind = "column vector" if c == 1 else "row vector" if r == 1 else "matrix"
    return f"a {kind} of shape ({r}, {c})"


_SCALES = (1.0, 0.3, 3.0, 0.1, 10.0, 30.0)  # where the reference is undefined, draw again


def _compare(hand: Any, reference: Any, full: Any, component: tuple, indices: dict,
             kinks: tuple, min_size: int, sizes: dict | None, seed: int, settings: int,
             points: int) -> Comparison:
    symbolic, difference, proved = _symbolic(hand, reference)
    out = Comparison(PROVED if proved else SAMPLED, symbolic, difference)
    numbers = _Numbers(hand, full, component, indices)
    # the difference itself, evaluated without cancellation, must vanish too: a rounded
    # constant (0.3333333333 for 1/3) or a term scaled by 1e-9 is below the sides' tolerance
    scaled = None if proved else _scaled(difference)
    hidden = scaled is not None and abs(float(scaled[0])) < 1e-5
    audit = not proved and difference is not None and not difference.has(
        sp.Piecewise, sp.nan, sp.zoo)
    unsure = False
    sampler = Sampler([*kinks, hand, full], seed, min_size, sizes)
    generic: list[tuple[dict, dict, dict]] = []
    try:
        for dims in sampler.settings(settings):
            worst, used = 0.0, 0
            record = {"dims": {d.name: v for d, v in dims.items()}}
            for _ in range(points):
                for scale in _SCALES:
                    pt = sampler.point(dims, scale)
                    pairs = [(a, h, r) for a, h, r in numbers.pairs(pt, dims)
                             if np.all(np.isfinite(np.asarray(r, dtype=float)))]
                    if pairs:
                        break  # else the reference is undefined here: say nothing
                for assign, h, r in pairs:
                    used += 1
                    generic.append((pt, dims, assign))
                    err = np.abs(np.asarray(h, dtype=float).reshape(np.shape(r)) - r) \
                        if np.size(h) == np.size(r) else np.array([np.inf])
                    worst = max(worst, float(np.nanmax(np.where(np.isfinite(err), err,
                                                                np.inf))))
                    if not _close(h, r):
                        out.numeric.append({**record, "points": used, "max_abs_error": worst})
                        return _differs(out, pt, dims, assign, h, r, proved)
                    if audit:
                        try:
                            nonzero = _nonzero(difference, pt, {**dims, **assign})
                        except (UnsupportedExpressionError, ValueError, TypeError,
                                IndexError):
                            nonzero = None if hidden else False
                        unsure |= nonzero is None
                        if nonzero:
                            out.numeric.append({**record, "points": used,
                                                "max_abs_error": worst})
                            out.reason = ("the two sides agree to within rounding, but their "
                                          "difference, "
                                          f"{_components_text(to_text(difference))}, is not 0 "
                                          "here")
                            return _differs(out, pt, dims, assign, h, r, proved)
            out.numeric.append({**record, "points": used, "max_abs_error": worst})
    except (UnsupportedExpressionError, ValueError, TypeError, IndexError) as err:
        if proved:
            out.reason = f"no numeric check ({err})"
            return out
        out.status, out.reason = UNDECIDED, f"the values cannot be computed: {err}"
        return out
    if not generic:
        if proved:
            return out
        out.status = UNDECIDED
        out.reason = ("the derived result is undefined at every random point (outside its "
                      "domain?)")
        return out
    if unsure:
        out.status = UNDECIDED
        out.reason = (f"the numbers agree to within rounding at every point, but the "
                      f"difference is {_components_text(to_text(difference))}, too small for "
                      "them to tell whether it is 0")
        return out
    _kinks(out, hand, numbers, [hand, *kinks], generic[0])
    return out


def _nonzero(e: Any, pt: dict, dims: dict) -> bool | None:
    """Whether ``e`` is nonzero at the point, judged without cancellation: a sum against
    the size of its terms, a product factor by factor. None when it cannot tell."""
    if e.is_number:
        return bool(e != 0)
    if isinstance(e, (sp.Add, MatAdd)):
        values = [np.asarray(evaluate(t, pt, dims), dtype=float) for t in e.args]
        total = np.abs(sum(values, np.zeros(())))
        size = sum((np.abs(v) for v in values), np.zeros(()))
        if np.any(total > 1e-6 * size):
            return True
        if np.all(total <= 1e-12 * size):
            return False
        return None
    if isinstance(e, (sp.Mul, MatMul)):
        found = [_nonzero(f, pt, dims) for f in e.args]
        if any(f is False for f in found):
            return False
        if any(f is None for f in found):
            return None
        return bool(np.any(np.asarray(evaluate(e, pt, dims), dtype=float) != 0))
    if isinstance(e, sp.Pow) and e.exp.is_positive:
        return _nonzero(e.base, pt, dims)
    return bool(np.any(np.asarray(evaluate(e, pt, dims), dtype=float) != 0))


def _differs(out: Comparison, pt: dict, dims: dict, assign: dict, h: Any, r: Any,
             proved: bool) -> Comparison:
    out.point = Point(_values_text(pt), {d.name: v for d, v in dims.items()},
                      {s.name: v for s, v in assign.items()},
                      np.asarray(h, dtype=float), np.asarray(r, dtype=float))
    if proved:  # a proof and the numbers disagree: one of them is wrong, so say neither
        out.status = UNDECIDED
        out.reason = ("SymPy reduces the difference to 0, but the numbers differ at a "
                      "point: the evaluation or the simplification is wrong")
    else:
        out.status = WRONG
    return out


def _kinks(out: Comparison, hand: Any, numbers: _Numbers, exprs: list[Any],
           start: tuple[dict, dict, dict]) -> None:
    pt, dims, _ = start
    for arg, whole in _kink_args(exprs):  # the claim's own kinks are the most specific
        try:
            moved = _zero_at(arg, pt, dims, whole)
            if moved is None:
                continue
            pairs = numbers.pairs(moved, dims)
        except (UnsupportedExpressionError, ValueError, TypeError, IndexError):
            continue
        for _, h, r in pairs:
            if not _close(h, r):
                out.status = ALMOST
                text = _components_text(to_text(arg))
                where = f"{text} = 0" if whole else f"an entry of {text} is 0"
                out.where = where
                out.numeric.append({"dims": {d.name: v for d, v in dims.items()},
                                    "points": 1, "kink": where,
                                    "claim": _jsonable(np.asarray(h, dtype=float)),
                                    "derived": _jsonable(np.asarray(r, dtype=float))})
                return


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return [_jsonable(x) for x in v.tolist()] if v.ndim else _jsonable(float(v))
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    if isinstance(v, float) and not np.isfinite(v):
        return str(v)
    return v
