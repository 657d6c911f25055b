"""What the axiom check reports: per axiom, whether it holds, how that was decided
(symbolically or by a numeric search) and a counterexample when it fails."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...presentation.blocks import Block, Paragraph, Shown, Table
from ...presentation.prose import Note, formula, note

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



def _num(v: Any, digits: int = 6) -> str:
    v = float(v)
    if math.isfinite(v) and v == round(v) and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.{digits}g}"


def _vec(a: Any) -> str:
    return "[" + ", ".join(_num(v, 4) for v in np.ravel(a)) + "]"


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


@dataclass(repr=False)
class AxiomReport(Shown):
    """Result of :func:`axioms`: the classification and the verdict on each axiom.

    It reads as a small table, one row an axiom (``str`` gives :meth:`summary`).
    ``failing`` lists the axioms that fail, ``is_norm`` says whether all hold; each
    axiom's result says how it was decided (``"symbolic"`` or ``"numeric search"``),
    why, and gives a counterexample (re-checked exactly) when it fails.

    Made by :func:`symnorm.axioms`; not built by hand.

    Parameters
    ----------
    classification : str
        ``"norm"``, ``"seminorm"``, ``"quasi-norm"`` or ``"not a norm"``.
    axioms : dict of str to AxiomResult
        The verdict on ``"positive definiteness"``, ``"absolute homogeneity"`` and
        ``"triangle inequality"``: ``holds``, ``method``, ``reason``,
        ``counterexample`` (a dict of arrays, or None), ``trials``.
    conditions : list of str, optional
        What the verdict assumes of symbolic parameters (``W has full column rank``).
    expression : str, optional
        ``f`` in the expression language.
    wrt : str, optional
        The variable's name.
    notes : list of str, optional
        Further notes (the size used by a numeric search, a quasi-norm's constant).

    Examples
    --------
    >>> import symnorm as sn
    >>> x = sn.vector("x")
    >>> r = sn.axioms(sn.norm(x, 2)**2, x)
    >>> r
    <AxiomReport norm(x, 2)**2: not a norm (fails: absolute homogeneity, triangle inequality)>
    >>> r.is_norm, r.failing
    (False, ['absolute homogeneity', 'triangle inequality'])
    >>> h = r.axioms["absolute homogeneity"]
    >>> h.holds, h.method, h.reason
    (False, 'numeric search', 'fails at x = [1, 0, 0], c = 2: f(c x) = 4 != |c| f(x) = 2')
    >>> print(sn.axioms(sn.norm(x, 1) + sn.norm(x, 2), x))  # doctest: +ELLIPSIS
    norm(x, 1) + norm(x, 2) (as a function of x): norm
      positive definiteness: holds [symbolic]: every term is a positive multiple of a norm, ...
      absolute homogeneity: holds [symbolic]: ...
      triangle inequality: holds [symbolic]: Minkowski's inequality for each term ...
    """

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

    def __repr__(self) -> str:
        fails = f" (fails: {', '.join(self.failing)})" if self.failing else ""
        return f"<AxiomReport {self.expression}: {self.classification}{fails}>"

    # -- display ---------------------------------------------------------------------
    def _title_(self) -> Note:
        return note("The norm axioms for ", formula(self.expression), " as a function of ",
                    formula(self.wrt))

    def _headline(self) -> Note:
        head = note(formula(self.expression), " is ",
                    Note(rf"$\textbf{{{_article(self.classification)}}}$",
                         _article(self.classification)))
        if self.failing:
            head = head + Note(f": it fails the {' and the '.join(self.failing)}")
        return head

    def _blocks_(self) -> list[Block]:
        rows = [[Note(name), Note(r.status), Note(r.method), Note.of(r.reason)]
                for name, r in self.axioms.items()]
        out: list[Block] = [Paragraph(self._headline()),
                            Table(["axiom", "verdict", "method", "why"], rows, wrap=3)]
        out += [Paragraph(note("condition: ", Note.of(c)), small=True) for c in self.conditions]
        out += [Paragraph(Note.of(n), small=True) for n in self.notes]
        return out

    def _repr_html_(self) -> str:
        colour = {"norm": "#1a7f37", "seminorm": "#9a6700",
                  "quasi-norm": "#9a6700"}.get(self.classification, "#cf222e")
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td>{html.escape(r.status)}</td>"
            f"<td>{html.escape(r.method)}</td><td>{Note.of(r.reason).html()}</td></tr>"
            for name, r in self.axioms.items())
        extra = "".join(f"<br><small>{Note.of(t).html()}</small>" for t in
                        [f"conditions: {c}" for c in self.conditions] + self.notes)
        return (f"<div><b style='color:{colour}'>{html.escape(self.classification)}</b>: "
                f"{formula(self.expression).latex and _inline(self.expression)} as a "
                f"function of {_inline(self.wrt)}{extra}"
                f"<table><tr><th>axiom</th><th>verdict</th><th>method</th><th>reason</th>"
                f"</tr>{rows}</table></div>")

    def to_dict(self) -> dict:
        return {"classification": self.classification, "is_norm": self.is_norm,
                "expression": self.expression, "wrt": self.wrt,
                "conditions": list(self.conditions), "notes": list(self.notes),
                "axioms": {name: r.to_dict() for name, r in self.axioms.items()}}


def _article(classification: str) -> str:
    return classification if classification.startswith("not") else \
        f"a {classification}"


def _inline(text: str) -> str:
    """A formula given as text, for HTML: typeset by MathJax (``\\(...\\)``)."""
    return rf"\({html.escape(formula(text).latex)}\)"


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _jsonable(w) for k, w in v.items()}
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v


# -- formatting ----------------------------------------------------------------------
