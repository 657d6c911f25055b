"""Numpy helpers for matrix norms, called by generated kernels (as ``_nm.<name>``).

A matrix is an array whose last two axes are the matrix axes; leading axes are a batch.
Every gradient helper returns the minimum-norm subgradient at a kink, never NaN:

* Frobenius at 0: 0;
* nuclear at rank r < min(m, n): ``U_r V_r^T`` (the singular vectors of the nonzero
  singular values only);
* spectral when the top singular value has multiplicity k: ``U_k V_k^T / k``; 0 at 0;
* induced 1 / oo norms when columns / rows tie: the tied columns (rows) weighted so the
  result has least Frobenius norm, ``sign(X)`` on column j times ``w_j`` with
  ``w_j ∝ 1/nnz_j`` and ``Σ w_j = 1`` (an even split when the tied columns have the same
  number of nonzeros, as they generically do); 0 at 0;
* mixed L_{p,q} norms: the vector rules' minimum-norm choices column by column.

Singular values count as equal (a tie, or zero) when they differ by at most
:func:`sv_tolerance`, ``max(m, n) * eps * s_1`` (``s_1`` the largest singular value of
that m x n matrix; the threshold ``numpy.linalg.matrix_rank`` uses): a backward stable
SVD computes them to an absolute accuracy of a few ``eps * s_1``, so exact ties in the
input (``X = I``) that come out a few ulps apart are still recognised, and any larger
gap is a real one (``s = (1, 0.5, 1e-12)`` has rank 3). Column (row) sums of the
induced norms tie when they differ by at most the rounding error bound of the sums
(see :func:`induced1_grad`). A matrix whose largest singular value would overflow or
come near underflow, or whose column sums overflow, is first scaled by a power of two,
so the gradients are right there and a value is inf only where the true value overflows.

Non-finite input (as for the vector helpers in :mod:`symnorm.numeric`; no numpy
RuntimeWarning escapes): a NaN reaches every result entry that depends on it. A matrix
holding a NaN has NaN norms, and NaN in every entry of its Frobenius, induced and
SVD-based gradients and prox maps; column by column maps (mixed L_{p,1} norms, column
shrinkage) give NaN in its column. A matrix holding ±inf (no NaN) has norm inf; the Frobenius
gradient is the L2 limit direction (``sign`` on the infinite entries, normalised), the
induced-1 (oo) gradient ties the columns (rows) whose sums are infinite, the mixed
norms compose the vector rules; the SVD-based gradients and prox maps (nuclear,
spectral, singular value thresholding, the nuclear-ball projection) are NaN, since
their limit depends on how the entries grow. Frobenius and column shrinkage keep
infinite entries infinite.
"""

from __future__ import annotations

import math

import numpy as np

from .lp import normp, normp_grad
from .prox import _nonnegative
from .vectors import _float, norm1_grad, norm2, norm2_grad, norminf_grad, sdiv

Array = np.ndarray

__all__ = [
    "sv_tolerance", "DifferenceOperator", "difference_matrix", "induced1",
    "induced1_grad", "inducedinf", "inducedinf_grad", "mat_col_shrink", "mat_fro", "mat_fro_grad",
    "mat_fro_shrink", "mat_nuc", "mat_nuc_grad", "mat_proj_nuc_ball", "mat_spectral",
    "mat_spectral_grad", "mat_svt", "mixed", "mixed_grad", "trace",
]


def _flat(u: Array) -> Array:
    return u.reshape(*u.shape[:-2], u.shape[-2] * u.shape[-1])  # no -1: the batch may be empty


def _matrix(u: object) -> Array:
    a = _float(u)
    if a.ndim < 2:
        raise ValueError(f"a matrix argument needs at least 2 axes, got shape {a.shape}")
    return a


def _finish(value: Array, out: Array | None) -> Array:
    if out is None:
        return value
    np.copyto(out, value)
    return out


# -- Frobenius -------------------------------------------------------------------------------

