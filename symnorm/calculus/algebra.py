"""The matrix-expression algebra the engine writes its results with: sums and scalings
that drop zeros, products flattened and tidied (``Q^T Q = I`` for a declared orthogonal
``Q``), transposes, identity factored out, and the scalar form of a function (1x1
products as scalars)."""


from __future__ import annotations

from typing import Any

import sympy as sp
from sympy import (
    Identity,
    MatAdd,
    MatMul,
    MatPow,
    ZeroMatrix,
)
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol

from ..model.atoms import (
    Norm,
    ScalarOf,
)
from ..model.errors import ShapeError, UnsupportedExpressionError
from ..model.symbols import structure_of
from ..model.text import to_text

# -- helpers --------------------------------------------------------------------------

def depends(expr: Expr, wrt: Expr) -> bool:
    """Does ``expr`` contain ``wrt``?"""
    return expr == wrt or expr.has(wrt)


Expr = Any  # a SymPy scalar Expr or MatrixExpr


def _stand_in(atom: Expr, i: int) -> sp.Symbol:
    """A scalar standing for ``atom`` in SymPy's scalar calculus, with only true facts.

    A norm is >= 0 (not > 0: it vanishes at 0); a bilinear form is >= 0 only when it is
    a Gram form (``x.T*x``, ``x.T*M*x`` with M declared semidefinite); anything else is
    just real. A scalar symbol stands for itself, with its own assumptions.
    """
    if isinstance(atom, sp.Symbol):
        return atom
    if atom.is_nonnegative:
        return sp.Dummy(f"t{i}", nonnegative=True)
    return sp.Dummy(f"t{i}", real=True)


def _holds_matrices(e: sp.Basic) -> bool:
    return isinstance(e, (MatrixExpr, Norm, ScalarOf)) or any(
        isinstance(a, MatrixExpr) for a in e.args)


def masked(fn: Any, e: sp.Expr) -> sp.Expr:
    """``fn(e)`` with every node that holds a matrix hidden behind a scalar stand-in.

    SymPy's scalar simplifiers (powsimp, factor_terms, signsimp) walk into all
    arguments and rebuild a ``MatAdd`` inside a norm as a scalar sum, which is not a
    valid node; they only ever see the stand-ins (with true sign facts).

    >>> import symnorm as sn
    >>> x = sn.vector("x")
    >>> masked(sp.powsimp, sn.norm(x, 2)**2 * sn.norm(x, 2))
    norm(x, 2)**3
    """
    if not isinstance(e, sp.Basic) or isinstance(e, MatrixExpr):
        return fn(e)
    found: list[sp.Basic] = []

    def walk(node: sp.Basic) -> None:
        if _holds_matrices(node):
            if node not in found:
                found.append(node)
            return
        for a in node.args:
            walk(a)

    walk(e)
    if not found:
        return fn(e)
    hide = {a: _stand_in(a, i) if not isinstance(a, MatrixExpr) else a
            for i, a in enumerate(found)}
    hide = {a: d for a, d in hide.items() if a is not d}
    back = {d: a for a, d in hide.items()}
    return fn(e.xreplace(hide)).xreplace(back)


def _split(m: MatMul) -> tuple[sp.Expr, MatrixExpr]:
    scalars = [a for a in m.args if not isinstance(a, MatrixExpr)]
    mats = [a for a in m.args if isinstance(a, MatrixExpr)]
    return sp.Mul(*scalars), (mats[0] if len(mats) == 1 else MatMul(*mats))


def zero_like(wrt: Expr) -> Expr:
    return ZeroMatrix(*wrt.shape) if isinstance(wrt, MatrixExpr) else sp.Integer(0)


def scale(c: sp.Expr, g: Expr) -> Expr:
    """``c * g`` for a scalar ``c`` and a scalar or matrix ``g``, coefficients combined."""
    if isinstance(g, MatrixExpr):
        if c == 1:
            return g
        if isinstance(g, MatAdd):  # 2‖r‖ · (M/‖r‖ + N/‖r‖) = 2 (M + N)
            pulled = _pull_common_factor(g)
            if pulled is not g:
                factor, inner = pulled.args[0], pulled.args[1]
                if sp.count_ops(c * factor) < sp.count_ops(c):
                    return _flatten(MatMul(c * factor, inner))
        return _flatten(MatMul(c, g))
    return c * g


