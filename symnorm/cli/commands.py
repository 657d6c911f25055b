"""What each subcommand of the ``symnorm`` command does (:mod:`symnorm.cli` reads the
command line and calls one of :data:`COMMANDS`); exit codes as documented there."""


from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from typing import Any

import sympy as sp
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol

from ..api import check as check_gradient
from ..api import grad, hessian, jacobian
from ..backprop import backprop, mlp
from ..calculus.algebra import as_scalar
from ..calculus.axioms import axioms
from ..calculus.dual import dual
from ..calculus.prox import prox
from ..calculus.subdiff.vector import subdiff
from ..language.expression import parse
from ..model.errors import CheckFailedError, ParseError, SymnormError
from ..notes import verify_document
from ..presentation.document import latex_document
from ..presentation.latex import latex
from ..verify import verify
from .parser import EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK


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


def _vector_valued(f: Any) -> bool:
    return isinstance(f, MatrixExpr) and f.shape[1] == 1 and f.shape[0] != 1


def cmd_derive(args: argparse.Namespace) -> int:
    f, wrt = _read(args)
    vector = _vector_valued(f)
    if vector and args.hessian:
        raise SymnormError(f"--hessian needs a scalar; {args.expression!r} is a vector, "
                           "whose derivative (without --hessian) is its Jacobian")
    f = f if vector else as_scalar(f)
    try:
        if args.hessian:
            d = hessian(f, wrt, check=not args.no_check)
        else:  # a vector-valued map: its Jacobian, in numerator layout
            d = (jacobian if vector else grad)(f, wrt, check=not args.no_check,
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




def cmd_backprop(args: argparse.Namespace) -> int:
    """Forward pass, deltas, gradients and update rules of an MLP."""

    try:
        sizes = [int(v) for v in args.sizes.split(",")]
    except ValueError:
        raise SymnormError(f"--sizes takes comma-separated layer widths such as 2,3,2; got "
                           f"{args.sizes!r}") from None
    acts = args.activation.split(",")
    decay: Any = None
    if args.weight_decay is not None:
        text = args.weight_decay
        try:
            decay = float(text)
        except ValueError:
            decay = text  # a symbol name such as lam
    net = mlp(sizes, acts[0] if len(acts) == 1 else acts, loss=args.loss,
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


def _latex_document(args: argparse.Namespace, expr: Any) -> int:
    """``latex --document``: the expression, and with ``--wrt`` its gradient and check."""

    items: list[Any] = [("The expression", expr)]
    if args.wrt:
        wrt = _find_wrt(expr, args.wrt)
        items.append(jacobian(expr, wrt) if _vector_valued(expr) else
                     grad(as_scalar(expr), wrt))
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
    """``verify``: is the hand derivation (expression language or LaTeX) right? Or, for a
    ``.tex`` file, every derivative claim in it."""

    shapes = _shapes(args.shape)
    if args.hand.lower().endswith(".tex"):
        return _verify_file(args, shapes)
    f: Any = args.of
    if f is not None and "=" not in f:
        f = parse(f, **shapes)
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


def _verify_file(args: argparse.Namespace, shapes: dict[str, Any]) -> int:
    """``verify FILE.tex``: one ``file:line: status: claim`` line a claim, then a summary;
    a file that cannot be read is ``file:line:column: error: ...`` and exit status 2."""
    for option in ("of", "wrt"):
        if getattr(args, option) is not None:
            raise SymnormError(f"--{option} is for one claim; a document defines its functions "
                               r"(f(x) = ...) or writes them on the left (\nabla_x \|x\|_2 = ...)")
    try:
        report = verify_document(args.hand, follow_input=args.follow_input, shapes=shapes,
                                 seed=args.seed)
    except ParseError as err:
        message = str(err).splitlines()[0]
        print(re.sub(r"^((?:[^:\n]*:\d+:\d+|[^:\n]*):) ", r"\1 error: ", message, count=1),
              file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    elif args.latex:
        raise SymnormError("--latex is for one claim; for a file use --json or the text report")
    else:
        for finding in report.findings:
            if not args.quiet or finding.status in ("wrong", "could not decide", "skipped",
                                                     "note"):
                print(finding.text())
        print(report.summary())
    ok = report.strict_ok if args.strict else report.ok
    return EXIT_OK if ok else EXIT_CHECK_FAILED


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "derive": cmd_derive,
    "check": cmd_check,
    "subdiff": cmd_subdiff,
    "prox": cmd_prox,
    "dual": cmd_dual,
    "axioms": cmd_axioms,
    "latex": cmd_latex,
    "backprop": cmd_backprop,
    "verify": cmd_verify,
}