def mat_fro(u: object, p: object = None) -> Array:
    """``‖X‖_F``, safe against overflow and underflow (the L2 helper on the entries).

    >>> float(mat_fro([[3.0, 0.0], [0.0, 4.0]]))
    5.0
    """
    return norm2(_flat(_matrix(u)))


def mat_fro_grad(u: object, p: object = None, out: Array | None = None) -> Array:
    """``X/‖X‖_F``; 0 at ``X = 0`` (the minimum-norm subgradient)."""
    a = _matrix(u)
    return _finish(norm2_grad(_flat(a)).reshape(a.shape), out)


# -- singular values -------------------------------------------------------------------------

def _finite(a: Array) -> tuple[Array, Array]:
    """``a`` with every matrix that holds a NaN or inf replaced by 0, and where they were:
    LAPACK does not converge on them, and their results are NaN like the vector norms'."""
    bad = ~np.isfinite(a).all(axis=(-2, -1))
    return (np.where(bad[..., None, None], 0.0, a) if bad.any() else a), bad


_CONSTANTS: dict = {}


def _constants(dtype: np.dtype) -> tuple[float, float, float]:
    """(eps, largest float, smallest s_1 whose tolerance is a normal float) per dtype."""
    if dtype not in _CONSTANTS:
        info = np.finfo(dtype)
        _CONSTANTS[dtype] = (float(info.eps), float(info.max), float(info.tiny / info.eps))
    return _CONSTANTS[dtype]


def _eps(dtype: np.dtype) -> float:
    return _constants(dtype)[0]


def sv_tolerance(s: object, shape: tuple[int, ...]) -> Array:
    """``max(m, n) * eps * s_1`` for the singular values ``s`` (largest first, last axis)
    of an m x n matrix: singular values closer than this to each other are a tie, closer
    to 0 are 0. The SVD's error bound, as in ``numpy.linalg.matrix_rank``; keeps the
    trailing axis (one per matrix).

    >>> tol = sv_tolerance([2.0, 1.0, 1e-12], (3, 2))
    >>> tol, bool(tol[0] == 3 * np.finfo(np.float64).eps * 2.0)
    (array([1.33226763e-15]), True)
    """
    s = np.asarray(s)
    m, n = shape[-2:]
    return (max(m, n) * _eps(s.dtype)) * s[..., :1]


def _svd(a: Array, compute_uv: bool = True
         ) -> tuple[Array | None, Array, Array | None, Array | int]:
    """``(U, s, V^T, e)`` with the singular values ``s * 2**e`` (``e`` per matrix, or
    the int 0 when no matrix was rescaled).

    The SVD of ``a`` itself (``e = 0``) first. A finite matrix whose largest singular
    value came out inf (it overflows, ``[[1.797e308, 1e308], [-1e308, 1.797e308]]``), or
    is so small that ``sv_tolerance`` would underflow, is redone from its entries scaled
    by a power of two (exact) so that the largest is in [0.5, 1): then ``s_1`` is in
    [0.5, sqrt(mn)], and U, V, the rank and the ties are right. A matrix holding a NaN or
    inf: NaN throughout (LAPACK does not converge on them).
    """
    a, bad = _finite(a)
    if compute_uv:
        uu, s, vt = np.linalg.svd(a, full_matrices=False)
    else:
        uu, vt = None, None
        s = np.linalg.svd(a, compute_uv=False)
    e: Array | int = 0  # an array only when some matrix was rescaled
    if s.shape[-1]:
        _, high, low = _constants(s.dtype)
        top = s[..., 0]
        if top.ndim:  # (an empty batch is fine)
            fine = top.size == 0 or (low <= top.min() and top.max() <= high)
        else:
            fine = low <= float(top) <= high
        redo = None if fine else \
            ~((top <= high) & ((top >= low) | (top == 0))) & ~bad
        if redo is not None and redo.any():  # rare: those matrices again, scaled
            batch = a.shape[:-2]
            at = np.unravel_index(np.flatnonzero(redo), batch) if batch else ...
            some = a[at] if batch else a[None]
            exps = np.frexp(np.max(np.abs(some), axis=(-2, -1)))[1]
            with np.errstate(under="ignore"):
                scaled = np.ldexp(some, -exps[:, None, None])
            if compute_uv:
                us, ss, vs = np.linalg.svd(scaled, full_matrices=False)
                uu[at], vt[at] = (us, vs) if batch else (us[0], vs[0])
            else:
                ss = np.linalg.svd(scaled, compute_uv=False)
            e = np.zeros(batch, dtype=np.int32)
            s[at], e[at] = (ss, exps) if batch else (ss[0], exps[0])
    if bad.any():
        s[bad] = np.nan
        if compute_uv:
            uu[bad], vt[bad] = np.nan, np.nan
    return uu, s, vt, e


