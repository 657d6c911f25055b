"""What a check reports: per point and direction, the two numbers compared, the error, the
tolerance and the verdict; as text, a dict and HTML."""


from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..presentation.blocks import Block, Paragraph, Shown, Table, number
from ..presentation.prose import Note, formula, note

TOLERANCES: dict[type, tuple[float, float]] = {
    np.float64: (1e-6, 1e-12),
    np.float32: (3e-2, 1e-6),
}

METHOD = ("central differences along random unit directions, one Richardson "
          "extrapolation step, step h = eps^(1/3) * max(1, |x|_inf); random points cover "
          "the sign patterns of the pieces; the value kernel against an independent "
          "evaluation of f")


@dataclass
class DirectionResult:
    direction: np.ndarray
    finite_difference: Any
    claimed: Any
    error: float
    tolerance: float
    test: str = "directional derivative"
    left_label: str = "finite difference"
    right_label: str = "claimed"

    @property
    def ok(self) -> bool:
        return bool(np.isfinite(self.error) and self.error <= self.tolerance)


@dataclass
class PointResult:
    """The check at one point: the argument values and the result per direction."""

    values: dict[str, Any]
    directions: list[DirectionResult] = field(default_factory=list)
    problem: str = ""
    # "differentiable"; "kink": checked as a subgradient; "value": the value kernel is
    # wrong here (against an independent evaluation); "nan": the claimed derivative is
    # NaN where the function is finite; "outside": f is undefined here though float64
    # gives a number (log 0), a point outside the domain
    mode: str = "differentiable"

    @property
    def ok(self) -> bool:
        return not self.problem and all(d.ok for d in self.directions)

    @property
    def max_error(self) -> float:
        return max((d.error for d in self.directions), default=float("nan"))


