r"""The prox calculus for vectors: which ``f`` has a closed-form prox, and its derivation.

``f = Σ_i λ_i ‖c x − a‖_{p_i} + (μ/2) ‖x‖₂²`` is matched term by term: one norm whose
rule has a closed-form prox, or one of the sums whose prox is a composition (the sparse
group lasso); the argument is ``x`` itself or an affine image ``c x − a`` with a scalar
``c ≠ 0``. The derivation applies, in order and each as a step of its own:

* the quadratic term: ``prox_{g + (μ/2)‖·‖²}(v) = prox_{g/(1+μ)}(v/(1+μ))``;
* scaling of the argument (Beck, *First-Order Methods*, Thm 6.12):
  ``prox_{h(c·)}(v) = (1/c) prox_{c² h}(c v)``, then, for a norm, its positive
  homogeneity and symmetry: ``(1/c) prox_{c² λ‖·‖}(c v) = prox_{|c| λ‖·‖}(v)``;
* translation (Thm 6.11): ``prox_{h(· − a)}(v) = a + prox_h(v − a)``;
* the norm's closed form from its rule, or for ``λ‖·‖₁ + μ‖·‖₂`` (and ``λ‖·‖₁`` plus the
  group-lasso norm) the composition ``prox_{μ‖·‖₂}(prox_{λ‖·‖₁}(v))``
  (Friedman, Hastie and Tibshirani 2010; Yu 2013): block soft thresholding of the soft
  thresholded vector.

>>> import symnorm as sn
>>> x, a = sn.vector("x"), sn.vector("a")
>>> lam, mu = sn.scalar("lam", positive=True), sn.scalar("mu", positive=True)
>>> print(sn.to_text(derive_vector_prox(lam*sn.norm(x - a, 1), x).result))
a + soft(v - a, lam)
>>> print(sn.to_text(derive_vector_prox(sn.norm(2*x, 1), x).result))
soft(v, 2)
>>> print(sn.to_text(derive_vector_prox(lam*sn.norm(x, 1) + mu*sn.norm(x, 2), x).result))
max(0, 1 - mu/norm(soft(v, lam), 2))*soft(v, lam)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp
from sympy import MatAdd, MatMul
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol

from ...kernels.arguments import is_dimension
from ...model.atoms import Norm
from ...model.errors import ShapeError, UnsupportedExpressionError
from ...model.text import to_text
from ...presentation.latex import latex as to_latex
from ...rules import NORMS, NormRule, norm_rule
from ..derivation import Step
from .vector import Argmin, Prox, ProxOf

__all__ = ["ProxForm", "derive_vector_prox", "supported_forms"]

# sums of norms of one argument whose prox is the composition of their proxes, outer
# rule last: prox_{λ‖·‖₁ + μ N}(v) = prox_{μ N}(soft(v, λ)) for N = ‖·‖₂ or the group norm
COMPOSABLE = {frozenset({"L1", "L2"}): ("L1", "L2"), frozenset({"L1", "group"}): ("L1", "group")}


def supported_forms() -> list[str]:
    """The forms of ``f`` that :func:`symnorm.prox` accepts for a vector, from the registry.

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
    forms.append("any of the norms above of c*x - a instead of x (a translation and a "
                 "nonzero scalar c scaling the argument)")
    forms.append("lam*norm(x, 1) + mu*norm(x, 2) and lam*norm(x, 1) + mu*group_norm(x, G) "
                 "(sparse group lasso)")
    return forms


def _unsupported(f: Any, why: str) -> UnsupportedExpressionError:
    listing = "; ".join(supported_forms())
    return UnsupportedExpressionError(
        f"no closed-form prox for {to_text(f)}: {why}. Supported (x the variable, lam and "
        f"mu positive scalars): {listing}")


@dataclass(frozen=True)
class ProxForm:
    """``f = Σ λ_p ‖c x − a‖_p + (μ/2)‖x‖₂²`` as matched: ``norms`` maps each order ``p``
    to ``λ_p`` (in the order the prox composes them); ``a`` is None for no translation."""

    norms: tuple[tuple[sp.Basic, sp.Expr], ...]
    c: sp.Expr = sp.Integer(1)
    a: Any = None
    mu: sp.Expr = sp.Integer(0)

    @property
    def plain(self) -> bool:
        """One norm of ``x`` itself: the forms the prox had before the calculus rules."""
        return len(self.norms) <= 1 and self.c == 1 and self.a is None

    def rules(self) -> list[NormRule]:
        return [norm_rule(p) for p, _ in self.norms]


