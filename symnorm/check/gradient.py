"""Finite-difference checks of derivatives, in the style of ``jax.test_util.check_grads``.

For a random unit direction ``t`` the directional derivative ``(f(x+ht) - f(x-ht))/2h``
(refined by one Richardson step) is compared with ``<g(x), t>``; for a Hessian, the
identity ``<t, H^T c> = <H t, c>`` is tested with a second random unit vector ``c``.
The cost is four evaluations of ``f`` per direction, whatever the dimension, and no
copies of the point. The tolerance is scaled to the quantity compared: a relative
tolerance of the directional derivative (per dtype) plus the rounding error of the
difference quotient, about ``eps * |f| / h``.

Random points sample the domain: a point where ``f`` is not finite is drawn again (it
is outside the domain, not a failure); declared matrix structure (symmetric, positive
definite, diagonal, orthogonal) is drawn as declared; and the points are chosen so that
every scalar piece whose sign selects a formula (the argument of ``abs``, the two sides
of a ``max``, ``x.T*x - c``, ...) is seen with both signs where the domain allows.

At every point the value kernel itself is compared with an independent evaluation of
``f`` (:mod:`symnorm.check.values`), and two points far from the origin must not give a
NaN derivative where ``f`` is finite.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import sympy as sp

from ..kernels.arguments import free_arguments
from ..kernels.kernel import kernel
from ..model.errors import CheckFailedError, DomainError, ShapeError, SymnormError
from ..model.symbols import structure_of
from ..model.text import to_text
from .kinks import KINK_METHOD, _kink_check
from .report import METHOD, TOLERANCES, CheckReport, DirectionResult, PointResult, format_value
from .sampling import _switch_kernels, _value_or_none, random_values, sample_domain
from .values import ValueReference


# relative tolerance (of the directional derivative) and an absolute floor per dtype;
# the rounding error of the difference quotient is added per point (about eps*|f|/h)
def _rounding(dtype: Any) -> float:
    return float(np.finfo(dtype).eps)


def _direction(rng: np.random.Generator, shape: tuple, dtype: Any) -> np.ndarray:
    """A random unit direction: normal entries, or for large sizes random signs (drawn
    from raw bytes: a normal draw would cost more than evaluating most functions)."""
    size = int(np.prod(shape))
    if size > 10_000:
        d = np.frombuffer(rng.bytes(size), dtype=np.int8).astype(dtype).reshape(shape)
        return np.copysign(dtype(1 / np.sqrt(size)), d, out=d)
    d = rng.standard_normal(shape)
    d /= np.linalg.norm(d) or 1.0
    return d.astype(dtype, copy=False)


def _tangent(wrt: Any) -> Any:
    """Projection of a direction onto what ``wrt``'s declared structure allows (kernels
    refuse a symmetric matrix moved off symmetry): symmetric part, diagonal part, or
    ``Q skew(Q^T t)`` on the orthogonal group (off it by O(h^2) only); None if unstructured.
    """
    structure = structure_of(wrt)
    if not structure:
        return None

    def project(t: np.ndarray) -> np.ndarray:
        if t.ndim < 2 or t.shape[-1] != t.shape[-2]:
            return t
        if "orthogonal" in structure:
            return t  # projected in the check itself, where the point is known
        if "diagonal" in structure:
            t = t * np.eye(t.shape[-1], dtype=t.dtype)
        if structure & {"symmetric", "positive_definite", "positive_semidefinite"}:
            t = (t + np.swapaxes(t, -1, -2)) / 2
        return t

    return project


def _tangent_at(tangent: Any, wrt: Any, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``tangent(t)``, and for an orthogonal ``Q = x`` the tangent ``Q skew(Q^T t)``."""
    if tangent is None:
        return t
    t = tangent(t)
    if "orthogonal" in structure_of(wrt) and x.ndim == 2 and x.shape[0] == x.shape[1]:
        s = x.T @ t
        t = x @ ((s - s.T) / 2)
        if "diagonal" in structure_of(wrt):
            t = t * np.eye(t.shape[-1], dtype=t.dtype)
    norm = np.linalg.norm(t)
    return (t / norm if norm else t).astype(x.dtype if x.dtype.kind == "f" else t.dtype,
                                            copy=False)


