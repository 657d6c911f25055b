"""The derivation engine: the chain rule over SymPy trees, recording each step.

Scalars are differentiated by SymPy's own (reliable) scalar calculus after every
norm and 1x1 matrix node is replaced by a dummy; vector and matrix nodes go through
reverse-mode cotangent propagation (``vjp``), so a gradient is ``J^T g`` in closed
vector form, valid for every dimension. SymPy's ``MatrixSymbol.diff`` is never used.
The engine knows no particular norm: it asks the rule registries.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import sympy as sp
from sympy import (
    HadamardPower,
    HadamardProduct,
    Identity,
    Inverse,
    MatAdd,
    MatMul,
    MatPow,
    Transpose,
)
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol

from ..model.atoms import (
    ActiveGradient,
    Elementwise,
    Norm,
    NormOrderDerivative,
    ScalarActiveGradient,
    ScalarOf,
    Trace,
)
from ..model.errors import ShapeError, SymnormError, UnsupportedExpressionError
from ..model.functions import ScalarFunction
from ..model.shapes import check_shapes
from ..model.text import to_text
from ..presentation.latex import latex
from ..rules import ELEMENTWISE, Fusion, Kink, function_rule, kink, norm_rule
from ..rules.vector_functions import (
    NORMALISED_HELPER,
    normalised,
    normalised_jvp,
    normalised_kinks,
)
from .algebra import (
    Expr,
    _product,
    _split,
    _stand_in,
    _transpose,
    add,
    as_scalar,
    check_wrt,
    depends,
    diagonal_part,
    masked,
    scale,
    structured_space,
    symmetric_part,
    zero_like,
)
from .derivation import Derivation, Differential, Step
from .index_notation import index_steps


class Recorder:
    """Collects steps, assumptions, kinks and kernel fusions during one derivation."""

    def __init__(self, index_notation: bool = False) -> None:
        self.steps: list[Step] = []
        self.assumptions: list[sp.Basic] = []
        self.kinks: list[Kink] = []
        self.warnings: list[str] = []
        self.fusions: dict = {}
        self.index_notation = index_notation
        self.kink_sources: dict[Kink, Any] = {}  # the node each kink belongs to

    def step(self, rule: str, before: Any, after: Any, note: str = "") -> None:
        new = Step(rule, before, after, note)
        if any(s.before == new.before and s.after == new.after for s in self.steps):
            return  # the same fact derived again (e.g. inside a Hessian): say it once
        self.steps.append(new)

    def kink(self, kinks: list[Kink], source: Any = None) -> None:
        for k in kinks:
            if k not in self.kinks:
                self.kinks.append(k)
                if source is not None:
                    self.kink_sources[k] = source

    def assume(self, facts: list[sp.Basic]) -> None:
        for a in facts:
            if a not in self.assumptions:
                self.assumptions.append(a)


# -- gradient of a scalar -------------------------------------------------------------

def grad_scalar(f: sp.Expr, wrt: Expr, rec: Recorder) -> Expr | None:
    """Gradient of the scalar ``f`` with respect to ``wrt`` (None means zero)."""
    if not depends(f, wrt):
        return None
    if f == wrt:
        return sp.Integer(1)
    if isinstance(f, Norm):
        return grad_norm(f, wrt, rec)
    if isinstance(f, ScalarOf):
        g = vjp(f.mat, wrt, sp.Integer(1), rec)
        if g is not None:
            rec.step("product rule", Differential(f, wrt), g,
                     "product rule (bilinear form)")
        return g
    if isinstance(f, sp.Trace):  # d tr(M) = tr(dM): the cotangent on M is the identity
        g = vjp(f.arg, wrt, Identity(f.arg.shape[0]), rec)
        if g is not None:
            rec.step("trace", Differential(f, wrt), g, "linearity of the trace")
        return g
    if isinstance(f, (sp.Max, sp.Min)):
        return grad_extremum(f, wrt, rec)
    if isinstance(f, ScalarFunction):
        return grad_function(f, wrt, rec)
    if isinstance(f, NormOrderDerivative):
        raise UnsupportedExpressionError(
            f"second derivatives through the order of a norm ({to_text(f)}) are not "
            "supported")
    if isinstance(f, MatrixExpr):
        raise ShapeError(f"expected a scalar, got the {f.shape[0]}x{f.shape[1]} "
                         f"matrix expression {to_text(f)}")
    atoms = _dependent_atoms(f, wrt)
    dummies = {a: _stand_in(a, i) for i, a in enumerate(atoms)}
    back = {d: a for a, d in dummies.items()}
    # every subexpression of a real f is real on f's domain, so |u|' = sign(u) u' even
    # where SymPy cannot tell that u (sqrt(t), log(t)) is real
    plain = f.xreplace(dummies).replace(sp.Abs, _RealAbs).replace(sp.sign, _RealSign)
    terms = []
    outer = []
    for atom, d in dummies.items():
        coeff = sp.diff(plain, d).replace(_RealAbs, sp.Abs).replace(_RealSign, sp.sign)
        coeff = _tidy(coeff.xreplace(back))
        if coeff == 0:
            continue
        outer.append((atom, coeff))
    if len(outer) > 1 or (outer and outer[0][1] != 1):
        rec.step("chain rule", Differential(f, wrt), ChainSum(outer, wrt), "chain rule")
    for atom, coeff in outer:
        if isinstance(atom, Norm) and _vanishes_at_zero(coeff, atom):
            # c(t) -> 0 as ||u|| -> 0 and the norm's gradient is bounded: no kink at u = 0
            g = grad_norm(atom, wrt, rec, smooth_at_zero=True)
            if g is not None:
                terms.append(scale(coeff, g))
            continue
        g = sp.Integer(1) if atom == wrt else grad_scalar(atom, wrt, rec)
        if g is not None:
            terms.append(scale(coeff, g))
    return add(terms)


class _RealAbs(sp.Function):
    """``|u|`` of a real ``u``: derivative ``sign(u)`` (SymPy's Abs goes complex when it
    cannot prove ``u`` real)."""

    is_real = True

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.sign(self.args[0])


class _RealSign(sp.Function):
    """``sign(u)`` of a real ``u``: derivative 0 wherever it exists."""

    is_real = True

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.Integer(0)


class ChainSum:
    """``Σ_i (∂f/∂a_i) ∇ a_i`` shown as written, coefficient first (display only)."""

    def __init__(self, terms: list[tuple[Expr, sp.Expr]], wrt: Expr,
                 symbol: str = "grad") -> None:
        self.terms = terms
        self.wrt = wrt
        self.symbol = symbol  # "partial" where wrt's entries are taken independent

    def _join(self, parts: list[tuple[str, str]]) -> str:
        out = ""
        for i, (sign, body) in enumerate(parts):
            out += (f" {sign} " if i else ("-" if sign == "-" else "")) + body
        return out

    def _render(self, show: Any, grad: Any, sep: str, paren: tuple[str, str]) -> str:
        parts = []
        for atom, coeff in self.terms:
            sign = "-" if coeff.could_extract_minus_sign() else "+"
            c = -coeff if sign == "-" else coeff
            g = grad(Differential(atom, self.wrt, self.symbol))
            if c == 1:
                parts.append((sign, g))
                continue
            body = show(c)
            if isinstance(c, sp.Add):
                body = f"{paren[0]}{body}{paren[1]}"
            parts.append((sign, f"{body}{sep}{g}"))
        return self._join(parts)

    def __repr__(self) -> str:
        return self.text()

    def latex(self) -> str:
        return self._render(latex, lambda d: d.latex(), r" \, ", (r"\left(", r"\right)"))

    def text(self) -> str:
        return self._render(to_text, lambda d: d.text(), "*", ("(", ")"))


def _vanishes_at_zero(coeff: sp.Expr, atom: Norm) -> bool:
    t = sp.Dummy("t", nonnegative=True)
    try:
        at0 = coeff.xreplace({atom: t}).subs(t, 0)
    except (TypeError, ValueError, ZeroDivisionError):
        return False
    return bool(at0 == 0)


def _dependent_atoms(f: sp.Expr, wrt: Expr) -> list[Expr]:
    """Outermost Norm / ScalarOf nodes (and ``wrt`` itself) that depend on ``wrt``."""
    found: list[Expr] = []

    def walk(e: sp.Basic) -> None:
        if isinstance(e, (Norm, ScalarOf, sp.Trace, NormOrderDerivative, sp.Max, sp.Min,
                          ScalarFunction)) or e == wrt:
            if depends(e, wrt) and e not in found:
                found.append(e)
            return
        if isinstance(e, MatrixExpr):
            raise UnsupportedExpressionError(
                f"the matrix expression {to_text(e)} appears in a scalar position in "
                f"{to_text(f)}; wrap 1x1 products in ScalarOf or use the parser")
        for a in e.args:
            walk(a)

    walk(f)
    return found


def _tidy(c: sp.Expr) -> sp.Expr:
    """Light scalar clean-up: expand exponents, merge powers of the same base."""
    def tidy(c: sp.Expr) -> sp.Expr:
        # the derivative of sign() is 0 wherever it exists (DiracDelta is not a function)
        c = c.replace(lambda e: isinstance(e, sp.DiracDelta), lambda e: sp.Integer(0))
        c = c.replace(lambda e: e.is_Pow and not e.exp.is_number,
                      lambda e: sp.Pow(e.base, sp.expand(e.exp)))
        return sp.powsimp(c)

    return masked(tidy, c)


def grad_extremum(f: sp.Max | sp.Min, wrt: Expr, rec: Recorder) -> Expr | None:
    """``max(f_1, ..., f_k)``: the gradient of the active piece; at a tie the minimum-norm
    element of the convex hull of the tied pieces' gradients (``min`` likewise)."""
    kind = "max" if isinstance(f, sp.Max) else "min"
    pieces = list(f.args)
    grads = [grad_scalar(p, wrt, rec) for p in pieces]
    if all(g is None for g in grads):
        return None
    grads = [zero_like(wrt) if g is None else g for g in grads]
    node_type = ActiveGradient if isinstance(wrt, MatrixExpr) else ScalarActiveGradient
    g = node_type.build(kind, pieces, grads)
    rec.step(f"{kind} rule", Differential(f, wrt), g,
             f"the gradient of the active piece of the {kind}; at a tie, the minimum-norm "
             "element of the convex hull of the tied pieces' gradients")
    names = {f"f{i}": piece for i, piece in enumerate(pieces)}
    slots = [f"${{{name}}}" for name in names]
    if len(pieces) == 2:
        text = latex = f"{slots[0]} = {slots[1]}"
    else:
        word = "largest" if kind == "max" else "smallest"
        text = f"the {word} of {', '.join(slots)} is attained twice"
        latex = (rf"\text{{the {word} of }} {', '.join(slots)}"
                 r"\text{ is attained twice}")
    rec.kink([kink(text, latex, "the minimum-norm element of the convex hull of the tied "
                                "pieces' gradients", **names)], source=f)
    return g


