r"""Jacobians of vector-valued maps, ``sn.jacobian(F, wrt)``, and their products with a
vector, derived without forming the matrix.

The Jacobian is in numerator layout: ``J[i, j] = ∂F_i/∂wrt_j``, rows are outputs, so a
map from n to m entries has an ``m x n`` Jacobian, and the Jacobian of a scalar is the
transpose of its gradient (exactly: it is derived as that gradient, transposed).

* ``J`` is derived in forward mode: the directional derivative of ``F`` along a tangent
  ``T`` of ``wrt``, with ``T = I``. The rules are the engine's (products, elementwise maps,
  the registered functions' ``jvp``), and a scalar factor of ``F`` contributes its gradient
  (the engine's reverse mode) as an outer product: ``J(c(x) u(x)) = u ∇c^T + c J(u)``.
* ``J u`` (the JVP) is the same derivation along a vector ``u``: nothing of size ``n x n``
  appears (``diag(d) u`` is written ``d ⊙ u``, ``x x^T u`` is computed as ``x (x^T u)``).
* ``J^T v`` (the VJP) is the engine's reverse mode with the cotangent ``v``, as for a
  gradient.

Both products are checked against central differences of ``F`` before their kernels are
returned; the Jacobian itself by the default check of every derivation (the identity
``<c, J t> = (c^T F)'(x; t)`` for random unit ``t`` and ``c``, which sees any wrong entry).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp
from sympy import (
    DiagMatrix,
    HadamardPower,
    HadamardProduct,
    Identity,
    MatAdd,
    MatMul,
    Transpose,
)
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol

from .. import numeric
from ..check import check_products
from ..kernels.arguments import free_arguments
from ..kernels.backends.numba_kernels import NumbaNumeric
from ..kernels.codegen import order_ranges
from ..kernels.kernel import Kernel, kernel
from ..model.atoms import Elementwise, ScalarOf
from ..model.errors import ArgumentError, CheckFailedError, UnsupportedExpressionError
from ..model.shapes import check_shapes
from ..model.text import to_text
from ..rules import ELEMENTWISE, Fusion, function_rule
from ..rules.vector_functions import (
    NORMALISED_HELPER,
    apply_diag,
    normalised,
    normalised_jvp,
    normalised_kinks,
)
from .algebra import _product, _split, add, as_scalar, depends, factor_identity, scale
from .derivation import Derivation, Differential, Step
from .engine import Recorder, derive_gradient, fixed_parameters, grad_scalar, vjp

__all__ = ["JacobianDerivation", "ValueAndVJP", "derive_jacobian", "jvp"]

Expr = Any

_SUPPORTED = ("supported: a column vector (or scalar) F of a column vector or scalar wrt")


# -- forward mode ------------------------------------------------------------------------------

def _full(t: Any) -> bool:
    """Whether the tangent is the identity: the whole Jacobian is being formed."""
    return isinstance(t, Identity)


def _one_by_one(mats: list[MatrixExpr]) -> tuple[list[sp.Expr], list[MatrixExpr]]:
    """Split the matrix factors of a product into its 1x1 sub-products (scalars, as
    ``ScalarOf``) and the rest, which multiply to a matrix of the same outer shape:
    ``x x^T y`` is ``(x^T y) x``."""
    scalars: list[sp.Expr] = []
    rest: list[MatrixExpr] = []
    i = 0
    while i < len(mats):
        if mats[i].shape[0] == 1:
            k = next((k for k in range(i, len(mats)) if mats[k].shape[1] == 1), None)
            if k is not None and (rest or k + 1 < len(mats)):
                scalars.append(ScalarOf(_product(mats[i:k + 1])))
                i = k + 1
                continue
        rest.append(mats[i])
        i += 1
    return scalars, rest


def jvp(e: Expr, wrt: Expr, t: Any, rec: Recorder) -> Expr | None:
    """The derivative of ``e`` along the tangent ``t`` of ``wrt`` (None means zero).

    ``t`` is ``I`` (then the result is the Jacobian, numerator layout), a column vector
    ``u`` of ``wrt``'s shape (the JVP ``J u``, of ``e``'s shape), or for a scalar ``wrt``
    the scalar 1 or a scalar tangent.
    """
    if e == wrt:
        return t
    if not depends(e, wrt):
        return None
    if not isinstance(e, MatrixExpr):  # a scalar: its gradient, projected on the tangent
        g = grad_scalar(e, wrt, rec)
        if g is None:
            return None
        if isinstance(wrt, MatrixExpr):
            return _product([g.T, t]) if _full(t) else ScalarOf(_product([g.T, t]))
        return g * t
    if isinstance(e, MatAdd):
        return add([jvp(a, wrt, t, rec) for a in e.args])
    if isinstance(e, MatMul):
        return _jvp_product(e, wrt, t, rec)
    if isinstance(e, Transpose):
        inner = jvp(e.arg, wrt, t, rec)
        if inner is None:
            return None
        if _full(t) and isinstance(wrt, MatrixExpr):
            raise UnsupportedExpressionError(
                f"the Jacobian of the row vector {to_text(e)} is not a matrix in numerator "
                f"layout; {_SUPPORTED} (transpose it)")
        return inner.T if isinstance(inner, MatrixExpr) else inner
    if isinstance(e, HadamardProduct):
        terms = []
        for i, a in enumerate(e.args):
            if depends(a, wrt):
                d = jvp(a, wrt, t, rec)
                if d is not None:
                    others = [b for j, b in enumerate(e.args) if j != i]
                    other = others[0] if len(others) == 1 else HadamardProduct(*others)
                    terms.append(_diag_times(other, d))
        return add(terms)
    if isinstance(e, HadamardPower):
        if depends(e.exp, wrt):
            raise UnsupportedExpressionError(
                f"cannot differentiate {to_text(e)}: the exponent depends on {to_text(wrt)}")
        d = jvp(e.base, wrt, t, rec)
        if d is None:
            return None
        factor = scale(2, e.base) if e.exp == 2 else \
            scale(e.exp, HadamardPower(e.base, e.exp - 1))
        return _diag_times(factor, d)
    if isinstance(e, Elementwise):
        rule = ELEMENTWISE[e.name]
        rec.kink(rule.kinks(e.arg))
        d = rule.derivative(e.arg)
        inner = jvp(e.arg, wrt, t, rec)
        if d is None or inner is None:  # piecewise constant: 0 almost everywhere
            return None
        if e.arg.shape[1] == 1:
            rec.step(e.name, Differential(e, e.arg, "jacobian"), DiagMatrix(d),
                     "an elementwise map: a diagonal Jacobian")
        return _diag_times(d, inner)
    rule = function_rule(e)
    if rule is not None and rule.jvp is not None:
        fixed_parameters(e, wrt)
        u = e.args[0]
        inner = jvp(u, wrt, t, rec)
        if inner is None:
            return None
        rec.kink(rule.kinks(e))
        if u.shape[1] == 1:
            rec.step(rule.key, Differential(e, u, "jacobian"),
                     rule.jvp(e, Identity(u.shape[0])), rule.title)
        c, g = _split(inner) if isinstance(inner, MatMul) else (sp.Integer(1), inner)
        out = rule.jvp(e, g)  # linear in the tangent: its scalar factor stays outside
        if rule.symmetric and rule.numpy_vjp and isinstance(g, MatrixExpr) and \
                g.shape == e.shape:  # J = J^T: the VJP's fused helper computes J g
            rec.fusions[out] = Fusion(rule.numpy_vjp, (*e.args, g))
        return scale(c, out)
    raise UnsupportedExpressionError(
        f"no Jacobian rule for {type(e).__name__} in {to_text(e)}; the VJP, the gradient of "
        f"v.T*F, may still be derived with sn.grad")


def _diag_times(d: MatrixExpr, t: Any) -> MatrixExpr:
    """``diag(d) t`` for a tangent ``t`` (a vector, ``I`` or a matrix), as written."""
    if isinstance(t, MatMul):
        c, rest = _split(t)
        return scale(c, apply_diag(d, rest))
    return apply_diag(d, t)


def _jvp_product(e: MatMul, wrt: Expr, t: Any, rec: Recorder) -> Expr | None:
    """``d(c M_1 ... M_r) = dc M_1...M_r + c Σ M_1..dM_i..M_r``; 1x1 sub-products are
    scalar factors (their gradient enters as an outer product)."""
    u = normalised(e)
    if u is not None and depends(u, wrt):  # u/‖u‖₂: the Hessian of ‖u‖₂, fused
        inner = jvp(u, wrt, t, rec)
        if inner is None:
            return None
        rec.kink(normalised_kinks(u))
        rec.step("normalisation", Differential(e, u, "jacobian"),
                 normalised_jvp(u, Identity(u.shape[0])),
                 "the Jacobian of u/‖u‖₂ is the Hessian of ‖u‖₂: the projection onto the "
                 "tangent plane of the sphere, divided by ‖u‖₂")
        c, g = _split(inner) if isinstance(inner, MatMul) else (sp.Integer(1), inner)
        out = normalised_jvp(u, g)
        if isinstance(g, MatrixExpr) and g.shape == u.shape:
            rec.fusions[out] = Fusion(NORMALISED_HELPER, (u, g))
        return scale(c, out)
    scalars = [a for a in e.args if not isinstance(a, MatrixExpr)]
    mats = [a for a in e.args if isinstance(a, MatrixExpr)]
    blocks, mats = _one_by_one(mats)
    c = sp.Mul(*scalars, *blocks)
    terms = []
    if depends(c, wrt):
        g_c = grad_scalar(c, wrt, rec)
        if g_c is not None:
            rest = _product(mats)
            if isinstance(wrt, MatrixExpr):
                terms.append(_product([rest, g_c.T, t]) if _full(t)
                             else scale(ScalarOf(_product([g_c.T, t])), rest))
            else:
                terms.append(scale(g_c * t, rest))
    for i, factor in enumerate(mats):
        if not depends(factor, wrt):
            continue
        if i != len(mats) - 1 and _full(t) and isinstance(wrt, MatrixExpr):
            raise UnsupportedExpressionError(
                f"the Jacobian of {to_text(e)}: its matrix factor {to_text(factor)} depends "
                f"on {to_text(wrt)}, so the derivative of that factor is a 3-index tensor; "
                f"the VJP, the gradient of v.T*F, needs no Jacobian: sn.grad(v.T*F, "
                f"{to_text(wrt)})")
        d = jvp(factor, wrt, t, rec)
        if d is not None:
            terms.append(_product([c, *mats[:i], d, *mats[i + 1:]]))
    return add(terms)


# -- the derivation --------------------------------------------------------------------------

def _fresh(name: str, taken: set) -> str:
    for candidate in (name, *(f"{name}{i}" for i in range(1, 100))):
        if candidate not in taken:
            return candidate
    raise ValueError(f"no free name for {name}")  # pragma: no cover


def _symbol_like(name: str, e: Any) -> Any:
    """A vector (or scalar) symbol of ``e``'s shape: the tangent or the cotangent."""
    if isinstance(e, MatrixExpr):
        return MatrixSymbol(name, *e.shape)
    return sp.Symbol(name, real=True)


