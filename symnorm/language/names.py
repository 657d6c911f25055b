"""What a name in the expression language stands for: declarations (``x=3``,
``A=('m', 'n')``, ``S='spd'``), the naming conventions, and the dimension classes
found by unification."""


from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Union

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from ..model.errors import ShapeError
from ..model.symbols import dim
from .syntax import Tree

GREEK_NAMES: tuple[str, ...] = (
    "alpha", "beta", "gamma", "delta", "epsilon", "eps", "zeta", "eta", "theta", "iota",
    "kappa", "lambda", "lam", "lmbda", "mu", "nu", "xi", "omicron", "pi", "rho", "sigma",
    "tau", "upsilon", "phi", "chi", "psi", "omega",
)
_GREEK_RE = re.compile(rf"(?:{'|'.join(GREEK_NAMES)})(?:[0-9]+|_[A-Za-z0-9_]+)?")
# one capital letter, or a capital Greek letter's name (Sigma, a covariance; Lambda), with
# optional digits: a matrix, as in the LaTeX reader
CAPITAL_GREEK_NAMES: tuple[str, ...] = ("Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi",
                                        "Sigma", "Phi", "Psi", "Omega")
_MATRIX_RE = re.compile(rf"(?:[A-Z]|{'|'.join(CAPITAL_GREEK_NAMES)})[0-9]*")
_Shape = Union[None, tuple[int, int]]  # None: a scalar; else (row class, column class)

# --------------------------------------------------------------------------- shapes

@dataclass
class _Spec:
    """What ``shapes[name]`` says: a kind, fixed dimensions (None = free), or an object."""

    kind: str                                 # "scalar", "vector" or "matrix"
    dims: tuple[sp.Expr | None, ...] = ()
    ready: sp.Basic | None = None
    structure: tuple[str, ...] = ()           # sn.matrix flags: a square matrix


# shape words for declared matrix structure -> keyword flags of sn.matrix
STRUCTURE_WORDS: dict[str, tuple[str, ...]] = {
    "spd": ("symmetric", "positive_definite"),
    "psd": ("symmetric", "positive_semidefinite"),
    "sym": ("symmetric",), "symmetric": ("symmetric",),
    "diag": ("diagonal",), "diagonal": ("diagonal",),
    "orth": ("orthogonal",), "orthogonal": ("orthogonal",),
}
KINDS: tuple[str, ...] = ("scalar", "vector", "matrix", *STRUCTURE_WORDS)
_DIM_NAME_RE = re.compile(r"[A-Za-z](?:_?[0-9]+)?")


