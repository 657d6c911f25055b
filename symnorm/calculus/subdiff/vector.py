"""Subdifferentials by the rules of convex calculus.

``subdiff(f, wrt)`` turns a convex expression into a tree of set nodes:

* a norm of an affine map, ``∂(h∘A)(x) = Aᵀ ∂h(Ax + b)``, with ``∂h`` from the norm's rule;
* sums, ``∂(f + g) = ∂f + ∂g``; nonnegative scaling, ``∂(c f) = c ∂f``;
* pointwise max, ``∂ max_j f_j = conv ∪_{j active} ∂f_j``;
* a nondecreasing differentiable function of a norm, ``∂ φ(‖u‖) = φ'(‖u‖) ∂‖u‖``;
* differentiable terms (``½‖Ax − b‖²``), ``{∇f}``.

The tree renders as LaTeX, and :meth:`Subdifferential.at` turns it into numbers at a
point (:mod:`symnorm.calculus.subdiff.sets`), where membership, the minimum-norm element and the
support function (the directional derivative ``f'(x; d)``) are computed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol

from ...check import check_set, ensure_set
from ...kernels.arguments import free_arguments
from ...kernels.kernel import kernel
from ...model.atoms import Norm
from ...model.errors import ShapeError, UnsupportedExpressionError
from ...model.shapes import check_shapes
from ...model.text import to_text
from ...presentation.blocks import Block, Equations, Paragraph, Row, Shown, render_mathjax
from ...presentation.latex import latex
from ...presentation.prose import Math, Note, note, plain_math
from ...rules import norm_rule, numeric_order
from ..algebra import as_scalar, check_wrt, depends
from ..engine import Recorder, derive_gradient, vjp
from .matrix import matrix_subdiff
from .sets import AffineSet, Atom, HullSet, NumericSet

SUPPORTED = ("norms of affine maps (‖Wx‖, ‖Ax − b‖) of the L1, L2, L∞ and Lp (p > 1) "
             "norms; sums; multiples by nonnegative constants; max(...) of convex terms; "
             "nondecreasing functions of a norm; differentiable terms")


# -- symbolic set nodes ------------------------------------------------------------------

class SetNode:
    """A subdifferential expression; ``numeric(values)`` evaluates it at a point."""

    def latex(self) -> str:
        raise NotImplementedError

    def text(self) -> str:
        raise NotImplementedError

    def support_latex(self, d: str) -> str:
        raise NotImplementedError

    def numeric(self, ev: "Evaluator") -> NumericSet:
        raise NotImplementedError


@dataclass
class PointNode(SetNode):
    """``{g}`` for a differentiable term with gradient ``g``."""

    grad: Any

    def latex(self) -> str:
        return rf"\left\{{ {latex(self.grad)} \right\}}"

    def text(self) -> str:
        return "{" + to_text(self.grad) + "}"

    def support_latex(self, d: str) -> str:
        g = latex(self.grad)
        return rf"\left({g}\right)^\top {d}" if isinstance(self.grad, MatrixExpr) else \
            rf"{g}\, {d}"

    def numeric(self, ev: "Evaluator") -> NumericSet:
        return AffineSet(ev.vector(self.grad))


@dataclass
class NormNode(SetNode):
    """``∂‖·‖_p`` at ``u`` (possibly mapped back by the affine map's transpose)."""

    norm: Norm
    wrt: Any
    image: Any = None          # L(s): the transposed Jacobian applied to the placeholder
    placeholder: Any = None

    @property
    def rule(self) -> Any:
        return norm_rule(self.norm.p)

    def _inner_latex(self) -> str:
        return self.rule.subdiff.latex(latex(self.norm.arg), self.norm.p)

    def _name_latex(self) -> str:
        p = r"\infty" if self.norm.p == sp.oo else latex(self.norm.p)
        return rf"\partial \lVert \cdot \rVert_{{{p}}}\left({latex(self.norm.arg)}\right)"

    def _map_latex(self) -> str | None:
        if self.image is None:
            return None
        m = self.image
        if isinstance(m, sp.MatMul) and m.args[-1] == self.placeholder:
            return latex(sp.MatMul(*m.args[:-1])) if len(m.args) > 2 else latex(m.args[0])
        return None

    def latex(self) -> str:
        inner = self._name_latex()
        if self.image is None:
            return inner
        mapped = self._map_latex()
        if mapped is not None:
            return rf"{mapped}\, {inner}"
        return rf"\left\{{ {latex(self.image)} : {latex(self.placeholder)} \in {inner} \right\}}"

    def closed_form_latex(self) -> str:
        return self._inner_latex()

    def _map_text(self) -> str | None:
        m = self.image
        if isinstance(m, sp.MatMul) and m.args[-1] == self.placeholder:
            rest = sp.MatMul(*m.args[:-1]) if len(m.args) > 2 else m.args[0]
            text = to_text(rest)
            return text if isinstance(rest, MatrixSymbol) or text.endswith(".T") and \
                text[:-2].isidentifier() else f"({text})"
        return None

    def text(self) -> str:
        inner = f"subdiff({to_text(self.norm)})"
        if self.image is None:
            return inner
        mapped = self._map_text()
        if mapped is not None:
            return f"{mapped}*{inner}"
        return f"{{{to_text(self.image)} : {to_text(self.placeholder)} in {inner}}}"

    def support_latex(self, d: str) -> str:
        u = latex(self.norm.arg)
        if self.image is None:
            return self.rule.subdiff.support_latex(u, d, self.norm.p)
        mapped = self._map_latex()
        arg = rf"\left({mapped}\right)^\top {d}" if mapped else rf"J^\top {d}"
        return self.rule.subdiff.support_latex(u, rf"\left({arg}\right)", self.norm.p)

    def numeric(self, ev: "Evaluator") -> NumericSet:
        u = ev.vector(self.norm.arg)
        p = ev.order(self.norm.p)
        atom = Atom(self.rule.subdiff, u, p, to_text(self.norm))
        n = ev.size(self.wrt)
        if self.image is None:
            return AffineSet(np.zeros(n), [atom], [None])
        return AffineSet(np.zeros(n), [atom], [ev.linear_map(self.image, self.placeholder,
                                                              u.shape[0])])


@dataclass
class SumNode(SetNode):
    parts: list[SetNode]

    def latex(self) -> str:
        return " + ".join(p.latex() for p in self.parts)

    def text(self) -> str:
        return " + ".join(p.text() for p in self.parts)

    def support_latex(self, d: str) -> str:
        return " + ".join(p.support_latex(d) for p in self.parts)

    def numeric(self, ev: "Evaluator") -> NumericSet:
        sets = [p.numeric(ev) for p in self.parts]
        if any(isinstance(s, HullSet) for s in sets):
            raise UnsupportedExpressionError(
                "a sum that contains a max(...) term: compute its pieces separately")
        out = sets[0]
        for s in sets[1:]:
            out = out.plus(s)  # type: ignore[union-attr]
        return out


@dataclass
class ScaleNode(SetNode):
    coeff: sp.Expr
    part: SetNode

    def latex(self) -> str:
        c = latex(self.coeff)
        if isinstance(self.coeff, sp.Add):
            c = rf"\left({c}\right)"
        return rf"{c}\, {self.part.latex()}"

    def text(self) -> str:
        c = to_text(self.coeff)
        c = f"({c})" if isinstance(self.coeff, sp.Add) else c
        inner = self.part.text()
        return f"{c}*{inner}" if isinstance(self.part, NormNode) else f"{c}*({inner})"

    def support_latex(self, d: str) -> str:
        c = latex(self.coeff)
        if isinstance(self.coeff, sp.Add):
            c = rf"\left({c}\right)"
        return rf"{c} \left({self.part.support_latex(d)}\right)"

    def numeric(self, ev: "Evaluator") -> NumericSet:
        c = ev.scalar(self.coeff)
        if c < 0:
            raise UnsupportedExpressionError(
                f"the coefficient {to_text(self.coeff)} = {c:g} is negative here: a negative "
                "multiple of a nonsmooth convex term is not convex")
        inner = self.part.numeric(ev)
        if isinstance(inner, HullSet):
            raise UnsupportedExpressionError("a multiple of a max(...) term is not supported")
        return inner.scaled(c)  # type: ignore[union-attr]


@dataclass
class MaxNode(SetNode):
    """``conv ∪ ∂f_j`` over the pieces that attain the max at the point."""

    pieces: list[tuple[sp.Expr, SetNode]]

    def latex(self) -> str:
        inner = r" \cup ".join(s.latex() for _, s in self.pieces)
        return rf"\operatorname{{conv}}\left( {inner} \right)_{{\text{{active}}}}"

    def text(self) -> str:
        return "conv(" + " union ".join(s.text() for _, s in self.pieces) + \
            ") over the active pieces"

    def support_latex(self, d: str) -> str:
        inner = ",\\ ".join(s.support_latex(d) for _, s in self.pieces)
        return rf"\max_{{\text{{active}}\ j}} \left\{{ {inner} \right\}}"

    def numeric(self, ev: "Evaluator") -> NumericSet:
        values = [ev.scalar(f) for f, _ in self.pieces]
        top = max(values)
        tol = 1e-12 * max(1.0, abs(top))
        active = [s.numeric(ev) for (f, s), v in zip(self.pieces, values) if v >= top - tol]
        return active[0] if len(active) == 1 else HullSet(active)


# -- evaluation at a point ------------------------------------------------------------------

class Evaluator:
    """Evaluates expressions of a subdifferential at one point, caching kernels."""

    def __init__(self, owner: "Subdifferential", values: dict[str, Any]) -> None:
        self.owner = owner
        self.values = values

    def _call(self, expr: Any) -> Any:
        args = self.owner.arguments
        k = self.owner.kernel_for(expr)
        missing = [a.name for a in args if a.name not in self.values]
        if missing:
            raise ShapeError(f"values needed for {', '.join(missing)}")
        return k(*[self.values[a.name] for a in args])

    def vector(self, expr: Any) -> np.ndarray:
        return np.asarray(self._call(expr), dtype=float).reshape(-1)

    def scalar(self, expr: Any) -> float:
        if isinstance(expr, sp.Expr) and expr.is_number:
            return float(expr)
        return float(np.asarray(self._call(expr)).reshape(()))

    def order(self, p: Any) -> Any:
        return numeric_order(p, self.values)

    def size(self, wrt: Any) -> int:
        return int(np.asarray(self.values[wrt.name]).shape[0])

    def linear_map(self, image: Any, placeholder: Any, inner_size: int) -> np.ndarray:
        """The matrix of ``s -> image(s)``, by applying the kernel to a batch of e_i."""
        args = [placeholder, *self.owner.arguments]
        k = self.owner.kernel_for(image, args)
        basis = np.eye(inner_size)
        cols = k(basis, *[self.values[a.name] for a in self.owner.arguments])
        return np.asarray(cols, dtype=float).reshape(inner_size, -1).T


# -- the public object ------------------------------------------------------------------------

@dataclass(repr=False)
class Subdifferential(Shown):
    r"""``∂f(x)`` as a set: LaTeX, membership, minimum-norm element, support function.

    Points are given as ``at=`` an array for ``wrt`` or a dict of values by name
    (with ``wrt`` among them); other arguments may also be passed as keywords.
    Every numeric answer is exact for the set at that point (membership is certified
    either way by a distance with matching upper and lower bounds).

    Made by :func:`symnorm.subdiff`; not built by hand.

    Parameters
    ----------
    f : sympy.Expr
        The convex function.
    wrt : sympy.MatrixSymbol
        The vector variable.
    root : SetNode
        The set as a tree of set operations (sums, images under linear maps, scalings,
        a norm's subdifferential, a point), built by the rules of convex calculus.
    arguments : list, optional
        The symbols a point needs values for, ``wrt`` first.
    report : CheckReport, optional
        The check run when the set was derived (its support function against
        one-sided differences of ``f``).

    Examples
    --------
    >>> import numpy as np, symnorm as sn
    >>> x = sn.vector("x")
    >>> S = sn.subdiff(sn.norm(x, 1), x)
    >>> S
    subdiff(norm(x, 1)) = {g : g_i = sign(x_i) if x_i ≠ 0, g_i ∈ [-1, 1] if x_i = 0}
    >>> print(S.characterization())  # doctest: +ELLIPSIS
    \left\{ g : \lVert g \rVert_{\infty} \le 1,\ \langle g, x \rangle = ... \right\}
    >>> S.contains([0.3, 1.0], at=[0.0, 2.0]), S.min_norm(at=[0.0, 2.0])
    (True, array([0., 1.]))
    >>> round(S.distance([1.3, 1.0], at=[0.0, 2.0]), 12)
    0.3
    >>> A, b = sn.matrix("A"), sn.vector("b", "m")
    >>> T = sn.subdiff(sn.norm(A*x - b, 1), x)
    >>> T
    subdiff(norm(A*x - b, 1)) = A.T*subdiff(norm(A*x - b, 1))
    >>> T.min_norm(at=[1.0, 1.0], A=np.eye(2), b=[1.0, 0.0])
    array([0., 1.])
    """

    f: Any
    wrt: Any
    root: SetNode
    arguments: list = field(default_factory=list)
    _kernels: dict = field(default_factory=dict, repr=False)
    report: Any = field(default=None, repr=False)   # the check run when it was derived

    # -- display --------------------------------------------------------------------
    def _lhs(self) -> Math:
        return Math(rf"\partial {_paren_latex(self.f)}", f"subdiff({to_text(self.f)})")

    def _title_(self) -> Note:
        return note("Subdifferential of ", math_of(self.f), " with respect to ",
                    math_of(self.wrt))

    def _blocks_(self) -> list[Block]:
        """``∂f = `` the set (closed form where known); the directional derivative."""
        closed = self._closed_form()
        if closed:  # a plain norm: its set, from its rule
            rows = [Row(self._lhs(), plain_math(closed), Note("the rule of the norm"))]
        else:
            rows = [Row(self._lhs(), Math(self.root.latex(), self.root.text()),
                        Note("the rules of convex calculus"))]
        support = self.root.support_latex("d")
        rows.append(Row(Math(rf"f'({latex(self.wrt)}; d)", f"f'({to_text(self.wrt)}; d)"),
                        plain_math(support),
                        Note("the directional derivative: the support function of the set")))
        out: list[Block] = [Equations(rows)]
        char = self.characterization()
        if char:
            out.append(Paragraph(note("equivalently, ", plain_math(
                rf"\partial {_paren_latex(self.f)} = {char}"))))
        return out

    def latex(self) -> str:
        """``∂f = `` the set (``= `` its closed form for a plain norm), one formula to paste;
        ``_repr_latex_`` and documents add the directional derivative and notes."""
        out = rf"{self._lhs().latex} = {self.root.latex()}"
        closed = self._closed_form()
        if closed:
            out += rf" = {closed}"
        return out

    def _repr_latex_(self) -> str:
        return "$$" + render_mathjax(self._blocks_()) + "$$"

    def __repr__(self) -> str:
        closed = self._closed_form()
        body = plain_math(closed).text if closed else self.root.text()
        return f"{self._lhs().text} = {body}"

    def _closed_form(self) -> str | None:
        node = self.root
        if isinstance(node, NormNode) and node.image is None:
            return node.closed_form_latex()
        return None

    def characterization(self) -> str | None:
        """``{g : ‖g‖_* ≤ 1, <g, u> = ‖u‖}`` for a plain norm (LaTeX)."""
        node = self.root
        if not (isinstance(node, NormNode) and node.rule.dual_order is not None):
            return None
        q = node.rule.dual_order(node.norm.p)
        qt = r"\infty" if q == sp.oo else latex(q)
        u = latex(node.norm.arg)
        return (rf"\left\{{ g : \lVert g \rVert_{{{qt}}} \le 1,\ \langle g, {u} \rangle = "
                rf"{latex(node.norm)} \right\}}")

    def support_latex(self, d: str = "d") -> str:
        """Closed form of the directional derivative ``f'(x; d)`` (the support function)."""
        return rf"f'({latex(self.wrt)}; {d}) = {self.root.support_latex(d)}"

    # -- numbers ----------------------------------------------------------------------
    def kernel_for(self, expr: Any, args: list | None = None) -> Any:
        key = (expr, tuple(args) if args else None)
        if key not in self._kernels:
            self._kernels[key] = kernel(expr, args or self.arguments)
        return self._kernels[key]

    def _values(self, at: Any, values: dict) -> dict:
        out = {k: np.asarray(v, dtype=float) for k, v in values.items()}
        if isinstance(at, dict):
            out.update({(k.name if hasattr(k, "name") else str(k)): np.asarray(v, dtype=float)
                        for k, v in at.items()})
        elif at is not None:
            out[self.wrt.name] = np.asarray(at, dtype=float)
        if self.wrt.name not in out:
            raise ShapeError(f"give the point: at=<value of {self.wrt.name}>")
        if np.ndim(out[self.wrt.name]) != 1:
            raise ShapeError(f"{self.wrt.name} must be a 1-D array here, got shape "
                             f"{np.shape(out[self.wrt.name])}")
        return out

    def at(self, at: Any = None, **values: Any) -> NumericSet:
        """The set at a numeric point."""
        return self.root.numeric(Evaluator(self, self._values(at, values)))

    def contains(self, g: Any, at: Any = None, tol: float = 1e-8, **values: Any) -> bool:
        """Is ``g`` a subgradient at the point? (certified either way; see :meth:`distance`)"""
        return self.distance(g, at, tol=tol, **values) <= tol * max(
            1.0, float(np.linalg.norm(g)))

    def distance(self, g: Any, at: Any = None, tol: float = 1e-8, **values: Any) -> float:
        """Distance from ``g`` to the set (an upper bound that meets its lower bound)."""
        s = self.at(at, **values)
        g = np.asarray(g, dtype=float).reshape(-1)
        if g.shape[0] != s.dim:
            raise ShapeError(f"g has {g.shape[0]} entries, the set lives in R^{s.dim}")
        return s.nearest(g, tol).upper

    def min_norm(self, at: Any = None, **values: Any) -> np.ndarray:
        """The minimum-norm element: the one kernels return at kinks."""
        return self.at(at, **values).min_norm()

    def support(self, d: Any, at: Any = None, **values: Any) -> float:
        """``f'(x; d) = max_{g ∈ ∂f(x)} <g, d>``, exactly."""
        return self.at(at, **values).support(np.asarray(d, dtype=float).reshape(-1))

    directional_derivative = support

    def check(self, points: int = 3, directions: int = 4, seed: int = 0) -> Any:
        """Compare the support function with one-sided differences of ``f``.

        At random points, and at the same points with half the entries of ``wrt`` set
        to exactly 0 (where the L1-type kinks are), ``f'(x; d)`` from one-sided
        differences must equal ``max_{g ∈ ∂f(x)} <g, d>``; the minimum-norm element
        must be a member. Returns a :class:`~symnorm.CheckReport`.
        """

        def zeros(x: np.ndarray, i: int, rng: np.random.Generator) -> np.ndarray:
            x = x.copy()  # exact zeros: the kinks of L1-type terms
            x[rng.random(x.shape) < 0.5] = 0.0
            return x

        def numeric_set(vals: dict) -> Any:
            return self.at(vals[self.wrt.name],
                           **{k: v for k, v in vals.items() if k != self.wrt.name})

        return check_set(self, kernel(self.f, self.arguments), numeric_set, zeros,
                         points=points, directions=directions, seed=seed,
                         method="support function against one-sided differences (one "
                                "Richardson step), at random points and at points with "
                                "exact zeros; minimum-norm element a member")

    def min_norm_kernel(self) -> Any:
        """A function ``(wrt, *others) -> min-norm element``, batched over a leading axis.

        For a single norm it is the gradient kernel (exact, vectorised); otherwise each
        row is solved with the certified projection of :mod:`symnorm.calculus.subdiff.sets`.
        """
        names = [a.name for a in self.arguments]
        if isinstance(self.root, NormNode) and self.root.image is None:
            d = derive_gradient(self.f, self.wrt)
            return d.kernel(self.arguments)

        def min_norm_rows(*vals: Any) -> np.ndarray:
            x = np.asarray(vals[0], dtype=float)
            rest = dict(zip(names[1:], vals[1:]))
            if x.ndim == 1:
                return self.min_norm(x, **rest)
            return np.stack([self.min_norm(row, **rest) for row in x])

        min_norm_rows.__doc__ = (f"Minimum-norm subgradient of {to_text(self.f)}; "
                                 f"arguments {', '.join(names)}.")
        return min_norm_rows


def math_of(e: Any) -> Math:
    """The :class:`~symnorm.presentation.prose.Math` of an expression."""
    return Math(latex(e), to_text(e))


def _paren_latex(f: Any) -> str:
    t = latex(f)
    return rf"\left({t}\right)" if isinstance(f, (sp.Add, sp.Mul)) else t


# -- building -------------------------------------------------------------------------------

def _affine_image(u: MatrixExpr, wrt: MatrixSymbol) -> tuple[Any, Any]:
    """``(L(s), s)`` with ``L = J_u^T``; raises unless ``u`` is affine in ``wrt``."""
    placeholder = MatrixSymbol("s_", u.shape[0], 1)
    image = vjp(u, wrt, placeholder, Recorder())
    if image is None or depends(image, wrt):
        raise UnsupportedExpressionError(
            f"subdifferential of a norm of {to_text(u)}: the inner map must be affine in "
            f"{wrt} (supported: {SUPPORTED})")
    return image, placeholder


def build(f: sp.Expr, wrt: Any) -> SetNode | None:
    """The set node of ``∂f`` (None when ``f`` does not depend on ``wrt``)."""
    if not depends(f, wrt):
        return None
    if isinstance(f, sp.Add):
        parts = [p for p in (build(t, wrt) for t in f.args) if p is not None]
        return parts[0] if len(parts) == 1 else SumNode(parts)
    if isinstance(f, sp.Mul):
        coeff, rest = f.as_independent(wrt, as_Add=False)
        if coeff != 1:
            if coeff.is_negative:
                if _smooth(f, wrt):
                    return PointNode(derive_gradient(f, wrt).result)
                raise UnsupportedExpressionError(
                    f"{to_text(f)}: a negative multiple of a nonsmooth term is not convex")
            inner = build(rest, wrt)
            if isinstance(inner, PointNode):
                return PointNode(derive_gradient(f, wrt).result)
            return ScaleNode(coeff, inner) if inner is not None else None
    if isinstance(f, Norm):
        rule = norm_rule(f.p)
        if rule.subdiff is None:
            raise UnsupportedExpressionError(
                f"{to_text(f)}: the {rule.title} is not convex and has no subdifferential "
                f"({rule.broken_axiom(f.p)})")
        if f.arg == wrt:
            return NormNode(f, wrt)
        image, placeholder = _affine_image(f.arg, wrt)
        return NormNode(f, wrt, image, placeholder)
    if isinstance(f, sp.Max):
        return MaxNode([(a, build(a, wrt) or PointNode(sp.ZeroMatrix(*wrt.shape)))
                        for a in f.args])
    if _smooth(f, wrt):
        return PointNode(derive_gradient(f, wrt).result)
    node = _monotone_of_norm(f, wrt)
    if node is not None:
        return node
    raise UnsupportedExpressionError(
        f"no subdifferential rule for {to_text(f)}; supported: {SUPPORTED}")


def _smooth(f: sp.Expr, wrt: Any) -> bool:
    try:
        return not derive_gradient(f, wrt).kinks
    except UnsupportedExpressionError:
        return False


def _monotone_of_norm(f: sp.Expr, wrt: Any) -> SetNode | None:
    """``φ(‖u‖)`` with φ nondecreasing and differentiable on [0, ∞): φ'(‖u‖) ∂‖u‖."""
    norms = [a for a in f.atoms(Norm) if depends(a, wrt)]
    if len(norms) != 1:
        return None
    atom = norms[0]
    t = sp.Symbol("t", nonnegative=True)
    phi = f.xreplace({atom: t})
    if phi.has(wrt):
        return None
    slope = sp.diff(phi, t)
    if slope.is_nonnegative is not True:
        return None
    inner = build(atom, wrt)
    return ScaleNode(slope.xreplace({t: atom}), inner) if inner is not None else None


def subdiff(f: Any, wrt: Any, *, check: bool = True, **check_options: Any) -> Subdifferential:
    """The subdifferential ``∂f`` with respect to ``wrt``, as a set object.

    The set is built by the rules of convex calculus: the subdifferential of each
    norm from its rule (``‖·‖₁``, ``‖·‖₂``, ``‖·‖∞``, ``‖·‖_p`` for ``p > 1``, of an
    affine map ``Ax − b``), sums, images under linear maps, nonnegative multiples,
    ``max`` of convex terms, nondecreasing functions of a norm, and the gradient of
    differentiable terms. Like every result, it is checked before it is returned
    (``check=False`` switches that off): its support function must match one-sided
    differences of ``f`` at random points, kinks included
    (:meth:`Subdifferential.check`).

    Parameters
    ----------
    f : sympy.Expr
        A convex scalar function of ``wrt`` in the forms above.
    wrt : sympy.MatrixSymbol
        A column vector, or a matrix (then the matrix norms' sets: Frobenius, nuclear,
        spectral, sums of column 2-norms).
    check : bool, optional
        Check the set against one-sided differences before returning it (default
        True).
    **check_options
        Passed to :meth:`Subdifferential.check`: ``points`` (default 3),
        ``directions`` (default 4), ``seed`` (default 0).

    Returns
    -------
    Subdifferential
        The set: ``latex()``, ``contains(g, at=...)``, ``distance``, ``min_norm``
        (the element kernels return at kinks), ``support(d, at=...)`` (the directional
        derivative ``f'(x; d)``), ``at(...)`` (the numeric set). For a matrix ``wrt``,
        an object with the same methods for matrices.

    Raises
    ------
    UnsupportedExpressionError
        If ``f`` has a term without a subdifferential rule (the message lists the
        supported forms), or ``wrt`` is not a vector or matrix symbol.
    ShapeError
        If ``f`` is not a scalar, or shapes inside it do not fit.
    CheckFailedError
        If the set's support function disagrees with one-sided differences of ``f``.

    Examples
    --------
    >>> import numpy as np, symnorm as sn
    >>> x = sn.vector("x")
    >>> S = sn.subdiff(sn.norm(x, 1), x)
    >>> S.contains([0.3, 1.0], at=[0.0, 2.0])
    True
    >>> S.contains([1.3, 1.0], at=[0.0, 2.0])
    False
    >>> S.min_norm(at=[0.0, 2.0])
    array([0., 1.])
    >>> S.support([1.0, -1.0], at=[0.0, 2.0])   # f'(x; d) = |d_1| + sign(x_2) d_2
    0.0
    >>> A, b = sn.matrix("A"), sn.vector("b", "m")
    >>> lam = sn.scalar("lam", positive=True)
    >>> sn.subdiff(sn.norm(A*x - b, 2)**2/2 + lam*sn.norm(x, 1), x)
    subdiff(lam*norm(x, 1) + norm(A*x - b, 2)**2/2) = {A.T*(A*x - b)} + lam*subdiff(norm(x, 1))
    >>> X = sn.matrix("X")
    >>> sn.subdiff(sn.norm(X, "nuc"), X)
    subdiff(norm(X, nuc)) = {U_r V_rᵀ + Z : U_rᵀ Z = 0, Z V_r = 0, ‖Z‖₂ ≤ 1}
    >>> sn.subdiff(-sn.norm(x, 2), x)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symnorm.UnsupportedExpressionError: -norm(x, 2): a negative multiple of a nonsmooth ...
    """
    f = as_scalar(f)
    check_shapes(f)
    check_wrt(f, wrt)
    if isinstance(wrt, MatrixSymbol) and wrt.shape[0] != 1 and wrt.shape[1] != 1:
        return matrix_subdiff(f, wrt, check=check, **check_options)  # type: ignore[return-value]
    if not (isinstance(wrt, MatrixSymbol) and wrt.shape[1] == 1):
        raise UnsupportedExpressionError(f"subdiff() needs a column vector wrt, got {wrt!r}")
    root = build(f, wrt)
    if root is None:
        root = PointNode(sp.ZeroMatrix(*wrt.shape))
    out = Subdifferential(f=f, wrt=wrt, root=root, arguments=free_arguments(f, first=wrt))
    return ensure_set(out, f, check, check_options)
