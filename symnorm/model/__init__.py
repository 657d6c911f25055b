"""The expression model: real symbols with declared shapes and structure, the SymPy node
types symnorm adds (norms, elementwise and vector maps), their text, and the errors.

Uses SymPy only; every other layer stands on this one.
"""
