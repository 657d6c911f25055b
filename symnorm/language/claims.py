r"""Claims as people write them: a derivative on the left of ``=``, the function it
differentiates and the variable, read from the text (never evaluated).

The left sides read (``f`` a name, or the function written out; Unicode too)::

    \nabla f          \nabla_x f(x)        \nabla_x \|x\|_2        \nabla^2 f    ∇f   ∇²f
    \frac{\partial f}{\partial x}          \frac{\partial}{\partial x}\|Ax - b\|_2^2
    \partial f/\partial X                  \frac{\partial f}{\partial x_i}   (every i)
    \frac{\partial \|x\|_1}{\partial x_i}  \frac{\partial^2 f}{\partial x \partial x^\top}
    \frac{df}{dx}     df/dx     \frac{d}{dt} f(t)     (\nabla f)_i     ∂f/∂x₁
    J_x F             J_x \operatorname{softmax}(x)      D_x F      \mathbf{J}_{x} (Ax + b)

A left side is a Jacobian when the function is vector-valued (``\frac{\partial F}{\partial
x}``, ``\partial (x/\|x\|_2)/\partial x``, ``\nabla_x F``: that is decided where the
function is known, :mod:`symnorm.targets`) or when it is written ``J_x F`` or ``D_x F`` (a
``J`` or ``D``, the variable as its subscript, the function after it; ``J_F(x)`` is the
textbook's name for the Jacobian of ``F`` at ``x``, but it is also how a function
``J_\lambda(w)`` is named, so it is read as a name: :func:`jacobian_name` tells which
where the functions are known).

A definition (``f(x) = \|x\|_2``, ``L(w) := …``) names a function for later claims.
:func:`~symnorm.language.relations.relation_pieces` cuts an equation at its top-level
``=`` (a chain ``a = b = c``), leaving out a trailing remark and punctuation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..model.errors import ParseError
from .claim_tokens import (
    _NAME_FONTS,
    Variable,
    _d_marker,
    _is_two,
    _marker,
    _plain_variable,
    _script_items,
    _simple_name,
    _Tokens,
    _variable,
)
from .latex_lexer import _GREEK
from .relations import relation_pieces

__all__ = ["ClaimHead", "Definition", "Variable", "jacobian_name", "read_definition",
           "read_head", "relation_pieces", "starts_a_derivative"]

_FRACTIONS = ("frac", "dfrac", "tfrac", "cfrac")
_FORMS = (r"\nabla f, \nabla_x f(x), \nabla^2 f, \frac{\partial f}{\partial x}, "
          r"\frac{\partial}{\partial x} (...), \partial f/\partial x, "
          r"\frac{\partial f}{\partial x_i}, df/dx, J_x F")
# the letters of a Jacobian written J_x F or D_x F (also \mathbf{J}, \mathrm{D}, ...)
_JACOBIAN_LETTERS = ("J", "D")


@dataclass(frozen=True)
class ClaimHead:
    """The left side of a derivative claim.

    ``order`` is 1 (a gradient, or one partial derivative) or 2 (a Hessian, or one entry
    of it); ``variables`` what it is taken with respect to, as written (empty when the
    text does not say: ``\nabla f``); ``name`` and ``arguments`` the function's name
    (``f`` and ``("x",)`` in ``\nabla f(x)``), or ``function`` the function written out
    (``\\|x\\|_2`` in ``\nabla_x \\|x\\|_2``), starting at ``function_start``; ``start`` and
    ``end`` the left side's span in the text; ``jacobian`` is true for a left side
    written as a Jacobian (``J_x F``, ``D_x F``), which a scalar function makes a row.
    """

    order: int
    variables: tuple[Variable, ...]
    name: str | None
    arguments: tuple[str, ...]
    function: str | None
    function_start: int
    start: int
    end: int
    jacobian: bool = False

    @property
    def wrt(self) -> str | None:
        """The variable's name, or None when the text does not say."""
        return (self.variables[0].name or None) if self.variables else None

    @property
    def index(self) -> tuple[str, ...]:
        """The component as written (``("1",)``, ``("i",)``; a Hessian entry
        ``("i", "j")``), or ``()`` for the whole gradient or Hessian."""
        if self.order == 2 and len(self.variables) == 2:
            first, second = self.variables
            if first.index or second.index:
                if len(first.index) != 1 or len(second.index) != 1:
                    return ()
                return (first.index[0], second.index[0])
        return self.variables[0].index if self.variables else ()

    @property
    def layout(self) -> str | None:
        r"""``"numerator"`` when the claim is written as a derivative by ``x^\top``."""
        if self.order == 1 and self.variables and self.variables[0].transposed:
            return "numerator"
        return None


