"""The functions of symnorm's expression language: their names, how many arguments each
takes, what each applies to, and the constructor that builds it (a table both readers use).
"""

from __future__ import annotations

import sympy as sp

from ..model.atoms import sigmoid_scalar
from ..rules import matrix_functions, vector_functions

__all__ = ["KNOWN_FUNCTIONS"]

KNOWN_FUNCTIONS: tuple[str, ...] = ("norm", "sqrt", "log", "exp", "abs", "sign", "sigmoid",
                                    "max", "tanh", "relu", "softplus", "trace", "sum", "mean",
                                    "var", "logsumexp", "softmax", "layer_norm", "rms_norm",
                                    "inv", "det", "logdet", "diag")

# functions of a whole vector or matrix: what each takes, and the constructor that builds it
_ENTRIES = ("sum", "mean", "var")              # any vector or matrix -> a scalar
_OF_VECTOR = ("logsumexp", "softmax", "layer_norm", "rms_norm", "diag")  # a column vector
_OF_SQUARE = ("inv", "det", "logdet")          # a square matrix
_BUILD = {"sum": vector_functions.sum, "mean": vector_functions.mean,
          "var": vector_functions.var, "logsumexp": vector_functions.logsumexp,
          "softmax": vector_functions.softmax, "layer_norm": vector_functions.layer_norm,
          "rms_norm": vector_functions.rms_norm, "inv": matrix_functions.inv,
          "det": matrix_functions.det, "logdet": matrix_functions.logdet,
          "diag": sp.DiagMatrix}

# (fewest, most) arguments, and how a correct call looks.
_ARITY: dict[str, tuple[int, int, str]] = {
    "norm": (1, 2, "1 or 2 (norm(u) or norm(u, p))"),
    **{f: (1, 1, f"1 ({f}(s))") for f in ("sqrt", "log")},
    **{f: (1, 1, f"1 ({f}(u) of a vector or matrix u)") for f in _ENTRIES},
    **{f: (1, 1, f"1 ({f}(u) of a column vector u)") for f in ("logsumexp", "softmax",
                                                               "diag")},
    **{f: (1, 2, f"1 or 2 ({f}(u) or {f}(u, eps))") for f in ("layer_norm", "rms_norm")},
    **{f: (1, 1, f"1 ({f}(M) of a square matrix M)") for f in _OF_SQUARE},
    "max": (2, 64, "2 or more scalars (max(a, b, ...))"),
    "trace": (1, 1, "1 (trace(M) of a square matrix M)"),
    **{f: (1, 1, f"1 ({f}(u))") for f in ("exp", "abs", "sign", "sigmoid")},
    **{f: (1, 1, f"1 ({f}(u))") for f in ("tanh", "relu", "softplus")},
}

_SCALAR_FUNCS = {"exp": sp.exp, "abs": sp.Abs, "sign": sp.sign, "sigmoid": sigmoid_scalar}
# the activations (scalar forms as in symnorm.model.atoms)
_SCALAR_FUNCS.update({"tanh": sp.tanh, "relu": lambda v: sp.Max(v, 0),
                      "softplus": lambda v: sp.log(1 + sp.exp(v))})
