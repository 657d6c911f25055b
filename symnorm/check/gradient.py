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
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol

from ..kernels.arguments import free_arguments, is_dimension
from ..kernels.kernel import kernel
from ..model.atoms import Norm
from ..model.errors import CheckFailedError, DomainError, ShapeError, SymnormError
from ..model.symbols import structure_of
from ..model.text import to_text

# relative tolerance (of the directional derivative) and an absolute floor per dtype;
# the rounding error of the difference quotient is added per point (about eps*|f|/h)
TOLERANCES: dict[type, tuple[float, float]] = {
    np.float64: (1e-6, 1e-12),
    np.float32: (3e-2, 1e-6),
}

METHOD = ("central differences along random unit directions, one Richardson "
          "extrapolation step, step h = eps^(1/3) * max(1, |x|_inf); random points cover "
          "the sign patterns of the pieces")


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
            dims |= {d for d in a.shape if is_dimension(d)}
    return dims


def _p_bounds(expr: Any) -> dict:
    """Symbolic norm orders and the lower bound assumed for each."""
    found = {}
    for n in (expr.atoms(Norm) if isinstance(expr, sp.Basic) else []):
        if isinstance(n.p, sp.Symbol):
            found[n.p] = float(n.p_min)
    return found


def _structured_value(a: Any, shape: tuple, rng: np.random.Generator) -> np.ndarray:
    """A random matrix with the structure declared for ``a`` (ordinary: standard normal)."""
    structure = structure_of(a)
    k = shape[0]
    if not structure or len(shape) != 2 or shape[0] != shape[1]:
        return rng.standard_normal(shape)
    if "orthogonal" in structure:
        if "diagonal" in structure:
            return np.diag(rng.choice([-1.0, 1.0], size=k))
        q, r = np.linalg.qr(rng.standard_normal((k, k)))
        return q * np.where(np.diag(r) < 0, -1.0, 1.0)
    definite = "positive_definite" in structure
    semidefinite = "positive_semidefinite" in structure
    if "diagonal" in structure:
        r = rng.standard_normal(k)
        if definite:
            return np.diag(np.abs(r) + 0.5)
        if semidefinite:
            return np.diag(np.abs(r) * (rng.random(k) < 0.7))
        return np.diag(r)
    if definite:  # well conditioned: eigenvalues in [1, ~4]
        r = rng.standard_normal((k, k))
        return r @ r.T / k + np.eye(k)
    if semidefinite:  # rank deficient half of the time
        rank = k - int(rng.integers(0, 2)) if k > 1 else k
        r = rng.standard_normal((k, rank))
        return r @ r.T / k
    r = rng.standard_normal((k, k))
    return (r + r.T) / 2  # symmetric


def random_values(args: list, rng: np.random.Generator, dtype: Any, expr: Any,
                  fixed: dict | None = None, *, scales: dict[str, float] | None = None
                  ) -> dict[str, Any]:
    """Random argument values: integer sizes 2..5, normal arrays, positive scalars.

    Matrices declared with a structure (``sn.matrix(..., positive_definite=True)``) are
    drawn with it; ``scales`` multiplies the named arrays (to reach every sign pattern
    of terms such as ``x.T*x - 1``).
    """
    fixed = dict(fixed or {})
    scales = scales or {}
    sizes: dict = {}
    for a in args:  # sizes implied by given arrays
        if isinstance(a, MatrixSymbol) and a.name in fixed:
            shape = np.shape(fixed[a.name])
            dims = a.shape if a.shape[1] != 1 else (a.shape[0],)
            for d, s in zip(dims, shape[-len(dims):] if dims else ()):
                if is_dimension(d):
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
            value = _structured_value(a, shape, rng) * scales.get(a.name, 1.0)
            values[a.name] = value.astype(dtype)
        elif a in orders:
            lo = max(orders[a], 1.1) if orders[a] >= 1 else max(orders[a], 0.3)
            values[a.name] = dtype(rng.uniform(lo, lo + 2.5))
        else:
            values[a.name] = dtype(rng.uniform(0.5, 2.0) * scales.get(a.name, 1.0))
    return values


