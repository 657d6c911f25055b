"""Proximal operators: derived from the rules' closed forms (vector and matrix norms),
each with a kernel and a check of its optimality condition.

:func:`prox` is the entry point; :mod:`.vector` holds the result type and the vector
forms, :mod:`.matrix` the matrix forms.
"""

from __future__ import annotations

from typing import Any

from sympy.matrices.expressions import MatrixSymbol

from ...model.errors import CheckFailedError
from ...model.text import to_text
from .forms import derive_vector_prox
from .matrix import derive_matrix_prox
from .vector import Prox

__all__ = ["Prox", "derive_prox", "prox"]


def derive_prox(f: Any, wrt: Any) -> Prox:
    """Match ``f`` and derive its prox (no numeric check); see :func:`prox`."""
    if isinstance(wrt, MatrixSymbol) and wrt.shape[0] != 1 and wrt.shape[1] != 1:
        return derive_matrix_prox(f, wrt)
    return derive_vector_prox(f, wrt)


def prox(f: Any, wrt: Any, *, check: bool = True, **check_options: Any) -> Prox:
    r"""The proximal operator ``prox_f(v) = argmin_x f(x) + ||x - v||_2**2/2`` of ``f``.

    The prox is derived in closed form from the rules of the norms and the calculus of
    proximal maps (Beck, *First-Order Methods in Optimization*, ch. 6); each rule
    applied is a step of the derivation (:attr:`Prox.steps`). The result is checked
    before it is returned (``check=False`` switches that off): the optimality
    condition ``v - prox(v) ∈ ∂f(prox(v))`` at random points (:meth:`Prox.check`).

    Parameters
    ----------
    f : sympy.Expr
        A function of ``wrt`` of one of these forms (``lam`` and ``mu`` positive
        numbers or scalars made with ``sn.scalar(name, positive=True)``):
        ``lam*norm(x, 1)`` (soft thresholding), ``lam*norm(x, 2)`` (block soft
        thresholding), ``lam*norm(x, oo)`` (``v`` minus the projection onto the L1 ball
        of radius ``lam``), ``lam*group_norm(x, G)`` (blockwise shrinkage),
        ``mu/2*norm(x, 2)**2``, or one of the norms plus ``mu/2*norm(x, 2)**2``
        (elastic net); any of the norms of ``c*x - a`` (translation, Beck Thm 6.11:
        ``a + prox(v - a)``; scaling of the argument by a nonzero constant ``c``, Thm
        6.12); the sparse group lasso ``lam*norm(x, 1) + mu*norm(x, 2)``
        (``block_soft(soft(v, lam), mu)``, also with ``group_norm``). For a matrix
        ``X``: ``lam*norm(X, 'fro')``, ``lam*norm(X, 'nuc')`` (singular value
        thresholding), ``lam*norm(X, 2)`` and ``lam*norm(X, (2, 1))``.
    wrt : sympy.MatrixSymbol
        The variable: a column vector (the prox is a function of ``v``) or a matrix
        (of ``V``).
    check : bool, optional
        Check the optimality condition before returning the result (default True).
    **check_options
        Passed to :meth:`Prox.check`: ``points`` (default 3), ``seed`` (default 0),
        ``at`` (a value of ``v``, a dict of values by name, or a list of them).

    Returns
    -------
    Prox
        ``result`` (the prox as an expression in ``v`` and the parameters), ``steps``,
        ``kernel()`` (``k(v, lam, ...)``, batched), ``check()``, ``latex()`` and the
        Jupyter display; ``report`` is the check.

    Raises
    ------
    UnsupportedExpressionError
        If ``f`` is not one of the forms above (the message lists them), a
        coefficient is not known to be positive, or ``wrt`` is not a vector or matrix
        symbol.
    CheckFailedError
        If the derived prox fails its optimality condition (the report is attached).

    Examples
    --------
    >>> import numpy as np, symnorm as sn
    >>> x = sn.vector("x")
    >>> lam1, lam2 = sn.scalar("lam1", positive=True), sn.scalar("lam2", positive=True)
    >>> P = sn.prox(lam1*sn.norm(x, 1) + lam2/2*sn.norm(x, 2)**2, x)
    >>> print(sn.to_text(P.result))
    soft(v, lam1)/(lam2 + 1)
    >>> [s.rule for s in P.steps]
    ['definition', 'quadratic term', 'positive homogeneity', 'L1', 'result']
    >>> last = [row for row in P.latex().splitlines() if "&=" in row][-1]
    >>> last.startswith(r"\operatorname{prox}_{\lambda_{1} \lVert\cdot\rVert_{1} + ")
    True
    >>> print(sn.latex(P.result))
    \frac{\operatorname{sign}(v) \odot \max(\lvert v \rvert - \lambda_{1}, 0)}{\lambda_{2} + 1}
    >>> P.kernel()(np.array([3.0, -0.5, 1.0]), 1.0, 1.0)   # k(v, lam1, lam2)
    array([1., 0., 0.])
    >>> print(sn.to_text(sn.prox(sn.norm(x, 2), x).result))
    max(0, 1 - 1/norm(v, 2))*v
    >>> a = sn.vector("a")
    >>> print(sn.to_text(sn.prox(lam1*sn.norm(x - a, 1), x).result))
    a + soft(v - a, lam1)
    >>> print(sn.to_text(sn.prox(sn.norm(2*x, 1), x).result))
    soft(v, 2)
    >>> print(sn.to_text(sn.prox(lam1*sn.norm(x, 1) + lam2*sn.norm(x, 2), x).result))
    max(0, 1 - lam2/norm(soft(v, lam1), 2))*soft(v, lam1)
    >>> sn.prox(lam1*sn.norm(sn.matrix("X"), "nuc"), sn.matrix("X"))
    prox_{lam1*norm(., nuc)}(V) = svt(V, lam1)
    >>> sn.prox(sn.norm(x, 3), x)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symnorm.UnsupportedExpressionError: no closed-form prox for norm(x, 3): ...
    """
    result = derive_prox(f, wrt)
    if check:
        report = result.check(**check_options)
        result.report = report
        if not report.ok:
            raise CheckFailedError(
                f"the derived prox of {to_text(result.f)} fails its optimality condition:\n"
                f"{report.summary()}", report)
    return result