def fixed_parameters(e: Any, wrt: Expr) -> None:
    """Refuse a function node whose parameters (``eps``, a threshold) depend on ``wrt``:
    its rule differentiates with respect to its first argument only."""
    for a in e.args[1:]:
        if isinstance(a, sp.Basic) and depends(a, wrt):
            raise UnsupportedExpressionError(
                f"cannot differentiate {to_text(e)} with respect to {to_text(wrt)}: its "
                f"parameter {to_text(a)} depends on {to_text(wrt)} (only its first argument "
                "may)")


def grad_function(f: ScalarFunction, wrt: Expr, rec: Recorder) -> Expr | None:
    """``f(u)`` for a registered function of a whole vector or matrix (``det``, ``mean``,
    ``logsumexp``, ...): the rule's gradient with respect to ``u``, then the chain rule."""
    rule = function_rule(f)
    if rule is None or rule.gradient is None:
        raise UnsupportedExpressionError(f"no derivative rule for {type(f).__name__} in "
                                         f"{to_text(f)}")
    fixed_parameters(f, wrt)
    u = f.arg
    g_u = rule.gradient(f)
    rec.kink(rule.kinks(f))
    if rule.numpy_gradient:
        rec.fusions[g_u] = Fusion(rule.numpy_gradient, tuple(f.args))
    rec.step(rule.key, Differential(f, u), g_u, rule.title)
    if u == wrt:
        return g_u
    g = vjp(u, wrt, g_u, rec)
    if g is not None:
        rec.step("chain rule", Differential(f, wrt), g,
                 "chain rule: multiply by the transposed Jacobian of the inner map")
    return g


