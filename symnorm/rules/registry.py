"""String- and predicate-keyed rule registries.

A rule holds everything symnorm knows about one norm or elementwise map. The engine,
the printers and the kernel generator look rules up here and never import a particular
norm, so adding a norm is adding one rule (and the registry-parametrised tests then
cover it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from string import Template
from typing import Any, Generic, TypeVar

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from ..model.atoms import order
from ..model.errors import UnknownNormError, UnsupportedExpressionError
from ..model.text import to_text


@dataclass(frozen=True)
class Kink:
    """A set of points where a derivative does not exist, and what kernels return there.

    The condition is written twice, as text and as LaTeX, with ``${u}`` (``${v}``, ...)
    standing for the expressions in ``subjects``; the text is filled in with the
    expression language, the LaTeX by whichever LaTeX printer shows it
    (:meth:`where_latex`), so a rule needs no printer.

    >>> import symnorm as sn
    >>> k = kink("${u} = 0", "${u} = 0", "0", u=sn.vector("x") - sn.vector("a"))
    >>> k.where
    'x - a = 0'
    >>> k.where_latex(lambda e: "LATEX")
    'LATEX = 0'
    """

    text: str           # the condition in words, e.g. "${u} = 0"
    latex: str          # the same condition in LaTeX, e.g. r"\\lVert ${u} \\rVert = 0"
    returns: str        # the element a kernel returns there, e.g. "0 (minimum-norm subgradient)"
    at_zero: bool = False  # the kink is where the norm itself is 0 (u = 0)
    subjects: tuple[tuple[str, Any], ...] = ()
    returns_latex: str = ""  # ``returns`` with its formulas in $...$ (for documents)

    @property
    def where(self) -> str:
        """The condition as plain text."""
        return Template(self.text).safe_substitute(
            {name: to_text(e) for name, e in self.subjects})

    def where_latex(self, latex: Callable[[Any], str]) -> str:
        """The condition as LaTeX, the subjects printed by ``latex`` (a one-letter subject
        loses the brackets a template puts around it: ``x_i``, not ``(x)_i``)."""
        out = Template(self.latex).safe_substitute(
            {name: latex(e) for name, e in self.subjects})
        return re.sub(r"\\left\(([A-Za-z])\\right\)", r"\1", out)

    def replaced(self, old: Any, new: Any) -> "Kink":
        """The same kink with ``old`` replaced by ``new`` in its subjects."""
        subjects = tuple((name, e.xreplace({old: new})) for name, e in self.subjects)
        return replace(self, subjects=subjects)


def kink(text: str, latex: str, returns: str, *, at_zero: bool = False,
         returns_latex: str = "", **subjects: Any) -> Kink:
    """A :class:`Kink` whose condition mentions ``subjects`` as ``${name}``;
    ``returns_latex`` is ``returns`` with its formulas typeset between ``$...$``."""
    return Kink(text, latex, returns, at_zero, tuple(subjects.items()), returns_latex)


@dataclass(frozen=True)
class IndexForm:
    """``‖u‖ = psi(sum_j phi(u_j))`` and ``S = inverse(‖u‖)``, for index-notation steps."""

    phi: Callable[[sp.Expr, sp.Basic], sp.Expr]
    psi: Callable[[sp.Expr, sp.Basic], sp.Expr]
    inverse: Callable[[sp.Expr, sp.Basic], sp.Expr]


@dataclass(frozen=True)
class SubdiffRule:
    """The subdifferential of a norm at a point ``u``: closed forms and exact numerics.

    Numeric functions take 1-D float arrays (``u`` the point, ``g``/``d``/``s`` vectors
    of the same length) and the numeric order ``p`` (or a norm's parameter array).
    """

    latex: Callable[[str, sp.Basic], str]                 # set-builder form at u
    contains: Callable[..., bool]                         # contains(g, u, p, tol)
    project: Callable[..., Any]                           # project(s, u, p): onto the set
    support: Callable[..., float]                         # support(d, u, p) = max <g, d>
    support_point: Callable[..., Any]                     # an argmax g of <g, d>
    support_latex: Callable[[str, str, sp.Basic], str]    # closed form of f'(u; d)


@dataclass(frozen=True)
class NormRule:
    """Everything about one vector norm (or norm family, e.g. ``p`` rational)."""

    key: str                                                 # registry key: "L1", "L2", ...
    title: str                                               # "Euclidean norm"
    matches: Callable[[sp.Basic], bool]                      # does this rule cover order p?
    gradient: Callable[[MatrixExpr, sp.Basic], MatrixExpr]   # ∇_u ‖u‖_p, closed vector form
    kinks: Callable[[MatrixExpr, sp.Basic], list[Kink]]      # where the gradient fails
    numpy_value: str                                         # helper in symnorm.numeric: f(u, p)
    numpy_gradient: str | None = None                        # fused helper f(u, p, out=None)
    index_form: IndexForm | None = None
    assumptions: Callable[[sp.Basic, sp.Basic], list[sp.Basic]] = lambda p, p_min: []
    is_norm: Callable[[sp.Basic], bool] = lambda p: True
    broken_axiom: Callable[[sp.Basic], str | None] = lambda p: None
    description: str = ""
    sample_orders: tuple = ()                                # orders the registry tests use
    subdiff: SubdiffRule | None = None                       # None: not convex
    dual_order: Callable[[sp.Basic], sp.Basic] | None = None  # q with ||.||_p^* = ||.||_q
    # prox(v, lam, p) -> closed form of argmin_x lam*||x||_p + ||x - v||^2/2, or None
    prox: Callable[[MatrixExpr, sp.Expr, sp.Basic], MatrixExpr] | None = None
    extras: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ElementwiseRule:
    """An elementwise map ``f`` applied to a vector: its derivative, kernel and kinks."""

    key: str                                                 # "sign", "abs", "sigmoid"
    derivative: Callable[[MatrixExpr], MatrixExpr | None]    # f'(u) entrywise; None = 0 a.e.
    numpy: str                                               # expression template, "{u}" for u
    latex: str                                               # template, "{u}" for LaTeX of u
    kinks: Callable[[MatrixExpr], list[Kink]] = lambda u: []


R = TypeVar("R")


class Registry(Generic[R]):
    """An ordered registry whose lookup errors list the valid options."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._rules: dict[str, R] = {}

    def register(self, rule: R) -> R:
        key = rule.key  # type: ignore[attr-defined]
        if key in self._rules:
            raise ValueError(f"{self.what} rule {key!r} is already registered")
        self._rules[key] = rule
        return rule

    def __getitem__(self, key: str) -> R:
        try:
            return self._rules[key]
        except KeyError:
            raise UnsupportedExpressionError(
                f"no {self.what} rule named {key!r}; known: {', '.join(self._rules)}"
            ) from None

    def __iter__(self) -> Iterator[R]:
        return iter(self._rules.values())

    def __len__(self) -> int:
        return len(self._rules)

    def keys(self) -> list[str]:
        return list(self._rules)


@dataclass(frozen=True)
class FunctionRule:
    """Everything about a function of a whole vector or matrix (``softmax``, ``det``, ...).

    ``node`` is its node type. A scalar function states its ``gradient`` with respect to
    its argument; a vector- or matrix-valued one states ``vjp(e, g)`` (``J^T g`` for a
    cotangent ``g`` of ``e``'s shape) and ``jvp(e, t)`` (``J t`` for a tangent ``t`` of the
    argument: a vector, or ``I`` for the Jacobian itself), in closed form. The kernel
    computes the value with the helper ``numpy_value(u, *params)`` of
    :mod:`symnorm.numeric`, and a derivative with a fused helper where one is named
    (``numpy_gradient(u, *params)``, ``numpy_vjp(u, *params, g)``), which the engine
    records as a :class:`Fusion`. ``domain`` says where it is defined; ``kinks`` where
    it is not differentiable.
    """

    key: str                                              # "softmax": the node's name
    title: str                                            # "softmax"
    node: type                                            # the node class it covers
    numpy_value: str                                      # helper: value(u, *params)
    latex: Callable[[Any, Any], str]                      # latex(printer, e)
    gradient: Callable[[Any], Any] | None = None          # scalar f: ∇_u f(u)
    vjp: Callable[[Any, Any], Any] | None = None          # array f: J^T g
    jvp: Callable[[Any, Any], Any] | None = None          # array f: J t (t = I: J)
    numpy_gradient: str | None = None                     # fused ∇f(u, *params)
    numpy_vjp: str | None = None                          # fused J^T g: f(u, *params, g)
    symmetric: bool = False                               # J = J^T (the VJP helper gives J g)
    numpy_value_vjp: str | None = None                    # (f(u), J^T g) in one pass
    kinks: Callable[[Any], list[Kink]] = lambda e: []
    operands: Callable[[Any], tuple] = lambda e: tuple(e.args)  # what value() is called with
    kernel_args: Callable[[Any], tuple[str, ...]] = lambda e: ()  # literals after the args
    domain: str = ""                                      # where it is defined, in words
    definition: Callable[[Any], Any] | None = None        # f written with other functions
    description: str = ""
    extras: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Fusion:
    """A derivative computed by one fused helper of :mod:`symnorm.numeric`: the kernel
    generators emit ``_nm.<helper>(args...)`` for the expression it is recorded for
    (``Recorder.fusions``), instead of the expression's own operations."""

    helper: str
    args: tuple

    def kernel_code(self, parts: list[str]) -> str:
        return f"_nm.{self.helper}({', '.join(parts)})"


NORMS: Registry[NormRule] = Registry("norm")
ELEMENTWISE: Registry[ElementwiseRule] = Registry("elementwise")
FUNCTIONS: Registry[FunctionRule] = Registry("function")


def function_rule(e: Any) -> FunctionRule | None:
    """The rule of the function node ``e`` (``softmax(x)``, ``inv(M)``), or None.

    >>> import symnorm as sn
    >>> function_rule(sn.softmax(sn.vector("x"))).key
    'softmax'
    >>> function_rule(sn.vector("x")) is None
    True
    """
    for rule in FUNCTIONS:
        if type(e) is rule.node:
            return rule
    return None


def numeric_order(p: sp.Basic, values: dict) -> Any:
    """The number (or parameter array) a norm order stands for, given argument values
    by name: ``oo`` -> inf, a symbolic order evaluated, an order object with its own
    ``numeric`` (group labels) asked.

    >>> import sympy as sp
    >>> numeric_order(sp.Symbol("p") / (sp.Symbol("p") - 1), {"p": 3.0})
    1.5
    """
    if hasattr(p, "numeric"):
        return p.numeric(values)
    if p == sp.oo:
        return float("inf")
    if isinstance(p, sp.Expr) and p.free_symbols:
        return float(p.subs({s: values[s.name] for s in p.free_symbols}))
    return float(p)


def norm_rule(p: sp.Basic) -> NormRule:
    """The registered rule for a vector norm of order ``p``.

    >>> import sympy as sp
    >>> norm_rule(sp.Integer(2)).key
    'L2'
    """
    if not isinstance(p, sp.Basic):
        p = order(p)
    for rule in NORMS:
        if rule.matches(p):
            return rule
    options = "; ".join(f"{r.key} ({r.description})" for r in NORMS)
    raise UnknownNormError(f"no norm rule for order p = {p}; registered: {options}")
