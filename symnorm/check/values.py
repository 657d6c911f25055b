"""The value kernel against an independent evaluation of ``f``.

A finite-difference check compares a derivative with differences of the value kernel;
if the value kernel itself is wrong (``0`` for ``norm(x, 2000)`` at ``[1, 2]``, where a
power overflowed) both sides can agree on a wrong answer. So at every point it uses, the
check also evaluates ``f`` by :func:`symnorm.kernels.evaluate.evaluate`, which shares no
code with the kernel generator or the numeric helpers: first in float64, and where the
two disagree (or one of them is not finite) in mpmath at 50 digits and more, which
cannot overflow. The kernel is wrong where it gives NaN and ``f`` is finite, or where
it is farther from the precise value than rounding explains: more than ``VALUE_RTOL``
relative, plus a thousand times what rounding to double precision does to the same
formula (its value at 16 digits, in mpmath, against the precise one), so a value that is
all cancellation is not blamed for its noise. A kernel value of ``+-inf`` where the
float64 evaluation overflows too is outside what float64 can compute (as a point outside
the domain), and is not judged.
"""

from __future__ import annotations

import math
from typing import Any

import mpmath
import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixSymbol

from ..kernels.arguments import is_dimension
from ..kernels.evaluate import evaluate
from ..model.errors import SymnormError, UnsupportedExpressionError
from ..model.text import to_text
from .report import format_value

#: relative disagreement of two float64 evaluations that needs no 50-digit judge
AGREE_RTOL = 1e-9
#: relative error of a value kernel beyond rounding that makes it wrong
VALUE_RTOL = 1e-6
#: entries (all arguments together) up to which an mpmath evaluation is made
PRECISE_LIMIT = 4096
DIGITS = 50
MAX_DIGITS = 800
_LARGEST = float(np.finfo(np.float64).max)


