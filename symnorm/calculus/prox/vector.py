r"""Proximal operators: ``prox_f(v) = argmin_x f(x) + ||x - v||_2**2/2`` in closed form.

``f`` is ``lam*||x||`` for a norm whose rule has a ``prox`` entry (L1, L2, L-infinity,
the group-lasso norm), optionally plus ``mu/2*||x||_2**2`` (elastic net), or
``mu/2*||x||_2**2`` alone. The closed forms belong to the norms' rules; this module
matches ``f``, applies the generic rules (the quadratic term, positive homogeneity),
records the steps, compiles kernels and checks the result through the optimality
condition ``(v - prox(v)) in ∂f(prox(v))`` using the norm's exact subdifferential.

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
from sympy import MatMul
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol

from ...check import fixed_points, format_value, verdict_html
from ...kernels.arguments import free_arguments, is_dimension
from ...kernels.kernel import kernel
from ...model.atoms import Norm
from ...model.errors import ShapeError, UnsupportedExpressionError
from ...model.text import to_text
from ...presentation.blocks import Block, Equations, Shown, Table, number
from ...presentation.latex import latex as to_latex
from ...presentation.prose import Math, Note, Text, math, note
from ...rules import NORMS, NormRule, norm_rule, numeric_order
from ..derivation import Step, step_rows

__all__ = ["Prox", "ProxCheckReport", "ProxPoint", "derive_vector_prox"]

METHOD = ("optimality condition (v - (1 + mu) prox(v))/lam in the subdifferential of the "
          "norm at prox(v), tested with the norm rule's exact membership test")

_DOT = "XDOTPLACEHOLDERX"  # stands for the argument of f in prox_{f}


def supported_forms() -> list[str]:
    """The forms of ``f`` that :func:`prox` accepts, from the rule registry.

    >>> forms = supported_forms()
    >>> "lam*norm(x, 1)" in forms and "lam*group_norm(x, G)" in forms
    True
    """
    x = MatrixSymbol("x", sp.Symbol("n", integer=True, positive=True), 1)
    forms = []
    for rule in NORMS:
        if rule.prox is None:
            continue
        if "prox_form" in rule.extras:  # how a user writes it, e.g. lam*group_norm(x, G)
            forms.append(rule.extras["prox_form"])
            continue
        for p in rule.sample_orders:
            forms.append(f"lam*{to_text(Norm(x, p))}")
    forms.append("mu/2*norm(x, 2)**2")
    forms.append("any of the norms above + mu/2*norm(x, 2)**2 (elastic net)")
    return forms


def _unsupported(f: Any, why: str) -> UnsupportedExpressionError:
    listing = "; ".join(supported_forms())
    return UnsupportedExpressionError(
        f"no closed-form prox for {to_text(f)}: {why}. Supported (x the variable, lam and "
        f"mu positive scalars): {listing}")


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
        arg = to_latex(self.arg)
        arg = f"({arg})" if isinstance(self.arg, MatrixSymbol) else rf"\left({arg}\right)"
        out = rf"\operatorname{{prox}}_{{{tex}}}{arg}"
        if self.coeff != 1:
            c = to_latex(self.coeff)
            c = rf"\left({c}\right)" if isinstance(self.coeff, sp.Add) else c
            out = rf"{c} \, {out}"
        return out

    def text(self) -> str:
        _, txt = _function_of_dot(self.g, self.wrt)
        out = f"prox_{{{txt}}}({to_text(self.arg)})"
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

    >>> import numpy as np
    >>> import symnorm as sn
    >>> x, lam = sn.vector("x"), sn.scalar("lam", positive=True)
    >>> P = sn.prox(lam*sn.norm(x, "oo"), x)
    >>> print(sn.to_text(P.result))
    v - proj_l1ball(v, lam)
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
        results = [self._check_point(rng, i, fixed[i] if fixed else {})
                   for i in range(count)]
        return ProxCheckReport(expression=to_text(self.f), result=to_text(self.result),
                               method=METHOD, points=results)

    def _draw(self, rng: np.random.Generator, i: int, fixed: dict) -> tuple[dict, float, float]:
        values: dict[str, Any] = {}
        n_dim = self.wrt.shape[0]
        if self.v.name in fixed:
            n = int(np.shape(fixed[self.v.name])[-1])
        elif n_dim.is_Integer:
            n = int(n_dim)
        else:
            n = int(rng.integers(4, 9))
        for s in self.params:
            values[s.name] = float(fixed[s.name]) if s.name in fixed else \
                float(rng.uniform(0.5, 2.0))
        for s in self.arguments()[1 + len(self.params):]:
            if s.name in fixed:
                values[s.name] = np.asarray(fixed[s.name])
            elif hasattr(s, "random_value"):
                values[s.name] = s.random_value(rng, {n_dim: n, getattr(s, "dim", n_dim): n})
            else:
                raise ShapeError(f"no value for the kernel argument {s.name}")
        subs = {s: values[s.name] for s in self.params}
        lam = float(self.lam.subs(subs)) if self.lam is not None else 1.0
        mu = float(sp.sympify(self.mu).subs(subs))
        if self.v.name in fixed:
            values[self.v.name] = np.asarray(fixed[self.v.name], dtype=float)
        else:
            values[self.v.name] = _sample_v(rng, i, n, lam)
        return {self.v.name: values.pop(self.v.name), **values}, lam, mu

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

def _match(f: Any, wrt: Any) -> tuple[sp.Expr | None, sp.Basic | None, sp.Expr]:
    """``f = lam*||wrt||_p + mu/2*||wrt||_2**2``: return ``(lam, p, mu)``."""
    if isinstance(f, MatrixExpr):
        raise ShapeError(f"prox() needs a scalar function f, got the {f.shape[0]}x"
                         f"{f.shape[1]} matrix expression {to_text(f)}")
    if not isinstance(f, sp.Expr):
        raise UnsupportedExpressionError(
            f"prox() needs a symnorm expression f, got {type(f).__name__}: {f!r}")
    if not (isinstance(wrt, MatrixSymbol) and wrt.shape[1] == 1 and wrt.shape[0] != 1):
        raise UnsupportedExpressionError(
            f"prox() needs wrt to be a column vector made by sn.vector, got {wrt!r}")
    if not f.has(wrt):
        raise _unsupported(f, f"it does not depend on {wrt}")
    norms, mu = split_norm_terms(f, wrt, 2, _unsupported)
    if len(norms) > 1:
        raise _unsupported(f, "it is a sum of different norms")
    if not norms:
        return None, None, mu
    (p, lam), = norms.items()
    if norm_rule(p).prox is None:
        raise _unsupported(f, f"the {norm_rule(p).key} rule has no closed-form prox")
    return lam, p, mu


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


def _scale(c: sp.Expr, e: MatrixExpr) -> MatrixExpr:
    """``c * e`` with the scalar coefficients of ``e`` combined into one."""
    if c == 1:
        return e
    if isinstance(e, MatMul):
        scalars = sp.Mul(*[a for a in e.args if not isinstance(a, MatrixExpr)])
        mats = [a for a in e.args if isinstance(a, MatrixExpr)]
        return MatMul(c * scalars, *mats)
    return MatMul(c, e)


def _fresh_vector(wrt: MatrixSymbol, taken: set) -> MatrixSymbol:
    for name in ("v", "w", "z", *(f"v{i}" for i in range(1, 100))):
        if name not in taken:
            return MatrixSymbol(name, *wrt.shape)
    raise ValueError("no free name for the prox variable")  # pragma: no cover


def _note(rule: NormRule) -> str:
    doc = (getattr(rule.prox, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else f"{rule.title}: closed-form prox"


def derive_vector_prox(f: Any, wrt: Any) -> Prox:
    """Match ``f`` (a function of a vector) and derive its prox (no numeric check); see
    :func:`symnorm.prox`.

    >>> import symnorm as sn
    >>> x, mu = sn.vector("x"), sn.scalar("mu", positive=True)
    >>> P = derive_vector_prox(mu/2*sn.norm(x, 2)**2, x)
    >>> print(sn.to_text(P.result)); P.params; P.report is None
    v/(mu + 1)
    [mu]
    True
    """
    lam, p, mu = _match(f, wrt)
    coeffs = [c for c in (lam, mu) if c is not None]
    params = sorted({s for c in coeffs for s in c.free_symbols}, key=lambda s: s.name)
    taken = {wrt.name, *(s.name for s in f.free_symbols if hasattr(s, "name"))}
    v = _fresh_vector(wrt, taken)
    target = ProxOf(f, wrt, v)
    x = wrt
    steps = [Step("definition", target, Argmin(f + Norm(x - v, 2) ** 2 / 2, x),
                  "definition of the proximal operator")]
    rule = None
    if lam is None:
        result = _scale(1 / (1 + mu), v)
        steps.append(Step("quadratic", target, result,
                          "smooth objective: its gradient $(1 + \\mu) x - v$ vanishes"))
    else:
        rule = norm_rule(p)
        g = lam * Norm(x, p)
        base = rule.prox(v, lam, p)
        if mu == 0:
            result = base
            steps.append(Step(rule.key, target, result, _note(rule)))
        else:
            c = 1 / (1 + mu)
            shrunk = ProxOf(c * g, x, _scale(c, v))
            steps.append(Step("quadratic term", target, shrunk,
                              Text(note("adding ", math(mu / 2 * Norm(x, 2) ** 2),
                                        ": the prox of ", math(c * g), " at ",
                                        math(_scale(c, v))))))
            steps.append(Step("positive homogeneity", shrunk, ProxOf(g, x, v, c),
                              r"a norm is positively homogeneous: the prox of $\lambda/c$ "
                              r"times it at $v/c$ is $1/c$ times its prox at $v$"))
            steps.append(Step(rule.key, ProxOf(g, x, v), base, _note(rule)))
            result = _scale(c, base)
            steps.append(Step("result", target, result, "result"))
    return Prox(f=f, wrt=wrt, v=v, params=params, result=result, steps=steps, lam=lam,
                mu=mu, rule=rule, p=p)
