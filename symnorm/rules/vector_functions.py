r"""Rules for the functions of a whole vector: ``sum``, ``mean``, ``var``, ``logsumexp``,
``softmax``, ``layer_norm``, ``rms_norm`` (and the scales the normalisation layers divide
by), and the derivative of soft thresholding (the prox of the L1 norm).

Each rule states its derivative in closed vector form, valid for every dimension, as the
norms' rules do: the gradient of a scalar function, or for a vector-valued one its
Jacobian (numerator layout: rows are outputs), its VJP ``J^T g`` and JVP ``J t``. All
vector-valued ones here have symmetric Jacobians:

* ``softmax``: ``J = diag(s) - s s^T`` with ``s = softmax(u)``;
* ``layer_norm``: ``J = (I - 1 1^T/n - x̂ x̂^T/n)/σ`` with ``x̂ = layer_norm(u)`` and
  ``σ = sqrt(var(u) + eps)``, so ``J^T g = (g - mean(g) - x̂ mean(g ⊙ x̂))/σ``;
* ``rms_norm``: ``J = (I - ŷ ŷ^T/n)/r`` with ``ŷ = rms_norm(u)``, ``r = sqrt(mean(u ⊙ u) +
  eps)``, so ``J^T g = (g - ŷ mean(g ⊙ ŷ))/r``.

The constructors (:func:`sum`, :func:`softmax`, ...) check their argument and build the
node; they are the public API (``sn.softmax(x)``) and what the expression language calls.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy import DiagMatrix, HadamardProduct, Identity, MatAdd, MatMul, OneMatrix
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol

from ..model.atoms import Abs, Norm, ScalarOf, Step
from ..model.errors import ShapeError
from ..model.functions import (
    DEFAULT_EPS,
    LayerNorm,
    LayerNormScale,
    LogSumExp,
    Mean,
    RmsNorm,
    RmsNormScale,
    Softmax,
    SumOf,
    Var,
)
from ..model.shapes import check_shapes
from ..model.text import to_text
from .prox_maps import SoftThreshold
from .registry import FUNCTIONS, FunctionRule, Kink, kink

__all__ = ["NORMALISED_HELPER", "apply_diag", "layer_norm", "logsumexp", "mean", "normalised",
           "normalised_jvp", "normalised_kinks", "rms_norm", "softmax", "sum", "var"]


# -- building blocks of the closed forms ----------------------------------------------------

def count(u: MatrixExpr) -> sp.Expr:
    """The number of entries of ``u`` (a dimension symbol or a product of them)."""
    return u.shape[0] * u.shape[1]


def ones(u: MatrixExpr) -> OneMatrix:
    return OneMatrix(*u.shape)


def apply_diag(d: MatrixExpr, t: Any) -> MatrixExpr:
    """``diag(d) t``, written for what ``t`` is: ``d ⊙ t`` for a vector (no ``n x n``
    matrix in a kernel), ``diag(d)`` for the identity, ``diag(d) T`` otherwise."""
    if isinstance(t, Identity):
        return DiagMatrix(d)
    if isinstance(t, MatrixExpr) and t.shape == d.shape:
        return HadamardProduct(d, t)
    return MatMul(DiagMatrix(d), t)


def _negated(t: MatrixExpr) -> MatrixExpr:
    """``-t`` as one flat product with its scalar factors combined."""
    if not isinstance(t, MatMul):
        return MatMul(-1, t)
    c = sp.Mul(*[a for a in t.args if not isinstance(a, MatrixExpr)])
    return MatMul(-c, *[a for a in t.args if isinstance(a, MatrixExpr)])


def _minus(a: MatrixExpr, *terms: MatrixExpr) -> MatrixExpr:
    """``a - t1 - t2 ...``."""
    return MatAdd(a, *[_negated(t) for t in terms])


def _row_mean(u: MatrixExpr, t: Any) -> MatrixExpr:
    """``1 (1^T t)/n``: the mean of ``t`` spread over ``u``'s entries (``mean(t) 1`` for a
    vector ``t``, ``1 1^T/n`` for the identity)."""
    n = count(u)
    if isinstance(t, Identity):
        return MatMul(1 / n, OneMatrix(n, 1), OneMatrix(1, n))
    if t.shape == u.shape:
        return MatMul(Mean(t), ones(u))
    return MatMul(1 / n, OneMatrix(n, 1), OneMatrix(1, n), t)


def _along(v: MatrixExpr, t: Any, scale: Any = 1) -> MatrixExpr:
    """``v (v^T t) scale``: ``mean(v ⊙ t) v`` for a vector ``t`` (``scale = 1/n``)."""
    if isinstance(t, Identity):
        return MatMul(scale, v, v.T)
    if t.shape == v.shape:
        if scale == 1 / count(v):
            return MatMul(Mean(HadamardProduct(t, v)), v)
        return MatMul(scale, v, v.T, t)
    return MatMul(scale, v, v.T, t)


def _core(e: Any) -> tuple[str, ...]:
    """The number of axes of the argument a kernel reduces over: 1 (vector) or 2."""
    rows, cols = e.arg.shape
    return ("1",) if rows == 1 or cols == 1 else ("2",)


def _call(printer: Any, name: str, arg: Any, extra: str = "") -> str:
    body = printer._print(arg)
    if isinstance(arg, MatrixSymbol):
        return rf"{name}({body}{extra})"
    return rf"{name}\left({body}{extra}\right)"


def eps_latex(printer: Any, eps: sp.Expr) -> str:
    """``10^{-5}`` for a power of ten, else the printer's LaTeX of ``eps``."""
    if isinstance(eps, sp.Rational) and eps.p == 1 and eps.q > 1:
        k = len(str(eps.q)) - 1
        if eps.q == 10**k:
            return f"10^{{-{k}}}"
    return printer._print(eps)


