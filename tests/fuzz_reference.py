"""The fuzzer's independent reference: expressions evaluated in mpmath at 50 digits
(vectors as lists of ``mpf``, matrices as lists of rows, singular values by mpmath's
SVD) and their gradients by central differences at two step sizes. Nothing here knows
symnorm or SymPy; :mod:`fuzzing` builds the expressions and compares."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mpmath
import numpy as np

mp = mpmath.mp


def _norm(v: list, p: Any) -> Any:
    if p == "oo":
        return max(abs(t) for t in v)
    return mpmath.fsum(abs(t) ** p for t in v) ** (mpmath.mpf(1) / p)


def _matvec(A: list, v: list) -> list:
    return [mpmath.fsum(a * t for a, t in zip(row, v)) for row in A]


def _dot(u: list, v: list) -> Any:
    return mpmath.fsum(a * b for a, b in zip(u, v))


def _real_sqrt(t: Any) -> Any:
    if t < 0:
        raise ValueError("outside the real domain")
    return mpmath.sqrt(t)


def _real_log(t: Any) -> Any:
    if t <= 0:
        raise ValueError("outside the real domain")
    return mpmath.log(t)


def _sigmoid(t: Any) -> Any:
    return 1 / (1 + mpmath.exp(-t))


def _relu(t: Any) -> Any:
    return t if t > 0 else mpmath.mpf(0)


def _softplus(t: Any) -> Any:
    return mpmath.log(1 + mpmath.exp(t))


# elementwise maps of the language (vectors and matrices) and the scalar maps, in mpmath
_MAPS: dict[str, Callable[[Any], Any]] = {
    "sigmoid": _sigmoid, "abs": abs, "exp": mpmath.exp, "tanh": mpmath.tanh,
    "relu": _relu, "softplus": _softplus}


def _mp_matmul(A: list, B: list) -> list:
    return [[mpmath.fsum(A[i][k] * B[k][j] for k in range(len(B)))
             for j in range(len(B[0]))] for i in range(len(A))]


def _mp_sub(A: list, B: list) -> list:
    return [[s - t for s, t in zip(r, q)] for r, q in zip(A, B)]


def _mp_transpose(A: list) -> list:
    return [list(r) for r in zip(*A)]


def _matrix_norm(A: list, p: str) -> Any:
    """A matrix norm at the working precision: Frobenius, nuclear and spectral from the
    singular values (mpmath's SVD), induced 1 and oo from column and row sums."""
    if p == "fro":
        return mpmath.sqrt(mpmath.fsum(t * t for r in A for t in r))
    if p in ("nuc", "2"):
        s = mpmath.svd_r(mpmath.matrix(A), compute_uv=False)
        values = [s[i] for i in range(s.rows)]
        return mpmath.fsum(values) if p == "nuc" else max(values)
    if p == "1":
        return max(mpmath.fsum(abs(r[j]) for r in A) for j in range(len(A[0])))
    return max(mpmath.fsum(abs(t) for t in r) for r in A)


def _positive(t: Any) -> Any:
    if t == 0:
        raise ZeroDivisionError("division by zero")
    return t


def _mp_env(values: dict) -> dict:
    env: dict[str, Any] = {}
    for k, v in values.items():
        v = np.asarray(v, dtype=float)
        if v.ndim == 1:
            env[k] = [mpmath.mpf(float(t)) for t in v]
        else:
            env[k] = [[mpmath.mpf(float(t)) for t in row] for row in v]
    return env


def _moved(env: dict, var: str, i: int, h: Any) -> dict:
    """The environment with entry ``i`` (row-major for a matrix) of ``var`` moved by h."""
    value = env[var]
    if value and isinstance(value[0], list):
        n = len(value[0])
        rows = [list(r) for r in value]
        rows[i // n][i % n] += h
        return dict(env, **{var: rows})
    moved = list(value)
    moved[i] += h
    return dict(env, **{var: moved})


def value_at(node: Any, values: dict) -> Any:
    """``f`` at ``values`` in 50 digits, or None where it is not real and finite."""
    with mp.workdps(50):
        try:
            f0 = node.ev(_mp_env(values))
        except (ValueError, ZeroDivisionError, OverflowError):
            return None
        if not isinstance(f0, mpmath.mpf) or not mpmath.isfinite(f0) or abs(f0) > 1e200:
            return None
        return f0


def reference(node: Any, values: dict) -> tuple[float, np.ndarray, bool] | None:
    """(f, grad f, smooth) at ``values`` by 50-digit central differences, or None when f
    is not real and finite around the point. ``smooth`` is False near a kink (two step
    sizes disagree), where no gradient comparison is meaningful."""
    with mp.workdps(50):
        env = _mp_env(values)
        try:
            f0 = node.ev(env)
        except (ValueError, ZeroDivisionError, OverflowError):
            return None
        if not isinstance(f0, mpmath.mpf) or not mpmath.isfinite(f0) or abs(f0) > 1e200:
            return None
        var = node.var
        size = int(np.size(values[var]))
        grads = []
        for h in (mpmath.mpf("1e-20"), mpmath.mpf("1e-13")):
            g = []
            for i in range(size):
                try:
                    fp, fm = node.ev(_moved(env, var, i, h)), node.ev(_moved(env, var, i, -h))
                except (ValueError, ZeroDivisionError, OverflowError):
                    return None
                if not (isinstance(fp, mpmath.mpf) and isinstance(fm, mpmath.mpf)):
                    return None
                g.append((fp - fm) / (2 * h))
            grads.append(g)
        fine, coarse = grads
        scale = max([abs(t) for t in fine] + [mpmath.mpf(1)])
        smooth = max(abs(s - t) for s, t in zip(fine, coarse)) <= mpmath.mpf("1e-9") * scale
        return float(f0), np.array([float(t) for t in fine]), bool(smooth)


# -- one expression ------------------------------------------------------------------------
