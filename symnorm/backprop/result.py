"""What ``sn.backprop`` returns: the deltas, gradients, index forms and update rules of a
network, shown as the papers write them, with the fused kernel and the check."""


from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sympy as sp
from sympy import MatAdd, MatMul
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol

from ..calculus.derivation import Step, step_rows
from ..model.text import to_text
from ..presentation.blocks import (
    Block,
    Equations,
    Paragraph,
    Row,
    Shown,
    heading,
    render_document,
    render_mathjax,
)
from ..presentation.latex import latex
from ..presentation.prose import Math, Note, note
from ..presentation.shown_expr import ShownDict
from ..rules import Kink
from .check import check_backprop
from .index_form import LETTERS, Entries, Written, WrittenSum, component, index_symbol
from .kernel import build_kernel
from .network import Network

if TYPE_CHECKING:
    from .check import BackpropReport
    from .kernel import BackpropKernel


class Partial:
    r"""``∂L/∂v`` shown as a fraction (display only); ``entry`` gives ``∂L/∂v_{kj}``."""

    def __init__(self, wrt: Any, entry: Any = None, of: str = "L") -> None:
        self.wrt = wrt
        self.entry = entry
        self.of = of

    def latex(self) -> str:
        target = latex(self.entry if self.entry is not None else self.wrt)
        return rf"\frac{{\partial {self.of}}}{{\partial {target}}}"

    def text(self) -> str:
        target = to_text(self.entry if self.entry is not None else self.wrt)
        return f"d{self.of}/d{target}"

    def __repr__(self) -> str:
        return self.text()


class Named:
    """``δ_2 = ∂L/∂a_2``: a name and what it stands for (display only)."""

    def __init__(self, name: Any, meaning: Any) -> None:
        self.name = name
        self.meaning = meaning

    def latex(self) -> str:
        return f"{latex(self.name)} = {self.meaning.latex()}"

    def text(self) -> str:
        return f"{to_text(self.name)} = {self.meaning.text()}"


class Arrow:
    """``W ← expression`` (display only)."""

    def __init__(self, target: Any, value: Any) -> None:
        self.target = target
        self.value = value

    def latex(self) -> str:
        v = self.value.latex() if hasattr(self.value, "latex") else latex(self.value)
        return rf"{latex(self.target)} \leftarrow {v}"

    def text(self) -> str:
        v = self.value.text() if hasattr(self.value, "text") else to_text(self.value)
        return f"{to_text(self.target)} <- {v}"


def _partial_label(p: Any) -> Math:
    return Math(Partial(p).latex(), Partial(p).text())


class ParamDict(ShownDict):
    """The gradients, keyed by parameter (a symbol or its name: ``grads["W1"]``); a value
    shows itself as ``∂L/∂W1 = ...`` (``.expr`` is the SymPy expression, and
    :meth:`expr` gives it by key)."""

    def __init__(self, data: Any = ()) -> None:
        super().__init__(data, label=_partial_label)


@dataclass(repr=False)
class Component:
    """``∂L/∂w_{kj}`` in index form: ``entry`` the weight's entry, ``value`` the written
    product (``.expr`` the SymPy expression), ``delta`` the index form of the delta."""

    param: MatrixSymbol
    entry: sp.Expr
    value: Written | WrittenSum
    indices: tuple[sp.Symbol, ...]

    @property
    def expr(self) -> sp.Expr:
        return self.value.expr

    def latex(self) -> str:
        return f"{Partial(self.param, self.entry).latex()} = {self.value.latex()}"

    def text(self) -> str:
        return f"{Partial(self.param, self.entry).text()} = {self.value.text()}"

    def _repr_latex_(self) -> str:
        return f"$${self.latex()}$$"

    def __repr__(self) -> str:
        return self.text()

    def _document_section_(self, caption: str | None = None) -> list[str]:
        """This index form as a section of :func:`symnorm.latex_document`."""
        row = Row(Math(Partial(self.param, self.entry).latex(),
                       Partial(self.param, self.entry).text()),
                  Math(self.value.latex(), self.value.text()))
        title = caption or note("The gradient of one entry of ",
                                Math(latex(self.param), to_text(self.param))).latex()
        return [heading(title), *render_document([Equations([row])])]


