r"""Formulas as text: short LaTeX read back into plain characters for a terminal
(:func:`tex_to_text`), and formulas written in plain text (the expression language,
``||x||_2 <= 1``) found in a sentence and turned into LaTeX (:func:`typeset_plain`,
:func:`formula_latex`), so a message stored as text can be typeset in a document.
"""

from __future__ import annotations

import re

__all__ = ["bracket_depth", "formula_latex", "tex_to_text", "typeset_plain"]


# -- LaTeX math read back as text ---------------------------------------------------------------

_SYMBOLS = {
    "lVert": "‖", "rVert": "‖", "Vert": "‖", "|": "‖", "lvert": "|", "rvert": "|", "vert": "|",
    "odot": "⊙", "circ": "∘", "cdot": "·", "times": "×", "le": "≤", "leq": "≤", "ge": "≥",
    "geq": "≥", "ne": "≠", "neq": "≠", "in": "∈", "notin": "∉", "infty": "∞", "to": "→",
    "mapsto": "↦", "leftarrow": "←", "rightarrow": "→", "iff": "⇔", "approx": "≈",
    "sim": "~", "propto": "∝", "pm": "±", "mp": "∓", "partial": "∂", "nabla": "∇", "sum": "Σ",
    "prod": "Π",
    "int": "∫", "cup": "∪", "cap": "∩", "subseteq": "⊆", "succeq": "⪰", "preceq": "⪯",
    "langle": "⟨", "rangle": "⟩", "ldots": "…", "cdots": "⋯", "dots": "…", "top": "ᵀ",
    "emptyset": "∅", "setminus": "∖", "mid": "|", "colon": ":", "lbrace": "{", "rbrace": "}",
    "{": "{", "}": "}", "_": "_", "%": "%", "&": "&", "#": "#", "$": "$",
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν",
    "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ", "varphi": "φ",
    "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Lambda": "Λ",
    "Sigma": "Σ", "Pi": "Π", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
}
_SPACES = {",": " ", ";": " ", ":": " ", "!": "", " ": " ", "quad": "  ", "qquad": "  ",
           "enspace": " ", "thinspace": " "}
_DROP = {"left", "right", "big", "Big", "bigl", "bigr", "Bigl", "Bigr", "displaystyle",
         "textstyle", "limits", "nolimits"}
_NAMED = {"max", "min", "log", "exp", "sin", "cos", "tan", "sup", "inf", "arg", "det",
          "lim", "tr", "sgn", "ln"}
_STYLES = {"operatorname", "mathrm", "text", "textrm", "mathit", "mathbf", "boldsymbol",
           "mathbb", "mathcal", "textit", "textbf", "emph", "mbox", "mathsf", "mathtt"}
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_OPEN, _CLOSE = "\x01", "\x02"   # spaces inside a pair of bars are dropped at the end
_OPENING = {"lVert", "lvert", "langle", "{"}
_CLOSING = {"rVert", "rvert", "rangle", "}"}


def _group(tex: str, k: int) -> tuple[str, int]:
    """The argument starting at ``k`` (a braced group, a command or one character)."""
    while k < len(tex) and tex[k] == " ":
        k += 1
    if k >= len(tex):
        return "", k
    if tex[k] == "{":
        depth, j = 1, k + 1
        while j < len(tex) and depth:
            depth += {"{": 1, "}": -1}.get(tex[j], 0)
            j += 1
        return tex[k + 1:j - 1], j
    if tex[k] == "\\":
        m = re.match(r"\\([A-Za-z]+|.)", tex[k:])
        assert m is not None
        return m.group(0), k + len(m.group(0))
    return tex[k], k + 1


def _script(body: str, table: dict[int, int], mark: str) -> str:
    text = tex_to_text(body)
    if text and all(ch.translate(table) != ch for ch in text):
        return text.translate(table)
    if mark == "^" and text == "ᵀ":
        return "ᵀ"
    if len(text) == 1:
        return mark + text
    return f"{mark}({text})" if mark == "^" else f"{mark}{{{text}}}"


