r"""Verify a hand derivation: is the claimed gradient (or Hessian) the right one, and how
sure is the answer?

:mod:`.judge` reads the claim, derives the result and compares the two (with
:func:`symnorm.check.compare.compare`); :mod:`.verdict` holds the result and shows it.
"""

from __future__ import annotations

from .judge import judge, verdict_from, verify
from .verdict import (
    ALMOST,
    HOLDS,
    LAYOUT,
    PROVED,
    SAMPLED,
    UNDECIDED,
    WRONG,
    Counterexample,
    Verdict,
)

__all__ = ["ALMOST", "HOLDS", "LAYOUT", "PROVED", "SAMPLED", "UNDECIDED", "WRONG",
           "Counterexample", "Verdict", "judge", "verdict_from", "verify"]