def vjp_function(e: MatrixExpr, wrt: Expr, cot: Expr, rec: Recorder) -> Expr | None:
    """``J_e^T cot`` through a registered vector- or matrix-valued function
    (``softmax``, ``layer_norm``, ``inv``, soft thresholding), then the chain rule."""
    rule = function_rule(e)
    if rule is None or rule.vjp is None:
        raise UnsupportedExpressionError(f"no derivative rule for {type(e).__name__} in "
                                         f"{to_text(e)}")
    fixed_parameters(e, wrt)
    u = e.args[0]
    rec.kink(rule.kinks(e))
    if rule.jvp is not None and u.shape[1] == 1:  # the Jacobian itself, for the record
        rec.step(rule.key, Differential(e, u, "jacobian"),
                 rule.jvp(e, Identity(u.shape[0])), rule.title)
    c, g = _split(cot) if isinstance(cot, MatMul) else (sp.Integer(1), cot)
    cot_u = rule.vjp(e, g)  # linear in the cotangent: its scalar factor stays outside
    if rule.numpy_vjp and isinstance(g, MatrixExpr) and g.shape == e.shape:
        rec.fusions[cot_u] = Fusion(rule.numpy_vjp, (*e.args, g))
    return vjp(u, wrt, scale(c, cot_u), rec)


