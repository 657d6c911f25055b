"""The fused training kernel: one numpy function, forward pass once, every gradient.

The source is generated from the derivation itself: the forward equations over the named
intermediates (``a1``, ``h1``, ..., ``y``), then the deltas, then the gradients, each
emitted once and referred to by name afterwards, so nothing is computed twice. Samples
are the rows of 2-D arrays (``x`` of shape ``(B, n_in)``), so a layer is one matrix
product ``h @ W.T`` and a weight gradient over the batch is one product ``δᵀ h``.

Only code generated here is executed (``BackpropKernel.source`` shows it). The kernel
is called with keyword arguments by name; positional calls are refused, so an argument
order can never be a silent trap. The source calls ``np.`` names the array-API shim
maps and ``_bp.`` helpers defined here, so :mod:`.backends` runs the same source on JAX,
PyTorch, CuPy and Dask arrays.
"""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixSymbol

from .. import numeric
from ..kernels.arguments import free_arguments
from ..kernels.backends.registry import library_of
from ..model.errors import UnsupportedExpressionError
from ..presentation.blocks import Block, Paragraph, Shown
from ..presentation.prose import Math, Note, note
from .backends import call, check_backend

if TYPE_CHECKING:
    from .result import Backprop

from . import helpers
from .emitter import Emitter, kind_of, orientation, release_dead
from .helpers import KernelArgumentError

KINK_POLICY = (
    "At kinks it returns the minimum-norm subgradient, never NaN: relu'(0) = 0, 0 for "
    "the L2 loss where y = t, sign with 0 entries for the L1 loss.")