@dataclass(frozen=True)
class Definition:
    """``f(x) = …`` or ``f := …``: the name, its arguments, and where the name stands."""

    name: str
    arguments: tuple[str, ...]
    start: int
    end: int


# ----------------------------------------------------------------------------- names

def _name_form(t: _Tokens, i: int, end: int) -> tuple[str, tuple[str, ...]] | None:
    """``f``, ``f(x)``, ``L(w, b)``, ``f_1``, ``\\ell``, ``\\mathcal{L}(\theta)`` spanning
    tokens ``i``..``end`` exactly: the name (as written, without spaces) and arguments."""
    tok = t.at(i)
    if tok is None or i >= end:
        return None
    if tok.kind == "letter":
        name, j = tok.value, i + 1
    elif tok.kind == "cmd" and (tok.value[1:] in _GREEK or tok.value == "\\ell"):
        if tok.value == "\\sigma" and t.is_(i + 1, "("):
            return None  # \sigma(...) is the logistic sigmoid
        name, j = tok.value, i + 1
    elif tok.kind == "cmd" and tok.value[1:] in _NAME_FONTS:
        if t.is_(i + 1, "{"):
            close = t.close(i + 1)
            if close != i + 3 or t.at(i + 2).kind not in ("letter",):  # type: ignore[union-attr]
                return None
            name, j = f"{tok.value}{{{t.at(i + 2).value}}}", close + 1  # type: ignore[union-attr]
        elif t.at(i + 1) is not None and t.at(i + 1).kind == "letter":  # type: ignore[union-attr]
            name, j = f"{tok.value}{{{t.at(i + 1).value}}}", i + 2  # type: ignore[union-attr]
        else:
            return None
    else:
        return None
    if t.is_(j, "_"):
        items = _script_items(t, j + 1)
        if items is None:
            return None
        name += "_" + ",".join(items[0])
        j = items[1]
    args: list[str] = []
    if t.is_(j, "("):
        close = t.close(j)
        k = j + 1
        while k < close:
            found = _simple_name(t, k)
            if found is None:
                return None
            args.append(found[0])
            k = found[1]
            if t.is_(k, "_"):  # an argument with a subscript (x_k): not a variable's name
                return None
            if k < close and not t.is_(k, ",", ";"):
                return None
            k += 1 if k < close else 0
        if not args:
            return None
        j = close + 1
    return (name, tuple(args)) if j == end else None


def read_definition(text: str, lo: int = 0, hi: int | None = None) -> Definition | None:
    """``text[lo:hi]`` as the left side of a definition: ``f``, ``f(x)``, ``L(w, b)``,
    ``\\ell``, ``\\mathcal{L}(\\theta)``; None when it is not a name.

    >>> read_definition("f(x)").arguments
    ('x',)
    """
    hi = len(text) if hi is None else hi
    try:
        t = _Tokens(text, lo, hi)
    except ParseError:
        return None
    form = _name_form(t, 0, len(t))
    if form is None:
        return None
    return Definition(form[0], form[1], t.pos(0), t.toks[-1].end)


# ----------------------------------------------------------------------------- heads

def starts_a_derivative(text: str) -> bool:
    """Whether the text holds a derivative sign (``\\nabla``, ``\\partial``, ``∇``, ``∂``,
    ``d/dx``-style ``\\frac{d``) that makes it a claim's left side."""
    return bool(re.search(r"\\(?:nabla|partial)(?![A-Za-z])|[∇∂]"
                          r"|\\[dtc]?frac\s*\{\s*(?:d|\\mathrm\s*\{?\s*d|\\operatorname\s*\{\s*d)"
                          r"|^\s*d\s*[A-Za-z\\]+\s*/\s*d", text))


