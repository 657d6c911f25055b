"""The numerical check: a claimed gradient, Hessian or subgradient against finite
differences at sampled points of the domain, with a report.

Uses the kernels and everything below them; it never derives anything itself.
"""

from .gradient import CheckOptionError, check_derivation, ensure, fixed_points, run_check
from .jacobian import PRODUCT_METHOD, check_products
from .kinks import KINK_METHOD, check_set, ensure_set, one_sided_derivative
from .report import (
    METHOD,
    TOLERANCES,
    CheckReport,
    DirectionResult,
    PointResult,
    format_value,
    verdict_html,
)
from .sampling import NoDomainPointError, random_values, sample_domain, switch_points

__all__ = ["KINK_METHOD", "METHOD", "PRODUCT_METHOD", "TOLERANCES", "CheckOptionError",
           "CheckReport", "check_products",
           "DirectionResult", "NoDomainPointError", "PointResult", "check_derivation",
           "check_set", "ensure", "ensure_set", "fixed_points", "format_value",
           "one_sided_derivative", "random_values", "run_check", "sample_domain",
           "switch_points", "verdict_html"]
