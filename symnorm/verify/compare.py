"""How :func:`symnorm.verify` judges a claim: it reads the claim, derives the result, and
compares the two symbolically and at random points (declared matrix structure sampled
as declared), then at the kinks; a wrong claim gets a counterexample."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import sympy as sp
from sympy import MatAdd, MatMul
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol
from sympy.matrices.expressions.matexpr import MatrixElement

from ..api import grad as derive_grad
from ..api import hessian as derive_hessian
from ..kernels.evaluate import dimension_symbols, evaluate
from ..language import parse_latex, split_lines
from ..language.expression import parse
from ..language.names import unused_declarations_allowed
from ..model.atoms import Elementwise, MaxAbsSelector, Norm, ScalarOf
from ..model.errors import ParseError, ShapeError, SymnormError, UnsupportedExpressionError
from ..model.symbols import structure_of
from ..model.text import to_text
from .verdict import (
    _RANK,
    ALMOST,
    EQUAL,
    WRONG,
    Counterexample,
    Verdict,
    _jsonable,
    _where_text,
)

__all__ = ["verify"]

_RTOL = 1e-7  # relative agreement of the claim and the derived result at a point


# --------------------------------------------------------------------------- inputs

def _looks_like_latex(text: str) -> bool:
    return "\\" in text or bool(re.search(r"[_^]\{|&|\|", text))


def _read(text: str, bindings: dict[str, Any], latex: bool | None) -> Any:
    # every symbol of f is declared, and a claim need not use them all
    with unused_declarations_allowed():
        if latex or (latex is None and _looks_like_latex(text)):
            return parse_latex(text, **bindings)
        try:
            return parse(text, **bindings)
        except ParseError as err:
            if latex is False:
                raise
            try:  # "2A^T(Ax - b)": hand-written maths without a backslash
                return parse_latex(text, **bindings)
            except ParseError:
                raise err from None


def _symbols_of(e: Any) -> list[Any]:
    found = {s for s in sp.preorder_traversal(e) if isinstance(s, MatrixSymbol)}
    found |= {s for s in getattr(e, "free_symbols", set())
              if isinstance(s, sp.Symbol) and not (s.is_integer and s.is_positive)}
    return sorted(found, key=lambda s: s.name)


def _resolve_wrt(wrt: Any, f: Any) -> tuple[Any, tuple[int, int] | None]:
    if isinstance(wrt, MatrixElement):
        return wrt.parent, (int(wrt.i), int(wrt.j))
    if isinstance(wrt, (MatrixSymbol, sp.Symbol)):
        return wrt, None
    if isinstance(wrt, str):
        match = re.fullmatch(r"([A-Za-z][A-Za-z0-9]*)(?:\[(\d+)\]|_\{?(\d+)\}?)?", wrt.strip())
        if match is None:
            raise ParseError(f"wrt '{wrt}' is not a name, a component x[0] or x_1", wrt)
        name = match.group(1)
        var = next((s for s in _symbols_of(f) if s.name == name), None)
        if var is None:
            raise ShapeError(f"wrt '{name}' does not occur in {to_text(f)}")
        if match.group(2) is not None:
            return _resolve_wrt(var[int(match.group(2)), 0], f)
        if match.group(3) is not None:
            if int(match.group(3)) < 1:
                raise ParseError(f"components are numbered from 1 in '{wrt}'", wrt)
            return _resolve_wrt(var[int(match.group(3)) - 1, 0], f)
        return var, None
    raise UnsupportedExpressionError(f"wrt must be a symbol, a component or a name, got {wrt!r}")


def _shape(e: Any) -> tuple:
    if isinstance(e, MatrixExpr) and e.shape != (1, 1):
        return tuple(e.shape)
    return ()


def _shape_words(shape: tuple) -> str:
    if not shape:
        return "a scalar"
    r, c = shape
    kind = "column vector" if c == 1 else "row vector" if r == 1 else "matrix"
    return f"a {kind} of shape ({r}, {c})"


# --------------------------------------------------------------------------- sampling

class _Sampler:
    def __init__(self, exprs: list[Any], seed: int, min_size: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.dims = sorted(dimension_symbols(*exprs), key=lambda s: s.name)
        self.symbols: list[Any] = []
        for e in exprs:
            for s in _symbols_of(e):
                if s not in self.symbols:
                    self.symbols.append(s)
        self.orders = {n.p for e in exprs for n in sp.preorder_traversal(e)
                       if isinstance(n, Norm) and isinstance(n.p, sp.Symbol)}
        self.min_size = max(min_size, 2)

    def settings(self, count: int) -> list[dict[sp.Symbol, int]]:
        out = []
        for k in range(count):
            out.append({d: self.min_size + (k + 2 * j) % 4 for j, d in enumerate(self.dims)})
        return out

    def value(self, shape: tuple[int, int], symbol: Any = None) -> np.ndarray:
        v = np.round(self.rng.normal(size=shape), 2)
        v[v == 0] = 0.37  # keep generic points off the kinks
        structure = structure_of(symbol)
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

    def point(self, dims: dict[sp.Symbol, int]) -> dict[Any, Any]:
        pt: dict[Any, Any] = {}
        for s in self.symbols:
            if isinstance(s, MatrixSymbol):
                shape = tuple(int(sp.Integer(d) if isinstance(d, int) else d.xreplace(
                    {k: sp.Integer(v) for k, v in dims.items()})) for d in s.shape)
                pt[s] = self.value(shape, s)  # type: ignore[arg-type]
            elif s in self.orders:
                pt[s] = float(np.round(self.rng.uniform(1.3, 4.0), 2))
            elif s.is_positive or s.is_nonnegative:
                pt[s] = float(np.round(self.rng.uniform(0.2, 2.0), 2))
            else:
                pt[s] = float(self.value((1,))[0])
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
        ok = np.abs(h - r) <= _RTOL * (1.0 + np.abs(r))
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
        pt[u.parent][int(u.i), int(u.j)] = 0.0
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


# --------------------------------------------------------------------------- compare

def _symbolic(hand: Any, ref: Any) -> tuple[str, Any]:
    h = hand.mat if isinstance(hand, ScalarOf) and hand.mat.shape == (1, 1) else hand
    if hand == ref or h == ref:
        return "the claim is the derived result, term for term", sp.Integer(0)
    try:
        diff = (hand - ref) if isinstance(hand, MatrixExpr) == isinstance(ref, MatrixExpr) \
            else None
        if diff is None:
            return "not compared symbolically (a 1x1 matrix against a scalar)", None
        diff = diff.doit()
        if isinstance(diff, sp.ZeroMatrix) or diff == 0:
            return "the difference simplifies to 0", sp.Integer(0)
        if not isinstance(diff, MatrixExpr) and sp.count_ops(diff) <= 40 \
                and not diff.has(sp.Sum, Norm, ScalarOf, MatrixElement):
            simple = sp.simplify(diff)
            if simple == 0:
                return "the difference simplifies to 0", sp.Integer(0)
            return f"the difference simplifies to {_where_text(simple)}", simple
        return (f"SymPy does not reduce the difference {_where_text(diff)} to 0; "
                "the numbers decide"), diff
    except (TypeError, ValueError, AttributeError, NotImplementedError, SymnormError) as err:
        return f"not compared symbolically ({type(err).__name__})", None


def _fit_free_dims(hand: Any, reference: Any, f: Any) -> Any:
    """A dimension only the claim has (the size of a lone ``I``) is the derived one's."""
    free = dimension_symbols(hand) - dimension_symbols(f, reference)
    if not free or not isinstance(hand, MatrixExpr) or not isinstance(reference, MatrixExpr):
        return hand
    mapping = {h: r for h, r in zip(hand.shape, reference.shape) if h in free}
    return hand.xreplace(mapping) if mapping else hand