def vjp_normalised(e: MatrixExpr, wrt: Expr, cot: MatrixExpr, rec: Recorder) -> Expr | None:
    """``J^T g`` through ``u/‖u‖₂``: its Jacobian is the Hessian of ``‖u‖₂``,
    ``(I - u u^T/‖u‖₂²)/‖u‖₂`` (symmetric), applied to ``g`` in O(n) by a fused helper."""
    u = normalised(e)
    rec.kink(normalised_kinks(u))
    rec.step("normalisation", Differential(e, u, "jacobian"),
             normalised_jvp(u, Identity(u.shape[0])),
             "the Jacobian of u/‖u‖₂ is the Hessian of ‖u‖₂: the projection onto the tangent "
             "plane of the sphere, divided by ‖u‖₂")
    c, g = _split(cot) if isinstance(cot, MatMul) else (sp.Integer(1), cot)
    cot_u = normalised_jvp(u, g)
    rec.fusions[cot_u] = Fusion(NORMALISED_HELPER, (u, g))
    return vjp(u, wrt, scale(c, cot_u), rec)


def grad_norm(n: Norm, wrt: Expr, rec: Recorder, smooth_at_zero: bool = False,
              order_fixed: bool = False) -> Expr | None:
    u, p = n.arg, n.p
    if depends(p, wrt) and not order_fixed:
        return _grad_norm_with_order(n, wrt, rec, smooth_at_zero)
    rule = norm_rule(p)
    g_u = rule.gradient(u, p)
    rec.assume(rule.assumptions(p, n.p_min))
    if not rule.is_norm(p):  # quasi-norms and the count are allowed, but flagged
        note = f"{to_text(n)} is not a norm: it breaks the {rule.broken_axiom(p)}"
        if note not in rec.warnings:
            rec.warnings.append(note)
    rec.kink([k for k in rule.kinks(u, p) if not (smooth_at_zero and k.at_zero)], source=n)
    rec.fusions[g_u] = (rule, u, p)
    if rec.index_notation and rule.index_form is not None and not order_fixed:
        rec.steps.extend(index_steps(rule, n))
    rec.step(rule.key, Differential(n, u), g_u,
             f"gradient of the {rule.title}" + ("; the order held fixed" if order_fixed else ""))
    if u == wrt:
        return g_u
    g = vjp(u, wrt, g_u, rec)
    if g is not None:
        rec.step("chain rule", Differential(n, wrt), g,
                 "chain rule: multiply by the transposed Jacobian of the inner map")
    return g


