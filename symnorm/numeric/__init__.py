"""Numeric helpers: plain numpy functions for norms, their gradients at kinks, prox
maps and projections. Generated kernels call them as ``_nm.<name>``.

Uses numpy and :mod:`symnorm.model.errors` only.
"""

from .matrices import *  # noqa: F401, F403  (the matrix-norm helpers)
from .vectors import *  # noqa: F401, F403  (the vector-norm helpers)