def _compare(hand: Any, reference: Any, ref_full: Any, component: tuple | None,
             f: Any, wrt: Any, kind: str, seed: int, settings: int, points: int,
             source: str | None) -> Verdict:
    hand = _fit_free_dims(hand, reference, f)
    verdict = Verdict(status=EQUAL, hand=hand, reference=reference, f=f, wrt=wrt, kind=kind,
                      source=source)
    want, got = _shape(reference), _shape(hand)
    if want != got:
        verdict.status = WRONG
        verdict.shape_mismatch = (f"shape mismatch: the claim {to_text(hand)} is "
                                  f"{_shape_words(got)}, but {verdict._what()} is "
                                  f"{_shape_words(want)}")
        return verdict
    verdict.symbolic, verdict.difference = _symbolic(hand, reference)
    min_size = 2 if component is None else component[0] + 1
    sampler = _Sampler([f, hand, ref_full], seed, min_size)

    def ref_value(pt: dict, dims: dict) -> Any:
        value = evaluate(ref_full, pt, dims)
        return value[component] if component is not None else value

    generic: list[tuple[dict, dict]] = []
    for dims in sampler.settings(settings):
        worst, used = 0.0, 0
        for _ in range(points):
            pt = sampler.point(dims)
            r, h = ref_value(pt, dims), evaluate(hand, pt, dims)
            if not np.all(np.isfinite(np.asarray(r, dtype=float))):
                continue  # the derived result is undefined here: say nothing
            used += 1
            generic.append((pt, dims))
            err = np.abs(np.asarray(h, dtype=float).reshape(np.shape(r)) - r) \
                if np.size(h) == np.size(r) else np.array([np.inf])
            worst = max(worst, float(np.nanmax(np.where(np.isfinite(err), err, np.inf))))
            if not _close(h, r):
                verdict.status = WRONG
                verdict.counterexample = Counterexample(
                    _values_text(pt), {d.name: v for d, v in dims.items()},
                    np.asarray(h, dtype=float), np.asarray(r, dtype=float))
                verdict.convention_note = _convention_note(wrt, component, hand, ref_full,
                                                           pt, dims, sampler)
                verdict.numeric.append({"dims": {d.name: v for d, v in dims.items()},
                                        "points": used, "max_abs_error": worst})
                return verdict
        verdict.numeric.append({"dims": {d.name: v for d, v in dims.items()},
                                "points": used, "max_abs_error": worst})
    if not generic:
        raise UnsupportedExpressionError(
            f"the derived result {to_text(reference)} is undefined at every random point")
    for arg, whole in _kink_args([hand, f]):  # the claim's own kinks are the most specific
        pt, dims = generic[0]
        moved = _zero_at(arg, pt, dims, whole)
        if moved is None:
            continue
        r, h = ref_value(moved, dims), evaluate(hand, moved, dims)
        if not _close(h, r):
            verdict.status = ALMOST
            where = f"{_where_text(arg)} = 0" if whole else \
                f"an entry of {_where_text(arg)} is 0"
            verdict.where = where
            verdict.numeric.append({"dims": {d.name: v for d, v in dims.items()},
                                    "points": 1, "kink": where,
                                    "claim": _jsonable(np.asarray(h, dtype=float)),
                                    "derived": _jsonable(np.asarray(r, dtype=float))})
            break
    return verdict