def _unscale(x: Array, e: Array | int, matrices: bool = False) -> Array:
    """``x * 2**e`` with ``e`` from :func:`_svd` (per matrix: against per-matrix values
    ``x``, or against matrices when ``matrices``); ``x`` itself when nothing was scaled."""
    if not isinstance(e, np.ndarray):
        return x
    with np.errstate(over="ignore", under="ignore"):
        return np.ldexp(x, e[..., None, None] if matrices else e)


def _nonfinite_values(value: Array, a: Array) -> Array:
    """A norm's values with NaN for a matrix holding a NaN and inf for one holding ±inf."""
    if math.isfinite(float(value)) if np.ndim(value) == 0 else np.isfinite(value).all():
        return value
    nan = np.isnan(a).any(axis=(-2, -1))
    inf = np.isinf(a).any(axis=(-2, -1))
    return np.where(nan, np.nan, np.where(inf, np.inf, value))


def _singular_values(a: Array) -> tuple[Array, Array]:
    """``(s, e)``: the singular values ``s * 2**e``, largest first; NaN for a matrix with
    a NaN or inf."""
    _, s, _, e = _svd(a, compute_uv=False)
    return s, e


def mat_nuc(u: object, p: object = None) -> Array:
    """``‖X‖_* = Σ σ_i`` (nuclear norm).

    >>> float(mat_nuc([[3.0, 0.0], [0.0, -4.0]]))
    7.0
    """
    a = _matrix(u)
    s, e = _singular_values(a)
    return _nonfinite_values(_unscale(s.sum(axis=-1), e), a)


def mat_spectral(u: object, p: object = None) -> Array:
    """``‖X‖_2 = σ_1`` (spectral norm).

    >>> float(mat_spectral([[3.0, 0.0], [0.0, -4.0]]))
    4.0
    """
    a = _matrix(u)
    if 0 in a.shape[-2:]:
        return np.zeros(a.shape[:-2])
    s, e = _singular_values(a)
    return _nonfinite_values(_unscale(s[..., 0], e), a)


def _weighted_uv(uu: Array, w: Array, vt: Array) -> Array:
    """``U diag(w) V^T`` (batched)."""
    return np.matmul(uu * w[..., None, :], vt)


def mat_nuc_grad(u: object, p: object = None, out: Array | None = None) -> Array:
    """``U_r V_r^T`` over the singular values above :func:`sv_tolerance`: the gradient of
    the nuclear norm where X has full rank, the minimum-norm subgradient where it does
    not.

    >>> mat_nuc_grad([[2.0, 0.0], [0.0, 0.0]])
    array([[1., 0.],
           [0., 0.]])
    """
    a = _matrix(u)
    uu, s, vt, _ = _svd(a)
    top = s[..., :1]
    keep = (s > sv_tolerance(s, a.shape)) & (top > 0)
    return _finish(_weighted_uv(uu, keep.astype(a.dtype), vt), out)


