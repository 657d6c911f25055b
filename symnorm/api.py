"""The public entry points that derive and check: ``grad``, ``hessian``, ``jacobian`` and
``check``."""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.matrices.exceptions import ShapeError as SympyShapeError
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol

from .calculus.algebra import as_scalar
from .calculus.derivation import Derivation
from .calculus.engine import derive_gradient
from .calculus.hessian import derive_hessian
from .calculus.jacobian import JacobianDerivation, derive_jacobian
from .check import CheckReport, ensure, run_check
from .model.errors import ShapeError
from .model.text import to_text


def _derive(how: Any, f: Any, wrt: Any, **options: Any) -> Derivation:
    """Run a derivation; a shape error SymPy raises on the way becomes symnorm's."""
    try:
        return how(f, wrt, **options)
    except ShapeError:
        raise
    except SympyShapeError as e:
        raise ShapeError(f"shapes do not fit in {to_text(f)}: {e}") from None


def _index_default(wrt: Any) -> bool:
    return isinstance(wrt, MatrixSymbol) and wrt.shape[0].is_Integer


def grad(f: Any, wrt: Any, *, check: bool = True, index_notation: bool | None = None,
         **check_options: Any) -> Derivation:
    """Derive the gradient of the scalar ``f`` with respect to ``wrt``.

    The result is in closed vector form, valid for every dimension, and is checked
    against finite differences at random points before it is returned (``check=False``
    switches that off); a disagreement raises :class:`CheckFailedError` naming the
    expression and the point. ``index_notation`` adds the component-wise steps
    (default: on when ``wrt`` has an integer size).

    >>> import symnorm as sn
    >>> A, x, b = sn.matrix("A"), sn.vector("x"), sn.vector("b", "m")
    >>> d = sn.grad(sn.norm(A*x - b, 2), x)
    >>> d
    grad_x(norm(A*x - b, 2)) = A.T*(A*x - b)/norm(A*x - b, 2)
    >>> d.result
    1/norm(A*x - b, 2)*A.T*(A*x - b)
    >>> print(sn.to_text(d.result))
    A.T*(A*x - b)/norm(A*x - b, 2)
    >>> d.report.ok
    True
    """
    if index_notation is None:
        index_notation = _index_default(wrt)
    deriv = _derive(derive_gradient, f, wrt, index_notation=index_notation)
    if check:
        ensure(deriv, **check_options)
    return deriv


def hessian(f: Any, wrt: Any, *, check: bool = True, **check_options: Any) -> Derivation:
    """Derive the Hessian of the scalar ``f`` with respect to the vector ``wrt``.

    >>> import symnorm as sn
    >>> x = sn.vector("x")
    >>> print(sn.to_text(sn.hessian(sn.norm(x, 2), x).result))
    (I - x*x.T/norm(x, 2)**2)/norm(x, 2)
    """
    deriv = _derive(derive_hessian, f, wrt)
    if check:
        ensure(deriv, **check_options)
    return deriv


def jacobian(F: Any, wrt: Any, *, check: bool = True, index_notation: bool | None = None,
             **check_options: Any) -> JacobianDerivation:
    r"""Derive the Jacobian of the vector-valued map ``F`` with respect to ``wrt``.

    The layout is numerator layout: ``J[i, j] = dF_i/dwrt_j``, rows are outputs, so ``F``
    with m entries of ``wrt`` with n entries has an ``m x n`` Jacobian. For a scalar ``F``
    the result is exactly the transpose of :func:`grad`'s (a ``1 x n`` row). The result is
    in closed form, valid for every dimension, with steps, kinks and LaTeX as for
    :func:`grad`, and is checked against central differences before it is returned
    (``check=False`` switches that off): ``<c, J t>`` against ``(c^T F)'(x; t)`` for random
    unit ``t``, ``c``, which sees any wrong entry. ``.kernel()`` computes the matrix
    (batched over leading axes); ``.vjp_kernel()`` and ``.jvp_kernel()`` compute ``v^T J``
    and ``J u`` without forming it (O(n) where ``J`` is diagonal or the identity plus low
    rank), each checked against central differences when first made.

    Parameters
    ----------
    F : column vector or scalar expression
        The map. A matrix-valued ``F`` is refused: its Jacobian has 3 or 4 indices.
    wrt : vector or scalar symbol
        The variable (``sn.vector`` or ``sn.scalar``); a matrix is refused (use
        :func:`grad` of a scalar of ``F``).
    check : bool, optional
        Check the result against finite differences (default True).
    index_notation : bool, optional
        Add component-wise steps for the norms (default: when ``wrt`` has an integer size).
    **check_options
        Passed to the check (``points``, ``seed``, ``dtype``, ``at``).

    Returns
    -------
    JacobianDerivation
        A :class:`Derivation` whose ``result`` is the Jacobian.

    Raises
    ------
    UnsupportedExpressionError
        For a matrix-valued ``F``, a matrix ``wrt``, or a node without a derivative rule.
    CheckFailedError
        If the result disagrees with finite differences.

    Examples
    --------
    >>> import symnorm as sn
    >>> x = sn.vector("x")
    >>> d = sn.jacobian(x/sn.norm(x, 2), x)
    >>> print(sn.to_text(d.result))
    (I - x*x.T/norm(x, 2)**2)/norm(x, 2)
    >>> print(sn.to_text(sn.jacobian(sn.softmax(x), x).result))
    diag(softmax(x)) - softmax(x)*softmax(x).T
    >>> A, b = sn.matrix("A", "m", "n"), sn.vector("b", "m")
    >>> print(sn.to_text(sn.jacobian(A*x + b, x).result))
    A
    >>> sn.jacobian(sn.norm(x, 2), x).result == sn.grad(sn.norm(x, 2), x).result.T
    True
    """
    if index_notation is None:
        index_notation = _index_default(wrt)
    deriv = _derive(derive_jacobian, F, wrt, index_notation=index_notation)
    deriv.check_products = check
    if check:
        ensure(deriv, **check_options)
    return deriv


