"""The record of a derivation: result, ordered steps, assumptions and kinks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from .printing import latex as to_latex
from .printing import latex_text, to_text
from .rules import Kink

if TYPE_CHECKING:
    from .check import CheckReport
    from .kernel import Kernel


@dataclass(frozen=True)
class Differential:
    """An unevaluated derivative ``∇_wrt expr`` (or ``∂/∂wrt expr``) used in steps."""

    expr: Any
    wrt: Any
    symbol: str = "grad"    # "grad", "hessian", "partial"

    def latex(self) -> str:
        inner = to_latex(self.expr)
        if isinstance(self.expr, (sp.Add, sp.Mul)) or (
                isinstance(self.expr, MatrixExpr) and len(self.expr.args) > 1):
            inner = rf"\left({inner}\right)"
        wrt = to_latex(self.wrt)
        if self.symbol == "hessian":
            return rf"\nabla^2_{{{wrt}}} {inner}"
        if self.symbol == "partial":
            return rf"\frac{{\partial}}{{\partial {wrt}}} {inner}"
        return rf"\nabla_{{{wrt}}} {inner}"

    def text(self) -> str:
        name = {"grad": "grad", "hessian": "hessian", "partial": "d/d"}[self.symbol]
        wrt = to_text(self.wrt)
        if not wrt.isidentifier():
            wrt = f"({wrt})"
        return f"{name}_{wrt}({to_text(self.expr)})"


@dataclass(frozen=True)
class Step:
    """One step: ``before = after`` by ``rule``.

    ``before`` and ``after`` are SymPy expressions or :class:`Differential`s; ``rule``
    names the registered rule or the calculus rule applied, ``note`` explains it.
    """

    rule: str
    before: Any
    after: Any
    note: str = ""

    def latex(self) -> str:
        return f"{_latex(self.before)} &= {_latex(self.after)}"

    def text(self) -> str:
        return f"{_text(self.before)} = {_text(self.after)}"


def _latex(obj: Any) -> str:
    return obj.latex() if hasattr(obj, "latex") else to_latex(obj)


def _text(obj: Any) -> str:
    return obj.text() if hasattr(obj, "text") else to_text(obj)


@dataclass
class Derivation:
    """A derived gradient (or Hessian) with everything needed to trust and use it.

    ``result`` has the shape of ``wrt`` (a Hessian is ``n x n``); ``steps`` are in the
    order a person would write them; ``kinks`` name where the result does not hold and
    what kernels return there; ``report`` is the finite-difference check run when the
    derivation was made (``None`` if checking was switched off).
    """

    f: Any
    wrt: Any
    result: Any
    steps: list[Step] = field(default_factory=list)
    assumptions: list[sp.Basic] = field(default_factory=list)
    kinks: list[Kink] = field(default_factory=list)
    kind: str = "gradient"
    warnings: list[str] = field(default_factory=list)   # e.g. "... is not a norm: ..."
    fusions: dict = field(default_factory=dict, repr=False)
    report: "CheckReport | None" = field(default=None, repr=False)
    gradient: "Derivation | None" = field(default=None, repr=False)  # for a Hessian

    # -- display -------------------------------------------------------------------
    def latex(self) -> str:
        """LaTeX source: an ``aligned`` block, one step a line, rule names at the right."""
        lines = []
        for step in self.steps:
            note = step.note or step.rule
            lines.append(rf"{step.latex()} && \text{{{latex_text(note)}}}")
        symbol = "hessian" if self.kind == "hessian" else "grad"
        if not self._ends_with_result():
            lines.append(rf"{Differential(self.f, self.wrt, symbol).latex()} &= "
                         rf"{to_latex(self.result)} && \text{{result}}")
        body = r" \\" + "\n"
        out = r"\begin{aligned}" + "\n" + body.join(lines) + "\n" + r"\end{aligned}"
        if self.assumptions or self.kinks:
            extra = [to_latex(a) for a in self.assumptions]
            extra += [rf"\text{{not at }} {k.where_latex}" for k in self.kinks]
            out += r"\quad \left(" + r",\ ".join(extra) + r"\right)"
        return out

    def _ends_with_result(self) -> bool:
        """Does the last step already state ``∇f = result``?"""
        symbol = "hessian" if self.kind == "hessian" else "grad"
        return bool(self.steps) and self.steps[-1].after == self.result and \
            self.steps[-1].before == Differential(self.f, self.wrt, symbol)

    def _kink_text(self, k: Kink) -> str:
        if self.kind == "hessian":
            return f"not valid where {k.where}: no Hessian there; kernels set its singular " \
                   "terms to 0"
        return f"not valid where {k.where}; kernels return {k.returns}"

    def _repr_latex_(self) -> str:
        return "$$" + self.latex() + "$$"

    def text(self) -> str:
        """Plain-text derivation, one step a line."""
        lines = [f"{s.text()}    [{s.note or s.rule}]" for s in self.steps]
        symbol = "hessian" if self.kind == "hessian" else "grad"
        if not self._ends_with_result():
            lines.append(f"{Differential(self.f, self.wrt, symbol).text()} = "
                         f"{to_text(self.result)}    [result]")
        for a in self.assumptions:
            lines.append(f"assuming {to_text(a)}")
        for k in self.kinks:
            lines.append(self._kink_text(k))
        for w in self.warnings:
            lines.append(f"note: {w}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        """The result as a textbook line: ``grad_x norm(x, 2) = x/norm(x, 2)``."""
        symbol = "hessian" if self.kind == "hessian" else "grad"
        return f"{Differential(self.f, self.wrt, symbol).text()} = {to_text(self.result)}"

    # -- use -----------------------------------------------------------------------
    def kernel(self, args: list | None = None, *, backend: str | None = None) -> "Kernel":
        """A numpy kernel for ``result``; arguments default to ``wrt`` then the rest.

        It also computes on JAX, PyTorch, CuPy and Dask arrays; ``backend=`` fixes one
        library (see :mod:`symnorm.backends`).
        """
        from .kernel import kernel_for_derivation

        return kernel_for_derivation(self, args, backend=backend)

    def value_kernel(self, args: list | None = None, *,
                     backend: str | None = None) -> "Kernel":
        """A numpy kernel for ``f`` itself, with the same arguments as :meth:`kernel`."""
        from .kernel import kernel

        return kernel(self.f, args or self.arguments(), backend=backend)

    def arguments(self) -> list:
        """Kernel arguments: ``wrt`` first, then the other free symbols by name."""
        from .kernel import free_arguments

        return free_arguments(self.f, first=self.wrt)

    def check(self, **options: Any) -> "CheckReport":
        """Compare ``result`` with finite differences (see :func:`symnorm.check`)."""
        from .check import check_derivation

        return check_derivation(self, **options)

    def components(self) -> sp.Matrix:
        """The result with explicit components (``wrt`` must have an integer size)."""
        from .explicit import explicit

        return explicit(self.result)

    def to_dict(self) -> dict:
        """A JSON-ready summary."""
        return {
            "kind": self.kind,
            "f": to_text(self.f),
            "wrt": to_text(self.wrt),
            "result": to_text(self.result),
            "latex": to_latex(self.result),
            "steps": [{"rule": s.rule, "note": s.note, "before": _text(s.before),
                       "after": _text(s.after)} for s in self.steps],
            "assumptions": [to_text(a) for a in self.assumptions],
            "kinks": [{"where": k.where, "kernel_returns": k.returns} for k in self.kinks],
            "warnings": list(self.warnings),
            "check": None if self.report is None else self.report.to_dict(),
        }

