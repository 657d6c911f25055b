"""The SymPy node types symnorm adds: a norm, a 1x1-matrix-as-scalar, elementwise maps.

These are plain data: how to differentiate, print or compute them lives in the rule
tables (``rules/``) and the printers, never here.
"""

from __future__ import annotations

import sympy as sp
from sympy.core.symbol import Str
from sympy.matrices.expressions import MatrixExpr


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


class Norm(sp.Expr):
    """``Norm(u, p)``: the p-norm of the vector (or matrix) expression ``u``; a scalar.

    Build it with :func:`symnorm.norm`, which checks ``p`` against the rule registry.
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

    def _sympystr(self, printer: sp.printing.str.StrPrinter) -> str:
        return f"norm({printer._print(self.arg)}, {printer._print(self.p)})"


class ScalarOf(sp.Expr):
    """A 1x1 matrix expression (``x.T*M*x``) used as a scalar."""

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

    def doit(self, **hints: object) -> sp.Expr:
        inner = self.mat.doit(**hints) if hints.get("deep", True) else self.mat
        if isinstance(inner, sp.MatrixBase):
            return inner[0, 0]
        return ScalarOf(inner)

    def _sympystr(self, printer: sp.printing.str.StrPrinter) -> str:
        return printer._print(self.mat)


class Elementwise(MatrixExpr):
    """Base of elementwise maps ``f(u)`` applied entry by entry; same shape as ``u``.

    Subclasses set ``name`` (used by printers, the parser and the rule table) and
    ``scalar_func`` (the SymPy function of one entry, for explicit components).
    """

    name = "elementwise"
    is_commutative = False

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
