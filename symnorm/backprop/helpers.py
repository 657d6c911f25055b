"""The numpy helpers a generated backprop kernel calls as ``_bp.<name>`` (their array-API
versions are in :mod:`.backends`), and the checks of argument values they share."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..model.errors import ShapeError, SymnormError


class KernelArgumentError(SymnormError, TypeError):
    """A kernel call with a missing, unknown, positional or doubled argument."""


def sigmoid(u: np.ndarray) -> np.ndarray:
    """``1/(1 + exp(-u))`` in place on one temporary; ``u`` is clipped at -700 first so
    ``exp`` never overflows (the value there is below 1e-304 either way), never NaN."""
    r = np.maximum(u, -700.0)
    np.negative(r, out=r)
    np.exp(r, out=r)
    r += 1.0
    np.reciprocal(r, out=r)
    return r


#: the type the generated prologue accepts without conversion (other backends convert
#: every argument before the call and bind a type nothing is, see ``backends.py``)
ndarray = np.ndarray


def rowdot(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``Σ_i u_bi v_bi`` per row ``b``: one pass, no product array."""
    return np.einsum("...i,...i->...", u, v)


def vdot(a: np.ndarray, b: np.ndarray) -> Any:
    """``Σ a ⊙ b`` over every entry (a batch total, a Frobenius product)."""
    return np.vdot(a, b)


def as_scalar(value: Any, name: str) -> float:
    """A scalar argument (a weight-decay coefficient, say) as a float."""
    if np.ndim(value) != 0:
        bad_shape(name, np.asarray(value), "a scalar, ()")
    return float(value)


def as_array(value: Any, name: str) -> np.ndarray:
    """A float array from lists, scalars or array-likes (the slow path of a call)."""
    try:
        a = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ShapeError(f"argument {name} must be numbers (an array), got "
                         f"{type(value).__name__}") from None
    return a


def bad_shape(name: str, value: Any, want: str) -> None:
    shape = tuple(value.shape) if hasattr(value, "shape") else np.shape(value)
    raise ShapeError(f"argument {name} must have shape {want}, got an array of shape "
                     f"{shape}")