def _eps_suffix(printer: Any, e: Any) -> str:
    if e.eps == DEFAULT_EPS:
        return ""
    return rf"; \epsilon = {eps_latex(printer, e.eps)}"


_VAR, _MEAN = r"\operatorname{var}", r"\operatorname{mean}"


def _scale_latex(printer: Any, stat: str, eps: sp.Expr) -> str:
    r"""``\sqrt{stat + eps}`` (no ``+ 0``)."""
    if eps == 0:
        return rf"\sqrt{{{stat}}}"
    return rf"\sqrt{{{stat} + {eps_latex(printer, eps)}}}"


def _eps_kinks(e: Any, where: str, latex: str) -> list[Kink]:
    """The normalisation layers are smooth for ``eps > 0``; at ``eps = 0`` they are not
    defined where the scale vanishes (kernels return 0 there)."""
    if e.eps.is_positive:
        return []
    return [kink(where, latex, "0", u=e.arg)]


# -- scalar functions ---------------------------------------------------------------------------

FUNCTIONS.register(FunctionRule(
    key="sum", title="sum of the entries", node=SumOf, numpy_value="entries_sum",
    kernel_args=_core,
    gradient=lambda e: ones(e.arg),
    latex=lambda p, e: _call(p, r"\operatorname{sum}", e.arg),
    domain="every vector or matrix",
    description="sum(u) = 1^T u 1: the sum of the entries; gradient the all-ones array"))

FUNCTIONS.register(FunctionRule(
    key="mean", title="mean of the entries", node=Mean, numpy_value="entries_mean",
    kernel_args=_core,
    gradient=lambda e: MatMul(1 / count(e.arg), ones(e.arg)),
    latex=lambda p, e: _call(p, r"\operatorname{mean}", e.arg),
    domain="every vector or matrix",
    description="mean(u) = sum(u)/(number of entries); gradient 1/n"))

FUNCTIONS.register(FunctionRule(
    key="var", title="biased variance of the entries", node=Var, numpy_value="entries_var",
    kernel_args=_core,
    gradient=lambda e: MatMul(2 / count(e.arg),
                              _minus(e.arg, MatMul(Mean(e.arg), ones(e.arg)))),
    latex=lambda p, e: _call(p, r"\operatorname{var}", e.arg),
    domain="every vector or matrix",
    description="var(u) = mean((u - mean(u)) .* (u - mean(u))); gradient 2(u - mean(u))/n"))