@dataclass
class Product:
    """A Jacobian-vector product in closed form: ``expr`` over the vector ``vector``."""

    expr: Any
    vector: Any
    fusions: dict
    report: Any = None


@dataclass(repr=False)
class JacobianDerivation(Derivation):
    r"""The Jacobian of a vector-valued map (numerator layout: rows are outputs), with its
    products with a vector: :meth:`vjp_kernel` (``v^T J``, as a vector ``J^T v``) and
    :meth:`jvp_kernel` (``J u``), derived without forming ``J``.

    Made by :func:`symnorm.jacobian`; the other members are those of every
    :class:`~symnorm.Derivation` (steps, kinks, LaTeX, the check, ``kernel()`` for the
    matrix, batched over leading axes: ``(..., m, n)``).

    Parameters
    ----------
    f : column vector or scalar expression
        The map ``F``.
    wrt : vector or scalar symbol
        The variable.
    result : matrix expression
        The ``m x n`` Jacobian in closed form (``1 x n``, the transposed gradient, for a
        scalar map; ``m x 1`` for a scalar ``wrt``).
    steps, assumptions, kinks, warnings, fusions, report
        As for :class:`~symnorm.Derivation`.
    kind : str
        ``"jacobian"``.
    gradient : Derivation or None
        For a scalar map, the gradient the Jacobian is the transpose of.
    convention : str or None
        Unused for Jacobians (their variable is a vector or a scalar, never a declared
        symmetric matrix); kept as every :class:`~symnorm.Derivation` has it.
    check_products : bool
        Check the VJP and JVP against central differences when they are first made.

    Examples
    --------
    >>> import symnorm as sn
    >>> x = sn.vector("x")
    >>> d = sn.jacobian(sn.rms_norm(x, 0), x)
    >>> d
    jacobian_x(rms_norm(x, 0)) = (I - rms_norm(x, 0)*rms_norm(x, 0).T/n)/sqrt(mean(x .* x))
    >>> print(sn.to_text(d.vjp().expr))
    (v - mean(v .* rms_norm(x, 0))*rms_norm(x, 0))/sqrt(mean(x .* x))
    """

    kind: str = "jacobian"
    check_products: bool = field(default=True, repr=False)
    _products: dict = field(default_factory=dict, init=False, repr=False)

    # -- the products -----------------------------------------------------------------
    def _taken(self) -> set:
        return {s.name for s in free_arguments(self.f, first=self.wrt)}

    def vjp(self) -> Product:
        """``J^T v`` in closed form over a fresh cotangent ``v`` (of ``F``'s shape),
        derived by reverse mode; checked against central differences when first made."""
        if "vjp" not in self._products:
            v = _symbol_like(_fresh("v", self._taken()), self.f)
            rec = Recorder()
            if isinstance(self.f, MatrixExpr):
                expr = vjp(self.f, self.wrt, v, rec)
            else:
                g = grad_scalar(self.f, self.wrt, rec)
                expr = None if g is None else scale(v, g)
            zero = sp.ZeroMatrix(*self.wrt.shape) if isinstance(self.wrt, MatrixExpr) \
                else sp.Integer(0)
            product = Product(zero if expr is None else expr, v, rec.fusions)
            self._checked(product, "vjp")
            self._products["vjp"] = product
        return self._products["vjp"]

    def jvp(self) -> Product:
        """``J u`` in closed form over a fresh tangent ``u`` (of ``wrt``'s shape), derived
        in forward mode; checked against central differences when first made."""
        if "jvp" not in self._products:
            u = _symbol_like(_fresh("u", self._taken()), self.wrt)
            rec = Recorder()
            expr = jvp(self.f, self.wrt, u, rec)
            zero = sp.ZeroMatrix(*self.f.shape) if isinstance(self.f, MatrixExpr) \
                else sp.Integer(0)
            product = Product(zero if expr is None else expr, u, rec.fusions)
            self._checked(product, "jvp")
            self._products["jvp"] = product
        return self._products["jvp"]

    def _checked(self, product: Product, which: str) -> None:
        if not self.check_products:
            return
        report = check_products(self.f, self.wrt, product.expr, product.vector, which,
                                fusions=product.fusions)
        product.report = report
        if not report.ok:
            raise CheckFailedError(
                f"the derived {which.upper()} of {to_text(self.f)} disagrees with central "
                f"differences:\n{report.summary()}", report)

    def _product_kernel(self, product: Product, args: list | None,
                        backend: str | None) -> Kernel:
        by_name = None if args else 2
        if not args:
            rest = [s for s in free_arguments(self.f, first=self.wrt)[1:]]
            args = [self.wrt, product.vector, *rest]
        return kernel(product.expr, args, fusions=product.fusions,
                      orders=order_ranges(self.f), ordered_by_name_from=by_name,
                      backend=backend)

    def vjp_kernel(self, args: list | None = None, *, backend: str | None = None) -> Kernel:
        """A kernel ``k(x, v, ...)`` computing ``v^T J`` (returned as the vector ``J^T v``,
        of ``wrt``'s shape) without forming ``J``: O(n) time and memory where ``J`` is
        diagonal or the identity plus low rank (``x/‖x‖₂``, softmax, the normalisation
        layers). Arguments: ``wrt``, the cotangent ``v`` (of ``F``'s shape), then the other
        symbols by name; leading axes are a batch, as for every kernel.

        >>> import numpy as np, symnorm as sn
        >>> x = sn.vector("x")
        >>> k = sn.jacobian(x/sn.norm(x, 2), x).vjp_kernel()
        >>> k
        <symnorm kernel k(x, v, *, out=None) -> (v - x*x.T*v/norm(x, 2)**2)/norm(x, 2)>
        >>> k(np.array([3.0, 4.0]), np.array([4.0, -3.0])) * 5
        array([ 4., -3.])
        """
        return self._product_kernel(self.vjp(), args, backend)

    def value_and_vjp_kernel(self, args: list | None = None, *,
                             backend: str | None = None) -> "ValueAndVJP":
        """A callable ``k(x, v, ...) -> (F(x), v^T J)``: the forward value and the VJP in
        one call (a layer's forward and backward pass), arguments as for
        :meth:`vjp_kernel`. Where ``F`` is a function with a fused forward-and-backward
        helper (``layer_norm``, ``rms_norm`` of ``wrt``) and the arguments are numpy arrays
        of one shape, each row is read once for both (numpy, or ``backend="numba"``);
        otherwise the value and the VJP kernels are called in turn.

        >>> import numpy as np, symnorm as sn
        >>> x = sn.vector("x")
        >>> k = sn.jacobian(sn.layer_norm(x, 0), x).value_and_vjp_kernel()
        >>> y, dx = k(np.array([1.0, 3.0]), np.array([1.0, 0.0]))
        >>> y, np.round(dx, 12)
        (array([-1.,  1.]), array([0., 0.]))
        """
        return ValueAndVJP(self, args, backend)

    def jvp_kernel(self, args: list | None = None, *, backend: str | None = None) -> Kernel:
        """A kernel ``k(x, u, ...)`` computing ``J u`` (of ``F``'s shape) without forming
        ``J``. Arguments: ``wrt``, the tangent ``u`` (of ``wrt``'s shape), then the other
        symbols by name.

        >>> import numpy as np, symnorm as sn
        >>> x = sn.vector("x")
        >>> k = sn.jacobian(sn.softmax(x), x).jvp_kernel()
        >>> k(np.zeros(2), np.array([1.0, -1.0]))
        array([ 0.5, -0.5])
        """
        return self._product_kernel(self.jvp(), args, backend)


