r"""Verify a hand derivation: is the claimed gradient (or Hessian) the right one?

``verify(hand, f, wrt)`` derives the gradient of ``f`` with :func:`symnorm.grad`, then
compares the claim with it twice: symbolically (the difference, simplified where SymPy
can) and numerically, at random points in several dimensions, with explicit numpy
matrices multiplied in the order written, so a claim that swaps non-commuting factors is
caught. A claim that agrees at random points but not at a kink (where a norm's or an
absolute value's argument vanishes: ``x/|x|`` for ``d|x|/dx``) is "equal almost
everywhere", and the verdict says where.

:mod:`.compare` makes the judgement, :mod:`.verdict` holds the result and shows it.
"""

from __future__ import annotations

from .compare import verify
from .verdict import Counterexample, Verdict

__all__ = ["Counterexample", "Verdict", "verify"]
