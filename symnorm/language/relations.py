r"""An equation cut at its relations: ``a = b = c``, a definition's ``:=``,
``\coloneqq``, an annotated ``\overset{(a)}{=}``; a trailing remark (``\quad \text{for all }
i``) and punctuation left out. Positions are those of the text given, so every piece can be
traced back to its line and column.
"""

from __future__ import annotations

import re

__all__ = ["relation_pieces"]

# relations that join the pieces of a chain: '=', and a definition's ':=', '\coloneqq'
_RELATION_RE = re.compile(r"(?<![<>!:=\\])=(?!=)|:=|\\coloneqq(?![A-Za-z])|\\eqqcolon(?![A-Za-z])"
                          r"|\\triangleq(?![A-Za-z])|\\(?:over|st)(?:set|ackrel)(?![A-Za-z])")
# a remark after the claim: \quad, \text{for all i}, \forall, \mbox{...}
_REMARK_RE = re.compile(r"\\q?quad(?![A-Za-z])|\\forall(?![A-Za-z])|\\mbox(?![A-Za-z])"
                        r"|\\hspace(?![A-Za-z])|\\(?:text|textrm|mathrm)\s*\{[^{}]*\s[^{}]*\}"
                        r"|\\(?:text|textrm)\s*\{\s*(?:for|where|if|with|and|when)\b")


def _depths(text: str, lo: int, hi: int) -> list[int]:
    """Group depth before each character of ``text[lo:hi]`` (braces, parentheses,
    brackets, \\left ... \\right)."""
    out = []
    depth = 0
    k = lo
    while k < hi:
        ch = text[k]
        if ch == "\\" and k + 1 < hi:
            if text.startswith("\\left", k) and not text[k + 5:k + 6].isalpha():
                out.extend([depth] * 5)
                depth += 1
                k += 5
                continue
            if text.startswith("\\right", k) and not text[k + 6:k + 7].isalpha():
                depth -= 1
                out.extend([depth] * 6)
                k += 6
                continue
            out.extend([depth, depth])  # \{, \}, \\ and the first letter of a command
            k += 2
            continue
        if ch in "{([":
            out.append(depth)
            depth += 1
        elif ch in "})]":
            depth -= 1
            out.append(depth)
        else:
            out.append(depth)
        k += 1
    return out


def relation_pieces(text: str, lo: int = 0, hi: int | None = None
                    ) -> list[tuple[int, int, str]]:
    r"""The pieces of ``text[lo:hi]`` between top-level ``=`` (and ``:=``, ``\coloneqq``,
    ``\overset{...}{=}``): ``(start, end, relation before it)``, trimmed of spaces,
    trailing punctuation and a trailing remark (``\quad \text{for all } i``).

    >>> [(text[s:e], r) for text in [r"f(x) := \|x\|_2 = \sqrt{x^\top x},"]
    ...  for s, e, r in relation_pieces(text)]
    [('f(x)', ''), ('\\|x\\|_2', ':='), ('\\sqrt{x^\\top x}', '=')]
    """
    hi = len(text) if hi is None else hi
    depth = _depths(text, lo, hi)
    remark = None
    for m in _REMARK_RE.finditer(text, lo, hi):
        # a remark follows the claim; a \quad before anything else is a continued line's
        if depth[m.start() - lo] == 0 and text[lo:m.start()].replace("&", " ").strip():
            remark = m.start()
            break
    if remark is not None:
        hi = remark
    cuts: list[tuple[int, int, str]] = []
    for m in _RELATION_RE.finditer(text, lo, hi):
        if depth[m.start() - lo] != 0:
            continue
        end = m.end()
        kind = "=" if m.group() == "=" else ":="
        if m.group().startswith(("\\over", "\\st")):  # \overset{(a)}{=}: an annotated '='
            k = end
            for _ in range(2):
                while k < hi and text[k].isspace():
                    k += 1
                if k >= hi or text[k] != "{":
                    break
                close = _group_end(text, k, hi)
                if close is None:
                    break
                k = close
            else:
                if text[end:k].rstrip().endswith("{=}"):
                    cuts.append((m.start(), k, "="))
            continue
        cuts.append((m.start(), end, kind))
    pieces = []
    start, relation = lo, ""
    for c_start, c_end, kind in cuts:
        pieces.append(_trim(text, start, c_start, relation))
        start, relation = c_end, kind
    pieces.append(_trim(text, start, hi, relation))
    return pieces


def _group_end(text: str, k: int, hi: int) -> int | None:
    depth = 0
    for j in range(k, hi):
        if text[j] == "{" and (j == 0 or text[j - 1] != "\\"):
            depth += 1
        elif text[j] == "}" and text[j - 1] != "\\":
            depth -= 1
            if depth == 0:
                return j + 1
    return None


def _trim(text: str, start: int, end: int, relation: str) -> tuple[int, int, str]:
    while start < end and text[start].isspace():
        start += 1
    while True:
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start and text[end - 1] in ",.;":
            end -= 1
            continue
        spacing = re.search(r"\\[,;:! ]$", text[start:end])
        if spacing:
            end -= 2
            continue
        break
    return start, end, relation
