"""Where a check looks: random points of the domain (declared matrix structure drawn as
declared, symbolic orders inside their range), chosen so that every scalar piece whose
sign selects a formula is seen with both signs where the domain allows."""


from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol

from ..kernels.arguments import is_dimension
from ..kernels.kernel import kernel
from ..model.atoms import Norm
from ..model.errors import DomainError, ShapeError
from ..model.symbols import structure_of
from ..model.text import to_text


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


def _value_or_none(value_fn: Any, values: dict) -> Any:
    """The value kernel's value, or None where it refuses the point (an order below its
    range, a matrix off its declared structure): a refusal is not a wrong value."""
    try:
        with np.errstate(all="ignore"):
            return np.asarray(value_fn(values), dtype=np.float64)
    except (ArithmeticError, ValueError, TypeError):
        return None


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
                  fixed: dict | None = None, tries: int | None = None,
                  reference: Any = None, faults: list | None = None
                  ) -> tuple[list[dict], list[dict]]:
    """Points where ``value_fn`` is finite, chosen to cover both signs of every switch.

    Candidates are drawn at several scales of ``wrt``; a point where the function is not
    finite (outside its domain) is drawn again, never reported. Raises
    :class:`NoDomainPointError` when no candidate is in the domain. Returns the chosen
    points and the spare candidates (to replace a point that turns out to be a kink).

    With ``reference`` (a :class:`~symnorm.check.values.ValueReference`), a candidate
    where the value kernel is not finite is judged: where ``f`` is finite after all
    (evaluated independently) the kernel is wrong, and ``(point, message)`` is appended
    to ``faults``.
    """
    tries = tries if tries is not None else 16 * points + 48
    want = max(points, 1) * (4 if switches else 1)
    candidates: list[tuple[dict, tuple]] = []
    judged = 0
    for t in range(tries):
        style = t % (len(_SCALES) + 2)
        scale = _SCALES[style] if style < len(_SCALES) else 1.0
        values = random_values(args, rng, dtype, expr, fixed, scales={wrt.name: scale})
        if style >= len(_SCALES) and not (fixed and wrt.name in fixed):
            _align(values, args, wrt, rng, dtype, 1.0 if style == len(_SCALES) else -3.0)
        if not _finite_value(value_fn, values):
            if reference is not None and faults is not None and not faults and judged < 8:
                judged += 1
                fk = _value_or_none(value_fn, values)
                wrong = reference.judge(fk, values) if fk is not None else None
                if wrong:
                    faults.append((values, wrong))
            continue
        candidates.append((values, _signs(switches, values)))
        if len(candidates) >= want:
            break
    if not candidates and not (fixed and wrt.name in fixed):
        # nothing at the usual scales: search wider before refusing (log(a.T*x - 50)
        # needs |x| ~ 10, sqrt(norm(x, 2) - 400) |x| ~ 300)
        for values in _wide_candidates(args, wrt, rng, dtype, expr, fixed):
            if _finite_value(value_fn, values):
                candidates.append((values, _signs(switches, values)))
                if len(candidates) >= want:
                    break
        tries += _WIDE_TRIES
    if not candidates:
        if faults:  # the kernel is wrong where f is finite: that is the finding
            return [], []
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


# the wide search: the variable at scales from 1e-3 to 1e4, and along other arguments
# (or the identity, for a square matrix) times factors from 1/2 to 2048, both signs
_WIDE_SCALES = (1e-3, 1e-2, 0.1, 10.0, 30.0, 100.0, 300.0, 1e3, 1e4)
_WIDE_FACTORS = (0.5, 2.0, 8.0, 32.0, 128.0, 512.0, 2048.0)
_WIDE_TRIES = 3 * len(_WIDE_SCALES) + 4 * len(_WIDE_FACTORS)


def _wide_candidates(args: list, wrt: Any, rng: np.random.Generator, dtype: Any,
                     expr: Any, fixed: dict | None) -> Any:
    """Candidates far from the usual scales, for a domain the usual draws miss."""
    for scale in _WIDE_SCALES:
        for _ in range(3):
            yield random_values(args, rng, dtype, expr, fixed, scales={wrt.name: scale})
    structure = structure_of(wrt)
    for factor in _WIDE_FACTORS:
        for sign in (1.0, -1.0):
            for _ in range(2):
                values = random_values(args, rng, dtype, expr, fixed)
                if not structure or structure <= {"symmetric", "positive_definite",
                                                  "positive_semidefinite", "diagonal"}:
                    _align(values, args, wrt, rng, dtype, sign * factor, identity=True)
                yield values


def _align(values: dict, args: list, wrt: Any, rng: np.random.Generator, dtype: Any,
           factor: float, identity: bool = False) -> None:
    """Put ``wrt`` near ``factor`` times another argument of its shape (or a row or column
    of a matrix), where terms such as ``a.T*x - norm(x, 2)`` change sign."""
    x = values[wrt.name]
    same = [np.asarray(values[a.name]) for a in args if a != wrt and a.name in values
            and np.shape(values[a.name]) == np.shape(x)]
    if identity and np.ndim(x) == 2 and np.shape(x)[0] == np.shape(x)[1]:
        same.append(np.eye(np.shape(x)[0]))  # trace(X) - 50 needs X near a multiple of I
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


class NoDomainPointError(DomainError):
    """No random point was found where the checked function is finite."""