def _directional_check(value_fn: Any, deriv_fn: Any, values: dict, wrt_name: str,
                       rng: np.random.Generator, directions: int, dtype: Any,
                       rtol: float, atol: float, hessian: bool,
                       wrt: Any = None, reference: Any = None) -> PointResult:
    """Compare ``<J t, c>`` by central differences with ``<t, J^T c>`` from the claim.

    ``J`` is the derivative of ``value_fn`` (a scalar function: ``c = 1`` and the claim is
    ``<g, t>``; a gradient, for a Hessian check: ``c`` is a random unit vector). Per
    direction ``t``: four evaluations, ``f(x +- h t)`` and ``f(x +- h t/2)``, give the
    Richardson-refined derivative, its error estimate, and, from second differences that
    do not shrink with ``h``, a kink. The tolerance is scaled to what is compared: the
    directional derivative (``rtol``) plus the rounding error of the difference quotient
    (about ``eps * |f| / h``), never ``|f|`` itself. Where that comparison fails, the
    rounding term is re-measured before the verdict: the noise of the value kernel in 17
    values around the point (:func:`noise_level`) and its actual error against ``f`` to
    50 digits, whichever is larger, stand in for ``eps * |f|``: a value computed with
    cancellation (``sqrt(1 + u) - 1`` at tiny ``u``) is far noisier than that.

    ``reference`` (a :class:`~symnorm.check.values.ValueReference`) judges the value
    kernel at the point first: a value kernel that is wrong there fails the point, as
    no finite difference of it means anything.
    """
    point = PointResult(values=values)
    x = values[wrt_name]
    try:
        with np.errstate(all="ignore"):
            f0 = np.asarray(value_fn(values), dtype=np.float64)
            g = np.asarray(deriv_fn(values), dtype=np.float64)
    except Exception as exc:  # a kernel failing is a check failure, reported
        point.problem = f"evaluation failed: {type(exc).__name__}: {exc}"
        return point
    wrong = reference.judge(f0, values) if reference is not None else None
    if wrong:
        point.problem, point.mode = wrong, "value"
        return point
    if not np.all(np.isfinite(f0)):
        point.problem = "the function is not finite at this point (outside its domain)"
        return point
    if g.size < 10_000 and not np.all(np.isfinite(g)):  # large g: seen in <g, t> below
        return _not_finite_derivative(point, f0, reference)
    eps = _rounding(dtype)
    h = eps ** (1 / 3) * max(1.0, float(max(np.max(x), -np.min(x))) if np.size(x) else 1.0)
    c = _direction(rng, f0.shape, np.float64) if f0.ndim else np.float64(1.0)
    project = (lambda v: float(np.sum(c * v))) if f0.ndim else float  # noqa: E731
    p0 = project(f0)
    moved = np.empty_like(x) if np.ndim(x) else None   # one buffer for every x + h t
    tangent = _tangent(wrt) if wrt is not None else None
    for _ in range(directions):
        t = _direction(rng, np.shape(x), dtype)
        if tangent is not None:  # a declared structure: move along it only
            t = _tangent_at(tangent, wrt, np.asarray(x), t)
        step = t * dtype(h / 2)

        def at(k: float) -> float:  # f(x + k h/2 t), projected right away (moved reused)
            if moved is None:
                point = dtype(x + k * step)
            elif abs(k) not in (1, 2):
                point = (x + k * step).astype(dtype, copy=False)
            else:
                (np.add if k > 0 else np.subtract)(x, step, out=moved)
                if abs(k) == 2:
                    (np.add if k > 0 else np.subtract)(moved, step, out=moved)
                point = moved
            with np.errstate(all="ignore"):
                try:
                    return project(np.asarray(value_fn({**values, wrt_name: point}),
                                              dtype=np.float64))
                except DomainError:  # a kernel that refuses the point (logdet, det <= 0)
                    return float("nan")

        fp1, fm1, fp2, fm2 = at(2), at(-2), at(1), at(-1)
        if not all(np.isfinite(v) for v in (fp1, fm1, fp2, fm2)):
            point.problem = ("the function is not finite next to this point (the edge of "
                             "its domain)")
            return point
        d1, d2 = (fp1 - fm1) / (2 * h), (fp2 - fm2) / h
        fd = (4 * d2 - d1) / 3
        scale_f = max(abs(p0), abs(fp1), abs(fm1), abs(fp2), abs(fm2))
        # rounding noise: eps*|f| per value, or more where f is a difference of larger
        # terms (sigmoid(a) - sigmoid(b) near 1): seen in how the two second differences
        # disagree, which for a smooth f cancels the curvature and leaves the noise
        spread = abs((fp2 + fm2 - 2 * p0) - (fp1 + fm1 - 2 * p0) / 4)
        noise = 48 * eps * scale_f / h
        gap1, gap2 = (fp1 + fm1 - 2 * p0) / h, (fp2 + fm2 - 2 * p0) / (h / 2)
        if abs(gap2) > max(1e3 * noise, 1e-6 * max(abs(d2), 1.0)) and \
                abs(gap2) > 0.75 * abs(gap1):
            point.problem = (f"not differentiable here: one-sided derivatives along a random "
                             f"direction are {format_value(d2 + gap2 / 2)} and "
                             f"{format_value(d2 - gap2 / 2)} "
                             f"(a kink); a gradient check means nothing at this point")
            point.mode = "kink"
            return point
        if hessian:
            claimed = float(np.sum(c * np.tensordot(g, t, axes=(list(range(-t.ndim, 0)),
                                                                 list(range(t.ndim))))))
        else:
            claimed = float(np.dot(g.ravel(), t.ravel()))  # no temporary of size n
            if not np.isfinite(claimed) and not np.all(np.isfinite(g)):
                return _not_finite_derivative(point, f0, reference)
        err = abs(fd - claimed)
        base = atol + rtol * max(abs(claimed), abs(fd)) + abs(d2 - d1)
        tol = base + max(noise, 8 * spread / h)
        if err > tol:  # before failing: is the value kernel noisier than eps*|f|?
            inner = [at(k / 4) for k in range(-7, 8) if k % 4]
            sigma = noise_level([fm1, *inner[:3], fm2, *inner[3:6], p0, *inner[6:9], fp2,
                                 *inner[9:], fp1])
            # its actual error at the point, against f to 50 digits: values that round
            # to one number all along the stencil (sqrt(1 + u) - 1 at u ~ eps) show no
            # noise, yet each may be off by that much
            delta = reference.error(f0, values) if reference is not None and \
                not f0.ndim else 0.0
            # the quotient's noise is about 1.9 sigma/h: allow some 5 standard deviations;
            # errors of size delta in each value move it by at most about 3 delta/h
            tol = base + max(noise, 8 * spread / h, 10 * sigma / h, 4 * delta / h)
        point.directions.append(DirectionResult(t, fd, claimed, err, tol))
    return point


