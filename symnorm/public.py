"""Every public name of symnorm, imported from the module that defines it.

``symnorm/__init__.py`` serves the same names lazily from the same modules (its
``_HOMES`` table, kept equal to these imports by the tests): ``import symnorm`` loads
nothing, and the first use of a name imports the module that defines it. Importing this
module loads the whole package at once; it is the top of the layers (see
ARCHITECTURE.md).
"""

from .api import check, grad, hessian, jacobian
from .backprop import Backprop, BackpropKernel, Network, TrainResult, backprop, mlp, train
from .calculus.axioms import AxiomReport, axioms
from .calculus.derivation import Derivation, Step
from .calculus.dual import DualNorm, dual
from .calculus.jacobian import JacobianDerivation
from .calculus.prox import Prox, prox
from .calculus.regularization import optimality, proximal_gradient
from .calculus.sobolev import sobolev_energy, sobolev_norm
from .calculus.subdiff.vector import Subdifferential, subdiff
from .calculus.variation import first_variation
from .check import CheckReport
from .kernels.kernel import Kernel, kernel
from .language import parse_latex
from .language.expression import parse
from .model.atoms import Norm, ScalarOf
from .model.errors import (
    ArgumentError,
    CheckFailedError,
    DomainError,
    ParseError,
    ShapeError,
    SymnormError,
    UnknownNormError,
    UnsupportedExpressionError,
)
from .model.symbols import matrix, scalar, vector
from .model.text import to_text
from .notes import DocumentReport, verify_document
from .presentation.document import LatexError, compile_pdf, latex_document
from .presentation.latex import latex
from .rules.constructors import norm
from .rules.group_norm import group_labels, group_norm
from .rules.matrix_functions import det, inv, logdet
from .rules.matrix_norms import trace
from .rules.vector_functions import layer_norm, logsumexp, mean, rms_norm, softmax, sum, var
from .verify import Counterexample, Verdict, verify

__all__ = [
    "ArgumentError", "DomainError",
    "AxiomReport", "CheckFailedError", "CheckReport", "Derivation", "DualNorm", "Kernel",
    "Norm", "ParseError", "Prox", "ScalarOf", "ShapeError", "Step", "Subdifferential",
    "SymnormError", "UnknownNormError", "UnsupportedExpressionError", "axioms", "check", "dual",
    "grad", "group_labels", "group_norm", "hessian", "kernel", "latex", "matrix", "norm",
    "optimality", "parse", "prox", "proximal_gradient", "scalar", "subdiff", "to_text",
    "vector",
    # reading LaTeX and verifying hand derivations
    "Counterexample", "DocumentReport", "LatexError", "Verdict", "compile_pdf", "latex_document",
    "parse_latex", "verify", "verify_document",
]
__all__ += ["Backprop", "BackpropKernel", "Network", "TrainResult", "backprop", "mlp", "train"]
__all__ += ["first_variation", "sobolev_energy", "sobolev_norm", "trace"]
# Jacobians of vector-valued maps, and the functions of a whole vector or matrix
__all__ += ["JacobianDerivation", "det", "inv", "jacobian", "layer_norm", "logdet",
            "logsumexp", "mean", "rms_norm", "softmax", "sum", "var"]
