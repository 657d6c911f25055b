"""A claim's left side as raw LaTeX tokens: the names, scripts and variables that
:mod:`symnorm.language.claims` reads its derivatives from (``x``, ``\\mathbf{x}``,
``x_i``, ``X_{ij}``, ``x^\\top``, ``x^2``, the ``d`` of ``dx``)."""

from __future__ import annotations

from dataclasses import dataclass

from ..model.errors import ParseError
from .latex_lexer import _GREEK, _SIZES, _SPACING, _Raw, _raw_tokens
from .syntax import _error

__all__ = ["Variable"]

_VARIABLE_FONTS = ("mathbf", "boldsymbol", "bm", "vec", "mathit", "mathrm", "mathsf",
                   "mathnormal", "pmb")
_NAME_FONTS = _VARIABLE_FONTS + ("mathcal", "mathscr", "mathfrak", "operatorname")
_D_FONTS = ("mathrm", "operatorname", "text", "textrm", "mathit", "mathsf", "mathnormal")


@dataclass(frozen=True)
class Variable:
    """What a derivative is taken with respect to, as written: ``x``, ``x_i`` (``index``
    ``("i",)``), ``X_{ij}``, ``x^\top`` (``transposed``), ``x^2`` (``power`` 2, in
    ``\\partial x^2``)."""

    name: str
    index: tuple[str, ...] = ()
    transposed: bool = False
    power: int = 1
    start: int = 0
    end: int = 0


class _Tokens:
    """The raw LaTeX tokens of ``text[lo:hi]`` (spacing and sizing commands left out), with
    their positions in ``text``."""

    def __init__(self, text: str, lo: int, hi: int) -> None:
        self.text = text
        try:  # f(x; theta): a semicolon separates arguments as a comma does
            raw = _raw_tokens(text[lo:hi].replace(";", ","))
        except ParseError as err:
            raise _error(text, lo + (err.position or 0),
                         str(err).split(" at line ")[0]) from None
        self.toks = [_Raw(t.kind, t.value, t.start + lo, t.end + lo) for t in raw
                     if not (t.kind == "cmd" and t.value[1:] in (*_SPACING, *_SIZES)
                             and t.value != "\\|")]
        self.hi = hi

    def __len__(self) -> int:
        return len(self.toks)

    def at(self, i: int) -> _Raw | None:
        return self.toks[i] if 0 <= i < len(self.toks) else None

    def is_(self, i: int, *values: str) -> bool:
        t = self.at(i)
        return t is not None and t.value in values

    def cmd(self, i: int, *names: str) -> bool:
        t = self.at(i)
        return t is not None and t.kind == "cmd" and t.value[1:] in names

    def close(self, i: int) -> int:
        """Index of the token closing the group opened at ``i`` (``{``, ``(``, ``[``)."""
        pairs = {"{": "}", "(": ")", "[": "]"}
        opening = self.toks[i].value
        closing, depth = pairs[opening], 0
        for j in range(i, len(self.toks)):
            v = self.toks[j].value
            if v == opening:
                depth += 1
            elif v == closing:
                depth -= 1
                if depth == 0:
                    return j
        raise self.error(i, f"'{opening}' is never closed")

    def pos(self, i: int) -> int:
        t = self.at(i)
        return t.start if t is not None else self.hi

    def error(self, i: int, what: str, detail: str = "") -> ParseError:
        return _error(self.text, self.pos(i), what, detail)


def _simple_name(t: _Tokens, i: int) -> tuple[str, int] | None:
    """A one-letter name at ``i`` (``x``, ``\theta``, ``\\mathbf{x}``, ``\boldsymbol x``):
    its name as the readers call it, and the index after it."""
    tok = t.at(i)
    if tok is None:
        return None
    if tok.kind == "letter":
        return tok.value, i + 1
    if tok.kind == "cmd" and tok.value[1:] in _GREEK:
        return _GREEK[tok.value[1:]], i + 1
    if tok.kind == "cmd" and tok.value[1:] in _VARIABLE_FONTS:
        if t.is_(i + 1, "{"):
            end = t.close(i + 1)
            inner = _simple_name(t, i + 2)
            if inner is None or inner[1] != end:
                return None
            return inner[0], end + 1
        inner = _simple_name(t, i + 1)
        return inner
    return None


