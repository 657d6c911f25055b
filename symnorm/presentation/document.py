r"""Standalone LaTeX documents: derivations, checks and verdicts in one ``.tex`` file.

The document needs only packages of Debian's ``texlive-latex-base`` and
``texlive-latex-recommended`` (amsmath, amssymb, geometry, booktabs, tabularx, microtype)
and compiles with ``pdflatex``; :func:`compile_pdf` runs it when it is on the machine.
Each object reads as a section in words: a result object says how with
``_document_section_(caption)`` (see :mod:`symnorm.presentation.blocks`), and the
equations of the whole document are numbered in one sequence.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import textwrap
import unicodedata
from pathlib import Path
from typing import Any

import sympy as sp

from ..model.errors import SymnormError
from .blocks import Display, equation_numbers, heading, render_document
from .latex import latex as to_latex
from .layout import visible_width
from .prose import escape_words, math

__all__ = ["LatexError", "compile_pdf", "display", "escape_text", "heading", "inline",
           "latex_document", "verbatim"]

PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[utf8]{inputenc}
\usepackage[margin=2.5cm]{geometry}
\usepackage{amsmath,amssymb}
\usepackage{booktabs,tabularx}
\usepackage{microtype}
\allowdisplaybreaks
\setlength{\emergencystretch}{2em}
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.5ex plus 0.2ex}
"""

_ASCII = {"‖": "||", "∇": "grad ", "∂": "d", "⊙": ".*", "≤": "<=", "≥": ">=", "≠": "!=",
          "∞": "oo", "λ": "lambda", "μ": "mu", "η": "eta", "σ": "sigma", "→": "->",
          "∈": " in ", "·": ".", "×": "x", "−": "-", "…": "...", "ᵀ": ".T", "²": "^2",
          "₁": "_1", "₂": "_2", "ₚ": "_p", "∗": "*", "⁻": "-", "¹": "1"}


class LatexError(SymnormError):
    r"""pdflatex failed on a document; ``log`` holds its error lines.

    Raised by :func:`compile_pdf` (and :func:`latex_document` with ``pdf=True``) when
    pdflatex reports an error, produces no PDF, or runs past its time limit. The
    message names the file and quotes pdflatex's error lines (those starting with
    ``!``).

    Parameters
    ----------
    message : str
        The file and pdflatex's error lines.
    log : str, optional
        pdflatex's whole output (empty for a time-out).

    Attributes
    ----------
    log : str
        pdflatex's whole output.

    Examples
    --------
    >>> import pathlib, tempfile, symnorm as sn
    >>> bad = pathlib.Path(tempfile.mkdtemp()) / "bad.tex"
    >>> tex = r"\documentclass{article}\begin{document}\nocommand\end{document}"
    >>> _ = bad.write_text(tex)
    >>> try:
    ...     sn.compile_pdf(bad)
    ... except sn.LatexError as e:
    ...     print(str(e).splitlines()[:2])
    ... except sn.SymnormError:       # pdflatex is not installed here
    ...     print(['pdflatex failed on bad.tex:', '! Undefined control sequence.'])
    ['pdflatex failed on bad.tex:', '! Undefined control sequence.']
    """

    def __init__(self, message: str, log: str = "") -> None:
        super().__init__(message)
        self.log = log


def _ascii(s: str) -> str:
    out = []
    for ch in s:
        if ord(ch) < 128:
            out.append(ch)
        elif ch in _ASCII:
            out.append(_ASCII[ch])
        else:  # ö -> o: drop the accent rather than fail
            base = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
            out.append(base or "?")
    return "".join(out)


def escape_text(s: str) -> str:
    r"""Paragraph text made safe for pdflatex: specials escaped, mathematical Unicode
    typeset as mathematics, accented letters kept.

    >>> escape_text("‖x‖₂ < 1 & 50%, Hölder")
    '$\\Vert$x$\\Vert_2$ $<$ 1 \\& 50\\%, Hölder'
    """
    return escape_words(s)


