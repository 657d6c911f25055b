"""The checks of Jacobian-vector products: a JVP (``J u``) or VJP (``J^T v``) kernel
against central differences of the map itself.

At sampled points of the domain the product kernel is evaluated on every basis vector
(check sizes are 2..5), which assembles the whole Jacobian it stands for; that matrix is
then compared with central differences of ``F`` through the identity
``<c, J t> = (c^T F)'(x; t)`` for random unit ``t`` and ``c`` (as the Jacobian itself is
checked), so a product that is wrong for any vector is seen.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sympy.matrices.expressions import MatrixExpr

from ..kernels.arguments import free_arguments
from ..kernels.kernel import kernel
from ..model.text import to_text
from .gradient import _directional_check
from .report import TOLERANCES, CheckReport
from .sampling import _switch_kernels, sample_domain

PRODUCT_METHOD = ("the {which} kernel on every basis vector assembles J, compared with "
                  "central differences of F along random unit directions t (one Richardson "
                  "step): <c, J t> for a random unit c")


def _basis(shape: tuple, dtype: Any) -> list[np.ndarray]:
    size = int(np.prod(shape)) if shape else 1
    out = []
    for i in range(size):
        e = np.zeros(size, dtype=dtype)
        e[i] = 1
        out.append(e.reshape(shape) if shape else dtype(1))
    return out


def check_products(F: Any, wrt: Any, product: Any, vector: Any, which: str, *,
                   fusions: dict | None = None, points: int = 4, seed: int | None = 0,
                   dtype: Any = np.float64) -> CheckReport:
    """Check the closed form ``product`` of ``J u`` (``which="jvp"``, ``vector`` the
    tangent ``u``) or ``J^T v`` (``"vjp"``, ``vector`` the cotangent ``v``) of the map
    ``F`` with respect to ``wrt``, against central differences of ``F``.

    >>> import symnorm as sn
    >>> x, u = sn.vector("x"), sn.vector("u")
    >>> check_products(x/sn.norm(x, 2), x, u/sn.norm(x, 2), u, "jvp").ok
    False
    """
    rtol, atol = TOLERANCES[np.dtype(dtype).type]
    args = free_arguments(F, first=wrt)
    fk = kernel(F, args)
    pk = kernel(product, [wrt, vector, *args[1:]], fusions=fusions)
    vector_F = isinstance(F, MatrixExpr)

    def value_fn(values: dict) -> Any:
        return fk(**values)

    def deriv_fn(values: dict) -> np.ndarray:
        if which == "jvp":
            basis = _basis(np.shape(values[wrt.name]), np.dtype(dtype).type)
            cols = [np.asarray(pk(**values, **{vector.name: e})) for e in basis]
            return np.stack(cols, axis=-1) if np.ndim(values[wrt.name]) else cols[0]
        f0 = np.asarray(fk(**values))
        basis = _basis(f0.shape, np.dtype(dtype).type)
        rows = [np.asarray(pk(**values, **{vector.name: e})) for e in basis]
        return np.stack(rows, axis=0) if f0.ndim else rows[0]

    rng = np.random.default_rng(seed)
    kind = np.dtype(dtype).type
    chosen, spare = sample_domain(value_fn, args, wrt, rng, kind, F, points,
                                  _switch_kernels(F, wrt, args))
    results = []
    for values in chosen:
        point = _directional_check(value_fn, deriv_fn, values, wrt.name, rng, 2, kind,
                                   rtol, atol, vector_F, wrt)
        while point.mode == "kink" and spare:  # a point on a kink: take another one
            point = _directional_check(value_fn, deriv_fn, spare.pop(), wrt.name, rng, 2,
                                       kind, rtol, atol, vector_F, wrt)
        results.append(point)
    return CheckReport(expression=to_text(F), claimed=f"{which.upper()} {to_text(product)}",
                       wrt=to_text(wrt), method=PRODUCT_METHOD.format(which=which.upper()),
                       dtype=np.dtype(dtype).name, rtol=rtol, atol=atol, points=results)
