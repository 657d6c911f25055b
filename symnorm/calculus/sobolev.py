r"""Sobolev norms: of functions (exact, by SymPy integration) and of grid vectors.

``sobolev_norm(f, t, (a, b), k, p)`` is ``‖f‖_{W^{k,p}(a,b)} = (Σ_{j<=k} ∫_a^b |f^{(j)}|^p
dt)^{1/p}`` (for ``p = oo``, the largest of the sup norms ``sup |f^{(j)}|``); with several
variables ``t = (x, y)`` and a box ``((a1, b1), (a2, b2))`` the sum runs over every
partial derivative ``∂^α f`` with ``|α| <= k``. ``seminorm=True`` keeps only the order-k
terms (``|f|_{W^{k,p}}``). Each derivative and each integral is a recorded step; when
SymPy cannot integrate a term in closed form, that term is computed by quadrature
(``mpmath.quad``) and the result says so.

``sobolev_norm(u, k=1, h=...)`` for a grid vector ``u`` (values at spacing ``h``) is the
discrete norm ``(h Σ_{j<=k} ‖D_j u‖_p^p)^{1/p}`` with ``D_j`` the j-th forward
difference matrix divided by ``h^j``: an ordinary symnorm expression, so its gradient
(``2h(I + D^T D)u`` for the squared H¹ norm) and kernels come from the engine.

The first variation of such an energy (``first_variation(J, u)``, the Euler–Lagrange
expression) is in :mod:`.variation`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import sympy as sp
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol

from ..model.atoms import Norm
from ..model.errors import CheckFailedError, DomainError, ShapeError, UnsupportedExpressionError
from ..model.text import to_text
from ..presentation.blocks import Block, Equations, Paragraph, Row, Shown
from ..presentation.latex import latex
from ..presentation.prose import Math, Note, note, plain_math
from ..rules.constructors import norm

__all__ = ["DifferenceMatrix", "SobolevNorm", "SobolevStep", "sobolev_energy", "sobolev_norm"]


# -- functions ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class SobolevStep:
    """One step: ``lhs = rhs`` (LaTeX; ``rhs_text`` the right side as text) and a note."""

    lhs: str
    rhs: str
    note: str
    rhs_text: str = ""

    def row(self) -> Row:
        rhs = Math(self.rhs, self.rhs_text) if self.rhs_text else plain_math(self.rhs)
        return Row(plain_math(self.lhs), rhs, Note.of(self.note))


@dataclass(repr=False)
class SobolevNorm(Shown):
    r"""The value of a Sobolev norm with its derivation.

    ``value`` is exact (a SymPy number or expression) when ``exact``; otherwise a Float
    from quadrature, and ``notes`` say which integrals were computed numerically.
    ``terms`` maps each multi-index (tuple of derivative orders) to its integral (or sup).
    """

    f: Any
    variables: tuple
    domain: tuple
    k: int
    p: Any
    seminorm: bool
    value: Any
    power: Any                      # Σ ∫ |∂^α f|^p  (p < oo), or the max (p = oo)
    terms: dict
    steps: list[SobolevStep] = field(default_factory=list)
    exact: bool = True
    notes: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)  # exact terms against quadrature

    def name_latex(self) -> str:
        space = ("W" if self.p != 2 else "H")
        pt = r"\infty" if self.p == sp.oo else latex(self.p)
        sup = f"{{{self.k},{pt}}}" if self.p != 2 else f"{{{self.k}}}"
        box = r" \times ".join(f"({latex(a)}, {latex(b)})" for a, b in self.domain)
        f = latex(self.f)
        if self.seminorm:
            return rf"\lvert {f} \rvert_{{{space}^{sup}({box})}}"
        return rf"\lVert {f} \rVert_{{{space}^{sup}({box})}}"

    def _title_(self) -> Note:
        kind = "seminorm" if self.seminorm else "norm"
        return note(f"The Sobolev {kind} ", Math(self.name_latex(), self._name_text()))

    def _name_text(self) -> str:
        bar = "|" if self.seminorm else "||"
        space = f"H^{self.k}" if self.p == 2 else f"W^({self.k},{to_text(self.p)})"
        box = " x ".join(f"({to_text(a)}, {to_text(b)})" for a, b in self.domain)
        return f"{bar}{to_text(self.f)}{bar}_{space}{box}"

    def _blocks_(self) -> list[Block]:
        """Each derivative, each integral (or sup), the sum and its root; then which terms
        were computed numerically, and the check of the exact ones."""
        out: list[Block] = [Equations([s.row() for s in self.steps])]
        out += [Paragraph(Note.of(n)) for n in self.notes]
        if self.checked:
            out.append(Paragraph(Note(f"each exact term agrees with quadrature (mpmath) to "
                                      f"1e-8: {len(self.checked)} checked"), small=True))
        return out

    def latex(self) -> str:
        r"""An ``aligned`` block: each derivative, each integral, the sum, the root; the
        notes numbered at the right and written out under it."""
        return Shown.latex(self)

    def __repr__(self) -> str:
        kind = "exact" if self.exact else "numeric (quadrature)"
        return f"{self._name_text()} = {to_text(self.value)}  [{kind}]"

    def evalf(self, n: int = 15) -> float:
        return float(sp.N(self.value, n))


def _as_domain(variables: tuple, domain: Any) -> tuple:
    if domain is None:
        raise ShapeError("give the domain: (a, b), or a box ((a1, b1), (a2, b2), ...)")
    if len(variables) == 1 and len(domain) == 2 and not isinstance(domain[0], (tuple, list)):
        domain = (tuple(domain),)
    if len(domain) != len(variables) or any(not isinstance(iv, (tuple, list)) or len(iv) != 2
                                            for iv in domain):
        raise ShapeError(f"the domain {domain!r} must give one interval (a, b) per variable "
                         f"({len(variables)})")
    out = []
    for a, b in domain:
        a, b = sp.sympify(a, strict=True), sp.sympify(b, strict=True)
        if (a - b).is_nonnegative:
            raise ShapeError(f"empty interval ({a}, {b}): need a < b")
        out.append((a, b))
    return tuple(out)


def _multi_indices(nvars: int, order: int) -> list[tuple]:
    return [alpha for alpha in itertools.product(range(order + 1), repeat=nvars)
            if sum(alpha) == order]


def _derivative(f: sp.Expr, variables: tuple, alpha: tuple) -> sp.Expr:
    spec = [(v, a) for v, a in zip(variables, alpha) if a]
    return sp.diff(f, *spec) if spec else f


def _deriv_latex(f: Any, variables: tuple, alpha: tuple) -> str:
    total = sum(alpha)
    if total == 0:
        return latex(f)
    if len(variables) == 1:
        marks = {1: "'", 2: "''", 3: "'''"}
        fl = latex(f)
        return f"({fl})^{{{marks[total]}}}" if total in marks else f"({fl})^{{({total})}}"
    den = " ".join(rf"\partial {latex(v)}" + (f"^{{{a}}}" if a > 1 else "")
                   for v, a in zip(variables, alpha) if a)
    num = r"\partial" + (f"^{{{total}}}" if total > 1 else "")
    return rf"\frac{{{num} ({latex(f)})}}{{{den}}}"


def _integral_latex(body: str, variables: tuple, domain: tuple) -> str:
    ints = "".join(rf"\int_{{{latex(a)}}}^{{{latex(b)}}}" for a, b in domain)
    ds = r"\,".join(rf"\mathrm{{d}}{latex(v)}" for v in variables)
    return rf"{ints} {body} \, {ds}"


def _quad(expr: sp.Expr, variables: tuple, domain: tuple,
          breaks: list | None = None) -> sp.Float:
    """Quadrature over the box; ``breaks`` (one variable) are interior kinks to split at."""
    import mpmath

    fn = sp.lambdify(variables, expr, modules="mpmath")
    limits = [[float(a), float(b)] for a, b in domain]
    if breaks and len(variables) == 1:
        limits = [[float(a) for a in breaks]]
    return sp.Float(mpmath.quad(fn, *limits))


def _integrate(g: sp.Expr, variables: tuple, domain: tuple) -> tuple[sp.Expr, bool]:
    """``∫ g`` over the box: exactly when SymPy can, else by quadrature (False)."""
    try:
        value = sp.integrate(g, *[(v, a, b) for v, (a, b) in zip(variables, domain)])
    except (NotImplementedError, ValueError, TypeError):
        value = None
    if value is None or value.has(sp.Integral) or value.has(sp.nan) or \
            (value.is_number and not value.is_finite):
        return _quad(g, variables, domain), False
    return sp.simplify(value), True


def _sign_pieces(g: sp.Expr, t: sp.Symbol, a: sp.Expr, b: sp.Expr) -> list | None:
    """``[(a_i, b_i, sign)]`` splitting (a, b) where ``g`` changes sign, or None when the
    zeros of ``g`` cannot be found exactly (then |g|^p is integrated numerically)."""
    try:
        if g.is_polynomial(t):
            roots = [r for r in sp.Poly(g, t).real_roots() if (r - a).is_positive
                     and (b - r).is_positive]
        else:
            found = sp.solveset(g, t, sp.Interval.open(a, b))
            if not isinstance(found, sp.FiniteSet):
                return None
            roots = list(found)
    except (NotImplementedError, ValueError, TypeError, sp.PolynomialError):
        return None
    cuts = [a, *sorted(set(roots), key=lambda r: float(r)), b]
    pieces = []
    for lo, hi in zip(cuts, cuts[1:]):
        mid = g.subs(t, (lo + hi) / 2)
        sign = 1 if sp.N(mid) >= 0 else -1
        pieces.append((lo, hi, sign))
    return pieces


def _integrate_abs_power(g: sp.Expr, p: sp.Expr, variables: tuple,
                         domain: tuple) -> tuple[sp.Expr, bool]:
    """``∫ |g|^p``: without the absolute value on each piece of constant sign (exact when
    SymPy integrates the pieces), by quadrature otherwise."""
    if p.is_even:
        return _integrate(g**p, variables, domain)
    if len(variables) == 1:
        t, (a, b) = variables[0], domain[0]
        pieces = _sign_pieces(g, t, a, b)
        if pieces is not None:
            total, exact = sp.Integer(0), True
            for lo, hi, sign in pieces:
                value, ok = _integrate((sign * g) ** p, variables, ((lo, hi),))
                total += value
                exact = exact and ok
            if exact:
                return sp.simplify(total), True
    return _quad(sp.Abs(g) ** p, variables, domain), False


def _sup_abs(g: sp.Expr, variables: tuple, domain: tuple) -> tuple[sp.Expr, bool]:
    """``sup |g|`` over the box: exactly in one variable when SymPy can, else sampled."""
    if not (g.free_symbols & set(variables)):
        return sp.Abs(g), True
    if len(variables) == 1:
        t, (a, b) = variables[0], domain[0]
        try:
            iv = sp.Interval(a, b)
            hi = sp.calculus.util.maximum(g, t, iv)
            lo = sp.calculus.util.minimum(g, t, iv)
            if hi is not None and lo is not None and hi.is_number and lo.is_number:
                return sp.simplify(sp.Max(sp.Abs(hi), sp.Abs(lo))), True
        except (NotImplementedError, ValueError, TypeError):
            pass
    return _sup_abs_sampled(g, variables, domain), False


def _sup_abs_sampled(g: sp.Expr, variables: tuple, domain: tuple) -> sp.Float:
    import numpy as np

    fn = sp.lambdify(variables, sp.Abs(g), modules="numpy")
    grids = np.meshgrid(*[np.linspace(float(a), float(b), 2001 if len(variables) == 1 else 101)
                          for a, b in domain], indexing="ij")
    vals = np.broadcast_to(np.asarray(fn(*grids), dtype=float), grids[0].shape)
    return sp.Float(float(np.max(vals)))


def sobolev_energy(f: Any, t: Any, domain: Any, k: int = 1, *, seminorm: bool = False) -> Any:
    r"""``∫ Σ_{|α|<=k} (∂^α f)^2`` as an unevaluated integral: ``‖f‖²_{H^k}`` written out,
    the functional :func:`first_variation` differentiates.

    Parameters
    ----------
    f : sympy.Expr
        The function, usually an unknown one applied to its variables (``u(t)``,
        ``u(x, y)``), or any expression in them.
    t : sympy.Symbol or tuple of sympy.Symbol
        The variable(s).
    domain : tuple
        ``(a, b)`` for one variable, or a box ``((a1, b1), (a2, b2), ...)``, one
        interval per variable.
    k : int, optional
        The highest order of derivatives (default 1).
    seminorm : bool, optional
        Only the derivatives of order exactly ``k`` (the seminorm ``|f|²_{H^k}``;
        default False).

    Returns
    -------
    sympy.Integral
        The unevaluated integral over the domain of the sum of the squared partial
        derivatives ``(∂^α f)²``, ``|α| <= k``.

    Raises
    ------
    ShapeError
        If the domain is missing, does not give one interval per variable, or has an
        empty interval.

    Examples
    --------
    >>> import sympy as sp, symnorm as sn
    >>> t = sp.Symbol("t", real=True)
    >>> u = sp.Function("u")
    >>> print(sn.sobolev_energy(u(t), t, (0, 1), k=1))
    Integral(u(t)**2 + Derivative(u(t), t)**2, (t, 0, 1))
    >>> print(sn.sobolev_energy(u(t), t, (0, 1), k=2, seminorm=True))
    Integral(Derivative(u(t), (t, 2))**2, (t, 0, 1))
    >>> x, y = sp.symbols("x y", real=True)
    >>> print(sn.sobolev_energy(u(x, y), (x, y), ((0, 1), (0, 1))))  # doctest: +ELLIPSIS
    Integral(u(x, y)**2 + Derivative(u(x, y), x)**2 + ..., (x, 0, 1), (y, 0, 1))
    """
    variables = tuple(t) if isinstance(t, (tuple, list)) else (t,)
    box = _as_domain(variables, domain)
    orders = [k] if seminorm else range(k + 1)
    body = sp.Add(*[_derivative(f, variables, alpha) ** 2 for j in orders
                    for alpha in _multi_indices(len(variables), j)])
    return sp.Integral(body, *[(v, a, b) for v, (a, b) in zip(variables, box)])


def sobolev_norm(f: Any, t: Any = None, domain: Any = None, k: int = 1, p: Any = 2, *,
                 seminorm: bool = False, h: Any = None, check: bool = True) -> Any:
    r"""The Sobolev norm ``‖f‖_{W^{k,p}}`` of a function, or the discrete one of a grid vector.

    Functions (``f`` a SymPy expression in ``t``; ``t`` a symbol or a tuple of symbols,
    ``domain`` ``(a, b)`` or a box): returns a :class:`SobolevNorm` with the exact value,
    the steps and LaTeX: ``(Σ_{|α|<=k} ∫ |∂^α f|^p)^{1/p}``, or the largest
    ``sup |∂^α f|`` for ``p = oo``. Every exact integral (sup) with numeric limits is
    compared with quadrature (a fine grid) before it is returned (``check=False``
    switches that off). The comparisons are in ``.checked``; an integral SymPy cannot
    do is computed by quadrature (``exact`` is then False and ``notes`` say which).

    Grid vectors (``f`` made by ``sn.vector``, spacing ``h``): returns a symnorm
    expression, ``(h Σ_{j<=k} ‖D_h^j u‖_p^p)^{1/p}`` with ``D_h^j`` the ``j``-th forward
    difference matrix divided by ``h^j``, differentiable by :func:`symnorm.grad` and
    compiled by kernels for any number of grid points.

    Parameters
    ----------
    f : sympy.Expr or sympy.MatrixSymbol
        A function of ``t`` (other free symbols must be declared real), or a grid
        vector made by :func:`vector`.
    t : sympy.Symbol or tuple of sympy.Symbol, optional
        The variable(s) of a function (not used for a grid vector).
    domain : tuple, optional
        ``(a, b)`` with ``a < b``, or a box ``((a1, b1), (a2, b2), ...)`` (functions).
    k : int, optional
        The highest order of derivatives (default 1).
    p : number, str or sympy.Basic, optional
        The exponent, a number ``>= 1`` or ``oo`` (``"oo"``, ``float("inf")``);
        default 2 (the space ``H^k``).
    seminorm : bool, optional
        Only the derivatives (differences) of order exactly ``k`` (default False).
    h : number or sympy.Symbol, optional
        The grid spacing of a vector, positive (a number or ``sn.scalar("h",
        positive=True)``).
    check : bool, optional
        Compare every exact integral with quadrature (functions; default True).

    Returns
    -------
    SobolevNorm or sympy.Expr
        For a function, a :class:`SobolevNorm`: ``value``, ``exact``, ``terms`` (each
        multi-index to its integral or sup), ``steps``, ``checked``, ``latex()``. For a
        grid vector, a scalar symnorm expression.

    Raises
    ------
    DomainError
        If ``k`` is not an integer ``>= 0`` or ``p`` is not ``>= 1`` or ``oo``.
    ShapeError
        If the variables or the domain are missing or malformed (an empty interval),
        ``f`` has free symbols not declared real, or a grid vector has no positive
        spacing ``h``.
    UnsupportedExpressionError
        If ``f`` is neither a SymPy expression nor a vector.
    CheckFailedError
        If an exact integral (sup) disagrees with quadrature.

    Examples
    --------
    >>> import sympy as sp, symnorm as sn
    >>> t = sp.Symbol("t", real=True)
    >>> N = sn.sobolev_norm(sp.sin(sp.pi*t), t, (0, 1), k=1)
    >>> N.value
    sqrt(2 + 2*pi**2)/2
    >>> N
    ||sin(pi*t)||_H^1(0, 1) = sqrt(2 + 2*pi**2)/2  [exact]
    >>> sn.sobolev_norm(t*(1 - t), t, (0, 1), k=1, seminorm=True).value
    sqrt(3)/3
    >>> sn.sobolev_norm(t**2, t, (0, 1), k=2, p=sp.oo).value
    2

    Grid vectors:

    >>> import numpy as np
    >>> u, h = sn.vector("u"), sn.scalar("h", positive=True)
    >>> E = sn.sobolev_norm(u, k=1, h=h)**2
    >>> print(sn.to_text(sn.grad(E, u).result))
    2*h*u + 2*h*diff_matrix(n, 1, h).T*diff_matrix(n, 1, h)*u
    >>> k = sn.kernel(sn.sobolev_norm(u, k=1, h=0.5))    # sqrt(h*(|u|^2 + |D_h u|^2))
    >>> k(np.array([0.0, 1.0, 0.0]))                      # sqrt(0.5*(1 + 8))
    array(2.12132034)
    >>> sn.sobolev_norm(t, t, (0, 1), k=-1)
    Traceback (most recent call last):
    ...
    symnorm.DomainError: k must be an integer >= 0, got -1
    """
    if isinstance(f, MatrixExpr):
        return _discrete(f, k, p, h, seminorm)
    if h is not None:
        raise ShapeError("h= is the grid spacing of a vector; for a function give t and "
                         "the domain")
    if not isinstance(f, sp.Expr):
        raise UnsupportedExpressionError(f"sobolev_norm() takes a SymPy expression or a "
                                         f"vector, got {type(f).__name__}")
    if t is None:
        raise ShapeError("give the variable(s) t of the function")
    variables = tuple(t) if isinstance(t, (tuple, list)) else (t,)
    for v in variables:
        if not isinstance(v, sp.Symbol):
            raise ShapeError(f"the variables must be symbols, got {v!r}")
    box = _as_domain(variables, domain)
    if not (isinstance(k, int) and k >= 0):
        raise DomainError(f"k must be an integer >= 0, got {k!r}")
    p = sp.oo if p in ("oo", float("inf")) else sp.sympify(p, strict=True)
    if not (p == sp.oo or (p.is_number and p >= 1)):
        raise DomainError(f"p must be a number >= 1 or oo, got {p}")
    extra = f.free_symbols - set(variables)
    if any(not (s.is_real or s.is_positive) for s in extra):
        raise ShapeError(f"{f} has free symbols other than the variables "
                         f"({', '.join(map(str, sorted(extra, key=str)))}); declare them "
                         "real (sp.Symbol(name, real=True))")
    return _function_norm(f, variables, box, k, p, seminorm, check)


def _check_term(g: sp.Expr, p: Any, variables: tuple, box: tuple, value: sp.Expr,
                alpha: tuple) -> str:
    """Compare an exact integral (sup) with quadrature (a fine grid); raise on mismatch."""
    exact = float(sp.N(value, 20))
    if p == sp.oo:
        sampled = float(_sup_abs_sampled(g, variables, box))
        ok = sampled <= exact * (1 + 1e-9) + 1e-12 and sampled >= exact * (1 - 1e-3) - 1e-9
        ref = sampled
    else:
        pieces = _sign_pieces(g, variables[0], *box[0]) if len(variables) == 1 else None
        breaks = [pieces[0][0], *(hi for _, hi, _ in pieces)] if pieces else None
        ref = float(_quad(sp.Abs(g) ** p, variables, box, breaks))
        ok = abs(ref - exact) <= 1e-8 * max(1.0, abs(exact))
    if not ok:
        raise CheckFailedError(f"the exact {'sup' if p == sp.oo else 'integral'} {value} of "
                               f"the derivative {alpha} disagrees with the numeric reference "
                               f"{ref:.12g}")
    return f"derivative {alpha}: exact {exact:.12g}, numeric {ref:.12g}"


def _function_norm(f: sp.Expr, variables: tuple, box: tuple, k: int, p: Any,
                   seminorm: bool, check: bool = True) -> SobolevNorm:
    checked: list[str] = []
    steps: list[SobolevStep] = []
    terms: dict = {}
    exact = True
    notes: list[str] = []
    orders = [k] if seminorm else list(range(k + 1))
    for j in orders:
        for alpha in _multi_indices(len(variables), j):
            g = sp.simplify(_derivative(f, variables, alpha))
            name = _deriv_latex(f, variables, alpha)
            if j:
                steps.append(SobolevStep(name, latex(g), f"derivative of order {j}",
                                         to_text(g)))
            if p == sp.oo:
                value, ok = _sup_abs(g, variables, box)
                lhs = rf"\sup \lvert {name} \rvert"
                note = "supremum" if ok else "supremum sampled on a grid (not exact)"
            else:
                value, ok = _integrate_abs_power(g, p, variables, box)
                lhs = _integral_latex(rf"\lvert {name} \rvert^{{{latex(p)}}}", variables, box)
                note = "integral" if ok else "numeric quadrature: no closed form found"
            if not ok:
                exact = False
                notes.append(f"{'sup' if p == sp.oo else 'integral'} of the derivative "
                             f"{alpha} computed numerically: SymPy found no closed form")
            if ok and check and value.is_number:
                checked.append(_check_term(g, p, variables, box, value, alpha))
            terms[alpha] = value
            steps.append(SobolevStep(lhs, latex(value), note, to_text(value)))
    if p == sp.oo:
        power = sp.Max(*terms.values())
        value = power
    else:
        power = sp.simplify(sp.Add(*terms.values()))
        value = sp.simplify(power ** (1 / p))
    if not exact:
        value, power = sp.Float(sp.N(value, 15)), sp.Float(sp.N(power, 15))
    result = SobolevNorm(f=f, variables=variables, domain=box, k=k, p=p, seminorm=seminorm,
                         value=value, power=power, terms=terms, steps=steps, exact=exact,
                         notes=notes, checked=checked)
    total = "the largest sup norm" if p == sp.oo else \
        ("the square root of the sum" if p == 2 else f"the ${latex(p)}$-th root of the sum")
    steps.append(SobolevStep(result.name_latex(), latex(value), total, to_text(value)))
    return result


# -- grid vectors --------------------------------------------------------------------------------

class DifferenceMatrix(MatrixExpr):
    r"""The j-th forward difference matrix over ``n`` grid points divided by ``h^j``:
    shape ``(n - j, n)``, rows ``(Δ^j u)_i / h^j``.

    >>> import symnorm as sn
    >>> D = DifferenceMatrix(sn.vector("u").shape[0], 1, sn.scalar("h", positive=True))
    >>> D.shape, sn.latex(D)
    ((n - 1, n), 'D_{h}')
    """

    is_commutative = False
    prints_atomic = True  # D_h^T, not (D_h)^T

    def __new__(cls, n: Any, order: int, h: Any) -> "DifferenceMatrix":
        return MatrixExpr.__new__(cls, sp.sympify(n), sp.Integer(order), sp.sympify(h))

    @property
    def shape(self) -> tuple:
        n, j = self.args[0], self.args[1]
        return (n - j, n)

    def kernel_code(self, parts: list[str]) -> str:
        return f"_nm.difference_matrix({parts[0]}, {parts[1]}, {parts[2]})"

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> sp.Expr:
        order, h = int(self.args[1]), self.args[2]
        c = j - i
        coeff = sp.Piecewise(*[((-1) ** (order - r) * sp.binomial(order, r), sp.Eq(c, r))
                               for r in range(order + 1)], (0, True))
        return coeff / h**order

    def _sympystr(self, printer: Any) -> str:
        return f"diff_matrix({', '.join(printer._print(a) for a in self.args)})"

    def _latex(self, printer: Any) -> str:
        j = int(self.args[1])
        return "D_{h}" if j == 1 else f"D^{{({j})}}_{{h}}"


def _discrete(u: MatrixExpr, k: int, p: Any, h: Any, seminorm: bool) -> sp.Expr:
    if not (isinstance(u, MatrixSymbol) and u.shape[1] == 1):
        raise ShapeError(f"the discrete Sobolev norm takes a grid vector made by sn.vector, "
                         f"got {u!r}")
    if h is None:
        raise ShapeError("give the grid spacing h= (a positive number or scalar)")
    h = sp.sympify(h, strict=True) if not isinstance(h, sp.Basic) else h
    if h.is_positive is not True:
        raise ShapeError(f"the grid spacing h = {h} must be positive (sn.scalar('h', "
                         "positive=True))")
    if not (isinstance(k, int) and k >= 0):
        raise DomainError(f"k must be an integer >= 0, got {k!r}")
    p = sp.oo if p in ("oo", float("inf")) else sp.sympify(p, strict=True)
    n = u.shape[0]
    orders = [k] if seminorm else range(k + 1)
    mats = [u if j == 0 else DifferenceMatrix(n, j, h) * u for j in orders]
    if p == sp.oo:
        return sp.Max(*[norm(m, sp.oo) for m in mats])
    if not (p.is_number and p >= 1):
        raise DomainError(f"p must be a number >= 1 or oo, got {p}")
    return (h * sp.Add(*[Norm(m, p) ** p for m in mats])) ** (1 / p)