# -- where the function's pieces switch: sign patterns worth covering ---------------------

def switch_points(expr: Any, wrt: Any) -> list[sp.Expr]:
    """Scalars whose sign changes which formula holds: arguments of ``abs``, ``sign`` and
    ``Heaviside``, differences of the arguments of ``max``/``min``, and the arguments of
    ``sqrt``/``log`` (the domain). A check that covers both signs of each sees every
    branch of a derivative that is wrong in part of the domain only.

    >>> import symnorm as sn
    >>> x, a = sn.vector("x"), sn.vector("a")
    >>> [sn.to_text(s) for s in switch_points(sp.Abs(sn.norm(x, 2) - 1), x)]
    ['norm(x, 2) - 1']
    """
    found: list[sp.Expr] = []

    def add(s: Any) -> None:
        if (isinstance(s, sp.Expr) and not isinstance(s, MatrixExpr) and s.has(wrt)
                and not s.is_number and s not in found and -s not in found):
            found.append(s)

    if not isinstance(expr, sp.Basic):
        return found
    for node in sp.preorder_traversal(expr):
        if isinstance(node, (sp.Abs, sp.sign, sp.Heaviside, sp.log)):
            add(node.args[0])
        elif isinstance(node, sp.Pow) and not node.exp.is_integer:
            add(node.base)
        elif isinstance(node, (sp.Max, sp.Min)):
            parts = list(node.args)[:6]
            for i, p in enumerate(parts):
                for q in parts[i + 1:]:
                    add(p - q)
        if len(found) >= 12:
            break
    return found


def _switch_kernels(expr: Any, wrt: Any, args: list) -> list:
    fns = []
    for s in switch_points(expr, wrt):
        try:
            fns.append(kernel(s, args))
        except Exception:  # noqa: BLE001 -- a piece without a kernel is simply not covered
            continue
    return fns


def _finite_value(value_fn: Any, values: dict) -> bool:
    try:
        with np.errstate(all="ignore"):
            return bool(np.all(np.isfinite(np.asarray(value_fn(values), dtype=np.float64))))
    except (ArithmeticError, ValueError, TypeError):
        return False


def _signs(fns: list, values: dict) -> tuple:
    out = []
    for fn in fns:
        try:
            with np.errstate(all="ignore"):
                v = float(np.asarray(fn(**values), dtype=np.float64))
        except Exception:  # noqa: BLE001 -- an unevaluable piece covers nothing
            v = float("nan")
        out.append(0 if not np.isfinite(v) else int(np.sign(v)))
    return tuple(out)


# spread of the draws of the variable: near the origin, unit scale, far out
_SCALES = (1.0, 0.2, 4.0)


