"""The lexer of the LaTeX reader: which commands it knows, which ``|`` opens and which
closes, ``\\left``/``\\right``, ``\\operatorname{sign}``, digits of ``x^23``; and the LALR
parser of ``latex.lark`` that reads its tokens (built on first use)."""


from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from lark import Lark, Token
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedToken
from lark.lexer import Lexer

from ..model.errors import ParseError
from .syntax import _error
from .unicode import describe, latex_pieces

# ----------------------------------------------------------------------------- tables

_GREEK = {
    "alpha": "alpha", "beta": "beta", "gamma": "gamma", "delta": "delta",
    "epsilon": "eps", "varepsilon": "eps", "zeta": "zeta", "eta": "eta", "theta": "theta",
    "vartheta": "theta", "iota": "iota", "kappa": "kappa", "lambda": "lam", "mu": "mu",
    "nu": "nu", "xi": "xi", "pi": "pi", "rho": "rho", "varrho": "rho", "sigma": "sigma",
    "tau": "tau", "upsilon": "upsilon", "phi": "phi", "varphi": "phi", "chi": "chi",
    "psi": "psi", "omega": "omega",
    # capitals are matrices (a covariance \Sigma, a diagonal \Lambda)
    "Gamma": "Gamma", "Delta": "Delta", "Theta": "Theta", "Lambda": "Lambda", "Xi": "Xi",
    "Pi": "Pi", "Sigma": "Sigma", "Phi": "Phi", "Psi": "Psi", "Omega": "Omega",
}
# commands, and the operator names people declare with \DeclareMathOperator (\tr, \diag)
_FUNCTION_COMMANDS = {"exp": "exp", "log": "log", "ln": "log", "tanh": "tanh", "det": "det",
                      "tr": "trace", "Tr": "trace", "diag": "diag"}
# words inside \operatorname{...}, \mathrm{...}, \text{...} -> the expression language's name
_FUNCTION_WORDS = {"sign": "sign", "sgn": "sign", "exp": "exp", "log": "log", "ln": "log",
                   "tanh": "tanh", "sigmoid": "sigmoid", "abs": "abs",
                   "relu": "relu", "ReLU": "relu", "softplus": "softplus",
                   # functions of a whole vector or matrix
                   "sum": "sum", "mean": "mean", "var": "var", "Var": "var",
                   "softmax": "softmax", "logsumexp": "logsumexp", "LSE": "logsumexp",
                   "LayerNorm": "layer_norm", "layer_norm": "layer_norm",
                   "layernorm": "layer_norm", "RMSNorm": "rms_norm", "rms_norm": "rms_norm",
                   "rmsnorm": "rms_norm", "inv": "inv", "det": "det", "logdet": "logdet",
                   "tr": "trace", "Tr": "trace", "trace": "trace", "diag": "diag"}
# a bar or an overline: a mean, a complex conjugate, a closure or another point, by author
_AMBIGUOUS = ("bar", "overline")
_FONT_COMMANDS = ("operatorname", "mathrm", "text", "textrm", "textnormal", "mathsf",
                  "mathit", "mathbf", "boldsymbol", "bm", "vec", "mathnormal")
_SIZES = ("left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr",
          "biggl", "biggr", "Biggl", "Biggr", "bigm", "Bigm")
_SPACING = (",", ";", ":", "!", " ", "quad", "qquad", "displaystyle", "textstyle",
            "limits", "nolimits", "enspace", "thinspace")
_SIMPLE = {"frac": "_FRAC", "dfrac": "_FRAC", "tfrac": "_FRAC", "sqrt": "_SQRT",
           "sum": "_SUM", "cdot": "_TIMES", "times": "_TIMES", "odot": "_HAD",
           "circ": "_HAD", "infty": "INFTY", "top": "TRANSPOSE", "intercal": "TRANSPOSE",
           "lVert": "_LDBAR", "rVert": "_RDBAR", "lvert": "_LBAR", "rvert": "_RBAR"}

