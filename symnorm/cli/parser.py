"""The command line of ``symnorm``: its subcommands, options and exit codes (no SymPy is
loaded here, so ``--help`` and ``--version`` answer at once)."""

from __future__ import annotations

import argparse
from typing import Any

from .. import __version__

EXIT_OK, EXIT_CHECK_FAILED, EXIT_BAD_INPUT = 0, 1, 2

# the losses `symnorm backprop --loss` offers, in the expression language
LOSSES = {"l2sq": "1/2*norm(y - t, 2)**2", "l2": "norm(y - t, 2)", "l1": "norm(y - t, 1)"}


def _add_backprop_parser(sub: Any) -> None:
    b = sub.add_parser("backprop", help="derive backpropagation for an MLP: forward pass, "
                                        "deltas, gradients, update rules")
    b.add_argument("--sizes", required=True, help="layer widths, input first, e.g. 2,3,2")
    b.add_argument("--activation", default="sigmoid",
                   help="sigmoid, tanh, relu, softplus or identity; or one per layer, "
                        "comma-separated (default sigmoid)")
    b.add_argument("--loss", choices=sorted(LOSSES), default="l2sq",
                   help="; ".join(f"{k}: {v}" for k, v in LOSSES.items()))
    b.add_argument("--bias", action="store_true", help="add biases b1, b2, ...")
    b.add_argument("--weight-decay", metavar="LAM",
                   help="add LAM * sum ||W_l||_F^2; a number or a symbol name such as lam")
    b.add_argument("--no-check", action="store_true", help="skip the numerical check")
    fmt = b.add_mutually_exclusive_group()
    fmt.add_argument("--latex", action="store_true", help="print LaTeX")
    fmt.add_argument("--json", action="store_true", help="print JSON")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="symnorm",
        description="Derive gradients of norm expressions, check them against finite "
                    "differences, print them as text, LaTeX or JSON.")

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

    d = sub.add_parser("derive", help="derive, check and print a gradient or Hessian (of a "
                                      "vector-valued map: its Jacobian)")
    common(d)
    d.add_argument("--hessian", action="store_true", help="the Hessian instead")
    d.add_argument("--index", action="store_true", help="add index-notation steps")
    d.add_argument("--no-check", action="store_true", help="skip the numerical check")
    out = d.add_mutually_exclusive_group()
    out.add_argument("--latex", action="store_true", help="print LaTeX")
    out.add_argument("--json", action="store_true", help="print JSON")
    c = sub.add_parser("check", help="check a gradient you supply")
    common(c)
    c.add_argument("--grad", required=True, help='the claimed gradient, e.g. "2*x"')
    c.add_argument("--points", type=int, default=3, help="random points (default 3)")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--json", action="store_true", help="print JSON")
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
    v = sub.add_parser("verify", help="verify a hand derivation (text or LaTeX), or every "
                                      "claim of a .tex file: exit 0 when right, 1 when "
                                      "wrong (with a counterexample; one claim: also when "
                                      "undecided), 2 when unreadable")
    v.add_argument("hand", help=r'the claim, e.g. "\nabla_x \|x\|_2 = \frac{x}{\|x\|_2}", '
                                r'"\frac{x}{\|x\|_2}" with --of, "x/norm(x, 2)"; several '
                                r'lines as "\nabla f &= ... \\ &= ..."; or a FILE.tex, '
                                "whose every derivative claim is judged")
    v.add_argument("--of", help='the function, e.g. "norm(x, 2)" or "f(x) = norm(x, 2)" '
                                "(not needed when the claim writes it on the left)")
    v.add_argument("--wrt", help="the variable (x), or a component (x_1 or x[0]); by default "
                                 "read from the claim")
    v.add_argument("--follow-input", action="store_true",
                   help=r"FILE.tex: read \input{...} and \include{...} of files in its own "
                        "folder")
    v.add_argument("--strict", action="store_true",
                   help="FILE.tex: exit 1 also when a claim is skipped or undecided")
    v.add_argument("--quiet", "-q", action="store_true",
                   help="FILE.tex: print only the claims that do not hold, and the summary")
    v.add_argument("--hessian", action="store_true", help="the claim is the Hessian")
    v.add_argument("--read-latex", action="store_true",
                   help="read the claim as LaTeX (default: recognised by its backslashes)")
    v.add_argument("--shape", action="append", default=[], metavar="NAME=KIND",
                   help="declare a name, as for derive; repeatable")
    v.add_argument("--seed", type=int, default=0)
    vout = v.add_mutually_exclusive_group()
    vout.add_argument("--latex", action="store_true", help="print the verdict as LaTeX")
    vout.add_argument("--json", action="store_true", help="print JSON")
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
    x = sub.add_parser("prox", help="derive and check a proximal operator")
    common(x)
    x.add_argument("--latex", action="store_true", help="print LaTeX")
    u = sub.add_parser("dual", help="derive the dual norm and check it with Hölder")
    common(u, wrt=False)
    u.add_argument("--latex", action="store_true", help="print LaTeX")
    a = sub.add_parser("axioms", help="test the norm axioms and classify")
    common(a)
    a.add_argument("--json", action="store_true", help="print JSON")
    _add_backprop_parser(sub)
    return ap