def _unknown_kind(name: str, value: object) -> ShapeError:
    import difflib

    close = difflib.get_close_matches(str(value), KINDS, n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return ShapeError(
        f"shape of {name!r}: unknown kind {value!r}{hint}; valid kinds: "
        f"{', '.join(KINDS)}, a vector length (3) or dimension name (n, m, k1), an (m, n) "
        f"tuple, or a SymPy symbol")


def _spec_dim(name: str, value: object) -> sp.Expr | None:
    if value is None:
        return None
    if isinstance(value, bool):
        pass
    elif isinstance(value, int):
        if value >= 1:
            return sp.Integer(value)
    elif isinstance(value, str):
        if value.isidentifier():
            return dim(value)
    elif isinstance(value, sp.Symbol):
        return value
    elif isinstance(value, sp.Integer) and value >= 1:
        return value
    raise ShapeError(f"shapes[{name!r}]: a dimension must be a positive integer or a name, "
                     f"got {value!r}")


def _parse_spec(name: str, value: object) -> _Spec:
    if isinstance(value, str):
        if value in ("scalar", "vector", "matrix"):
            return _Spec(value, (None, None))
        if value in STRUCTURE_WORDS:
            return _Spec("matrix", (None, None), structure=STRUCTURE_WORDS[value])
        if not _DIM_NAME_RE.fullmatch(value):
            raise _unknown_kind(name, value)
        return _Spec("vector", (_spec_dim(name, value),))
    if isinstance(value, (int, sp.Integer)) and not isinstance(value, bool):
        return _Spec("vector", (_spec_dim(name, value),))
    if isinstance(value, MatrixExpr):
        return _Spec("matrix", tuple(sp.sympify(d) for d in value.shape), value)
    if isinstance(value, sp.Expr):
        return _Spec("scalar", (), value)
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return _Spec("matrix", (_spec_dim(name, value[0]), _spec_dim(name, value[1])))
    raise _unknown_kind(name, value)


class _Dims:
    """Union-find over dimension variables. Variable 0 is the literal 1 of a vector's
    columns; it never merges with a free class, so ``x*y`` of two vectors is an error."""

    ONE = 0

    def __init__(self) -> None:
        self.parent: list[int] = [0]
        self.fixed: dict[int, sp.Expr] = {0: sp.Integer(1)}

    def new(self, fixed: sp.Expr | None = None) -> int:
        if fixed is not None and fixed == 1:
            return self.ONE
        var = len(self.parent)
        self.parent.append(var)
        if fixed is not None:
            self.fixed[var] = fixed
        return var

    def find(self, var: int) -> int:
        root = var
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[var] != root:
            self.parent[var], var = root, self.parent[var]
        return root

    def is_one(self, var: int) -> bool:
        return self.find(var) == self.ONE

    def unify(self, pairs: list[tuple[int, int]]) -> bool:
        """Merge every pair, or change nothing and return False on a conflict."""
        undo: list[tuple[int, sp.Expr | None]] = []   # (merged child, root's old value)
        for a, b in pairs:
            ra, rb = self.find(a), self.find(b)
            if ra == rb:
                continue
            fa, fb = self.fixed.get(ra), self.fixed.get(rb)
            if self.ONE in (ra, rb) or (fa is not None and fb is not None and fa != fb):
                for child, old in reversed(undo):
                    root = self.parent[child]
                    self.parent[child] = child
                    if old is None:
                        self.fixed.pop(root, None)
                    else:
                        self.fixed[root] = old
                return False
            root, child = min(ra, rb), max(ra, rb)
            undo.append((child, self.fixed.get(root)))
            self.parent[child] = root
            value = fa if fa is not None else fb
            if value is not None:
                self.fixed[root] = value
        return True


@dataclass
class _Name:
    kind: str
    shape: _Shape
    ready: sp.Basic | None = None
    structure: tuple[str, ...] = ()


def _kind_by_convention(name: str) -> str:
    if _MATRIX_RE.fullmatch(name):
        return "matrix"
    if _GREEK_RE.fullmatch(name):
        return "scalar"
    return "vector"


# names that read as infinity; as a norm order they give the max norm
INFINITY_NAMES: tuple[str, ...] = ("oo", "inf", "Inf", "INF", "infinity", "Infinity")
# orders that only a matrix has, written as words: norm(X, fro), norm(X, 'nuc')
MATRIX_ORDER_NAMES: tuple[str, ...] = ("fro", "nuc")
# names that are norm orders by convention (besides Greek letters); any other name must be
# declared a scalar to be an order, so a typo such as norm(x, H1) is not read as a symbol
ORDER_NAMES: tuple[str, ...] = ("p", "q")


def _is_oo(node: object) -> bool:
    return isinstance(node, Tree) and node.data == "var" and node.children[0] in INFINITY_NAMES


def _matrix_order(node: object) -> str | None:
    """``fro`` / ``nuc`` for a norm order written ``fro``, ``'fro'``, ``nuc`` or ``'nuc'``."""
    if not isinstance(node, Tree) or node.data not in ("var", "string"):
        return None
    word = str(node.children[0]).strip("'\"")
    return word if word in MATRIX_ORDER_NAMES else None


_DIM_NAMES = ("m", "k", "l", "d", "r", "s", "t", "q")


# A caller that declares every symbol of a reference expression (verify reading a hand
# claim next to f) may declare names the text does not use; users' own declarations may not.
_UNUSED_DECLARATIONS_OK: ContextVar[bool] = ContextVar("unused_declarations_ok", default=False)


@contextmanager
def unused_declarations_allowed() -> Iterator[None]:
    """Within this block a declaration for a name the text does not use is not an error."""
    token = _UNUSED_DECLARATIONS_OK.set(True)
    try:
        yield
    finally:
        _UNUSED_DECLARATIONS_OK.reset(token)
