"""The syntax of the expression language: tokens, the operator-precedence reader that
builds the syntax tree (explicit stacks, linear time, no recursion), and error messages
that point at the text with a caret."""


from __future__ import annotations

import keyword
import re
from collections.abc import Iterator
from typing import Any

from ..model.errors import ParseError
from .unicode import DERIVATIVE_SIGNS, GREEK, SPACES, SUBSCRIPTS, SUPERSCRIPTS, describe

# `lambda` is a Greek letter here; other Python keywords have no meaning in the language.
_RESERVED = frozenset(keyword.kwlist) - {"lambda"}

_SUM_OPS = frozenset({"add", "sub"})
_PRODUCT_OPS = frozenset({"mul", "div", "hadamard"})
_BINARY_OPS = _SUM_OPS | _PRODUCT_OPS | {"pow", "hpow"}
_OP_TEXT = {"add": "+", "sub": "-", "mul": "*", "div": "/", "hadamard": ".*",
            "pow": "**", "hpow": ".^"}

# --------------------------------------------------------------------------- errors

def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _caret(text: str, pos: int) -> str:
    """The line holding ``pos`` and a ``^`` under it (a window of it if the line is long)."""
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    line = text[start:len(text) if end == -1 else end]
    col = pos - start
    width = 76
    if len(line) > width:
        lo = max(0, min(col - width // 2, len(line) - width))
        hi = lo + width
        prefix = "..." if lo > 0 else ""
        line = prefix + line[lo:hi] + ("..." if hi < len(line) else "")
        col = len(prefix) + col - lo
    pad = "".join("\t" if c == "\t" else " " for c in line[:col])
    return f"    {line}\n    {pad}^"


def _error(text: str, pos: int, what: str, detail: str = "") -> ParseError:
    pos = max(0, min(pos, len(text)))
    line, col = _line_col(text, pos)
    message = f"{what} at line {line}, column {col}{detail}\n{_caret(text, pos)}"
    return ParseError(message, text, pos, line, col)


def syntax_error(text: str, pos: int, what: str, detail: str = "") -> ParseError:
    """A :class:`~symnorm.model.errors.ParseError` at ``pos`` of ``text``: ``what at line
    L, column C`` and ``detail``, then the line with a caret under the position."""
    return _error(text, pos, what, detail)


def _end_pos(text: str) -> int:
    return len(text.rstrip())


# --------------------------------------------------------------------------- reading

class Token(str):
    """A token of the text: its kind (``NAME``, ``NUMBER``, ``ATTR``, an operator) and span."""

    __slots__ = ("type", "start_pos", "end_pos")

    def __new__(cls, type_: str, value: str, start: int, end: int) -> "Token":
        self = super().__new__(cls, value)
        self.type, self.start_pos, self.end_pos = type_, start, end
        return self


class Tree:
    """A node of the syntax tree: ``data`` (the rule), ``children``, and its text span."""

    __slots__ = ("data", "children", "start_pos", "end_pos")

    def __init__(self, data: str, children: list, start: int, end: int) -> None:
        self.data, self.children, self.start_pos, self.end_pos = data, children, start, end

    @property
    def meta(self) -> "Tree":
        return self

    def __repr__(self) -> str:
        return f"Tree({self.data!r}, {self.children!r})"


_GREEK_CHARS = "".join(GREEK)
_SUB_DIGITS = "₀₁₂₃₄₅₆₇₈₉"
_TOKEN_RE = re.compile(rf"""
    (?P<WS>[ \t\r\n\f]+)
  | (?P<NUMBER>(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<ATTR>\.[A-Za-z_][A-Za-z0-9_]*)
  | (?P<OP>\*\*|\.\*|\.\^|[-+*/^(),])
  | (?P<NAME>[A-Za-z_{_GREEK_CHARS}][A-Za-z0-9_{_GREEK_CHARS}{_SUB_DIGITS}]*)
  | (?P<STRING>'(?:fro|nuc)'|"(?:fro|nuc)")
""", re.VERBOSE)
# Unicode operators of the expression language (besides Greek names and scripts)
_UNICODE_OPS = {"⊙": ".*", "∘": ".*", "·": "*", "⋅": "*", "∙": "*", "×": "*", "∗": "*",
                "−": "-", "–": "-"}
# a norm's order written after its closing ‖: ₂, _2, _∞, _oo, _p, _F (Frobenius), _* (nuclear)
_NORM_ORDER_RE = re.compile(r"_(?:([0-9]+(?:\.[0-9]+)?)|(∞|oo|inf)|(F|fro)|(\*|nuc)"
                            r"|([A-Za-z]|[" + _GREEK_CHARS + r"]))(?![A-Za-z0-9_])")
_SUB_ORDER_RE = re.compile(r"[₀₁₂₃₄₅₆₇₈₉]+|ₚ")

# binary operators: (precedence, right-associative, rule)
_BINARY: dict[str, tuple[int, bool, str]] = {
    "+": (1, False, "add"), "-": (1, False, "sub"),
    "*": (2, False, "mul"), "/": (2, False, "div"), ".*": (2, False, "hadamard"),
    "**": (4, True, "pow"), "^": (4, True, "pow"), ".^": (4, True, "hpow"),
}
_PREFIX_PREC = 3
_OPERAND_START = "'+', '-', '(', a name, a number"
_AFTER_OPERAND = "'+', '-', '*', '/', '.*', '**', '^', '.^', '.T'"


def _name_value(text: str) -> str:
    """A name as typed (``λ``, ``W₁``, ``σ_1``) in the language's letters (``lam``, ``W1``)."""
    out = []
    for ch in text:
        if ch in GREEK:
            word = GREEK[ch]
            out.append({"lambda": "lam", "epsilon": "eps", "vartheta": "theta",
                        "varrho": "rho"}.get(word, word))
        elif ch in SUBSCRIPTS:
            out.append(SUBSCRIPTS[ch])
        else:
            out.append(ch)
    return "".join(out)


def _unicode_tokens(text: str, pos: int) -> tuple[list[Token], int]:
    """The tokens a Unicode character (or a run of scripts) at ``pos`` stands for."""
    ch = text[pos]
    if ch in SPACES:
        return [], pos + 1
    if ch == "‖" or ch == "∥":
        return [Token("DBAR", "‖", pos, pos + 1)], pos + 1
    if ch in _UNICODE_OPS:
        op = _UNICODE_OPS[ch]
        return [Token(op, op, pos, pos + 1)], pos + 1
    if ch == "∞":
        return [Token("NAME", "oo", pos, pos + 1)], pos + 1
    if ch in ("ᵀ", "⊤"):
        return [Token("ATTR", ".T", pos, pos + 1)], pos + 1
    if ch in SUPERSCRIPTS:
        end = pos
        while end < len(text) and text[end] in SUPERSCRIPTS:
            end += 1
        run = "".join(SUPERSCRIPTS[c] for c in text[pos:end])
        out = [Token("**", "**", pos, pos + 1)]
        body = run.lstrip("+-")
        for k, sign in enumerate(run[:len(run) - len(body)]):
            out.append(Token(sign, sign, pos + k, pos + k + 1))
        start = end - len(body)
        if body.isdigit():
            out.append(Token("NUMBER", body, start, end))
        elif body.isalpha() and len(body) == 1:
            out.append(Token("NAME", body, start, end))
        else:
            raise _error(text, pos, f"cannot read the superscript '{text[pos:end]}'",
                         "; a superscript is a number (x², ‖x‖⁻¹) or one letter (ᵖ)")
        return out, end
    if ch in DERIVATIVE_SIGNS:
        raise _error(text, pos, f"'{ch}' begins a derivative, which is a claim's left side, "
                                "not part of an expression",
                     f"; sn.verify reads a claim such as '{ch}f = ...'; parse reads the "
                     "expression on its right")
    if ch in SUBSCRIPTS:
        raise _error(text, pos, f"unexpected subscript '{ch}'",
                     "; in the expression language a subscript digit ends a name (W₁ is W1)"
                     " or gives a norm's order (‖x‖₂); components are LaTeX's x_1")
    raise _error(text, pos, f"unexpected character {describe(ch)}")


def _norm_order(text: str, pos: int) -> tuple[Token, int] | None:
    """The order written right after a norm's closing ``‖`` (``₂``, ``_∞``, ``_p``)."""
    m = _SUB_ORDER_RE.match(text, pos)
    if m is not None:
        value = "".join(SUBSCRIPTS[c] for c in m.group())
        kind = "NUMBER" if value.isdigit() else "NAME"
        return Token("NORMSUB", f"{kind}:{value}", pos, m.end()), m.end()
    m = _NORM_ORDER_RE.match(text, pos)
    if m is None:
        return None
    number, infinity, fro, nuc, name = m.groups()
    value = (f"NUMBER:{number}" if number else "NAME:oo" if infinity else "NAME:fro" if fro
             else "NAME:nuc" if nuc else f"NAME:{_name_value(name)}")
    return Token("NORMSUB", value, pos, m.end()), m.end()


def _tokens(text: str) -> Iterator[Token]:
    """The tokens of ``text``, read lazily so an earlier syntax error is reported first."""
    pos, end = 0, len(text)
    match = _TOKEN_RE.match
    last: Token | None = None
    while pos < end:
        if last is not None and last.type == "DBAR":
            order = _norm_order(text, pos)
            if order is not None:
                last, pos = order
                yield last
                continue
        m = match(text, pos)
        if m is None:
            if text[pos] in "'\"":
                raise _error(text, pos, f"unexpected character {text[pos]!r}",
                             "; only the matrix norm orders 'fro' and 'nuc' may be quoted")
            if text[pos].isascii():
                raise _error(text, pos, f"unexpected character {text[pos]!r}")
            unicode, pos = _unicode_tokens(text, pos)
            for tok in unicode:
                last = tok
                yield tok
            continue
        kind = m.lastgroup
        stop = m.end()
        if kind != "WS":
            value = m.group()
            if kind == "NAME":
                if value.startswith("_"):
                    raise _error(text, pos, f"name '{value}' is not allowed (names may not "
                                            f"start with '_')")
                value = _name_value(value)
                if value in _RESERVED:
                    raise _error(text, pos, f"keyword '{value}' is not part of the "
                                            f"expression language")
            elif kind == "OP":
                kind = value
            last = Token(kind, value, pos, stop)
            yield last
        pos = stop


def _syntax_tree(text: str) -> Tree | Token:
    """Operator-precedence reading with explicit stacks: linear in the length of the text
    and free of recursion, so long sums and deep parentheses cost nothing special."""
    operands: list[tuple[Any, int, int]] = []     # (node, outer start, outer end)
    # operator stack entries: ("bin", token, prec, right_assoc) / ("pre", token) /
    # ("paren", token) / ("call", name token, open paren token, argument count) /
    # ("norm", opening ‖ token)
    ops: list[tuple] = []
    expect_operand = True
    stream = _tokens(text)
    pending: Token | None = None

    def take() -> Token | None:
        nonlocal pending
        if pending is not None:
            tok, pending = pending, None
            return tok
        return next(stream, None)

    def reduce_one() -> None:
        entry = ops.pop()
        if entry[0] == "bin":
            right, left = operands.pop(), operands.pop()
            node = Tree(_BINARY[entry[1]][2], [left[0], right[0]], left[1], right[2])
            operands.append((node, left[1], right[2]))
        else:  # prefix
            arg = operands.pop()
            node = Tree("neg" if entry[1] == "-" else "pos", [arg[0]], entry[1].start_pos,
                        arg[2])
            operands.append((node, entry[1].start_pos, arg[2]))

    def reduce_to_group() -> None:
        while ops and ops[-1][0] in ("bin", "pre"):
            reduce_one()

    def unexpected(tok: Token | None, expected: str, hint: bool = False) -> ParseError:
        if tok is None:
            return _error(text, _end_pos(text), "unexpected end of text",
                          f"; expected {expected}")
        detail = f"; expected {expected}"
        if hint and tok.type in ("NAME", "NUMBER", "("):
            detail += " (is an operator such as '*' missing?)"
        what = (f"name '{tok}'" if tok.type == "NAME" else f"number {tok}"
                if tok.type == "NUMBER" else repr(str(tok)))
        return _error(text, tok.start_pos, f"unexpected {what}", detail)

    def closers() -> str:
        inside = [e for e in ops if e[0] in ("paren", "call", "norm")]
        if not inside:
            return ", end of text"
        if inside[-1][0] == "norm":
            return ", '‖'"
        return ", ')'" + (", ','" if inside[-1][0] == "call" else "")

    def close_norm(tok: Token) -> None:
        """``‖u‖`` (with an order after it: ``‖u‖₂``, ``‖u‖_∞``) is ``norm(u, ...)``."""
        nonlocal pending
        reduce_to_group()
        if not ops or ops[-1][0] != "norm":
            what = "')'" if ops and ops[-1][0] in ("paren", "call") else "end of text"
            raise _error(text, tok.start_pos, "'‖' closes a norm that was never opened",
                         f"; expected {_AFTER_OPERAND}, {what}" if ops else "")
        opening = ops.pop()[1]
        arg = operands.pop()[0]
        children = [Token("NAME", "norm", opening.start_pos, opening.end_pos), arg]
        end = tok.end_pos
        nxt = take()
        if nxt is not None and nxt.type == "NORMSUB":
            kind, value = str(nxt).split(":", 1)
            rule = "number" if kind == "NUMBER" else "var"
            children.append(Tree(rule, [Token(kind, value, nxt.start_pos, nxt.end_pos)],
                                 nxt.start_pos, nxt.end_pos))
            end = nxt.end_pos
        else:
            pending = nxt
        operands.append((Tree("call", children, opening.start_pos, end),
                         opening.start_pos, end))

    while True:
        tok = take()
        if expect_operand:
            if tok is None:
                raise unexpected(tok, _OPERAND_START)
            kind = tok.type
            if kind == "NUMBER":
                operands.append((Tree("number", [tok], tok.start_pos, tok.end_pos),
                                 tok.start_pos, tok.end_pos))
                expect_operand = False
            elif kind == "STRING":  # 'fro' or 'nuc'; only a norm order may be one
                operands.append((Tree("string", [tok], tok.start_pos, tok.end_pos),
                                 tok.start_pos, tok.end_pos))
                expect_operand = False
            elif kind == "NAME":
                nxt = take()
                if nxt is not None and nxt.type == "(":
                    ops.append(("call", tok, nxt, len(operands)))
                else:
                    pending = nxt
                    operands.append((Tree("var", [tok], tok.start_pos, tok.end_pos),
                                     tok.start_pos, tok.end_pos))
                    expect_operand = False
            elif kind in ("-", "+"):
                ops.append(("pre", tok))
            elif kind == "(":
                ops.append(("paren", tok))
            elif kind == "DBAR":
                ops.append(("norm", tok))
            elif kind == ")" and ops and ops[-1][0] == "call" and ops[-1][3] == len(operands):
                _, name, _, base = ops.pop()  # a call without arguments: f()
                operands.append((Tree("call", [name], name.start_pos, tok.end_pos),
                                 name.start_pos, tok.end_pos))
                expect_operand = False
            else:
                raise unexpected(tok, _OPERAND_START)
            continue
        if tok is None:
            reduce_to_group()
            if ops:
                raise unexpected(tok, _AFTER_OPERAND + closers())
            break
        kind = tok.type
        if kind == "DBAR":
            close_norm(tok)
            continue
        if kind in _BINARY:
            prec, right_assoc, _ = _BINARY[kind]
            while ops and ops[-1][0] in ("bin", "pre"):
                top_prec = ops[-1][2] if ops[-1][0] == "bin" else _PREFIX_PREC
                if top_prec > prec or (top_prec == prec and not right_assoc):
                    reduce_one()
                else:
                    break
            ops.append(("bin", tok, prec, right_assoc))
            expect_operand = True
        elif kind == "ATTR":
            node, start, _ = operands.pop()
            operands.append((Tree("attr", [node, tok], start, tok.end_pos), start, tok.end_pos))
        elif kind == ")":
            reduce_to_group()
            if not ops:
                raise unexpected(tok, _AFTER_OPERAND + ", end of text")
            if ops[-1][0] == "norm":
                raise unexpected(tok, _AFTER_OPERAND + closers())
            entry = ops.pop()
            if entry[0] == "paren":
                node, _, _ = operands.pop()
                operands.append((node, entry[1].start_pos, tok.end_pos))
            else:
                _, name, _, base = entry
                args = [o[0] for o in operands[base:]]
                del operands[base:]
                operands.append((Tree("call", [name, *args], name.start_pos, tok.end_pos),
                                 name.start_pos, tok.end_pos))
        elif kind == ",":
            reduce_to_group()
            if not ops or ops[-1][0] != "call":
                raise unexpected(tok, _AFTER_OPERAND + closers())
            expect_operand = True
        else:
            raise unexpected(tok, _AFTER_OPERAND + closers(), hint=True)
    return operands[0][0]


def _span(node: Tree | Token) -> tuple[int, int]:
    if isinstance(node, Token):
        return node.start_pos or 0, node.end_pos or 0
    return node.meta.start_pos, node.meta.end_pos


def _chain(node: Tree) -> tuple[Tree, list[Tree]]:
    """``a + b - c`` as (a, [a+b, a+b-c]): walks a left-recursive chain without recursion."""
    ops = _SUM_OPS if node.data in _SUM_OPS else _PRODUCT_OPS if node.data in _PRODUCT_OPS \
        else frozenset({node.data})
    links = []
    while isinstance(node, Tree) and node.data in ops:
        links.append(node)
        node = node.children[0]
    return node, links[::-1]


def _same_chain(parent: Tree, child: object) -> bool:
    if not isinstance(child, Tree):
        return False
    return any(parent.data in ops and child.data in ops for ops in (_SUM_OPS, _PRODUCT_OPS))


def _subtrees(tree: Tree) -> Iterator[Tree]:
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(c for c in node.children if isinstance(c, Tree))