def add(terms: list[Expr]) -> Expr | None:
    terms = [t for t in terms if t is not None and not _is_zero(t)]
    if not terms:
        return None
    if len(terms) == 1:
        return terms[0]
    if isinstance(terms[0], MatrixExpr):
        return _collect_right(_flatten(MatAdd(*terms)))
    return sp.Add(*terms)


def _pull_common_factor(e: MatrixExpr) -> MatrixExpr:
    """``c M + c N`` -> ``c (M + N)`` for a common symbolic factor ``c`` (``1/‖r‖₂`` of the
    two product-rule terms of ``∇_A ‖A A x − b‖₂``); :func:`scale` uses it where a
    chain-rule coefficient cancels against it: ``2‖r‖₂ · (1/‖r‖₂)(M + N) = 2 (M + N)``."""
    if not isinstance(e, MatAdd) or not all(isinstance(t, MatMul) for t in e.args):
        return e
    split = [_split_args(t) for t in e.args]
    common: list[sp.Expr] | None = None
    for c, _ in split:
        factors = [f for f in sp.Mul.make_args(c) if not f.is_number]
        if common is None:
            common = factors
        else:
            kept, rest = [], list(factors)
            for f in common:
                if f in rest:
                    rest.remove(f)
                    kept.append(f)
            common = kept
        if not common:
            return e
    factor = sp.Mul(*common)
    inner = MatAdd(*[scale(c / factor, _product(mats)) for c, mats in split]).doit(deep=False)
    return MatMul(factor, inner)


def _collect_right(e: MatrixExpr) -> MatrixExpr:
    """``M x + M^T x`` -> ``(M + M^T) x``: collect a common rightmost factor."""
    if not isinstance(e, MatAdd):
        return e
    lefts, right = [], None
    for t in e.args:
        if not isinstance(t, MatMul):
            return e
        c, mats = _split_args(t)
        if len(mats) < 2 or (right is not None and mats[-1] != right):
            return e
        right = mats[-1]
        lefts.append(scale(c, _product(mats[:-1])))
    return MatMul(MatAdd(*lefts), right)


def _split_args(m: MatMul) -> tuple[sp.Expr, list[MatrixExpr]]:
    return (sp.Mul(*[a for a in m.args if not isinstance(a, MatrixExpr)]),
            [a for a in m.args if isinstance(a, MatrixExpr)])


def _is_zero(t: Expr) -> bool:
    return isinstance(t, ZeroMatrix) or (not isinstance(t, MatrixExpr) and t == 0)


def _flatten(e: MatrixExpr) -> MatrixExpr:
    """Flatten nested products/sums and combine scalar coefficients, keeping our atoms."""
    if isinstance(e, MatMul):
        args = []
        for a in e.args:
            a = _flatten(a) if isinstance(a, (MatMul, MatAdd)) else a
            args.extend(a.args if isinstance(a, MatMul) else [a])
        scalars = sp.Mul(*[a for a in args if not isinstance(a, MatrixExpr)])
        mats = [a for a in args if isinstance(a, MatrixExpr)]
        mats = _cancel_orthogonal([m for m in mats if not isinstance(m, Identity)]) \
            or [Identity(e.shape[0])]
        if scalars == 0 or any(isinstance(m, ZeroMatrix) for m in mats):
            return ZeroMatrix(*e.shape)
        if not mats:
            return e
        scalars = masked(sp.powsimp, scalars)
        if scalars == 1 and len(mats) == 1:
            return mats[0]
        return MatMul(scalars, *mats) if scalars != 1 else MatMul(*mats)
    if isinstance(e, MatAdd):
        return MatAdd(*[_flatten(a) if isinstance(a, (MatMul, MatAdd)) else a
                        for a in e.args]).doit(deep=False)
    return e


def _cancel_orthogonal(mats: list[MatrixExpr]) -> list[MatrixExpr]:
    """Drop ``Q.T*Q`` and ``Q*Q.T`` for a matrix declared orthogonal."""

    out: list[MatrixExpr] = []
    for m in mats:
        if out:
            prev = out[-1]
            for q, qt in ((m, prev), (prev, m)):
                if "orthogonal" in structure_of(q) and qt == q.T:
                    out.pop()
                    break
            else:
                out.append(m)
            continue
        out.append(m)
    return out


def _transpose(e: Expr) -> Expr:
    return e.T if isinstance(e, MatrixExpr) else e


def _product(factors: list[Expr]) -> Expr:
    factors = [f for f in factors if not (isinstance(f, sp.Expr) and f == 1)]
    if not factors:
        return sp.Integer(1)
    if len(factors) == 1:
        return factors[0]
    if not any(isinstance(f, MatrixExpr) for f in factors):
        return sp.Mul(*factors)
    return _flatten(MatMul(*factors))