def sample_domain(value_fn: Any, args: list, wrt: Any, rng: np.random.Generator,
                  dtype: Any, expr: Any, points: int, switches: list,
                  fixed: dict | None = None, tries: int | None = None
                  ) -> tuple[list[dict], list[dict]]:
    """Points where ``value_fn`` is finite, chosen to cover both signs of every switch.

    Candidates are drawn at several scales of ``wrt``; a point where the function is not
    finite (outside its domain) is drawn again, never reported. Raises
    :class:`NoDomainPointError` when no candidate is in the domain. Returns the chosen
    points and the spare candidates (to replace a point that turns out to be a kink).
    """
    tries = tries if tries is not None else 16 * points + 48
    want = max(points, 1) * (4 if switches else 1)
    candidates: list[tuple[dict, tuple]] = []
    for t in range(tries):
        style = t % (len(_SCALES) + 2)
        scale = _SCALES[style] if style < len(_SCALES) else 1.0
        values = random_values(args, rng, dtype, expr, fixed, scales={wrt.name: scale})
        if style >= len(_SCALES) and not (fixed and wrt.name in fixed):
            _align(values, args, wrt, rng, dtype, 1.0 if style == len(_SCALES) else -3.0)
        if not _finite_value(value_fn, values):
            continue
        candidates.append((values, _signs(switches, values)))
        if len(candidates) >= want:
            break
    if not candidates:
        raise NoDomainPointError(_no_domain_message(expr, args, tries))
    chosen: list[int] = []
    covered: set = set()
    while len(chosen) < 2 * points:  # greedily: each new point shows a new sign
        best, gain = None, 0
        for i, (_, signs) in enumerate(candidates):
            new = len({(j, s) for j, s in enumerate(signs) if s} - covered)
            if i not in chosen and new > gain:
                best, gain = i, new
        if best is None:
            break
        chosen.append(best)
        covered |= {(j, s) for j, s in enumerate(candidates[best][1]) if s}
    for i in range(len(candidates)):
        if len(chosen) >= points:
            break
        if i not in chosen:
            chosen.append(i)
    spare = [c[0] for i, c in enumerate(candidates) if i not in chosen]
    return [candidates[i][0] for i in chosen], spare


def _align(values: dict, args: list, wrt: Any, rng: np.random.Generator, dtype: Any,
           factor: float) -> None:
    """Put ``wrt`` near ``factor`` times another argument of its shape (or a row or column
    of a matrix), where terms such as ``a.T*x - norm(x, 2)`` change sign."""
    x = values[wrt.name]
    same = [np.asarray(values[a.name]) for a in args if a != wrt and a.name in values
            and np.shape(values[a.name]) == np.shape(x)]
    for a in args:
        m = np.asarray(values.get(a.name, 0.0)) if a != wrt else np.asarray(0.0)
        if m.ndim == 2 and np.ndim(x) == 1:
            same += [r for r in (m.T if m.shape[0] == x.shape[0] else m)
                     if r.shape == x.shape][:2]
    if not same:
        return
    v = same[int(rng.integers(0, len(same)))]
    noise = 0.3 * rng.standard_normal(np.shape(x))
    values[wrt.name] = (factor * v + noise * (np.max(np.abs(v)) if v.size else 1.0)
                        ).astype(dtype)


