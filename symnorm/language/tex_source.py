r"""A ``.tex`` file read as text: its display math, rows and equations, with every
position traced back to a file, a line and a column. Nothing is run: no TeX, no macro
expansion; ``\input``/``\include`` are followed only when asked, and only to files in the
document's own folder.

Display math is ``equation``, ``align``, ``gather``, ``multline``, ``flalign``,
``alignat``, ``eqnarray`` (starred or not), ``displaymath``, ``$$...$$`` and ``\[...\]``;
inline ``$...$`` and ``\(...\)`` are found too (a definition such as ``$f(x) = ...$``
names a function). Inside a block, ``aligned``, ``split``, ``gathered`` and
``alignedat`` are rows of the block; ``\label``, ``\tag``, ``\nonumber``, ``\notag`` and
``\intertext`` are left out; rows are cut at ``\\`` and an ``align`` row at every second
``&``. A comment (``%`` to the end of the line) and ``verbatim``-like environments are
not read.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from ..model.errors import ParseError

__all__ = ["MAX_BYTES", "Block", "Source", "equations", "math_blocks", "read_source"]

MAX_BYTES = 2_000_000
"""The largest document read, in bytes (every file it inputs counted): 2 MB, about 40 000
lines of notes. A larger file is refused with a clear error."""

_DISPLAY_ENVS = ("equation", "align", "gather", "multline", "flalign", "alignat", "eqnarray",
                 "displaymath", "math")
_ROW_ENVS = ("aligned", "alignedat", "split", "gathered", "multlined")
_VERBATIM_ENVS = ("verbatim", "Verbatim", "lstlisting", "minted", "comment", "filecontents")
_BEGIN_RE = re.compile(r"\\begin\s*\{([A-Za-z]+)(\*?)\}")
_INPUT_RE = re.compile(r"\\(input|include)(?![A-Za-z])\s*(?:\{([^{}]*)\}|([^\s{}\\]+))")
_DROP_RE = re.compile(r"\\(?:label|tag\*?|intertext|shortintertext|eqref)\s*\{[^{}]*\}"
                      r"|\\(?:nonumber|notag|displaybreak|allowdisplaybreaks|hline)(?![A-Za-z])"
                      r"(?:\[\d+\])?")
_ROW_ENV_RE = re.compile(r"\\(?:begin\s*\{(?:" + "|".join(_ROW_ENVS) + r")\*?\}(?:\{\d+\})?"
                         r"(?:\[[a-z]\])?|end\s*\{(?:" + "|".join(_ROW_ENVS) + r")\*?\})")


@dataclass
class _Segment:
    start: int        # offset in the document's text
    path: str
    file_start: int   # offset in that file's text
    length: int
    file_text: str


@dataclass
class Source:
    """The text of a document (inputs spliced in where followed), and where each
    character came from. ``notes`` are ``(offset, message)`` about what was not read."""

    path: str
    text: str
    segments: list[_Segment] = field(default_factory=list)
    notes: list[tuple[int, str]] = field(default_factory=list)

    def locate(self, pos: int) -> tuple[str, int, int]:
        """``(file, line, column)`` of the character at ``pos`` (1-based line and column)."""
        seg = self.segments[0]
        for s in self.segments:
            if s.start <= pos:
                seg = s
            else:
                break
        at = min(seg.file_start + (pos - seg.start), len(seg.file_text))
        line = seg.file_text.count("\n", 0, at) + 1
        column = at - (seg.file_text.rfind("\n", 0, at) + 1) + 1
        return seg.path, line, column

    def error(self, pos: int, what: str) -> ParseError:
        """A reading error, ``file:line:column: what``."""
        path, line, column = self.locate(pos)
        return ParseError(f"{path}:{line}:{column}: {what}", self.text, pos, line, column)


def _blank(text: str, start: int, end: int) -> str:
    """``text`` with ``text[start:end]`` spaces (newlines kept, so lines stay lines)."""
    return text[:start] + re.sub(r"[^\n]", " ", text[start:end]) + text[end:]


def _strip_comments(text: str) -> str:
    out = []
    for line in text.split("\n"):
        k = 0
        while True:
            k = line.find("%", k)
            if k == -1:
                break
            slashes = len(line[:k]) - len(line[:k].rstrip("\\"))
            if slashes % 2 == 0:
                line = line[:k] + " " * (len(line) - k)
                break
            k += 1
        out.append(line)
    return "\n".join(out)


def _strip_verbatim(text: str) -> str:
    for env in _VERBATIM_ENVS:
        pattern = re.compile(r"\\begin\s*\{" + env + r"\*?\}.*?\\end\s*\{" + env + r"\*?\}",
                             re.S)
        text = pattern.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), text)
    return re.sub(r"\\verb\*?(.)(?:(?!\1).)*\1", lambda m: " " * len(m.group()), text)


def _read_file(path: str, limit: int, shown: str) -> str:
    try:
        size = os.path.getsize(path)
    except OSError as err:
        raise ParseError(f"{shown}: cannot read the file ({err.strerror or err})") from None
    if size > limit:
        raise ParseError(f"{shown}: the file is {size} bytes, more than the {limit} bytes "
                         f"symnorm reads (symnorm.language.tex_source.MAX_BYTES)")
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        before = data[:err.start].decode("utf-8", errors="replace")
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        raise ParseError(f"{shown}:{line}:{column}: the file is not UTF-8 text (byte "
                         f"0x{data[err.start]:02x})", "", err.start, line, column) from None
    if "\x00" in text:
        k = text.index("\x00")
        raise ParseError(f"{shown}:{text.count(chr(10), 0, k) + 1}:1: the file holds a NUL "
                         "byte: it is not a text file", "", k)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_source(path: str | os.PathLike[str], *, follow_input: bool = False,
                max_bytes: int = MAX_BYTES) -> Source:
    r"""Read a ``.tex`` file as text (comments and verbatim blanked, positions kept).

    With ``follow_input``, ``\input{name}`` and ``\include{name}`` are read in place when
    ``name`` (``.tex`` added when it has no extension) is in the folder of ``path`` or below
    it; anything else is left out with a note. Raises
    :class:`~symnorm.model.errors.ParseError` (``file:line:column: ...``) for a file that is
    missing, larger than ``max_bytes`` (all inputs together), or not UTF-8 text.
    """
    shown = os.fspath(path)
    root = os.path.dirname(os.path.realpath(shown))
    total = [0]
    source = Source(shown, "")
    chunks: list[str] = []

    def add(file_path: str, shown_path: str, depth: int, seen: tuple[str, ...]) -> None:
        text = _read_file(file_path, max_bytes - total[0], shown_path)
        total[0] += len(text.encode("utf-8"))
        clean = _strip_verbatim(_strip_comments(text))
        pos = 0
        for m in _INPUT_RE.finditer(clean):
            name = (m.group(2) if m.group(2) is not None else m.group(3)).strip()
            offset = sum(len(c) for c in chunks)
            chunks.append(clean[pos:m.start()])
            source.segments.append(_Segment(offset, shown_path, pos, m.start() - pos, text))
            offset += m.start() - pos
            note = None
            target = os.path.realpath(os.path.join(os.path.dirname(file_path), name
                                                   if os.path.splitext(name)[1]
                                                   else name + ".tex"))
            if not follow_input:
                note = f"\\{m.group(1)}{{{name}}} not followed (--follow-input reads it)"
            elif os.path.commonpath([root, target]) != root:
                note = (f"\\{m.group(1)}{{{name}}} not followed: it is outside the document's "
                        "folder")
            elif target in seen:
                note = f"\\{m.group(1)}{{{name}}} not followed: it inputs itself"
            elif depth >= 16:
                note = f"\\{m.group(1)}{{{name}}} not followed: inputs nested too deeply"
            elif not os.path.isfile(target):
                note = f"\\{m.group(1)}{{{name}}} not followed: no such file"
            blank = " " * (m.end() - m.start())
            if note is not None:
                chunks.append(blank)
                source.segments.append(_Segment(offset, shown_path, m.start(), len(blank),
                                                text))
                source.notes.append((offset, note))
            else:
                rel = os.path.relpath(target, root)
                shown_child = os.path.join(os.path.dirname(shown), rel)
                chunks.append("\n")
                source.segments.append(_Segment(offset, shown_path, m.start(), 1, text))
                add(target, shown_child, depth + 1, (*seen, target))
                offset = sum(len(c) for c in chunks)
                chunks.append(blank[1:])
                source.segments.append(_Segment(offset, shown_path, m.start() + 1,
                                                len(blank) - 1, text))
            pos = m.end()
        offset = sum(len(c) for c in chunks)
        chunks.append(clean[pos:])
        source.segments.append(_Segment(offset, shown_path, pos, len(clean) - pos, text))

    add(os.path.realpath(shown), shown, 0, (os.path.realpath(shown),))
    source.text = "".join(chunks)
    return source


# ----------------------------------------------------------------------------- blocks

@dataclass
class Block:
    """A piece of math: ``start``/``end`` of its content in the document's text, the
    environment (``"$$"``, ``"\\["``, ``"$"``, ``"\\("`` or a name such as
    ``"align*"``), and whether it is displayed."""

    env: str
    start: int
    end: int
    display: bool


def math_blocks(source: Source) -> list[Block]:
    r"""Every piece of math of the document body, in order. An environment, ``$$``,
    ``\[`` or ``$`` never closed is a :class:`~symnorm.model.errors.ParseError` at its
    opening (``file:line:column``)."""
    text = source.text
    begin = text.find("\\begin{document}")
    k = begin + len("\\begin{document}") if begin != -1 else 0
    stop = text.find("\\end{document}", k)
    stop = len(text) if stop == -1 else stop
    blocks: list[Block] = []
    while k < stop:
        ch = text[k]
        if ch == "\\":
            nxt = text[k + 1:k + 2]
            if nxt in ("[", "("):
                close = "\\]" if nxt == "[" else "\\)"
                end = text.find(close, k + 2, stop)
                if end == -1:
                    raise source.error(k, f"'\\{nxt}' is never closed by '{close}'")
                blocks.append(Block("\\" + nxt, k + 2, end, nxt == "["))
                k = end + 2
                continue
            if nxt in ("]", ")"):
                raise source.error(k, f"'\\{nxt}' closes math that was never opened")
            m = _BEGIN_RE.match(text, k)
            if m is not None and m.group(1) in _DISPLAY_ENVS:
                env = m.group(1) + m.group(2)
                end_re = re.compile(r"\\end\s*\{" + re.escape(env) + r"\}")
                end = end_re.search(text, m.end(), stop)
                if end is None:
                    raise source.error(k, f"\\begin{{{env}}} is never closed by "
                                          f"\\end{{{env}}}")
                content = m.end()
                if m.group(1) == "alignat":  # \begin{alignat}{2}
                    arg = re.match(r"\s*\{\d+\}", text[content:end.start()])
                    content += arg.end() if arg else 0
                blocks.append(Block(env, content, end.start(), True))
                k = end.end()
                continue
            k += 2
            continue
        if ch == "$":
            if text.startswith("$$", k):
                end = text.find("$$", k + 2, stop)
                if end == -1:
                    raise source.error(k, "'$$' is never closed")
                blocks.append(Block("$$", k + 2, end, True))
                k = end + 2
                continue
            end = k + 1
            while end < stop and not (text[end] == "$" and text[end - 1] != "\\"):
                end += 1
            if end >= stop:
                raise source.error(k, "'$' is never closed")
            blocks.append(Block("$", k + 1, end, False))
            k = end + 1
            continue
        k += 1
    return blocks


def _depth_map(text: str, lo: int, hi: int) -> list[int]:
    """Nesting depth before each character of ``text[lo:hi]``: braces and environments
    (a matrix's ``\\\\`` and ``&`` are not the block's)."""
    out: list[int] = []
    depth = 0
    k = lo
    while k < hi:
        if text.startswith("\\begin", k) or text.startswith("\\end", k):
            m = re.match(r"\\(begin|end)\s*\{[^{}]*\}", text[k:hi])
            if m is not None:
                if m.group(1) == "end":
                    depth -= 1
                out.extend([depth] * len(m.group()))
                if m.group(1) == "begin":
                    depth += 1
                k += len(m.group())
                continue
        ch = text[k]
        if ch == "\\" and k + 1 < hi:
            out.extend([depth, depth])
            k += 2
            continue
        if ch == "{":
            out.append(depth)
            depth += 1
        elif ch == "}":
            depth -= 1
            out.append(depth)
        else:
            out.append(depth)
        k += 1
    return out


def equations(text: str, block: Block) -> tuple[str, list[list[tuple[int, int]]]]:
    r"""The rows of a block and the equations in each: ``(clean, rows)``, where ``clean``
    is ``text`` with the block's labels, tags, ``&`` and inner row environments blanked
    (positions kept) and each row a list of ``(start, end)`` spans of ``clean``.

    >>> src = Source("n.tex", r"a &= b \\ &= c \label{x}")
    >>> clean, rows = equations(src.text, Block("align", 0, len(src.text), True))
    >>> [[clean[s:e].strip() for s, e in row] for row in rows]
    [['a  = b'], ['= c']]
    """
    lo, hi = block.start, block.end
    clean = text
    for m in list(_DROP_RE.finditer(text, lo, hi)) + list(_ROW_ENV_RE.finditer(text, lo, hi)):
        clean = _blank(clean, m.start(), m.end())
    depth = _depth_map(clean, lo, hi)
    rows: list[tuple[int, int]] = []
    start = lo
    k = lo
    while k < hi:
        if clean.startswith("\\\\", k) and depth[k - lo] == 0:
            rows.append((start, k))
            k += 2
            opt = re.match(r"\s*\[[^\]]*\]", clean[k:hi])  # \\[2pt]
            if opt is not None:
                clean = _blank(clean, k, k + opt.end())
                k += opt.end()
            start = k
            continue
        if clean[k] == "\\":
            k += 2
            continue
        k += 1
    rows.append((start, hi))
    base = block.env.rstrip("*")
    if base == "multline":  # one equation broken over lines
        rows = [(lo, hi)]
        for s, e in _row_breaks(clean, lo, hi, depth):
            clean = _blank(clean, s, e)
    out: list[list[tuple[int, int]]] = []
    for s, e in rows:
        cols = [s]
        for j in range(s, e):
            if clean[j] == "&" and depth[j - lo] == 0 and (j == 0 or clean[j - 1] != "\\"):
                cols.append(j)
        for j in cols[1:]:
            clean = _blank(clean, j, j + 1)
        if len(cols) <= 3 or base not in ("align", "flalign", "alignat"):
            out.append([(s, e)])
        else:  # a & = b & c & = d: two equations side by side
            bounds = [*cols, e]
            out.append([(bounds[j], bounds[j + 2] if j + 2 < len(bounds) else e)
                        for j in range(0, len(bounds) - 1, 2)])
    return clean, out


def _row_breaks(clean: str, lo: int, hi: int, depth: list[int]) -> list[tuple[int, int]]:
    found = []
    k = lo
    while k < hi - 1:
        if clean.startswith("\\\\", k) and depth[k - lo] == 0:
            found.append((k, k + 2))
            k += 2
            continue
        k += 1
    return found