def factor_identity(h: MatrixExpr) -> MatrixExpr:
    """``c I + c B`` -> ``c (I + B)``: the form textbooks write Hessians in.

    A lone declared-structure matrix plays the role of ``I``: the Mahalanobis Hessian
    reads ``(M - M x x^T M / (x^T M x)) / sqrt(x^T M x)``.
    """

    if not isinstance(h, MatAdd):
        return h

    def lone(t: MatMul) -> bool:
        mats = [a for a in t.args if isinstance(a, MatrixExpr)]
        return len(mats) == 1 and (isinstance(mats[0], Identity) or bool(
            structure_of(mats[0])))

    ident = [t for t in h.args if isinstance(t, MatMul) and lone(t)]
    if not ident:
        return h
    c, _ = _split(ident[0])
    if c == 1:
        return h
    inner = MatAdd(*[_flatten(MatMul(1 / c, t)) for t in h.args])
    return MatMul(c, inner)


# -- gradients in a space of structured matrices --------------------------------------------

def structured_space(wrt: Any) -> str | None:
    """The space a gradient with respect to ``wrt`` lives in: ``"diagonal"`` or
    ``"symmetric"`` for a matrix declared so (positive (semi)definite is symmetric), else
    None. (An orthogonal matrix is a manifold, not a linear space: None.)

    >>> import symnorm as sn
    >>> structured_space(sn.matrix("S", 3, 3, positive_definite=True))
    'symmetric'
    >>> structured_space(sn.matrix("A", 3, 3)) is None
    True
    """
    structure = structure_of(wrt)
    if "orthogonal" in structure:
        return None
    if "diagonal" in structure:
        return "diagonal"
    if "symmetric" in structure:
        return "symmetric"
    return None


def _transposed(e: MatrixExpr) -> MatrixExpr:
    return e.T.doit() if isinstance(e, MatrixExpr) else e


def _linear_terms(g: MatrixExpr) -> tuple[sp.Expr, list[MatrixExpr]]:
    """``g = c (t_1 + ... + t_k)``: the scalar ``c`` and the matrix terms ``t_i``."""
    c, m = _split(g) if isinstance(g, MatMul) else (sp.Integer(1), g)
    return c, list(m.args) if isinstance(m, MatAdd) else [m]


def symmetric_part(g: MatrixExpr) -> MatrixExpr:
    """``sym(G) = (G + G^T)/2``, keeping the terms of ``G`` that are symmetric as they are.

    >>> import symnorm as sn
    >>> X, A = sn.matrix("X", 3, 3, symmetric=True), sn.matrix("A", 3, 3)
    >>> from symnorm.model.text import to_text
    >>> to_text(symmetric_part(sp.MatMul(2, X - A))), to_text(symmetric_part(A.T))
    ('2*(X - (A + A.T)/2)', '(A + A.T)/2')
    """
    c, terms = _linear_terms(g)
    kept = [t for t in terms if _transposed(t) == t]
    rest = [t for t in terms if _transposed(t) != t]
    if not rest:
        return g
    r = rest[0] if len(rest) == 1 else MatAdd(*rest)
    both = MatAdd(r, _transposed(r)).doit()
    coeff, inner = _linear_terms(both)
    if all(_split(t)[0].could_extract_minus_sign() if isinstance(t, MatMul) else False
           for t in inner):  # -(A + A^T)/2, not (-A - A^T)/2
        coeff, inner = -coeff, [_flatten(MatMul(-1, t)) for t in inner]
    inner_sum = inner[0] if len(inner) == 1 else MatAdd(*inner)
    half = MatMul(coeff / 2, inner_sum) if coeff / 2 != 1 else inner_sum
    body = MatAdd(*kept, half) if kept else half  # as built: X - (A + A^T)/2
    return body if c == 1 else MatMul(c, body)


def _is_diagonal(t: MatrixExpr) -> bool:
    if isinstance(t, (Identity, ZeroMatrix)) or "diagonal" in structure_of(t):
        return True
    if isinstance(t, MatMul):
        _, mats = _split_args(t)
        return all(_is_diagonal(m) for m in mats)
    if isinstance(t, (MatAdd, sp.HadamardProduct)):
        return any(_is_diagonal(m) for m in t.args) if isinstance(t, sp.HadamardProduct) \
            else all(_is_diagonal(m) for m in t.args)
    return False