def mat_spectral_grad(u: object, p: object = None, out: Array | None = None) -> Array:
    """``u_1 v_1^T``; ``U_k V_k^T / k`` when ``σ_1`` has multiplicity k (within
    :func:`sv_tolerance`), the minimum-norm subgradient; 0 at ``X = 0``.

    >>> mat_spectral_grad(np.eye(2))
    array([[0.5, 0. ],
           [0. , 0.5]])
    """
    a = _matrix(u)
    uu, s, vt, _ = _svd(a)
    top = s[..., :1]
    tied = (s >= top - sv_tolerance(s, a.shape)) & (top > 0)
    w = sdiv(tied.astype(a.dtype), np.sum(tied, axis=-1, keepdims=True).astype(a.dtype))
    return _finish(_weighted_uv(uu, w, vt), out)


# -- induced norms ---------------------------------------------------------------------------

def induced1(u: object, p: object = None) -> Array:
    """``max_j Σ_i |x_ij|``: the largest column sum (the norm induced by L1).

    >>> float(induced1([[1.0, -3.0], [2.0, 1.0]]))
    4.0
    """
    sums = np.sum(np.abs(_matrix(u)), axis=-2)
    # no columns: the largest of no sums is 0, as every norm of an empty matrix
    return np.max(sums, axis=-1, initial=0)


def _rescaled_sums(absa: Array, sums: Array) -> Array:
    """The column sums of ``absa`` (``|X|``), for the finite matrices among them whose sums
    overflowed from entries scaled by a power of two (exact), so they still compare
    right; the sums of matrices with inf or NaN entries as they are."""
    big = np.max(absa, axis=(-2, -1))
    over = np.isfinite(big) & ~np.isfinite(sums).all(axis=-1)
    if not over.any():
        return sums
    e = np.where(over, np.frexp(np.where(over, big, 1))[1], 0)
    with np.errstate(under="ignore"):
        scaled = np.sum(np.ldexp(absa, -e[..., None, None]), axis=-2)
    return np.where(over[..., None], scaled, sums)


def induced1_grad(u: object, p: object = None, out: Array | None = None) -> Array:
    """``sign(X)`` on the column(s) of largest absolute sum, 0 elsewhere; tied columns are
    weighted ``w_j ∝ 1/nnz_j`` (Σ w_j = 1), the minimum-norm subgradient; 0 at 0.

    Columns tie when their computed sums differ by at most ``(m - 1) eps top``: each sum
    of m terms ``|x_ij|`` is within ``(m - 1) eps/2`` (relative) of the exact one, in
    any order of summation (numpy sums pairwise or in order, the bound covers both), so
    columns with equal exact sums differ at most that much, as ``[0.1, 0.2, 0.3]`` and
    ``[0.3, 0.2, 0.1]`` do (by one ulp), while any larger gap is a real one: at
    ``[[1, 0], [0, 1 + 1e-12]]`` the second column alone is the maximum. Exact
    comparison would miss the first kind of tie; a fixed relative tolerance would
    invent ties like the second. Infinite sums tie with each other only; a NaN gives NaN.

    >>> induced1_grad([[1.0, -1.0], [1.0, 1.0]])
    array([[ 0.5, -0.5],
           [ 0.5,  0.5]])
    >>> induced1_grad([[1.0, 0.0], [0.0, 1.0 + 1e-12]])
    array([[0., 0.],
           [0., 1.]])
    """
    a = _matrix(u)
    absa = np.abs(a)
    with np.errstate(over="ignore"):  # overflowing sums: rescaled below
        sums = np.sum(absa, axis=-2)
    top = np.max(sums, axis=-1, keepdims=True, initial=0)
    finite = math.isfinite(top.item()) if top.size == 1 else bool(np.isfinite(top).all())
    if not finite:  # rare: sums that overflowed, inf or NaN entries
        sums = _rescaled_sums(absa, sums)
        top = np.max(sums, axis=-1, keepdims=True, initial=0)
    # (an infinite top: inf * (1 - rel) is inf, so infinite sums tie with each other only)
    tied = (sums >= top * (1 - max(a.shape[-2] - 1, 0) * _eps(a.dtype))) & (top > 0)
    nnz = np.count_nonzero(a, axis=-2).astype(a.dtype)
    inv = np.where(tied, sdiv(1.0, np.where(nnz > 0, nnz, 1.0)), 0.0)
    w = sdiv(inv, np.sum(inv, axis=-1, keepdims=True))
    if not finite:
        w = np.where(np.isnan(top), np.nan, w)  # a NaN reaches every entry
    return _finish(np.sign(a) * w[..., None, :], out)


