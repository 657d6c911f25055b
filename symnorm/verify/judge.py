r"""Verify a hand derivation: is the claimed gradient (Hessian, Jacobian) the right one,
and how sure is the answer?

``verify(claim)`` reads a claim as people write it, in one line with the derivative on
the left (``\nabla f = \frac{x}{\|x\|_2}``, ``\frac{\partial \|x\|_1}{\partial x_i} =
\operatorname{sign}(x_i)``, ``∇ₓ‖x‖₂ = x/‖x‖₂``; :mod:`symnorm.language.claims` lists the
forms), or the right side alone with ``f`` and ``wrt`` given. It derives the gradient
with :func:`symnorm.grad` (the Jacobian with :func:`symnorm.jacobian` when ``f`` is
vector-valued, or the left side is ``J_x F``) and compares the two with
:func:`symnorm.check.compare.compare`: symbolically (a proof for every ``n`` when the
difference simplifies to 0), numerically at random points in several dimensions (and at
every ``i`` for a claim about ``x_i``), at the kinks, and transposed (a gradient written
as a row is in numerator layout, a Jacobian written with a column for each output in
denominator layout). The verdict says how sure it is: ``proved``,
``equal at random points``, ``equal up to layout``, ``equal almost everywhere``,
``wrong`` (with a counterexample) or ``could not decide``; never a false "equal".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixSymbol

from ..calculus.engine import CONVENTIONS, structured_space
from ..check.compare import RANK, WRONG, Comparison, Sampler, _close, compare, symbols_of
from ..kernels.evaluate import evaluate
from ..language.claims import ClaimHead
from ..model.errors import ParseError, ShapeError
from ..model.symbols import structure_of
from ..model.text import to_text
from ..targets import (
    Target,
    claim_pieces,
    derive,
    function_text,
    looks_like_latex,
    read_claim,
    relocated,
    resolve,
)
from .verdict import Counterexample, Verdict

__all__ = ["judge", "verdict_from", "verify"]


def verdict_from(c: Comparison, hand: Any, target: Target, reference: Any,
                 source: str | None, kind: str | None = None) -> Verdict:
    """The :class:`Verdict` of a :func:`~symnorm.check.compare.compare` of ``hand`` with
    ``reference`` for a claim about ``target``."""
    counter = None
    reason = c.reason
    if c.point is not None and c.status == WRONG:
        p = c.point
        counter = Counterexample(p.values, p.dims, p.hand, p.reference, p.index)
        reason = reason or _strangers(hand, target.f)
    return Verdict(status=c.status, hand=hand, reference=reference, f=target.f,
                   wrt=target.wrt_shown, kind=kind or target.kind, symbolic=c.symbolic,
                   difference=c.difference, numeric=c.numeric, counterexample=counter,
                   where=c.where, shape_mismatch=c.shape_mismatch, layout=c.layout,
                   reason=reason, source=source)


def _strangers(hand: Any, f: Any) -> str | None:
    """A wrong claim with names that ``f`` does not have (``s`` for ``softmax(x)``, ``r``
    for ``Ax - b``): said, since each is read as a variable of its own."""
    def names(e: Any) -> set[str]:
        if not isinstance(e, sp.Basic):
            return set()
        return ({a.name for a in e.atoms(MatrixSymbol)}
                | {a.name for a in e.atoms(sp.Symbol) if not a.is_integer})
    known = names(f)
    extra = sorted(names(hand) - known)
    if not extra:
        return None
    one = len(extra) == 1
    read = "it as an independent variable" if one else "them as independent variables"
    return (f"{', '.join(extra)} {'does' if one else 'do'} not occur in {to_text(f)}, so "
            f"the claim reads {read}; write {'it' if one else 'them'} out in terms of "
            f"{', '.join(sorted(known))}")


def _convention(target: Target) -> str | None:
    """The space the gradient lives in, for a gradient with respect to a whole declared
    symmetric or diagonal matrix (see :data:`symnorm.calculus.engine.CONVENTIONS`)."""
    if target.kind != "gradient" or target.component:
        return None
    space = structured_space(target.var)
    return None if space is None else CONVENTIONS[space].format(X=target.var.name)


def _convention_note(target: Target, hand: Any, reference: Any, seed: int) -> str | None:
    """For a wrong claim about a structured ``wrt``: is it the gradient written in another
    convention? Decided at three random points of the structured space."""
    structure = structure_of(target.var)
    if _convention(target) is None or "orthogonal" in structure:
        return None
    name = target.var.name
    sampler = Sampler([hand, reference], seed + 7, 2)
    dims = sampler.settings(1)[0]
    pairs = []
    for _ in range(3):
        point = sampler.point(dims)
        pairs.append((np.asarray(evaluate(hand, point, dims), dtype=float),
                      np.asarray(evaluate(reference, point, dims), dtype=float)))
    if any(h.shape != r.shape or h.ndim != 2 for h, r in pairs):
        return None
    if "diagonal" in structure:
        if all(_close(h * np.eye(h.shape[0]), r) for h, r in pairs):
            return (f"the claim's diagonal is the gradient: the claim is a derivative with "
                    f"the entries of {name} taken independent, off the space of diagonal "
                    f"matrices; the gradient there is its diagonal part")
        return None
    if all(_close(h, 2 * r - r * np.eye(r.shape[0])) for h, r in pairs):
        return (f"the claim is G + G.T - G .* I (the Matrix Cookbook's form for a symmetric "
                f"{name}, the derivative with respect to its distinct entries), which counts "
                f"each off-diagonal entry twice; the gradient in the space of symmetric "
                f"matrices is (G + G.T)/2")
    if all(_close((h + h.T) / 2, r) for h, r in pairs):
        return (f"the claim's symmetric part is the gradient: the claim is G, the derivative "
                f"with the entries of {name} taken independent; the gradient in the space of "
                f"symmetric matrices is (G + G.T)/2")
    return None


def judge(claim: Any, target: Target, reference: Any, full: Any, *, bindings: dict,
          latex: bool | None = None, prefer_latex: bool = False, source: str | None = None,
          seed: int = 0, settings: int = 3, points: int = 3) -> Verdict:
    """One claimed expression (text or an expression) against ``reference``, the whole
    result ``full`` a component is taken from. Text that cannot be read raises."""
    try:
        expr = read_claim(claim, bindings, latex, target.index_names, prefer_latex) \
            if isinstance(claim, str) else claim
    except ShapeError as err:
        return Verdict(status=WRONG, hand=None, reference=reference, f=target.f,
                       wrt=target.wrt_shown, kind=target.kind, shape_mismatch=str(err),
                       source=source)
    what = Verdict(status=WRONG, hand=None, reference=reference, f=target.f,
                   wrt=target.wrt_shown, kind=target.kind)._what()
    c = compare(expr, reference, full=full, component=target.component,
                indices=target.indices, kinks=(target.f,),
                layout=target.transposed_layout or False, what=what,
                min_size=target.min_size, seed=seed, settings=settings, points=points)
    verdict = verdict_from(c, expr, target, reference, source)
    verdict.convention = _convention(target)
    if verdict.status == WRONG and verdict.counterexample is not None:
        verdict.convention_note = _convention_note(target, expr, reference, seed)
    return verdict


def verify(hand: Any, f: Any = None, wrt: Any = None, *, hessian: bool = False,
           latex: bool | None = None, shapes: dict[str, object] | None = None,
           seed: int = 0, settings: int = 3, points: int = 3) -> Verdict:
    r"""Check a claimed gradient (Hessian, Jacobian) and say how sure the answer is.

    A claim about a vector-valued ``f`` (or written ``J_x F = ...``) is about its Jacobian,
    in numerator layout (a row for each output) as :func:`symnorm.jacobian` derives it;
    its transpose is ``"equal up to layout"`` with ``layout`` ``"denominator"``. A gradient
    written as a row is ``"equal up to layout"`` with ``layout`` ``"numerator"``.

    Parameters
    ----------
    hand : str, expression or list
        The claim: one line with the derivative on the left, in any common notation
        (``\nabla f = ...``, ``\nabla_x \|x\|_2 = ...``, ``\nabla^2 f = ...``,
        ``\frac{\partial f}{\partial x} = ...``, ``\partial f/\partial X = ...``,
        ``\frac{\partial f}{\partial x_i} = ...`` for every ``i``, ``df/dx = ...``,
        ``J_x F = ...``, Unicode ``∇ₓ‖x‖₂ = x/‖x‖₂``); or only its right side: an
        expression, text in the expression language or LaTeX; or a derivation of several
        lines (a list, or LaTeX with ``&=`` and ``\\``), each line checked.
    f : expression or str, optional
        The function (scalar or vector-valued): an expression, its text, or a definition
        ``"f(x) = ..."`` (then a
        left side naming another function is an error). Left out when the claim writes
        it on the left.
    wrt : symbol, component or str, optional
        A vector, a matrix, a scalar, or one component (``x[0]``, or the text ``"x_1"``:
        components are 1-based in LaTeX). Left out, it is read from the claim
        (``\nabla_x``, ``f(x)``) or is ``f``'s only vector or matrix.
    hessian : bool
        The claim is the Hessian (``\nabla^2 f = ...`` says so itself).
    latex : bool, optional
        Read the claim as LaTeX (True) or the expression language (False); by default its
        backslashes, braces, bars and Unicode decide, and the other is tried next.
    shapes : dict, optional
        Declares names (as :func:`symnorm.parse`) or binds a name to an expression, so a
        claim can use intermediate names (``shapes={"y": sn.parse('sigmoid(W*a)')}``).
    seed, settings, points : int
        The random points: ``settings`` sets of dimensions (n = 2, 3, 4, ...), ``points``
        points each.

    Returns
    -------
    Verdict
        ``status`` is ``"proved"``, ``"equal at random points"``, ``"equal up to layout"``,
        ``"equal almost everywhere"``, ``"wrong"`` (with a counterexample) or ``"could not
        decide"``; ``ok`` is true for the first four.

    Raises
    ------
    symnorm.ParseError
        Text that cannot be read, or a left side that names another function or variable
        than the one given (at its position in the text).
    symnorm.ShapeError
        A variable that does not occur in ``f``, or a component it does not have.
    symnorm.UnsupportedExpressionError
        A claim symnorm does not judge: the Hessian or one column of the Jacobian of a
        vector-valued ``f``, a Jacobian with respect to a matrix.

    Examples
    --------
    >>> import symnorm as sn
    >>> x = sn.vector("x")
    >>> sn.verify(r"\nabla_x \|x\|_2 = \frac{x}{\|x\|_2}").status
    'proved'
    >>> v = sn.verify(r"\frac{\partial f}{\partial x_i} = \frac{2 x_i}{\|x\|_2}", sn.norm(x, 2))
    >>> v.status, sorted(v.counterexample.values), sorted(v.counterexample.index)
    ('wrong', ['x'], ['i'])
    >>> sn.verify("∂‖x‖₁/∂x = sign(x)").ok
    True
    >>> sn.verify(r"\nabla f = \frac{x^\top}{\|x\|_2}", sn.norm(x, 2)).status
    'equal up to layout'
    >>> A, b = sn.matrix("A"), sn.vector("b", "m")
    >>> v = sn.verify(r"2(Ax - b)A^\top", sn.norm(A*x - b, 2)**2, x)
    >>> v.status, v.shape_mismatch.startswith("shape mismatch")
    ('wrong', True)
    >>> sn.verify(r"J_x \operatorname{softmax}(x) = \operatorname{diag}(\operatorname{softmax}"
    ...           r"(x)) - \operatorname{softmax}(x) \operatorname{softmax}(x)^\top").status
    'proved'
    >>> v = sn.verify(r"\frac{\partial F}{\partial x} = A^\top", A*x + b)
    >>> v.status, v.kind, v.layout
    ('equal up to layout', 'jacobian', 'denominator')
    """
    shapes = dict(shapes or {})
    name: str | None = None
    arguments: tuple[str, ...] = ()
    if isinstance(f, str):
        f, name, arguments = function_text(f, shapes)
    head: ClaimHead | None = None
    text = hand if isinstance(hand, str) else ""
    claims: list[tuple[Any, str | None, int]]
    if isinstance(hand, (list, tuple)):
        claims = [(h, h if isinstance(h, str) else None, 0) for h in hand]
    elif isinstance(hand, str):
        head, pieces = claim_pieces(hand)
        claims = [(p.text, p.text, p.start) for p in pieces]
    else:
        claims = [(hand, None, 0)]
    if not claims:
        raise ParseError("no claim to verify: the text has no expression after '='",
                         str(hand))
    target = resolve(head, f, wrt, hessian=hessian, shapes=shapes, name=name,
                     arguments=arguments, text=text)
    full, reference = derive(target)
    bindings: dict[str, Any] = {s.name: s for s in symbols_of(target.f)}
    bindings.update(shapes)

    verdicts = []
    for k, (claim, source, offset) in enumerate(claims):
        try:
            v = judge(claim, target, reference, full, bindings=bindings, latex=latex,
                      prefer_latex=head is not None and looks_like_latex(text),
                      source=source, seed=seed, settings=settings, points=points)
        except ParseError as err:
            if not text:
                raise
            prefix = f"line {k + 1} of the derivation: " if len(claims) > 1 else ""
            raise relocated(err, text, offset, prefix) from None
        v.line = k
        verdicts.append(v)
    if len(verdicts) == 1:
        return verdicts[0]
    worst = max(verdicts, key=lambda v: RANK[v.status])
    first_wrong = next((k for k, v in enumerate(verdicts) if not v.ok), None)
    target_v = verdicts[first_wrong] if first_wrong is not None else worst
    return Verdict(status=worst.status, hand=None, reference=reference, f=target.f,
                   wrt=target.wrt_shown, kind=target.kind,
                   counterexample=target_v.counterexample, where=worst.where,
                   shape_mismatch=target_v.shape_mismatch, reason=target_v.reason,
                   lines=verdicts, first_wrong=first_wrong,
                   numeric=[r for v in verdicts for r in v.numeric],
                   convention=_convention(target), convention_note=target_v.convention_note)