def _atomic(s: str) -> bool:
    """Is ``s`` one factor (a name, a call, a bracket, a norm): no parentheses needed?"""
    inner = s
    for pattern in (r"‖[^‖]*‖", r"\|[^|]*\|", r"\([^()]*\)", r"⟨[^⟨⟩]*⟩"):
        while re.search(pattern, inner):
            inner = re.sub(pattern, "G", inner)
    return bool(re.fullmatch(r"[\w.ᵀ₀-₉⁰-⁹]*", inner))


def _cases_text(m: re.Match) -> str:
    rows = [r.split("&", 1) for r in re.split(r"\\\\", m.group(1)) if r.strip()]
    return r"\text{; }".join(rf"{r[0]} \text{{ if }} {r[1]}" if len(r) == 2 else r[0]
                             for r in rows)


def tex_to_text(tex: str) -> str:
    r"""Plain text of a short LaTeX formula, for a terminal (notes, conditions, headings).

    >>> tex_to_text(r"\operatorname{sign}(u_k)/\lvert K \rvert")
    'sign(u_k)/|K|'
    >>> tex_to_text(r"\frac{x}{\lVert x \rVert_{2}} \odot y^{2}, \lambda \ge 0")
    'x/‖x‖₂ ⊙ y², λ ≥ 0'
    >>> tex_to_text(r"A^\top (A x - b)")
    'Aᵀ (A x - b)'
    """
    tex = re.sub(r"\\begin\{cases\}(.*?)\\end\{cases\}", _cases_text, tex, flags=re.S)
    tex = re.sub(r"\\(begin|end)\{\w+\*?\}", " ", tex)
    out: list[str] = []
    k = 0
    while k < len(tex):
        ch = tex[k]
        if ch == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", tex[k:])
            assert m is not None
            name, k = m.group(1), k + len(m.group(0))
            if name in _DROP:
                if k < len(tex) and tex[k] in "(.[|":
                    out.append("" if tex[k] == "." else tex[k])
                    k += 1
                continue
            if name == "frac" or name in ("tfrac", "dfrac"):
                num, k = _group(tex, k)
                den, k = _group(tex, k)
                a, b = tex_to_text(num), tex_to_text(den)
                a = a if _atomic(a) else f"({a})"
                b = b if _atomic(b) else f"({b})"
                out.append(f"{a}/{b}")
            elif name == "sqrt":
                arg, k = _group(tex, k)
                out.append(f"sqrt({tex_to_text(arg)})")
            elif name in _STYLES:
                arg, k = _group(tex, k)
                out.append(arg if name.startswith("text") or name == "mbox"
                           else tex_to_text(arg))
            elif name in _NAMED:
                out.append(name)
            elif name in _SYMBOLS:
                out.append(_SYMBOLS[name] + _OPEN if name in _OPENING else
                           _CLOSE + _SYMBOLS[name] if name in _CLOSING else _SYMBOLS[name])
            elif name in _SPACES:
                out.append(_SPACES[name])
            else:
                out.append(name)
            continue
        if ch in "_^":
            body, k = _group(tex, k + 1)
            if ch == "^" and body.strip() in (r"\top", "T"):
                out.append("ᵀ")
                continue
            out.append(_script(body, _SUB if ch == "_" else _SUP, ch))
            continue
        if ch in "{}":
            k += 1
            continue
        if ch == "~":
            out.append(" ")
            k += 1
            continue
        out.append(ch)
        k += 1
    text = "".join(out)
    text = re.sub(_OPEN + r"\s*", "", re.sub(r"\s*" + _CLOSE, "", text))
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([;,])", r"\1", text)
    return re.sub(r"\(\s+", "(", re.sub(r"\s+\)", ")", text))


# -- formulas in plain text -------------------------------------------------------------------

_OPERATORS = {"=", "<", ">", "<=", ">=", "!=", "+", "-", "*", "/", "->", ".*", "~"}
_STRONG = re.compile(r"[=<>|^_*/+\[\]]|\w\(|\.T\b|^oo$|^lam\d*$|^-?\d+(\.\d+)?/\d+$")
_WEAK = re.compile(r"^(-?\d+(\.\d+)?(e-?\d+)?|[A-Za-z]\d*|[A-Za-z]_\w+|oo|lam\d*|mu|eta|\.\.\.)$")
_GREEK_TEXT = {"lam": r"\lambda", "lambda": r"\lambda", "eta": r"\eta", "mu": r"\mu",
               "sigma": r"\sigma", "delta": r"\delta", "alpha": r"\alpha", "eps": r"\varepsilon"}