def _convention_note(wrt: Any, component: tuple | None, hand: Any, reference: Any,
                     point: dict, dims: dict, sampler: _Sampler) -> str | None:
    """For a structured ``wrt``: is the wrong claim the gradient written in another
    convention? Checked at the counterexample and at two more points of the space."""
    structure = structure_of(wrt)
    if component is not None or not structure & {"symmetric", "diagonal"} or \
            "orthogonal" in structure:
        return None
    name = wrt.name
    points = [point] + [sampler.point(dims) for _ in range(2)]
    pairs = [(np.asarray(evaluate(hand, pt, dims), dtype=float),
              np.asarray(evaluate(reference, pt, dims), dtype=float)) for pt in points]
    if any(h.shape != r.shape or h.ndim != 2 for h, r in pairs):
        return None
    if "diagonal" in structure:
        if all(_close(h * np.eye(h.shape[0]), r) for h, r in pairs):
            return (f"the claim's diagonal is the gradient: the claim is a derivative with "
                    f"the entries of {name} taken independent, off the space of diagonal "
                    f"matrices; the gradient there is its diagonal part")
        return None
    if all(_close(h, 2 * r - r * np.eye(r.shape[0])) for h, r in pairs):
        return (f"the claim is G + G.T - G .* I (the Matrix Cookbook's form for a symmetric "
                f"{name}, the derivative with respect to its distinct entries), which counts "
                f"each off-diagonal entry twice; the gradient in the space of symmetric "
                f"matrices is (G + G.T)/2")
    if all(_close((h + h.T) / 2, r) for h, r in pairs):
        return (f"the claim's symmetric part is the gradient: the claim is G, the derivative "
                f"with the entries of {name} taken independent; the gradient in the space of "
                f"symmetric matrices is (G + G.T)/2")
    return None


