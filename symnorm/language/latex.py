r"""A safe reader of hand-written LaTeX about norms: text in, symnorm expression out.

The text is split into tokens by a small lexer that knows LaTeX's commands (which
``|`` opens and which closes, ``\left``/``\right``, ``\operatorname{sign}``, digits of
``x^23``), then read by the lark grammar ``latex.lark``. Its trees are the expression
language's trees
(:mod:`symnorm.language.expression`), so shapes are inferred and checked by the same
code, and the SymPy objects are built node by node: nothing is ever handed to ``eval``,
``sympify`` or SymPy's own ``parse_latex``.

What is read:

* numbers, ``+ - \cdot \times *``, ``\frac``, ``\sqrt``, ``^``, implicit multiplication
  (``2x``, ``A x``, ``(y - t) y (1 - y)``); matrices never commute;
* norms ``\|u\|``, ``\lVert u \rVert``, ``\left\| u \right\|`` with ``_2``, ``_1``,
  ``_\infty``, ``_p``, ``_F``, ``_*`` (``\|u\|`` alone is the 2-norm), ``\|u\|_2^2`` and
  ``\|u\|^2_2``; absolute values ``|a|``, ``\lvert a \rvert`` (elementwise on vectors);
* ``\operatorname{sign}``, ``\mathrm{sign}``, ``\text{sign}``, ``\sigma(\dots)`` (the
  logistic sigmoid), ``\exp``, ``\log``, ``\ln``, ``\tanh``, ``e^{\dots}``,
  ``\operatorname{ReLU}``, ``\operatorname{softplus}``;
* the functions of a whole vector or matrix, by name (``\operatorname{softmax}``,
  ``logsumexp``, ``LSE``, ``sum``, ``mean``, ``var``, ``LayerNorm``, ``layer\_norm``,
  ``RMSNorm``, ``inv``, ``det``, ``logdet``, ``tr``, ``trace``, ``diag``; ``\det``,
  ``\tr``, ``\diag``) and in the notations of
  :mod:`~symnorm.language.latex_functions` (``M^{-1}``, ``M^{-\top}``, ``\log\det M``,
  ``\sum_i x_i``, ``\mathbf{1}^\top x``, ``\log\sum_i e^{x_i}``);
* transposes ``x^\top``, ``x^T``, ``x^{\mathsf T}``, ``x^\intercal``; ``\odot`` and ``\circ``
  (elementwise product), ``u^{\circ p}`` (elementwise power);
* components ``x_1``, ``x_{12}``, ``A_{12}``, ``A_{i,j}`` (1-based, as people write them)
  and ``\sum_{i=1}^{n}`` over indexed components ``x_i``;
* Greek letters as scalars (``\lambda``, ``\mu``, ``\eta``; capitals such as ``\Sigma``
  are matrices), bold or plain vector names (``\mathbf{x}``, ``\boldsymbol x``, ``\vec x``),
  ``I`` the identity, ``\mathbf{1}`` the vector of ones (``1 - y`` of a vector ``y`` is
  ``\mathbf{1} - y``), ``e`` Euler's number, ``\pi``.

Unicode as typed in a notebook is read as the LaTeX it stands for: ``‖x‖₂``, ``‖x‖_∞``,
``λ`` and the other Greek letters, ``x₁`` (``x_1``), ``x²`` (``x^{2}``: a run of
superscripts is one exponent), ``ᵀ`` and ``⊤``, ``⊙``, ``∘``, ``·``, ``×``, ``−``, ``∑``.

Names follow the expression language: one capital letter is a matrix, Greek letters are
scalars, other letters are column vectors; ``shapes`` overrides (``y="scalar"``).
"""

from __future__ import annotations

import re
from typing import Any

import sympy as sp
from lark import Token, Tree
from lark.exceptions import LarkError
from sympy.matrices.exceptions import ShapeError as SympyShapeError
from sympy.matrices.expressions import MatrixExpr

