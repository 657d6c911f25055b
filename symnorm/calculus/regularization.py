"""Regularised least squares and friends: optimality conditions and proximal gradient.

``optimality(f, x)`` is the condition ``0 ∈ ∂f(x)`` (for the lasso
``0 ∈ Aᵀ(Ax − b) + λ∂‖x‖₁``), derived by :func:`symnorm.calculus.subdiff.vector`; its ``certify``
decides whether a given point is a minimiser, with a certified distance from 0 to
``∂f(x)``. ``proximal_gradient`` (ISTA, or FISTA with ``accelerated=True``) minimises a
smooth part plus one norm term using only symnorm's derived kernels: the gradient of
the smooth part and the prox of the norm.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from ..kernels.arguments import free_arguments
from ..kernels.kernel import kernel
from ..model.atoms import Norm
from ..model.errors import UnsupportedExpressionError
from ..model.text import to_text
from ..presentation.blocks import Block, Equations, Row, Shown, render_mathjax
from ..presentation.latex import latex
from ..presentation.prose import Math, Note, note, plain_math
from .algebra import as_scalar, depends
from .engine import derive_gradient
from .prox import prox
from .subdiff.sets import Nearest
from .subdiff.vector import NormNode, PointNode, ScaleNode, Subdifferential, SumNode, subdiff


@dataclass(repr=False)
class Certificate:
    """Is ``x`` a minimiser? ``0 ∈ ∂f(x)`` up to ``tol``, with the evidence."""

    ok: bool
    distance: float              # an upper bound on dist(0, ∂f(x))
    lower_bound: float           # a lower bound (a separating hyperplane)
    min_norm_subgradient: np.ndarray
    tol: float
    method: str

    def summary(self) -> str:
        verdict = "OPTIMAL" if self.ok else "NOT OPTIMAL"
        return (f"{verdict}: dist(0, subdifferential) <= {self.distance:.3e} "
                f"(>= {self.lower_bound:.3e}), tolerance {self.tol:.1e}; minimum-norm "
                f"subgradient {np.array2string(self.min_norm_subgradient, precision=4)} "
                f"[{self.method}]")

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return f"<Certificate {self.summary()}>"

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.ok else "#cf222e"
        return f"<span style='color:{colour}'>{html.escape(self.summary())}</span>"


@dataclass(repr=False)
class Optimality(Shown):
    """The first-order condition ``0 ∈ ∂f(x)`` of a convex objective."""

    f: Any
    wrt: Any
    subdifferential: Subdifferential

    def latex(self) -> str:
        """The condition on one line (and its coordinatewise form after ``\\iff``)."""
        root = self.subdifferential.root
        out = rf"0 \in {root.latex()}"
        coordinatewise = self._coordinatewise()
        if coordinatewise:
            out += rf" \iff {coordinatewise}"
        return out

    def _coordinatewise(self) -> str | None:
        """``-c/λ ∈ ∂‖x‖`` spelled out with the norm's closed form (the lasso case)."""
        root = self.subdifferential.root
        if not isinstance(root, SumNode) or len(root.parts) != 2:
            return None
        points = [p for p in root.parts if isinstance(p, PointNode)]
        scaled = [p for p in root.parts if isinstance(p, ScaleNode)]
        if len(points) != 1 or len(scaled) != 1 or not isinstance(scaled[0].part, NormNode):
            return None
        node = scaled[0].part
        if node.image is not None:
            return None
        c = latex(points[0].grad)
        lam = latex(scaled[0].coeff)
        closed = node.rule.subdiff.latex(latex(node.norm.arg), node.norm.p)
        return rf"-\frac{{1}}{{{lam}}} {c} \in {closed}"

    def _title_(self) -> Note:
        return note("Optimality condition of ", Math(latex(self.f), to_text(self.f)),
                    " in ", Math(latex(self.wrt), to_text(self.wrt)))

    def _blocks_(self) -> list[Block]:
        root = self.subdifferential.root
        rows = [Row(Math("0", "0"), Math(root.latex(), root.text()),
                    Note(r"$x$ minimises a convex $f$ if and only if $0 \in \partial f(x)$"),
                    Math(r"\in", "in"))]
        coordinatewise = self._coordinatewise()
        if coordinatewise:
            lhs, _, rhs = coordinatewise.partition(r" \in ")
            rows.append(Row(plain_math(r"\iff " + lhs), plain_math(rhs),
                            Note("the same, with the closed form of the subdifferential"),
                            Math(r"\in", "in")))
        return [Equations(rows)]

    def __repr__(self) -> str:
        return f"0 in {self.subdifferential.root.text()}"

    def _repr_latex_(self) -> str:
        return "$$" + render_mathjax(self._blocks_()) + "$$"

    def certify(self, at: Any = None, tol: float = 1e-8, **values: Any) -> Certificate:
        """Decide whether the point is a minimiser (``0 ∈ ∂f(x)`` within ``tol``)."""
        s = self.subdifferential.at(at, **values)
        nearest: Nearest = s.nearest(np.zeros(s.dim), tol)
        return Certificate(ok=nearest.upper <= tol, distance=nearest.upper,
                           lower_bound=nearest.lower, min_norm_subgradient=nearest.point,
                           tol=tol, method=nearest.method)


