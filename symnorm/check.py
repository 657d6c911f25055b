"""Finite-difference checks of derivatives, in the style of ``jax.test_util.check_grads``.

For a random unit direction ``d`` the directional derivative ``(f(x+hd) - f(x-hd))/2h``
(refined by one Richardson step) is compared with ``<g(x), d>``; for a Hessian, the
same difference of the gradient is compared with ``H d``. The cost is a few evaluations
per direction, whatever the dimension. Tolerances come from a per-dtype table.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol

from .atoms import Norm
from .errors import CheckFailedError, ShapeError
from .kernel import _is_dim, free_arguments, kernel
from .printing import to_text

# relative and absolute tolerance per dtype (central differences + Richardson)
TOLERANCES: dict[type, tuple[float, float]] = {
    np.float64: (1e-6, 1e-8),
    np.float32: (3e-2, 1e-3),
}

METHOD = ("central differences along random unit directions, one Richardson "
          "extrapolation step, step h = eps^(1/3) * max(1, |x|_inf)")


@dataclass
class DirectionResult:
    direction: np.ndarray
    finite_difference: Any
    claimed: Any
    error: float
    tolerance: float
    test: str = "directional derivative"
    left_label: str = "finite difference"
    right_label: str = "claimed"

    @property
    def ok(self) -> bool:
        return bool(np.isfinite(self.error) and self.error <= self.tolerance)


@dataclass
class PointResult:
    """The check at one point: the argument values and the result per direction."""

    values: dict[str, Any]
    directions: list[DirectionResult] = field(default_factory=list)
    problem: str = ""
    mode: str = "differentiable"    # or "kink": checked as a subgradient

    @property
    def ok(self) -> bool:
        return not self.problem and all(d.ok for d in self.directions)

    @property
    def max_error(self) -> float:
        return max((d.error for d in self.directions), default=float("nan"))


@dataclass
class CheckReport:
    """Result of :func:`check`: ``ok``, errors per point, the method used."""

    expression: str
    claimed: str
    wrt: str
    method: str
    dtype: str
    rtol: float
    atol: float
    points: list[PointResult]

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.points)

    def __bool__(self) -> bool:
        return self.ok

    @property
    def errors(self) -> list[float]:
        """Largest error at each point."""
        return [p.max_error for p in self.points]

    @property
    def worst(self) -> PointResult:
        failing = [p for p in self.points if not p.ok]
        if failing:
            return failing[0]
        return max(self.points, key=lambda p: p.max_error)

    def summary(self) -> str:
        verdict = "PASS" if self.ok else "FAIL"
        lines = [f"{verdict}: derivative {self.claimed} of {self.expression} "
                 f"with respect to {self.wrt}",
                 f"  {len(self.points)} point(s), {self.dtype}, rtol={self.rtol:g}, "
                 f"atol={self.atol:g}; method: {self.method}"]
        for i, p in enumerate(self.points):
            state = "ok" if p.ok else "FAILED"
            detail = p.problem or f"max error {p.max_error:.3g}"
            if p.mode == "kink":
                detail += " (a kink: checked as a subgradient)"
            lines.append(f"  point {i}: {state}, {detail}")
            if not p.ok:
                for name, v in p.values.items():
                    lines.append(f"    {name} = {np.array2string(np.asarray(v), precision=6)}")
                bad = [d for d in p.directions if not d.ok][:1]
                for d in bad:
                    lines.append(f"    {d.test} fails along d = "
                                 f"{np.array2string(d.direction, precision=4)}: "
                                 f"{d.left_label} {_fmt(d.finite_difference)}, {d.right_label} "
                                 f"{_fmt(d.claimed)}, error {d.error:.3g} > "
                                 f"tolerance {d.tolerance:.3g}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        title = (f"{html.escape(self.claimed)} = &nabla;<sub>{html.escape(self.wrt)}</sub> "
                 f"{html.escape(self.expression)}")
        note = f"{self.method}; {self.dtype}, rtol={self.rtol:g}, atol={self.atol:g}"
        return verdict_html(self.ok, title, note, "max error",
                            [(p.ok, p.problem or f"{p.max_error:.3g}") for p in self.points])

    def to_dict(self) -> dict:
        return {"ok": self.ok, "method": self.method, "dtype": self.dtype,
                "rtol": self.rtol, "atol": self.atol, "errors": self.errors,
                "points": [{"ok": p.ok, "max_error": p.max_error, "problem": p.problem}
                           for p in self.points]}


def verdict_html(ok: bool, title_html: str, note: str, measure: str,
                 rows: list[tuple[bool, str]]) -> str:
    """A PASS/FAIL heading and one table row per point (shared by the check reports)."""
    colour = "#1a7f37" if ok else "#cf222e"
    body = "".join(f"<tr><td>{i}</td><td>{'ok' if good else 'FAILED'}</td>"
                   f"<td>{html.escape(detail)}</td></tr>" for i, (good, detail) in enumerate(rows))
    return (f"<div><b style='color:{colour}'>{'PASS' if ok else 'FAIL'}</b> {title_html}"
            f"<br><small>{html.escape(note)}</small><table><tr><th>point</th>"
            f"<th>verdict</th><th>{html.escape(measure)}</th></tr>{body}</table></div>")


def _fmt(v: Any) -> str:
    a = np.asarray(v)
    return f"{float(a):.6g}" if a.ndim == 0 else np.array2string(a, precision=6)


def _dims(args: list) -> set:
    dims = set()
    for a in args:
        if isinstance(a, MatrixSymbol):
            dims |= {d for d in a.shape if _is_dim(d)}
    return dims


def _p_bounds(expr: Any) -> dict:
    """Symbolic norm orders and the lower bound assumed for each."""
    found = {}
    for n in (expr.atoms(Norm) if isinstance(expr, sp.Basic) else []):
        if isinstance(n.p, sp.Symbol):
            found[n.p] = float(n.p_min)
    return found


def random_values(args: list, rng: np.random.Generator, dtype: Any, expr: Any,
                  fixed: dict | None = None) -> dict[str, Any]:
    """Random argument values: integer sizes 2..5, normal arrays, positive scalars."""
    fixed = dict(fixed or {})
    sizes: dict = {}
    for a in args:  # sizes implied by given arrays
        if isinstance(a, MatrixSymbol) and a.name in fixed:
            shape = np.shape(fixed[a.name])
            dims = a.shape if a.shape[1] != 1 else (a.shape[0],)
            for d, s in zip(dims, shape[-len(dims):] if dims else ()):
                if _is_dim(d):
                    sizes.setdefault(d, s)
    for d in sorted(_dims(args), key=str):
        sizes.setdefault(d, int(rng.integers(2, 6)))
    orders = _p_bounds(expr)
    values: dict[str, Any] = {}
    for a in args:
        if a.name in fixed:
            values[a.name] = np.asarray(fixed[a.name], dtype=dtype)
            want = 0 if not isinstance(a, MatrixSymbol) else (1 if 1 in a.shape else 2)
            if values[a.name].ndim != want:
                raise ShapeError(f"the value given for {a.name} must have {want} "
                                 f"dimension(s) (one point, no batch); got shape "
                                 f"{values[a.name].shape}")
            continue
        if hasattr(a, "random_value"):  # symbols that know their own kind (group labels)
            values[a.name] = a.random_value(rng, sizes)
        elif isinstance(a, MatrixSymbol):
            shape = tuple(int(sizes.get(d, d)) for d in a.shape)
            if shape[1] == 1:
                shape = shape[:1]
            values[a.name] = rng.standard_normal(shape).astype(dtype)
        elif a in orders:
            lo = max(orders[a], 1.1) if orders[a] >= 1 else max(orders[a], 0.3)
            values[a.name] = dtype(rng.uniform(lo, lo + 2.5))
        else:
            values[a.name] = dtype(rng.uniform(0.5, 2.0))
    return values


def _directional_check(value_fn: Any, deriv_fn: Any, values: dict, wrt_name: str,
                       rng: np.random.Generator, directions: int, dtype: Any,
                       rtol: float, atol: float, hessian: bool) -> PointResult:
    point = PointResult(values=values)
    x = np.asarray(values[wrt_name], dtype=dtype)
    try:
        f0 = np.asarray(value_fn(values))
        g = np.asarray(deriv_fn(values))
    except Exception as exc:  # a kernel failing is a check failure, reported
        point.problem = f"evaluation failed: {type(exc).__name__}: {exc}"
        return point
    if not (np.all(np.isfinite(f0)) and np.all(np.isfinite(g))):
        point.problem = "value or derivative is not finite here"
        return point
    eps = float(np.finfo(dtype).eps)
    h = eps ** (1 / 3) * max(1.0, float(np.max(np.abs(x))) if x.size else 1.0)
    for _ in range(directions):
        d = rng.standard_normal(x.shape).astype(dtype)
        d /= np.linalg.norm(d) or 1

        def diff(step: float) -> Any:
            plus = dict(values, **{wrt_name: (x + step * d).astype(dtype)})
            minus = dict(values, **{wrt_name: (x - step * d).astype(dtype)})
            return (np.asarray(value_fn(plus), dtype=np.float64)
                    - np.asarray(value_fn(minus), dtype=np.float64)) / (2 * step)

        fd = (4 * diff(h / 2) - diff(h)) / 3
        kink = _one_sided_gap(value_fn, values, wrt_name, x, d, dtype, rtol, atol)
        if kink is not None:
            point.problem = (f"not differentiable here: one-sided derivatives along a random "
                             f"direction are {_fmt(kink[0])} and {_fmt(kink[1])} (a kink); "
                             f"a gradient check means nothing at this point")
            return point
        if hessian:
            claimed = np.tensordot(g, d, axes=(list(range(-x.ndim, 0)),
                                               list(range(x.ndim))))
        else:
            claimed = np.sum(g * d)
        err = float(np.max(np.abs(fd - claimed))) if np.size(fd) else 0.0
        scale = max(float(np.max(np.abs(claimed))) if np.size(claimed) else 0.0,
                    float(np.max(np.abs(f0))) if np.size(f0) else 0.0, 1e-300)
        point.directions.append(DirectionResult(d, fd, claimed, err, atol + rtol * scale))
    return point


def _one_sided_gap(value_fn: Any, values: dict, wrt_name: str, x: np.ndarray,
                   d: np.ndarray, dtype: Any, rtol: float, atol: float) -> tuple | None:
    """Forward and backward derivatives if they differ by a jump that does not shrink
    with the step (a kink), else None. Smooth functions give a gap proportional to h."""
    f0 = np.asarray(value_fn(values), dtype=np.float64)

    def one_sided(step: float) -> tuple[Any, Any]:
        plus = dict(values, **{wrt_name: (x + step * d).astype(dtype)})
        minus = dict(values, **{wrt_name: (x - step * d).astype(dtype)})
        fwd = (np.asarray(value_fn(plus), dtype=np.float64) - f0) / step
        bwd = (f0 - np.asarray(value_fn(minus), dtype=np.float64)) / step
        return fwd, bwd

    eps = float(np.finfo(dtype).eps)
    h = np.sqrt(eps) * 64 * max(1.0, float(np.max(np.abs(x))) if x.size else 1.0)
    fwd, bwd = one_sided(h)
    gap = float(np.max(np.abs(fwd - bwd)))
    scale = max(float(np.max(np.abs(fwd))), float(np.max(np.abs(bwd))), 1.0)
    if gap <= 1e3 * (atol + rtol * scale):
        return None
    fwd2, bwd2 = one_sided(h / 4)
    gap2 = float(np.max(np.abs(fwd2 - bwd2)))
    if gap2 > 0.5 * gap:  # did not shrink with the step: a jump in the derivative
        return fwd2, bwd2
    return None


def run_check(f: Any, wrt: Any, claimed: Any, *, hessian: bool = False, at: Any = None,
              points: int = 3, directions: int = 3, dtype: Any = np.float64,
              seed: int | None = 0, value: Any = None, fusions: dict | None = None,
              value_fusions: dict | None = None, subdifferential: Any = None) -> CheckReport:
    """Core of :func:`check`; ``value`` is the function whose derivative is ``claimed``.

    ``claimed`` is an expression, or an array: the claimed (sub)gradient at the one
    point ``at``. At a point where ``value`` has a kink the gradient comparison is
    replaced by the subgradient checks (see :func:`check`).
    """
    dtype = np.dtype(dtype).type
    if dtype not in TOLERANCES:
        raise ValueError(f"no tolerance for dtype {np.dtype(dtype).name}; known: "
                         f"{', '.join(np.dtype(t).name for t in TOLERANCES)}")
    rtol, atol = TOLERANCES[dtype]
    value = f if value is None else value
    args = free_arguments(value, first=wrt)
    vk = kernel(value, args, fusions=value_fusions)
    if isinstance(claimed, sp.Basic):
        extra = [s for s in free_arguments(claimed) if s not in args]
        if extra:
            raise ShapeError(f"the claimed derivative {to_text(claimed)} uses "
                             f"{', '.join(map(str, extra))}, which {to_text(f)} does not")
        gk = kernel(claimed, args, fusions=fusions)
        claimed_fn, claimed_text = (lambda v: gk(**v)), to_text(claimed)
    else:
        fixed_value = np.asarray(claimed, dtype=float)
        if at is None:
            raise ShapeError("a numeric claimed gradient needs the point it belongs to: at=")
        claimed_fn = lambda v: fixed_value  # noqa: E731
        claimed_text = np.array2string(fixed_value, precision=6)
    rng = np.random.default_rng(seed)
    fixed_list = _fixed_points(at, wrt)
    results = []
    count = len(fixed_list) if fixed_list else points
    methods: set[str] = set()
    for i in range(count):
        fixed = fixed_list[i] if fixed_list else None
        values = random_values(args, rng, dtype, value, fixed)
        if not hessian and _has_kink(lambda v: vk(**v), values, wrt.name, rng, dtype,
                                     rtol, atol):
            methods.add(KINK_METHOD)
            results.append(_kink_check(lambda v: vk(**v), claimed_fn, values, wrt.name, rng,
                                       directions, dtype, rtol, atol, subdifferential, f))
            continue
        methods.add(METHOD)
        results.append(_directional_check(
            lambda v: vk(**v), claimed_fn, values, wrt.name, rng, directions,
            dtype, rtol, atol, hessian))
    return CheckReport(expression=to_text(f), claimed=claimed_text, wrt=to_text(wrt),
                       method="; ".join(sorted(methods)), dtype=np.dtype(dtype).name,
                       rtol=rtol, atol=atol, points=results)


KINK_METHOD = ("at a kink: one-sided differences (one Richardson step) against <g, d> "
               "and the support function, and the subgradient inequality at nearby and far "
               "points")


def _has_kink(value_fn: Any, values: dict, wrt_name: str, rng: np.random.Generator,
              dtype: Any, rtol: float, atol: float, tries: int = 3) -> bool:
    x = np.asarray(values[wrt_name], dtype=dtype)
    for _ in range(tries):
        d = rng.standard_normal(x.shape).astype(dtype)
        d /= np.linalg.norm(d) or 1
        if _one_sided_gap(value_fn, values, wrt_name, x, d, dtype, rtol, atol) is not None:
            return True
    return False


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


def _kink_check(value_fn: Any, claimed_fn: Any, values: dict, wrt_name: str,
                rng: np.random.Generator, directions: int, dtype: Any, rtol: float,
                atol: float, subdifferential: Any, f: Any) -> PointResult:
    """Subgradient checks at a kink: <g, d> <= f'(x; d) for every d, the subgradient
    inequality f(y) >= f(x) + <g, y - x>, and (when the set is known) its support
    function against one-sided differences."""
    point = PointResult(values=values, mode="kink")
    x = np.asarray(values[wrt_name], dtype=np.float64)
    try:
        g = np.asarray(claimed_fn(values), dtype=np.float64).reshape(x.shape)
    except Exception as exc:
        point.problem = f"evaluation failed: {type(exc).__name__}: {exc}"
        return point
    if not np.all(np.isfinite(g)):
        point.problem = "the claimed subgradient is not finite here"
        return point
    f0 = float(value_fn(values))
    tol_fd = 1e2 * (atol + rtol * max(1.0, abs(f0)))
    eye = np.eye(x.size)
    special = [sign * eye[i] for i in range(min(x.size, 8)) for sign in (1, -1)]
    if np.any(x):
        special += [x, -x]  # along the point itself: where homogeneous functions are tight
    for d in special + [rng.standard_normal(x.shape) for _ in range(directions)]:
        d = d / (np.linalg.norm(d) or 1)
        fd = one_sided_derivative(value_fn, values, wrt_name, d, dtype)
        gd = float(g @ d)
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
            d = rng.standard_normal(x.shape)
            y = x + radius * d / (np.linalg.norm(d) or 1)
            fy = float(value_fn(dict(values, **{wrt_name: y.astype(dtype)})))
            bound = f0 + float(g @ (y - x))
            tol = 1e2 * (atol + rtol * max(1.0, abs(fy), abs(bound)))
            point.directions.append(DirectionResult(y - x, fy, bound, max(0.0, bound - fy),
                                                    tol, "f(y) >= f(x) + <g, y - x>",
                                                    "f(y)", "f(x) + <g, y - x>"))
    return point


def _fixed_points(at: Any, wrt: Any) -> list[dict]:
    if at is None:
        return []
    if isinstance(at, dict):
        return [{(k.name if hasattr(k, "name") else str(k)): v for k, v in at.items()}]
    if isinstance(at, list) and at and isinstance(at[0], dict):
        return [_fixed_points(a, wrt)[0] for a in at]
    return [{wrt.name: at}]


def check(f: Any, wrt: Any, grad: Any = None, at: Any = None, *, subdiff: Any = None,
          **options: Any) -> CheckReport:
    """Check a gradient (derived, or the one you supply) against finite differences.

    ``at`` is a value for ``wrt``, a dict of values by name, or a list of such dicts;
    anything not given is drawn at random (sizes 2..5). Options: ``points``,
    ``directions``, ``dtype`` (float64 or float32), ``seed``. ``grad`` may also be an
    array: the claimed (sub)gradient at the single point ``at``.

    At a kink (one-sided derivatives that differ) a claimed gradient is checked as a
    subgradient: ``<g, d> <= f'(x; d)`` for one-sided differences along coordinate and
    random directions, and ``f(y) >= f(x) + <g, y - x>`` at nearby and far points
    (``f`` convex). With ``subdiff=`` (a :class:`~symnorm.subdiff.Subdifferential`) its
    support function is also compared with ``f'(x; d)``.

    >>> import symnorm as sn
    >>> x = sn.vector("x")
    >>> sn.check(sn.norm(x, 2)**2, x, grad=2*x).ok
    True
    >>> sn.check(sn.norm(x, 2)**2, x, grad=x).ok
    False
    """
    from .engine import as_scalar, derive_gradient

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


def check_derivation(deriv: Any, **options: Any) -> CheckReport:
    """Check a :class:`Derivation` (gradient or Hessian) numerically."""
    if deriv.kind == "hessian":
        first = deriv.gradient  # the gradient the Hessian was derived from
        return run_check(deriv.f, deriv.wrt, deriv.result, hessian=True,
                         value=first.result, value_fusions=first.fusions, **options)
    return run_check(deriv.f, deriv.wrt, deriv.result, fusions=deriv.fusions, **options)


def ensure(deriv: Any, **options: Any) -> Any:
    """Run the default check on a derivation; raise naming expression and point if it fails."""
    report = check_derivation(deriv, **options)
    deriv.report = report
    if not report.ok:
        raise CheckFailedError(
            f"the derived {deriv.kind} of {to_text(deriv.f)} disagrees with finite "
            f"differences:\n{report.summary()}", report)
    return deriv
