"""What a kernel's arguments must be: which symbols it takes, in which order, and the
shapes, dtypes and libraries of the values it accepts (checked in O(1) per argument)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol

from ..model.errors import ArgumentError


def is_dimension(s: sp.Basic) -> bool:
    return isinstance(s, sp.Symbol) and bool(s.is_integer) and bool(s.is_positive)


def free_arguments(expr: Any, first: Any = None) -> list:
    """Symbols a kernel of ``expr`` needs: ``first``, then the rest sorted by name."""
    found: set = set()

    def walk(e: sp.Basic) -> None:
        if isinstance(e, MatrixSymbol):
            found.add(e)
            return
        if isinstance(e, sp.Symbol) and not is_dimension(e) and not isinstance(e, sp.Dummy):
            found.add(e)
            return
        for a in e.args:
            if isinstance(a, sp.Basic):
                walk(a)

    walk(expr)
    rest = sorted((s for s in found if s != first), key=lambda s: s.name)
    return ([first] if first is not None else []) + rest


def kind_of(e: Any) -> str:
    if isinstance(e, MatrixExpr):
        r, c = e.shape
        if r == 1 and c == 1:
            return "s"
        if c == 1:
            return "v"
        if r == 1:
            return "r"
        return "m"
    return "s"


@dataclass(frozen=True)
class ArgSpec:
    """What one kernel argument must be: its name, kind and symbolic core shape."""

    name: str
    kind: str          # "scalar", "vector", "matrix" or "labels" (integer group labels)
    dims: tuple        # symbolic sizes of the core axes: () or (n,) or (m, n)

    def describe(self) -> str:
        if self.kind == "scalar":
            return "scalar"
        if self.kind == "matrix":
            return f"matrix ({self.dims[0]}, {self.dims[1]})"
        if self.kind == "labels":
            return f"group labels, one per vector entry (length {self.dims[0]})"
        return f"vector of length {self.dims[0]}"


def arg_spec(sym: Any) -> ArgSpec:
    if isinstance(sym, MatrixSymbol):
        kind = kind_of(sym)
        if kind == "m":
            return ArgSpec(sym.name, "matrix", (sym.shape[0], sym.shape[1]))
        # a 1x1 symbol is a vector of length 1 (sn.vector("y", 1)): its last axis is 1
        return ArgSpec(sym.name, "vector", (sym.shape[0] if kind != "r" else sym.shape[1],))
    if hasattr(sym, "dim") and hasattr(sym, "random_value"):  # group labels
        return ArgSpec(sym.name, "labels", (sym.dim,))
    return ArgSpec(sym.name, "scalar", ())


def result_dims(expr: Any) -> tuple:
    """Symbolic core shape of a kernel's result (vectors have one axis)."""
    if not isinstance(expr, MatrixExpr):
        return ()
    kind = kind_of(expr)
    r, c = expr.shape
    return {"s": (), "v": (r,), "r": (c,), "m": (r, c)}[kind]


def size_text(spec: ArgSpec, shape: tuple) -> str:
    if spec.kind in ("vector", "labels") and len(shape) == 1:
        return f"has length {shape[0]}"
    return f"has shape {shape}"


FOREIGN_ROOTS = frozenset({"jax", "jaxlib", "torch", "cupy", "dask"})


def is_foreign(values: tuple, named: dict) -> bool:
    """Whether an argument is an array of another library (see symnorm.kernels.backends)."""
    for v in itertools.chain(values, named.values()):
        if type(v) is not np.ndarray and \
                type(v).__module__.partition(".")[0] in FOREIGN_ROOTS:
            return True
    return False


def as_array(spec: ArgSpec, v: Any) -> np.ndarray:
    if isinstance(v, np.ma.MaskedArray) and np.ma.is_masked(v):
        raise ArgumentError(f"argument {spec.name} has masked entries, which a kernel would "
                            f"read as numbers; pass {spec.name}.filled(value) or "
                            f"{spec.name}.compressed()")
    try:
        return np.asarray(v)
    except ValueError as err:  # ragged nested lists
        raise ArgumentError(f"argument {spec.name} is not an array of numbers: {err}") from None


def dtype_message(spec: ArgSpec, a: np.ndarray) -> str:
    if a.dtype.kind == "c":
        return (f"argument {spec.name} is complex ({a.dtype}); symnorm kernels compute with "
                f"real numbers only (pass {spec.name}.real if the imaginary part is to be "
                "dropped)")
    return (f"argument {spec.name} must be an array of real numbers, got dtype {a.dtype} "
            f"({'text' if a.dtype.kind in 'US' else 'not numbers'})")