def _grad_norm_with_order(n: Norm, wrt: Expr, rec: Recorder,
                          smooth_at_zero: bool) -> Expr | None:
    """``‖u‖_p`` with an order ``p`` that depends on ``wrt``: the chain rule over both
    arguments, ``∇‖u‖_p = J_u^T ∇_u‖u‖_p + (∂‖u‖_p/∂p) ∇p``."""
    u, p = n.arg, n.p
    if not (isinstance(p, sp.Expr) and p.free_symbols):
        raise UnsupportedExpressionError(f"cannot differentiate the order of {to_text(n)}")
    if depends(n.p_min, wrt):
        raise UnsupportedExpressionError(
            f"cannot differentiate {to_text(n)}: its assumed lower bound on the order "
            f"depends on {to_text(wrt)}")
    terms = []
    if depends(u, wrt):  # the part through u, the order held fixed
        g_u = grad_norm(n, wrt, rec, smooth_at_zero, order_fixed=True)
        if g_u is not None:
            terms.append(g_u)
    dp = NormOrderDerivative(u, p)
    rec.step("order derivative", Differential(n, p, "partial"), dp,
             "derivative of the norm with respect to its order")
    g_p = sp.Integer(1) if p == wrt else grad_scalar(p, wrt, rec)
    if g_p is not None:
        terms.append(scale(dp, g_p))
    return add(terms)


# -- reverse mode through matrix expressions ------------------------------------------

def vjp(e: Expr, wrt: Expr, cot: Expr, rec: Recorder) -> Expr | None:
    """``J_e(wrt)^T cot``: the cotangent on ``wrt`` given the cotangent ``cot`` on ``e``.

    ``cot`` has the shape of ``e`` (a scalar when ``e`` is 1x1).
    """
    if e == wrt:
        return cot
    if not depends(e, wrt):
        return None
    if isinstance(e, MatAdd):
        return add([vjp(t, wrt, cot, rec) for t in e.args])
    if isinstance(e, MatMul) and normalised(e) is not None and isinstance(cot, MatrixExpr) \
            and cot.shape == e.shape:
        return vjp_normalised(e, wrt, cot, rec)
    if isinstance(e, MatMul):
        scalars = [a for a in e.args if not isinstance(a, MatrixExpr)]
        mats = [a for a in e.args if isinstance(a, MatrixExpr)]
        c = sp.Mul(*scalars)
        terms = []
        if depends(c, wrt):  # d(c M) = dc M + c dM: the dc part needs <cot, M>
            rest = _product(mats)
            if rest.shape == (1, 1):
                inner = cot * ScalarOf(rest)
            elif rest.shape[1] == 1:
                inner = ScalarOf(_product([cot.T, rest]))
            elif rest.shape[0] == 1:
                inner = ScalarOf(_product([rest, cot.T]))
            else:  # <cot, M> = tr(cot^T M)
                inner = Trace(_product([cot.T, rest]))
            g_c = grad_scalar(c, wrt, rec)
            if g_c is not None:
                terms.append(scale(inner, g_c))
        for i, factor in enumerate(mats):
            if not depends(factor, wrt):
                continue
            left = [m.T for m in reversed(mats[:i])]
            right = [m.T for m in reversed(mats[i + 1:])]
            terms.append(vjp(factor, wrt, _product([c, *left, cot, *right]), rec))
        return add(terms)
    if isinstance(e, Transpose):
        return vjp(e.arg, wrt, _transpose(cot), rec)
    if isinstance(e, MatPow) and e.shape == (1, 1):  # (a.T*x)**2: a scalar power
        if depends(e.exp, wrt):
            raise UnsupportedExpressionError(
                f"cannot differentiate {to_text(e)}: the exponent depends on {wrt}")
        base = ScalarOf(e.base)
        return vjp(e.base, wrt, _tidy(cot * e.exp * base ** (e.exp - 1)), rec)
    if isinstance(e, Inverse):  # d(X^-1) = -X^-1 dX X^-1
        inv_t = _transpose(e)
        return vjp(e.arg, wrt, _product([sp.Integer(-1), inv_t, cot, inv_t]), rec)
    if isinstance(e, MatPow):  # X**k = X*X*...*X (SymPy folds X*X): the product rule
        return vjp(_repeated_factor(e, wrt), wrt, cot, rec)
    if isinstance(e, HadamardProduct):
        terms = []
        for i, a in enumerate(e.args):
            if depends(a, wrt):
                others = [b for j, b in enumerate(e.args) if j != i]
                terms.append(vjp(a, wrt, _hadamard([cot, *others]), rec))
        return add(terms)
    if isinstance(e, HadamardPower):
        if depends(e.exp, wrt):
            raise UnsupportedExpressionError(
                f"cannot differentiate {to_text(e)}: the exponent depends on {wrt}")
        d = scale(e.exp, HadamardPower(e.base, e.exp - 1)) if e.exp != 2 \
            else scale(2, e.base)
        return vjp(e.base, wrt, _hadamard([cot, d]), rec)
    if isinstance(e, Elementwise):
        rule = ELEMENTWISE[e.name]
        rec.kink(rule.kinks(e.arg), source=e)
        d = rule.derivative(e.arg)
        if d is None:  # piecewise constant: zero derivative almost everywhere
            return None
        return vjp(e.arg, wrt, _hadamard([cot, d]), rec)
    if function_rule(e) is not None:
        return vjp_function(e, wrt, cot, rec)
    raise UnsupportedExpressionError(
        f"no derivative rule for {type(e).__name__} in {to_text(e)}")