class ValueAndVJP:
    """``k(x, v, ...) -> (F(x), v^T J)``: see :meth:`JacobianDerivation.value_and_vjp_kernel`.

    ``value`` and ``vjp`` are the two kernels; ``fused`` names the one-pass helper used
    for plain numpy arrays (None where there is none).
    """

    def __init__(self, deriv: JacobianDerivation, args: list | None,
                 backend: str | None) -> None:
        product = deriv.vjp()
        self.vjp = deriv.vjp_kernel(args, backend=backend)
        self.backend = backend
        self.arg_names = self.vjp.arg_names
        value_args = [a for a in self.vjp.args if a != product.vector]
        self.value = kernel(deriv.f, value_args, orders=order_ranges(deriv.f),
                            backend=backend)
        self._wrt, self._vector = deriv.wrt.name, product.vector.name
        self._params: tuple = ()
        self.fused = None
        rule = function_rule(deriv.f)
        fusion = product.fusions.get(product.expr)
        if rule is not None and rule.numpy_value_vjp and deriv.f.args[0] == deriv.wrt and \
                fusion == Fusion(rule.numpy_vjp, (*deriv.f.args, product.vector)) and \
                backend in (None, "numba"):
            self.fused = rule.numpy_value_vjp
            self._params = tuple(deriv.f.args[1:])
        self._nm: Any = None

    def __repr__(self) -> str:
        call = ", ".join([*self.arg_names, "*", "out=None"])
        return (f"<symnorm value-and-VJP kernel k({call}) -> ({to_text(self.value.expr)}, "
                f"{to_text(self.vjp.expr)})>")

    def _helpers(self) -> Any:
        if self._nm is None:
            self._nm = NumbaNumeric() if self.backend == "numba" else numeric
        return self._nm

    def _fast(self, bound: dict) -> tuple | None:
        """The arguments of the fused helper, or None when they need the kernels' checks
        (other libraries, mixed shapes or dtypes, values that are not real arrays)."""
        x, v = bound.get(self._wrt), bound.get(self._vector)
        if type(x) is not np.ndarray or type(v) is not np.ndarray or x.shape != v.shape \
                or x.ndim == 0 or x.dtype != v.dtype or x.dtype.kind != "f":
            return None
        params = []
        for p in self._params:
            if isinstance(p, sp.Symbol):
                value = bound.get(p.name)
                if value is None or np.ndim(value) != 0:
                    return None
                params.append(float(value))
            else:
                params.append(float(p))
        return (x, *params, v)

    def __call__(self, *values: Any, out: Any = None, **named: Any) -> tuple:
        if len(values) > len(self.arg_names):
            raise ArgumentError(f"{self!r} takes {len(self.arg_names)} arguments, got "
                                f"{len(values)}")
        bound = dict(zip(self.arg_names, values))
        for key, value in named.items():
            if key in bound or key not in self.arg_names:
                why = "given twice" if key in bound else "unknown"
                raise ArgumentError(f"argument {key!r} {why}; the arguments are "
                                    f"{', '.join(self.arg_names)}")
            bound[key] = value
        missing = [n for n in self.arg_names if n not in bound]
        if missing:
            raise ArgumentError(f"missing argument(s): {', '.join(missing)}")
        if out is not None and (not isinstance(out, tuple) or len(out) != 2):
            raise ArgumentError("out= takes a pair of arrays: (value, vjp)")
        fast = self._fast(bound) if self.fused else None
        if fast is not None and (out is None or all(
                type(o) is np.ndarray and o.shape == fast[0].shape for o in out)):
            return getattr(self._helpers(), self.fused)(*fast, out=out)
        want = out if out is not None else (None, None)
        value_named = {k: bound[k] for k in self.value.arg_names}
        return (self.value(out=want[0], **value_named), self.vjp(out=want[1], **bound))


