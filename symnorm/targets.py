r"""What a claim is about: its text cut into the left side and the expressions claimed,
and the left side resolved against what was given.

``\nabla_x \|x\|_2 = \frac{x}{\|x\|_2}`` is about the gradient of ``\|x\|_2`` with
respect to ``x``; ``\frac{\partial f}{\partial x_i} = ...`` with ``f`` given is about the
``i``-th component of its gradient, for every ``i``; ``\frac{\partial F}{\partial x} = ...``
with a vector-valued ``F`` (or ``J_x F = ...``) is about its Jacobian, in numerator layout
(a row for each output), as :func:`symnorm.jacobian` derives it. A left side that names another
function or variable than the one given is a :class:`~symnorm.model.errors.ParseError` at
its place in the text. Used by :func:`symnorm.verify` and :func:`symnorm.verify_document`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import sympy as sp
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol
from sympy.matrices.expressions.matexpr import MatrixElement

from .api import grad as derive_grad
from .api import hessian as derive_hessian
from .api import jacobian as derive_jacobian
from .check.compare import ALMOST, PROVED, SAMPLED, compare, symbols_of
from .language import parse_latex
from .language.claims import (
    ClaimHead,
    read_definition,
    read_head,
    relation_pieces,
    starts_a_derivative,
)
from .language.expression import parse
from .language.latex import parse_latex_indexed, strip_math
from .language.names import unused_declarations_allowed
from .language.syntax import syntax_error
from .language.unicode import GREEK, SUBSCRIPTS, SUPERSCRIPTS
from .model.errors import ParseError, ShapeError, UnsupportedExpressionError
from .model.text import to_text

__all__ = ["Piece", "Target", "claim_pieces", "derive", "function_text", "looks_like_latex",
           "read_claim", "relocated", "resolve"]


# --------------------------------------------------------------------------- inputs

_UNICODE_MATH = frozenset("‖∥∇∂ᵀ⊤⊙∘·⋅×−∑∞") | frozenset(SUBSCRIPTS) | \
    frozenset(SUPERSCRIPTS) | frozenset(GREEK)
_BLOCKS = re.compile(r"\\(?:begin|end)\{(?:aligned|alignedat|align\*?|split|gathered|gather\*?"
                     r"|equation\*?|multline\*?)\}(?:\{\d+\})?")


def looks_like_latex(text: str) -> bool:
    """Whether text is LaTeX (or Unicode maths) rather than the expression language."""
    return "\\" in text or bool(re.search(r"[_^]\{|&|\|", text)) or \
        any(c in _UNICODE_MATH for c in text)


def read_claim(text: str, bindings: dict[str, Any], latex: bool | None,
               indices: dict[str, sp.Symbol] | None = None, prefer_latex: bool = False
               ) -> Any:
    """A claimed expression: LaTeX or the expression language (``latex`` forces one; by
    default the text's look decides, or ``prefer_latex`` when it comes from LaTeX, such as
    the right side of ``\\nabla f = I``), read with ``f``'s symbols bound."""
    with unused_declarations_allowed():  # every symbol of f is declared; a claim need not
        if indices:  # a claim about x_i for every i: only LaTeX writes components
            return parse_latex_indexed(text, indices, **bindings)
        if latex is not None:
            return (parse_latex if latex else parse)(text, **bindings)
        first, second = (parse_latex, parse) if prefer_latex or looks_like_latex(text) \
            else (parse, parse_latex)
        try:
            return first(text, **bindings)
        except (ParseError, ShapeError) as err:
            try:  # "2A^T(Ax - b)": hand-written maths without a backslash; "sign(x)" on
                return second(text, **bindings)  # the right of a LaTeX left side
            except ShapeError as other:  # the text that one read has shapes that misfit
                raise (other if isinstance(err, ParseError) else err) from None
            except ParseError:
                raise err from None


@dataclass
class Piece:
    """One expression claimed: its text, where it starts in the claim, its row."""

    text: str
    start: int   # offset in the claim's text
    row: int     # 1-based row of a block


