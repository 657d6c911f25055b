"""The record of a derivation: result, ordered steps, assumptions and kinks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from ..check import check_derivation
from ..kernels.arguments import free_arguments
from ..kernels.kernel import kernel, kernel_for_derivation
from ..model.text import to_text
from ..presentation.blocks import Block, Equations, Paragraph, Row, Shown, render_mathjax
from ..presentation.document import latex_document
from ..presentation.latex import latex as to_latex
from ..presentation.prose import Math, Note, math, note
from ..rules import Kink
from .explicit import explicit

if TYPE_CHECKING:
    from ..check import CheckReport
    from ..kernels.kernel import Kernel


@dataclass(frozen=True)
class Differential:
    """An unevaluated derivative ``∇_wrt expr`` (or ``∂/∂wrt expr``) used in steps."""

    expr: Any
    wrt: Any
    symbol: str = "grad"    # "grad", "hessian", "partial", "jacobian"

    def latex(self) -> str:
        inner = to_latex(self.expr)
        if isinstance(self.expr, (sp.Add, sp.Mul)) or (
                isinstance(self.expr, MatrixExpr) and len(self.expr.args) > 1):
            inner = rf"\left({inner}\right)"
        wrt = to_latex(self.wrt)
        if self.symbol == "hessian":
            return rf"\nabla^2_{{{wrt}}} {inner}"
        if self.symbol in ("partial", "jacobian"):  # a Jacobian is written dF/dx
            return rf"\frac{{\partial}}{{\partial {wrt}}} {inner}"
        return rf"\nabla_{{{wrt}}} {inner}"

    def text(self) -> str:
        name = {"grad": "grad", "hessian": "hessian", "partial": "d/d",
                "jacobian": "jacobian"}.get(self.symbol, self.symbol)
        wrt = to_text(self.wrt)
        if not wrt.isidentifier():
            wrt = f"({wrt})"
        return f"{name}_{wrt}({to_text(self.expr)})"


@dataclass(frozen=True)
class Step:
    r"""One step: ``before = after`` by ``rule``.

    ``before`` and ``after`` are SymPy expressions or :class:`Differential`s; ``rule``
    names the registered rule or the calculus rule applied, ``note`` explains it.
    The steps of a derivation (``Derivation.steps``, ``Prox.steps``, ...) are in the
    order a person would write them; each shows itself as one line of text
    (:meth:`text`) or one ``&=`` row of an ``aligned`` block (:meth:`latex`).

    Parameters
    ----------
    rule : str
        The rule applied: a registered rule's name (``"L1"``, ``"L2"``) or a calculus
        rule (``"chain rule"``, ``"definition"``, ``"result"``).
    before : sympy.Basic or Differential
        The left side.
    after : sympy.Basic or Differential
        The right side, equal to ``before`` by ``rule``.
    note : str, optional
        Why, in words (formulas between ``$...$``); shown beside the step.

    Examples
    --------
    >>> import symnorm as sn
    >>> x = sn.vector("x")
    >>> step = sn.grad(sn.norm(x, 1), x).steps[0]
    >>> step.rule, step.after
    ('L1', sign(x))
    >>> step.note
    'gradient of the L1 norm (sum of absolute values)'
    >>> print(step.text())
    grad_x(norm(x, 1)) = sign(x)
    >>> print(step.latex())
    \nabla_{x} \left\lVert x \right\rVert_{1} &= \operatorname{sign}(x)
    >>> sn.Step("definition", sn.norm(x, 2)**2, sn.ScalarOf(x.T*x)).text()
    'norm(x, 2)**2 = x.T*x'
    """

    rule: str
    before: Any
    after: Any
    note: str = ""

    def latex(self) -> str:
        return f"{_latex(self.before)} &= {_latex(self.after)}"

    def text(self) -> str:
        return f"{_text(self.before)} = {_text(self.after)}"


def step_rows(steps: list[Step]) -> list[Row]:
    """The display rows of ``steps``: ``before = after``, the note (or the rule) beside,
    none for a step that only restates the result."""
    return [Row(math(s.before), math(s.after),
                Note() if (s.note or s.rule) == "result" else Note.of(s.note or s.rule))
            for s in steps]


def steps_latex(steps: list[Step], notes: list[str] | None = None) -> str:
    """Display LaTeX of ``steps`` (``before = after``, numbered notes written under).

    >>> import symnorm as sn
    >>> x = sn.vector("x")
    >>> print(steps_latex([Step("L1", sn.norm(x, 1), sn.norm(x, 1), "definition")]))
    \\begin{gathered}
    \\begin{aligned}
    \\left\\lVert x \\right\\rVert_{1} &= \\left\\lVert x \\right\\rVert_{1} && \\text{(1)}
    \\end{aligned} \\\\[6pt]
    \\begin{array}{l}
    \\text{(1) }\\text{definition}
    \\end{array}
    \\end{gathered}
    """
    blocks: list[Block] = [Equations(step_rows(steps))]
    blocks += [Paragraph(Note.of(n)) for n in notes or []]
    return render_mathjax(blocks)


def _latex(obj: Any) -> str:
    return obj.latex() if hasattr(obj, "latex") else to_latex(obj)


def _text(obj: Any) -> str:
    return obj.text() if hasattr(obj, "text") else to_text(obj)


@dataclass(repr=False)
class Derivation(Shown):
    """A derived gradient (or Hessian) with everything needed to trust and use it.

    ``result`` has the shape of ``wrt`` (a Hessian is ``n x n``); ``steps`` are in the
    order a person would write them; ``kinks`` name where the result does not hold and
    what kernels return there; ``report`` is the finite-difference check run when the
    derivation was made (``None`` if checking was switched off).

    Made by :func:`~symnorm.grad` and :func:`~symnorm.hessian` (and, as
    :class:`~symnorm.JacobianDerivation`, by :func:`~symnorm.jacobian`). ``repr`` is
    the result as one line of the expression language; ``text()``, ``latex()`` and the
    Jupyter display show every step with its note, then the assumptions, the kinks,
    the warnings and the check; :meth:`kernel` compiles the result, :meth:`check`
    checks it again (at other points), :meth:`to_latex_document` writes a standalone
    ``.tex``.

    Parameters
    ----------
    f : sympy.Expr
        The function differentiated.
    wrt : sympy.Symbol or sympy.MatrixSymbol
        The variable.
    result : sympy.Basic
        The derivative in closed form.
    steps : list of Step, optional
        The derivation, one :class:`~symnorm.Step` a line.
    assumptions : list of sympy.Basic, optional
        Conditions the result was derived under (``p >= 1`` for a symbolic order).
    kinks : list, optional
        Where the result does not hold (``x = 0`` for ``‖x‖₂``), each with what kernels
        return there (the minimum-norm subgradient).
    kind : str, optional
        ``"gradient"`` (default), ``"hessian"`` or ``"jacobian"``.
    warnings : list of str, optional
        Notes a reader must see (``norm(x, 1/2) is not a norm: ...``).
    fusions : dict, optional
        Fused derivative nodes for the kernel generator (internal).
    report : CheckReport, optional
        The check run when the derivation was made.
    gradient : Derivation, optional
        For a Hessian, the gradient it was derived from.
    convention : str, optional
        For a declared symmetric or diagonal ``wrt``: the space the gradient lives in,
        in words.

    Examples
    --------
    >>> import numpy as np, symnorm as sn
    >>> x = sn.vector("x")
    >>> d = sn.grad(sn.norm(x, 1), x)
    >>> d
    grad_x(norm(x, 1)) = sign(x)
    >>> print(d.text())  # doctest: +NORMALIZE_WHITESPACE
    grad_x(norm(x, 1)) = sign(x)    [gradient of the L1 norm (sum of absolute values)]
    not valid where an entry of x is 0; kernels return sign with 0 in those entries,
    the minimum-norm subgradient
    >>> d.kind, d.report.ok
    ('gradient', True)
    >>> d.kernel()(np.array([-2.0, 0.0, 3.0]))
    array([-1.,  0.,  1.])
    >>> d.to_dict()["kinks"][0]["where"]
    'an entry of x is 0'
    >>> sn.grad(sn.norm(x, sn.scalar("p")), x).assumptions
    [p >= 1]
    >>> sn.grad(sn.norm(x, 0.5), x).warnings
    ['norm(x, 1/2) is not a norm: it breaks the triangle inequality (a quasi-norm for 0 < p < 1)']
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
    # the space the gradient lives in, for a declared symmetric or diagonal wrt
    convention: str | None = None

    # -- display -------------------------------------------------------------------
    def _symbol(self) -> str:
        return {"gradient": "grad", "hessian": "hessian"}.get(self.kind, self.kind)

    def _title_(self) -> Note:
        """``Gradient of ‖Ax − b‖₂ with respect to x`` (``Hessian``, ``Jacobian``, ...)."""
        return note(f"{self.kind[:1].upper()}{self.kind[1:]} of ", math(self.f),
                    " with respect to ", math(self.wrt))

    def _blocks_(self) -> list[Block]:
        """The steps (a rule's name or note beside each), the result, then assumptions,
        kinks, warnings as sentences, and the numerical check as a small table."""
        rows = step_rows(self.steps)
        if not self._ends_with_result():
            rows.append(Row(math(Differential(self.f, self.wrt, self._symbol())),
                            math(self.result)))
        out: list[Block] = [Equations(rows)]
        out += [Paragraph(note("assuming ", math(a))) for a in self.assumptions]
        out += [Paragraph(self._kink_note(k)) for k in self.kinks]
        out += [Paragraph(note("note: ", Note.of(w))) for w in self.warnings]
        if self.convention:
            out.append(Paragraph(note("convention: ", Note.of(self.convention))))
        if self.report is not None:
            compact = getattr(self.report, "_compact_blocks_", None)
            out += compact() if callable(compact) else \
                [Paragraph(Note.of(self.report.summary().splitlines()[0]))]
        return out

    def latex(self) -> str:
        """LaTeX source: an ``aligned`` block, one step a line, numbered at the right where
        a note says why; the notes, assumptions, kinks and the check are written out under
        the block, so nothing runs off the page (it compiles under pdflatex with amsmath and
        renders in MathJax)."""
        return Shown.latex(self)

    def to_latex_document(self, title: str | None = None, *, path: Any = None,
                          pdf: bool = False) -> str:
        """A standalone ``.tex`` document of this derivation and its check (see
        :func:`symnorm.latex_document`); written to ``path``, compiled with ``pdf=True``.

        >>> import symnorm as sn
        >>> x = sn.vector("x")
        >>> tex = sn.grad(sn.norm(x, 1), x).to_latex_document(title="The L1 norm")
        >>> "title{The L1 norm}" in tex and "begin{align*}" in tex
        True
        """

        return latex_document([self], title=title, path=path, pdf=pdf)

    def _ends_with_result(self) -> bool:
        """Does the last step already state ``∇f = result``?"""
        return bool(self.steps) and self.steps[-1].after == self.result and \
            self.steps[-1].before == Differential(self.f, self.wrt, self._symbol())

    def _kink_note(self, k: Kink) -> Note:
        where = Math(k.where_latex(to_latex), k.where)
        if self.kind == "hessian" or (self.kind == "jacobian" and self.gradient is None):
            return note("not valid where ", where, f": no {self.kind.capitalize()} there; "
                        "kernels set its singular terms to ", Math("0", "0"))
        return note("not valid where ", where, "; kernels return ",
                    Note(k.returns_latex, k.returns) if k.returns_latex else Note.of(k.returns))

    def _kink_text(self, k: Kink) -> str:
        return self._kink_note(k).text()

    def text(self) -> str:
        """Plain-text derivation, one step a line, its note in brackets; then the
        assumptions, kinks, warnings and the check."""
        return Shown.text(self)

    def __repr__(self) -> str:
        """The result as a textbook line: ``grad_x norm(x, 2) = x/norm(x, 2)``."""
        return f"{Differential(self.f, self.wrt, self._symbol()).text()} = " \
            f"{to_text(self.result)}"

    # -- use -----------------------------------------------------------------------
    def kernel(self, args: list | None = None, *, backend: str | None = None) -> "Kernel":
        """A numpy kernel for ``result`` (see :func:`symnorm.kernels.kernel`).

        Call it by name, or positionally in one documented order: ``wrt`` first, then
        the other symbols sorted by name (``args`` overrides it). ``repr(k)`` and
        ``inspect.signature(k)`` show the order; an unknown or missing name is an error
        that lists the valid ones. It also computes on JAX, PyTorch, CuPy and Dask
        arrays; ``backend=`` fixes one library (see :mod:`symnorm.kernels.backends`).

        >>> import numpy as np, symnorm as sn
        >>> A, x, b = sn.matrix("A"), sn.vector("x"), sn.vector("b", "m")
        >>> k = sn.grad(sn.norm(A * x - b, 2) ** 2, x).kernel()
        >>> k
        <symnorm kernel k(x, A, b, *, out=None) -> 2*A.T*(A*x - b)>
        >>> k(b=np.array([1.0, 1.0]), A=np.eye(2), x=np.array([2.0, 3.0]))
        array([2., 4.])
        """

        return kernel_for_derivation(self, args, backend=backend)

    def value_kernel(self, args: list | None = None, *,
                     backend: str | None = None) -> "Kernel":
        """A numpy kernel for ``f`` itself, with the same arguments as :meth:`kernel`."""

        return kernel(self.f, args or self.arguments(), backend=backend)

    def arguments(self) -> list:
        """Kernel arguments: ``wrt`` first, then the other free symbols by name."""

        return free_arguments(self.f, first=self.wrt)

    def check(self, **options: Any) -> "CheckReport":
        """Compare ``result`` with finite differences (see :func:`symnorm.check.gradient`)."""

        return check_derivation(self, **options)

    def components(self) -> sp.Matrix:
        """The result with explicit components (``wrt`` must have an integer size)."""

        return explicit(self.result)

    def to_dict(self) -> dict:
        """A JSON-ready summary."""
        return {
            "kind": self.kind,
            "f": to_text(self.f),
            "wrt": to_text(self.wrt),
            "result": to_text(self.result),
            "latex": to_latex(self.result),
            "steps": [{"rule": s.rule, "note": Note.of(s.note).text(), "before": _text(s.before),
                       "after": _text(s.after)} for s in self.steps],
            "assumptions": [to_text(a) for a in self.assumptions],
            "kinks": [{"where": k.where, "kernel_returns": k.returns} for k in self.kinks],
            "warnings": list(self.warnings),
            "convention": self.convention,
            "check": None if self.report is None else self.report.to_dict(),
        }