from ..model.atoms import ScalarOf
from ..model.errors import ParseError, ShapeError, UnknownNormError, UnsupportedExpressionError
from ..model.symbols import dim
from ..rules.constructors import norm
from .latex_functions import FunctionReader, index_sum
from .latex_lexer import _GREEK, KNOWN_COMMANDS, _from_lark, _Lexer, _parser
from .names import _DIM_NAMES, _Shape
from .syntax import Token as ReaderToken
from .syntax import Tree as ReaderTree
from .syntax import _error

__all__ = ["KNOWN_COMMANDS", "parse_latex", "parse_latex_indexed", "split_lines", "strip_math"]

# ----------------------------------------------------------------------------- trees

# The expression language's reader walks its own node classes (it reads text without
# lark); the LaTeX trees are handed to it in those classes.


def _span_of(node: Any) -> tuple[int, int]:
    if isinstance(node, (Token, ReaderToken)):
        return node.start_pos or 0, node.end_pos or 0
    meta = node.meta
    return getattr(meta, "start_pos", 0) or 0, getattr(meta, "end_pos", 0) or 0


def _token(kind: str, value: str, start: int, end: int) -> Any:
    return ReaderToken(kind, value, start, end)


def _name_token(name: str, node: Any) -> Any:
    start, end = _span_of(node)
    return _token("NAME", name, start, end)


def _for_reader(tree: Tree) -> Any:
    """The lark tree in the expression-language reader's node classes (no recursion)."""
    def leaf(c: Any) -> Any:
        if isinstance(c, Token):
            return ReaderToken(c.type, str(c), c.start_pos or 0, c.end_pos or 0)
        return c

    root = ReaderTree(tree.data, list(tree.children), *_span_of(tree))
    stack = [root]
    while stack:
        node = stack.pop()
        kids = []
        for c in node.children:
            if isinstance(c, Tree):
                c = ReaderTree(c.data, list(c.children), *_span_of(c))
                stack.append(c)
            kids.append(leaf(c))
        node.children = kids
    return root


def _walk(tree: Any) -> Any:
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(c for c in node.children if hasattr(c, "children"))


_ELEMENTWISE_CALLS = frozenset({"abs", "sign", "exp", "sigmoid", "relu", "softplus"})