FUNCTIONS.register(FunctionRule(
    key="logsumexp", title="log-sum-exp", node=LogSumExp, numpy_value="logsumexp",
    gradient=lambda e: Softmax(e.arg),
    latex=lambda p, e: _call(p, r"\operatorname{logsumexp}", e.arg),
    domain="every vector (computed as max(u) + log(sum(exp(u - max(u)))): no overflow)",
    description="logsumexp(u) = log(sum(exp(u))); gradient softmax(u)"))

FUNCTIONS.register(FunctionRule(
    key="layer_norm_scale", title="LayerNorm's scale", node=LayerNormScale,
    numpy_value="layer_norm_std",
    gradient=lambda e: MatMul(1 / count(e.arg), LayerNorm(e.arg, e.eps)),
    latex=lambda p, e: _scale_latex(p, _call(p, _VAR, e.arg), e.eps),
    kinks=lambda e: _eps_kinks(e, "${u} is constant (and eps = 0)",
                               r"${u} \text{ is constant, } \epsilon = 0"),
    domain="every vector; eps >= 0",
    description="sigma = sqrt(var(u) + eps); gradient layer_norm(u, eps)/n"))

FUNCTIONS.register(FunctionRule(
    key="rms_norm_scale", title="RMSNorm's scale", node=RmsNormScale, numpy_value="rms",
    gradient=lambda e: MatMul(1 / count(e.arg), RmsNorm(e.arg, e.eps)),
    latex=lambda p, e: _scale_latex(p, _call(p, _MEAN, HadamardProduct(e.arg, e.arg)),
                                    e.eps),
    kinks=lambda e: _eps_kinks(e, "${u} = 0 (and eps = 0)", r"${u} = 0, \epsilon = 0"),
    domain="every vector; eps >= 0",
    description="r = sqrt(mean(u .* u) + eps); gradient rms_norm(u, eps)/n"))


# -- vector-valued functions --------------------------------------------------------------------

def _softmax_jvp(e: Softmax, t: Any) -> MatrixExpr:
    s = e
    return _minus(apply_diag(s, t), _along(s, t))


def _softmax_vjp(e: Softmax, g: MatrixExpr) -> MatrixExpr:
    return _minus(HadamardProduct(e, g), MatMul(ScalarOf(e.T * g), e))


FUNCTIONS.register(FunctionRule(
    key="softmax", title="softmax", node=Softmax, numpy_value="softmax",
    jvp=_softmax_jvp, vjp=_softmax_vjp, numpy_vjp="softmax_vjp", symmetric=True,
    latex=lambda p, e: _call(p, r"\operatorname{softmax}", e.arg),
    domain="every vector (exp(u - max(u))/sum(...): no overflow)",
    description="softmax(u) = exp(u)/sum(exp(u)); J = diag(s) - s s^T"))


def _layer_norm_jvp(e: LayerNorm, t: Any) -> MatrixExpr:
    u, xhat = e.arg, e
    sigma = LayerNormScale(u, e.eps)
    n = count(u)
    return MatMul(1 / sigma, _minus(t, _row_mean(u, t), _along(xhat, t, 1 / n)))


def _layer_norm_vjp(e: LayerNorm, g: MatrixExpr) -> MatrixExpr:
    return _layer_norm_jvp(e, g)  # J is symmetric


FUNCTIONS.register(FunctionRule(
    key="layer_norm", title="LayerNorm", node=LayerNorm, numpy_value="layer_norm",
    jvp=_layer_norm_jvp, vjp=_layer_norm_vjp, numpy_vjp="layer_norm_vjp", symmetric=True,
    numpy_value_vjp="layer_norm_value_vjp",
    latex=lambda p, e: _call(p, r"\operatorname{LayerNorm}", e.arg, _eps_suffix(p, e)),
    kinks=lambda e: _eps_kinks(e, "${u} is constant (and eps = 0)",
                               r"${u} \text{ is constant, } \epsilon = 0"),
    definition=lambda e: MatMul(1 / LayerNormScale(e.arg, e.eps),
                                _minus(e.arg, MatMul(Mean(e.arg), ones(e.arg)))),
    domain="every vector; eps >= 0 (at eps = 0 not where u is constant)",
    description="layer_norm(u, eps) = (u - mean(u))/sqrt(var(u) + eps); "
                "J^T g = (g - mean(g) - x̂ mean(g .* x̂))/sigma"))