# -- matching ---------------------------------------------------------------------------

def _negated(e: MatrixExpr) -> MatrixExpr:
    if isinstance(e, MatMul) and e.args[0] == -1:
        rest = e.args[1:]
        return rest[0] if len(rest) == 1 else MatMul(*rest)
    if isinstance(e, MatAdd):
        return MatAdd(*[_negated(t) for t in e.args])
    return MatMul(-1, e)


def _constant(c: sp.Expr, wrt: MatrixSymbol) -> bool:
    return not c.has(wrt) and not any(isinstance(s, MatrixSymbol) or is_dimension(s)
                                      for s in c.free_symbols)


def _affine_argument(f: Any, u: MatrixExpr, wrt: MatrixSymbol) -> tuple[sp.Expr, Any]:
    """``(c, a)`` with ``u = c x − a`` (``a`` None when there is no shift)."""
    if u == wrt:
        return sp.Integer(1), None
    why = (f"the norm's argument {to_text(u)} is not x itself, nor a translation or "
           f"scaling of it (c*x - a with a nonzero scalar constant c and a not depending "
           f"on {wrt})")
    terms = list(u.args) if isinstance(u, MatAdd) else [u]
    moving = [t for t in terms if t.has(wrt)]
    fixed = [t for t in terms if not t.has(wrt)]
    if len(moving) != 1:
        raise _unsupported(f, why)
    t = moving[0]
    if t == wrt:
        c = sp.Integer(1)
    elif isinstance(t, MatMul):
        scalars = [a for a in t.args if not isinstance(a, MatrixExpr)]
        mats = [a for a in t.args if isinstance(a, MatrixExpr)]
        if mats != [wrt]:
            raise _unsupported(f, why)
        c = sp.Mul(*scalars)
    else:
        raise _unsupported(f, why)
    if not _constant(c, wrt) or c.is_zero is not False:
        raise _unsupported(f, why)
    if not fixed:
        return c, None
    shift = fixed[0] if len(fixed) == 1 else MatAdd(*fixed)
    return c, _negated(shift)


def match_vector_form(f: Any, wrt: Any) -> ProxForm:
    """Read ``f`` as a :class:`ProxForm`, or raise naming the term that does not fit."""
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
    norms: dict = {}
    argument: tuple | None = None
    mu = sp.Integer(0)
    for term in sp.Add.make_args(sp.expand(f, deep=False)):
        c, dep = term.as_independent(wrt, as_Add=False)
        if dep == 1:
            raise _unsupported(f, f"the term {to_text(term)} does not depend on {wrt}")
        if not _constant(c, wrt):
            raise _unsupported(f, f"the coefficient {to_text(c)} must be a scalar constant")
        if c.is_positive is not True:
            raise _unsupported(f, f"the coefficient {to_text(c)} of {to_text(dep)} is not "
                                  f"known to be positive (make parameters with "
                                  f"sn.scalar(name, positive=True))")
        if isinstance(dep, sp.Pow) and dep.exp == 2 and isinstance(dep.base, Norm) \
                and dep.base.arg == wrt and dep.base.p == 2:
            mu += 2 * c
        elif isinstance(dep, Norm):
            arg = _affine_argument(f, dep.arg, wrt)
            if argument is not None and arg != argument:
                raise _unsupported(f, "its norms have different arguments")
            argument = arg
            norms[dep.p] = norms.get(dep.p, sp.Integer(0)) + c
        else:
            raise _unsupported(f, f"the term {to_text(term)} is not a multiple of a norm of "
                                  f"{wrt} or of {to_text(Norm(wrt, 2))}**2")
    c, a = argument if argument is not None else (sp.Integer(1), None)
    if len(norms) > 1:
        keys = frozenset(norm_rule(p).key for p in norms)
        if len(norms) != 2 or keys not in COMPOSABLE:
            raise _unsupported(f, "it is a sum of different norms whose prox has no closed "
                                  "form here (the sums supported: sparse group lasso)")
        first, second = COMPOSABLE[keys]
        ordered = sorted(norms.items(), key=lambda kv: norm_rule(kv[0]).key != first)
        return ProxForm(tuple(ordered), c, a, mu)
    for p in norms:
        if norm_rule(p).prox is None:
            raise _unsupported(f, f"the {norm_rule(p).key} rule has no closed-form prox")
    return ProxForm(tuple(norms.items()), c, a, mu)