def _not_finite_derivative(point: PointResult, f0: Any, reference: Any) -> PointResult:
    """A claimed derivative that is not finite where the value kernel is: a failure, unless
    ``f`` is undefined there after all (built on log 0 or x/0, which float64 turns into a
    number: the point is outside the domain, mode "outside")."""
    if reference is not None and reference.defined(point.values) is False:
        point.problem = ("the function is not defined here (it is built on log 0 or a "
                         "division by 0, which float64 turns into a number): not a point "
                         "of its domain")
        point.mode = "outside"
        return point
    point.problem = (f"the claimed derivative is not finite here, though the function is "
                     f"({format_value(f0)})")
    return point


def noise_level(values: list[float]) -> float:
    """The standard deviation of the rounding noise in equally spaced values of a
    smooth function, from their differences of orders 3 to 6 (Moré & Wild, "Estimating
    computational noise", 2011: ``sigma_k^2 = gamma_k mean((Δ^k f)^2)`` with
    ``gamma_k = (k!)^2/(2k)!``); the smallest of the four, as the smooth part only adds
    to each. 0 when a value is not finite.

    >>> noise_level([1.0 + 0.5 * i for i in range(17)])  # a straight line: no noise
    0.0
    >>> rng = np.random.default_rng(0)
    >>> s = noise_level([1e-3 * i + 1e-12 * rng.standard_normal() for i in range(17)])
    >>> 3e-13 < s < 3e-12
    True
    """
    v = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(v)):
        return 0.0
    estimates = []
    for k in range(1, 7):
        v = np.diff(v)
        if k >= 3:
            gamma = math.factorial(k) ** 2 / math.factorial(2 * k)
            estimates.append(math.sqrt(gamma * float(np.mean(v * v))))
    return min(estimates)


class CheckOptionError(SymnormError, ValueError):
    """An option of the check that has no meaning (a dtype without tolerances, 0 points)."""


