r"""What a result object shows, once, and how it reads in a terminal, in Jupyter and in a
document.

A result object describes itself as a title (:class:`~symnorm.presentation.prose.Note`)
and a list of blocks: :class:`Equations` (``lhs = rhs`` rows, each with an optional
note), :class:`Paragraph` (a sentence), :class:`Table`, :class:`Display` (one formula)
and :class:`SideBySide` (two formulas to compare). Three renderers turn blocks into

* terminal text (:func:`render_text`): one row a line, ``[note]`` at its right;
* display LaTeX for Jupyter (:func:`render_mathjax`): one ``gathered`` block that
  MathJax and pdflatex both accept, rows numbered at the right, the notes under them;
* document LaTeX (:func:`render_document`): ``align*`` with one number per equation
  (``(3a)``, ``(3b)`` for rows that share a note), notes as sentences under it,
  ``booktabs`` tables, long right-hand sides broken at their top-level signs.

:class:`Shown` derives ``text()``, ``latex()``, ``__str__``, ``_repr_latex_`` and
``_document_section_`` from ``_title_()`` and ``_blocks_()``, so a new kind of result
shows itself everywhere by saying what it is made of.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .layout import break_terms, visible_width
from .prose import Math, Note, math, tex_to_text

__all__ = ["Display", "Equations", "Paragraph", "Row", "Shown", "SideBySide", "Table",
           "equation_numbers", "heading", "number", "render_document", "render_mathjax",
           "render_text"]

EQUALS = Math("=", "=")
DOC_WIDTH = 66       # characters a display line of a document holds (11pt, 2.5 cm margins)
MATHJAX_WIDTH = 84   # characters of a line of notes in Jupyter
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


@dataclass
class Row:
    """``lhs relation rhs``, with a note saying why (empty: none)."""

    lhs: Math
    rhs: Math
    note: Note = field(default_factory=Note)
    relation: Math = EQUALS

    def __post_init__(self) -> None:
        self.lhs, self.rhs = math(self.lhs), math(self.rhs)
        self.note = Note.of(self.note)


@dataclass
class Equations:
    """Rows of equations aligned at their relation."""

    rows: list[Row]


@dataclass
class Paragraph:
    """A sentence, or a few, under the mathematics."""

    note: Note
    small: bool = False

    def __post_init__(self) -> None:
        self.note = Note.of(self.note)


@dataclass
class Table:
    """A small table; cells are notes (words with formulas) or formulas. ``wrap`` is the
    index of the column whose text wraps in a document (the others keep their width);
    ``in_text=False`` leaves it out of the terminal text (a check that the terminal reports
    in full elsewhere)."""

    header: list[Note]
    rows: list[list[Any]]
    align: str = ""
    wrap: int | None = None
    caption: Note | None = None
    in_text: bool = True

    def __post_init__(self) -> None:
        self.header = [Note.of(h) for h in self.header]
        self.rows = [[c if isinstance(c, (Math, Note)) else Note.of(str(c)) for c in row]
                     for row in self.rows]
        self.align = self.align or "l" * len(self.header)
        if self.caption is not None:
            self.caption = Note.of(self.caption)


@dataclass
class Display:
    """One formula on its own line (broken at its top-level signs when long)."""

    math: Math

    def __post_init__(self) -> None:
        self.math = math(self.math)


@dataclass
class SideBySide:
    """Two rows to compare (a claim and a derived result), under two labels: side by
    side when they fit, one above the other when not."""

    labels: tuple[Note, Note]
    left: Row
    right: Row

    def fits(self, width: int) -> bool:
        return _row_width(self.left) + _row_width(self.right) <= width


Block = Equations | Paragraph | Table | Display | SideBySide


def _row_width(row: Row) -> int:
    return visible_width(row.lhs.latex) + visible_width(row.rhs.latex) + 2


def number(value: float, digits: int = 2) -> Math:
    r"""A float as a formula: ``5.3\times 10^{-10}`` and ``5.3e-10``.

    >>> number(5.31e-10)
    Math(latex='5.3 \\times 10^{-10}', text='5.3e-10')
    >>> number(0.25).latex, number(float("nan")).text
    ('0.25', 'nan')
    """
    if value != value or value in (float("inf"), float("-inf")):
        word = "nan" if value != value else ("-inf" if value < 0 else "inf")
        tex = {"nan": r"\mathrm{NaN}", "inf": r"\infty", "-inf": r"-\infty"}[word]
        return Math(tex, word)
    text = f"{value:.{digits}g}"
    m = re.fullmatch(r"(-?[\d.]+)e([+-])0*(\d+)", text)
    if m is None:
        return Math(text, text)
    exp = ("-" if m.group(2) == "-" else "") + m.group(3)
    mant = m.group(1)
    tex = f"10^{{{exp}}}" if mant == "1" else rf"{mant} \times 10^{{{exp}}}"
    return Math(tex, text)


# -- numbering -------------------------------------------------------------------------------

_NUMBERS: contextvars.ContextVar[Iterator[int] | None] = contextvars.ContextVar(
    "symnorm_equation_numbers", default=None)


@contextlib.contextmanager
def equation_numbers() -> Iterator[None]:
    """Number the equations of every section rendered inside this block in one sequence
    (:func:`symnorm.latex_document` does; a section rendered alone starts at 1)."""
    token = _NUMBERS.set(itertools.count(1))
    try:
        yield
    finally:
        _NUMBERS.reset(token)


def _labels(rows: list[Row], counter: Iterator[int], every: bool
            ) -> tuple[list[str | None], list[tuple[list[str], Note]]]:
    """A label per row and the notes with the labels they explain. Consecutive rows with
    one note share a number (``3a``, ``3b``); with ``every`` a row without a note is
    numbered too."""
    labels: list[str | None] = []
    notes: dict[str, tuple[list[str], Note]] = {}
    i = 0
    while i < len(rows):
        n = rows[i].note
        j = i
        while n and j + 1 < len(rows) and rows[j + 1].note == n:
            j += 1
        if not n and not every:
            labels.append(None)
            i += 1
            continue
        k = next(counter)
        if j > i:
            labels += [f"{k}{_LETTERS[m % 26]}" for m in range(j - i + 1)]
            ref = f"{k}a–{_LETTERS[(j - i) % 26]}"
        else:
            labels.append(str(k))
            ref = str(k)
        if n:
            notes.setdefault(n.markup, ([], n))[0].append(ref)
        i = j + 1
    return labels, list(notes.values())


def _refs(refs: list[str]) -> str:
    return ", ".join(f"({r})" for r in refs)


# -- text --------------------------------------------------------------------------------------

def render_text(blocks: list[Block]) -> str:
    """Terminal text of blocks: one row a line with its note in brackets, tables in
    columns.

    >>> print(render_text([Equations([Row(Math("f", "f"), Math("x", "x"), "by definition")]),
    ...                    Paragraph("valid everywhere")]))
    f = x    [by definition]
    valid everywhere
    """
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Equations):
            for row in block.rows:
                lhs = row.lhs.text or " " * 4
                line = f"{lhs} {row.relation.text} {row.rhs.text}"
                out.append(line + (f"    [{row.note.text()}]" if row.note else ""))
        elif isinstance(block, Paragraph):
            out.append(block.note.text())
        elif isinstance(block, Display):
            out.append(block.math.text)
        elif isinstance(block, SideBySide):
            width = max(len(block.labels[0].text()), len(block.labels[1].text())) + 1
            for label, row in zip(block.labels, (block.left, block.right)):
                out.append(f"{(label.text() + ':').ljust(width)} {row.lhs.text} "
                           f"{row.relation.text} {row.rhs.text}")
        elif isinstance(block, Table) and block.in_text:
            if block.caption:
                out.append(block.caption.text())
            out += _text_table(block)
    return "\n".join(out)


def _cell_text(cell: Any) -> str:
    return cell.text if isinstance(cell, Math) else cell.text()


def _text_table(table: Table) -> list[str]:
    grid = [[h.text() for h in table.header]] + [[_cell_text(c) for c in r] for r in table.rows]
    widths = [max(len(r[k]) for r in grid) for k in range(len(table.header))]

    def line(cells: list[str]) -> str:
        parts = [c.rjust(w) if a == "r" else c.ljust(w)
                 for c, w, a in zip(cells, widths, table.align)]
        return "  " + "  ".join(parts).rstrip()

    return [line(grid[0]), "  " + "  ".join("-" * w for w in widths)] + \
        [line(r) for r in grid[1:]]


# -- display LaTeX (Jupyter, pasting) ----------------------------------------------------------

def _wrap(n: Note, width: int) -> list[Note]:
    """A note cut into lines of about ``width`` characters, between words (a formula is
    never cut)."""
    tokens: list[tuple[str, int]] = []  # (markup, shown width)
    for is_math, t in n.pieces():
        if is_math:
            tokens.append((f"${t}$", len(tex_to_text(t))))
        else:
            tokens += [(w, len(w)) for w in re.split(r"(?<= )", t) if w]
    lines: list[list[tuple[str, int]]] = [[]]
    used = 0
    for tok, w in tokens:
        if lines[-1] and used + w > width and not tok.startswith((",", ";", ".", ":", ")")):
            lines.append([])
            used = 0
        if not lines[-1] and tok.strip() == "":
            continue
        lines[-1].append((tok, w))
        used += w
    return [Note("".join(t for t, _ in line).rstrip()) for line in lines if line]


def _note_lines(notes: list[tuple[str, Note]], width: int = MATHJAX_WIDTH) -> list[str]:
    out = []
    for prefix, n in notes:
        for k, piece in enumerate(_wrap(n, width - len(prefix))):
            lead = prefix if k == 0 else r"\quad "
            out.append(lead + piece.mathjax())
    return out


def _mathjax_equations(block: Equations) -> list[str]:
    """The rows as an ``aligned`` block, numbered at the right where a note says why; the
    notes as a left-aligned ``array`` to go under it."""
    labels, notes = _labels(block.rows, itertools.count(1), every=False)
    lines = []
    for row, label in zip(block.rows, labels):
        tag = rf" && \text{{({label})}}" if label else ""
        width = max(30, MATHJAX_WIDTH - 10 - visible_width(row.lhs.latex))
        pieces = break_terms(row.rhs.latex, width)
        lines.append(f"{row.lhs.latex} &{row.relation.latex} {pieces[0]}{tag}")
        lines += [rf"&\quad {{}}{p}" for p in pieces[1:]]
    out = [r"\begin{aligned}" + "\n" + " \\\\\n".join(lines) + "\n" + r"\end{aligned}"]
    if notes:
        out.append(_left(_note_lines([(rf"\text{{{_refs(refs)} }}", n) for refs, n in notes])))
    return out


def _left(lines: list[str]) -> str:
    return r"\begin{array}{l}" + "\n" + " \\\\\n".join(lines) + "\n" + r"\end{array}"


def _cell_mathjax(cell: Any) -> str:
    return rf"\displaystyle {cell.latex}" if isinstance(cell, Math) else cell.mathjax()


def render_mathjax(blocks: list[Block]) -> str:
    r"""Display LaTeX of blocks (no ``$$``): what ``_repr_latex_`` shows in Jupyter. It
    uses only what MathJax and amsmath share, so it also compiles inside ``\[ ... \]``.

    >>> print(render_mathjax([Equations([Row(Math("f", "f"), Math("x", "x"), "a note")])]))
    \begin{gathered}
    \begin{aligned}
    f &= x && \text{(1)}
    \end{aligned} \\[6pt]
    \begin{array}{l}
    \text{(1) }\text{a note}
    \end{array}
    \end{gathered}
    """
    parts: list[str] = []
    for block in blocks:
        if isinstance(block, Equations) and block.rows:
            parts += _mathjax_equations(block)
        elif isinstance(block, Paragraph) and block.note:
            parts.append(_left(_note_lines([("", block.note)])))
        elif isinstance(block, Display):
            pieces = break_terms(block.math.latex, MATHJAX_WIDTH)
            parts.append(pieces[0] if len(pieces) == 1 else
                         r"\begin{aligned}" + "\n&" + " \\\\\n&\\quad {}".join(pieces)
                         + "\n" + r"\end{aligned}")
        elif isinstance(block, SideBySide):
            rows = [(label, row) for label, row in zip(block.labels, (block.left,
                                                                       block.right))]
            if block.fits(MATHJAX_WIDTH):
                head = r" & \qquad & ".join(label.mathjax() for label, _ in rows)
                body = r" & & ".join(rf"\displaystyle {r.lhs.latex} {r.relation.latex} "
                                     rf"{r.rhs.latex}" for _, r in rows)
                parts.append(r"\begin{array}{ccc}" + "\n" + head + r" \\[4pt]" + "\n" + body
                             + "\n" + r"\end{array}")
            else:
                lines = [f"{label.mathjax()}\\quad & {r.lhs.latex} {r.relation.latex} "
                         f"{r.rhs.latex}" for label, r in rows]
                parts.append(r"\begin{aligned}" + "\n" + " \\\\\n".join(lines) + "\n"
                             + r"\end{aligned}")
        elif isinstance(block, Table):
            head = " & ".join(h.mathjax() for h in block.header)
            body = [" & ".join(_cell_mathjax(c) for c in r) for r in block.rows]
            table = (rf"\begin{{array}}{{{block.align}}}" + "\n" + head + r" \\ \hline" + "\n"
                     + " \\\\[2pt]\n".join(body) + "\n" + r"\end{array}")
            if block.caption:
                table = _left([*_note_lines([("", block.caption)]), table])
            parts.append(table)
    if len(parts) == 1:
        return parts[0]
    return (r"\begin{gathered}" + "\n" + " \\\\[6pt]\n".join(parts) + "\n"
            + r"\end{gathered}")


# -- document LaTeX ------------------------------------------------------------------------------

def heading(text: str) -> str:
    """An unnumbered subsection heading (``text`` is LaTeX)."""
    return f"\\subsection*{{{text}}}"


def _doc_notes(notes: list[tuple[str, Note]]) -> str:
    lines = [rf"\noindent\hangindent=2em {prefix}{n.sentence().latex()}\par"
             for prefix, n in notes]
    return "\\par{\\small\\raggedright\n" + "\n".join(lines) + "\n\\par}"


def _doc_equations(block: Equations) -> list[str]:
    counter = _NUMBERS.get() or itertools.count(1)
    labels, notes = _labels(block.rows, counter, every=True)
    lines = []
    for row, label in zip(block.rows, labels):
        width = max(28, DOC_WIDTH - 6 - visible_width(row.lhs.latex))
        pieces = break_terms(row.rhs.latex, width)
        lines.append(f"{row.lhs.latex} &{row.relation.latex} {pieces[0]} \\tag{{{label}}}")
        lines += [rf"&\quad {{}}{p} \notag" for p in pieces[1:]]
    out = [r"\begin{align*}" + "\n" + " \\\\\n".join(lines) + "\n" + r"\end{align*}"]
    if notes:
        out.append(_doc_notes([(f"{_refs(refs)}\\enspace ", n) for refs, n in notes]))
    return out


def _cell_doc(cell: Any) -> str:
    return rf"$\displaystyle {cell.latex}$" if isinstance(cell, Math) else cell.latex()


def _doc_table(table: Table) -> str:
    spec = "".join(r">{\raggedright\arraybackslash}X" if k == table.wrap else a
                   for k, a in enumerate(table.align))
    env = "tabularx" if table.wrap is not None else "tabular"
    width = r"{\linewidth}" if table.wrap is not None else ""
    head = " & ".join(h.latex() for h in table.header) + r" \\"
    body = [" & ".join(_cell_doc(c) for c in r) + r" \\" for r in table.rows]
    lines = [rf"\begin{{{env}}}{width}{{@{{}}{spec}@{{}}}}", r"\toprule", head, r"\midrule",
             *body, r"\bottomrule", rf"\end{{{env}}}"]
    out = "\\begin{center}\\small\n" + "\n".join(lines) + "\n\\end{center}"
    if table.caption:
        out = "\\noindent " + table.caption.sentence().latex() + "\n" + out
    return out


def _doc_display(m: Math) -> str:
    pieces = break_terms(m.latex, DOC_WIDTH - 4)
    if len(pieces) == 1:
        return "\\[\n" + pieces[0] + "\n\\]"
    return (r"\begin{align*}" + "\n&" + " \\\\\n&\\quad {}".join(pieces) + "\n"
            + r"\end{align*}")


def _doc_side_by_side(block: SideBySide) -> str:
    rows = list(zip(block.labels, (block.left, block.right)))
    if block.fits(DOC_WIDTH - 8):
        head = " & ".join(rf"\textit{{{label.latex()}}}" for label, _ in rows)
        body = " & ".join(rf"$\displaystyle {r.lhs.latex} {r.relation.latex} {r.rhs.latex}$"
                          for _, r in rows)
        return ("\\begin{center}\n\\begin{tabular}{@{}c@{\\qquad}c@{}}\n" + head
                + r" \\[2pt]" + "\n" + body + "\n\\end{tabular}\n\\end{center}")
    lines = []
    for label, r in rows:
        width = max(28, DOC_WIDTH - 14 - visible_width(r.lhs.latex))
        pieces = break_terms(r.rhs.latex, width)
        lines.append(rf"&\text{{{label.text()}:}} & {r.lhs.latex} &{r.relation.latex} "
                     f"{pieces[0]}")
        lines += [rf"&& &\quad {{}}{p}" for p in pieces[1:]]
    return (r"\begin{alignat*}{2}" + "\n" + " \\\\\n".join(lines) + "\n"
            + r"\end{alignat*}")


def render_document(blocks: list[Block]) -> list[str]:
    """Document LaTeX of blocks, one chunk each (see the module docstring)."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Equations) and block.rows:
            out += _doc_equations(block)
        elif isinstance(block, Paragraph) and block.note:
            text = block.note.sentence().latex()
            out.append("\\par{\\small " + text + "\\par}" if block.small else
                       "\\par " + text + "\\par")
        elif isinstance(block, Display):
            out.append(_doc_display(block.math))
        elif isinstance(block, SideBySide):
            out.append(_doc_side_by_side(block))
        elif isinstance(block, Table):
            out.append(_doc_table(block))
    return out


