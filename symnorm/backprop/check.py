"""The default check of a backprop derivation: every gradient against central differences.

The loss is computed from the nested loss expression alone (no deltas, no named
intermediates), the gradients by the fused kernel; at random points, for one random
direction ``D`` per parameter, the directional derivative ``<∂L/∂P, D>`` must match
``(L(P + hD) − L(P − hD)) / 2h``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixSymbol

from ..model.errors import CheckFailedError
from ..model.text import to_text
from ..presentation.blocks import Block, Table, number
from ..presentation.latex import latex
from ..presentation.prose import Math, Note
from .kernel import build_loss_function

if TYPE_CHECKING:
    from .result import Backprop


@dataclass(repr=False)
class BackpropReport:
    """Result of :func:`check_backprop`: ``ok``, the worst relative error per parameter
    (and for the loss value), and the point where a check failed."""

    ok: bool
    points: int
    errors: dict[str, float]
    rtol: float
    method: str
    failure: str | None = None
    point: dict = field(default_factory=dict, repr=False)

    def summary(self) -> str:
        worst = ", ".join(f"{k} {v:.1e}" for k, v in self.errors.items())
        if self.ok:
            return (f"check: OK at {self.points} random points ({self.method}); "
                    f"largest relative errors: {worst}")
        return f"check: FAILED: {self.failure}"

    def to_dict(self) -> dict:
        return {"ok": self.ok, "points": self.points, "errors": dict(self.errors),
                "rtol": self.rtol, "method": self.method, "failure": self.failure}

    def __repr__(self) -> str:
        return f"<BackpropReport {self.summary()}>"

    def __str__(self) -> str:
        return self.summary()

    def _compact_blocks_(self) -> list[Block]:
        """A small table: the largest relative error of each gradient (and of the loss)."""
        verdict = Note("pass") if self.ok else Note(r"$\textbf{FAIL}$", "FAIL")
        rows = [[Math(_name_latex(k), k), number(v), number(self.rtol), verdict]
                for k, v in self.errors.items()]
        caption = (f"checked against central differences of the loss at {self.points} "
                   f"random points")
        if not self.ok and self.failure:
            caption += f": {self.failure}"
        return [Table(["", "relative error", "tolerance", "verdict"], rows, align="lrrl",
                      caption=Note.of(caption))]

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.ok else "#cf222e"
        rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{v:.2g}</td></tr>"
                       for k, v in self.errors.items())
        head = "PASS" if self.ok else "FAIL"
        return (f"<div><b style='color:{colour}'>{head}</b> backprop check at {self.points} "
                f"random points<br><small>{html.escape(self.method)}; rtol={self.rtol:g}"
                f"</small><table><tr><th></th><th>relative error</th></tr>{rows}</table>"
                + (f"<p>{html.escape(self.failure)}</p>" if self.failure else "") + "</div>")


def _name_latex(name: str) -> str:
    """``W1`` -> ``W_{1}``, ``beta1`` -> ``\\beta_{1}``, ``loss`` -> ``L``: as the
    derivation prints the parameter."""
    if name == "loss":
        return "L"
    return latex(sp.Symbol(name))


def _sizes(bp: "Backprop") -> dict:
    """Integer sizes for symbolic dimensions (a loss over symbolic n is checked at n = 3..)."""
    dims: dict = {}
    for s in bp.loss.free_symbols | set(bp.params):
        for d in getattr(s, "shape", ()):
            if not isinstance(d, (int, sp.Integer)) and d not in dims:
                dims[d] = 3 + len(dims)
    return dims


def _shape(shape: tuple, dims: dict) -> tuple:
    """One sample's array shape from a kernel argument shape (batch axis dropped)."""
    return tuple(int(d) if isinstance(d, (int, sp.Integer)) else dims[d]
                 for d in shape if d is not None)


def check_backprop(bp: "Backprop", points: int = 3, seed: int = 0, rtol: float = 1e-5,
                   step: float = 1e-6) -> BackpropReport:
    """Compare every gradient of ``bp`` with central differences of its loss.

    >>> import symnorm as sn
    >>> bp = sn.backprop(sn.mlp([2, 2, 1], "tanh"), check=False)
    >>> check_backprop(bp).ok
    True
    """
    k = bp.kernel(reduce="mean")
    names = k.arg_names
    dims = _sizes(bp)
    symbols = {s.name: s for s in bp.loss.free_symbols | set(bp.params)
               if isinstance(s, (sp.Symbol, MatrixSymbol)) and s.name in names}
    loss_k = build_loss_function(bp)
    rng = np.random.default_rng(seed)
    errors = {p.name: 0.0 for p in bp.params}
    errors["loss"] = 0.0
    method = f"central differences, h = {step:g}, one random direction per parameter"
    for point in range(points):
        values: dict[str, Any] = {}
        for n in names:
            s = symbols[n]
            shape = _shape(k.shapes[n], dims)
            if isinstance(s, sp.Symbol):
                values[n] = float(rng.uniform(0.5, 1.5))
            else:
                fan_in = shape[-1] if len(shape) == 2 else 1
                values[n] = rng.standard_normal(shape) / np.sqrt(fan_in)
        got = k(**values)

        def loss(vals: dict) -> float:
            return float(loss_k(**vals)[0])

        base = loss(values)
        scale = max(1.0, abs(base))
        err = abs(float(got["loss"]) - base) / scale
        errors["loss"] = max(errors["loss"], err)
        if not err <= rtol:
            return _failed(errors, points, rtol, method, values,
                           f"the kernel's loss {float(got['loss'])!r} differs from the loss "
                           f"expression's value {base!r} at point {point}")
        for p in bp.params:
            d = rng.standard_normal(values[p.name].shape)
            d /= np.linalg.norm(d)
            plus, minus = dict(values), dict(values)
            plus[p.name] = values[p.name] + step * d
            minus[p.name] = values[p.name] - step * d
            fd = (loss(plus) - loss(minus)) / (2 * step)
            an = float(np.sum(np.asarray(got[p.name]) * d))
            err = abs(fd - an) / max(scale, abs(fd), abs(an))
            errors[p.name] = max(errors[p.name], err)
            if not err <= rtol:
                return _failed(errors, points, rtol, method, values,
                               f"the gradient with respect to {p.name} disagrees with central "
                               f"differences of the loss: <dL/d{p.name}, D> = {an!r} but the "
                               f"difference quotient is {fd!r} (relative error {err:.2e}) at "
                               f"point {point}")
    return BackpropReport(True, points, errors, rtol, method)


def _failed(errors: dict, points: int, rtol: float, method: str, values: dict,
            why: str) -> BackpropReport:
    shown = {k: np.asarray(v).tolist() for k, v in values.items()}
    return BackpropReport(False, points, errors, rtol, method, f"{why}; point: {shown}",
                          values)


def ensure(bp: "Backprop", **options: Any) -> "BackpropReport":
    """Run the check, keep it on ``bp.report``, raise ``CheckFailedError`` if it fails."""
    report = check_backprop(bp, **options)
    bp.report = report
    if not report.ok:
        raise CheckFailedError(f"backprop of {to_text(bp.loss)}: {report.failure}", report)
    return report
