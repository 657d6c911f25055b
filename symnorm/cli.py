"""The ``symnorm`` command: derive, check and print gradients from the shell.

    symnorm derive "norm(A*x - b, 2)" --wrt x           steps, result, check verdict
    symnorm derive "norm(x, 2)" --wrt x --hessian --latex
    symnorm check "norm(x, 2)**2" --wrt x --grad "2*x"  a gradient you derived by hand
    symnorm latex "lam*norm(x, 1) + mu/2*norm(x, 2)**2"
    symnorm subdiff "norm(x, oo)" --wrt x --at 1,1,1 --contains 0.5,0.5,0.5
    symnorm prox "lam*norm(x, 1)" --wrt x
    symnorm dual "norm(x, p)"
    symnorm axioms "norm(x, 1/2)" --wrt x
    symnorm backprop --sizes 2,3,2 --activation sigmoid [--bias] [--weight-decay LAM]
    symnorm verify "\\frac{x}{\\|x\\|_2}" --of "norm(x, 2)" --wrt x   a hand derivation
    symnorm latex "norm(A*x - b, 2)" --document --wrt x --output grad.tex --pdf

Exit status: 0 when everything checked out, 1 when a numerical check failed (or, for
``verify``, the claim is wrong), 2 for bad input (unreadable text, unknown norm, shapes
that do not fit).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from typing import Any

import sympy as sp
from sympy.matrices.expressions import MatrixSymbol

from .api import grad, hessian
from .calculus.engine import as_scalar
from .check.gradient import check as check_gradient
from .language.expression import parse
from .model.errors import CheckFailedError, SymnormError
from .presentation.latex import latex

EXIT_OK, EXIT_CHECK_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _shapes(items: list[str]) -> dict[str, Any]:
    """``--shape lam=scalar --shape x=3 --shape A=3x4`` -> parse() keywords."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, kind = item.partition("=")
        if not sep or not name.isidentifier() or not kind:
            raise SymnormError(f"--shape takes NAME=KIND (scalar, vector, matrix, a size "
                               f"such as 3, 3x4, or spd, psd, sym, diag, orth), got "
                               f"{item!r}")
        if kind.isdigit():
            out[name] = int(kind)
        elif "x" in kind and all(part.isdigit() or part.isidentifier()
                                 for part in kind.split("x", 1)):
            m, n = kind.split("x", 1)
            out[name] = (int(m) if m.isdigit() else m, int(n) if n.isdigit() else n)
        else:
            out[name] = kind
    return out


def _find_wrt(expr: Any, name: str) -> Any:
    symbols = {s.name: s for s in expr.atoms(sp.Symbol, MatrixSymbol)
               if not (isinstance(s, sp.Symbol) and s.is_integer)}
    if name not in symbols:
        known = ", ".join(sorted(symbols)) or "none"
        raise SymnormError(f"--wrt {name}: {name} does not appear in the expression; "
                           f"its symbols are: {known}")
    return symbols[name]


def _read(args: argparse.Namespace) -> tuple[Any, Any]:
    expr = parse(args.expression, **_shapes(args.shape))
    return expr, _find_wrt(expr, args.wrt)


def cmd_derive(args: argparse.Namespace) -> int:
    f, wrt = _read(args)
    f = as_scalar(f)
    try:
        if args.hessian:
            d = hessian(f, wrt, check=not args.no_check)
        else:
            d = grad(f, wrt, check=not args.no_check,
                     index_notation=True if args.index else None)
    except CheckFailedError as err:
        if args.json:
            print(json.dumps({"ok": False, "error": str(err)}, indent=2))
        else:
            print(err, file=sys.stderr)
        return EXIT_CHECK_FAILED
    if args.json:
        data = d.to_dict()
        data["ok"] = d.report is None or d.report.ok
        print(json.dumps(data, indent=2))
    elif args.latex:
        print(d.latex())
    else:
        print(d.text())
        if d.report is not None:
            print()
            print(d.report.summary())
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    f, wrt = _read(args)
    shapes = _shapes(args.shape)
    used = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", args.grad))
    claimed = parse(args.grad, **{k: v for k, v in shapes.items() if k in used})
    claimed = _same_symbols(claimed, f)
    report = check_gradient(f, wrt, grad=claimed, points=args.points, seed=args.seed)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.summary())
    return EXIT_OK if report.ok else EXIT_CHECK_FAILED


