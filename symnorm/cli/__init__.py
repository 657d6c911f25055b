r"""The ``symnorm`` command: derive, check and print gradients from the shell.

The top of the layers: it uses the public API. The parser imports nothing heavy, so
``--help`` and ``--version`` answer without SymPy; the commands load it.

    symnorm derive "norm(A*x - b, 2)" --wrt x           steps, result, check verdict
    symnorm derive "norm(x, 2)" --wrt x --hessian --latex
    symnorm check "norm(x, 2)**2" --wrt x --grad "2*x"  a gradient you derived by hand
    symnorm latex "lam*norm(x, 1) + mu/2*norm(x, 2)**2"
    symnorm subdiff "norm(x, oo)" --wrt x --at 1,1,1 --contains 0.5,0.5,0.5
    symnorm prox "lam*norm(x, 1)" --wrt x
    symnorm dual "norm(x, p)"
    symnorm axioms "norm(x, 1/2)" --wrt x
    symnorm backprop --sizes 2,3,2 --activation sigmoid [--bias] [--weight-decay LAM]
    symnorm verify "\frac{x}{\|x\|_2}" --of "norm(x, 2)" --wrt x   a hand derivation
    symnorm latex "norm(A*x - b, 2)" --document --wrt x --output grad.tex --pdf

Exit status: 0 when everything checked out, 1 when a numerical check failed (or, for
``verify``, the claim is wrong), 2 for bad input (unreadable text, unknown norm, shapes
that do not fit).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ..model.errors import SymnormError
from .parser import EXIT_BAD_INPUT, EXIT_OK, build_parser

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # --help and --version exit here
    # the commands load SymPy and the whole package: only now, so that --help and --version
    # answer without them (the one deferred import of symnorm's own modules)
    from .commands import COMMANDS

    try:
        code = COMMANDS[args.command](args)
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