def verbatim(text: str, width: int = 60) -> str:
    """A ``verbatim`` block of ``text``, lines wrapped at ``width`` (ASCII only)."""
    lines = []
    for line in _ascii(text).splitlines() or [""]:
        indent = len(line) - len(line.lstrip())
        lines += textwrap.wrap(line, width=width, subsequent_indent=" " * (indent + 4),
                               break_long_words=True, drop_whitespace=False) or [""]
    return "\\begin{verbatim}\n" + "\n".join(lines) + "\n\\end{verbatim}"


def display(tex: str) -> str:
    """Display math ``\\[ ... \\]`` of ``tex``, one form a line for a long ``\\iff``."""
    if "\n" not in tex and visible_width(tex) > 70 and " \\iff " in tex:
        # a one-line condition with an equivalent form: one form a line
        tex = "\\begin{gathered}\n" + " \\\\\n\\iff ".join(tex.split(" \\iff ")) + \
            "\n\\end{gathered}"
    return "\\[\n" + tex + "\n\\]"


def inline(expr: Any) -> str:
    """Inline math of an expression."""
    return f"${to_latex(expr)}$"


def _item(obj: Any, caption: str | None) -> list[str]:
    """The LaTeX blocks of one item. A result object that knows how it reads in a document
    says so with ``_document_section_(caption)`` (derivations, verdicts: see
    :class:`symnorm.Derivation`), in the manner of Jupyter's ``_repr_latex_``."""
    if isinstance(obj, str):
        return [escape_text(obj), ""]
    section = getattr(obj, "_document_section_", None)
    if callable(section):
        return list(section(caption))
    if isinstance(obj, sp.Basic):
        out = [heading(caption)] if caption else []
        return out + render_document([Display(math(obj))])
    if hasattr(obj, "latex") and callable(obj.latex):
        out = [heading(caption or escape_text(type(obj).__name__))]
        out.append(display(obj.latex()))
        return out
    if hasattr(obj, "summary") and callable(obj.summary):  # another report
        out = [heading(caption or escape_text(type(obj).__name__))]
        out.append(verbatim(obj.summary()))
        return out
    raise SymnormError(f"cannot put a {type(obj).__name__} in a document; give a "
                       "derivation, a verdict, a report, an expression or text")


def latex_document(items: Any, title: str | None = None, *, author: str | None = None,
                   path: str | Path | None = None, pdf: bool = False) -> str:
    r"""A complete ``.tex`` document of ``items``, as a string (also written to ``path``).

    ``items`` is one object or a list of them: derivations (``sn.grad``, ``sn.hessian``),
    verdicts (``sn.verify``), dual norms, prox operators, subdifferentials, check and
    axiom reports, SymPy expressions, or text (a paragraph); a ``(caption, item)`` pair
    sets a heading. The document compiles under pdflatex (amsmath, booktabs, one
    sequence of equation numbers); text is escaped, its mathematical Unicode typeset
    as mathematics.

    Parameters
    ----------
    items : object or list
        What the document holds, in order: results (anything with a
        ``_document_section_``, ``latex()`` or ``summary()`` method), SymPy expressions,
        strings (paragraphs), or ``(caption, item)`` pairs.
    title : str, optional
        The title (with ``\maketitle``); none by default.
    author : str, optional
        The author under the title.
    path : str or pathlib.Path, optional
        Where to write the ``.tex``.
    pdf : bool, optional
        Also make the PDF beside ``path`` with pdflatex (default False; needs
        ``path``).

    Returns
    -------
    str
        The LaTeX source, from ``\documentclass`` to ``\end{document}``.

    Raises
    ------
    SymnormError
        If an item cannot be put in a document, ``pdf=True`` comes without a ``path``,
        or pdflatex is not installed.
    LatexError
        If pdflatex fails on the document.

    Examples
    --------
    >>> import symnorm as sn
    >>> x = sn.vector("x")
    >>> tex = sn.latex_document([sn.grad(sn.norm(x, 2), x)], title="Norms")
    >>> tex.startswith(r"\documentclass") and tex.rstrip().endswith(r"\end{document}")
    True
    >>> tex = sn.latex_document([("The gradient", sn.grad(sn.norm(x, 1), x)),
    ...                          "A paragraph about ‖x‖₁ & its 50% zeros."])
    >>> [line for line in tex.splitlines() if "section" in line]
    ['\\subsection*{The gradient}']
    >>> sn.latex_document([object()])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symnorm.SymnormError: cannot put a object in a document; give a derivation, a verdict, ...
    """
    if not isinstance(items, (list, tuple)) or (
            len(items) == 2 and isinstance(items[0], str) and not isinstance(items[1], str)):
        items = [items]
    body: list[str] = []
    with equation_numbers():  # one sequence of equation numbers for the whole document
        for entry in items:
            caption = None
            if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str):
                caption, entry = entry
                caption = escape_text(caption)
            body += _item(entry, caption)
    head = [PREAMBLE]
    if title:
        head.append(f"\\title{{{escape_text(title)}}}")
        head.append(f"\\author{{{escape_text(author or '')}}}")
        head.append("\\date{}")
    head.append("\\begin{document}")
    if title:
        head.append("\\maketitle")
    tex = "\n".join(head + body + ["\\end{document}", ""])
    if path is not None:
        target = Path(path)
        target.write_text(tex, encoding="utf-8")
        if pdf:
            compile_pdf(target)
    elif pdf:
        raise SymnormError("pdf=True needs a path to write the .tex and the .pdf to")
    return tex


