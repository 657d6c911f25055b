"""Exceptions raised by symnorm.

Every error names the thing that is wrong (the expression, the shape, the position in
the text) so a user never has to read a traceback from inside SymPy.
"""

from __future__ import annotations


class SymnormError(Exception):
    """Base class of every error symnorm raises on purpose."""


class ShapeError(SymnormError, ValueError):
    """Operands whose shapes do not fit together."""


class UnsupportedExpressionError(SymnormError, TypeError):
    """An expression node the engine has no rule for."""


class ArgumentError(SymnormError, TypeError):
    """A kernel called with a missing, unknown or repeated argument, or a value that is not
    an array of real numbers (complex, text, objects)."""


class DomainError(SymnormError, ValueError):
    """A value outside the range a result was derived for (e.g. a norm order p < 1)."""


class UnknownNormError(SymnormError, ValueError):
    """A norm order with no registered rule."""


class ParseError(SymnormError, ValueError):
    """Text that the expression language cannot read.

    ``position`` is the 0-based character offset, ``line``/``column`` are 1-based.
    """

    def __init__(self, message: str, text: str = "", position: int | None = None,
                 line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.text = text
        self.position = position
        self.line = line
        self.column = column


class CheckFailedError(SymnormError, AssertionError):
    """A derived result disagreed with finite differences."""

    def __init__(self, message: str, report: object = None) -> None:
        super().__init__(message)
        self.report = report


# The public errors are reached and printed as ``symnorm.<Name>`` (``symnorm.ParseError:
# ...`` in a traceback), wherever in the package they are defined.
for _error in (SymnormError, ShapeError, UnsupportedExpressionError, ArgumentError,
               DomainError, UnknownNormError, ParseError, CheckFailedError):
    _error.__module__ = "symnorm"
del _error