def claim_pieces(text: str) -> tuple[ClaimHead | None, list[Piece]]:
    r"""The left side of a claim written out (a derivative), and the expressions claimed:
    ``\nabla f = a = b`` and ``LHS &= a \\ &= b`` give ``a`` and ``b``."""
    body = _BLOCKS.sub(lambda m: " " * len(m.group()), strip_math(text)).replace("&", " ")
    rows, start, depth = [], 0, 0
    for k, ch in enumerate(body):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if ch == "\\" and body.startswith("\\\\", k) and depth == 0 and k >= start:
            rows.append((start, k))
            start = k + 2
    rows.append((start, len(body)))
    head: ClaimHead | None = None
    pieces: list[Piece] = []
    for number, (lo, hi) in enumerate(rows, start=1):
        parts = relation_pieces(body, lo, hi)
        if not pieces and len(parts) > 1 and parts[0][0] < parts[0][1]:
            head = read_head(body, parts[0][0], parts[0][1])  # None: a name, dropped
            parts = parts[1:]
        elif len(parts) > 1 and parts[0][0] == parts[0][1]:
            parts = parts[1:]
        for s, e, _ in parts:
            piece = body[s:e]
            if s == e or starts_a_derivative(piece):  # a restated derivative
                continue
            if len(parts) == 1 and pieces and piece[:1] in "+-":  # a continued line
                pieces[-1].text += " " + piece
                continue
            pieces.append(Piece(piece, s, number))
    return head, pieces


def relocated(err: ParseError, text: str, offset: int, prefix: str = "") -> ParseError:
    """``err`` (in a piece of ``text`` starting at ``offset``) at its place in ``text``."""
    first = str(err).splitlines()[0]
    match = re.fullmatch(r"(.*?) at line \d+, column \d+(.*)", first)
    what, detail = match.groups() if match else (first, "")
    return syntax_error(text, offset + (err.position or 0), prefix + what, detail)


def _error_at(text: str, pos: int, what: str, detail: str = "") -> ParseError:
    return syntax_error(text, pos, what, detail) if text else ParseError(what + detail)


# --------------------------------------------------------------------------- targets

@dataclass
class Target:
    r"""What a claim is about: the function, the variable, a component of the result
    (0-based, possibly with a free index), and ``kind``: ``"gradient"``, ``"hessian"``
    (``order`` 2) or ``"jacobian"`` (of a vector-valued map, or written ``J_x F``).
    ``layout`` is the layout the left side declares (``"numerator"`` for ``\partial f /
    \partial x^\top``, ``"denominator"`` for ``\partial F^\top / \partial x``)."""

    f: Any
    var: Any
    order: int
    component: tuple = ()
    indices: dict = field(default_factory=dict)       # free index symbol -> its range
    index_names: dict = field(default_factory=dict)   # 'i' -> that symbol, for the reader
    min_size: int = 2
    layout: str | None = None
    kind: str = ""

    def __post_init__(self) -> None:
        if not self.kind:
            self.kind = "hessian" if self.order == 2 else "gradient"

    @property
    def wrt_shown(self) -> Any:
        return self.var[self.component] if self.component else self.var

    @property
    def transposed_layout(self) -> str | None:
        """The layout a claim that is the transpose of the derived result is in: a whole
        gradient's transpose is ``"numerator"`` layout (a row), a Jacobian's ``"denominator"``
        layout (a column for each output); None where a transpose is not a layout."""
        if self.component:
            return None
        return {"gradient": "numerator", "jacobian": "denominator"}.get(self.kind)


def function_text(f: str, shapes: dict) -> tuple[Any, str | None, tuple[str, ...]]:
    """``"f(x) = \\|x\\|_2"`` (a definition: its name and arguments too), or an expression."""
    pieces = relation_pieces(f)
    if len(pieces) == 2:
        definition = read_definition(f, pieces[0][0], pieces[0][1])
        if definition is not None:
            return (read_claim(f[pieces[1][0]:pieces[1][1]], shapes, None), definition.name,
                    definition.arguments)
    return read_claim(f, shapes, None), None, ()


