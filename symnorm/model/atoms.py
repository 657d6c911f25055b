"""The SymPy node types symnorm adds: a norm, a 1x1-matrix-as-scalar, elementwise maps.

These are plain data: how to differentiate, print or compute them lives in the rule
tables (``rules/``) and the printers, never here.
"""

from __future__ import annotations

import sympy as sp
from sympy.core.symbol import Str
from sympy.matrices.expressions import MatrixExpr

from .errors import UnsupportedExpressionError


def order(p: object) -> sp.Basic:
    """Canonical SymPy form of a norm order: Integer, Rational, oo, Symbol or Str."""
    if isinstance(p, str):
        if p in ("oo", "inf", "infinity"):
            return sp.oo
        return Str(p)
    if isinstance(p, float):
        if p == float("inf"):
            return sp.oo
        return sp.Rational(str(p))
    return sp.sympify(p, strict=True)


# How a LaTeX printer that has no method for a symnorm node shows it (SymPy's own, as in
# ``sympy.latex(d.result)`` and Jupyter's display of SymPy objects): filled in by the
# presentation layer, which holds symnorm's LaTeX printer (``LATEX_OF_NODE.append(...)``).
LATEX_OF_NODE: list = []


def _symnorm_latex(self: sp.Basic, printer: object) -> str:
    """LaTeX of a symnorm node in any LaTeX printer: the printer's ``_print_<ClassName>``
    for the node's class (or the nearest symnorm base class) when it has one, else
    symnorm's own printer through :data:`LATEX_OF_NODE`."""
    for cls in type(self).__mro__:
        if not cls.__module__.startswith("symnorm."):
            break
        method = getattr(printer, f"_print_{cls.__name__}", None)
        if method is not None:
            return method(self)
    if LATEX_OF_NODE:
        return LATEX_OF_NODE[-1](self)
    return rf"\mathtt{{{sp.StrPrinter().doprint(self)}}}"


def _keeps_shape(old: object, new: object) -> bool:
    return not (isinstance(old, MatrixExpr) and not isinstance(new, (MatrixExpr, sp.MatrixBase)))


class _ShapePreservingRule:
    """A mapping-like replacement rule (SymPy's ``Transform``, which ``simplify`` replaces
    with) restricted to the replacements that keep matrices matrices."""

    def __init__(self, rule: object) -> None:
        self.rule = rule

    def __contains__(self, key: object) -> bool:
        return key in self.rule and _keeps_shape(key, self.rule[key])  # type: ignore[index,operator]

    def __getitem__(self, key: object) -> object:
        return self.rule[key]  # type: ignore[index]

    def __bool__(self) -> bool:
        return True


def _shape_preserving(rule: object) -> object:
    """The replacements of ``rule`` that keep matrices matrices.

    SymPy's sign simplification (run by ``Abs``, ``sign`` and ``simplify``) rewrites
    every ``Add`` it finds, including the ``MatAdd`` inside a norm, into a scalar
    ``-1*(...)``; inside a matrix expression that is not a valid node. Our atoms drop
    such replacements, so ``abs(norm(x - a, 2))`` keeps its argument intact. ``rule`` is
    a dict, or a mapping-like object such as SymPy's ``Transform`` (filtered lazily).

    >>> import symnorm as sn
    >>> from sympy.core.rules import Transform
    >>> x, a = sn.vector("x"), sn.vector("a")
    >>> safe = _shape_preserving(Transform(lambda e: sp.Integer(0)))
    >>> x - a in safe, sp.Symbol("t") in safe
    (False, True)
    """
    if isinstance(rule, dict):
        return {k: v for k, v in rule.items() if _keeps_shape(k, v)}
    return _ShapePreservingRule(rule)


class _Opaque(sp.Expr):
    """Scalar atoms whose matrix arguments only accept shape-preserving replacements."""

    _latex = _symnorm_latex
    scalar_of_matrices = True  # a scalar computed from matrix arguments (shape checks)
    # SymPy's scalar rewriting (factor_terms inside Max(...), expand, signsimp) stops at
    # atoms; inside a norm it would rebuild a MatAdd from scalar pieces and fail
    is_Atom = True

    def _xreplace(self, rule: dict) -> tuple[sp.Basic, bool]:
        if self in rule:
            return rule[self], True
        safe = _shape_preserving(rule)
        if not safe:
            return self, False
        return super()._xreplace(safe)


