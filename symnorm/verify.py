r"""Verify a hand derivation: is the claimed gradient (or Hessian) the right one, and how
sure is the answer?

``verify(claim)`` reads a claim as people write it, in one line with the derivative on
the left (``\nabla f = \frac{x}{\|x\|_2}``, ``\frac{\partial \|x\|_1}{\partial x_i} =
\operatorname{sign}(x_i)``, ``∇ₓ‖x‖₂ = x/‖x‖₂``; :mod:`symnorm.language.claims` lists the
forms), or the right side alone with ``f`` and ``wrt`` given. It derives the gradient
with :func:`symnorm.grad` and compares the two with :func:`symnorm.check.compare.compare`:
symbolically (a proof for every ``n`` when the difference simplifies to 0), numerically at
random points in several dimensions (and at every ``i`` for a claim about ``x_i``), at the
kinks, and transposed (numerator layout). The verdict says how sure it is: ``proved``,
``equal at random points``, ``equal up to layout``, ``equal almost everywhere``,
``wrong`` (with a counterexample) or ``could not decide``; never a false "equal".
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from .calculus.derivation import Differential
from .check.compare import (
    ALMOST,
    LAYOUT,
    PROVED,
    RANK,
    SAMPLED,
    UNDECIDED,
    WRONG,
    Comparison,
    compare,
    symbols_of,
)
from .language.claims import ClaimHead
from .model.errors import ParseError, ShapeError
from .model.text import to_text
from .presentation.document import display, escape_text, heading, verbatim
from .presentation.latex import latex as to_latex
from .presentation.layout import aligned_rows
from .targets import (
    Target,
    claim_pieces,
    derive,
    function_text,
    looks_like_latex,
    read_claim,
    relocated,
    resolve,
)

__all__ = ["ALMOST", "HOLDS", "LAYOUT", "PROVED", "SAMPLED", "UNDECIDED", "WRONG",
           "Counterexample", "Verdict", "judge", "verdict_from", "verify"]

# the statuses under which a claim holds (``Verdict.ok``)
HOLDS = frozenset({PROVED, SAMPLED, LAYOUT, ALMOST})


@dataclass
class Counterexample:
    """A point where the claim and the derived result differ: every symbol's value,
    the dimensions used, the free index of a claim about ``x_i`` (1-based, as written),
    and both sides' numbers."""

    values: dict[str, Any]
    dims: dict[str, int]
    hand: Any
    reference: Any
    index: dict[str, int] = field(default_factory=dict)

    def differing(self) -> list[tuple[int, ...]]:
        """The components (1-based, as written: ``(2,)`` is the second entry of a vector,
        ``(1, 2)`` row 1 column 2) where the two sides differ."""
        h, r = np.asarray(self.hand, dtype=float), np.asarray(self.reference, dtype=float)
        if h.shape != r.shape or h.size <= 1:
            return []
        with np.errstate(invalid="ignore"):
            bad = ~(np.abs(h - r) <= 1e-7 * (1.0 + np.abs(r))) & ~(np.isnan(h) & np.isnan(r))
        column = h.ndim == 2 and h.shape[1] == 1
        return [(int(k[0]) + 1,) if column else tuple(int(v) + 1 for v in k)
                for k in np.argwhere(bad)]

    def text(self) -> str:
        """``at n = 2, x = (0.13, -0.25): the claim is ..., the derived result is ...``"""
        digits = _digits(self.hand, self.reference)
        where = [f"{k} = {v}" for k, v in self.dims.items()]
        where += [f"{k} = {v}" for k, v in self.index.items()]
        where += [f"{k} = {_fmt(v, digits if np.size(v) == 1 else 6)}"
                  for k, v in self.values.items()]
        out = (f"at {', '.join(where)}: the claim is {_fmt(self.hand, digits)}, the derived "
               f"result is {_fmt(self.reference, digits)}")
        bad = self.differing()
        if bad and np.asarray(self.hand).size > 1:
            h = np.asarray(self.hand, dtype=float).reshape(np.shape(self.reference))
            r = np.asarray(self.reference, dtype=float)
            k = bad[0]
            at = (k[0] - 1, 0) if len(k) == 1 and r.ndim == 2 else tuple(v - 1 for v in k)
            label = ",".join(map(str, k))
            out += (f"; component {label} differs ({_fmt(h[at], digits)} against "
                    f"{_fmt(r[at], digits)})"
                    + (f", and {len(bad) - 1} more" if len(bad) > 1 else ""))
        return out

    def to_dict(self) -> dict:
        return {"values": {k: _jsonable(v) for k, v in self.values.items()},
                "dims": dict(self.dims), "index": dict(self.index),
                "hand": _jsonable(self.hand), "reference": _jsonable(self.reference),
                "differing": [list(k) for k in self.differing()]}


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return [_jsonable(x) for x in v.tolist()] if v.ndim else _jsonable(float(v))
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    if isinstance(v, float) and not np.isfinite(v):
        return str(v)
    return v


