"""The rules: one registered rule per norm (value, gradient, kinks, subdifferential,
dual, prox, kernel helpers, notation) and per elementwise map; importing this package
registers every built-in rule.

Uses the model and the numeric helpers. Registration order is the order error messages
list the norms in: vector norms first.
"""

from . import vector_norms  # noqa: F401  (registration side effects)

# isort: split
from . import elementwise, group_norm, matrix_functions, matrix_norms, vector_functions  # noqa: F401  (registration side effects)
from .registry import (
    ELEMENTWISE,
    FUNCTIONS,
    NORMS,
    ElementwiseRule,
    FunctionRule,
    Fusion,
    IndexForm,
    Kink,
    NormRule,
    SubdiffRule,
    function_rule,
    kink,
    norm_rule,
    numeric_order,
)

__all__ = ["ELEMENTWISE", "FUNCTIONS", "NORMS", "ElementwiseRule", "FunctionRule", "Fusion",
           "IndexForm", "Kink", "NormRule", "SubdiffRule", "function_rule", "kink",
           "norm_rule", "numeric_order"]
