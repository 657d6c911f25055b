"""Checks at kinks: a claimed subgradient against one-sided differences and the
subgradient inequality, and a subdifferential's support function against ``f'(x; d)``."""


from __future__ import annotations

from typing import Any

import numpy as np
from sympy.matrices.expressions import MatrixSymbol

from ..model.errors import CheckFailedError
from ..model.text import to_text
from .report import CheckReport, DirectionResult, PointResult
from .sampling import random_values

KINK_METHOD = ("at a kink: one-sided differences (one Richardson step) against <g, d> "
               "and the support function, and the subgradient inequality at nearby and far "
               "points")


def one_sided_derivative(value_fn: Any, values: dict, wrt_name: str, d: np.ndarray,
                         dtype: Any = np.float64, shrink: float = 1.0) -> float:
    """``f'(x; d)`` by forward differences with one Richardson step (error O(h^2) for a
    piece that is smooth; ``shrink`` divides the step, to see how the estimate moves)."""
    x = np.asarray(values[wrt_name], dtype=dtype)
    f0 = float(value_fn(values))
    h = float(np.finfo(dtype).eps) ** 0.5 * 16 * max(1.0, float(np.max(np.abs(x)))) / shrink

    def forward(step: float) -> float:
        moved = dict(values, **{wrt_name: (x + step * d).astype(dtype)})
        return (float(value_fn(moved)) - f0) / step

    return 2 * forward(h / 2) - forward(h)


