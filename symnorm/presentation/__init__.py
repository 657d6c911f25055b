"""How results look: the textbook LaTeX printer, the layout of derivations on a page,
standalone LaTeX documents and their compilation.

Uses the model and the rules (a norm's notation lives in its rule).
"""
