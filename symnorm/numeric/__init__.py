"""Numeric helpers: plain numpy functions for norms, their gradients at kinks, prox
maps and projections, the functions of a whole vector or matrix and their derivatives.
Generated kernels call them as ``_nm.<name>``.

Uses numpy and :mod:`symnorm.model.errors` only.
"""

from .determinants import *  # noqa: F401, F403  (inv, det, logdet and det's gradient)
from .matrices import *  # noqa: F401, F403  (the matrix-norm helpers)
from .normalization import *  # noqa: F401, F403  (softmax, layer_norm, rms_norm, ...)
from .vectors import *  # noqa: F401, F403  (the vector-norm helpers)