def _core(token: str) -> tuple[str, str, str]:
    """``(lead, core, tail)``: unbalanced brackets and punctuation split off a word."""
    m = re.fullmatch(r"(\(*)(.*?)([)\],;:.]*)", token)
    assert m is not None
    lead, core, tail = m.groups()
    while tail.startswith(")") and core.count("(") > core.count(")"):
        core, tail = core + ")", tail[1:]
    while tail.startswith("]") and core.count("[") > core.count("]"):
        core, tail = core + "]", tail[1:]
    while lead and (core + tail).count(")") > core.count("("):  # "(1," ... "oo)"
        lead, core = lead[:-1], "(" + core
    return lead, core, tail


def _word_latex(m: re.Match) -> str:
    word = m.group(1)
    if word in ("times", "top", "infty", "le", "ge", "ne", "to", "odot", "propto", "cdot"):
        return word  # a command whose backslash the lookbehind did not see
    return rf"\mathrm{{{word}}}"


def formula_latex(text: str) -> str:
    r"""LaTeX of a short formula written in the expression language or in plain
    characters (``||x||_2 <= 1``, ``sign(y)|y|^(q-1)``, ``W2.T*delta2``).

    >>> formula_latex("||c u|| = |c| ||u||")
    '\\lVert c u \\rVert = \\lvert c \\rvert \\lVert u \\rVert'
    >>> formula_latex("sign(y)|y|^(q-1), lam >= 0")
    '\\operatorname{sign}(y)\\lvert y \\rvert^{q-1}, \\lambda \\ge 0'
    """
    t = text
    t = re.sub(r"\bnorm\(([^(),]*(?:\([^()]*\)[^(),]*)*), ([^()]*)\)",
               lambda m: rf"\lVert {m.group(1)} \rVert_{{{m.group(2)}}}", t)
    t = re.sub(r"\|\|(.+?)\|\|", lambda m: rf"\lVert {m.group(1).strip()} \rVert", t)
    t = re.sub(r"\|([^|]+?)\|", lambda m: rf"\lvert {m.group(1).strip()} \rvert", t)
    t = re.sub(r"\*\*|\^", "^", t)
    t = re.sub(r"\^\(([^()]*)\)", r"^{\1}", t)
    t = re.sub(r"\^(-?[\w.]+)", lambda m: "^{" + m.group(1) + "}", t)
    t = re.sub(r"_(?!\{)(\w+)", lambda m: "_{" + m.group(1) + "}", t)
    t = re.sub(r"\.T\b", r"^\\top", t)
    t = t.replace(".*", r" \odot ").replace("<=", r" \le ").replace(">=", r" \ge ")
    t = t.replace("!=", r" \ne ").replace("->", r" \to ").replace("~", r" \propto ")
    t = re.sub(r"(?<=\w)\*(?=\w)", " ", t).replace("*", " ")
    t = re.sub(r"\boo\b", r"\\infty", t)
    t = re.sub(r"\b(sign|diag|trace|tr|relu|softplus|rank|argmin|argmax|conv|dist|sym)\(",
               lambda m: rf"\operatorname{{{m.group(1)}}}(", t)
    t = re.sub(r"\b(max|min|log|exp|sup|inf|det|tanh)\(", lambda m: rf"\{m.group(1)}(", t)
    t = re.sub(r"\bsqrt\(([^()]*)\)", r"\\sqrt{\1}", t)
    t = re.sub(r"\babs\(([^()]*)\)", r"\\lvert \1 \\rvert", t)
    t = re.sub(r"\b(lam|lambda|eta|mu|sigma|delta|alpha|eps)(\d*)\b",
               lambda m: _GREEK_TEXT[m.group(1)] + (f"_{{{m.group(2)}}}" if m.group(2) else ""),
               t)
    t = re.sub(r"\b([A-Za-z])(\d+)\b", r"\1_{\2}", t)  # W2 -> W_{2}
    t = re.sub(r"(?<![\w.])(\d+(?:\.\d+)?)e([+-]?)0*(\d+)\b",  # 1e-06 -> 1 \times 10^{-6}
               lambda m: ("" if m.group(1) == "1" else rf"{m.group(1)} \times ")
               + f"10^{{{m.group(2).strip('+')}{m.group(3)}}}", t)
    t = re.sub(r"_\{([A-Za-z]{2,})\}", r"_{\\mathrm{\1}}", t)
    t = re.sub(r"(?<![\\{\w])([A-Za-z]{2,})\b(?!\()", _word_latex, t)
    return re.sub(r" {2,}", " ", t).strip()


