"""What a check reports: per point and direction, the two numbers compared, the error, the
tolerance and the verdict; as text, a dict and HTML."""


from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np

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


@dataclass
class CheckReport:
    """Result of :func:`check`: ``ok``, errors per point, the method used."""

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

    def _repr_html_(self) -> str:
        title = (f"{html.escape(self.claimed)} = &nabla;<sub>{html.escape(self.wrt)}</sub> "
                 f"{html.escape(self.expression)}")
        note = f"{self.method}; {self.dtype}, rtol={self.rtol:g}, atol={self.atol:g}"
        return verdict_html(self.ok, title, note, "max error",
                            [(p.ok, p.problem or f"{p.max_error:.3g}") for p in self.points])

    def to_dict(self) -> dict:
        return {"ok": self.ok, "method": self.method, "dtype": self.dtype,
                "rtol": self.rtol, "atol": self.atol, "errors": self.errors,
                "points": [{"ok": p.ok, "max_error": p.max_error, "problem": p.problem}
                           for p in self.points]}


def verdict_html(ok: bool, title_html: str, note: str, measure: str,
                 rows: list[tuple[bool, str]]) -> str:
    """A PASS/FAIL heading and one table row per point (shared by the check reports)."""
    colour = "#1a7f37" if ok else "#cf222e"
    body = "".join(f"<tr><td>{i}</td><td>{'ok' if good else 'FAILED'}</td>"
                   f"<td>{html.escape(detail)}</td></tr>" for i, (good, detail) in enumerate(rows))
    return (f"<div><b style='color:{colour}'>{'PASS' if ok else 'FAIL'}</b> {title_html}"
            f"<br><small>{html.escape(note)}</small><table><tr><th>point</th>"
            f"<th>verdict</th><th>{html.escape(measure)}</th></tr>{body}</table></div>")


def format_value(v: Any) -> str:
    a = np.asarray(v)
    return f"{float(a):.6g}" if a.ndim == 0 else np.array2string(a, precision=6)