def _check_map(F: Any, wrt: Any) -> Any:
    """``F`` as a column vector or a scalar, or an error that says what is supported."""
    if isinstance(wrt, MatrixSymbol):
        rows, cols = wrt.shape
        if cols != 1:
            what = "a row vector" if rows == 1 else f"the {rows}x{cols} matrix {wrt}"
            raise UnsupportedExpressionError(
                f"jacobian() with respect to {what}: {_SUPPORTED}. The Jacobian with respect "
                f"to a matrix has 3 or 4 indices; for a scalar F use sn.grad(F, {wrt}) (a "
                f"matrix of {wrt}'s shape), for a vector F the gradient of v.T*F is the VJP")
    elif not isinstance(wrt, sp.Symbol):
        raise UnsupportedExpressionError(
            f"wrt must be a symbol made by sn.scalar/sn.vector, got {wrt!r}")
    if isinstance(F, MatrixExpr):
        rows, cols = F.shape
        if (rows, cols) == (1, 1):
            return as_scalar(F)
        if cols != 1:
            what = "a row vector (use F.T)" if rows == 1 else \
                f"a {rows}x{cols} matrix: its Jacobian is a tensor of 3 or 4 indices, which " \
                "symnorm does not form"
            raise UnsupportedExpressionError(
                f"jacobian() of {to_text(F)}, which is {what}; {_SUPPORTED}. For a "
                "matrix-valued map differentiate a scalar of it with sn.grad (e.g. "
                "sn.trace(C.T*F)), or a column of it (F*e)")
        check_shapes(F)
        return F
    return as_scalar(F)


