"""The array libraries kernels compute with: a string-keyed registry.

Adding a library is adding one :class:`Backend` entry (its import name, how its arrays
are recognised, its ``array_api_compat`` namespace, whether it has ``out=``); the
backend tests are parametrised over this registry and skip a library that is not
installed, with the reason.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any

from ...model.errors import UnsupportedExpressionError


@dataclass(frozen=True)
class Backend:
    """One array library."""

    name: str              # the key: "numpy", "jax", "torch", "cupy", "dask"
    module: str            # what must be importable
    extra: str             # pip install "symnorm[<extra>]"
    supports_out: bool     # whether out= is accepted
    why_no_out: str = ""
    note: str = ""


BACKENDS: dict[str, Backend] = {b.name: b for b in (
    Backend("numpy", "numpy", "", True,
            note="through array_api_compat (backend='array_api'); plain kernels use "
                 "symnorm.numeric directly"),
    Backend("jax", "jax", "jax", False, "JAX arrays are immutable",
            note="backend='jax' compiles with jax.jit; kernels also trace inside a jit"),
    Backend("torch", "torch", "torch", True,
            note="CPU or CUDA tensors; backend='torch.compile' compiles with torch.compile"),
    Backend("cupy", "cupy", "cupy", True, note="needs an NVIDIA GPU"),
    Backend("dask", "dask", "dask", False, "Dask arrays are lazy",
            note="chunk-wise; norms reduced across chunks in one overflow-safe pass"),
)}

#: names accepted by ``kernel(..., backend=...)``
BACKEND_NAMES = ("numpy", "array_api", "jax", "torch", "torch.compile", "cupy", "dask",
                 "numba")

#: backends that are another library's mode: ``"torch.compile"`` computes with torch
_MODES = {"torch.compile": "torch"}

_ROOTS = {"numpy": "numpy", "jax": "jax", "jaxlib": "jax", "torch": "torch",
          "cupy": "cupy", "dask": "dask"}


def library_of(value: Any) -> str | None:
    """The array library of ``value`` (None for Python numbers, lists, other objects).

    >>> import numpy as np
    >>> library_of(np.zeros(2)), library_of(1.0)
    ('numpy', None)
    """
    if isinstance(value, (int, float, complex, str)):  # (and fast under torch.compile)
        return None
    root = type(value).__module__.split(".")[0]
    lib = _ROOTS.get(root)
    if lib is None or not hasattr(value, "shape"):
        return None
    return lib


def available(name: str) -> bool:
    """Whether the library of backend ``name`` can be imported here.

    >>> available("numpy")
    True
    """
    module = BACKENDS[name].module if name in BACKENDS else name
    return importlib.util.find_spec(module) is not None


def check_backend(name: str | None) -> str | None:
    """``name`` if it is a known, installed backend; else a clear error.

    >>> check_backend("numpy")
    'numpy'
    >>> check_backend("tensorflow")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symnorm.UnsupportedExpressionError: no kernel backend named 'tensorflow'; known: ...
    """
    if name is None:
        return None
    if name not in BACKEND_NAMES:
        raise UnsupportedExpressionError(
            f"no kernel backend named {name!r}; known: {', '.join(BACKEND_NAMES)}")
    lib = _MODES.get(name, name)
    module = {"array_api": "array_api_compat"}.get(lib, BACKENDS[lib].module
                                                   if lib in BACKENDS else lib)
    if importlib.util.find_spec(module) is None:
        extra = BACKENDS[lib].extra if lib in BACKENDS else lib
        raise UnsupportedExpressionError(
            f"backend {name!r} needs {module}, which is not installed "
            f"(pip install \"symnorm[{extra or 'backends'}]\")")
    if name != "numba" and importlib.util.find_spec("array_api_compat") is None:
        raise UnsupportedExpressionError(
            f"backend {name!r} needs array_api_compat (pip install \"symnorm[{lib}]\")")
    return name


def namespace(lib: str) -> Any:
    """The ``array_api_compat`` namespace computing with library ``lib``."""
    # import statements, not importlib: torch.compile traces them (a kernel called
    # inside a user's compiled function)
    if lib == "torch":
        import array_api_compat.torch as xp_torch

        return xp_torch
    if lib == "jax":
        return importlib.import_module("jax.numpy")
    module = {"numpy": "array_api_compat.numpy", "cupy": "array_api_compat.cupy",
              "dask": "array_api_compat.dask.array"}[lib]
    return importlib.import_module(module)