def _fmt(v: Any, digits: int = 6) -> str:
    a = np.asarray(v, dtype=float)
    if a.size == 1:
        return f"{float(a.ravel()[0]):.{digits}g}"
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim == 1:
        return "(" + ", ".join(f"{x:.{digits}g}" for x in a) + ")"
    return "[" + "; ".join(", ".join(f"{x:.{digits}g}" for x in row) for row in a) + "]"


def _digits(hand: Any, reference: Any) -> int:
    """Enough significant digits (6 to 17) that two different numbers print differently."""
    h, r = np.asarray(hand, dtype=float), np.asarray(reference, dtype=float)
    if h.shape != r.shape:
        return 6
    for digits in range(6, 18):
        if any(f"{a:.{digits}g}" != f"{b:.{digits}g}" for a, b in zip(h.ravel(), r.ravel())
               if not (np.isnan(a) and np.isnan(b)) and a != b):
            return digits
    return 6


@dataclass
class Verdict:
    """The verdict on a claimed derivative, and how sure it is.

    ``status`` is one of

    * ``"proved"``: the difference simplifies to 0, for every dimension;
    * ``"equal at random points"``: equal at every sampled point (``numeric`` lists the
      dimensions and points), though SymPy does not reduce the difference to 0;
    * ``"equal up to layout"``: the claim is the transpose of the gradient (``layout``
      is ``"numerator"``: a row where symnorm's gradient, in denominator layout, has the
      shape of the variable);
    * ``"equal almost everywhere"``: equal except on a null set (``where`` says which);
    * ``"wrong"``: ``counterexample`` gives a point where they differ (unless the shapes
      differ: ``shape_mismatch`` says how);
    * ``"could not decide"``: neither a proof nor a counterexample (``reason`` says why).

    ``ok`` is true for the first four. ``symbolic`` and ``numeric`` are the evidence. For
    a derivation of several lines, ``lines`` holds one verdict a line and ``first_wrong``
    the index of the first one that does not hold (None when all do).
    """

    status: str
    hand: Any
    reference: Any
    f: Any
    wrt: Any
    kind: str = "gradient"
    symbolic: str = ""
    difference: Any = None
    numeric: list[dict] = field(default_factory=list)
    counterexample: Counterexample | None = None
    where: str | None = None
    shape_mismatch: str | None = None
    layout: str | None = None
    reason: str | None = None
    lines: list["Verdict"] | None = None
    first_wrong: int | None = None
    line: int | None = None
    source: str | None = None

    @property
    def ok(self) -> bool:
        """True when the claim holds: proved, equal at random points, equal up to layout,
        or equal almost everywhere."""
        return self.status in HOLDS

    def __repr__(self) -> str:
        return f"<Verdict {self.summary()}>"

    def _what(self) -> str:
        if self.kind == "step":
            return f"equal to the line before, {_where_text(self.reference)}"
        op = "Hessian" if self.kind == "hessian" else "gradient"
        if isinstance(self.wrt, MatrixElement):
            op = "partial derivative"
            if self.kind == "hessian":
                op = "second partial derivative"
        return f"the {op} of {to_text(self.f)} with respect to {_wrt_text(self.wrt)}"

    def sampled(self) -> str:
        """``9 random points (n = 2, 3, 4)``: the numeric evidence in words."""
        runs = [r for r in self.numeric if "kink" not in r]
        count = sum(r["points"] for r in runs)
        sizes: dict[str, list[int]] = {}
        for r in runs:
            for k, v in r["dims"].items():
                if v not in sizes.setdefault(k, []):
                    sizes[k].append(v)
        dims = "; ".join(f"{k} = {', '.join(map(str, sorted(v)))}" for k, v in sizes.items())
        what = f"{count} random point{'s' if count != 1 else ''}"
        return f"{what} ({dims})" if dims else what

    def summary(self) -> str:
        """One line: the status and the reason."""
        if self.lines is not None:
            if self.first_wrong is None:
                return f"{self.status}: every line is {self._what()}"
            bad = self.lines[self.first_wrong]
            return (f"{self.status}: line {self.first_wrong + 1} "
                    f"({bad.source or to_text(bad.hand)}) is "
                    f"{'not' if bad.status == WRONG else 'perhaps not'} {self._what()}")
        what = self._what()
        if self.status == PROVED:
            return f"proved: the claim is {what} (the difference simplifies to 0)"
        if self.status == SAMPLED:
            return (f"equal at {self.sampled()}: the claim is {what}, not proved "
                    "symbolically")
        if self.status == LAYOUT:
            shape = "a row" if self.hand is not None and getattr(self.hand, "shape", (0, 0))[
                0] == 1 else "the transpose"
            return (f"equal up to layout: the claim is {what} in numerator layout ({shape}; "
                    "symnorm's gradient, in denominator layout, has the shape of "
                    f"{_wrt_text(self.wrt)})")
        if self.status == ALMOST:
            return f"equal almost everywhere: the claim is {what} except where {self.where}"
        if self.status == UNDECIDED:
            return f"could not decide whether the claim is {what}: {self.reason}"
        if self.shape_mismatch:
            return f"wrong: {self.shape_mismatch}"
        return f"wrong: the claim is not {what}"

    def text(self) -> str:
        """A plain-text report: claim, derived result, evidence, counterexample."""
        out = [self.summary()]
        if self.lines is not None:
            for k, v in enumerate(self.lines):
                out.append(f"  line {k + 1}: {v.source or to_text(v.hand)}  -> {v.status}")
            target = self.lines[self.first_wrong] if self.first_wrong is not None else None
            if target is not None and target.counterexample is not None:
                out.append(f"  counterexample for line {self.first_wrong + 1}: "
                           f"{target.counterexample.text()}")
            elif target is not None and target.shape_mismatch:
                out.append(f"  {target.shape_mismatch}")
            out.append(f"  derived: {to_text(self.reference)}")
            return "\n".join(out)
        if self.hand is not None:
            out.append(f"  claim:   {_where_text(self.hand)}")
        out.append(f"  derived: {_where_text(self.reference)}")
        if self.symbolic:
            out.append(f"  symbolic: {self.symbolic}")
        if self.reason and self.status != UNDECIDED:
            out.append(f"  note: {self.reason}")
        if self.numeric:
            n = sum(r["points"] for r in self.numeric)
            sizes = sorted({tuple(sorted(r["dims"].items())) for r in self.numeric})
            dims = "; ".join(", ".join(f"{k}={v}" for k, v in s) for s in sizes) or "scalars"
            out.append(f"  numeric: {n} random points ({dims})")
        if self.counterexample is not None:
            out.append(f"  counterexample {self.counterexample.text()}")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.text()

    def _document_section_(self, caption: str | None = None) -> list[str]:
        """This verdict as a section of :func:`symnorm.latex_document`."""
        return [heading(caption or f"Verdict: {escape_text(self.status)}"),
                display(self.latex()), verbatim(self.text())]

    def latex(self) -> str:
        r"""LaTeX: the claim and the derived result as an ``aligned`` block, the verdict,
        the evidence and the counterexample written under it (compiles under pdflatex)."""

        symbol = "hessian" if self.kind == "hessian" else "grad"
        wrt = self.wrt
        if isinstance(wrt, MatrixElement):
            symbol = "partial"
        if self.kind == "step":  # one step of a chain: the line before = the claim
            return aligned_rows([(_tex(self.reference), _tex(self.hand),
                                  f"the claim: {self.status}")], [self.summary()])
        lhs = Differential(self.f, wrt, symbol).latex()
        rows = []
        if self.lines is not None:
            for k, v in enumerate(self.lines):
                rows.append((lhs if k == 0 else "", _tex(v.hand),
                             f"line {k + 1}: {v.status}"))
        elif self.hand is not None:
            rows.append((lhs, _tex(self.hand), f"the claim: {self.status}"))
        rows.append((lhs, _tex(self.reference), "derived by symnorm"))
        notes = [self.summary()]
        target = self
        if self.lines is not None and self.first_wrong is not None:
            target = self.lines[self.first_wrong]
        if target.counterexample is not None:
            notes.append("counterexample " + target.counterexample.text())
        elif self.lines is None and self.symbolic:
            notes.append(f"symbolic: {self.symbolic}")
        return aligned_rows(rows, notes)

    def _repr_latex_(self) -> str:
        return "$$" + self.latex() + "$$"

    def _repr_html_(self) -> str:
        colour = {PROVED: "#1a7f37", SAMPLED: "#1a7f37", LAYOUT: "#1a7f37",
                  ALMOST: "#9a6700", UNDECIDED: "#9a6700", WRONG: "#cf222e"}[self.status]
        lines = self.text().splitlines()
        rest = "".join(f"<li>{html.escape(line.strip())}</li>" for line in lines[1:])
        return (f'<div class="symnorm-verdict"><b style="color:{colour}">'
                f"{html.escape(lines[0])}</b><ul>{rest}</ul></div>")

    def to_dict(self) -> dict:
        """A JSON-ready summary."""
        out: dict[str, Any] = {
            "ok": self.ok, "status": self.status, "summary": self.summary(),
            "kind": self.kind, "f": None if self.f is None else to_text(self.f),
            "wrt": None if self.wrt is None else _wrt_text(self.wrt),
            "claim": None if self.hand is None else to_text(self.hand),
            "derived": to_text(self.reference), "symbolic": self.symbolic,
            "numeric": self.numeric, "where": self.where,
            "shape_mismatch": self.shape_mismatch, "layout": self.layout,
            "reason": self.reason,
            "counterexample": None if self.counterexample is None
            else self.counterexample.to_dict(),
        }
        if self.lines is not None:
            out["claim"] = [v.source or to_text(v.hand) for v in self.lines]
            out["first_wrong"] = self.first_wrong
            out["lines"] = [v.to_dict() for v in self.lines]
        return out


