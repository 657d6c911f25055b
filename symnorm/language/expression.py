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

import re
from itertools import chain, count

import sympy as sp
from sympy.matrices.exceptions import ShapeError as SympyShapeError
from sympy.matrices.expressions import MatrixExpr

from ..model.atoms import ELEMENTWISE_BY_NAME, ScalarOf, Trace, sigmoid_scalar
from ..model.errors import ParseError, ShapeError, UnknownNormError
from ..model.symbols import dim, matrix, scalar, vector
from ..rules import matrix_functions, vector_functions
from ..rules.constructors import norm
from .names import (
    _DIM_NAMES,
    _GREEK_RE,
    _UNUSED_DECLARATIONS_OK,
    INFINITY_NAMES,
    ORDER_NAMES,
    _Dims,
    _is_oo,
    _kind_by_convention,
    _matrix_order,
    _Name,
    _parse_spec,
    _Shape,
    _Spec,
)
from .numbers import (
    _MAX_BITS,
    _bits,
    _total,
    division_by_zero,
    read_number,
    real_number,
)
from .syntax import (
    _BINARY_OPS,
    _OP_TEXT,
    _SUM_OPS,
    Token,
    Tree,
    _chain,
    _error,
    _same_chain,
    _span,
    _subtrees,
    _syntax_tree,
)

__all__ = ["KNOWN_FUNCTIONS", "parse"]

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

# names of Sobolev spaces (H1, H2, W12): not norm orders; see symnorm.sobolev_norm
_SOBOLEV_RE = re.compile(r"[HW][0-9]+(?:_?[0-9p]+)?")

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

_MAX_DEPTH = 100          # nesting levels; long + and * chains do not count