def read_head(text: str, lo: int = 0, hi: int | None = None) -> ClaimHead | None:
    r"""``text[lo:hi]`` as a claim's left side: a :class:`ClaimHead`, or None when it
    holds no derivative. A derivative in a form not read is a
    :class:`~symnorm.model.errors.ParseError` naming the forms that are.

    >>> head = read_head(r"\frac{\partial f}{\partial x_i}")
    >>> head.name, head.wrt, head.index, head.order
    ('f', 'x', ('i',), 1)
    >>> head = read_head(r"\nabla_x \|Ax - b\|_2^2")
    >>> head.function, head.wrt
    ('\\|Ax - b\\|_2^2', 'x')
    >>> read_head("∇²f").order
    2
    """
    hi = len(text) if hi is None else hi
    t = _Tokens(text, lo, hi)
    if not len(t):
        return None
    if t.cmd(0, "nabla"):
        return _nabla(t, 0, len(t))
    jacobian = _jacobian(t)
    if jacobian is not None:
        return jacobian
    if t.is_(0, "(", "[") and t.cmd(1, "nabla"):
        return _nabla_component(t)
    if t.cmd(0, *_FRACTIONS) and t.is_(1, "{") and _marker(t, 2) is not None:
        return _fraction(t)
    if t.cmd(0, "partial"):
        return _slash_or_subscript(t)
    if _d_marker(t, 0) is not None:
        slash = _top_level(t, "/", 0, len(t))
        if slash is not None and _d_marker(t, slash + 1) is not None:
            return _slash(t, "d")
    if starts_a_derivative(text[lo:hi]):
        first = next((k for k, tok in enumerate(t.toks)
                      if tok.value in ("\\nabla", "\\partial")), 0)
        raise t.error(first, "cannot read the derivative on the left of '='",
                      f"; the forms read are {_FORMS}")
    return None


def _jacobian_letter(t: _Tokens, i: int) -> int | None:
    r"""``J``, ``D``, ``\mathbf{J}``, ``\mathrm D``, ``\operatorname{D}`` at ``i``: the index
    after it."""
    tok = t.at(i)
    if tok is None:
        return None
    if tok.kind == "letter":
        return i + 1 if tok.value in _JACOBIAN_LETTERS else None
    if tok.kind == "cmd" and tok.value[1:] in _NAME_FONTS:
        if t.is_(i + 1, "{") and t.is_(i + 3, "}") and t.is_(i + 2, *_JACOBIAN_LETTERS):
            return i + 4
        if t.is_(i + 1, *_JACOBIAN_LETTERS) and t.at(i + 1).kind == "letter":  # type: ignore
            return i + 2
    return None


def _jacobian(t: _Tokens) -> ClaimHead | None:
    """``J_x F``, ``J_{x} F(x)``, ``D_x (Ax + b)``: a Jacobian, the variable as its subscript
    and a function after it; None for any other text (``J_F(x)``, ``J_x``, ``D_1``: names)."""
    j = _jacobian_letter(t, 0)
    if j is None or not t.is_(j, "_"):
        return None
    group = t.is_(j + 1, "{")
    found = _variable(t, j + 2) if group else _plain_variable(t, j + 1)
    if found is None:
        return None
    inner_end = t.close(j + 1) if group else found[1]
    if found[1] != inner_end or found[0].index or found[0].power != 1:
        return None
    after = inner_end + group
    if after >= len(t) or _argument_list(t, after):
        return None  # J_x alone, or J_F(x): a name (see jacobian_name)
    head = _function(t, after, len(t), 1, (found[0],))
    return ClaimHead(1, head.variables, head.name, head.arguments, head.function,
                     head.function_start, t.pos(0), t.toks[-1].end, jacobian=True)


def _argument_list(t: _Tokens, i: int) -> bool:
    """Whether the tokens from ``i`` to the end are ``(a, b, ...)`` of plain names."""
    if not t.is_(i, "(") or t.close(i) != len(t) - 1:
        return False
    k = i + 1
    while k < len(t) - 1:
        found = _simple_name(t, k)
        if found is None:
            return False
        k = found[1]
        if k < len(t) - 1:
            if not t.is_(k, ","):
                return False
            k += 1
    return k > i + 1