class ValueReference:
    """Independent evaluations of ``expr`` (a scalar) at the points of a check.

    ``args`` are the kernel's argument symbols; points are dicts by argument name, as
    the check draws them.
    """

    def __init__(self, expr: Any, args: list) -> None:
        self.expr = expr
        self.args = args
        self.usable = isinstance(expr, sp.Expr) and not getattr(expr, "is_Matrix", False)

    def _symbols(self, values: dict) -> tuple[dict, dict]:
        table: dict = {}
        dims: dict = {}
        for a in self.args:
            if a.name not in values:
                continue
            v = values[a.name]
            table[a] = v
            if isinstance(a, MatrixSymbol):
                shape = np.shape(v)
                core = a.shape if a.shape[1] != 1 else (a.shape[0],)
                for d, s in zip(core, shape[-len(core):]):
                    if is_dimension(d):
                        dims[d] = int(s)
        return table, dims

    def _size(self, values: dict) -> int:
        return sum(int(np.size(values[a.name])) for a in self.args if a.name in values)

    def float64(self, values: dict) -> float | None:
        """``f`` at ``values`` in float64 (None where it cannot be evaluated)."""
        if not self.usable:
            return None
        table, dims = self._symbols(values)
        try:
            value = evaluate(self.expr, table, dims)
        except UnsupportedExpressionError:
            self.usable = False  # a node without evaluation: no reference for this f
            return None
        except (SymnormError, ArithmeticError, ValueError, TypeError, IndexError,
                AttributeError, KeyError):
            return None
        return float(np.asarray(value, dtype=float).reshape(-1)[0]) \
            if np.size(value) == 1 else None

    def _mp(self, values: dict, digits: int) -> Any:
        """``f`` at ``digits`` digits (mpmath), None where mpmath cannot evaluate it, NaN
        where it is not real."""
        table, dims = self._symbols(values)
        try:
            value = evaluate(self.expr, table, dims, digits=digits)
        except (SymnormError, ArithmeticError, ValueError, TypeError, IndexError,
                AttributeError, KeyError, ZeroDivisionError):
            return None
        if isinstance(value, np.ndarray):
            value = value.reshape(-1)[0] if value.size == 1 else None
        if value is None:
            return None
        try:
            return mpmath.mpf(value)
        except (TypeError, ValueError):
            return mpmath.nan  # complex: f is not real here

    def precise(self, values: dict, digits: int = DIGITS) -> Any:
        """``f`` at ``values`` to about 20 significant digits, or None (too many entries,
        a node mpmath cannot evaluate, or no agreement by ``MAX_DIGITS``); NaN where
        ``f`` is not real.

        The formula is evaluated at ``digits`` digits and again at twice as many until
        two results agree: ``log(1 + exp(-120))`` is 0 at 50 digits, 7.7e-53 at 100 (a
        value of 0 is taken once ``MAX_DIGITS`` still give 0).
        ``digits`` below 20 gives that one evaluation (a stand-in for double precision
        without overflow).
        """
        if not self.usable or self._size(values) > PRECISE_LIMIT:
            return None
        value = self._mp(values, digits)
        if digits < 20:
            return value
        while value is not None and mpmath.isfinite(value) and digits < MAX_DIGITS:
            digits *= 2
            finer = self._mp(values, digits)
            if finer is None or not mpmath.isfinite(finer):
                return finer
            if finer != 0 and abs(finer - value) <= mpmath.mpf(10) ** -20 * abs(finer):
                return finer
            value = finer  # 0 twice may be a term below the precision: look closer
        return value if digits < MAX_DIGITS or value == 0 else None

    def judge(self, kernel_value: Any, values: dict) -> str | None:
        """Why the value kernel's ``kernel_value`` at ``values`` is wrong, or None when it
        is consistent with ``f`` (or nothing independent can tell)."""
        if not self.usable:
            return None
        fk = float(np.asarray(kernel_value, dtype=float).reshape(-1)[0]) \
            if np.size(kernel_value) == 1 else None
        if fk is None:
            return None
        fr = self.float64(values)
        if fr is None or (math.isinf(fk) and not math.isfinite(fr)):
            return None  # overflow: outside what float64 can compute, not a wrong value
        if math.isfinite(fk) and math.isfinite(fr) and \
                abs(fk - fr) <= AGREE_RTOL * max(abs(fk), abs(fr)):
            return None
        if not math.isfinite(fk) and not math.isfinite(fr) and \
                self._size(values) > PRECISE_LIMIT:
            return None
        exact = self.precise(values)
        if exact is None:  # no precise judge: only a finite reference can accuse NaN
            if math.isfinite(fr) and math.isnan(fk):
                return self._message(fk, fr, "float64 evaluation")
            return None
        if not mpmath.isfinite(exact) or abs(exact) > _LARGEST:
            return None  # f itself is not a finite float here: outside the domain
        fe = float(exact)
        if not math.isfinite(fk):  # NaN where f is finite
            return self._message(fk, fe, "precise evaluation")
        rounding = self.precise(values, digits=16)
        noise = abs(float(rounding - exact)) if rounding is not None and \
            mpmath.isfinite(rounding) else 0.0
        if abs(fk - fe) <= VALUE_RTOL * abs(fe) + 1e3 * noise:
            return None
        return self._message(fk, fe, "precise evaluation")

    def defined(self, values: dict) -> bool | None:
        """Whether ``f`` is defined (real and finite) at ``values`` by the precise
        evaluation, which knows no ``log 0 = -inf`` or ``1/0 = inf``: ``softplus(s *
        log(relu(t)))`` is 0 in float64 where ``t < 0``, and undefined. None when it
        cannot tell."""
        exact = self.precise(values)
        if exact is None:
            return None
        return bool(mpmath.isfinite(exact))

    def error(self, kernel_value: Any, values: dict) -> float:
        """``|kernel value - f|`` at ``values`` against the 50-digit value: the actual
        rounding error of the value computation there (0 when it cannot be had)."""
        exact = self.precise(values) if np.size(kernel_value) == 1 else None
        if exact is None or not mpmath.isfinite(exact):
            return 0.0
        return abs(float(np.asarray(kernel_value, dtype=float).reshape(-1)[0])
                   - float(exact))

    def _message(self, fk: float, reference: float, how: str) -> str:
        return (f"the value kernel of {to_text(self.expr)} gives {format_value(fk)} here, "
                f"but {to_text(self.expr)} = {reference:.17g} ({how}, independent of the "
                f"kernel): the value kernel is wrong at this point, so finite differences of "
                f"it cannot judge the derivative")
