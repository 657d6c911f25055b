"""Calling a kernel on the arrays of another library.

:class:`symnorm.kernels.kernel.Kernel` hands a call here when an argument is a JAX, PyTorch,
CuPy or Dask array, or when the kernel was made with ``backend=``. The call is
validated exactly as on the numpy path (names, shapes, dimension binding, real dtypes,
``out=``), the kernel's generated source is executed once per (library, dtype, device)
with ``np``/``_nm`` bound to that library (:mod:`symnorm.kernels.backends.shim`), and the result
comes back as that library's array.

Two backends also compile the array function, after the same eager validation:
``backend="jax"`` with ``jax.jit`` and ``backend="torch.compile"`` with ``torch.compile``
(:class:`TorchCompiled`: one graph, ``fullgraph=True``, where the kernel has no host
helper; else a graph break around each host helper).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...model.errors import ArgumentError, ShapeError, UnsupportedExpressionError
from ..arguments import dtype_message
from .array_api import XPNumeric
from .numba_kernels import compiled as numba_compiled
from .registry import BACKENDS, check_backend, library_of, namespace
from .shim import NumpyNames

#: backends that compile the kernel's array function, and the library they compute with
COMPILING = {"jax": "jax", "torch.compile": "torch"}


def foreign_library(values: Any) -> str | None:
    """The library of the first argument that is an array of a non-numpy library."""
    for v in values:
        if type(v) is not np.ndarray:
            lib = library_of(v)
            if lib not in (None, "numpy"):
                return lib
    return None


def call(kernel: Any, values: tuple, named: dict, out: Any, backend: str | None) -> Any:
    """Compute ``kernel`` on the arrays of one library (see the module docstring)."""
    if backend == "numba":
        return _numba_twin(kernel)(*values, out=out, **named)
    ordered = values if not named and len(values) == len(kernel._specs) else \
        kernel._bind(values, named)
    lib = COMPILING.get(backend, backend) if backend not in (None, "array_api") else \
        foreign_library(ordered)
    if lib is None:
        lib = "numpy"
    info = BACKENDS[lib]
    xp = namespace(lib)
    arrays, dtype, device = _convert(kernel, lib, xp, ordered)
    arrays, batch, dims, columns = _shapes(kernel, arrays)
    shape = kernel._result_shape(batch, dims)
    want = None if shape is None else \
        ((*shape, 1) if columns and kernel._result_is_vector else shape)
    if out is not None:
        _check_out(info, lib, out, want)
    func, nm = compiled(kernel, lib, xp, dtype, device, jit=backend in COMPILING)
    if out is not None and isinstance(func, TorchCompiled) and want == shape:
        func(*arrays, out=out)  # the compiled graph writes out itself: no extra pass
        return out
    if nm.torch_tracing():  # inside a user's torch.compile: no numpy state to set
        res = nm.arr(func(*arrays))
    else:
        with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
            res = nm.arr(func(*arrays))
    if shape is not None and tuple(res.shape) != shape:
        try:
            res = xp.broadcast_to(res, shape) + 0.0
        except (ValueError, RuntimeError):
            raise ShapeError(f"kernel computed shape {tuple(res.shape)}, expected {shape}"
                             ) from None
    if res.dtype != dtype:
        res = xp.astype(res, dtype)
    if columns and kernel._result_is_vector:
        res = res[..., None]
    if out is not None:
        return nm.assign(out, res)
    return res


def with_backend(kernel: Any, backend: str | None,
                 compile_options: dict | None = None) -> Any:
    """The same kernel (the same generated source) computing with ``backend``.

    ``compile_options`` go to the compiler of a compiling backend: ``torch.compile`` for
    ``backend="torch.compile"`` (e.g. ``{"backend": "aot_eager"}``, ``{"mode":
    "max-autotune"}``, ``{"dynamic": True}``), ``jax.jit`` for ``backend="jax"``.

    >>> import numpy as np, symnorm as sn
    >>> x = sn.vector("x")
    >>> k = with_backend(sn.grad(sn.norm(x, 3), x).kernel(), "array_api")
    >>> k.backend, k(np.array([0.0, 0.0]))
    ('array_api', array([0., 0.]))
    """
    import copy

    check_backend(backend)
    if compile_options is not None and backend not in COMPILING:
        raise ArgumentError(f"compile_options are for the compiling backends "
                            f"({', '.join(map(repr, COMPILING))}), not backend={backend!r}")
    twin = copy.copy(kernel)
    twin.__dict__ = dict(kernel.__dict__)
    twin.__dict__.pop("_backend_cache", None)
    twin.__dict__.pop("_compile_options", None)
    if compile_options:
        twin._compile_options = dict(compile_options)
    twin.backend = backend
    return twin


def _numba_twin(kernel: Any) -> Any:
    """The kernel with numpy validation and the fused numba helpers (cached)."""
    cache = kernel.__dict__.setdefault("_backend_cache", {})
    if "numba-twin" not in cache:
        import copy

        twin = copy.copy(kernel)
        twin.__dict__ = dict(kernel.__dict__)
        twin.__dict__.pop("_backend_cache", None)
        twin.backend = None
        twin._func = numba_compiled(kernel)
        cache["numba-twin"] = twin
    return cache["numba-twin"]


def compiled(kernel: Any, lib: str, xp: Any, dtype: Any, device: Any,
             jit: bool = False) -> tuple[Any, XPNumeric]:
    """The kernel's source executed for one library, dtype and device (cached)."""
    cache = kernel.__dict__.setdefault("_backend_cache", {})
    key = (lib, str(dtype), str(device), jit)
    if key not in cache:
        nm = XPNumeric(xp, lib, dtype, device)
        namespace_: dict = {"np": NumpyNames(nm), "_nm": nm}
        exec(compile(kernel.source, f"<symnorm {lib} kernel>", "exec"), namespace_)
        func = namespace_["kernel"]
        options = kernel.__dict__.get("_compile_options") or {}
        if jit and lib == "jax":
            import jax

            func = jax.jit(func, **options)
        elif jit and lib == "torch":
            func = TorchCompiled(func, nm, options, kernel.source)
        cache[key] = (func, nm)
    return cache[key]