def _same_symbols(claimed: Any, f: Any) -> Any:
    """Use the symbols of ``f`` in the claimed gradient, so dimensions agree."""
    by_name = {s.name: s for s in f.atoms(MatrixSymbol)}
    swap = {s: by_name[s.name] for s in claimed.atoms(MatrixSymbol)
            if s.name in by_name and by_name[s.name] != s}
    return claimed.xreplace(swap) if swap else claimed


def _vector(text: str, what: str) -> Any:
    import numpy as np

    try:
        return np.array([float(v) for v in text.split(",")])
    except ValueError:
        raise SymnormError(f"{what} takes comma-separated numbers such as 1,0,-2; got "
                           f"{text!r}") from None


def _values(items: list[str]) -> dict[str, Any]:
    """``--value A=[[1,0],[0,1]] --value lam=0.5`` (JSON numbers and nested lists)."""
    import numpy as np

    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        try:
            if not sep or not name.isidentifier():
                raise ValueError
            out[name] = np.asarray(json.loads(text), dtype=float)
        except (ValueError, TypeError):
            raise SymnormError(f"--value takes NAME=JSON (a number or nested lists), got "
                               f"{item!r}") from None
    return out


def cmd_subdiff(args: argparse.Namespace) -> int:
    from .calculus.subdiff.vector import subdiff

    f, wrt = _read(args)
    s = subdiff(as_scalar(f), wrt)
    if args.latex:
        print(s.latex())
        print(s.support_latex())
        return EXIT_OK
    data: dict[str, Any] = {"set": s.text(), "latex": s.latex(),
                            "directional_derivative_latex": s.support_latex()}
    if args.at is not None:
        x0 = _vector(args.at, "--at")
        values = _values(args.value)
        data["at"] = x0.tolist()
        data["min_norm"] = s.min_norm(x0, **values).tolist()
        if args.contains is not None:
            g = _vector(args.contains, "--contains")
            data["contains"] = bool(s.contains(g, at=x0, **values))
            data["distance"] = s.distance(g, at=x0, **values)
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print(data["set"])
        print(f"as LaTeX: {data['latex']}")
        print(f"directional derivative: {data['directional_derivative_latex']}")
        for key in ("at", "min_norm", "contains", "distance"):
            if key in data:
                print(f"{key}: {data[key]}")
    return EXIT_OK


def cmd_prox(args: argparse.Namespace) -> int:
    from .calculus.prox.vector import prox

    f, wrt = _read(args)
    # a prox weight is positive: the command reads scalar parameters as positive symbols
    positive = {s: sp.Symbol(s.name, positive=True) for s in f.atoms(sp.Symbol)
                if type(s) is sp.Symbol and s.is_real and not s.is_integer}
    f = f.xreplace(positive)
    try:
        p = prox(as_scalar(f), wrt)
    except CheckFailedError as err:
        print(err, file=sys.stderr)
        return EXIT_CHECK_FAILED
    if args.latex:
        print(p.latex())
    else:
        print(p.text())
        if p.report is not None:
            print()
            print(p.report.summary())
    return EXIT_OK


def cmd_dual(args: argparse.Namespace) -> int:
    from .calculus.dual import dual

    expr = parse(args.expression, **_shapes(args.shape))
    try:
        d = dual(expr)
    except CheckFailedError as err:
        print(err, file=sys.stderr)
        return EXIT_CHECK_FAILED
    print(d.latex() if args.latex else d.text())
    if not args.latex and d.report is not None:
        print()
        print(d.report.summary())
    return EXIT_OK


def cmd_axioms(args: argparse.Namespace) -> int:
    from .calculus.axioms import axioms

    f, wrt = _read(args)
    report = axioms(as_scalar(f), wrt)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.summary())
    return EXIT_OK


def cmd_latex(args: argparse.Namespace) -> int:
    expr = parse(args.expression, **_shapes(args.shape))
    if args.document:
        return _latex_document(args, expr)
    print(latex(expr))
    return EXIT_OK


_LOSSES = {"l2sq": "1/2*norm(y - t, 2)**2", "l2": "norm(y - t, 2)", "l1": "norm(y - t, 1)"}