class Norm(_Opaque):
    """``Norm(u, p)``: the p-norm of the vector (or matrix) expression ``u``; a scalar.

    Build it with :func:`symnorm.norm`, which checks ``u``'s shape and ``p`` against the
    rule registry; the constructor itself checks neither. A norm is a real,
    nonnegative, finite SymPy scalar that SymPy treats as an atom: it is differentiated
    by :func:`symnorm.grad` (``sympy.diff`` refuses it), printed as ``norm(u, p)`` in the
    expression language and as ``\\lVert u \\rVert_p`` in LaTeX.

    Parameters
    ----------
    arg : sympy.MatrixExpr
        The vector (``n x 1``) or matrix expression ``u``.
    p : int, str, sympy.Basic, optional
        The order, in the canonical form :func:`symnorm.norm` gives it (default 2):
        ``1``, ``2``, ``oo``, ``0``, a positive rational, a symbol, ``'fro'``/``'nuc'``
        or a pair ``(p, q)`` for matrices, a group order for :func:`symnorm.group_norm`.
    p_min : number, optional
        The lowest value a symbolic ``p`` may take (default: 1); kept only for a
        symbolic order.

    Attributes
    ----------
    arg : sympy.MatrixExpr
        The normed expression ``u``.
    p : sympy.Basic
        The order.
    p_min : sympy.Basic
        The lowest value assumed for a symbolic order (1 unless declared).

    Examples
    --------
    >>> import symnorm as sn, sympy as sp
    >>> A, x, b = sn.matrix("A"), sn.vector("x"), sn.vector("b", "m")
    >>> r = sn.norm(A*x - b, 1)
    >>> isinstance(r, sn.Norm), r.arg, r.p
    (True, A*x - b, 1)
    >>> r.is_nonnegative, r.shape
    (True, ())
    >>> sn.norm(x, sn.scalar("p"), p_min=sp.Rational(1, 2)).p_min
    1/2
    """

    is_commutative = True
    is_real = True
    is_extended_real = True
    is_nonnegative = True
    is_finite = True

    def __new__(cls, arg: MatrixExpr, p: object = 2, p_min: object = None) -> "Norm":
        p = order(p)
        if p_min is None or not getattr(p, "free_symbols", None):
            return sp.Expr.__new__(cls, arg, p)
        return sp.Expr.__new__(cls, arg, p, sp.sympify(p_min, strict=True))

    @property
    def arg(self) -> MatrixExpr:
        return self.args[0]

    @property
    def p(self) -> sp.Basic:
        return self.args[1]

    @property
    def p_min(self) -> sp.Basic:
        """Lower bound assumed for a symbolic order (1 unless declared otherwise)."""
        return self.args[2] if len(self.args) > 2 else sp.Integer(1)

    @property
    def shape(self) -> tuple:
        return ()

    def doit(self, **hints: object) -> "Norm":
        if hints.get("deep", True):
            return Norm(self.arg.doit(**hints), *self.args[1:])
        return self

    def _eval_derivative(self, s: sp.Symbol) -> sp.Expr:  # used only through the engine
        raise TypeError("differentiate norms with symnorm.grad, not sympy.diff")

    def _eval_Abs(self) -> sp.Expr:  # a norm is >= 0
        return self

    def _sympystr(self, printer: sp.printing.str.StrPrinter) -> str:
        return f"norm({printer._print(self.arg)}, {printer._print(self.p)})"


class Trace(_Opaque, sp.Trace):
    """``tr(M)`` of a square matrix expression: SymPy's ``Trace``, protected as a norm is.

    SymPy's scalar rewriting (``factor_terms`` inside ``max(...)``, ``simplify``) rebuilds
    the nodes it walks into from their rewritten arguments; ``Trace(2*X)`` rebuilt from
    the scalar ``2*X`` is not a valid node. As an atom with shape-preserving replacements
    it is left whole. Build it with :func:`symnorm.trace`.

    >>> import symnorm as sn
    >>> X = sn.matrix("X", 2, 2)
    >>> sp.Max(Trace(2*X), 1)
    Max(1, Trace(2*X))
    """

    is_commutative = True
    is_real = True
    is_extended_real = True

    def doit(self, **hints: object) -> "Trace":
        # SymPy's Trace.doit expands tr(B (X - A)) into sp.Trace terms, which SymPy's own
        # Abs or sign cannot take (a MatMul rebuilt around them fails): a trace stays one
        # atom, its argument evaluated, as a norm does
        if hints.get("deep", True):
            return Trace(self.arg.doit(**hints))
        return self