def run_check(f: Any, wrt: Any, claimed: Any, *, hessian: bool = False, at: Any = None,
              points: int | None = None, directions: int | None = None,
              dtype: Any = np.float64, seed: int | None = 0, value: Any = None,
              fusions: dict | None = None, value_fusions: dict | None = None,
              subdifferential: Any = None) -> CheckReport:
    """Core of :func:`check`; ``value`` is the function whose derivative is ``claimed``.

    ``claimed`` is an expression, or an array: the claimed (sub)gradient at the one
    point ``at``. At a point where ``value`` has a kink the gradient comparison is
    replaced by the subgradient checks (see :func:`check`).
    """
    try:
        dtype = np.dtype(dtype).type
    except TypeError:
        raise CheckOptionError(f"dtype= must be float64 or float32, got {dtype!r}") from None
    if dtype not in TOLERANCES:
        raise CheckOptionError(f"no tolerance for dtype {np.dtype(dtype).name}; known: "
                         f"{', '.join(np.dtype(t).name for t in TOLERANCES)}")
    rtol, atol = TOLERANCES[dtype]
    for name, option in (("points", points), ("directions", directions)):
        if option is not None and (isinstance(option, bool) or not isinstance(option, int)
                                   or option < 1):
            raise CheckOptionError(f"{name}= must be a positive integer, got {option!r}")
    value = f if value is None else value
    args = free_arguments(value, first=wrt)
    vk = kernel(value, args, fusions=value_fusions)
    value_fn = lambda v: vk(**v)  # noqa: E731
    if isinstance(claimed, sp.Basic):
        extra = [s for s in free_arguments(claimed) if s not in args]
        if extra:
            raise ShapeError(f"the claimed derivative {to_text(claimed)} uses "
                             f"{', '.join(map(str, extra))}, which {to_text(f)} does not")
        gk = kernel(claimed, args, fusions=fusions)
        claimed_fn, claimed_text = (lambda v: gk(**v)), to_text(claimed)
    else:
        try:
            fixed_value = np.asarray(claimed, dtype=float)
        except (TypeError, ValueError):
            raise ShapeError(f"the claimed gradient must be an expression or an array of "
                             f"numbers, got {claimed!r}") from None
        if at is None:
            raise ShapeError("a numeric claimed gradient needs the point it belongs to: at=")
        claimed_fn = lambda v: fixed_value  # noqa: E731
        claimed_text = np.array2string(fixed_value, precision=6)
    rng = np.random.default_rng(seed)
    fixed_list = fixed_points(at, wrt)
    directions = directions or 1
    spare: list[dict] = []
    # the value kernel is judged against an independent evaluation of f (values.py)
    reference = None if hessian else ValueReference(value, args)
    faults: list[tuple[dict, str]] = []
    if fixed_list:
        chosen = []
        for fixed in fixed_list:
            if all(a.name in fixed for a in args):  # nothing to draw: check it as given
                chosen.append(random_values(args, rng, dtype, value, fixed))
            else:  # draw the rest inside the domain
                chosen.append(sample_domain(value_fn, args, wrt, rng, dtype, value, 1, [],
                                            fixed, tries=48)[0][0])
    else:
        switches = _switch_kernels(value, wrt, args)
        chosen, spare = sample_domain(value_fn, args, wrt, rng, dtype, value, points or 6,
                                      switches, reference=reference, faults=faults)
    if not isinstance(claimed, sp.Basic):
        want = np.shape(chosen[0][wrt.name])
        if fixed_value.shape != want:
            raise ShapeError(f"the claimed gradient has shape {fixed_value.shape}, but the "
                             f"point given for {wrt.name} has shape {want}")
    results = [PointResult(values=v, problem=why, mode="value") for v, why in faults]
    methods: set[str] = set()
    for values in chosen:
        methods.add(METHOD)
        point = _directional_check(value_fn, claimed_fn, values, wrt.name, rng, directions,
                                   dtype, rtol, atol, hessian, wrt, reference)
        while point.mode in ("kink", "outside") and not fixed_list and spare:
            # a random point on a kink (or outside the domain: log 0 made a number) is an
            # accident of the draw: take another one
            point = _directional_check(value_fn, claimed_fn, spare.pop(), wrt.name, rng,
                                       directions, dtype, rtol, atol, hessian, wrt, reference)
        if point.mode == "kink" and not hessian:
            methods.add(KINK_METHOD)
            project = _tangent(wrt)
            point = _kink_check(value_fn, claimed_fn, point.values, wrt.name, rng,
                                directions, dtype, rtol, atol, subdifferential, f,
                                tangent=None if project is None else
                                (lambda x, d: _tangent_at(project, wrt, x, d)))
        results.append(point)
    if not fixed_list and not hessian and all(p.ok for p in results):
        results += _far_points(value_fn, claimed_fn, args, wrt, rng, dtype, value, reference)
    return CheckReport(expression=to_text(f), claimed=claimed_text, wrt=to_text(wrt),
                       method="; ".join(sorted(methods)), dtype=np.dtype(dtype).name,
                       rtol=rtol, atol=atol, points=results)