def _normalise(tree: Tree, declared: set[str]) -> None:
    """Rewrite LaTeX-only nodes into the expression language's ``call`` and ``var``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        kind = node.data
        if kind in ("sqrt", "abs"):
            node.data, node.children = "call", [_name_token(kind, node), *node.children]
        elif kind == "func":
            func, *args = node.children
            inner = args[0]
            if str(func) == "log" and len(args) == 1 and isinstance(inner, Tree) \
                    and inner.data == "func" and str(inner.children[0]) == "det" \
                    and len(inner.children) == 2:  # \log\det M
                node.data, node.children = "call", [_name_token("logdet", node),
                                                    inner.children[1]]
            elif str(func) != "tanh" or len(args) > 1:
                node.data, node.children = "call", [_name_token(str(func), func), *args]
        elif kind == "pow":
            base = node.children[0]
            if isinstance(base, Tree) and base.data == "var" and base.children[0] == "e" \
                    and "e" not in declared:
                node.data, node.children = "call", [_name_token("exp", base),
                                                    node.children[1]]
            elif isinstance(base, Tree) and base.data in ("call", "abs", "func") and (
                    str(base.children[0]) in _ELEMENTWISE_CALLS or base.data == "abs"):
                node.data = "hpow"  # |u|^p of a vector is elementwise; of a scalar a power
        elif kind == "norm":
            _normalise_norm(node)
        elif kind == "greek_sub":
            greek, index = node.children
            suffix = "".join(str(t) for t in index.children)
            node.data = "var"
            node.children = [_name_token(f"{greek}_{suffix}", greek)]
        stack.extend(c for c in node.children if isinstance(c, Tree))


def _normalise_norm(node: Tree) -> None:
    arg, *order = node.children
    name = _name_token("norm", node)
    if not order:
        node.data, node.children = "call", [name, arg]
        return
    p = order[0]
    if p.data == "infty":
        p = Tree("var", [Token("NAME", "oo", p.meta.start_pos, end_pos=p.meta.end_pos)], p.meta)
    if p.data == "pair":  # \|X\|_{2,1}: a mixed matrix norm
        node.data, node.children = "matnorm", [arg, p]
        return
    if p.data == "nuclear" or (p.data == "var" and p.children[0] == "F"):
        node.data, node.children = "matnorm", [arg, "nuc" if p.data == "nuclear" else "fro"]
        return
    node.data, node.children = "call", [name, arg, p]


class _LatexReader(FunctionReader):
    """The expression language's reader, plus components, sums, identity and constants
    (and, from :class:`~symnorm.language.latex_functions.FunctionReader`, the notations of
    the functions of a whole vector or matrix)."""

    def __init__(self, text: str, shapes: dict[str, object]) -> None:
        super().__init__(text, shapes)
        self.bound: dict[str, sp.Symbol] = {}       # \sum indices in scope
        self.components: dict[int, tuple[str, list]] = {}
        self.identity: dict[int, int] = {}          # node id -> dimension variable
        self.sums: dict[int, tuple[str, object, object, list]] = {}
        self.indexed: dict[str, list[str]] = {}     # sum index -> names indexed by it
        self.index_dims: dict[str, int] = {}        # sum index -> its dimension variable

    def collect_orders(self, tree: Tree) -> None:
        r"""Letters in an exponent (``|x|^{p-1}``) are scalars, as norm orders are; a
        dimension's name used only as a divisor and as the upper limit of sums
        (``\frac{1}{n}\sum_{i=1}^n x_i``) is that dimension."""
        super().collect_orders(tree)
        divisors: set[int] = set()
        uses: dict[str, list[int]] = {}
        for node in _walk(tree):
            if node.data in ("pow", "hpow") and hasattr(node.children[-1], "children"):
                for sub in _walk(node.children[-1]):
                    if sub.data == "var":
                        self.order_names.add(str(sub.children[0]))
            elif node.data == "div" and getattr(node.children[1], "data", None) == "var":
                divisors.add(id(node.children[1]))
            elif node.data == "var":
                uses.setdefault(str(node.children[0]), []).append(id(node))
        limits = {id(node.children[0].children[2]) for node in _walk(tree)
                  if node.data == "lsum" and len(node.children[0].children) == 3}
        for name, ids in uses.items():
            if name not in self.specs and name in ("n", *_DIM_NAMES) and \
                    any(i in divisors for i in ids) and \
                    all(i in divisors or i in limits for i in ids):
                self.divisor_names.add(name)

    def shape_of(self, node: Tree) -> _Shape:
        kind = node.data
        if kind == "var":
            name = str(node.children[0])
            if name not in self.specs and name not in self.names:
                if name == "I":
                    var = self.dims.new()
                    self.identity[id(node)] = var
                    return (var, var)
                if name in ("e", "pi"):
                    return None
            if name in self.bound:
                raise self.error(node, f"the summation index '{name}' is used on its own",
                                 f"; it may only index components, as x_{name}")
            return super().shape_of(node)
        if kind == "ones":  # \mathbf{1}: a column of ones, its length from the context
            var = self.dims.new()
            self.identity[id(node)] = var
            return (var, self.dims.ONE)
        if kind == "infty":
            raise self.error(node, "'\\infty' may only be a norm order", ", as in \\|x\\|_\\infty")
        if kind == "component":
            return self.component_shape(node)
        if kind == "lsum":
            return self.sum_shape(node)
        if kind == "func":  # tanh: scalars only
            shape = self.shape_of(node.children[1])
            self.scalar_use(node.children[1], shape,
                            "\\tanh takes a scalar, but '{arg}' is {shape}; the elementwise "
                            "maps of vectors are sigmoid, exp, sign and |.|")
            return None
        if kind == "matnorm":
            shape = self.shape_of(node.children[0])
            order = node.children[1]
            if not isinstance(order, str):
                for part in order.children:
                    if part.data == "infty":
                        continue
                    self.scalar_use(part, self.shape_of(part),
                                    "the order '{arg}' of a matrix norm is {shape}")
            if shape is None:
                raise ShapeError(f"a matrix norm takes a matrix, but "
                                 f"'{self.src(node.children[0])}' in '{self.src(node)}' "
                                 "is a scalar")
            return None
        return super().shape_of(node)

    def binary_shape(self, node: Tree, ls: _Shape, rs: _Shape) -> _Shape:
        """``1 - y`` with a vector ``y`` is the vector of ones minus ``y``, as written by hand
        (and as SymPy prints the ones vector)."""
        if node.data in ("add", "sub") and (ls is None) != (rs is None):
            one, other = (node.children[0], rs) if ls is None else (node.children[1], ls)
            if getattr(one, "data", None) == "number" and self.numbers.get(id(one)) == 1 \
                    and other is not None and not self.is_1x1(other) \
                    and self.dims.is_one(other[1]):
                one.data = "ones"
                self.identity[id(one)] = other[0]
                return other
        return super().binary_shape(node, ls, rs)

    def index_values(self, node: Tree, index: Tree) -> list:
        values: list = []
        for tok in index.children:
            if tok.type == "NUMBER":
                if not tok.isdigit() or int(tok) < 1:
                    raise self.error(tok, f"component index '{tok}' must be a positive "
                                          "integer", " (components are numbered from 1)")
                values.append(int(tok))
            elif str(tok) in self.bound:
                values.append(str(tok))
            else:
                raise self.error(tok, f"index '{tok}' is not bound by a \\sum",
                                 f"; for one component write a number, as "
                                 f"{node.children[0]}_1")
        return values

    def component_shape(self, node: Tree) -> _Shape:
        letter, index = node.children
        suffix = "".join(str(t) for t in index.children)
        for candidate in (f"{letter}_{suffix}", f"{letter}{suffix}"):
            if candidate in self.specs:  # a name of its own, e.g. W_1 declared by the caller
                node.data, node.children = "var", [_name_token(candidate, letter)]
                return self.shape_of(node)
        entry = self.entry(letter)
        if entry.shape is None:
            raise self.error(node, f"'{letter}' is a scalar, so '{self.src(node)}' cannot be "
                                   "a component", f"; declare it, e.g. {letter}='vector'")
        values = self.index_values(node, index)
        rows, cols = entry.shape
        vector = self.dims.is_one(cols)
        if not vector and len(values) == 1 and isinstance(values[0], int) \
                and len(str(values[0])) == 2:
            values = [int(str(values[0])[0]), int(str(values[0])[1])]  # A_{12}
        wanted = 1 if vector else 2
        if len(values) != wanted:
            raise self.error(node, f"'{self.src(node)}' has {len(values)} index(es) but "
                                   f"'{letter}' is a {'vector' if vector else 'matrix'}",
                             f" and needs {wanted}")
        for v, var in zip(values, (rows, cols)):
            if isinstance(v, str):  # one index runs over one range: x_i y_i have one length
                if v in self.index_dims and not self.dims.unify([(self.index_dims[v], var)]):
                    raise ShapeError(f"in '{self.src(node)}': the index '{v}' runs over "
                                     f"components of different lengths")
                self.index_dims.setdefault(v, var)
                self.indexed.setdefault(v, []).append(str(letter))
        self.components[id(node)] = (str(letter), values)
        return None

    def sum_shape(self, node: Tree) -> _Shape:
        srange, body = node.children
        parts = srange.children
        index = str(parts[0])
        if index in self.bound:
            raise self.error(parts[0], f"summation index '{index}' is already in use")
        lower = upper = None
        if len(parts) == 3:
            lower, upper = parts[1], parts[2]
            if self.shape_of(lower) is not None:
                raise self.error(lower, "the lower limit of a \\sum must be a scalar")
            if not (upper.data == "number" or upper.data == "var"):
                raise self.error(upper, "the upper limit of a \\sum must be a number or "
                                        "a dimension name such as n")
            if upper.data == "number":
                self.shape_of(upper)
        self.bound[index] = sp.Symbol(index, integer=True)
        try:
            shape = self.shape_of(body)
        finally:
            del self.bound[index]
        self.scalar_use(body, shape, "the terms of a \\sum must be scalars, but '{arg}' is "
                                     "{shape}")
        if upper is None and not self.indexed.get(index):
            raise self.error(node, f"cannot tell how far '\\sum_{index}' runs",
                             f"; write \\sum_{{{index}=1}}^{{n}} or index a vector by {index}")
        self.sums[id(node)] = (index, lower, upper, list(self.indexed.get(index, [])))
        return None

    # ---- pass 2
    def build(self, node: Tree) -> sp.Basic:
        kind = node.data
        if kind == "ones":
            return sp.OneMatrix(self.resolved[self.dims.find(self.identity[id(node)])], 1)
        if kind == "var" and id(node) in self.identity:
            return sp.Identity(self.resolved[self.dims.find(self.identity[id(node)])])
        if kind == "var" and str(node.children[0]) in ("e", "pi") \
                and str(node.children[0]) not in self.names:
            return sp.E if node.children[0] == "e" else sp.pi
        if kind == "component":
            name, values = self.components[id(node)]
            base = self.symbol(name)
            idx = [sp.Integer(v - 1) if isinstance(v, int) else self.bound[v] - 1
                   for v in values]
            if len(idx) == 1:
                idx.append(sp.Integer(0))
            return base[idx[0], idx[1]]
        if kind == "lsum":
            return self.build_index_sum(node)
        if kind == "func":
            return self.finish(node, sp.tanh(self.build(node.children[1])))
        if kind == "matnorm":
            arg = self.build(node.children[0])
            order = node.children[1]
            p: Any = order if isinstance(order, str) else tuple(
                sp.oo if part.data == "infty" else self.build(part) for part in order.children)
            try:
                return norm(arg, p)
            except (ShapeError, UnknownNormError) as err:
                raise type(err)(f"in '{self.src(node)}': {err}") from err
        return super().build(node)

    def build_index_sum(self, node: Tree) -> sp.Basic:
        index, lower, upper, indexed = self.sums[id(node)]
        i = sp.Symbol(index, integer=True)
        self.bound[index] = i
        try:
            body = self.build(node.children[1])
        finally:
            del self.bound[index]
        if isinstance(body, MatrixExpr):
            body = ScalarOf(body)
        lo = sp.Integer(1) if lower is None else self.build(lower)
        if upper is None:
            hi = self.symbol(indexed[0]).shape[0]
        elif upper.data == "number":
            hi = self.build(upper)
        else:
            name = str(upper.children[0])
            hi = next((d for spec in self.specs.values() for d in spec.dims
                       if isinstance(d, sp.Symbol) and d.name == name), None) or dim(name)
        return index_sum(sp.Sum(body, (i, lo, hi)))

    def read(self, tree: Tree) -> sp.Basic:
        try:
            return super().read(tree)
        except SympyShapeError as err:
            raise ShapeError(f"in '{self.text.strip()}': {err}") from err


def _strip_math(text: str) -> str:
    r"""Blank out surrounding ``$...$``, ``\(...\)``, ``\[...\]`` (positions are kept)."""
    stripped = text.strip()
    for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if stripped.startswith(left) and stripped.endswith(right) and \
                len(stripped) >= len(left) + len(right):
            start = text.index(left)
            end = text.rindex(right)
            return (text[:start] + " " * len(left) + text[start + len(left):end]
                    + " " * len(right) + text[end + len(right):])
    return text


def parse_latex(text: str, **shapes: object) -> sp.Basic:
    r"""Read hand-written LaTeX into a symnorm expression.

    The LaTeX people write in papers and notebooks is read by a lexer and a grammar,
    and the SymPy objects are built node by node: nothing is handed to ``eval``,
    ``sympify`` or SymPy's own ``parse_latex``. Shapes are inferred and checked as in
    :func:`symnorm.parse`.

    Parameters
    ----------
    text : str
        The LaTeX, with or without ``$...$`` or ``\[...\]`` around it; Unicode as typed
        in a notebook (``‖x‖₂``, ``λ``, ``x₁``, ``ᵀ``, ``⊙``) reads as the LaTeX it stands
        for.
    **shapes : str, int, tuple or sympy symbol
        What a name stands for, as in :func:`symnorm.parse`: ``'scalar'``, ``'vector'``,
        ``'matrix'``, a length, an ``(m, n)`` tuple, or a ready symbol.

    Returns
    -------
    sympy.Basic
        The expression, as :func:`symnorm.parse` would build it from the same
        mathematics in the expression language.

    Raises
    ------
    ParseError
        For LaTeX it cannot read (an unknown command, an unbalanced brace or norm bar),
        with ``position``, ``line`` and ``column`` and a caret under the place in the
        message.
    ShapeError
        For operands whose shapes do not fit.
    UnknownNormError
        For a norm order without a rule.
    TypeError
        If ``text`` is not a ``str``.

    Notes
    -----
    What is read: numbers, ``+ - \cdot \times *``, ``\frac``, ``\sqrt``, ``^``, implicit
    multiplication (``2x``, ``A x``; matrices never commute); norms ``\|u\|``,
    ``\lVert u \rVert``, ``\left\| u \right\|`` with ``_2``, ``_1``, ``_\infty``, ``_p``,
    ``_F``, ``_*`` (alone, the 2-norm) and powers ``\|u\|_2^2``; absolute values
    ``|a|`` (elementwise on vectors); ``\operatorname{sign}``, ``\sigma(\dots)`` (the
    logistic sigmoid), ``\exp``, ``\log``, ``\ln``, ``\tanh``; transposes ``x^\top``,
    ``x^T``, ``x^\intercal``; ``\odot`` and ``\circ`` (elementwise product); components
    ``x_1``, ``A_{i,j}`` (1-based) and ``\sum_{i=1}^{n}`` over them; Greek letters as
    scalars (capitals such as ``\Sigma`` are matrices), bold or plain vector names,
    ``I`` the identity and ``\mathbf{1}`` the vector of ones.

    Names follow the expression language: one capital letter is a matrix, Greek
    letters are scalars, other letters are column vectors.

    Examples
    --------
    >>> import symnorm as sn
    >>> sn.parse_latex(r"\frac{1}{2}\|Ax - b\|_2^2")
    norm(A*x - b, 2)**2/2
    >>> sn.parse_latex(r"2A^\top(Ax - b)")
    2*A.T*(A*x - b)
    >>> sn.parse_latex(r"\operatorname{sign}(x) + \lambda x")
    lam*x + sign(x)
    >>> sn.parse_latex(r"\sigma(Wx) \odot (1 - \sigma(Wx))")
    HadamardProduct(sigmoid(W*x), 1 - sigmoid(W*x))
    >>> sn.parse_latex("‖x‖₂²")
    norm(x, 2)**2
    >>> sn.parse_latex(r"\sum_{i=1}^{n} x_i^2")
    Sum(x[i - 1, 0]**2, (i, 1, n))
    >>> sn.parse_latex(r"y^2", y="scalar")
    y**2
    >>> sn.parse_latex(r"\lVert x \rVert_\infty + \foo")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    symnorm.ParseError: unknown command '\foo' at line 1, column 26; known commands: ...
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_latex() needs a str, got {type(text).__name__}")
    return _read_latex(text, shapes, {})


