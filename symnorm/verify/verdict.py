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

__all__ = ["ALMOST", "EQUAL", "WRONG", "Counterexample", "Verdict"]

EQUAL = "equal"
ALMOST = "equal almost everywhere"
WRONG = "wrong"
_RANK = {EQUAL: 0, ALMOST: 1, WRONG: 2}


@dataclass
class Counterexample:
    """A point where the claim and the derived result differ: every symbol's value,
    the dimensions used, and both sides' numbers."""

    values: dict[str, Any]
    dims: dict[str, int]
    hand: Any
    reference: Any

    def text(self) -> str:
        dims = ", ".join(f"{k} = {v}" for k, v in self.dims.items())
        vals = "; ".join(f"{k} = {_fmt(v)}" for k, v in self.values.items())
        return (f"at {vals}" + (f" (dimensions {dims})" if dims else "")
                + f": the claim is {_fmt(self.hand)}, the derived result is "
                f"{_fmt(self.reference)}")

    def to_dict(self) -> dict:
        return {"values": {k: _jsonable(v) for k, v in self.values.items()},
                "dims": dict(self.dims), "hand": _jsonable(self.hand),
                "reference": _jsonable(self.reference)}


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return [_jsonable(x) for x in v.tolist()] if v.ndim else _jsonable(float(v))
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    if isinstance(v, float) and not np.isfinite(v):
        return str(v)
    return v


def _fmt(v: Any) -> str:
    a = np.asarray(v, dtype=float)
    if a.ndim == 0:
        return f"{float(a):.6g}"
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim == 1:
        return "(" + ", ".join(f"{x:.6g}" for x in a) + ")"
    return "[" + "; ".join(", ".join(f"{x:.6g}" for x in row) for row in a) + "]"


@dataclass
class Verdict:
    """The verdict on a claimed derivative.

    ``status`` is ``"equal"``, ``"equal almost everywhere"`` (``where`` says on which
    null set the two differ) or ``"wrong"``; ``ok`` is true unless wrong. ``symbolic``
    and ``numeric`` are the evidence; ``counterexample`` is set when wrong (unless the
    shapes differ, then ``shape_mismatch`` says how). For a derivation of several lines,
    ``lines`` holds one verdict a line and ``first_wrong`` the index of the first wrong
    one (None when all are right).
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
    lines: list["Verdict"] | None = None
    first_wrong: int | None = None
    line: int | None = None
    source: str | None = None
    convention: str | None = None   # the space a structured wrt's gradient lives in
    convention_note: str | None = None  # how a wrong claim stands to that convention

    @property
    def ok(self) -> bool:
        return self.status != WRONG

    def __repr__(self) -> str:
        return f"<Verdict {self._headline().text()}>"

    def _what(self) -> str:
        op = "Hessian" if self.kind == "hessian" else "gradient"
        if isinstance(self.wrt, MatrixElement):
            op = "partial derivative"
        return f"the {op} of {to_text(self.f)} with respect to {_wrt_text(self.wrt)}"

    def summary(self) -> str:
        """One line: the status and the reason."""
        if self.lines is not None:
            if self.first_wrong is None:
                return f"{self.status}: every line is {self.status} to {self._what()}"
            bad = self.lines[self.first_wrong]
            return (f"wrong: line {self.first_wrong + 1} ({bad.source or to_text(bad.hand)}) "
                    f"is not {self._what()}")
        if self.status == EQUAL:
            return f"equal: the claim is {self._what()}"
        if self.status == ALMOST:
            return (f"equal almost everywhere: the claim is {self._what()} except where "
                    f"{self.where}")
        if self.shape_mismatch:
            return f"wrong: {self.shape_mismatch}"
        return f"wrong: the claim is not {self._what()}"

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
        if self.symbolic:
            out.append(f"  symbolic: {self.symbolic}")
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
        n = sum(r["points"] for r in self.numeric)
        sizes = sorted({tuple(sorted(r["dims"].items())) for r in self.numeric})
        dims = "; ".join(", ".join(f"{k} = {v}" for k, v in s) for s in sizes) or "scalars"
        return f"{n} random point{'' if n == 1 else 's'} ({dims})"

    def __str__(self) -> str:
        return self.text()

    # -- LaTeX: Jupyter and documents --------------------------------------------------
    def _lhs(self) -> Math:
        symbol = "hessian" if self.kind == "hessian" else "grad"
        if isinstance(self.wrt, MatrixElement):
            symbol = "partial"
        d = Differential(self.f, self.wrt, symbol)
        return Math(d.latex(), d.text())

    def _title_(self) -> Note:
        what = "Hessian" if self.kind == "hessian" else \
            "partial derivative" if isinstance(self.wrt, MatrixElement) else "gradient"
        return note(f"A hand derivation of the {what} of ", Math(to_latex(self.f),
                    to_text(self.f)), " with respect to ", Math(to_latex(self.wrt),
                                                                 _wrt_text(self.wrt)))

    def _headline(self) -> Note:
        """The verdict as a sentence, its status in bold and its formulas typeset (the
        user's own LaTeX stays in the table and the message below it)."""
        text = self.summary()
        if self.lines is not None and self.first_wrong is not None:
            text = f"{self.status}: line {self.first_wrong + 1} is not {self._what()}"
        elif self.shape_mismatch:
            text = f"{self.status}: the shapes of the claim do not fit together"
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
            if self.hand is not None:
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
            "kind": self.kind, "f": to_text(self.f), "wrt": _wrt_text(self.wrt),
            "claim": None if self.hand is None else to_text(self.hand),
            "derived": to_text(self.reference), "symbolic": self.symbolic,
            "numeric": self.numeric, "where": self.where,
            "shape_mismatch": self.shape_mismatch,
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
    rows: list[list[Any]] = []
    for name, value in ce.values.items():
        rows.append([Math(to_latex(sp.Symbol(name)), name), _value_math(value)])
    rows.append([Note("the claim"), _value_math(ce.hand)])
    rows.append([Note("the derived result"), _value_math(ce.reference)])
    dims = ", ".join(f"{k} = {v}" for k, v in ce.dims.items())
    where = f" of line {line + 1}" if line is not None else ""
    caption = f"a counterexample{where}" + (f", in dimensions {dims}" if dims else "")
    return Table(["", "value"], rows, align="ll", caption=Note.of(caption))


def _where_text(e: Any) -> str:
    """Expression-language text, with components written x_1 (1-based) as in LaTeX."""
    text = to_text(e)
    return re.sub(r"(\w+)\[(\d+), 0\]", lambda m: f"{m.group(1)}_{int(m.group(2)) + 1}", text)


def _wrt_text(wrt: Any) -> str:
    if isinstance(wrt, MatrixElement):
        return f"{wrt.parent.name}_{int(wrt.i) + 1}"
    return to_text(wrt)