def optimality(f: Any, wrt: Any) -> Optimality:
    """The optimality condition ``0 ∈ ∂f(x)`` of a convex ``f``.

    ``x`` minimises a convex ``f`` if and only if ``0 ∈ ∂f(x)``; the subdifferential is
    derived (and checked) by :func:`subdiff`. For the lasso the condition is
    ``0 ∈ Aᵀ(Ax − b) + λ∂‖x‖₁``, also written coordinatewise with the closed form of
    ``∂‖x‖₁``. ``certify`` then decides whether a given point is a minimiser.

    Parameters
    ----------
    f : sympy.Expr
        A convex scalar function of ``wrt`` in the forms :func:`subdiff` supports.
    wrt : sympy.MatrixSymbol
        The vector variable.

    Returns
    -------
    Optimality
        The condition: ``latex()``, the Jupyter display, and ``certify(at=..., tol=1e-8,
        **values)``, a certificate (``ok``, ``distance``, a ``lower_bound`` that meets
        it, the ``min_norm_subgradient``) of whether ``0 ∈ ∂f(x)`` within ``tol``.

    Raises
    ------
    UnsupportedExpressionError
        If ``f`` has a term without a subdifferential rule, or is not convex in a way
        the rules see (a negative multiple of a norm).
    ShapeError
        If ``f`` is not a scalar, or shapes inside it do not fit.
    CheckFailedError
        If the subdifferential fails its check.

    Examples
    --------
    >>> import numpy as np, symnorm as sn
    >>> A, x, b = sn.matrix("A"), sn.vector("x"), sn.vector("b", "m")
    >>> lam = sn.scalar("lam", positive=True)
    >>> cond = sn.optimality(sn.norm(A*x - b, 2)**2/2 + lam*sn.norm(x, 1), x)
    >>> cond
    0 in {A.T*(A*x - b)} + lam*subdiff(norm(x, 1))
    >>> cond.certify(at=[2.0, 0.0], A=np.eye(2), b=[3.0, 0.5], lam=1.0).ok
    True
    >>> c = cond.certify(at=[1.0, 0.0], A=np.eye(2), b=[3.0, 0.5], lam=1.0)
    >>> c.ok, c.distance, c.min_norm_subgradient
    (False, 1.0, array([-1.,  0.]))
    """
    return Optimality(f, wrt, subdiff(f, wrt))


# -- proximal gradient ---------------------------------------------------------------------

@dataclass(repr=False)
class Solution:
    """The result of :func:`proximal_gradient`."""

    x: np.ndarray
    iterations: int
    converged: bool
    objective: list[float] = field(default_factory=list)
    certificate: Certificate | None = None

    def summary(self) -> str:
        state = "converged" if self.converged else "stopped (max_iter)"
        text = (f"{state} after {self.iterations} iterations; objective "
                f"{self.objective[-1]:.10g}; x = {np.array2string(self.x, precision=6)}")
        if self.certificate is not None:
            text += "\n" + self.certificate.summary()
        return text

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        state = "converged" if self.converged else "stopped"
        return (f"<Solution {state} after {self.iterations} iterations, objective "
                f"{self.objective[-1]:.6g}>" if self.objective else f"<Solution {state}>")