def check(f: Any, wrt: Any, grad: Any = None, at: Any = None, *, subdiff: Any = None,
          **options: Any) -> CheckReport:
    """Check a gradient (derived, or the one you supply) against finite differences.

    ``at`` is a value for ``wrt``, a dict of values by name, or a list of such dicts;
    anything not given is drawn at random (sizes 2..5) inside the domain: a draw where
    ``f`` is not finite is drawn again, and if no draw is finite a
    :class:`NoDomainPointError` says so (declare the structure of a matrix that must be
    positive definite, or give points with ``at=``). Options: ``points`` (random points,
    default 6, more when needed to see both signs of every piece), ``directions`` (per
    point, default 1: a check at one given point costs five evaluations of ``f`` and one
    of the gradient), ``dtype`` (float64 or float32), ``seed``. ``grad`` may also be an
    array: the claimed (sub)gradient at the single point ``at``.

    At every point the value kernel of ``f`` is also compared with an independent
    evaluation (float64, and mpmath at 50 digits or more where they disagree): a value
    kernel that is wrong there (or NaN where ``f`` is finite) fails the point, with a
    message that says so. Two points far from the origin must not give a NaN derivative
    where ``f`` is finite.

    At a kink (one-sided derivatives that differ) a claimed gradient is checked as a
    subgradient: ``<g, d> <= f'(x; d)`` for one-sided differences along coordinate and
    random directions, and ``f(y) >= f(x) + <g, y - x>`` at nearby and far points
    (``f`` convex); for a matrix variable the directions are matrices. With
    ``subdiff=`` (a :class:`~symnorm.Subdifferential`) its support function is also
    compared with ``f'(x; d)``.

    >>> import symnorm as sn
    >>> x = sn.vector("x")
    >>> sn.check(sn.norm(x, 2)**2, x, grad=2*x).ok
    True
    >>> sn.check(sn.norm(x, 2)**2, x, grad=x).ok
    False
    >>> M = sn.matrix("M", "n", "n", positive_definite=True)
    >>> q = sn.ScalarOf(x.T*M*x)  # Mahalanobis: sampled with M positive definite
    >>> sn.check(sp.sqrt(q), x, grad=M*x/sp.sqrt(q)).ok
    True
    >>> import numpy as np
    >>> X = sn.matrix("X", 2, 2)  # at a kink of the spectral norm: I/2 is a subgradient
    >>> sn.check(sn.norm(X, 2), X, grad=np.eye(2) / 2, at=np.eye(2)).ok
    True
    """
    f = as_scalar(f)
    if grad is None:
        deriv = derive_gradient(f, wrt)
        grad, fusions = deriv.result, deriv.fusions
    elif isinstance(grad, sp.Basic):
        fusions = {}
        _check_shape(grad, wrt)
    else:
        fusions = {}
    return run_check(f, wrt, grad, at=at, fusions=fusions, subdifferential=subdiff, **options)


def _check_shape(grad: Any, wrt: Any) -> None:
    gshape = grad.shape if isinstance(grad, MatrixExpr) else ()
    wshape = wrt.shape if isinstance(wrt, MatrixExpr) else ()
    if gshape != wshape:
        raise ShapeError(f"the claimed gradient {to_text(grad)} has shape {gshape or 'scalar'}"
                         f", but {wrt} has shape {wshape or 'scalar'}")
