r"""Expressions handed out under a name (a network's deltas and gradients) that show
themselves as mathematics: ``δ₂ = (y − t) ⊙ y ⊙ (1 − y)`` in Jupyter, the expression
language's text in a terminal, never SymPy's ``HadamardProduct(-t + y, ...)``.

A :class:`ShownExpr` stands for its expression: SymPy functions accept it (``_sympy_``),
symnorm's printers print the expression, arithmetic and attributes (``.shape``,
``.subs``, ``.T``) go to the expression, and ``.expr`` is the expression itself.
:class:`ShownDict` is a mapping of such values, shown as one aligned block.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..model.text import to_text
from .blocks import Equations, Row, render_mathjax
from .latex import latex as to_latex
from .prose import Math

__all__ = ["ShownDict", "ShownExpr"]


def _raw(value: Any) -> Any:
    return value.expr if isinstance(value, ShownExpr) else value


class ShownExpr:
    r"""An expression with a name, shown as ``name = expression``.

    >>> import symnorm as sn
    >>> x = sn.vector("x")
    >>> g = ShownExpr(2*x, Math(r"\nabla f", "grad f"))
    >>> g, sn.to_text(g), g.shape == x.shape
    (2*x, '2*x', True)
    >>> g._repr_latex_()
    '$$\\nabla f = 2 x$$'
    """

    __slots__ = ("expr", "label")

    def __init__(self, expr: Any, label: Math | None = None) -> None:
        object.__setattr__(self, "expr", _raw(expr))
        object.__setattr__(self, "label", label)

    # -- stands for its expression ---------------------------------------------------------
    def _sympy_(self) -> Any:
        return self.expr

    def __getattr__(self, name: str) -> Any:
        return getattr(self.expr, name)

    def __eq__(self, other: object) -> bool:
        return bool(self.expr == _raw(other))

    def __hash__(self) -> int:
        return hash(self.expr)

    def __getitem__(self, key: Any) -> Any:
        return self.expr[key]

    def __neg__(self) -> Any:
        return -self.expr

    def __add__(self, other: Any) -> Any:
        return self.expr + _raw(other)

    def __radd__(self, other: Any) -> Any:
        return _raw(other) + self.expr

    def __sub__(self, other: Any) -> Any:
        return self.expr - _raw(other)

    def __rsub__(self, other: Any) -> Any:
        return _raw(other) - self.expr

    def __mul__(self, other: Any) -> Any:
        return self.expr * _raw(other)

    def __rmul__(self, other: Any) -> Any:
        return _raw(other) * self.expr

    def __matmul__(self, other: Any) -> Any:
        return self.expr @ _raw(other)

    def __rmatmul__(self, other: Any) -> Any:
        return _raw(other) @ self.expr

    def __truediv__(self, other: Any) -> Any:
        return self.expr / _raw(other)

    def __pow__(self, other: Any) -> Any:
        return self.expr ** _raw(other)

    # -- printers ------------------------------------------------------------------------------
    def _sympystr(self, printer: Any) -> str:
        return printer._print(self.expr)

    def _latex(self, printer: Any) -> str:
        return printer._print(self.expr)

    def __repr__(self) -> str:
        return to_text(self.expr)

    def __str__(self) -> str:
        return self.text()

    def text(self) -> str:
        """``name = expression`` in the expression language (the expression alone when it
        has no name)."""
        body = to_text(self.expr)
        return body if self.label is None else f"{self.label.text} = {body}"

    def latex(self) -> str:
        """``name = expression`` in LaTeX."""
        body = to_latex(self.expr)
        return body if self.label is None else f"{self.label.latex} = {body}"

    def _repr_latex_(self) -> str:
        return "$$" + self.latex() + "$$"


class ShownDict(dict):
    """A dict keyed by symbols that also accepts their names (``grads["W1"]``); a value
    comes back as a :class:`ShownExpr` labelled by ``label(key)`` (``.expr`` is the stored
    expression), and the whole mapping shows as one aligned block."""

    def __init__(self, data: Any = (), label: Callable[[Any], Math] | None = None) -> None:
        super().__init__(data)
        self._label = label

    def _key(self, key: Any) -> Any:
        if isinstance(key, str) and not dict.__contains__(self, key):
            for k in self:
                if getattr(k, "name", None) == key:
                    return k
            raise KeyError(f"{key!r}; keys: {', '.join(str(k) for k in self)}")
        return key

    def __getitem__(self, key: Any) -> ShownExpr:
        k = self._key(key)
        return ShownExpr(dict.__getitem__(self, k), self._label(k) if self._label else None)

    def __contains__(self, key: object) -> bool:
        try:
            self._key(key)
        except KeyError:
            return False
        return dict.__contains__(self, self._key(key))

    def expr(self, key: Any) -> Any:
        """The stored expression of ``key`` (a symbol or its name)."""
        return _raw(dict.__getitem__(self, self._key(key)))

    def get(self, key: Any, default: Any = None) -> Any:
        return self[key] if key in self else default

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{k}: {to_text(_raw(v))}" for k, v in self.items()) + "}"

    def __str__(self) -> str:
        return "\n".join(self[k].text() for k in self)

    def latex(self) -> str:
        """Every entry as a row of one aligned block."""
        rows = []
        for k in self:
            shown = self[k]
            label = shown.label or Math(to_latex(k), to_text(k))
            rows.append(Row(label, Math(to_latex(shown.expr), to_text(shown.expr))))
        return render_mathjax([Equations(rows)])

    def _repr_latex_(self) -> str:
        return "$$" + self.latex() + "$$"