def _read_function(head: ClaimHead, bindings: dict[str, Any]) -> Any:
    """The function written on the left; in ``d/dt (...)``, ``t`` may be a scalar."""
    try:
        return read_claim(head.function or "", bindings, None, prefer_latex=True)
    except ShapeError:
        wrt = head.wrt
        if wrt is None or wrt in bindings or not head.variables:
            raise
        return read_claim(head.function or "", {**bindings, wrt: "scalar"}, None,
                          prefer_latex=True)


def _same_function(a: Any, b: Any) -> bool:
    if a == b:
        return True
    try:
        return compare(a, b, settings=2, points=2).status in (PROVED, SAMPLED, ALMOST)
    except (ShapeError, UnsupportedExpressionError, TypeError, ValueError):
        return False


def _symbol_named(f: Any, name: str, index: tuple[str, ...]) -> tuple[Any, tuple[str, ...]]:
    """The symbol of ``f`` a name stands for; ``W_1`` is the symbol ``W1`` (or ``W_1``)
    when ``f`` has one, else component 1 of ``W``."""
    by_name = {s.name: s for s in symbols_of(f)}
    if index and len(index) == 1:
        for candidate in (f"{name}{index[0]}", f"{name}_{index[0]}"):
            if candidate in by_name:
                return by_name[candidate], ()
    if name in by_name:
        return by_name[name], index
    raise ShapeError(f"the claim is taken with respect to {name}, which does not occur in "
                     f"{to_text(f)} (its symbols: {', '.join(sorted(by_name)) or 'none'})")


def _infer_variable(f: Any) -> Any:
    symbols = symbols_of(f)
    arrays = [s for s in symbols if isinstance(s, MatrixSymbol)]
    if len(arrays) == 1:
        return arrays[0]
    if len(symbols) == 1:
        return symbols[0]
    raise ParseError(f"the claim does not say with respect to which of "
                     f"{', '.join(s.name for s in symbols)} it is taken; write \\nabla_x f "
                     r"or \frac{\partial f}{\partial x}, or pass wrt", "")


def _component(target: Target, items: tuple[str, ...], where: str) -> None:
    """Set the component a claim is about from its index as written (1-based)."""
    var = target.var
    if not isinstance(var, MatrixSymbol):
        raise ShapeError(f"{where}: {var.name} is a scalar, so it has no components")
    rows, cols = var.shape
    vector = cols == 1
    if not vector and len(items) == 1 and len(items[0]) == 2 and items[0].isdigit():
        items = (items[0][0], items[0][1])  # X_{12}
    if len(items) != (1 if vector else 2):
        raise ShapeError(f"{where}: {var.name} is a {'vector' if vector else 'matrix'}, so a "
                         f"component has {1 if vector else 2} index(es), not {len(items)}")
    component: list[Any] = []
    for item, size in zip(items, (rows, cols)):
        if item.isdigit():
            k = int(item)
            if k < 1 or (sp.sympify(size).is_Integer and k > int(size)):
                raise ShapeError(f"{where}: {var.name} has no component {k} (components are "
                                 f"numbered from 1 to {size})")
            component.append(sp.Integer(k - 1))
            target.min_size = max(target.min_size, k)
        elif item.isalpha() and len(item) == 1:
            symbol = target.index_names.setdefault(item, sp.Symbol(item, integer=True))
            target.indices[symbol] = size
            component.append(symbol - 1)
        else:
            raise ShapeError(f"{where}: cannot read the index '{item}'")
    if vector:
        component.append(sp.Integer(0))
    target.component = tuple(component)


