"""Expressions to numbers: generated numpy kernels, the exact evaluator used as a
reference, and the same kernels on other array libraries (:mod:`.backends`).

Uses the model, the numeric helpers, the rules and the printers; never the calculus.
"""