class NormOrderDerivative(_Opaque):
    """``∂‖u‖_p/∂p``: the derivative of a p-norm with respect to its order, a scalar.

    ``‖u‖_p (Σ_i |u_i|^p log|u_i| / ‖u‖_p^p - log ‖u‖_p) / p``, with ``0^p log 0 = 0``.

    >>> import symnorm as sn
    >>> from symnorm.model.text import to_text
    >>> print(to_text(NormOrderDerivative(sn.vector("x"), sn.scalar("p"))))
    dnorm_dp(x, p)
    """

    is_commutative = True
    is_real = True
    is_extended_real = True

    def __new__(cls, arg: MatrixExpr, p: object) -> "NormOrderDerivative":
        return sp.Expr.__new__(cls, arg, sp.sympify(p))

    @property
    def arg(self) -> MatrixExpr:
        return self.args[0]

    @property
    def p(self) -> sp.Expr:
        return self.args[1]

    def kernel_code(self, parts: list[str]) -> str:
        return f"_nm.normp_order_derivative({parts[0]}, {parts[1]})"

    def _sympystr(self, printer: object) -> str:
        return f"dnorm_dp({printer._print(self.arg)}, {printer._print(self.p)})"  # type: ignore[attr-defined]


class ScalarOf(_Opaque):
    """A 1x1 matrix expression (``x.T*M*x``) used as a scalar.

    SymPy keeps ``x.T*M*x`` a ``1 x 1`` matrix, which cannot be added to a number or
    passed to ``sqrt``; wrapped, it is a real scalar that symnorm differentiates,
    compiles and prints as the product it holds. :func:`symnorm.parse` wraps such
    products itself. A Gram form (``x.T*x``, ``x.T*A.T*A*x``, ``x.T*M*x`` with ``M``
    declared positive semidefinite) is known to be nonnegative.

    Parameters
    ----------
    mat : sympy.MatrixExpr
        The ``1 x 1`` matrix expression (not checked here: give it a product whose
        shape is ``(1, 1)``).

    Attributes
    ----------
    mat : sympy.MatrixExpr
        The wrapped ``1 x 1`` expression.

    Examples
    --------
    >>> import sympy as sp, symnorm as sn
    >>> x = sn.vector("x")
    >>> M = sn.matrix("M", "n", "n", positive_definite=True)
    >>> q = sn.ScalarOf(x.T*M*x)
    >>> q, q.is_nonnegative
    (x.T*M*x, True)
    >>> print(sn.to_text(sn.grad(sp.sqrt(q), x).result))
    M*x/sqrt(x.T*M*x)
    >>> sn.parse("x.T*M*x + 1", M=M) == q + 1
    True
    """

    # between Add and Mul: bracketed as a factor, bare as a term of a sum
    precedence = 45
    is_commutative = True
    is_real = True
    is_extended_real = True

    def __new__(cls, mat: MatrixExpr) -> "ScalarOf":
        return sp.Expr.__new__(cls, mat)

    @property
    def mat(self) -> MatrixExpr:
        return self.args[0]

    def _eval_is_nonnegative(self) -> bool | None:
        m = self.mat
        if isinstance(m, sp.MatPow) and m.exp.is_integer and m.exp.is_even:
            return True  # (a.T*x)**2
        return True if is_gram_form(m) else None

    def _eval_Abs(self) -> sp.Expr | None:
        return self if is_gram_form(self.mat) else None

    def doit(self, **hints: object) -> sp.Expr:
        inner = self.mat.doit(**hints) if hints.get("deep", True) else self.mat
        if isinstance(inner, sp.MatrixBase):
            return inner[0, 0]
        return ScalarOf(inner)

    def _sympystr(self, printer: sp.printing.str.StrPrinter) -> str:
        return printer._print(self.mat)


