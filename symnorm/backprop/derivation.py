"""``sn.backprop``: the chain rule of a network as the deltas and update rules people write.

Everything here is derived by the engine over named intermediates:

* ``δ_L = ∂L/∂a_L`` is the engine's gradient of ``loss(f_L(a_L), t)`` with respect to
  the symbol ``a_L``; ``f_L(a_L)`` is then written back as ``y`` (so the sigmoid's
  ``σ(a) ⊙ (1 − σ(a))`` reads ``y ⊙ (1 − y)``);
* ``δ_l = ∂L/∂a_l`` is the engine's reverse-mode product ``J(a_l)ᵀ δ_{l+1}`` of
  ``a_{l+1} = W_{l+1} f_l(a_l) + b_{l+1}`` with the symbol ``δ_{l+1}``;
* ``∂L/∂W_l`` and ``∂L/∂b_l`` are the same product for ``a_l = W_l h_{l-1} + b_l``
  (``δ_l h_{l-1}ᵀ`` and ``δ_l``), plus the engine's gradient of the weight decay;
* after a normalisation ``z_l = g_l ⊙ â_l + β_l``, ``δᶻ_l = ∂L/∂z_l`` is derived as
  ``δ_l`` above, and ``δ_l`` is the engine's product ``J(a_l)ᵀ δᶻ_l`` through
  ``g_l ⊙ layer_norm(a_l) + β_l`` (the LayerNorm rule's VJP), written back over the
  named ``â_l``, ``σ_l`` and ``ĝ_l = g_l ⊙ δᶻ_l``: ``(ĝ − mean(ĝ) − â ⊙ mean(ĝ ⊙ â))/σ``,
  as the papers write it; ``∂L/∂g_l = δᶻ_l ⊙ â_l`` and ``∂L/∂β_l = δᶻ_l``;
* the index forms come from the closed forms by the definitions of the matrix
  operations (:mod:`symnorm.backprop.index_form`).

Every gradient is checked against central differences of the loss before it is
returned (``check=False`` switches that off).
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy import HadamardProduct, MatAdd
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol

from ..calculus.algebra import as_scalar
from ..calculus.derivation import Step
from ..calculus.engine import Recorder, grad_scalar, vjp
from ..model.errors import UnsupportedExpressionError
from ..model.shapes import check_shapes
from ..model.text import to_text
from ..presentation.latex import latex
from ..rules import Kink
from .check import ensure
from .network import Network, tidy_ones
from .result import Backprop, Named, ParamDict, Partial

# -- derivation ------------------------------------------------------------------------

def _written_back(e: Any, layer: Any) -> Any:
    """``f(a_l)`` (or ``f(z_l)``) -> ``h_l``: the activation's value under its name."""
    if layer.h_expr == layer.pre:  # identity: the input and h_l are the same vector
        return e.xreplace({layer.pre: layer.h})
    return e.xreplace({layer.h_expr: layer.h})


def _normalised_back(e: Any, layer: Any, dz: MatrixSymbol, ghat: MatrixSymbol) -> Any:
    """The LayerNorm (RMSNorm) node and its scale of ``a_l`` written as the named ``â_l``
    and ``σ_l``, and ``g_l ⊙ δᶻ_l`` as ``ĝ_l``."""
    nl = layer.norm
    e = e.xreplace({nl.node(layer.a): nl.ahat, nl.scale_node(layer.a): nl.sigma})
    pair = {dz, nl.gain}

    def named(h: HadamardProduct) -> Any:
        rest = [a for a in h.args if a not in pair]
        if not rest:
            return ghat
        return HadamardProduct(ghat, *rest)

    return e.replace(lambda n: isinstance(n, HadamardProduct) and pair <= set(n.args),
                     named)


