"""Real symbols: scalars, vectors and matrices, with symbolic or explicit dimensions.

All symbols are real (``real=True``): SymPy differentiates ``Abs`` of an unassumed
symbol into ``re``/``im`` terms nobody can use. Vectors are column ``MatrixSymbol``s of
shape ``(n, 1)``; with ``n=None`` the dimension is the symbol ``n`` shared by every
vector that does not say otherwise, so ``x - a`` just works.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.core.symbol import Str
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol
from sympy.matrices.expressions.matexpr import MatrixElement

from .errors import ArgumentError, ShapeError
from .shapes import install_operand_shape_errors

DimLike = "int | str | sp.Symbol | None"


def dim(name: str) -> sp.Symbol:
    """The dimension symbol called ``name`` (a positive integer).

    >>> dim("n")
    n
    >>> dim("n").is_integer and dim("n").is_positive
    True
    """
    return sp.Symbol(name, integer=True, positive=True)


def _as_dim(value: object, default: str) -> sp.Expr:
    if value is None:
        return dim(default)
    if isinstance(value, str):
        if not value.isidentifier():
            raise ShapeError(f"dimension name {value!r} is not an identifier")
        return dim(value)
    if isinstance(value, bool):
        raise ShapeError(f"dimension must be a positive integer or a name, got {value!r}")
    if isinstance(value, int):
        if value < 1:
            raise ShapeError(f"dimension must be a positive integer, got {value}")
        return sp.Integer(value)
    if isinstance(value, sp.Basic) and isinstance(value, sp.Expr):
        if value.is_Integer and value > 0:
            return value
        if value.is_Symbol:
            if not (value.is_integer and value.is_positive):
                return dim(value.name)
            return value
    raise ShapeError(f"dimension must be a positive integer or a name, got {value!r}")


def scalar(name: str, *, positive: bool = False, nonnegative: bool = False) -> sp.Symbol:
    r"""A real scalar symbol.

    Parameters
    ----------
    name : str
        The symbol's name, a Python identifier (``"lam"``, ``"mu1"``); a Greek name is
        printed as the letter in LaTeX (``\lambda``).
    positive : bool, optional
        Declare the scalar ``> 0`` (default False): a regularisation weight of
        :func:`~symnorm.prox` must be positive, and simplification uses the sign.
    nonnegative : bool, optional
        Declare the scalar ``>= 0`` (default False; ignored when ``positive`` is set).

    Returns
    -------
    sympy.Symbol
        A SymPy symbol with ``real=True`` (and the sign declared).

    Raises
    ------
    ValueError
        If ``name`` is not a Python identifier.

    Examples
    --------
    >>> import symnorm as sn
    >>> lam = sn.scalar("lam", positive=True)
    >>> lam.is_real, lam.is_positive
    (True, True)
    >>> sn.scalar("t").is_positive is None
    True
    >>> print(sn.latex(lam * sn.norm(sn.vector("x"), 1)))
    \lambda \left\lVert x \right\rVert_{1}
    """
    _check_name(name)
    kwargs: dict[str, bool] = {"real": True}
    if positive:
        kwargs["positive"] = True
    elif nonnegative:
        kwargs["nonnegative"] = True
    return sp.Symbol(name, **kwargs)


def vector(name: str, n: object = None) -> MatrixSymbol:
    """A real column vector of dimension ``n`` (symbolic ``n`` when ``None``).

    Vectors that do not say otherwise share the dimension symbol ``n``, so ``x - a``
    just works; give a vector of another space its own name (``vector("b", "m")`` for
    the right-hand side of ``A*x - b``).

    Parameters
    ----------
    name : str
        The vector's name, a Python identifier.
    n : int, str or sympy.Symbol, optional
        The dimension: a positive integer (explicit components, ``x[0]`` .. ``x[n-1]``),
        a name (``"m"``: a positive integer symbol) or a SymPy symbol. Default: the
        symbol ``n``.

    Returns
    -------
    sympy.MatrixSymbol
        A real ``n x 1`` matrix symbol.

    Raises
    ------
    ShapeError
        If ``n`` is not a positive integer, an identifier or a symbol (``0``, ``2.5``,
        ``"n m"``).
    ValueError
        If ``name`` is not a Python identifier.

    Examples
    --------
    >>> import symnorm as sn
    >>> x = sn.vector("x")
    >>> x.shape
    (n, 1)
    >>> sn.vector("b", "m").shape
    (m, 1)
    >>> sn.vector("y", 3).shape
    (3, 1)
    >>> sn.vector("z", 0)
    Traceback (most recent call last):
    ...
    symnorm.ShapeError: dimension must be a positive integer, got 0
    """
    _check_name(name)
    return MatrixSymbol(name, _as_dim(n, "n"), 1)


STRUCTURES = ("symmetric", "positive_definite", "positive_semidefinite", "diagonal",
              "orthogonal")

# what each declared property implies (closed under implication by _close)
_IMPLIES = {
    "positive_definite": ("positive_semidefinite", "symmetric"),
    "positive_semidefinite": ("symmetric",),
    "diagonal": ("symmetric",),
}


def _close(flags: set[str]) -> frozenset[str]:
    todo, done = list(flags), set()
    while todo:
        f = todo.pop()
        if f not in done:
            done.add(f)
            todo.extend(_IMPLIES.get(f, ()))
    return frozenset(done)


class StructuredMatrix(MatrixSymbol):
    """A square real matrix symbol with declared structure (symmetric, definite, ...).

    The structure is part of the symbol (its fourth argument), so it survives
    substitution and pickling; a symmetric matrix is its own transpose
    (``M.T`` is ``M``), an orthogonal one has ``Q.T`` as its inverse. Build it with
    :func:`matrix`.
    """

    def __new__(cls, name: object, n: object, m: object,
                structure: object = ()) -> "StructuredMatrix":
        n, m = sp.sympify(n), sp.sympify(m)
        cls._check_dim(n)
        cls._check_dim(m)
        if isinstance(name, str):
            name = Str(name)
        flags = sorted(str(f) for f in structure)
        return sp.Basic.__new__(cls, name, n, m, sp.Tuple(*[Str(f) for f in flags]))

    @property
    def structure(self) -> frozenset[str]:
        return frozenset(str(f) for f in self.args[3])

    def _eval_transpose(self) -> MatrixExpr | None:
        return self if "symmetric" in self.structure else None

    def _eval_inverse(self) -> MatrixExpr:
        return self.T if "orthogonal" in self.structure else super()._eval_inverse()

    def check_value(self, value: Any, rtol: float = 1e-10) -> None:
        """Raise :class:`~symnorm.model.errors.ArgumentError` if the array ``value`` (a matrix,
        or a batch of them) breaks the declared structure results were simplified with.

        Cheap checks only (O(n^2) per matrix): symmetry, a zero off-diagonal, and for
        an orthogonal matrix ``Q.T Q = I``; definiteness is not tested.

        >>> import numpy as np
        >>> M = matrix("M", 2, symmetric=True)
        >>> M.check_value(np.array([[2.0, 1.0], [1.0, 3.0]]))
        >>> M.check_value(np.array([[2.0, 1.0], [0.0, 3.0]]))
        Traceback (most recent call last):
        ...
        symnorm.ArgumentError: M is declared symmetric, but the value given is not...
        """
        import numpy as np

        a = np.asarray(value)
        if a.ndim < 2 or a.shape[-1] != a.shape[-2] or a.dtype.kind not in "fiu":
            return  # shapes and dtypes are the kernel's own checks
        scale = rtol * max(1.0, float(np.max(np.abs(a), initial=0.0)))
        flags = self.structure
        if "diagonal" in flags:
            off = a - a * np.eye(a.shape[-1])
            if np.max(np.abs(off), initial=0.0) > scale:
                raise ArgumentError(f"{self.name} is declared diagonal, but the value given has "
                                 "nonzero entries off the diagonal")
        if "symmetric" in flags:
            gap = float(np.max(np.abs(a - np.swapaxes(a, -1, -2)), initial=0.0))
            if gap > scale:
                raise ArgumentError(f"{self.name} is declared symmetric, but the value given is "
                                 f"not (largest |{self.name} - {self.name}.T| entry {gap:g})")
        if "orthogonal" in flags:
            gram = np.swapaxes(a, -1, -2) @ a
            if np.max(np.abs(gram - np.eye(a.shape[-1])), initial=0.0) > 1e-8:
                raise ArgumentError(f"{self.name} is declared orthogonal, but the value given "
                                 f"does not satisfy {self.name}.T*{self.name} = I")

    def _entry(self, i: object, j: object, **kwargs: object) -> sp.Expr:
        if "diagonal" in self.structure and i != j and \
                sp.sympify(i).is_number and sp.sympify(j).is_number:
            return sp.Integer(0)
        if "symmetric" in self.structure and sp.sympify(i).is_number and \
                sp.sympify(j).is_number and i > j:
            i, j = j, i  # one entry for M[i, j] and M[j, i]
        return MatrixElement(self, i, j)


def matrix(name: str, m: object = None, n: object = None, *, symmetric: bool = False,
           positive_definite: bool = False, positive_semidefinite: bool = False,
           diagonal: bool = False, orthogonal: bool = False) -> MatrixSymbol:
    """A real matrix of shape ``(m, n)`` (symbols ``m`` and ``n`` by default).

    Declared structure (``symmetric``, ``positive_definite``, ``positive_semidefinite``,
    ``diagonal``, ``orthogonal``) needs a square matrix: without sizes it is ``n x n``,
    with one size ``m x m``. The structure is used in simplification (``M.T`` is ``M``
    for a symmetric ``M``; ``x.T*M*x`` is known to be ``>= 0`` for a semidefinite one)
    and in the numerical check's sampling; :func:`structure_of` reads it back. A kernel
    refuses a value that breaks the declared symmetry, diagonality or orthogonality.

    Parameters
    ----------
    name : str
        The matrix's name, a Python identifier.
    m, n : int, str or sympy.Symbol, optional
        The numbers of rows and columns: positive integers, names or SymPy symbols.
        Default: the symbols ``m`` and ``n`` (``n x n`` for a declared structure, and
        ``m x m`` when only ``m`` is given with one).
    symmetric : bool, optional
        ``M.T == M``; gradients with respect to it are symmetrised (default False).
    positive_definite : bool, optional
        Symmetric with positive eigenvalues (implies ``positive_semidefinite`` and
        ``symmetric``); the check samples such matrices (default False).
    positive_semidefinite : bool, optional
        Symmetric with nonnegative eigenvalues (implies ``symmetric``; default False).
    diagonal : bool, optional
        Zero off the diagonal (implies ``symmetric``); gradients keep only the
        diagonal (default False).
    orthogonal : bool, optional
        ``M.T*M == I``: its inverse is its transpose (default False).

    Returns
    -------
    sympy.MatrixSymbol
        A real ``m x n`` matrix symbol; with a declared structure, a subclass that
        carries it (it survives substitution and pickling).

    Raises
    ------
    ShapeError
        If a size is not a positive integer or a name, or if a structure is declared
        for a matrix that is not square.
    ValueError
        If ``name`` is not a Python identifier.

    Examples
    --------
    >>> import symnorm as sn
    >>> sn.matrix("A").shape
    (m, n)
    >>> sn.matrix("M", "n", "n").shape
    (n, n)
    >>> M = sn.matrix("M", symmetric=True, positive_definite=True)
    >>> M.shape, M.T == M
    ((n, n), True)
    >>> sorted(structure_of(M))
    ['positive_definite', 'positive_semidefinite', 'symmetric']
    >>> x = sn.vector("x")
    >>> print(sn.to_text(sn.grad(sn.ScalarOf(x.T*M*x), x).result))
    2*M*x
    >>> sn.matrix("S", 2, 3, symmetric=True)
    Traceback (most recent call last):
    ...
    symnorm.ShapeError: matrix S is declared symmetric but its shape 2x3 is not square
    """
    _check_name(name)
    declared = {f for f, on in (("symmetric", symmetric),
                                ("positive_definite", positive_definite),
                                ("positive_semidefinite", positive_semidefinite),
                                ("diagonal", diagonal), ("orthogonal", orthogonal)) if on}
    if not declared:
        return MatrixSymbol(name, _as_dim(m, "m"), _as_dim(n, "n"))
    if m is None and n is None:
        rows = cols = _as_dim(None, "n")
    else:
        rows = _as_dim(m, "m")
        cols = rows if n is None else _as_dim(n, "n")
    if rows != cols:
        raise ShapeError(f"matrix {name} is declared {', '.join(sorted(declared))} but its "
                         f"shape {rows}x{cols} is not square")
    return StructuredMatrix(name, rows, cols, _close(declared))


def structure_of(M: object) -> frozenset[str]:
    """The declared structure of the matrix ``M``, closed under implication.

    A subset of ``{"symmetric", "positive_definite", "positive_semidefinite",
    "diagonal", "orthogonal"}``; empty for an ordinary matrix or anything that is not
    a declared matrix symbol.

    >>> sorted(structure_of(matrix("D", 3, diagonal=True)))
    ['diagonal', 'symmetric']
    >>> structure_of(matrix("A"))
    frozenset()
    """
    if isinstance(M, StructuredMatrix):
        return M.structure
    return frozenset()


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"symbol name must be an identifier, got {name!r}")


install_operand_shape_errors()
