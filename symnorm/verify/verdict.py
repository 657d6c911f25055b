"""The verdict on a hand derivation: its status, evidence and counterexample, shown as
text, LaTeX (Jupyter, documents) and JSON (:func:`symnorm.verify` makes it)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from ..calculus.derivation import Differential
from ..check.compare import ALMOST, LAYOUT, PROVED, SAMPLED, UNDECIDED, WRONG
from ..model.text import to_text
from ..presentation.blocks import (
    Block,
    Equations,
    Paragraph,
    Row,
    Shown,
    SideBySide,
    Table,
    render_mathjax,
)
from ..presentation.latex import latex as to_latex
from ..presentation.prose import Math, Note, note, quoted_source, source_math

__all__ = ["ALMOST", "HOLDS", "LAYOUT", "PROVED", "SAMPLED", "UNDECIDED", "WRONG",
           "Counterexample", "Verdict"]

# the statuses under which a claim holds (``Verdict.ok``)
HOLDS = frozenset({PROVED, SAMPLED, LAYOUT, ALMOST})


@dataclass
class Counterexample:
    r"""A point where the claim and the derived result differ: every symbol's value,
    the dimensions used, the free index of a claim about ``x_i`` (1-based, as written),
    and both sides' numbers.

    ``text()`` says it in one sentence, naming the first component that differs;
    ``differing()`` lists those components (1-based); ``to_dict()`` is JSON-ready.
    Found by :func:`symnorm.verify` (``Verdict.counterexample``); not built by hand.

    Parameters
    ----------
    values : dict of str to array_like
        Every symbol's value at the point, by name.
    dims : dict of str to int
        The sizes given to the dimension symbols (``{"n": 2}``).
    hand : array_like
        The claim's value there.
    reference : array_like
        The derived result's value there.
    index : dict of str to int, optional
        The free index of a claim about one component (``{"i": 2}``), 1-based.

    Examples
    --------
    >>> import symnorm as sn
    >>> v = sn.verify(r"\nabla_x \|x\|_2 = \frac{2x}{\|x\|_2}")
    >>> c = v.counterexample
    >>> c.dims, c.values
    ({'n': 2}, {'x': [0.13, -0.13]})
    >>> print(c.text())  # doctest: +NORMALIZE_WHITESPACE
    at n = 2, x = (0.13, -0.13): the claim is (1.41421, -1.41421), the derived result
    is (0.707107, -0.707107); component 1 differs (1.41421 against 0.707107), and 1 more
    >>> c.differing()
    [(1,), (2,)]
    """

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
    r"""The verdict on a claimed derivative, and how sure it is.

    ``status`` is one of

    * ``"proved"``: the difference simplifies to 0, for every dimension;
    * ``"equal at random points"``: equal at every sampled point (``numeric`` lists the
      dimensions and points), though SymPy does not reduce the difference to 0;
    * ``"equal up to layout"``: the claim is the transpose of the gradient (``layout``
      is ``"numerator"``: a row where symnorm's gradient, in denominator layout, has the
      shape of the variable), or of the Jacobian (``layout`` is ``"denominator"``: a column
      for each output where symnorm's Jacobian, in numerator layout, has a row for each);
    * ``"equal almost everywhere"``: equal except on a null set (``where`` says which);
    * ``"wrong"``: ``counterexample`` gives a point where they differ (unless the shapes
      differ: ``shape_mismatch`` says how);
    * ``"could not decide"``: neither a proof nor a counterexample (``reason`` says why).

    ``kind`` is what was claimed: ``"gradient"``, ``"hessian"`` or ``"jacobian"``
    (``"step"`` for one step of a chain). ``ok`` is true for the first four. ``symbolic``
    and ``numeric`` are the evidence. For
    a derivation of several lines, ``lines`` holds one verdict a line and ``first_wrong``
    the index of the first one that does not hold (None when all do). ``summary()``
    is one line, ``str`` the full report; ``latex()`` and the Jupyter display show the
    claim beside the derived result.

    Made by :func:`symnorm.verify` (and, for each claim of a ``.tex`` file, by
    :func:`symnorm.verify_document`); not built by hand.

    Parameters
    ----------
    status : str
        One of the statuses above.
    hand : sympy.Basic
        The claim as read (None for a derivation of several lines).
    reference : sympy.Basic
        The derived result it was compared with.
    f : sympy.Expr
        The function differentiated.
    wrt : sympy.Basic
        The variable (or the component) the derivative is taken with respect to.
    kind : str, optional
        ``"gradient"`` (default), ``"hessian"``, or ``"step"`` (a line judged against
        the line before it).
    symbolic : str, optional
        The symbolic evidence, in words.
    difference : sympy.Basic, optional
        The claim minus the derived result, as simplified.
    numeric : list of dict, optional
        The numeric evidence: per set of dimensions, ``dims``, ``points`` and
        ``max_abs_error``.
    counterexample : Counterexample, optional
        A point where the two sides differ (a wrong claim).
    where : str, optional
        The null set where an almost-everywhere equality fails.
    shape_mismatch : str, optional
        How the shapes differ, for a claim of the wrong shape.
    layout : str, optional
        ``"numerator"`` for a claim that is the transposed gradient.
    reason : str, optional
        Why no decision could be made.
    lines : list of Verdict, optional
        One verdict per line of a derivation.
    first_wrong : int, optional
        The index in ``lines`` of the first line that does not hold.
    line : int, optional
        This verdict's index among the lines of its derivation.
    source : str, optional
        The claim's text as written.
    convention : str, optional
        For a declared symmetric or diagonal variable: the space its gradient lives in.
    convention_note : str, optional
        How a wrong claim stands to that convention (the Matrix Cookbook's form, say).

    Examples
    --------
    >>> import symnorm as sn
    >>> v = sn.verify(r"\nabla_x \|x\|_2 = \frac{x}{\|x\|_2}")
    >>> v  # doctest: +NORMALIZE_WHITESPACE
    <Verdict proved: the claim is the gradient of norm(x, 2) with respect to x
    (the difference simplifies to 0)>
    >>> v.ok, v.status, v.symbolic
    (True, 'proved', 'the claim is the derived result, term for term')
    >>> w = sn.verify(r"\nabla_x \|x\|_2 = \frac{2x}{\|x\|_2}")
    >>> print(w)  # doctest: +ELLIPSIS
    wrong: the claim is not the gradient of norm(x, 2) with respect to x
      claim:   2*x/norm(x, 2)
      derived: x/norm(x, 2)
      symbolic: SymPy does not reduce the difference x/norm(x, 2) to 0
      numeric: 1 random point (n = 2)
      counterexample at n = 2, x = (0.13, -0.13): the claim is (1.41421, -1.41421), ...
    >>> d = sn.verify(r"\nabla_x \|x\|_2^2 &= 2\|x\|_2 \frac{x}{\|x\|_2} \\ &= x")
    >>> [line.status for line in d.lines], d.first_wrong
    (['proved', 'wrong'], 1)
    >>> d.summary()
    'wrong: line 2 (x) is not the gradient of norm(x, 2)**2 with respect to x'
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
    convention: str | None = None   # the space a structured wrt's gradient lives in
    convention_note: str | None = None  # how a wrong claim stands to that convention

    @property
    def ok(self) -> bool:
        """True when the claim holds (proved, equal at random points, equal up to layout,
        or equal almost everywhere)."""
        return self.status in HOLDS

    def __repr__(self) -> str:
        return f"<Verdict {self._headline().text()}>"

    def _what(self) -> str:
        if self.kind == "step":
            return f"equal to the line before, {_where_text(self.reference)}"
        op = {"hessian": "Hessian", "jacobian": "Jacobian"}.get(self.kind, "gradient")
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
        if self.status == LAYOUT and self.layout == "denominator":
            return (f"equal up to layout: the claim is {what} in denominator layout (its "
                    "transpose, a column for each output; symnorm's Jacobian, in numerator "
                    "layout, has a row for each output)")
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
        """A plain-text report: claim, derived result, evidence, counterexample (components
        1-based, ``x_1``, as written by hand)."""
        out = [self._headline().text()]
        if self.lines is not None:
            for k, v in enumerate(self.lines):
                out.append(f"  line {k + 1}: {_claim_text(v)}  -> {v.status}")
            target = self.lines[self.first_wrong] if self.first_wrong is not None else None
            if target is not None and target.counterexample is not None:
                out.append(f"  counterexample for line {self.first_wrong + 1}: "
                           f"{target.counterexample.text()}")
            elif target is not None and target.shape_mismatch:
                out.append(f"  {target.shape_mismatch}")
            out.append(f"  derived: {_where_text(self.reference)}")
            return "\n".join(out)
        if self.hand is not None:
            out.append(f"  claim:   {_where_text(self.hand)}")
        out.append(f"  derived: {_where_text(self.reference)}")
        if self.shape_mismatch:  # which shapes: the headline only says that they differ
            out.append(f"  {self.shape_mismatch}")
        if self.symbolic:
            out.append(f"  symbolic: {self.symbolic}")
        if self.reason and self.status != UNDECIDED:
            out.append(f"  note: {self.reason}")
        if self.numeric:
            out.append(f"  numeric: {self._numeric_text()}")
        if self.counterexample is not None:
            out.append(f"  counterexample {self.counterexample.text()}")
        if self.convention_note:
            out.append(f"  {self.convention_note}")
        if self.convention:
            out.append(f"  convention: {self.convention}")
        return "\n".join(out)

    def _numeric_text(self) -> str:
        return self.sampled()

    def __str__(self) -> str:
        return self.text()

    # -- LaTeX: Jupyter and documents --------------------------------------------------
    def _lhs(self) -> Math:
        if self.kind == "step":  # one step of a chain: the line before = the claim
            return Math(to_latex(self.reference), _where_text(self.reference))
        symbol = {"hessian": "hessian", "jacobian": "jacobian"}.get(self.kind, "grad")
        if isinstance(self.wrt, MatrixElement):
            symbol = "partial"
        d = Differential(self.f, self.wrt, symbol)
        return Math(d.latex(), d.text())

    def _title_(self) -> Note:
        what = "Hessian" if self.kind == "hessian" else "Jacobian" if \
            self.kind == "jacobian" else "partial derivative" if \
            isinstance(self.wrt, MatrixElement) else "gradient"
        return note(f"A hand derivation of the {what} of ", Math(to_latex(self.f),
                    to_text(self.f)), " with respect to ", Math(to_latex(self.wrt),
                                                                 _wrt_text(self.wrt)))

    def _headline(self) -> Note:
        """The verdict as a sentence, its status in bold and its formulas typeset (the
        user's own LaTeX stays in the table and the message below it)."""
        text = self.summary()
        if self.lines is not None and self.first_wrong is not None:
            bad = self.lines[self.first_wrong]
            text = (f"{self.status}: line {self.first_wrong + 1} is "
                    f"{'not' if bad.status == WRONG else 'perhaps not'} {self._what()}")
        elif self.shape_mismatch:
            text = f"{self.status}: a shape mismatch"
        status, sep, rest = text.partition(": ")
        if not sep:
            return Note.of(text)
        return note(Note(rf"$\textbf{{{_safe_word(status)}}}$", status), ": ", Note.of(rest))

    def _blocks_(self) -> list[Block]:
        """The verdict, the claim beside the derived result (line by line for a derivation
        of several lines), the evidence, and a counterexample as a table."""
        lhs = self._lhs()
        derived = Row(lhs, Math(to_latex(self.reference), _where_text(self.reference)))
        out: list[Block] = [Paragraph(self._headline())]
        if self.lines is not None:
            rows = [[Note(str(k + 1)), _claim_math(v), Note.of(v.status)]
                    for k, v in enumerate(self.lines)]
            rows.append([Note("derived"), derived.rhs, Note("by symnorm")])
            out.append(Table(["line", "claim", "verdict"], rows, align="rll"))
            target = self.lines[self.first_wrong] if self.first_wrong is not None else None
        else:
            if self.kind == "step":
                out.append(Equations([Row(lhs, _claim_math(self),
                                          Note.of(f"the claim: {self.status}"))]))
            elif self.hand is not None:
                out.append(SideBySide((Note("claim"), Note("derived by symnorm")),
                                      Row(lhs, _claim_math(self)), derived))
            else:
                out.append(Equations([Row(derived.lhs, derived.rhs,
                                          Note("derived by symnorm"))]))
            target = self
            evidence = []
            if self.symbolic:
                evidence.append(note("symbolically: ", Note.of(self.symbolic)))
            if self.numeric:
                evidence.append(note("numerically: ", Note.of(self._numeric_text())))
            if self.reason and self.status != UNDECIDED:
                evidence.append(note("note: ", Note.of(self.reason)))
            out += [Paragraph(e, small=True) for e in evidence]
        if target is not None and target.shape_mismatch:
            lead = f"line {target.line + 1}: " if target is not self else ""
            out.append(Paragraph(note(lead, quoted_source(target.shape_mismatch))))
        if target is not None and target.counterexample is not None:
            out.append(_counterexample_table(target.counterexample,
                                             None if target is self else self.first_wrong))
        if target is not None and target.convention_note:
            out.append(Paragraph(Note.of(target.convention_note)))
        if self.convention:
            out.append(Paragraph(note("convention: ", Note.of(self.convention))))
        return out

    def latex(self) -> str:
        r"""Display LaTeX: the verdict, the claim beside the derived result, the evidence
        and the counterexample (compiles under pdflatex, renders in MathJax)."""
        return render_mathjax(self._blocks_())

    def _repr_latex_(self) -> str:
        return "$$" + self.latex() + "$$"

    def _document_section_(self, caption: str | None = None) -> list[str]:
        """This verdict as a section of :func:`symnorm.latex_document`."""
        return Shown._document_section_(self, caption)  # type: ignore[arg-type]

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
            "convention": self.convention, "convention_note": self.convention_note,
            "counterexample": None if self.counterexample is None
            else self.counterexample.to_dict(),
        }
        if self.lines is not None:
            out["claim"] = [v.source or to_text(v.hand) for v in self.lines]
            out["first_wrong"] = self.first_wrong
            out["lines"] = [v.to_dict() for v in self.lines]
        return out


def _claim_text(v: "Verdict") -> str:
    return _where_text(v.hand) if v.hand is not None else (v.source or "(not read)")


def _claim_math(v: "Verdict") -> Any:
    if v.hand is None:  # not read (its shapes differ): as written
        return source_math(v.source or "")
    return Math(to_latex(v.hand), _where_text(v.hand))


def _safe_word(word: str) -> str:
    return re.sub(r"[^A-Za-z0-9 ,.()=-]", "", word)


def _value_math(v: Any) -> Math:
    a = np.asarray(v, dtype=float)
    if a.ndim == 0 or a.size == 1:
        return Math(_num(float(a.reshape(-1)[0])), _fmt(a))
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim == 1:
        return Math("(" + ", ".join(_num(x) for x in a) + ")", _fmt(a))
    rows = r" \\ ".join(" & ".join(_num(x) for x in row) for row in a)
    return Math(r"\left(\begin{smallmatrix} " + rows + r" \end{smallmatrix}\right)", _fmt(a))


def _num(x: float) -> str:
    text = f"{x:.6g}"
    if "e" in text:
        mant, exp = text.split("e")
        return rf"{mant} \times 10^{{{int(exp)}}}"
    return text


def _counterexample_table(ce: Counterexample, line: int | None) -> Table:
    rows: list[list[Any]] = [[Math(to_latex(sp.Symbol(name)), name), Math(str(k), str(k))]
                             for name, k in ce.index.items()]
    for name, value in ce.values.items():
        rows.append([Math(to_latex(sp.Symbol(name)), name), _value_math(value)])
    rows.append([Note("the claim"), _value_math(ce.hand)])
    rows.append([Note("the derived result"), _value_math(ce.reference)])
    dims = ", ".join(f"{k} = {v}" for k, v in ce.dims.items())
    where = f" of line {line + 1}" if line is not None else ""
    caption = f"a counterexample{where}" + (f", in dimensions {dims}" if dims else "")
    return Table(["", "value"], rows, align="ll", caption=Note.of(caption))


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