def _read_latex(text: str, shapes: dict[str, object], indices: dict[str, sp.Symbol]
                ) -> sp.Basic:
    text = _strip_math(text)
    if not text.strip():
        raise _error(text, 0, "empty expression")
    lexer = _Lexer(text)
    tokens = lexer.run()
    shapes = dict(shapes)
    for name in lexer.names:  # capital Greek letters are matrices unless declared
        if name[0].isupper() and name in _GREEK.values() and name not in shapes:
            shapes[name] = "matrix"
    try:
        tree = _parser().parse(tokens)  # type: ignore[arg-type]
    except LarkError as err:
        raise _from_lark(text, err) from None
    if isinstance(tree, Token):
        token = tree
        tree = Tree("number" if token.type == "NUMBER" else "var", [token])
        tree.meta.start_pos, tree.meta.end_pos = token.start_pos, token.end_pos
    _normalise(tree, set(shapes))
    try:
        reader = _LatexReader(text, shapes)
        reader.bound.update(indices)
        return reader.read(_for_reader(tree))
    except (TypeError, ValueError, AttributeError, IndexError, KeyError) as err:
        if isinstance(err, (ParseError, ShapeError, UnknownNormError)):
            raise
        raise UnsupportedExpressionError(f"cannot build '{text.strip()}': {err}") from err