# -- deriving ---------------------------------------------------------------------------

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


def _norms(form_norms: list[tuple[sp.Basic, sp.Expr]], u: MatrixExpr) -> sp.Expr:
    return sp.Add(*[lam * Norm(u, p) for p, lam in form_norms])


@dataclass(frozen=True)
class PlusProx:
    """``shift + coeff * prox_g(arg)``, unevaluated, for the translation step."""

    shift: Any
    prox: ProxOf
    coeff: Any = sp.Integer(1)

    def latex(self) -> str:
        inner = rf"{to_latex(self.shift)} + {self.prox.latex()}"
        if self.coeff == 1:
            return inner
        return rf"{to_latex(self.coeff)} \left({inner}\right)"

    def text(self) -> str:
        inner = f"{to_text(self.shift)} + {self.prox.text()}"
        return inner if self.coeff == 1 else f"{to_text(self.coeff)}*({inner})"


def _closed_form(form_norms: list[tuple[sp.Basic, sp.Expr]], x: MatrixSymbol, z: Any,
                 steps: list[Step]) -> MatrixExpr:
    """The prox of ``Σ λ_p ‖x‖_p`` at ``z`` from the rules, recorded as steps."""
    g = _norms(form_norms, x)
    if len(form_norms) == 1:
        (p, lam), = form_norms
        rule = norm_rule(p)
        base = rule.prox(z, lam, p)
        steps.append(Step(rule.key, ProxOf(g, x, z), base, _note(rule)))
        return base
    (p1, lam1), (p2, lam2) = form_norms
    r1, r2 = norm_rule(p1), norm_rule(p2)
    inner = ProxOf(lam1 * Norm(x, p1), x, z)
    steps.append(Step("sparse group lasso", ProxOf(g, x, z),
                      ProxOf(lam2 * Norm(x, p2), x, inner),
                      f"the prox of a sum of the L1 norm and a norm of blocks is the "
                      f"composition of their proxes, the {r1.key} one first (Friedman, "
                      f"Hastie and Tibshirani 2010; Yu 2013)"))
    first = r1.prox(z, lam1, p1)
    base = r2.prox(first, lam2, p2)
    steps.append(Step(f"{r1.key}, then {r2.key}", ProxOf(lam2 * Norm(x, p2), x, inner), base,
                      f"{_note(r1)}; then {_note(r2)}"))
    return base


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
    form = match_vector_form(f, wrt)
    coeffs = [lam for _, lam in form.norms] + [form.mu, form.c]
    params = sorted({s for c in coeffs for s in sp.sympify(c).free_symbols},
                    key=lambda s: s.name)
    taken = {wrt.name, *(s.name for s in f.free_symbols if hasattr(s, "name"))}
    v = _fresh_vector(wrt, taken)
    target = ProxOf(f, wrt, v)
    x = wrt
    steps = [Step("definition", target, Argmin(f + Norm(x - v, 2) ** 2 / 2, x),
                  "definition of the proximal operator")]
    mu = form.mu
    single = len(form.norms) == 1
    rule = norm_rule(form.norms[0][0]) if single else None
    lam = form.norms[0][1] if single else None
    p = form.norms[0][0] if single else None
    if not form.norms:
        result = _scale(1 / (1 + mu), v)
        steps.append(Step("quadratic", target, result,
                          "smooth objective: its gradient $(1 + \\mu) x - v$ vanishes"))
    elif form.plain and mu == 0:
        result = _closed_form(list(form.norms), x, v, [])
        steps.append(Step(rule.key, target, result, _note(rule)))  # type: ignore[union-attr]
    elif form.c == 1 and form.a is None and mu == 0:  # the sparse group lasso
        result = _closed_form(list(form.norms), x, v, steps)
        steps.append(Step("result", target, result, "result"))
    elif form.c == 1 and form.a is None:
        # a norm of x (or the sparse group lasso) + mu/2 ||x||^2: homogeneity
        c = 1 / (1 + mu)
        g = _norms(list(form.norms), x)
        shrunk = ProxOf(c * g, x, _scale(c, v))
        steps.append(Step("quadratic term", target, shrunk,
                          r"adding $\mu/2$ times the squared L2 norm: the prox of $g/(1 + \mu)$ "
                          r"at $v/(1 + \mu)$"))
        steps.append(Step("positive homogeneity", shrunk, ProxOf(g, x, v, c),
                          r"a norm is positively homogeneous: the prox of $\lambda/c$ times it "
                          r"at $v/c$ is $1/c$ times its prox at $v$"))
        base = _closed_form(list(form.norms), x, v, steps)
        result = _scale(c, base)
        steps.append(Step("result", target, result, "result"))
    else:
        result = _affine_steps(form, f, x, v, target, steps)
    return Prox(f=f, wrt=wrt, v=v, params=params, result=result, steps=steps, lam=lam,
                mu=mu, rule=rule, p=p, form=form)