def cmd_backprop(args: argparse.Namespace) -> int:
    """Forward pass, deltas, gradients and update rules of an MLP."""
    from .backprop import backprop, mlp
    from .rules.constructors import norm

    try:
        sizes = [int(v) for v in args.sizes.split(",")]
    except ValueError:
        raise SymnormError(f"--sizes takes comma-separated layer widths such as 2,3,2; got "
                           f"{args.sizes!r}") from None
    acts = args.activation.split(",")
    losses = {"l2sq": None, "l2": lambda y, t: norm(y - t, 2),
              "l1": lambda y, t: norm(y - t, 1)}
    decay: Any = None
    if args.weight_decay is not None:
        text = args.weight_decay
        try:
            decay = float(text)
        except ValueError:
            decay = text  # a symbol name such as lam
    net = mlp(sizes, acts[0] if len(acts) == 1 else acts, loss=losses[args.loss],
              bias=args.bias, weight_decay=decay)
    try:
        bp = backprop(net, check=not args.no_check)
    except CheckFailedError as err:
        print(err, file=sys.stderr)
        return EXIT_CHECK_FAILED
    if args.json:
        print(json.dumps(bp.to_dict(), indent=2))
    elif args.latex:
        print(bp.latex())
        print()
        print(r"\begin{aligned}")
        print(" \\\\\n".join(bp.components(p).latex().replace(" = ", " &= ", 1)
                             for p in bp.params))
        print(r"\end{aligned}")
        print()
        print(r"\begin{aligned}")
        rows = []
        for u in bp.update_rules():
            rows += [r for r in (u.matrix_latex(), u.index_latex()) if r is not None]
        print(" \\\\\n".join(r.replace(r" \leftarrow ", r" &\leftarrow ", 1) for r in rows))
        print(r"\end{aligned}")
    else:
        print(bp.text())
        print()
        print("index form:")
        for p in bp.params:
            print(f"  {bp.components(p).text()}")
        print("update rules:")
        for u in bp.update_rules():
            print(f"  {u.text()}")
    return EXIT_OK


def _add_backprop_parser(sub: Any) -> None:
    b = sub.add_parser("backprop", help="derive backpropagation for an MLP: forward pass, "
                                        "deltas, gradients, update rules")
    b.add_argument("--sizes", required=True, help="layer widths, input first, e.g. 2,3,2")
    b.add_argument("--activation", default="sigmoid",
                   help="sigmoid, tanh, relu, softplus or identity; or one per layer, "
                        "comma-separated (default sigmoid)")
    b.add_argument("--loss", choices=sorted(_LOSSES), default="l2sq",
                   help="; ".join(f"{k}: {v}" for k, v in _LOSSES.items()))
    b.add_argument("--bias", action="store_true", help="add biases b1, b2, ...")
    b.add_argument("--weight-decay", metavar="LAM",
                   help="add LAM * sum ||W_l||_F^2; a number or a symbol name such as lam")
    b.add_argument("--no-check", action="store_true", help="skip the numerical check")
    fmt = b.add_mutually_exclusive_group()
    fmt.add_argument("--latex", action="store_true", help="print LaTeX")
    fmt.add_argument("--json", action="store_true", help="print JSON")
    b.set_defaults(func=cmd_backprop)