def jacobian_name(definition: Definition, known: dict) -> str | None:
    r"""The function a name such as ``J_F`` (of ``J_F(x) = ...``) is the Jacobian of, when
    ``F`` is one of the ``known`` functions; None otherwise (``J_\lambda(w) = ...`` names a
    function of its own).

    >>> jacobian_name(read_definition("J_F(x)"), {"F": None})
    'F'
    >>> jacobian_name(read_definition("J_F(x)"), {}) is None
    True
    """
    letter, sep, rest = definition.name.partition("_")
    if not sep or letter.lstrip("\\") not in _JACOBIAN_LETTERS and not any(
            letter == f"\\{font}{{{j}}}" for font in _NAME_FONTS for j in _JACOBIAN_LETTERS):
        return None
    return rest if rest in known else None


def _top_level(t: _Tokens, value: str, lo: int, hi: int) -> int | None:
    depth = 0
    for k in range(lo, hi):
        v = t.toks[k].value
        if v in ("{", "(", "["):
            depth += 1
        elif v in ("}", ")", "]"):
            depth -= 1
        elif v == value and depth == 0:
            return k
    return None


def _function(t: _Tokens, i: int, end: int, order: int, variables: tuple[Variable, ...],
              start_tok: int = 0) -> ClaimHead:
    if i >= end:
        raise t.error(i, "the derivative on the left of '=' has no function after it",
                      r"; write \nabla f, \nabla_x \|x\|_2 or \frac{\partial f}{\partial x}")
    form = _name_form(t, i, end)
    last = t.toks[end - 1].end
    start = t.pos(start_tok)
    first = t.pos(i)
    if i > 0:  # a \left or \big before the function's first token is part of it
        gap = t.text[t.toks[i - 1].end:first]
        sized = re.search(r"\\(?:left|[Bb]igg?l?)\s*$", gap)
        if sized is not None:
            first = t.toks[i - 1].end + sized.start()
    if form is not None:
        return ClaimHead(order, variables, form[0], form[1], None, first, start, last)
    return ClaimHead(order, variables, None, (), t.text[first:last].strip(), first, start,
                     last)


def _nabla(t: _Tokens, i: int, end: int) -> ClaimHead:
    j = i + 1
    order = 1
    variables: tuple[Variable, ...] = ()
    while t.is_(j, "_", "^"):
        if t.is_(j, "^") and order == 1:
            two = _is_two(t, j + 1)
            if two is None:
                raise t.error(j, r"'\nabla^' is read only as \nabla^2 (the Hessian)")
            order, j = 2, two
        elif t.is_(j, "_") and not variables:
            group = t.is_(j + 1, "{")
            found = _variable(t, j + 2) if group else _plain_variable(t, j + 1)
            inner_end = t.close(j + 1) if group else (found[1] if found else j + 2)
            if found is None or found[1] != inner_end:
                raise t.error(j + 1, r"cannot read the variable under '\nabla'",
                              r"; write \nabla_x f or \nabla_{x} f")
            variables, j = (found[0],), inner_end + group
        else:
            raise t.error(j, r"unexpected script after '\nabla'")
    if order == 2 and variables:
        variables = (variables[0], variables[0])
    return _function(t, j, end, order, variables, i)


def _nabla_component(t: _Tokens) -> ClaimHead:
    close = t.close(0)
    if not t.is_(close + 1, "_"):
        raise t.error(close + 1, r"expected '_' and a component after '(\nabla ...)'",
                      r", as in (\nabla f)_i")
    items = _script_items(t, close + 2)
    if items is None or items[1] != len(t) or len(items[0]) not in (1, 2):
        raise t.error(close + 2, r"cannot read the component of '(\nabla ...)'",
                      r"; write (\nabla f)_i or (\nabla f)_{1}")
    head = _nabla(t, 1, close)
    if head.order != 1:
        raise t.error(1, r"a component of a Hessian is written \frac{\partial^2 f}"
                         r"{\partial x_i \partial x_j}")
    var = head.variables[0] if head.variables else Variable("", (), False, 1, 0, 0)
    if var.index:
        raise t.error(1, "the variable already names a component")
    new = Variable(var.name, items[0], var.transposed, 1, var.start, var.end)
    return ClaimHead(1, (new,), head.name, head.arguments, head.function,
                     head.function_start, t.pos(0), t.toks[-1].end)