def split_objective(f: Any, wrt: Any) -> tuple[sp.Expr, sp.Expr | None]:
    """``f = smooth + g`` with ``g`` one multiple of a norm (the term that needs a prox)."""
    smooth, rough = [], []
    for term in sp.Add.make_args(as_scalar(f)):
        if not depends(term, wrt):
            smooth.append(term)
            continue
        d = derive_gradient(term, wrt)
        (smooth if not d.kinks else rough).append(term)
    if len(rough) > 1:
        raise UnsupportedExpressionError(
            f"proximal gradient takes one nonsmooth term; {to_text(f)} has "
            f"{len(rough)}: {', '.join(to_text(t) for t in rough)}")
    return sp.Add(*smooth), (rough[0] if rough else None)


def _prox_of_term(g: sp.Expr, wrt: Any) -> tuple[Any, sp.Expr, list]:
    """A prox kernel for ``kappa * N`` and the coefficient ``c`` with ``g = c * N``."""

    coeff, norm_part = g.as_independent(wrt, as_Add=False)
    if not isinstance(norm_part, Norm):
        raise UnsupportedExpressionError(
            f"proximal gradient needs the nonsmooth term to be c*norm(...); got {to_text(g)}")
    kappa = sp.Symbol("kappa_", positive=True)
    p = prox(kappa * norm_part, wrt, check=False)
    others = [s for s in p.kernel().args[1:] if s != kappa]  # e.g. group labels
    return p, coeff, others