def check_set(subdifferential: Any, value: Any, numeric_set: Any, kink_point: Any, *,
              points: int, directions: int, seed: int, method: str,
              errors: tuple = (ValueError, ArithmeticError)) -> CheckReport:
    """Check a subdifferential set against one-sided differences of ``f``.

    At ``points`` random points and as many kinks (``kink_point(x, i, rng)`` moves the
    variable onto one), the set's support function must equal ``f'(x; d)`` along random
    directions, and its minimum-norm element must be a member. ``value`` is the value
    kernel of ``f`` (positional in ``subdifferential.arguments`` order) and
    ``numeric_set(vals)`` the set at a point. Vector and matrix sets both use it.
    """
    rng = np.random.default_rng(seed)
    wrt = subdifferential.wrt.name
    names = [a.name for a in subdifferential.arguments]
    var = "X; D" if isinstance(subdifferential.wrt, MatrixSymbol) and \
        subdifferential.wrt.shape[1] != 1 else "x; d"

    def f_at(vals: dict) -> float:
        return float(value(*[vals[n] for n in names]))

    results = []
    for i in range(2 * points):
        vals = random_values(subdifferential.arguments, rng, np.float64, subdifferential.f)
        kink = i % 2 == 1
        if kink:
            vals[wrt] = kink_point(vals[wrt], i // 2, rng)
        point = PointResult(values=vals, mode="kink" if kink else "differentiable")
        try:
            s = numeric_set(vals)
            if not s.contains(s.min_norm(), 1e-7):
                point.problem = "the minimum-norm element is not a member"
            for _ in range(directions):
                d = rng.standard_normal(vals[wrt].shape)
                fd = one_sided_derivative(f_at, vals, wrt, d)
                coarse = one_sided_derivative(f_at, vals, wrt, d, shrink=0.01)
                sigma = s.support(d)
                # |t|^p with 1 < p < 2 makes differences converge like h^(p-1) at a
                # zero entry: the spread between two steps bounds their own error
                tol = max(1e-6 * (1 + abs(fd)), 2 * abs(fd - coarse))
                point.directions.append(DirectionResult(
                    d, fd, sigma, abs(sigma - fd), tol, f"support function = f'({var})",
                    f"f'({var})", "support function"))
        except errors as exc:
            point.problem = f"evaluation failed: {type(exc).__name__}: {exc}"
        results.append(point)
    return CheckReport(expression=to_text(subdifferential.f), claimed=subdifferential.text(),
                       wrt=to_text(subdifferential.wrt), method=method, dtype="float64",
                       rtol=1e-6, atol=0.0, points=results)


def _kink_check(value_fn: Any, claimed_fn: Any, values: dict, wrt_name: str,
                rng: np.random.Generator, directions: int, dtype: Any, rtol: float,
                atol: float, subdifferential: Any, f: Any,
                tangent: Any = None) -> PointResult:
    """Subgradient checks at a kink: <g, d> <= f'(x; d) for every d, the subgradient
    inequality f(y) >= f(x) + <g, y - x>, and (when the set is known) its support
    function against one-sided differences.

    The variable may be a vector or a matrix: directions have its shape and ``<g, d>`` is
    the sum of the entrywise products. ``tangent(x, d)`` projects a direction onto what
    the variable's declared structure allows (a symmetric matrix moves symmetrically).
    """
    point = PointResult(values=values, mode="kink")
    x = np.asarray(values[wrt_name], dtype=np.float64)
    try:
        g = np.asarray(claimed_fn(values), dtype=np.float64)
    except Exception as exc:
        point.problem = f"evaluation failed: {type(exc).__name__}: {exc}"
        return point
    if g.size != x.size:
        point.problem = (f"the claimed subgradient has {g.size} entries, but the point has "
                         f"{x.size} (shape {x.shape})")
        return point
    g = g.reshape(x.shape)
    if not np.all(np.isfinite(g)):
        point.problem = "the claimed subgradient is not finite here"
        return point

    def along(d: np.ndarray) -> np.ndarray:
        if tangent is not None:
            d = tangent(x, d)
        return d / (np.linalg.norm(d) or 1)

    f0 = float(value_fn(values))
    tol_fd = 1e2 * (atol + rtol * max(1.0, abs(f0)))
    basis = np.eye(x.size)
    special = [sign * basis[i].reshape(x.shape) for i in range(min(x.size, 8))
               for sign in (1, -1)]
    if np.any(x):
        special += [x, -x]  # along the point itself: where homogeneous functions are tight
    for d in special + [rng.standard_normal(x.shape) for _ in range(directions)]:
        d = along(d)
        if not np.any(d):  # a coordinate direction the structure does not allow
            continue
        fd = one_sided_derivative(value_fn, values, wrt_name, d, dtype)
        gd = float(np.vdot(g, d))
        # a subgradient never exceeds the directional derivative
        point.directions.append(DirectionResult(d, fd, gd, max(0.0, gd - fd), tol_fd,
                                                "<g, d> <= f'(x; d)", "f'(x; d)", "<g, d>"))
        if subdifferential is not None:
            sigma = subdifferential.support(d, at=values)
            point.directions.append(DirectionResult(d, fd, sigma, abs(sigma - fd), tol_fd,
                                                    "support function = f'(x; d)",
                                                    "f'(x; d)", "support function"))
    for radius in (1e-3, 1e-1, 1.0, 10.0):
        for _ in range(max(1, directions)):
            d = along(rng.standard_normal(x.shape))
            y = x + radius * d
            fy = float(value_fn(dict(values, **{wrt_name: y.astype(dtype)})))
            bound = f0 + float(np.vdot(g, y - x))
            tol = 1e2 * (atol + rtol * max(1.0, abs(fy), abs(bound)))
            point.directions.append(DirectionResult(y - x, fy, bound, max(0.0, bound - fy),
                                                    tol, "f(y) >= f(x) + <g, y - x>",
                                                    "f(y)", "f(x) + <g, y - x>"))
    return point


def ensure_set(out: Any, f: Any, check: bool, check_options: dict) -> Any:
    """``out`` (a vector or matrix subdifferential) after its one-sided-difference check,
    whose report it keeps; a failed check raises CheckFailedError with the summary."""
    if check:
        report = out.check(**check_options)
        out.report = report
        if not report.ok:
            raise CheckFailedError(f"the subdifferential of {to_text(f)} disagrees with "
                                   f"one-sided differences:\n{report.summary()}", report)
    return out
