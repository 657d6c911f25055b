r"""The group-lasso norm ``Σ_g ||x_g||_2``: the sum of the Euclidean norms of the blocks.

The blocks partition the entries of ``x``; they are given by an integer label per entry
(equal labels, one block), an array passed to kernels at run time, so one derivation
serves every partition. The labels are a symbol, :class:`GroupLabels`, and the norm is
an ordinary :class:`~symnorm.model.atoms.Norm` whose order is :class:`GroupOrder` (the labels
wrapped), so the engine, the kernel generator and the checks need no special case:

>>> import numpy as np
>>> import symnorm as sn
>>> x = sn.vector("x")
>>> G = group_labels("G")
>>> d = sn.grad(group_norm(x, G), x)
>>> print(sn.to_text(d.result))
group_normalize(x, G)
>>> d.kernel()(np.array([3.0, 1.0, 4.0, 0.0]), np.array([0, 1, 0, 2]))
array([0.6, 1. , 0.8, 0. ])

The dual norm is ``max_g ||y_g||_2``, not a p-norm, so the rule has no ``dual_order``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from ..model.atoms import Norm, VectorMap
from ..model.errors import ShapeError, UnsupportedExpressionError
from ..model.symbols import _as_dim
from ..numeric import convex as cn
from .constructors import norm
from .prox_maps import GroupShrink
from .registry import NORMS, NormRule, SubdiffRule, kink

__all__ = ["GROUP", "SAMPLE_ORDER", "GroupLabels", "GroupNormalize", "GroupOrder",
           "group_labels", "group_norm"]


class GroupLabels(sp.Symbol):
    """A symbol standing for an integer label array: the block of each entry of a vector.

    ``dim`` is the length of the labels (the dimension of the vector they partition).
    Not integer or positive itself, so it is never taken for a dimension. Random labels
    for checks come from :meth:`random_value`.
    """

    def __new__(cls, name: str, dim: object = None) -> "GroupLabels":
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"label symbol name must be an identifier, got {name!r}")
        obj = sp.Symbol.__xnew__(cls, name)
        obj.dim = _as_dim(dim, "n")
        return obj

    def __getnewargs_ex__(self) -> tuple:
        return (self.name, self.dim), {}

    def _hashable_content(self) -> tuple:
        return (*super()._hashable_content(), self.dim)

    def random_value(self, rng: np.random.Generator, sizes: dict) -> np.ndarray:
        """Random labels: ``dim`` integers in ``0..k-1`` for a random ``k`` in ``1..dim``.

        ``sizes`` maps dimension symbols to the sizes chosen for a check.
        """
        n = self.dim if self.dim.is_Integer else sizes.get(self.dim)
        if n is None:
            raise ShapeError(f"the length {self.dim} of the group labels {self.name} is not "
                             f"fixed by any argument")
        n = int(n)
        k = int(rng.integers(1, n + 1))
        return rng.integers(0, k, size=n)


def group_labels(name: str = "G", n: object = None) -> GroupLabels:
    """The group-label symbol ``name`` for vectors of dimension ``n`` (default ``n``).

    The labels say which block each entry of a vector belongs to (equal labels, one
    block) for :func:`group_norm`. They stay symbolic: a kernel takes them as an
    integer array argument at run time, so one derivation serves every partition.

    Parameters
    ----------
    name : str, optional
        The symbol's name, a Python identifier (default ``"G"``); the kernels' argument
        of that name takes the label array.
    n : int, str or sympy.Symbol, optional
        The length of the labels, the dimension of the vector they partition (default:
        the symbol ``n``).

    Returns
    -------
    GroupLabels
        A SymPy symbol with a ``dim`` attribute; neither integer nor positive, so it is
        never taken for a dimension.

    Raises
    ------
    ShapeError
        If ``n`` is not a positive integer or a name.
    ValueError
        If ``name`` is not a Python identifier.

    Examples
    --------
    >>> import numpy as np, symnorm as sn
    >>> G = sn.group_labels("G")
    >>> G, G.dim
    (G, n)
    >>> sn.group_labels("H", 3).dim
    3
    >>> G.is_integer, G.is_positive
    (None, None)
    >>> x = sn.vector("x")
    >>> k = sn.kernel(sn.group_norm(x, G), [x, G])
    >>> k(np.array([3.0, 4.0, 1.0]), np.array([0, 0, 1]))   # ||(3, 4)||_2 + ||(1)||_2
    array(6.)
    """
    return GroupLabels(name, n)


class GroupOrder(sp.Basic):
    r"""The "order" of the group-lasso norm: its labels, used as the ``p`` of a Norm.

    A plain ``Basic`` (not a number, not a scalar expression), so no p-norm rule
    claims it. Kernels get the label array in its place.

    >>> import symnorm as sn
    >>> n = sn.norm(sn.vector("x"), GroupOrder(group_labels("G")))
    >>> print(sn.to_text(n)); print(sn.latex(n))
    norm(x, group(G))
    \sum_{g} \left\lVert x_{g} \right\rVert_{2}
    """

    def __new__(cls, labels: object) -> "GroupOrder":
        if isinstance(labels, str):
            labels = group_labels(labels)
        if not isinstance(labels, GroupLabels):
            raise TypeError(f"GroupOrder needs group labels (group_labels('G')), got "
                            f"{labels!r}")
        return sp.Basic.__new__(cls, labels)

    @property
    def labels(self) -> GroupLabels:
        return self.args[0]

    def kernel_code(self, parts: list[str]) -> str:
        return parts[0]

    def numeric(self, values: dict) -> np.ndarray:
        """The label array among numeric argument ``values`` (by name)."""
        return np.asarray(values[self.labels.name])

    def _sympystr(self, printer: Any) -> str:
        return f"group({printer._print(self.labels)})"

    def _latex(self, printer: Any) -> str:
        return printer._print(self.labels)


def group_norm(x: MatrixExpr, G: object = "G") -> Norm:
    r"""``Σ_g ||x_g||_2`` over the blocks of ``x`` given by the labels ``G``.

    The group-lasso norm: the sum of the Euclidean norms of the blocks, which
    partition the entries of ``x``. It is an ordinary :class:`~symnorm.Norm` whose
    order holds the labels, so :func:`~symnorm.grad`, :func:`~symnorm.prox`,
    :func:`~symnorm.subdiff` and kernels handle it like any other norm; its dual is
    ``max_g ||y_g||_2``.

    Parameters
    ----------
    x : sympy.MatrixExpr
        A column vector expression.
    G : GroupLabels or str, optional
        The labels: a :func:`group_labels` symbol of ``x``'s dimension, or a name
        (default ``"G"``) for labels of that dimension.

    Returns
    -------
    Norm
        ``norm(x, group(G))``, printed as ``\sum_{g} \lVert x_{g} \rVert_{2}`` in LaTeX.

    Raises
    ------
    ShapeError
        If ``x`` is not a column vector expression, or the labels' length differs from
        its dimension.
    TypeError
        If ``G`` is neither group labels nor a name.

    Examples
    --------
    >>> import numpy as np, symnorm as sn
    >>> x = sn.vector("x")
    >>> G = sn.group_labels("G")
    >>> sn.group_norm(x, G)
    norm(x, group(G))
    >>> sn.group_norm(sn.vector("y", 3), "H").p.labels.dim
    3
    >>> print(sn.latex(sn.group_norm(x, G)))
    \sum_{g} \left\lVert x_{g} \right\rVert_{2}
    >>> d = sn.grad(sn.group_norm(x, G), x)
    >>> print(sn.to_text(d.result))
    group_normalize(x, G)
    >>> d.kernel()(np.array([3.0, 1.0, 4.0, 0.0]), np.array([0, 1, 0, 2]))
    array([0.6, 1. , 0.8, 0. ])
    >>> sn.group_norm(x, sn.group_labels("G", 3))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symnorm.ShapeError: the labels G have length 3 but x has dimension n; make them with ...
    """

    if not isinstance(x, MatrixExpr) or x.shape[1] != 1:
        raise ShapeError(f"group_norm() takes a column vector expression, got {x!r}")
    if isinstance(G, str):
        G = group_labels(G, x.shape[0])
    if not isinstance(G, GroupLabels):
        raise TypeError(f"group_norm(): G must be group_labels(...) or a name, got {G!r}")
    if G.dim != x.shape[0]:
        raise ShapeError(f"the labels {G} have length {G.dim} but {x} has dimension "
                         f"{x.shape[0]}; make them with group_labels({G.name!r}, "
                         f"{x.shape[0]})")
    return norm(x, GroupOrder(G))


def _block(u: str, g: str = "g") -> str:
    """LaTeX of the block ``g`` of the vector whose LaTeX is ``u``."""
    return f"{u}_{{{g}}}" if len(u) == 1 else rf"\left({u}\right)_{{{g}}}"


class GroupNormalize(VectorMap):
    """``u_g/||u_g||_2`` on each block ``g`` of ``u``, 0 on zero blocks.

    The gradient of the group-lasso norm (the minimum-norm subgradient on zero blocks).
    """

    name = "group_normalize"
    helper = "group_normalize"

    def __new__(cls, u: MatrixExpr, labels: GroupLabels) -> "GroupNormalize":
        if not isinstance(u, MatrixExpr) or u.shape[1] != 1:
            raise ShapeError(f"group_normalize() takes a column vector, got {u!r}")
        return MatrixExpr.__new__(cls, u, labels)

    @property
    def arg(self) -> MatrixExpr:
        return self.args[0]

    @property
    def labels(self) -> GroupLabels:
        return self.args[1]

    def _entry(self, i: object, j: object, **kwargs: object) -> sp.Expr:
        raise UnsupportedExpressionError(
            f"group_normalize({self.arg}, {self.labels}) has no explicit components: the "
            f"blocks are only known when the labels are given to a kernel")

    def _latex(self, printer: Any) -> str:
        ug = _block(printer._print(self.arg))
        return (rf"\left( \frac{{{ug}}}{{\lVert {ug} \rVert_2}} \right)_{{g \in "
                rf"{printer._print(self.labels)}}}")


# -- the subdifferential: u_g/||u_g|| on nonzero blocks, the unit ball on zero blocks -------

def _blocks(labels: Any, n: int) -> list[np.ndarray]:
    lab = np.asarray(labels).reshape(-1)
    if lab.size != n:
        raise ValueError(f"group labels must give one label per entry ({n}), got "
                         f"{lab.size}")
    return [lab == k for k in np.unique(lab)]


def _group_point(u: np.ndarray, labels: Any) -> tuple[np.ndarray, list[np.ndarray]]:
    """u_g/||u_g|| on nonzero blocks, 0 elsewhere; and the masks of the zero blocks."""
    out = np.zeros(len(u), dtype=float)
    zero = []
    for b in _blocks(labels, len(u)):
        n = np.linalg.norm(u[b])
        if n > 0:
            out[b] = u[b] / n
        else:
            zero.append(b)
    return out, zero


def _group_contains(g: Any, u: Any, labels: Any, tol: float = 1e-9) -> bool:
    g, u = np.asarray(g, dtype=float), np.asarray(u, dtype=float)
    point, zero = _group_point(u, labels)
    free = np.zeros(len(u), dtype=bool)
    for b in zero:
        free |= b
        if np.linalg.norm(g[b]) > 1 + tol:
            return False
    return bool(np.linalg.norm((g - point)[~free]) <= tol)


def _group_project(s: Any, u: Any, labels: Any) -> np.ndarray:
    s, u = np.asarray(s, dtype=float), np.asarray(u, dtype=float)
    point, zero = _group_point(u, labels)
    for b in zero:
        point[b] = cn.project_l2_ball(s[b])
    return point


def _group_support_point(d: Any, u: Any, labels: Any) -> np.ndarray:
    d, u = np.asarray(d, dtype=float), np.asarray(u, dtype=float)
    point, zero = _group_point(u, labels)
    for b in zero:
        n = np.linalg.norm(d[b])
        point[b] = d[b] / n if n > 0 else 0.0
    return point


GROUP_SUBDIFF = SubdiffRule(
    latex=lambda u, p: (rf"\left\{{ s : s_{{g}} = \frac{{{_block(u)}}}{{\lVert {_block(u)} "
                        rf"\rVert_2}} \text{{ if }} {_block(u)} \neq 0,\ \lVert s_{{g}} "
                        rf"\rVert_2 \le 1 \text{{ if }} {_block(u)} = 0 \right\}}"),
    contains=_group_contains,
    project=_group_project,
    support=lambda d, u, p: float(_group_support_point(d, u, p) @ np.asarray(d, dtype=float)),
    support_point=_group_support_point,
    support_latex=lambda u, d, p: (
        rf"\sum_{{g : {_block(u)} \neq 0}} \frac{{{_block(u)}^\top {_block(d)}}}"
        rf"{{\lVert {_block(u)} \rVert_2}} + \sum_{{g : {_block(u)} = 0}} "
        rf"\lVert {_block(d)} \rVert_2"),
)


def prox_group(v: MatrixExpr, lam: sp.Expr, p: GroupOrder) -> MatrixExpr:
    """block soft thresholding on each group: max(1 - lam/||v_g||_2, 0) v_g

    >>> import symnorm as sn
    >>> print(sn.to_text(prox_group(sn.vector("v"), 2, GroupOrder("G"))))
    group_shrink(v, 2, G)
    """
    return GroupShrink(v, lam, p.labels)


def _sample_values(p: GroupOrder, n: int, rng: np.random.Generator) -> dict:
    """Kernel arguments a test needs besides the vector: random labels of length n."""
    return {p.labels.name: p.labels.random_value(rng, {p.labels.dim: n})}


def _reference(v: np.ndarray, values: dict, p: GroupOrder) -> float:
    """The norm from its definition (an independent reference for tests)."""
    lab = np.asarray(values[p.labels.name])
    return float(sum(np.sqrt(np.sum(v[lab == k] ** 2)) for k in np.unique(lab)))


SAMPLE_ORDER = GroupOrder(group_labels("G"))
"""The order the registry-parametrised tests use for this rule (see ``sample_orders``)."""

GROUP = NORMS.register(NormRule(
    key="group",
    title="group-lasso norm (sum of the L2 norms of the blocks)",
    description=("p = GroupOrder(G): sum over the blocks g given by integer labels G of "
                 "||x_g||_2; its dual is max_g ||y_g||_2"),
    matches=lambda p: isinstance(p, GroupOrder),
    gradient=lambda u, p: GroupNormalize(u, p.labels),
    kinks=lambda u, p: [kink("a block of ${u} is 0", _block("${u}") + r" = 0 \text{ for some } g",
                             "0 on those blocks, the minimum-norm subgradient",
                             returns_latex="$0$ on those blocks, the minimum-norm subgradient",
                             u=u)],
    numpy_value="norm_group",
    numpy_gradient="group_normalize",
    subdiff=GROUP_SUBDIFF,
    dual_order=None,
    prox=prox_group,
    sample_orders=(SAMPLE_ORDER,),
    extras={
        # LaTeX of the norm of the argument whose LaTeX is u (for the printer)
        "latex": lambda printer, u, p: rf"\sum_{{g}} \left\lVert {_block(u)} \right\rVert_{{2}}",
        # how prox() lists it among the supported forms
        "prox_form": "lam*group_norm(x, G)",
        # no explicit components: the blocks are known only at kernel time
        "explicit": False,
        # sample_values(p, n, rng) -> the other kernel arguments, by name
        "sample_values": _sample_values,
        # reference(v, values, p) -> the norm of v computed from the definition
        "reference": _reference,
    },
))