#: scales of the variable at the far points of a random check (see _far_points)
FAR_SCALES = (8.0, 32.0)


def _far_points(value_fn: Any, claimed_fn: Any, args: list, wrt: Any,
                rng: np.random.Generator, dtype: Any, value: Any,
                reference: Any) -> list[PointResult]:
    """Points far from the origin where the value kernel is finite: the claimed
    derivative must not be NaN there (a ratio of exponentials computed as ``inf/inf``
    is NaN exactly where the sampled points never reach), and the value kernel must
    agree with ``f``. A failing point is returned; nothing when both hold."""
    if "orthogonal" in structure_of(wrt):
        return []  # a scaled orthogonal matrix is not one
    for scale in FAR_SCALES:
        values = random_values(args, rng, dtype, value, scales={wrt.name: scale})
        f0 = _value_or_none(value_fn, values)
        if f0 is None:
            continue  # the kernel refuses this point (an order below its range, ...)
        if reference is not None:
            wrong = reference.judge(f0, values)
            if wrong:
                return [PointResult(values=values, problem=wrong, mode="value")]
        if f0.size != 1 or not np.isfinite(f0).all():
            continue  # outside the domain (or where f overflows): nothing to compare
        try:
            with np.errstate(all="ignore"):
                g = np.asarray(claimed_fn(values), dtype=np.float64)
        except Exception as exc:  # a kernel failing is a check failure, reported
            return [PointResult(values=values, mode="nan",
                                problem=f"evaluation failed: {type(exc).__name__}: {exc}")]
        if np.isnan(g).any():
            if reference is not None and reference.defined(values) is False:
                continue  # f is undefined here (log 0 made a number): outside the domain
            return [PointResult(values=values, mode="nan", problem=(
                f"the claimed derivative is NaN at this point far from the origin, though "
                f"the function is finite there ({format_value(f0)}): its kernel computes "
                f"something like inf/inf or 0*inf"))]
    return []


def fixed_points(at: Any, wrt: Any) -> list[dict]:
    if at is None:
        return []
    if isinstance(at, (list, tuple, dict)) and len(at) == 0 or \
            (isinstance(at, np.ndarray) and at.size == 0):
        raise ShapeError(f"at= is empty: give a value for {to_text(wrt)}, a dict of values "
                         f"by name, or a list of such dicts (or leave it out for random "
                         f"points)")
    if isinstance(at, dict):
        return [{(k.name if hasattr(k, "name") else str(k)): v for k, v in at.items()}]
    if isinstance(at, list) and at and isinstance(at[0], dict):
        return [fixed_points(a, wrt)[0] for a in at]
    return [{wrt.name: at}]


def check_derivation(deriv: Any, **options: Any) -> CheckReport:
    """Check a :class:`Derivation` (gradient or Hessian) numerically."""
    if deriv.kind == "hessian":
        first = deriv.gradient  # the gradient the Hessian was derived from
        return run_check(deriv.f, deriv.wrt, deriv.result, hessian=True,
                         value=first.result, value_fusions=first.fusions, **options)
    if deriv.kind == "jacobian":
        if deriv.gradient is not None:  # a scalar map: its gradient, transposed
            return run_check(deriv.f, deriv.wrt, deriv.gradient.result,
                             fusions=deriv.gradient.fusions, **options)
        # <c, J t> against central differences of c^T F: the Hessian check's identity
        return run_check(deriv.f, deriv.wrt, deriv.result, hessian=True, value=deriv.f,
                         fusions=deriv.fusions, **options)
    return run_check(deriv.f, deriv.wrt, deriv.result, fusions=deriv.fusions, **options)


def ensure(deriv: Any, **options: Any) -> Any:
    """Run the default check on a derivation; raise naming expression and point if it fails."""
    report = check_derivation(deriv, **options)
    deriv.report = report
    if not report.ok:
        failing = {p.mode for p in report.points if not p.ok}
        if failing == {"value"}:
            headline = (f"the value kernel of {to_text(deriv.f)} is wrong (it disagrees "
                        f"with an independent evaluation), so the derived {deriv.kind} "
                        f"could not be checked")
        elif "nan" in failing:
            headline = (f"the kernel of the derived {deriv.kind} of {to_text(deriv.f)} "
                        f"gives NaN where the function is finite")
        else:
            headline = (f"the derived {deriv.kind} of {to_text(deriv.f)} disagrees with "
                        f"finite differences")
        raise CheckFailedError(f"{headline}:\n{report.summary()}", report)
    return deriv


