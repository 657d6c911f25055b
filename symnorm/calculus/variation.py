r"""The first variation of a functional: ``first_variation(J, u)`` is the Euler–Lagrange
expression ``δJ/δu = Σ_α (-1)^{|α|} ∂^α (∂L/∂(∂^α u))`` of ``J = ∫ L(t, u, u', ...)``
(for instance of a Sobolev energy from :mod:`.sobolev`), one partial derivative of the
Lagrangian per derivative of ``u`` it holds, checked numerically before it is returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from ..model.errors import CheckFailedError, ShapeError, UnsupportedExpressionError
from ..model.text import to_text
from ..presentation.blocks import Block, Equations, Paragraph, Shown
from ..presentation.latex import latex
from ..presentation.prose import Math, Note, Text, note
from .sobolev import SobolevStep, _quad

__all__ = ["FirstVariation", "first_variation"]


@dataclass(repr=False)
class FirstVariation(Shown):
    r"""``δJ/δu``: the Euler–Lagrange expression of ``J = ∫ L``; ``equation`` is
    ``Eq(δJ/δu, 0)``; ``steps`` one partial derivative per derivative of ``u`` in L."""

    functional: Any
    u: Any
    lagrangian: Any
    result: Any
    steps: list[SobolevStep] = field(default_factory=list)
    report: str = ""   # the numeric check of the defining identity

    @property
    def equation(self) -> sp.Eq:
        return sp.Eq(self.result, 0)

    def _title_(self) -> Note:
        return note("The first variation of ", Math(latex(self.functional),
                                                    to_text(self.functional)))

    def _blocks_(self) -> list[Block]:
        """The partial derivatives of the Lagrangian, then the Euler–Lagrange expression;
        the numerical check of the defining identity as a sentence."""
        out: list[Block] = [Equations([s.row() for s in self.steps])]
        if self.report:
            out.append(Paragraph(note("checked: ", Note.of(self.report)), small=True))
        return out

    def latex(self) -> str:
        r"""An ``aligned`` block of the steps, the notes numbered at the right and written
        out under it."""
        return Shown.latex(self)

    def __repr__(self) -> str:
        return f"dJ/d{to_text(self.u)} = {to_text(self.result)}"


def first_variation(J: Any, u: Any, *, check: bool = True) -> FirstVariation:
    r"""The first variation (Euler–Lagrange expression) of ``J = ∫ L(t, u, u', ...)``.

    ``δJ/δu = Σ_α (-1)^{|α|} ∂^α (∂L/∂(∂^α u))``, one partial derivative of the
    Lagrangian per derivative of ``u`` it holds (the steps); ``δJ/δu = 0`` is the
    Euler–Lagrange equation. The result is checked before it is returned
    (``check=False`` switches that off): for a polynomial ``u`` and a bump ``v`` that
    vanishes on the boundary, ``d/dε J(u + εv)`` at 0 must equal ``∫ (δJ/δu) v`` by
    quadrature (``.report``).

    Parameters
    ----------
    J : sympy.Integral or sympy.Expr
        The functional: an integral (``sp.Integral``, a sum of them, or
        :func:`sobolev_energy`), or the Lagrangian ``L`` itself.
    u : sympy function application
        The unknown function applied to its variables, ``u(t)`` or ``u(x, y)``.
    check : bool, optional
        Check the defining identity numerically (default True).

    Returns
    -------
    FirstVariation
        ``result`` (``δJ/δu``), ``equation`` (``Eq(result, 0)``), ``lagrangian``,
        ``steps``, ``report`` (the check, in words) and ``latex()``.

    Raises
    ------
    UnsupportedExpressionError
        If ``u`` is not an unknown function applied to its variables, or ``J`` does
        not depend on it.
    ShapeError
        If the integral runs over a symbol that is not a variable of ``u``.
    CheckFailedError
        If the result fails the defining identity.

    Examples
    --------
    >>> import sympy as sp, symnorm as sn
    >>> t = sp.Symbol("t", real=True)
    >>> u = sp.Function("u")(t)
    >>> sn.first_variation(sn.sobolev_energy(u, t, (0, 1), k=1), u).result
    2*u(t) - 2*Derivative(u(t), (t, 2))
    >>> sn.first_variation(sn.sobolev_energy(u, t, (0, 1), k=2), u).result
    2*u(t) - 2*Derivative(u(t), (t, 2)) + 2*Derivative(u(t), (t, 4))
    >>> pendulum = sp.Derivative(u, t)**2/2 - sp.cos(u)     # a Lagrangian
    >>> sn.first_variation(pendulum, u)
    dJ/du(t) = sin(u(t)) - u''(t)
    >>> sn.first_variation(pendulum, t)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symnorm.UnsupportedExpressionError: u must be an unknown function applied to its ...; got t
    """
    if not (isinstance(u, sp.Function) or isinstance(u, sp.core.function.AppliedUndef)):
        raise UnsupportedExpressionError(f"u must be an unknown function applied to its "
                                         f"variables, like u(t); got {u!r}")
    variables = tuple(u.args)
    if isinstance(J, sp.Integral):
        lag = J.function
        for lim in J.limits:
            if lim[0] not in variables:
                raise ShapeError(f"the integral runs over {lim[0]}, not a variable of {u}")
    elif isinstance(J, sp.Add) and all(isinstance(a, sp.Integral) or not a.has(u)
                                       for a in J.args):
        lag = sp.Add(*[a.function for a in J.args if isinstance(a, sp.Integral)])
    else:
        lag = sp.sympify(J)
    if not lag.has(u):
        raise UnsupportedExpressionError(f"the functional does not depend on {u}")
    derivs = sorted(lag.atoms(sp.Derivative), key=lambda d: d.derivative_count)
    derivs = [d for d in derivs if d.expr == u]
    slots = [u, *derivs]
    dummies = {s: sp.Dummy(f"q{i}") for i, s in enumerate(slots)}
    plain = lag.xreplace({d: dummies[d] for d in reversed(derivs)}).xreplace({u: dummies[u]})
    back = {v: k for k, v in dummies.items()}
    steps: list[SobolevStep] = []
    total = sp.Integer(0)
    for s in slots:
        partial = sp.diff(plain, dummies[s]).xreplace(back)
        if partial == 0:
            continue
        steps.append(SobolevStep(rf"\frac{{\partial L}}{{\partial {latex(s)}}}", latex(partial),
                                 "the partial derivatives of the Lagrangian",
                                 to_text(partial)))
        if s == u:
            total += partial
            continue
        order = [(v, c) for v, c in s.variable_count]
        count = sum(c for _, c in order)
        total += (-1) ** count * sp.diff(partial, *order)
    result = sp.expand(total)
    steps.append(SobolevStep(
        rf"\frac{{\delta J}}{{\delta {latex(u)}}}", latex(result),
        r"the Euler–Lagrange expression $\frac{\delta J}{\delta u} = \sum_\alpha "
        r"(-1)^{\lvert\alpha\rvert} \partial^\alpha \frac{\partial L}{\partial "
        r"(\partial^\alpha u)}$", to_text(result)))
    out = FirstVariation(functional=J, u=u, lagrangian=lag, result=result, steps=steps)
    if check:
        out.report = _check_variation(lag, u, result, derivs, J)
    return out


def _check_variation(lag: sp.Expr, u: Any, result: sp.Expr, derivs: list, J: Any) -> str:
    """``d/dε ∫ L(u + εv) |_{ε=0} = ∫ (δJ/δu) v`` for a polynomial ``u`` and a bump ``v``
    vanishing with its derivatives on the boundary of the box (J's, or the unit box)."""
    variables = tuple(u.args)
    limits = {lim[0]: (lim[1], lim[2]) for lim in getattr(J, "limits", ())
              if len(lim) == 3 and lim[1].is_number and lim[2].is_number}
    box = tuple(limits.get(v, (sp.Integer(0), sp.Integer(1))) for v in variables)
    order = max((d.derivative_count for d in derivs), default=0)
    bump = sp.Mul(*[((v - a) * (b - v)) ** (order + 1) for v, (a, b) in zip(variables, box)])
    trial = sp.Rational(1, 3) + sum((i + 2) * v / 5 + v**2 / (i + 3)
                                    for i, v in enumerate(variables))
    eps = sp.Dummy("eps")
    free = (lag.free_symbols | result.free_symbols) - set(variables)
    values = {s: sp.Rational(7, 5) for s in free}  # other parameters: a fixed value
    moved = lag.subs(u, trial + eps * bump).doit()
    lhs = sp.diff(moved, eps).subs(eps, 0).subs(values)
    rhs = (result.subs(u, trial).doit() * bump).subs(values)
    left, right = (float(_quad(e, variables, box)) for e in (lhs, rhs))
    if abs(left - right) > 1e-8 * max(1.0, abs(left)):
        raise CheckFailedError(f"the first variation {result} fails d/de J(u + e v) = "
                               f"integral of dJ/du * v: {left:.12g} != {right:.12g}")
    return Text(note(r"$\frac{d}{d\varepsilon} J(u + \varepsilon v)\big|_{\varepsilon = 0} = "
                     r"\int \frac{\delta J}{\delta u}\, v$ ",
                     f"({left:.12g}) for ", Math(f"u = {latex(trial)}", f"u = {to_text(trial)}"),
                     " and the bump ", Math(f"v = {latex(bump)}", f"v = {to_text(bump)}")))