def proximal_gradient(f: Any, wrt: Any, *, x0: Any = None, accelerated: bool = False,
                      max_iter: int = 5000, tol: float = 1e-10, certify: bool = True,
                      **values: Any) -> Solution:
    """Minimise ``f = smooth + c·‖·‖`` by proximal gradient with backtracking.

    The smooth gradient and the prox are symnorm kernels derived from ``f``; the step
    size comes from a backtracking line search (no Lipschitz constant needed). ISTA by
    default, FISTA with adaptive restart when ``accelerated``. The iteration stops when
    the gradient mapping vanishes to ``tol``; the point is then certified optimal (or
    not) by :func:`optimality`.

    Parameters
    ----------
    f : sympy.Expr
        The objective: a differentiable part plus at most one nonsmooth term
        ``c*norm(...)`` with a closed-form prox (see :func:`prox`).
    wrt : sympy.MatrixSymbol
        The vector variable.
    x0 : array_like, optional
        The starting point (default: zeros).
    accelerated : bool, optional
        FISTA with adaptive restart instead of ISTA (default False).
    max_iter : int, optional
        The most iterations (default 5000).
    tol : float, optional
        Stop when ``L‖x⁺ − y‖ <= tol·max(1, ‖x⁺‖)`` (default 1e-10).
    certify : bool, optional
        Certify the final point with :func:`optimality` (default True; tolerance
        ``max(1e3 tol, 1e-8)``).
    **values
        The values of every other symbol of ``f`` by name (``A=..., b=..., lam=...``);
        they also fix the size of ``wrt`` when ``x0`` does not.

    Returns
    -------
    Solution
        ``x`` (the minimiser found), ``iterations``, ``converged``, ``objective`` (its
        value at every iterate) and ``certificate``.

    Raises
    ------
    UnsupportedExpressionError
        If ``f`` has more than one nonsmooth term, the nonsmooth term is not a multiple
        of a norm with a prox, a value is missing, or the size of ``wrt`` cannot be
        told (pass ``x0``).

    Examples
    --------
    >>> import numpy as np, symnorm as sn
    >>> A, x, b = sn.matrix("A"), sn.vector("x"), sn.vector("b", "m")
    >>> lam = sn.scalar("lam", positive=True)
    >>> f = sn.norm(A*x - b, 2)**2/2 + lam*sn.norm(x, 1)
    >>> sol = sn.proximal_gradient(f, x, A=np.eye(2), b=np.array([3.0, 0.5]), lam=1.0)
    >>> np.round(sol.x, 8) + 0.0
    array([2., 0.])
    >>> sol.converged, sol.certificate.ok
    (True, True)
    >>> fast = sn.proximal_gradient(f, x, A=np.eye(2), b=np.array([3.0, 0.5]), lam=1.0,
    ...                             accelerated=True)
    >>> np.round(fast.x, 8) + 0.0
    array([2., 0.])
    >>> sn.proximal_gradient(f, x, A=np.eye(2), lam=1.0)
    Traceback (most recent call last):
    ...
    symnorm.UnsupportedExpressionError: values needed for b
    """
    smooth, rough = split_objective(f, wrt)
    args = free_arguments(as_scalar(f), first=wrt)
    names = [a.name for a in args[1:]]
    missing = [n for n in names if n not in values]
    if missing:
        raise UnsupportedExpressionError(f"values needed for {', '.join(missing)}")
    rest = [np.asarray(values[n], dtype=float) for n in names]
    f_k = kernel(as_scalar(f), args)
    s_k = kernel(smooth, args)
    g_k = derive_gradient(smooth, wrt).kernel(args) if depends(smooth, wrt) else None
    size = _size(wrt, values, x0)
    x = np.zeros(size) if x0 is None else np.asarray(x0, dtype=float).copy()

    def smooth_value(v: np.ndarray) -> float:
        return float(s_k(v, *rest))

    def smooth_grad(v: np.ndarray) -> np.ndarray:
        return np.zeros_like(v) if g_k is None else np.asarray(g_k(v, *rest), dtype=float)

    if rough is None:
        prox_fn = None
    else:
        p, coeff, others = _prox_of_term(rough, wrt)
        pk = p.kernel()
        c_val = float(kernel(coeff, args)(x, *rest)) if coeff.free_symbols else float(coeff)
        other_vals = [values[s.name] for s in others]

        def prox_fn(v: np.ndarray, step: float) -> np.ndarray:
            return np.asarray(pk(v, step * c_val, *other_vals), dtype=float)

    lipschitz, y, x_prev, t = 1.0, x.copy(), x.copy(), 1.0
    history = [float(f_k(x, *rest))]
    converged = False
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 (it is reported after the loop)
        base = y if accelerated else x
        fy, gy = smooth_value(base), smooth_grad(base)
        while True:  # backtracking: the quadratic model must bound the smooth part
            step = 1.0 / lipschitz
            z = base - step * gy
            candidate = z if prox_fn is None else prox_fn(z, step)
            diff = candidate - base
            if smooth_value(candidate) <= fy + gy @ diff + lipschitz / 2 * diff @ diff + 1e-12:
                break
            lipschitz *= 2.0
        x_prev, x = x, candidate
        history.append(float(f_k(x, *rest)))
        # the gradient mapping L (base - x) vanishes exactly at a minimiser
        if lipschitz * np.linalg.norm(x - base) <= tol * max(1.0, np.linalg.norm(x)):
            converged = True
            break
        if accelerated:
            if history[-1] > history[-2]:  # adaptive restart (O'Donoghue and Candes)
                t, y = 1.0, x.copy()
                continue
            t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2
            y = x + (t - 1) / t_next * (x - x_prev)
            t = t_next
        else:
            lipschitz *= 0.9  # ISTA may let the step grow again; FISTA keeps it
    cert = optimality(f, wrt).certify(at=x, tol=max(1e3 * tol, 1e-8), **values) \
        if certify else None
    return Solution(x=x, iterations=it, converged=converged, objective=history,
                    certificate=cert)


def _size(wrt: Any, values: dict, x0: Any) -> int:
    if x0 is not None:
        return int(np.asarray(x0).shape[0])
    n = wrt.shape[0]
    if n.is_Integer:
        return int(n)
    for v in values.values():  # a matrix A (m x n) fixes n through its columns
        a = np.asarray(v)
        if a.ndim == 2:
            return int(a.shape[1])
    raise UnsupportedExpressionError(f"cannot tell the size of {wrt}: pass x0=")