def _rms_norm_jvp(e: RmsNorm, t: Any) -> MatrixExpr:
    u, yhat = e.arg, e
    r = RmsNormScale(u, e.eps)
    return MatMul(1 / r, _minus(t, _along(yhat, t, 1 / count(u))))


FUNCTIONS.register(FunctionRule(
    key="rms_norm", title="RMSNorm", node=RmsNorm, numpy_value="rms_norm",
    jvp=_rms_norm_jvp, vjp=_rms_norm_jvp, numpy_vjp="rms_norm_vjp", symmetric=True,
    numpy_value_vjp="rms_norm_value_vjp",
    latex=lambda p, e: _call(p, r"\operatorname{RMSNorm}", e.arg, _eps_suffix(p, e)),
    kinks=lambda e: _eps_kinks(e, "${u} = 0 (and eps = 0)", r"${u} = 0, \epsilon = 0"),
    definition=lambda e: MatMul(1 / RmsNormScale(e.arg, e.eps), e.arg),
    domain="every vector; eps >= 0 (at eps = 0 not at u = 0)",
    description="rms_norm(u, eps) = u/sqrt(mean(u .* u) + eps); "
                "J^T g = (g - ŷ mean(g .* ŷ))/r"))


# -- u/||u||_2: the gradient map of the Euclidean norm -----------------------------------------

#: the fused helper of the Jacobian of ``u/‖u‖₂`` applied to a vector (``∇²‖u‖₂ t``)
NORMALISED_HELPER = "norm2_hvp"


def normalised(e: Any) -> MatrixExpr | None:
    """``u`` when ``e`` is ``u/‖u‖₂`` (a column vector normalised to unit length, the
    gradient of the Euclidean norm), else None.

    >>> import symnorm as sn
    >>> x = sn.vector("x")
    >>> normalised(x/sn.norm(x, 2)), normalised(2*x/sn.norm(x, 2))
    (x, None)
    """
    if isinstance(e, MatMul) and len(e.args) == 2:
        c, u = e.args
        if isinstance(u, MatrixExpr) and u.shape[1] == 1 and not isinstance(c, MatrixExpr) \
                and c == 1 / Norm(u, 2):
            return u
    return None


def normalised_jvp(u: MatrixExpr, t: Any) -> MatrixExpr:
    """``J t`` for ``J = (I - u u^T/‖u‖₂²)/‖u‖₂``, the Jacobian of ``u/‖u‖₂`` (the Hessian
    of ``‖u‖₂``, symmetric): the projection onto the tangent plane of the sphere, scaled.

    >>> import symnorm as sn
    >>> x = sn.vector("x")
    >>> print(sn.to_text(normalised_jvp(x, Identity(x.shape[0]))))
    (I - x*x.T/norm(x, 2)**2)/norm(x, 2)
    """
    n2 = Norm(u, 2)
    along = MatMul(n2 ** -2, u, u.T) if isinstance(t, Identity) else MatMul(n2 ** -2, u, u.T, t)
    return MatMul(1 / n2, _minus(t, along))


def normalised_kinks(u: MatrixExpr) -> list[Kink]:
    return [kink("${u} = 0", "${u} = 0", "0 (u/‖u‖₂ has no derivative there)", at_zero=True,
                 u=u)]


# -- soft thresholding: the Jacobian of the prox of lam*||.||_1 --------------------------------

def _soft_active(e: SoftThreshold) -> MatrixExpr:
    """``1[|v| > lam]`` entrywise, the derivative of soft thresholding (0 on the kinks)."""
    return Step(MatAdd(Abs(e.v), MatMul(-e.lam, ones(e.v))))