def _wrt_from_argument(wrt: Any, f: Any) -> tuple[Any, tuple]:
    """``wrt`` as given to :func:`verify`: a symbol, a component, or its text."""
    if isinstance(wrt, MatrixElement):
        return wrt.parent, (wrt.i, wrt.j)
    if isinstance(wrt, (MatrixSymbol, sp.Symbol)):
        return wrt, ()
    if isinstance(wrt, str):
        match = re.fullmatch(r"([A-Za-z][A-Za-z0-9]*)(?:\[(\d+)\]|_\{?(\d+)\}?)?", wrt.strip())
        if match is None:
            raise ParseError(f"wrt '{wrt}' is not a name, a component x[0] or x_1", wrt)
        name = match.group(1)
        var = next((s for s in symbols_of(f) if s.name == name), None)
        if var is None:
            raise ShapeError(f"wrt '{name}' does not occur in {to_text(f)}")
        if match.group(2) is not None:
            return var, (sp.Integer(int(match.group(2))), sp.Integer(0))
        if match.group(3) is not None:
            if int(match.group(3)) < 1:
                raise ParseError(f"components are numbered from 1 in '{wrt}'", wrt)
            return var, (sp.Integer(int(match.group(3)) - 1), sp.Integer(0))
        return var, ()
    raise UnsupportedExpressionError(f"wrt must be a symbol, a component or a name, got {wrt!r}")


def resolve(head: ClaimHead | None, f: Any, wrt: Any, *, hessian: bool = False,
            shapes: dict | None = None, name: str | None = None,
            arguments: tuple[str, ...] = (), functions: dict | None = None,
            text: str = "") -> Target:
    """What a claim is about, from its left side (``head``, may be None) and what was
    given: the function ``f`` (its ``name`` and ``arguments`` when it was defined as
    ``f(x) = ...``), ``wrt``, ``hessian``; ``functions`` maps names to ``(expression,
    arguments)`` (a document's definitions). A left side that disagrees with what was
    given is a :class:`~symnorm.model.errors.ParseError` at its place in ``text``."""
    shapes = dict(shapes or {})
    declared = None if head is None else head.layout
    if head is not None and head.function is not None:
        bindings = {s.name: s for s in symbols_of(f)} if f is not None else {}
        bindings.update(shapes)
        try:
            written = _read_function(head, bindings)
        except ParseError as err:
            raise relocated(err, text, head.function_start) from None
        if isinstance(written, MatrixExpr) and written.shape[0] == 1 != written.shape[1]:
            written, declared = written.T, "denominator"  # \partial F^\top / \partial x
        if f is not None and not _same_function(written, f):
            raise _error_at(text, head.function_start,
                            f"the left side differentiates {to_text(written)}, but the "
                            f"function given is {to_text(f)}")
        f = written if f is None else f
    elif head is not None and head.name is not None:
        if f is None:
            if functions is not None and head.name not in functions:  # a document's
                raise _error_at(text, head.function_start,
                                f"the claim differentiates {head.name}, which is not "
                                "defined before it",
                                f"; define it first ({head.name}(x) = ...) or write the "
                                r"function itself (\nabla_x \|x\|_2 = ...)")
            if not functions:
                raise _error_at(text, head.function_start,
                                f"the claim differentiates {head.name}, which is not defined",
                                "; pass the function (sn.verify(claim, f)) or write it out "
                                r"(\nabla_x \|x\|_2 = ...)")
            f, arguments = functions[head.name]
            name = head.name
        elif name is not None and head.name != name:
            raise _error_at(text, head.function_start,
                            f"the left side differentiates {head.name}, but the function "
                            f"given is {name}")
        arguments = head.arguments or arguments
    if f is None:
        raise ParseError("no function to differentiate: pass f, or write the derivative on "
                         r"the left (\nabla_x \|x\|_2 = ...)", text)
    order = 2 if hessian or (head is not None and head.order == 2) else 1
    if hessian and head is not None and head.order == 1:
        raise _error_at(text, head.start, "hessian=True, but the left side is a first "
                                          "derivative")
    jacobian = _map_valued(f) or (head is not None and head.jacobian)
    if jacobian and order == 2:
        raise _refused(text, head, head.start if head is not None else 0,
                       f"the Hessian of {to_text(f)}, a map with {_shape_text(f)} values, "
                       "has three indices, which symnorm does not form",
                       r"; claim its Jacobian (\frac{\partial F}{\partial x} = ...) or the "
                       r"Hessian of a scalar of it")
    given_var, given_component = (None, ()) if wrt is None else _wrt_from_argument(wrt, f)
    target = Target(f, given_var, order, component=given_component, layout=declared,
                    kind="jacobian" if jacobian else "")
    if given_component:
        target.min_size = int(given_component[0]) + 1
    if head is not None and head.wrt is not None:
        variable = head.variables[0]
        var, index = _symbol_named(f, variable.name, variable.index)
        if given_var is not None and var != given_var:
            raise _error_at(text, variable.start,
                            f"the left side is taken with respect to {variable.name}, but "
                            f"wrt is {to_text(given_var)}")
        target.var = var
        if index:
            if order == 2:
                raise _error_at(text, variable.start, "one entry of a Hessian is not "
                                                      "verified",
                                r"; claim the whole Hessian (\nabla^2 f = ...)")
            _component(target, index, f"in '{text[head.start:head.end]}'")
            if given_component and tuple(given_component) != target.component:
                raise _error_at(text, variable.start,
                                f"the left side is taken with respect to {variable.name}_"
                                f"{','.join(index)}, but wrt is "
                                f"{_component_text(target.var, given_component)}")
    elif head is not None and head.index:  # (\nabla f)_i
        if target.var is None:
            target.var = _argument_variable(f, arguments)
        _component(target, head.index, f"in '{text[head.start:head.end]}'")
    if target.var is None:
        target.var = _argument_variable(f, arguments)
    if target.component and order == 2:
        raise UnsupportedExpressionError("a Hessian is taken with respect to a vector, not "
                                         "one component")
    if target.component and jacobian:
        where = head.variables[0].start if head is not None and head.variables else 0
        raise _refused(text, head, where, f"one column of the Jacobian of {to_text(f)} (the "
                                          "derivatives with respect to one component) is "
                                          "not verified",
                       r"; claim the whole Jacobian (\frac{\partial F}{\partial x} = ...)")
    return target