def pdflatex_available() -> bool:
    """Is ``pdflatex`` on the PATH?

    >>> pdflatex_available() in (True, False)
    True
    """
    return shutil.which("pdflatex") is not None


def compile_pdf(tex_path: str | Path, timeout: float = 120) -> Path:
    """Run pdflatex on ``tex_path`` (in a scratch directory); put the PDF and the log beside it.

    pdflatex runs once, in non-stop mode, halting on the first error, without shell
    escape, in a temporary directory; the PDF and the log are copied beside the
    ``.tex``.

    Parameters
    ----------
    tex_path : str or pathlib.Path
        The ``.tex`` file.
    timeout : float, optional
        Seconds pdflatex may run (default 120).

    Returns
    -------
    pathlib.Path
        The PDF, ``tex_path`` with the suffix ``.pdf``.

    Raises
    ------
    LatexError
        With pdflatex's error lines, on any LaTeX error, a missing PDF, or a time-out.
    SymnormError
        If pdflatex is not installed.

    Examples
    --------
    >>> import pathlib, tempfile, symnorm as sn
    >>> from symnorm.presentation.document import pdflatex_available
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "note.tex"
    >>> _ = sn.latex_document(["A note."], path=path)
    >>> sn.compile_pdf(path).name if pdflatex_available() else "note.pdf"
    'note.pdf'
    """
    exe = shutil.which("pdflatex")
    if exe is None:
        raise SymnormError("pdflatex is not installed (Debian: apt-get install "
                           "texlive-latex-base texlive-latex-recommended)")
    source = Path(tex_path).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            run = subprocess.run(
                [exe, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
                 f"-output-directory={tmp}", str(source)],
                cwd=tmp, capture_output=True, text=True, errors="replace", timeout=timeout)
        except subprocess.TimeoutExpired as err:
            raise LatexError(f"pdflatex took more than {timeout} s on {source.name}") from err
        log = run.stdout
        errors = [line for line in log.splitlines() if line.startswith("!")]
        produced = Path(tmp) / (source.stem + ".pdf")
        if run.returncode != 0 or errors or not produced.exists():
            context = "\n".join(errors[:10]) or log[-2000:]
            raise LatexError(f"pdflatex failed on {source.name}:\n{context}", log)
        target = source.with_suffix(".pdf")
        shutil.copyfile(produced, target)
        shutil.copyfile(Path(tmp) / (source.stem + ".log"), source.with_suffix(".log"))
    return target