def parse_latex_indexed(text: str, indices: dict[str, sp.Symbol], **shapes: object
                        ) -> sp.Basic:
    r"""As :func:`parse_latex`, with free indices: ``x_i`` with ``i`` in ``indices`` is the
    component ``x[i - 1, 0]`` (a claim made for every ``i``), as inside ``\sum_i``.

    >>> import sympy as sp
    >>> i = sp.Symbol("i", integer=True)
    >>> parse_latex_indexed(r"\frac{x_i}{\|x\|_2}", {"i": i})
    x[i - 1, 0]/norm(x, 2)
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_latex() needs a str, got {type(text).__name__}")
    return _read_latex(text, shapes, dict(indices))


strip_math = _strip_math


_ENVIRONMENTS = re.compile(r"\\(begin|end)\{(aligned|align\*?|split|gathered|equation\*?)\}")


def split_lines(text: str) -> list[tuple[str, int]]:
    r"""The claims of a derivation written as a chain of equalities, with their line.

    ``LHS &= e_1 \\ &= e_2`` (an ``aligned`` block or plain text) gives ``[(e_1, 1),
    (e_2, 2)]``: the left-hand side before the first ``=`` (``\nabla f``, a name) is the
    thing being derived and is dropped, and so is any piece that still holds an
    unevaluated derivative (``\partial``, ``\nabla``: it restates the question); every
    other expression after an ``=`` is a claim.

    >>> split_lines(r"\nabla f &= 2x \\ &= x + x")
    [('2x', 1), ('x + x', 2)]
    >>> split_lines(r"\frac{\partial f}{\partial x_1} = \frac{\partial}{\partial x_1} x_1^2 = 2x_1")
    [('2x_1', 1)]
    """
    body = _ENVIRONMENTS.sub(" ", _strip_math(text))
    claims: list[tuple[str, int]] = []
    rows = [r for r in re.split(r"\\\\", body) if r.strip()]
    for number, row in enumerate(rows, start=1):
        pieces = _split_top_level(row.replace("&", " "), "=")
        if number == 1 and len(pieces) > 1:
            pieces = pieces[1:]
        elif len(pieces) > 1 and not pieces[0].strip():
            pieces = pieces[1:]
        for piece in pieces:
            piece = piece.strip().rstrip(",.;")
            if piece and not re.search(r"\\(partial|nabla)(?![A-Za-z])", piece):
                claims.append((piece, number))
    return claims


def _split_top_level(text: str, sep: str) -> list[str]:
    out, depth, start = [], 0, 0
    for k, ch in enumerate(text):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == sep and depth == 0:
            out.append(text[start:k])
            start = k + 1
    out.append(text[start:])
    return out