KNOWN_COMMANDS: tuple[str, ...] = tuple(sorted(
    {f"\\{c}" for c in (*_GREEK, *_FUNCTION_COMMANDS, *_FONT_COMMANDS, *_SIZES, *_SIMPLE,
                        "|", "Vert", "vert")}
    | {f"\\{c}" for c in _SPACING if c.isalpha()}, key=lambda c: (c.lower(), c)))
"""Every LaTeX command the reader understands (spacing commands such as ``\\,`` too)."""

_OPERAND_END = frozenset({"ONES", "NUMBER", "LETTER", "GREEK", "INFTY", "TRANSPOSE", "_RPAR",
                          "_RBRACE", "_RBAR", "_RDBAR"})
_SINGLE_ARG = frozenset({"ONES", "LETTER", "GREEK", "INFTY", "TRANSPOSE", "NUCSTAR"})
_PUNCT = {"+": "_PLUS", "-": "_MINUS", "*": "_TIMES", "/": "_SLASH", "^": "_CARET",
          "_": "_SUB", "(": "_LPAR", "[": "_LPAR", ")": "_RPAR", "]": "_RPAR",
          "{": "_LBRACE", "}": "_RBRACE", "=": "_EQ", ",": "_COMMA", ";": "_SEMI"}
_RAW = re.compile(r"(?P<space>\s+|~)|(?P<cmd>\\(?:[A-Za-z]+|.))"
                  r"|(?P<num>[0-9]+(?:\.[0-9]+)?|\.[0-9]+)|(?P<letter>[A-Za-z])"
                  r"|(?P<punct>[-+*/^_()\[\]{}|=,;])|(?P<dot>\.)", re.S)

_TOKEN_TEXT = {
    "NUMBER": "a number", "LETTER": "a letter", "GREEK": "a Greek letter",
    "FUNC": "a function", "TRANSPOSE": "'^\\top'", "INFTY": "'\\infty'", "NUCSTAR": "'*'",
    "_PLUS": "'+'", "_MINUS": "'-'", "_TIMES": "'\\cdot'", "_SLASH": "'/'", "_HAD": "'\\odot'",
    "_CARET": "'^'", "_SUB": "'_'", "_LPAR": "'('", "_RPAR": "')'", "_LBRACE": "'{'",
    "_RBRACE": "'}'", "_LBAR": "'|' (opening)", "_RBAR": "'|' (closing)",
    "_LDBAR": "'\\|' (opening a norm)", "_RDBAR": "'\\|' (closing a norm)",
    "_FRAC": "'\\frac'", "_SQRT": "'\\sqrt'", "_SUM": "'\\sum'", "_EQ": "'='",
    "_COMMA": "','", "_SEMI": "';'", "$END": "end of text",
}


# ----------------------------------------------------------------------------- lexer

@dataclass
class _Raw:
    kind: str
    value: str
    start: int
    end: int


def _raw_tokens(text: str) -> list[_Raw]:
    out: list[_Raw] = []
    pos = 0
    while pos < len(text):
        match = _RAW.match(text, pos)
        if match is None:
            unicode = latex_pieces(text, pos)  # λ, ‖, ₂, ², ᵀ, ⊙, ∇ as typed in notebooks
            if unicode is None:
                raise _error(text, pos, f"unexpected character {describe(text[pos])}")
            out.extend(_Raw(*piece) for piece in unicode[0])
            pos = unicode[1]
            continue
        kind = match.lastgroup or ""
        if kind != "space":
            out.append(_Raw(kind, match.group(), pos, match.end()))
        pos = match.end()
    return out