def verify(hand: Any, f: Any, wrt: Any, *, hessian: bool = False, latex: bool | None = None,
           shapes: dict[str, object] | None = None, seed: int = 0, settings: int = 3,
           points: int = 3) -> Verdict:
    r"""Check a claimed gradient (or Hessian, ``hessian=True``) of ``f`` against symnorm's.

    ``hand`` is a SymPy/symnorm expression, text in the expression language, LaTeX
    (recognised by its backslashes, braces and bars, or forced with ``latex=True``), or a
    derivation of several lines: a list, or LaTeX with ``=``/``&=``/``\\`` (an
    ``aligned`` block), each line checked. ``wrt`` is a vector, a matrix, a scalar, or
    one component (``x[0]``, or the text ``"x_1"``: components are 1-based in LaTeX).
    ``f`` may be text too. Names in ``hand`` mean ``f``'s symbols; ``shapes`` declares
    others (as :func:`symnorm.parse`) or binds a name to an expression, so a claim can be
    written with intermediate names (``shapes={"y": sn.parse('sigmoid(W*a)')}``).

    >>> import symnorm as sn
    >>> x = sn.vector("x")
    >>> v = sn.verify(r"\frac{x}{\|x\|_2}", sn.norm(x, 2), x)
    >>> v.ok, v.status
    (True, 'equal')
    >>> v = sn.verify(r"\frac{2 x_1}{\|x\|_2}", sn.norm(x, 2), x[0])
    >>> v.status, sorted(v.counterexample.values)
    ('wrong', ['x'])
    >>> A, b = sn.matrix("A"), sn.vector("b", "m")
    >>> v = sn.verify(r"2(Ax - b)A^\top", sn.norm(A*x - b, 2)**2, x)
    >>> v.status, v.shape_mismatch.startswith("shape mismatch")
    ('wrong', True)
    """

    if isinstance(f, str):
        f = _read(f, dict(shapes or {}), None)
    var, component = _resolve_wrt(wrt, f)
    if component is not None and hessian:
        raise UnsupportedExpressionError("a Hessian is taken with respect to a vector, "
                                         "not one component")
    derivation = derive_hessian(f, var) if hessian else derive_grad(f, var)
    ref_full = derivation.result
    reference = ref_full[component] if component is not None else ref_full
    wrt_shown = var[component] if component is not None else var
    kind = "hessian" if hessian else "gradient"
    bindings: dict[str, Any] = {s.name: s for s in _symbols_of(f)}
    bindings.update(shapes or {})

    claims: list[tuple[Any, str | None]]
    if isinstance(hand, (list, tuple)):
        claims = [(h, h if isinstance(h, str) else None) for h in hand]
    elif isinstance(hand, str) and (latex or (latex is None and _looks_like_latex(hand))):
        pieces = split_lines(hand)
        claims = [(p, p) for p, _ in pieces] if len(pieces) > 1 else [(hand, hand)]
    else:
        claims = [(hand, hand if isinstance(hand, str) else None)]
    if not claims:
        raise ParseError("no claim to verify: the text has no expression after '='",
                         str(hand))

    verdicts = []
    for k, (claim, source) in enumerate(claims):
        try:
            expr = _read(claim, bindings, latex) if isinstance(claim, str) else claim
        except ShapeError as err:
            verdicts.append(Verdict(status=WRONG, hand=None, reference=reference, f=f,
                                    wrt=wrt_shown, kind=kind, shape_mismatch=str(err),
                                    line=k, source=source))
            continue
        except ParseError as err:
            if len(claims) > 1:
                raise ParseError(f"line {k + 1} of the derivation: {err}", err.text,
                                 err.position, err.line, err.column) from err
            raise
        v = _compare(expr, reference, ref_full, component, f, wrt_shown, kind, seed,
                     settings, points, source)
        v.line = k
        v.convention = derivation.convention
        verdicts.append(v)
    if len(verdicts) == 1:
        return verdicts[0]
    worst = max(verdicts, key=lambda v: _RANK[v.status])
    first_wrong = next((k for k, v in enumerate(verdicts) if not v.ok), None)
    target = verdicts[first_wrong] if first_wrong is not None else worst
    return Verdict(status=worst.status, hand=None, reference=reference, f=f, wrt=wrt_shown,
                   kind=kind, counterexample=target.counterexample, where=worst.where,
                   shape_mismatch=target.shape_mismatch, lines=verdicts,
                   first_wrong=first_wrong,
                   numeric=[r for v in verdicts for r in v.numeric],
                   convention=derivation.convention, convention_note=target.convention_note)