def _soft_jvp(e: SoftThreshold, t: Any) -> MatrixExpr:
    return apply_diag(_soft_active(e), t)


def _soft_kinks(e: SoftThreshold) -> list[Kink]:
    return [kink("an entry of ${v} is at ±${lam}", r"\lvert ${v} \rvert_i = ${lam}",
                 "derivative 0 in those entries (the minimum-norm element of [0, 1])",
                 v=e.v, lam=e.lam)]


FUNCTIONS.register(FunctionRule(
    key="soft", title="soft thresholding", node=SoftThreshold,
    numpy_value="soft_threshold", jvp=_soft_jvp, vjp=_soft_jvp, kinks=_soft_kinks,
    symmetric=True,
    latex=lambda p, e: e._latex(p),
    domain="every vector; lam >= 0",
    description="soft(v, lam) = sign(v) .* max(|v| - lam, 0); J = diag(|v| > lam) a.e."))


# -- constructors (the public API and the expression language) ----------------------------------

def _matrix_arg(expr: Any, who: str) -> MatrixExpr:
    if not isinstance(expr, MatrixExpr):
        what = "a scalar" if isinstance(expr, sp.Expr) else type(expr).__name__
        raise ShapeError(f"{who}() takes a vector or matrix expression, got {expr!r} ({what})")
    check_shapes(expr)
    return expr


def _vector_arg(expr: Any, who: str) -> MatrixExpr:
    u = _matrix_arg(expr, who)
    rows, cols = u.shape
    if cols != 1:
        what = "a row vector" if rows == 1 else f"the {rows}x{cols} matrix"
        hint = f"; write {who}({to_text(u)}.T)" if rows == 1 else \
            ("; a batch of vectors is the leading axes of the argument given to a kernel, "
             "not a matrix")
        raise ShapeError(f"{who}() takes a column vector, but {to_text(u)} is {what}{hint}")
    return u


def sum(expr: Any) -> SumOf:  # noqa: A001 - the name users write
    """``sum(u)``: the sum of the entries of a vector or matrix expression (a scalar).

    Parameters
    ----------
    expr : vector or matrix expression

    Returns
    -------
    SumOf
        A scalar node; its gradient with respect to ``u`` is the all-ones array.

    Raises
    ------
    ShapeError
        If ``expr`` is a scalar.

    Examples
    --------
    >>> import symnorm as sn
    >>> x = sn.vector("x")
    >>> print(sn.to_text(sn.grad(sn.sum(3*x), x).result))
    3*1
    """
    return SumOf(_matrix_arg(expr, "sum"))


def mean(expr: Any) -> Mean:
    """``mean(u)``: the mean of the entries of a vector or matrix expression.

    Parameters
    ----------
    expr : vector or matrix expression

    Returns
    -------
    Mean
        A scalar node; gradient ``1/n`` in every entry (``n`` the number of entries).

    Raises
    ------
    ShapeError
        If ``expr`` is a scalar.

    Examples
    --------
    >>> import numpy as np, symnorm as sn
    >>> x = sn.vector("x")
    >>> sn.kernel(sn.mean(x), [x])(np.array([1.0, 2.0, 6.0]))
    array(3.)
    """
    return Mean(_matrix_arg(expr, "mean"))


def var(expr: Any) -> Var:
    """``var(u)``: the biased variance ``mean((u - mean(u)) .* (u - mean(u)))`` of the
    entries of a vector or matrix expression (as LayerNorm uses it).

    Parameters
    ----------
    expr : vector or matrix expression

    Returns
    -------
    Var
        A scalar node; gradient ``2 (u - mean(u))/n``.

    Raises
    ------
    ShapeError
        If ``expr`` is a scalar.

    Examples
    --------
    >>> import symnorm as sn
    >>> x = sn.vector("x")
    >>> print(sn.to_text(sn.grad(sn.var(x), x).result))
    2*(x - mean(x)*1)/n
    """
    return Var(_matrix_arg(expr, "var"))


