"""The public entry points that derive: ``grad`` and ``hessian``."""

from __future__ import annotations

from typing import Any

from sympy.matrices.exceptions import ShapeError as SympyShapeError
from sympy.matrices.expressions import MatrixSymbol

from .calculus.derivation import Derivation
from .calculus.engine import derive_gradient, derive_hessian
from .check.gradient import ensure
from .model.errors import ShapeError


def _derive(how: Any, f: Any, wrt: Any, **options: Any) -> Derivation:
    """Run a derivation; a shape error SymPy raises on the way becomes symnorm's."""
    try:
        return how(f, wrt, **options)
    except ShapeError:
        raise
    except SympyShapeError as e:
        from .model.text import to_text

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
