"""Rule tables. Importing this package registers every built-in rule."""

from . import elementwise, vector_norms  # noqa: F401  (registration side effects)
from .registry import (ELEMENTWISE, NORMS, ElementwiseRule, IndexForm, Kink, NormRule,
                       SubdiffRule, norm_rule)

__all__ = ["ELEMENTWISE", "NORMS", "ElementwiseRule", "IndexForm", "Kink", "NormRule",
           "SubdiffRule", "norm_rule"]