@dataclass(repr=False)
class UpdateRule:
    """``W ← W − η ∂L/∂W``, in matrix form and (for a network) index form."""

    param: MatrixSymbol
    eta: sp.Expr
    matrix: Any            # W - eta*grad, a SymPy matrix expression
    gradient: Any
    component: Component | None

    def matrix_latex(self) -> str:
        """The matrix form, ``W \\leftarrow W - \\eta \\ldots``."""
        return Arrow(self.param, self.matrix).latex()

    def index_latex(self) -> str | None:
        """The index form for one entry (None when there is no network to index)."""
        if self.component is None:
            return None
        c = self.component
        return (rf"{latex(c.entry)} \leftarrow {latex(c.entry)} - "
                rf"{latex(self.eta)} \, {_bracket(c.value)}")

    def latex(self) -> str:
        """Matrix form, and the index form on the line below it (so it fits a page)."""
        index = self.index_latex()
        if index is None:
            return self.matrix_latex()
        return (r"\begin{gathered}" + "\n" + self.matrix_latex() + r" \\" + "\n" + index
                + "\n" + r"\end{gathered}")

    def _repr_latex_(self) -> str:
        return f"$${self.latex()}$$"

    def text(self) -> str:
        line = Arrow(self.param, self.matrix).text()
        if self.component is not None:
            c = self.component
            line += (f"    {to_text(c.entry)} <- {to_text(c.entry)} - "
                     f"{to_text(self.eta)}*{_bracket_text(c.value)}")
        return line

    def __repr__(self) -> str:
        return self.text()

    def _document_section_(self, caption: str | None = None) -> list[str]:
        """This rule, matrix and index form, as a section of :func:`symnorm.latex_document`."""
        title = caption or note("The gradient step for ",
                                Math(latex(self.param), to_text(self.param))).latex()
        return [heading(title), *render_document([Equations(self.rows())])]

    def rows(self) -> list[Row]:
        """The matrix form and the index form as display rows."""
        out = [Row(Math(latex(self.param), to_text(self.param)),
                   Math(latex(self.matrix), to_text(self.matrix)), Note("matrix form"),
                   Math(r"\leftarrow", "<-"))]
        if self.component is not None:
            c = self.component
            out.append(Row(Math(latex(c.entry), to_text(c.entry)),
                           Math(rf"{latex(c.entry)} - {latex(self.eta)} \, {_bracket(c.value)}",
                                f"{to_text(c.entry)} - {to_text(self.eta)}*"
                                f"{_bracket_text(c.value)}"),
                           Note("one entry"), Math(r"\leftarrow", "<-")))
        return out


class UpdateRules(list):
    """The update rules of every parameter: a list that shows as one aligned block."""

    def __repr__(self) -> str:
        return "\n".join(u.text() for u in self)

    def latex(self) -> str:
        """Every rule, matrix form and index form, aligned at the arrow."""
        rows = [Row(r.lhs, r.rhs, Note(), r.relation) for u in self for r in u.rows()]
        return render_mathjax([Equations(rows)])

    def _repr_latex_(self) -> str:
        return "$$" + self.latex() + "$$"

    def _document_section_(self, caption: str | None = None) -> list[str]:
        """Every rule as one section of :func:`symnorm.latex_document`."""
        rows = [r for u in self for r in u.rows()]
        return [heading(caption or "Gradient steps"), *render_document([Equations(rows)])]


def _bracket(w: Written | WrittenSum) -> str:
    return rf"\left({w.latex()}\right)" if len(w.factors) > 1 or isinstance(
        w.expr, sp.Add) else w.latex()


def _bracket_text(w: Written | WrittenSum) -> str:
    return f"({w.text()})" if len(w.factors) > 1 or isinstance(w.expr, sp.Add) else w.text()


