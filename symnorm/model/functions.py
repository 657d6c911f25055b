"""The node types of functions of a whole vector or matrix: ``sum``, ``mean``, ``var``,
``logsumexp``, ``det``, ``logdet`` (scalars) and ``softmax``, ``layer_norm``, ``rms_norm``
(vectors of the shape of their argument). The inverse is SymPy's own ``Inverse``.

These are plain data, as the other nodes of the model: what their values, derivatives,
LaTeX and kernels are lives in their rules (``symnorm.rules.vector_functions`` and
``symnorm.rules.matrix_functions``), never here. Each node knows its entries over explicit
components (``explicit_value``), for teaching and for cross-checks with SymPy's scalar
calculus.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from .atoms import _Opaque, _symnorm_latex
from .errors import DomainError, ShapeError, UnsupportedExpressionError

__all__ = ["DEFAULT_EPS", "Det", "LayerNorm", "LayerNormScale", "LogDet", "LogSumExp", "Mean",
           "RmsNorm", "RmsNormScale", "ScalarFunction", "ScaleOf", "Softmax", "SumOf", "Var",
           "VectorFunction", "eps_text", "eps_value"]

#: the ``eps`` of ``layer_norm`` and ``rms_norm`` when none is given (PyTorch's default)
DEFAULT_EPS = sp.Rational(1, 100000)


def eps_text(eps: sp.Expr) -> str:
    """``eps`` as the expression language writes it: ``1e-5`` for a power of ten.

    >>> eps_text(sp.Rational(1, 1000)), eps_text(sp.Rational(3, 7)), eps_text(sp.Symbol("eps"))
    ('1e-3', '3/7', 'eps')
    """
    if isinstance(eps, sp.Rational) and eps.p == 1 and eps.q > 1:
        k = len(str(eps.q)) - 1
        if eps.q == 10**k:
            return f"1e-{k}"
    return sp.StrPrinter().doprint(eps)


def _explicit(u: MatrixExpr) -> sp.Matrix | None:
    """The entries of ``u`` when its shape is made of integers, else None."""
    if all(isinstance(d, (int, sp.Integer)) for d in u.shape):
        return sp.Matrix(u.as_explicit())
    return None


def _mean(entries: list) -> sp.Expr:
    return sp.Add(*entries) / len(entries)


class ScalarFunction(_Opaque):
    """``f(u)``: a scalar computed from a whole vector or matrix ``u``.

    Subclasses set ``name`` (the expression language's name, the key of their rule) and
    ``explicit_value`` (the formula over the entries of an explicit ``u``).
    """

    name = "function"
    is_commutative = True
    is_real = True
    is_extended_real = True

    def __new__(cls, arg: Any) -> "ScalarFunction":
        if not isinstance(arg, MatrixExpr):
            raise ShapeError(f"{cls.name}() takes a vector or matrix expression, got {arg!r}")
        return sp.Expr.__new__(cls, arg)

    @property
    def arg(self) -> MatrixExpr:
        return self.args[0]

    @property
    def shape(self) -> tuple:
        return ()

    def explicit_value(self, entries: sp.Matrix) -> sp.Expr:
        raise NotImplementedError

    def doit(self, **hints: object) -> sp.Expr:
        arg = self.arg.doit(**hints) if hints.get("deep", True) else self.arg
        if isinstance(arg, sp.MatrixBase):
            return self.explicit_value(sp.Matrix(arg))
        return type(self)(arg)

    def _eval_derivative(self, s: sp.Symbol) -> sp.Expr:  # only through the engine
        raise TypeError(f"differentiate {self.name}() with symnorm.grad, not sympy.diff")

    def _sympystr(self, printer: Any) -> str:
        return f"{self.name}({printer._print(self.arg)})"


class SumOf(ScalarFunction):
    """``sum(u)``: the sum of the entries of a vector or matrix."""

    name = "sum"

    def explicit_value(self, entries: sp.Matrix) -> sp.Expr:
        return sp.Add(*entries)


class Mean(ScalarFunction):
    """``mean(u)``: the mean of the entries of a vector or matrix."""

    name = "mean"

    def explicit_value(self, entries: sp.Matrix) -> sp.Expr:
        return _mean(list(entries))


class Var(ScalarFunction):
    """``var(u)``: the biased variance ``mean((u - mean(u)) .* (u - mean(u)))`` of the
    entries (divided by their number, as PyTorch's ``layer_norm`` uses it)."""

    name = "var"
    is_nonnegative = True

    def explicit_value(self, entries: sp.Matrix) -> sp.Expr:
        mu = _mean(list(entries))
        return _mean([(e - mu) ** 2 for e in entries])


class LogSumExp(ScalarFunction):
    """``logsumexp(u) = log(sum(exp(u)))``, computed without overflow."""

    name = "logsumexp"

    def explicit_value(self, entries: sp.Matrix) -> sp.Expr:
        return sp.log(sp.Add(*[sp.exp(e) for e in entries]))


def eps_value(eps: Any, who: str = "layer_norm") -> sp.Expr:
    """``eps`` of a normalisation layer as a SymPy number or scalar (floats made exact).

    >>> eps_value(1e-3), eps_value(sp.Symbol("eps"))
    (1/1000, eps)
    """
    try:
        eps = sp.nsimplify(sp.Float(repr(eps)), rational=True) if isinstance(eps, float) \
            else sp.sympify(eps, strict=True)
    except (sp.SympifyError, TypeError, ValueError):
        raise ShapeError(f"{who}(): eps must be a number >= 0 or a scalar symbol, "
                         f"got {eps!r}") from None
    if isinstance(eps, MatrixExpr) or not isinstance(eps, sp.Expr):
        raise ShapeError(f"{who}(): eps must be a scalar, got {eps!r}")
    if eps.is_number and (not eps.is_extended_real or eps.is_negative):
        raise DomainError(f"{who}(): eps must be >= 0, got {eps}")
    return eps


class ScaleOf(ScalarFunction):
    """The scale a normalisation layer divides by, ``sqrt(stat(u) + eps)``: a node of its
    own so kernels compute it without overflow (the variance of entries near 1e200
    overflows, the scale does not). It prints as its formula."""

    stat = "var"
    is_nonnegative = True

    def __new__(cls, arg: Any, eps: Any = DEFAULT_EPS) -> "ScaleOf":
        if not isinstance(arg, MatrixExpr) or arg.shape[1] != 1:
            raise ShapeError(f"{cls.name}() takes a column vector expression, got {arg!r}")
        return sp.Expr.__new__(cls, arg, eps_value(eps, cls.name))

    @property
    def eps(self) -> sp.Expr:
        return self.args[1]

    def doit(self, **hints: object) -> sp.Expr:
        arg = self.arg.doit(**hints) if hints.get("deep", True) else self.arg
        if isinstance(arg, sp.MatrixBase):
            return self.explicit_value(sp.Matrix(arg))
        return type(self)(arg, self.eps)

    def definition(self) -> sp.Expr:
        """The formula it stands for, over the other function nodes: ``sqrt(var(u) +
        eps)`` or ``sqrt(mean(u .* u) + eps)`` (what a hand derivation writes)."""
        u = self.arg
        stat = Var(u) if self.stat == "var" else Mean(sp.HadamardProduct(u, u))
        return sp.sqrt(stat + self.eps)

    def _sympystr(self, printer: Any) -> str:
        u = printer._print(self.arg)
        eps = eps_text(self.eps) if self.eps.is_Rational else printer._print(self.eps)
        inner = f"var({u})" if self.stat == "var" else f"mean({_factor(u)} .* {_factor(u)})"
        return f"sqrt({inner} + {eps})" if self.eps != 0 else f"sqrt({inner})"


def _factor(text: str) -> str:
    return text if text.replace("_", "").replace(".", "").isalnum() else f"({text})"


class LayerNormScale(ScaleOf):
    """``sqrt(var(u) + eps)``: what ``layer_norm(u, eps)`` divides ``u - mean(u)`` by."""

    name = "layer_norm_scale"

    def explicit_value(self, entries: sp.Matrix) -> sp.Expr:
        mu = _mean(list(entries))
        return sp.sqrt(_mean([(e - mu) ** 2 for e in entries]) + self.eps)


class RmsNormScale(ScaleOf):
    """``sqrt(mean(u .* u) + eps)``: what ``rms_norm(u, eps)`` divides ``u`` by."""

    name = "rms_norm_scale"
    stat = "meansq"

    def explicit_value(self, entries: sp.Matrix) -> sp.Expr:
        return sp.sqrt(_mean([e**2 for e in entries]) + self.eps)


class _SquareScalar(ScalarFunction):
    def __new__(cls, arg: Any) -> "_SquareScalar":
        if isinstance(arg, MatrixExpr) and arg.shape[0] != arg.shape[1]:
            raise ShapeError(f"{cls.name}() needs a square matrix, got the {arg.shape[0]}x"
                             f"{arg.shape[1]} {arg}")
        return super().__new__(cls, arg)  # type: ignore[return-value]


class Det(_SquareScalar):
    """``det(M)``: the determinant of a square matrix."""

    name = "det"

    def explicit_value(self, entries: sp.Matrix) -> sp.Expr:
        return entries.det()


class LogDet(_SquareScalar):
    """``logdet(M) = log(det(M))`` of a square matrix with ``det(M) > 0``."""

    name = "logdet"

    def explicit_value(self, entries: sp.Matrix) -> sp.Expr:
        return sp.log(entries.det())


class VectorFunction(MatrixExpr):
    """``f(u, params...)``: a map of a whole column vector ``u``, of ``u``'s shape.

    Subclasses set ``name`` and ``explicit_entries`` (the formula of every entry over the
    entries of an explicit ``u``).
    """

    name = "vector_function"
    is_commutative = False
    prints_atomic = True  # f(x).T, not (f(x)).T
    _latex = _symnorm_latex

    def __new__(cls, arg: Any, *params: Any) -> "VectorFunction":
        if not isinstance(arg, MatrixExpr):
            raise ShapeError(f"{cls.name}() takes a column vector expression, got {arg!r}")
        rows, cols = arg.shape
        if cols != 1:
            what = "a row vector" if rows == 1 else f"a {rows}x{cols} matrix"
            raise ShapeError(f"{cls.name}() takes a column vector, but {arg} is {what}"
                             + ("; transpose it" if rows == 1 else
                                "; a batch of vectors is given to the kernel as leading "
                                "axes of the argument"))
        return MatrixExpr.__new__(cls, arg, *[sp.sympify(p) for p in params])

    @property
    def arg(self) -> MatrixExpr:
        return self.args[0]

    @property
    def shape(self) -> tuple:
        return self.arg.shape

    def explicit_entries(self, entries: list) -> list:
        raise NotImplementedError

    def _entry(self, i: object, j: object, **kwargs: object) -> sp.Expr:
        m = _explicit(self.arg)
        if m is None:
            raise UnsupportedExpressionError(
                f"explicit components of {self.name}() need an integer size; "
                f"{self.arg} has {self.arg.shape[0]} entries")
        return self.explicit_entries(list(m))[int(i)]

    def doit(self, **hints: object) -> MatrixExpr:
        arg = self.arg.doit(**hints) if hints.get("deep", True) else self.arg
        if isinstance(arg, sp.MatrixBase):
            return sp.Matrix(self.explicit_entries(list(arg)))
        return type(self)(arg, *self.args[1:])

    def _sympystr(self, printer: Any) -> str:
        return f"{self.name}({printer._print(self.arg)})"


class Softmax(VectorFunction):
    """``softmax(u) = exp(u)/sum(exp(u))``, computed without overflow."""

    name = "softmax"

    def explicit_entries(self, entries: list) -> list:
        total = sp.Add(*[sp.exp(e) for e in entries])
        return [sp.exp(e) / total for e in entries]


class _Normalisation(VectorFunction):
    """A normalisation layer ``f(u, eps)`` with ``eps >= 0`` (default 1e-5)."""

    def __new__(cls, arg: Any, eps: Any = DEFAULT_EPS) -> "_Normalisation":
        return super().__new__(cls, arg, eps_value(eps, cls.name))  # type: ignore[return-value]

    @property
    def eps(self) -> sp.Expr:
        return self.args[1]

    def _sympystr(self, printer: Any) -> str:
        if self.eps == DEFAULT_EPS:
            return f"{self.name}({printer._print(self.arg)})"
        eps = eps_text(self.eps) if self.eps.is_Rational else printer._print(self.eps)
        return f"{self.name}({printer._print(self.arg)}, {eps})"


class LayerNorm(_Normalisation):
    """``layer_norm(u, eps) = (u - mean(u))/sqrt(var(u) + eps)`` (biased variance)."""

    name = "layer_norm"

    def explicit_entries(self, entries: list) -> list:
        mu = _mean(entries)
        sigma = sp.sqrt(_mean([(e - mu) ** 2 for e in entries]) + self.eps)
        return [(e - mu) / sigma for e in entries]


class RmsNorm(_Normalisation):
    """``rms_norm(u, eps) = u/sqrt(mean(u .* u) + eps)``."""

    name = "rms_norm"

    def explicit_entries(self, entries: list) -> list:
        r = sp.sqrt(_mean([e**2 for e in entries]) + self.eps)
        return [e / r for e in entries]