def is_gram_form(m: MatrixExpr) -> bool:
    """Is the 1x1 product ``m`` of the form ``B^T C B`` with ``C`` declared positive
    semidefinite (or absent), times a nonnegative number? Then ``m >= 0`` is a fact
    (``x.T*x``, ``x.T*A.T*A*x``, ``x.T*M*x`` with ``M`` psd).
    """
    from sympy import MatMul

    if not isinstance(m, MatMul) or m.shape != (1, 1):
        return False
    coeff = sp.Mul(*[a for a in m.args if not isinstance(a, MatrixExpr)])
    if not coeff.is_nonnegative:
        return False
    mats = [a for a in m.args if isinstance(a, MatrixExpr)]
    half = len(mats) // 2
    if any(mats[i].T != mats[-1 - i] for i in range(half)):
        return False
    if len(mats) % 2:
        return "positive_semidefinite" in getattr(mats[half], "structure", ())  # declared
    return True


class Elementwise(MatrixExpr):
    """Base of elementwise maps ``f(u)`` applied entry by entry; same shape as ``u``.

    Subclasses set ``name`` (used by printers, the parser and the rule table) and
    ``scalar_func`` (the SymPy function of one entry, for explicit components).
    """

    name = "elementwise"
    is_commutative = False
    _latex = _symnorm_latex

    def __new__(cls, arg: MatrixExpr) -> "Elementwise":
        if not isinstance(arg, MatrixExpr):
            raise TypeError(f"{cls.name}() applies to a vector or matrix, got {arg!r}")
        return MatrixExpr.__new__(cls, arg)

    @property
    def arg(self) -> MatrixExpr:
        return self.args[0]

    @property
    def shape(self) -> tuple:
        return self.arg.shape

    def scalar_func(self, v: sp.Expr) -> sp.Expr:
        raise NotImplementedError

    def _entry(self, i: object, j: object, **kwargs: object) -> sp.Expr:
        return self.scalar_func(self.arg._entry(i, j, **kwargs))

    def doit(self, **hints: object) -> MatrixExpr:
        arg = self.arg.doit(**hints) if hints.get("deep", True) else self.arg
        if isinstance(arg, sp.MatrixBase):
            return arg.applyfunc(self.scalar_func)
        return type(self)(arg)

    def _sympystr(self, printer: sp.printing.str.StrPrinter) -> str:
        return f"{self.name}({printer._print(self.arg)})"


class Sign(Elementwise):
    """Elementwise sign, with sign(0) = 0."""

    name = "sign"

    def scalar_func(self, v: sp.Expr) -> sp.Expr:
        return sp.sign(v)


class Abs(Elementwise):
    """Elementwise absolute value."""

    name = "abs"

    def scalar_func(self, v: sp.Expr) -> sp.Expr:
        return sp.Abs(v)


def sigmoid_scalar(v: sp.Expr) -> sp.Expr:
    return 1 / (1 + sp.exp(-v))


class Sigmoid(Elementwise):
    """Elementwise logistic sigmoid 1/(1 + exp(-u))."""

    name = "sigmoid"

    def scalar_func(self, v: sp.Expr) -> sp.Expr:
        return sigmoid_scalar(v)


class Exp(Elementwise):
    """Elementwise exponential."""

    name = "exp"

    def scalar_func(self, v: sp.Expr) -> sp.Expr:
        return sp.exp(v)


class Tanh(Elementwise):
    """Elementwise hyperbolic tangent."""

    name = "tanh"

    def scalar_func(self, v: sp.Expr) -> sp.Expr:
        return sp.tanh(v)


class Relu(Elementwise):
    """Elementwise rectifier max(u, 0); at 0 its derivative is taken as 0 (see Step)."""

    name = "relu"

    def scalar_func(self, v: sp.Expr) -> sp.Expr:
        return sp.Max(v, 0)


class Step(Elementwise):
    """Elementwise unit step 1[u > 0], the derivative of relu; 0 at u = 0.

    At 0 the subdifferential of relu is [0, 1]; 0 is its minimum-norm element.
    """

    name = "step"

    def scalar_func(self, v: sp.Expr) -> sp.Expr:
        return sp.Heaviside(v, 0)


class Softplus(Elementwise):
    """Elementwise softplus log(1 + exp(u)), a smooth relu."""

    name = "softplus"

    def scalar_func(self, v: sp.Expr) -> sp.Expr:
        return sp.log(1 + sp.exp(v))


class IdentityMap(Elementwise):
    """The elementwise identity u -> u (a linear layer's activation)."""

    name = "identity"

    def scalar_func(self, v: sp.Expr) -> sp.Expr:
        return v


