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

    Parameters
    ----------
    f : sympy.Expr
        A scalar expression: norms and their powers, sums, products, elementwise maps,
        ``x.T*M*x`` (as :class:`ScalarOf`), the functions of :mod:`symnorm` (``logsumexp``,
        ``logdet``, ...). Make it with the constructors or read it with :func:`parse`.
    wrt : sympy.Symbol or sympy.MatrixSymbol
        The variable, made by :func:`scalar`, :func:`vector` or :func:`matrix`. For a
        matrix declared symmetric (diagonal) the gradient is taken in that space:
        ``sym(G) = (G + G^T)/2`` (``diag(G)``).
    check : bool, optional
        Check the result against finite differences before returning it (default True).
    index_notation : bool, optional
        Add the component-wise (index notation) steps of the norms (default: when
        ``wrt`` has an integer size).
    **check_options
        Passed to the check (see :func:`check`): ``points`` (random points, default 6),
        ``directions`` (per point, default 1), ``dtype`` (``float64`` or ``float32``),
        ``seed`` (default 0), ``at`` (the points to check at, instead of random ones).

    Returns
    -------
    Derivation
        ``result`` (the gradient, with the shape of ``wrt``), ``steps``, ``kinks``
        (where it does not hold and what kernels return there), ``report`` (the check),
        ``kernel()``, ``latex()`` and the Jupyter display.

    Raises
    ------
    ShapeError
        If ``f`` is not a scalar, or shapes inside it do not fit.
    UnsupportedExpressionError
        If ``f`` is not an expression, ``wrt`` is not a symbol, or a node of ``f`` has no
        derivative or kernel rule.
    CheckFailedError
        If the derived gradient disagrees with finite differences (or ``at=`` is a
        point outside the domain of ``f``, or a kink where it is no subgradient).
    DomainError
        If the check finds no point where ``f`` is finite (give points with ``at=``).
    ValueError
        For a check option without meaning (``points=0``, ``dtype=int``); an option of
        another name is a ``TypeError``.

    Examples
    --------
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
    >>> import numpy as np
    >>> d.kernel()(np.array([3.0, 4.0]), np.eye(2), np.zeros(2))   # k(x, A, b)
    array([0.6, 0.8])
    >>> M = sn.matrix("M", "n", "n", symmetric=True)
    >>> print(sn.to_text(sn.grad(sn.ScalarOf(x.T*M*x), M).result))
    x*x.T
    >>> sn.grad(A*x, x)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symnorm.ShapeError: can only differentiate a scalar; A*x is ...: sn.jacobian(F, wrt)
    """
    if index_notation is None:
        index_notation = _index_default(wrt)
    deriv = _derive(derive_gradient, f, wrt, index_notation=index_notation)
    if check:
        ensure(deriv, **check_options)
    return deriv


def hessian(f: Any, wrt: Any, *, check: bool = True, **check_options: Any) -> Derivation:
    """Derive the Hessian of the scalar ``f`` with respect to the vector ``wrt``.

    The gradient is derived first (its steps come first), then differentiated once
    more by forward mode; the result is a symmetric ``n x n`` matrix in closed form,
    valid for every ``n``. It is checked before it is returned: central differences
    of the gradient along random directions ``t`` against ``H t``, at random points
    (``check=False`` switches that off). At a kink of a norm the Hessian does not exist; kernels set
    its singular terms to 0 there.

    Parameters
    ----------
    f : sympy.Expr
        A scalar expression, twice differentiable away from its kinks.
    wrt : sympy.MatrixSymbol
        A column vector made by :func:`vector` (a matrix variable is refused: its
        Hessian has four indices).
    check : bool, optional
        Check the result against finite differences before returning it (default True).
    **check_options
        Passed to the check, as for :func:`grad`: ``points``, ``directions``, ``dtype``,
        ``seed``, ``at``.

    Returns
    -------
    Derivation
        ``kind == "hessian"``; ``result`` is the ``n x n`` Hessian, ``gradient`` the
        gradient derivation it was derived from.

    Raises
    ------
    ShapeError
        If ``f`` is not a scalar, or shapes inside it do not fit.
    UnsupportedExpressionError
        If ``wrt`` is not a column vector symbol, or a node of ``f`` has no derivative
        rule.
    CheckFailedError
        If the derived Hessian disagrees with finite differences (for instance at a
        point ``at=`` where it does not exist).

    Examples
    --------
    >>> import numpy as np, symnorm as sn
    >>> x = sn.vector("x")
    >>> print(sn.to_text(sn.hessian(sn.norm(x, 2), x).result))
    (I - x*x.T/norm(x, 2)**2)/norm(x, 2)
    >>> A, b = sn.matrix("A"), sn.vector("b", "m")
    >>> d = sn.hessian(sn.norm(A*x - b, 2)**2/2, x)
    >>> d
    hessian_x(norm(A*x - b, 2)**2/2) = A.T*A
    >>> print(sn.to_text(d.gradient.result))
    A.T*(A*x - b)
    >>> print(sn.to_text(sn.hessian(sn.logsumexp(x), x).result))
    diag(softmax(x)) - softmax(x)*softmax(x).T
    >>> sn.hessian(sn.norm(x, 2), x).kernel()(np.array([3.0, 4.0]))
    array([[ 0.128, -0.096],
           [-0.096,  0.072]])
    >>> sn.hessian(sn.norm(A, "fro")**2, A)
    Traceback (most recent call last):
    ...
    symnorm.UnsupportedExpressionError: hessian() needs a column vector wrt, got A
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

    At each point the claimed gradient ``g`` is compared with central differences of
    ``f`` along random unit directions ``d`` (``<g, d>`` against ``f'(x; d)``, one
    Richardson step). Points not given are drawn at random (sizes 2..5) inside the
    domain: a draw where ``f`` is not finite is drawn again, and the draws cover the
    sign patterns of the pieces of ``f``.

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

    Parameters
    ----------
    f : sympy.Expr
        The scalar function (a 1x1 matrix expression is taken as its scalar).
    wrt : sympy.Symbol or sympy.MatrixSymbol
        The variable, made by :func:`scalar`, :func:`vector` or :func:`matrix`.
    grad : sympy.Expr or array_like, optional
        The claimed gradient: an expression with the shape of ``wrt`` in the symbols
        of ``f``, or an array, the claimed (sub)gradient at the single point ``at``.
        Default: the gradient symnorm derives.
    at : array_like, dict or list of dict, optional
        The points: a value for ``wrt``, a dict of values by name (``{"x": ..., "A":
        ...}``), or a list of such dicts. Anything not given is drawn at random inside
        the domain. Default: random points.
    subdiff : Subdifferential, optional
        A subdifferential of ``f`` whose support function is compared with ``f'(x; d)``
        at kinks.
    **options
        ``points`` (random points, default 6, more when needed to see both signs of
        every piece), ``directions`` (per point, default 1: a check at one given point
        costs five evaluations of ``f`` and one of the gradient), ``dtype``
        (``float64``, or ``float32`` with looser tolerances), ``seed`` (default 0).

    Returns
    -------
    CheckReport
        ``ok``, the largest error at each point (``errors``), the method used; ``str``
        of it is the plain-text report with the numbers of any failing point. A failed
        check is reported, not raised.

    Raises
    ------
    ShapeError
        If the claimed gradient does not have the shape of ``wrt``, uses symbols ``f``
        does not, is an array without ``at``, or ``at`` is empty or of the wrong shape.
    DomainError
        If no random draw makes ``f`` finite (declare the structure of a matrix that
        must be positive definite, or give points with ``at=``).
    UnsupportedExpressionError
        If ``wrt`` is not a symbol or ``f`` has a node without a rule.
    ValueError
        For an option without meaning (``points=0``, ``dtype=int``); an option of
        another name is a ``TypeError``.

    Examples
    --------
    >>> import numpy as np, sympy as sp, symnorm as sn
    >>> x = sn.vector("x")
    >>> sn.check(sn.norm(x, 2)**2, x, grad=2*x).ok
    True
    >>> r = sn.check(sn.norm(x, 2)**2, x, grad=x)
    >>> r.ok
    False
    >>> print(str(r).splitlines()[0])
    FAIL: derivative x of norm(x, 2)**2 with respect to x
    >>> r = sn.check(sn.norm(x, 2), x, at=[{"x": [3.0, 4.0]}, {"x": [1.0, 0.0]}])
    >>> r.ok, len(r.points), max(r.errors) < 1e-9
    (True, 2, True)
    >>> M = sn.matrix("M", "n", "n", positive_definite=True)
    >>> q = sn.ScalarOf(x.T*M*x)  # Mahalanobis: sampled with M positive definite
    >>> sn.check(sp.sqrt(q), x, grad=M*x/sp.sqrt(q)).ok
    True

    At a kink a claimed gradient is checked as a subgradient:

    >>> sn.check(sn.norm(x, 1), x, grad=[0.5, 1.0], at=[0.0, 2.0]).ok
    True
    >>> X = sn.matrix("X", 2, 2)  # at a kink of the spectral norm: I/2 is a subgradient
    >>> sn.check(sn.norm(X, 2), X, grad=np.eye(2) / 2, at=np.eye(2)).ok
    True
    >>> sn.check(sn.norm(x, 2), x, grad=sn.matrix("A"))
    Traceback (most recent call last):
    ...
    symnorm.ShapeError: the claimed gradient A has shape (m, n), but x has shape (n, 1)
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
