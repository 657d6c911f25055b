"""Text and LaTeX printers in textbook notation.

``to_text`` prints the expression language the parser reads (``A.T*(A*x - b)/norm(A*x -
b, 2)``, ``.*`` and ``.^`` for elementwise product and power), so printed results built
from symbols can be pasted back (explicit number matrices print as nested lists, which
the language does not read). ``latex`` prints ``\\lVert x \\rVert_2``, ``^\\top``, ``\\odot`` and
``\\operatorname{sign}`` as in the Matrix Cookbook.
"""

from __future__ import annotations

import re

import sympy as sp
from sympy import HadamardPower, HadamardProduct, MatAdd, MatMul, Transpose
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from .atoms import Abs, Elementwise, MaxAbsSelector, Norm, ScalarOf, Sign

_GREEK_ABBREV = {"lam": "lambda", "eps": "epsilon"}


def _reads_as_negative(e: sp.Expr) -> bool:
    """True for exponents a person writes with a minus: -2, -1/2, 1 - p (= -(p - 1))."""
    if e.is_number:
        return bool(e.is_negative)
    if e.could_extract_minus_sign():
        return True
    if e.is_Add:
        _, dependent = e.as_independent(*e.free_symbols, as_Add=True)
        return dependent.could_extract_minus_sign()
    return False