def _tex(e: Any) -> str:
    return r"\text{(not parsed)}" if e is None else to_latex(e)


def _where_text(e: Any) -> str:
    """Expression-language text, with components written x_1 (1-based) as in LaTeX, and
    ``x[i - 1, 0]`` (a free index) as ``x_i``."""
    text = to_text(e)
    text = re.sub(r"(\w+)\[(\d+), 0\]", lambda m: f"{m.group(1)}_{int(m.group(2)) + 1}", text)
    text = re.sub(r"(\w+)\[(\d+), (\d+)\]",
                  lambda m: f"{m.group(1)}_{{{int(m.group(2)) + 1},{int(m.group(3)) + 1}}}",
                  text)
    text = re.sub(r"(\w+)\[([A-Za-z]\w*) - 1, 0\]", r"\1_\2", text)
    return re.sub(r"(\w+)\[([A-Za-z]\w*) - 1, ([A-Za-z]\w*) - 1\]", r"\1_{\2,\3}", text)


def _wrt_text(wrt: Any) -> str:
    if isinstance(wrt, MatrixElement):
        parts = [_one_based(k) for k in (wrt.i, wrt.j)]
        if wrt.parent.shape[1] == 1:
            return f"{wrt.parent.name}_{parts[0]}"
        return f"{wrt.parent.name}_{{{parts[0]},{parts[1]}}}"
    return to_text(wrt)