def _affine_steps(form: ProxForm, f: Any, x: MatrixSymbol, v: MatrixSymbol,
                  target: ProxOf, steps: list[Step]) -> MatrixExpr:
    """The quadratic term, scaling and translation steps, then the closed form."""
    norms = list(form.norms)
    c, a, mu = form.c, form.a, form.mu
    u = _scale(c, x) if a is None else MatAdd(_scale(c, x), _negated(a))
    current = ProxOf(_norms(norms, u), x, v)
    w: Any = v
    if mu != 0:
        k = 1 / (1 + mu)
        norms = [(p, k * lam) for p, lam in norms]
        w = _scale(k, v)
        current = ProxOf(_norms(norms, u), x, w)
        steps.append(Step("quadratic term", target, current,
                          r"adding $\mu/2$ times the squared L2 norm: the prox of $g/(1 + \mu)$ "
                          r"at $v/(1 + \mu)$"))
    outer = sp.Integer(1)
    if c != 1:
        scaled = [(p, c**2 * lam) for p, lam in norms]
        shifted = x if a is None else MatAdd(x, _negated(a))
        after = ProxOf(_norms(scaled, shifted), x, _scale(c, w), 1 / c)
        steps.append(Step("scaling", current, after,
                          "scaling of the argument (Beck, First-Order Methods, Thm 6.12): "
                          "the prox of $h(c x)$ at $v$ is $1/c$ times the prox of $c^2 h$ "
                          "at $c v$"))
        current = after
        if a is None:  # (1/c) prox_{c² λ‖·‖}(c w) = prox_{|c| λ‖·‖}(w)
            norms = [(p, abs(c) * lam) for p, lam in norms]
            after = ProxOf(_norms(norms, x), x, w)
            steps.append(Step("positive homogeneity", current, after,
                              r"a norm is positively homogeneous and symmetric: $1/c$ times "
                              r"the prox of $c^2 \lambda \lVert\cdot\rVert$ at $c v$ is the "
                              r"prox of $|c| \lambda \lVert\cdot\rVert$ at $v$"))
            current = after
        else:
            norms, outer, w = scaled, 1 / c, _scale(c, w)
    if a is not None:
        moved = MatAdd(w, _negated(a))
        after = PlusProx(a, ProxOf(_norms(norms, x), x, moved), outer)
        steps.append(Step("translation", current, after,
                          "translation (Beck, First-Order Methods, Thm 6.11): the prox of "
                          "$h(x - a)$ at $v$ is $a$ plus the prox of $h$ at $v - a$"))
        base = _closed_form(norms, x, moved, steps)
        result = _scale(outer, MatAdd(a, base).doit(deep=False))
    else:
        result = _closed_form(norms, x, w, steps)
    steps.append(Step("result", target, result, "result"))
    return result
