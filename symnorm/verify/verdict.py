"""The verdict on a hand derivation: its status, evidence and counterexample, shown as
text, LaTeX, HTML and JSON (:func:`symnorm.verify` makes it)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sympy.matrices.expressions.matexpr import MatrixElement

from ..calculus.derivation import Differential
from ..model.text import to_text
from ..presentation.document import display, escape_text, heading, verbatim
from ..presentation.latex import latex as to_latex
from ..presentation.layout import aligned_rows

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
        return f"<Verdict {self.summary()}>"

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
        if self.numeric:
            n = sum(r["points"] for r in self.numeric)
            sizes = sorted({tuple(sorted(r["dims"].items())) for r in self.numeric})
            dims = "; ".join(", ".join(f"{k}={v}" for k, v in s) for s in sizes) or "scalars"
            out.append(f"  numeric: {n} random points ({dims})")
        if self.counterexample is not None:
            out.append(f"  counterexample {self.counterexample.text()}")
        if self.convention_note:
            out.append(f"  {self.convention_note}")
        if self.convention:
            out.append(f"  convention: {self.convention}")
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
        if target.convention_note:
            notes.append(target.convention_note)
        if self.convention:
            notes.append(f"convention: {self.convention}")
        return aligned_rows(rows, notes)

    def _repr_latex_(self) -> str:
        return "$$" + self.latex() + "$$"

    def _repr_html_(self) -> str:
        colour = {"equal": "#1a7f37", "equal almost everywhere": "#9a6700",
                  "wrong": "#cf222e"}[self.status]
        lines = self.text().splitlines()
        rest = "".join(f"<li>{html.escape(line.strip())}</li>" for line in lines[1:])
        return (f'<div class="symnorm-verdict"><b style="color:{colour}">'
                f"{html.escape(lines[0])}</b><ul>{rest}</ul></div>")

    def to_dict(self) -> dict:
        """A JSON-ready summary."""
        out: dict[str, Any] = {
            "ok": self.ok, "status": self.status, "summary": self.summary(),
            "kind": self.kind, "f": to_text(self.f), "wrt": _wrt_text(self.wrt),
            "claim": None if self.hand is None else to_text(self.hand),
            "derived": to_text(self.reference), "symbolic": self.symbolic,
            "numeric": self.numeric, "where": self.where,
            "shape_mismatch": self.shape_mismatch,
            "counterexample": None if self.counterexample is None
            else self.counterexample.to_dict(),
            "convention": self.convention, "convention_note": self.convention_note,
        }
        if self.lines is not None:
            out["claim"] = [v.source or to_text(v.hand) for v in self.lines]
            out["first_wrong"] = self.first_wrong
            out["lines"] = [v.to_dict() for v in self.lines]
        return out


def _tex(e: Any) -> str:
    return r"\text{(not parsed)}" if e is None else to_latex(e)


def _where_text(e: Any) -> str:
    """Expression-language text, with components written x_1 (1-based) as in LaTeX."""
    text = to_text(e)
    return re.sub(r"(\w+)\[(\d+), 0\]", lambda m: f"{m.group(1)}_{int(m.group(2)) + 1}", text)


def _wrt_text(wrt: Any) -> str:
    if isinstance(wrt, MatrixElement):
        return f"{wrt.parent.name}_{int(wrt.i) + 1}"
    return to_text(wrt)