def derive_jacobian(F: Any, wrt: Any, *, index_notation: bool = False
                    ) -> JacobianDerivation:
    """Derive the Jacobian of ``F`` with respect to ``wrt`` (no numeric check); see
    :func:`symnorm.jacobian`."""
    F = _check_map(F, wrt)
    if not isinstance(F, MatrixExpr):  # a scalar: exactly its gradient, transposed
        grad = derive_gradient(F, wrt, index_notation=index_notation)
        result = grad.result.T if isinstance(grad.result, MatrixExpr) else grad.result
        steps = list(grad.steps)
        steps.append(_transposed_step(F, wrt, grad.result, result))
        return JacobianDerivation(f=F, wrt=wrt, result=result, steps=steps,
                                  assumptions=grad.assumptions, kinks=grad.kinks,
                                  fusions={}, warnings=grad.warnings, gradient=grad)
    rec = Recorder(index_notation=index_notation)
    t = Identity(wrt.shape[0]) if isinstance(wrt, MatrixExpr) else sp.Integer(1)
    j = jvp(F, wrt, t, rec)
    if j is None:
        j = sp.ZeroMatrix(F.shape[0], wrt.shape[0]) if isinstance(wrt, MatrixExpr) else \
            sp.ZeroMatrix(*F.shape)
    result = factor_identity(j) if isinstance(j, MatAdd) else j
    return JacobianDerivation(f=F, wrt=wrt, result=result, steps=rec.steps,
                              assumptions=rec.assumptions, kinks=rec.kinks,
                              fusions=rec.fusions, warnings=rec.warnings)


def _transposed_step(F: Any, wrt: Any, grad: Any, result: Any) -> Step:
    return Step("layout", Differential(F, wrt, "jacobian"), result,
                "numerator layout: the Jacobian of a scalar is its gradient, transposed")
