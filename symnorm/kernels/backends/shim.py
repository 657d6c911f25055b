"""The numpy names generated kernel source uses, mapped onto an array-API namespace.

Kernel source is generated once (:func:`symnorm.kernels.codegen.generate_source`) and calls
``np.<name>`` and ``_nm.<helper>``. Executing that source with ``np`` bound to a
:class:`NumpyNames` and ``_nm`` to an :class:`~symnorm.kernels.backends.array_api.XPNumeric`
makes the same kernel compute with any array library. A generator that emits a numpy
name not listed here fails at compile time naming it (``AttributeError`` from
``__getattr__``), never with a wrong answer.
"""

from __future__ import annotations

import math
from typing import Any

from .array_api import XPNumeric


class _Linalg:
    def __init__(self, xp: Any) -> None:
        self._xp = xp

    def inv(self, a: Any) -> Any:
        return self._xp.linalg.inv(a)

    def matrix_power(self, a: Any, k: int) -> Any:
        return self._xp.linalg.matrix_power(a, k)


class NumpyNames:
    """``np`` for generated kernel source, computing with ``nm.xp``.

    >>> import numpy as np
    >>> from array_api_compat import array_namespace
    >>> x = np.array([1.0, -2.0])
    >>> names = NumpyNames(XPNumeric(array_namespace(x), "numpy", x.dtype, None))
    >>> names.multiply(2.0, names.abs(x))
    array([2., 4.])
    """

    inf = math.inf

    def __init__(self, nm: XPNumeric) -> None:
        self._nm = nm
        self._xp = nm.xp
        self.linalg = _Linalg(nm.xp)

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"generated kernel source uses np.{name}, which the array-API "
                             f"backends do not map yet (symnorm.kernels.backends.shim.NumpyNames)")

    # -- shapes and constructors ------------------------------------------------------
    def shape(self, a: Any) -> tuple:
        return tuple(a.shape)

    def array(self, values: list) -> Any:
        return self._nm.arr(values)

    def eye(self, n: int) -> Any:
        return self._xp.eye(n, dtype=self._nm.dtype, device=self._nm.device)

    def zeros(self, shape: tuple) -> Any:
        return self._xp.zeros(shape, dtype=self._nm.dtype, device=self._nm.device)

    def ones(self, shape: tuple) -> Any:
        return self._xp.ones(shape, dtype=self._nm.dtype, device=self._nm.device)

    def zeros_like(self, a: Any) -> Any:
        return self._xp.zeros_like(a)

    def ones_like(self, a: Any) -> Any:
        return self._xp.ones_like(a)

    # -- arithmetic ---------------------------------------------------------------------
    def multiply(self, a: Any, b: Any, out: Any = None) -> Any:
        return self._nm.assign(out, a * b)

    def power(self, a: Any, b: Any, out: Any = None) -> Any:
        return self._nm.assign(out, self._xp.pow(self._nm.arr(a), self._nm.arr(b)))

    def matmul(self, a: Any, b: Any) -> Any:
        return self._xp.matmul(a, b)

    def swapaxes(self, a: Any, i: int, j: int) -> Any:
        if {i, j} != {-1, -2}:
            raise ValueError("kernels only swap the last two axes")
        return self._xp.matrix_transpose(a)

    def broadcast_to(self, a: Any, shape: tuple) -> Any:
        return self._xp.broadcast_to(self._nm.arr(a), tuple(shape))

    def logaddexp(self, a: Any, b: Any) -> Any:
        return self._xp.logaddexp(self._nm.arr(a), self._nm.arr(b))

    def heaviside(self, a: Any, h0: Any) -> Any:
        """0 below 0, ``h0`` at 0 (the kink value kernels choose), 1 above; NaN stays."""
        a = self._nm.arr(a)
        inner = self._xp.where(a == 0, self._nm.arr(h0), a)  # NaN passes through here
        return self._xp.where(a > 0, self._nm.arr(1.0),
                              self._xp.where(a < 0, self._nm.arr(0.0), inner))

    def maximum(self, a: Any, b: Any) -> Any:
        return self._xp.maximum(self._nm.arr(a), self._nm.arr(b))

    def minimum(self, a: Any, b: Any) -> Any:
        return self._xp.minimum(self._nm.arr(a), self._nm.arr(b))

    def _unary(self, name: str, a: Any, out: Any) -> Any:
        return self._nm.assign(out, getattr(self._xp, name)(self._nm.arr(a)))

    def sign(self, a: Any, out: Any = None) -> Any:
        return self._unary("sign", a, out)

    def abs(self, a: Any, out: Any = None) -> Any:
        return self._unary("abs", a, out)

    def exp(self, a: Any, out: Any = None) -> Any:
        return self._unary("exp", a, out)

    def log(self, a: Any, out: Any = None) -> Any:
        return self._unary("log", a, out)

    def log1p(self, a: Any, out: Any = None) -> Any:
        return self._unary("log1p", a, out)

    def expm1(self, a: Any, out: Any = None) -> Any:
        return self._unary("expm1", a, out)

    def sqrt(self, a: Any, out: Any = None) -> Any:
        return self._unary("sqrt", a, out)

    def tanh(self, a: Any, out: Any = None) -> Any:
        return self._unary("tanh", a, out)

    def sin(self, a: Any, out: Any = None) -> Any:
        return self._unary("sin", a, out)

    def cos(self, a: Any, out: Any = None) -> Any:
        return self._unary("cos", a, out)