def _derive_network(net: Network) -> Backprop:
    rec = Recorder()
    L = len(net.layers)
    steps: list[Step] = []
    for name, expr in net.forward():
        steps.append(Step("forward", name, expr, "forward pass"))
    total = net.data_loss + net.decay
    steps.append(Step("loss", sp.Symbol("L"), total, "the loss"))

    deltas: dict[int, MatrixExpr] = {}
    symbols: dict[int, MatrixSymbol] = {}
    backward: list[tuple[MatrixSymbol, MatrixExpr]] = []
    grads = ParamDict()
    for layer in net.layers:
        symbols[layer.index] = MatrixSymbol(f"delta{layer.index}", layer.a.shape[0], 1)

    top = net.layers[-1]
    out_loss = as_scalar(net.data_loss.xreplace({net.y: top.h_expr}))
    d = grad_scalar(out_loss, top.pre, rec)
    if d is None:
        raise UnsupportedExpressionError(f"the loss {to_text(net.data_loss)} does not depend "
                                         "on the network output")
    for layer in reversed(net.layers):
        k = layer.index
        if k < L:
            above = net.layers[k]  # layer k + 1
            d = vjp(above.a_expr.xreplace({layer.h: layer.h_expr}), layer.pre, symbols[k + 1],
                    rec)
        d = tidy_ones(_written_back(d, layer))
        through = "output layer" if k == L else \
            f"layer {k}: by the chain rule through $W_{{{k + 1}}}$"
        nl = layer.norm
        if nl is None:
            deltas[k] = d
            steps.append(Step("delta", Named(symbols[k], Partial(layer.a)), d,
                              "output layer: its delta" if k == L else f"{through}: its delta"))
        else:
            dz = MatrixSymbol(f"deltaz{k}", layer.a.shape[0], 1)
            ghat = MatrixSymbol(f"ghat{k}", layer.a.shape[0], 1)
            steps.append(Step("delta", Named(dz, Partial(nl.z)), d,
                              f"{through}: delta of the normalised layer's output"))
            ghat_expr = HadamardProduct(nl.gain, dz)
            steps.append(Step("gain", ghat, ghat_expr, f"layer {k}: the gain times it"))
            raw = vjp(nl.affine(nl.node(layer.a)), layer.a, dz, rec)
            deltas[k] = tidy_ones(_normalised_back(raw, layer, dz, ghat))
            steps.append(Step("delta", Named(symbols[k], Partial(layer.a)), deltas[k],
                              f"layer {k}: delta through the {nl.kind} normalisation (the "
                              f"rule's VJP, over the named quantities)"))
            backward += [(dz, d), (ghat, ghat_expr)]
        backward.append((symbols[k], deltas[k]))
        for p in layer.params:
            if nl is not None and p in nl.params:
                g = vjp(nl.z_expr, p, dz, rec)
                what = "gain" if p == nl.gain else "shift"
            else:
                g = vjp(layer.a_expr, p, symbols[k], rec)
                what = "weights" if p == layer.W else "bias"
            if p == layer.W and net.decay != 0:
                g_decay = grad_scalar(net.decay, p, rec)
                if g_decay is not None:
                    g = MatAdd(g, tidy_ones(g_decay)).doit(deep=False)
            grads[p] = g
            steps.append(Step("gradient", Partial(p), g,
                              f"layer {k}: the gradient of the {what}"))
    kinks = list(rec.kinks)
    return Backprop(loss=net.loss, params=net.params, grads=grads, network=net,
                    forward=net.forward(), deltas=deltas, delta_symbols=symbols,
                    backward=backward, steps=steps, kinks=_named_kinks(kinks, net))


def _named_kinks(kinks: list[Kink], net: Network) -> list[Kink]:
    """Kinks found over ``f(a_L)`` described over ``y`` when that is how they read."""
    top = net.layers[-1]
    return [k.replaced(top.h_expr, net.y) for k in kinks]