def _script_items(t: _Tokens, i: int) -> tuple[tuple[str, ...], int] | None:
    """A subscript's items (``_1``, ``_i``, ``_{ij}``, ``_{i,j}``, ``_{12}``) from ``i`` (the
    token after ``_``)."""
    tok = t.at(i)
    if tok is None:
        return None
    if tok.value == "{":
        end = t.close(i)
        items: list[str] = []
        for j in range(i + 1, end):
            part = t.toks[j]
            if part.value == ",":
                continue
            if part.kind in ("num", "letter"):
                items.append(part.value)
            elif part.kind == "cmd" and part.value[1:] in _GREEK:
                items.append(_GREEK[part.value[1:]])
            else:
                return None
        return (tuple(items), end + 1) if items else None
    if tok.kind == "num" and len(tok.value) == 1 or tok.kind == "letter":
        return (tok.value,), i + 1
    return None


def _is_top(t: _Tokens, i: int) -> int | None:
    r"""``^\top``, ``^T``, ``^{\top}``, ``^{\mathsf{T}}`` from ``i`` (the token after ``^``):
    the index after it."""
    if t.cmd(i, "top", "intercal") or t.is_(i, "T"):
        return i + 1
    if t.cmd(i, "mathsf", "mathrm", "text") and t.is_(i + 1, "{") and t.is_(i + 2, "T") \
            and t.is_(i + 3, "}"):
        return i + 4
    if t.is_(i, "{"):
        end = t.close(i)
        inner = _is_top(t, i + 1)
        if inner == end:
            return end + 1
    return None


def _is_two(t: _Tokens, i: int) -> int | None:
    """``^2`` or ``^{2}`` from ``i`` (the token after ``^``): the index after it."""
    if t.is_(i, "2"):
        return i + 1
    if t.is_(i, "{") and t.is_(i + 1, "2") and t.is_(i + 2, "}"):
        return i + 3
    return None


def _variable(t: _Tokens, i: int) -> tuple[Variable, int] | None:
    """A variable with its scripts: ``x``, ``x_i``, ``X_{ij}``, ``x^\top``, ``x_i^2``."""
    found = _simple_name(t, i)
    if found is None:
        return None
    name, j = found
    index: tuple[str, ...] = ()
    transposed, power = False, 1
    while j < len(t) and t.at(j).value in ("_", "^"):  # type: ignore[union-attr]
        if t.is_(j, "_") and not index:
            items = _script_items(t, j + 1)
            if items is None:
                return None
            index, j = items
        elif t.is_(j, "^"):
            top = _is_top(t, j + 1)
            two = _is_two(t, j + 1)
            if top is not None and not transposed:
                transposed, j = True, top
            elif two is not None and power == 1:
                power, j = 2, two
            else:
                return None
        else:
            return None
    return Variable(name, index, transposed, power, t.pos(i), t.toks[j - 1].end), j


def _plain_variable(t: _Tokens, i: int) -> tuple[Variable, int] | None:
    """A variable without scripts (the ``x`` of ``\nabla_x^2``)."""
    found = _simple_name(t, i)
    if found is None:
        return None
    return Variable(found[0], (), False, 1, t.pos(i), t.toks[found[1] - 1].end), found[1]


def _d_marker(t: _Tokens, i: int) -> int | None:
    """``d``, ``\\mathrm{d}``, ``\\operatorname{d}``, ``\text{d}``: the index after it."""
    if t.is_(i, "d") and t.at(i).kind == "letter":  # type: ignore[union-attr]
        return i + 1
    if t.cmd(i, *_D_FONTS):
        if t.is_(i + 1, "{") and t.is_(i + 2, "d") and t.is_(i + 3, "}"):
            return i + 4
        if t.is_(i + 1, "d"):
            return i + 2
    return None


def _marker(t: _Tokens, i: int) -> tuple[str, int] | None:
    r"""``\partial`` or a ``d`` at ``i``: which, and the index after it."""
    if t.cmd(i, "partial"):
        return "partial", i + 1
    after = _d_marker(t, i)
    return ("d", after) if after is not None else None