class MaxAbsSelector(Elementwise):
    """``e_k`` with ``k = argmax_i |u_i|``; a tie over a set K gives 1/|K| on each of K.

    At ``u = 0`` every index ties; ``sign(u) ⊙ MaxAbsSelector(u)`` is then 0, the
    minimum-norm subgradient of the max-norm.
    """

    name = "argmaxabs"

    def _entry(self, i: object, j: object, **kwargs: object) -> sp.Expr:
        entries = self.arg.as_explicit()
        target = entries[i, j]
        biggest = sp.Max(*[sp.Abs(e) for e in entries])
        return sp.Piecewise((1, sp.Eq(sp.Abs(target), biggest)), (0, True))

    def doit(self, **hints: object) -> MatrixExpr:
        return MaxAbsSelector(self.arg.doit(**hints) if hints.get("deep", True) else self.arg)


class VectorMap(MatrixExpr):
    """A map of a column vector (its first argument) and parameters, computed by one
    helper of :mod:`symnorm.numeric`; same shape as the vector.

    Subclasses set ``name`` (printed as ``name(args...)``) and ``helper`` (the numpy
    function, which takes ``out=``), and check their arguments in ``__new__``.
    """

    name = "vector_map"
    helper = ""
    is_commutative = False
    kernel_accepts_out = True  # the helper writes into out=

    @property
    def shape(self) -> tuple:
        return self.args[0].shape

    def kernel_code(self, parts: list[str]) -> str:
        return f"_nm.{self.helper}({', '.join(parts)})"

    def _sympystr(self, printer: sp.printing.str.StrPrinter) -> str:
        return f"{self.name}({', '.join(printer._print(a) for a in self.args)})"


ELEMENTWISE_BY_NAME: dict[str, type[Elementwise]] = {
    cls.name: cls for cls in (Sign, Abs, Sigmoid, Exp, Tanh, Relu, Step, Softplus, IdentityMap)
}


class _ActiveGradientMixin:
    """Shared part of the gradient of ``max(f_1, ..., f_k)`` (or ``min``).

    Arguments: ``kind`` ("max" or "min") then the pieces and their gradients,
    interleaved: ``f_1, g_1, f_2, g_2, ...``. Where one piece is strictly the largest
    (smallest for min) the value is its gradient; at a tie it is the minimum-norm
    element of the convex hull of the tied pieces' gradients (for a max of convex
    pieces, the minimum-norm subgradient).
    """

    args: tuple
    _latex = _symnorm_latex

    @property
    def kind(self) -> str:
        return str(self.args[0])

    @property
    def pieces(self) -> list:
        return list(self.args[1::2])

    @property
    def gradients(self) -> list:
        return list(self.args[2::2])

    def kernel_code(self, parts: list[str]) -> str:
        shape = self.shape if isinstance(self, MatrixExpr) else (1, 1)
        core = 2 if 1 not in shape else (0 if shape == (1, 1) else 1)
        return f"_nm.active_gradient({parts[0]}, {core}, {', '.join(parts[1:])})"

    def _zero(self, g: object) -> bool:
        from sympy import ZeroMatrix

        return isinstance(g, ZeroMatrix) or (isinstance(g, sp.Expr) and g == 0)

    def _render(self, show: object, cmp: str, tie: str, cases: bool) -> str:
        fs = [show(f) for f in self.pieces]  # type: ignore[operator]
        gs = ["0" if self._zero(g) else show(g) for g in self.gradients]  # type: ignore[operator]
        rel = ">" if self.kind == "max" else "<"
        rows = []
        for i, (f, g) in enumerate(zip(fs, gs)):
            others = [o for j, o in enumerate(fs) if j != i]
            other = others[0] if len(others) == 1 else cmp.format(", ".join(others))
            rows.append((g, f"{f} {rel} {other}"))
        zero_wins = len(gs) == 2 and any(self._zero(g) for g in self.gradients)
        if zero_wins:  # at the tie of two pieces, one of gradient 0: the hull holds 0
            rows = [r for r, g in zip(rows, self.gradients) if not self._zero(g)]
            tie_row = ("0", None)
        else:
            tie_row = (tie.format(", ".join(gs)), None)
        if cases:
            lines = [rf"{g} & \text{{if }} {c}" for g, c in rows]
            lines.append(rf"{tie_row[0]} & \text{{otherwise (a tie)}}" if not zero_wins
                         else r"0 & \text{otherwise}")
            return r"\begin{cases} " + r" \\ ".join(lines) + r" \end{cases}"
        text = " else ".join(f"{g} if {c}" for g, c in rows)
        return f"({text} else {tie_row[0]})"

    def _sympystr(self, printer: object) -> str:
        return self._render(printer._print, self.kind + "({})",  # type: ignore[attr-defined]
                            "minnorm(conv(tied of {}))", cases=False)