class _Reader:
    """Pass 1 (``shape_of``) infers shapes by unification and checks them; pass 2
    (``build``) makes the SymPy objects once every dimension class has its final name."""

    def __init__(self, text: str, shapes: dict[str, object]) -> None:
        self.text = text
        self.specs = {name: _parse_spec(name, value) for name, value in shapes.items()}
        self.reserved: set[str] = set()
        for spec in self.specs.values():
            for d in spec.dims:
                self.reserved.update(s.name for s in getattr(d, "free_symbols", ()))
        self.dims = _Dims()
        self.names: dict[str, _Name] = {}
        self.order_names: set[str] = set()
        self.divisor_names: set[str] = set()   # names used only as divisors: scalars
        self.first_vector: int | None = None
        self.wrap: set[int] = set()          # ids of nodes whose 1x1 value is used as a scalar
        self.hadamard: set[int] = set()      # ids of .* / .^ nodes that are elementwise
        self.numbers: dict[int, sp.Rational] = {}
        self.resolved: dict[int, sp.Expr] = {}
        self.symbols: dict[str, sp.Basic] = {}

    # ---- helpers
    def src(self, node: Tree | Token) -> str:
        start, end = _span(node)
        return self.text[start:end]

    def operand(self, node: Tree) -> str:
        """Source text of an operand, parenthesised when it is compound."""
        text = self.src(node)
        simple = isinstance(node, Token) or node.data in ("var", "number", "call", "attr")
        return text if simple else f"({text})"

    def error(self, node: Tree | Token, what: str, detail: str = "") -> ParseError:
        return _error(self.text, _span(node)[0], what, detail)

    def naming(self) -> dict[int, sp.Expr]:
        """Dimension of every class root: fixed, or a name by order of first appearance."""
        dims = self.dims
        result: dict[int, sp.Expr] = {}
        used = set(self.reserved)
        pool: tuple[str, ...] = ("m", "n") + _DIM_NAMES[1:]
        if self.first_vector is not None:
            root = dims.find(self.first_vector)
            if root not in dims.fixed and "n" not in used:
                result[root] = dim("n")
                used.add("n")
                pool = _DIM_NAMES
        fresh = (n for n in chain(pool, (f"n{i}" for i in count(1))) if n not in used)
        for var in range(len(dims.parent)):
            root = dims.find(var)
            if root in result:
                continue
            result[root] = dims.fixed[root] if root in dims.fixed else dim(next(fresh))
        return result

    def describe(self, shape: _Shape) -> str:
        if shape is None:
            return "a scalar"
        names = self.naming()  # provisional names, so messages match the final ones
        rows, cols = (names[self.dims.find(v)] for v in shape)
        one_r, one_c = (self.dims.is_one(v) for v in shape)
        if one_r and one_c:
            return "a 1x1 matrix"
        kind = "column vector" if one_c else "row vector" if one_r else "matrix"
        return f"a {kind} of shape ({rows}, {cols})"

    def mismatch(self, node: Tree, ls: _Shape, rs: _Shape, reason: str) -> ShapeError:
        left, right = node.children
        return ShapeError(
            f"shape mismatch in '{self.src(node)}': '{self.src(left)}' is "
            f"{self.describe(ls)} but '{self.src(right)}' is {self.describe(rs)}; {reason}")

    def is_1x1(self, shape: _Shape) -> bool:
        return shape is not None and all(self.dims.is_one(v) for v in shape)

    def scalar_use(self, node: Tree, shape: _Shape, what: str) -> None:
        """Accept a scalar, or a 1x1 matrix that will be wrapped in ScalarOf. ``what`` names
        the fields ``{arg}`` and ``{shape}``; it is not a format string, as the source text
        already written into it may hold braces (LaTeX)."""
        if shape is None:
            return
        if self.is_1x1(shape):
            self.wrap.add(id(node))
            return
        raise ShapeError(what.replace("{arg}", self.src(node))
                         .replace("{shape}", self.describe(shape)))

    def entry(self, token: Token) -> _Name:
        name = str(token)
        if name in self.names:
            return self.names[name]
        spec = self.specs.get(name)
        if spec is None and name in self.reserved:
            # the name of a declared dimension (x=sn.vector("x") has n): that number
            spec = _Spec("scalar", (), dim(name))
        if spec is None:
            scalar_name = name in self.order_names or name in self.divisor_names
            kind = "scalar" if scalar_name else _kind_by_convention(name)
            spec = _Spec(kind, (None, None))
        dims = self.dims
        shape: _Shape
        if spec.kind == "scalar":
            shape = None
        elif spec.kind == "vector":
            shape = (dims.new(spec.dims[0]), dims.ONE)
            if self.first_vector is None:
                self.first_vector = shape[0]
        elif spec.structure:  # square
            side = dims.new(None)
            shape = (side, side)
        else:
            shape = (dims.new(spec.dims[0]), dims.new(spec.dims[1]))
        entry = self.names[name] = _Name(spec.kind, shape, spec.ready, spec.structure)
        return entry

    # ---- pass 1: shapes
    def check_depth(self, tree: Tree) -> None:
        stack: list[tuple[Tree, int]] = [(tree, 0)]
        while stack:
            node, depth = stack.pop()
            if depth > _MAX_DEPTH:
                raise self.error(node, f"expression nested too deeply (more than "
                                       f"{_MAX_DEPTH} levels)")
            for i, child in enumerate(node.children):
                if isinstance(child, Tree):
                    same = i == 0 and _same_chain(node, child)
                    stack.append((child, depth if same else depth + 1))

    def collect_orders(self, tree: Tree) -> None:
        """Names used as norm orders, or only in exponents, are scalars (``norm(x, 2)**p``)."""
        in_exponent: set[int] = set()
        divisors: set[int] = set()
        uses: dict[str, list[int]] = {}
        for node in _subtrees(tree):
            if node.data == "call" and node.children[0] == "norm" and len(node.children) == 3:
                order = node.children[2]
                if isinstance(order, Tree) and order.data == "var" and not _is_oo(order) \
                        and not _matrix_order(order):
                    name = str(order.children[0])
                    if name not in self.specs and _SOBOLEV_RE.fullmatch(name):
                        raise self.error(order, f"unknown norm order '{name}'",
                                         f": {name} names a Sobolev space, not a norm "
                                         f"order; use symnorm.sobolev_norm(u, k=..., h=...) "
                                         f"for a grid vector or symnorm.sobolev_norm(f, t, "
                                         f"(a, b), k=...) for a function (or, if {name} is "
                                         f"a parameter, declared scalar: {name}='scalar', "
                                         f"--shape {name}=scalar)")
                    if name not in self.specs and name not in ORDER_NAMES and \
                            not _GREEK_RE.fullmatch(name):
                        raise self.error(order, f"unknown norm order '{name}'",
                                         f"; an order is a number, oo (or inf), fro or nuc "
                                         f"(matrices), or a scalar: p, q, a Greek letter, or "
                                         f"a name declared scalar ({name}='scalar', "
                                         f"--shape {name}=scalar)")
                    self.order_names.add(name)
            elif node.data in ("pow", "hpow"):
                stack = [node.children[1]]
                while stack:  # bare names in the exponent's arithmetic
                    part = stack.pop()
                    if not isinstance(part, Tree):
                        continue
                    if part.data == "var":
                        in_exponent.add(id(part))
                    elif part.data in _BINARY_OPS or part.data in ("neg", "pos"):
                        stack.extend(part.children)
            elif node.data == "var":
                uses.setdefault(str(node.children[0]), []).append(id(node))
            if node.data == "div":
                right = node.children[1]
                if isinstance(right, Tree) and right.data == "var":
                    divisors.add(id(right))
        for name, ids in uses.items():  # a name used only in exponents is a scalar
            if name not in self.specs and _kind_by_convention(name) == "vector" and \
                    all(i in in_exponent for i in ids):
                self.order_names.add(name)
            # a dimension's name (n, m, k, ...) used only as a divisor (norm(x, 2)**2/n) is
            # a number: that dimension if one is called so, else a real scalar
            elif name not in self.specs and name in ("n", *_DIM_NAMES) and \
                    all(i in divisors for i in ids):
                self.divisor_names.add(name)

    def shape_of(self, node: Tree) -> _Shape:
        kind = node.data
        if kind in _BINARY_OPS:
            first, links = _chain(node)
            shape = self.shape_of(first)
            for link in links:
                shape = self.binary_shape(link, shape, self.shape_of(link.children[1]))
            return shape
        if kind == "number":
            self.numbers[id(node)] = self.number(node.children[0])
            return None
        if kind == "var":
            token = node.children[0]
            if token in INFINITY_NAMES and token not in self.specs:
                raise self.error(node, f"'{token}' (infinity) may only be a norm order",
                                 ", as in norm(x, oo)")
            if token in KNOWN_FUNCTIONS:
                raise self.error(node, f"'{token}' is a function",
                                 f"; call it as {token}(...)")
            return self.entry(token).shape
        if kind in ("neg", "pos"):
            return self.shape_of(node.children[0])
        if kind == "attr":
            base, attr = node.children
            shape = self.shape_of(base)
            if attr != ".T":
                raise self.error(attr, f"unknown attribute '{attr}'",
                                 "; only '.T' (transpose) is allowed")
            return None if shape is None else (shape[1], shape[0])
        if kind == "call":
            return self.call_shape(node)
        if kind == "string":
            raise self.error(node, f"a quoted word ({node.children[0]}) may only be a matrix "
                                   f"norm order", ", as in norm(X, 'fro') or norm(X, 'nuc')")
        raise self.error(node, f"unsupported construct '{kind}'")  # grammar and code disagree

    def binary_shape(self, node: Tree, ls: _Shape, rs: _Shape) -> _Shape:
        op = node.data
        left, right = node.children
        sym = _OP_TEXT[op]
        if op in ("add", "sub"):
            if ls is None or rs is None:
                other, other_node = (rs, right) if ls is None else (ls, left)
                if other is None or self.is_1x1(other):
                    if other is not None:
                        self.wrap.add(id(other_node))
                    return None
                raise self.mismatch(node, ls, rs, f"'{sym}' needs equal shapes (a scalar is "
                                                  f"not broadcast)")
            if not self.dims.unify([(ls[0], rs[0]), (ls[1], rs[1])]):
                raise self.mismatch(node, ls, rs, f"'{sym}' needs equal shapes")
            return ls
        if op in ("mul", "hadamard"):
            if ls is None or rs is None:
                return rs if ls is None else ls
            l1, r1 = self.is_1x1(ls), self.is_1x1(rs)
            fits = self.dims.find(ls[1]) == self.dims.find(rs[0])
            if l1 != r1 and (op == "hadamard" or not fits):
                # a 1x1 factor next to a bigger matrix is a coefficient
                self.wrap.add(id(left if l1 else right))
                return rs if l1 else ls
            if op == "hadamard":
                if not self.dims.unify([(ls[0], rs[0]), (ls[1], rs[1])]):
                    raise self.mismatch(node, ls, rs, "'.*' needs equal shapes")
                self.hadamard.add(id(node))
                return ls
            if not self.dims.unify([(ls[1], rs[0])]):
                names = self.naming()
                reason = (f"'*' is the matrix product: the columns of '{self.src(left)}' "
                          f"({names[self.dims.find(ls[1])]}) must match the rows of "
                          f"'{self.src(right)}' ({names[self.dims.find(rs[0])]})")
                if self.dims.is_one(ls[1]) and self.dims.is_one(rs[1]):
                    a, b = self.operand(left), self.operand(right)
                    reason += (f". For the inner product write {a}.T*{b}; for the "
                               f"elementwise product write {a} .* {b}")
                raise self.mismatch(node, ls, rs, reason)
            return (ls[0], rs[1])
        if op == "div":
            self.scalar_use(right, rs, f"cannot divide by '{{arg}}' in '{self.src(node)}': "
                                       f"it is {{shape}}, and '/' divides by a scalar only")
            return ls
        if op == "pow":
            hint = ""
            if ls is not None and (rs is None or self.is_1x1(rs)):
                hint = (f"; for the elementwise power write "
                        f"{self.operand(left)} .^ {self.operand(right)}")
            for part, shape in ((left, ls), (right, rs)):
                self.scalar_use(part, shape, f"'**' raises a scalar to a scalar power, but "
                                             f"'{{arg}}' in '{self.src(node)}' is {{shape}}"
                                             + hint)
            return None
        # hpow
        self.scalar_use(right, rs, f"the exponent '{{arg}}' of '{self.src(node)}' must be a "
                                   f"scalar, but it is {{shape}}")
        if ls is None:
            return None
        self.hadamard.add(id(node))
        return ls

    def call_shape(self, node: Tree) -> _Shape:
        token, *args = node.children
        name = str(token)
        if name not in KNOWN_FUNCTIONS:
            raise self.error(token, f"unknown function '{name}'",
                             f"; known functions: {', '.join(KNOWN_FUNCTIONS)}")
        low, high, usage = _ARITY[name]
        if not low <= len(args) <= high:
            raise self.error(token, f"wrong number of arguments to '{name}'",
                             f": expected {usage}, got {len(args)}")
        shape = self.shape_of(args[0])
        call = self.src(node)
        if name == "norm":
            if shape is None:
                raise ShapeError(f"norm() takes a vector expression, but '{self.src(args[0])}'"
                                 f" in '{call}' is a scalar")
            if len(args) == 2 and _matrix_order(args[1]):
                if self.dims.is_one(shape[0]) or self.dims.is_one(shape[1]):
                    raise UnknownNormError(
                        f"in '{call}': {_matrix_order(args[1])} is a matrix norm order, but "
                        f"'{self.src(args[0])}' is {self.describe(shape)}; for vectors use "
                        f"1, 2, oo or p")
            elif len(args) == 2 and not _is_oo(args[1]):
                order_shape = self.shape_of(args[1])
                if order_shape is not None:  # also a 1x1 form: an order that moves with x
                    raise ShapeError(f"the order '{self.src(args[1])}' of '{call}' must be a "
                                     f"scalar (a number or a parameter), but it is "
                                     f"{self.describe(order_shape)}")
            return None
        if name == "trace":
            if shape is None or not self.dims.unify([(shape[0], shape[1])]):
                raise ShapeError(f"trace() takes a square matrix, but '{self.src(args[0])}' "
                                 f"in '{call}' is {self.describe(shape)}")
            return None
        if name in _ENTRIES or name in _OF_VECTOR or name in _OF_SQUARE:
            return self.function_shape(name, args, shape, call)
        if name in ("sqrt", "log"):
            self.scalar_use(args[0], shape, f"{name}() takes a scalar, but '{{arg}}' in "
                                            f"'{call}' is {{shape}}")
            return None
        if name == "max":  # pointwise max of scalars (elementwise max is not in the language)
            for a in args:
                self.scalar_use(a, self.shape_of(a), f"max() takes scalars, but '{{arg}}' in "
                                                     f"'{call}' is {{shape}}")
            return None
        if shape is None or self.is_1x1(shape):
            self.scalar_use(args[0], shape, "")
            return None
        return shape

    def function_shape(self, name: str, args: list, shape: _Shape, call: str) -> _Shape:
        """Shapes of the functions of a whole vector or matrix (``sum``, ``softmax``,
        ``inv``, ...): a square matrix is made square by unification."""
        arg = self.src(args[0])
        if name in _OF_SQUARE:
            if shape is None or self.is_1x1(shape) and not self.dims.is_one(shape[0]) or \
                    not self.dims.unify([(shape[0], shape[1])]):
                raise ShapeError(f"{name}() takes a square matrix, but '{arg}' in '{call}' is "
                                 f"{self.describe(shape)}")
            return shape if name == "inv" else None
        if shape is None:
            what = "a vector or matrix" if name in _ENTRIES else "a column vector"
            raise ShapeError(f"{name}() takes {what}, but '{arg}' in '{call}' is a scalar")
        if name in _ENTRIES:
            return None
        if not self.dims.is_one(shape[1]):
            hint = (f"; write {name}(({arg}).T)" if self.dims.is_one(shape[0]) else
                    "; diag(u) makes the diagonal matrix of a vector (the diagonal of a "
                    "matrix is not in the language)" if name == "diag" else
                    "; a batch of vectors is the leading axes of a kernel's argument")
            raise ShapeError(f"{name}() takes a column vector, but '{arg}' in '{call}' is "
                             f"{self.describe(shape)}{hint}")
        if len(args) == 2:
            self.scalar_use(args[1], self.shape_of(args[1]),
                            f"the eps of {name}() must be a scalar, but '{{arg}}' in "
                            f"'{call}' is {{shape}}")
        if name == "diag":
            return (shape[0], shape[0])
        return None if name == "logsumexp" else shape

    def number(self, token: Token) -> sp.Rational:
        return read_number(self.text, token)

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