def _repeated_factor(e: MatPow, wrt: Expr) -> MatMul:
    """``X**k`` (``k`` a nonzero integer) as the unevaluated product ``X*X*...*X`` (of
    ``inv(X)`` for ``k < 0``)."""
    k = e.exp
    if depends(k, wrt):
        raise UnsupportedExpressionError(
            f"cannot differentiate {to_text(e)}: the exponent depends on {to_text(wrt)}")
    if not k.is_Integer or k == 0:
        raise UnsupportedExpressionError(
            f"cannot differentiate {to_text(e)}: a matrix power needs an integer exponent, "
            f"got {to_text(k)}")
    factor = e.base if k > 0 else Inverse(e.base)
    return MatMul(*[factor] * abs(int(k)))


def _hadamard(args: list[Expr]) -> Expr:
    flat = []
    for a in args:
        flat.extend(a.args if isinstance(a, HadamardProduct) else [a])
    scalars = [a for a in flat if not isinstance(a, MatrixExpr)]
    mats = [a for a in flat if isinstance(a, MatrixExpr)]
    coeff = sp.Mul(*scalars)
    pulled = []
    for m in mats:  # pull scalar coefficients out: (c*u) ⊙ v = c (u ⊙ v)
        if isinstance(m, MatMul):
            c, rest = _split(m)
            coeff *= c
            m = rest
        pulled.append(m)
    body = pulled[0] if len(pulled) == 1 else HadamardProduct(*pulled)
    return scale(coeff, body)


# -- entry points -----------------------------------------------------------------------

def derive_gradient(f: Any, wrt: Any, *, index_notation: bool = False) -> Derivation:
    f = as_scalar(f)
    check_shapes(f)
    check_wrt(f, wrt)
    rec = Recorder(index_notation=index_notation)
    g = grad_scalar(f, wrt, rec)
    result = zero_like(wrt) if g is None else g
    convention = None
    space = structured_space(wrt)
    if space is not None:
        result, convention = _in_structured_space(f, wrt, result, space, rec)
    kinks = [_what_kernels_return(k, rec.kink_sources.get(k), f, wrt) for k in rec.kinks]
    return Derivation(f=f, wrt=wrt, result=result, steps=rec.steps,
                      assumptions=rec.assumptions, kinks=kinks, fusions=rec.fusions,
                      warnings=rec.warnings, convention=convention)