def logsumexp(expr: Any) -> LogSumExp:
    """``logsumexp(u) = log(sum(exp(u)))`` of a column vector, computed without overflow.

    Parameters
    ----------
    expr : column vector expression

    Returns
    -------
    LogSumExp
        A scalar node; its gradient is ``softmax(u)``.

    Raises
    ------
    ShapeError
        If ``expr`` is not a column vector.

    Examples
    --------
    >>> import numpy as np, symnorm as sn
    >>> x = sn.vector("x")
    >>> float(sn.kernel(sn.logsumexp(x), [x])(np.array([1000.0, 1000.0])))
    1000.6931471805599
    >>> print(sn.to_text(sn.grad(sn.logsumexp(x), x).result))
    softmax(x)
    """
    return LogSumExp(_vector_arg(expr, "logsumexp"))


def softmax(expr: Any) -> Softmax:
    """``softmax(u) = exp(u)/sum(exp(u))`` of a column vector, computed without overflow.

    Parameters
    ----------
    expr : column vector expression

    Returns
    -------
    Softmax
        A vector node; its Jacobian is ``diag(s) - s s^T`` with ``s = softmax(u)``.

    Raises
    ------
    ShapeError
        If ``expr`` is not a column vector.

    Examples
    --------
    >>> import numpy as np, symnorm as sn
    >>> x = sn.vector("x")
    >>> sn.kernel(sn.softmax(x), [x])(np.array([1000.0, 1000.0]))
    array([0.5, 0.5])
    """
    return Softmax(_vector_arg(expr, "softmax"))


def layer_norm(expr: Any, eps: Any = DEFAULT_EPS) -> LayerNorm:
    r"""``layer_norm(u, eps) = (u - mean(u))/sqrt(var(u) + eps)`` of a column vector.

    The variance is the biased one (divided by ``n``), and ``eps`` defaults to ``1e-5``, as
    in ``torch.nn.functional.layer_norm``. Gain and bias are ordinary expressions:
    ``g .* layer_norm(x) + beta``.

    Parameters
    ----------
    expr : column vector expression
    eps : number >= 0 or scalar symbol, optional

    Returns
    -------
    LayerNorm
        A vector node. Its Jacobian is ``(I - 1 1^T/n - x̂ x̂^T/n)/σ`` (``x̂`` the result,
        ``σ = sqrt(var(u) + eps)``); its VJP ``(g - mean(g) - x̂ mean(g ⊙ x̂))/σ``.

    Raises
    ------
    ShapeError
        If ``expr`` is not a column vector or ``eps`` is not a scalar.
    ValueError
        If ``eps`` is a negative number.

    Examples
    --------
    >>> import numpy as np, symnorm as sn
    >>> x = sn.vector("x")
    >>> sn.kernel(sn.layer_norm(x, 0), [x])(np.array([1.0, 3.0]))
    array([-1.,  1.])
    >>> print(sn.latex(sn.layer_norm(x)))
    \operatorname{LayerNorm}(x)
    """
    return LayerNorm(_vector_arg(expr, "layer_norm"), eps)


def rms_norm(expr: Any, eps: Any = DEFAULT_EPS) -> RmsNorm:
    """``rms_norm(u, eps) = u/sqrt(mean(u .* u) + eps)`` of a column vector (eps 1e-5
    by default).

    Parameters
    ----------
    expr : column vector expression
    eps : number >= 0 or scalar symbol, optional

    Returns
    -------
    RmsNorm
        A vector node. Its Jacobian is ``(I - ŷ ŷ^T/n)/r`` (``ŷ`` the result,
        ``r = sqrt(mean(u .* u) + eps)``); its VJP ``(g - ŷ mean(g ⊙ ŷ))/r``.

    Raises
    ------
    ShapeError
        If ``expr`` is not a column vector or ``eps`` is not a scalar.
    ValueError
        If ``eps`` is a negative number.

    Examples
    --------
    >>> import numpy as np, symnorm as sn
    >>> x = sn.vector("x")
    >>> sn.kernel(sn.rms_norm(x, 0), [x])(np.array([3.0, 4.0])) ** 2
    array([0.72, 1.28])
    """
    return RmsNorm(_vector_arg(expr, "rms_norm"), eps)
