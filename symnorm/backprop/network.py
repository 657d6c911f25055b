"""Symbolic multilayer perceptrons with named layers: ``sn.mlp``.

A network is plain symnorm expressions: parameters ``W1, W2, ...`` (``W_l`` has shape
``(n_l, n_{l-1})``) and, with ``bias=True``, ``b1, b2, ...``; input ``x`` and target
``t``. Each layer has a named pre-activation ``a_l = W_l h_{l-1} + b_l`` and activation
``h_l = f_l(a_l)`` (``h_0 = x``; the last one is called ``y``). With a normalisation
(``norm="layer"`` or ``"rms"``) the activation takes ``z_l = g_l ⊙ â_l + β_l`` instead,
where ``â_l = (a_l - mean(a_l))/σ_l`` and ``σ_l = sqrt(var(a_l) + eps)`` (LayerNorm), or
``â_l = a_l/σ_l`` and ``σ_l = sqrt(mean(a_l ⊙ a_l) + eps)`` (RMSNorm, no shift ``β``);
the gain ``g_l`` and the shift ``β_l`` are parameters. ``Network.loss`` is the nested
expression (an ordinary symnorm expression, so ``sn.grad(net.loss, W1)`` works);
``Network.forward`` lists the same computation over the named intermediates, which is
what :func:`symnorm.backprop` derives the deltas over.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy as sp
from sympy import HadamardProduct, MatMul, OneMatrix
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol

from ..model.atoms import IdentityMap, Relu, ScalarOf, Sigmoid, Softplus, Tanh
from ..model.errors import ShapeError, SymnormError
from ..model.functions import (
    DEFAULT_EPS,
    LayerNorm,
    LayerNormScale,
    Mean,
    RmsNorm,
    RmsNormScale,
    eps_value,
)
from ..model.text import to_text
from ..presentation.latex import latex
from ..rules.constructors import norm

ACTIVATIONS: dict[str, type] = {
    "sigmoid": Sigmoid, "tanh": Tanh, "relu": Relu, "softplus": Softplus,
    "identity": IdentityMap,
}
"""Activation names accepted by :func:`mlp` and the elementwise node each one builds."""


class NetworkError(SymnormError, ValueError):
    """A network specification symnorm cannot build (sizes, activation, loss)."""


class FrobeniusSquared(ScalarOf):
    r"""``‖W‖_F²``, the sum of the squared entries of ``W``, written ``\lVert W \rVert_F^2``.

    Represented for the engine as ``1ᵀ (W ⊙ W) 1`` (a 1x1 product it differentiates, to
    ``2 W`` after :func:`tidy_ones`); only ``W`` is stored, so SymPy rebuilds it intact.
    """

    def __new__(cls, w: MatrixExpr) -> "FrobeniusSquared":
        if not isinstance(w, MatrixExpr):
            raise NetworkError(f"the Frobenius norm needs a matrix, got {w!r}")
        return sp.Expr.__new__(cls, w)

    @property
    def matrix(self) -> MatrixExpr:
        return self.args[0]

    @property
    def mat(self) -> MatrixExpr:  # what the engine, kernels and explicit() see
        w = self.matrix
        return MatMul(OneMatrix(1, w.shape[0]), HadamardProduct(w, w), OneMatrix(w.shape[1], 1))

    def doit(self, **hints: object) -> sp.Expr:
        w = self.matrix.doit(**hints) if hints.get("deep", True) else self.matrix
        if isinstance(w, sp.MatrixBase):
            return sp.Add(*[v**2 for v in w])
        return FrobeniusSquared(w)

    def _sympystr(self, printer: Any) -> str:
        return f"norm({printer._print(self.matrix)}, fro)**2"

    def _latex(self, printer: Any) -> str:
        return rf"\left\lVert {printer._print(self.matrix)} \right\rVert_{{F}}^{{2}}"


def frobenius_squared(w: MatrixExpr) -> sp.Expr:
    """``‖W‖_F²`` in a form the engine differentiates (gradient ``2 W``).

    The one place weight decay builds its norm: when the Frobenius norm is a registered
    rule this becomes ``norm(W, 'fro')**2``.

    >>> import symnorm as sn
    >>> W = sn.matrix("W", 3, 2)
    >>> print(sn.latex(frobenius_squared(W)))
    \\left\\lVert W \\right\\rVert_{F}^{2}
    """
    return FrobeniusSquared(w)


def tidy_ones(e: Any) -> Any:
    """Drop all-ones factors of elementwise products: ``(1 1ᵀ) ⊙ W`` -> ``W``."""
    def ones(m: Any) -> bool:
        if isinstance(m, OneMatrix):
            return True
        return isinstance(m, MatMul) and all(isinstance(a, OneMatrix) for a in m.args)

    def strip(h: HadamardProduct) -> Any:
        rest = [a for a in h.args if not ones(a)]
        if not rest:
            return OneMatrix(*h.shape)
        return rest[0] if len(rest) == 1 else HadamardProduct(*rest)

    if not isinstance(e, sp.Basic):
        return e
    out = e.replace(lambda m: isinstance(m, HadamardProduct) and any(ones(a) for a in m.args),
                    strip)
    return out.doit(deep=False) if isinstance(out, sp.MatAdd) else out


NORMALISATIONS: dict[str, tuple[type, type]] = {
    "layer": (LayerNorm, LayerNormScale), "rms": (RmsNorm, RmsNormScale),
}
"""Normalisation names accepted by :func:`mlp`: the layer and the scale it divides by."""


@dataclass
class Normalisation:
    """A layer's normalisation: ``σ = scale(a)``, ``â = (a - mean(a))/σ`` (LayerNorm) or
    ``a/σ`` (RMSNorm), ``z = g ⊙ â + β``; the activation then takes ``z``."""

    kind: str                       # "layer" or "rms"
    eps: sp.Expr
    gain: MatrixSymbol              # g_l
    shift: MatrixSymbol | None      # beta_l (LayerNorm only)
    sigma: sp.Symbol                # named scale (one number per sample)
    ahat: MatrixSymbol              # named normalised pre-activation
    z: MatrixSymbol                 # named input of the activation
    sigma_expr: sp.Expr             # sqrt(var(a) + eps) over the named a
    ahat_expr: MatrixExpr           # (a - mean(a))/sigma over the named a and sigma
    z_expr: MatrixExpr              # g .* ahat + beta over the named ahat

    def node(self, a: MatrixExpr) -> MatrixExpr:
        """The normalisation as one node of ``a``: ``layer_norm(a, eps)``."""
        return NORMALISATIONS[self.kind][0](a, self.eps)

    def scale_node(self, a: MatrixExpr) -> sp.Expr:
        return NORMALISATIONS[self.kind][1](a, self.eps)

    def affine(self, ahat: MatrixExpr) -> MatrixExpr:
        """``g ⊙ ahat + β``."""
        scaled = HadamardProduct(self.gain, ahat)
        return scaled + self.shift if self.shift is not None else scaled

    @property
    def params(self) -> list[MatrixSymbol]:
        return [self.gain] + ([self.shift] if self.shift is not None else [])


@dataclass
class Layer:
    """One layer: ``a = W h_prev + b`` and ``h = f(a)`` (or ``f(z)`` after a
    normalisation), named and nested."""

    index: int
    W: MatrixSymbol
    b: MatrixSymbol | None
    activation: str
    a: MatrixSymbol            # named pre-activation
    h: MatrixSymbol            # named activation (``y`` for the last layer)
    a_expr: MatrixExpr         # W h_prev + b over the named previous activation
    h_expr: MatrixExpr         # f(a) (or f(z)) over the named input of the activation
    norm: Normalisation | None = None

    @property
    def pre(self) -> MatrixSymbol:
        """The named input of the activation: ``z`` after a normalisation, else ``a``."""
        return self.norm.z if self.norm is not None else self.a

    @property
    def params(self) -> list[MatrixSymbol]:
        out = [self.W] + ([self.b] if self.b is not None else [])
        return out + (self.norm.params if self.norm is not None else [])


@dataclass
class Network:
    """A symbolic MLP built by :func:`mlp`; see the module docstring for the names.

    Parameters ``W1, W2, ...`` (``W_l`` of shape ``(n_l, n_{l-1})``), with ``bias`` also
    ``b1, b2, ...``, with a normalisation the gains ``g_l`` and shifts ``beta_l``; input
    ``x``, target ``t``. Each layer has a named pre-activation ``a_l = W_l h_{l-1} + b_l``
    and activation ``h_l = f_l(a_l)`` (``h_0 = x``; the last one is ``y``). ``loss`` is
    the whole nested expression, an ordinary symnorm expression (``sn.grad(net.loss,
    W1)`` works); :meth:`forward` lists the same computation over the named
    intermediates, which :func:`backprop` derives the deltas over. ``params`` lists the
    parameters in layer order, ``inputs`` the other kernel arguments (``x``, ``t``, a
    decay symbol).

    Made by :func:`symnorm.mlp`; not built by hand.

    Parameters
    ----------
    sizes : tuple of int
        The layer widths, input first.
    layers : list of Layer
        One record a layer: ``W``, ``b``, ``activation``, the named ``a`` and ``h``,
        their expressions ``a_expr`` and ``h_expr``, the normalisation.
    x, t, y : sympy.MatrixSymbol
        The input, the target and the named output.
    data_loss : sympy.Expr
        The loss over the named output ``y`` (``norm(y - t, 2)**2/2`` by default).
    decay : sympy.Expr
        ``lam*Σ_l ‖W_l‖_F²``, or 0 without weight decay.
    loss : sympy.Expr
        The whole loss over the parameters, ``x`` and ``t``: the data loss of the
        nested output plus the decay.
    output : sympy.MatrixExpr
        The nested network output.
    weight_decay : sympy.Expr or None
        The decay coefficient (a number or a symbol).
    loss_fn : callable, optional
        The function ``loss(y, t)`` the data loss was built with.

    Examples
    --------
    >>> import symnorm as sn
    >>> net = sn.mlp([2, 3, 1], "tanh", bias=True, weight_decay=True)
    >>> net
    <symnorm MLP 2-3-1 (tanh, tanh, bias, weight decay lam); loss norm(y - t, 2)**2/2>
    >>> net.sizes, net.params, net.inputs
    ((2, 3, 1), [W1, b1, W2, b2], [x, t, lam])
    >>> net.forward()
    [(a1, W1*x + b1), (h1, tanh(a1)), (a2, W2*h1 + b2), (y, tanh(a2))]
    >>> print(sn.to_text(net.loss))
    lam*(norm(W1, fro)**2 + norm(W2, fro)**2) + norm(tanh(W2*tanh(W1*x + b1) + b2) - t, 2)**2/2
    """

    sizes: tuple[int, ...]
    layers: list[Layer]
    x: MatrixSymbol
    t: MatrixSymbol
    y: MatrixSymbol
    data_loss: sp.Expr           # the loss over the named output y
    decay: sp.Expr               # lam * sum_l ||W_l||_F^2 (0 without weight decay)
    loss: sp.Expr                # the whole nested loss, over the parameters and x, t
    output: MatrixExpr           # the nested network output
    weight_decay: sp.Expr | None
    loss_fn: Callable[[Any, Any], Any] = field(repr=False, default=None)  # type: ignore

    @property
    def params(self) -> list[MatrixSymbol]:
        """``W1, b1, W2, b2, ...`` in layer order."""
        return [p for layer in self.layers for p in layer.params]

    @property
    def activations(self) -> list[str]:
        return [layer.activation for layer in self.layers]

    @property
    def inputs(self) -> list[sp.Basic]:
        """The kernel arguments that are not parameters (``x``, ``t`` and a decay symbol)."""
        out: list[sp.Basic] = [self.x, self.t]
        if isinstance(self.weight_decay, sp.Symbol):
            out.append(self.weight_decay)
        return out

    def forward(self) -> list[tuple[MatrixSymbol, MatrixExpr]]:
        """``[(a1, W1 x + b1), (h1, f(a1)), ..., (y, f(aL))]`` over named intermediates
        (with a normalisation ``σ1``, ``â1`` and ``z1`` between ``a1`` and ``h1``)."""
        eqs: list[tuple[MatrixSymbol, MatrixExpr]] = []
        for layer in self.layers:
            eqs.append((layer.a, layer.a_expr))
            if layer.norm is not None:
                eqs.append((layer.norm.sigma, layer.norm.sigma_expr))
                eqs.append((layer.norm.ahat, layer.norm.ahat_expr))
                eqs.append((layer.norm.z, layer.norm.z_expr))
            eqs.append((layer.h, layer.h_expr))
        return eqs

    def __repr__(self) -> str:
        acts = ", ".join(self.activations)
        extra = (", bias" if self.layers[0].b is not None else "") + (
            f", weight decay {to_text(self.weight_decay)}" if self.weight_decay is not None
            else "")
        norms = [la.norm.kind for la in self.layers if la.norm is not None]
        if norms:
            extra += f", {'/'.join(sorted(set(norms)))} norm"
        return (f"<symnorm MLP {'-'.join(map(str, self.sizes))} ({acts}{extra}); "
                f"loss {to_text(self.data_loss)}>")

    def _repr_latex_(self) -> str:
        lines = [rf"{latex(n)} &= {latex(e)}" for n, e in self.forward()]
        total = latex(self.data_loss) + (
            " + " + latex(self.decay) if self.decay != 0 else "")
        lines.append(rf"L &= {total}")
        return r"$$\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}$$"


def _activation_list(activation: str | Sequence[str], depth: int) -> list[str]:
    names = [activation] * depth if isinstance(activation, str) else list(activation)
    if len(names) != depth:
        raise NetworkError(f"activation: {depth} layer(s) need {depth} activation name(s), "
                           f"got {len(names)}: {names}")
    for name in names:
        if name not in ACTIVATIONS:
            raise NetworkError(f"unknown activation {name!r}; choose from "
                               f"{', '.join(ACTIVATIONS)}")
    return names


def _norm_list(norm: Any, depth: int) -> list[str | None]:
    """One normalisation (or None) per layer: a name normalises every hidden layer."""
    if norm is None:
        return [None] * depth
    if isinstance(norm, str):
        names: list[str | None] = [norm] * (depth - 1) + [None]
    else:
        names = list(norm)
        if len(names) != depth:
            raise NetworkError(f"norm: {depth} layer(s) need {depth} entries (a name or "
                               f"None each), got {len(names)}: {names}")
    for name in names:
        if name is not None and name not in NORMALISATIONS:
            raise NetworkError(f"unknown normalisation {name!r}; choose from "
                               f"{', '.join(NORMALISATIONS)} (or None)")
    return names


def _normalisation(kind: str, i: int, width: int, a: MatrixSymbol, eps: sp.Expr
                   ) -> Normalisation:
    gain = MatrixSymbol(f"g{i}", width, 1)
    shift = MatrixSymbol(f"beta{i}", width, 1) if kind == "layer" else None
    sigma = sp.Symbol(f"sigma{i}", positive=True)
    ahat = MatrixSymbol(f"ahat{i}", width, 1)
    z = MatrixSymbol(f"z{i}", width, 1)
    scale_node = NORMALISATIONS[kind][1](a, eps)
    centred = a - MatMul(Mean(a), OneMatrix(width, 1)) if kind == "layer" else a
    ahat_expr = MatMul(1 / sigma, centred)
    scaled = HadamardProduct(gain, ahat)
    z_expr = scaled + shift if shift is not None else scaled
    return Normalisation(kind, eps, gain, shift, sigma, ahat, z, scale_node, ahat_expr,
                         z_expr)


def _decay_coefficient(weight_decay: Any) -> sp.Expr | None:
    if weight_decay is None or weight_decay is False:
        return None
    if weight_decay is True:
        return sp.Symbol("lam", real=True)
    if isinstance(weight_decay, str):
        if not weight_decay.isidentifier():
            raise NetworkError(f"weight_decay: {weight_decay!r} is not a symbol name")
        return sp.Symbol(weight_decay, real=True)
    if isinstance(weight_decay, sp.Symbol):
        return weight_decay
    if isinstance(weight_decay, (int, float, sp.Number)) and not isinstance(weight_decay, bool):
        # exact, so 2*lam reads 1/50 rather than 0.0200000000000000
        value = sp.Rational(str(weight_decay)) if isinstance(weight_decay, float) else \
            sp.sympify(weight_decay)
        if value < 0:
            raise NetworkError(f"weight_decay must be >= 0, got {weight_decay}")
        return value
    raise NetworkError("weight_decay takes None, a number, a symbol name such as 'lam' or "
                       f"True (the symbol lam); got {weight_decay!r}")


def _squared_error(y: MatrixExpr, t: MatrixExpr) -> sp.Expr:
    return norm(y - t, 2)**2 / 2


def _l2_error(y: MatrixExpr, t: MatrixExpr) -> sp.Expr:
    return norm(y - t, 2)


def _l1_error(y: MatrixExpr, t: MatrixExpr) -> sp.Expr:
    return norm(y - t, 1)


LOSSES: dict[str, Callable[[Any, Any], sp.Expr]] = {
    "l2sq": _squared_error, "l2": _l2_error, "l1": _l1_error,
}
"""Loss names accepted by :func:`mlp` (the same as ``symnorm backprop --loss``) and the
function ``loss(y, t)`` each one builds: ``½‖y − t‖₂²``, ``‖y − t‖₂``, ``‖y − t‖₁``."""


def _loss_function(loss: Any) -> Callable[[Any, Any], Any]:
    if loss is None:
        return _squared_error
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise NetworkError(f"unknown loss {loss!r}; choose from "
                               f"{', '.join(map(repr, LOSSES))}, or pass a function "
                               f"loss(y, t) that returns a scalar expression")
        return LOSSES[loss]
    if not callable(loss):
        raise NetworkError(f"loss must be one of {', '.join(map(repr, LOSSES))} or a "
                           f"function loss(y, t), got {loss!r}")
    return loss


def mlp(sizes: Sequence[int], activation: str | Sequence[str] = "sigmoid",
        loss: str | Callable[[Any, Any], Any] | None = None, bias: bool = False,
        weight_decay: Any = None, norm: Any = None, eps: Any = DEFAULT_EPS) -> Network:
    r"""A symbolic multilayer perceptron with named layers.

    The network is plain symnorm expressions (see :class:`Network`): its ``loss`` can
    be differentiated by :func:`grad`, and :func:`backprop` derives its deltas and
    gradients layer by layer over the named intermediates.

    Parameters
    ----------
    sizes : sequence of int
        The layer widths from input to output (``[2, 3, 2]``: two inputs, three hidden
        units, two outputs); at least two positive integers.
    activation : str or sequence of str, optional
        ``"sigmoid"`` (default), ``"tanh"``, ``"relu"`` (its derivative at 0 is taken
        as 0, the minimum-norm subgradient), ``"softplus"`` or ``"identity"``, or a list
        with one name per layer.
    loss : str or callable, optional
        A name, as for ``symnorm backprop --loss``: ``"l2sq"`` for ``½‖y − t‖₂²`` (the
        default), ``"l2"`` for ``‖y − t‖₂``, ``"l1"`` for ``‖y − t‖₁``; or a function
        ``loss(y, t)`` that returns a scalar symnorm expression.
    bias : bool, optional
        Add a bias vector ``b_l`` to every layer (default False).
    weight_decay : number, str, sympy.Symbol or bool, optional
        Add ``λ Σ_l ‖W_l‖_F²``: a number ``>= 0``, a symbol name, a symbol, or ``True``
        for the symbol ``lam`` (default None: no decay).
    norm : str or sequence, optional
        Normalise the pre-activations: ``"layer"`` (LayerNorm, with a gain ``g_l`` and a
        shift ``beta_l``) or ``"rms"`` (RMSNorm, a gain only) for every hidden layer, or
        a list with a name or None per layer (default None).
    eps : number, optional
        The ``eps`` of the normalisations (default ``1/100000``).

    Returns
    -------
    Network
        The network: ``params``, ``output``, ``loss``, ``forward()``.

    Raises
    ------
    NetworkError
        For sizes, activations, normalisations, a weight decay or a loss it cannot
        build (an unknown name lists the valid ones), or a loss function that fails on
        the symbolic output. It is a :class:`SymnormError` and a ``ValueError``
        (defined in ``symnorm.backprop.network``).
    ShapeError
        If ``loss(y, t)`` is not a scalar.
    DomainError
        If ``eps`` is negative (with a normalisation).

    Examples
    --------
    >>> import symnorm as sn
    >>> net = sn.mlp([2, 3, 2])
    >>> net
    <symnorm MLP 2-3-2 (sigmoid, sigmoid); loss norm(y - t, 2)**2/2>
    >>> [str(p) for p in net.params]
    ['W1', 'W2']
    >>> print(sn.to_text(net.output))
    sigmoid(W2*sigmoid(W1*x))
    >>> sn.mlp([2, 1], "relu", loss=lambda y, t: sn.norm(y - t, 1), bias=True).params
    [W1, b1]
    >>> sn.mlp([2, 3, 2], loss="l1")
    <symnorm MLP 2-3-2 (sigmoid, sigmoid); loss norm(y - t, 1)>
    >>> net = sn.mlp([3, 4, 2], "tanh", norm="layer")
    >>> [str(p) for p in net.params]
    ['W1', 'g1', 'beta1', 'W2']
    >>> print(sn.to_text(net.output))
    tanh(W2*tanh(layer_norm(W1*x) .* g1 + beta1))
    >>> sn.mlp([2, 2], loss="l3")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symnorm.backprop.network.NetworkError: unknown loss 'l3'; choose from 'l2sq', 'l2', 'l1', ...
    >>> sn.mlp([2, 3], "gelu")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symnorm.backprop.network.NetworkError: unknown activation 'gelu'; choose from sigmoid, ...
    """
    try:
        widths = tuple(int(s) for s in sizes)
    except (TypeError, ValueError):
        raise NetworkError(f"sizes must be a list of positive integers, got {sizes!r}") from None
    if len(widths) < 2 or any(w < 1 for w in widths) or any(
            isinstance(s, bool) or float(s) != int(s) for s in sizes):
        raise NetworkError(f"sizes must be at least two positive integers (input, ..., "
                           f"output), got {list(sizes)!r}")
    depth = len(widths) - 1
    acts = _activation_list(activation, depth)
    norms = _norm_list(norm, depth)
    lam = _decay_coefficient(weight_decay)
    x = MatrixSymbol("x", widths[0], 1)
    t = MatrixSymbol("t", widths[-1], 1)
    layers: list[Layer] = []
    prev, prev_nested = x, x
    nested = x
    for i in range(1, depth + 1):
        W = MatrixSymbol(f"W{i}", widths[i], widths[i - 1])
        b = MatrixSymbol(f"b{i}", widths[i], 1) if bias else None
        a = MatrixSymbol(f"a{i}", widths[i], 1)
        h = MatrixSymbol("y" if i == depth else f"h{i}", widths[i], 1)
        act = ACTIVATIONS[acts[i - 1]]
        a_expr = W * prev + b if b is not None else W * prev
        a_nested = W * prev_nested + b if b is not None else W * prev_nested
        nl = None if norms[i - 1] is None else _normalisation(norms[i - 1], i, widths[i], a,
                                                             eps_value(eps, "mlp"))
        pre, pre_nested = a, a_nested
        if nl is not None:
            pre, pre_nested = nl.z, nl.affine(nl.node(a_nested))
        h_expr = pre if act is IdentityMap else act(pre)
        nested = pre_nested if act is IdentityMap else act(pre_nested)
        layers.append(Layer(i, W, b, acts[i - 1], a, h, a_expr, h_expr, nl))
        prev, prev_nested = h, nested
    loss_fn = _loss_function(loss)
    data_loss = _scalar_loss(loss_fn, layers[-1].h, t)
    nested_loss = _scalar_loss(loss_fn, nested, t)
    decay: sp.Expr = sp.Integer(0)
    if lam is not None:
        decay = lam * sp.Add(*[frobenius_squared(layer.W) for layer in layers])
    return Network(widths, layers, x, t, layers[-1].h, data_loss, decay,
                   nested_loss + decay, nested, lam, loss_fn)


def _scalar_loss(loss_fn: Callable[[Any, Any], Any], y: MatrixExpr, t: MatrixExpr) -> sp.Expr:
    try:
        value = loss_fn(y, t)
    except SymnormError:
        raise
    except Exception as err:  # the user's callable failed on symbolic input
        raise NetworkError(f"loss(y, t) failed on the symbolic output {to_text(y)}: "
                           f"{type(err).__name__}: {err}") from err
    if isinstance(value, MatrixExpr):
        if value.shape != (1, 1):
            raise ShapeError(f"loss(y, t) must be a scalar, got the {value.shape[0]}x"
                             f"{value.shape[1]} expression {to_text(value)}")
        value = ScalarOf(value)
    if not isinstance(value, sp.Expr):
        raise NetworkError(f"loss(y, t) must return a symnorm expression, got {value!r}")
    return value