# -- the protocol ----------------------------------------------------------------------------------

class Shown:
    """Display methods from ``_title_()`` (a heading in words) and ``_blocks_()``.

    A result class lists this as a base and defines those two; it then reads as text
    (``str``, ``text()``), as display LaTeX (``latex()``, ``_repr_latex_`` for Jupyter)
    and as a section of :func:`symnorm.latex_document` (``_document_section_``). A
    dataclass keeps this ``__repr__`` with ``@dataclass(repr=False)``.
    """

    def _title_(self) -> Note:
        return Note(type(self).__name__)

    def _blocks_(self) -> list[Block]:
        raise NotImplementedError

    def text(self) -> str:
        """Plain text, as printed in a terminal."""
        return render_text(self._blocks_())

    def latex(self) -> str:
        """Display LaTeX (no ``$$``): compiles under pdflatex with amsmath, renders in
        MathJax."""
        return render_mathjax(self._blocks_())

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        lines = self.text().splitlines()
        return lines[0] if len(lines) == 1 else f"<{self._title_().text()}>"

    def _repr_latex_(self) -> str:
        return "$$" + self.latex() + "$$"

    def _document_section_(self, caption: str | None = None) -> list[str]:
        """This object as a section of :func:`symnorm.latex_document`: a heading in
        words (or ``caption``, LaTeX), then its blocks."""
        title = caption if caption is not None else self._title_().latex()
        return [heading(title), *render_document(self._blocks_())]
