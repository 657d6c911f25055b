r"""Text in: the readers of the expression language and of hand-written LaTeX, which
build symnorm expressions node by node (nothing is ever evaluated).

Uses the model and the rules. ``latex`` reads the LaTeX people write about norms
(``\|Ax - b\|_2^2``, ``x^\top``, ``\operatorname{sign}(x)``, ``\sum_{i=1}^n x_i^2``) with
a real grammar (``latex.lark``).
"""

from .latex import KNOWN_COMMANDS, parse_latex, split_lines

__all__ = ["KNOWN_COMMANDS", "parse_latex", "split_lines"]