def _what_kernels_return(k: Kink, source: Any, f: sp.Expr, wrt: Expr) -> Kink:
    """The kink with what the kernel of ``∇f`` returns there, said exactly.

    A rule says what its own derivative takes at its kink (the minimum-norm subgradient of
    ‖·‖₁ at ``u``: sign(u), 0 in zero entries). That is the minimum-norm element of ``∂f``
    when ``f`` is (a positive multiple of) the norm itself and ``u`` is ``wrt`` up to a
    shift and a scale, or when it is 0; through any other chain rule (``Aᵀ s`` for
    ``‖Ax − b‖₁``, a sum with other terms as in the lasso) it is a subgradient of ``f``
    (for a convex ``f``), not in general the minimum-norm one.
    """
    if source is None:
        return k
    coeff, body = f.as_independent(wrt, as_Add=False) if isinstance(f, sp.Mul) else \
        (sp.Integer(1), f)
    whole = body == source and coeff.is_positive is True
    image = _adjoint_image(source.arg, wrt) if isinstance(source, Norm) else None
    if whole and (image is True or (k.at_zero and k.returns.startswith("0"))):
        return k
    if whole and not isinstance(source, Norm):
        return k  # max/min of pieces: the hull's minimum-norm element, as the rule says
    tail = (f"; that is a subgradient of f where f is convex, not in general its "
            f"minimum-norm element (subdiff(f, {to_text(wrt)}).min_norm computes that one)")
    if isinstance(source, Norm) and isinstance(image, tuple):
        mapped, s = image
        returns = (f"{to_text(mapped)} with {s} = {k.returns} of "
                   f"norm(., {to_text(source.p)}) at {to_text(source.arg)}")
    else:
        returns = f"{k.returns} of {to_text(source)}, carried into the gradient by the " \
                  f"chain rule"
    return dataclasses.replace(k, returns=returns + tail)


def _adjoint_image(u: Expr, wrt: Expr) -> Any:
    """``True`` when ``u`` is ``c wrt + const`` (its transposed Jacobian a multiple of the
    identity), else ``(J^T s, s)`` (None where that has no closed form)."""
    if u == wrt:
        return True
    if not isinstance(u, MatrixExpr):
        return None
    taken = {getattr(a, "name", None) for a in u.free_symbols}
    name = next(n for n in ("s", "s_", "s0", "s1", "s2") if n not in taken)
    s = MatrixSymbol(name, *u.shape)
    try:
        image = vjp(u, wrt, s, Recorder())
    except (SymnormError, TypeError, ValueError):
        return None
    if image == s:
        return True
    if isinstance(image, MatMul):
        c, rest = _split(image)
        if rest == s and not depends(c, wrt) and c.is_zero is False:
            return True
    return None if image is None else (image, name)


CONVENTIONS = {
    "symmetric": (
        "{X} is declared symmetric: its gradient is the one in the space of symmetric "
        "matrices, sym(G) = (G + G.T)/2 of G = d/d{X}, the matrix of partial derivatives "
        "with the entries of {X} taken independent, so that a gradient step keeps {X} "
        "symmetric (not the Matrix Cookbook's G + G.T - G .* I, the derivative with "
        "respect to the n(n+1)/2 distinct entries, which doubles the off-diagonal "
        "entries)"),
    "diagonal": (
        "{X} is declared diagonal: its gradient is the one in the space of diagonal "
        "matrices, diag(G) = G .* I of G = d/d{X}, the matrix of partial derivatives with "
        "the entries of {X} taken independent, so that a gradient step keeps {X} "
        "diagonal"),
}


def _in_structured_space(f: sp.Expr, wrt: MatrixSymbol, g: Expr, space: str,
                         rec: Recorder) -> tuple[Expr, str]:
    """The gradient in the space of symmetric (diagonal) matrices, ``sym(G)`` (``diag(G)``)
    of the unconstrained ``G``; the steps before it are derivatives with respect to the
    entries taken independent, and say so (``∂/∂X``, not ``∇_X``)."""
    rec.steps[:] = [_as_partial(step, wrt) for step in rec.steps]
    result = symmetric_part(g) if space == "symmetric" else diagonal_part(g)
    convention = CONVENTIONS[space].format(X=to_text(wrt))
    what = "sym(G) = (G + G.T)/2" if space == "symmetric" else "diag(G) = G .* I"
    rec.step(f"{space} gradient", Differential(f, wrt), result,
             f"{to_text(wrt)} is {space}: the gradient in that space, {what} of "
             f"G = {to_text(g)}")
    return result, convention


def _as_partial(step: Step, wrt: Expr) -> Step:
    def partial(obj: Any) -> Any:
        if isinstance(obj, Differential) and obj.wrt == wrt and obj.symbol == "grad":
            return Differential(obj.expr, wrt, "partial")
        if isinstance(obj, ChainSum) and obj.wrt == wrt:
            return ChainSum(obj.terms, wrt, "partial")
        return obj

    return Step(step.rule, partial(step.before), partial(step.after), step.note)
