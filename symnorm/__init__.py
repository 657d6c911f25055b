"""symnorm: derivatives of norms, derived symbolically, compiled, checked, shown.

>>> import symnorm as sn
>>> x = sn.vector("x")
>>> print(sn.to_text(sn.grad(sn.norm(x, 2)**2, x).result))
2*x
"""

from .api import grad, hessian
from .atoms import Norm, ScalarOf
from .check import CheckReport, check
from .derivation import Derivation, Step
from .dual import DualNorm, dual
from .errors import (
                     CheckFailedError,
                     ParseError,
                     ShapeError,
                     SymnormError,
                     UnknownNormError,
                     UnsupportedExpressionError,
)
from .kernel import Kernel, kernel
from .norms import norm
from .parser import parse
from .printing import latex, to_text
from .subdiff import Subdifferential, subdiff
from .symbols import matrix, scalar, vector

__version__ = "0.1.0"

__all__ = [
    "CheckFailedError", "CheckReport", "Derivation", "DualNorm", "Kernel", "Norm", "ParseError",
    "ScalarOf", "ShapeError", "Step", "Subdifferential", "SymnormError", "UnknownNormError",
    "UnsupportedExpressionError", "check", "dual", "grad", "hessian", "kernel", "latex",
    "matrix", "norm", "parse", "scalar", "subdiff", "to_text", "vector",
]