def inducedinf(u: object, p: object = None) -> Array:
    """``max_i Σ_j |x_ij|``: the largest row sum (the norm induced by L∞).

    >>> float(inducedinf([[1.0, -3.0], [2.0, 1.0]]))
    4.0
    """
    return induced1(np.swapaxes(_matrix(u), -1, -2))


def inducedinf_grad(u: object, p: object = None, out: Array | None = None) -> Array:
    """The row analogue of :func:`induced1_grad` (ties weighted for least norm, 0 at 0)."""
    a = _matrix(u)
    return _finish(np.swapaxes(induced1_grad(np.swapaxes(a, -1, -2)), -1, -2), out)


# -- mixed L_{p,q}: the Lq norm of the column Lp norms ------------------------------------------

def _orders(p: object) -> tuple[float, float]:
    pq = np.asarray(p, dtype=float).reshape(-1)
    if pq.size != 2:
        raise ValueError(f"a mixed norm needs two orders (p, q), got {p!r}")
    return float(pq[0]), float(pq[1])


def _vnorm(a: Array, p: float) -> Array:
    if p == 2:
        return norm2(a)
    if p == np.inf:
        return np.max(np.abs(a), axis=-1) if a.shape[-1] else np.zeros(a.shape[:-1])
    if p == 1:
        return np.sum(np.abs(a), axis=-1)
    return normp(a, p)


def _vgrad(a: Array, p: float) -> Array:
    if p == 2:
        return norm2_grad(a)
    if p == np.inf:
        return norminf_grad(a)
    if p == 1:
        return norm1_grad(a)
    return normp_grad(a, p)


def mixed(u: object, p: object) -> Array:
    """``‖X‖_{p,q} = (Σ_j ‖x_j‖_p^q)^{1/q}`` over the columns ``x_j``; ``p = (p, q)``.

    >>> float(mixed([[3.0, 0.0], [4.0, 1.0]], (2, 1)))
    6.0
    """
    a = _matrix(u)
    pp, qq = _orders(p)
    cols = _vnorm(np.swapaxes(a, -1, -2), pp)
    return _vnorm(cols, qq)


def mixed_grad(u: object, p: object, out: Array | None = None) -> Array:
    """Column j: ``∂‖r‖_q/∂r_j · ∇‖x_j‖_p`` with ``r_j = ‖x_j‖_p``; each factor the vector
    rule's minimum-norm choice at its kinks (zero columns get 0).

    >>> mixed_grad([[3.0, 0.0], [4.0, 0.0]], (2, 1))
    array([[0.6, 0. ],
           [0.8, 0. ]])
    """
    a = _matrix(u)
    pp, qq = _orders(p)
    cols = np.swapaxes(a, -1, -2)
    r = _vnorm(cols, pp)
    outer = _vgrad(r, qq)
    inner = _vgrad(cols, pp)
    return _finish(np.swapaxes(inner * outer[..., None], -1, -2), out)


# -- proximal maps -------------------------------------------------------------------------------

def mat_svt(v: object, lam: object, out: Array | None = None) -> Array:
    """Singular value soft thresholding ``U max(Σ - lam, 0) V^T``: the prox of
    ``lam*‖·‖_*``.

    >>> mat_svt(np.diag([3.0, 0.5]), 1.0)
    array([[2., 0.],
           [0., 0.]])
    """
    a = _matrix(v)
    t = _nonnegative(lam, "the threshold")
    uu, s, vt, e = _svd(a)
    if isinstance(e, np.ndarray):  # singular values s 2**e: the threshold on that scale
        with np.errstate(under="ignore"):
            t = np.ldexp(t, -e)
    shrunk = np.maximum(s - (t[..., None] if t.ndim else t), 0.0)
    return _finish(_unscale(_weighted_uv(uu, shrunk, vt), e, matrices=True), out)