def _order_of(t: _Tokens, i: int) -> tuple[int, int]:
    """``^2`` after a ``\\partial`` or ``d`` in a numerator: (order, index after)."""
    if t.is_(i, "^"):
        two = _is_two(t, i + 1)
        if two is None:
            raise t.error(i, "only first and second derivatives are read")
        return 2, two
    return 1, i


def _denominator(t: _Tokens, i: int, end: int, marker: str) -> tuple[Variable, ...]:
    variables: list[Variable] = []
    j = i
    while j < end:
        found = _marker(t, j)
        if found is None:
            sign = "\\partial" if marker == "partial" else "d"
            raise t.error(j, f"expected '{sign}' and a variable under the fraction bar")
        found_var = _variable(t, found[1])
        if found_var is None:
            raise t.error(found[1], "cannot read the variable under the fraction bar",
                          r"; write \partial x, \partial x_i, \partial X_{ij}, dx")
        var, j = found_var
        variables.append(var)
    if not variables:
        raise t.error(i, "no variable under the fraction bar")
    return tuple(variables)


def _check_order(t: _Tokens, i: int, order: int, variables: tuple[Variable, ...]
                 ) -> tuple[Variable, ...]:
    powers = sum(v.power for v in variables)
    if powers != order:
        raise t.error(i, f"a derivative of order {order} has {powers} differentiation"
                         f"{'s' if powers != 1 else ''} under the fraction bar")
    if order == 2:
        if len(variables) == 1:
            v = variables[0]
            variables = (Variable(v.name, v.index, False, 1, v.start, v.end),) * 2
        if variables[0].name != variables[1].name:
            raise t.error(i, "mixed second derivatives of two variables are not read",
                          f" ({variables[0].name} and {variables[1].name})")
    return variables


def _fraction(t: _Tokens) -> ClaimHead:
    num_end = t.close(1)
    marker, j = _marker(t, 2)  # type: ignore[misc]
    order, j = _order_of(t, j)
    if not t.is_(num_end + 1, "{"):
        raise t.error(num_end + 1, "expected '{' and the denominator of the fraction")
    den_end = t.close(num_end + 1)
    variables = _check_order(t, num_end + 2, order,
                             _denominator(t, num_end + 2, den_end, marker))
    if j < num_end:  # \frac{\partial f}{\partial x}: nothing may follow
        if den_end + 1 < len(t):
            raise t.error(den_end + 1, "unexpected text after the derivative",
                          r"; write \frac{\partial f}{\partial x} or "
                          r"\frac{\partial}{\partial x} f")
        head = _function(t, j, num_end, order, variables)
    else:
        head = _function(t, den_end + 1, len(t), order, variables)
    return ClaimHead(head.order, head.variables, head.name, head.arguments, head.function,
                     head.function_start, t.pos(0), t.toks[-1].end)


def _slash_or_subscript(t: _Tokens) -> ClaimHead:
    if t.is_(1, "_"):  # \partial_x f, \partial_{x_i} f
        group = t.is_(2, "{")
        found = _variable(t, 3) if group else _plain_variable(t, 2)
        inner_end = t.close(2) if group else (found[1] if found else 3)
        if found is None or found[1] != inner_end:
            raise t.error(2, r"cannot read the variable under '\partial'",
                          r"; write \partial_x f or \partial_{x_i} f")
        return _function(t, inner_end + group, len(t), 1, (found[0],))
    if _top_level(t, "/", 0, len(t)) is None:
        raise t.error(0, r"a lone '\partial' is not read (a subdifferential is not a "
                         "gradient)", f"; the forms read are {_FORMS}")
    return _slash(t, "partial")


def _slash(t: _Tokens, marker: str) -> ClaimHead:
    slash = _top_level(t, "/", 0, len(t))
    assert slash is not None
    _, j = _marker(t, 0)  # type: ignore[misc]
    order, j = _order_of(t, j)
    variables = _check_order(t, slash + 1, order,
                             _denominator(t, slash + 1, len(t), marker))
    head = _function(t, j, slash, order, variables)
    return ClaimHead(head.order, head.variables, head.name, head.arguments, head.function,
                     head.function_start, t.pos(0), t.toks[-1].end)