def compile_status(kernel: Any) -> list[dict]:
    """How a ``backend="torch.compile"`` kernel was compiled, one entry per dtype and
    device it has run on: ``{"dtype", "device", "fullgraph", "graph_break"}``
    (``fullgraph`` is None before the first call; ``graph_break`` says why a kernel with
    a host helper is not one graph).

    >>> import torch, symnorm as sn
    >>> x = sn.vector("x")
    >>> k = with_backend(sn.grad(sn.norm(x, 1), x).kernel(), "torch.compile",
    ...                  {"backend": "eager"})
    >>> k(torch.tensor([-2.0, 0.0, 3.0], dtype=torch.float64))
    tensor([-1.,  0.,  1.], dtype=torch.float64)
    >>> compile_status(k)
    [{'dtype': 'torch.float64', 'device': 'cpu', 'fullgraph': True, 'graph_break': None}]
    """
    cache = kernel.__dict__.get("_backend_cache", {})
    return [{"dtype": key[1], "device": key[2], "fullgraph": func.fullgraph,
             "graph_break": func.graph_break}
            for key, (func, _nm) in cache.items() if isinstance(func, TorchCompiled)]


class TorchCompiled:
    """A kernel's array function compiled with ``torch.compile``.

    The first call compiles with ``fullgraph=True`` (one graph, no Python in between);
    a kernel that calls a host helper (the SVD-based matrix norms, group-lasso blocks,
    the hull of tied max/min gradients) cannot be one graph, so it is compiled again
    without ``fullgraph`` (a graph break around each host call) and :attr:`graph_break`
    says why. ``options`` (e.g. ``{"backend": "aot_eager"}``) go to ``torch.compile``; an
    explicit ``fullgraph=True`` there makes a graph break an error instead.

    Value checks (a norm order below its range, a negative threshold) cannot branch
    while tracing: the traced code records them as flags (``XPNumeric.flags``), and
    when one is set after the call the eager function is run, raising the same error
    as an uncompiled kernel (an ``out=`` array may have been written by then). With
    ``out=`` the graph writes the result into it (an input mutation), not into a new
    tensor that is then copied.
    """

    def __init__(self, func: Any, nm: XPNumeric, options: dict, source: str = "") -> None:
        import torch

        self.eager = func
        self.source = source
        self.nm = nm
        self.options = dict(options)
        self.fullgraph: bool | None = None   # known after the first call
        self.graph_break: str | None = None  # why the kernel is not one graph
        self._strict = "fullgraph" in options
        self._compiled = torch.compile(func, **{"fullgraph": True, **options})

    def __call__(self, *arrays: Any, out: Any = None) -> Any:
        import torch

        self.nm.flags = []
        try:
            res = self._compiled(*arrays, out=out)
            if self.fullgraph is None:
                self.fullgraph = bool(self.options.get("fullgraph", True))
        except torch._dynamo.exc.Unsupported as err:
            why = self._why(err)
            if self._strict:
                raise UnsupportedExpressionError(
                    f"this kernel cannot be one torch.compile graph: {why}") from None
            self.fullgraph = False
            self.graph_break = why
            self._compiled = torch.compile(self.eager, **{**self.options, "fullgraph": False})
            self.nm.flags = []
            res = self._compiled(*arrays, out=out)
        except torch._dynamo.exc.BackendCompilerFailed as err:
            raise UnsupportedExpressionError(
                f"torch.compile could not compile this kernel ({_first_line(err)}); on CPU "
                "the default inductor backend needs a C++ compiler: install one, or pass "
                "compile_options={'backend': 'aot_eager'} to "
                "symnorm.kernels.backends.with_backend, or use backend='torch'") from None
        flags, self.nm.flags = self.nm.flags, None
        if flags and any(bool(f) for f in flags):
            return self.eager(*arrays, out=out)  # raises the eager kernel's error
        return res

    def _why(self, err: Exception) -> str:
        """Dynamo's reason, and the line of the kernel source where the graph breaks."""
        import re

        why = _first_line(err)
        lines = re.findall(r'File "<symnorm torch kernel>", line (\d+)', str(err))
        source = self.source.splitlines()
        if lines and 0 < int(lines[-1]) <= len(source):
            line = source[int(lines[-1]) - 1].strip()
            if "disable" in why:
                why = "it calls a numpy helper on the host"
            why += f", at `{line}`"
        return why