def fraction(c: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """Split a scalar into numerator and denominator as a person writes them."""
    num, den = [], []
    for factor in sp.Mul.make_args(c):
        if factor.is_Rational and not factor.is_Integer:
            num.append(sp.Integer(factor.p))
            den.append(sp.Integer(factor.q))
        elif factor.is_Pow and _reads_as_negative(factor.exp):
            den.append(sp.Pow(factor.base, -factor.exp))
        else:
            num.append(factor)
    return sp.Mul(*num), sp.Mul(*den)


def _split_coeff(expr: MatMul) -> tuple[sp.Expr, sp.Expr, list[MatrixExpr]]:
    """Scalar numerator, scalar denominator and matrix factors of a matrix product."""
    scalars = [a for a in expr.args if not isinstance(a, MatrixExpr)]
    mats = [a for a in expr.args if isinstance(a, MatrixExpr)]
    num, den = fraction(sp.Mul(*scalars))
    return num, den, mats


class _HandOrder:
    """Terms in SymPy's order, but those that read as negative after the others, as
    written by hand: ``1 - lam/norm(v, 2)``, ``I - x*x.T/norm(x, 2)**2``."""

    def _as_ordered_terms(self, expr: sp.Basic, order: object = None) -> list:
        terms = super()._as_ordered_terms(expr, order=order)  # type: ignore[misc]
        return [t for t in terms if not _negative(t)] + [t for t in terms if _negative(t)]


def _signed_join(texts: list[str]) -> str:
    """Join printed terms with + and -, folding each term's own leading minus."""
    out = ""
    for i, text in enumerate(texts):
        if text.startswith("-"):
            out += (" - " if i else "-") + text[1:].lstrip()
        else:
            out += (" + " if i else "") + text
    return out


def _negative(term: sp.Basic) -> bool:
    if isinstance(term, MatMul):
        scalars = [a for a in term.args if not isinstance(a, MatrixExpr)]
        return sp.Mul(*scalars).could_extract_minus_sign()
    return term.could_extract_minus_sign()


class TextPrinter(_HandOrder, StrPrinter):
    """Prints the expression language (round-trips through :func:`symnorm.parse`)."""

    def _print_Norm(self, expr: Norm) -> str:
        return f"norm({self._print(expr.arg)}, {self._print(expr.p)})"

    def _print_Infinity(self, expr: sp.Basic) -> str:
        return "oo"

    def _print_Abs(self, expr: sp.Abs) -> str:  # the language writes abs, SymPy Abs
        return f"abs({self._print(expr.args[0])})"

    def _print_ScalarOf(self, expr: ScalarOf) -> str:
        return self._print(expr.mat)

    def _print_Transpose(self, expr: Transpose) -> str:
        inner = self._print(expr.arg)
        if not isinstance(expr.arg, MatrixSymbol) and not getattr(expr.arg, "prints_atomic",
                                                                  False):
            inner = f"({inner})"
        return f"{inner}.T"

    def _print_Elementwise(self, expr: Elementwise) -> str:
        return f"{expr.name}({self._print(expr.arg)})"

    def _print_HadamardProduct(self, expr: HadamardProduct) -> str:
        return " .* ".join(self.parenthesize(a, PRECEDENCE["Mul"]) for a in expr.args)

    def _print_HadamardPower(self, expr: HadamardPower) -> str:
        base = self.parenthesize(expr.base, PRECEDENCE["Pow"])
        exp = self._print(expr.exp)
        if not (expr.exp.is_Atom and (expr.exp.is_Integer or expr.exp.is_Symbol)):
            exp = f"({exp})"
        return f"{base}.^{exp}"

    def _print_Identity(self, expr: sp.Basic) -> str:
        return "I"

    def _print_Trace(self, expr: sp.Basic) -> str:
        return f"trace({self._print(expr.arg)})"

    def _print_Inverse(self, expr: sp.Basic) -> str:
        return f"inv({self._print(expr.arg)})"

    def _print_DiagMatrix(self, expr: sp.Basic) -> str:
        return f"diag({self._print(expr.args[0])})"

    def _print_Max(self, expr: sp.Basic) -> str:
        return "max(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Min(self, expr: sp.Basic) -> str:
        return "min(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_MatrixBase(self, expr: sp.MatrixBase) -> str:
        rows = (", ".join(self._print(e) for e in expr.row(i)) for i in range(expr.rows))
        return "[" + ", ".join(f"[{r}]" for r in rows) + "]"

    _print_ImmutableDenseMatrix = _print_MatrixBase
    _print_MutableDenseMatrix = _print_MatrixBase

    def _print_MatAdd(self, expr: MatAdd) -> str:
        return _signed_join([self._print(t) for t in self._as_ordered_terms(expr)])

    def _print_MatMul(self, expr: MatMul) -> str:
        num, den, mats = _split_coeff(expr)
        sign = ""
        if num.could_extract_minus_sign():
            num, sign = -num, "-"
        factors = [] if num == 1 else [self.parenthesize(num, PRECEDENCE["Mul"], strict=True)]
        factors += [self.parenthesize(m, PRECEDENCE["Mul"]) for m in mats]
        text = "*".join(factors) if factors else "1"
        if den != 1:
            text += "/" + self.parenthesize(den, PRECEDENCE["Mul"] + 1)
        return sign + text


class SymnormLatexPrinter(_HandOrder, LatexPrinter):
    """LaTeX in Matrix Cookbook notation."""

    def _print_Norm(self, expr: Norm) -> str:
        from .rules import norm_rule

        rule = norm_rule(expr.p)
        if "latex" in rule.extras:  # a norm with a notation of its own (group lasso)
            return rule.extras["latex"](self._print(expr.arg), expr.p)
        p = expr.p
        sub = r"\infty" if p == sp.oo else self._print(p)
        return rf"\left\lVert {self._print(expr.arg)} \right\rVert_{{{sub}}}"

    def _print_ScalarOf(self, expr: ScalarOf) -> str:
        return self._print(expr.mat)

    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        match = re.fullmatch(r"(lam|eps)(\d*)", expr.name)
        if match:
            name = _GREEK_ABBREV[match.group(1)]
            return super()._print_Symbol(sp.Symbol(name + match.group(2)))
        return super()._print_Symbol(expr, style=style)

    def _print_Transpose(self, expr: Transpose) -> str:
        inner = self._print(expr.arg)
        if not isinstance(expr.arg, MatrixSymbol) and not getattr(expr.arg, "prints_atomic",
                                                                  False):
            inner = rf"\left({inner}\right)"
        return rf"{inner}^\top"

    def _print_Inverse(self, expr: sp.Basic) -> str:
        arg = expr.arg
        if isinstance(arg, Transpose) and isinstance(arg.arg, MatrixSymbol):
            return rf"{self._print(arg.arg)}^{{-\top}}"
        inner = self._print(arg)
        if not isinstance(arg, MatrixSymbol):
            inner = rf"\left({inner}\right)"
        return rf"{inner}^{{-1}}"

    def _print_Elementwise(self, expr: Elementwise) -> str:
        from .rules import ELEMENTWISE

        return ELEMENTWISE[expr.name].latex.format(u=self._print(expr.arg))

    def _print_MaxAbsSelector(self, expr: MaxAbsSelector) -> str:
        return "e_{k}"

    def _component(self, u: MatrixExpr, index: str) -> str:
        if isinstance(u, MatrixSymbol):
            return f"{self._print(u)}_{{{index}}}"
        return rf"\left({self._print(u)}\right)_{{{index}}}"

    def _print_HadamardProduct(self, expr: HadamardProduct) -> str:
        args = list(expr.args)
        if (len(args) == 2 and isinstance(args[0], Sign) and isinstance(args[1], MaxAbsSelector)
                and args[0].arg == args[1].arg):
            return (rf"\operatorname{{sign}}\left({self._component(args[0].arg, 'k')}\right)"
                    r"\, e_{k}")
        return r" \odot ".join(self.parenthesize(a, PRECEDENCE["Mul"]) for a in args)

    def _print_HadamardPower(self, expr: HadamardPower) -> str:
        exp = self._print(expr.exp)
        if isinstance(expr.base, Abs):
            return rf"\lvert {self._print(expr.base.arg)} \rvert^{{{exp}}}"
        base = self.parenthesize(expr.base, PRECEDENCE["Pow"])
        return rf"{base}^{{\circ {exp}}}"

    def _print_Identity(self, expr: sp.Basic) -> str:
        return "I"

    def _print_DiagMatrix(self, expr: sp.Basic) -> str:
        return rf"\operatorname{{diag}}\left({self._print(expr.args[0])}\right)"

    def _print_DiagonalMatrix(self, expr: sp.Basic) -> str:
        return rf"\operatorname{{Diag}}\left({self._print(expr.args[0])}\right)"

    def _print_DiagonalOf(self, expr: sp.Basic) -> str:
        return rf"\operatorname{{diag}}\left({self._print(expr.args[0])}\right)"

    def _print_MatrixElement(self, expr: sp.Basic) -> str:
        # components are 1-based, as written by hand: x[0, 0] is x_{1}
        parent = expr.parent
        base = self._print(parent)
        if not isinstance(parent, MatrixSymbol):
            base = rf"\left({base}\right)"
        rows = [self._print(expr.i + 1)]
        if parent.shape[1] != 1:
            rows.append(self._print(expr.j + 1))
        return f"{base}_{{{', '.join(rows)}}}"

    def _print_MatAdd(self, expr: MatAdd) -> str:
        return _signed_join([self._print(t) for t in self._as_ordered_terms(expr)])

    def _print_MatMul(self, expr: MatMul) -> str:
        num, den, mats = _split_coeff(expr)
        sign = ""
        if num.could_extract_minus_sign():
            num, sign = -num, "- "
        parts = [] if num == 1 else [self.parenthesize(num, PRECEDENCE["Mul"], strict=True)]
        alone = len(mats) == 1 and num == 1
        if den != 1 and alone and isinstance(mats[0], MatAdd):
            # (1/d)(a - b) reads better than a fraction over a bracket
            return (sign + rf"\frac{{1}}{{{self._print(den)}}}"
                    rf"\left({self._print(mats[0])}\right)")
        for m in mats:
            text = self._print(m)
            if isinstance(m, (MatAdd, HadamardProduct)) and not alone:
                text = rf"\left({text}\right)"
            parts.append(text)
        body = " ".join(parts) if parts else "1"
        if den != 1:
            return sign + rf"\frac{{{body}}}{{{self._print(den)}}}"
        return sign + body


# Characters that text mode cannot show as themselves: pdflatex prints '<' as '¡' and '|'
# as a dash, and MathJax reads no macros inside \text{}. Each is shown in math mode
# between two \text pieces, which both renderers agree on.
_TEXT_BREAKOUT = {"\\": r"\backslash", "_": r"\_", "&": r"\&", "%": r"\%", "#": r"\#",
                  "{": r"\{", "}": r"\}", "<": "<", ">": ">", "|": r"\vert",
                  "^": r"\hat{}", "~": r"\sim", "$": r"\$"}


def latex_text(s: str) -> str:
    r"""Plain text made safe inside ``\text{...}``, for pdflatex and MathJax alike.

    A character that text mode cannot show (``< > | _ & % # { } ^ ~ $ \``) is set in
    math mode between two ``\text`` pieces: ``\text{p < 1}`` would print "p ¡ 1".

    >>> latex_text("p < 1")
    'p}<\\text{1'
    >>> latex_text("sum |x_i|")
    'sum }\\vert\\text{x}\\_\\text{i}\\vert\\text{'
    """
    for relation in "<>":  # math mode spaces a relation itself
        s = s.replace(f" {relation} ", relation)
    return "".join(rf"}}{_TEXT_BREAKOUT[c]}\text{{" if c in _TEXT_BREAKOUT else c for c in s)


def latex_note(s: str) -> str:
    r"""``\text{s}`` with ``s`` escaped (see :func:`latex_text`), without empty pieces.

    >>> latex_note("valid for p < 1")
    '\\text{valid for p}<\\text{1}'
    >>> latex_note("|x|")
    '\\vert\\text{x}\\vert'
    """
    return (r"\text{" + latex_text(s) + "}").replace(r"\text{}", "")


def wrap_words(s: str, width: int = 64) -> list[str]:
    """Split a note into lines of at most ``width`` characters, at spaces.

    >>> wrap_words("not valid where x = 0", width=12)
    ['not valid', 'where x = 0']
    """
    import textwrap

    return textwrap.wrap(s, width=width, break_long_words=True, break_on_hyphens=False) or [""]


def visible_width(tex: str) -> int:
    r"""A rough count of the characters ``tex`` shows (a ``\frac`` counts its wider part).

    >>> visible_width(r"\frac{x}{\left\lVert x \right\rVert_{2}} + y")
    6
    """
    tex = re.sub(r"\\(left|right|big|Big|operatorname|mathrm|text)\b", "", tex)
    while True:  # \frac{a}{b} is as wide as the wider of a and b
        match = re.search(r"\\frac\{((?:[^{}]|\{[^{}]*\})*)\}\{((?:[^{}]|\{[^{}]*\})*)\}", tex)
        if match is None:
            break
        wider = max(match.group(1), match.group(2), key=len)
        tex = tex[:match.start()] + wider + tex[match.end():]
    tex = re.sub(r"\\[A-Za-z]+", "x", tex)
    return len(re.sub(r"[{}\s^_]", "", tex))


def break_terms(tex: str, width: int = 52) -> list[str]:
    r"""Split a long sum at its top-level ``+`` and ``-`` into pieces of about ``width``.

    Pieces after the first start with their sign. A sum inside ``\left( ... \right)`` or
    braces is not split (LaTeX cannot break a ``\left ... \right`` pair across lines).

    >>> break_terms("a + b", width=80)
    ['a + b']
    >>> break_terms(r"\frac{a}{b} + c - d", width=2)
    ['\\frac{a}{b}', '+ c', '- d']
    """
    cuts, depth, k = [], 0, 0
    while k < len(tex):
        if tex.startswith(r"\left", k):
            depth, k = depth + 1, k + 5
            continue
        if tex.startswith(r"\right", k):
            depth, k = depth - 1, k + 6
            continue
        ch = tex[k]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif depth == 0 and k > 0 and tex[k - 1] == " " and ch in "+-" and \
                tex[k + 1:k + 2] == " ":
            cuts.append(k)
        k += 1
    terms = [tex[a:b].strip() for a, b in zip([0, *cuts], [*cuts, len(tex)])]
    out: list[str] = []
    for term in terms:
        if out and visible_width(out[-1] + term) <= width:
            out[-1] = f"{out[-1]} {term}"
        else:
            out.append(term)
    return out


def aligned_rows(rows: list[tuple[str, str, str]], notes: list[str] | None = None,
                 width: int = 52) -> str:
    r"""A derivation as display math that fits a page: an ``aligned`` block, one
    ``lhs = rhs`` a row, long right-hand sides broken at their top-level ``+``/``-``;
    each row's note is numbered at its right and written out under the block (with
    ``notes``), so nothing runs off the page.

    >>> print(aligned_rows([("f", "x + y", "by definition")]))
    \begin{gathered}
    \begin{aligned}
    f &= x + y && \text{(1)}
    \end{aligned} \\
    \text{(1) by definition}
    \end{gathered}
    """
    lines: list[str] = []
    under: list[str] = []
    seen: dict[str, int] = {}
    for lhs, rhs, note in rows:
        label = ""
        if note:
            if note not in seen:
                seen[note] = len(seen) + 1
                under.append(f"({seen[note]}) {note}")
            label = rf" && \text{{({seen[note]})}}"
        pieces = break_terms(rhs, width)
        lines.append(f"{lhs} &= {pieces[0]}{label}")
        lines += [rf"&\quad {{}}{piece}" for piece in pieces[1:]]
    block = r"\begin{aligned}" + "\n" + (" \\\\\n").join(lines) + "\n" + r"\end{aligned}"
    under += list(notes or [])
    if not under:
        return block
    text = [latex_note(part) for note in under for part in wrap_words(note)]
    return (r"\begin{gathered}" + "\n" + block + r" \\" + "\n" + (" \\\\\n").join(text)
            + "\n" + r"\end{gathered}")


def to_text(expr: object) -> str:
    """Expression-language text of ``expr``.

    >>> import symnorm as sn
    >>> A, x, b = sn.matrix("A"), sn.vector("x"), sn.vector("b", "m")
    >>> to_text(A.T*(A*x - b)/sn.norm(A*x - b, 2))
    'A.T*(A*x - b)/norm(A*x - b, 2)'
    """
    return TextPrinter().doprint(expr)


def latex(expr: object) -> str:
    r"""LaTeX of ``expr`` in textbook notation.

    >>> import symnorm as sn
    >>> x = sn.vector("x")
    >>> latex(x/sn.norm(x, 2))
    '\\frac{x}{\\left\\lVert x \\right\\rVert_{2}}'
    """
    return SymnormLatexPrinter().doprint(expr)
