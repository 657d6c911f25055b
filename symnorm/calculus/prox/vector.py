r"""Proximal operators: ``prox_f(v) = argmin_x f(x) + ||x - v||_2**2/2`` in closed form.

The result type :class:`Prox` (its steps, kernel and display) and the check of its
optimality condition ``v - prox(v) ∈ ∂f(prox(v))`` with the norms' exact
subdifferentials. Which ``f`` has a closed form, and the derivation, are in
:mod:`symnorm.calculus.prox.forms`; the closed forms themselves belong to the norms'
rules.

>>> import numpy as np
>>> import symnorm as sn
>>> x, lam = sn.vector("x"), sn.scalar("lam", positive=True)
>>> P = sn.prox(lam*sn.norm(x, 1), x)
>>> print(sn.to_text(P.result))
soft(v, lam)
>>> P.kernel()(np.array([3.0, -0.5, 0.0, -2.0]), 1.0)
array([ 2.,  0.,  0., -1.])
>>> P.report.ok
True
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixSymbol

from ...check import fixed_points, format_value, verdict_html
from ...kernels.arguments import free_arguments, is_dimension
from ...kernels.kernel import kernel
from ...model.atoms import Norm
from ...model.errors import ShapeError
from ...model.text import to_text
from ...presentation.blocks import Block, Equations, Shown, Table, number
from ...presentation.latex import latex as to_latex
from ...presentation.prose import Math, Note, note
from ...rules import NormRule, norm_rule, numeric_order
from ..derivation import Step, step_rows

__all__ = ["Prox", "ProxCheckReport", "ProxPoint", "split_norm_terms"]

METHOD = ("optimality condition (v - (1 + mu) prox(v))/lam in the subdifferential of the "
          "norm at prox(v), tested with the norm rule's exact membership test")

FORM_METHOD = ("optimality condition (v - (1 + mu) prox(v))/c in sum_p lam_p times the "
               "subdifferential of the norm p at c prox(v) - a (f = sum_p lam_p "
               "||c x - a||_p + mu/2 ||x||^2), tested with the norms' exact sets (a "
               "certified distance for a sum)")

_DOT = "XDOTPLACEHOLDERX"  # stands for the argument of f in prox_{f}


# -- display objects for the steps --------------------------------------------------------

def _function_of_dot(g: sp.Expr, wrt: MatrixSymbol) -> tuple[str, str]:
    """LaTeX and text of ``g`` with its argument written as a dot (``λ‖·‖₁``)."""
    dot = MatrixSymbol(_DOT, *wrt.shape)
    e = g.xreplace({wrt: dot})
    tex = to_latex(e)
    tex = tex.replace(rf"\left\lVert {_DOT} \right\rVert", r"\lVert\cdot\rVert")
    return tex.replace(_DOT, r"\cdot"), to_text(e).replace(_DOT, ".")


@dataclass(frozen=True)
class ProxOf:
    """``coeff * prox_g(arg)``, unevaluated, for steps (``g`` a function of ``wrt``)."""

    g: Any
    wrt: Any
    arg: Any
    coeff: Any = sp.Integer(1)

    def latex(self) -> str:
        tex, _ = _function_of_dot(self.g, self.wrt)
        arg = self.arg.latex() if isinstance(self.arg, ProxOf) else to_latex(self.arg)
        arg = f"({arg})" if isinstance(self.arg, MatrixSymbol) else rf"\left({arg}\right)"
        out = rf"\operatorname{{prox}}_{{{tex}}}{arg}"
        if self.coeff != 1:
            c = to_latex(self.coeff)
            c = rf"\left({c}\right)" if isinstance(self.coeff, sp.Add) else c
            out = rf"{c} \, {out}"
        return out

    def text(self) -> str:
        _, txt = _function_of_dot(self.g, self.wrt)
        arg = self.arg.text() if isinstance(self.arg, ProxOf) else to_text(self.arg)
        out = f"prox_{{{txt}}}({arg})"
        if self.coeff != 1:
            c = to_text(self.coeff)
            c = f"({c})" if isinstance(self.coeff, sp.Add) else c
            out = f"{c}*{out}"
        return out


@dataclass(frozen=True)
class Argmin:
    """``argmin_wrt expr``, unevaluated, for steps."""

    expr: Any
    wrt: Any

    def latex(self) -> str:
        return (rf"\operatorname{{argmin}}_{{{to_latex(self.wrt)}}} \left( "
                rf"{to_latex(self.expr)} \right)")

    def text(self) -> str:
        return f"argmin_{to_text(self.wrt)}({to_text(self.expr)})"


# -- the optimality check ---------------------------------------------------------------

@dataclass
class ProxPoint:
    """The check at one point: argument values, prox(v), the implied subgradient."""

    values: dict[str, Any]
    prox: Any = None
    subgradient: Any = None
    distance: float = float("nan")   # from the subgradient to the subdifferential
    tolerance: float = 0.0
    ok: bool = False
    problem: str = ""


@dataclass(repr=False)
class ProxCheckReport:
    """Result of :meth:`Prox.check`: ``ok``, the distance at each point, the method."""

    expression: str
    result: str
    method: str
    points: list[ProxPoint]

    @property
    def ok(self) -> bool:
        return bool(self.points) and all(p.ok for p in self.points)

    def __bool__(self) -> bool:
        return self.ok

    @property
    def errors(self) -> list[float]:
        """Distance from the implied subgradient to the subdifferential, per point."""
        return [p.distance for p in self.points]

    def summary(self) -> str:
        verdict = "PASS" if self.ok else "FAIL"
        lines = [f"{verdict}: prox {self.result} of {self.expression}",
                 f"  {len(self.points)} point(s); method: {self.method}"]
        for i, p in enumerate(self.points):
            state = "ok" if p.ok else "FAILED"
            detail = p.problem or (f"distance to the subdifferential {p.distance:.3g} "
                                   f"(tolerance {p.tolerance:.3g})")
            lines.append(f"  point {i}: {state}, {detail}")
            if not p.ok:
                for name, val in p.values.items():
                    lines.append(f"    {name} = {format_value(val)}")
                if p.prox is not None:
                    lines.append(f"    prox = {format_value(p.prox)}")
                if p.subgradient is not None:
                    lines.append(f"    implied subgradient = {format_value(p.subgradient)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        worst = max(self.errors, default=float("nan"))
        return (f"<ProxCheckReport {'PASS' if self.ok else 'FAIL'}: prox {self.result} of "
                f"{self.expression} at {len(self.points)} point(s), largest distance "
                f"{worst:.2g}>")

    def _compact_blocks_(self) -> list[Block]:
        """One row: the points, the largest distance and its tolerance, the verdict."""
        worst = max(self.points, key=lambda p: (not p.ok, p.distance / (p.tolerance or 1)),
                    default=None)
        verdict = Note("pass") if self.ok else Note(r"$\textbf{FAIL}$", "FAIL")
        row = [Note(str(len(self.points))),
               number(worst.distance if worst else float("nan")),
               number(worst.tolerance if worst else float("nan")), verdict]
        return [Table(["points", "distance", "tolerance", "verdict"], [row], align="rrrl",
                      in_text=False,
                      caption=Note.of("checked: the implied subgradient lies in the "
                                      "subdifferential (distance to the set)"))]

    def _repr_html_(self) -> str:
        title = f"prox {html.escape(self.result)} of {html.escape(self.expression)}"
        return verdict_html(self.ok, title, self.method, "distance",
                            [(p.ok, p.problem or f"{p.distance:.3g}") for p in self.points])

    def to_dict(self) -> dict:
        return {"ok": self.ok, "method": self.method, "expression": self.expression,
                "result": self.result, "errors": self.errors,
                "points": [{"ok": p.ok, "distance": p.distance, "tolerance": p.tolerance,
                            "problem": p.problem} for p in self.points]}


def _snap(u: np.ndarray, rtol: float = 1e-10) -> np.ndarray:
    """``u`` with near-ties of its largest |entry| made exact and near-zeros made 0.

    Rounding in ``v - proj(v)`` breaks exact ties that the optimality condition of the
    max-norm relies on; moving ``u`` by at most ``rtol * max|u|`` restores them.
    """
    a = np.abs(u)
    top = float(a.max()) if a.size else 0.0
    if top == 0 or not np.isfinite(top):
        return u
    s = np.array(u, dtype=float)
    s[a <= rtol * top] = 0.0
    near = a >= top * (1 - rtol)
    s[near] = np.sign(u[near]) * top
    return s


# -- the result -------------------------------------------------------------------------

@dataclass(repr=False)
class Prox(Shown):
    """A derived proximal operator ``prox_f(v)`` in closed form, with its steps.

    ``f = lam*||x|| + mu/2*||x||_2**2`` was matched with ``lam`` the coefficient of the
    norm (``None`` when there is none) and ``mu`` that of the quadratic (0 when none).
    ``result`` is an expression in ``v`` and ``params`` (and group labels, if any).
    ``repr`` is the result as one line; ``latex()`` and the Jupyter display show every
    step with its rule, then the check.

    Made by :func:`symnorm.prox`; not built by hand.

    Parameters
    ----------
    f : sympy.Expr
        The function whose prox this is.
    wrt : sympy.MatrixSymbol
        Its variable.
    v : sympy.MatrixSymbol
        The prox's argument (``v``, or ``V`` for a matrix), of the shape of ``wrt``.
    params : list of sympy.Symbol
        The scalar parameters of ``f`` (``lam``, ``mu``), the kernel's arguments after
        ``v``.
    result : sympy.Basic
        ``prox_f(v)`` in closed form.
    steps : list of Step, optional
        The derivation, one rule a line.
    lam : sympy.Expr, optional
        The coefficient of the norm (``None`` when there is none).
    mu : sympy.Expr, optional
        The coefficient of ``||x||_2**2/2`` (default 0).
    rule : NormRule, optional
        The registered rule of the norm matched.
    p : sympy.Basic, optional
        The order of that norm.
    form : object, optional
        The matched form (vectors; internal).
    report : ProxCheckReport, optional
        The check of the optimality condition run when it was derived.

    Examples
    --------
    >>> import numpy as np
    >>> import symnorm as sn
    >>> x, lam = sn.vector("x"), sn.scalar("lam", positive=True)
    >>> P = sn.prox(lam*sn.norm(x, "oo"), x)
    >>> P
    prox_{lam*norm(., oo)}(v) = v - proj_l1ball(v, lam)
    >>> P.v, P.params, P.lam, P.mu
    (v, [lam], lam, 0)
    >>> P.kernel()(np.array([[3.0, -3.0, 1.0], [0.1, 0.0, -0.2]]), 2.0)
    array([[ 2., -2.,  1.],
           [ 0.,  0.,  0.]])
    >>> P.check(points=6, seed=1).ok
    True
    """

    f: Any
    wrt: Any
    v: Any
    params: list
    result: Any
    steps: list[Step] = field(default_factory=list)
    lam: Any = None
    mu: Any = sp.Integer(0)
    rule: NormRule | None = None
    p: Any = None
    form: Any = field(default=None, repr=False)   # the matched ProxForm (vectors)
    report: ProxCheckReport | None = field(default=None, repr=False)
    _kernel: Any = field(default=None, init=False, repr=False, compare=False)

    # -- display -------------------------------------------------------------------
    def _title_(self) -> Note:
        """``Proximal operator of λ‖·‖₁``."""
        tex, text = _function_of_dot(self.f, self.wrt)
        return note("Proximal operator of ", Math(tex, text))

    def _blocks_(self) -> list[Block]:
        out: list[Block] = [Equations(step_rows(self.steps))]
        if self.report is not None:
            out += self.report._compact_blocks_()
        return out

    def latex(self) -> str:
        r"""LaTeX source: an ``aligned`` block, one step a line, numbered at the right, the
        rules and the check written under it."""

        return Shown.latex(self)

    def __repr__(self) -> str:
        """``prox_{lam*norm(., 1)}(v) = soft(v, lam)``."""
        return f"{ProxOf(self.f, self.wrt, self.v).text()} = {to_text(self.result)}"

    # -- use -----------------------------------------------------------------------
    def arguments(self) -> list:
        """Kernel arguments: ``v``, the scalar parameters by name, then group labels."""

        others = [s for s in free_arguments(self.result, first=self.v)[1:]
                  if s not in self.params]
        return [self.v, *self.params, *others]

    def kernel(self, *, backend: str | None = None) -> Any:
        """A numpy kernel ``k(v, lam, ..., out=None)``: any n, batched over leading axes.

        It also computes on JAX, PyTorch, CuPy and Dask arrays; ``backend=`` fixes one
        library (see :mod:`symnorm.kernels.backends`).
        """
        if backend is not None:
            return kernel(self.result, self.arguments(), backend=backend)
        if self._kernel is None:
            self._kernel = kernel(self.result, self.arguments())
        return self._kernel

    def check(self, points: int = 3, seed: int | None = 0, at: Any = None) -> ProxCheckReport:
        """Test the optimality condition ``v - prox(v) ∈ ∂f(prox(v))`` numerically.

        Random points (or those in ``at``: a value of ``v``, a dict of values by name, or
        a list of dicts) cycle through: a generic ``v`` with an exact zero; a ``v`` with
        entries inside the threshold, on it, zeros and ties (the kinks); and a ``v`` so
        small that the prox is 0. The implied subgradient
        ``(v - (1 + mu) prox(v))/lam`` must lie in the norm's subdifferential at
        ``prox(v)`` (exact membership from the norm's rule); with no norm term the
        residual ``v - (1 + mu) prox(v)`` must vanish.
        """
        rng = np.random.default_rng(seed)
        fixed = fixed_points(at, self.v)
        count = len(fixed) if fixed else points
        general = self.form is not None and not self.form.plain
        check_point = self._check_form_point if general else self._check_point
        results = [check_point(rng, i, fixed[i] if fixed else {}) for i in range(count)]
        return ProxCheckReport(expression=to_text(self.f), result=to_text(self.result),
                               method=FORM_METHOD if general else METHOD, points=results)

    def _size(self, rng: np.random.Generator, fixed: dict) -> int:
        n_dim = self.wrt.shape[0]
        if self.v.name in fixed:
            return int(np.shape(fixed[self.v.name])[-1])
        if n_dim.is_Integer:
            return int(n_dim)
        return int(rng.integers(4, 9))

    def _draw(self, rng: np.random.Generator, i: int, fixed: dict) -> tuple[dict, float, float]:
        values, n = self._draw_arguments(rng, fixed)
        subs = {s: values[s.name] for s in self.params}
        lam = float(self.lam.subs(subs)) if self.lam is not None else 1.0
        mu = float(sp.sympify(self.mu).subs(subs))
        if self.v.name in fixed:
            values[self.v.name] = np.asarray(fixed[self.v.name], dtype=float)
        else:
            values[self.v.name] = _sample_v(rng, i, n, lam)
        return {self.v.name: values.pop(self.v.name), **values}, lam, mu

    def _draw_arguments(self, rng: np.random.Generator, fixed: dict) -> tuple[dict, int]:
        """Values of every kernel argument but ``v`` (given ones kept), and the size n."""
        values: dict[str, Any] = {}
        n_dim = self.wrt.shape[0]
        n = self._size(rng, fixed)
        for s in self.params:
            values[s.name] = float(fixed[s.name]) if s.name in fixed else \
                float(rng.uniform(0.5, 2.0))
        for s in self.arguments()[1 + len(self.params):]:
            if s.name in fixed:
                values[s.name] = np.asarray(fixed[s.name])
            elif hasattr(s, "random_value"):
                values[s.name] = s.random_value(rng, {n_dim: n, getattr(s, "dim", n_dim): n})
            elif isinstance(s, MatrixSymbol):  # a shift a of norm(x - a): any vector
                shape = [n if d == n_dim else int(d) if d.is_Integer else 3
                         for d in s.shape]
                values[s.name] = rng.standard_normal([d for d in shape if d != 1] or [1])
            elif isinstance(s, sp.Symbol) and not is_dimension(s):
                values[s.name] = float(rng.uniform(0.5, 2.0))
            else:
                raise ShapeError(f"no value for the kernel argument {s.name}")
        return values, n

    def _check_form_point(self, rng: np.random.Generator, i: int, fixed: dict) -> ProxPoint:
        """The optimality condition of ``f = Σ λ_p ‖c x − a‖_p + (μ/2)‖x‖²`` at one point:
        ``v − (1 + μ) u ∈ c Σ λ_p ∂‖·‖_p(c u − a)`` for ``u = prox(v)``."""
        form = self.form
        values, n = self._draw_arguments(rng, fixed)
        subs = {s: values[s.name] for s in self.params}
        c = float(sp.sympify(form.c).subs(subs))
        mu = float(sp.sympify(form.mu).subs(subs))
        lams = [float(sp.sympify(lam).subs(subs)) for _, lam in form.norms]
        shift = np.zeros(n)
        if form.a is not None:
            args = free_arguments(form.a)
            shift = np.asarray(kernel(form.a, args)(**{a.name: values[a.name] for a in args}),
                               dtype=float).reshape(-1)
        if self.v.name in fixed:
            v = np.asarray(fixed[self.v.name], dtype=float)
        else:  # c v/(1 + mu) - a lands on the kinks of the inner prox
            threshold = c * c * lams[0] / (1 + mu)
            v = (1 + mu) * (_sample_v(rng, i, n, threshold) + shift) / c
        values = {self.v.name: v, **values}
        point = ProxPoint(values=values)
        try:
            u = np.asarray(self.kernel()(**values), dtype=float)
        except Exception as exc:  # a kernel failing is a check failure, reported
            point.problem = f"evaluation failed: {type(exc).__name__}: {exc}"
            return point
        point.prox = u
        if u.shape != v.shape or not np.all(np.isfinite(u)):
            point.problem = f"prox(v) is not a finite vector of v's shape: {u}"
            return point
        g = (v - (1 + mu) * u) / c
        point.subgradient = g
        scale = max(1.0, float(np.max(np.abs(v), initial=0.0)) * (1 + mu) / (abs(c) * sum(lams)),
                    float(np.max(np.abs(shift), initial=0.0)))
        point.tolerance = 1e-8 * scale
        w = c * u - shift
        # c u - a vanishes exactly in exact arithmetic at the kinks; in floating point it is
        # a rounding error of the size of c u and a: that much is 0
        noise = 64 * np.finfo(float).eps * max(float(np.max(np.abs(c * u), initial=0.0)),
                                               float(np.max(np.abs(shift), initial=0.0)))
        w = np.where(np.abs(w) <= noise, 0.0, w)
        try:
            point.distance = min(self._distance(g, at, lams, values, point.tolerance)
                                 for at in (_snap(w), w))
        except Exception as exc:
            point.problem = f"subdifferential test failed: {type(exc).__name__}: {exc}"
            return point
        point.ok = point.distance <= point.tolerance
        return point

    def _distance(self, g: np.ndarray, w: np.ndarray, lams: list[float], values: dict,
                  tol: float) -> float:
        """Distance from ``g`` to ``Σ λ_p ∂‖·‖_p(w)`` (exact for one norm, certified for a
        sum)."""
        rules = [norm_rule(p) for p, _ in self.form.norms]
        orders = [numeric_order(p, values) for p, _ in self.form.norms]
        if len(rules) == 1:
            sub, lam = rules[0].subdiff, lams[0]
            if sub.contains(g / lam, w, orders[0], tol / lam):
                return 0.0
            return lam * float(np.linalg.norm(g / lam - sub.project(g / lam, w, orders[0])))
        labels = orders[1] if rules[1].key == "group" else None  # L1 first, then blocks
        return sparse_group_distance(g, w, lams[0], lams[1], labels)

    def _check_point(self, rng: np.random.Generator, i: int, fixed: dict) -> ProxPoint:
        values, lam, mu = self._draw(rng, i, fixed)
        point = ProxPoint(values=values)
        v = values[self.v.name]
        try:
            u = np.asarray(self.kernel()(**values), dtype=float)
        except Exception as exc:  # a kernel failing is a check failure, reported
            point.problem = f"evaluation failed: {type(exc).__name__}: {exc}"
            return point
        point.prox = u
        if u.shape != v.shape or not np.all(np.isfinite(u)):
            point.problem = f"prox(v) is not a finite vector of v's shape: {u}"
            return point
        residual = v - (1 + mu) * u
        scale = max(1.0, float(np.max(np.abs(v), initial=0.0)) * (1 + mu) / lam)
        point.tolerance = 1e-8 * scale
        if self.rule is None:  # smooth: the gradient must vanish
            point.distance = float(np.linalg.norm(residual))
            point.ok = point.distance <= point.tolerance
            return point
        if self.rule.subdiff is None:
            point.problem = f"the {self.rule.key} rule has no subdifferential to test against"
            return point
        g = residual / lam
        point.subgradient = g
        order = numeric_order(self.p, values)
        sub = self.rule.subdiff
        snapped = _snap(u)
        try:
            inside = bool(sub.contains(g, u, order, point.tolerance)
                          or sub.contains(g, snapped, order, point.tolerance))
            nearest = np.asarray(sub.project(g, snapped, order), dtype=float)
        except Exception as exc:
            point.problem = f"subdifferential test failed: {type(exc).__name__}: {exc}"
            return point
        point.distance = float(np.linalg.norm(g - nearest))
        point.ok = inside
        return point

    def to_dict(self) -> dict:
        """A JSON-ready summary."""
        return {
            "f": to_text(self.f), "wrt": to_text(self.wrt), "v": self.v.name,
            "params": [s.name for s in self.params], "result": to_text(self.result),
            "latex": to_latex(self.result),
            "steps": [{"rule": s.rule, "note": s.note, "text": s.text()} for s in self.steps],
            "check": None if self.report is None else self.report.to_dict(),
        }


def sparse_group_distance(g: np.ndarray, w: np.ndarray, lam1: float, lam2: float,
                          labels: np.ndarray | None = None) -> float:
    """Distance from ``g`` to ``λ₁ ∂‖·‖₁(w) + λ₂ ∂N(w)``, exactly, for ``N`` the L2 norm
    (``labels`` None: one block) or the group-lasso norm of the blocks ``labels``.

    On a block with ``w_g ≠ 0`` the L2 part is the point ``w_g/‖w_g‖``, and what is left
    must lie in ``λ₁ ∂‖w_g‖₁`` coordinate by coordinate; on a block with ``w_g = 0`` the
    set is the box ``λ₁ B_∞`` plus the ball ``λ₂ B₂``, at distance
    ``max(0, ‖soft(g_g, λ₁)‖ − λ₂)``.

    >>> import numpy as np
    >>> sparse_group_distance(np.array([3.0, 0.0]), np.zeros(2), 1.0, 1.0)
    1.0
    """
    g, w = np.asarray(g, dtype=float), np.asarray(w, dtype=float)
    labels = np.zeros(g.shape[0], dtype=int) if labels is None else np.asarray(labels)
    total = 0.0
    for k in np.unique(labels):
        block = labels == k
        gb, wb = g[block], w[block]
        size = float(np.linalg.norm(wb))
        if size == 0:
            shrunk = np.sign(gb) * np.maximum(np.abs(gb) - lam1, 0)
            total += max(0.0, float(np.linalg.norm(shrunk)) - lam2) ** 2
            continue
        rest = gb - lam2 * wb / size
        gap = np.where(wb != 0, rest - lam1 * np.sign(wb), np.maximum(np.abs(rest) - lam1, 0))
        total += float(gap @ gap)
    return float(np.sqrt(total))


def _sample_v(rng: np.random.Generator, i: int, n: int, lam: float) -> np.ndarray:
    kind = i % 3
    if kind == 0:  # generic, with one exact zero
        v = 2.0 * rng.standard_normal(n)
        v[rng.integers(n)] = 0.0
        return v
    if kind == 1:  # the kinks: inside the threshold, on it, zeros, ties
        v = rng.uniform(-0.9, 0.9, n) * lam
        idx = rng.permutation(n)
        big = idx[: max(1, n // 2)]
        v[big] = rng.choice([-1.0, 1.0], big.size) * (lam + 2.0 * rng.random(big.size))
        if n >= 3:
            v[idx[-1]] = 0.0
            v[idx[-2]] = lam * rng.choice([-1.0, 1.0])
        if big.size >= 2:
            v[big[1]] = -v[big[0]]
        return v
    v = rng.standard_normal(n)  # so small that every supported prox gives 0
    total = float(np.abs(v).sum())
    return v * (0.5 * lam / total) if total > 0 else v


# -- matching f and deriving ------------------------------------------------------------

def split_norm_terms(f: sp.Expr, wrt: MatrixSymbol, squared: Any,
                     unsupported: Any) -> tuple[dict, sp.Expr]:
    """``f = Σ λ_p ‖wrt‖_p + (μ/2) ‖wrt‖_q²`` read term by term: ``({p: λ_p}, μ)``, ``q``
    being ``squared`` (2 for vectors, 'fro' for matrices). Every coefficient must be a
    scalar constant known to be positive; anything else raises ``unsupported(f, why)``
    naming the term. Shared by the vector and the matrix prox."""
    sq_text = to_text(Norm(wrt, squared)) + "**2"
    norms: dict = {}
    mu = sp.Integer(0)
    for term in sp.Add.make_args(sp.expand(f, deep=False)):
        c, dep = term.as_independent(wrt, as_Add=False)
        if dep == 1:
            raise unsupported(f, f"the term {to_text(term)} does not depend on {wrt}")
        if c.has(wrt) or any(isinstance(s, MatrixSymbol) for s in c.free_symbols) or \
                any(is_dimension(s) for s in c.free_symbols):
            raise unsupported(f, f"the coefficient {to_text(c)} must be a scalar constant")
        if c.is_positive is not True:
            raise unsupported(f, f"the coefficient {to_text(c)} of {to_text(dep)} is not "
                                 f"known to be positive (make parameters with "
                                 f"sn.scalar(name, positive=True))")
        if isinstance(dep, sp.Pow) and dep.exp == 2 and isinstance(dep.base, Norm) \
                and dep.base.arg == wrt and dep.base.p == squared:
            mu += 2 * c
        elif isinstance(dep, Norm) and dep.arg == wrt:
            norms[dep.p] = norms.get(dep.p, sp.Integer(0)) + c
        elif isinstance(dep, Norm):
            raise unsupported(f, f"the norm's argument {to_text(dep.arg)} is not {wrt} "
                                 f"itself")
        else:
            raise unsupported(f, f"the term {to_text(term)} is not a multiple of a norm of "
                                 f"{wrt} or of {sq_text}")
    return norms, mu