def _first_line(err: Exception) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__


def _convert(kernel: Any, lib: str, xp: Any, values: Any) -> tuple[list, Any, Any]:
    """Arrays of ``lib`` in one real floating dtype (labels keep their integers)."""
    arrays = []
    for spec, v in zip(kernel._specs, values):
        got = library_of(v)
        if got == lib:
            a = v
        elif lib == "torch" and isinstance(v, (bool, int, float)) and spec.kind != "labels":
            a = float(v)  # a scalar tensor below (np.asarray does not trace)
        elif got in (None, "numpy"):
            try:
                host = np.asarray(v)
            except ValueError as err:
                raise ArgumentError(f"argument {spec.name} is not an array of numbers: "
                                    f"{err}") from None
            if host.dtype.kind not in "fiub":
                raise ArgumentError(dtype_message(spec, host))
            a = host
        else:
            raise ArgumentError(f"argument {spec.name} is a {got} array but the kernel "
                                f"computes with {lib}; pass arrays of one library")
        arrays.append(a)
    device = None
    for a in arrays:
        if library_of(a) == lib:
            if lib == "torch":  # (array_api_compat's device() warns under torch.compile)
                device = a.device
                break
            from array_api_compat import device as device_of

            device = device_of(a)
            break
    default = xp.asarray(0.0).dtype if lib != "numpy" else np.dtype(np.float64)
    if lib == "torch":
        import torch

        default = torch.float64
    votes = []
    for i, (spec, a) in enumerate(zip(kernel._specs, arrays)):
        if isinstance(a, float):
            a = arrays[i] = xp.asarray(a, dtype=default, device=device)
        if isinstance(a, np.ndarray) and lib != "numpy":
            if a.dtype.kind == "f" or spec.kind == "labels":
                a = xp.asarray(a, device=device)
            else:
                a = xp.asarray(a.astype(np.float64), device=device)
            arrays[i] = a
        dt = a.dtype
        if xp.isdtype(dt, "real floating"):
            if a.ndim:
                votes.append(dt)
        elif xp.isdtype(dt, ("integral", "bool")):
            if spec.kind != "labels":
                arrays[i] = xp.astype(a, default)
                if a.ndim:
                    votes.append(default)
        else:
            raise ArgumentError(f"argument {spec.name} must be an array of real numbers, "
                                f"got dtype {dt}")
    dtype = xp.result_type(*votes) if votes else default
    for i, (spec, a) in enumerate(zip(kernel._specs, arrays)):
        if spec.kind != "labels" and a.dtype != dtype:
            arrays[i] = xp.astype(a, dtype)
    return arrays, dtype, device


def _shapes(kernel: Any, arrays: list) -> tuple[list, tuple, dict, bool]:
    """Bind dimension symbols and the batch shape as the numpy path does, then run the
    kernel's value checks (declared structure) on the values the host can see."""
    arrays, batch, dims, columns = kernel._bind_shapes(arrays)
    for i, check in kernel._value_checks:
        # results were simplified with the declared structure: its values must have it
        # (not checked while torch.compile traces, as not for a JAX tracer)
        host = None if _torch_tracing(arrays[i]) else _on_host(arrays[i])
        if host is not None:
            check(host)
    return arrays, batch, dims, columns


def _torch_tracing(a: Any) -> bool:
    if library_of(a) != "torch":
        return False
    import torch

    return torch.compiler.is_compiling()


def _on_host(a: Any) -> np.ndarray | None:
    """A numpy copy of ``a`` (a GPU array is copied back), or None for a value that has
    none yet: a JAX tracer inside ``jit``, whose structure cannot be looked at."""
    if hasattr(a, "get") and not hasattr(a, "compute"):  # CuPy
        return a.get()
    if hasattr(a, "detach"):  # PyTorch, on any device
        return a.detach().cpu().numpy()
    try:
        return np.asarray(a)
    except Exception:  # noqa: BLE001 - jax raises its own TracerArrayConversionError
        return None


def _check_out(info: Any, lib: str, out: Any, want: tuple | None) -> None:
    if not info.supports_out:
        raise ArgumentError(f"out= is not supported for {lib} arrays ({info.why_no_out}); "
                            "use the returned array")
    if library_of(out) != lib:
        raise ArgumentError(f"out= must be a {lib} array like the arguments, got "
                            f"{type(out).__name__}")
    xp = namespace(lib)
    if not xp.isdtype(out.dtype, "real floating"):
        raise ArgumentError(f"out= must be a float array, got dtype {out.dtype}")
    if want is not None and tuple(out.shape) != want:
        raise ShapeError(f"out= has shape {tuple(out.shape)}, but the result has shape {want}")