def _derive_general(loss: Any, params: list) -> Backprop:
    f = as_scalar(loss)
    check_shapes(f)
    rec = Recorder()
    grads = ParamDict()
    steps = [Step("loss", sp.Symbol("L"), f, "the loss")]
    for p in params:
        if not isinstance(p, MatrixSymbol):
            raise UnsupportedExpressionError(
                f"parameters must be vectors or matrices made by sn.vector/sn.matrix, got {p!r}")
        g = grad_scalar(f, p, rec)
        if g is None:
            from sympy import ZeroMatrix

            g = ZeroMatrix(*p.shape)
        g = tidy_ones(g)
        grads[p] = g
        steps.append(Step("gradient", Partial(p), g, f"the gradient with respect to ${latex(p)}$"))
    return Backprop(loss=f, params=list(params), grads=grads, steps=steps,
                    kinks=list(rec.kinks))


def backprop(net: Any, params: list | None = None, *, check: bool = True,
             **check_options: Any) -> Backprop:
    r"""Backpropagation for a network from :func:`symnorm.mlp`, or for ``(loss, params)``.

    For a loss that is not a network, ``params`` are the vectors and matrices to
    differentiate; the kernel then batches the other vectors (data, one sample a row)
    and takes matrices and scalars that are not parameters as constants.

    The deltas, gradients and index forms are derived by the engine over the named
    intermediates (``a_l``, ``h_l``, ``δ_l``), then every gradient is checked against
    central differences of the loss at random points (``check=False`` switches that
    off).

    Parameters
    ----------
    net : Network or sympy.Expr
        A network made by :func:`mlp`, or a scalar loss.
    params : list of sympy.MatrixSymbol, optional
        For a loss, the parameters to differentiate (required); for a network, leave it
        out (the network's parameters are used).
    check : bool, optional
        Check every gradient against central differences (default True).
    **check_options
        Passed to the check (:meth:`Backprop.check`): ``points`` (default 3), ``seed``
        (default 0), ``rtol`` (default 1e-5), ``step`` (default 1e-6).

    Returns
    -------
    Backprop
        ``forward``, ``deltas``, ``grads``, ``steps``, ``report``; ``kernel()``,
        ``components(param)``, ``update_rules(eta)``.

    Raises
    ------
    TypeError
        If ``params`` is given with a network, or missing with a loss.
    UnsupportedExpressionError
        If the loss has a node without a derivative rule.
    CheckFailedError
        If a derived gradient disagrees with central differences (naming the
        parameter and the point).

    Examples
    --------
    >>> import numpy as np, symnorm as sn
    >>> bp = sn.backprop(sn.mlp([2, 3, 2]))
    >>> print(sn.to_text(bp.deltas[2]))
    (y - t) .* y .* (1 - y)
    >>> print(sn.to_text(bp.deltas[1]))
    (W2.T*delta2) .* h1 .* (1 - h1)
    >>> print(sn.to_text(bp.grads["W1"]))
    delta1*x.T
    >>> bp.report.ok
    True

    Any scalar loss, with the parameters named:

    >>> W, x, t = sn.matrix("W", "m", "n"), sn.vector("x"), sn.vector("t", "m")
    >>> bp = sn.backprop(sn.norm(W*x - t, 2)**2/2, [W])
    >>> print(sn.to_text(bp.grads["W"]))
    (W*x - t)*x.T
    >>> k = bp.kernel()
    >>> k(x=np.array([[1.0, 2.0]]), t=np.array([[0.0, 0.0]]), W=np.eye(2))["W"]
    array([[1., 2.],
           [2., 4.]])
    >>> sn.backprop(sn.norm(W*x - t, 2))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: backprop(loss, params): name the parameters to differentiate, e.g. ...
    """
    if isinstance(net, Network):
        if params is not None:
            raise TypeError("backprop(net) takes the parameters from the network; "
                            "pass params only with a loss expression")
        bp = _derive_network(net)
    else:
        if params is None:
            raise TypeError("backprop(loss, params): name the parameters to differentiate, "
                            "e.g. backprop(loss, [W1, W2])")
        bp = _derive_general(net, list(params))
    if check:
        ensure(bp, **check_options)
    return bp