def diagonal_part(g: MatrixExpr) -> MatrixExpr:
    """``diag(G) = G ∘ I``, term by term; a diagonal term (``I``, a diagonal matrix) as is.

    >>> import symnorm as sn
    >>> D, A = sn.matrix("D", 3, 3, diagonal=True), sn.matrix("A", 3, 3)
    >>> from symnorm.model.text import to_text
    >>> to_text(diagonal_part(sp.MatMul(2, D - A)))
    '2*(D - (I .* A))'
    """
    c, terms = _linear_terms(g)
    eye = Identity(g.shape[0])
    parts = []
    for t in terms:
        tc, body = _split(t) if isinstance(t, MatMul) else (sp.Integer(1), t)
        parts.append(t if _is_diagonal(t) else scale(tc, sp.HadamardProduct(body, eye)))
    return scale(c, add(parts))  # type: ignore[arg-type]


def as_scalar(f: Any) -> sp.Expr:
    """Accept a 1x1 matrix expression as a scalar; reject anything else non-scalar."""
    if isinstance(f, MatrixExpr):
        if f.shape == (1, 1):
            return scalar_form(ScalarOf(f))
        hint = ("; the derivative of a vector-valued map is its Jacobian: "
                "sn.jacobian(F, wrt)") if f.shape[1] == 1 else ""
        raise ShapeError(f"can only differentiate a scalar; {to_text(f)} is a "
                         f"{f.shape[0]}x{f.shape[1]} matrix expression{hint}")
    if not isinstance(f, sp.Expr):
        hint = (f"; read text with sn.parse first, e.g. sn.parse({f!r})"
                if isinstance(f, str) else "")
        raise UnsupportedExpressionError(
            f"expected a SymPy/symnorm expression, got {type(f).__name__}: {f!r}{hint}")
    return scalar_form(f)


def _one_by_one_blocks(mats: list[MatrixExpr]) -> list[list[MatrixExpr]]:
    """Split a 1x1 product into consecutive 1x1 sub-products (``[[a.T, x], [a.T, x]]``)."""
    blocks, start = [], 0
    for j, m in enumerate(mats):
        if mats[start].shape[0] == 1 and m.shape[1] == 1:
            blocks.append(mats[start:j + 1])
            start = j + 1
    return blocks if start == len(mats) else [mats]


def scalar_form(e: sp.Expr) -> sp.Expr:
    """1x1 matrix expressions in scalar positions become scalars.

    SymPy builds ``(a.T*x)*(a.T*x)`` as the matrix power ``(a.T*x)**2`` and keeps
    ``exp(-a.T*x)`` with a 1x1 matrix inside; here they read as the scalars
    ``ScalarOf(a.T*x)**2`` and ``exp(-ScalarOf(a.T*x))``. Norms are left as they are.

    >>> import symnorm as sn
    >>> a, x = sn.vector("a"), sn.vector("x")
    >>> f = scalar_form(ScalarOf((a.T*x)*(a.T*x)))
    >>> f, type(f).__name__
    ((a.T*x)**2, 'Pow')
    """
    if isinstance(e, ScalarOf):
        m = e.mat
        if isinstance(m, MatPow) and m.base.shape == (1, 1):
            return sp.Pow(scalar_form(ScalarOf(m.base)), m.exp)
        if isinstance(m, MatMul):  # c * (a.T*x): pull a scalar coefficient out
            c, mats = _split_args(m)
            if c != 1 and mats:
                return scalar_form(c) * scalar_form(ScalarOf(_product(mats)))
            blocks = _one_by_one_blocks(mats)
            if len(blocks) > 1:  # a.T*x*a.T*x = (a.T*x)*(a.T*x)
                return sp.Mul(*[scalar_form(ScalarOf(_product(b))) for b in blocks])
        return e
    if isinstance(e, (Norm, MatrixExpr)) or not e.args:
        return e
    args = [scalar_form(ScalarOf(a)) if isinstance(a, MatrixExpr) and a.shape == (1, 1)
            else scalar_form(a) if isinstance(a, sp.Expr) else a for a in e.args]
    if all(new is old for new, old in zip(args, e.args)):
        return e
    return e.func(*args)


def check_wrt(f: sp.Expr, wrt: Any) -> None:
    if isinstance(wrt, (MatrixSymbol, sp.Symbol)):
        return
    raise UnsupportedExpressionError(
        f"wrt must be a symbol made by sn.scalar/sn.vector/sn.matrix, got {wrt!r}")
