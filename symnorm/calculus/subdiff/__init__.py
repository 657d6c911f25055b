"""Subdifferentials as set objects: the convex calculus over the rules' closed forms
(vector), the singular-value sets (matrix), and exact numeric set operations.
"""
