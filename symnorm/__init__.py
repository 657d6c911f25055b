"""symnorm: derivatives of norms, derived symbolically, compiled, checked, shown.

>>> import symnorm as sn
>>> x = sn.vector("x")
>>> print(sn.to_text(sn.grad(sn.norm(x, 2)**2, x).result))
2*x

``import symnorm`` is light: each public name (``symnorm.__all__``) is loaded on first
use from the module that defines it (PEP 562), so ``symnorm --help`` and
``symnorm --version`` start without SymPy, and ``sn.grad`` without the LaTeX reader.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # for type checkers and editors; at run time the names load lazily
    from .public import *  # noqa: F403

# Each public name and the module that defines it (symnorm.public imports the same names
# from the same modules; tests/test_architecture.py keeps the two lists equal). The first
# use of a name imports its module only: sn.grad does not load the LaTeX reader,
# verify or backprop.
_HOMES: dict[str, tuple[str, ...]] = {
    "api": ("check", "grad", "hessian", "jacobian"),
    "backprop": ("Backprop", "BackpropKernel", "Network", "TrainResult", "backprop", "mlp",
                 "train"),
    "calculus.axioms": ("AxiomReport", "axioms"),
    "calculus.derivation": ("Derivation", "Step"),
    "calculus.dual": ("DualNorm", "dual"),
    "calculus.jacobian": ("JacobianDerivation",),
    "calculus.prox": ("Prox", "prox"),
    "calculus.regularization": ("optimality", "proximal_gradient"),
    "calculus.sobolev": ("sobolev_energy", "sobolev_norm"),
    "calculus.subdiff.vector": ("Subdifferential", "subdiff"),
    "calculus.variation": ("first_variation",),
    "check": ("CheckReport",),
    "kernels.kernel": ("Kernel", "kernel"),
    "language": ("parse_latex",),
    "language.expression": ("parse",),
    "model.atoms": ("Norm", "ScalarOf"),
    "model.errors": ("ArgumentError", "CheckFailedError", "DomainError", "ParseError",
                     "ShapeError", "SymnormError", "UnknownNormError",
                     "UnsupportedExpressionError"),
    "model.symbols": ("matrix", "scalar", "vector"),
    "model.text": ("to_text",),
    "notes": ("DocumentReport", "verify_document"),
    "presentation.document": ("LatexError", "compile_pdf", "latex_document"),
    "presentation.latex": ("latex",),
    "rules.constructors": ("norm",),
    "rules.group_norm": ("group_labels", "group_norm"),
    "rules.matrix_functions": ("det", "inv", "logdet"),
    "rules.matrix_norms": ("trace",),
    "rules.vector_functions": ("layer_norm", "logsumexp", "mean", "rms_norm", "softmax", "sum",
                               "var"),
    "verify": ("Counterexample", "Verdict", "verify"),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}
__all__ = list(_HOME_OF)


def __getattr__(name: str) -> Any:
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'symnorm' has no attribute {name!r}")
    value = globals()[name] = getattr(importlib.import_module(f"symnorm.{module}"), name)
    return value


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
