"""Exceptions raised by symnorm.

Every error names the thing that is wrong (the expression, the shape, the position in
the text) so a user never has to read a traceback from inside SymPy.
"""

from __future__ import annotations


class SymnormError(Exception):
    """Base class of every error symnorm raises on purpose.

    Catch it to handle any of them; each subclass is also a subclass of the Python
    exception it resembles (``ValueError``, ``TypeError`` or ``AssertionError``), so
    code that catches those keeps working.

    Examples
    --------
    >>> import symnorm as sn
    >>> try:
    ...     sn.parse("norm(x, 2")
    ... except sn.SymnormError as e:
    ...     print(type(e).__name__)
    ParseError
    >>> issubclass(sn.ShapeError, sn.SymnormError) and issubclass(sn.ShapeError, ValueError)
    True
    """


class ShapeError(SymnormError, ValueError):
    """Operands whose shapes do not fit together.

    Raised when an expression is built or read (a product or sum of operands whose
    dimensions differ, a non-square matrix where a square one is needed, a norm of a
    scalar), when a dimension is not a positive integer or a name, and when a kernel
    is called with arrays whose shapes do not match its arguments. The message names
    the operands and their shapes.

    Examples
    --------
    >>> import numpy as np, symnorm as sn
    >>> sn.parse("x*y")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symnorm.ShapeError: shape mismatch in 'x*y': 'x' is a column vector of shape (n, 1) but ...
    >>> A, x = sn.matrix("A"), sn.vector("x")
    >>> sn.kernel(A*x, [A, x])(np.ones((3, 2)), np.ones(3))
    Traceback (most recent call last):
    ...
    symnorm.ShapeError: x has length 3 but A has shape (3, 2), so x must have length 2

    Errors found while an expression is built are subclasses of it:

    >>> try:
    ...     sn.matrix("B", 2, 3) * sn.vector("y", 2)
    ... except sn.ShapeError as e:
    ...     print(e)
    cannot multiply B by y: B is 2x3 and y is 2x1
    """


class UnsupportedExpressionError(SymnormError, TypeError):
    """An expression node the engine has no rule for.

    Also raised for an argument of the wrong kind: a variable that is not a symbol, a
    prox, dual or subdifferential of a form without a closed-form rule (the message
    lists the supported forms), a kernel backend that is unknown or not installed.

    Examples
    --------
    >>> import symnorm as sn
    >>> x = sn.vector("x")
    >>> sn.grad(sn.norm(x, 2), 2*x)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symnorm.UnsupportedExpressionError: wrt must be a symbol made by sn.scalar/..., got 2*x
    >>> sn.prox(sn.norm(x, 3), x)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symnorm.UnsupportedExpressionError: no closed-form prox for norm(x, 3): ...
    """


class ArgumentError(SymnormError, TypeError):
    """A kernel called with a missing, unknown or repeated argument, or a value that is not
    an array of real numbers (complex, text, objects).

    Also raised for an ``out=`` array that is not a writable float array, and for a
    matrix value that breaks the structure its symbol was declared with (a symmetric
    matrix given a non-symmetric value). The message lists the kernel's arguments.

    Examples
    --------
    >>> import numpy as np, symnorm as sn
    >>> x = sn.vector("x")
    >>> k = sn.kernel(sn.norm(x, 2), [x])
    >>> k(y=np.ones(3))
    Traceback (most recent call last):
    ...
    symnorm.ArgumentError: unknown argument 'y'; the arguments are k(x, *, out=None)
    >>> k(np.array([1j, 2.0]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symnorm.ArgumentError: argument x is complex (complex128); symnorm kernels compute ...
    """


class DomainError(SymnormError, ValueError):
    """A value outside the range a result was derived for (e.g. a norm order p < 1).

    Raised when an expression is built with a parameter outside its range (a negative
    ``eps`` of :func:`~symnorm.layer_norm`, a Sobolev order ``k < 0``), when a kernel is
    called at a point where its function is undefined (``logdet`` of a matrix whose
    determinant is not positive, ``inv`` of a singular matrix, a symbolic norm order
    below the range it was derived for), and when the check finds no point of the
    domain to sample.

    Examples
    --------
    >>> import numpy as np, symnorm as sn
    >>> x = sn.vector("x")
    >>> sn.layer_norm(x, -1)
    Traceback (most recent call last):
    ...
    symnorm.DomainError: layer_norm(): eps must be >= 0, got -1
    >>> M = sn.matrix("M", "n", "n")
    >>> sn.kernel(sn.logdet(M), [M])(np.zeros((2, 2)))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symnorm.DomainError: logdet(M) is not defined at the value [[0. 0.] [0. 0.]]: det(M) = 0 ...
    """


