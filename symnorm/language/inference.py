"""Pass 1 of the expression reader: the shape of every node, found by unification of
dimension classes and checked, before any SymPy object is made.

A name's shape comes from its declaration or the naming convention (:mod:`.names`); a
product, a sum, a call each unify or refuse with a message that quotes the text. What
pass 2 (:mod:`.expression`) needs is left on the reader: the final dimension names, which
1x1 nodes are used as scalars, which ``.*`` nodes are elementwise, the numbers read.
"""

from __future__ import annotations

import re
from itertools import chain, count

import sympy as sp

from ..model.errors import ParseError, ShapeError, UnknownNormError
from ..model.symbols import dim
from .functions import _ARITY, _ENTRIES, _OF_SQUARE, _OF_VECTOR, KNOWN_FUNCTIONS
from .names import (
    _DIM_NAMES,
    _GREEK_RE,
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
from .numbers import read_number
from .syntax import (
    _BINARY_OPS,
    _OP_TEXT,
    Token,
    Tree,
    _chain,
    _error,
    _same_chain,
    _span,
    _subtrees,
)

__all__ = ["ShapeInference"]

# names of Sobolev spaces (H1, H2, W12): not norm orders; see symnorm.sobolev_norm
_SOBOLEV_RE = re.compile(r"[HW][0-9]+(?:_?[0-9p]+)?")

_MAX_DEPTH = 100          # nesting levels; long + and * chains do not count


class ShapeInference:
    """Pass 1 (``shape_of``): infers the shape of every node by unification and checks
    it; the reader of :mod:`.expression` adds pass 2 (``build``)."""

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