class _Lexer:
    """Classifies raw tokens into the grammar's terminals."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.raw = _raw_tokens(text)
        self.i = 0
        self.out: list[Token] = []
        self.bars: list[str] = []          # open '|' / '\|' delimiters, innermost last
        self.expect = 0                    # single-token arguments still expected (x^2, \frac12)
        self.braces: list[int] = []        # `expect` to restore when a '{' closes
        self.names: set[str] = set()

    def error(self, raw: _Raw, what: str, detail: str = "") -> ParseError:
        return _error(self.text, raw.start, what, detail)

    def emit(self, kind: str, value: str, start: int, end: int) -> None:
        if kind == "_LBRACE":
            self.braces.append(max(self.expect - 1, 0))
            self.expect = 0
        elif kind == "_RBRACE":
            self.expect = self.braces.pop() if self.braces else 0
        elif kind in _SINGLE_ARG or (kind == "NUMBER" and self.expect):
            self.expect = max(self.expect - 1, 0)
        elif kind in ("_CARET", "_SUB", "_SQRT"):
            self.expect = 1
        elif kind == "_FRAC":
            self.expect = 2
        else:
            self.expect = 0
        line = self.text.count("\n", 0, start) + 1
        col = start - (self.text.rfind("\n", 0, start) + 1) + 1
        self.out.append(Token(kind, value, start, line, col, line, col + end - start, end))

    def last(self, back: int = 1) -> str:
        return self.out[-back].type if len(self.out) >= back else ""

    def peek(self, k: int = 0) -> _Raw | None:
        j = self.i + k
        return self.raw[j] if j < len(self.raw) else None

    def bar(self, kind: str, raw: _Raw, force: str | None = None) -> None:
        opener, closer = ("_LBAR", "_RBAR") if kind == "bar" else ("_LDBAR", "_RDBAR")
        closes = force == "close" or (force is None and bool(self.bars)
                                      and self.bars[-1] == kind
                                      and self.last() in _OPERAND_END)
        if closes:
            if not self.bars or self.bars[-1] != kind:
                raise self.error(raw, f"'{raw.value}' closes a "
                                      f"{'norm' if kind == 'dbar' else 'absolute value'}"
                                      " that was never opened")
            self.bars.pop()
            self.emit(closer, raw.value, raw.start, raw.end)
        else:
            self.bars.append(kind)
            self.emit(opener, raw.value, raw.start, raw.end)

    def run(self) -> list[Token]:
        while self.i < len(self.raw):
            raw = self.raw[self.i]
            self.i += 1
            getattr(self, f"on_{raw.kind}")(raw)
        return _superscript_after_subscript(self.out)

    def on_num(self, raw: _Raw) -> None:
        value, start = raw.value, raw.start
        while self.expect and len(value) > 1 and value[0].isdigit():
            # x^23 is x^2 * 3 and \frac12 is 1/2: a script takes one character
            self.emit("NUMBER", value[0], start, start + 1)
            value, start = value[1:], start + 1
        self.emit("NUMBER", value, start, raw.end)

    def in_exponent(self) -> bool:
        """Whether the next token opens an exponent: after ``^``, ``^{`` or ``^{-`` (the
        ``T`` of ``x^T``, ``x^{T}`` and ``M^{-T}``)."""
        if self.last() == "_CARET":
            return True
        if self.last() == "_MINUS":
            return self.last(2) == "_LBRACE" and self.last(3) == "_CARET"
        return self.last() == "_LBRACE" and self.last(2) == "_CARET"

    def on_letter(self, raw: _Raw) -> None:
        after_caret = self.last() == "_CARET" or (
            self.in_exponent() and (nxt := self.peek()) is not None and nxt.value == "}")
        if raw.value == "T" and after_caret:
            self.emit("TRANSPOSE", ".T", raw.start, raw.end)
        elif (word := self.function_word(raw)) is not None:
            self.emit("FUNC", _FUNCTION_WORDS[word[0]], raw.start, word[1])
        else:
            self.names.add(raw.value)
            self.emit("LETTER", raw.value, raw.start, raw.end)

    def function_word(self, raw: _Raw) -> tuple[str, int] | None:
        """``sign(x)`` typed without a backslash (as in a notebook's Unicode): a function
        word of adjacent letters right before ``(``; the letters are consumed."""
        if raw.start > 0 and self.text[raw.start - 1].isalpha():
            return None
        j, end = self.i, raw.end
        while j < len(self.raw) and self.raw[j].kind == "letter" and self.raw[j].start == end:
            end = self.raw[j].end
            j += 1
        word = self.text[raw.start:end]
        after = self.raw[j] if j < len(self.raw) else None
        if word not in _FUNCTION_WORDS or len(word) < 2 or after is None or \
                after.value != "(" or after.start != end:
            return None
        self.i = j
        return word, end

    def on_punct(self, raw: _Raw) -> None:
        if raw.value == "|":
            self.bar("bar", raw)
        elif raw.value == "*" and self.last() in ("_SUB", "_LBRACE") and (
                self.last() == "_SUB" or self.last(2) == "_SUB"):
            self.emit("NUCSTAR", "*", raw.start, raw.end)
        else:
            self.emit(_PUNCT[raw.value], raw.value, raw.start, raw.end)

    def on_dot(self, raw: _Raw) -> None:
        raise self.error(raw, "unexpected character '.'")

    def on_cmd(self, raw: _Raw) -> None:
        name = raw.value[1:]
        if name in _SPACING:
            return
        if name in _SIZES:
            self.sized(raw, name)
        elif name in ("|", "Vert"):
            self.bar("dbar", raw)
        elif name == "vert":
            self.bar("bar", raw)
        elif name in ("lVert", "lvert"):
            self.bar("dbar" if name == "lVert" else "bar", raw, "open")
        elif name in ("rVert", "rvert"):
            self.bar("dbar" if name == "rVert" else "bar", raw, "close")
        elif name in _SIMPLE:
            self.emit(_SIMPLE[name], ".T" if _SIMPLE[name] == "TRANSPOSE" else raw.value,
                      raw.start, raw.end)
        elif name == "sigma" and self.opens_call():
            self.emit("FUNC", "sigmoid", raw.start, raw.end)
        elif name in _GREEK:
            self.names.add(_GREEK[name])
            self.emit("GREEK", _GREEK[name], raw.start, raw.end)
        elif name in _FUNCTION_COMMANDS:
            self.emit("FUNC", _FUNCTION_COMMANDS[name], raw.start, raw.end)
        elif name in _FONT_COMMANDS:
            self.font(raw, name)
        elif name in _AMBIGUOUS:
            typed = self.text[raw.start:raw.end]
            raise self.error(raw, f"'{typed}' is not read: a bar stands for a mean, a complex "
                                  "conjugate or another point, depending on the author",
                             "; write \\operatorname{mean}(x) for the mean of the entries of "
                             "x, or a plain name (x_0, z) for another point")
        elif name in ("nabla", "partial"):
            typed = self.text[raw.start:raw.end]
            raise self.error(raw, f"'{typed}' begins a derivative, which is a claim's left "
                                  "side, not part of an expression",
                             f"; sn.verify reads a claim such as '{typed} f = ...' (and "
                             f"symnorm verify a file of them); parse_latex reads the "
                             f"expression on its right")
        else:
            raise self.error(raw, f"unknown command '{raw.value}'",
                             f"; known commands: {' '.join(KNOWN_COMMANDS)}")

    def opens_call(self) -> bool:
        nxt = self.peek()
        return nxt is not None and (nxt.value in ("(", "[") or nxt.value[1:] in _SIZES
                                    and (self.peek(1) or nxt).value in ("(", "["))

    def sized(self, raw: _Raw, name: str) -> None:
        delim = self.peek()
        if delim is None:
            raise self.error(raw, f"'{raw.value}' needs a delimiter after it",
                             " such as ( ) [ ] | \\|")
        self.i += 1
        if delim.value == ".":  # \right. closes nothing
            return
        force = "open" if name.endswith("l") or name == "left" else \
            "close" if name.endswith("r") or name == "right" else None
        value = delim.value
        if value in ("(", "["):
            self.emit("_LPAR", value, delim.start, delim.end)
        elif value in (")", "]"):
            self.emit("_RPAR", value, delim.start, delim.end)
        elif value in ("|", "\\vert", "\\lvert", "\\rvert"):
            self.bar("bar", delim, force)
        elif value in ("\\|", "\\Vert", "\\lVert", "\\rVert"):
            self.bar("dbar", delim, force)
        else:
            raise self.error(delim, f"'{value}' after '{raw.value}' is not a delimiter the "
                                    "reader knows", "; use ( ) [ ] | \\|")

    def font(self, raw: _Raw, name: str) -> None:
        """\\operatorname{sign}, \\mathbf{x}, \\mathsf{T}, \\boldsymbol x: one word."""
        first = self.peek()
        if first is None:
            raise self.error(raw, f"'{raw.value}' needs an argument")
        if first.value == "{":
            j = self.i + 1
            parts = []
            while j < len(self.raw) and self.raw[j].value != "}":
                parts.append(self.raw[j])
                j += 1
            if j == len(self.raw):
                raise self.error(first, "'{' is never closed")
            word = "".join(p.value for p in parts).replace("\\_", "_")  # layer\_norm
            start, end, self.i = first.start, self.raw[j].end, j + 1
        else:
            word, start, end = first.value, first.start, first.end
            self.i += 1
        script = self.in_exponent()
        if word == "T" and script:
            self.emit("TRANSPOSE", ".T", start, end)
        elif word in _FUNCTION_WORDS:
            self.emit("FUNC", _FUNCTION_WORDS[word], raw.start, end)
        elif len(word) == 1 and word.isalpha():
            self.names.add(word)
            self.emit("LETTER", word, start, end)
        elif word == "1" and name in ("mathbf", "boldsymbol", "bm"):
            self.emit("ONES", "1", raw.start, end)  # the vector of ones
        elif word.isdigit() and name in _FONT_COMMANDS:
            self.emit("NUMBER", word, start, end)
        else:
            raise self.error(first, f"unknown name '{word}' in '{raw.value}'",
                             f"; known function names: {', '.join(sorted(_FUNCTION_WORDS))}"
                             " (a variable is one letter)")


def _script_end(tokens: list[Token], i: int) -> int:
    """Index after the script starting at ``tokens[i]`` (one token or a {group})."""
    if i >= len(tokens):
        return i
    if tokens[i].type != "_LBRACE":
        return i + 1
    depth = 0
    for j in range(i, len(tokens)):
        depth += {"_LBRACE": 1, "_RBRACE": -1}.get(tokens[j].type, 0)
        if depth == 0:
            return j + 1
    return len(tokens)


def _superscript_after_subscript(tokens: list[Token]) -> list[Token]:
    r"""``\|x\|^2_2`` is ``\|x\|_2^2``: move a norm's subscript before its power."""
    out = list(tokens)
    for i, tok in enumerate(out):
        if tok.type != "_RDBAR" or i + 1 >= len(out) or out[i + 1].type != "_CARET":
            continue
        sup_end = _script_end(out, i + 2)
        if sup_end < len(out) and out[sup_end].type == "_SUB":
            sub_end = _script_end(out, sup_end + 1)
            out[i + 1:sub_end] = out[sup_end:sub_end] + out[i + 1:sup_end]
    return out


class _LarkLexer(Lexer):
    def __init__(self, lexer_conf: Any) -> None:
        pass

    def lex(self, data: Any) -> Any:  # data: the token list made by _Lexer
        yield from data


@functools.cache
def _parser() -> Lark:
    """The LALR parser of ``latex.lark``, built on first use (it takes tens of ms)."""
    return Lark(resources.files("symnorm.language").joinpath("latex.lark").read_text(),
                parser="lalr", lexer=_LarkLexer, propagate_positions=True)


def _from_lark(text: str, err: LarkError) -> ParseError:
    if isinstance(err, UnexpectedToken):
        token = err.token
        names = sorted({_TOKEN_TEXT.get(t, t) for t in err.expected})
        detail = f"; expected {', '.join(names)}" if names else ""
        if token.type == "$END":
            return _error(text, len(text.rstrip()), "unexpected end of text", detail)
        what = _TOKEN_TEXT.get(token.type, repr(str(token)))
        if token.type in ("NUMBER", "LETTER", "GREEK", "FUNC"):
            what = f"{what} '{text[token.start_pos:token.end_pos]}'"
        return _error(text, token.start_pos or 0, f"unexpected {what}", detail)
    if isinstance(err, (UnexpectedEOF, UnexpectedCharacters)):
        return _error(text, len(text.rstrip()), "unexpected end of text")
    return _error(text, 0, f"cannot read the text ({type(err).__name__})")