class BackpropKernel(Shown):
    """A fused forward + backward numpy function; call it with keyword arguments.

    ``arg_names`` are its arguments (data first, then parameters, then scalars);
    ``batched`` the ones that take a leading batch axis; ``source`` the generated code.
    A call returns a dict: the gradient of every parameter by name, and ``"loss"``;
    over a batch, of the mean loss (``reduce="mean"``), the sum (``"sum"``), or per
    sample (``None``: a leading batch axis on every output). Keyword arguments only, so
    an order can never be mixed up: a positional, unknown or missing argument raises a
    ``KernelArgumentError`` (a :class:`SymnormError` and ``TypeError``) that lists the
    arguments. At kinks it returns the minimum-norm subgradient, never NaN. Called on
    JAX, PyTorch, CuPy or Dask arrays it computes with that library;
    :meth:`with_backend` fixes one.

    Made by :meth:`Backprop.kernel`; not built by hand.

    Parameters
    ----------
    source : str
        The generated Python source.
    func : callable
        That source compiled.
    arg_names : list of str
        The argument names.
    shapes : dict
        Each argument's shape, with ``None`` for the batch axis and dimension symbols
        for sizes fixed at call time.
    batched : list of str
        The arguments that take a leading batch axis.
    outputs : list of str
        The keys of the dict a call returns.
    reduce : str or None
        ``"mean"``, ``"sum"`` or ``None`` (per sample).
    backend : str, optional
        The array library it is fixed to (``None``: follow the arguments).

    Examples
    --------
    >>> import numpy as np, symnorm as sn
    >>> k = sn.backprop(sn.mlp([2, 3, 1]), check=False).kernel()
    >>> k
    <symnorm backprop kernel (x, t, W1, W2) -> {W1, W2, loss}, reduce='mean'>
    >>> k.batched, k.shapes["W1"]
    (['x', 't'], (3, 2))
    >>> batch = {"x": np.ones((4, 2)), "t": np.zeros((4, 1))}
    >>> out = k(**batch, W1=np.zeros((3, 2)), W2=np.zeros((1, 3)))
    >>> sorted(out), out["W1"].shape, round(float(out["loss"]), 12)
    (['W1', 'W2', 'loss'], (3, 2), 0.125)
    >>> k(np.ones(2))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symnorm.backprop.helpers.KernelArgumentError: this kernel takes keyword arguments only, ...
    """

    def __init__(self, source: str, func: Any, arg_names: list[str], shapes: dict,
                 batched: list[str], outputs: list[str], reduce: str | None,
                 backend: str | None = None) -> None:
        self.source = source
        self.backend = backend
        self._func = func
        self.arg_names = arg_names
        self._keys = frozenset(arg_names)
        self.shapes = shapes
        self.batched = batched
        self.outputs = outputs
        self.reduce = reduce
        call = ", ".join(f"{n}=..." for n in arg_names)
        self.__doc__ = (
            f"Fused backprop kernel: k({call}) -> dict with keys {', '.join(outputs)}.\n\n"
            f"Batched arguments ({', '.join(batched)}) take a leading batch axis; the "
            f"gradients are of the {reduce or 'per-sample'} loss over the batch.\n\n"
            + KINK_POLICY + "\n\nCalled on JAX, PyTorch, CuPy or Dask arrays it computes "
            "with that library and returns its arrays (Dask: lazy, see "
            "symnorm.backprop.backends).")

    def __call__(self, *args: Any, **kwargs: Any) -> dict:
        if args:
            raise KernelArgumentError(
                f"this kernel takes keyword arguments only, so an argument order can never "
                f"be mixed up: call it as k({', '.join(f'{n}=...' for n in self.arg_names)})")
        if kwargs.keys() != self._keys:
            self._diagnose(kwargs)
        if self.backend is None:
            for v in kwargs.values():
                if type(v) is not np.ndarray and library_of(v) not in (None, "numpy"):
                    break
            else:  # numpy arrays, numbers, lists: the numpy source as it is
                return self._func(**kwargs)

        return call(self, kwargs)

    def with_backend(self, backend: str | None) -> "BackpropKernel":
        """The same kernel (the same source) computing with ``backend``.

        ``"jax"`` compiles it with ``jax.jit``; ``"torch"``, ``"cupy"``, ``"dask"``
        convert numpy arguments to that library; ``"numpy"``/``"array_api"`` run the
        array-API version on numpy arrays; ``None`` follows the arguments.

        >>> import numpy as np, symnorm as sn
        >>> k = sn.backprop(sn.mlp([2, 1], "relu"), check=False).kernel()
        >>> out = k.with_backend("array_api")(x=np.ones(2), t=np.zeros(1), W1=np.ones((1, 2)))
        >>> out["W1"], float(out["loss"])
        (array([[2., 2.]]), 2.0)
        """
        import copy

        check_backend(backend)
        twin = copy.copy(self)
        twin.__dict__ = dict(self.__dict__)
        twin.__dict__.pop("_backend_cache", None)
        twin.backend = backend
        return twin

    def _diagnose(self, kwargs: dict) -> None:
        unknown = [k for k in kwargs if k not in self._keys]
        missing = [n for n in self.arg_names if n not in kwargs]
        parts = []
        for k in unknown:
            close = [n for n in self.arg_names if n.lower() == k.lower()] or \
                difflib.get_close_matches(k, self.arg_names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            parts.append(f"unknown argument {k!r}{hint}")
        if missing:
            parts.append(f"missing argument(s): {', '.join(missing)}")
        raise KernelArgumentError("; ".join(parts) + f". Arguments: {', '.join(self.arg_names)}")

    def __repr__(self) -> str:
        backend = "" if self.backend is None else f", backend={self.backend!r}"
        return (f"<symnorm backprop kernel ({', '.join(self.arg_names)}) -> "
                f"{{{', '.join(self.outputs)}}}, reduce={self.reduce!r}{backend}>")

    def __str__(self) -> str:
        return repr(self)

    # -- display (Jupyter, documents) -------------------------------------------------
    def _title_(self) -> Note:
        return Note("Fused backpropagation kernel")

    def _blocks_(self) -> list[Block]:
        """``(x, t, W1, ...) ↦ (∂L/∂W1, ..., L)`` and how it reduces over the batch."""
        args = ", ".join(_symbol_latex(n) for n in self.arg_names)
        outs = ", ".join(r"\frac{\partial L}{\partial " + _symbol_latex(n) + "}"
                         if n != "loss" else "L" for n in self.outputs)
        reduce = {"mean": "of the mean loss over the batch", "sum": "of the summed loss "
                  "over the batch", None: "of each sample's loss"}[self.reduce]
        library = "numpy" if self.backend is None else self.backend
        return [Paragraph(note(Math(rf"({args}) \mapsto \left({outs}\right)",
                                    f"({', '.join(self.arg_names)}) -> "
                                    f"({', '.join(self.outputs)})"))),
                Paragraph(Note(f"one {library} function: the forward pass once, then every "
                               f"gradient {reduce}; batched arguments: "
                               f"{', '.join(self.batched)}; keyword arguments only"),
                          small=True)]


def _symbol_latex(name: str) -> str:
    """``W1`` -> ``W_{1}``, ``lam`` -> ``\\lambda``: a kernel argument's name as LaTeX."""
    m = re.fullmatch(r"([A-Za-z]+?)(\d+)", name)
    base, sub = (m.group(1), m.group(2)) if m else (name, "")
    base = {"lam": r"\lambda", "eta": r"\eta", "mu": r"\mu", "delta": r"\delta"}.get(
        base, base if len(base) == 1 else rf"\mathrm{{{base}}}")
    return f"{base}_{{{sub}}}" if sub else base


def _shape_text(shape: tuple) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _kinds(bp: "Backprop") -> dict:
    """Orientation of every symbol whose shape is ambiguous (1x1)."""
    kinds: dict = {}
    if bp.network is not None:
        for layer in bp.network.layers:
            kinds[layer.W] = "mat"
    return kinds


def _arguments(bp: "Backprop") -> tuple[list, list, list]:
    """(data, parameters, scalars): the kernel's arguments in their documented order."""

    params = list(bp.params)
    if bp.network is not None:
        net = bp.network
        data = [net.x, net.t]
        scalars = [s for s in free_arguments(bp.loss) if isinstance(s, sp.Symbol)]
        return data, params, scalars
    rest = [s for s in free_arguments(bp.loss) if s not in params]
    data = [s for s in rest if isinstance(s, MatrixSymbol) and orientation(s) == "col"]
    others = [s for s in rest if s not in data]
    return data, params, others


def _prologue(data: list, params: list, scalars: list, kinds: dict) -> tuple[list[str], dict]:
    """Input conversion and shape checks; returns the lines and the argument shapes."""
    lines: list[str] = []
    shapes: dict = {}
    dims: dict = {}

    def dim_code(d: Any, code: str, name: str, what: str) -> None:
        if isinstance(d, (int, sp.Integer)):
            lines.append(f"if {code} != {int(d)}: _bp.bad_shape({name!r}, {name}, {what!r})")
        elif d in dims:
            lines.append(f"if {code} != {dims[d]}: _bp.bad_shape({name!r}, {name}, "
                         f"{what!r} + ' (' + {str(d)!r} + ' = ' + str({dims[d]}) + ')')")
        else:
            var = f"_dim_{d}"
            lines.append(f"{var} = {code}")
            dims[d] = var

    if not data:  # nothing to batch over: one sample
        lines += ["_B = 1", "_single = True"]
    for i, s in enumerate(data):
        n = s.name
        shapes[n] = (None, s.shape[0])
        what = f"(B, {s.shape[0]}) or ({s.shape[0]},)"
        lines.append(f"if type({n}) is not _bp.ndarray: {n} = _bp.as_array({n}, {n!r})")
        if i == 0:
            lines.append(f"_single = {n}.ndim == 1")
        lines.append(f"if {n}.ndim != 2:")
        lines.append(f"    if {n}.ndim != 1: _bp.bad_shape({n!r}, {n}, {what!r})")
        lines.append(f"    {n} = {n}[None, :]")
        dim_code(s.shape[0], f"{n}.shape[1]", n, what)
        if i == 0:
            lines.append(f"_B = {n}.shape[0]")
        else:
            lines.append(f"if {n}.shape[0] != _B: _bp.bad_shape({n!r}, {n}, "
                         f"'(' + str(_B) + ', {s.shape[0]}): the same batch as {data[0].name}')")
    for s in params + [a for a in scalars if isinstance(a, MatrixSymbol)]:
        n = s.name
        kind = kind_of(s, kinds)
        shape = (s.shape[0],) if kind == "col" else (s.shape[1],) if kind == "row" else s.shape
        shapes[n] = shape
        what = _shape_text(shape)
        lines.append(f"if type({n}) is not _bp.ndarray: {n} = _bp.as_array({n}, {n!r})")
        if all(isinstance(d, (int, sp.Integer)) for d in shape):  # one tuple comparison
            fixed = _shape_text(tuple(int(d) for d in shape))
            lines.append(f"if {n}.shape != {fixed}: _bp.bad_shape({n!r}, {n}, {what!r})")
            continue
        lines.append(f"if {n}.ndim != {len(shape)}: _bp.bad_shape({n!r}, {n}, {what!r})")
        for axis, d in enumerate(shape):
            dim_code(d, f"{n}.shape[{axis}]", n, what)
    for s in scalars:
        if isinstance(s, sp.Symbol):
            n = s.name
            shapes[n] = ()
            lines.append(f"{n} = _bp.as_scalar({n}, {n!r})")
    return lines, shapes


def build_kernel(bp: "Backprop", reduce: str | None) -> BackpropKernel:
    """Generate, compile and wrap the fused kernel of a :class:`Backprop`."""
    data, params, scalars = _arguments(bp)
    args = data + params + scalars
    for a in args:
        if not a.name.isidentifier() or a.name.startswith("_") or a.name in ("np", "_nm"):
            raise UnsupportedExpressionError(f"{a.name!r} cannot be a kernel argument name")
    names = {a: a.name for a in args}
    kinds = _kinds(bp)
    em = Emitter(names, set(data), {}, kinds)
    outputs: dict[str, str] = {}
    if bp.network is not None:
        net = bp.network
        for sym, expr in bp.forward:
            em.define(sym, expr, f"v_{sym.name}")
        for sym, expr in bp.backward:
            em.define(sym, expr, f"v_{sym.name}")
        for p in bp.params:
            outputs[p.name] = em.reduced(bp.grads.expr(p), reduce)
        loss_expr = net.data_loss + net.decay
    else:
        for p in bp.params:
            outputs[p.name] = em.reduced(bp.grads.expr(p), reduce)
        loss_expr = bp.loss
    if reduce is None:
        lv = em.scalar(loss_expr)
        outputs["loss"] = em.tmp(f"np.broadcast_to({lv.code}, (_B,))", True, "scalar").code
        for name, code in list(outputs.items()):
            if name != "loss" and not _is_batched_code(em, code):
                p = next(q for q in bp.params if q.name == name)
                outputs[name] = em.tmp(f"np.broadcast_to({code}, (_B,) + {code}.shape)", True,
                                       kind_of(p, kinds)).code
    else:
        total = em.batch_total(loss_expr)
        outputs["loss"] = em.tmp(f"{total} / _B", False, "scalar").code \
            if reduce == "mean" else total
    prologue, shapes = _prologue(data, params, scalars, kinds)
    body = [f"def kernel(*, {', '.join(a.name for a in args)}):"]
    body += [f"    {line}" for line in release_dead(prologue + em.lines,
                                                          set(outputs.values()) | em.scalars)]
    result = ", ".join(f"{k!r}: {v}" for k, v in outputs.items())
    if reduce is None:
        body.append(f"    _out = {{{result}}}")
        body.append("    if _single:")
        body.append("        return {k: v[0] for k, v in _out.items()}")
        body.append("    return _out")
    else:
        body.append(f"    return {{{result}}}")
    source = "\n".join(body) + "\n"
    namespace: dict = {"np": np, "_nm": numeric, "_bp": helpers}
    exec(compile(source, "<symnorm backprop kernel>", "exec"), namespace)
    return BackpropKernel(source, namespace["kernel"], [a.name for a in args], shapes,
                          [a.name for a in data], list(outputs), reduce)


def _is_batched_code(em: Emitter, code: str) -> bool:
    for v in em.memo.values():
        if v.code == code:
            return v.batched
    return True


def build_loss_function(bp: "Backprop") -> Any:
    """The per-sample loss computed from the nested loss expression alone (no deltas,
    no named intermediates): the reference the check differentiates numerically."""
    data, params, scalars = _arguments(bp)
    args = data + params + scalars
    kinds = _kinds(bp)
    em = Emitter({a: a.name for a in args}, set(data), {}, kinds)
    value = em.scalar(bp.loss)
    prologue, _ = _prologue(data, params, scalars, kinds)
    body = [f"def loss(*, {', '.join(a.name for a in args)}):"]
    body += [f"    {line}" for line in release_dead(prologue + em.lines, {value.code} | em.scalars)]
    body.append(f"    return np.broadcast_to({value.code}, (_B,))")
    namespace: dict = {"np": np, "_nm": numeric, "_bp": helpers}
    exec(compile("\n".join(body) + "\n", "<symnorm loss>", "exec"), namespace)
    return namespace["loss"]


def build_forward(net: Any) -> Any:
    """``forward(x=..., W1=..., ...)``: the network output, rows of ``x`` in, rows out."""
    params = list(net.params)
    kinds = {layer.W: "mat" for layer in net.layers}
    em = Emitter({a: a.name for a in [net.x, *params]}, {net.x}, {}, kinds)
    for sym, expr in net.forward():
        em.define(sym, expr, f"v_{sym.name}")
    prologue, _ = _prologue([net.x], params, [], kinds)
    body = [f"def forward(*, {', '.join(a.name for a in [net.x, *params])}):"]
    body += [f"    {line}" for line in release_dead(prologue + em.lines,
                                                          {f"v_{net.y.name}"} | em.scalars)]
    body.append(f"    return v_{net.y.name}[0] if _single else v_{net.y.name}")
    namespace: dict = {"np": np, "_nm": numeric, "_bp": helpers}
    exec(compile("\n".join(body) + "\n", "<symnorm forward>", "exec"), namespace)
    return namespace["forward"]