def _latex_document(args: argparse.Namespace, expr: Any) -> int:
    """``latex --document``: the expression, and with ``--wrt`` its gradient and check."""
    from .presentation.document import latex_document

    items: list[Any] = [("The expression", expr)]
    if args.wrt:
        wrt = _find_wrt(expr, args.wrt)
        items.append(grad(as_scalar(expr), wrt))
        if args.hessian:
            items.append(hessian(as_scalar(expr), wrt))
    if args.pdf and not args.output:
        raise SymnormError("--pdf needs --output FILE.tex")
    tex = latex_document(items, title=args.title, path=args.output, pdf=args.pdf)
    if args.output:
        made = args.output + (" and its PDF" if args.pdf else "")
        print(f"wrote {made}", file=sys.stderr)
    else:
        print(tex, end="")
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    """``verify``: is the hand derivation (expression language or LaTeX) right?"""
    from .verify import verify

    shapes = _shapes(args.shape)
    f = parse(args.of, **shapes)
    latex_in = True if args.read_latex else None
    verdict = verify(args.hand, f, args.wrt, hessian=args.hessian, latex=latex_in,
                     shapes=shapes, seed=args.seed)
    if args.json:
        print(json.dumps(verdict.to_dict(), indent=2))
    elif args.latex:
        print(verdict.latex())
    else:
        print(verdict.text())
    return EXIT_OK if verdict.ok else EXIT_CHECK_FAILED


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="symnorm",
        description="Derive gradients of norm expressions, check them against finite "
                    "differences, print them as text, LaTeX or JSON.")
    from . import __version__

    ap.add_argument("--version", action="version", version=f"symnorm {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser, wrt: bool = True) -> None:
        p.add_argument("expression", help='e.g. "norm(A*x - b, 2)"')
        if wrt:
            p.add_argument("--wrt", required=True, help="the variable, e.g. x")
        p.add_argument("--shape", action="append", default=[], metavar="NAME=KIND",
                       help="declare a name: scalar, vector, matrix, 3 (a vector of "
                            "size 3), 3x4, or a matrix structure: spd, psd, sym, diag, "
                            "orth; repeatable")

    d = sub.add_parser("derive", help="derive, check and print a gradient or Hessian")
    common(d)
    d.add_argument("--hessian", action="store_true", help="the Hessian instead")
    d.add_argument("--index", action="store_true", help="add index-notation steps")
    d.add_argument("--no-check", action="store_true", help="skip the numerical check")
    out = d.add_mutually_exclusive_group()
    out.add_argument("--latex", action="store_true", help="print LaTeX")
    out.add_argument("--json", action="store_true", help="print JSON")
    d.set_defaults(func=cmd_derive)

    c = sub.add_parser("check", help="check a gradient you supply")
    common(c)
    c.add_argument("--grad", required=True, help='the claimed gradient, e.g. "2*x"')
    c.add_argument("--points", type=int, default=3, help="random points (default 3)")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--json", action="store_true", help="print JSON")
    c.set_defaults(func=cmd_check)

    t = sub.add_parser("latex", help="print the LaTeX of an expression, or a document")
    common(t, wrt=False)
    t.add_argument("--document", action="store_true",
                   help="a complete .tex document (with --wrt: the gradient and its check)")
    t.add_argument("--wrt", help="with --document: derive the gradient with respect to it")
    t.add_argument("--hessian", action="store_true", help="with --document --wrt: the "
                                                         "Hessian too")
    t.add_argument("--title", help="the document's title")
    t.add_argument("--output", "-o", help="write the document to this .tex file")
    t.add_argument("--pdf", action="store_true", help="also run pdflatex (needs --output)")
    t.set_defaults(func=cmd_latex)

    v = sub.add_parser("verify", help="verify a hand derivation (text or LaTeX): exit 0 "
                                      "when right, 1 when wrong (with a counterexample)")
    v.add_argument("hand", help=r'the claim, e.g. "\frac{x}{\|x\|_2}" or "x/norm(x, 2)"; '
                                r'several lines as "\nabla f &= ... \\ &= ..."')
    v.add_argument("--of", required=True, help='the function, e.g. "norm(x, 2)"')
    v.add_argument("--wrt", required=True, help="the variable (x), or a component (x_1 or "
                                                "x[0])")
    v.add_argument("--hessian", action="store_true", help="the claim is the Hessian")
    v.add_argument("--read-latex", action="store_true",
                   help="read the claim as LaTeX (default: recognised by its backslashes)")
    v.add_argument("--shape", action="append", default=[], metavar="NAME=KIND",
                   help="declare a name, as for derive; repeatable")
    v.add_argument("--seed", type=int, default=0)
    vout = v.add_mutually_exclusive_group()
    vout.add_argument("--latex", action="store_true", help="print the verdict as LaTeX")
    vout.add_argument("--json", action="store_true", help="print JSON")
    v.set_defaults(func=cmd_verify)

    s = sub.add_parser("subdiff", help="the subdifferential: the set, and at a point its "
                                       "minimum-norm element and membership")
    common(s)
    s.add_argument("--at", help="the point, e.g. 1,1,1")
    s.add_argument("--contains", help="a vector to test for membership (needs --at)")
    s.add_argument("--value", action="append", default=[], metavar="NAME=JSON",
                   help="values of the other symbols at the point, e.g. lam=0.5")
    fmt = s.add_mutually_exclusive_group()
    fmt.add_argument("--latex", action="store_true", help="print LaTeX")
    fmt.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=cmd_subdiff)

    x = sub.add_parser("prox", help="derive and check a proximal operator")
    common(x)
    x.add_argument("--latex", action="store_true", help="print LaTeX")
    x.set_defaults(func=cmd_prox)

    u = sub.add_parser("dual", help="derive the dual norm and check it with Hölder")
    common(u, wrt=False)
    u.add_argument("--latex", action="store_true", help="print LaTeX")
    u.set_defaults(func=cmd_dual)

    a = sub.add_parser("axioms", help="test the norm axioms and classify")
    common(a)
    a.add_argument("--json", action="store_true", help="print JSON")
    a.set_defaults(func=cmd_axioms)
    _add_backprop_parser(sub)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
        sys.stdout.flush()
        return code
    except SymnormError as err:
        print(f"symnorm {args.command}: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # the reader went away (symnorm ... | head -1): stop quietly, as cat does
        _silence_stdout()
        return EXIT_OK


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout without a file descriptor (tests): nothing to do
        pass


if __name__ == "__main__":
    sys.exit(main())