def _refused(text: str, head: ClaimHead | None, pos: int, what: str, detail: str
             ) -> Exception:
    """A claim symnorm does not judge: at its place in the left side written, else an
    :class:`~symnorm.model.errors.UnsupportedExpressionError`."""
    if head is not None and text:
        return _error_at(text, pos, what, detail)
    return UnsupportedExpressionError(what + detail)


def _map_valued(f: Any) -> bool:
    """Whether ``f`` has vector (or matrix) values: its derivative is a Jacobian."""
    return isinstance(f, MatrixExpr) and tuple(f.shape) != (1, 1)


def _shape_text(f: Any) -> str:
    rows, cols = f.shape
    return "column-vector" if cols == 1 else "row-vector" if rows == 1 else "matrix"


def _component_text(var: Any, component: tuple) -> str:
    """``x_2`` for the 0-based component ``(1, 0)`` of a vector, ``X_{1,2}`` of a matrix."""
    rows = [int(k) + 1 for k in component]
    if var.shape[1] == 1:
        return f"{var.name}_{rows[0]}"
    return f"{var.name}_{{{rows[0]},{rows[1]}}}"


def _argument_variable(f: Any, arguments: tuple[str, ...]) -> Any:
    if len(arguments) == 1:
        return _symbol_named(f, arguments[0], ())[0]
    return _infer_variable(f)



def derive(target: Target, cache: dict | None = None) -> tuple[Any, Any]:
    """The derived result (the whole gradient, Hessian or Jacobian) and the part a claim is
    about."""
    key = (target.f, target.var, target.kind)
    if cache is not None and key in cache:
        full = cache[key]
    else:
        how = {"hessian": derive_hessian, "jacobian": derive_jacobian}.get(target.kind,
                                                                          derive_grad)
        derivation = how(target.f, target.var)
        full = derivation.result
        if cache is not None:
            cache[key] = full
    return full, (full[target.component] if target.component else full)