@dataclass(repr=False)
class CheckReport(Shown):
    """Result of :func:`check`: ``ok``, errors per point, the method used.

    It reads as a small table, one row a point (``str``, Jupyter, documents); ``summary()``
    is the plain-text report with the failing point's numbers. ``ok`` (also its truth
    value) is true when every point passes; ``errors`` is the largest error at each
    point, ``worst`` the first failing point (or the one with the largest error);
    ``to_dict()`` is a JSON-ready summary.

    Made by :func:`symnorm.check` and by the check every result runs (``report`` of a
    :class:`~symnorm.Derivation`); not built by hand.

    Parameters
    ----------
    expression : str
        The function checked, in the expression language.
    claimed : str
        The claimed derivative (an expression's text, or an array's).
    wrt : str
        The variable.
    method : str
        The method used, in words (central differences along random unit directions,
        the subgradient checks at a kink, ...).
    dtype : str
        ``"float64"`` or ``"float32"``.
    rtol, atol : float
        The relative and absolute tolerances of that dtype.
    points : list of PointResult
        The check at each point: ``values`` (the arguments by name), ``directions``
        (each with the two numbers compared, the error and the tolerance), ``problem``
        (why it failed, in words), ``mode`` (``"differentiable"``, ``"kink"``,
        ``"value"``, ``"nan"`` or ``"outside"``), ``ok`` and ``max_error``.

    Examples
    --------
    >>> import symnorm as sn
    >>> x = sn.vector("x")
    >>> r = sn.check(sn.norm(x, 1), x, at=[3.0, -4.0])
    >>> r.ok, bool(r), r.claimed, r.dtype, r.rtol
    (True, True, 'sign(x)', 'float64', 1e-06)
    >>> r.points[0].mode, r.points[0].values
    ('differentiable', {'x': array([ 3., -4.])})
    >>> bad = sn.check(sn.norm(x, 2)**2, x, grad=x, at=[3.0, 4.0])
    >>> print(bad)  # doctest: +ELLIPSIS
    FAIL: derivative x of norm(x, 2)**2 with respect to x
      1 point(s), float64, rtol=1e-06, atol=1e-12; method: central differences ...
      point 0: FAILED, max error ...
        x = [3. 4.]
        directional derivative fails along d = [...]: finite difference ..., claimed ...
    """

    expression: str
    claimed: str
    wrt: str
    method: str
    dtype: str
    rtol: float
    atol: float
    points: list[PointResult]

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.points)

    def __bool__(self) -> bool:
        return self.ok

    @property
    def errors(self) -> list[float]:
        """Largest error at each point."""
        return [p.max_error for p in self.points]

    @property
    def worst(self) -> PointResult:
        failing = [p for p in self.points if not p.ok]
        if failing:
            return failing[0]
        return max(self.points, key=lambda p: p.max_error)

    def summary(self) -> str:
        verdict = "PASS" if self.ok else "FAIL"
        lines = [f"{verdict}: derivative {self.claimed} of {self.expression} "
                 f"with respect to {self.wrt}",
                 f"  {len(self.points)} point(s), {self.dtype}, rtol={self.rtol:g}, "
                 f"atol={self.atol:g}; method: {self.method}"]
        for i, p in enumerate(self.points):
            state = "ok" if p.ok else "FAILED"
            detail = p.problem or f"max error {p.max_error:.3g}"
            if p.mode == "kink":
                detail += " (a kink: checked as a subgradient)"
            lines.append(f"  point {i}: {state}, {detail}")
            if not p.ok:
                for name, v in p.values.items():
                    lines.append(f"    {name} = {np.array2string(np.asarray(v), precision=6)}")
                bad = [d for d in p.directions if not d.ok][:1]
                for d in bad:
                    lines.append(f"    {d.test} fails along d = "
                                 f"{np.array2string(d.direction, precision=4)}: "
                                 f"{d.left_label} {format_value(d.finite_difference)}, "
                                 f"{d.right_label} "
                                 f"{format_value(d.claimed)}, error {d.error:.3g} > "
                                 f"tolerance {d.tolerance:.3g}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        worst = self.worst
        return (f"<CheckReport {'PASS' if self.ok else 'FAIL'}: {self.claimed} = "
                f"grad_{self.wrt}({self.expression}) at {len(self.points)} point(s), max "
                f"error {worst.max_error:.2g}>")

    # -- display ---------------------------------------------------------------------
    def _tolerance(self, p: PointResult) -> float:
        worst = max(p.directions, key=lambda d: d.error / d.tolerance if d.tolerance else 0,
                    default=None)
        return float("nan") if worst is None else worst.tolerance

    def _what(self) -> Note:
        return note("the derivative ", formula(self.claimed), " of ", formula(self.expression),
                    " with respect to ", formula(self.wrt))

    def _title_(self) -> Note:
        return note("Numerical check of ", self._what())

    def _verdict(self, ok: bool) -> Note:
        return Note("pass") if ok else Note(r"$\textbf{FAIL}$", "FAIL")

    def _compact_blocks_(self) -> list[Block]:
        """One row: the number of points, the largest error, its tolerance, the verdict."""
        worst = self.worst
        return [Table(["points", "max error", "tolerance", "verdict"],
                      [[Note(str(len(self.points))), number(worst.max_error),
                        number(self._tolerance(worst)), self._verdict(self.ok)]],
                      align="rrrl", in_text=False,
                      caption=Note(f"checked against finite differences at random points "
                                   f"({self.dtype})"))]

    def _blocks_(self) -> list[Block]:
        verdict = "passes" if self.ok else "fails"
        out: list[Block] = [Paragraph(note(self._what(), f" {verdict} the check.")),
                            Paragraph(Note.of(f"Method: {self.method}; {self.dtype}, "
                                              f"rtol = {self.rtol:g}, atol = {self.atol:g}"),
                                      small=True)]
        rows = []
        for i, p in enumerate(self.points):
            mode = "kink (subgradient)" if p.mode == "kink" else ""
            rows.append([Note(str(i + 1)), number(p.max_error), number(self._tolerance(p)),
                         self._verdict(p.ok), Note.of(p.problem or mode)])
        out.append(Table(["point", "max error", "tolerance", "verdict", "note"], rows,
                         align="rrrll", wrap=4))
        bad = next((p for p in self.points if not p.ok), None)
        if bad is not None and bad.values:
            where = ", ".join(f"{k} = {format_value(v)}" for k, v in bad.values.items())
            out.append(Paragraph(Note.of(f"first failing point: {where}")))
        return out

    def _repr_html_(self) -> str:
        title = html.escape(rf"\({formula(self.claimed).latex} = \nabla_{{"
                            rf"{formula(self.wrt).latex}}} {formula(self.expression).latex}\)")
        note_ = f"{self.method}; {self.dtype}, rtol={self.rtol:g}, atol={self.atol:g}"
        return verdict_html(self.ok, title, note_, "max error",
                            [(p.ok, p.problem or f"{p.max_error:.3g}") for p in self.points],
                            [f"{self._tolerance(p):.3g}" for p in self.points])

    def to_dict(self) -> dict:
        return {"ok": self.ok, "method": self.method, "dtype": self.dtype,
                "rtol": self.rtol, "atol": self.atol, "errors": self.errors,
                "points": [{"ok": p.ok, "max_error": p.max_error, "problem": p.problem}
                           for p in self.points]}


def verdict_html(ok: bool, title_html: str, note: str, measure: str,
                 rows: list[tuple[bool, str]], tolerances: list[str] | None = None) -> str:
    """A PASS/FAIL heading and a small table, one row per point (shared by the check
    reports): the point, the measured error (and its tolerance), the verdict."""
    colour = "#1a7f37" if ok else "#cf222e"
    tol_head = "<th>tolerance</th>" if tolerances else ""
    body = "".join(
        f"<tr><td>{i + 1}</td><td>{html.escape(detail)}</td>"
        + (f"<td>{html.escape(tolerances[i])}</td>" if tolerances else "")
        + f"<td style='color:{'#1a7f37' if good else '#cf222e'}'>"
        f"{'ok' if good else 'FAILED'}</td></tr>" for i, (good, detail) in enumerate(rows))
    return (f"<div><b style='color:{colour}'>{'PASS' if ok else 'FAIL'}</b> {title_html}"
            f"<br><small>{html.escape(note)}</small><table><tr><th>point</th>"
            f"<th>{html.escape(measure)}</th>{tol_head}<th>verdict</th></tr>{body}</table></div>")


def format_value(v: Any) -> str:
    a = np.asarray(v)
    return f"{float(a):.6g}" if a.ndim == 0 else np.array2string(a, precision=6)
