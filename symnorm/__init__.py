"""symnorm: derivatives of norms, derived symbolically, compiled, checked, shown.

>>> import symnorm as sn
>>> x = sn.vector("x")
>>> print(sn.to_text(sn.grad(sn.norm(x, 2)**2, x).result))
2*x
"""

from .api import grad, hessian
from .atoms import Norm, ScalarOf
from .axioms import AxiomReport, axioms
from .backprop import Backprop, BackpropKernel, Network, TrainResult, backprop, mlp, train
from .check import CheckReport, check
from .derivation import Derivation, Step
from .document import LatexError, compile_pdf, latex_document
from .dual import DualNorm, dual
from .errors import (
    ArgumentError,
    CheckFailedError,
    DomainError,
    ParseError,
    ShapeError,
    SymnormError,
    UnknownNormError,
    UnsupportedExpressionError,
)
from .kernel import Kernel, kernel
from .language import parse_latex
from .norms import norm
from .parser import parse
from .printing import latex, to_text
from .prox import Prox, prox
from .regularization import optimality, proximal_gradient
from .rules.group_norm import group_labels, group_norm
from .subdiff import Subdifferential, subdiff
from .symbols import matrix, scalar, vector
from .verify import Counterexample, Verdict, verify

__version__ = "0.1.0"

__all__ = [
    "ArgumentError", "DomainError",
    "AxiomReport", "CheckFailedError", "CheckReport", "Derivation", "DualNorm", "Kernel",
    "Norm", "ParseError", "Prox", "ScalarOf", "ShapeError", "Step", "Subdifferential",
    "SymnormError", "UnknownNormError", "UnsupportedExpressionError", "axioms", "check", "dual",
    "grad", "group_labels", "group_norm", "hessian", "kernel", "latex", "matrix", "norm",
    "optimality", "parse", "prox", "proximal_gradient", "scalar", "subdiff", "to_text",
    "vector",
    # reading LaTeX and verifying hand derivations
    "Counterexample", "LatexError", "Verdict", "compile_pdf", "latex_document", "parse_latex",
    "verify",
]
__all__ += ["Backprop", "BackpropKernel", "Network", "TrainResult", "backprop", "mlp", "train"]
