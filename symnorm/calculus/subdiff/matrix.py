r"""Subdifferentials of matrix norms as sets: membership, minimum-norm element, support.

Each set is the subdifferential of one norm at a numeric matrix ``X`` (Watson 1992,
"Characterization of the subdifferential of some matrix norms"), with an exact
Frobenius projection, so the distance from a candidate ``G`` to the set is computed, not
estimated, and membership is decided by it:

* nuclear: ``{U_r V_r^T + W : U_r^T W = 0, W V_r = 0, ‖W‖_2 <= 1}``, ``r = rank X``;
  projection: keep ``U_r V_r^T``, clip the singular values of ``(I - U_r U_r^T) G
  (I - V_r V_r^T)`` at 1; support ``<U_r V_r^T, D> + ‖P_U^⊥ D P_V^⊥‖_*``;
* spectral: ``conv{u v^T : (u, v) a top singular pair} = {U_k S V_k^T : S ⪰ 0, tr S = 1}``
  (the nuclear unit ball at 0); projection: ``U_k^T G V_k`` symmetrised, its eigenvalues
  projected onto the simplex; support ``λ_max(sym(U_k^T D V_k))`` (``‖D‖_2`` at 0);
* Frobenius: ``{X/‖X‖_F}``, the Frobenius unit ball at 0;
* mixed L_{2,1}: ``x_j/‖x_j‖_2`` on nonzero columns, the unit ball on zero columns.

Singular values are equal (or zero) within the SVD's error bound ``max(m, n) eps s_1``
(:func:`symnorm.numeric.matrices.sv_tolerance`), as the kernels decide them.

:func:`matrix_subdiff` (reached through
:func:`symnorm.subdiff` when ``wrt`` is a matrix)
builds ``∂f`` for ``f = c*‖X‖ + (differentiable terms)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixSymbol

from ...check import check_set, ensure_set
from ...kernels.arguments import free_arguments
from ...kernels.kernel import kernel
from ...model.atoms import Norm
from ...model.errors import ShapeError, UnsupportedExpressionError
from ...model.text import to_text
from ...numeric.matrices import _project_l1_ball_sorted, sv_tolerance
from ...presentation.blocks import Block, Equations, Row, Shown, render_mathjax
from ...presentation.latex import latex
from ...presentation.prose import Math, Note, note, plain_math
from ..engine import derive_gradient

Array = np.ndarray

__all__ = ["ColumnL2Set", "FrobeniusSet", "MatrixSet", "MatrixSubdifferential",
           "NuclearSet", "SpectralSet", "matrix_subdiff", "norm_set"]


def _svd(x: Array) -> tuple[Array, Array, Array]:
    return np.linalg.svd(x, full_matrices=False)


def _rank(s: Array, shape: tuple[int, int]) -> int:
    return int(np.sum(s > sv_tolerance(s, shape)[0])) if s.size and s[0] > 0 else 0


class MatrixSet:
    """A closed convex set of matrices with an exact Frobenius projection."""

    shape: tuple[int, int]

    def project(self, g: Array) -> Array:
        raise NotImplementedError

    def support(self, d: Array) -> float:
        """``max_{G in set} <G, D>`` (trace pairing)."""
        raise NotImplementedError

    def support_point(self, d: Array) -> Array:
        raise NotImplementedError

    def distance(self, g: Array) -> float:
        """Frobenius distance from ``g`` to the set (exact: the projection is closed form)."""
        g = self._as(g)
        return float(np.linalg.norm(g - self.project(g)))

    def contains(self, g: Array, tol: float = 1e-8) -> bool:
        g = self._as(g)
        return self.distance(g) <= tol * max(1.0, float(np.linalg.norm(g)))

    def min_norm(self) -> Array:
        return self.project(np.zeros(self.shape))

    def _as(self, g: Any) -> Array:
        g = np.asarray(g, dtype=float)
        if g.shape != self.shape:
            raise ShapeError(f"the candidate has shape {g.shape}; the set lives in "
                             f"{self.shape[0]}x{self.shape[1]} matrices")
        return g


@dataclass
class FrobeniusSet(MatrixSet):
    """``∂‖X‖_F``: ``{X/‖X‖_F}``, or the Frobenius unit ball at 0."""

    x: Array

    def __post_init__(self) -> None:
        self.shape = self.x.shape
        n = float(np.linalg.norm(self.x))
        self.point = self.x / n if n > 0 else None

    def project(self, g: Array) -> Array:
        if self.point is not None:
            return self.point.copy()
        n = float(np.linalg.norm(g))
        return g / n if n > 1 else np.array(g, dtype=float)

    def support(self, d: Array) -> float:
        return float(np.sum(self.point * d)) if self.point is not None else \
            float(np.linalg.norm(d))

    def support_point(self, d: Array) -> Array:
        if self.point is not None:
            return self.point.copy()
        n = float(np.linalg.norm(d))
        return d / n if n > 0 else np.zeros(self.shape)


@dataclass
class NuclearSet(MatrixSet):
    """``∂‖X‖_*``: ``{U_r V_r^T + W : U_r^T W = 0, W V_r = 0, ‖W‖_2 <= 1}``."""

    x: Array

    def __post_init__(self) -> None:
        self.shape = self.x.shape
        u, s, vt = _svd(self.x)
        r = _rank(s, self.x.shape)
        self.rank = r
        self.u, self.v = u[:, :r], vt[:r].T
        self.base = self.u @ self.v.T

    def _perp(self, g: Array) -> Array:
        """``(I - U U^T) g (I - V V^T)``: the part of ``g`` the set leaves free."""
        g = g - self.u @ (self.u.T @ g)
        return g - (g @ self.v) @ self.v.T

    def project(self, g: Array) -> Array:
        w = self._perp(g)
        if not np.any(w):
            return self.base.copy()
        u, s, vt = _svd(w)
        return self.base + (u * np.minimum(s, 1.0)) @ vt

    def support(self, d: Array) -> float:
        w = self._perp(d)
        return float(np.sum(self.base * d) + np.linalg.svd(w, compute_uv=False).sum())

    def support_point(self, d: Array) -> Array:
        w = self._perp(d)
        u, s, vt = _svd(w)
        keep = (s > sv_tolerance(s, w.shape)[0]) if s.size and s[0] > 0 else \
            np.zeros_like(s, bool)
        return self.base + (u * keep) @ vt


def _project_simplex(lam: Array) -> Array:
    order = np.sort(lam)[::-1]
    return np.maximum(lam - _simplex_theta(order), 0.0)


def _simplex_theta(desc: Array) -> float:
    css = np.cumsum(desc)
    k = np.arange(1, desc.size + 1)
    ok = desc - (css - 1) / k > 0
    j = int(np.nonzero(ok)[0][-1])
    return float((css[j] - 1) / (j + 1))


@dataclass
class SpectralSet(MatrixSet):
    """``∂‖X‖_2``: ``{U_k S V_k^T : S ⪰ 0, tr S = 1}`` over the k top singular pairs;
    the nuclear unit ball at 0."""

    x: Array

    def __post_init__(self) -> None:
        self.shape = self.x.shape
        u, s, vt = _svd(self.x)
        self.zero = not (s.size and s[0] > 0)
        k = 0 if self.zero else int(np.sum(s >= s[0] - sv_tolerance(s, self.x.shape)[0]))
        self.multiplicity = k
        self.u, self.v = u[:, :k], vt[:k].T

    def project(self, g: Array) -> Array:
        if self.zero:  # the nuclear unit ball: project the singular values onto the L1 ball
            u, s, vt = _svd(g)
            return (u * _project_l1_ball_sorted(s, np.asarray(1.0))) @ vt
        m = self.u.T @ g @ self.v
        sym = (m + m.T) / 2
        lam, q = np.linalg.eigh(sym)
        s = (q * _project_simplex(lam)) @ q.T
        return self.u @ s @ self.v.T

    def support(self, d: Array) -> float:
        if self.zero:
            return float(np.linalg.svd(d, compute_uv=False)[0])
        m = self.u.T @ d @ self.v
        return float(np.linalg.eigvalsh((m + m.T) / 2)[-1])

    def support_point(self, d: Array) -> Array:
        if self.zero:
            u, s, vt = _svd(d)
            return np.outer(u[:, 0], vt[0]) if s[0] > 0 else np.zeros(self.shape)
        m = self.u.T @ d @ self.v
        lam, q = np.linalg.eigh((m + m.T) / 2)
        top = q[:, -1]
        return self.u @ np.outer(top, top) @ self.v.T


@dataclass
class ColumnL2Set(MatrixSet):
    """``∂‖X‖_{2,1}``: ``x_j/‖x_j‖_2`` on nonzero columns, the unit ball on zero ones."""

    x: Array

    def __post_init__(self) -> None:
        self.shape = self.x.shape
        self.norms = np.linalg.norm(self.x, axis=0)
        self.nonzero = self.norms > 0
        self.point = np.where(self.nonzero, self.x / np.where(self.nonzero, self.norms, 1), 0)

    def project(self, g: Array) -> Array:
        n = np.linalg.norm(g, axis=0)
        ball = g / np.maximum(n, 1.0)
        return np.where(self.nonzero, self.point, ball)

    def support(self, d: Array) -> float:
        return float(np.sum(self.point * d) + np.sum(np.linalg.norm(d, axis=0)[~self.nonzero]))

    def support_point(self, d: Array) -> Array:
        n = np.linalg.norm(d, axis=0)
        free = np.where(n > 0, d / np.where(n > 0, n, 1), 0)
        return np.where(self.nonzero, self.point, free)


@dataclass
class ShiftedSet(MatrixSet):
    """``offset + c * inner`` (c >= 0): a scaled norm plus differentiable terms."""

    offset: Array
    scale: float
    inner: MatrixSet | None

    def __post_init__(self) -> None:
        self.shape = self.offset.shape

    def project(self, g: Array) -> Array:
        if self.inner is None or self.scale == 0:
            return self.offset.copy()
        return self.offset + self.scale * self.inner.project((g - self.offset) / self.scale)

    def support(self, d: Array) -> float:
        rest = 0.0 if self.inner is None else self.scale * self.inner.support(d)
        return float(np.sum(self.offset * d)) + rest

    def support_point(self, d: Array) -> Array:
        if self.inner is None:
            return self.offset.copy()
        return self.offset + self.scale * self.inner.support_point(d)


_SETS = {"fro": FrobeniusSet, "nuc": NuclearSet, "spectral": SpectralSet}

_SET_LATEX = {
    "fro": lambda x: (rf"\begin{{cases}} \left\{{ \frac{{{x}}}{{\lVert {x} \rVert_F}} "
                      rf"\right\}} & {x} \neq 0 \\ \left\{{ G : \lVert G \rVert_F \le 1 "
                      rf"\right\}} & {x} = 0 \end{{cases}}"),
    "nuc": lambda x: (r"\left\{ U_r V_r^{\top} + Z : U_r^{\top} Z = 0,\ Z V_r = 0,\ "
                      r"\lVert Z \rVert_2 \le 1 \right\}"),
    "spectral": lambda x: (r"\operatorname{conv}\left\{ u v^{\top} : \sigma_1 u = "
                           rf"{x} v,\ \lVert u \rVert_2 = \lVert v \rVert_2 = 1 \right\}} = "
                           r"\left\{ U_k S V_k^{\top} : S \succeq 0,\ \operatorname{tr} S = 1 "
                           r"\right\}"),
    "mixed21": lambda x: (rf"\left\{{ G : g_j = \frac{{{x}_j}}{{\lVert {x}_j \rVert_2}} "
                          rf"\text{{ if }} {x}_j \neq 0,\ \lVert g_j \rVert_2 \le 1 "
                          rf"\text{{ if }} {x}_j = 0 \right\}}"),
}

_SUPPORT_LATEX = {
    "fro": lambda x: (rf"\begin{{cases}} \frac{{\langle {x}, D \rangle}}{{\lVert {x} "
                      rf"\rVert_F}} & {x} \neq 0 \\ \lVert D \rVert_F & {x} = 0 "
                      r"\end{cases}"),
    "nuc": lambda x: (r"\langle U_r V_r^{\top}, D \rangle + \left\lVert (I - U_r U_r^{\top})"
                      r" D (I - V_r V_r^{\top}) \right\rVert_*"),
    "spectral": lambda x: r"\lambda_{\max}\left( \operatorname{sym}(U_k^{\top} D V_k) \right)",
    "mixed21": lambda x: (rf"\sum_{{j : {x}_j \neq 0}} \frac{{\langle {x}_j, d_j \rangle}}"
                          rf"{{\lVert {x}_j \rVert_2}} + \sum_{{j : {x}_j = 0}} \lVert d_j "
                          r"\rVert_2"),
}


def _set_key(n: Norm) -> str:
    kind = n.p.kind
    if kind == "mixed" and n.p.pq == (2, 1):
        return "mixed21"
    if kind in _SETS:
        return kind
    raise UnsupportedExpressionError(
        f"no subdifferential set for {to_text(n)}; matrix norms with sets: 'fro', 'nuc', "
        f"2 (spectral), (2, 1)")


def norm_set(n: Norm, x: Any) -> MatrixSet:
    """``∂‖·‖`` of the matrix norm ``n`` at the numeric matrix ``x``.

    >>> import numpy as np, symnorm as sn
    >>> S = norm_set(sn.norm(sn.matrix("X"), 2), np.eye(2))
    >>> S.min_norm()
    array([[0.5, 0. ],
           [0. , 0.5]])
    >>> S.contains(np.diag([1.0, 0.0])), S.contains(np.eye(2))
    (True, False)
    """
    x = np.asarray(x, dtype=float)
    key = _set_key(n)
    return ColumnL2Set(x) if key == "mixed21" else _SETS[key](x)


# -- the public object --------------------------------------------------------------------------

@dataclass(repr=False)
class MatrixSubdifferential(Shown):
    """``∂f(X)`` for ``f = c‖X‖ + (differentiable terms)``: LaTeX, membership, minimum-norm
    element, support function (the directional derivative ``f'(X; D)``).

    >>> import numpy as np, symnorm as sn
    >>> X = sn.matrix("X", 2, 2)
    >>> S = sn.subdiff(sn.norm(X, "nuc"), X)
    >>> S.contains(np.diag([1.0, 0.3]), at=np.diag([2.0, 0.0]))
    True
    >>> S.contains(np.diag([1.0, 1.3]), at=np.diag([2.0, 0.0]))
    False
    >>> S.min_norm(at=np.diag([2.0, 0.0]))
    array([[1., 0.],
           [0., 0.]])
    >>> S.support(np.diag([1.0, -1.0]), at=np.diag([2.0, 0.0]))   # 1 + |-1|
    2.0
    """

    f: Any
    wrt: Any
    norm: Norm | None
    coeff: sp.Expr
    smooth: Any            # gradient of the differentiable part (None when there is none)
    arguments: list = field(default_factory=list)
    report: Any = field(default=None, repr=False)
    _kernels: dict = field(default_factory=dict, repr=False)

    def _set_latex(self) -> str:
        x = latex(self.wrt)
        parts = []
        if self.smooth is not None:
            parts.append(rf"\left\{{ {latex(self.smooth)} \right\}}")
        if self.norm is not None:
            inner = _SET_LATEX[_set_key(self.norm)](x)
            c = "" if self.coeff == 1 else latex(self.coeff) + r"\, "
            parts.append(c + inner)
        return " + ".join(parts)

    def _title_(self) -> Note:
        return note("Subdifferential of ", Math(latex(self.f), to_text(self.f)),
                    " with respect to ", Math(latex(self.wrt), to_text(self.wrt)))

    def _blocks_(self) -> list[Block]:
        """``∂f = `` the set (Watson's characterisation), the directional derivative."""
        lhs = Math(rf"\partial \left({latex(self.f)}\right)", f"subdiff({to_text(self.f)})")
        support = self.support_latex()
        head, _, body = support.partition(" = ")
        key = _set_key(self.norm) if self.norm is not None else ""
        x = latex(self.wrt)
        why = {"nuc": rf"$U_r$, $V_r$: the singular vectors of the $r$ nonzero singular "
                      rf"values of ${x}$ (Watson 1992)",
               "spectral": rf"$u$, $v$ and $U_k$, $V_k$: the singular vectors of the $k$ tied "
                           rf"largest singular values of ${x}$ (Watson 1992)"}.get(key, "")
        rows = [Row(lhs, Math(self._set_latex(), self.text().partition(" = ")[2]), Note(why)),
                Row(plain_math(head), plain_math(body),
                    Note("the directional derivative: the support function of the set"))]
        return [Equations(rows)]

    def latex(self) -> str:
        """``∂f = `` the set, one formula to paste (``_repr_latex_`` and documents add the
        directional derivative and notes)."""
        return rf"\partial \left({latex(self.f)}\right) = " + self._set_latex()

    def _repr_latex_(self) -> str:
        return "$$" + render_mathjax(self._blocks_()) + "$$"

    def __repr__(self) -> str:
        return self.text()

    def support_latex(self, d: str = "D") -> str:
        """Closed form of ``f'(X; D)``."""
        parts = []
        if self.smooth is not None:
            parts.append(rf"\langle {latex(self.smooth)}, {d} \rangle")
        if self.norm is not None:
            inner = _SUPPORT_LATEX[_set_key(self.norm)](latex(self.wrt)).replace("D", d)
            parts.append(inner if self.coeff == 1 else
                         rf"{latex(self.coeff)} \left( {inner} \right)")
        return rf"f'({latex(self.wrt)}; {d}) = " + " + ".join(parts)

    def text(self) -> str:
        """``subdiff(f) = {smooth gradient} + c*subdiff(norm(X, p))``."""
        parts = [] if self.smooth is None else ["{" + to_text(self.smooth) + "}"]
        if self.norm is not None:
            c = "" if self.coeff == 1 else to_text(self.coeff) + "*"
            inner = plain_math(_SET_LATEX[_set_key(self.norm)](latex(self.wrt))).text
            parts.append(f"{c}{inner}")
        return f"subdiff({to_text(self.f)}) = " + " + ".join(parts)

    # -- numbers --------------------------------------------------------------------------
    def _kernel(self, expr: Any) -> Any:
        if expr not in self._kernels:
            self._kernels[expr] = kernel(expr, self.arguments)
        return self._kernels[expr]

    def _values(self, at: Any, values: dict) -> dict:
        out = {k: np.asarray(v, dtype=float) for k, v in values.items()}
        if isinstance(at, dict):
            out.update({getattr(k, "name", str(k)): np.asarray(v, dtype=float)
                        for k, v in at.items()})
        elif at is not None:
            out[self.wrt.name] = np.asarray(at, dtype=float)
        if self.wrt.name not in out:
            raise ShapeError(f"give the point: at=<value of {self.wrt.name}>")
        if out[self.wrt.name].ndim != 2:
            raise ShapeError(f"{self.wrt.name} must be a matrix (2-D array) here, got shape "
                             f"{out[self.wrt.name].shape}")
        missing = [a.name for a in self.arguments if a.name not in out]
        if missing:
            raise ShapeError(f"values needed for {', '.join(missing)}")
        return out

    def at(self, at: Any = None, **values: Any) -> MatrixSet:
        """The set at a numeric point."""
        vals = self._values(at, values)
        args = [vals[a.name] for a in self.arguments]
        x = vals[self.wrt.name]
        offset = np.zeros(x.shape) if self.smooth is None else \
            np.asarray(self._kernel(self.smooth)(*args), dtype=float).reshape(x.shape)
        if self.norm is None:
            return ShiftedSet(offset, 0.0, None)
        c = float(self.coeff) if self.coeff.is_number else \
            float(np.asarray(self._kernel(self.coeff)(*args)))
        if c < 0:
            raise UnsupportedExpressionError(f"the coefficient {to_text(self.coeff)} = {c:g} "
                                             f"is negative: not convex")
        u = np.asarray(self._kernel(self.norm.arg)(*args), dtype=float).reshape(x.shape)
        return ShiftedSet(offset, c, norm_set(self.norm, u))

    def contains(self, g: Any, at: Any = None, tol: float = 1e-8, **values: Any) -> bool:
        """Is ``g`` a subgradient at the point? (decided by the exact distance)"""
        return self.at(at, **values).contains(g, tol)

    def distance(self, g: Any, at: Any = None, **values: Any) -> float:
        """Frobenius distance from ``g`` to the set (exact projection)."""
        return self.at(at, **values).distance(g)

    def min_norm(self, at: Any = None, **values: Any) -> Array:
        """The minimum-norm element (what the gradient kernels return at kinks)."""
        return self.at(at, **values).min_norm()

    def support(self, d: Any, at: Any = None, **values: Any) -> float:
        """``f'(X; D) = max_{G ∈ ∂f(X)} <G, D>``, exactly."""
        return self.at(at, **values).support(np.asarray(d, dtype=float))

    directional_derivative = support

    def min_norm_kernel(self) -> Any:
        """A function ``(X, *others) -> min-norm element``, batched over leading axes: the
        gradient kernel, which returns the minimum-norm subgradient at kinks."""

        return derive_gradient(self.f, self.wrt).kernel(self.arguments)

    def check(self, points: int = 3, directions: int = 3, seed: int = 0) -> Any:
        """Support function against one-sided differences of ``f``, at random points and
        at kinks (a rank-deficient matrix, a repeated top singular value, a zero column,
        0); the minimum-norm element must be a member."""

        return check_set(self, self._kernel(self.f), self.at, _kink_point, points=points,
                         directions=directions, seed=seed,
                         errors=(ValueError, ArithmeticError, np.linalg.LinAlgError),
                         method="support function against one-sided differences at "
                                "random points and at kinks (rank-deficient, tied top "
                                "singular values, zero columns, 0)")


def _kink_point(x: Array, i: int, rng: np.random.Generator) -> Array:
    m, n = x.shape
    k = min(m, n)
    u, _, vt = _svd(x)
    kind = i % 4
    if kind == 0:      # rank one: nuclear kink
        s = np.zeros(k)
        s[0] = 1.5
    elif kind == 1:    # repeated top singular value: spectral kink
        s = np.full(k, 1.2)
        s[-1] = 0.4 if k > 2 else s[-1]
    elif kind == 2:    # a zero column
        y = x.copy()
        y[:, 0] = 0.0
        return y
    else:
        return np.zeros_like(x)
    return (u * s) @ vt


def matrix_subdiff(f: Any, wrt: MatrixSymbol, *, check: bool = True,
                   **check_options: Any) -> MatrixSubdifferential:
    """``∂f`` for ``f = c*norm(X, kind) + (differentiable terms)``, ``X`` = ``wrt`` a matrix
    and ``kind`` one of 'fro', 'nuc', 2, (2, 1); checked like the vector sets.

    >>> import numpy as np, symnorm as sn
    >>> X = sn.matrix("X", 2, 3)
    >>> S = matrix_subdiff(sn.norm(X, 2), X)
    >>> S.support(np.eye(2, 3), at=np.eye(2, 3))   # the larger of the two diagonal entries
    1.0
    """

    norms = [a for a in f.atoms(Norm) if a.has(wrt) and a.arg == wrt
             and getattr(a.p, "kind", None) is not None]
    smooth_terms, coeff, found = [], sp.Integer(0), None
    for term in sp.Add.make_args(f):
        c, dep = term.as_independent(wrt, as_Add=False)
        if isinstance(dep, Norm) and dep in norms:
            if found is not None and dep != found:
                raise UnsupportedExpressionError(
                    f"{to_text(f)}: a sum of different matrix norms of {wrt} has no "
                    "closed-form subdifferential here")
            if c.is_negative:
                raise UnsupportedExpressionError(f"{to_text(term)}: a negative multiple of "
                                                 "a norm is not convex")
            found, coeff = dep, coeff + c
        elif term.has(wrt):
            smooth_terms.append(term)
    if found is not None:
        _set_key(found)
    smooth = None
    if smooth_terms:
        d = derive_gradient(sp.Add(*smooth_terms), wrt)
        if d.kinks:
            raise UnsupportedExpressionError(
                f"{to_text(sp.Add(*smooth_terms))} is not differentiable everywhere; "
                f"supported: c*norm({wrt}, kind) plus differentiable terms")
        smooth = d.result
    out = MatrixSubdifferential(f=f, wrt=wrt, norm=found, coeff=coeff if found else
                                sp.Integer(0), smooth=smooth,
                                arguments=free_arguments(f, first=wrt))

    return ensure_set(out, f, check, check_options)