@dataclass(repr=False)
class Backprop(Shown):
    """The backpropagation derivation of a network (or of any scalar loss).

    ``forward`` is the forward pass over named intermediates; ``deltas[l]`` is
    ``δ_l = ∂L/∂a_l`` in closed matrix form over them (keyed by layer number);
    ``backward`` lists every named quantity of the backward pass in the order it is
    computed (the deltas, and after a normalisation ``δᶻ_l`` and ``ĝ_l`` before ``δ_l``);
    ``grads[param]`` (a symbol or its name) is ``∂L/∂param`` over the deltas;
    ``steps`` is the whole derivation, forward pass first, then the backward pass layer
    by layer; ``report`` is the finite-difference check run when it was made.

    ``kernel()`` is one fused numpy function (the forward pass once, every gradient
    from it), ``components(param)`` the index form of a gradient, ``update_rules(eta)``
    the gradient-descent updates, ``check()`` the check again; ``latex()`` and the
    Jupyter display show the whole derivation.

    Made by :func:`symnorm.backprop`; not built by hand.

    Parameters
    ----------
    loss : sympy.Expr
        The scalar loss.
    params : list of sympy.MatrixSymbol
        The parameters differentiated.
    grads : dict
        ``∂L/∂param`` for each parameter (looked up by symbol or name).
    network : Network, optional
        The network, when the loss is one.
    forward : list of (symbol, expression), optional
        The forward pass over named intermediates.
    deltas : dict of int to sympy.MatrixExpr, optional
        ``δ_l = ∂L/∂a_l`` by layer number.
    delta_symbols : dict of int to sympy.MatrixSymbol, optional
        The names of the deltas (``delta1``, ``delta2``, ...).
    backward : list of (symbol, expression), optional
        The backward pass, in the order it is computed.
    steps : list of Step, optional
        The whole derivation.
    kinks : list, optional
        Where a gradient does not exist (``relu`` at 0, an L1 loss at ``y = t``) and
        what the kernel returns there.
    report : BackpropReport, optional
        The check run when it was made.

    Examples
    --------
    >>> import symnorm as sn
    >>> bp = sn.backprop(sn.mlp([2, 3, 2]))
    >>> bp  # doctest: +NORMALIZE_WHITESPACE
    <backprop of <symnorm MLP 2-3-2 (sigmoid, sigmoid); loss norm(y - t, 2)**2/2>:
     dL/dW1 = delta1*x.T, dL/dW2 = delta2*h1.T>
    >>> bp.forward
    [(a1, W1*x), (h1, sigmoid(a1)), (a2, W2*h1), (y, sigmoid(a2))]
    >>> print(sn.to_text(bp.deltas[1]))
    (W2.T*delta2) .* h1 .* (1 - h1)
    >>> print(sn.to_text(bp.grads["W2"]))
    delta2*h1.T
    >>> print(bp.components("W2").text())
    dL/dW2[k, j] = (y[k] - t[k])*y[k]*(1 - y[k])*h1[j]
    >>> bp.report.ok
    True
    """

    loss: sp.Expr
    params: list[MatrixSymbol]
    grads: ParamDict
    network: Network | None = None
    forward: list[tuple[MatrixSymbol, MatrixExpr]] = field(default_factory=list)
    deltas: dict[int, MatrixExpr] = field(default_factory=dict)
    delta_symbols: dict[int, MatrixSymbol] = field(default_factory=dict)
    backward: list[tuple[MatrixSymbol, MatrixExpr]] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    kinks: list[Kink] = field(default_factory=list)
    report: "BackpropReport | None" = field(default=None, repr=False)
    _kernels: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.grads, ParamDict):
            self.grads = ParamDict(self.grads)
        if not isinstance(self.deltas, ShownDict):
            symbols = self.delta_symbols
            self.deltas = ShownDict(  # type: ignore[assignment]
                self.deltas, label=lambda k: Math(
                    Named(symbols[k], Partial(self._a(k))).latex(),
                    Named(symbols[k], Partial(self._a(k))).text()) if k in symbols else
                Math(rf"\delta_{{{k}}}", f"delta{k}"))

    def _a(self, k: int) -> Any:
        net = self.network
        return net.layers[k - 1].a if net is not None else sp.Symbol(f"a{k}")

    # -- derived views -------------------------------------------------------------
    def expanded(self, param: Any) -> MatrixExpr:
        """``∂L/∂param`` with every delta written out (over the named intermediates).

        >>> import symnorm as sn
        >>> bp = sn.backprop(sn.mlp([2, 3, 2]), check=False)
        >>> print(sn.to_text(bp.expanded("W2")))
        ((y - t) .* y .* (1 - y))*h1.T
        """
        g = self.grads.expr(param)
        subs = {self.delta_symbols[k]: self.deltas.expr(k) for k in self.delta_symbols}
        subs.update(dict(self.backward))
        for _ in range(len(subs)):
            g = g.xreplace(subs)
        return g

    def components(self, param: Any) -> Component:
        """The index form of one parameter's gradient, derived from the closed form.

        For a network, deltas of the layer above stay named (``δ_k``), the layer's own
        delta is written out, as in ``∂L/∂w_ji = (Σ_k δ_k u_kj) h_j (1 − h_j) x_i``.

        >>> import symnorm as sn
        >>> bp = sn.backprop(sn.mlp([2, 3, 2]), check=False)
        >>> print(bp.components("W2").text())
        dL/dW2[k, j] = (y[k] - t[k])*y[k]*(1 - y[k])*h1[j]
        """
        p = self._param(param)
        g = self.grads.expr(p)
        if self.network is not None:
            layer = next(la for la in self.network.layers if p in la.params)
            own = self.delta_symbols[layer.index]
            g = g.xreplace({own: self.deltas.expr(layer.index)})
            letter = self._letter_of
            rows = LETTERS[layer.index]
            cols = LETTERS[layer.index - 1]
        else:
            letter = None
            rows, cols = "i", "j"
        weights = {la.W for la in self.network.layers} if self.network is not None else set()
        is_matrix = p in weights or p.shape[1] != 1
        r = index_symbol(rows)
        c = index_symbol(cols) if is_matrix else sp.Integer(1)
        taken = {rows} | ({cols} if is_matrix else set())
        entries = Entries(letter, taken, weights)
        entry = component(p, r, c, p in weights)
        terms = list(g.args) if isinstance(g, MatAdd) else [g]
        if len(terms) == 1:
            value: Written | WrittenSum = Written(entries.factors(g, r, c))
        else:  # the backpropagated term first, then e.g. the weight decay's 2 lam W
            terms.sort(key=lambda t: p in t.free_symbols)
            value = WrittenSum([Written(entries.factors(t, r, c)) for t in terms])
        indices = (r, c) if is_matrix else (r,)
        return Component(p, entry, value, indices)

    def update_rules(self, eta: Any = "eta") -> "UpdateRules":
        """``param ← param − η ∂L/∂param`` for every parameter, matrix and index form.

        >>> import symnorm as sn
        >>> bp = sn.backprop(sn.mlp([2, 3, 2]), check=False)
        >>> rule = bp.update_rules()[1]
        >>> print(sn.to_text(rule.matrix))
        W2 - eta*delta2*h1.T
        >>> print(rule.text().split("    ")[1])
        W2[k, j] <- W2[k, j] - eta*((y[k] - t[k])*y[k]*(1 - y[k])*h1[j])
        """
        e = sp.Symbol(eta, positive=True) if isinstance(eta, str) else sp.sympify(eta)
        rules = UpdateRules()
        for p in self.params:
            g = self.grads.expr(p)
            step = MatMul(-e, *g.args) if isinstance(g, MatMul) else MatMul(-e, g)
            rules.append(UpdateRule(p, e, MatAdd(p, step), g, self.components(p)))
        return rules

    # -- display ---------------------------------------------------------------------
    def _title_(self) -> Note:
        net = self.network
        if net is None:
            return note("Backpropagation of ", Math(latex(self.loss), to_text(self.loss)))
        sizes = "–".join(map(str, net.sizes))
        acts = sorted(set(net.activations), key=net.activations.index)
        kinds = sorted({la.norm.kind for la in net.layers if la.norm is not None})
        names = {"layer": "LayerNorm", "rms": "RMSNorm"}
        with_norm = f" with {' and '.join(names[k] for k in kinds)}" if kinds else ""
        return Note(f"Backpropagation through a {sizes} network ({', '.join(acts)})"
                    + with_norm)

    def _blocks_(self) -> list[Block]:
        """The forward pass, the loss, then layer by layer the delta and the gradients;
        the kinks as sentences; the check as a small table."""
        out: list[Block] = [Equations(step_rows(self.steps))]
        out += [Paragraph(note("not valid where ", Math(k.where_latex(latex), k.where),
                               "; kernels return ",
                               Note(k.returns_latex, k.returns) if k.returns_latex
                               else Note.of(k.returns)))
                for k in self.kinks]
        if self.report is not None:
            out += self.report._compact_blocks_()
        return out

    def latex(self) -> str:
        r"""LaTeX: an ``aligned`` block, forward pass, then backward pass, one step a line;
        each step's rule is numbered (the rows of the forward pass share one number) and
        written under the block with the kinks, so nothing runs off the page.

        >>> import symnorm as sn
        >>> tex = sn.backprop(sn.mlp([2, 3, 2]), check=False).latex()
        >>> row = next(r for r in tex.splitlines() if r.startswith(r"\delta_{2}"))
        >>> print(row.split(" &= ")[1].split(" && ")[0])
        \left(y - t\right) \odot y \odot \left(1 - y\right)
        """
        return Shown.latex(self)

    def text(self) -> str:
        """Plain text, one step a line, then the kinks and the check."""
        lines = [f"{s.text()}    [{Note.of(s.note or s.rule).text()}]" for s in self.steps]
        for k in self.kinks:
            lines.append(f"not valid where {k.where}; kernels return {k.returns}")
        if self.report is not None:
            lines.append(self.report.summary())
        return "\n".join(lines)

    def __repr__(self) -> str:
        grads = ", ".join(f"dL/d{p.name} = {to_text(self.grads.expr(p))}" for p in self.params)
        what = repr(self.network) if self.network is not None else to_text(self.loss)
        return f"<backprop of {what}: {grads}>"

    def to_dict(self, eta: Any = "eta") -> dict:
        """A JSON-ready summary: forward pass, deltas, gradients, update rules, check."""
        return {
            "loss": to_text(self.loss),
            "params": [p.name for p in self.params],
            "forward": [{"name": to_text(n), "value": to_text(e), "latex": latex(e)}
                        for n, e in self.forward],
            "deltas": [{"layer": k, "name": to_text(self.delta_symbols[k]),
                        "value": to_text(v), "latex": latex(v)}
                       for k, v in sorted(self.deltas.items(), reverse=True)],
            "grads": [{"param": p.name, "value": to_text(self.grads.expr(p)),
                       "latex": latex(self.grads.expr(p)),
                       "index": self.components(p).text()} for p in self.params],
            "update_rules": [{"param": u.param.name, "text": u.text(), "latex": u.latex()}
                             for u in self.update_rules(eta)],
            "kinks": [{"where": k.where, "kernel_returns": k.returns} for k in self.kinks],
            "check": None if self.report is None else self.report.to_dict(),
        }

    # -- use -------------------------------------------------------------------------
    def kernel(self, reduce: str | None = "mean",
               backend: str | None = None) -> "BackpropKernel":
        """ONE numpy function: the forward pass once, every gradient from it.

        Call it with keyword arguments (``k(x=..., t=..., W1=..., W2=...)``); it returns
        ``{"W1": ∂L/∂W1, ..., "loss": L}``. ``x`` of shape ``(B, n_in)`` and ``t`` of
        shape ``(B, n_out)`` give the gradient of the mean loss (``reduce="sum"``: of
        the sum; ``reduce=None``: per sample, with a leading batch axis).

        Called on JAX, PyTorch, CuPy or Dask arrays the kernel computes with that
        library and returns its arrays; ``backend="jax"`` compiles it with ``jax.jit``,
        other names convert numpy arguments to that library
        (:meth:`BackpropKernel.with_backend`). On Dask the batch may be chunked: the
        gradients are sums of per-chunk products, returned lazy
        (:mod:`symnorm.backprop.backends`).

        >>> import numpy as np, symnorm as sn
        >>> k = sn.backprop(sn.mlp([2, 3, 2]), check=False).kernel()
        >>> out = k(x=np.ones(2), t=np.zeros(2), W1=np.zeros((3, 2)), W2=np.zeros((2, 3)))
        >>> sorted(out), round(float(out["loss"]), 12)
        (['W1', 'W2', 'loss'], 0.25)
        """

        if reduce not in ("mean", "sum", None):
            raise ValueError(f"reduce must be 'mean', 'sum' or None, got {reduce!r}")
        if reduce not in self._kernels:
            self._kernels[reduce] = build_kernel(self, reduce)
        k: BackpropKernel = self._kernels[reduce]
        if backend is None:
            return k
        key = (reduce, backend)  # one twin per backend: its compiled code is kept
        if key not in self._kernels:
            self._kernels[key] = k.with_backend(backend)
        twin: BackpropKernel = self._kernels[key]
        return twin

    def check(self, **options: Any) -> "BackpropReport":
        """Compare every gradient with central differences of the loss.

        Options: ``points`` (random points, default 3), ``seed``, ``rtol``, ``step``.

        >>> import symnorm as sn
        >>> report = sn.backprop(sn.mlp([3, 2], "relu"), check=False).check(points=2)
        >>> report.ok, sorted(report.errors)
        (True, ['W1', 'loss'])
        """

        return check_backprop(self, **options)

    # -- helpers ---------------------------------------------------------------------
    def _param(self, param: Any) -> MatrixSymbol:
        if isinstance(param, str):
            for p in self.params:
                if p.name == param:
                    return p
        elif param in self.params:
            return param
        raise KeyError(f"{param!r} is not a parameter; parameters: "
                       f"{', '.join(p.name for p in self.params)}")

    def _letter_of(self, e: Any) -> str | None:
        """The index letter of the layer a vector expression lives on."""
        net = self.network
        if net is None:
            return None
        names = {s.name for s in e.free_symbols if isinstance(s, MatrixSymbol)}
        for layer in net.layers:
            own = {layer.a.name, layer.h.name, f"delta{layer.index}"}
            if layer.b is not None:
                own.add(layer.b.name)
            if layer.norm is not None:
                own |= {p.name for p in layer.norm.params} | {
                    layer.norm.ahat.name, layer.norm.z.name, f"deltaz{layer.index}",
                    f"ghat{layer.index}"}
            if layer.index == len(net.layers):
                own.add(net.t.name)
            if names and names <= own:
                return LETTERS[layer.index]
        if names == {net.x.name}:
            return LETTERS[0]
        return None