def _one_based(k: Any) -> str:
    k = sp.sympify(k)
    return str(int(k) + 1) if k.is_Integer else to_text(k + 1)


# --------------------------------------------------------------------------- verify

def verdict_from(c: Comparison, hand: Any, target: Target, reference: Any,
                 source: str | None, kind: str | None = None) -> Verdict:
    """The :class:`Verdict` of a :func:`~symnorm.check.compare.compare` of ``hand`` with
    ``reference`` for a claim about ``target``."""
    counter = None
    if c.point is not None and c.status == WRONG:
        p = c.point
        counter = Counterexample(p.values, p.dims, p.hand, p.reference, p.index)
    return Verdict(status=c.status, hand=hand, reference=reference, f=target.f,
                   wrt=target.wrt_shown, kind=kind or target.kind, symbolic=c.symbolic,
                   difference=c.difference, numeric=c.numeric, counterexample=counter,
                   where=c.where, shape_mismatch=c.shape_mismatch, layout=c.layout,
                   reason=c.reason, source=source)


def judge(claim: Any, target: Target, reference: Any, full: Any, *, bindings: dict,
          latex: bool | None = None, prefer_latex: bool = False, source: str | None = None,
          seed: int = 0, settings: int = 3, points: int = 3) -> Verdict:
    """One claimed expression (text or an expression) against ``reference``, the whole
    result ``full`` a component is taken from. Text that cannot be read raises."""
    try:
        expr = read_claim(claim, bindings, latex, target.index_names, prefer_latex) \
            if isinstance(claim, str) else claim
    except ShapeError as err:
        return Verdict(status=WRONG, hand=None, reference=reference, f=target.f,
                       wrt=target.wrt_shown, kind=target.kind, shape_mismatch=str(err),
                       source=source)
    what = Verdict(status=WRONG, hand=None, reference=reference, f=target.f,
                   wrt=target.wrt_shown, kind=target.kind)._what()
    c = compare(expr, reference, full=full, component=target.component,
                indices=target.indices, kinks=(target.f,),
                layout=target.order == 1 and not target.component, what=what,
                min_size=target.min_size, seed=seed, settings=settings, points=points)
    return verdict_from(c, expr, target, reference, source)


