"""Text in: readers that turn what people write into symnorm expressions.

``latex`` reads the LaTeX people write by hand about norms (``\\|Ax - b\\|_2^2``,
``x^\\top``, ``\\operatorname{sign}(x)``, ``\\sum_{i=1}^n x_i^2``) with a real grammar
(``latex.lark``); nothing is ever evaluated.
"""

from .latex import KNOWN_COMMANDS, parse_latex, split_lines

__all__ = ["KNOWN_COMMANDS", "parse_latex", "split_lines"]