def _no_domain_message(expr: Any, args: list, tries: int) -> str:
    mats = [a for a in args if isinstance(a, MatrixSymbol) and a.shape[0] == a.shape[1]
            and a.shape[1] != 1 and not structure_of(a)]
    hint = ""
    if mats:
        names = ", ".join(m.name for m in mats)
        first = mats[0].name
        hint = (f"; if {names} must be positive definite (or semidefinite, symmetric, ...), "
                f"declare it: sn.matrix({first!r}, n, n, positive_definite=True), or "
                f"{first}='spd' in sn.parse / --shape {first}=spd on the command line")
    return (f"no point of the domain found: {to_text(expr)} is not finite (NaN or inf) at "
            f"any of {tries} random points{hint}; or give points inside the domain with at=")


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
                       wrt: Any = None) -> PointResult:
    """Compare ``<J t, c>`` by central differences with ``<t, J^T c>`` from the claim.

    ``J`` is the derivative of ``value_fn`` (a scalar function: ``c = 1`` and the claim is
    ``<g, t>``; a gradient, for a Hessian check: ``c`` is a random unit vector). Per
    direction ``t``: four evaluations, ``f(x +- h t)`` and ``f(x +- h t/2)``, give the
    Richardson-refined derivative, its error estimate, and, from second differences that
    do not shrink with ``h``, a kink. The tolerance is scaled to what is compared: the
    directional derivative (``rtol``) plus the rounding error of the difference quotient
    (about ``eps * |f| / h``), never ``|f|`` itself.
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
    if not np.all(np.isfinite(f0)):
        point.problem = "the function is not finite at this point (outside its domain)"
        return point
    if g.size < 10_000 and not np.all(np.isfinite(g)):  # large g: seen in <g, t> below
        point.problem = (f"the claimed derivative is not finite here, though the function is "
                         f"({_fmt(f0)})")
        return point
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

        def at(k: int) -> float:  # f(x + k h/2 t), projected right away (moved is reused)
            if moved is None:
                point = dtype(x + k * step)
            else:
                (np.add if k > 0 else np.subtract)(x, step, out=moved)
                if abs(k) == 2:
                    (np.add if k > 0 else np.subtract)(moved, step, out=moved)
                point = moved
            with np.errstate(all="ignore"):
                return project(np.asarray(value_fn({**values, wrt_name: point}),
                                          dtype=np.float64))

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
                             f"direction are {_fmt(d2 + gap2 / 2)} and {_fmt(d2 - gap2 / 2)} "
                             f"(a kink); a gradient check means nothing at this point")
            point.mode = "kink"
            return point
        if hessian:
            claimed = float(np.sum(c * np.tensordot(g, t, axes=(list(range(-t.ndim, 0)),
                                                                 list(range(t.ndim))))))
        else:
            claimed = float(np.dot(g.ravel(), t.ravel()))  # no temporary of size n
            if not np.isfinite(claimed) and not np.all(np.isfinite(g)):
                point.problem = (f"the claimed derivative is not finite here, though the "
                                 f"function is ({_fmt(f0)})")
                return point
        err = abs(fd - claimed)
        tol = atol + rtol * max(abs(claimed), abs(fd)) + max(noise, 8 * spread / h) + \
            abs(d2 - d1)
        point.directions.append(DirectionResult(t, fd, claimed, err, tol))
    return point


class NoDomainPointError(DomainError):
    """No random point was found where the checked function is finite."""


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
    fixed_list = _fixed_points(at, wrt)
    directions = directions or 1
    spare: list[dict] = []
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
                                      switches)
    if not isinstance(claimed, sp.Basic):
        want = np.shape(chosen[0][wrt.name])
        if fixed_value.shape != want:
            raise ShapeError(f"the claimed gradient has shape {fixed_value.shape}, but the "
                             f"point given for {wrt.name} has shape {want}")
    results = []
    methods: set[str] = set()
    for values in chosen:
        methods.add(METHOD)
        point = _directional_check(value_fn, claimed_fn, values, wrt.name, rng, directions,
                                   dtype, rtol, atol, hessian, wrt)
        while point.mode == "kink" and not fixed_list and spare:
            # a random point on a kink is an accident of the draw: take another one
            point = _directional_check(value_fn, claimed_fn, spare.pop(), wrt.name, rng,
                                       directions, dtype, rtol, atol, hessian, wrt)
        if point.mode == "kink" and not hessian:
            methods.add(KINK_METHOD)
            point = _kink_check(value_fn, claimed_fn, values, wrt.name, rng,
                                directions, dtype, rtol, atol, subdifferential, f)
        results.append(point)
    return CheckReport(expression=to_text(f), claimed=claimed_text, wrt=to_text(wrt),
                       method="; ".join(sorted(methods)), dtype=np.dtype(dtype).name,
                       rtol=rtol, atol=atol, points=results)


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
    if isinstance(at, (list, tuple, dict)) and len(at) == 0 or \
            (isinstance(at, np.ndarray) and at.size == 0):
        raise ShapeError(f"at= is empty: give a value for {to_text(wrt)}, a dict of values "
                         f"by name, or a list of such dicts (or leave it out for random "
                         f"points)")
    if isinstance(at, dict):
        return [{(k.name if hasattr(k, "name") else str(k)): v for k, v in at.items()}]
    if isinstance(at, list) and at and isinstance(at[0], dict):
        return [_fixed_points(a, wrt)[0] for a in at]
    return [{wrt.name: at}]


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