class UnknownNormError(SymnormError, ValueError):
    """A norm order with no registered rule.

    The message lists the registered norms (or, for a matrix, the matrix norms), so
    the valid orders are in front of the reader.

    Examples
    --------
    >>> import symnorm as sn
    >>> sn.norm(sn.vector("x"), -1)
    Traceback (most recent call last):
    ...
    symnorm.UnknownNormError: norm order must be >= 0, got p = -1
    >>> sn.norm(sn.matrix("X"), 3)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symnorm.UnknownNormError: no matrix norm of order 3; matrix norms: 'fro' (Frobenius), ...
    """


class ParseError(SymnormError, ValueError):
    """Text that the expression language cannot read.

    Raised by :func:`~symnorm.parse`, :func:`~symnorm.parse_latex` and the readers of
    claims and documents. The message says what was expected and shows the text with a
    caret under the position.

    Parameters
    ----------
    message : str
        What is wrong, with the text and its caret.
    text : str, optional
        The text that was read.
    position : int, optional
        The 0-based character offset of the problem in ``text``.
    line, column : int, optional
        The same position, 1-based, as an editor shows it.

    Attributes
    ----------
    text : str
        The text that was read.
    position : int or None
        The 0-based character offset of the problem.
    line : int or None
        The 1-based line of the problem.
    column : int or None
        The 1-based column of the problem.

    Examples
    --------
    >>> import symnorm as sn
    >>> sn.parse("x +* y")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symnorm.ParseError: unexpected '*' at line 1, column 4; expected '+', '-', '(', ...
        x +* y
           ^
    >>> try:
    ...     sn.parse("norm(x, 2")
    ... except sn.ParseError as e:
    ...     print(e.text, e.position, e.line, e.column)
    norm(x, 2 9 1 10
    """

    def __init__(self, message: str, text: str = "", position: int | None = None,
                 line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.text = text
        self.position = position
        self.line = line
        self.column = column


class CheckFailedError(SymnormError, AssertionError):
    """A derived result disagreed with finite differences.

    Every result symnorm returns is checked numerically first (``check=False``
    switches that off); this error is what a failed check raises. Its message names
    the expression, the point and the numbers that disagree; ``report`` holds the
    whole check. It also says when the point asked for (``at=``) is outside the
    function's domain, or is a kink where the result is not a subgradient.

    Parameters
    ----------
    message : str
        The headline and the check's summary.
    report : object, optional
        The report of the failed check (a :class:`~symnorm.CheckReport`, or the report
        type of the result that was checked).

    Attributes
    ----------
    report : object
        The report of the failed check; ``report.ok`` is False.

    Examples
    --------
    The function ``-norm(x, 1)`` is concave: at 0 it has no subgradient, so no value of
    its derived gradient ``-sign(x)`` there passes the check.

    >>> import symnorm as sn
    >>> x = sn.vector("x")
    >>> sn.grad(-sn.norm(x, 1), x, at=[0.0, 0.0])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symnorm.CheckFailedError: the derived gradient of -norm(x, 1) disagrees with ...
    FAIL: derivative -sign(x) of -norm(x, 1) with respect to x
    ...
    >>> try:
    ...     sn.grad(-sn.norm(x, 1), x, at=[0.0, 0.0])
    ... except sn.CheckFailedError as e:
    ...     print(e.report.ok, e.report.points[0].mode)
    False kink
    """

    def __init__(self, message: str, report: object = None) -> None:
        super().__init__(message)
        self.report = report


# The public errors are reached and printed as ``symnorm.<Name>`` (``symnorm.ParseError:
# ...`` in a traceback), wherever in the package they are defined.
for _error in (SymnormError, ShapeError, UnsupportedExpressionError, ArgumentError,
               DomainError, UnknownNormError, ParseError, CheckFailedError):
    _error.__module__ = "symnorm"
del _error

# With ``__module__`` set to "symnorm", doctest no longer counts the errors as defined
# here; listing them keeps their examples running under ``pytest --doctest-modules``.
__test__ = {error.__name__: error for error in (
    SymnormError, ShapeError, UnsupportedExpressionError, ArgumentError, DomainError,
    UnknownNormError, ParseError, CheckFailedError)}