def verify(hand: Any, f: Any = None, wrt: Any = None, *, hessian: bool = False,
           latex: bool | None = None, shapes: dict[str, object] | None = None,
           seed: int = 0, settings: int = 3, points: int = 3) -> Verdict:
    r"""Check a claimed gradient (or Hessian) and say how sure the answer is.

    Parameters
    ----------
    hand : str, expression or list
        The claim: one line with the derivative on the left, in any common notation
        (``\nabla f = ...``, ``\nabla_x \|x\|_2 = ...``, ``\nabla^2 f = ...``,
        ``\frac{\partial f}{\partial x} = ...``, ``\partial f/\partial X = ...``,
        ``\frac{\partial f}{\partial x_i} = ...`` for every ``i``, ``df/dx = ...``,
        Unicode ``∇ₓ‖x‖₂ = x/‖x‖₂``); or only its right side: an expression, text in the
        expression language or LaTeX; or a derivation of several lines (a list, or LaTeX
        with ``&=`` and ``\\``), each line checked.
    f : expression or str, optional
        The function: an expression, its text, or a definition ``"f(x) = ..."`` (then a
        left side naming another function is an error). Left out when the claim writes
        it on the left.
    wrt : symbol, component or str, optional
        A vector, a matrix, a scalar, or one component (``x[0]``, or the text ``"x_1"``:
        components are 1-based in LaTeX). Left out, it is read from the claim
        (``\nabla_x``, ``f(x)``) or is ``f``'s only vector or matrix.
    hessian : bool
        The claim is the Hessian (``\nabla^2 f = ...`` says so itself).
    latex : bool, optional
        Read the claim as LaTeX (True) or the expression language (False); by default its
        backslashes, braces, bars and Unicode decide, and the other is tried next.
    shapes : dict, optional
        Declares names (as :func:`symnorm.parse`) or binds a name to an expression, so a
        claim can use intermediate names (``shapes={"y": sn.parse('sigmoid(W*a)')}``).
    seed, settings, points : int
        The random points: ``settings`` sets of dimensions (n = 2, 3, 4, ...), ``points``
        points each.

    Returns
    -------
    Verdict
        ``status`` is ``"proved"``, ``"equal at random points"``, ``"equal up to layout"``,
        ``"equal almost everywhere"``, ``"wrong"`` (with a counterexample) or ``"could not
        decide"``; ``ok`` is true for the first four.

    Raises
    ------
    symnorm.ParseError
        Text that cannot be read, or a left side that names another function or variable
        than the one given (at its position in the text).
    symnorm.ShapeError
        A variable that does not occur in ``f``, or a component it does not have.

    Examples
    --------
    >>> import symnorm as sn
    >>> x = sn.vector("x")
    >>> sn.verify(r"\nabla_x \|x\|_2 = \frac{x}{\|x\|_2}").status
    'proved'
    >>> v = sn.verify(r"\frac{\partial f}{\partial x_i} = \frac{2 x_i}{\|x\|_2}", sn.norm(x, 2))
    >>> v.status, sorted(v.counterexample.values), sorted(v.counterexample.index)
    ('wrong', ['x'], ['i'])
    >>> sn.verify("∂‖x‖₁/∂x = sign(x)").ok
    True
    >>> sn.verify(r"\nabla f = \frac{x^\top}{\|x\|_2}", sn.norm(x, 2)).status
    'equal up to layout'
    >>> A, b = sn.matrix("A"), sn.vector("b", "m")
    >>> v = sn.verify(r"2(Ax - b)A^\top", sn.norm(A*x - b, 2)**2, x)
    >>> v.status, v.shape_mismatch.startswith("shape mismatch")
    ('wrong', True)
    """
    shapes = dict(shapes or {})
    name: str | None = None
    arguments: tuple[str, ...] = ()
    if isinstance(f, str):
        f, name, arguments = function_text(f, shapes)
    head: ClaimHead | None = None
    text = hand if isinstance(hand, str) else ""
    claims: list[tuple[Any, str | None, int]]
    if isinstance(hand, (list, tuple)):
        claims = [(h, h if isinstance(h, str) else None, 0) for h in hand]
    elif isinstance(hand, str):
        head, pieces = claim_pieces(hand)
        claims = [(p.text, p.text, p.start) for p in pieces]
    else:
        claims = [(hand, None, 0)]
    if not claims:
        raise ParseError("no claim to verify: the text has no expression after '='",
                         str(hand))
    target = resolve(head, f, wrt, hessian=hessian, shapes=shapes, name=name,
                     arguments=arguments, text=text)
    full, reference = derive(target)
    bindings: dict[str, Any] = {s.name: s for s in symbols_of(target.f)}
    bindings.update(shapes)

    verdicts = []
    for k, (claim, source, offset) in enumerate(claims):
        try:
            v = judge(claim, target, reference, full, bindings=bindings, latex=latex,
                      prefer_latex=head is not None and looks_like_latex(text),
                      source=source, seed=seed, settings=settings, points=points)
        except ParseError as err:
            if not text:
                raise
            prefix = f"line {k + 1} of the derivation: " if len(claims) > 1 else ""
            raise relocated(err, text, offset, prefix) from None
        v.line = k
        verdicts.append(v)
    if len(verdicts) == 1:
        return verdicts[0]
    worst = max(verdicts, key=lambda v: RANK[v.status])
    first_wrong = next((k for k, v in enumerate(verdicts) if not v.ok), None)
    target_v = verdicts[first_wrong] if first_wrong is not None else worst
    return Verdict(status=worst.status, hand=None, reference=reference, f=target.f,
                   wrt=target.wrt_shown, kind=target.kind,
                   counterexample=target_v.counterexample, where=worst.where,
                   shape_mismatch=target_v.shape_mismatch, reason=target_v.reason,
                   lines=verdicts, first_wrong=first_wrong,
                   numeric=[r for v in verdicts for r in v.numeric])