def _active_args(kind: object, flat: tuple) -> list:
    kind = str(kind)
    if kind not in ("max", "min"):
        raise ValueError(f"kind must be 'max' or 'min', got {kind!r}")
    if len(flat) % 2 or len(flat) < 4:
        raise ValueError("need at least two pieces, each followed by its gradient")
    return [Str(kind), *[a if isinstance(a, sp.Basic) else sp.sympify(a) for a in flat]]


class ActiveGradient(_ActiveGradientMixin, MatrixExpr):
    """The gradient of ``max``/``min`` of scalars with respect to a vector or matrix.

    ``ActiveGradient("max", f_1, g_1, f_2, g_2, ...)``: the pieces ``f_i`` and their
    gradients ``g_i`` (all of one shape); :meth:`build` takes them as two lists.

    >>> import symnorm as sn
    >>> from symnorm.model.text import to_text
    >>> x = sn.vector("x")
    >>> g = ActiveGradient.build("max", [sn.norm(x, 1), sn.norm(x, 2)],
    ...                          [Sign(x), x/sn.norm(x, 2)])
    >>> print(to_text(g).replace(" else ", "\\n else "))
    (sign(x) if norm(x, 1) > norm(x, 2)
     else x/norm(x, 2) if norm(x, 2) > norm(x, 1)
     else minnorm(conv(tied of sign(x), x/norm(x, 2))))
    """

    is_commutative = False

    def __new__(cls, kind: object, *flat: object) -> "ActiveGradient":
        args = _active_args(kind, flat)
        grads = args[2::2]
        if not all(isinstance(g, MatrixExpr) for g in grads) or \
                len({g.shape for g in grads}) != 1:
            raise ValueError("the gradients of the pieces must be matrices of one shape")
        return MatrixExpr.__new__(cls, *args)

    @classmethod
    def build(cls, kind: str, pieces: list, gradients: list) -> "ActiveGradient":
        return cls(kind, *[a for pair in zip(pieces, gradients) for a in pair])

    @property
    def shape(self) -> tuple:
        return self.args[2].shape

    def _entry(self, i: object, j: object, **kwargs: object) -> sp.Expr:
        """A component as a Piecewise; a tie of two pieces in closed form (the nearest
        point to 0 of the segment between their gradients)."""

        rel = sp.StrictGreaterThan if self.kind == "max" else sp.StrictLessThan
        fs, gs = self.pieces, [g.as_explicit() for g in self.gradients]
        branches = []
        for k, (f, g) in enumerate(zip(fs, gs)):
            beats = sp.And(*[rel(f, o) for m, o in enumerate(fs) if m != k])
            branches.append((g[i, j], beats))
        if len(gs) != 2:
            raise UnsupportedExpressionError(
                "explicit components of a tie among three or more pieces have no closed "
                "form; use the kernel (it returns the minimum-norm element)")
        d = gs[1] - gs[0]
        dd = sum(d.multiply_elementwise(d))
        if dd == 0:
            branches.append((gs[0][i, j], True))
        else:  # (Piecewise substitutes lazily: no 0/0 where the gradients agree)
            t = sp.Max(0, sp.Min(1, -sum(gs[0].multiply_elementwise(d)) / dd))
            branches.append((sp.Piecewise((gs[0][i, j], sp.Eq(dd, 0)),
                                          ((gs[0] + t * d)[i, j], True)), True))
        return sp.Piecewise(*branches)


class ScalarActiveGradient(_ActiveGradientMixin, sp.Expr):
    """The derivative of ``max``/``min`` of scalars with respect to a scalar."""

    is_commutative = True
    is_real = True

    def __new__(cls, kind: object, *flat: object) -> "ScalarActiveGradient":
        args = _active_args(kind, flat)
        if any(isinstance(g, MatrixExpr) for g in args[2::2]):
            raise ValueError("the derivatives of the pieces must be scalars")
        return sp.Expr.__new__(cls, *args)

    @classmethod
    def build(cls, kind: str, pieces: list, gradients: list) -> "ScalarActiveGradient":
        return cls(kind, *[a for pair in zip(pieces, gradients) for a in pair])
