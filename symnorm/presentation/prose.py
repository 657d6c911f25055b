r"""Sentences with mathematics in them: the notes, headings and verdicts of result objects.

A :class:`Note` is written once, as LaTeX paragraph text in which the mathematics sits
between ``$...$`` (``"not valid where $x = 0$"``), and shown four ways: as terminal text
(the mathematics read back into plain characters, or a text given beside it), as a
paragraph of a LaTeX document, inside display mathematics (``\text{...}`` pieces between
the formulas, for MathJax and for ``\[ ... \]`` alike) and as HTML with MathJax
delimiters. :class:`Math` is one formula in both notations; :func:`math` makes it from an
expression (the LaTeX printer and the expression language's text).
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from ..model.text import to_text
from .formulas import bracket_depth, formula_latex, tex_to_text, typeset_plain
from .latex import latex as to_latex

__all__ = ["Math", "Note", "Text", "escape_words", "formula", "formula_latex", "math", "note",
           "plain_math", "quoted_source", "source_math", "tex_to_text", "typeset_plain"]


@dataclass(frozen=True)
class Math:
    """One formula: ``latex`` for the printers, ``text`` for a terminal."""

    latex: str
    text: str

    def __bool__(self) -> bool:
        return bool(self.latex or self.text)


def math(expr: Any) -> Math:
    r"""The :class:`Math` of an expression, a display object (``.latex()``/``.text()``) or
    a number.

    >>> import symnorm as sn
    >>> math(sn.norm(sn.vector("x"), 2))
    Math(latex='\\left\\lVert x \\right\\rVert_{2}', text='norm(x, 2)')
    """
    if isinstance(expr, Math):
        return expr
    if hasattr(expr, "latex") and hasattr(expr, "text") and callable(expr.latex):
        return Math(expr.latex(), expr.text())
    return Math(to_latex(expr), to_text(expr))


def plain_math(tex: str) -> Math:
    r"""A formula written in LaTeX, its text read back by :func:`tex_to_text`.

    >>> plain_math(r"\lVert x \rVert_2 \le 1").text
    '‖x‖₂ ≤ 1'
    """
    return Math(tex, tex_to_text(tex))


# -- words ----------------------------------------------------------------------------------------

# paragraph text: what text mode (OT1, the Type 1 Computer Modern fonts) cannot print as
# itself
_WORD_ESCAPES = {"\\": r"$\backslash$", "_": r"\_", "&": r"\&", "%": r"\%", "#": r"\#",
                 "{": r"$\{$", "}": r"$\}$", "^": r"\^{}", "~": r"\~{}", "$": r"\$",
                 "<": "$<$", ">": "$>$", "|": "$|$", '"': "''"}
# Unicode that a sentence may hold and that is mathematics: typeset in math mode
_MATH_CHARS = {
    "‖": r"\Vert", "∇": r"\nabla", "∂": r"\partial", "⊙": r"\odot", "≤": r"\le", "≥": r"\ge",
    "≠": r"\ne", "∞": r"\infty", "→": r"\to", "∈": r"\in", "·": r"\cdot", "×": r"\times",
    "−": "-", "ᵀ": r"^\top", "∗": "*", "λ": r"\lambda", "μ": r"\mu", "η": r"\eta",
    "σ": r"\sigma", "δ": r"\delta", "α": r"\alpha", "β": r"\beta", "γ": r"\gamma",
    "ε": r"\varepsilon", "θ": r"\theta", "π": r"\pi", "ρ": r"\rho", "τ": r"\tau",
    "φ": r"\varphi", "ω": r"\omega", "Σ": r"\Sigma", "Δ": r"\Delta", "Λ": r"\Lambda",
    "⟨": r"\langle", "⟩": r"\rangle", "∪": r"\cup", "∩": r"\cap", "⪰": r"\succeq",
    "≈": r"\approx", "±": r"\pm", "∘": r"\circ", "↦": r"\mapsto", "⇔": r"\iff",
    "₀": "_0", "₁": "_1", "₂": "_2", "₃": "_3", "₄": "_4", "ₚ": "_p", "ᵢ": "_i", "ⱼ": "_j",
    "ₖ": "_k", "⁰": "^0", "¹": "^1", "²": "^2", "³": "^3", "⁻": "^-",
}
# utf8 input prints Latin-1 letters (composed accents), dashes and quotes itself
_TEXT_OK = set("–—‘’“”…") | {chr(c) for c in range(0xC0, 0x100) if c not in (0xD7, 0xF7, 0xD0,
                                                                          0xDE, 0xF0, 0xFE)}
# inside \text{} (MathJax reads no macros there): math mode between two \text pieces
_MATHJAX_BREAKOUT = {"\\": r"\backslash", "_": r"\_", "&": r"\&", "%": r"\%", "#": r"\#",
                     "{": r"\{", "}": r"\}", "<": "<", ">": ">", "|": r"\vert",
                     "^": r"\hat{}", "~": r"\sim", "$": r"\$"}


def escape_words(s: str) -> str:
    r"""Words made safe for a pdflatex paragraph: specials escaped, mathematical Unicode
    (``‖``, ``λ``, ``₂``) set in math mode, accents kept (``utf8`` input).

    >>> escape_words("Hölder: 50% of ‖x‖₂ < 1 & more")
    'Hölder: 50\\% of $\\Vert$x$\\Vert_2$ $<$ 1 \\& more'
    """
    out: list[str] = []
    formula: list[str] = []  # consecutive mathematical characters share one $...$
    for ch in s:
        if ch in _MATH_CHARS:
            formula.append(_MATH_CHARS[ch])
            continue
        if formula:
            out.append("$" + "".join(formula) + "$")
            formula.clear()
        if ch in _WORD_ESCAPES:
            out.append(_WORD_ESCAPES[ch])
        elif ord(ch) < 128 or ch in _TEXT_OK:
            out.append(ch)
        else:
            base = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
            out.append(_WORD_ESCAPES.get(base, base) or "?")
    if formula:
        out.append("$" + "".join(formula) + "$")
    return "".join(out)


def _mathjax_words(s: str) -> str:
    """Words as ``\\text{...}`` pieces (empty pieces dropped), for display mathematics."""
    out, run = [], []

    def flush() -> None:
        if run:
            out.append(r"\text{" + "".join(run) + "}")
            run.clear()

    for ch in s:
        if ch in _MATHJAX_BREAKOUT:
            flush()
            out.append(_MATHJAX_BREAKOUT[ch])
        elif ch in _MATH_CHARS:
            flush()
            out.append("{" + _MATH_CHARS[ch] + "}" if _MATH_CHARS[ch][0] in "_^"
                       else _MATH_CHARS[ch] + " ")
        elif ord(ch) < 128 or ch in _TEXT_OK:
            run.append(ch)
        else:
            run.append(unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
                       or "?")
    flush()
    return "".join(out)


def formula(text: str) -> Math:
    r"""A formula given as text (the expression language), typeset by
    :func:`formula_latex`.

    >>> formula("norm(x, 2)**2")
    Math(latex='\\lVert x \\rVert_{2}^{2}', text='norm(x, 2)**2')
    """
    return Math(formula_latex(text), text)


# -- the user's own LaTeX ---------------------------------------------------------------------

# commands pdflatex knows (with amsmath and amssymb) that the LaTeX reader accepts
_SAFE_COMMANDS = set("""frac tfrac dfrac sqrt left right top intercal lVert rVert lvert rvert Vert
vert cdot odot circ times div sigma lambda mu eta alpha beta gamma delta epsilon varepsilon
zeta theta vartheta kappa nu xi pi rho tau phi varphi chi psi omega Gamma Delta Theta Lambda
Xi Pi Sigma Phi Psi Omega nabla partial sum prod log exp max min sin cos tan tanh sinh cosh
operatorname mathbf mathrm mathit text mathbb boldsymbol quad qquad big Big bigl bigr Bigl
Bigr langle rangle le ge ne leq geq neq in infty ldots cdots dots hat bar tilde mathsf
displaystyle textstyle""".split())
_SOURCE_UNICODE = {k: v for k, v in _MATH_CHARS.items()}


def source_math(src: str) -> Note:
    r"""A formula as the user wrote it in LaTeX, typeset when pdflatex and MathJax will
    read it (ASCII or known mathematical Unicode, known commands, balanced braces), else
    shown as words.

    >>> source_math(r"A^\top A x + b").latex()
    '$A^\\top A x + b$'
    >>> source_math(r"\foo x").latex()
    '$\\backslash$foo x'
    """
    tex = "".join(_SOURCE_UNICODE[ch] + (" " if _SOURCE_UNICODE[ch][-1].isalpha() else "")
                  if ch in _SOURCE_UNICODE else ch for ch in src.strip())
    commands = re.findall(r"\\([A-Za-z]+)", tex)
    safe = (all(ord(ch) < 128 for ch in tex) and all(c in _SAFE_COMMANDS for c in commands)
            and bracket_depth(tex.replace("{", "(").replace("}", ")")) == 0 and "$" not in tex
            and "&" not in tex and "%" not in tex and "#" not in tex and tex.count("{") ==
            tex.count("}") and not re.search(r"\\\\|\\$", tex))
    if safe and tex:
        return Note(f"${tex}$", src)
    return Note(src.replace("$", r"\$"), src)


def quoted_source(text: str) -> Note:
    """A message that quotes the user's LaTeX between single quotes: the quotes typeset
    by :func:`source_math`, the rest as words."""
    out = Note("", "")
    for k, piece in enumerate(re.split(r"'([^']*)'", text)):
        out = out + (source_math(piece) if k % 2 else Note(piece.replace("$", r"\$"), piece))
    return out


# -- notes ----------------------------------------------------------------------------------------

_PIECE = re.compile(r"(?<!\\)\$(.+?)(?<!\\)\$", re.S)


class Note:
    r"""A sentence (or a phrase) with mathematics in it.

    ``markup`` is the sentence with its formulas between ``$...$`` in LaTeX; the words
    are plain text (escaped when printed), Unicode allowed. ``plain`` is the terminal
    text; without it the formulas are read back into text by :func:`tex_to_text`.

    >>> n = Note(r"not valid where $\lVert x \rVert_2 = 0$")
    >>> n.text()
    'not valid where ‖x‖₂ = 0'
    >>> n.latex()
    'not valid where $\\lVert x \\rVert_2 = 0$'
    >>> n.mathjax()
    '\\text{not valid where }\\lVert x \\rVert_2 = 0'
    >>> n.sentence().text()
    'Not valid where ‖x‖₂ = 0.'
    """

    __slots__ = ("markup", "plain")

    def __init__(self, markup: str = "", plain: str | None = None) -> None:
        self.markup = markup
        self.plain = plain

    @classmethod
    def of(cls, value: "Note | str | None") -> "Note":
        """A note from a note, a :class:`Text`, a string or None (the empty note). A string
        with ``$...$`` in it is markup; one without is plain text, its formulas found and
        typeset by :func:`typeset_plain` (the terminal keeps the text as written)."""
        if isinstance(value, Note):
            return value
        if isinstance(value, Text):
            return value.note
        if not value:
            return cls("")
        if "$" in value:
            return cls(value)
        return cls(typeset_plain(value), value)

    def __bool__(self) -> bool:
        return bool(self.markup.strip())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Note) and (self.markup, self.text()) == \
            (other.markup, other.text())

    def __hash__(self) -> int:
        return hash(self.markup)

    def __repr__(self) -> str:
        return f"Note({self.text()!r})"

    def __add__(self, other: "Note | str") -> "Note":
        other = Note.of(other)
        return Note(self.markup + other.markup, self.text() + other.text())

    def __radd__(self, other: str) -> "Note":
        return Note.of(other) + self

    def pieces(self) -> list[tuple[bool, str]]:
        """``(is_math, text)`` in order: words and formulas."""
        out: list[tuple[bool, str]] = []
        k = 0
        for m in _PIECE.finditer(self.markup):
            if m.start() > k:
                out.append((False, self.markup[k:m.start()]))
            out.append((True, m.group(1)))
            k = m.end()
        if k < len(self.markup):
            out.append((False, self.markup[k:]))
        return out

    def text(self) -> str:
        """Terminal text."""
        if self.plain is not None:
            return self.plain
        return "".join(tex_to_text(t) if is_math else t.replace(r"\$", "$")
                       for is_math, t in self.pieces())

    def latex(self) -> str:
        """Paragraph LaTeX: escaped words, the formulas in ``$...$``."""
        return "".join(f"${t}$" if is_math else escape_words(t.replace(r"\$", "$"))
                       for is_math, t in self.pieces())

    def mathjax(self) -> str:
        """For display mathematics: words in ``\\text{...}``, formulas between them."""
        return "".join(t if is_math else _mathjax_words(t.replace(r"\$", "$"))
                       for is_math, t in self.pieces())

    def html(self) -> str:
        """HTML: escaped words, formulas between MathJax's ``\\(...\\)``."""
        return "".join(rf"\({html.escape(t)}\)" if is_math else html.escape(t)
                       for is_math, t in self.pieces())

    def sentence(self) -> "Note":
        """The note as a sentence: a capital first letter and a final full stop."""
        markup, plain = self.markup.strip(), None if self.plain is None else self.plain.strip()
        if not markup:
            return self
        if markup[0].islower():
            markup = markup[0].upper() + markup[1:]
            if plain:
                plain = plain[0].upper() + plain[1:]
        if not markup.endswith((".", "!", "?", ".$")):
            markup += "."
            if plain is not None:
                plain += "."
        return Note(markup, plain)

    def width(self) -> int:
        """A rough count of the characters the note shows."""
        return len(self.text())


def note(*parts: Any) -> Note:
    r"""A note from words (markup strings) and formulas (:class:`Math`, expressions).

    >>> import symnorm as sn
    >>> x = sn.vector("x")
    >>> n = note("not valid where ", math(sn.norm(x, 2)), " is 0")
    >>> n.text(), n.latex()
    ('not valid where norm(x, 2) is 0', 'not valid where $\\left\\lVert x \\right\\rVert_{2}$ is 0')
    """
    markup, plain = [], []
    for part in parts:
        if isinstance(part, (Note, str)):
            n = Note.of(part)
            markup.append(n.markup)
            plain.append(n.text())
        else:
            m = math(part)
            markup.append(f"${m.latex}$" if m.latex else "")
            plain.append(m.text)
    return Note("".join(markup), "".join(plain))


class Text(str):
    r"""Plain text (it is the ``str`` of the terminal) that keeps its typeset form in
    ``.note``: for messages stored as strings that documents typeset.

    >>> t = Text(Note(r"$x = 0$ here"))
    >>> t == "x = 0 here", Note.of(t).latex()
    (True, '$x = 0$ here')
    """

    note: Note

    def __new__(cls, n: Note) -> "Text":
        obj = super().__new__(cls, n.text())
        obj.note = n
        return obj
