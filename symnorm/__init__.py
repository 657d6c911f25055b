"""symnorm: derivatives of norms, derived symbolically, compiled, checked, shown.

>>> import symnorm as sn
>>> x = sn.vector("x")
>>> print(sn.to_text(sn.grad(sn.norm(x, 2)**2, x).result))
2*x

``import symnorm`` is light: the public names (``symnorm.__all__``) are loaded on first
use, all at once, from :mod:`symnorm.public` (PEP 562), so ``symnorm --help`` and
``symnorm --version`` start without SymPy.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # for type checkers and editors; at run time the names load lazily
    from .public import *  # noqa: F403

# Each public name, loaded with all the others on first use; the list is symnorm.public's.
__all__ = [
    "ArgumentError",
    "DomainError",
    "AxiomReport",
    "CheckFailedError",
    "CheckReport",
    "Derivation",
    "DualNorm",
    "Kernel",
    "Norm",
    "ParseError",
    "Prox",
    "ScalarOf",
    "ShapeError",
    "Step",
    "Subdifferential",
    "SymnormError",
    "UnknownNormError",
    "UnsupportedExpressionError",
    "axioms",
    "check",
    "dual",
    "grad",
    "group_labels",
    "group_norm",
    "hessian",
    "kernel",
    "latex",
    "matrix",
    "norm",
    "optimality",
    "parse",
    "prox",
    "proximal_gradient",
    "scalar",
    "subdiff",
    "to_text",
    "vector",
    "Counterexample",
    "DocumentReport",
    "LatexError",
    "Verdict",
    "compile_pdf",
    "latex_document",
    "parse_latex",
    "verify",
    "verify_document",
    "Backprop",
    "BackpropKernel",
    "Network",
    "TrainResult",
    "backprop",
    "mlp",
    "train",
    "first_variation",
    "sobolev_energy",
    "sobolev_norm",
    "trace",
    "JacobianDerivation",
    "det",
    "inv",
    "jacobian",
    "layer_norm",
    "logdet",
    "logsumexp",
    "mean",
    "rms_norm",
    "softmax",
    "sum",
    "var",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'symnorm' has no attribute {name!r}")
    public = importlib.import_module("symnorm.public")
    for each in public.__all__:  # every public name at once: one load, then plain lookups
        globals()[each] = getattr(public, each)
    return globals()[name]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


# Public names that are also the names of subpackages: importing ``symnorm.check`` (or
# ``symnorm.backprop``, ``symnorm.verify``) sets that attribute of the package to the
# subpackage, which would hide the public function of the same name from
# ``__getattr__``. A property on the package's class takes precedence over the
# attribute: the name always means the public object, as it did before the lazy import.
_SHADOWED = ("backprop", "check", "verify")


def _public(name: str) -> Any:
    value = globals().get(name)
    if value is None or isinstance(value, types.ModuleType):
        value = __getattr__(name)
    return value


class _Package(types.ModuleType):
    """The ``symnorm`` module: its public names win over its subpackages' names."""


for _name in _SHADOWED:
    setattr(_Package, _name, property(lambda module, name=_name: _public(name),
                                      lambda module, value: None))
del _name
sys.modules[__name__].__class__ = _Package
