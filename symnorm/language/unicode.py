"""Unicode as typed in Jupyter markdown and notes (``‖x‖₂``, ``λ``, ``∇``, ``∂``, ``ᵀ``,
``⊙``, ``·``, ``×``, ``−``): what each character means to the two readers.

Both readers take the same characters. The LaTeX reader turns each into the LaTeX it
stands for (``λ`` is ``\\lambda``, ``₁₂`` is ``_{12}``, ``ᵀ`` is ``^\\top``); the
expression language into its own tokens (``λ`` is the name ``lam``, ``²`` is ``**2``,
``ᵀ`` is ``.T``, ``‖x‖₂`` is ``norm(x, 2)``). Positions stay those of the text as typed,
so an error points at the character the user wrote.
"""

from __future__ import annotations

import unicodedata

__all__ = ["DERIVATIVE_SIGNS", "GREEK", "SUBSCRIPTS", "SUPERSCRIPTS", "SYMBOLS",
           "describe", "latex_pieces"]

# Greek letters -> the LaTeX command's name (the readers give each its usual meaning)
GREEK: dict[str, str] = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon",
    "ϵ": "epsilon", "ζ": "zeta", "η": "eta", "θ": "theta", "ϑ": "vartheta", "ι": "iota",
    "κ": "kappa", "λ": "lambda", "μ": "mu", "µ": "mu", "ν": "nu", "ξ": "xi", "π": "pi",
    "ρ": "rho", "ϱ": "varrho", "σ": "sigma", "τ": "tau", "υ": "upsilon", "φ": "phi",
    "ϕ": "phi", "χ": "chi", "ψ": "psi", "ω": "omega",
    "Γ": "Gamma", "Δ": "Delta", "Θ": "Theta", "Λ": "Lambda", "Ξ": "Xi", "Π": "Pi",
    "Σ": "Sigma", "Φ": "Phi", "Ψ": "Psi", "Ω": "Omega",
}

# superscript and subscript characters -> what they hold
SUPERSCRIPTS: dict[str, str] = {
    **dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")), "⁻": "-", "⁺": "+",
    "ⁿ": "n", "ᵖ": "p", "ⁱ": "i", "ʲ": "j", "ᵏ": "k",
}
SUBSCRIPTS: dict[str, str] = {
    **dict(zip("₀₁₂₃₄₅₆₇₈₉", "0123456789")), "₋": "-", "₊": "+",
    "ₐ": "a", "ₑ": "e", "ₒ": "o", "ₓ": "x", "ᵢ": "i", "ⱼ": "j", "ₖ": "k", "ₗ": "l",
    "ₘ": "m", "ₙ": "n", "ₚ": "p", "ₛ": "s", "ₜ": "t",
}

# operators and delimiters -> the LaTeX they stand for
SYMBOLS: dict[str, str] = {
    "‖": r"\|", "∥": r"\|", "∇": r"\nabla", "∂": r"\partial", "⊙": r"\odot", "∘": r"\circ",
    "·": r"\cdot", "⋅": r"\cdot", "∙": r"\cdot", "×": r"\times", "∗": "*", "−": "-",
    "–": "-", "∞": r"\infty", "⊤": r"\top", "ᵀ": r"^\top", "∑": r"\sum",
}
# spaces people paste from typeset text (no-break, thin, zero-width)
SPACES = frozenset("\u00a0\u2002\u2003\u2009\u200a\u200b\u202f\u2060")

DERIVATIVE_SIGNS = frozenset("∇∂")


def describe(ch: str) -> str:
    """``'≤' (U+2264 LESS-THAN OR EQUAL TO)``: a character named for an error message."""
    name = unicodedata.name(ch, "")
    return f"{ch!r} (U+{ord(ch):04X}{' ' + name if name else ''})"


def latex_pieces(text: str, pos: int) -> tuple[list[tuple[str, str, int, int]], int] | None:
    """The LaTeX raw tokens ``(kind, value, start, end)`` that the Unicode at ``text[pos]``
    stands for, and the position after it; None for a character with no meaning.

    Kinds are those of the LaTeX lexer: ``space``, ``cmd``, ``num``, ``letter``,
    ``punct``. A run of superscripts (subscripts) becomes one ``^{...}`` (``_{...}``), so
    ``x²³`` is ``x^{23}`` and ``x₁₂`` is ``x_{12}``; ``M⁻ᵀ`` is ``M^{-\top}``.

    >>> latex_pieces("λx", 0)
    ([('cmd', '\\\\lambda', 0, 1)], 1)
    >>> [v for _, v, _, _ in latex_pieces("x²³", 1)[0]]
    ['^', '{', '23', '}']
    """
    ch = text[pos]
    if ch in SPACES:
        return [], pos + 1
    if ch in GREEK:
        return [("cmd", "\\" + GREEK[ch], pos, pos + 1)], pos + 1
    if text.startswith("⁻ᵀ", pos):  # M⁻ᵀ: the transposed inverse, M^{-\top}
        return [("punct", "^", pos, pos + 1), ("punct", "{", pos, pos + 1),
                ("punct", "-", pos, pos + 1), ("cmd", r"\top", pos + 1, pos + 2),
                ("punct", "}", pos + 1, pos + 2)], pos + 2
    for table, script in ((SUPERSCRIPTS, "^"), (SUBSCRIPTS, "_")):
        if ch in table:
            end = pos
            while end < len(text) and text[end] in table:
                end += 1
            out = [("punct", script, pos, pos + 1), ("punct", "{", pos, pos + 1)]
            k = pos
            while k < end:
                value = table[text[k]]
                if value.isdigit():
                    stop = k
                    while stop < end and table[text[stop]].isdigit():
                        stop += 1
                    out.append(("num", "".join(table[c] for c in text[k:stop]), k, stop))
                    k = stop
                    continue
                out.append(("letter" if value.isalpha() else "punct", value, k, k + 1))
                k += 1
            out.append(("punct", "}", end - 1, end))
            return out, end
    if ch in SYMBOLS:
        latex = SYMBOLS[ch]
        if latex == r"^\top":
            return [("punct", "^", pos, pos + 1), ("cmd", r"\top", pos, pos + 1)], pos + 1
        kind = "cmd" if latex.startswith("\\") else "punct"
        return [(kind, latex, pos, pos + 1)], pos + 1
    return None