def bracket_depth(text: str) -> int:
    """Open brackets minus closed ones (round and square)."""
    return text.count("(") + text.count("[") - text.count(")") - text.count("]")


def _formula_run(run: list[str]) -> str:
    """A run of words that is a formula, its outer punctuation kept outside ``$...$``."""
    body = " ".join(run)
    tail = re.search(r"[,;:.]*$", body).group(0)  # type: ignore[union-attr]
    body = body[:len(body) - len(tail)]
    lead = ""
    while body.startswith(("(", "[")) and bracket_depth(body) > 0:
        lead, body = lead + body[0], body[1:]
    while body.endswith((")", "]")) and bracket_depth(body) < 0:
        tail, body = body[-1] + tail, body[:-1]
    return f"{lead}${formula_latex(body)}${tail}" if body else lead + tail


def typeset_plain(text: str) -> str:
    r"""Markup of a plain-text sentence: the runs of it that are formulas (they hold an
    operator, a bar, a call, an index; or a lone letter) between ``$...$``, the words as
    they are.

    >>> typeset_plain("not valid where A*x - b = 0; kernels return 0")
    'not valid where $A x - b = 0$; kernels return 0'
    >>> typeset_plain("Hölder with (1, oo); equality at a signed unit vector")
    'Hölder with $(1, \\infty)$; equality at a signed unit vector'
    """
    out: list[str] = []
    run: list[str] = []

    def emit(words: list[str]) -> None:
        if not words:
            return
        if bracket_depth(" ".join(words)) > 0:  # an unclosed "(": split there, the word before
            stack = [i for i, w in enumerate(words) for ch in w if ch in "(["]
            closes = sum(w.count(")") + w.count("]") for w in words)
            i = stack[closes] if closes < len(stack) else stack[-1]
            if words[i][:1] in "([" and (i > 0 or len(words[i]) > 1):
                emit(words[:i])
                out.append(words[i][0])
                emit([words[i][1:], *words[i + 1:]] if words[i][1:] else words[i + 1:])
                if out and len(out) >= 2 and out[-2] in "([":  # "(" + formula: join them
                    out[-2:] = [out[-2] + out[-1]]
                return
        if words[0] in _OPERATORS and out and re.fullmatch(r"[A-Za-z_]\w*", out[-1]) \
                and out[-1] not in ("is", "at", "and", "or", "the", "of", "with", "where"):
            words = [out.pop(), *words]  # "rtol = 1e-06": the name belongs to the formula
        cores = [_core(w)[1] for w in words]
        strong = any(_STRONG.search(c) or c in _OPERATORS for c in cores)
        lone = len(words) == 1 and re.fullmatch(r"[B-HJ-Zb-z]", cores[0]) is not None
        out.append(_formula_run(words) if strong or lone else " ".join(words))

    def flush() -> None:
        emit(list(run))
        run.clear()

    for token in text.split(" "):
        core = _core(token)[1]
        mathy = bool(core) and core not in ("a", "A", "I") and (
            core in _OPERATORS or _STRONG.search(core) is not None
            or _WEAK.match(core) is not None)
        if not mathy:
            flush()
            out.append(token)
            continue
        run.append(token)
        if bracket_depth(" ".join(run)) <= 0 and re.search(r"[,;:]$", token):
            flush()
    flush()
    return " ".join(out)
