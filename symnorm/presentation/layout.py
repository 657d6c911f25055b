"""Layout of LaTeX that must fit a page and render in MathJax: notes in ``\\text``,
derivations as numbered ``aligned`` rows, long sums broken at their top-level signs.
"""

from __future__ import annotations

import re
import textwrap

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

    Pieces after the first start with their sign. A sum inside ``\left( ... \right)``,
    braces or an environment (``cases``) is not split (LaTeX cannot break a ``\left ...
    \right`` pair across lines).

    >>> break_terms("a + b", width=80)
    ['a + b']
    >>> break_terms(r"\frac{a}{b} + c - d", width=2)
    ['\\frac{a}{b}', '+ c', '- d']
    """
    cuts, depth, k = [], 0, 0
    while k < len(tex):
        if tex.startswith((r"\begin{", r"\end{"), k):  # an environment is one piece
            depth += 1 if tex.startswith(r"\begin{", k) else -1
            k = tex.index("}", k) + 1
            continue
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