def _project_l1_ball_sorted(s: Array, radius: Array) -> Array:
    """Project nonnegative, descending ``s`` (last axis) onto the L1 ball of ``radius``."""
    r = radius[..., None] if radius.ndim else radius
    total = np.sum(s, axis=-1, keepdims=True)
    css = np.cumsum(s, axis=-1)
    k = np.arange(1, s.shape[-1] + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        theta_all = (css - r) / k
    ok = s - theta_all > 0
    idx = np.maximum(np.sum(ok, axis=-1, keepdims=True) - 1, 0)
    theta = np.take_along_axis(theta_all, idx, axis=-1)
    proj = np.maximum(s - theta, 0.0)
    return np.where(total <= r, s, proj)


def mat_proj_nuc_ball(v: object, radius: object, out: Array | None = None) -> Array:
    """Projection onto ``{X : ‖X‖_* <= radius}``: the singular values projected onto the
    L1 ball. ``V - proj`` is the prox of ``radius*‖·‖_2`` (Moreau).

    >>> mat_proj_nuc_ball(np.diag([3.0, 1.0]), 2.0)
    array([[2., 0.],
           [0., 0.]])
    """
    a = _matrix(v)
    t = _nonnegative(radius, "the threshold")
    uu, s, vt, e = _svd(a)
    with np.errstate(under="ignore", over="ignore"):
        # singular values s 2**e: the radius on that scale
        ts = np.ldexp(t, -e) if isinstance(e, np.ndarray) else t
        inside = _unscale(np.sum(s, axis=-1), e) <= t  # already in the ball: V itself
        proj = _unscale(_weighted_uv(uu, _project_l1_ball_sorted(s, ts), vt), e,
                        matrices=True)
    return _finish(np.where(inside[..., None, None], a, proj), out)


def mat_fro_shrink(v: object, lam: object, out: Array | None = None) -> Array:
    """``max(0, 1 - lam/‖V‖_F) V``: block soft thresholding, the prox of ``lam*‖·‖_F``.

    >>> mat_fro_shrink([[3.0, 0.0], [0.0, 4.0]], 2.5)
    array([[1.5, 0. ],
           [0. , 2. ]])
    """
    a = _matrix(v)
    t = _nonnegative(lam, "the threshold")
    n = mat_fro(a)
    factor = np.maximum(0.0, 1.0 - sdiv(t, n))
    factor = np.where(n > 0, factor, np.where(np.isnan(n), np.nan, 0.0))  # NaN: all NaN
    return _finish(a * np.asarray(factor)[..., None, None], out)


def mat_col_shrink(v: object, lam: object, out: Array | None = None) -> Array:
    """``max(0, 1 - lam/‖v_j‖_2) v_j`` column by column: the prox of ``lam*‖·‖_{2,1}``.

    >>> mat_col_shrink([[3.0, 0.1], [4.0, 0.0]], 1.0)
    array([[2.4, 0. ],
           [3.2, 0. ]])
    """
    a = _matrix(v)
    t = _nonnegative(lam, "the threshold")
    cols = norm2(np.swapaxes(a, -1, -2))
    tt = t[..., None] if t.ndim else t
    factor = np.where(cols > 0, np.maximum(0.0, 1.0 - sdiv(tt, cols)),
                      np.where(np.isnan(cols), np.nan, 0.0))  # NaN: its whole column
    return _finish(a * factor[..., None, :], out)


def trace(u: object) -> Array:
    """Trace over the last two axes (batched).

    >>> float(trace([[1.0, 2.0], [3.0, 4.0]]))
    5.0
    """
    return np.trace(_matrix(u), axis1=-2, axis2=-1)


class DifferenceOperator:
    """The ``order``-th forward difference over ``n`` points divided by ``h**order``, as an
    operator: ``D @ u`` is ``np.diff(u, order) / h**order`` (batched over leading axes) and
    the transpose applies the adjoint, so a kernel never forms the ``(n - order) x n``
    matrix. Anything else (a sum with ``I``, ``D.T @ D``) uses the dense matrix.
    """

    ndim = 2
    __array_priority__ = 100

    def __init__(self, n: int, order: int, h: float, transposed: bool = False) -> None:
        self.n, self.order, self.h, self.transposed = n, order, h, transposed

    @property
    def shape(self) -> tuple[int, int]:
        rows, cols = self.n - self.order, self.n
        return (cols, rows) if self.transposed else (rows, cols)

    @property
    def T(self) -> "DifferenceOperator":  # noqa: N802
        return DifferenceOperator(self.n, self.order, self.h, not self.transposed)

    def swapaxes(self, a: int, b: int) -> "DifferenceOperator":
        return self.T

    def apply(self, v: Array) -> Array:
        """``D v`` (or ``D^T v``) over the last axis of ``v``."""
        v = np.asarray(v, dtype=float)
        if v.shape[-1] != self.shape[1]:
            raise ValueError(f"difference operator of shape {self.shape} applied to a vector "
                             f"of length {v.shape[-1]}")
        scale = self.h ** self.order
        if not self.transposed:
            return np.diff(v, n=self.order, axis=-1) / scale
        pad = [(0, 0)] * (v.ndim - 1) + [(self.order, self.order)]
        return (-1) ** self.order * np.diff(np.pad(v, pad), n=self.order, axis=-1) / scale

    def __array__(self, dtype: object = None, copy: object = None) -> Array:
        d = np.eye(self.n)
        for _ in range(self.order):
            d = d[1:] - d[:-1]
        d = d / self.h ** self.order
        d = d.T if self.transposed else d
        return d.astype(dtype) if dtype is not None else d

    def __matmul__(self, v: object) -> Array:
        v = np.asarray(v)
        return self.apply(v) if v.ndim == 1 else np.asarray(self) @ v

    def __rmatmul__(self, v: object) -> Array:
        return np.asarray(v) @ np.asarray(self)

    def __array_ufunc__(self, ufunc: object, method: str, *inputs: object,
                        **kwargs: object) -> object:
        if ufunc is np.matmul and method == "__call__" and len(inputs) == 2 and \
                inputs[0] is self and not isinstance(inputs[1], DifferenceOperator) and \
                not kwargs:
            v = np.asarray(inputs[1])
            if v.ndim >= 2 and v.shape[-1] == 1:  # a batch of column vectors
                return self.apply(v[..., 0])[..., None]
        dense = [np.asarray(a) if isinstance(a, DifferenceOperator) else a for a in inputs]
        return getattr(ufunc, method)(*dense, **kwargs)


def difference_matrix(n: object, order: object, h: object) -> DifferenceOperator:
    """The ``order``-th forward difference over ``n`` points divided by ``h**order``
    (shape ``(n - order, n)``), as a :class:`DifferenceOperator`: the discrete derivative
    of grid values at spacing ``h``.

    >>> np.asarray(difference_matrix(3, 1, 0.5))
    array([[-2.,  2.,  0.],
           [ 0., -2.,  2.]])
    >>> difference_matrix(3, 1, 0.5) @ np.array([0.0, 1.0, 3.0])
    array([2., 4.])
    """
    n, j = int(n), int(order)
    step = np.asarray(h, dtype=float)
    if step.ndim:
        if np.unique(step).size != 1:
            raise ValueError("the grid spacing h must be one number for the whole batch")
        step = step.reshape(-1)[0]
    if not step > 0:
        raise ValueError(f"the grid spacing h must be positive, got {h!r}")
    return DifferenceOperator(n, j, float(step))
