"""A safe reader of symnorm's expression language: text in, SymPy expression out.

The text is read by an operator-precedence reader (explicit stacks, linear time, no
recursion) and the SymPy objects are built node by node; nothing in it is ever handed
to ``eval``, ``exec`` or ``sympify``, so text such as
``__import__('os').system('...')`` is a :class:`~symnorm.model.errors.ParseError` and runs
nothing.

Operators, loosest first (all binary ones left-associative except the powers)::

    + -          binary plus and minus
    * / .*       product (scalar or matrix), division by a scalar, elementwise product
    - +          unary minus and plus
    ** ^ .^      power (scalars only), elementwise power; right-associative, and
                 tighter than a unary minus on their left: -x**2 is -(x**2)
    .T           postfix transpose
    ( ) f(...)   parentheses and function calls

Functions: ``norm(u)``, ``norm(u, p)``, ``sqrt``, ``log``, ``max(a, b, ...)`` (scalars)
and ``exp``, ``abs``, ``sign``, ``sigmoid``, ``tanh``, ``relu``, ``softplus`` (scalars, or
elementwise on vectors and matrices); ``trace(M)`` of a square matrix. Of a whole vector or
matrix: ``sum(u)``, ``mean(u)``, ``var(u)`` (scalars, over every entry); of a column vector:
``logsumexp(u)`` (a scalar), ``softmax(u)``, ``layer_norm(u)``, ``layer_norm(u, eps)``,
``rms_norm(u)``, ``rms_norm(u, eps)`` (vectors; eps 1e-5 by default); of a square matrix:
``inv(M)``, ``det(M)``, ``logdet(M)``; ``diag(u)``, the diagonal matrix of a column
vector (as Jacobians are written). Matrix norm orders:
``norm(X, fro)`` (or ``'fro'``), ``norm(X, nuc)`` (or ``'nuc'``), ``norm(X, 2)``,
``norm(X, 1)``, ``norm(X, oo)``.

Unicode as typed in a notebook reads as its ASCII spelling: ``‖u‖`` with an order after it
(``‖x‖₂``, ``‖x‖_∞``, ``‖x‖_p``, ``‖X‖_F``, ``‖X‖_*``) is ``norm(u, ...)``; ``λ`` is
``lam`` and the other Greek letters their names (``Σ`` is ``Sigma``); ``x²`` is ``x**2``,
``‖x‖⁻¹`` is ``norm(x)**-1``; ``W₁`` is ``W1``; ``ᵀ`` is ``.T``; ``⊙`` is ``.*``;
``·``, ``⋅``, ``×`` are ``*``; ``−`` is ``-``; ``∞`` is ``oo``.

What a name stands for, unless ``parse(text, name=...)`` says otherwise: one capital
letter or capital Greek name with optional digits (``A``, ``W1``, ``Sigma``) is a matrix;
a Greek letter name (``lam``,
``alpha2``, ``eps_0``) or a name used as a norm order is a real scalar; any other name
is a column vector. Dimensions are found by unification: the class of the first vector
is ``n``, the other classes ``m``, ``k``, ``l``, ``d``, ``r``, ``s``, ... in order of
first appearance (``m``, ``n``, ``k``, ... when no vector claims ``n``).
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.exceptions import ShapeError as SympyShapeError
from sympy.matrices.expressions import MatrixExpr

from ..model.atoms import ELEMENTWISE_BY_NAME, ScalarOf, Trace
from ..model.errors import ShapeError, UnknownNormError
from ..model.symbols import dim, matrix, scalar, vector
from ..rules.constructors import norm
from .functions import _BUILD, _SCALAR_FUNCS, KNOWN_FUNCTIONS
from .inference import ShapeInference
from .names import (
    _UNUSED_DECLARATIONS_OK,
    _is_oo,
    _matrix_order,
)
from .numbers import (
    _MAX_BITS,
    _bits,
    _total,
    division_by_zero,
    real_number,
)
from .syntax import (
    _BINARY_OPS,
    _SUM_OPS,
    Tree,
    _chain,
    _error,
    _syntax_tree,
)

__all__ = ["KNOWN_FUNCTIONS", "parse"]


class _Reader(ShapeInference):
    """Pass 1 (``shape_of``, in :mod:`.inference`) infers shapes by unification and checks
    them; pass 2 (``build``) makes the SymPy objects once every dimension class has its
    final name."""

    # ---- pass 2: SymPy objects
    def symbol(self, name: str) -> sp.Basic:
        if name in self.symbols:
            return self.symbols[name]
        entry = self.names[name]
        value: sp.Basic
        if entry.ready is not None:
            value = entry.ready
        elif name in self.divisor_names and dim(name) in self.resolved.values():
            value = dim(name)  # norm(x, 2)**2/n: the dimension of x
        elif entry.shape is None:
            value = scalar(name)
        else:
            rows, cols = (self.resolved[self.dims.find(v)] for v in entry.shape)
            flags = {f: True for f in entry.structure}
            value = vector(name, rows) if entry.kind == "vector" else \
                matrix(name, rows, cols, **flags)
        self.symbols[name] = value
        return value

    def finish(self, node: Tree, value: sp.Basic) -> sp.Basic:
        if id(node) in self.wrap and isinstance(value, MatrixExpr):
            value = ScalarOf(value)
        if node.data in ("mul", "div", "hadamard", "pow", "hpow", "add", "sub"):
            coeff = value if isinstance(value, sp.Rational) else (
                value.args[0] if value.args and isinstance(value.args[0], sp.Rational) else None)
            if coeff is not None and _bits(coeff) > _MAX_BITS:
                raise self.error(node, f"number too large in '{self.src(node)}'",
                                 f" (more than {_MAX_BITS} bits)")
        return value

    def build(self, node: Tree) -> sp.Basic:
        kind = node.data
        if kind in _SUM_OPS:
            return self.build_sum(node)
        if kind in _BINARY_OPS:
            first, links = _chain(node)
            value = self.build(first)
            for link in links:
                value = self.finish(link, self.binary(link, value, self.build(link.children[1])))
            return value
        if kind == "number":
            value = self.numbers[id(node)]
        elif kind == "var":
            value = self.symbol(str(node.children[0]))
        elif kind == "neg":
            value = -self.build(node.children[0])
        elif kind == "pos":
            value = self.build(node.children[0])
        elif kind == "attr":
            base = self.build(node.children[0])
            value = base.T if isinstance(base, MatrixExpr) else base
        else:
            value = self.call(node)
        return self.finish(node, value)

    def build_sum(self, node: Tree) -> sp.Basic:
        """A chain ``a + b - c + ...`` as one SymPy sum: adding term by term would rebuild
        the sum at every step (quadratic in its length)."""
        first, links = _chain(node)
        terms = [(1, self.build(first))]
        for link in links:
            left, right = link.children
            if id(left) in self.wrap:  # the sum so far is used as a scalar from here on
                terms = [(1, self.finish(left, _total(terms)))]
            terms.append((-1 if link.data == "sub" else 1, self.build(right)))
        return self.finish(node, _total(terms))

    def binary(self, node: Tree, left: sp.Basic, right: sp.Basic) -> sp.Basic:
        op = node.data
        if op == "add":
            return left + right
        if op == "sub":
            return left - right
        if op == "mul":
            return left * right
        if op == "div":
            if getattr(right, "is_zero", False):
                raise division_by_zero(self.text, node, node.children[1])
            return left / right
        if op == "hadamard":
            if id(node) not in self.hadamard:
                return left * right
            factors = [f for part in (left, right)
                       for f in (part.args if isinstance(part, sp.HadamardProduct) else (part,))]
            return sp.HadamardProduct(*factors)
        if op == "hpow" and id(node) in self.hadamard:
            return sp.HadamardPower(left, right)
        return self.power(node, left, right)

    def power(self, node: Tree, base: sp.Basic, exp: sp.Basic) -> sp.Basic:
        # SymPy evaluates numeric powers at once; refuse the ones that would be huge.
        if isinstance(exp, sp.Rational) and abs(exp) > 1:
            if base.is_number:
                bits = max((_bits(a) for a in base.atoms(sp.Rational)), default=0.0)
                if not isinstance(base, sp.Rational):
                    bits += 64
            else:  # only a numeric coefficient is raised at once: (2*lam)**3 = 8*lam**3
                coeff = base.as_coeff_Mul()[0]
                bits = _bits(coeff) if isinstance(coeff, sp.Rational) else 0.0
            if bits * abs(exp) > _MAX_BITS:
                raise self.error(node, f"number too large in '{self.src(node)}'",
                                 f" (more than {_MAX_BITS} bits)")
        if getattr(base, "is_zero", False) and getattr(exp, "is_negative", False):
            raise division_by_zero(self.text, node, node.children[0],
                                   "0 raised to a negative power")
        return real_number(self.text, node, base ** exp)

    def call(self, node: Tree) -> sp.Basic:
        token, *args = node.children
        name = str(token)
        arg = self.build(args[0])
        if name == "norm":
            if len(args) == 1:
                p: sp.Basic | str = sp.Integer(2)
            else:
                p = sp.oo if _is_oo(args[1]) else _matrix_order(args[1]) or \
                    self.build(args[1])
            try:
                return norm(arg, p)
            except (ShapeError, UnknownNormError) as err:
                raise type(err)(f"in '{self.src(node)}': {err}") from err
        if name == "max":
            return sp.Max(arg, *[self.build(a) for a in args[1:]])
        if name == "trace":
            return Trace(arg)
        if name in _BUILD:
            extra = [self.build(a) for a in args[1:]]
            try:
                return _BUILD[name](arg, *extra)
            except (ShapeError, ValueError) as err:
                raise type(err)(f"in '{self.src(node)}': {err}") from err
        if name == "sqrt":
            return real_number(self.text, node, sp.sqrt(arg))
        if name == "log":
            if getattr(arg, "is_zero", False):
                raise self.error(node, "log of 0",
                                 f" in '{self.src(node)}': '{self.src(args[0])}' is 0, and "
                                 f"log is finite for positive numbers only")
            return real_number(self.text, node, sp.log(arg))
        if isinstance(arg, MatrixExpr):
            return ELEMENTWISE_BY_NAME[name](arg)
        return _SCALAR_FUNCS[name](arg)

    def read(self, tree: Tree) -> sp.Basic:
        self.check_depth(tree)
        self.collect_orders(tree)
        self.shape_of(tree)
        unused = sorted(set(self.specs) - set(self.names))
        if unused and not _UNUSED_DECLARATIONS_OK.get():
            raise ShapeError(f"a shape is declared for {', '.join(map(repr, unused))}, which "
                             f"does not occur in '{self.text.strip()[:80]}'")
        self.resolved = self.naming()
        try:
            result = self.build(tree)
        except SympyShapeError as err:  # pass 1 should have caught it; keep symnorm's class
            raise ShapeError(f"in '{self.text.strip()}': {err}") from err
        if isinstance(result, MatrixExpr) and result.shape == (1, 1):
            result = ScalarOf(result)
        return result


def parse(text: str, **shapes: object) -> sp.Basic:
    """Read ``text`` in symnorm's expression language into a SymPy expression.

    The text is read by a real grammar and the SymPy objects are built node by node:
    nothing is handed to ``eval``, ``exec`` or ``sympify``, so any text is safe to read.
    Shapes are inferred from the names and checked while reading.

    Parameters
    ----------
    text : str
        The expression, e.g. ``"norm(A*x - b, 2)**2/2 + lam*norm(x, 1)"``; Unicode as
        typed in a notebook (``‖x‖₂``, ``λ``, ``ᵀ``, ``⊙``) reads as its ASCII spelling.
    **shapes : str, int, tuple or sympy symbol
        What a name stands for, overriding the naming convention (see Notes):
        ``'scalar'``, ``'vector'``, ``'matrix'``, an int ``k`` (a vector of length
        ``k``), a dimension name (a vector of that dimension), an ``(m, n)`` tuple of
        ints or names (a matrix), or a ready SymPy ``Symbol``/``MatrixSymbol`` used as
        is (to share a symbol declared with structure or a sign).

    Returns
    -------
    sympy.Basic
        A scalar expression (a 1x1 matrix used as a scalar, or as the result, is
        wrapped in :class:`~symnorm.ScalarOf`), or a vector or matrix expression.

    Raises
    ------
    ParseError
        For text outside the language (an unknown function, an unbalanced bracket, a
        division by zero, ``sqrt(-1)``), with ``position``, ``line`` and ``column`` and
        a caret under the place in the message.
    ShapeError
        For operands whose shapes do not fit (``x*y`` of two column vectors).
    UnknownNormError
        For a norm order without a rule.
    TypeError
        If ``text`` is not a ``str``.

    Notes
    -----
    Operators, loosest first: ``+ -``; ``*`` (scalar or matrix product), ``/`` (by a
    scalar), ``.*`` (elementwise); unary ``- +``; ``**``, ``^`` (scalar powers) and
    ``.^`` (elementwise); the postfix transpose ``.T``. Functions: ``norm(u, p)``,
    ``sqrt``, ``log``, ``exp``, ``abs``, ``sign``, ``sigmoid``, ``tanh``, ``relu``,
    ``softplus`` (elementwise on vectors), ``max(a, b, ...)``, ``trace``, ``sum``,
    ``mean``, ``var``, ``logsumexp``, ``softmax``, ``layer_norm(u, eps)``,
    ``rms_norm(u, eps)``, ``inv``, ``det``, ``logdet``; ``oo`` is infinity.

    Names: one capital letter or capital Greek name with optional digits (``A``,
    ``W1``, ``Sigma``) is a matrix; a Greek letter name (``lam``, ``alpha2``) or a name
    used as a norm order is a real scalar; any other name is a column vector.
    Dimensions are found by unification: the first vector's is ``n``, the others
    ``m``, ``k``, ... in order of appearance.

    Examples
    --------
    >>> import symnorm as sn
    >>> sn.parse("norm(A*x - b, 2)")
    norm(A*x - b, 2)
    >>> sn.parse("norm(A*x - b, 2)").arg.shape
    (m, 1)
    >>> sn.parse("x.T*M*x + lam*norm(x, 1)")
    lam*norm(x, 1) + x.T*M*x
    >>> A, x = sn.parse("A*x", x=3).args
    >>> A.shape, x.shape
    ((m, 3), (3, 1))
    >>> sn.parse("x .* y")
    HadamardProduct(x, y)
    >>> lam = sn.scalar("lam", positive=True)
    >>> sn.parse("λ*‖x‖₁", lam=lam) == lam*sn.norm(sn.vector("x"), 1)
    True
    >>> sn.parse("x*y")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    symnorm.ShapeError: shape mismatch in 'x*y': ... write x.T*y; for the ...
    >>> sn.parse("norm(x, 2) + foo(x)")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    symnorm.ParseError: unknown function 'foo' at line 1, column 14; known functions: ...
        norm(x, 2) + foo(x)
                     ^
    """
    if not isinstance(text, str):
        raise TypeError(f"parse() needs a str, got {type(text).__name__}")
    if not text.strip():
        raise _error(text, 0, "empty expression")
    tree = _syntax_tree(text)
    return _Reader(text, shapes).read(tree)
