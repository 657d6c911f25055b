"""Numeric helpers: plain numpy functions for norms, their gradients at kinks, prox
maps and projections, the functions of a whole vector or matrix and their derivatives.
Generated kernels call them as ``_nm.<name>``.

Uses numpy and :mod:`symnorm.model.errors` only.
"""

from .determinants import *  # noqa: F401, F403  (inv, det, logdet and det's gradient)
from .hull import *  # noqa: F401, F403  (the gradient of max/min at a tie)
from .lp import *  # noqa: F401, F403  (Lp norms of any order)
from .matrices import *  # noqa: F401, F403  (the matrix-norm helpers)
from .normalization import *  # noqa: F401, F403  (softmax, layer_norm, rms_norm, ...)
from .products import *  # noqa: F401, F403  (safe division, logistic, products)
from .prox import *  # noqa: F401, F403  (soft thresholding, projections, group lasso)
from .vectors import *  # noqa: F401, F403  (the L2, L1, L-inf and L0 helpers)
